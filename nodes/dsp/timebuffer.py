"""A buffer of signal samples with their stream-clock timestamps, shared by the nodes that align
streams by time (epochs, join) rather than by arrival order.

Samples are stamped ``t_first + k / rate`` (plus a fixed clock offset), k counting from the first sample
of the segment whose first chunk had t0 = t_first, as the framing nodes stamp their outputs: times do
not depend on how the stream was chunked. A chunk whose t0 is more than RETIME_S off that grid (and
after the newest sample) moves the grid to its own t0: a live stream's chunk times follow its clock
(lsl_inlet stamps chunks from the LSL timestamps, so an amplifier's clock drift shows there), and
the samples of a long session keep their place against the markers. The grids before the newest are kept while samples
of them are held (`anchors`), so a time is placed on the grid that stamped it (a tie as MNE rounds it from that grid's
start) whatever came after. A chunk flagged ``gap`` starts a new segment at its own t0;
the buffer remembers where, so that a consumer can refuse a window that spans missing data. A gap whose
t0 is not after the newest held sample (the stream went back in time: a restarted source replays from
its start) drops what the buffer holds, whose times would no longer sort, and starts again from it. A gap flagged on
a chunk of no samples is held for the next chunk with samples (``gap_held``), as the runtime holds it for the
node's next chunk (executor.gap_held): by hand, a chunk, an empty chunk flagged gap, then a chunk start a new
segment at the third, as the gap on the third itself does (it was dropped: the third went on the old segment).
Samples of chunks without a time (t0 NaN) are held untimed (NaN) until a chunk of their segment has one, which stamps
them back from it; a gap before that drops them (`untimed_dropped`: the owner counts them; so does the stream's end, drop_untimed_at_end): the gap's missing samples
are not counted, so no later time can place them. So does a chunk whose t0 would stamp them, untimed after a gap, at or
before the samples before that gap (times must keep increasing): that chunk then starts the segment after the gap. The
ssvep_trial_decoder's Samples (nodes/models/ssvep_samples.py) does the same.

The buffer keeps nothing itself: its fields live in the owning node's declared state (pipeline/state.py),
named ``<prefix>data``, ``<prefix>times``, ... (see `fresh`), so state_dict/load_state_dict cover them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..nanpolicy import RETIME_S, off_grid, refuse_complex  # a chunk t0 off the grid moves it (more than rounding)
from .room import Room


def nearest_index(pos: float, base: int = 0) -> int:
    """base + the whole number nearest to `pos` (a time in samples from sample `base`, computed as MNE does: (t - the
    time of sample `base`) * rate); a tie goes to the even one, as np.round in MNE's time_as_index
    (mne.events_from_annotations) and Python's round: a marker at 1.302 s of a 250 Hz recording (sample 325.5, as
    markers stamped to the ms are at a quarter of such rates' samples) is sample 326 there, and was 325 here (the
    earlier sample), an epoch one sample off MNE's."""
    return base + round(pos)


