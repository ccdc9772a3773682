"""Streaming attack (session 25): the stream == offline promise under chunkings and gaps the other tests leave out.

A gap flagged on a chunk of no samples (an artefact-rejection node that dropped a whole chunk, a bare marker after
lost data) must act as the same gap flagged on the next chunk with samples: in a node used by hand as in the runtime,
which never calls process() with no samples.
"""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = ["O1", "Oz", "O2"]
SPEC = signal_spec(250.0, NAMES, "eeg")


def _x(n=400):
    return np.random.default_rng(0).standard_normal((3, n))


def test_align_drops_the_delay_again_after_a_gap_flagged_on_a_chunk_of_no_samples():
    """align, by hand: a gap flagged on a chunk of no samples was ignored (it returned before reading the flag), so the
    new segment's first `delay` was kept and everything after stamped off; flagged on the next chunk it was dropped."""
    x = _x(100)

    def run(chunks):
        node = lookup("align")(delay=0.04)
        node.configure({"in": SPEC})
        outs = [node.process({"in": Chunk(d, t0, gap=gap)}).get("out") for d, t0, gap in chunks]
        return [(c.t0, c.data) for c in outs if c is not None]

    on_data = run([(x[:, :50], 0.0, False), (x[:, 50:], 0.5, True)])
    on_empty = run([(x[:, :50], 0.0, False), (x[:, :0], 0.5, True), (x[:, 50:], 0.5, False)])
    assert [t for t, _ in on_empty] == pytest.approx([t for t, _ in on_data], abs=1e-12)
    np.testing.assert_array_equal(
        np.concatenate([d for _, d in on_empty], 1), np.concatenate([d for _, d in on_data], 1)
    )
    assert sum(d.shape[1] for _, d in on_empty) == 100 - 2 * 10  # 40 ms at 250 Hz dropped at the start and the gap
