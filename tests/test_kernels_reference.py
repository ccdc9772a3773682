"""The torch references: sequential and chunked forms agree with each other and with a plain float64 scalar
recurrence written here independently; step ops chained over time equal the sequence ops; dispatch picks the
reference on CPU tensors and honours WAVEGRAPH_KERNELS."""

import os
from typing import Any

os.environ.setdefault("TRITON_INTERPRET", "1")  # before anything imports triton

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import wavegraph.kernels as kernels
from wavegraph.kernels import dispatch
from wavegraph.kernels import reference as R


def _scan_inputs(b=2, d=3, L=13, n=4, seed=0) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    return dict(
        u=torch.randn(b, d, L, generator=g),
        delta=torch.randn(b, d, L, generator=g) * 0.5,
        A=-torch.rand(d, n, generator=g) - 0.2,
        B=torch.randn(b, n, L, generator=g),
        C=torch.randn(b, n, L, generator=g),
        D=torch.randn(d, generator=g),
        z=torch.randn(b, d, L, generator=g),
        delta_bias=torch.randn(d, generator=g) * 0.1,
        delta_softplus=True,
        initial_state=torch.randn(b, d, n, generator=g),
    )


def _plain_scan(a):
    """Scalar float64 loops straight from the Mamba equations."""
    u, dl, A, B, C = (a[k].double().numpy() for k in ("u", "delta", "A", "B", "C"))
    D, z, db, h0 = (a[k].double().numpy() for k in ("D", "z", "delta_bias", "initial_state"))
    b, d, L = u.shape
    n = A.shape[1]
    y = np.zeros((b, d, L))
    h = h0.copy()
    for i in range(b):
        for c in range(d):
            for t in range(L):
                dt = np.log1p(np.exp(dl[i, c, t] + db[c]))
                acc = 0.0
                for s in range(n):
                    h[i, c, s] = np.exp(dt * A[c, s]) * h[i, c, s] + dt * B[i, s, t] * u[i, c, t]
                    acc += C[i, s, t] * h[i, c, s]
                acc += D[c] * u[i, c, t]
                y[i, c, t] = acc * z[i, c, t] / (1 + np.exp(-z[i, c, t]))
    return y, h


