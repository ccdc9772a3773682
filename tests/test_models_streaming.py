"""The one streaming API (models/streaming.py): every model and a Chain of them obey the same contract."""

import pytest
import torch
from wavegraph.models.conformer import ConformerConfig, ConformerEncoder
from wavegraph.models.gla import GLAConfig, GLAStack
from wavegraph.models.mamba import MambaConfig, MambaStack
from wavegraph.models.streaming import Chain, Frames, StreamingModel, assert_stream_equals_forward

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def conformer(d_in=6):
    torch.manual_seed(0)
    return ConformerEncoder(
        ConformerConfig(d_in=d_in, d_model=16, n_layers=2, n_heads=2, conv_kernel=3, att_context_sizes=[[4, 1], [6, 2]])
    ).eval()


def mamba(d_in=6, d_model=16):
    torch.manual_seed(1)
    return MambaStack(MambaConfig(d_model=d_model, n_layers=2, d_in=d_in, d_state=4)).eval()


def gla(d_in=6):
    torch.manual_seed(2)
    return GLAStack(GLAConfig(d_model=16, n_layers=2, d_in=d_in, n_heads=2, gate_low_rank=4, chunk_size=8)).eval()


@pytest.mark.parametrize("make", [conformer, mamba, gla])
def test_every_model_follows_the_contract(make):
    model = make()
    assert isinstance(model, StreamingModel) and model.d_in == 6 and model.d_out == 16
    x = torch.randn(2, 45, 6, generator=torch.Generator().manual_seed(4))
    ref = assert_stream_equals_forward(model, x)
    assert ref.shape == (2, 45 // model.stride, 16) and ref.abs().mean() > 0.1
    state = model.init_state(2)
    assert all(isinstance(v, (torch.Tensor, int)) for v in state.values())  # flat, explicit, saveable
    with torch.no_grad():  # a state restored from its saved values continues the stream identically
        _, mid = model.stream(x[:, :21], state)
        saved = {k: (v.numpy().copy() if isinstance(v, torch.Tensor) else v) for k, v in mid.items()}
        restored = {k: (torch.as_tensor(v) if not isinstance(v, int) else v) for k, v in saved.items()}
        a = model.stream(x[:, 21:], mid)[0]
        b = model.stream(x[:, 21:], restored)[0]
    assert torch.equal(a, b)


def test_conformer_options_and_latency():
    model = conformer()
    x = torch.randn(1, 50, 6)
    assert_stream_equals_forward(model, x, att_context=(6, 2))
    assert model.latency_frames(att_context=(6, 2)) == 3 * 4 - 1 and model.latency_frames() == 2 * 4 - 1
    with pytest.raises(TypeError):
        mamba().init_state(1, att_context=(4, 1))  # pyright: ignore[reportCallIssue]  (a model without that option)


def test_chain_composes_strides_latency_and_state():
    enc, ssm = conformer(), mamba(d_in=16, d_model=8)
    head = Frames(torch.nn.Linear(8, 3), 8, 3)
    chain = Chain(enc, ssm, head).eval()
    assert (chain.d_in, chain.d_out, chain.stride) == (6, 3, 4)
    assert chain.latency_frames(att_context=(6, 2)) == enc.latency_frames(att_context=(6, 2))
    x = torch.randn(2, 61, 6, generator=torch.Generator().manual_seed(5))
    ref = assert_stream_equals_forward(chain, x, att_context=(6, 2))
    with torch.no_grad():
        torch.testing.assert_close(ref, head(ssm(enc(x, att_context=(6, 2)))), rtol=0, atol=0)
    # a lookahead model after a stride-1 one: its latency counts in input frames scaled by the strides before it
    twice = Chain(conformer(), Frames(torch.nn.Identity(), 16, 16), mamba(d_in=16))
    assert twice.latency_frames() == 7
    assert Chain(mamba(d_in=6, d_model=6), conformer()).latency_frames() == 7
    with pytest.raises(ValueError, match="gives 16 features, MambaStack takes 6"):
        Chain(conformer(), mamba())
