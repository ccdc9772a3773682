"""The EEG tokenizer as a user meets it (session 44 probe): the token decoder's `channels`, an irregular stream given to
the tokenizer node, and the tokenizer's (or enhancer's) weights given to the generic model node."""

import numpy as np
import pytest
from wavegraph.models.token_decoder import TokenDecoder
from wavegraph.nodes.models.tokenizer import SHIPPED
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

NAMES = ["Fp1", "Fz", "C3", "Cz", "O1", "Oz", "O2", "Pz"]


def _picks(**kw) -> list[int]:
    return TokenDecoder(rate=250.0, channel_names=NAMES, freqs=[9.0, 13.0], **kw).picks


def test_token_decoder_channels_are_matched_as_the_recordings_names_are():
    """channels=['O1', 'Oz', 'O2'] picked O1 and O2 only: 'Oz' was compared with the upper-cased channel names."""
    assert _picks(channels=["O1", "Oz", "O2"]) == [4, 5, 6]
    assert _picks(channels=["o1.", "OZ.."]) == [4, 5]  # EEGMMIDB's dots, any case
    assert _picks(channels="Oz") == [5]  # one name (was each of its letters: none found, every channel)
    assert _picks() == [4, 5, 6, 7]  # the default: the occipito-parietal ones the recording has


@pytest.mark.parametrize("channels", [["O1", "Oz", "PO9"], ["XX"], []])
def test_token_decoder_refuses_channels_the_recording_lacks(channels):
    """A name not in channel_names was dropped unsaid (and none found took every channel)."""
    with pytest.raises(ValueError, match="channel_names") as e:
        _picks(channels=channels)
    assert "leave channels out" in str(e.value)
    if channels:
        assert repr(channels[-1]) in str(e.value)


@pytest.mark.parametrize("rate", [0.0, float("nan")])
def test_tokenizer_node_says_an_irregular_stream_needs_a_rate(rate):
    """An irregular stream (rate 0: an LSL stream without a nominal rate) was told to 'pick the bands of a filter bank'."""
    with pytest.raises(SpecError) as e:
        lookup("eeg_tokenizer")().configure({"in": signal_spec(rate, ["O1", "O2"])})
    assert "needs a regular signal, got rate" in e.value.message
    assert "sampling rate" in e.value.hint and "filter bank" not in e.value.hint


def test_tokenizer_node_names_a_wrong_kind_with_its_article(tmp_path):
    enhancer = SHIPPED.with_name("enhancer.safetensors")
    with pytest.raises(SpecError, match="holds an 'enhancer' model, this node needs 'eeg_tokenizer'"):
        lookup("eeg_tokenizer")(checkpoint=str(enhancer)).configure({"in": signal_spec(160.0, ["O1"])})


@pytest.mark.parametrize("node_type", ["model", "conformer_encoder"])
def test_model_node_given_tokenizer_weights_points_to_the_tokenizer_node(node_type):
    """type: model with the tokenizer's weights on EEG said "must be a features stream; connect a features output"."""
    with pytest.raises(SpecError) as e:
        lookup(node_type)(checkpoint=str(SHIPPED)).configure({"in": signal_spec(160.0, ["O1", "Oz"])})
    assert "holds an 'eeg_tokenizer' model, which runs in a node of its own" in e.value.message
    assert "use type: eeg_tokenizer" in e.value.hint


def test_model_node_does_not_run_tokenizer_weights_on_a_one_feature_stream():
    """...and on a 1-feature stream at any rate it ran the tokenizer as one EEG channel at 200 Hz (embeddings of 2 Hz
    band powers, without tokens), unsaid."""
    node = lookup("model")(checkpoint=str(SHIPPED))
    with pytest.raises(SpecError, match="use type: eeg_tokenizer"):
        node.configure({"in": StreamSpec("features", 2.0, (1,), "float32")})


def test_model_node_still_runs_its_own_kinds(tmp_path):
    import torch
    from wavegraph.models import checkpoint
    from wavegraph.models.mamba import MambaConfig, MambaStack

    checkpoint.save(MambaStack(MambaConfig(d_model=8, n_layers=1, d_in=3)), tmp_path / "m.safetensors")
    node = lookup("model")(checkpoint=str(tmp_path / "m.safetensors"))
    out = node.configure({"in": StreamSpec("features", 10.0, (3,), "float32")})
    assert out["out"].shape == (8,)
    from wavegraph.pipeline.chunk import Chunk

    with torch.no_grad():
        got = node.process({"in": Chunk(np.ones((4, 3), np.float32), t0=0.0)})
    assert got["out"].data.shape == (4, 8)
