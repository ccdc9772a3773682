"""GLA layer/block: a sequence fed whole equals it fed in chunks with the state carried, equals token-by-token
steps; the Triton path (interpreter) equals the reference path; forward leaves the input state alone, step
updates it in place; gradients flow (reference path)."""

from typing import Any

import pytest
import torch
from conftest import need
from wavegraph.kernels.dispatch import triton_available
from wavegraph.models.gla import GLABlock, GLAConfig, GLAStack
from wavegraph.models.streaming import assert_stream_equals_forward

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CFG: dict[str, Any] = dict(d_model=32, n_heads=2, gate_low_rank=8, gate_logit_normalizer=4.0)


def _model(block=True, **kw):
    torch.manual_seed(0)
    cfg = GLAConfig(**{**CFG, **kw})
    m = GLABlock(cfg) if block else GLABlock(cfg).attn
    return m.eval()


@pytest.mark.parametrize("block", [True, False])
def test_full_equals_chunked_equals_steps(block):
    m = _model(block, chunk_size=8)
    x = torch.randn(2, 29, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y_full, s_full = m(x)
        state, parts = None, []
        for a, b in ((0, 1), (1, 12), (12, 13), (13, 29)):
            y, state = m(x[:, a:b], state)
            parts.append(y)
        torch.testing.assert_close(torch.cat(parts, 1), y_full, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(state, s_full, rtol=1e-5, atol=1e-5)
        st = m.init_state(2)
        steps = []
        for t in range(29):
            y_t, st2 = m.step(x[:, t], st)
            assert st2 is st
            steps.append(y_t)
        torch.testing.assert_close(torch.stack(steps, 1), y_full, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(st, s_full, rtol=1e-5, atol=1e-5)


def test_stack_follows_the_streaming_api():
    torch.manual_seed(0)
    stack = GLAStack(GLAConfig(**CFG, n_layers=2, d_in=6, chunk_size=8)).eval()
    x = torch.randn(2, 41, 6, generator=torch.Generator().manual_seed(3))
    ref = assert_stream_equals_forward(stack, x)  # chunkings incl. empty chunks, step by step, state untouched
    assert ref.shape == (2, 41, 32) and ref.abs().mean() > 0.1
    assert stack.init_state(2).keys() == {"S.0", "S.1"} and stack.latency_frames() == 0 and stack.stride == 1
    with torch.no_grad():
        y, state = stack.stream(x[:, :20], stack.init_state(2))
        carried = stack.stream(x[:, 20:], state)[0]
        fresh = stack.stream(x[:, 20:], stack.init_state(2))[0]
    assert (carried - fresh).abs().max() > 1e-3  # the state matters
    with pytest.raises(ValueError, match="d_in=6"):
        stack(torch.randn(1, 5, 32))
    with pytest.raises(TypeError):
        stack.init_state(1, att_context=(4, 1))  # pyright: ignore[reportCallIssue]  (GLA takes no stream options)


def test_forward_keeps_input_state_and_state_matters():
    m = _model()
    x = torch.randn(1, 10, 32)
    with torch.no_grad():
        _, s = m(x[:, :5])
        s_copy = s.clone()
        y_carried, _ = m(x[:, 5:], s)
        y_fresh, _ = m(x[:, 5:])
    assert torch.equal(s, s_copy)
    assert not torch.allclose(y_carried, y_fresh, atol=1e-4)


def test_triton_path_matches_reference(monkeypatch):
    need(triton_available(), "triton is not installed")
    m = _model()
    x = torch.randn(1, 20, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        monkeypatch.setenv("WAVEGRAPH_KERNELS", "ref")
        y_ref, s_ref = m(x)
        st_ref = s_ref.clone()
        yt_ref, _ = m.step(x[:, 0], st_ref)
        monkeypatch.setenv("WAVEGRAPH_KERNELS", "triton")
        y_tri, s_tri = m(x)
        st_tri = s_tri.clone()
        yt_tri, _ = m.step(x[:, 0], st_tri)
    torch.testing.assert_close(y_tri, y_ref, rtol=3e-4, atol=1e-4)
    torch.testing.assert_close(s_tri, s_ref, rtol=3e-4, atol=1e-4)
    torch.testing.assert_close(yt_tri, yt_ref, rtol=3e-4, atol=1e-4)
    torch.testing.assert_close(st_tri, st_ref, rtol=3e-4, atol=1e-4)


def test_gradients_flow_and_bad_input_errors():
    m = _model().train()
    x = torch.randn(1, 9, 32, requires_grad=True)
    y, _ = m(x)
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert isinstance(m, GLABlock)
    gate = m.attn.g_proj[1]
    assert isinstance(gate, torch.nn.Linear)
    grad = gate.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    with pytest.raises(ValueError, match="state has shape"):
        m(x.detach(), torch.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match="multiple of n_heads"):
        GLAConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="unknown GLAConfig keys"):
        GLAConfig.from_dict({"d_model": 32, "heads": 2})
