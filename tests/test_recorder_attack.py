"""recorder and `wavegraph recover` against hostile streams: odd dtypes, integers past float32, killed CSVs.

Every file is read back (mne, soundfile, numpy) and compared with what went in. Each test failed before its fix."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import mne
import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec


def spec_of(dtype: str, n_ch: int = 2, rate: float = 100.0, types: str = "misc") -> StreamSpec:
    return StreamSpec("signal", rate, (n_ch,), dtype, tuple(f"C{i}" for i in range(n_ch)), (types,) * n_ch)


def record(path: Path, spec: StreamSpec, chunks, close: bool = True) -> Recorder:
    rec = Recorder(path=str(path))
    rec.configure({"in": spec})
    t = 0.0
    for c in chunks:
        rec.process({"in": Chunk(c, t)})
        t += c.shape[-1] / spec.rate
    if close:
        rec.finish()
        rec.close()
    return rec


@pytest.mark.parametrize("name", ["x_raw.fif", "x.edf", "x.bdf", "x.wav", "x.flac"])
def test_complex_stream_is_refused_at_configure_by_real_formats(tmp_path, name):
    """complex64 into FIF or FLAC lost its imaginary part with only numpy's ComplexWarning; EDF/BDF failed at close
    ('cannot write (0.1+0.9j) in 8 characters'), WAV at the first chunk with soundfile's dtype error."""
    rec = Recorder(path=str(tmp_path / name))
    with pytest.raises(SpecError, match=r"complex.*\.npz"):
        rec.configure({"in": spec_of("complex64")})
    assert not list(tmp_path.iterdir())


def test_complex_stream_to_npz_is_exact(tmp_path):
    data = (np.arange(8).reshape(2, 4) * (1 + 2j)).astype("complex64")
    record(tmp_path / "x.npz", spec_of("complex64"), [data[:, :2], data[:, 2:]])
    with np.load(tmp_path / "x.npz") as npz:
        np.testing.assert_array_equal(npz["data"], data)


@pytest.mark.parametrize("dtype", ["int64", "float16", "bool", "uint8", "uint16", "int8"])
def test_wav_takes_any_real_dtype(tmp_path, dtype):
    """soundfile writes float32/float64/int16/int32 only: an int64, float16, bool, uint8 ... stream failed its first
    chunk with "dtype must be one of ['float32', 'float64', 'int16', 'int32']"."""
    data = (np.arange(12).reshape(2, 6) % 2 if dtype == "bool" else np.arange(12).reshape(2, 6) - 3).astype(dtype)
    if dtype.startswith("u"):
        data = np.abs(data.astype(int)).astype(dtype)
    record(tmp_path / "x.wav", spec_of(dtype), [data[:, :4], data[:, 4:]])
    got, rate = sf.read(tmp_path / "x.wav", always_2d=True)
    assert rate == 100
    np.testing.assert_array_equal(got.T, data.astype(np.float64))


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("name", ["x_raw.fif", "x.wav"])
def test_whole_numbers_past_float32_stay_exact(tmp_path, dtype, name):
    """An int32/int64 stream (counts, sample indices) went to FIF as fmt='single' and to WAV as FLOAT: 2**24 + 1
    read back as 2**24, 2**30 + 1 as 2**30."""
    data = np.array([[2**24 + 1, 2**30 + 1, -(2**31) + 3, 7], [1, -(2**24) - 1, 2**31 - 1, 0]], dtype=dtype)
    record(tmp_path / name, spec_of(dtype), [data])
    if name.endswith(".wav"):
        got = sf.read(tmp_path / name, always_2d=True, dtype="float64")[0].T
    else:
        got = mne.io.read_raw_fif(tmp_path / name, verbose="error").get_data()
    np.testing.assert_array_equal(got, data.astype(np.float64))


def test_int16_fif_stays_single_precision(tmp_path):
    """(float32 holds int16: the file keeps the smaller format)"""
    data = np.array([[-32768, 32767, 5]], dtype="int16")
    record(tmp_path / "x_raw.fif", spec_of("int16", 1), [data])
    raw = mne.io.read_raw_fif(tmp_path / "x_raw.fif", verbose="error")
    assert raw.orig_format == "single"
    np.testing.assert_array_equal(raw.get_data(), data.astype(np.float64))


