"""Real and broken recording files a user has, through file_source and the recorder (session 20's file attack)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec


def _record(path, spec, data, t0=0.0):
    rec = Recorder(path=str(path))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(data, t0)})
    rec.finish()
    rec.close()
    return path


def _replay(path, **params):
    """(data, chunk t0s) of the whole replay."""
    src = FileSource(path=str(path), **params)
    src.configure({})
    parts, times = [], []
    while (out := src.read()) is not None:
        parts.append(out["out"].data)
        times.append(out["out"].t0)
    src.close()
    return np.concatenate(parts, axis=1), times


def _npz(tmp_path, **change):
    """A recorder's .npz of 2 EEG channels at 100 Hz, its spec's or t0's fields replaced by `change`."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), "V")
    path = _record(tmp_path / "rec.npz", spec, np.arange(20.0).reshape(2, 10), t0=2.0)
    with np.load(path) as z:
        keys = {k: z[k] for k in z.files}
    d = json.loads(str(keys["spec"]))
    d.update({k: v for k, v in change.items() if k != "t0"})
    keys["spec"] = np.array(json.dumps(d))
    if "t0" in change:
        keys["t0"] = np.array(change["t0"])
    np.savez(path, **keys)
    return path


@pytest.mark.parametrize("rate", [0.0, float("nan"), -100.0, "fast"])
def test_an_npz_whose_spec_gives_no_rate_is_refused_naming_the_file(tmp_path, rate):
    """Before: rate 0 failed configure with 'ZeroDivisionError: float division by zero; fix: ... this is a bug in the
    node'; NaN or a negative rate 'output 'out' would run at nan Hz; fix: check its parameters' (the file's, not the
    node's)."""
    path = _npz(tmp_path, rate=rate)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert str(path) in str(e.value) and "sample rate" in str(e.value) and "array_source" in e.value.hint


@pytest.mark.parametrize(
    "change, said",
    [
        ({"shape": [5]}, "2 channel names for 5 channels"),
        ({"channel_types": ["eeg", "foo"]}, "unknown channel type 'foo'"),
    ],
)
def test_an_npz_whose_spec_was_edited_wrong_names_the_file_and_the_fix(tmp_path, change, said):
    """Session 42. Before: the spec's own check was said alone ('unknown channel type 'foo''), naming neither the file
    nor that its spec was edited; rate "fast" was np.isfinite's TypeError with the list of file formats as its fix."""
    path = _npz(tmp_path, **change)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert f"{path}: its spec: {said}" in str(e.value) and "spec member" in e.value.hint


def test_an_npz_whose_t0_is_not_finite_replays_from_0_and_says_so(tmp_path, caplog):
    """Before: every chunk went out at t0 NaN, unsaid; a CSV recorder downstream wrote a `t` column of nan, which
    file_source then refused ('a time that is not finite')."""
    path = _npz(tmp_path, t0=float("nan"))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        data, times = _replay(path, chunk_size=4)
    assert data.shape == (2, 10) and times == [0.0, 0.04, 0.08]
    assert "t0" in caplog.text and str(path) in caplog.text


def test_a_csv_saved_as_windows_1252_says_it_is_not_utf8_and_how_to_save_it(tmp_path):
    """Before: 'cannot read x.csv: UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe4 in position 4 ...; fix:
    supported formats: MNE raw formats ... the recorder's signals in .csv and .npz' (a .csv is one of them)."""
    path = tmp_path / "rec.csv"
    path.write_bytes("t,Fz,Cz ä\n0.0,1.0,2.0\n0.01,1.5,2.5\n".encode("cp1252"))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert "not UTF-8" in str(e.value) and "line 1" in str(e.value) and "iconv" in e.value.hint
    path.write_bytes("t,Fz,Cz ä\n0.0,1.0,2.0\n0.01,1.5,2.5\n".encode("utf-8-sig"))  # Excel's 'CSV UTF-8': read
    data, times = _replay(path)
    np.testing.assert_array_equal(data, [[1.0, 1.5], [2.0, 2.5]])
    assert times == [0.0]


