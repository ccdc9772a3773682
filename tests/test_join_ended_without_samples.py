"""join with max_wait: an input that ends without ever sending a sample does not stop the output. Before it
ends, the reference goes out late with that input NaN; after its end-of-stream (Node.input_ended) the
same held: every later reference sample was dropped as before_start for the rest of the run."""

import numpy as np
from wavegraph.nodes.dsp.join import Join
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec


def test_max_wait_keeps_going_after_an_input_that_sent_nothing_ended():
    join = Join(inputs=["eeg", "aux"], max_wait=0.5)
    join.configure({"eeg": signal_spec(100.0, ["C3"]), "aux": signal_spec(100.0, ["x"])})
    ramp = np.arange(300.0)[None]
    # (late counts from the start of eeg's newest chunk: what came with a chunk may still come after it)
    outs = [join.process({"eeg": Chunk(ramp[:, 100 * k : 100 * (k + 1)], float(k))}) for k in (0, 1)]
    outs += [join.input_ended("aux"), join.process({"eeg": Chunk(ramp[:, 200:], 2.0)})]
    x = np.concatenate([o["out"].data for o in outs if o], axis=1)
    np.testing.assert_array_equal(x[0], np.arange(300.0))
    assert np.isnan(x[1]).all()
    # late while it might still come (flagged), then held after its end: flagged once, not on every chunk
    assert [o["out"].gap for o in outs if o] == [True, True, False]
    assert join.counters["late_aux"] == 300 and "before_start" not in join.counters


def test_without_max_wait_it_is_still_nothing_to_join():
    join = Join(inputs=["eeg", "aux"])
    join.configure({"eeg": signal_spec(100.0, ["C3"]), "aux": signal_spec(100.0, ["x"])})
    assert join.process({"eeg": Chunk(np.zeros((1, 100)), 0.0)}) == {}
    assert join.input_ended("aux") == {} and join.counters["before_start"] == 100
