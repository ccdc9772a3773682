"""Session 46's leftovers of the recorder and its file outputs: record_formats.py split (which format a path names:
record_target.py), `describe --png` and `train enhancer --plot` written whole or not at all (a full disk: here a
file-size limit, the same failed write without root), the chunk log a failed BIDS copy left at close()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

resource = pytest.importorskip("resource")  # (RLIMIT_FSIZE: POSIX)


def _run(script: str, tmp_path) -> dict:
    """Run `script` in a child process (a file-size limit there, none here); its last line of output is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- 1. record_formats.py split: which format a path names, in record_target.py -------------------------------------
def test_which_format_lives_in_record_target_and_is_still_offered_by_record_formats(tmp_path):
    from wavegraph.nodes.io import record_formats, record_target
    from wavegraph.pipeline.spec import SpecError, StreamSpec

    for name in ("FIF_ENDINGS", "FORMATS", "SPILLED", "SIGNAL_ONLY", "NO_NAN", "target_format", "check_name_length"):
        assert getattr(record_formats, name) is getattr(record_target, name), name
    spec = StreamSpec("signal", 250.0, (2,), "float32", ("C3", "C4"), ("eeg", "eeg"))
    assert record_target.target_format(tmp_path / "x_raw.fif", spec) == "fif"
    with pytest.raises(SpecError, match="cannot tell the format"):
        record_target.target_format(tmp_path / "x.mat", spec)


# --- 2. `describe --png` and `train enhancer --plot` on a full disk --------------------------------------------------
GRAPH = """\
name: t
nodes:
  - id: src
    type: sine
    params: {channels: 2, rate: 250.0, chunk_size: 25, duration: 1.0}
  - id: rec
    type: recorder
    params: {path: out.npz, overwrite: true}
edges:
  - {source: src.out, target: rec.in}
"""


def test_describe_png_and_the_training_plot_on_a_full_disk_keep_the_earlier_picture(tmp_path):
    """`wavegraph describe g.yaml --png g.png` and `wavegraph train enhancer --plot curve.png` drew with matplotlib's
    savefig straight into the name: a full disk (a quota, a file-size limit) failed with the cause but left a 0-byte
    or cut PNG in place of the earlier picture (`wavegraph plot` and the benchmarks wrote theirs whole already). Now
    both are written whole or not at all, by the one helper all three use: the earlier picture stays, nothing else."""
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "log.csv").write_text(
        "step,train_loss,val_si_sdr_out,val_si_sdr_in\n" + "".join(f"{s},{1 / s},{s / 10},1.0\n" for s in range(1, 60))
    )
    got = _run(
        """
        import json, resource, sys
        from pathlib import Path
        from wavegraph.models.train_enhancer import plot_curve
        from wavegraph.pipeline.config import load_config
        from wavegraph.pipeline.graph import build_graph
        from wavegraph.pipeline.graph_png import draw_graph
        tmp = Path(sys.argv[1])
        graph = build_graph(load_config(str(tmp / "g.yaml")))
        draw_graph(graph, tmp / "g.png")
        plot_curve(tmp / "log.csv", tmp / "curve.png")
        old = {n: (tmp / n).read_bytes() for n in ("g.png", "curve.png")}
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
        errors = []
        try:
            for draw in (lambda: draw_graph(graph, tmp / "g.png"), lambda: plot_curve(tmp / "log.csv", tmp / "curve.png")):
                try:
                    draw()
                    errors.append(None)
                except OSError as e:
                    errors.append(e.errno)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        print(json.dumps({"errors": errors, "kept": [(tmp / n).read_bytes() == b for n, b in old.items()],
                          "files": sorted(p.name for p in tmp.iterdir() if p.suffix != ".npz")}))
        """,
        tmp_path,
    )
    import errno

    assert got["errors"] == [errno.EFBIG, errno.EFBIG]  # the cause, as before
    assert got["kept"] == [True, True]  # the earlier pictures, whole (were 0 or 1000 bytes of a PNG)
    assert got["files"] == ["curve.png", "g.png", "g.yaml", "log.csv"]  # no temporary file left