@pytest.mark.parametrize("dtype", ["int16", "int32", "uint8"])
def test_flac_says_when_integer_samples_are_clipped(tmp_path, dtype, caplog):
    """FLAC holds [-1, 1]: an integer stream (PCM counts) was clipped to +-1 without a count or a word (only float
    streams were counted)."""
    data = np.array([[0, 1, 5, 100], [1, 0, 0, 1]], dtype=dtype)
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        rec = record(tmp_path / "x.flac", spec_of(dtype), [data])
    assert rec.counters["clipped"] == 2
    assert "2 samples beyond it were clipped" in caplog.text
    got = sf.read(tmp_path / "x.flac", always_2d=True)[0].T
    np.testing.assert_allclose(got, np.clip(data, -1, 1), atol=2**-23)


def _killed_csv(tmp_path: Path, cut: int) -> tuple[Path, np.ndarray]:
    """A CSV recording whose process died mid-row: its file cut `cut` bytes before the end, no close()."""
    spec = spec_of("float64", 3)
    data = np.random.default_rng(0).standard_normal((3, 40)) * 1e-5
    path = tmp_path / "x.csv"
    rec = record(path, spec, [data[:, :20], data[:, 20:]], close=False)
    rec._file.close()
    rec._chunks.close()
    import os

    os.truncate(path, path.stat().st_size - cut)
    return path, data


@pytest.mark.parametrize("cut", [1, 7, 13, 37])
def test_recover_cuts_a_csv_back_to_its_last_whole_row(tmp_path, cut, caplog):
    """A CSV killed mid-row kept its torn last row: '-1.3e-05' cut to '-1.3' read as -1.3 (10**5 times the
    sample; cut 7 and 13 here), or a row of too few fields, which numpy and pandas refuse (cut 37). recover only
    returned the path."""
    path, data = _killed_csv(tmp_path, cut)
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        assert recover(path) == path
        assert recover(path) == path  # twice: the second finds it whole
    assert caplog.text.count("cut back to its last whole row") == 1
    got = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    assert got.shape == (39, 4)
    np.testing.assert_array_equal(got[:, 1:], data[:, :39].T)
    np.testing.assert_allclose(got[:, 0], np.arange(39) / 100.0)


def test_recover_leaves_a_closed_csv_as_it_is(tmp_path):
    """A CSV closed by its recorder (no chunk log left) is not cut, even without a final line break (another tool's)."""
    path = tmp_path / "x.csv"
    path.write_text("t,a\n0.0,1.5\n0.01,2.5")
    assert recover(path) == path
    assert path.read_text() == "t,a\n0.0,1.5\n0.01,2.5"


@pytest.mark.parametrize("name", ["x.edf", "x.bdf"])
def test_edf_says_when_its_range_fields_cannot_hold_a_channel_finely(tmp_path, name, caplog):
    """A channel of Unix times (1.7e9 s + 0 .. 1.9 s) gets the header range 1.7e+09 .. 1.72e+09 (8 characters): EDF's
    steps of 305 s read every sample back as one value, without a word. Said now, naming the channel; the other
    channel (EEG in volts) is not named."""
    spec = StreamSpec("signal", 10.0, (2,), "float64", ("stamp", "Cz"), ("misc", "eeg"))
    data = np.vstack([1.7e9 + np.arange(20) / 10, np.sin(np.arange(20)) * 1e-5])
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        record(tmp_path / name, spec, [data])
    said = [r.getMessage() for r in caplog.records if "finely" in r.getMessage()]
    assert len(said) == 1 and f"{name} cannot hold stamp finely" in said[0] and "Cz" not in said[0], said
    reader = mne.io.read_raw_bdf if name.endswith(".bdf") else mne.io.read_raw_edf
    got = np.asarray(reader(tmp_path / name, verbose="error").get_data())[:, :20]
    step = 305.18 if name.endswith(".edf") else 1.19
    assert f"steps of {step:.3g}" in said[0]
    assert np.abs(got[0] - data[0]).max() <= step / 2 * 1.001  # what it says: within half a step
    np.testing.assert_allclose(got[1], data[1], atol=1e-9)