def test_a_32_bit_integer_wav_replays_and_records_without_losing_its_low_bits(tmp_path):
    """Before: a PCM_32 WAV (a DAW's or ADC's 32-bit export: 31 bits and a sign) replayed at float32, which holds 24
    bits: (2**24 + 1) / 2**31 came out as 2**24 / 2**31, and a WAV recorder downstream wrote the rounded samples
    (subtype FLOAT), unsaid. It replays at float64 now, and the recorder writes it losslessly (DOUBLE)."""
    import soundfile as sf

    ints = np.array([[2**24 + 1, -(2**30) - 3, 123456789], [2**31 - 1, -(2**31), 7]], dtype=np.int32)
    path = tmp_path / "take.wav"
    sf.write(str(path), ints.T, 48000, subtype="PCM_32")
    x = sf.read(str(path), dtype="float64", always_2d=True)[0].T  # the file's values, exactly
    data, _ = _replay(path)
    assert data.dtype == np.float64
    np.testing.assert_array_equal(data, x)
    src = FileSource(path=str(path))
    spec = src.configure({})["out"]
    src.close()
    back = _record(tmp_path / "copy.wav", spec, data)
    np.testing.assert_array_equal(_replay(back)[0], x)
    assert sf.info(str(back)).subtype == "DOUBLE"
    assert _replay(path, dtype="float32")[0].dtype == np.float32  # asked for: as asked


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_an_eeg_stream_recorded_to_wav_or_flac_says_what_the_file_loses(tmp_path, caplog, suffix):
    """Before: an EEG stream in V recorded to .wav or .flac read back as ch0, ch1 of type audio in a.u., the names,
    types and unit gone, and FLAC's 24 bits of [-1, 1] kept 20 uV in steps of 0.12 uV (relative error 1e-3, 50 times
    an EDF's), all unsaid. It is said at configure now, with the formats that keep them. Audio is not."""
    spec = StreamSpec("signal", 256.0, (2,), "float64", ("Fp1", "Cz"), ("eeg", "eeg"), "V")
    x = np.random.default_rng(0).normal(0, 20e-6, (2, 256))
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        path = _record(tmp_path / f"eeg{suffix}", spec, x)
    said = caplog.text
    assert "Fp1, Cz" in said and "eeg" in said and "_raw.fif" in said
    assert ("1.19e-07 V" in said) == (suffix == ".flac")
    src = FileSource(path=str(path))
    assert src.configure({})["out"].channel_names == ("ch0", "ch1")  # what was said
    src.close()
    caplog.clear()
    audio = StreamSpec("signal", 8000.0, (2,), "float32", ("ch0", "ch1"), ("audio", "audio"), "a.u.")
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        _record(tmp_path / f"audio{suffix}", audio, np.zeros((2, 100), np.float32))
    assert "holds audio" not in caplog.text


def _eeglab_with_fdt(tmp_path, pnts_in_header: int, n: int = 300):
    """An EEGLAB .set of 3 channels at 100 Hz whose samples (n) are in a .fdt beside it, its EEG.pnts as given."""
    import mne
    import scipy.io

    x = np.random.default_rng(0).normal(0, 1e-5, (3, n))
    raw = mne.io.RawArray(x, mne.create_info(["Fz", "Cz", "Pz"], 100.0, "eeg"), verbose="error")
    inline = tmp_path / "inline.set"
    mne.export.export_raw(inline, raw, fmt="eeglab", overwrite=True, verbose="error")
    mat = {k: v for k, v in scipy.io.loadmat(inline, appendmat=False).items() if not k.startswith("__")}
    data = mat["data"].astype("<f4")
    mat["data"], mat["pnts"] = np.array("rec.fdt"), np.array([[float(pnts_in_header)]])
    scipy.io.savemat(tmp_path / "rec.set", mat, appendmat=False)
    (tmp_path / "rec.fdt").write_bytes(data.T.tobytes())  # a sample of every channel after another
    return tmp_path / "rec.set", data


def test_an_eeglab_fdt_holding_more_samples_than_its_header_says_what_is_left_out(tmp_path, caplog):
    """Before: a .set whose EEG.pnts (200) is less than its .fdt holds (300) replayed 200 samples without a word; the
    100 after them were lost unsaid (EDF's header of fewer records than the file holds was said already)."""
    path, data = _eeglab_with_fdt(tmp_path, pnts_in_header=200)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        got, _ = _replay(path)
    np.testing.assert_allclose(got, data[:, :200] * 1e-6, rtol=1e-6)  # what MNE reads (uV to V), as before
    assert "holds 300 samples" in caplog.text and "gives 200" in caplog.text and "EEG.pnts = 300" in caplog.text
    caplog.clear()
    path, data = _eeglab_with_fdt(tmp_path, pnts_in_header=300)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        got, _ = _replay(path)
    np.testing.assert_allclose(got, data * 1e-6, rtol=1e-6)
    assert "EEG.pnts" not in caplog.text


