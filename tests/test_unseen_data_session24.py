"""Real recordings and broken variants no earlier test replayed (session 24's unseen-data pass): EDF/BDF start times
and dates MNE misreads, WAVs of integers wider than 32 bits, OpenSignals (PLUX) text exports, FIFs cut inside their
header (the real ssvepy epochs among them), a WAV's cue markers, an EDF channel of no samples, and a WAV whose fmt
chunk disagrees with itself."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import dataset
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec


def _opened(path) -> FileSource:
    src = FileSource(path=str(path))
    src.configure({})
    return src


def _with_time(src_path, out_path, field: bytes):
    """A copy of the EDF/BDF at `src_path` whose start time field (bytes 176-184) holds `field`."""
    b = bytearray(src_path.read_bytes())
    b[176:184] = field.ljust(8)
    out_path.write_bytes(bytes(b))
    return out_path


def _small_edf(tmp_path, suffix=".edf"):
    """A 2-channel 100 Hz EDF (or BDF) the recorder writes, dated 2021-03-10 12:34:56 UTC."""
    spec = StreamSpec(
        "signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), "V", meas_date="2021-03-10T12:34:56+00:00"
    )
    path = tmp_path / f"rec{suffix}"
    rec = Recorder(path=str(path))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.random.default_rng(0).normal(0, 1e-5, (2, 300)), 0.0)})
    rec.finish()
    rec.close()
    return path


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_an_edf_start_time_written_with_colons_is_the_recordings_start_not_midnight(tmp_path, caplog, suffix):
    """Before: an EDF/BDF whose header gives its start time as 12:34:56 (colons, as some writers put it, where EDF
    writes 12.34.56) was dated at 00:00:00 of its day, unsaid: MNE splits the field at dots, reads no time and takes
    midnight, and file_source, a recorder's copy and BIDS' acq_time carried that. It starts at 12:34:56 now, said."""
    whole = _small_edf(tmp_path, suffix)
    assert (
        _opened(whole).out_specs["out"].meas_date == "2021-03-10T12:34:56+00:00"
    )  # (the recorder wrote it as EDF does)
    colons = _with_time(whole, tmp_path / f"colons{suffix}", b"12:34:56")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = _opened(colons)
    assert src.out_specs["out"].meas_date == "2021-03-10T12:34:56+00:00"
    assert "start time field (bytes 176-184) holds '12:34:56'" in caplog.text and "00:00:00" in caplog.text


def test_an_edf_start_time_that_is_no_time_is_said_with_the_bytes_to_mend(tmp_path, caplog):
    """Before: a blank start time field was dated midnight without a word. Said now, the date MNE gives it, and how to
    write the time into a copy; the samples are replayed as before."""
    blank = _with_time(_small_edf(tmp_path), tmp_path / "blank.edf", b"")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = _opened(blank)
    assert src.out_specs["out"].meas_date == "2021-03-10T00:00:00+00:00"  # MNE's; the time of day is not in the file
    assert "holds '        ', not a time of day" in caplog.text and "2021-03-10 at 00:00:00" in caplog.text
    assert "seek=176 count=8 conv=notrunc" in caplog.text


@pytest.mark.parametrize("field", [b"25.00.00", b"12.60.00", b"24.00.00"])
def test_an_edf_start_time_out_of_range_names_the_field_and_the_mend(tmp_path, field):
    """Before: an EDF whose start time field held 25.00.00 (or 12.60.00) failed with MNE's 'ValueError: hour must be in
    0..23; fix: it is EDF but damaged, or breaks the format where MNE reads it (a field of its header)': no field
    named. It names the field, its bytes and its text now, with a command that mends a copy (which then replays)."""
    bad = _with_time(_small_edf(tmp_path), tmp_path / "bad.edf", field)
    with pytest.raises(SpecError) as e:
        _opened(bad)
    assert f"start time field (bytes 176-184) holds {field.decode()!r}" in str(e.value)
    fixed = tmp_path / "bad_fixed.edf"
    assert f"cp {bad} {fixed} && printf 00.00.00 | dd of={fixed}" in e.value.hint
    mended = _with_time(bad, fixed, b"00.00.00")  # what the command writes
    assert _opened(mended).out_specs["out"].meas_date == "2021-03-10T00:00:00+00:00"


def test_eegmmidb_with_its_start_time_in_colons_replays_dated_as_the_original(tmp_path):
    """The real PhysioNet EEGMMIDB S001R02 (EDF+, dated by its 'Startdate 12-AUG-2009' field, 16.15.00) with its time
    field rewritten 16:15:00: the same meas_date and samples as the original (MNE alone gives 00:00:00)."""
    import mne

    real = dataset("eegmmidb-s001r02")
    colons = _with_time(real, tmp_path / "S001R02.edf", b"16:15:00")
    assert mne.io.read_raw_edf(colons, verbose="error").info["meas_date"].hour == 0  # what MNE reads
    a, b = _opened(real), _opened(colons)
    assert b.out_specs["out"].meas_date == a.out_specs["out"].meas_date == "2009-08-12T16:15:00+00:00"
    first = a.read(), b.read()
    assert first[0] is not None and first[1] is not None
    np.testing.assert_array_equal(first[0]["out"].data, first[1]["out"].data)


def _wide_wav(path, bits: int, container: int, x: np.ndarray, rate: int = 8000):
    """A PCM WAV of `bits`-bit integer samples in `container` bytes, left-justified (as scipy writes and reads them);
    x: (frames, channels) in [-1, 1)."""
    import struct

    frames, channels = x.shape
    full = np.round(x * 2.0**63).astype(np.int64) >> (64 - bits) << (64 - bits)
    data = full.view(np.uint64).astype("<u8").tobytes()
    data = b"".join(data[i + 8 - container : i + 8] for i in range(0, len(data), 8))  # the top `container` bytes
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * container, channels * container, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize(("bits", "container"), [(64, 8), (36, 5)])
def test_a_wav_of_integers_wider_than_32_bits_says_so_and_how_to_read_it(tmp_path, bits, container):
    """Before: a WAV of 64-bit (or 36-bit) integer PCM, a valid file (scipy writes and reads it), was 'LibsndfileError:
    ... File contains data in an unimplemented format.; fix: the file is damaged, cut short or not audio: ffmpeg
    decodes what it can'. It says now that its samples are N-bit integers, which libsndfile does not read, and how to
    load it (scipy.io.wavfile.read, scaled by 2**63) for array_source; that line reads the samples back."""
    from scipy.io import wavfile

    x = np.random.default_rng(0).uniform(-0.9, 0.9, (50, 2))
    path = _wide_wav(tmp_path / "wide.wav", bits, container, x)
    with pytest.raises(SpecError) as e:
        _opened(path)
    assert f"its samples are {bits}-bit integers" in str(e.value) and "damaged" not in e.value.hint
    assert "scipy.io.wavfile.read" in e.value.hint and "/ 2.0**63" in e.value.hint
    rate, X = wavfile.read(path)  # what the hint says to do
    assert rate == 8000
    np.testing.assert_allclose(X.T / 2.0**63, x.T, atol=2.0 ** (1 - bits))


@pytest.mark.parametrize("field", [b"10/03/21", b"31.02.21", b""])
def test_an_edf_start_date_that_is_no_date_names_the_field_and_the_mend(tmp_path, caplog, field):
    """Before: an EDF whose start date field held 10/03/21 (slashes), 31.02.21 or nothing, with no date in its EDF+
    recording field either ('Startdate X': unknown), was replayed undated with MNE's words alone, 'Invalid measurement
    date encountered in the header.': no field named, no fix. The field, its text, what it means (undated, and a
    recorder's copy too) and the command that mends a copy are said now; the copy replays dated."""
    b = bytearray(_small_edf(tmp_path).read_bytes())
    b[88:168] = b"Startdate X X X X".ljust(80)  # EDF+'s unknown date: the dd.mm.yy field is then MNE's date
    b[168:176] = field.ljust(8)
    bad = tmp_path / "undated.edf"
    bad.write_bytes(bytes(b))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        assert _opened(bad).out_specs["out"].meas_date == ""  # undated, as MNE reads it
    said = "\n".join(r.getMessage() for r in caplog.records if r.name == "wavegraph.file_source")
    assert f"start date field (bytes 168-176) holds {field.decode().ljust(8)!r}, not a date (dd.mm.yy)" in said
    assert "Invalid measurement date" not in said and "undated" in said
    fixed = tmp_path / "undated_fixed.edf"
    date = "10.03.21" if field == b"10/03/21" else "DD.MM.YY"  # its numbers as EDF writes them, where they are a date
    assert f"cp {bad} {fixed} && printf {date} | dd of={fixed} bs=1 seek=168 count=8 conv=notrunc" in said
    b[168:176] = b"10.03.21"  # what the command writes
    fixed.write_bytes(bytes(b))
    assert _opened(fixed).out_specs["out"].meas_date == "2021-03-10T12:34:56+00:00"


