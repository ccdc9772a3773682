"""A hostile user on the speech-enhancement path, second round: the `enhancer` node's gaps, docs/speech.md's folder
loop, and the spectral nodes on odd streams. Each test failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

SR = 16000
SPEC = signal_spec(SR, ["ch0"], "audio", "float32", "a.u.")


def _speechlike(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = 0.1 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(n)
    return x.astype(np.float32)[None]


def _enhancer():
    from wavegraph.nodes.models.enhancer import EnhancerNode

    node = EnhancerNode(random_init=True, d_model=16)  # the counting does not depend on the weights
    node.configure({"in": SPEC})
    return node


@pytest.mark.parametrize("n_before", [8000, 8050, 100])
def test_samples_dropped_at_gap_counts_the_enhanced_audio_that_never_went_out(n_before):
    """At a gap the enhancer drops what it held of the segment before it: the enhanced last 319 samples (its latency),
    which finish() would have given at the end of a file. The counter said 159 whatever was lost (the held-back
    output less the samples inside the model's overlap-add), also for a segment of 100 samples."""
    x = _speechlike(n_before + 1600, seed=1)
    node = _enhancer()
    node.process({"in": Chunk(x[:, :n_before], t0=0.0)})
    node.process({"in": Chunk(x[:, n_before:], t0=10.0, gap=True)})
    ended = _enhancer()  # the same segment ended by finish() instead: what it gives is what the gap dropped
    ended.process({"in": Chunk(x[:, :n_before], t0=0.0)})
    tail = ended.finish()["out"].data
    lost = min(n_before, tail.shape[1])  # of the flushed tail, only the part that follows the segment's own samples
    assert node.counters["samples_dropped_at_gap"] == lost == min(n_before, ended.latency_samples)