def test_a_csv_without_a_final_line_break_gives_a_fix_that_works(tmp_path, caplog):
    """Before: a CSV whose last row lacks its line break (a file saved without one, or a recording copied without its
    chunk log) was said 'cut off (its recorder was killed mid-row) ... `wavegraph recover x.csv` cuts it off for good';
    recover leaves a CSV without its chunk log as it is, so the fix did nothing and the warning came again. Without
    a chunk log the fix is now to end the file with a line break (the row is whole) or delete the row; with one (a
    killed recording's), recover, which does cut it."""
    from wavegraph.nodes.io.recover import recover

    path = tmp_path / "rec.csv"
    path.write_text("t,a\n0.0,1.0\n0.01,2.0\n0.02,3.0")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        data, _ = _replay(path)
    np.testing.assert_array_equal(data, [[1.0, 2.0]])
    assert "'0.02,3.0'" in caplog.text and "echo >>" in caplog.text and "recover" not in caplog.text
    with path.open("a") as f:  # the fix it gives
        f.write("\n")
    np.testing.assert_array_equal(_replay(path)[0], [[1.0, 2.0, 3.0]])
    path.write_text("t,a\n0.0,1.0\n0.01,2.0\n0.02,3.")  # a killed recording: its chunk log beside it
    (tmp_path / "rec.csv.chunks.csv").write_text("seq,t0,n,gap\n0,0.0,3,0\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _replay(path)
    assert f"wavegraph recover {path}" in caplog.text
    recover(path)  # the fix it gives
    assert path.read_text().endswith("0.01,2.0\n")


def test_plot_of_an_empty_npz_recording_says_it_holds_no_samples(tmp_path, capsys):
    """Before: `wavegraph plot` of the recorder's .npz of a stream stopped at once said 'ValueError: cannot reshape
    array of size 0 into shape (0)' (an empty EDF or WAV: 'holds no samples'); a signal .npz is now read as file_source
    replays it (mapped, not loaded whole), so its checks and words are file_source's."""
    from wavegraph.nodes.io.plot import main

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), "V")
    rec = Recorder(path=str(tmp_path / "empty.npz"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.zeros((2, 0)), 0.0)})
    rec.finish()
    rec.close()
    assert main([str(tmp_path / "empty.npz"), "-o", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert "holds no samples" in err and "reshape" not in err
    full = _record(tmp_path / "full.npz", spec, np.random.default_rng(0).normal(size=(2, 300)))
    assert main([str(full), "-o", str(tmp_path / "p.png")]) == 0 and (tmp_path / "p.png").stat().st_size > 0


def test_plot_of_a_killed_csv_recording_draws_its_whole_rows(tmp_path, capsys, caplog):
    """Before: `wavegraph plot` of a CSV whose recorder was killed mid-row ('0.02,3' cut from '0.02,3.0,4.0') failed
    with numpy's 'setting an array element with a sequence ... inhomogeneous shape' (file_source replays its whole
    rows); a Windows-1252 copy with 'UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe4'."""
    from wavegraph.nodes.io.plot import main

    path = tmp_path / "killed.csv"
    path.write_text("t,a,b\n0.0,1.0,2.0\n0.01,2.0,3.0\n0.02,3")
    with caplog.at_level(logging.WARNING, "wavegraph.plot"):
        assert main([str(path), "-o", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").stat().st_size > 0 and "'0.02,3'" in caplog.text
    path.write_bytes("t,Cz ä\n0.0,1.0\n0.01,2.0\n".encode("cp1252"))
    assert main([str(path), "-o", str(tmp_path / "p.png")]) == 2
    assert "not UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["killed_raw.fif", "killed.edf"])
def test_a_killed_recording_sends_file_source_and_plot_to_recover(tmp_path, capsys, name):
    """Before: the target of a recorder whose process was killed (only <path>.spill beside it) was 'no such file: ...;
    fix: did you mean killed.edf.spill?' (no reader takes a spill) from file_source, 'no such recording' from plot."""
    from wavegraph.nodes.io.plot import main
    from wavegraph.nodes.io.recover import recover

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), "V")
    path = tmp_path / name
    rec = Recorder(path=str(path))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.ones((2, 50)), 0.0)})
    rec._file.flush()  # noqa: SLF001 — as a killed process leaves it: the spill, no target
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert "was not written" in str(e.value) and f"wavegraph recover {path}" in e.value.hint
    assert main([str(path), "-o", str(tmp_path / "p.png")]) == 2
    assert f"wavegraph recover {path}" in capsys.readouterr().err
    rec._file.close()  # noqa: SLF001 — (the lock and the files go with the process)
    rec._chunks.close()  # noqa: SLF001
    recover(path)  # the fix given
    assert _replay(path)[0].shape == (2, 50)


