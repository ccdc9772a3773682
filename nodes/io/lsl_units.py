"""The unit lsl_outlet writes on each channel's desc/channels/channel/unit: words MNE-LSL reads (its create_info knows
'volts', 'millivolts', 'microvolts' for voltage channels, else a power of ten of the SI unit), never the stream's
"SI" (MNE's arrays: each channel in its own SI unit), which MNE-LSL and LSL apps do not know as a unit."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .units import VOLTAGE_TYPES, volt_scale

_VOLT_WORDS = {0: "volts", -3: "millivolts", -6: "microvolts"}


def channel_units(units: str, types: Sequence[str], n: int) -> list[str | None]:
    """One unit per channel (None: leave it out, the unit not known): a stream in a voltage unit (V, uV, ...) has it
    on every channel, as 'volts'/'millivolts'/'microvolts' (another power of ten as its exponent, '-9');
    a stream in "SI" has 'volts' on its voltage channels (eeg, eog, ...) and none on the others (MNE-LSL takes a
    channel with none in its SI unit); "" none; any other unit (a.u.) as it is."""
    scale = volt_scale(units) if units else None
    if scale is not None:
        power = round(math.log10(scale))
        return [_VOLT_WORDS.get(power, str(power))] * n
    if units == "SI":
        return ["volts" if i < len(types) and types[i] in VOLTAGE_TYPES else None for i in range(n)]
    return [units or None] * n
