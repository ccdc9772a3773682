"""What file_source reads from a GDF 1.x/2.x header itself: each channel's unit, which MNE's reader scales for 'uV'
(GDF 1) or the microvolt and millivolt codes (GDF 2) only, reading any other unit as volts and every channel as EEG; and
the variants MNE's reader cannot read, said before it fails."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError

from .edf_header import edf_types, unit_types
from .units import volt_scale

# GDF 2's physical dimension code: the unit in the high 11 bits (biosig's units.csv, ISO 11073-10101), its decimal
# prefix in the low 5 (biosig's DecimalFactors.txt: 0 none, 1 da, 2 h, 3 k, 4 M, 5 G, ...; 16 d, 17 c, 18 m, 19 u, 20 n)
_VOLT = 4256
_PREFIX = {0: ("", 0), 1: ("da", 1), 2: ("h", 2), 3: ("k", 3), 4: ("M", 6), 16: ("d", -1), 17: ("c", -2)}
_PREFIX |= {18: ("m", -3), 19: ("u", -6), 20: ("n", -9), 21: ("p", -12)}
_NAMED = {0: "no unit (code 0)", 512: "dimensionless (code 512)", 544: "% (code 544)", 4288: "Ohm", 6048: "degC"}
_MNE_CODES = {4275: 1e-6, 4274: 1e-3}  # the codes MNE scales (any other: 1, and a warning for all but 0 and 512)
_TYPES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 8, 8: 8, 16: 4, 17: 8}  # GDF data types MNE reads: bytes each
_CONVERT = "convert it with BioSig (save2gdf -f=BDF {name} {stem}.bdf) or its reader (biosig's sload) and replay that"


def _header(path: Path) -> tuple[float, int, int, bytes] | None:
    """(version, number of channels, header bytes, the channels' header) of a GDF file; None if it is none. The channels'
    header is b"" when the file is shorter than it (a count of 2^32 - 1 channels: it is not read, 1 TB)."""
    with open(path, "rb") as f:
        head = f.read(256)
        try:
            version = float(head[4:8].decode("latin-1"))
        except ValueError:
            return None
        if not head.startswith(b"GDF") or len(head) < 256:
            return None
        two = version >= 1.9
        ns = int(np.frombuffer(head[252:254] if two else head[252:256], "<u2" if two else "<u4")[0])
        size = int(np.frombuffer(head[184:186], "<u2")[0]) * 256 if two else int(np.frombuffer(head[184:192], "<i8")[0])
        var = f.read(256 * ns) if 256 * (ns + 1) <= os.fstat(f.fileno()).st_size else b""
    return version, ns, size, var


def _field(var: bytes, ns: int, at: int, width: int, dtype: str | None = None) -> list:
    """Each channel's field at `at` (bytes times the channel count into the channels' header), `width` bytes each."""
    part = var[at * ns : (at + width) * ns]
    if dtype is not None:
        return np.frombuffer(part, dtype).tolist()
    return [part[i * width : (i + 1) * width].decode("latin-1").split("\x00")[0].strip() for i in range(ns)]


def check_gdf(path: Path) -> None:
    """The GDF variants MNE's reader fails on (an assertion, an index error, a RuntimeError) or misreads: a GDF 2 header
    with its third part (tag-length-value fields: event descriptions, ... which BioSig writes), channels stored in
    different data types (MNE reads them all as one: int32 beside float32 came out as garbage, unsaid) or in one MNE
    does not read (int24: BioSig's BDF conversions)."""
    found = _header(path)
    if found is None:
        return  # (MNE says what is wrong)
    version, ns, size, var = found
    if len(var) != 256 * ns:  # (MNE reads its header channel by channel: 1 M channels took 8 s, 4 G would take hours)
        raise SpecError(
            f"file_source: {path} is GDF {version:.2f} whose header lists {ns} channels, {256 * (ns + 1)} bytes of "
            f"header, more than the file's {path.stat().st_size} bytes: it is cut short, or that count is damaged",
            "export it again from the recording software",
        )
    fix = _CONVERT.format(name=path.name, stem=path.stem)
    if size > 256 * (ns + 1):
        raise SpecError(
            f"file_source: {path} is GDF {version:.2f} with a header of {size} bytes, {size - 256 * (ns + 1)} more "
            f"than its {ns} channels take: MNE's GDF reader does not read that part "
            + ("(GDF 2's tag-length-value fields)" if version >= 1.9 else "(GDF 1 defines no third header part)"),
            fix,
        )
    types = _field(var, ns, 220, 4, "<i4")
    other = sorted({t for t in types if t not in _TYPES})
    if (
        other or len(set(types)) > 1
    ):  # (MNE reads every channel as the first one's type: int32 beside float32, silently)
        labels = _field(var, ns, 0, 16)
        said = ", ".join(f"{label} type {t}" for label, t in zip(labels, types))
        what = f"data type {', '.join(map(str, other))}" if other else "different data types"
        raise SpecError(
            f"file_source: {path} is GDF {version:.2f} whose channels are stored in {what} ({said}), which MNE's GDF "
            "reader does not read (it reads every channel as one type of the sizes it knows)",
            fix,
        )


def gdf_units(path: Path) -> list[tuple[str, float | None, float]] | None:
    """Each channel's (unit as the file gives it, its factor to volts or None for no voltage, the factor MNE applies);
    None when the header cannot be read. GDF 1 gives a unit as text ('uV', 'mV', 'degC'), GDF 2 as a code (a text
    field beside it is obsolete: read only when the code is 0, unspecified)."""
    found = _header(path)
    if found is None or len(found[3]) != 256 * found[1]:
        return None
    version, ns, _, var = found
    if version < 1.9:
        return [(u, volt_scale(u), 1e-6 if u[:2] == "uV" else 1.0) for u in _field(var, ns, 96, 8)]
    units = []
    for code, text in zip(_field(var, ns, 102, 2, "<u2"), _field(var, ns, 96, 6)):
        mne = _MNE_CODES.get(code, 1.0)
        if code & ~31 == _VOLT and code & 31 in _PREFIX:
            prefix, power = _PREFIX[code & 31]
            units.append((f"{prefix}V (code {code})", 10.0**power, mne))
        elif code == 0 and text:
            units.append((f"{text} (no code)", volt_scale(text), mne))
        else:
            units.append((_NAMED.get(code, f"code {code}"), None, mne))
    return units


def gdf_types(path: Path, ch_names: list[str], ch_types: list[str]) -> tuple[list[str], dict[int, float]]:
    """unit_types of a GDF, by each channel's unit (gdf_units: 'mV' in GDF 1, nanovolts in GDF 2 MNE reads as volts)."""
    return unit_types(path, ch_names, ch_types, gdf_units(path))


def by_unit(path: Path | None, ch_names: list[str], ch_types: list[str]) -> tuple[list[str], np.ndarray]:
    """The channel types file_source gives a recording read from `path` and each channel's factor to volts: an EDF/BDF's
    or a GDF's by each channel's own unit (edf_types, gdf_types: degC misc, 'UV' or 'mV' where MNE reads volts to
    volts); any other's as MNE gives them (factor 1)."""
    gains = np.ones(len(ch_names))
    suffix = "" if path is None else path.suffix.lower()
    if path is None or suffix not in (".edf", ".bdf", ".gdf"):
        return list(ch_types), gains
    types, found = (gdf_types if suffix == ".gdf" else edf_types)(path, ch_names, ch_types)
    gains[list(found)] = list(found.values())
    return types, gains


def gdf_rates(path: Path) -> list[float] | None:
    """Each channel's rate in a GDF (samples per record over the record's duration, num / den seconds in both versions,
    as MNE reads them); None when the header cannot be read."""
    found = _header(path)
    if found is None or len(found[3]) != 256 * found[1]:
        return None
    _, ns, _, var = found
    with open(path, "rb") as f:
        f.seek(244)
        num, den = np.frombuffer(f.read(8), "<u4").tolist()
    if not num or not den:
        return None
    return [n * den / num for n in _field(var, ns, 216, 4, "<i4")]