def test_a_binary_file_named_csv_says_what_it_holds(tmp_path):
    """A FIF or a NumPy archive (or an Excel workbook, a ZIP too) named .csv: the not-UTF-8 check said to save it as
    UTF-8 (a FIF's first bytes said FIF before it); an archive was 'UnicodeDecodeError ...; fix: supported formats'."""
    import mne

    fif = tmp_path / "rec.csv"
    mne.io.RawArray(np.zeros((1, 10)), mne.create_info(["Cz"], 100.0, "eeg"), verbose="error").save(
        tmp_path / "x_raw.fif", verbose="error"
    )
    fif.write_bytes((tmp_path / "x_raw.fif").read_bytes())
    with pytest.raises(SpecError) as e:
        FileSource(path=str(fif)).configure({})
    assert "say FIF" in str(e.value) and "_raw.fif" in e.value.hint and "UTF-8" not in e.value.hint
    npz = _npz(tmp_path)
    fake = tmp_path / "table.csv"
    fake.write_bytes(npz.read_bytes())
    with pytest.raises(SpecError) as e:
        FileSource(path=str(fake)).configure({})
    assert "ZIP archive" in str(e.value) and ".npz" in e.value.hint and "UTF-8 (" not in str(e.value)


def test_plot_of_a_binary_file_named_csv_says_what_it_holds(tmp_path, capsys):
    """Before: `wavegraph plot` of a NumPy archive named .csv said 'is not UTF-8 text ...; fix: save it as UTF-8'."""
    from wavegraph.nodes.io.plot import main

    fake = tmp_path / "table.csv"
    fake.write_bytes(_npz(tmp_path).read_bytes())
    assert main([str(fake), "-o", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert "ZIP archive" in err and "UTF-8 text" not in err


def _without_root_rights(cmd: list[str]) -> list[str]:
    """`cmd` as run by a user to whom file modes apply: as root, under setpriv without the capabilities to read and
    write any file (skipped where setpriv is not installed); else as it is."""
    import os
    import shutil

    if os.geteuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        pytest.skip("root reads and writes any file; setpriv (to drop that) is not here")
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", "--", *cmd]


_READ_ALL = """
import sys
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError
for path in sys.argv[1:]:
    try:
        FileSource(path=path).configure({})
        print(path, 'READ')
    except SpecError as e:
        print(path, '|', str(e), '|', e.hint)
"""


def test_a_recording_this_user_may_not_read_says_permission_denied_and_the_fix(tmp_path):
    """Before: an EDF without read permission was 'its first bytes are not those of EDF files ... its start is
    damaged', a WAV 'LibsndfileError: ... System error; fix: the file is damaged, cut short or not audio', an NPZ
    'damaged or not a recorder's .npz: record it again'. (As root, run with the capability to read anything dropped.)"""
    import subprocess
    import sys

    import soundfile as sf

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), "V")
    x = np.random.default_rng(0).normal(0, 1e-5, (2, 200))
    paths = [_record(tmp_path / "r.edf", spec, x), _record(tmp_path / "r.npz", spec, x)]
    sf.write(str(tmp_path / "r.wav"), x.T, 100)
    paths.append(tmp_path / "r.wav")
    for p in paths:
        p.chmod(0)
    cmd = _without_root_rights([sys.executable, "-c", _READ_ALL, *map(str, paths)])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    assert len(out) == 3, out
    for line, p in zip(out, paths):
        assert f"cannot read {p}: permission denied" in line and f"chmod a+r {p}" in line, line
        assert "damaged" not in line, line


_RECORD_INTO = """
import sys, numpy as np
from pathlib import Path
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec
spec = StreamSpec("signal", 8000.0, (1,), "float32", ("ch0",), ("audio",), "a.u.")
for path in sys.argv[1:]:
    rec = Recorder(path=path, overwrite=True)
    try:
        rec.configure({"in": spec})
        if Path(path).parent.name == "shut":
            Path(path).parent.chmod(0o555)  # made read-only after the graph was built
        rec.process({"in": Chunk(np.zeros((1, 10), np.float32), 0.0)})
        print(path, "WROTE")
    except SpecError as e:
        print(path, "|", e, "|", e.hint)
    except OSError as e:
        print(path, "|", type(e).__name__, e)
"""


