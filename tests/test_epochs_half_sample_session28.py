"""epochs: a marker half a sample after the newest sample (a tie that MNE's rounding sends to the even sample, one not
held yet) raised an IndexError and ended the run (mid-stream, and at the end of a replay whose last annotation sits
there). It now waits for that sample mid-stream, and is counted `outside_data` at the end."""

from __future__ import annotations

import numpy as np
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

RATE = 100.0
SPECS = {"in": signal_spec(RATE, ["C3"]), "events": StreamSpec("events", 0.0, (3,), labels=((1, "stim"),))}


def _node() -> Epochs:
    node = Epochs(tmin=-0.1, tmax=0.2)
    node.configure(SPECS)
    return node


def test_a_marker_half_a_sample_past_the_newest_sample_waits_for_it_mid_stream():
    node, whole = _node(), _node()
    ramp = np.arange(300.0)[None] / RATE
    for k in range(5):  # samples 0..249: 0 to 2.49 s
        node.process({"in": Chunk(ramp[:, k * 50 : (k + 1) * 50], k * 0.5)})
    out = node.process({"events": Chunk(np.array([[2.495, 0, 1.0]]), 2.495)})  # sample 249.5 -> 250 (even)
    assert not out or "out" not in out
    got = [node.process({"in": Chunk(ramp[:, 250:], 2.5)}), node.finish()]
    epochs = [o["out"].data for o in got if o and "out" in o]
    whole.process({"in": Chunk(ramp, 0.0)})
    ref = [o["out"].data for o in (whole.process({"events": Chunk(np.array([[2.495, 0, 1.0]]), 2.495)}),) if o]
    ref += [o["out"].data for o in (whole.finish(),) if o and "out" in o]
    assert len(epochs) == 1 and np.array_equal(epochs[0], ref[0])  # the same epoch as with every sample there
    assert np.isclose(epochs[0][0, 0, 10], 2.5)  # cut around sample 250, as MNE rounds the tie


def test_a_marker_half_a_sample_past_the_last_sample_at_the_end_is_counted_outside_the_data():
    node = _node()
    node.process({"in": Chunk(np.zeros((1, 500)), 0.0)})  # 0 to 4.99 s, a replay's whole file
    node.process({"events": Chunk(np.array([[3.0, 0, 1.0], [4.995, 0, 1.0]]), 3.0)})
    node.finish()
    assert node.counters.get("outside_data") == 1


def test_a_window_edge_half_a_sample_past_the_newest_sample_across_a_gap_is_not_here_yet():
    """TimedBuffer.after across a gap whose segment sits half a sample off the first one's grid: the window edge's
    time half a sample past the newest sample rounded to a sample not held, and indexing it raised IndexError."""
    import types

    from wavegraph.nodes.dsp.timebuffer import TimedBuffer

    state = types.SimpleNamespace()
    buf = TimedBuffer((1,), np.float64, RATE, lambda: state)
    for key, value in buf.fresh().items():
        setattr(state, key, value)
    buf.append(np.zeros((1, 10)), 0.0, False)  # 0 to 0.09 s
    buf.append(np.zeros((1, 4)), 0.2 + 0.005, True)  # a gap, then 0.205 to 0.235 s: half a sample off the first grid
    assert buf.after(1, 23) >= buf.n_total  # 0.01 + 0.23 = 0.24 s: rounds to the next sample, not held yet
    i = buf.after(1, 21)  # 0.22 s: a held sample within half a sample of it
    assert i is not None and i < buf.n_total and abs(buf.times[i - buf.start] - 0.22) <= 0.5 / RATE + 1e-9
