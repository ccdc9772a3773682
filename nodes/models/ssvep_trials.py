"""The ssvep_trial_decoder's decisions (nodes/models/ssvep.py): each marker waiting is decided once its window and
pre-roll are held, or dropped and counted (the reasons on the node's class); a trial whose window spans a gap is said
(nodes/dsp/gap_drops.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.signal import sosfilt

from ..dsp.bad_segments import BadSegments
from ..dsp.gap_drops import gap_times, say_gap_drop
from ..dsp.marker_repeats import SameSample
from ..dsp.marker_runs import MarkerRuns
from ..nanpolicy import all_finite
from .ssvep_flat import is_flat, quiet, say_flat, say_late, say_outside
from .ssvep_ready import Ready
from .ssvep_samples import Samples


class TrialDecisions:
    """Mixed into SSVEPTrialDecoder, whose fields these are."""

    params: Any
    count: Callable[..., None]
    _pending: list[tuple[float, float]]  # (marker time, code), sorted
    _buf: Samples
    _rate: float
    _n_delay: int
    _n_pre: int
    _size: int
    _crops: int
    _chunk: int
    _markers_ended: bool
    _runs: MarkerRuns
    _bad: BadSegments
    _segs: np.ndarray
    _marked: float
    _sos: list[np.ndarray]
    _floor: float
    _predict: Callable[..., np.ndarray]
    _score: Callable[[np.ndarray], np.ndarray]
    _ready: Ready
    _marker_labels: dict[int, str]
    _repeats: SameSample

    def _decide(self, final: bool = False):
        b = self._buf
        rows, scores, left = [], [], []
        for t, code in self._pending:
            if not b.n_held or not t <= b.end_time + 0.5 / self._rate:  # (NaN: the samples have no time yet)
                left.append((t, code))  # samples not here yet
                continue
            w = b.after(t, self._n_delay)  # the window's first sample; past a gap after the marker, the one at its time
            if w is None:  # the window starts in a gap's missing span: not decided on the samples after it
                gap = gap_times(b.breaks, b.time, b.start, 0, 0, at=t + self._n_delay / self._rate)
                say_gap_drop(self, "gap_in_trial", "trial", t, code, self._marker_labels, gap)
                continue
            k = self._crops
            lo, hi = w - self._n_delay - self._n_pre, w + self._size + k
            if hi > b.n_total:
                left.append((t, code))
                continue
            ws = w - k  # the first sample of the earliest (cropped) window
            need = max(lo, b.segment_start(ws))  # a pre-roll past a gap before the window: from the gap on
            if ws < 0:  # the window starts before the stream's first sample: nothing was dropped (as `epochs`)
                say_outside(self, t, b.time(0))
                continue
            if need < b.start and b.start > 0:
                say_late(self, t, b.time(b.start), self.params.max_delay)
                continue
            first = max(need, 0)  # a marker less than `pre` after the stream start or a gap: filtered from there
            if not b.has_break(first, hi):
                t_hi, maxd, seen = b.time_after(hi), self.params.max_delay, b.time(max(self._chunk, b.start))
                ended = self._markers_ended or self._runs.holding  # (the marker stream went back: its old run ended)
                if not (final or self._bad.known(t_hi, self._marked, ended, seen, maxd)):
                    left.append((t, code))  # a BAD_ segment starting inside the trial may still come
                    continue
            self._repeats.note(self, b.nearest(t), t, code, self._marker_labels, "trial")  # (marker_repeats.py)
            if lo < first:
                self.count("short_preroll")
                lo = first
            if b.has_break(lo, hi):
                gap = gap_times(b.breaks, b.time, b.start, lo, hi)
                say_gap_drop(self, "gap_in_trial", "trial", t, code, self._marker_labels, gap)
                continue
            if (hit := self._bad.hit(self._segs, b.time(lo), b.time_after(hi))) is not None:
                self.count("bad_segment")
                self._bad.say(self._segs, hit, t, "trial")
                continue
            x = b.take(lo, hi)
            held = ~np.isfinite(x)  # a NaN kept by nan_policy propagate: filtered as 0, its window undecided
            span = self._size + 2 * k
            y = np.stack([sosfilt(sos, np.where(held, 0.0, x), axis=-1) for sos in self._sos])[..., -span:]
            if held[:, -span:].any() or not all_finite(y):  # (an overflow: scores of inf say nothing)
                self.count("undecided_nonfinite")
                continue
            if is_flat(x[:, -span:]) or quiet(
                y[0], self._floor
            ):  # no signal: the scores would be 0s (the first frequency) or the DNN's guess
                say_flat(self, 1, t, "trial window")
                continue
            one = (self._predict(y[None], crops=k) if k else self._score(y[None]))[0]
            if not np.isfinite(one).all():  # (a DNN whose weights went NaN): no argmax of NaN, a code from nothing
                self.count("undecided_nonfinite")
                continue
            scores.append(one)
            rows.append(t)
        self._pending = left
        if rows:
            sc = np.asarray(scores)
            ev = np.column_stack([rows, np.full(len(rows), self._size / self._rate), 1 + np.argmax(sc, axis=1)])
            self._ready.add(ev, sc)
        return self._ready.take()  # one marker time per chunk: the rows of a chunk share its t0