def test_a_recorder_that_may_not_write_its_wav_or_csv_says_so_and_the_fix(tmp_path):
    """Before: overwrite: true on a read-only WAV failed at the first chunk with a traceback ending 'LibsndfileError:
    Error opening b'x.wav': System error.', a CSV with 'Permission denied; ... fix: free space on that disk'. A
    read-only WAV/CSV is refused at configure now (the spilled formats replace it by a rename, which works), and a
    folder made read-only after configure gets the errno's own fix. (As root: run without the read-anything right.)"""
    import subprocess
    import sys

    ro_wav, ro_csv = tmp_path / "ro.wav", tmp_path / "ro.csv"
    for p in (ro_wav, ro_csv):
        p.write_bytes(b"")
        p.chmod(0o444)
    (tmp_path / "shut").mkdir()
    late = tmp_path / "shut" / "late.wav"
    cmd = _without_root_rights([sys.executable, "-c", _RECORD_INTO, str(ro_wav), str(ro_csv), str(late)])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    finally:
        (tmp_path / "shut").chmod(0o755)
    assert len(out) == 3, out
    for line, p in zip(out[:2], (ro_wav, ro_csv)):
        assert f"cannot overwrite {p}" in line and f"chmod u+w {p}" in line, line
    assert "PermissionError" in out[2] and "writable for your user" in out[2] and "free space" not in out[2], out[2]


def test_a_gzipped_fif_cut_short_says_so_and_how_to_replay_what_it_holds(tmp_path):
    """Before: a .fif.gz cut short (a copy or download stopped) was 'EOFError: Compressed file ended before the
    end-of-stream marker was reached; fix: it is FIF but damaged ...: export it again', though what it holds replays:
    decompressed as zcat does, file_source replays the cut FIF up to its last whole buffer."""
    import zlib

    import mne

    x = np.random.default_rng(0).normal(0, 1e-5, (4, 4000))
    raw = mne.io.RawArray(x, mne.create_info(4, 250.0, "eeg"), verbose="error")
    raw.save(tmp_path / "whole_raw.fif.gz", buffer_size_sec=1.0, verbose="error")
    cut = tmp_path / "rec_raw.fif.gz"
    cut.write_bytes((tmp_path / "whole_raw.fif.gz").read_bytes()[:-20000])
    with pytest.raises(SpecError) as e:
        FileSource(path=str(cut)).configure({})
    assert "cut short" in str(e.value) and f"zcat {cut} > {tmp_path / 'rec_raw.fif'}" in e.value.hint
    held = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut.read_bytes())  # what zcat writes
    (tmp_path / "rec_raw.fif").write_bytes(held)
    data, _ = _replay(tmp_path / "rec_raw.fif")
    assert 0 < data.shape[1] < 4000
    np.testing.assert_allclose(data, x[:, : data.shape[1]], rtol=1e-6)


