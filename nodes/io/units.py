"""Voltage units as streams and files label them (desc/channels/channel/unit of LSL and XDF, an EDF/BDF signal's
physical dimension) -> MNE's volts."""

from __future__ import annotations

import re

import numpy as np

VOLT_SCALE = {
    "microvolts": 1e-6,
    "microvolt": 1e-6,
    "uv": 1e-6,
    "µv": 1e-6,  # the micro sign (U+00B5)
    "μv": 1e-6,  # the Greek small mu (U+03BC), which some apps write instead
    "millivolts": 1e-3,
    "millivolt": 1e-3,
    "mv": 1e-3,
    "nv": 1e-9,
    "nanovolts": 1e-9,
    "volts": 1.0,
    "volt": 1.0,
    "v": 1.0,
}
# a micro written in another encoding than the reader's: UTF-8's micro sign and Greek mu read as Latin-1 ('Âµ', 'Î¼':
# EDF headers are ASCII, and some writers put UTF-8 there), Shift-JIS's mu (Japanese systems; MNE knows it)
_MICRO_BYTES = ("\u00e2\u00b5", "\u00ee\u00bc", "\x83\xca")


_PREFIX = {"": 1.0, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "micro": 1e-6, "m": 1e-3, "milli": 1e-3, "n": 1e-9, "nano": 1e-9}
# an SI prefix (letter or word; a hyphen after it) and volt, volts or v: apps' spellings beyond VOLT_SCALE's
_SPELT = re.compile(r"(?:(micro|milli|nano|u|µ|μ|m|n)-?)?(?:volts?|v)")

VOLTAGE_TYPES = {"eeg", "eog", "emg", "ecg", "seeg", "ecog", "dbs"}  # channel types MNE holds in volts


def volt_scale(unit: str) -> float | None:
    """The factor to volts of a unit, or None when it is no voltage. Case and spaces do not count ('UV', 'u V'). MNE-LSL
    writes a unit as the power of ten of MNE's unit (its FIFF unit_mul: '0' volts, '-6' microvolts), so a whole number
    there is one too."""
    u = "".join(unit.split()).lower()
    for micro in _MICRO_BYTES:
        u = u.replace(micro, "u")
    if u in VOLT_SCALE:
        return VOLT_SCALE[u]
    if m := _SPELT.fullmatch(u):  # 'uVolts', 'micro-volts', 'µVolt', 'nanovolt': a prefix, volt(s)
        return _PREFIX[m.group(1) or ""]
    return 10.0 ** int(u) if re.fullmatch(r"[+-]?[0-9]{1,2}", u) and -12 <= int(u) <= 3 else None


def to_volts(units: list[str]) -> tuple[np.ndarray, str]:
    """Per-channel factors to volts (1 for a unit that is no voltage) and the unit of the scaled
    channels: "V" when every one is a voltage, else the shared unit, else ""."""
    found = [volt_scale(u) for u in units]
    scale = np.array([1.0 if f is None else f for f in found])
    if units and all(f is not None for f in found):
        return scale, "V"
    return scale, units[0] if len(set(units)) == 1 else ""
