"""Defects earlier rounds found but left (session 20): mix's cancel check after a reset, describe's columns with
wide node ids, lsl_outlet's per-channel units."""

from __future__ import annotations

import logging

import numpy as np

SR = 16000


def _cancel_said(node, x: np.ndarray, caplog) -> list[str]:
    from wavegraph.pipeline.chunk import Chunk

    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.mix"):
        for i in range(0, x.shape[1], 1600):
            node.process({"in": Chunk(x[:, i : i + 1600], t0=i / SR)})
        node.finish()
    return [r.getMessage() for r in caplog.records if "cancel" in r.getMessage()]


def test_mix_says_channels_that_cancel_again_on_a_second_stream_after_reset(caplog):
    """mix's cancel check (R = -L mixes to silence) was decided once per node: after reset() (a restart, a second
    stream through the same node) a second phase-inverted stream mixed to silence unsaid. reset() re-arms it."""
    from wavegraph.nodes.dsp.channels import Mix
    from wavegraph.pipeline.spec import signal_spec

    rng = np.random.default_rng(1)
    left = (0.2 * rng.standard_normal(SR // 2)).astype(np.float32)
    node = Mix()
    node.configure({"in": signal_spec(SR, ["L", "R"], "audio", "float32", "a.u.")})
    assert len(_cancel_said(node, np.stack([left, -left]), caplog)) == 1
    node.reset()
    said = _cancel_said(node, np.stack([left, -left]), caplog)
    assert len(said) == 1, said
    assert "its channels 'L', 'R' cancel" in said[0]
