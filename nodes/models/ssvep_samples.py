"""The signal the ssvep_trial_decoder keeps (nodes/models/ssvep.py): the newest samples with their times."""

from __future__ import annotations

import math

import numpy as np

from ..dsp.room import Room
from ..dsp.timebuffer import nearest_index
from ..nanpolicy import RETIME_S, off_grid


class Samples:
    """The newest samples of a stream with their times: sample i (absolute) is stamped
    ``t_seg + (i - i_seg) / rate`` within its segment; a gap starts a new segment at its chunk's t0, and so
    does (without a break) a chunk whose t0 is more than RETIME_S off the segment's times: a live stream's
    clock drift (lsl_inlet stamps chunks from the LSL timestamps), so markers keep cutting the right samples. A gap
    flagged on a chunk of no samples is held for the next chunk with samples, as TimedBuffer (nodes/dsp/timebuffer.py)
    and the runtime (executor.gap_held) hold it: by hand it was dropped, the next samples joined on as continuous.
    Samples of chunks without a time (t0 NaN) get one from the next chunk of their segment with one, stamped back from
    it; a gap before that drops them (`untimed_dropped`, for the decoder to count: the gap's missing samples are not
    counted, so no later time can place them), and so does a chunk whose t0 would stamp them, untimed after a gap, at
    or before the samples before that gap (that chunk then starts the segment after the gap), as TimedBuffer does.
    A gap whose t0 is not after the newest sample with a time (the stream went back in time: a restarted source replays
    from its start) drops every held sample, whose times would no longer sort, and starts again from that chunk, as
    TimedBuffer does (`append` returns True; the decoder counts `time_reset` and forgets the old run's markers, as epochs:
    nodes/dsp/marker_runs.py). A chunk without a gap whose t0 goes back stays
    on the grid (a new segment at an off-grid t0 only after the held samples: RETIME_S)."""

    def __init__(self, nch: int, rate: float):
        self.rate = rate
        self.data = np.zeros((nch, 0))
        self.start = 0  # absolute index of data[:, 0]
        self.segments: list[tuple[int, float]] = []  # (absolute first index, t0) per segment, oldest first
        self.breaks: list[int] = []  # the absolute first index of the first segment and of each after a gap
        self.room = Room()  # where chunks are appended after the held samples (nodes/dsp/room.py)
        self.gap_held = False  # a gap came on a chunk of no samples: the next samples start a segment
        self.untimed_dropped = 0  # samples the last append dropped (_drop_untimed), for the decoder to count
        self.newest = -math.inf  # time of the newest sample with a time, pruned or not (untimed ones are placed after)

    @property
    def n_held(self) -> int:
        return self.data.shape[1]

    @property
    def n_total(self) -> int:
        return self.start + self.data.shape[1]

    def time(self, i: int) -> float:
        i0, t0 = next(seg for seg in reversed(self.segments) if seg[0] <= i)
        return t0 + (i - i0) / self.rate

    def time_after(self, i: int) -> float:
        """The time of sample i on the grid of sample i - 1 (the end of a window [lo, i))."""
        i0, t0 = next(seg for seg in reversed(self.segments) if seg[0] <= i - 1)
        return t0 + (i - i0) / self.rate

    @property
    def end_time(self) -> float:
        return self.time(self.n_total - 1)

    def append(self, x: np.ndarray, t0: float, gap: bool) -> bool:
        """Add a chunk; True when it went back in time and the held samples were dropped (as TimedBuffer.append; the
        class docstring)."""
        self.untimed_dropped = 0
        if x.shape[1] == 0:
            self.gap_held |= gap
            return False
        gap, self.gap_held = gap or self.gap_held, False
        if self.segments and math.isnan(self.segments[-1][1]) and (gap or self._untimed_before_timed(t0)):
            # (gap: the gap they came after is this chunk's now)
            self.untimed_dropped, gap = self._drop_untimed(), True
        back = bool(gap and float(t0) <= self.newest)  # (-inf before any timed sample; NaN: never)
        if back:  # sorted times are what every lookup relies on: forget the held samples, start again from this chunk
            self._drop_held()
        if not self.segments or gap:
            self.segments.append((self.n_total, float(t0)))
            self.breaks.append(self.n_total)
        elif math.isnan(self.segments[-1][1]) and math.isfinite(t0):  # its chunks so far had no time: from this one
            i0 = self.segments[-1][0]
            self.segments[-1] = (i0, float(t0) - (self.n_total - i0) / self.rate)
        elif off_grid(self.time(self.n_total), t0) and t0 > self.end_time:
            self.segments.append((self.n_total, float(t0)))
        # (a concatenate of all held, max_delay + pre + window s, at every chunk: 256 channels at 2048 Hz in 16-sample
        # chunks ran at 0.9x real time)
        self.data = self.room.append(self.data, x, max((self.data.shape[1] + x.shape[1]) // 2, 1024))
        if math.isfinite(self.segments[-1][1]):
            self.newest = self.end_time
        return back

    def _drop_held(self) -> None:
        """Forget every held sample and segment (a gap went back in time); absolute indices go on from n_total."""
        self.start, self.segments, self.breaks = self.n_total, [], []
        self.data = np.zeros((self.data.shape[0], 0))
        self.newest = -math.inf

    def _untimed_before_timed(self, t0: float) -> bool:
        """True when stamping the newest segment, whose chunks came without a time after a gap, back from this chunk's
        t0 would put its first sample at or before the newest sample with a time (times would no longer sort; that
        sample may have been pruned since: many untimed samples were stamped back over it). A stream that began
        untimed has none (-inf)."""
        if not math.isfinite(t0):
            return False
        return float(t0) - (self.n_total - self.segments[-1][0]) / self.rate <= self.newest

    def _drop_untimed(self) -> int:
        """Forget the newest segment, whose chunks all came without a time (as TimedBuffer._drop_untimed): the samples
        are as before its first chunk; how many were dropped (all of that segment's, pruned or not: TimedBuffer, which
        prunes by time, holds every untimed sample until then)."""
        i0 = self.segments.pop()[0]
        if self.breaks and self.breaks[-1] >= i0:
            self.breaks.pop()
        dropped = self.n_total - i0
        self.data = self.data[:, : max(i0 - self.start, 0)]
        return dropped

    def drop_untimed_at_end(self) -> int:
        """The stream ended: samples of chunks without a time (t0 NaN) still held can never get one, as at a gap:
        dropped (`_drop_untimed`); how many. Kept, a marker that came after them waited for them and was counted
        after_end, its window in the timed samples before them (TimedBuffer.drop_untimed_at_end)."""
        if not self.segments or not math.isnan(self.segments[-1][1]):
            return 0
        return self._drop_untimed()

    def nearest(self, t: float) -> int:
        """Absolute index of the sample nearest to t in the segment that holds t (ties: the even index, as MNE's)."""
        i0, t0 = self._segment_at(t)
        return nearest_index((t - t0) * self.rate, i0)

    def _segment_at(self, t: float) -> tuple[int, float]:
        """(first index, t0) of the newest segment that starts by t (within half a sample; before them all, the oldest
        with a time: a state saved before untimed samples were dropped at a gap may hold one without, which gave NaN)."""
        first = next((seg for seg in self.segments if math.isfinite(seg[1])), self.segments[0])
        return next((seg for seg in reversed(self.segments) if seg[1] <= t + 0.5 / self.rate), first)

    def after(self, t: float, n: int) -> int | None:
        """Absolute index of the sample n / rate s after the sample nearest to t: that sample's index + n while no gap
        comes between them; past a gap, the index of the sample of that time in the samples after it (by index, the
        gap's missing span was counted as if it had no length: a trial window cut that many samples late); None when
        that time lies in a gap's missing span (no sample has it)."""
        i0, t0 = self._segment_at(t)
        s = nearest_index((t - t0) * self.rate, i0)
        gap = next((b for b in self.breaks if b > i0), None)  # where the samples after t's segment's stretch start
        if gap is None or s + n < gap:
            return s + n
        want = t0 + (s + n - i0) / self.rate
        i = self.nearest(want)
        return i if abs(self.time(i) - want) <= 0.5 / self.rate + RETIME_S else None

    def segment_start(self, i: int) -> int:
        """The absolute first index of the gap-free stretch that holds sample i (the stream start or a gap; 0 before)."""
        return max((b for b in self.breaks if b <= i), default=0)

    def has_break(self, lo: int, hi: int) -> bool:
        return any(lo < i0 < hi for i0 in self.breaks)

    def take(self, lo: int, hi: int) -> np.ndarray:
        return self.data[:, lo - self.start : hi - self.start]

    def keep_last(self, n: int) -> None:
        drop = self.data.shape[1] - n
        if drop > 0:  # (out of a room a big chunk made: it was kept until half as many samples again came)
            self.data = self.room.shrink(self.data[:, drop:], max(n // 2, 1024))
            self.start += drop
            while len(self.segments) > 1 and self.segments[1][0] <= self.start:
                self.segments.pop(0)
            while len(self.breaks) > 1 and self.breaks[1] <= self.start:
                self.breaks.pop(0)

    def state(self) -> dict:
        return {
            "data": self.data.copy(),
            "start": self.start,
            "segments": np.asarray(self.segments, dtype=np.float64).reshape(-1, 2),
            "breaks": np.asarray(self.breaks, dtype=np.int64),
            "gap_held": self.gap_held,
            "newest": self.newest,
        }

    def load(self, s: dict) -> None:
        data = np.asarray(s["data"], dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != self.data.shape[0]:  # concatenate's "dimensions ... must match" later
            raise ValueError(
                f"ssvep_trial_decoder state 'buf.data' has shape {data.shape}, this node keeps "
                f"({self.data.shape[0]}, n): saved by a decoder of other channels; load a state saved by this one"
            )
        start = int(s["start"])
        segments = [(int(i), float(t)) for i, t in np.asarray(s["segments"]).reshape(-1, 2)]
        if start < 0 or (start + data.shape[1] > 0 and (not segments or segments[0][0] > start)):
            raise ValueError(  # every held sample belongs to a segment; was a StopIteration at the next marker
                f"ssvep_trial_decoder state 'buf.start' {start} and 'buf.segments' (first index "
                f"{segments[0][0] if segments else 'none'}) do not fit: the first segment starts at or before the "
                "first held sample, at index 0 or after; load the state as state_dict() saved it"
            )
        self.data = data.copy()
        self.start = start
        self.segments = segments
        breaks = s.get("breaks")  # (a state saved before drift anchors: every segment started at a break)
        self.breaks = [i for i, _ in self.segments] if breaks is None else [int(i) for i in np.asarray(breaks)]
        self.gap_held = bool(s.get("gap_held", False))  # (a state saved before it: no gap held)
        self.newest = float(s.get("newest", self._newest_held()))

    def _newest_held(self) -> float:
        """The time of the newest held sample with a time (-inf when none): `newest` of a state saved before it."""
        if not self.segments:
            return -math.inf
        i0, t0 = self.segments[-1]
        t = self.end_time if math.isfinite(t0) else self.time(i0 - 1) if i0 > self.start else -math.inf
        return t if math.isfinite(t) else -math.inf  # (a state saved before untimed samples were dropped: NaN)
