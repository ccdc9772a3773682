"""The model nodes skip the models' own input checks, which the nodes make redundant: session 22 gave
Enhancer.stream/step and the Mamba, GLA and Conformer stacks' stream/step checks of the samples (finite, in range)
and of the state, which a user calling a model directly needs. The enhancer node zeroes and clips its samples and owns
its state, and paid ~30 us more per 10 ms block (208 against 160 us on this box: its real-time factor was 0.022
against RNNoise's 0.025), and a device sync per call on a GPU. The nodes now run the models inside
streaming.trusted_inputs(); a direct call keeps every check."""

import numpy as np
import pytest
import torch
from wavegraph.models import enhancer_checks, streaming
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import StreamSpec, signal_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def counted(monkeypatch):
    """How many times the models' sample and state checks run their tests (not skipped)."""
    calls = {"finite": 0, "state": 0}
    finite, state = streaming.torch.isfinite, enhancer_checks.check_state

    def counting_isfinite(x):
        calls["finite"] += 1
        return finite(x)

    def counting_state(*a, **k):
        calls["state"] += 1
        return state(*a, **k)

    monkeypatch.setattr(streaming.torch, "isfinite", counting_isfinite)
    monkeypatch.setattr(enhancer_checks, "check_state", counting_state)
    return calls


def test_the_enhancer_node_runs_its_model_without_the_checks_and_a_direct_call_keeps_them(counted):
    node = EnhancerNode(random_init=True, d_model=16, n_layers=1)
    node.configure({"in": signal_spec(16000, ["mic"], "misc", dtype="float32", units="a.u.")})
    counted.update(finite=0, state=0)  # (configure warms the model up once, checked: not a block's cost)
    x = np.zeros((1, 160), np.float32)
    x[0, 5] = np.nan  # zeroed by the node (counted), never seen by the model
    for i in range(4):  # one block a chunk: the live path (step)
        node.process({"in": Chunk(x if i == 0 else np.zeros_like(x), i * 0.01)})
    node.process({"in": Chunk(np.zeros((1, 800), np.float32), 0.04)})  # five blocks: stream
    assert counted == {"finite": 0, "state": 0} and node.counters["nan_zeroed"] == 1
    model = node.model
    assert model is not None
    state = model.init_state(1)
    with pytest.raises(ValueError, match="NaN, infinite or beyond"):
        model.step(torch.tensor(x), state)
    assert counted["state"] == 1


@pytest.mark.parametrize("kind", ["mamba", "gla"])
def test_a_model_node_runs_its_model_without_the_finite_check(counted, kind):
    node = lookup(kind)(random_init=True, seed=3, d_model=16, n_layers=1, device="cpu")
    node.configure({"in": StreamSpec("features", 100.0, (6,), "float32")})
    counted.update(finite=0, state=0)
    data = np.random.default_rng(0).standard_normal((20, 6)).astype(np.float32)
    data[3, 2] = np.inf
    out = node.process({"in": Chunk(data, 0.0)})
    assert counted["finite"] == 0 and np.isfinite(out["out"].data).all()
    net = node.net
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.stream(torch.tensor(data)[None], net.init_state(1))