@pytest.mark.parametrize("field", ["digital", "physical"])
def test_an_edf_channel_of_no_range_says_what_it_replays_and_the_fix(tmp_path, caplog, field):
    """Before: an EDF whose header gives a channel the same digital (or physical) minimum and maximum was replayed with
    MNE's words only, 'Scaling factor will not be defined in the following channels: C3' (or 'Physical range is not
    defined ...'): C3 came out far off (each digital step read as the whole physical range), with no fix said."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), "V")
    path = _record(tmp_path / "rec.edf", spec, np.random.default_rng(0).normal(0, 1e-5, (2, 300)))
    b = bytearray(path.read_bytes())
    ns = int(b[252:256])
    low, high = (120, 128) if field == "digital" else (104, 112)  # the field's offset / ns in the signal headers
    b[256 + ns * high : 256 + ns * high + 8] = b[256 + ns * low : 256 + ns * low + 8]  # C3's maximum := its minimum
    path.write_bytes(bytes(b))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _replay(path)
    assert f"gives C3 the same {field} minimum and maximum" in caplog.text and "picks" in caplog.text


def _cut_short_is_said_whole_is_not(whole, frames: int, caplog) -> None:
    """`whole` cut at 60 % replays fewer frames and is said truncated, with the frames it holds; `whole` is not."""
    cut = whole.with_name("cut" + whole.suffix)
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        data, _ = _replay(cut)
    assert 0 < data.shape[1] < frames
    assert f"{cut} is truncated" in caplog.text and f"the {data.shape[1]} frames" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        assert _replay(whole)[0].shape[1] == frames
    assert "truncated" not in caplog.text


def test_an_ogg_file_cut_short_is_said(tmp_path, caplog):
    """Before: an Ogg Vorbis file cut short replayed what it held without a word: libsndfile counts its frames up to
    its last whole page, so nothing disagreed (a FLAC or MP3 cut short was said). Its last page lacks Ogg's
    end-of-stream flag: said now. A whole file is not."""
    import soundfile as sf

    x = np.random.default_rng(0).uniform(-0.5, 0.5, (16000 * 3, 1))
    whole = tmp_path / "whole.ogg"
    sf.write(str(whole), x, 16000, format="OGG", subtype="VORBIS")
    _cut_short_is_said_whole_is_not(whole, len(x), caplog)


@pytest.mark.parametrize(("suffix", "form"), [(".aiff", "AIFF"), (".au", "AU"), (".w64", "W64"), (".rf64", "RF64")])
def test_an_aiff_au_w64_or_rf64_file_cut_short_is_said(tmp_path, caplog, suffix, form):
    """Before: these PCM containers cut short (a copy stopped at 60 %) replayed the frames they held without a word (a
    WAV cut short was said): libsndfile counts frames from the file's size. Their header gives the whole file's size:
    a file shorter than that is said now. A whole file is not."""
    import soundfile as sf

    x = np.random.default_rng(0).uniform(-0.5, 0.5, (1001, 1))
    whole = tmp_path / f"whole{suffix}"
    sf.write(str(whole), x, 8000, format=form, subtype="PCM_16")
    _cut_short_is_said_whole_is_not(whole, len(x), caplog)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_a_table_recording_replays_its_trigger_channel_as_events(tmp_path, suffix):
    """Before: stim_channel on the recorder's .npz or .csv was refused, 'a recorder's table: no stim channel', though
    it holds the channel (a FIF with STI 014 recorded to NPZ keeps its triggers there and nothing else of its events):
    the round trip lost every event. Now the rises of the channel, on the times recorded, as the FIF's replay gives."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("Cz", "STI 014"), ("eeg", "stim"), "V")
    x = np.zeros((2, 300))
    x[1, 10:15], x[1, 120:122], x[1, 250:260] = 5, 3, 12
    times = {}
    for name in (f"rec{suffix}", "rec_raw.fif"):
        path = _record(tmp_path / name, spec, x, t0=4.0)
        src = FileSource(path=str(path), stim_channel="STI 014", chunk_size=64)
        labels = src.configure({})["events"].labels
        got = []
        while (out := src.read()) is not None:
            got += [(out["out"].t0, *row) for row in out["events"].data.tolist()] if "events" in out else []
        times[name] = got
        assert labels == ((3, "3"), (5, "5"), (12, "12"))
    codes = [(round(t0, 6), code) for t0, _, _, code in times[f"rec{suffix}"]]
    assert codes == [(4.0, 5.0), (4.64, 3.0), (5.92, 12.0)]  # with the chunks of samples 10, 120, 250
    onsets = [round(onset, 6) for _, onset, _, _ in times[f"rec{suffix}"]]
    assert onsets == [4.1, 5.2, 6.5]  # the samples' recorded times (the FIF's stream clock starts at 0)
    with pytest.raises(SpecError, match="no stim channel 'STI 999'"):
        FileSource(path=str(tmp_path / f"rec{suffix}"), stim_channel="STI 999").configure({})


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz", ".edf.gz", ".edf.bz2"])
def test_a_recording_in_an_archive_says_to_extract_it(tmp_path, suffix):
    """Before: a data set as downloaded (rec.zip, rec.tar.gz, a sleep study's .edf.gz) was 'ValueError: Unsupported
    file type (.zip). Consider using a dedicated reader function ...; fix: supported formats: ...' (MNE's words), not
    that it is an archive and how to get the recording out. A .fif.gz, which MNE reads, is replayed as before."""
    import bz2
    import gzip
    import tarfile
    import zipfile

    spec = StreamSpec("signal", 100.0, (1,), "float64", ("Cz",), ("eeg",), "V")
    edf = _record(tmp_path / "rec.edf", spec, np.random.default_rng(0).normal(0, 1e-5, (1, 200)))
    path = tmp_path / f"rec{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            z.write(edf, "rec.edf")
    elif suffix == ".tar.gz":
        with tarfile.open(path, "w:gz") as t:
            t.add(edf, "rec.edf")
    else:
        path = tmp_path / f"x{suffix}"
        path.write_bytes((gzip if suffix.endswith(".gz") else bz2).compress(edf.read_bytes()))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert ("decompress it" if suffix.startswith(".edf.") else "extract it") in e.value.hint, e.value.hint
    assert str(path) in e.value.hint and "Unsupported file type" not in str(e.value)
    if suffix.startswith(".edf."):
        assert str(tmp_path / "x.edf") in e.value.hint


