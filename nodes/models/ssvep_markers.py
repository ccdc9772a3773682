"""The ssvep_trial_decoder's marker intake (nodes/models/ssvep.py): the markers of a trial (`codes`), the BAD_ segments
and the newest marker time noted, and what a time reset of either stream leaves to the old run (nodes/dsp/marker_runs.py:
dropped, counted `time_reset_marker`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from wavegraph.pipeline.chunk import Chunk

from ..dsp.bad_segments import BadSegments
from ..dsp.marker_runs import MarkerRuns
from ..dsp.marker_select import Selection


class TrialMarkers:
    """Mixed into SSVEPTrialDecoder, whose fields these are."""

    params: Any
    count: Callable[..., None]
    _pending: list[tuple[float, float]]  # (marker time, code), sorted
    _segs: np.ndarray
    _marked: float
    _bad: BadSegments
    _runs: MarkerRuns
    _selection: Selection
    _skipped: set[int]

    def _markers_in(self, e: Chunk, signal_newest: float) -> None:
        """A chunk of marker rows (onset, duration, code)."""
        rows = np.asarray(e.data, dtype=np.float64).reshape(-1, 3)
        timed = np.isfinite(rows[:, 0])  # no time to cut at
        if not timed.all():
            self.count("bad_marker", int(np.count_nonzero(~timed)))
        rows, old, forget = self._runs.markers(rows[timed], e.gap, signal_newest)
        self._drop_old(self._selected(old))  # markers of the run before a time reset of the signal
        self._take_markers(rows, forget)

    def _signal_in(self, back: bool, before: float, newest: float) -> None:
        """A signal chunk came, going `back` in time or not (its newest sample was at `before`, is at `newest`)."""
        if (reset := self._runs.signal(back, before, newest)) is None:
            return
        drop_to, rows = reset  # what was learnt on the old clock is forgotten
        self._drop_old([p for p in self._pending if p[0] <= drop_to])
        self._pending, self._segs = [p for p in self._pending if p[0] > drop_to], self._segs[self._segs[:, 0] > drop_to]
        self._take_markers(rows, True)

    def _take_markers(self, rows: np.ndarray, forget: bool) -> None:
        """Marker rows of the signal's run (after forgetting the newest marker time of an old clock, `forget`)."""
        self._marked = -np.inf if forget else self._marked
        self._segs, self._marked = self._bad.note(rows, self._segs, self._marked)
        self._pending = sorted(self._pending + self._selected(rows))

    def _selected(self, rows: np.ndarray) -> list[tuple[float, float]]:
        """(onset, code) of the rows that start a trial; bad_marker (no code), ignored_marker (`codes`) counted."""
        codes, onsets = self.params.codes, []
        for onset, _, code in rows:
            if not np.isfinite(code):  # no code
                self.count("bad_marker")
                continue
            listed = codes is None or code in codes  # as numbers: a code 2.5 was cast to 2 and began a trial of 2
            self._selection.note(np.array([code]), np.array([listed]), self)
            if not listed or code in self._skipped:
                self.count("ignored_marker")
                continue
            onsets.append((float(onset), float(code)))
        return onsets

    def _drop_old(self, onsets: list) -> None:
        if onsets:
            self.count("time_reset_marker", len(onsets))