def test_edf_says_nothing_of_channels_it_holds_finely(tmp_path, caplog):
    """(EEG, a DC offset of 0.3 V under 50 uV of signal, a trigger of whole codes, a constant, NaN: none is coarse)"""
    spec = StreamSpec("signal", 100.0, (4,), "float64", ("Fz", "DC", "STI", "K"), ("eeg", "eeg", "stim", "misc"))
    rng = np.random.default_rng(3)
    data = np.vstack(
        [rng.standard_normal(200) * 1e-5, 0.3 + rng.standard_normal(200) * 5e-5, np.arange(200) % 7, np.full(200, 5.0)]
    )
    data[0, 3] = np.nan
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        record(tmp_path / "x.edf", spec, [data])
    assert "finely" not in caplog.text


@pytest.mark.parametrize("name", ["x_raw.fif", "x.edf"])
def test_recover_does_not_write_a_marker_label_cut_by_the_kill(tmp_path, name, caplog):
    """A recording killed while writing a marker's line to <path>.events.csv: recover wrote the cut label ('right '
    for 'right hand') into the file's annotations. Now the marker keeps its place, labelled as a whole line of its
    code is (else by its code), and the log says so."""
    path = tmp_path / name
    spec = spec_of("float64", 1, types="eeg")
    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "left hand"), (2, "right hand")))
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": spec, "events": ev})
    rec.process({"in": Chunk(np.zeros((1, 100)), 0.0)})
    rec.process({"events": Chunk(np.array([[0.1, 0, 1], [0.3, 0, 2], [0.5, 0, 1], [0.7, 0, 2]]), 0.0)})
    rec.process({"in": Chunk(np.zeros((1, 100)), 1.0)})
    rec._file.close()
    rec._chunks.close()
    assert rec._events_file is not None
    rec._events_file.close()
    log = path.with_name(name + ".events.csv")
    import os

    os.truncate(log, log.stat().st_size - 5)  # '...,2,right hand\n' -> '...,2,right '
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        out = recover(path)
    assert "cut by the kill" in caplog.text
    reader = mne.io.read_raw_fif if name.endswith(".fif") else mne.io.read_raw_edf
    notes = reader(out, verbose="error").annotations
    assert [(round(float(o), 3), d) for o, d in zip(notes.onset, notes.description)] == [
        (0.1, "left hand"),
        (0.3, "right hand"),
        (0.5, "left hand"),
        (0.7, "right hand"),
    ]


def test_overwriting_a_split_fif_removes_the_old_recordings_parts(tmp_path):
    """overwrite: true over a FIF split into x_raw.fif, x_raw-1.fif, ...: a shorter new recording replaced x_raw.fif
    and left the old parts beside it, read by mne as a recording of this name (the old data)."""
    spec = spec_of("float64", 8, rate=1000.0, types="eeg")
    data = np.random.default_rng(4).standard_normal((8, 40000)) * 1e-6  # 2.56 MB: parts of 2 MB
    rec = Recorder(path=str(tmp_path / "x_raw.fif"), split_size="2MB")
    rec.configure({"in": spec})
    for k in range(4):
        rec.process({"in": Chunk(data[:, k * 10000 : (k + 1) * 10000], k * 10.0)})
    rec.finish()
    rec.close()
    assert {"x_raw-1.fif", "x_raw-2.fif"} <= {p.name for p in tmp_path.iterdir()}
    rec = Recorder(path=str(tmp_path / "x_raw.fif"), split_size="2MB", overwrite=True)
    rec.configure({"in": spec})
    rec.process({"in": Chunk(data[:, :500] * 2, 0.0)})
    rec.finish()
    rec.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x_raw.fif"]
    np.testing.assert_array_equal(
        mne.io.read_raw_fif(tmp_path / "x_raw.fif", verbose="error").get_data(), data[:, :500] * 2
    )


def test_a_new_split_fif_leaves_other_files_alone(tmp_path):
    """(no recording replaced: a file that happens to be named as a part is not the recorder's to remove)"""
    (tmp_path / "x_raw-1.fif").write_bytes(b"someone's")
    record(tmp_path / "x_raw.fif", spec_of("float64", 1), [np.zeros((1, 10))])
    assert (tmp_path / "x_raw-1.fif").read_bytes() == b"someone's"


