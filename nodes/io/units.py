"""Voltage units as streams label them (desc/channels/channel/unit of LSL and XDF) -> MNE's volts."""

from __future__ import annotations

import numpy as np

VOLT_SCALE = {
    "microvolts": 1e-6,
    "microvolt": 1e-6,
    "uv": 1e-6,
    "µv": 1e-6,  # the micro sign (U+00B5)
    "μv": 1e-6,  # the Greek small mu (U+03BC), which some apps write instead
    "millivolts": 1e-3,
    "mv": 1e-3,
    "volts": 1.0,
    "v": 1.0,
}


def to_volts(units: list[str]) -> tuple[np.ndarray, str]:
    """Per-channel factors to volts (1 for a unit that is no voltage) and the unit of the scaled
    channels: "V" when every one is a voltage, else the shared unit, else ""."""
    scale = np.array([VOLT_SCALE.get(u.lower(), 1.0) for u in units])
    if units and all(u.lower() in VOLT_SCALE for u in units):
        return scale, "V"
    return scale, units[0] if len(set(units)) == 1 else ""