@pytest.mark.parametrize("size", [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"])
def test_an_aiff_whose_writer_left_its_size_unknown_is_not_said_truncated(tmp_path, caplog, size):
    """A streaming writer leaves an AIFF's FORM size 0 or 0xFFFFFFFF (unknown); libsndfile reads every frame. The
    check for a file cut short (above) took 0xFFFFFFFF for 4 GB promised and said 'truncated' of a whole file."""
    import soundfile as sf

    path = tmp_path / "stream.aiff"
    sf.write(str(path), np.zeros((500, 1)), 8000, format="AIFF", subtype="PCM_16")
    b = bytearray(path.read_bytes())
    b[4:8] = size
    path.write_bytes(bytes(b))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        assert _replay(path)[0].shape == (1, 500)
    assert "truncated" not in caplog.text


def test_an_xdf_or_csv_of_repeated_channel_labels_replays_them_as_lsl_inlet_names_them_live(tmp_path, caplog):
    """Before: an XDF stream labelled O1, O1, O2 (an amplifier's app that repeats a label) replayed as O1, O1, O2 while
    lsl_inlet takes the same stream live as O1-0, O1-1, O2 (MNE's rule): a graph's `picks: [O1-1]` worked live and
    failed on the recording, and `picks: [O1]` took the first of two unsaid. Same for a CSV's repeated column."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    x = np.arange(300.0).reshape(100, 3)
    stamps = 50.0 + np.arange(100) / 100.0
    path = write_xdf(tmp_path / "rec.xdf", [XdfStream("amp", "EEG", 100.0, x, stamps, "float32", ["O1", "O1", "O2"])])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = FileSource(path=str(path), picks=["O1-1"])
        assert src.configure({})["out"].channel_names == ("O1-1",)
        src.close()
    assert "O1-0, O1-1" in caplog.text
    np.testing.assert_array_equal(_replay(path, picks=["O1-1"])[0], x[:, 1:2].T)
    csv = tmp_path / "rec.csv"
    csv.write_text("t,a,a,b\n0.0,1,2,3\n0.01,4,5,6\n")
    src = FileSource(path=str(csv))
    assert src.configure({})["out"].channel_names == ("a-0", "a-1", "b")
    src.close()


def test_a_csv_whose_times_step_back_says_where(tmp_path, caplog):
    """Before: a CSV whose `t` column steps back (a clock reset, rows sorted wrong, two recordings pasted together)
    replayed without a word, its chunk times going back at a chunk flagged gap; a recorder downstream then called it
    'samples missing'. Said now, with the line and the times; every sample is still replayed, in the file's order."""
    t = np.concatenate([np.arange(50), np.arange(40, 90)]) / 100.0
    path = tmp_path / "joined.csv"
    path.write_text("t,a\n" + "".join(f"{v!r},{i}.0\n" for i, v in enumerate(t.tolist())))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        data, times = _replay(path, chunk_size=25)
    assert data.shape == (1, 100) and times == [0.0, 0.25, 0.4, 0.65]
    assert "steps back 1 time(s), first on line 52 (from 0.49 s to 0.4 s)" in caplog.text
    caplog.clear()
    path.write_text("t,a\n" + "".join(f"{i / 100!r},{i}.0\n" for i in range(100)))  # increasing: nothing said
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _replay(path)
    assert "steps back" not in caplog.text


@pytest.mark.parametrize(
    "order, said",
    [
        ([*range(50), 49, *range(50, 99)], "from 0.49 s to 0.49 s"),
        ([*range(49), 50, 49, *range(51, 100)], "from 0.5 s to 0.49 s"),
    ],
)
def test_a_csv_row_written_twice_or_two_rows_swapped_is_said(tmp_path, caplog, order, said):
    """Session 42. A step of 0 or -1 sample is within the 50 ms a live inlet's chunk times may jitter, so it is no
    gap; before, it replayed without a word, the times near it moving by a sample with the chunking."""
    t = np.array(order) / 100.0
    path = tmp_path / "dup.csv"
    path.write_text("t,a\n" + "".join(f"{v!r},{i}.0\n" for i, v in enumerate(t.tolist())))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        data, _ = _replay(path, chunk_size=7)
    assert data.shape == (1, 100)
    assert f"repeats a time or steps back by under 0.05 s 1 time(s), first on line 52 ({said})" in caplog.text


@pytest.mark.parametrize("given", ["", ".", "{tmp}", "{tmp}/takes.wav"])
def test_a_recorder_path_that_names_no_file_says_so(tmp_path, given):
    """Before: path '' or '.' was "recorder: cannot tell the format of ''; fix: use a suffix for one of: ...", and a
    folder ('out/') "cannot tell the format of 'out'": now that the path is empty or a folder, with a file to give
    (for audio a .wav; a folder named takes.wav gets takes.wav/recording.wav, as before)."""
    (tmp_path / "takes.wav").mkdir()
    path = given.format(tmp=tmp_path)
    audio = StreamSpec("signal", 8000.0, (1,), "float32", ("ch0",), ("audio",), "a.u.")
    with pytest.raises(SpecError) as e:
        Recorder(path=path).configure({"in": audio})
    assert ("is empty" if given in ("", ".") else "is a folder") in str(e.value)
    assert "recording.wav" in e.value.hint and "suffix" not in str(e.value)


def test_a_fif_recorder_says_which_marker_labels_it_cannot_hold(tmp_path, caplog):
    """Before: markers labelled 'Ωmega' or '测试' (an XDF's marker stream, replayed) recorded to FIF came back as
    '&#937;mega', '&#27979;&#35797;' (MNE writes annotations in Latin-1, others as XML references), unsaid; epochs or
    a decoder matching the label then found nothing. Said at configure now; EDF keeps them (UTF-8), and says nothing."""
    spec = StreamSpec("signal", 100.0, (1,), "float64", ("Cz",), ("eeg",), "V")
    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "Ωmega"), (2, "café"), (3, "测试")))
    for name in ("rec_raw.fif", "rec.edf"):
        caplog.clear()
        rec = Recorder(path=str(tmp_path / name), events=True)
        with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
            rec.configure({"in": spec, "events": ev})
        rec.process({"in": Chunk(np.zeros((1, 300)), 0.0), "events": Chunk(np.array([[0.5, 0.0, 1.0]]), 0.0)})
        rec.finish()
        rec.close()
        src = FileSource(path=str(tmp_path / name))
        labels = dict(src.configure({})["events"].labels)
        src.close()
        if name.endswith(".fif"):
            assert "'Ωmega' -> '&#937;mega'" in caplog.text and "'测试' -> '&#27979;&#35797;'" in caplog.text
            assert "café" not in caplog.text and "&#937;mega" in labels.values()  # what was said
        else:
            assert "marker label" not in caplog.text and "Ωmega" in labels.values()


