"""Real-file round 4 on the EEG replay path (file_source): GDF 1.x/2.x channel units, and the GDF variants MNE's reader
cannot read. Files are built byte by byte as the formats' specifications (and MNE's readers) lay them out."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_real_files3 import _replay  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError


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