@pytest.mark.parametrize("name", ["x_raw.fif", "x.edf", "x.bdf"])
def test_a_marker_of_negative_duration_is_kept(tmp_path, name):
    """A marker whose duration is negative (a decoder's end before its start) vanished from the annotations without a
    word (MNE drops it from a FIF; EDF's '\\x15-0.5' duration is no TAL MNE reads). Kept now with duration 0, as a
    NaN or inf duration is."""
    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "a"),))
    rec = Recorder(path=str(tmp_path / name), events=True)
    rec.configure({"in": spec_of("float64", 1, types="eeg"), "events": ev})
    rec.process({"in": Chunk(np.zeros((1, 100)), 0.0)})
    rec.process({"events": Chunk(np.array([[0.1, -0.5, 1], [0.3, np.inf, 1], [0.5, 0.2, 1]]), 0.0)})
    rec.process({"in": Chunk(np.zeros((1, 100)), 1.0)})
    rec.finish()
    rec.close()
    reader = {"fif": mne.io.read_raw_fif, "edf": mne.io.read_raw_edf, "bdf": mne.io.read_raw_bdf}[name[-3:]]
    notes = reader(tmp_path / name, verbose="error").annotations
    got = [(round(float(a["onset"]), 3), round(float(a["duration"]), 3), a["description"]) for a in notes]
    assert got == [(0.1, 0.0, "a"), (0.3, 0.0, "a"), (0.5, 0.2, "a")]


