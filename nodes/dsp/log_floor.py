"""`magnitude`'s `log: true` floor, said when it cuts a signal: the floor (1e-10 by default, librosa's `amin`) is in the
input's unit to the `power`, which suits audio at full scale 1 (-100 dB) but not EEG in volts, whose power per bin is
about 1e-12 V^2: an stft -> magnitude (power 2, log) of the real EEGMMIDB recording had 17 % of its values, 85 % of
its bins above 30 Hz, at log10(1e-10) = -10, unsaid. Values that are 0 (digital silence, a zero-padded first frame)
are floored as meant and not counted."""

from __future__ import annotations

import logging

import numpy as np

_log = logging.getLogger("wavegraph.magnitude")
SAY_SHARE = 0.01  # said once a chunk has this share of its values cut (real speech, power 2: 1 of 1610 in one chunk)


def say_floored(node, y: np.ndarray, floor) -> None:
    """Counts the values of `y` above 0 and under `floor` (`below_floor`) and says once, naming the node, that they
    were cut and the floor to give, when they are SAY_SHARE or more of a chunk."""
    n = int(np.count_nonzero((y < floor) & (y > 0)))
    if not n:
        return
    node.count("below_floor", n)
    if n < SAY_SHARE * y.size or node.__dict__.get("_said_floor"):  # (a quiet audio frame's bin at -100 dB: counted)
        return
    node.__dict__["_said_floor"] = True
    spec = node.in_specs["in"]
    power = node.params.power
    unit = (spec.units + (f"^{power:g}" if power != 1 else "")) if spec.units else "the input's unit"
    _log.warning(
        "magnitude %r: %d of %d values (%.1f %%) were above 0 but under floor %g (%s) and came out log10(floor) = %g; "
        "fix: give a floor under the signal's level (floor: %.3g, a thousandth of the least value here; EEG in volts "
        "has about 1e-12 V^2 per bin), as 1e-10 suits audio at full scale 1",
        node.node_id or "magnitude",
        n,
        y.size,
        100.0 * n / y.size,
        float(floor),
        unit,
        np.log10(float(floor)),
        max(float(np.min(y[y > 0])) / 1e3, float(np.finfo(y.dtype).tiny)),
    )
