"""reject_by_annotation for the nodes that cut a window at each marker (epochs, ssvep_trial_decoder), as
mne.Epochs(..., reject_by_annotation=True) (MNE's default) does it: a window of samples [lo, hi) is dropped when
a marker segment labelled "bad..." (any case: BAD_muscle, bad_blink; marker_codes.bad_codes) overlaps it, i.e.
onset < time of sample hi and onset + duration > time of sample lo (mne.io.BaseRaw._check_bad_segment).

The segments come on the marker stream as rows (onset, duration, code): file_source gives a BAD_ annotation's
duration with it, lsl_inlet its `marker_duration` (or the MNE-LSL player's). A segment may start after the marker
whose window it spoils, so a window is decided only once no marker that could overlap it can still come: a marker
at or after its end has arrived (a marker stream is sent in time order: file_source, lsl_inlet), the marker stream
has ended, or the signal has run `max_delay` s past the window (a marker later than that is late in any case).
Without a bad label in the stream's labels nothing waits. The held segments and the newest marker time live in
the owning node's state.
"""

from __future__ import annotations

import logging

import numpy as np

from ..io.marker_codes import bad_codes

_log = logging.getLogger("wavegraph.epochs")


class BadSegments:
    """The rule for one node: which codes are bad segments, when a window is known, which segment hits it."""

    def __init__(self, labels, on: bool, node: str):
        self.labels = dict(labels)
        self.codes = np.asarray(sorted(bad_codes(labels)), np.int64) if on else np.zeros(0, np.int64)
        self.node = node
        self.said = False

    @property
    def active(self) -> bool:
        return bool(self.codes.size)

    def note(self, rows: np.ndarray, held: np.ndarray, newest: float) -> tuple[np.ndarray, float]:
        """Marker rows (n, 3) with finite onsets arrived: the bad segments held (onset, end, code) with theirs
        added, and the newest marker time."""
        if not len(rows):
            return held, newest
        newest = max(newest, float(rows[:, 0].max()))
        if self.active:
            bad = rows[np.isin(rows[:, 2], self.codes)]  # (a code 3.5 is no code 3: it was cast to it)
            if len(bad):
                dur = np.nan_to_num(bad[:, 1], nan=0.0, posinf=np.inf, neginf=0.0)
                held = np.concatenate([held, np.column_stack([bad[:, 0], bad[:, 0] + dur, bad[:, 2]])])
        return held, newest

    def known(self, t_end: float, newest: float, ended: bool, signal_end: float, max_delay: float) -> bool:
        """No bad segment starting before `t_end` can still arrive."""
        return not self.active or ended or newest >= t_end or signal_end >= t_end + max_delay

    def hit(self, held: np.ndarray, t_lo: float, t_hi: float) -> int | None:
        """The first held segment overlapping [t_lo, t_hi) (MNE's test), else None."""
        if not len(held):
            return None
        over = np.flatnonzero((held[:, 0] < t_hi) & (held[:, 1] > t_lo))
        return int(over[0]) if over.size else None

    def say(self, held: np.ndarray, k: int, t: float, what: str) -> None:
        """Said once per node: the first window dropped, and where the others are counted."""
        if self.said:
            return
        self.said = True
        onset, end, code = held[k]
        _log.warning(
            "%s: the %s at %.6g s overlaps the segment %r (%.6g-%.6g s): dropped, as mne.Epochs("
            "reject_by_annotation=True) drops it; every such %s is counted 'bad_segment' in the run's summary "
            "(reject_by_annotation: false keeps them)",
            self.node, what, t, self.labels.get(int(code), str(int(code))), onset, end, what,
        )  # fmt: skip

    @staticmethod
    def prune(held: np.ndarray, before: float) -> np.ndarray:
        """Forget the segments that end at or before `before` (no window still to come starts earlier)."""
        return held[held[:, 1] > before] if len(held) else held
