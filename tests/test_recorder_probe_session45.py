"""Session 45's probe of the recorder, `wavegraph recover` and the PNG writers: a disk full at a recording's start (a
file-size limit: the same failed write, without root), a picture written on a full disk, the chunk log a recover left
beside the rebuilt file, EDF channel names that 16 ASCII characters made equal."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

resource = pytest.importorskip("resource")  # (RLIMIT_FSIZE: POSIX)


def _run(script: str, tmp_path) -> dict:
    """Run `script` in a child process (a file-size limit there, none here); its last line of output is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_disk_full_at_the_start_says_so_once_and_leaves_no_file(tmp_path):
    """A full disk at a recording's start (no room for the first chunk's files) stopped the run with its cause, but left
    a 0-byte `<path>.chunks.csv` beside it (and a WAV whose libsndfile open failed was a LibsndfileError 'System
    error.' traceback, its 0-byte WAV and log left; a first chunk that did not fit left an empty spill, its header and
    log, which `recover` made into an empty file). Now: the cause once, 'nothing was recorded', and no file left."""
    got = _run(
        """
        import json, resource, sys
        from pathlib import Path
        import numpy as np
        from wavegraph.nodes.io.recorder import Recorder
        from wavegraph.pipeline.chunk import Chunk
        from wavegraph.pipeline.spec import StreamSpec
        tmp = Path(sys.argv[1])
        spec = StreamSpec("signal", 100.0, (2,), "float32", ("a", "b"), ("eeg", "eeg"))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        out = {}
        for limit in (0, 200):  # no byte; the chunk log's header but not the spill's header, a WAV's, a CSV's rows
            for name in ("x_raw.fif", "x.edf", "x.npz", "x.flac", "x.wav", "x.csv"):
                folder = tmp / f"{limit}_{name.split('.')[-1]}"
                rec = Recorder(path=str(folder / name))
                rec.configure({"in": spec})
                folder.mkdir()
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
                try:
                    rec.process({"in": Chunk(np.ones((2, 50), np.float32), 0.0)})
                    error = None
                except Exception as e:
                    error = [type(e).__name__, getattr(e, "errno", None), str(e)]
                finally:
                    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
                rec.close()
                out[f"{limit} {name}"] = [error, sorted(p.name for p in folder.iterdir())]
        print(json.dumps(out))
        """,
        tmp_path,
    )
    import errno

    for case, (error, left) in got.items():
        assert error is not None and error[0] == "OSError" and error[1] == errno.EFBIG, (case, error)
        assert "nothing was recorded" in error[2] and "ulimit -f" in error[2], (case, error)
        assert left == [], (case, left)


def test_a_recorder_whose_start_failed_starts_again_at_its_next_chunk(tmp_path):
    """on_error: restart goes on with the same recorder: after a start that failed (its files removed), the next
    chunk starts the recording afresh, and the file holds the chunks from that one on."""
    spec = StreamSpec("signal", 100.0, (1,), "float64", ("a",), ("eeg",))
    rec = Recorder(path=str(tmp_path / "x.npz"))
    rec.configure({"in": spec})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        with pytest.raises(OSError, match="nothing was recorded"):
            rec.process({"in": Chunk(np.zeros((1, 10)), 0.0)})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz.spill"]  # (locked: removed at close)
    rec.process({"in": Chunk(np.arange(10.0)[None], 0.1)})
    rec.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]
    with np.load(tmp_path / "x.npz") as z:
        assert z["data"].tolist() == [list(range(10))] and float(z["t0"]) == 0.1


