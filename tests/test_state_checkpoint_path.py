"""A model node's state names the configuration it was saved under, but not where its weights were read from: the
same weights spelt as another path (relative, absolute, another host's folder) take the state."""

from __future__ import annotations

import os

import numpy as np
from wavegraph.nodes.models.enhancer import EnhancerNode, shipped_checkpoint
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

SPEC = signal_spec(16000, ["mic"], "misc", dtype="float32", units="a.u.")


def test_the_same_weights_at_another_spelling_of_their_path_take_the_state(tmp_path, monkeypatch):
    weights = os.path.realpath(shipped_checkpoint())
    monkeypatch.chdir(tmp_path)
    a = EnhancerNode(checkpoint=str(weights))
    b = EnhancerNode(checkpoint=os.path.relpath(weights, tmp_path))
    a.configure({"in": SPEC})
    b.configure({"in": SPEC})
    x = (0.05 * np.random.default_rng(0).standard_normal((1, 1600))).astype(np.float32)
    a.process({"in": Chunk(x[:, :800], 0.0)})
    b.load_state_dict(a.state_dict())  # was: ValueError "param checkpoint: saved '/...', here '../...'"
    np.testing.assert_array_equal(
        b.process({"in": Chunk(x[:, 800:], 0.05)})["out"].data, a.process({"in": Chunk(x[:, 800:], 0.05)})["out"].data
    )
