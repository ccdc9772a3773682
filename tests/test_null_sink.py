"""null_sink: the end of a branch; it keeps nothing and counts the samples (or frames) it was given."""

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import StreamSpec, signal_spec


def test_null_sink_counts_samples_of_signals_and_frames_of_features():
    for spec, chunks, n in [
        (signal_spec(100.0, ["a", "b", "c"]), [np.zeros((3, 7)), np.zeros((3, 5)), np.zeros((3, 0))], 12),
        (StreamSpec("features", 2.0, (4,), "float32"), [np.zeros((2, 4), np.float32)] * 3, 6),
    ]:
        node = lookup("null_sink")()
        assert node.configure({"in": spec}) == {}
        for i, x in enumerate(chunks):
            assert node.process({"in": Chunk(x, t0=float(i))}) == {}
        assert node.counters.get("samples", 0) == n
