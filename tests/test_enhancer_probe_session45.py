"""Enhancer probe (session 45): the enhancer's and the DNN SSVEP decoders' state carry a fingerprint of the weights
(nodes/models/weights_fingerprint.py), so a mid-stream state of another checkpoint of the same shapes is refused
naming both (it went on silently under the other weights); the enhancer refuses a saved state whose buffers no
stream holds (a NaN in 'pending' made every later output NaN; a 'held' of another length shifted the output)."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from wavegraph.models import ssvep_dnn  # noqa: E402
from wavegraph.nodes.models.enhancer import EnhancerNode, shipped_checkpoint  # noqa: E402
from wavegraph.nodes.models.ssvep import SSVEPDecoder, SSVEPTrialDecoder  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.spec import StreamSpec, signal_spec  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SPEC = signal_spec(16000, ["mic"], "audio", "float32", "a.u.")
ONE_HOUR = shipped_checkpoint().replace("enhancer.safetensors", "enhancer_one_hour.safetensors")
DNN = shipped_checkpoint().replace("enhancer.safetensors", "ssvep_dnn_8f_160hz_1000ms.safetensors")


def _voice(n: int = 8000) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(n) / 16000
    x = 0.05 * sum(np.sin(2 * np.pi * 180 * k * t) / k for k in range(1, 8)) + 0.01 * rng.standard_normal(n)
    return x[None].astype(np.float32)


def _enhancer(**kw) -> EnhancerNode:
    node = EnhancerNode(**kw)
    node.configure({"in": SPEC})
    return node


@pytest.fixture(scope="module")
def mid_stream():
    """The shipped enhancer's state after 4005 samples (5 pending, 154 held), the node, and the signal."""
    x = _voice()
    node = _enhancer()
    node.process({"in": Chunk(x[:, :4005], 0.0)})
    return node.state_dict(), node, x


def _rest(node, x):
    return node.process({"in": Chunk(x[:, 4005:], 4005 / 16000)})["out"].data


# --- a state of other weights ----------------------------------------------------------------------------------------


def test_an_enhancer_state_is_refused_by_the_other_shipped_checkpoint_naming_both(mid_stream):
    """enhancer_one_hour has the default's every shape: the default's mid-stream state went on in it unsaid (its next
    output 0.1 apart from either's own)."""
    state, _, x = mid_stream
    other = _enhancer(checkpoint=ONE_HOUR)
    before = other.state_dict()
    with pytest.raises(ValueError, match=r"enhancer state was saved with other weights \(sha256:[0-9a-f]{16}\)") as e:
        other.load_state_dict(state)
    assert state["weights"] in str(e.value) and before["weights"] in str(e.value) and ONE_HOUR in str(e.value)
    assert other.state_dict()["n_in"] == 0  # nothing taken


def test_an_enhancer_state_of_the_same_weights_loads_from_a_copy_and_continues_exactly(mid_stream, tmp_path):
    state, node, x = mid_stream
    copy = tmp_path / "copy.safetensors"
    shutil.copy(shipped_checkpoint(), copy)
    shutil.copy(shipped_checkpoint().replace(".safetensors", ".json"), copy.with_suffix(".json"))
    other = _enhancer(checkpoint=str(copy))
    other.load_state_dict({**state, "weights": np.asarray(state["weights"])})  # (as an npz gives it back)
    again = _enhancer()
    again.load_state_dict(state)
    np.testing.assert_array_equal(_rest(other, x), _rest(again, x))


def test_an_enhancer_state_saved_before_the_fingerprint_loads_with_a_warning(mid_stream, caplog):
    state, _, x = mid_stream
    old = {k: v for k, v in state.items() if k != "weights"}
    a, b = _enhancer(), _enhancer()
    a.load_state_dict(state)
    with caplog.at_level(logging.WARNING, logger="wavegraph.models"):
        b.load_state_dict(old)
    assert "enhancer: the state carries no fingerprint of the weights" in caplog.text
    np.testing.assert_array_equal(_rest(a, x), _rest(b, x))


@pytest.fixture(scope="module")
def other_dnn(tmp_path_factory):
    """The 8-class DNN with one weight tensor changed and its bands moved: every state shape the same."""
    model, _ = ssvep_dnn.load(DNN)
    with torch.no_grad():
        next(model.parameters()).mul_(-1.0)
    model.cfg.bands = [[7.0, 70.0], [15.0, 70.0], [23.0, 70.0]]
    path = tmp_path_factory.mktemp("dnn") / "other.safetensors"
    ssvep_dnn.save(model, path)
    return str(path)


