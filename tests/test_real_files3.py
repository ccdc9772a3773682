"""Real-file and broken-file round 3 on the EEG replay/recording path (file_source -> recorder, recover): EDF/BDF units
per channel, our own recordings read back, HDF5, damaged EDF headers, a full disk. Each checked against MNE's read of
the same file, or the file's own bytes."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import mne
import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.spec import SpecError


def _edf(path, signals, n_rec, duration=1.0, bdf=False):
    """An EDF (or BDF) of `n_rec` records: signals [(label, unit, digital samples, samples per record, pmin, pmax)],
    label and unit as text (Latin-1) or the header's bytes themselves. Digital range: the format's whole range."""

    def f(s, n):
        return (s if isinstance(s, bytes) else str(s).encode("latin-1"))[:n].ljust(n)

    ns, (dmin, dmax) = len(signals), ((-(1 << 23), (1 << 23) - 1) if bdf else (-32768, 32767))
    head = (b"\xffBIOSEMI" if bdf else f("0", 8)) + f("X", 80) + f("Startdate 01-JAN-2020 X", 80)
    head += f("01.01.20", 8) + f("00.00.00", 8) + f(256 * (ns + 1), 8) + f("", 44) + f(n_rec, 8) + f(duration, 8)
    head += f(ns, 4) + b"".join(f(s[0], 16) for s in signals) + f("", 80) * ns + b"".join(f(s[1], 8) for s in signals)
    head += b"".join(f(s[4], 8) for s in signals) + b"".join(f(s[5], 8) for s in signals)
    head += f(dmin, 8) * ns + f(dmax, 8) * ns + f("", 80) * ns + b"".join(f(s[3], 8) for s in signals) + f("", 32) * ns
    body = []
    for r in range(n_rec):
        for _, _, x, spr, _, _ in signals:
            part = np.asarray(x[r * spr : (r + 1) * spr], np.int64)
            body.append(
                part.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes() if bdf else part.astype("<i2")
            )
    path.write_bytes(head + b"".join(bytes(b) for b in body))
    return path


def _replay(path, **params):
    src = FileSource(path=str(path), **params)
    spec = src.configure({})["out"]
    data = []
    while (out := src.read()) is not None:
        data.append(out["out"].data)
    src.close()
    return spec, np.concatenate(data, axis=1)


def test_each_edf_channel_is_scaled_by_its_own_unit(tmp_path, caplog):
    """Before: MNE scales 'uV', 'µV' and 'mV' only; 'UV', 'uv', 'nV' and a micro sign written in UTF-8 ('ÂµV' read
    as Latin-1) came out as volts, 1e6 (1e9) times the value, and were typed misc as 'no voltage' with a warning; a
    temperature or heart rate beside EEG got a warning that MNE reads it as EEG in volts, on every replay. Now each
    voltage is volts (the file's digital values times its gain and unit, decoded here), the others are misc with their
    values as in the file, and only the rescaled ones are said as a warning. A unit padded with NULs ('uV\\0\\0...'), which
    MNE reads unscaled and file_source then typed misc, is the unit before the NULs."""
    x = np.random.default_rng(0).integers(-30000, 30000, 400)
    units = {"uV": 1e-6, "µV": 1e-6, "µV".encode(): 1e-6, "UV": 1e-6, "uv": 1e-6, "mV": 1e-3, "V": 1.0, "nV": 1e-9}
    units |= {b"uV\x00\x00\x00\x00\x00\x00": 1e-6, b"mV\x00": 1e-3}  # NUL-padded (MNE: unscaled)
    other = ["", "degC", "BPM", "%"]
    signals = [(f"E{i}", u, x, 100, -3276.8, 3276.7) for i, u in enumerate([*units, *other])]
    path = _edf(tmp_path / "units.edf", signals, 4)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        spec, got = _replay(path)
    value = (x + 32768) * (6553.5 / 65535) - 3276.8  # the physical value each sample holds, in the file's unit
    want = np.array([value * s for s in units.values()] + [value] * len(other))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert spec.channel_types == ("eeg",) * len(units) + ("misc",) * len(other)
    (said,) = [r.getMessage() for r in caplog.records]
    assert (
        "E2 in 'Â\xb5V', E3 in 'UV', E4 in 'uv', E7 in 'nV', E8 in 'uV' (NUL-padded), E9 in 'mV' (NUL-padded) scaled"
        in said
    )
    assert "degC" not in said


def test_a_recording_read_back_is_silent_and_equal_to_what_was_recorded(tmp_path, caplog):
    """Before: the recorder's EDF/BDF of a stream with a misc or stim channel (written without a unit, as MNE's own
    export writes them) got 'channels hold no voltage (Temp without a unit, STI 014 without a unit) ... a million
    times the value' when file_source read it back, and its trigger channel 'STI 014' came back misc, its events lost
    (mne.find_events(raw) reads that channel by its name). Now the round trip says nothing at WARNING, each channel
    comes back within one quantisation step of what went in (FIF: bit for bit), and the trigger's events with it."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 1000)) * 1e-5
    x[3] = 36.5 + rng.standard_normal(1000) * 0.01  # a temperature, misc
    x[4] = np.repeat([0, 5, 0, 3, 0], 200)  # a trigger channel
    names, types = ["Fp1", "C3", "EOG1", "Temp", "STI 014"], ["eeg", "eeg", "eog", "misc", "stim"]
    for name in ("rec.edf", "rec.bdf", "rec_raw.fif"):
        g = GraphBuilder()
        g.add(
            "recorder", g.add("array_source", data=x, rate=250.0, ch_names=names, ch_types=types), path=tmp_path / name
        )
        g.run()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            spec, got = _replay(tmp_path / name)
        assert [r.getMessage() for r in caplog.records if r.name.startswith("wavegraph")] == [], name
        assert spec.channel_names == tuple(names) and got.shape == x.shape
        step = np.ptp(x, axis=1) / (2**24 if name.endswith(".bdf") else 2**16) if "fif" not in name else 0 * x[:, 0]
        assert np.all(np.abs(got - x).max(axis=1) <= step), name
        src = FileSource(path=str(tmp_path / name))
        src.configure({})
        assert src.reader is not None
        assert src.reader.ch_types[3:] == ["misc", "stim"], name  # (EDF: the trigger by its name, as find_events)
        assert src.reader.events[:, [0, 3]].tolist() == [[200, 5], [600, 3]], name  # its steps, as find_events
        src.close()


