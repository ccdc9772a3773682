"""Real-file round 4 on the EEG replay path (file_source): a BioSemi BDF's 24-bit Status channel (trigger codes in its
low 16 bits, system flags above), GDF 1.x/2.x channel units, and the GDF variants MNE's reader cannot read. Files are
built byte by byte as the formats' specifications (and MNE's readers) lay them out."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_real_files3 import _edf, _replay  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.spec import SpecError

RATE = 256


def _rises(codes: np.ndarray) -> list[list[int]]:
    """[sample, code] where a trigger channel steps to a nonzero code (mne.find_events' events, initial one included)."""
    prev = np.concatenate([[0], codes[:-1]])
    at = np.flatnonzero((codes != prev) & (codes != 0))
    return [[int(i), int(codes[i])] for i in at]


def _status(n: int) -> np.ndarray:
    """An ActiveTwo's Status channel: CMS in range, MK2 and speed mode 5 set throughout, the new-epoch bit for the first
    second, three triggers (one above 255), CMS out of range for 10 samples, the battery low for 100."""
    s = np.full(n, 0x100000 | 0x800000 | 0x020000 | 0x080000, np.int64)
    s[:RATE] |= 0x010000
    s[100:110] |= 5
    s[300:305] |= 255
    s[600:620] |= 0x0103
    s[700:710] &= ~0x100000
    s[800:900] |= 0x400000
    return s


def test_a_biosemi_status_channel_gives_its_low_16_bits_and_says_its_flags_once(tmp_path, caplog):
    """Before: MNE keeps bits 0-16 of a BDF stim channel (bits 17-23 it drops), so an ActiveTwo's new-epoch flag (bit
    16) came through: the events were [0, 65536], [100, 65541], [300, 255], [600, 259] (sample, code) instead of
    [100, 5], [300, 255], [600, 259], the replayed Status channel read 65536 + code for the first second, and the
    flags (CMS out of range, battery low) were never said. Now the events are the low 16 bits' rises (mne.find_events
    with mask=0xFFFF, as MNE's docs advise), the replayed Status channel holds those codes, and one WARNING says when
    CMS was out of range and the battery low (an INFO line for a recording without trouble)."""
    n = 4 * RATE
    status = _status(n)
    eeg = np.random.default_rng(0).integers(-100000, 100000, n)
    signals = [("Fp1", "uV", eeg, RATE, -262144, 262143), ("Status", "Boolean", status, RATE, -8388608, 8388607)]
    path = _edf(tmp_path / "biosemi.bdf", signals, 4, bdf=True)
    with caplog.at_level(logging.INFO, "wavegraph.file_source"):
        spec, got = _replay(path)
    said = [r for r in caplog.records if "Status channel" in r.getMessage()]
    codes = status & 0xFFFF
    np.testing.assert_array_equal(got[1], codes)
    src = FileSource(path=str(path))
    src.configure({})
    assert src.reader is not None
    assert src.reader.events[:, [0, 3]].astype(int).tolist() == _rises(codes)
    assert [c for c, _ in src.reader.labels] == sorted({c for _, c in _rises(codes)})
    src.close()
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    text = said[0].getMessage()
    assert f"CMS out of range at 10 of {n} samples, first at {700 / RATE:.3f} s" in text
    assert f"battery low at 100 of {n} samples, first at {800 / RATE:.3f} s" in text
    assert "new epoch, CMS in range, MK2, speed mode 5" in text
    status[700:710] |= 0x100000  # a recording without trouble: one INFO line
    status[800:900] &= ~0x400000
    signals[1] = ("Status", "Boolean", status, RATE, -8388608, 8388607)
    caplog.clear()
    with caplog.at_level(logging.INFO, "wavegraph.file_source"):
        _, got = _replay(_edf(tmp_path / "healthy.bdf", signals, 4, bdf=True))
    np.testing.assert_array_equal(got[1], codes)
    said = [r for r in caplog.records if "Status channel" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.INFO] and "out of range" not in said[0].getMessage()


def test_a_status_channel_that_is_no_biosemis_keeps_its_codes(tmp_path, caplog):
    """Not masked: an EDF's channel named 'Status' (a code above 65535, 70000, stays 70000), a BDF's trigger channel of
    another name ('Trigger'); and a BDF's Status that holds no ActiveTwo's flags (written by other software, or by our
    recorder, whose padding of the last record reads 0x800000) says nothing and replays its codes."""
    n = 2 * RATE
    codes = np.zeros(n, np.int64)
    codes[50:60], codes[300:310] = 7, 3
    edf = _edf(tmp_path / "other.edf", [("Status", "", codes * 1000, RATE, -327680, 327670)], 2)  # 10 per step
    src = FileSource(path=str(edf))
    src.configure({})
    assert src.reader is not None
    assert src.reader.events[:, [0, 3]].astype(int).tolist() == [[50, 70000], [300, 30000]]
    src.close()
    flagged = codes | 0x110000  # (a BioSemi's high byte, on a channel not named Status)
    trig = _edf(tmp_path / "trig.bdf", [("Trigger", "", flagged, RATE, -8388608, 8388607)], 2, bdf=True)
    plain = _edf(tmp_path / "plain.bdf", [("Status", "", codes, RATE, -8388608, 8388607)], 2, bdf=True)
    with caplog.at_level(logging.INFO, "wavegraph.file_source"):
        _, got = _replay(trig)
        np.testing.assert_array_equal(got[0], flagged & 0x1FFFF)  # (MNE's own read of a BDF stim channel: bits 0-16)
        _, got = _replay(plain)
        np.testing.assert_array_equal(got[0], codes)
        g = GraphBuilder()  # a Status channel of codes through our recorder (which pads its last record)
        data = np.stack([np.random.default_rng(2).standard_normal(n - 30) * 1e-5, codes[:-30]])
        source = g.add(
            "array_source", data=data, rate=float(RATE), ch_names=["Fp1", "Status"], ch_types=["eeg", "stim"]
        )
        g.add("recorder", source, path=tmp_path / "rec.bdf")
        g.run()
        _, got = _replay(tmp_path / "rec.bdf")
        np.testing.assert_array_equal(got[1], codes[:-30])
    assert not [r for r in caplog.records if "Status channel" in r.getMessage()]


def _gdf(path, signals, n_rec, version=2, types=None, extra=0):
    """A GDF 1.25 or 2.20 file of `n_rec` one-second records: signals [(label, unit, int16 samples, samples per record,
    pmin, pmax)], the unit as text (GDF 1) or a physical dimension code (GDF 2); `types`: each channel's GDF data type
    as the header says (3, int16, by default; the samples are written as int16 all the same); `extra`: bytes of a
    third header part (GDF 2's tag-length-value fields). An empty event table follows the data."""
    ns, types = len(signals), types or [3] * len(signals)

    def s(x, n):
        return (x if isinstance(x, bytes) else str(x).encode("latin-1"))[:n].ljust(n)

    def a(dtype, xs):
        return np.asarray(xs, dtype).tobytes()

    size = 256 * (ns + 1) + extra
    if version == 1:
        head = s("GDF 1.25", 8) + s("X", 80) + s("rec", 80) + s("2020010112000000", 16) + a("<i8", [size])
        head += bytes(44) + a("<i8", [n_rec]) + a("<u4", [1, 1]) + a("<u4", [ns])
        var = b"".join(s(x[0], 16) for x in signals) + s("", 80) * ns + b"".join(s(x[1], 8) for x in signals)
        var += a("<f8", [x[4] for x in signals]) + a("<f8", [x[5] for x in signals])
        var += a("<i8", [-32768] * ns) + a("<i8", [32767] * ns) + s("", 80) * ns
        var += a("<i4", [x[3] for x in signals]) + a("<i4", types) + bytes(32 * ns)
    else:
        head = s("GDF 2.20", 8) + s("X", 66) + bytes(14) + s("rec", 64) + bytes(32) + a("<u2", [size // 256])
        head += bytes(50) + a("<i8", [n_rec]) + a("<u4", [1, 1]) + a("<u2", [ns]) + bytes(2)
        var = (
            b"".join(s(x[0], 16) for x in signals) + s("", 80) * ns + s("", 6) * ns + a("<u2", [x[1] for x in signals])
        )
        var += a("<f8", [x[4] for x in signals]) + a("<f8", [x[5] for x in signals])
        var += a("<f8", [-32768] * ns) + a("<f8", [32767] * ns) + bytes(80 * ns)
        var += a("<i4", [x[3] for x in signals]) + a("<i4", types) + bytes(32 * ns)
    assert len(head) == 256 and len(var) == 256 * ns
    body = b"".join(np.asarray(x[2][r * x[3] : (r + 1) * x[3]], "<i2").tobytes() for r in range(n_rec) for x in signals)
    rate = signals[0][3]
    events = bytes([1]) + (a("<u4", [rate])[:3] + a("<u4", [0]) if version == 1 else bytes(3) + a("<f4", [rate]))
    path.write_bytes(head + var + bytes(extra) + body + events)
    return path


_GDF_UNITS = {  # the unit as GDF 1 text and GDF 2 code, its factor to volts (None: no voltage)
    "uV": (4275, 1e-6),
    "mV": (4274, 1e-3),
    "V": (4256, 1.0),
    "nV": (4276, 1e-9),
    "µV": (None, 1e-6),
    "UV": (None, 1e-6),
    "degC": (6048, None),
    "%": (544, None),
    "": (0, None),
    "-": (512, None),
}


@pytest.mark.parametrize("version", [1, 2])
def test_each_gdf_channel_is_scaled_by_its_own_unit(tmp_path, caplog, version):
    """Before: MNE scales GDF 1's 'uV' and GDF 2's microvolt and millivolt codes only, and reads every channel as EEG:
    a GDF 1 channel in 'mV' came out 1000 times its volts, 'µV' and 'UV' 1e6 times, 'nV' (either version) 1e9 times, a
    temperature or a % EEG in volts; GDF 2's volt, nanovolt, degC and % codes each gave MNE's 'Unsupported physical
    dimension for channel N ... contact the MNE-Python developers' on every replay. Now each voltage is volts (the
    file's digital values times its gain and unit), the others misc with their values as in the file, the rescaled
    ones said in one warning naming them, and MNE's warnings not passed on."""
    x = np.random.default_rng(1).integers(-30000, 30000, 400)
    units = [(text if version == 1 else code, scale) for text, (code, scale) in _GDF_UNITS.items()]
    units = [(u, f) for u, f in units if u is not None and not (version == 1 and u == "-")]
    signals = [(f"E{i}", u, x, 100, -3276.8, 3276.7) for i, (u, _) in enumerate(units)]
    path = _gdf(tmp_path / f"units{version}.gdf", signals, 4, version)
    with caplog.at_level(logging.WARNING):
        spec, got = _replay(path)
    value = (x + 32768) * (6553.5 / 65535) - 3276.8  # the physical value each sample holds, in the file's unit
    np.testing.assert_allclose(got, [value * (f or 1.0) for _, f in units], rtol=1e-12, atol=0)
    assert spec.channel_types == tuple("misc" if f is None else "eeg" for _, f in units)
    (said,) = [r.getMessage() for r in caplog.records if r.name.startswith("wavegraph")]
    mne_scales = {"uV", 4275, 4274} | ({4256} if version == 2 else {"V"})  # (GDF 1's 'V': MNE's 1 is right)
    rescaled = [f"E{i}" for i, (u, f) in enumerate(units) if f is not None and u not in mne_scales]
    assert rescaled and said.startswith(f"file_source: {path}: {rescaled[0]} in ")
    assert [n for n in spec.channel_names if f"{n} in " in said] == rescaled


@pytest.mark.parametrize(
    ("types", "extra", "said"),
    [
        ([3, 16], 0, "different data types (A type 3, B type 16), which MNE's GDF reader does not read"),
        ([5, 16], 0, "different data types (A type 5, B type 16), which MNE's GDF reader does not read"),
        ([279, 279], 0, "data type 279 (A type 279, B type 279), which MNE's GDF reader does not read"),
        ([3, 3], 256, "with a header of 1024 bytes, 256 more than its 2 channels take"),
    ],
)
def test_a_gdf_variant_mne_cannot_read_is_refused_naming_it_and_the_fix(tmp_path, types, extra, said):
    """Before: MNE's reader failed with 'RuntimeError: Reading multiple data types not supported', an IndexError, or
    an empty assertion ('its contents do not parse'), and file_source said the file was damaged and to export it
    again; int32 beside float32 (one size) MNE read without a word, the float32 channel's bits as int32. Now it says
    which variant MNE cannot read and how to convert the file."""
    x = np.arange(200) % 50
    path = _gdf(tmp_path / "variant.gdf", [("A", 4275, x, 100, -1, 1), ("B", 4275, x, 100, -1, 1)], 2, 2, types, extra)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert f"{path} is GDF 2.20" in str(e.value) and said in str(e.value)
    assert "save2gdf -f=BDF variant.gdf variant.bdf" in str(e.value)


def test_a_gdf1_channel_mne_scales_as_uv_but_is_no_voltage_keeps_the_files_value(tmp_path, caplog):
    """MNE scales every GDF 1 unit that starts 'uV' by 1e-6 ('uVs', an integrated EMG, is no voltage): such a channel
    was typed misc and logged 'values as in the file' but held 1e-6 times them. Now it holds the file's values."""
    x = np.arange(400) % 50 * 100
    signals = [("A", "uV", x, 100, -3276.8, 3276.7), ("B", "uVs", x, 100, -3276.8, 3276.7)]
    with caplog.at_level(logging.INFO, "wavegraph.file_source"):
        spec, got = _replay(_gdf(tmp_path / "uvs.gdf", signals, 4, version=1))
    value = (x + 32768) * (6553.5 / 65535) - 3276.8
    assert spec.channel_types == ("eeg", "misc")
    np.testing.assert_allclose(got, [value * 1e-6, value], rtol=1e-12, atol=0)
    assert "B (misc) in 'uVs'" in caplog.text and "values as in the file" in caplog.text


def test_a_gdf1_header_longer_than_its_channels_is_refused_without_naming_gdf2s_fields(tmp_path):
    """MNE's GDF 1 reader fails on it as on GDF 2's (an empty assertion); the refusal named 'GDF 2's tag-length-value
    fields', which a GDF 1 file has none of."""
    x = np.arange(200) % 50
    signals = [("A", "uV", x, 100, -1, 1), ("B", "uV", x, 100, -1, 1)]
    path = _gdf(tmp_path / "long.gdf", signals, 2, version=1, extra=256)
    with pytest.raises(SpecError, match="with a header of 1024 bytes, 256 more than its 2 channels take") as e:
        FileSource(path=str(path)).configure({})
    assert "GDF 2" not in str(e.value) and "(GDF 1 defines no third header part)" in str(e.value)


def test_a_gdf_header_listing_more_channels_than_the_file_holds_is_refused_at_once(tmp_path):
    """A GDF 1 header's channel count (4 bytes) of 100,000 in a file of 1 KB: MNE's reader reads a label per channel
    (1 M took 8 s, 2^32 - 1 would take hours) before an IndexError ('damaged'); check_gdf read 256 bytes per listed
    channel at once (MemoryError for 2^32 - 1). Now it is refused naming the count and the file's size."""
    path = _gdf(tmp_path / "many.gdf", [("A", "uV", np.zeros(100), 100, -1, 1)], 1, version=1)
    data = bytearray(path.read_bytes())
    data[252:256] = np.asarray([100_000], "<u4").tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(SpecError, match="whose header lists 100000 channels, 25600256 bytes of header, more than the"):
        FileSource(path=str(path)).configure({})