def _opensignals_text(
    path, devices: list[tuple[str, int, list[str], list[str]]], rows: np.ndarray, first="# OpenSignals Text File Format"
):
    """An OpenSignals (PLUX) text export: its three header lines (the second the devices' JSON), then tab-separated
    rows; devices: (MAC, rate, columns, labels), their columns side by side in each row."""
    import json

    header = {
        mac: {"sensor": ["RAW"] * len(labels), "sampling rate": rate, "resolution": [16] * len(labels)}
        | {"column": columns, "label": labels, "channels": list(range(1, len(labels) + 1))}
        for mac, rate, columns, labels in devices
    }
    lines = [first, "# " + json.dumps(header), "# EndOfHeader"]
    lines += ["\t".join(str(int(v)) for v in row) + "\t" for row in rows]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


@pytest.mark.parametrize("name", ["EEG_2018_7_4.txt", "EEG_2018_7_4.bat"])
def test_an_opensignals_text_export_says_which_columns_are_its_channels(tmp_path, name):
    """Before: an OpenSignals (PLUX) text export (biosignalsnotebooks ships such .txt files, and .bat ones too) was
    told as 'text tables (OpenBCI's, BrainFlow's, Mind Monitor's) ... load it (numpy.loadtxt, pandas.read_csv)': its
    first columns are the sample counter nSeq and the digital input DI, not signals, which numpy.loadtxt(PATH).T gives
    as channels; the .bat was 'Unsupported file type (.bat)' and the list of formats. It is named now, with the rate
    and the line that loads its channel columns alone, which gives them."""
    rows = np.column_stack([np.arange(20) % 16, np.zeros(20), 30000 + np.arange(20), 40000 - np.arange(20)])
    path = _opensignals_text(
        tmp_path / name, [("00:07:80:79:6F:DB", 1000, ["nSeq", "DI", "A1", "A2"], ["A1", "A2"])], rows
    )
    with pytest.raises(SpecError) as e:
        _opened(path)
    assert "OpenSignals (PLUX) text export" in e.value.hint and "1000 Hz" in e.value.hint
    assert "numpy.loadtxt(PATH, usecols=(2, 3)).T" in e.value.hint and "ch_names=['A1', 'A2']" in e.value.hint
    X = np.loadtxt(path, usecols=(2, 3)).T  # what the hint says
    np.testing.assert_array_equal(X, rows[:, 2:].T)