def _full_disk(kind, folder, size=256 << 10):
    """A folder where writes fail past about 256 KB: a tmpfs of that size (needs root: mount), or a file-size limit
    on the run's process (RLIMIT_FSIZE: EFBIG, for anyone). Returns what the run's subprocess needs."""
    import os
    import resource
    import signal
    import subprocess

    folder.mkdir()
    if kind == "tmpfs":
        if (
            os.geteuid() != 0
            or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)]).returncode
        ):
            pytest.skip("mounting a tmpfs needs root")
        return None

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.parametrize("kind", ["tmpfs", "file size limit"])
@pytest.mark.parametrize("name", ["rec_raw.fif", "rec.csv"])
def test_a_full_disk_says_what_is_kept_and_recover_finishes_it(tmp_path, kind, name):
    """Before: a recorder whose disk filled up failed the run with a bare 'OSError: [Errno 28] No space left on device'
    (soundfile's 'LibsndfileError: System error.' for WAV), nothing said of the samples before it (kept in the spill)
    or of `wavegraph recover`; its conversion at close failed unsaid; a CSV kept a row cut off mid-line. Now the error
    names the file, the samples kept and where, and the fix; the spill, moved to a disk with room, recovers to exactly
    the samples that were written; a CSV ends with its last whole row."""
    import subprocess
    import sys

    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 5000)) * 1e-5
    src = tmp_path / "src_raw.fif"
    mne.io.RawArray(x, mne.create_info([f"E{i}" for i in range(16)], 250.0, "eeg"), verbose="error").save(src)
    want = np.asarray(mne.io.read_raw_fif(src, verbose="error").get_data())  # (float32 in the file)
    disk = tmp_path / "disk"
    limit = _full_disk(kind, disk)
    try:
        g = tmp_path / "g.yaml"
        g.write_text(
            f"nodes:\n  - {{id: src, type: file_source, params: {{path: '{src}', chunk_size: 50}}}}\n"
            f"  - {{id: rec, type: recorder, params: {{path: '{disk / name}'}}}}\n"
            "edges:\n  - {source: src.out, target: rec.in}\n"
        )
        cmd = [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(g), "--in-process", "--no-status"]
        r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit, timeout=300)
        assert r.returncode != 0
        said = " ".join(r.stderr.split())
        assert f"recorder: writing {disk / name} failed: " in said and "samples (" in said, said[-2000:]
        assert f"wavegraph recover {disk / name}" in said and "fix: " in said
        n = int(said.split("recorder: writing")[1].split(" samples (")[0].rsplit(" ", 1)[1])
        assert 0 < n < 5000 and n % 50 == 0
        if name.endswith(".csv"):
            rows = np.loadtxt(disk / name, delimiter=",", skiprows=1, ndmin=2)
            assert rows.shape == (n, 17)
            np.testing.assert_array_equal(rows[:, 1:].T, want[:, :n])
            return
        moved = tmp_path / "room"
        moved.mkdir()
        for p in disk.iterdir():
            if p.name.startswith(name):
                shutil.move(p, moved / p.name)
        from wavegraph.nodes.io.recover import recover

        out = recover(moved / name)
        np.testing.assert_array_equal(mne.io.read_raw_fif(out, verbose="error").get_data(), want[:, :n])
    finally:
        if kind == "tmpfs":
            subprocess.run(["umount", str(disk)])


def _h5(path, layout):
    import h5py

    with h5py.File(path, "w") as f:
        if layout == "g.tec":
            f.create_dataset("RawData/Samples", data=np.zeros((100, 8)))
            f.create_dataset("RawData/AcquisitionTaskDescription", data=b"<SamplingFrequency>256</SamplingFrequency>")
        elif layout == "SNIRF":
            f["formatVersion"] = b"1.0"
            f.create_group("nirs")
        elif layout == "NWB":
            f.attrs["nwb_version"] = "2.5.0"
        elif layout == "pandas":
            f.create_group("eeg").attrs["pandas_type"] = "frame_table"
        elif layout == "other":
            f.create_dataset("signals/eeg", data=np.zeros((4, 100)))
    return path