def _eeg_specs():
    model, _ = ssvep_dnn.load(DNN)
    labels = tuple((i + 1, f"{f:g}") for i, f in enumerate(model.cfg.freqs))
    return {
        "in": signal_spec(160.0, model.cfg.channels, "eeg", dtype="float64", units="V"),
        "events": StreamSpec("events", 0.0, (3,), "float64", labels=labels),
    }


@pytest.mark.parametrize("kind", [SSVEPDecoder, SSVEPTrialDecoder])
def test_a_dnn_ssvep_state_is_refused_by_another_checkpoint_of_the_same_shapes(kind, other_dnn, caplog):
    """The sliding decoder's filter memory of other sub-bands went on in the other checkpoint's filters (its next
    scores 0.9 apart from its own run's), unsaid; the trial decoder's held decisions were the other weights'."""
    specs = _eeg_specs() if kind is SSVEPTrialDecoder else {"in": _eeg_specs()["in"]}
    x = 1e-5 * np.random.default_rng(0).standard_normal((specs["in"].shape[0], 300))
    nodes = []
    for path in (DNN, other_dnn, DNN):
        node = kind(method="dnn", checkpoint=path)
        node.configure(specs)
        nodes.append(node)
    nodes[0].process({"in": Chunk(x, 0.0)})
    state = nodes[0].state_dict()
    with pytest.raises(ValueError, match=r"state was saved with other weights .*other\.safetensors"):
        nodes[1].load_state_dict(state)
    nodes[2].load_state_dict(state)  # the same weights: taken
    with caplog.at_level(logging.WARNING, logger="wavegraph.models"):
        nodes[2].load_state_dict({k: v for k, v in state.items() if k != "weights"})
    assert "no fingerprint of the weights" in caplog.text
    fbcca = SSVEPDecoder(freqs=[8.0, 10.0])  # no weights: no fingerprint
    fbcca.configure({"in": specs["in"]})
    assert "weights" not in fbcca.state_dict()


# --- a damaged enhancer state ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage, said",
    [
        ({"pending": np.full(5, np.nan, np.float32)}, "NaN/inf in 'pending' or 'held'"),  # every later output NaN
        ({"held": np.full(154, np.nan, np.float32)}, "NaN/inf in 'pending' or 'held'"),
        ({"held": np.zeros(10, np.float32)}, "5 'pending' and 10 'held' samples; a stream holds 159"),  # tail cut
        ({"held": np.zeros(5000, np.float32)}, "5 'pending' and 5000 'held'"),  # 4846 samples late, never out
        ({"pending": np.zeros(500, np.float32)}, "500 'pending'"),
        ({"nan_pending": np.zeros((1, 2000), bool)}, "'nan_pending' holds 2000 flags, not 0 or 319"),
        ({"t_first": float("nan")}, "t_first nan"),
        ({"n_in": -5}, r"n_in \(25, -5\)"),
    ],
)
def test_an_enhancer_state_whose_buffers_no_stream_holds_is_refused(mid_stream, damage, said):
    """Loaded as they came: a NaN in 'pending' went into the model (every later output NaN), a 'held' of another
    length shifted every later output sample and cut (or never gave) the tail finish() gives."""
    state, _, _ = mid_stream
    assert (state["pending"].size, state["held"].size) == (5, 154)
    node = _enhancer()
    with pytest.raises(ValueError, match=said):
        node.load_state_dict({**state, **damage})
    assert node.state_dict()["n_in"] == 0 and node.held.size == 159  # nothing taken


# --- a DC offset -----------------------------------------------------------------------------------------------------


def _finish_log(x, caplog) -> str:
    node = _enhancer()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wavegraph.enhancer"):
        for i in range(0, x.shape[1], 1600):
            node.process({"in": Chunk(x[:, i : i + 1600], i / 16000)})
        node.finish()
    return caplog.text


def test_a_dc_offset_is_said_at_the_end_with_the_highpass_that_removes_it(caplog):
    """Speech at -40 dBFS with an offset of 0.1 came out 3.2 dB less clean and its speech probability fell (0.88 ->
    0.72 on average), unsaid: the model was trained without one (RNNoise high-passes its input)."""
    x = 0.2 * _voice()
    said = _finish_log(x + np.float32(0.1), caplog)
    assert "DC offset of 0.1 (" in said and "dB over the rest of the signal" in said
    assert "a `highpass` node with {freq: 5, order: 2}" in said
    assert "DC offset" not in _finish_log(x, caplog)  # speech without one
    assert "DC offset" not in _finish_log(x + np.float32(0.005), caplog)  # under 3 times its RMS: harmless
    assert "DC offset" not in _finish_log(np.zeros((1, 8000), np.float32), caplog)  # digital silence
    assert "and nothing else" in _finish_log(np.full((1, 8000), 0.25, np.float32), caplog)
