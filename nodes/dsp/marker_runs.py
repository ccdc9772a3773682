"""Which run of its clock a marker belongs to, in the nodes that cut a window at each marker (epochs,
ssvep_trial_decoder), when a stream goes back in time (a restarted source replays from its start: `time_reset`).

Each stream resets on its own: the signal at a gap whose t0 is not after its newest sample (TimedBuffer.append and
Samples.append return True), the marker stream at a chunk flagged gap (the runtime flags a restarted sender's first
chunk) whose first marker is before the newest one it sent (markers may share a time, and a chunk is flagged gap after
one dropped on the way too: one at the newest time is no reset), or, once the signal went back, at any marker before
that newest one (a marker stream comes in time order; a marker going back while the signal has not is a late one, taken
as any other, as before: lsl_inlet flags no gaps on markers, and markers sent early may come out of order). After a reset, what was
learnt on the old clock is forgotten, as a new mne.Epochs on the new recording would know nothing of the old one: the
newest marker time (with which a window stops waiting for BAD_ segments: kept, a window of the new run at times below
it went out at once, and a BAD_ segment over it that came a moment later was missed), the markers still waiting and
the BAD_ segments held. Either stream may reset first:

- the signal first (a replay across processes can run the signal a queue of chunks ahead of the markers): the markers
  waiting, the BAD_ segments held and every marker that arrives at or before `old_end`, the newest signal time before
  the reset, are the old run's: dropped (markers counted `time_reset_marker`), until the marker stream goes back too
  (its markers from there are the new run's) or the signal has run `max_delay` s past `old_end` (the marker stream did
  not reset: a live signal that stepped back on a clock the markers share; markers after `old_end` are taken at once);
- the markers first: the marker stream's old run has ended, so the windows still waiting on it stop waiting for BAD_
  segments; the new run's markers are held until the signal resets too, then taken (what was still waiting dropped,
  counted), or until the signal has run `max_delay` s on without a reset (the marker stream reset alone: they are taken
  as they are). Held at the end of the stream: counted, as their signal never came.

The fields live in the owner's state (see `fresh`): `markers_newest` (the marker stream's newest onset, on its own clock,
which a signal reset does not forget), `old_end` (NaN: the signal has not reset ahead of the markers), `held` (marker
rows of a run the signal has not started) and `held_until`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NO_ROWS = np.zeros((0, 3))


def fresh() -> dict[str, Any]:
    """The fields of a stream where neither clock has reset, for the owner's state."""
    return {"markers_newest": -math.inf, "old_end": math.nan, "held": NO_ROWS.copy(), "held_until": math.nan}


@dataclass
class RunsState:
    """The fields, for an owner without a state dataclass (ssvep_trial_decoder)."""

    markers_newest: float = -math.inf
    old_end: float = math.nan
    held: np.ndarray = field(default_factory=NO_ROWS.copy)
    held_until: float = math.nan

    def save(self) -> dict[str, Any]:
        return {k: np.copy(v) if isinstance(v, np.ndarray) else float(v) for k, v in vars(self).items()}

    @classmethod
    def load(cls, saved: dict) -> RunsState:
        """From `save()` (a state saved before these fields: MarkerRuns.older_state)."""
        held = np.asarray(saved["held"], np.float64).reshape(-1, 3)
        return cls(float(saved["markers_newest"]), float(saved["old_end"]), held, float(saved["held_until"]))


class MarkerRuns:
    """The rule; its state is `state()`'s fields (module docstring)."""

    def __init__(self, state: Callable[[], Any], max_delay: float):
        self._state, self.max_delay = state, float(max_delay)

    @property
    def holding(self) -> bool:
        """The marker stream reset first: its old run has ended (no BAD_ segment of it can still come)."""
        return bool(len(self._state().held))

    def markers(self, rows: np.ndarray, gap: bool, signal_newest: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """Marker rows (n, 3) of one chunk, finite onsets, in arrival order: (take, old, forget). `take`: the rows of
        the signal's run, to handle now, after forgetting the newest marker time when `forget`; `old`: rows of a
        run before the signal's, to drop and count."""
        s = self._state()
        if not len(rows):
            return rows, rows, False
        on = rows[:, 0]
        before = np.maximum.accumulate(np.concatenate([[s.markers_newest], on]))[:-1]  # the newest before each row
        if math.isfinite(s.old_end):  # the signal went back first: so does the marker stream, at a marker going back
            back = on < before
            back[0] = on[0] <= before[0]  # (a replay sends its first marker's time again)
        else:  # a late marker (markers may come out of order), unless on a chunk flagged gap (a restarted sender)
            back = np.zeros(len(on), dtype=bool)
            back[0] = bool(gap) and on[0] < before[0]  # (not at it: markers share times; tests/test_review2_session28)
        k = int(np.argmax(back)) if back.any() else len(rows)  # the first row of a new run of the marker stream
        s.markers_newest = float(on[k:].max() if k < len(rows) else max(s.markers_newest, on.max()))
        if len(s.held):  # the markers reset before: these wait with the others for the signal's reset
            s.held = np.concatenate([s.held, rows])
            return rows[:0], rows[:0], False
        if k < len(rows) and math.isfinite(s.old_end):
            s.old_end = math.nan  # the marker stream caught up with the signal's reset: the new run from row k
            return rows[k:], rows[:k], True
        if math.isfinite(s.old_end):  # the signal reset first: markers up to its old end are the old run's
            old = on <= s.old_end
            return rows[~old], rows[old], False
        if k < len(rows):  # the markers reset first: the new run's wait for the signal's reset (or its first samples)
            s.held, s.held_until = rows[k:].copy(), self._until(signal_newest)
        return rows[:k], rows[:0], False

    def signal(self, back: bool, before: float, newest: float) -> tuple[float, np.ndarray] | None:
        """A signal chunk came, going `back` in time or not; its stream's newest sample was at `before`, is at `newest`.
        None: nothing to do. Else (drop_to, take): the owner drops the markers waiting and the BAD_ segments held with
        an onset at or before `drop_to`, forgets the newest marker time, then handles the rows `take` as arriving (the
        new run's, held until the signal reset, or until it ran max_delay s on without one)."""
        s = self._state()
        if back:
            if len(s.held):  # the markers reset first: what still waited is the old run's
                return math.inf, self.drop_held()
            if math.isfinite(s.markers_newest):  # (no marker yet: nothing of the old clock to forget, none to wait for)
                s.old_end = float(max(before, s.old_end)) if math.isfinite(s.old_end) else float(before)
            return s.old_end if math.isfinite(s.old_end) else -math.inf, NO_ROWS
        if math.isfinite(s.old_end) and newest >= s.old_end + self.max_delay:
            s.old_end = math.nan  # the marker stream did not go back: its markers are this signal's
        if len(s.held) and math.isnan(s.held_until):  # held before any signal: from its first time on
            s.held_until = self._until(newest)
        if len(s.held) and newest >= s.held_until:  # the signal did not reset: the marker stream alone did
            return -math.inf, self.drop_held()
        return None

    def _until(self, newest: float) -> float:
        return float(newest) + self.max_delay if math.isfinite(newest) else math.nan

    def drop_held(self) -> np.ndarray:
        """The rows held for a signal reset, no longer held (at the end of the stream: the owner counts them)."""
        s = self._state()
        take, s.held, s.held_until = s.held, NO_ROWS.copy(), math.nan
        return take

    @staticmethod
    def older_state(saved: dict) -> dict[str, Any]:
        """The fields a state saved before them lacks: no reset under way, the marker stream's newest is `marked`."""
        return fresh() | {"markers_newest": float(saved.get("marked", -math.inf))}