@pytest.mark.parametrize(
    ("layout", "said"),
    [
        (
            "g.tec",
            "it is g.tec (g.Recorder), which file_source does not read; load it: h5py.File(PATH)['RawData/Samples']",
        ),
        ("SNIRF", "it is SNIRF (fNIRS), which file_source reads by its own suffix, as MNE does: cp "),
        ("NWB", "it is NWB, which file_source does not read; load its ElectricalSeries with pynwb"),
        (
            "pandas",
            "it is a pandas table (Timeflux), which file_source does not read; load it: pandas.read_hdf(PATH, KEY) (keys: eeg)",
        ),
        (
            "other",
            "it is HDF5 of no layout known here, which file_source does not read; its datasets: signals/eeg (4, 100)",
        ),
        ("not HDF5", "it is named HDF5, but h5py cannot open it"),
    ],
)
def test_an_hdf5_file_is_told_how_to_load_it_by_what_it_holds(tmp_path, layout, said):
    """file_source reads no HDF5: MNE's readers take none of the layouts EEG tools write to it but SNIRF, under its
    own suffix. Before: every .h5/.hdf5 got the same fix for Timeflux and OpenSignals (a g.tec, NWB or SNIRF file too,
    and one that is not HDF5 at all), and no word of the formats file_source reads or of converting to FIF. Now the
    hint says what the file holds and how to load or rename it, how to convert it to FIF, and what is read."""
    path = tmp_path / ("rec.hdf5" if layout == "g.tec" else "rec.h5")
    if layout == "not HDF5":
        path.write_bytes(b"not HDF5, a copy cut at its start " * 10)
    else:
        _h5(path, layout)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert str(path) in e.value.message and said in e.value.hint
    if layout != "SNIRF":
        assert (
            "mne.io.RawArray(DATA" in e.value.hint and "file_source reads MNE's raw formats (FIF, EDF" in e.value.hint
        )


@pytest.mark.parametrize("field", ["250.5", "-250", "0", "250 Hz"])
def test_an_edf_whose_samples_per_record_is_no_count_is_refused_naming_the_signal(tmp_path, field):
    """Before: MNE's 'invalid literal for int() with base 10: '250.5   '' (or 'holds no data record ... a record takes
    -500 bytes' for '-250', 'takes 0' for '0': as if the file were cut short). Now the field, its signal and its
    bytes are named."""
    x = np.arange(1000) % 200 - 100
    path = _edf(tmp_path / "rec.edf", [("C3", "uV", x, 250, -3276.8, 3276.7)], 4)
    raw = bytearray(path.read_bytes())
    raw[472:480] = field.encode().ljust(8)
    path.write_bytes(bytes(raw))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    said = "each of its signals has 0 samples" if field == "0" else f"signal 1 ('C3') has {field!r} as its samples per"
    assert f"{path}'s header is damaged: {said}" in e.value.message and "export it again" in e.value.hint


def test_an_edf_of_records_lasting_0_s_is_said_to_have_an_unknown_rate(tmp_path, caplog):
    """A header whose record duration is 0 with signals in it: MNE takes 1 s records and says 'It is possible that
    this file only contains annotations and no signals', which file_source passed on. Now it says the rate is unknown,
    the rate MNE takes for each channel, and which header field to fix; the replay is MNE's read."""
    x = np.random.default_rng(3).integers(-3000, 3000, 1000)
    path = _edf(
        tmp_path / "rec.edf", [("C3", "uV", x, 100, -3276.8, 3276.7), ("C4", "uV", x, 50, -3276.8, 3276.7)], 10, 0
    )
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        spec, got = _replay(path)
    said = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("wavegraph"))
    assert "a duration of 0 s, so its rate is unknown: MNE takes 1 s (C3 100 Hz, C4 50 Hz)" in said
    assert "bytes 244-252" in said and "only contains annotations" not in said
    assert spec.rate == 100.0
    np.testing.assert_array_equal(got, mne.io.read_raw_edf(path, preload=True, verbose="error").get_data())


@pytest.mark.parametrize("data", ["C:\\Users\\lab\\rec.eeg", "raw\\rec.eeg", "/mnt/usb/rec.eeg", "elsewhere/x.eeg"])
def test_a_brainvision_header_naming_its_data_file_by_a_path_says_which_line_to_edit(tmp_path, data):
    """A header written on another machine (a converter's full Windows path, a subfolder written with '\\'). Before:
    "a file of the recording is missing: [Errno 2] No such file or directory: '.../C:\\\\Users\\\\lab\\\\rec.eeg'" with
    the fix 'copy every file ... under the names its header gives', which a Windows path cannot be. Now the path, and
    the line to edit to the file beside it (or to copy it there)."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    header = _brainvision(tmp_path, [("S  8", 100)])
    header.write_text(header.read_text().replace("DataFile=rec.eeg", f"DataFile={data}"))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(header)).configure({})
    assert (
        f"its header names its data file by the path {data!r}, which leads nowhere from {tmp_path}" in e.value.message
    )
    base = data.replace("\\", "/").rsplit("/", 1)[-1]
    fix = "rec.eeg is beside it: edit the header's DataFile= line to rec.eeg" if base == "rec.eeg" else f"copy {base}"
    assert e.value.hint.startswith(fix)


def test_a_brainvision_marker_file_missing_is_said_once(tmp_path, caplog):
    """Before: file_source's 'names its marker file 'rec.vmrk', which is not beside it: replayed without its markers'
    and then MNE's "MarkerFile 'rec.vmrk' not found; no annotations." passed on: the same thing twice."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    header = _brainvision(tmp_path, [("S  8", 100)])
    (tmp_path / "rec.vmrk").unlink()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got = _replay(header)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("wavegraph")]
    assert len(said) == 1 and "replayed without its markers" in said[0]
    np.testing.assert_array_equal(got, mne.io.read_raw_brainvision(header, verbose="error").get_data())


