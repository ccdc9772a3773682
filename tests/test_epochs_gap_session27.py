"""epochs: a window [marker + tmin, marker + tmax] that a gap separates from its marker.

The node found the window's first sample by counting round(tmin * rate) samples from the marker's sample, across a
gap as if the samples were continuous: at 100 Hz, a marker at 1.9 s and a gap 2.0-2.5 s, `tmin=0.2, tmax=0.5` cut
the samples of 2.6-2.9 s (the window 2.1-2.4 s lies in the missing span: it should be dropped as gap_in_epoch) and
`tmin=0.7, tmax=0.9` cut 3.1-3.3 s instead of 2.6-2.8 s; with tmin and tmax both negative and the gap between the
window and a marker after it, the window came out earlier by the gap's length. Now the window's first sample is
found by time past a gap (as ssvep_trial_decoder's Samples.after, bb2f034): a window that overlaps a gap's missing
span, or starts in it, is dropped and counted gap_in_epoch; one wholly after (or before) the gap is cut at its own
times. The signal's value is its sample time, so an epoch's first and last values are the times it was cut at.
"""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

RATE = 100.0
SPECS = {"in": signal_spec(RATE, ["C3", "C4"]), "events": StreamSpec("events", 0.0, (3,))}


def _run(markers, tmin, tmax, chunk=None, gap=(2.0, 2.5), markers_first=True, end=5.0):
    """Epoch `markers` on a signal from 0 to `end` s (channel C3: the sample's time, C4: minus it) that lost the
    samples of `gap` (the chunk after it flagged gap), fed in chunks of `chunk` samples (None: one per segment), the
    markers before or after the signal. ([(marker, first sample's time, last sample's time)], counters)."""
    node = Epochs(tmin=tmin, tmax=tmax, max_delay=10.0)
    node.configure(SPECS)
    events = {"events": Chunk(np.array([[m, 0.0, 1.0] for m in markers]), markers[0])}
    signal = []
    for t_start, t_stop in ((0.0, gap[0]), (gap[1], end)):
        n = int(round((t_stop - t_start) * RATE))
        t = t_start + np.arange(n) / RATE
        x = np.stack([t, -t])
        step = chunk or n
        for i in range(0, n, step):
            signal.append({"in": Chunk(x[:, i : i + step], t_start + i / RATE, gap=t_start > 0 and i == 0)})
    cut = []

    def keep(outs):
        while outs:
            rows, data = np.asarray(outs["events"].data), np.asarray(outs["out"].data)
            assert outs["out"].t0 == outs["events"].t0 == rows[0, 0]  # a chunk's t0 is its marker's time
            np.testing.assert_array_equal(data[:, 1], -data[:, 0])
            cut.extend(
                (round(float(r[0]), 6), round(float(e[0, 0]), 6), round(float(e[0, -1]), 6)) for r, e in zip(rows, data)
            )
            outs = node.more()

    for feed in [events, *signal] if markers_first else [*signal, events]:
        keep(node.process(feed))
    keep(node.finish())
    return cut, dict(node.counters)


CHUNKINGS = [
    pytest.param(None, True, id="one-chunk-per-segment"),
    pytest.param(7, True, id="7-sample-chunks"),
    pytest.param(7, False, id="7-sample-chunks-markers-after"),
    pytest.param(None, False, id="one-chunk-per-segment-markers-after"),
]


@pytest.mark.parametrize("chunk, markers_first", CHUNKINGS)
def test_a_window_that_starts_in_the_gap_is_dropped_as_gap_in_epoch(chunk, markers_first):
    # the helper's case: the window 2.1-2.4 s lies in the missing span 2.0-2.5 s
    cut, counts = _run([1.9, 4.0], 0.2, 0.5, chunk, markers_first=markers_first)
    assert counts == {"gap_in_epoch": 1}  # before: no counter, and the 1.9 s epoch cut on 2.6-2.9 s
    assert cut == [(4.0, 4.2, 4.5)]