@pytest.mark.parametrize(
    ("names", "stored"),
    [(("Fp1 ü", "Fp1 u"), ["Fp1 u-0", "Fp1 u-1"]), (("中", "文"), ["?-0", "?-1"]), (("Fz", "Cz"), ["Fz", "Cz"])],
)
def test_fif_channel_names_that_become_one_keep_their_bad_mark(tmp_path, names, stored, caplog):
    """Names FIF's ASCII makes the same ('Fp1 ü' beside 'Fp1 u', '中' and '文' both '?') with a bad mark on the
    second: close() failed with MNE's "bad channel(s) ['?'] marked do not exist in info", and recover() the same, so
    the recording stayed in its spill. Numbered as MNE numbers duplicates, said at configure, the bad mark kept."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", names, ("eeg", "eeg"), bads=(names[1],))
    data = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) * 1e-6
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        record(tmp_path / "x_raw.fif", spec, [data])
    raw = mne.io.read_raw_fif(tmp_path / "x_raw.fif", verbose="error")
    assert raw.ch_names == stored and raw.info["bads"] == [stored[1]]
    np.testing.assert_array_equal(raw.get_data(), data)
    assert all(f"-> {n!r}" in caplog.text for n in stored if n not in names)


@pytest.mark.parametrize("name", ["x.edf", "x.bdf"])
def test_edf_channel_names_hold_no_control_characters(tmp_path, name, caplog):
    """A tab or line break in a channel name went into the EDF header as it was (EDF's header is printable text) and
    from there into the BIDS channels.tsv, whose rows it split ('a<TAB>b' made two columns of one). Written as
    spaces now, said at configure."""
    spec = StreamSpec("signal", 100.0, (3,), "float64", ("a\tb", "x\ny", "Fz"), ("eeg",) * 3)
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        record(tmp_path / name, spec, [np.ones((3, 100)) * 1e-6])
    assert "'a\\tb' -> 'a b'" in caplog.text
    reader = mne.io.read_raw_bdf if name.endswith(".bdf") else mne.io.read_raw_edf
    assert reader(tmp_path / name, verbose="error").ch_names == ["a b", "x y", "Fz"]


def test_bids_channels_tsv_keeps_one_row_per_channel(tmp_path):
    pytest.importorskip("mne_bids")
    spec = StreamSpec("signal", 100.0, (3,), "float64", ("a\tb", "x\ny", "Fz"), ("eeg",) * 3)
    rec = Recorder(path=str(tmp_path / "x.edf"), bids_root=str(tmp_path / "bids"), subject="01", task="rest")
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.ones((3, 100)) * 1e-6, 0.0)})
    rec.finish()
    rec.close()
    rows = [line.split("\t") for line in next((tmp_path / "bids").rglob("*_channels.tsv")).read_text().splitlines()]
    assert [r[0] for r in rows] == ["name", "a b", "x y", "Fz"] and len({len(r) for r in rows}) == 1


@pytest.mark.parametrize("name", ["x_raw.fif", "x.edf", "x.bdf"])
@pytest.mark.parametrize(("units", "factor"), [("uV", 1e-6), ("mV", 1e-3), ("µV", 1e-6), ("V", 1.0), ("a.u.", 1.0)])
def test_a_stream_in_microvolts_is_written_in_volts(tmp_path, name, units, factor):
    """A stream whose spec says its units are uV (array_source(..., units='uV'), a plugin source) was written as if
    in volts: 10 uV of EEG read back from the FIF, EDF or BDF as 10 V. Voltage channels are scaled to volts now;
    a misc channel keeps its value (MNE gives it no unit)."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("Cz", "aux"), ("eeg", "misc"), units)
    data = np.array([[10.0, -20.0, 30.0, 5.0], [1.0, 2.0, 3.0, 4.5]])
    record(tmp_path / name, spec, [data])
    reader = {"fif": mne.io.read_raw_fif, "edf": mne.io.read_raw_edf, "bdf": mne.io.read_raw_bdf}[name[-3:]]
    got = reader(tmp_path / name, verbose="error").get_data()[:, :4]
    np.testing.assert_allclose(got[0], data[0] * factor, rtol=1e-4)
    np.testing.assert_allclose(got[1], data[1], rtol=1e-4)


@pytest.mark.parametrize("name", ["x.edf", "x.bdf"])
def test_edf_writes_nan_as_0_also_where_the_channel_stays_above_0(tmp_path, name):
    """NaN is written as 0, as the log says; in a channel whose values stay away from 0 (a temperature of 36-37 degC)
    0 was outside the channel's range and a NaN read back as 36.0, a sample like the others, a dropout hidden."""
    spec = StreamSpec("signal", 10.0, (1,), "float64", ("temp",), ("misc",))
    data = np.array([[36.0, 36.5, np.nan, 37.0, 36.2, np.nan, 36.8, 36.1, 36.4, 36.9]])
    rec = record(tmp_path / name, spec, [data])
    assert rec.counters["nonfinite"] == 2
    reader = mne.io.read_raw_bdf if name.endswith(".bdf") else mne.io.read_raw_edf
    got = np.asarray(reader(tmp_path / name, verbose="error").get_data())[0, :10]
    step = 37.0 / (65535 if name.endswith(".edf") else 2**24 - 1)
    finite = np.isfinite(data[0])
    np.testing.assert_allclose(got[~finite], 0.0, atol=step)
    np.testing.assert_allclose(got[finite], data[0, finite], atol=step)


@pytest.mark.parametrize("name", ["x.edf", "x.bdf"])
def test_an_edf_of_no_sample_is_marked_all_padding(tmp_path, name):
    """A stream that ended without a sample gets an EDF/BDF of one record (EDF holds no empty one), which was not
    marked `padding` (only a part-filled last record was): read back and replayed as 1 s of zeros, data no one
    recorded. Marked now, and file_source replays no sample."""
    from wavegraph.nodes.io.file_source import FileSource

    record(tmp_path / name, spec_of("float64", 2, types="eeg"), [])
    reader = mne.io.read_raw_bdf if name.endswith(".bdf") else mne.io.read_raw_edf
    notes = reader(tmp_path / name, verbose="error").annotations
    assert list(zip(map(float, notes.onset), map(float, notes.duration), notes.description)) == [(0.0, 1.0, "padding")]
    src = FileSource(path=str(tmp_path / name))
    src.configure({})
    n = 0
    while (out := src.read()) is not None:
        n += out["out"].data.shape[-1] if "out" in out else 0
    assert n == 0


@pytest.mark.parametrize(("given", "written"), [("rec.fif", "rec_raw.fif"), ("REC.FIF", "REC_raw.fif")])
def test_recover_takes_the_path_the_graph_gave(tmp_path, given, written):
    """A recorder given path rec.fif writes rec_raw.fif (MNE's naming); killed, `wavegraph recover rec.fif` (the path
    in the user's YAML) said 'no spill file rec.fif.spill: nothing to recover' with the recording in
    rec_raw.fif.spill. It finishes rec_raw.fif now."""
    data = np.arange(10.0)[None, :] * 1e-6
    rec = record(tmp_path / given, spec_of("float64", 1, types="eeg"), [data], close=False)
    rec._file.close()
    rec._chunks.close()
    out = recover(tmp_path / given)
    assert out == tmp_path / written
    np.testing.assert_array_equal(mne.io.read_raw_fif(out, verbose="error").get_data(), data)
    assert recover(tmp_path / given) == tmp_path / written  # again: the finished file, found the same way


def test_recover_splits_a_fif_at_the_recorders_split_size(tmp_path):
    """A recording made with split_size: 2MB and killed was recovered into one file at MNE's 2 GB (the spill's header
    did not keep the recorder's split_size): parts too big for the limit the user set (an upload's, a card's)."""
    spec = spec_of("float64", 8, rate=1000.0, types="eeg")
    data = np.random.default_rng(5).standard_normal((8, 40000)) * 1e-6  # 2.56 MB
    rec = Recorder(path=str(tmp_path / "x_raw.fif"), split_size="2MB")
    rec.configure({"in": spec})
    rec.process({"in": Chunk(data, 0.0)})
    rec._file.close()
    rec._chunks.close()
    recover(tmp_path / "x_raw.fif")
    parts = sorted(p.name for p in tmp_path.iterdir())
    assert parts[:2] == ["x_raw-1.fif", "x_raw-2.fif"] and "x_raw.fif" in parts
    assert all(p.stat().st_size <= 2 * 2**20 for p in tmp_path.iterdir())
    np.testing.assert_array_equal(mne.io.read_raw_fif(tmp_path / "x_raw.fif", verbose="error").get_data(), data)


@pytest.mark.parametrize("name", ["x.wav", "x.flac", "x.npz"])
def test_a_gap_in_a_format_without_marks_keeps_its_chunk_times(tmp_path, name, caplog):
    """WAV, FLAC and NPZ hold samples back to back: a 4 s dropout left no trace in the file, and close() deleted the
    chunk log that said where it was (every sample after it 4 s early). The log is kept now and the gap said."""
    spec = spec_of("float32", 1)
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        rec = Recorder(path=str(tmp_path / name))
        rec.configure({"in": spec})
        rec.process({"in": Chunk(np.full((1, 100), 0.1, "float32"), 0.0)})
        rec.process({"in": Chunk(np.full((1, 100), 0.2, "float32"), 5.0, gap=True)})
        rec.finish()
        rec.close()
    assert "cannot mark the 1 gap(s)" in caplog.text and "at 1 s of the file" in caplog.text
    log = np.loadtxt(tmp_path / f"{name}.chunks.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(log[:, 1:], [[0.0, 100, 0], [5.0, 100, 1]])


@pytest.mark.parametrize("name", ["x.wav", "x.csv", "x_raw.fif"])
def test_no_chunk_log_is_left_without_a_gap_or_where_the_file_marks_it(tmp_path, name, caplog):
    rec = Recorder(path=str(tmp_path / name))
    rec.configure({"in": spec_of("float32", 1)})
    rec.process({"in": Chunk(np.full((1, 100), 0.1, "float32"), 0.0)})
    # (a FIF marks a gap but not a jump in time: its log is kept for one, test_replay_equivalence.py)
    t0 = 1.0 if name.endswith(".fif") else 5.0
    rec.process({"in": Chunk(np.full((1, 100), 0.2, "float32"), t0, gap=not name.endswith(".wav"))})
    rec.finish()
    rec.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_recover_keeps_the_markers_of_a_fif_without_a_whole_sample(tmp_path):
    """A FIF recording killed before its first whole sample but after markers: recover said 'held no complete
    sample: nothing to write' and had deleted <path>.events.csv, the markers with it."""
    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "start"),))
    path = tmp_path / "x_raw.fif"
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": spec_of("float64", 2, types="eeg"), "events": ev})
    rec.process({"events": Chunk(np.array([[0.0, 0.0, 1.0]]), 0.0)})
    rec.process({"in": Chunk(np.zeros((2, 1)), 0.0)})
    rec._file.close()
    rec._chunks.close()
    assert rec._events_file is not None
    rec._events_file.close()
    spill = tmp_path / "x_raw.fif.spill"
    import os

    os.truncate(spill, 9)  # part of the first sample's 16 bytes
    with pytest.raises(ValueError, match="no complete sample.*markers stay in x_raw.fif.events.csv"):
        recover(path)
    assert (tmp_path / "x_raw.fif.events.csv").read_text().splitlines()[1:] == ["0.0,0.0,1,start"]