@pytest.mark.parametrize(
    ("offset", "what", "text"), [(104, "physical minimum", "abc"), (128, "digital maximum", "nan")]
)
def test_an_edf_whose_range_field_is_no_number_is_refused_naming_it(tmp_path, offset, what, text):
    """Before: MNE's "could not convert string to float: 'abc     '" (a NaN range: NaN samples, unsaid). Now the field,
    its signal and its bytes; a comma as the decimal mark ('3276,7', which MNE reads) is no damage."""
    x = np.arange(1000) % 200 - 100
    signals = [("C3", "uV", x, 100, "-3276,8", 3276.7), ("X", "uV", x, 100, -3276.8, 3276.7)]
    path = _edf(tmp_path / "rec.edf", signals, 10)
    _replay(path)  # (the comma)
    raw = bytearray(path.read_bytes())
    at = 256 + 2 * offset + 8
    raw[at : at + 8] = text.encode().ljust(8)
    path.write_bytes(bytes(raw))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    said = f"header is damaged: signal 2 ('X') has {text!r} as its {what} (bytes {at}-{at + 8}), not a number"
    assert said in e.value.message


def test_an_edf_recording_says_the_channel_types_and_bad_marks_it_cannot_hold_and_bids_keeps_them(tmp_path, caplog):
    """EDF/BDF have no field for a channel's type or a bad mark. Before: a FIF with an ECG channel and Fp2 marked bad,
    recorded to EDF, read back (by MNE or file_source) as four good EEG channels, unsaid (a CAR on the replay takes the
    ECG and the bad channel in), and its BIDS copy's channels.tsv said EEG, good. Now the recorder says it at the
    start; with bids_root, channels.tsv holds ECG and Fp2 bad, as mne_bids reads them back."""
    import mne_bids
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    names, types = ("Fp1", "Fp2", "C3", "ECG"), ("eeg", "eeg", "eeg", "ecg")
    spec = StreamSpec("signal", 250.0, (4,), "float64", names, types, "V", bads=("Fp2",))
    x = np.random.default_rng(4).standard_normal((4, 500)) * 1e-5
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        Recorder(path=str(tmp_path / "plain.edf")).configure({"in": spec})
    (said,) = [r.getMessage() for r in caplog.records]
    assert "plain.edf holds no channel types or bad marks (EDF): ECG (ecg) read back as EEG, and Fp2 as good" in said
    caplog.clear()  # what reads back as it was is not said: misc (no unit), triggers by MNE's names ('Status': stim)
    kept = StreamSpec(
        "signal", 250.0, (4,), "float64", ("Fp1", "STI 014", "Status", "Temp"), ("eeg", "stim", "stim", "misc")
    )
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        Recorder(path=str(tmp_path / "kept.bdf")).configure({"in": kept})
    assert caplog.records == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        rec = Recorder(path=str(tmp_path / "rec.bdf"), bids_root=str(tmp_path / "bids"), subject="01", task="rest")
        rec.configure({"in": spec})
    assert caplog.records == []
    rec.process({"in": Chunk(x, 0.0)})
    rec.close()
    bp = mne_bids.BIDSPath(subject="01", task="rest", root=tmp_path / "bids", datatype="eeg")
    back = mne_bids.read_raw_bids(bp, verbose="error")
    assert back.get_channel_types() == list(types) and back.info["bads"] == ["Fp2"]


