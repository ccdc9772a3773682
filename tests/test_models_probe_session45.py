"""Session 45 probe of the models: a Chain's declared latency against the frames its stream actually holds back, a
model node's state refused by other weights of the same shapes, and checkpoint files that do not fit."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.conformer import ConformerConfig, ConformerEncoder
from wavegraph.models.mamba import MambaConfig, MambaStack
from wavegraph.models.streaming import Chain, Frames
from wavegraph.nodes.models.model import ConformerEncoderNode
from wavegraph.nodes.models.tokenizer import SHIPPED, EEGTokenizerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec


def _part(d_in: int, factor: int, right: int, seed: int):
    """A tiny stream model of stride `factor`: a Conformer with lookahead `right`, or (factor 1) a Mamba stack."""
    torch.manual_seed(seed)
    if factor == 1:
        return MambaStack(MambaConfig(d_in=d_in, d_model=8, n_layers=1, d_state=4)).eval()
    cfg = ConformerConfig(
        d_in=d_in, d_model=8, n_layers=1, n_heads=2, ff_mult=1, conv_kernel=3, subsampling=factor,
        att_context_sizes=[[2 * (right + 1), right]],
    )  # fmt: skip
    return ConformerEncoder(cfg).eval()


def _released_at(model, n_in: int, steps: bool) -> list[int]:
    """For each output frame, the input frame whose arrival made the stream return it (one frame per call)."""
    state, out = model.init_state(1), []
    x = torch.randn(1, n_in, model.d_in)
    with torch.no_grad():
        for t in range(n_in):
            y, state = model.step(x[:, t], state) if steps else model.stream(x[:, t : t + 1], state)
            out += [t] * y.shape[1]
    return out


COMPOSITIONS = [
    ((2, 1), (2, 1)),  # the one reported: 9 frames declared, 7 measured
    ((2, 1), (2, 0)),
    ((4, 2), (2, 2)),
    ((2, 2), (4, 1)),
    ((4, 0), (2, 1)),
    ((2, 1), (1, 0), (2, 2)),  # a Mamba between two Conformers
    ((1, 0), (4, 1)),
]


@pytest.mark.parametrize("parts", COMPOSITIONS, ids=str)
def test_a_chains_declared_latency_is_the_frames_its_stream_holds_back(parts):
    """Chain.latency_frames added the parts' latencies (each times the strides before it): a later Conformer waits
    for the LAST sub-frames of an earlier one's chunk of R+1, which come sooner than its first, so two Conformers of
    subsampling 2 and lookahead 1 declared 9 frames and held back 7. Now each output frame's release, by stream or by
    step, is `ready_at(j)`, and the latency the worst of ready_at(j) - j * stride: what the stream shows."""
    models, d = [], 4
    for i, (factor, right) in enumerate(parts):
        models.append(_part(d, factor, right, seed=i))
        d = models[-1].d_out
    chain = Chain(*models, Frames(torch.nn.Linear(d, 3), d, 3))
    n_in = chain.stride * (chain.ready_period() + 1) + chain.latency_frames()  # every frame of a period, and one
    for steps in (False, True):
        released = _released_at(chain, n_in, steps)
        assert released == [chain.ready_at(j) for j in range(len(released))]
        assert len(released) > chain.ready_period()
        assert chain.latency_frames() == max(t - j * chain.stride for j, t in enumerate(released))
    if parts[:2] == ((2, 1), (2, 1)):
        assert chain.latency_frames() == 7


def test_a_chain_inside_a_chain_and_its_options_compose_the_same_way():
    a, b = _part(4, 2, 1, 0), _part(8, 2, 1, 1)
    flat, nested = Chain(a, b), Chain(Chain(a), Chain(b))
    assert flat.latency_frames() == nested.latency_frames() == 7
    assert [flat.ready_at(j) for j in range(9)] == [nested.ready_at(j) for j in range(9)]
    assert flat.latency_frames(att_context=(4, 1)) == 7
    with pytest.raises(TypeError, match="no part of this Chain"):
        flat.latency_frames(lookahead=1)


# --- a state of other weights ----------------------------------------------------------------------------------------

EEG = signal_spec(200.0, ["Oz", "Pz"], "eeg", dtype="float64", units="V")


@pytest.fixture(scope="module")
def other_tokenizer(tmp_path_factory):
    """The shipped tokenizer's config with other weights: every state shape the same."""
    model = ckpt.load(str(SHIPPED))
    with torch.no_grad():
        gen = torch.Generator().manual_seed(1)
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    path = tmp_path_factory.mktemp("tok") / "other.safetensors"
    ckpt.save(model, path)
    return path


def _tokenizer_states():
    x = 1e-5 * np.random.default_rng(0).standard_normal((2, 800))
    node = EEGTokenizerNode()
    node.configure({"in": EEG})
    node.process({"in": Chunk(x[:, :350], 0.0)})
    return node, node.state_dict(), x


def test_a_tokenizer_state_is_refused_by_a_tokenizer_of_other_weights_naming_both(other_tokenizer):
    """Loaded without a word, the shipped tokenizer's mid-stream state went on in another tokenizer of the same config:
    its next tokens were other ones, unsaid."""
    _, state, _ = _tokenizer_states()
    other = EEGTokenizerNode(checkpoint=str(other_tokenizer))
    other.configure({"in": EEG})
    before = other.state_dict()
    with pytest.raises(ValueError, match=r"saved with other weights \(sha256:[0-9a-f]{16}\) than this node's") as e:
        other.load_state_dict(state)
    assert (
        state["weights"] in str(e.value) and before["weights"] in str(e.value) and "other.safetensors" in str(e.value)
    )
    assert other.state_dict()["n_out"] == before["n_out"] == 0  # nothing taken


