"""Session 44 probe of the sequence models and kernels: offline forward against the streaming paths and against naive
references written from the papers (GLA's recurrent form, Yang et al. 2023)."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
import wavegraph.kernels.reference as ref
from wavegraph.models.gla import GLAConfig, GLAStack
from wavegraph.models.mamba import MambaConfig, MambaStack


def _rms(x: torch.Tensor, w, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def _gla_naive(m: GLAStack, x: torch.Tensor) -> torch.Tensor:
    """GLAStack from the paper's recurrent form, token by token, in x's dtype:
    S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t, o_t = q_t S_t / sqrt(dk), g = logsigmoid(x W_g1 W_g2 + b) / normalizer."""
    cfg = m.cfg
    h = m.in_proj(x) if m.in_proj is not None else x
    for blk in m.blocks:
        a = blk.attn
        u = _rms(h, blk.attn_norm.weight, cfg.norm_eps)
        b, n, _ = u.shape
        q = a.q_proj(u).view(b, n, a.n_heads, a.dk)
        k = a.k_proj(u).view(b, n, a.n_heads, a.dk)
        v = a.v_proj(u).view(b, n, a.n_heads, a.dv)
        g = (F.logsigmoid(a.g_proj(u)) / cfg.gate_logit_normalizer).view(b, n, a.n_heads, a.dk)
        S = torch.zeros(b, a.n_heads, a.dk, a.dv, dtype=x.dtype)
        outs = []
        for t in range(n):
            S = torch.exp(g[:, t])[..., None] * S + k[:, t, :, :, None] * v[:, t, :, None, :]
            outs.append(torch.einsum("bhk,bhkv->bhv", q[:, t], S) / math.sqrt(a.dk))
        o = _rms(torch.stack(outs, 1), a.o_norm.weight, cfg.norm_eps).flatten(-2) * F.silu(a.r_proj(u))
        h = h + a.o_proj(o)
        gate, up = blk.gate_up(_rms(h, blk.mlp_norm.weight, cfg.norm_eps)).chunk(2, -1)
        h = h + blk.down(F.silu(gate) * up)
    return _rms(h, m.norm_f.weight, cfg.norm_eps)


def test_a_float64_gla_computes_in_float64_offline_and_streaming():
    """A .double() GLAStack (its stream_dtype, what the model node runs on the CPU) against the paper's recurrence in
    float64: its RMSNorms and the forget gate went through float32 (`.float()`) and `forward` (no state) ran the
    attention in float32, so forward, stream and step were all 5e-7 off float64 (fp32 arithmetic)."""
    torch.manual_seed(0)
    cfg = GLAConfig(d_model=24, n_layers=2, d_in=7, n_heads=3, gate_low_rank=4, chunk_size=5)
    m = GLAStack(cfg).eval().double()
    x = torch.randn(2, 23, 7, dtype=torch.float64)
    with torch.no_grad():
        ref = _gla_naive(m, x)
        y = m(x)
        state = m.init_state(2, dtype=torch.float64)
        steps = []
        for t in range(x.shape[1]):
            o, state = m.step(x[:, t], state)
            steps.append(o)
        state = m.init_state(2, dtype=torch.float64)
        parts = []
        for a, b in ((0, 0), (0, 1), (1, 8), (8, 23)):
            o, state = m.stream(x[:, a:b], state)
            parts.append(o)
    assert y.dtype == torch.float64
    for got in (y, torch.cat(steps, 1), torch.cat(parts, 1)):
        assert (got - ref).abs().max().item() < 1e-12


def test_float64_gla_forward_equals_its_one_frame_stream_on_a_constant_input():
    """The default GLA on a held value, in float64 as documented (models/gla.py: 'any chunking gives the same output
    once rounded to fp32'): forward computed its attention in float32 from a zero fp32 state, 1.7e-5 off the float64
    1-frame stream (over the model node's 1e-5). Now forward takes a float64 state like the stream."""
    torch.manual_seed(3)
    m = GLAStack(GLAConfig(d_in=6)).eval().double()
    x = torch.full((1, 70, 6), 0.37, dtype=torch.float64)
    with torch.no_grad():
        y = m(x)
        state, parts = m.init_state(1, dtype=torch.float64), []
        for t in range(x.shape[1]):
            o, state = m.stream(x[:, t : t + 1], state)
            parts.append(o)
    assert (torch.cat(parts, 1) - y).abs().max().item() < 1e-10


def test_gla_config_with_an_infinite_expand_names_the_field():
    """expand_k Infinity (a hand-edited checkpoint JSON: 1e999) was OverflowError 'cannot convert float infinity to
    integer' from the width check, naming no field."""
    with pytest.raises(ValueError, match="expand_k"):
        GLAConfig(expand_k=math.inf)


def test_mamba_stream_of_an_empty_chunk_returns_a_state_of_its_own():
    """stream never modifies the state passed in, and step updates the state it is given in place. An empty chunk
    through MambaStack.stream returned the very tensors it was given, so stepping on from the returned state changed
    the state passed to stream (a snapshot kept to replay from), which a chunk of any other length did not."""
    torch.manual_seed(0)
    m = MambaStack(MambaConfig(d_model=8, n_layers=2, d_state=3)).eval()
    x = torch.randn(2, 6, 8)
    with torch.no_grad():
        _, kept = m.stream(x[:, :3], m.init_state(2))
        before = {k: v.clone() for k, v in kept.items()}
        _, state = m.stream(x[:, 3:3], kept)
        for t in range(3, 6):
            _, state = m.step(x[:, t], state)
        assert all(torch.equal(before[k], kept[k]) for k in kept)
        replay, _ = m.stream(x[:, 3:], kept)  # from the kept state again: as the whole run
        assert (replay - m(x)[:, 3:]).abs().max().item() <= m.stream_tolerance


def test_forcing_triton_for_cpu_tensors_outside_the_interpreter_says_what_to_set():
    """WAVEGRAPH_KERNELS=triton on a machine without a GPU and without TRITON_INTERPRET=1 (the kernels then compile for
    a GPU driver): every op failed with triton's own 'RuntimeError: 0 active drivers ([]). There should only be one.'"""
    code = (
        "import torch, wavegraph.kernels as K\n"
        "try:\n"
        "    K.causal_conv1d(torch.randn(1, 2, 3), torch.randn(2, 3))\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["WAVEGRAPH_KERNELS"] = "triton"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "TRITON_INTERPRET=1" in out.stdout and "WAVEGRAPH_KERNELS=ref" in out.stdout


def test_the_chunked_gla_and_scan_references_keep_the_recurrences_precision_with_strong_gates():
    """The chunked forms (the CPU path of GLAStack; the scan's on CUDA with autograd) take the decay between two steps
    of a chunk as the difference of cumulative sums, which cancels: with strong gates (-30 a step every 4th step) the
    float32 sums reached |G| ~ 500 and kept only their ulp there, so outputs were 5.7e-5 (GLA, |o| ~ 6) and 2.5e-3
    (scan, |y| ~ 230) off the plain recurrences. The sums are now taken in float64 (1e-6 and 3e-5)."""
    torch.manual_seed(0)
    L = 64
    q, k, v = torch.randn(1, 2, L, 8), torch.randn(1, 2, L, 8), torch.randn(1, 2, L, 8)
    g = torch.full((1, 2, L, 8), -0.05)
    g[..., ::4, :] = -30.0
    s0 = torch.randn(1, 2, 8, 8)
    o_rec, s_rec = ref.gla_recurrent_ref(q, k, v, g, s0)
    o_chk, s_chk = ref.gla_chunk_ref(q, k, v, g, s0)
    assert (o_chk - o_rec).abs().max().item() < 5e-6 and (s_chk - s_rec).abs().max().item() < 5e-6
    u, B, C = torch.randn(2, 4, L), torch.randn(2, 3, L), torch.randn(2, 3, L)
    A = -torch.rand(4, 3) * 10 - 1
    dt = torch.full((2, 4, L), 0.01)
    dt[..., ::4] = 20.0
    y_rec, h_rec = ref.selective_scan_ref(u, dt, A, B, C)
    y_chk, h_chk = ref.selective_scan_chunked_ref(u, dt, A, B, C)
    assert (y_chk - y_rec).abs().max().item() < 3e-4 and (h_chk - h_rec).abs().max().item() < 1e-4