@pytest.mark.parametrize("first", [5.0, 2.25])
def test_an_edf_whose_first_record_starts_seconds_after_its_header_time_is_dated_so(tmp_path, first):
    """EDF+: the first record's time-keeping annotation ('+5') is when it starts after the header's start time (a
    recording whose first records were dropped). MNE's meas_date is the header's time and its annotation onsets count
    from the first record, so meas_date + onset was `first` s early. Before: file_source kept only a fraction below 1 s
    ('+0.39'): '+5' was dated 5 s early, '+2.25' 2.25 s early (not even its fraction). Now the first sample is dated
    header + first, so a marker written at file time first + 1.5 s is at that wall time; a FIF recorder keeps it."""
    from datetime import datetime, timedelta

    def tal(start, notes=()):
        text = f"+{start}\x14\x14\x00".encode() + b"".join(f"+{o}\x14{d}\x14\x00".encode() for o, d in notes)
        return np.frombuffer(text.ljust(120, b"\x00"), "<i2")

    tals = np.concatenate([tal(first + r, [(first + 1.5, "mark")] if r == 1 else []) for r in range(10)])
    x = np.arange(1000) % 200 - 100
    signals = [("C3", "uV", x, 100, -3276.8, 3276.7), ("EDF Annotations", "", tals, 60, -32768, 32767)]
    path = _edf(tmp_path / "rec.edf", signals, 10)
    raw = bytearray(path.read_bytes())
    raw[192:197] = b"EDF+C"
    path.write_bytes(bytes(raw))
    src = FileSource(path=str(path))
    spec = src.configure({})["out"]
    assert src.reader is not None and src.reader.events[:, 1].tolist() == [1.5]  # (as MNE: from the first record)
    header = datetime.fromisoformat("2020-01-01T00:00:00+00:00")
    assert datetime.fromisoformat(str(spec.meas_date)) == header + timedelta(seconds=first)
    g = GraphBuilder()
    g.add("recorder", g.add("file_source", path=str(path)), path=tmp_path / "rec_raw.fif")
    g.run()
    assert mne.io.read_raw_fif(tmp_path / "rec_raw.fif", verbose="error").info["meas_date"] == header + timedelta(
        seconds=first
    )


def test_a_fif_whose_projectors_a_recorder_drops_says_so(tmp_path, caplog):
    """A FIF carrying an SSP projector not applied (an average reference saved with projection=True), replayed into a
    FIF recorder: the recording holds the data without the projector (the stream carries no projectors). Before: the
    warning said 'replayed as stored' and how to apply them, not that the recording loses them. Now it says so."""
    raw = mne.io.RawArray(
        np.random.default_rng(5).standard_normal((4, 1000)) * 1e-5,
        mne.create_info(["Fp1", "Fp2", "C3", "C4"], 250.0, "eeg"),
        verbose="error",
    )
    raw.set_eeg_reference("average", projection=True, verbose="error")
    raw.save(tmp_path / "proj_raw.fif", verbose="error")
    g = GraphBuilder()
    g.add("recorder", g.add("file_source", path=tmp_path / "proj_raw.fif"), path=tmp_path / "out_raw.fif")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        g.run()
    assert "A recorder downstream does not write them into its file" in caplog.text
    assert mne.io.read_raw_fif(tmp_path / "out_raw.fif", verbose="error").info["projs"] == []


def test_an_edf_annotation_signal_labelled_with_a_nul_is_still_the_annotations(tmp_path):
    """An EDF+ whose annotation signal's label is 'EDF Annotations' then a NUL byte (MNE cuts a label at a NUL): the
    header readers took it for a signal, so their channel count did not match MNE's and the units were left unread: a
    channel in 'UV' beside it stayed 1e6 times its value. Now the label is cut as MNE cuts it."""
    tal = np.frombuffer(b"+0\x14\x14\x00".ljust(120, b"\x00"), "<i2")
    x = np.random.default_rng(6).integers(-3000, 3000, 400)
    signals = [("C3", "UV", x, 100, -3276.8, 3276.7), (b"EDF Annotations\x00", "", np.tile(tal, 4), 60, -32768, 32767)]
    path = _edf(tmp_path / "rec.edf", signals, 4)
    raw = bytearray(path.read_bytes())
    raw[192:197] = b"EDF+C"
    path.write_bytes(bytes(raw))
    _, got = _replay(path)
    np.testing.assert_allclose(got[0], ((x + 32768) * (6553.5 / 65535) - 3276.8) * 1e-6, rtol=1e-12)


def test_a_split_fif_whose_parts_were_renamed_says_to_name_them_back(tmp_path):
    """MNE finds a split FIF's next part by the name written inside the part before it. Parts renamed by hand
    (rec_raw.fif -> s01_raw.fif, rec_raw-1.fif -> s01_raw-1.fif): MNE's 'next file .../rec_raw-1.fif does not exist',
    and the fix 'copy every file ... under the names its header gives'. Now: which file to name back, and how."""
    x = np.random.default_rng(7).standard_normal((8, 400_000)).astype("f4") * 1e-5
    raw = mne.io.RawArray(x, mne.create_info(8, 1000.0, "eeg"), verbose="error")
    raw.save(tmp_path / "rec_raw.fif", split_size="10MB", verbose="error")
    assert (tmp_path / "rec_raw-1.fif").exists()
    for old, new in (("rec_raw.fif", "s01_raw.fif"), ("rec_raw-1.fif", "s01_raw-1.fif")):
        (tmp_path / old).rename(tmp_path / new)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / "s01_raw.fif")).configure({})
    assert "give s01_raw-1.fif its name back (mv s01_raw-1.fif rec_raw-1.fif" in e.value.hint
    (tmp_path / "s01_raw-1.fif").rename(tmp_path / "rec_raw-1.fif")
    _, got = _replay(tmp_path / "s01_raw.fif")
    np.testing.assert_array_equal(got, x.astype(np.float64))


