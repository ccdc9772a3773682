"""Saying the markers whose window the stream never completed: the signal ended (or, for a marker after its last
sample, ended before it) and finish dropped them. epochs counts them ``outside_data`` (as mne.Epochs drops them,
drop_log TOO_SHORT / NO_DATA), ssvep_trial_decoder ``after_end``.

They were counted only: a session cut short lost its last trials and nothing said which. Said once at finish (WARNING),
as a trial lost at a gap is said (gap_drops.py): the markers (label, code and time; the first few), where the signal
ended and why; mne.Epochs says "N bad epochs dropped" and names the reason in its drop_log."""

from __future__ import annotations

import logging
import math

from .gap_drops import marker_text, node_name

_log = logging.getLogger("wavegraph.markers")
SHOWN = 5  # markers named; the rest counted


def say_after_end(node, counter: str, what: str, markers, labels, end: float, window: str) -> None:
    """Say (WARNING) the markers [(onset, code), ...] whose `what` (epoch, trial) `window` (its span in words) the
    signal, whose last sample was at `end` (NaN: none came), never completed. Counting is the caller's."""
    if not len(markers):
        return
    named = ", ".join(f"{marker_text(code, labels)} at {onset:.3f} s" for onset, code in markers[:SHOWN])
    more = f" and {len(markers) - SHOWN} more" if len(markers) > SHOWN else ""
    ended = (
        f"the signal ended at {end:.3f} s, before the end of"
        if math.isfinite(end)
        else "no timed signal sample came for"
    )
    _log.warning(
        "%s: %s the %s window (%s) of %d marker%s: %s%s; no %s, counted %s. The recording or "
        "session ended first (mne.Epochs drops such epochs too: TOO_SHORT)",
        node_name(node, what), ended, what, window, len(markers),
        "" if len(markers) == 1 else "s", named, more, "decision" if what == "trial" else what, counter,
    )  # fmt: skip
