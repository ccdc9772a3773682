"""Review of 5e59baa (nodes/dsp/marker_runs.py): a marker chunk flagged gap whose first marker shares the newest marker's
time is no reset of the marker stream.

Markers may share a time (a stimulus and a BAD_ segment starting with it; lsl_inlet counts only a marker stamped before
the one before it as out of order), and a marker chunk is flagged gap for reasons other than a restarted sender (a chunk
dropped on the edge before it, seq_missing; an upstream node restarted; a chunk that did not fit its spec). 5e59baa took
such a chunk for the marker stream going back in time: its markers (and every later one) were held for max_delay s of
signal, epochs then dropped the marker late_marker (its samples pruned meanwhile), the decoder decided it max_delay s
late, and the windows waiting for BAD_ segments stopped waiting, so a BAD_ segment at the stimulus' time, in that
chunk, rejected nothing. A marker stream that restarts goes back: its first marker is before the newest one."""

from __future__ import annotations

import pytest
from test_time_reset_markers_session28 import (  # pyright: ignore[reportMissingImports]
    BAD,
    NODES,
    PLAIN,
    STIM,
    WITH_BAD,
    _feed,
    _run,
    _windows,
    ev,
    sig,
)


@pytest.mark.parametrize("kind", NODES)
def test_a_marker_at_the_newest_time_on_a_gap_chunk_is_taken_at_once(kind):
    """Two markers at 1 s, the second on a chunk flagged gap (no reset: the signal and markers go on forward)."""
    steps = sig(1, 0, 2) + ev([1.0, 0, STIM]) + ev([1.0, 0, STIM], gap=True) + sig(1, 2, 3)
    node = NODES[kind](PLAIN)
    got = _windows(node, _feed(node, steps))  # by 3 s of signal both windows (to 1.5 s, the decoder's 2.2 s) are out
    assert got == [(1.0, 1), (1.0, 1)]  # was [] (held until max_delay s of signal) or [(1.0, 1)] (one late_marker)
    windows, counters = _run(kind, PLAIN, steps + sig(1, 3, 20) + ev([15.0, 0, STIM]) + sig(1, 20, 22))
    assert windows == [(1.0, 1), (1.0, 1), (15.0, 1)]
    assert "late_marker" not in counters and "time_reset_marker" not in counters


@pytest.mark.parametrize("kind", NODES)
@pytest.mark.parametrize("signal_first", [True, False])
def test_a_bad_segment_at_the_stimulus_time_on_a_gap_chunk_rejects_its_window(kind, signal_first):
    """BAD_ 1.0-1.3 s sent just after the stimulus at 1.0 s, on a chunk flagged gap: the window is dropped, as without
    the flag (it was kept: the stimulus' window stopped waiting for BAD_ segments and the segment was held)."""
    marks = ev([1.0, 0, STIM]) + ev([1.0, 0.3, BAD], gap=True)
    steps = sig(1, 0, 2.4) + marks + sig(1, 2.4, 25) if signal_first else sig(1, 0, 0.8) + marks + sig(1, 0.8, 25)
    windows, counters = _run(kind, WITH_BAD, steps)
    assert windows == []
    assert counters["bad_segment"] == 1 and "time_reset_marker" not in counters