def _spill(folder, name="rec_raw.fif"):
    """A recording whose process died before close(): its spill, spill header and chunk log (4 chunks, 1000 samples)."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    rec = Recorder(path=str(folder / name))
    rec.configure({"in": signal_spec(250.0, ["Fp1", "Fp2"])})
    for k in range(4):
        rec.process({"in": Chunk(np.full((2, 250), 1e-6 * k), t0=float(k), seq=k)})
    rec._file.close()  # (as the system closes them when the process dies: no close(), nothing converted)
    rec._chunks.close()
    return folder / name


@pytest.mark.parametrize("kind", ["read-only", "file size limit"])
def test_recover_that_cannot_write_says_what_to_do_for_its_cause(tmp_path, kind):
    """Before: `wavegraph recover` on a full disk said 'error: PATH: OSError: [Errno 28] No space left on device', and
    on a read-only card '[Errno 30] Read-only file system', without what was kept or what to do. Now the spill is kept
    and the fix fits the cause: free that much room (or move the files), or copy them to a folder that can be written;
    recovered there, the recording is whole."""
    import subprocess
    import sys

    folder = tmp_path / "card"
    folder.mkdir()
    limit = None
    if kind == "read-only":
        if (
            os.geteuid() != 0
            or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)]).returncode
        ):
            pytest.skip("mounting a tmpfs needs root")
    try:
        path = _spill(folder)
        if kind == "read-only":
            assert subprocess.run(["mount", "-o", "remount,ro", str(folder)]).returncode == 0
        else:
            limit = _full_disk("file size limit", tmp_path / "unused", 8 << 10)  # (the FIF takes 16 KB)
        code = f"from wavegraph.nodes.io.recover import recover_main; raise SystemExit(recover_main([{str(path)!r}]))"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit, timeout=120)
        assert r.returncode == 1 and "the spill is kept; fix: " in r.stderr, r.stderr
        if kind == "read-only":
            assert (
                "copy rec_raw.fif.spill, rec_raw.fif.spill.json, rec_raw.fif.chunks.csv together to a folder"
                in r.stderr
            )
        else:
            assert f"free about 0.016 MB in {folder} and recover again, or move rec_raw.fif.spill" in r.stderr
        room = tmp_path / "room"
        room.mkdir()
        for p in folder.iterdir():
            shutil.copy(p, room / p.name)
        from wavegraph.nodes.io.recover import recover

        got = mne.io.read_raw_fif(recover(room / path.name), verbose="error").get_data()
        np.testing.assert_array_equal(got, np.repeat(np.arange(4) * 1e-6, 250)[None].repeat(2, 0))
    finally:
        if kind == "read-only":
            subprocess.run(["umount", str(folder)])


@pytest.mark.parametrize(
    ("listed", "tail", "said"),
    [
        (10, b"", "lists 10 data records, the file holds more"),
        (14, b"", "is truncated: its header lists 14 data records, the file holds 12"),
        (10, b"\x01\x02\x03", "and 3 bytes after the last whole one, left out"),
    ],
)
def test_an_edf_holding_other_than_its_header_lists_is_said_once(tmp_path, caplog, listed, tail, said):
    """Before: a file holding fewer records than its header lists was said twice (file_source's 'is truncated ...
    replaying those', then MNE's 'Number of records from the header does not match the file size ... Inferring from
    the file size'); one holding more (a header never updated, a recording appended) got only MNE's line, which speaks
    of a recording not stopped. Now one line each, with both counts; the replay is MNE's read (every whole record)."""
    x = np.random.default_rng(8).integers(-3000, 3000, 1200)
    path = _edf(tmp_path / "rec.edf", [("C3", "uV", x, 100, -3276.8, 3276.7)], 12)
    raw = bytearray(path.read_bytes())
    raw[236:244] = str(listed).encode().ljust(8)
    path.write_bytes(bytes(raw) + tail)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got = _replay(path)
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("wavegraph")]
    assert said in line
    np.testing.assert_array_equal(got, mne.io.read_raw_edf(path, preload=True, verbose="error").get_data())


def test_a_warning_mne_gives_in_several_lines_is_passed_on_in_one(tmp_path, caplog):
    """MNE's 'Physical range is not defined in following channels:\\nX' (an EDF signal whose physical minimum equals its
    maximum) was passed on as it came, its channel on a line of its own (in a log, a line without the file's name). Now
    one line, naming the file and the channel; the replay is MNE's read."""
    x = np.arange(1000) % 200 - 100
    signals = [("C3", "uV", x, 100, -3276.8, 3276.7), ("X", "uV", x, 100, 0, 0)]
    path = _edf(tmp_path / "rec.edf", signals, 10)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got = _replay(path)
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("wavegraph")]
    assert f"{path}: its header gives X the same physical minimum and maximum" in line and "\n" not in line
    np.testing.assert_array_equal(got, mne.io.read_raw_edf(path, preload=True, verbose="error").get_data())