def test_a_picture_that_a_full_disk_stops_leaves_no_broken_file(tmp_path):
    """`wavegraph bench ... --png` and `wavegraph plot` on a full disk (here a file-size limit) failed with the cause but
    left a 0-byte PNG under the name, which a user opened later as a broken image (and an earlier picture of that
    name was lost). Now the picture is written whole or not at all: the earlier one stays, nothing else is left."""
    got = _run(
        """
        import json, resource, sys
        from pathlib import Path
        from wavegraph.benchmarks.figures import bars
        from wavegraph.nodes.io import plot
        tmp = Path(sys.argv[1])
        (tmp / "r.csv").write_text("t,a\\n" + "".join(f"{i / 100},{i % 7}\\n" for i in range(300)))
        bars(tmp / "old.png", ["a"], {"s": [1.0]}, "y", "before")
        old = (tmp / "old.png").read_bytes()
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
        try:
            try:
                bars(tmp / "b.png", ["a", "b"], {"s": [1.0, 2.0]}, "y", "t")
                bench = None
            except OSError as e:
                bench = e.errno
            try:
                bars(tmp / "old.png", ["a", "b"], {"s": [1.0, 2.0]}, "y", "t")
                again = None
            except OSError as e:
                again = e.errno
            status = plot.main([str(tmp / "r.csv"), "-o", str(tmp / "p.png")])
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        print(json.dumps({"bench": bench, "again": again, "plot": status, "kept": (tmp / "old.png").read_bytes() == old,
                          "files": sorted(p.name for p in tmp.iterdir())}))
        """,
        tmp_path,
    )
    import errno

    assert got["bench"] == got["again"] == errno.EFBIG and got["plot"] == 2
    assert got["kept"]  # the earlier picture of that name, whole
    assert got["files"] == ["old.png", "r.csv"]  # no 0-byte b.png or p.png, no temporary file


KILLED = """
import os, signal, sys
from pathlib import Path
import numpy as np
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec
tmp = Path(sys.argv[1])
spec = StreamSpec("signal", 250.0, (2,), "float64", ("Fp1", "Fp2"), ("eeg", "eeg"), units="V")
x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 1000))
for mode in ("closed", "killed"):
    for name in ("r.npz", "r.flac", "r_raw.fif", "g.npz", "r.wav"):
        rec = Recorder(path=str(tmp / mode / name))
        rec.configure({"in": spec})
        t = 1000.0
        for i in range(0, 1000, 25):  # a live stream's chunk times: its clock 300 ppm fast
            gap = name.startswith("g") and i == 500
            t += 0.5 if gap else 0.0
            rec.process({"in": Chunk(x[:, i : i + 25], t, seq=i // 25, gap=gap)})
            t += 25 / 250.0 * (1 + 3e-4)
        if mode == "closed":
            rec.close()
os.kill(os.getpid(), signal.SIGKILL)
"""


def _replay(path) -> tuple[np.ndarray, list[float], list[bool]]:
    src = FileSource(path=str(path), chunk_size=100)
    src.configure({})
    xs, t0s, gaps = [], [], []
    while (out := src.read()) is not None:
        if "out" in out:
            xs.append(np.asarray(out["out"].data))
            t0s.append(out["out"].t0)
            gaps.append(out["out"].gap)
    src.close()
    return np.concatenate(xs, axis=-1), t0s, gaps


def test_recover_deletes_the_chunk_log_where_close_does_so_its_replay_is_the_closed_ones(tmp_path, caplog):
    """`wavegraph recover` left `<path>.chunks.csv` beside every rebuilt file, where close() deletes it once the file
    holds all it says: file_source replays an NPZ's, WAV's or FLAC's chunk times from it, so a recovered recording of a
    live stream replayed each chunk at its received time (a FLAC from 1000 s, not 0) where the same recording closed
    cleanly replays at the rate. Now recover deletes it as close() would have (kept with a gap the file cannot hold, or
    chunk_log: true): the replay equals the closed one's. A killed WAV (not rebuilt: checked) keeps it, and says so."""
    subprocess.run([sys.executable, "-c", KILLED, str(tmp_path)], timeout=120, check=False)
    killed, closed = tmp_path / "killed", tmp_path / "closed"
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        for name in ("r.npz", "r.flac", "r_raw.fif", "g.npz", "r.wav"):
            recover(killed / name)
    left = sorted(p.name for p in killed.iterdir())
    assert left == sorted([*(p.name for p in closed.iterdir()), "r.wav.chunks.csv"])
    assert "g.npz.chunks.csv" in left  # a gap an NPZ cannot hold: kept, as by close()
    for name in ("r.npz", "r.flac", "r_raw.fif", "g.npz"):
        (x, t0s, gaps), (want_x, want_t0s, want_gaps) = _replay(killed / name), _replay(closed / name)
        np.testing.assert_array_equal(x, want_x)
        assert t0s == want_t0s and gaps == want_gaps, name
    said = [r.getMessage() for r in caplog.records if "r.wav.chunks.csv stays" in r.getMessage()]
    assert len(said) == 1 and "from 1000 s" in said[0] and "chunk_log: true" in said[0]