@pytest.mark.parametrize("chunk", [1, 4, 5, 64])
def test_scan_sequential_chunked_and_plain_recurrence_agree(chunk):
    a = _scan_inputs()
    y_plain, h_plain = _plain_scan(a)
    y_seq, h_seq = R.selective_scan_ref(**a)
    y_chk, h_chk = R.selective_scan_chunked_ref(**a, chunk_size=chunk)
    for y, h in ((y_seq, h_seq), (y_chk, h_chk)):
        np.testing.assert_allclose(y.numpy(), y_plain, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(h.numpy(), h_plain, rtol=1e-4, atol=1e-4)
    assert h_seq.dtype == torch.float32


def test_scan_state_continuation_and_step_ops():
    a = _scan_inputs(L=11)
    y, h = R.selective_scan_chunked_ref(**a, chunk_size=4)
    cut = 6
    first = {k: (v[..., :cut] if k in ("u", "delta", "B", "C", "z") else v) for k, v in a.items()}
    second = {k: (v[..., cut:] if k in ("u", "delta", "B", "C", "z") else v) for k, v in a.items()}
    y1, h1 = R.selective_scan_chunked_ref(**first, chunk_size=4)
    second["initial_state"] = h1
    y2, h2 = R.selective_scan_chunked_ref(**second, chunk_size=4)
    torch.testing.assert_close(torch.cat([y1, y2], -1), y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h2, h, rtol=1e-5, atol=1e-5)
    # the single-step op walked over time is the same recurrence
    state = a["initial_state"].clone()
    ys = [
        R.selective_state_update_ref(
            state,
            a["u"][..., t],
            a["delta"][..., t],
            a["A"],
            a["B"][..., t],
            a["C"][..., t],
            a["D"],
            a["z"][..., t],
            a["delta_bias"],
            True,
        )
        for t in range(11)
    ]
    torch.testing.assert_close(torch.stack(ys, -1), y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state, h, rtol=1e-5, atol=1e-5)


def _plain_gla(q, k, v, g, S0, scale):
    q, k, v, g, S = (t.double().numpy() for t in (q, k, v, g, S0))
    S = S.copy()
    b, h, L, dk = q.shape
    o = np.zeros(v.shape)
    for t in range(L):
        S = np.exp(g[:, :, t])[..., None] * S + k[:, :, t, :, None] * v[:, :, t, None, :]
        o[:, :, t] = scale * np.einsum("bhk,bhkv->bhv", q[:, :, t], S)
    return o, S


@pytest.mark.parametrize("chunk", [1, 3, 16, 64])
def test_gla_recurrent_chunked_and_plain_agree(chunk):
    g_ = torch.Generator().manual_seed(1)
    b, h, L, dk, dv = 2, 2, 19, 5, 6
    q, k = torch.randn(b, h, L, dk, generator=g_), torch.randn(b, h, L, dk, generator=g_)
    v = torch.randn(b, h, L, dv, generator=g_)
    g = F.logsigmoid(torch.randn(b, h, L, dk, generator=g_) * 2)
    S0 = torch.randn(b, h, dk, dv, generator=g_)
    o_plain, S_plain = _plain_gla(q, k, v, g, S0, dk**-0.5)
    for o, S in (R.gla_recurrent_ref(q, k, v, g, S0), R.gla_chunk_ref(q, k, v, g, S0, chunk_size=chunk)):
        np.testing.assert_allclose(o.numpy(), o_plain, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(S.numpy(), S_plain, rtol=1e-4, atol=1e-4)
    state = S0.clone()
    steps = torch.stack([R.gla_step_ref(q[:, :, t], k[:, :, t], v[:, :, t], g[:, :, t], state) for t in range(L)], 2)
    np.testing.assert_allclose(steps.numpy(), o_plain, rtol=1e-4, atol=1e-4)


def test_gla_chunked_is_stable_under_strong_decay():
    b, h, L, dk, dv = 1, 1, 40, 4, 4
    q, k, v = torch.ones(b, h, L, dk), torch.ones(b, h, L, dk), torch.ones(b, h, L, dv)
    g = torch.full((b, h, L, dk), -30.0)  # exp(-30 * 40) underflows; a naive factorisation gives inf * 0
    o, S = R.gla_chunk_ref(q, k, v, g, chunk_size=64)
    assert torch.isfinite(o).all() and torch.isfinite(S).all()
    torch.testing.assert_close(o, torch.full_like(o, dk * dk**-0.5))  # only the current token survives


def test_conv_reference_against_direct_sum_and_update_steps():
    g_ = torch.Generator().manual_seed(2)
    b, d, L, w = 2, 3, 9, 4
    x, wt, bias = torch.randn(b, d, L, generator=g_), torch.randn(d, w, generator=g_), torch.randn(d, generator=g_)
    s0 = torch.randn(b, d, w - 1, generator=g_)
    y, fin = R.causal_conv1d_ref(x, wt, bias, s0, "silu")
    xpad = torch.cat([s0, x], -1)
    direct = torch.stack([(xpad[..., t : t + w] * wt).sum(-1) + bias for t in range(L)], -1)
    torch.testing.assert_close(y, F.silu(direct))
    torch.testing.assert_close(fin, x[..., -(w - 1) :])
    state = s0.clone()
    steps = torch.stack([R.causal_conv1d_update_ref(x[..., t], state, wt, bias, "silu") for t in range(L)], -1)
    torch.testing.assert_close(steps, y)
    torch.testing.assert_close(state, fin)
    # shorter than the window: the final state keeps part of the initial state
    _, fin2 = R.causal_conv1d_ref(x[..., :2], wt, bias, s0)
    torch.testing.assert_close(fin2, torch.cat([s0[..., 2:], x[..., :2]], -1))
    # an empty chunk (the scan and GLA references accept L = 0 too): no output, the state passes through
    y0, fin0 = R.causal_conv1d_ref(x[..., :0], wt, bias, s0, "silu")
    assert y0.shape == (b, d, 0) and y0.dtype == x.dtype
    torch.testing.assert_close(fin0, s0)


def test_bad_shapes_and_activation_are_clear_errors():
    a = _scan_inputs()
    a["B"] = a["B"][:, :, :-1]
    with pytest.raises(ValueError, match="B has shape"):
        kernels.selective_scan(**a)
    with pytest.raises(ValueError, match="activation"):
        kernels.causal_conv1d(torch.randn(1, 2, 5), torch.randn(2, 3), activation="relu")
    with pytest.raises(ValueError, match="state_batch_indices"):
        kernels.selective_state_update(
            torch.zeros(5, 2, 3),
            torch.randn(2, 2),
            torch.randn(2, 2),
            -torch.rand(2, 3),
            torch.randn(2, 3),
            torch.randn(2, 3),
        )


def test_dispatch_picks_reference_on_cpu_and_honours_override(monkeypatch):
    t = torch.zeros(2)
    monkeypatch.delenv(dispatch.ENV_VAR, raising=False)
    assert dispatch.select_backend(t, None) == "ref"
    monkeypatch.setenv(dispatch.ENV_VAR, "ref")
    assert dispatch.select_backend(t) == "ref"
    monkeypatch.setenv(dispatch.ENV_VAR, "triton")
    assert dispatch.select_backend(t) == "triton"
    monkeypatch.setenv(dispatch.ENV_VAR, "cuda")
    with pytest.raises(ValueError, match="WAVEGRAPH_KERNELS"):
        dispatch.select_backend(t)
    # forward-only kernels: gradients need the differentiable reference
    w = torch.zeros(2, requires_grad=True)
    monkeypatch.setenv(dispatch.ENV_VAR, "triton")
    with pytest.raises(RuntimeError, match="forward-only"):
        dispatch.select_backend(t, w)
    with torch.no_grad():
        assert dispatch.select_backend(t, w) == "triton"
    if torch.cuda.is_available():
        monkeypatch.delenv(dispatch.ENV_VAR)
        assert dispatch.select_backend(t.cuda()) == ("triton" if dispatch.triton_available() else "ref")


def test_public_api_is_exactly_the_six_ops():
    assert sorted(kernels.__all__) == sorted(
        ["selective_scan", "selective_state_update", "causal_conv1d", "causal_conv1d_update", "gla_chunk", "gla_step"]
    )