@pytest.mark.parametrize("orientation", ["VECTORIZED", "MULTIPLEXED"])
@pytest.mark.parametrize("points", [True, False])
def test_a_brainvision_data_file_cut_short_is_refused_where_its_channels_would_shift(
    tmp_path, caplog, orientation, points
):
    """A BrainVision data file cut short. Stored a channel at a time (VECTORIZED, as Analyzer exports), MNE splits
    what is there into equal channels: cut by 10 samples of the last channel, channel 2 read from channel 1's sample
    490 on ([90, 91, 92] for [0, 1, 2]), every channel after the first wrong, unsaid. Now refused, with the samples it
    holds when the header gives them (DataPoints). Stored a sample at a time (MULTIPLEXED), the whole samples are
    right: replayed, and with DataPoints said cut short."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    header = _brainvision(tmp_path, [("S  8", 100)])
    x = (np.arange(1500).reshape(3, 500) % 100).astype("<i2")
    data = x.tobytes() if orientation == "VECTORIZED" else x.T.tobytes()
    cut = 60 if points else 61  # 10 samples of 3 channels (without DataPoints: and 1 byte, which a size can show)
    (tmp_path / "rec.eeg").write_bytes(data[:-cut])
    text = header.read_text().replace("MULTIPLEXED", orientation)
    header.write_text(
        text.replace("NumberOfChannels=3", "NumberOfChannels=3\nDataPoints=500" if points else "NumberOfChannels=3")
    )
    if orientation == "VECTORIZED":
        with pytest.raises(SpecError) as e:
            FileSource(path=str(header)).configure({})
        held = "2940 bytes of 3000: 490 of its 500 samples" if points else "2939 bytes, 5 into a sample"
        assert f"rec.eeg is cut short ({held}), and its samples are stored a channel at a time" in e.value.message
        return
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got = _replay(header)
    assert got.shape == (3, (3000 - cut) // 6)
    np.testing.assert_array_equal(got, mne.io.read_raw_brainvision(header, verbose="error").get_data())
    assert ("holds 490 of the 500 samples" in caplog.text) == points


@pytest.mark.parametrize(
    ("starts", "said"),
    [
        ([0, 1, 2, 10, 11, 5], "record 6 starts at 5 s, before record 5 ends (12 s)"),
        ([0, 0.5, 3], "record 2 starts at 0.5 s, before record 1 ends (1 s)"),
    ],
)
def test_an_edf_d_whose_records_go_back_in_time_is_refused(tmp_path, starts, said):
    """EDF+D: each data record's time-keeping annotation gives its start; they go forward. Records that start before
    the one before ends (a damaged file, two recordings interleaved): the chunk times went back (t0 11 s, then 5 s)
    without a gap flag, and whatever sorted or paced by them downstream got a clock running backwards. Now refused,
    naming the record, with MNE's back-to-back read as the fix."""

    def tal(start):
        return np.frombuffer(f"+{start}\x14\x14\x00".encode().ljust(120, b"\x00"), "<i2")

    x = np.arange(100 * len(starts)) % 200 - 100
    tals = np.concatenate([tal(s) for s in starts])
    signals = [("C3", "uV", x, 100, -3276.8, 3276.7), ("EDF Annotations", "", tals, 60, -32768, 32767)]
    path = _edf(tmp_path / "rec.edf", signals, len(starts))
    raw = bytearray(path.read_bytes())
    raw[192:197] = b"EDF+D"
    path.write_bytes(bytes(raw))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert f"{path} is EDF+D, and its data {said}" in e.value.message and "mne.io.read_raw_edf(" in e.value.hint