def test_edf_channel_names_made_equal_by_16_ascii_characters_are_numbered_and_dashes_kept(tmp_path, caplog):
    """EDF holds 16 ASCII characters a label: 'EEG Fp1-Reference-A' and '-B' were both stored 'EEG Fp1-Referenc' (MNE
    read them as 'EEG Fp1-Referenc-0' and '-1', not what the recorder said it wrote; EDFbrowser showed two channels of
    one name), and 'Fp1–ref' (an en dash, as a word processor writes '-') as 'Fp1?ref'. Now an en dash is stored '-',
    and names made equal are numbered within the 16 characters, as FIF's are: MNE reads back the names said."""
    import mne

    names = ("EEG Fp1-Reference-A", "EEG Fp1-Reference-B", "Fp1–ref", "Cz")
    spec = StreamSpec("signal", 100.0, (4,), "float64", names, ("eeg",) * 4, units="V")
    for ext in (".edf", ".bdf"):
        path = tmp_path / f"n{ext}"
        with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
            rec = Recorder(path=str(path))
            rec.configure({"in": spec})
        rec.process({"in": Chunk(np.random.default_rng(0).uniform(-1e-4, 1e-4, (4, 200)), 0.0)})
        rec.close()
        want = ["EEG Fp1-Refere-0", "EEG Fp1-Refere-1", "Fp1-ref", "Cz"]
        read = mne.io.read_raw_edf if ext == ".edf" else mne.io.read_raw_bdf
        assert read(path, verbose="error").ch_names == want
        said = next(r.getMessage() for r in caplog.records if f"n{ext} cannot hold" in r.getMessage())
        assert all(f"-> {n!r}" in said for n in want[:3])  # what the file holds, said
    back = FileSource(path=str(tmp_path / "n.edf"))
    assert list(back.configure({})["out"].channel_names) == want
    back.close()


def test_a_killed_edf_at_a_rate_edf_cannot_hold_in_one_second_replays_its_times_as_mne_reads_them(tmp_path):
    """1000/3 Hz (1000 samples in 3 s records) and 0.5 Hz (1 in 2 s): a killed recording, recovered, replays the samples
    and times MNE reads from the same file (sample k at k / rate), its padding of the last record left out."""
    import mne

    for rate, n in ((1000 / 3, 1039), (0.5, 7)):
        path = tmp_path / f"r{n}.edf"
        script = f"""
import os, signal
import numpy as np
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec
spec = StreamSpec("signal", {rate!r}, (1,), "float64", ("a",), ("eeg",), units="V")
rec = Recorder(path={str(path)!r})
rec.configure({{"in": spec}})
x = np.random.default_rng(0).uniform(-1e-4, 1e-4, (1, {n}))
for i in range(0, {n}, 100):
    rec.process({{"in": Chunk(x[:, i : i + 100], i / {rate!r})}})
os.kill(os.getpid(), signal.SIGKILL)
"""
        proc = subprocess.run([sys.executable, "-c", script], timeout=120, check=False)
        assert proc.returncode == -signal.SIGKILL
        recover(path)
        x, t0s, _ = _replay(path)
        raw = mne.io.read_raw_edf(path, verbose="error")
        assert x.shape == (1, n) and raw.info["sfreq"] == rate
        np.testing.assert_array_equal(x, raw.get_data()[:, :n])
        assert t0s == [float(raw.times[k]) for k in range(0, n, 100)]
    assert not os.path.exists(tmp_path / "r1039.edf.chunks.csv")