def test_an_opensignals_text_export_of_two_devices_gives_each_ones_columns(tmp_path):
    """Two devices recorded into one file (biosignalsnotebooks' sync_cable_acoustic.txt): their columns side by side in
    each row, each its own rate; each one's channel columns are given (the second's after the first's three)."""
    rows = np.column_stack(
        [np.arange(10), np.ones(10), 30000 + np.arange(10), np.arange(10), np.ones(10), 5 + np.zeros(10)]
    )
    devices = [
        ("00:07:80:4D:2E:AD", 1000, ["nSeq", "DI", "CH1"], ["CH1"]),
        ("00:07:80:3B:46:58", 500, ["nSeq", "DI", "CH1"], ["CH1"]),
    ]
    path = _opensignals_text(tmp_path / "sync.txt", devices, rows)
    with pytest.raises(SpecError) as e:
        _opened(path)
    assert "2 devices" in e.value.hint
    assert "00:07:80:4D:2E:AD (1000 Hz): numpy.loadtxt(PATH, usecols=(2,)).T" in e.value.hint
    assert "00:07:80:3B:46:58 (500 Hz): numpy.loadtxt(PATH, usecols=(5,)).T" in e.value.hint


def test_a_bitalino_opensignals_text_export_gives_its_analog_column(tmp_path):
    """A BITalino's export (biosignalsnotebooks' bvp_motion_artifact.txt): '# OpenSignals Text File Format. Version 1'
    and columns nSeq, I1, I2, O1, O2, A2 (digital I/O before the analog channel) was told as any text table."""
    rows = np.column_stack([np.arange(8), np.zeros((8, 4)), 500 + np.arange(8)])
    columns = ["nSeq", "I1", "I2", "O1", "O2", "A2"]
    first = "# OpenSignals Text File Format. Version 1"
    path = _opensignals_text(tmp_path / "bvp.txt", [("20:16:11:02:85:30", 1000, columns, ["A2"])], rows, first)
    with pytest.raises(SpecError) as e:
        _opened(path)
    assert "OpenSignals (PLUX) text export" in e.value.hint and "numpy.loadtxt(PATH, usecols=(5,)).T" in e.value.hint
    np.testing.assert_array_equal(np.loadtxt(path, usecols=(5,)).T, rows[:, 5])