def test_a_fif_of_no_sample_says_where_its_markers_are(tmp_path, caplog):
    """Markers came, no sample: the FIF is not written (it cannot be empty) and the markers stay in
    <path>.events.csv, which the warning did not name."""
    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "start"),))
    rec = Recorder(path=str(tmp_path / "x_raw.fif"), events=True)
    rec.configure({"in": spec_of("float64", 1, types="eeg"), "events": ev})
    rec.process({"events": Chunk(np.array([[0.5, 0.0, 1.0], [0.7, 0.0, 1.0]]), 0.0)})
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        rec.finish()
        rec.close()
    assert f"its 2 markers are kept in {tmp_path / 'x_raw.fif.events.csv'}" in caplog.text
    assert len((tmp_path / "x_raw.fif.events.csv").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("sub-01_task-rest_run-01_eeg.edf", "sub-01_task-rest_run-02_eeg.edf"),
        ("sub-01_ses-a_task-rest_run-1_eeg.bdf", "sub-01_ses-a_task-rest_run-02_eeg.bdf"),
        ("x_run-09.csv", "x_run-10.csv"),
    ],
)
def test_the_next_run_of_a_bids_style_name_keeps_one_run_entity(tmp_path, name, suggested):
    """An existing sub-01_task-rest_run-01_eeg.edf was refused naming sub-01_task-rest_run-01_eeg_run-02.edf (two
    run entities, no BIDS name) as the next free run."""
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(SpecError, match=f"path: {tmp_path / suggested},"):
        Recorder(path=str(tmp_path / name)).configure({"in": spec_of("float64", 1, types="eeg")})


