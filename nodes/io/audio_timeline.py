"""What a speaker plays twice after a gap: the samples of a chunk stamped before the end of what was queued.

After a gap (an xrun of the microphone, no sample lost) every node restarts its segment, and a resampler's new
segment runs ahead of its input by its filter's leading zero taps (9.4 ms from 44.1 kHz to 16 kHz, 19.4 ms from
22.05 kHz): its first outputs are stamped before the end of what the segment before already gave. A speaker that
queued them all played 20-40 ms more audio than the microphone gave at each xrun, the call's latency growing for the
rest of the run. `audio_output` keeps a timeline of what it queued and, from a chunk flagged gap until its segment
has caught up, drops such an overlap, counted `overlap_dropped`. Only there, and only a short one (up to
MAX_OVERLAP_S): a stream without gaps plays every sample as before, whatever its chunks' times (a user's source that
stamps every chunk 0), and so does a source whose clock went back by more.
(Dropping it in the resampler instead lost real samples on a file graph: `resample -> align` after a short gap.)
"""

from __future__ import annotations

import math

import numpy as np

MAX_OVERLAP_S = 0.1  # two resamplers' run-ahead (19.4 ms each from 22.05 kHz) and the enhancer's, with room


class QueuedUntil:
    """The end time of the audio queued so far; `trim` cuts a chunk's samples stamped before it."""

    def __init__(self, rate: float):
        self.rate = rate
        self.end: float | None = None
        self.after_gap = False  # a segment restarted: its chunks are trimmed until one starts after `end`

    def trim(self, x: np.ndarray, t0: float, gap: bool) -> tuple[np.ndarray, int]:
        """(x without its leading samples stamped before the end of what was queued, how many were cut); x is
        (channels, samples) starting at t0. A NaN t0 (a chunk without a time) is queued after the last."""
        n = x.shape[-1]
        if n == 0:  # (a gap on an empty chunk holds for the next one)
            self.after_gap |= gap
            return x, 0
        if t0 != t0:
            t0 = self.end if self.end is not None else 0.0
        self.after_gap |= gap
        cut = 0
        if self.after_gap and self.end is not None:
            over = math.ceil((self.end - t0) * self.rate - 1e-6)
            cut = min(over, n) if 0 < over <= MAX_OVERLAP_S * self.rate else 0
            self.after_gap = cut == n  # (caught up once a chunk keeps a sample)
        self.end = t0 + n / self.rate if self.end is None else max(self.end, t0 + n / self.rate)
        return x[..., cut:], cut