def _small_fif(tmp_path, name="rec_raw.fif"):
    import mne

    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    path = tmp_path / name
    mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (2, 300)), info, verbose="error").save(
        path, verbose="error"
    )
    return path


@pytest.mark.parametrize("cut", [100, 300, 400])  # (its samples start at byte 516)
def test_a_fif_cut_inside_its_header_is_said_cut_short(tmp_path, cut):
    """Before: a FIF cut short inside its measurement info (a copy or download that stopped early) was 'ValueError:
    buffer size must be a multiple of element size' (or 'can only convert an array of size 1 to a Python scalar',
    'Could not find measurement info'); fix: 'it is FIF but damaged, or breaks the format ...: export it again from
    the recording software'. It is said cut short now: where the file ends, the header's part it ends in, and to give
    the whole file. The whole file replays as before."""
    whole = _small_fif(tmp_path)
    part = tmp_path / "part_raw.fif"
    part.write_bytes(whole.read_bytes()[:cut])
    with pytest.raises(SpecError) as e:
        _opened(part)
    assert f"{part} is cut short: it ends at byte {cut}, inside" in str(e.value)
    assert "give the whole file" in e.value.hint and "export it again" not in e.value.hint
    assert _opened(whole).read() is not None


def test_the_real_ssvep_epochs_cut_inside_their_header_are_said_cut_short(tmp_path):
    """ssvepy's real SSVEP epochs (-epo.fif) cut after 5000 bytes, inside their measurement info: said cut short, not
    'can only convert an array of size 1 to a Python scalar' and 'export it again'."""
    part = tmp_path / "part-epo.fif"
    with open(dataset("ssvepy-epochs"), "rb") as f:
        part.write_bytes(f.read(5000))
    with pytest.raises(SpecError) as e:
        _opened(part)
    assert "is cut short: it ends at byte 5000, inside" in str(e.value) and "give the whole file" in e.value.hint