@pytest.mark.parametrize("chunk, markers_first", CHUNKINGS)
def test_a_window_wholly_after_the_gap_is_cut_at_its_own_times(chunk, markers_first):
    cut, counts = _run([1.9, 4.0], 0.7, 0.9, chunk, markers_first=markers_first)
    assert counts == {}
    assert cut == [(1.9, 2.6, 2.8), (4.0, 4.7, 4.9)]  # before: (1.9, 3.1, 3.3)


@pytest.mark.parametrize("chunk, markers_first", CHUNKINGS)
def test_a_window_that_starts_in_the_gap_and_ends_after_it_is_dropped(chunk, markers_first):
    cut, counts = _run([1.9], 0.5, 0.8, chunk, markers_first=markers_first)  # 2.4-2.7 s
    assert counts == {"gap_in_epoch": 1}  # before: cut on 2.9-3.2 s
    assert cut == []


@pytest.mark.parametrize("chunk, markers_first", CHUNKINGS)
def test_a_window_that_runs_into_the_gap_is_dropped(chunk, markers_first):
    cut, counts = _run([1.8], 0.1, 0.3, chunk, markers_first=markers_first)  # 1.9-2.1 s (already dropped before)
    assert counts == {"gap_in_epoch": 1}
    assert cut == []


@pytest.mark.parametrize("chunk, markers_first", CHUNKINGS)
def test_negative_tmin_with_the_gap_between_window_start_and_marker_is_dropped(chunk, markers_first):
    # 2.4-3.1 s around a marker at 2.6 s: the window holds the gap (dropped before too)
    cut, counts = _run([2.6, 4.0], -0.2, 0.5, chunk, markers_first=markers_first)
    assert counts == {"gap_in_epoch": 1}
    assert cut == [(4.0, 3.8, 4.5)]


@pytest.mark.parametrize("chunk, markers_first", CHUNKINGS)
def test_a_window_before_the_gap_of_a_marker_after_it_is_cut_at_its_own_times(chunk, markers_first):
    # tmin and tmax negative, the gap between the window (1.8-1.9 s) and its marker (2.6 s)
    cut, counts = _run([2.6, 4.0], -0.8, -0.7, chunk, markers_first=markers_first)
    assert counts == {}
    assert cut == [(2.6, 1.8, 1.9), (4.0, 3.2, 3.3)]  # before: (2.6, 1.3, 1.4), earlier by the gap's length


@pytest.mark.parametrize("chunk, markers_first", CHUNKINGS)
def test_a_window_in_the_gap_before_its_marker_is_dropped(chunk, markers_first):
    cut, counts = _run([2.6], -0.5, -0.45, chunk, markers_first=markers_first)  # 2.1-2.15 s
    assert counts == {"gap_in_epoch": 1}  # before: cut on 1.6-1.65 s
    assert cut == []


@pytest.mark.parametrize("chunk", [None, 7])
def test_after_a_gap_off_the_sample_grid_the_window_starts_within_a_sample_of_its_time(chunk):
    # the samples after the gap are stamped 2.503 + k / rate: the window 2.6-2.8 s is 2.603-2.803 s there
    cut, counts = _run([1.9], 0.7, 0.9, chunk, gap=(2.0, 2.503))
    assert counts == {}
    assert cut == [(1.9, 2.603, 2.803)]  # before: (1.9, 3.103, 3.303)


@pytest.mark.parametrize("chunk", [None, 7])
def test_a_gap_flag_with_no_samples_missing_cuts_the_windows_as_without_it(chunk):
    cut, counts = _run([1.9, 4.0], 0.2, 0.5, chunk, gap=(2.0, 2.0))  # flagged, but no time is missing
    assert counts == {}
    assert cut == [(1.9, 2.1, 2.4), (4.0, 4.2, 4.5)]
