"""The enhancer's speech-probability (vad) output follows a live stream's clock: a sound card or LSL stream whose
chunk times drift against the nominal 16 kHz, as its audio output and every other node's times do."""

from __future__ import annotations

import numpy as np
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

SR = 16000
SPEC = signal_spec(SR, ["mic"], "misc", dtype="float32", units="a.u.")


def test_vad_times_follow_a_drifting_clock():
    drift, t_start, block = 2000e-6, 1000.0, 160
    n = 8 * SR
    times = t_start + np.arange(n + 1) * (1 + drift) / SR  # each sample's time on the stream's clock
    x = (0.05 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    node = EnhancerNode(random_init=True, d_model=16, n_layers=1)
    node.configure({"in": SPEC})
    hop = node.hop
    worst, frames = 0.0, 0
    for i in range(0, n, block):
        out = node.process({"in": Chunk(x[None, i : i + block], float(times[i]))})
        np.testing.assert_allclose(out["out"].t0, times[i], rtol=0, atol=1e-9)  # the audio keeps the chunk times
        if "vad" in out:
            k = out["vad"].n_times(-1)
            worst = max(worst, abs(out["vad"].t0 - times[frames * hop]))
            frames += k
    assert frames > 700
    assert worst < block * drift / SR + 1e-6, worst  # was 16 ms after 8 s: stamped on the nominal grid
