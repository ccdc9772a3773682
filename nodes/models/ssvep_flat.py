"""Windows without signal for the SSVEP decoders: no decision on them, counted ``undecided_flat`` (said once).
(Also `say_short`: a stream that ended before its first window was complete.)

FBCCA is scale-free (CCA) and the DNN decides on any input, so a window without signal was still decided: a flat
file, or a stretch of zeros where an amplifier lost its electrodes (or a NaN stretch zeroed by ``nan_policy: zero``),
scored 0 for every frequency and got the first one; such a stretch after real EEG was decided on the ringing of the
filters before it (the notch's, the decoder's sub-bands': a tail decaying to 1e-20 V), with scores like real ones.

A window has no signal when

* every picked channel is constant over it (exact: any units; ``Moved`` tracks, across chunks, which input samples
  differ from the sample before them, aligned with the decoder's buffer, so the same windows in any chunking), or
* its widest sub-band (the first) has an RMS below ``FLOOR_V`` = 1e-10 V (0.1 nV, 50x under the quantisation noise
  of a 24-bit EEG amplifier, whose steps are 20 nV or more) in a stream of volts (or mV, uV, nV, scaled; or MNE's SI of voltage channels); in other
  units only an exact 0.
"""

from __future__ import annotations

import logging

import numpy as np

_log = logging.getLogger("wavegraph.ssvep")
FLOOR_V = 1e-10


def floor_of(units: str, types) -> float:
    """The RMS under which a sub-band window is no signal, in the stream's units (0: only an exact 0). `types`: the
    picked channels' types; a stream in "SI" (MNE's arrays: each channel in its SI unit) is in volts when they are
    all voltage channels (eeg, eog, ...)."""
    from ..io.units import VOLTAGE_TYPES, volt_scale

    if units == "SI":
        scale = 1.0 if types and all(t in VOLTAGE_TYPES for t in types) else None
    else:
        scale = volt_scale(units) if units else None
    return FLOOR_V / scale if scale else 0.0


def quiet(band: np.ndarray, floor: float) -> np.ndarray:
    """Which windows of the first sub-band (..., channels, samples) have an RMS at or under `floor`."""
    with np.errstate(over="ignore"):  # a window near the float max: inf, not quiet
        return np.sqrt(np.mean(np.square(band), axis=(-2, -1))) <= floor


class Moved:
    """Per buffered sample: does it differ from the sample before it on any channel (the first after a reset: no)."""

    def __init__(self) -> None:
        self.last: np.ndarray | None = None  # the previous input sample (channels,), None after a reset
        self.buf = np.zeros(0, dtype=bool)

    def append(self, x: np.ndarray) -> None:
        """Add the samples of x (channels, n), already picked and with non-finite values as the decoder fed them."""
        if x.shape[-1] == 0:
            return
        moved = np.empty(x.shape[-1], dtype=bool)
        moved[0] = self.last is not None and bool((x[:, 0] != self.last).any())
        moved[1:] = (x[:, 1:] != x[:, :-1]).any(axis=0)
        self.last = x[:, -1].copy()
        self.buf = np.concatenate([self.buf, moved])

    def flat(self, n_win: int, hop: int, size: int) -> np.ndarray:
        """Which of the next n_win windows (start j * hop, `size` samples) hold no moving sample past their first."""
        cs = np.concatenate([[0], np.cumsum(self.buf)])
        starts = np.arange(n_win) * hop
        return cs[starts + size] - cs[starts + 1] == 0

    def drop(self, n: int) -> None:
        self.buf = self.buf[n:]

    def state(self) -> dict:
        return {"moved": self.buf.copy(), "last": None if self.last is None else self.last.copy()}

    def load(self, state: dict, n_buf: int, n_ch: int) -> None:
        """Restore; a state saved before this existed: the buffered samples count as moving (decided as then).
        One 'moved' entry per buffered sample and one 'last' value per channel, or a ValueError (the next window
        failed inside numpy: "index 658 is out of bounds", "operands could not be broadcast")."""
        moved = state.get("moved")
        buf = np.ones(n_buf, dtype=bool) if moved is None else np.asarray(moved, dtype=bool).copy()
        last = state.get("last")
        last = None if last is None else np.asarray(last, dtype=np.float64).copy()
        if buf.shape != (n_buf,) or last is not None and last.shape != (n_ch,):
            raise ValueError(
                f"ssvep_decoder state 'moved' has shape {buf.shape} and 'last' {None if last is None else last.shape}, "
                f"this node's 'buf' holds {n_buf} samples of {n_ch} channels: they go together (one 'moved' per "
                "buffered sample, one 'last' per channel); load the state as state_dict() saved it"
            )
        self.buf, self.last = buf, last


def is_flat(x: np.ndarray) -> bool:
    """Every channel of the window x (channels, n) constant (NaN counts as moving: it is undecided anyway)."""
    return x.shape[-1] > 0 and bool((x == x[:, :1]).all())


def say_flat(node, n: int, t: float, what: str) -> None:
    """Count n flat windows; the first time, say where and what to check."""
    first = not node.counters.get("undecided_flat")
    node.count("undecided_flat", n)
    if first:
        _log.warning(
            "%s: the %s at %.3f s has no signal (every channel it decodes is constant over it, or its widest "
            "sub-band is under 0.1 nV RMS: a flat, zeroed or clipped stretch, or the filters' ringing after one): "
            "no decision; such windows are counted undecided_flat. Check the electrodes, the channels picked and "
            "what fills missing samples upstream (nan_policy zero makes a NaN stretch flat)",
            node.type_name or "ssvep decoder",
            what,
            t,
        )


def say_short(node, seconds: float, window: float) -> None:
    """The stream ended `seconds` after its start (or its last gap), under one window: said (a warning)."""
    _log.warning(
        "%s: the stream ended %.3f s after its start (or its last gap), shorter than one window (%g s): no decision "
        "on those samples (counted samples_short_of_window); give a longer recording or a shorter `window`",
        node.type_name or "ssvep decoder",
        seconds,
        window,
    )


def say_late(node, t: float, kept_from: float, max_delay: float) -> None:
    """Count a trial marker that came after the signal its trial needs had left the kept `max_delay`; the first time,
    say it (live: the marker stream lagged the EEG, a stalled link or another clock; its trials got no decision)."""
    first = not node.counters.get("late_marker")
    node.count("late_marker")
    if first:
        _log.warning(
            "%s: the marker at %.3f s came after the signal its trial needs had left the %g s kept (max_delay; the "
            "kept signal starts at %.3f s): no decision, counted late_marker (said once). The marker stream lags "
            "the EEG (a stalled link, or markers stamped on another clock); raise max_delay to wait longer",
            node.type_name or "ssvep_trial_decoder",
            t,
            max_delay,
            kept_from,
        )


def say_outside(node, t: float, first: float) -> None:
    """Count a trial marker whose window starts before the stream's first sample (at `first`); the first time, say it
    (live: the stimulus program sent it before the amplifier's stream started, or on another clock)."""
    said = node.counters.get("outside_data")
    node.count("outside_data")
    if not said:
        _log.warning(
            "%s: the marker at %.3f s has its window before the stream's first sample (%.3f s): no decision, counted "
            "outside_data (said once). Was it sent before the amplifier's stream started (start the amplifier "
            "first), or stamped on another clock than the EEG?",
            node.type_name or "ssvep_trial_decoder",
            t,
            first,
        )