class TimedBuffer:
    """Samples (leading axes..., n) with times (n,), oldest first, in `state()`'s fields."""

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype,
        rate: float,
        state: Callable[[], Any],
        offset: float = 0.0,
        prefix: str = "",
    ):
        self.shape, self.dtype, self.rate, self.offset = tuple(shape), np.dtype(dtype), float(rate), float(offset)
        self._state, self.prefix = state, prefix
        self._room: dict[str, Room] = {}  # per field, where chunks are appended (see _grow)
        self.untimed_dropped = 0  # samples the last append dropped (_drop_untimed), for the owner to count

    def fresh(self) -> dict[str, Any]:
        """The fields of an empty buffer, for the owner's state dataclass."""
        p = self.prefix
        return {
            p + "data": np.zeros((*self.shape, 0), dtype=self.dtype),  # (leading axes..., n)
            p + "times": np.zeros(0, dtype=np.float64),  # (n,) stamp of each held sample
            p + "breaks": np.zeros(0, dtype=np.int64),  # absolute indices where a gap starts a segment
            p + "start": 0,  # absolute index of data[..., 0] (samples pruned so far)
            p + "seen": False,  # any sample arrived yet
            p + "anchor_t0": 0.0,
            p + "anchor_n": 0,  # t0 and absolute index of the segment's first sample
            p + "anchors": np.zeros((0, 2)),  # (index, t0) of the grids before it whose samples are held, oldest first
            p + "newest": -np.inf,  # time of the newest sample appended (pruned or not)
            p + "gap_held": False,  # a gap came on a chunk of no samples: the next chunk with samples starts a segment
        }

    def older_state_defaults(self) -> dict[str, Any]:
        """The fields a state saved before them lacks, as a fresh buffer has them (the owner's load_state_dict puts
        them under what was saved)."""
        return {self.prefix + "gap_held": False, self.prefix + "anchors": np.zeros((0, 2))}

    def _get(self, name):
        return getattr(self._state(), self.prefix + name)

    def _set(self, **values):
        for k, v in values.items():
            setattr(self._state(), self.prefix + k, v)

    data = property(lambda self: self._get("data"))
    times = property(lambda self: self._get("times"))
    breaks = property(lambda self: self._get("breaks"))
    start = property(lambda self: self._get("start"))

    @property
    def end_time(self) -> float:
        """Time of the newest sample (-inf before any)."""
        t = self.times
        return float(t[-1]) if t.size else -np.inf

    @property
    def newest(self) -> float:
        """Time of the newest sample ever appended, even if pruned since (-inf before any)."""
        return self._get("newest")

    @property
    def n_total(self) -> int:
        return self.start + self.times.size

    def append(self, data: np.ndarray, t0: float, gap: bool) -> bool:
        """Add a chunk; True when it went back in time and the held samples were dropped (see the module
        docstring)."""
        n, self.untimed_dropped = data.shape[-1], 0
        if n == 0:
            if gap:
                self._set(gap_held=True)
            return False
        if data.shape[:-1] != self.shape:  # (before anything changes: a refused chunk leaves the buffer as it was)
            raise ValueError(f"chunk shape {data.shape} does not match the stream's {self.shape} + (samples,)")
        refuse_complex(data, self._get("data").dtype)  # (a complex chunk kept its real part only, unsaid)
        if self._get("gap_held"):
            gap = True
            self._set(gap_held=False)
        if gap or self._untimed_before_timed(t0):  # (the second: the gap they came after is this chunk's now)
            self.untimed_dropped, gap = self._drop_untimed(), True
        seen, total = self._get("seen"), self.n_total
        back = bool(gap and seen and float(t0) + self.offset <= self._get("newest"))
        if back:  # sorted times are what every lookup relies on: forget the old segments
            self.prune(np.inf)
        if gap and seen:
            self._set(breaks=np.append(self.breaks, total))
        if gap or not seen:
            self._new_anchor(float(t0), total)
        elif not math.isfinite(self._get("anchor_t0")) and math.isfinite(t0):
            self._anchor_untimed(float(t0), total)  # the segment's chunks so far had no time: this one gives it
        elif off_grid(self._get("anchor_t0") + (total - self._get("anchor_n")) / self.rate, t0):
            if float(t0) + self.offset > self._get("newest"):  # (times must keep increasing)
                self._new_anchor(float(t0), total)
        t = self._get("anchor_t0") + self.offset + (total - self._get("anchor_n") + np.arange(n)) / self.rate
        newest = float(t[-1]) if math.isfinite(t[-1]) else self._get("newest")  # (no time yet: the timed ones')
        self._set(seen=True, data=self._grow("data", data), times=self._grow("times", t), newest=newest)
        return back

    def _grow(self, name: str, new: np.ndarray) -> np.ndarray:
        """The held field `name` with `new` after it (along the last axis), written into the room kept after it
        (nodes/dsp/room.py: a chunk costs its own length, not what is held; half as much again to spare)."""
        held = self._get(name)
        size = held.shape[-1] + new.shape[-1]
        return self._room.setdefault(name, Room()).append(held, new, max(size // 2, 1024))

    def _new_anchor(self, t0: float, total: int) -> None:
        """Stamp from sample `total` on from `t0`; the grid before is kept in `anchors` while samples of it are held, so
        `nearest` finds a time there on it as it did while it was the newest."""
        n0, old = self._get("anchor_n"), self._get("anchor_t0")
        if self.times.size and math.isfinite(old) and n0 < total:
            self._set(anchors=np.concatenate([self._get("anchors"), [[float(n0), old]]]))
        self._set(anchor_t0=t0, anchor_n=total)

    def _anchor_untimed(self, t0: float, total: int) -> None:
        """Put a segment whose chunks so far came without a time (t0 NaN) on the grid of the first chunk
        with one (absolute index `total`), its held samples restamped: a first chunk without a time does not
        leave every later time NaN (as nanpolicy.first_time for the framing nodes)."""
        n0 = self._get("anchor_n")
        anchor = t0 - (total - n0) / self.rate
        idx = self.start + np.arange(self.times.size)
        seg = idx >= n0
        times = self.times.copy()
        times[seg] = anchor + self.offset + (idx[seg] - n0) / self.rate
        self._set(anchor_t0=anchor, times=times)

    def _untimed_before_timed(self, t0: float) -> bool:
        """True when the newest segment's chunks all came without a time (t0 NaN) after a gap, and stamping them back
        from this chunk's t0 (`_anchor_untimed`) would put them at or before the samples before that gap: fewer samples
        came between than their count, so they cannot be placed, and times would no longer sort."""
        if math.isfinite(self._get("anchor_t0")) or not math.isfinite(t0):
            return False
        first = float(t0) - (self.n_total - self._get("anchor_n")) / self.rate  # their first sample's time so stamped
        return first + self.offset <= self._get("newest")

    def _drop_untimed(self) -> int:
        """Forget the newest segment when its chunks all came without a time (t0 NaN) and a gap comes: no chunk can
        give it one any more (the gap's missing samples are not counted), and its NaN times, before the timed samples
        after the gap, broke every time search (a join output nothing, epochs counted markers in the timed samples
        `outside_data`). The buffer is as it was before that segment's first chunk (a stream that began so starts at
        the gap, without a break there); how many samples were dropped."""
        if math.isfinite(self._get("anchor_t0")) or not self._get("seen"):
            return 0
        keep = max(self._get("anchor_n") - self.start, 0)
        dropped = self.times.size - keep
        end = self.start + keep
        self._set(
            data=self.data[..., :keep], times=self.times[:keep], breaks=self.breaks[self.breaks < end], seen=end > 0
        )
        return dropped

    def drop_untimed_at_end(self) -> int:
        """The stream ended: samples of chunks without a time (t0 NaN) still held can never get one, as at a gap: dropped
        (`_drop_untimed`); how many. They stayed and were used as if timed (a join held another input's value over them
        unflagged, epochs cut a marker after the timed samples from them)."""
        return self._drop_untimed()

    def prune(self, before: float) -> None:
        """Forget samples stamped earlier than `before`."""
        k = int(np.searchsorted(self.times, before, side="left"))
        if k:
            start = self.start + k
            data, times = self._shrink("data", self.data[..., k:]), self._shrink("times", self.times[k:])
            anchors = self._get("anchors")  # the grids of held samples: from the last one starting at or before them
            first = int(np.searchsorted(anchors[:, 0], start, side="right")) - 1
            anchors = anchors[max(first, 0) :] if start < self._get("anchor_n") else anchors[:0]
            self._set(data=data, times=times, start=start, breaks=self.breaks[self.breaks >= start], anchors=anchors)

    def _shrink(self, name: str, held: np.ndarray) -> np.ndarray:
        """`held`, out of a room a big chunk made (nodes/dsp/room.py: epochs given a whole recording in one call kept
        it, 1.5 times, behind the seconds it holds, until half as many samples again came)."""
        room = self._room.get(name)
        return held if room is None else room.shrink(held, max(held.shape[-1] // 2, 1024))

    def nearest(self, t: float) -> int:
        """Absolute index of the sample nearest to time t (a tie goes to the even index: `nearest_index`)."""
        times = self.times
        k = int(np.searchsorted(times, t - 0.5 / self.rate, side="left"))
        # t between two adjacent samples, or at most half a sample after the first held one (a tie with the sample before
        # it, pruned: the first held one was taken, where the grid's tie went to the next, an epoch one sample early)
        if k < times.size and (k == 0 or times[k] - times[k - 1] < 1.5 / self.rate):
            n0, t0 = self._anchor_of(self.start + max(k - 1, 0))
            if math.isfinite(t0):  # from the start of its segment's grid, as MNE (also once a later one came: from
                return max(nearest_index((t - self.offset - t0) * self.rate, n0), self.start)  # the sample before, a
            if k:  # tie went the other way: 1.145 s at 100 Hz)
                return nearest_index((t - times[k - 1]) * self.rate, self.start + k - 1)
        return self.start + min(k, max(times.size - 1, 0))

    def _anchor_of(self, i: int) -> tuple[int, float]:
        """(index, t0) of the grid that stamped held sample i (t0 NaN: none known, a state saved before `anchors`)."""
        if i >= self._get("anchor_n"):
            return self._get("anchor_n"), self._get("anchor_t0")
        anchors = self._get("anchors")
        j = int(np.searchsorted(anchors[:, 0], i, side="right")) - 1
        return (int(anchors[j, 0]), float(anchors[j, 1])) if j >= 0 else (i, math.nan)

    def after(self, s: int, n: int) -> int | None:
        """Absolute index of the sample n / rate s after held sample s (n < 0: before it): s + n while no gap comes
        between them (samples counted, as mne.Epochs counts them); across a gap, the index of the held sample of that
        time (by index, the gap's missing span was counted as if it had no length: a window cut that many samples off
        its time), or where that sample will be (or was) on the grid of the newest (oldest) held sample when the time
        is after (before) them; None when the time lies in a gap's missing span (no sample has it). As the
        ssvep_trial_decoder's Samples.after (nodes/models/ssvep_samples.py) does from a marker time."""
        lo, hi = min(s, s + n), max(s, s + n)
        b = self.breaks
        if not np.any((b > lo) & (b <= hi)):
            return s + n
        times, half = self.times, 0.5 / self.rate
        want = float(times[s - self.start]) + n / self.rate
        if want > times[-1] + half:  # not here yet: where it comes if the newest segment runs on
            return self.n_total - 1 + nearest_index((want - times[-1]) * self.rate)
        if want < times[0] - half:  # before the held samples: pruned, or before the stream start
            return self.start + nearest_index((want - times[0]) * self.rate)
        i = self.nearest(want)
        if i >= self.n_total:  # half a sample past the newest: the tie rounds to the next sample, not here yet
            return i
        return i if abs(times[i - self.start] - want) <= half + RETIME_S else None

    def has_break(self, lo: int, hi: int) -> bool:
        """True when a segment starts strictly inside absolute samples (lo, hi)."""
        b = self.breaks
        return bool(np.any((b > lo) & (b < hi)))

    def take(self, lo: int, hi: int) -> np.ndarray:
        """Absolute samples [lo, hi) (must be held)."""
        return self.data[..., lo - self.start : hi - self.start]