def _with_cues(path, cues: list[tuple[int, int, str | None, int]], rf64: bool = False):
    """Append to the WAV at `path` a 'cue ' chunk of (id, sample, label, region length) points and a LIST/adtl chunk
    of their 'labl' names ('ltxt' for a region's length), as a DAW writes its markers; fix the RIFF size."""
    import struct

    cue = struct.pack("<I", len(cues)) + b"".join(
        struct.pack("<II4sIII", i, s, b"data", 0, 0, s) for i, s, _, _ in cues
    )
    adtl = b"adtl"
    for i, _, label, length in cues:
        if label is not None:
            text = label.encode() + b"\0"
            sub = struct.pack("<I", i) + text
            adtl += b"labl" + struct.pack("<I", len(sub)) + sub + (b"\0" if len(sub) % 2 else b"")
        if length:
            sub = struct.pack("<II4sHHHH", i, length, b"rgn ", 0, 0, 0, 0)
            adtl += b"ltxt" + struct.pack("<I", len(sub)) + sub
    tail = b"cue " + struct.pack("<I", len(cue)) + cue + b"LIST" + struct.pack("<I", len(adtl)) + adtl
    b = bytearray(path.read_bytes()) + tail
    if not rf64:
        b[4:8] = struct.pack("<I", len(b) - 8)
    path.write_bytes(bytes(b))
    return path


def _events(path):
    """(rows (onset, duration, code), labels) of every event file_source replays from `path`."""
    src = _opened(path)
    rows = []
    while (out := src.read()) is not None:
        if "events" in out:
            rows.append(out["events"].data)
    labels = dict(src.out_specs["events"].labels)
    return (np.concatenate(rows) if rows else np.zeros((0, 3))), labels


