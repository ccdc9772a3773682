"""Saying a trial dropped at a gap in the signal: epochs' ``gap_in_epoch``, ssvep_trial_decoder's ``gap_in_trial``.

They were counted only: a user saw an epoch or a decision missing and no reason. Each is said at WARNING once (when the
trial is dropped, not at every chunk it waited), with its marker's label and code, its time and the gap: unlike the
other drops (said once per node), a gap is a live link's outage, and which trials it cost is what a session needs to
know."""

from __future__ import annotations

import logging
import math

_log = logging.getLogger("wavegraph.gaps")


def gap_times(breaks, time, start: int, lo: int, hi: int, at: float | None = None) -> tuple[float, float] | None:
    """(the last sample's time before, the first's after) of the gap at the first break in (lo, hi); with `at`, of the
    break whose missing span holds the time `at` (a window starting there). None when none is held."""
    for b in breaks:
        if not start < b or (at is None and not lo < b < hi):
            continue
        before, after = time(b - 1), time(b)
        if at is None or before < at < after:
            return before, after
    return None


def node_name(node, what: str) -> str:
    """The node as a message names it: its type (epochs or ssvep_trial_decoder, by the `what` it cuts) and its id."""
    name = node.type_name or ("epochs" if what == "epoch" else "ssvep_trial_decoder")
    return f"{name} {node.node_id!r}" if node.node_id else name


def marker_text(code: float, labels) -> str:
    """A marker in words: its label and code ("'left' (code 1)"), its code alone, or '?' (none kept)."""
    label = labels.get(int(code)) if math.isfinite(code) and code == int(code) else None
    return f"{label!r} (code {code:g})" if label is not None else f"code {code:g}" if math.isfinite(code) else "?"


def say_gap_drop(node, counter: str, what: str, onset: float, code: float, labels, gap) -> None:
    """Count `counter` and say (WARNING) the trial of the marker (onset, code) dropped at the gap (before, after)."""
    node.count(counter)
    marker = marker_text(code, labels)
    said = f" (no samples between {gap[0]:.3f} s and {gap[1]:.3f} s)" if gap else ""
    _log.warning(
        "%s: the %s of marker %s at %.3f s spans a gap in the signal%s: no %s, counted %s. The signal's source lost "
        "samples there (a dropped link, an amplifier's restart, a recording's gap)",
        node_name(node, what), what, marker, onset, said,
        "decision" if what == "trial" else what, counter,
    )  # fmt: skip
