"""A buffer of signal samples with their stream-clock timestamps, shared by the nodes that align
streams by time (epochs, join) rather than by arrival order.

Sample i of a chunk is stamped ``chunk.t0 + i / rate`` (plus a fixed clock offset). A chunk flagged
``gap`` starts a new segment: the buffer remembers where, so that a consumer can refuse a window that
spans missing data.
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
        self.seen = True
        t = t0 + self.offset + np.arange(n) / self.rate
        self.data = np.concatenate([self.data, data.astype(self.dtype, copy=False)], axis=-1)
        self.times = np.concatenate([self.times, t])

    def prune(self, before: float) -> None:
        """Forget samples stamped earlier than `before`."""
        k = int(np.searchsorted(self.times, before, side="left"))
        if k:
            self.data = self.data[..., k:]
            self.times = self.times[k:]
            self.start += k
            self.breaks = [b for b in self.breaks if b > self.start]

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
                "start": self.start, "seen": self.seen}

    def load(self, s: dict) -> None:
        self.data = np.asarray(s["data"], dtype=self.dtype).reshape(*self.shape, -1)
        self.times = np.asarray(s["times"], dtype=np.float64)
        self.breaks, self.start, self.seen = [int(b) for b in s["breaks"]], int(s["start"]), bool(s["seen"])
