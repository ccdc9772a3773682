"""Probe of file_source's readers, session 44: GDF and Neuroscan CNT files cut short (a recorder killed mid-write, a copy
or download that stopped), and a GDF's markers past its data. Files are built byte by byte as the formats (and MNE's
readers) lay them out; each replay is compared with what MNE reads from the same samples."""

from __future__ import annotations

import logging
import struct

import mne
import numpy as np
import pytest
from test_real_files4 import _gdf  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError

RATE = 100


def _replay(path, chunk=32, **params):
    """(spec of out, samples, event rows) of a whole replay."""
    src = FileSource(path=str(path), chunk_size=chunk, **params)
    spec = src.configure({})["out"]
    data, events = [], []
    while (out := src.read()) is not None:
        if "out" in out:
            data.append(out["out"].data)
        if "events" in out:
            events.append(out["events"].data)
    src.close()
    return spec, np.concatenate(data, axis=1), (np.concatenate(events) if events else np.zeros((0, 3)))


def _gdf_with_events(path, version, n_rec, events, mode=3):
    """A GDF (1.25 or 2.20) of `n_rec` one-second records of two channels at RATE Hz, its event table holding `events`
    [(position from 0, type, duration)] (mode 3: with durations; mode 1: without)."""
    x = np.random.default_rng(1).integers(-30000, 30000, 8 * RATE)[: n_rec * RATE]
    unit = "uV" if version == 1 else 4275
    signals = [("A", unit, x, RATE, -3276.8, 3276.7), ("B", unit, -x, RATE, -3276.8, 3276.7)]
    _gdf(path, signals, n_rec, version)
    body = path.read_bytes()[:-8]  # (_gdf's empty event table off)
    n = len(events)
    head = struct.pack("<I", RATE)[:3] + struct.pack("<I", n) if version == 1 else struct.pack("<I", n)[:3]
    head += b"" if version == 1 else struct.pack("<f", RATE)
    table = bytes([mode]) + head + np.array([p + 1 for p, _, _ in events], "<u4").tobytes()
    table += np.array([t for _, t, _ in events], "<u2").tobytes()
    if mode == 3:
        table += bytes(2 * n) + np.array([d for _, _, d in events], "<u4").tobytes()
    path.write_bytes(body + table)
    return path, len(body)


@pytest.mark.parametrize("version", [1, 2])
def test_a_gdf_cut_inside_its_data_replays_its_whole_records(tmp_path, caplog, version):
    """Before: a GDF 1 cut anywhere after its header, or a GDF 2 cut inside its event table, was 'cannot read ...:
    IndexError: index 0 is out of bounds ... it is GDF but damaged' (MNE seeks to the event table past the end): the whole
    recording lost. Now the whole records it holds are replayed, as MNE reads a file of those records, said once."""
    events = [(10, 7, 5), (150, 8, 0)]
    path, body = _gdf_with_events(tmp_path / "whole.gdf", version, 4, events)
    cut = tmp_path / "cut.gdf"
    cut.write_bytes(path.read_bytes()[: 768 + 2 * RATE * 2 * 2 + 37])  # 2 records and 37 bytes of the third
    short, _ = _gdf_with_events(tmp_path / "short.gdf", version, 2, events)
    want = mne.io.read_raw_gdf(short, preload=True, verbose="error").get_data()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        spec, got, _ = _replay(cut)
        _, other, _ = _replay(cut, chunk=7)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(other, got)
    said = [r.getMessage() for r in caplog.records if "cut short" in r.getMessage()]
    assert said and str(cut) in said[0]
    assert "its header lists 4 data records, the file holds 2 and 37 bytes of the next" in said[0]


@pytest.mark.parametrize("version", [1, 2])
def test_a_gdf_whose_event_table_is_cut_keeps_the_events_it_holds(tmp_path, caplog, version):
    """Before: 'cannot read ...: Length of duration (0) must match the length of existing annotations (3)' (or an
    IndexError), the recording lost. Now all its samples and the events whose position and type are there replay."""
    events = [(10, 7, 5), (150, 8, 0), (300, 9, 2)]
    path, body = _gdf_with_events(tmp_path / "ev.gdf", version, 4, events)
    want = mne.io.read_raw_gdf(path, preload=True, verbose="error").get_data()
    cut = tmp_path / "evcut.gdf"
    cut.write_bytes(path.read_bytes()[: body + 8 + 3 * 4 + 2 * 2])  # positions whole, 2 of 3 types
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got, ev = _replay(cut)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert ev[:, [0, 2]].tolist() == [[0.1, 7.0], [1.5, 8.0]]
    assert any("2 of the 3 events it lists are there" in r.getMessage() for r in caplog.records)
    whole = tmp_path / "nometa.gdf"  # a GDF 1 ending right after its last record: MNE's IndexError
    whole.write_bytes(path.read_bytes()[:body])
    _, got, ev = _replay(whole)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert not len(ev)