def test_a_csv_recorder_says_a_channel_name_it_changes(tmp_path, caplog):
    """Before: a channel name with a line break ('EEG\\nFz', as some amplifier apps label) was written to CSV as
    'EEG Fz' unsaid, while FIF and EDF say each name they change; a graph picking 'EEG\\nFz' then failed on replay."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("EEG\nFz", "Cz"), ("eeg", "eeg"), "V")
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        path = _record(tmp_path / "rec.csv", spec, np.zeros((2, 10)))
    assert "'EEG\\nFz' -> 'EEG Fz'" in caplog.text and "Cz" not in caplog.text
    src = FileSource(path=str(path))
    assert src.configure({})["out"].channel_names == ("EEG Fz", "Cz")  # what was said
    src.close()


def test_a_wav_of_more_channels_than_libsndfile_reads_says_how_to_load_it(tmp_path):
    """Before: a valid WAV of 2000 channels (a microphone or probe array) was 'LibsndfileError: ... Too many channels
    specified.; fix: the file is damaged, cut short or not audio: ffmpeg decodes what it can'; it is not damaged, and
    scipy reads it."""
    import struct

    import scipy.io.wavfile

    ch = 2000
    fmt = struct.pack("<HHIIHH", 1, ch, 8000, 8000 * ch * 2, ch * 2, 16)
    data = np.arange(3 * ch, dtype="<i2").tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "array.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert "more channels than libsndfile reads" in str(e.value) and "scipy.io.wavfile.read" in e.value.hint
    assert "damaged" not in e.value.hint
    assert scipy.io.wavfile.read(path)[1].shape == (3, ch)  # the way given works