def test_flac_counts_the_most_negative_integer_as_clipped(tmp_path):
    """np.abs(int16 -32768) is -32768: the most negative sample of an integer stream was clipped and not counted."""
    data = np.array([[-32768, 0, 1, -1]], dtype="int16")
    rec = record(tmp_path / "x.flac", spec_of("int16", 1), [data])
    assert rec.counters["clipped"] == 1


@pytest.mark.parametrize("where", ["root", "copy"])
def test_a_recording_that_is_its_own_bids_root_or_copy_is_refused_at_configure(tmp_path, where):
    """bids_root naming the recording itself (--bids out/rec.edf), or a path that is the BIDS copy's own: the run
    recorded, then failed at close in mne-bids ('Not a directory', 'Desired output BIDSPath ... is the source file')."""
    pytest.importorskip("mne_bids")
    if where == "root":
        path = root = tmp_path / "rec.edf"
    else:
        root = tmp_path / "bids"
        path = root / "sub-01" / "eeg" / "sub-01_task-rest_eeg.edf"
    rec = Recorder(path=str(path), bids_root=str(root), subject="01", task="rest")
    with pytest.raises(SpecError, match="itself.*fix: " + ("give bids_root" if where == "root" else "record to a")):
        rec.configure({"in": spec_of("float64", 1, types="eeg")})


@pytest.mark.parametrize(
    ("name", "said"),
    [("x.parquet", "to_parquet"), ("x.vhdr", "mne.export.export_raw"), ("x.mat", "scipy.io"), ("x.mp3", ".flac")],
)
def test_a_format_the_recorder_does_not_write_is_refused_with_its_way_there(tmp_path, name, said):
    """x.parquet (features for pandas), x.vhdr (BrainVision, a BIDS-EEG format), x.mat, x.mp3: refused with only the
    list of suffixes, not that the format is left out on purpose and how to get one."""
    with pytest.raises(SpecError, match=f"cannot tell the format of '{name}' .*{re.escape(said)}"):
        Recorder(path=str(tmp_path / name)).configure({"in": StreamSpec("features", 10.0, (2,))})


@pytest.mark.parametrize(
    ("name", "top", "said"), [("x.bdf", 70000, True), ("x.bdf", 255, False), ("x.edf", 70000, False)]
)
def test_a_bdf_status_channel_beyond_16_bits_is_said(tmp_path, name, top, said, caplog):
    """A trigger channel named Status with a code of 70000 in a BDF: file_source reads a BDF's Status as BioSemi's,
    its low 16 bits (as MNE advises), and replayed the code as 4464 without a word. Said at close now, with the fix;
    codes within 16 bits, and an EDF's Status, say nothing."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("Cz", "Status"), ("eeg", "stim"))
    data = np.zeros((2, 200))
    data[1, 50:60], data[1, 120:130] = top, 3
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        record(tmp_path / name, spec, [data])
    assert ("read as BioSemi's trigger channel" in caplog.text) == said, caplog.text


_HOLDS = r"""
import sys
from pathlib import Path
import wavegraph.nodes.io.recover as rv
real = rv.finalise
def held(*a, **k):  # the lock is held now: say so, and go on when told
    print("converting", flush=True)
    sys.stdin.readline()
    return real(*a, **k)