def test_a_wavs_cue_markers_are_replayed_as_events(tmp_path, caplog):
    """Before: the markers a WAV holds in its 'cue ' chunk (a DAW's or a field recorder's marks, named in LIST/adtl
    'labl' chunks, a region's length in 'ltxt') were not replayed: file_source gave no event, without a word. They are
    the events now, at their samples' times, named, a region with its length, a mark without a name by its number."""
    import soundfile as sf

    x = np.random.default_rng(0).uniform(-0.5, 0.5, (16000, 1)).astype(np.float32)
    path = tmp_path / "take.wav"
    sf.write(path, x, 8000, subtype="PCM_16")
    cues = [(1, 800, "stimulus on", 0), (2, 4000, "artifact", 1600), (3, 12000, None, 0), (4, 20000, "late", 0)]
    _with_cues(path, cues)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        rows, labels = _events(path)
    # a cue past the last sample goes out with the last chunk, said, as any format's (session 44; it was left out)
    assert "1 of the 4 markers of" in caplog.text and "go out with the last chunk" in caplog.text
    np.testing.assert_allclose(rows[:, 0], [0.1, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(rows[:, 1], [0.0, 0.2, 0.0, 0.0])
    assert [labels[int(c)] for c in rows[:, 2]] == ["stimulus on", "artifact", "3", "late"]
    data = np.concatenate([c["out"].data for c in iter(_opened(path).read, None)], axis=1)
    np.testing.assert_allclose(data[0], x[:, 0], atol=1 / 32768)  # the samples as before


def _without_samples_of(path, out, k: int):
    """A copy of the EDF/BDF at `path` whose signal `k` has 0 samples per data record (its samples taken out of
    every record, the rest of the file as it was)."""
    b = path.read_bytes()
    ns, width = int(b[252:256]), 3 if b[:1] == b"\xff" else 2
    at = 256 + ns * 216
    spr = [int(b[at + 8 * i : at + 8 * i + 8]) for i in range(ns)]
    head, n_rec = bytearray(b[: 256 * (ns + 1)]), int(b[236:244])
    head[at + 8 * k : at + 8 * k + 8] = b"0".ljust(8)
    rec, skip = sum(spr) * width, sum(spr[:k]) * width
    body = b"".join(
        b[len(head) + r * rec : len(head) + r * rec + skip]
        + b[len(head) + r * rec + skip + spr[k] * width : len(head) + (r + 1) * rec]
        for r in range(n_rec)
    )
    out.write_bytes(bytes(head) + body)
    return out


def test_an_edf_channel_of_no_samples_is_said_as_empty_not_upsampled(tmp_path, caplog):
    """Before: an EDF whose header gives a channel 0 samples per data record (it holds none) was said as 'channel
    recorded below the file's 100 Hz (C4 0 Hz): MNE upsamples them to 100 Hz', and replayed as a flat channel of
    zeros MNE makes up (which car averages in). It is said as holding no samples, replayed as MNE's zeros, with the
    fix (picks: the other channels); the other channel's samples are the file's."""
    whole = _small_edf(tmp_path)
    empty = _without_samples_of(whole, tmp_path / "empty.edf", 1)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = _opened(empty)
        data = np.concatenate([c["out"].data for c in iter(src.read, None)], axis=1)
    said = "\n".join(r.getMessage() for r in caplog.records if r.name == "wavegraph.file_source")
    assert "gives C4 0 samples per data record" in said and "upsamples" not in said and "picks" in said
    full = _opened(whole)
    expected = np.concatenate([c["out"].data for c in iter(full.read, None)], axis=1)
    np.testing.assert_array_equal(data[0], expected[0])
    assert not data[1].any()


@pytest.mark.parametrize(
    ("offset", "value", "said"),
    [(2, 3, "3 channels of 16 bits"), (14, 7, "1 channel of 7 bits"), (12, 4, None)],  # 12: the block align
)
def test_a_wav_whose_fmt_chunk_disagrees_with_itself_is_said(tmp_path, caplog, offset, value, said):
    """Before: a WAV whose fmt chunk gives 3 channels (or 7 bits) for frames of 2 bytes (its block align: mono 16-bit,
    as written) was replayed as libsndfile reads it without a word: the mono samples dealt out to 3 channels at a
    third of the rate (or read as 8-bit bytes), garbage. The disagreement is said now, with both readings and the fix;
    a consistent file is not, nor one whose block align alone is wrong (its samples whole frames of the channels' and
    bits', which libsndfile reads right: scipy's test-8000Hz-le-3ch-5S-24bit-inconsistent.wav)."""
    import struct

    import soundfile as sf

    path = tmp_path / "lie.wav"
    sf.write(path, (np.sin(np.arange(4001) / 10) * 0.5).astype(np.float32), 8000, subtype="PCM_16")  # 8002 bytes
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _opened(path)
    assert "block align" not in caplog.text
    b = bytearray(path.read_bytes())
    at = b.find(b"fmt ") + 8 + offset
    b[at : at + 2] = struct.pack("<H", value)
    path.write_bytes(bytes(b))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _opened(path)
    if said is None:
        assert "block align" not in caplog.text
    else:
        assert f"its fmt chunk gives {said}" in caplog.text and "block align) of 2 bytes" in caplog.text


def _with_marks(path, marks: list[tuple[int, int, str]]):
    """Append to the AIFF at `path` a MARK chunk of (id, sample, name) markers (as Logic or Pro Tools writes them);
    fix the FORM size."""
    import struct

    body = struct.pack(">H", len(marks))
    for i, s, name in marks:
        text = name.encode("latin-1")
        p = bytes([len(text)]) + text
        body += struct.pack(">HI", i, s) + p + (b"\0" if len(p) % 2 else b"")
    b = bytearray(path.read_bytes()) + b"MARK" + struct.pack(">I", len(body)) + body + (b"\0" if len(body) % 2 else b"")
    b[4:8] = struct.pack(">I", len(b) - 8)
    path.write_bytes(bytes(b))
    return path


def test_an_aiffs_markers_are_replayed_as_events(tmp_path):
    """Before: the markers of an AIFF (its MARK chunk: a DAW's, Logic's or Pro Tools', named) were not replayed, as a
    WAV's cues were not: no event, without a word. They are its events now, at their samples' times, named."""
    import soundfile as sf

    path = tmp_path / "take.aiff"
    sf.write(path, np.zeros((8000, 1), np.float32), 8000, subtype="PCM_16")
    _with_marks(path, [(1, 400, "verse"), (2, 6000, "chorus 2")])
    rows, labels = _events(path)
    np.testing.assert_allclose(rows[:, 0], [0.05, 0.75])
    assert [labels[int(c)] for c in rows[:, 2]] == ["verse", "chorus 2"]
