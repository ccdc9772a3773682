"""Defects a file-input attack found and left: each reproduced as a user meets it (tiny files under tmp_path)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError


def _replay(path, **params) -> np.ndarray:
    src = FileSource(path=str(path), **params)
    src.configure({})
    out = []
    while (c := src.read()) is not None:
        out.append(c["out"].data)
    src.close()
    return np.concatenate(out, axis=1) if out else np.zeros((0, 0))


def test_a_loop_of_links_is_said_to_be_one(tmp_path, capsys):
    """loop1 -> loop2 -> loop1 as file_source's path was 'loop1 is a link to loop2, which does not exist' (loop2 is
    there), and `wavegraph plot loop1` said 'no such recording'. Both say now it is a loop of links, and the fix."""
    from wavegraph.nodes.io.plot import main as plot_main

    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    with pytest.raises(SpecError) as e:
        _replay(tmp_path / "loop1")
    assert f"{tmp_path / 'loop1'} is a loop of links" in e.value.message and "does not exist" not in e.value.message
    assert "ln -sfn RECORDING" in e.value.hint
    assert plot_main([str(tmp_path / "loop1")]) == 2
    assert "loop1 is a loop of links" in capsys.readouterr().err


def test_recover_of_a_spill_this_user_cannot_read_says_so_and_how_to_fix_it(tmp_path, capsys, monkeypatch):
    """`wavegraph recover` on a spill of mode 000 (or another user's 600) said 'cannot write x.npz from x.npz.spill:
    Permission denied; fix: copy x.npz.spill, ... to a folder you can write', which cannot work: the copy needs the
    spill read. It says now the spill cannot be read, its mode and owner, and the fix (chmod u+rw, its owner).
    (Root reads any file: a user's os.open and os.access are stood in for.)"""
    import errno

    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.nodes.io.recover import recover_main
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    rec = Recorder(path=str(tmp_path / "x.npz"))
    rec.configure({"in": StreamSpec("signal", 50.0, (1,), "float64", channel_names=("x",))})
    rec.process({"in": Chunk(np.arange(20.0)[None], t0=0.0)})
    rec._file.close()  # the process died: the spill stays
    spill = tmp_path / "x.npz.spill"
    spill.chmod(0)
    real_open, real_access = os.open, os.access

    def user_open(p, *a, **k):
        if os.fspath(p) == os.fspath(spill):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
        return real_open(p, *a, **k)

    monkeypatch.setattr(os, "open", user_open)
    monkeypatch.setattr(os, "access", lambda p, m, **k: os.fspath(p) != os.fspath(spill) and real_access(p, m, **k))
    assert recover_main([str(spill)]) == 1
    err = capsys.readouterr().err
    assert "cannot read x.npz.spill (----------, owner " in err and "the spill is kept" in err
    assert f"chmod u+rw {spill}" in err and "a folder you can write" not in err
    assert spill.exists() and not (tmp_path / "x.npz").exists()


def _with_nonfinite(tmp_path, kind: str):
    """A 2-channel, 200-sample recording at 100 Hz with 5 NaN on 'a' (samples 10..14) and an inf on 'b' (20)."""
    import json

    x = np.random.default_rng(1).normal(0, 1e-5, (2, 200))
    x[0, 10:15], x[1, 20] = np.nan, np.inf
    if kind == "fif":
        import mne

        path = tmp_path / "n_raw.fif"
        raw = mne.io.RawArray(x, mne.create_info(["a", "b"], 100.0, "eeg"), verbose="error")
        raw.save(path, verbose="error")
    elif kind == "npz":
        from wavegraph.pipeline.spec import StreamSpec

        path = tmp_path / "n.npz"
        spec = StreamSpec("signal", 100.0, (2,), "float64", ("a", "b"))
        np.savez(path, data=x, spec=json.dumps(spec.to_dict()))
    else:
        path = tmp_path / "n.csv"
        rows = "".join(f"{i / 100!r},{float(x[0, i])!r},{float(x[1, i])!r}\n" for i in range(200))
        path.write_text("t,a,b\n" + rows)
    return path, x


@pytest.mark.parametrize("kind", ["fif", "npz", "csv"])
def test_nan_or_inf_samples_of_a_recording_are_said_once(tmp_path, caplog, kind):
    """NaN/inf samples of a FIF, NPZ or CSV recording were replayed without a word (a float WAV's are said); a filter
    downstream zeroed them, counted only as its nan_zeroed. One warning now names the file, how many samples on which
    channels, the first, and what the nodes downstream do; the samples still go out as they are, counted nonfinite."""
    path, x = _with_nonfinite(tmp_path, kind)
    src = FileSource(path=str(path), chunk_size=16)
    src.configure({})
    out = []
    with caplog.at_level("WARNING", "wavegraph.file_source"):
        while (c := src.read()) is not None:
            out.append(c["out"].data)
    np.testing.assert_allclose(np.concatenate(out, axis=1), x, rtol=1e-6)  # as they are (FIF: float32; NaN == NaN)
    said = [r.getMessage() for r in caplog.records if "NaN or inf" in r.getMessage()]
    assert len(said) == 1, said
    assert f"{path} holds 6 NaN or inf samples on 2 channel(s) (a, b)" in said[0]
    assert "the first at sample 10 (0.1 s)" in said[0] and "nan_policy" in said[0]
    assert src.counters["nonfinite"] == 6


def test_a_split_fif_cut_short_in_a_middle_part_names_the_parts_left_out(tmp_path, caplog):
    """A split FIF (x_raw.fif, x_raw-1.fif, x_raw-2.fif) whose middle part was cut short (a copy stopped): MNE finds each
    part by the name stored at the end of the one before, so the replay ended in x_raw-1.fif, said truncated, and
    x_raw-2.fif was left out without a word. It is named now, with the fix; a whole split recording says nothing."""
    import mne

    raw = mne.io.RawArray(np.zeros((64, 100_000), np.float32), mne.create_info(64, 1000.0, "eeg"), verbose="error")
    raw.save(tmp_path / "x_raw.fif", split_size="10MB", verbose="error")
    assert (tmp_path / "x_raw-2.fif").exists()
    with caplog.at_level("WARNING", "wavegraph.file_source"):
        FileSource(path=str(tmp_path / "x_raw.fif")).configure({})
    assert "does not lead on" not in caplog.text  # whole: every part replayed
    middle = tmp_path / "x_raw-1.fif"
    os.truncate(middle, middle.stat().st_size // 2)
    caplog.clear()
    with caplog.at_level("WARNING", "wavegraph.file_source"):
        src = FileSource(path=str(tmp_path / "x_raw.fif"))
        src.configure({})
    assert src.n_times < 100_000
    said = [r.getMessage() for r in caplog.records if "does not lead on" in r.getMessage()]
    assert len(said) == 1, caplog.text
    assert "up to the end of x_raw-1.fif" in said[0] and "the part(s) beside it x_raw-2.fif (" in said[0]
    assert f"replay them alone (path: {tmp_path / 'x_raw-2.fif'}" in said[0]


@pytest.mark.parametrize("name", ["Status ", " status"])
def test_a_bdf_channel_stored_as_status_says_its_codes_are_cut_to_16_bits(tmp_path, caplog, name):
    """A BDF channel named 'Status ' (a space: BDF's header stores it 'Status') holding code 70000 read back as 4464,
    BioSemi's low 16 bits, without the warning a channel named 'Status' gets at close: that looked at the name given,
    not the name stored. It looks at the stored name now."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    x = np.zeros((2, 256))
    x[1, 100:110] = 70000
    rec = Recorder(path=str(tmp_path / "t.bdf"))
    rec.configure({"in": StreamSpec("signal", 128.0, (2,), "float64", ("Cz", name), ("eeg", "stim"))})
    rec.process({"in": Chunk(x, t0=0.0)})
    with caplog.at_level("WARNING", "wavegraph.recorder"):
        rec.close()
    assert f"a BDF channel named {name!r} is read as BioSemi's trigger channel" in caplog.text, caplog.text
    assert _replay(tmp_path / "t.bdf")[1].max() == 70000 & 0xFFFF  # (what the warning is about)


def test_a_one_row_csv_says_file_source_takes_no_rate_and_how_to_replay_it(tmp_path):
    """A CSV recording of one sample cannot be replayed (its rate is read from the steps of its `t` column), where an
    empty EDF, WAV or NPZ replays nothing with a warning. The fix was 'replay a recording of two samples or more',
    which no user can do to this file, and it did not say that file_source takes no rate. It says so now, and gives
    the array_source call that replays it at the rate the user knows."""
    from wavegraph.nodes.io.array_source import ArraySource

    path = tmp_path / "one.csv"
    path.write_text("t,a,b\n0.0,1.5,-2\n")
    with pytest.raises(SpecError) as e:
        _replay(path)
    assert "holds 1 row: its rate cannot be told from its `t` column" in e.value.message
    assert "file_source takes no `rate`" in e.value.hint and "ch_names=['a', 'b']" in e.value.hint
    call = e.value.hint[e.value.hint.index("data=") : e.value.hint.index(", rate=")]
    data = eval(call.removeprefix("data="), {"numpy": np})  # the call it gives reads the file
    src = ArraySource(data=data, rate=100.0, ch_names=["a", "b"])
    src.configure({})
    assert (got := src.read()) is not None
    np.testing.assert_array_equal(got["out"].data, [[1.5], [-2.0]])