rv.finalise = held
print(rv.recover(Path(sys.argv[1])), flush=True)
"""


def test_a_second_recover_leaves_a_spill_another_recover_converts(tmp_path):
    """Two `wavegraph recover` at once (a boot script and the user): the spill's lock was taken and let go before the
    conversion, so both converted it into the same temporary file, and one deleted the spill under the other. The
    lock is held until the spill is converted: the second is refused, and the first's file is whole."""
    import subprocess
    import sys

    data = np.arange(300.0).reshape(3, 100)
    path = tmp_path / "x.npz"
    rec = record(path, spec_of("float64", 3), [data], close=False)
    rec._file.close()
    rec._chunks.close()
    first = subprocess.Popen(
        [sys.executable, "-c", _HOLDS, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "converting"
        with pytest.raises(OSError, match="recovered by another recover"):
            recover(path)
        out, _ = first.communicate("\n", timeout=60)
    finally:
        first.kill()
    assert out.strip() == str(path) and first.returncode == 0
    np.testing.assert_array_equal(np.load(path)["data"], data)
    assert recover(path) == path  # after it: the finished file


def _latin1_locale(monkeypatch, *modules):
    """open() as on a system whose locale is not UTF-8 (Windows' cp1252, a Latin-1 locale): text files default to it."""
    import builtins

    def opened(*args, **kwargs):
        if "b" not in (args[1] if len(args) > 1 else kwargs.get("mode", "r")):
            kwargs.setdefault("encoding", "latin-1")
        return builtins.open(*args, **kwargs)

    for module in modules:
        monkeypatch.setattr(module, "open", opened, raising=False)


def test_csv_and_markers_are_utf8_whatever_the_locale(tmp_path, monkeypatch):
    """On a system whose locale is not UTF-8 (Windows), a CSV with a channel named '中文' failed its first chunk with
    UnicodeEncodeError (the run lost), as did a FIF's marker log for a label '中文'; recover read the log back in
    the locale's encoding. All are UTF-8 now."""
    import wavegraph.nodes.io.recorder as recorder_module
    import wavegraph.nodes.io.recover as recover_module

    _latin1_locale(monkeypatch, recorder_module, recover_module)
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("中文", "Fz"), ("eeg", "eeg"))
    record(tmp_path / "x.csv", spec, [np.zeros((2, 3))])
    assert (tmp_path / "x.csv").read_text(encoding="utf-8").splitlines()[0] == "t,中文,Fz"
    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "中文 ü"),))
    rec = Recorder(path=str(tmp_path / "x_raw.fif"), events=True)
    rec.configure({"in": spec, "events": ev})
    rec.process({"in": Chunk(np.zeros((2, 100)), 0.0)})
    rec.process({"events": Chunk(np.array([[0.5, 0.0, 1.0]]), 0.0)})
    rec._file.close()
    rec._chunks.close()
    assert rec._events_file is not None
    rec._events_file.close()
    notes = mne.io.read_raw_fif(recover(tmp_path / "x_raw.fif"), verbose="error").annotations
    assert [a["description"] for a in notes] == ["&#20013;&#25991; ü"]  # (MNE's FIF: XML references outside Latin-1)


@pytest.mark.parametrize(
    ("name", "top", "said"), [("x.edf", 100000, True), ("x.edf", 60000, False), ("x.bdf", 100000, False)]
)
def test_edf_says_when_trigger_codes_cannot_be_exact(tmp_path, name, top, said, caplog):
    """A trigger channel with codes 0..100000 in an EDF (16 bits: 65536 steps) cannot have a gain of 1: code 7 read back
    as 7.63, rounded 8, a wrong code without a word. Said now with the fix (.bdf); codes within 65536 steps, and a
    BDF's, are exact and say nothing."""
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("Cz", "TRIG"), ("eeg", "stim"))
    data = np.zeros((2, 200))
    data[1, 10:20], data[1, 80:90] = top, 7
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        record(tmp_path / name, spec, [data])
    assert ("holds the whole numbers of TRIG" in caplog.text) == said, caplog.text
    reader = mne.io.read_raw_bdf if name.endswith(".bdf") else mne.io.read_raw_edf
    got = np.asarray(reader(tmp_path / name, verbose="error").get_data())[1, :200]
    step = (top + 1) / 65535
    assert np.abs(got - data[1]).max() <= (step / 2 if said else 0)
