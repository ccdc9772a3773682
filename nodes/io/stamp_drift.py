"""Replaying a stream whose stamps run off its nominal rate (an XDF stream, or a recorder's CSV of one, from an
amplifier whose clock is fast or slow against the computer's; lsl_inlet's chunk times follow such a clock live
too): file_source gives each
chunk its first sample's stamp, and the nodes after it count the samples in it at the nominal rate. A marker went out
at its own stamp, off that count by the drift since the chunk's start, so epochs cut it, and a recorder wrote it, that
far from its sample: in one chunk of 8 s of a stream 0.5 % fast, 9 samples; right only in small chunks. And a node
moves its count to a chunk's t0 only when that t0 comes after its newest sample (timebuffer.py), which a fast clock's
does not once a chunk drifts a sample: then nothing lined up. So a marker goes out at the time the chunk's count gives
its sample (`off_count`), and a fast clock's chunk holds at most the samples over which it drifts half a sample
(`drift_cap`, but never under file_source's default 32: a clock off by more than 1.5 % is a wrong nominal rate,
said by the XDF reader over 10 %): each chunk's t0 then moves the nodes' count, and a replay places every marker on
its own sample whatever its chunk_size."""

from __future__ import annotations

import numpy as np

from .readers_base import _Reader

TOLERANCE_S = 1e-6  # a marker or a stamp this close to the count is on it (float rounding; every file on its rate)


def off_count(r: _Reader, index: np.ndarray, start: int, t0: float) -> np.ndarray:
    """How far the file's clock puts each sample `index` from where the chunk [start, ...) at `t0` counts it
    (t0 + (index - start) / rate); 0 where that is under TOLERANCE_S."""
    off = np.array([r.time_of(int(k)) for k in index]) - (t0 + (np.asarray(index) - start) / r.sfreq)
    return np.where(np.abs(off) > TOLERANCE_S, off, 0.0)


def drift_cap(r: _Reader) -> int:
    """The most samples per chunk over which `r`'s stamps fall at most half a sample behind its nominal rate's count,
    in every run between its breaks (where the replay flags a gap); no limit (2**62) for a stream on its rate or
    slower (its chunks' t0 come after the count's newest sample, and move it)."""
    n = r.n_times
    if n < 2 or r.segment:  # (epochs: index / rate, on the rate)
        return 1 << 62
    edges = [0, *[int(b) for b in r.breaks if 0 < b < n], n]
    worst = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a > 1:
            counted = (b - 1 - a) / r.sfreq
            drift = counted - (r.time_of(b - 1) - r.time_of(a))  # a slow clock's t0s come after: they move it
            if drift > TOLERANCE_S:
                worst = max(worst, drift / counted)
    return 1 << 62 if worst == 0 else max(1, int(0.5 / worst))