def test_one_picture_helper_for_every_layer():
    """One copy of the write-whole logic (outside the layers, as wavegraph.unwritable): nodes/io/figure_file offers it."""
    from wavegraph.nodes.io.figure_file import save_figure as offered

    from wavegraph.figure_file import save_figure

    assert offered is save_figure


def test_a_picture_whose_name_is_near_the_systems_longest_is_written(tmp_path):
    """A picture named with 250 of the 255 bytes a file name may hold (`describe --png`, `plot -o`, `--plot`): savefig
    writes it, but the whole-or-nothing write's temporary name (.NAME.PID.tmp) did not fit, and it failed with
    '[Errno 36] File name too long' naming that temporary file. Now the temporary name is short enough."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wavegraph.figure_file import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    name = "ü" * 60 + "a" * 126 + ".png"  # 250 bytes
    try:
        assert save_figure(fig, tmp_path / name) == tmp_path / name
    finally:
        plt.close(fig)
    assert [p.name for p in tmp_path.iterdir()] == [name] and (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    return fig


def test_a_picture_written_to_a_link_goes_through_it_as_savefig_does(tmp_path):
    """`--png docs/graph.png` where that is a link to the picture kept elsewhere (assets/graph.png): savefig wrote
    through it, as the shell's > does (and the recorder does); the whole-or-nothing write's rename put the picture in
    place of the link, its target left stale. Now the link stays and its target gets the picture."""
    from wavegraph.figure_file import save_figure

    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "graph.png").write_bytes(b"an earlier picture")
    link = tmp_path / "graph.png"
    link.symlink_to("assets/graph.png")
    fig = _figure()
    save_figure(fig, link)
    assert link.is_symlink() and (tmp_path / "assets" / "graph.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "new.png").symlink_to("assets/new.png")  # a link to a picture not made yet: made there, as savefig
    save_figure(fig, tmp_path / "new.png")
    assert (tmp_path / "new.png").is_symlink() and (tmp_path / "assets" / "new.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "assets").iterdir()) == ["graph.png", "new.png"]


def test_a_picture_written_to_a_device_leaves_the_device(tmp_path):
    """`wavegraph bench ... --png /dev/null` (to throw the picture away): the picture was written to /dev/.null.PID.tmp
    and renamed over /dev/null, which as root became a regular file (every later write to /dev/null filled it). Now a
    device or a pipe is written to, as savefig writes. (Here a /dev/null made in tmp_path: mknod needs root.)"""
    import stat

    from wavegraph.figure_file import save_figure

    null = tmp_path / "null.png"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("making a device needs root")
    save_figure(_figure(), null)
    assert stat.S_ISCHR(null.stat().st_mode) and [p.name for p in tmp_path.iterdir()] == ["null.png"]


# --- 3. the chunk log and a BIDS copy that fails ------------------------------------------------------------------
def _bids_recorder(tmp_path):
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eog"))
    rec = Recorder(path=str(tmp_path / "s01.bdf"), bids_root=str(tmp_path / "bids"), subject="01", task="rest")
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.full((2, 200), 2e-5), 0.0)})
    return rec


def test_a_bids_copy_that_fails_at_close_leaves_no_chunk_log(tmp_path):
    """close() made the BIDS copy before it deleted the chunk log: a copy that failed (the layout got that run during
    the session) left s01.bdf.chunks.csv beside the complete file for good (the recover that makes the copy later
    does not delete it; a clean close and `wavegraph recover` of a killed run leave none). The log is not needed for
    the copy (s01.bdf.bids-pending.json holds what it needs), so now it goes first, as in recover."""
    pytest.importorskip("mne_bids")
    from wavegraph.nodes.io.bids_pending import BidsCopyFailed
    from wavegraph.nodes.io.recover import recover

    rec = _bids_recorder(tmp_path)
    taken = tmp_path / "bids" / "sub-01" / "eeg"
    taken.mkdir(parents=True)
    (taken / "sub-01_task-rest_eeg.bdf").write_bytes(b"another recording")
    with pytest.raises(BidsCopyFailed):
        rec.finish()
        rec.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bids", "s01.bdf", "s01.bdf.bids-pending.json"]
    (taken / "sub-01_task-rest_eeg.bdf").unlink()
    recover(tmp_path / "s01.bdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bids", "s01.bdf"]
    assert (taken / "sub-01_task-rest_eeg.bdf").stat().st_size > 1000


def test_recover_whose_bids_copy_fails_can_still_make_it_without_the_chunk_log(tmp_path, capsys):
    """recover deletes the chunk log (as close() does) before the BIDS copy: checked that a copy that fails then loses
    nothing (the log is not what it needs; the pending file is): a second recover makes the copy, and the file in the
    layout equals the recording."""
    pytest.importorskip("mne_bids")
    import mne
    from wavegraph.nodes.io.recover import recover_main

    rec = _bids_recorder(tmp_path)
    assert rec._file is not None and rec._chunks is not None
    rec._file.close()  # killed: the spill and its chunk log stay
    rec._chunks.close()
    (tmp_path / "bids").mkdir()
    (tmp_path / "bids" / "sub-01").write_text("not a folder")  # the copy fails
    assert recover_main([str(tmp_path / "s01.bdf")]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bids", "s01.bdf", "s01.bdf.bids-pending.json"]
    (tmp_path / "bids" / "sub-01").unlink()
    assert recover_main([str(tmp_path / "s01.bdf")]) == 0
    copy = tmp_path / "bids" / "sub-01" / "eeg" / "sub-01_task-rest_eeg.bdf"
    a = mne.io.read_raw_bdf(tmp_path / "s01.bdf", verbose="error").get_data()
    np.testing.assert_array_equal(mne.io.read_raw_bdf(copy, verbose="error").get_data(), a)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bids", "s01.bdf"]


# --- 4. probe: a recording's earlier take on a read-only card -------------------------------------------------------
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("name", ["take.wav", "take_raw.fif"])
def test_an_earlier_take_on_a_read_only_card_says_the_folder_cannot_be_written(tmp_path, monkeypatch, name, overwrite):
    """A path whose earlier take sits on a card mounted read-only: the recorder said 'already exists ...; fix: record
    to a new run, e.g. take_run-02.wav, or set overwrite: true', both of which fail there (and overwrite: true on a
    WAV was a bare '[Errno 30] Read-only file system', 'fix: check its params'). Now the folder is checked first: it
    cannot be written, and nothing in it. (A read-only mount needs root to make: the folder's mode stands in for it,
    and for root, who writes in any mode, the recorder's own try of the folder is made to fail as the mount's would.)"""
    from wavegraph.nodes.io import recorder as recorder_module
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.spec import SpecError, StreamSpec

    card = tmp_path / "card"
    card.mkdir()
    (card / name).write_bytes(b"an earlier take")
    card.chmod(0o555)
    real = recorder_module.can_write_in
    monkeypatch.setattr(recorder_module, "can_write_in", lambda folder: folder != card and real(folder))
    spec = StreamSpec("signal", 250.0, (1,), "float32", ("Cz",), ("eeg",))
    try:
        with pytest.raises(SpecError, match=r"cannot create .*card is not a writable folder") as e:
            Recorder(path=str(card / name), overwrite=overwrite).configure({"in": spec})
    finally:
        card.chmod(0o755)
    assert "overwrite: true" not in str(e.value) and "run-02" not in str(e.value)
    assert (card / name).read_bytes() == b"an earlier take"


def test_train_enhancer_plot_in_a_format_matplotlib_cannot_write_is_refused_before_the_training(tmp_path, capsys):
    """`wavegraph train enhancer --log c.csv --plot c.txt` trained, then ended in matplotlib's ValueError ('Format
    'txt' is not supported') before the final weights and the summary were saved. Now refused at once, as
    `describe --png graph.txt` is, with the formats it takes; nothing is written."""
    pytest.importorskip("torch")
    from wavegraph.models.train_enhancer import main

    common = ["--steps", "1", "--d-model", "8", "--n-layers", "1", "--pool", "0", "--heldout-per-snr", "0"]
    argv = [*common, "--log", str(tmp_path / "c.csv"), "--plot", str(tmp_path / "c.txt")]
    with pytest.raises(SystemExit) as e:
        main([*argv, "--out", str(tmp_path / "e.safetensors")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"--plot {tmp_path / 'c.txt'}: .txt is no picture format matplotlib writes; give .png" in err, err
    assert list(tmp_path.iterdir()) == []