def test_a_brainvision_channel_in_a_voltage_mne_does_not_know_is_scaled_to_volts(tmp_path, caplog):
    """MNE's BrainVision reader knows 'V', 'mV', 'µV' (the micro sign), 'uV' and 'nV': a channel in 'μV' (the Greek
    mu, which some exporters write), 'UV' or ' uV' came out typed misc with its value in microvolts as volts (1e6
    times), unsaid. Now volts and EEG, said; a channel in '%' stays misc with its value, as MNE reads it."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    header = _brainvision(tmp_path, [("S  8", 100)])
    text = header.read_text()
    for name, unit in (("O1", "μV"), ("Oz", "UV"), ("O2", "%")):
        text = text.replace(f"={name},,0.1,µV", f"={name},,0.1,{unit}")
    # Recorder writes a [Coordinates] section after the channels, with Ch lines of its own (they hid every unit)
    header.write_text(text + "\n[Coordinates]\nCh1=1,-90,-90\nCh2=1,90,-90\nCh3=1,90,90\n")
    want = np.asarray(mne.io.read_raw_brainvision(header, preload=True, verbose="error").get_data())
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        spec, got = _replay(header)
    assert spec.channel_types == ("eeg", "eeg", "misc")
    np.testing.assert_allclose(got, want * np.array([[1e-6], [1e-6], [1.0]]), rtol=1e-12)
    assert "O1 in 'μV', Oz in 'UV' scaled to volts and typed EEG" in caplog.text


def test_a_brainvision_recording_whose_markers_are_in_the_windows_code_page_is_read(tmp_path, monkeypatch):
    """BrainVision Recorder 1.x writes Codepage=ANSI (cp1252): a comment marker 'Augen geöffnet' is the byte 0xf6 in
    its marker file. MNE opens that file as the locale's text for the recording's date and fails on a UTF-8 system
    ("'utf-8' codec can't decode byte 0xf6"), and file_source called the recording 'BrainVision but damaged'. Now it
    reads it through a UTF-8 copy of the marker file: the same samples, markers and date as MNE's read of the set
    saved in UTF-8, and nothing left in the temporary folder after close."""
    import tempfile

    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    # a temporary folder of this test's own: another test (another xdist worker) may have a view open meanwhile
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    sets = {}
    for codepage in ("UTF-8", "ANSI"):
        folder = tmp_path / codepage
        folder.mkdir()
        header = _brainvision(folder, [("S  8", 100)])
        marker = folder / "rec.vmrk"
        text = (
            marker.read_text().replace("Codepage=UTF-8", f"Codepage={codepage}")
            + "Mk3=Comment,Augen geöffnet,300,1,0\n"
        )
        marker.write_bytes(text.encode("utf-8" if codepage == "UTF-8" else "cp1252"))
        sets[codepage] = header
    want = mne.io.read_raw_brainvision(sets["UTF-8"], preload=True, verbose="error")
    before = set(Path(tempfile.gettempdir()).glob("wavegraph-markers-*"))
    src = FileSource(path=str(sets["ANSI"]))
    spec = src.configure({})
    assert src.reader is not None and dict(src.reader.labels)[10001] == "Comment/Augen geöffnet"
    assert spec["out"].meas_date == want.info["meas_date"].isoformat()
    data = []
    while (out := src.read()) is not None:
        data.append(out["out"].data)
    src.close()
    np.testing.assert_array_equal(np.concatenate(data, axis=1), want.get_data())
    assert set(Path(tempfile.gettempdir()).glob("wavegraph-markers-*")) == before


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_a_constant_channel_reads_back_near_its_value(tmp_path, suffix):
    """A constant channel got the range value +-1 in the EDF/BDF header, so its value was rounded to a step of 2 / 65535
    (EDF): a misc channel at 2e-6 read back as 1.1e-5, one at 1e-6 as 1.6e-5. Now the range is as wide as the value."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    values = np.array([2e-6, 1e-6, -3e-3, 0.0, 5e-5])
    names = ("A", "B", "C", "D", "E")
    spec = StreamSpec("signal", 100.0, (5,), "float64", names, ("misc",) * 4 + ("eeg",), "V")
    rec = Recorder(path=str(tmp_path / f"c{suffix}"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.repeat(values[:, None], 300, axis=1), 0.0)})
    rec.close()
    raw = mne.io.read_raw(tmp_path / f"c{suffix}", preload=True, verbose="error")
    assert raw.ch_names == list(names)
    back = np.asarray(raw.get_data())
    assert np.allclose(back, values[:, None], rtol=2e-5, atol=0), back[:, 0]


def test_a_link_to_a_missing_file_says_where_it_points(tmp_path):
    """A symlink whose target is gone (an unmounted drive): the error said 'no such file ... did you mean <the link
    itself>?'. Now it names the target."""
    link = tmp_path / "rec.edf"
    link.symlink_to(tmp_path / "usb" / "rec.edf")
    with pytest.raises(SpecError) as e:
        FileSource(path=str(link)).configure({})
    assert e.value.message == f"file_source: {link} is a link to {tmp_path / 'usb' / 'rec.edf'}, which does not exist"
    assert "did you mean" not in str(e.value)


def test_a_brainvision_marker_file_named_by_a_path_that_leads_nowhere_is_said(tmp_path, caplog):
    """A header written on another machine: MarkerFile=C:\\Users\\lab\\rec_old.vmrk, no rec.vmrk beside it. MNE's own
    'not found; no annotations' is not passed on (check_brainvision says the bare-name case), so the recording was
    replayed with no markers, unsaid. Now said, with the line to edit when the file is beside the header."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    header = _brainvision(tmp_path, [("S  8", 100)])
    (tmp_path / "rec.vmrk").rename(tmp_path / "rec_old.vmrk")
    header.write_text(header.read_text().replace("MarkerFile=rec.vmrk", "MarkerFile=C:\\Users\\lab\\rec_old.vmrk"))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _replay(header)
    assert (
        "names its marker file 'C:\\\\Users\\\\lab\\\\rec_old.vmrk', which leads nowhere from its folder" in caplog.text
    )
    assert "fix: edit the header's MarkerFile= line to rec_old.vmrk" in caplog.text


def test_a_wav_write_failing_without_an_errno_is_said_without_errno_none(tmp_path):
    """Review: soundfile raises RuntimeError ('System error.') on a full disk; the recorder's message was built as
    OSError(None, ...) and printed '[Errno None] recorder: writing ... failed'. And a failing close of the file left the
    chunk log open."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    rec = Recorder(path=str(tmp_path / "a.wav"), chunk_log=True)
    rec.configure({"in": signal_spec(16000.0, ["mic"], "audio", "float32", "a.u.")})
    rec.process({"in": Chunk(np.zeros((1, 160), np.float32), 0.0)})
    real = rec._file

    class Failing:
        def write(self, rows):
            raise RuntimeError("System error.")

        def close(self):
            real.close()
            raise OSError(28, "No space left on device")

    rec._file = Failing()
    with pytest.raises(OSError) as e:
        rec.process({"in": Chunk(np.zeros((1, 160), np.float32), 0.01)})
    assert str(e.value).startswith("recorder: writing ") and "RuntimeError: System error." in str(e.value)
    rec.close()
    assert rec._chunks.closed
