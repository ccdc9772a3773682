"""A buffer of signal samples with their stream-clock timestamps, shared by the nodes that align
streams by time (epochs, join) rather than by arrival order.

Samples are stamped ``t_first + k / rate`` (plus a fixed clock offset), k counting from the first sample
of the segment whose first chunk had t0 = t_first, as the framing nodes stamp their outputs: times do
not depend on how the stream was chunked. A chunk flagged ``gap`` starts a new segment at its own t0;
the buffer remembers where, so that a consumer can refuse a window that spans missing data.
"""
from __future__ import annotations

import numpy as np


class TimedBuffer:
    """Samples (leading axes..., n) with times (n,), oldest first; `start` counts samples ever pruned."""

    def __init__(self, shape: tuple[int, ...], dtype, rate: float, offset: float = 0.0):
        self.shape, self.dtype, self.rate, self.offset = tuple(shape), np.dtype(dtype), float(rate), float(offset)
        self.reset()

    def reset(self) -> None:
        self.data = np.zeros((*self.shape, 0), dtype=self.dtype)
        self.times = np.zeros(0, dtype=np.float64)
        self.breaks: list[int] = []  # absolute sample indices where a gap starts a new segment
        self.start = 0  # absolute index of data[..., 0]
        self.seen = False  # any sample arrived yet
        self.anchor = (0.0, 0)  # (t0, absolute index) of the current segment's first sample

    @property
    def end_time(self) -> float:
        """Time of the newest sample (-inf before any)."""
        return float(self.times[-1]) if self.times.size else -np.inf

    @property
    def n_total(self) -> int:
        return self.start + self.times.size

    def append(self, data: np.ndarray, t0: float, gap: bool) -> None:
        n = data.shape[-1]
        if n == 0:
            return
        if data.shape[:-1] != self.shape:
            raise ValueError(f"chunk shape {data.shape} does not match the stream's {self.shape} + (samples,)")
        if gap and self.seen:
            self.breaks.append(self.n_total)
        if gap or not self.seen:
            self.anchor = (float(t0), self.n_total)
        self.seen = True
        t = self.anchor[0] + self.offset + (self.n_total - self.anchor[1] + np.arange(n)) / self.rate
        self.data = np.concatenate([self.data, data.astype(self.dtype, copy=False)], axis=-1)
        self.times = np.concatenate([self.times, t])

    def prune(self, before: float) -> None:
        """Forget samples stamped earlier than `before`."""
        k = int(np.searchsorted(self.times, before, side="left"))
        if k:
            self.data = self.data[..., k:]
            self.times = self.times[k:]
            self.start += k
            self.breaks = [b for b in self.breaks if b >= self.start]

    def nearest(self, t: float) -> int:
        """Absolute index of the sample nearest to time t (a tie goes to the earlier sample)."""
        k = int(np.searchsorted(self.times, t - 0.5 / self.rate, side="left"))
        return self.start + min(k, max(self.times.size - 1, 0))

    def has_break(self, lo: int, hi: int) -> bool:
        """True when a segment starts strictly inside absolute samples (lo, hi)."""
        return any(lo < b < hi for b in self.breaks)

    def take(self, lo: int, hi: int) -> np.ndarray:
        """Absolute samples [lo, hi) (must be held)."""
        return self.data[..., lo - self.start:hi - self.start]

    def state(self) -> dict:
        return {"data": self.data.copy(), "times": self.times.copy(), "breaks": list(self.breaks),
                "start": self.start, "seen": self.seen, "anchor": list(self.anchor)}

    def load(self, s: dict) -> None:
        self.data = np.asarray(s["data"], dtype=self.dtype).reshape(*self.shape, -1)
        self.times = np.asarray(s["times"], dtype=np.float64)
        self.breaks, self.start, self.seen = [int(b) for b in s["breaks"]], int(s["start"]), bool(s["seen"])
        self.anchor = (float(s["anchor"][0]), int(s["anchor"][1]))
