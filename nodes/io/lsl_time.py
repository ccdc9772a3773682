"""Smooth sample times for a regular LSL stream, clock drift included.

An amplifier's real rate is never exactly its nominal rate (100 ppm is 0.36 s an hour), and its LSL
timestamps, stamped at push on the sender's clock (then time_correction), follow the real rate but
jitter by the push timing. `TimestampFit` fits the line t = a + b * k through (sample index k, LSL
timestamp t) of one segment (from the stream start or a gap to now) by exponentially weighted least
squares, as liblsl's dejitter (postproc, `smoothing_halftime`) and pyxdf's jitter removal do: the
fitted times follow the timestamps (b is the effective sample period) without their jitter. A prior
pulls b towards the nominal period while the segment is short, so that a few samples (the start of a
segment) do not give a wild slope; it weighs as much as PRIOR_S seconds of samples.

The sums are kept with the newest sample at x = 0 (and y relative to the segment's first timestamp),
so they stay well conditioned over hours.
"""

from __future__ import annotations

import numpy as np

PRIOR_S = 0.5
RATE_CHECK_S = 5.0  # s of samples in a segment before its timestamps' rate is compared with the nominal
RATE_TOLERANCE = 0.05  # relative: beyond it the stream is not at its nominal rate (clock drift is ~1e-4)


class TimestampFit:
    """Exponentially weighted least-squares line through (sample index, timestamp) of one segment."""

    def __init__(self, rate: float, halftime: float):
        self.period = 1.0 / rate
        self.decay = 0.5 ** (1.0 / (halftime * rate))  # a sample's weight halves every `halftime` seconds
        self.prior = (PRIOR_S * rate) ** 3 / 12.0  # the spread (sum of x^2) of PRIOR_S s of samples
        self.restart()

    def restart(self) -> None:
        """Start a new segment (after a gap): forget every sample."""
        self.n = 0
        self.t_ref = 0.0  # the segment's first timestamp; y = t - t_ref
        self.sw = self.sx = self.sy = self.sxx = self.sxy = 0.0  # weighted sums; x = 0 at the newest sample

    def add(self, ts: np.ndarray) -> float:
        """Take the timestamps of the segment's next len(ts) samples; return the fitted time of the first."""
        n = len(ts)
        if n == 0:
            raise ValueError("TimestampFit.add needs at least one timestamp")
        if self.n == 0:
            self.t_ref = float(ts[0])
        f = self.decay**n  # the older samples move n places back (x -= n) and lose weight
        self.sxx = f * (self.sxx - 2 * n * self.sx + n * n * self.sw)
        self.sxy = f * (self.sxy - n * self.sy)
        self.sx = f * (self.sx - n * self.sw)
        self.sy *= f
        self.sw *= f
        x = np.arange(1 - n, 1, dtype=np.float64)
        w = self.decay ** (-x)
        y = np.asarray(ts, dtype=np.float64) - self.t_ref
        self.sw += float(w.sum())
        self.sx += float(w @ x)
        self.sy += float(w @ y)
        self.sxx += float(w @ (x * x))
        self.sxy += float(w @ (x * y))
        self.n += n
        return self.at(1 - n)

    @property
    def slope(self) -> float:
        """The effective sample period (s): the fitted line's slope."""
        mx, my = self.sx / self.sw, self.sy / self.sw
        cxx = max(self.sxx - self.sw * mx * mx, 0.0)
        cxy = self.sxy - self.sw * mx * my
        return (cxy + self.prior * self.period) / (cxx + self.prior)

    def at(self, x: float) -> float:
        """The fitted time of the sample at x (0: the newest, -1 the one before)."""
        mx, my = self.sx / self.sw, self.sy / self.sw
        return self.t_ref + my + self.slope * (x - mx)


def off_nominal_rate(fit: TimestampFit, rate: float) -> float | None:
    """The rate a segment's timestamps give (1 / the fitted period), once it holds RATE_CHECK_S s of
    samples and when that is more than RATE_TOLERANCE off the nominal `rate`; else None."""
    if fit.n < RATE_CHECK_S * rate:
        return None
    true_rate = 1.0 / fit.slope if fit.slope > 0 else 0.0
    return true_rate if abs(true_rate / rate - 1.0) > RATE_TOLERANCE else None


def fill_times(ts: np.ndarray, last: float | None, rate: float, now: float) -> np.ndarray:
    """Timestamps with the NaN/inf ones (a sender's broken clock) replaced: for a regular stream, from the
    latest good one before it (this chunk's, else `last`, the stream's previous) at the nominal `rate`, or
    back from the chunk's first good one, or back from `now` when there is none; for an irregular one
    (markers), `now` (its arrival)."""
    ts = np.array(ts, dtype=np.float64)
    bad = ~np.isfinite(ts)
    if rate <= 0:
        ts[bad] = now
        return ts
    idx = np.arange(len(ts))
    good = np.flatnonzero(~bad)
    if last is not None and np.isfinite(last):
        base_i, base_t = -1, float(last)
    elif len(good):
        base_i, base_t = int(good[0]), float(ts[good[0]])
    else:
        base_i, base_t = len(ts) - 1, now
    prev = np.maximum.accumulate(np.where(bad, -1, idx))  # the latest good index at or before each sample
    ref_i = np.where(prev >= 0, prev, base_i)
    ref_t = np.where(prev >= 0, ts[np.maximum(prev, 0)], base_t)
    ts[bad] = ref_t[bad] + (idx[bad] - ref_i[bad]) / rate
    return ts