def test_a_gdf_marker_past_its_data_is_kept(tmp_path, caplog):
    """Before: MNE leaves out a GDF event past the last sample ('1 markers lie outside its data, and MNE leaves them
    out'), and file_source lost it (it re-read the markers MNE omits for every other format, not a GDF's table). Now it
    goes out with the last chunk, at its time, as the other formats' do."""
    path, _ = _gdf_with_events(tmp_path / "past.gdf", 2, 4, [(10, 7, 5), (450, 9, 2)])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, _, ev = _replay(path)
    assert ev.tolist() == [[0.1, 0.05, 7.0], [4.5, 0.02, 9.0]]
    assert any("lie after its last sample" in r.getMessage() for r in caplog.records)
    assert not any("MNE leaves them out" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("version", [1, 2])
def test_a_gdf_cut_inside_its_header_or_before_its_first_record_is_said_so(tmp_path, version):
    """Before: 'IndexError: index 0 is out of bounds ... it is GDF but damaged' (cut in the fixed header, or a GDF 1 cut
    before its first record); a GDF 2 cut before its first record replayed nothing, warned 'truncated ... 0 can be
    read'. Now each is refused naming the file and the cut, as an EDF's is."""
    path, _ = _gdf_with_events(tmp_path / "h.gdf", version, 4, [])
    whole = path.read_bytes()
    head = tmp_path / "head.gdf"
    head.write_bytes(whole[:100])
    with pytest.raises(SpecError, match=r"is cut short inside its header \(100 bytes of at least 256\)"):
        FileSource(path=str(head)).configure({})
    empty = tmp_path / "empty.gdf"
    empty.write_bytes(whole[: 768 + 10])
    with pytest.raises(SpecError, match=r"holds no data record \(its header lists 4; the file ends 10 bytes after"):
        FileSource(path=str(empty)).configure({})


def _cnt(path, data, events=(), width=2, block=1):
    """A Neuroscan CNT ('Version 3.0') of `data` (channels x samples, integers in microvolts) at 250 Hz, samples stored
    `block` per channel at a time, its event table of type 1 holding `events` [(sample, code)]."""
    n_ch, n = data.shape
    head = bytearray(900)
    head[0:12] = b"Version 3.0\x00"
    head[225:243] = b"01/02/20\x00\x0010:11:12"
    struct.pack_into("<H", head, 370, n_ch)
    struct.pack_into("<H", head, 376, 250)
    struct.pack_into("<i", head, 864, n)
    struct.pack_into("<i", head, 894, block * width)
    channels = bytearray()
    for i in range(n_ch):
        c = bytearray(75)
        c[0:4] = f"E{i}".encode().ljust(4, b"\x00")
        struct.pack_into("<ff", c, 19, 0.1 * (i + 1), 0.2)  # (a position: MNE fits them to a sphere)
        struct.pack_into("<f", c, 59, 1.0)
        struct.pack_into("<f", c, 71, 204.8)  # 1 uV a step
        channels += c
    dtype = "<i2" if width == 2 else "<i4"
    samples = data.reshape(n_ch, n // block, block).transpose(1, 0, 2).astype(dtype).tobytes()
    first = 900 + 75 * n_ch
    struct.pack_into("<i", head, 886, first + len(samples))
    table = b"".join(struct.pack("<HBcl", code, 0, b"\x00", first + (s + 1) * n_ch * width) for s, code in events)
    path.write_bytes(bytes(head) + bytes(channels) + samples + struct.pack("<Bll", 1, len(table), 0) + table)
    return path, first + len(samples)


@pytest.mark.parametrize(("width", "block"), [(2, 1), (4, 1), (4, 20)])
def test_a_cnt_cut_inside_its_samples_replays_those_it_holds(tmp_path, caplog, width, block):
    """Before: 'cannot read ...: RuntimeError: Could not read file using any of the possible readers for extension
    .cnt ... supported formats: ...' (MNE: the event table's place in the header is past the file's end): the whole
    recording lost, and the fix a list of formats. Now the samples it holds are replayed, as MNE reads them from the
    whole file, said once."""
    x = np.random.default_rng(0).integers(-3000, 3000, (3, 1000))
    path, _ = _cnt(tmp_path / "whole.cnt", x, [(10, 5), (500, 6)], width, block)
    want = mne.io.read_raw_cnt(path, preload=True, verbose="error").get_data()
    cut = tmp_path / "cut.cnt"
    cut.write_bytes(path.read_bytes()[: 900 + 75 * 3 + 3 * width * 600 + 5])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        spec, got, ev = _replay(cut)
        _, other, _ = _replay(cut, chunk=13)
    assert spec.channel_names == ("E0", "E1", "E2") and spec.rate == 250.0
    assert got.shape[1] >= 580  # (MNE's block reader may stop short of a last block's end: said)
    np.testing.assert_allclose(got, want[:, : got.shape[1]], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(other, got)
    said = [r.getMessage() for r in caplog.records if "cut short" in r.getMessage()]
    assert said and f"{cut} is cut short: its header gives 1000 samples, the file holds 600" in said[0]


def test_a_cnt_whose_event_table_is_cut_keeps_its_whole_events_and_a_cut_header_is_said(tmp_path, caplog):
    """Before: 'Could not read file using any of the possible readers' for a cut inside the event table (MNE: 'unpack
    requires a buffer of 9 bytes'), inside the header or before the first sample. Now every sample and the whole events
    replay; a header cut short, or no sample, is refused naming the file and the cut."""
    x = np.random.default_rng(0).integers(-3000, 3000, (3, 1000))
    path, table = _cnt(tmp_path / "ev.cnt", x, [(10, 5), (500, 6), (999, 7)])
    raw = mne.io.read_raw_cnt(path, preload=True, verbose="error")
    cut = tmp_path / "evcut.cnt"
    cut.write_bytes(path.read_bytes()[: table + 9 + 2 * 8 + 3])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got, ev = _replay(cut)
    np.testing.assert_allclose(got, raw.get_data(), rtol=1e-12, atol=0)
    assert ev[:, [0, 2]].tolist() == [[raw.annotations.onset[0], 5.0], [raw.annotations.onset[1], 6.0]]
    assert any("2 of the 3 events it lists are whole" in r.getMessage() for r in caplog.records)
    for size, said in (
        (300, r"inside its header \(300 bytes of at least 900\)"),
        (1000, r"\(1000 bytes of the 1125 it"),
    ):
        part = tmp_path / f"p{size}.cnt"
        part.write_bytes(path.read_bytes()[:size])
        with pytest.raises(SpecError, match=said):
            FileSource(path=str(part)).configure({})
    part.write_bytes(path.read_bytes()[: 1125 + 4])
    with pytest.raises(SpecError, match=r"holds no sample \(its header gives 1000; the file ends 4 bytes after"):
        FileSource(path=str(part)).configure({})


def _xdf_in_two_chunks(path):
    """An XDF of one 3-channel float32 stream at 250 Hz whose 200 samples are in two chunks of 100 (as LabRecorder
    writes a recording, a chunk at a time), then its footer; (the file's bytes, where the second chunk ends)."""
    from wavegraph.nodes.io.xdf import XdfStream, _chunk, _varlen, write_xdf

    t = 100.0 + np.arange(200) / 250.0
    x = np.random.default_rng(0).standard_normal((200, 3)).astype(np.float32)
    write_xdf(path, [XdfStream("amp", "EEG", 250.0, x[:100], t[:100], "float32", ["O1", "O2", "O3"], "EEG")])
    first = path.read_bytes()
    footer = 4  # where the footer chunk starts: [length's width][length][tag] ...
    while True:
        width = first[footer]
        size = int.from_bytes(first[footer + 1 : footer + 1 + width], "little")
        if first[footer + 1 + width : footer + 3 + width] == struct.pack("<H", 6):
            break
        footer += 1 + width + size
    body = struct.pack("<I", 1) + _varlen(100)
    body += b"".join(b"\x08" + struct.pack("<d", s) + row.tobytes() for s, row in zip(t[100:], x[100:]))
    second = _chunk(3, body)
    path.write_bytes(first[:footer] + second + first[footer:])
    return path.read_bytes(), footer + len(second), x.T


def test_an_xdf_cut_inside_a_chunk_replays_its_whole_chunks(tmp_path, caplog):
    """Before: an XDF cut between a chunk's length and its tag (here the footer's: LabRecorder stopped while it closed
    the file) was 'cannot read ...: error: unpack requires a buffer of 2 bytes ... it is XDF but damaged' (a cut inside
    a stream header's XML: 'ParseError: unclosed token'): none of its 200 samples replayed; one cut inside the last
    sample of a chunk replayed that sample with the sample before's values where the file ended (pyxdf reads into the
    same buffer), silently. Now the whole chunks replay, and the cut is said."""
    whole, chunks_end, x = _xdf_in_two_chunks(tmp_path / "whole.xdf")
    _, got, _ = _replay(tmp_path / "whole.xdf")
    np.testing.assert_array_equal(got, x)
    footer = tmp_path / "footer.xdf"
    footer.write_bytes(whole[: chunks_end + 2])  # its length, not its tag
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got, _ = _replay(footer)
    np.testing.assert_array_equal(got, x)
    assert any(f"{footer} is cut short: it ends inside a chunk (" in r.getMessage() for r in caplog.records)
    torn = tmp_path / "torn.xdf"
    torn.write_bytes(whole[: chunks_end - 5])  # inside the last sample's values
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got, _ = _replay(torn, chunk=7)
    np.testing.assert_array_equal(got, x[:, :100])
    assert any("ends inside a chunk of samples" in r.getMessage() for r in caplog.records)


def test_a_ctf_folder_without_its_files_says_what_is_missing(tmp_path):
    """Before: a CTF .ds folder copied without its files, or renamed without them ('Standard file x.ds/x.res4 not
    found', MNE's OSError), got 'fix: supported formats: MNE raw formats ...', a list for a format it reads. Now it says
    a file of the recording is missing, and, for a renamed folder, the name to give it back."""
    folder = tmp_path / "run2.ds"
    folder.mkdir()
    with pytest.raises(SpecError, match=r"a file of the recording is missing: .*run2\.res4 not found") as e:
        FileSource(path=str(folder)).configure({})
    assert "supported formats" not in str(e.value) and "copy the whole recording folder" in str(e.value)
    (folder / "run1.res4").write_bytes(b"")
    with pytest.raises(
        SpecError, match=r"the folder was renamed \(it holds run1\.res4.*give it its name back, run1\.ds"
    ):
        FileSource(path=str(folder)).configure({})


def test_a_format_whose_package_is_missing_says_which_to_install(tmp_path, monkeypatch):
    """Before: an EGI .mff without mffpy installed was 'cannot read ...: RuntimeError: For reading EGI MFF data to
    work, the module mffpy is needed, ... pip install mffpy ...; fix: supported formats: ...' (MNE's lines, then a list
    of formats as the fix). Now the package is named and the fix is its install line for this Python."""
    import sys

    monkeypatch.setitem(sys.modules, "mffpy", None)  # (not importable, whatever this environment holds)
    folder = tmp_path / "rec.mff"
    folder.mkdir()
    with pytest.raises(SpecError, match=r"MNE reads it with the package mffpy, which is not installed here") as e:
        FileSource(path=str(folder)).configure({})
    assert "-m pip install mffpy" in str(e.value) and "supported formats" not in str(e.value)


def test_a_gdf_channel_at_a_lower_rate_replays_as_mne_reads_the_file(tmp_path, monkeypatch, caplog):
    """Before: a GDF with a channel below its top rate (10 Hz beside 100 Hz), longer than a read block (16 MB), was read
    block by block, and MNE upsamples each block on its own: artifacts at every block edge (up to 9 mV on a channel of
    3 mV, measured on 1.1 M samples) and MNE's RuntimeWarning on stderr at each read. An EDF's such channels load the
    file at their first read, as MNE advises; a GDF's now do too, said as an EDF's."""
    import wavegraph.nodes.io.file_source as fs

    monkeypatch.setattr(fs, "BLOCK_BYTES", 8 * 2 * 300)  # blocks of 300 samples: the edges of a long file's
    rng = np.random.default_rng(0)
    x, y = rng.integers(-30000, 30000, 2000), rng.integers(-30000, 30000, 200)
    path = _gdf(tmp_path / "mixed.gdf", [("A", 4275, x, 100, -3276.8, 3276.7), ("B", 4275, y, 10, -3276.8, 3276.7)], 20)
    want = mne.io.read_raw_gdf(path, preload=True, verbose="error").get_data()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, got, _ = _replay(path, chunk=64)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert any("channel recorded below the file's 100 Hz (B 10 Hz)" in r.getMessage() for r in caplog.records)