def test_a_tokenizer_state_of_the_same_weights_loads_from_another_path_and_continues_exactly(tmp_path):
    node, state, x = _tokenizer_states()
    copy = tmp_path / "copy.safetensors"
    shutil.copy(SHIPPED, copy)
    shutil.copy(SHIPPED.with_suffix(".json"), copy.with_suffix(".json"))
    other = EEGTokenizerNode(checkpoint=str(copy))
    other.configure({"in": EEG})
    other.load_state_dict(state)
    a, b = node.process({"in": Chunk(x[:, 350:], 1.75)}), other.process({"in": Chunk(x[:, 350:], 1.75)})
    np.testing.assert_array_equal(a["tokens"].data, b["tokens"].data)


def test_a_state_saved_before_the_fingerprint_still_loads_with_a_warning(caplog):
    node, state, x = _tokenizer_states()
    old = {k: v for k, v in state.items() if k != "weights"}
    fresh = EEGTokenizerNode()
    fresh.configure({"in": EEG})
    with caplog.at_level(logging.WARNING, logger="wavegraph.models"):
        fresh.load_state_dict(old)
    assert "no fingerprint of the weights" in caplog.text
    np.testing.assert_array_equal(
        node.process({"in": Chunk(x[:, 350:], 1.75)})["tokens"].data,
        fresh.process({"in": Chunk(x[:, 350:], 1.75)})["tokens"].data,
    )


FEAT = StreamSpec("features", 100.0, (4,), "float32")


def _conformer_checkpoint(path, seed: int):
    torch.manual_seed(seed)
    cfg = ConformerConfig(d_in=4, d_model=8, n_layers=1, n_heads=2, subsampling=2, att_context_sizes=[[4, 1]])
    ckpt.save(ConformerEncoder(cfg), path)
    return str(path)


def test_a_model_node_state_is_refused_by_a_node_of_another_checkpoint_of_the_same_config(tmp_path):
    """The configuration check leaves out the checkpoint's path (the same file spelt otherwise is the same model), so
    a Conformer's key/value cache went on under other weights of the same shapes, unsaid."""
    a = ConformerEncoderNode(checkpoint=_conformer_checkpoint(tmp_path / "a.safetensors", 0))
    b = ConformerEncoderNode(checkpoint=_conformer_checkpoint(tmp_path / "b.safetensors", 1))
    same = ConformerEncoderNode(checkpoint=str(tmp_path / "a.safetensors"))
    for node in (a, b, same):
        node.configure({"in": FEAT})
    x = np.random.default_rng(0).standard_normal((11, 4)).astype(np.float32)
    a.process({"in": Chunk(x[:7], 0.0)})
    state = a.state_dict()
    with pytest.raises(
        ValueError,
        match=r"(ConformerEncoderNode|conformer_encoder) state was saved with other weights .*b\.safetensors",
    ):
        b.load_state_dict(state)
    # as an npz gives it back: the fingerprint a 0-d array of text
    same.load_state_dict({**state, "weights": np.asarray(state["weights"])})
    np.testing.assert_array_equal(
        same.process({"in": Chunk(x[7:], 0.07)})["out"].data, a.process({"in": Chunk(x[7:], 0.07)})["out"].data
    )


# --- checkpoint files that do not fit --------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "enc.safetensors"
    _conformer_checkpoint(path, 0)
    return path


def test_a_checkpoint_of_a_newer_format_version_says_to_upgrade(saved):
    meta = json.loads(saved.with_suffix(".json").read_text())
    saved.with_suffix(".json").write_text(json.dumps({**meta, "version": 2}))
    with pytest.raises(ckpt.CheckpointError, match=r"enc\.json has version 2; .*newer wavegraph; upgrade wavegraph"):
        ckpt.load(saved)
    saved.with_suffix(".json").write_text(json.dumps({**meta, "version": "x"}))
    with pytest.raises(ckpt.CheckpointError, match=r"version 'x'; .*save the model again"):
        ckpt.load(saved)


def test_weights_of_another_model_kind_beside_a_config_are_named_as_such(saved, tmp_path):
    """A Mamba's weights beside a conformer .json were said as "lacks tensor 'layers.0.att_norm.bias'"."""
    ckpt.save(MambaStack(MambaConfig(d_in=4, d_model=8, n_layers=1)), tmp_path / "m.safetensors")
    shutil.copy(tmp_path / "m.safetensors", saved)
    with pytest.raises(ckpt.CheckpointError, match=r"enc\.safetensors holds the weights of a 'mamba' model.*builds a "
                       r"ConformerEncoder; .*keep the \.json saved with these weights"):  # fmt: skip
        ckpt.load(saved)


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_a_checkpoint_with_an_extra_or_missing_tensor_names_it_the_file_and_the_fix(saved, change):
    tensors = load_file(str(saved))
    name = sorted(tensors)[0]
    if change == "extra":
        tensors["bogus.weight"] = torch.zeros(2)
    else:
        del tensors[name]
    save_file(tensors, str(saved), metadata={"format": "wavegraph-model", "kind": "conformer"})
    said = "has tensor 'bogus.weight'" if change == "extra" else f"lacks tensor '{name}'"
    with pytest.raises(ckpt.CheckpointError, match=rf"enc\.safetensors {said}.*keep the \.json saved with these"):
        ckpt.load(saved)
