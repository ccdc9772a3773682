"""Where a time falls in a recording: the recorder's map from stream time to sample position.

A recorder writes the samples it receives back to back. Their times are the chunk times it received:
chunk i's samples are at t0_i + j / rate (j < n_i), and chunk i + 1 starts at its own t0, which need
not be where chunk i ended: a live inlet's chunk times follow the amplifier's clock (100-1000 ppm off
its nominal rate: 0.36-3.6 s an hour), and after a gap (samples lost, an outlet paused) t0 jumps.

`ChunkTimes` is that map as a piecewise-linear function from sample position k to time t, through
each chunk's start (k_i, t0_i) and end (k_i + n_i, t0_i + n_i / rate) (a jump between chunks is a
step at k_i + n_i), kept with few breakpoints: a point is kept only where the times leave the straight
line from the last kept one by more than `tolerance` (a tenth of a sample), checked as the chunks come
(the slopes that keep every point since within it narrow like a cone; a point outside keeps the one
before it). A file replay is one line at the nominal rate: one breakpoint, and a marker's position is
its onset - the first t0, as before. A constant drift is one line too (two breakpoints), whatever its
length; a gap adds two. Memory is constant per breakpoint, not per chunk.

The recorder's chunk log (`<path>.chunks.csv`: seq, t0, n, gap of every chunk) holds every chunk time,
so recover() rebuilds the same map after a kill (`read_chunk_log`).

Markers map back through it (`seconds`): a time inside a chunk goes where that chunk puts it; a time in a
gap (after the last sample before it, before the first after it) at the first sample after the gap;
before the first chunk or after the last, extrapolated at the nominal rate. Where chunk times go back
(a stream clock reset), the first stretch of the recording that holds the time wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class ChunkTimes:
    """Sample position <-> stream time for a recording at `rate`, from the chunk times (`add`)."""

    def __init__(self, rate: float, tolerance: float | None = None):
        if not rate > 0:
            raise ValueError(f"ChunkTimes needs a sample rate, got {rate!r}")
        self.rate = float(rate)
        self.period = 1.0 / self.rate
        self.tolerance = 0.1 * self.period if tolerance is None else float(tolerance)
        self.kept: list[tuple[int, float]] = []  # breakpoints (sample position, time)
        self.n = 0  # samples so far
        self._last: tuple[int, float] | None = None  # the newest point, not kept (yet)
        self._lo, self._hi = -math.inf, math.inf  # slopes from the last kept point within tolerance of all since

    @classmethod
    def line(cls, rate: float, t0: float) -> ChunkTimes:
        """One line at the nominal rate from `t0` (a recording whose chunk times are unknown)."""
        times = cls(rate)
        times._keep((0, float(t0)))
        return times

    def add(self, t0: float, n: int) -> None:
        """The next chunk: `n` samples from time `t0`."""
        if n <= 0:
            return
        t0 = float(t0)
        if math.isfinite(t0):  # (a chunk without a time: its samples are counted, the map spans them)
            self._point(self.n, t0)
            self._point(self.n + n, t0 + n * self.period)
        self.n += n

    def _point(self, k: int, t: float) -> None:
        if not self.kept:
            self._keep((k, t))
            return
        ka, ta = self.kept[-1]
        dk = k - ka
        if dk == 0:  # a step right at the last kept point
            if abs(t - ta) > self.tolerance:
                self._keep((k, t))
            return
        slope = (t - ta) / dk
        if self._lo <= slope <= self._hi:
            self._lo = max(self._lo, (t - self.tolerance - ta) / dk)
            self._hi = min(self._hi, (t + self.tolerance - ta) / dk)
            self._last = (k, t)
            return
        assert self._last is not None and self._last[0] > ka  # (a first point after the kept one always fits)
        self._keep(self._last)
        self._point(k, t)

    def _keep(self, point: tuple[int, float]) -> None:
        self.kept.append(point)
        self._last = point
        self._lo, self._hi = -math.inf, math.inf

    def breakpoints(self) -> list[tuple[int, float]]:
        """The map's breakpoints: those kept, and the newest point unless the nominal rate from the last
        kept one already holds every point since within tolerance."""
        out = list(self.kept)
        if self._last is not None and out and self._last != out[-1] and not self._lo <= self.period <= self._hi:
            out.append(self._last)
        return out

    def seconds(self, times) -> np.ndarray:
        """Each time's position in the recording, in seconds from its first sample (position / rate)."""
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        bp = self.breakpoints()
        if not bp:
            return t.copy()
        k = np.array([p[0] for p in bp], dtype=np.float64)
        tk = np.array([p[1] for p in bp])
        if len(bp) == 1 or np.all(np.diff(tk) >= 0):
            j = np.searchsorted(tk, t, side="right") - 1
            return np.array([self._at(k, tk, int(jj), float(x)) for jj, x in zip(j, t, strict=True)])
        return np.array([self._at(k, tk, self._segment(k, tk, float(x)), float(x)) for x in t])

    def _segment(self, k: np.ndarray, tk: np.ndarray, x: float) -> int:
        """The first stretch whose times hold x: a segment, or the last breakpoint's (at the nominal rate
        to the last sample); else -1 before the first breakpoint's time, the last breakpoint after it."""
        for j in range(len(tk) - 1):
            if tk[j] <= x <= tk[j + 1] and tk[j] < tk[j + 1]:
                return j
        if tk[-1] <= x <= tk[-1] + (self.n - k[-1]) * self.period:
            return len(tk) - 1
        return -1 if x < tk[0] else len(tk) - 1

    def _at(self, k: np.ndarray, tk: np.ndarray, j: int, x: float) -> float:
        if j < 0:  # before the first breakpoint, at the nominal rate
            return k[0] / self.rate + (x - tk[0])
        if j >= len(k) - 1:  # after the last one
            return k[-1] / self.rate + (x - tk[-1])
        span = tk[j + 1] - tk[j]
        return (k[j] + (x - tk[j]) * (k[j + 1] - k[j]) / span) / self.rate


def read_chunk_log(path: Path, rate: float) -> tuple[float, list[int], int | None, ChunkTimes | None]:
    """(first t0, gap positions, samples logged, chunk-time map) from a recorder's `<path>.chunks.csv`,
    read a line at a time (complete lines only: the last may be torn by a kill). No log: (0.0, [], None,
    None). The map is None when the stream has no rate."""
    first_t0: float | None = None
    gaps, total = [], None
    times = ChunkTimes(rate) if rate > 0 else None
    if not path.exists():
        return 0.0, gaps, total, None
    total = 0
    for t0, n, gap in chunk_log_rows(path):
        if first_t0 is None and math.isfinite(t0):  # as the recorder: from the first timed chunk
            first_t0 = t0 - (total / rate if rate > 0 else 0.0)
        if gap:
            gaps.append(total)
        if times is not None:
            times.add(t0, n)
        total += n
    return first_t0 or 0.0, gaps, total, times


def chunk_log_rows(path: Path) -> Iterator[tuple[float, int, bool]]:
    """(t0, samples, gap flag) of each complete line of a recorder's `<path>.chunks.csv` (header seq,t0,n,gap), in
    order; it stops at the first line a kill tore (no newline, or not four fields)."""
    with open(path, encoding="utf-8") as f:
        f.readline()  # the header
        for line in f:
            parts = line.split(",")
            if not line.endswith("\n") or len(parts) != 4:
                return
            yield float(parts[1]), int(parts[2]), parts[3].strip() == "1"
