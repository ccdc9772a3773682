"""Triton kernels for gated linear attention (Yang et al. 2023): chunked forward and single-token step.

Only imported by the dispatch in kernels/__init__.py when the Triton backend is chosen. Semantics match
kernels/reference.py (fp32 state, output in v's dtype).

gla_chunk: one program per (batch*head, block of BV value columns); it walks the sequence in chunks of BT=16
tokens holding the (dk, BV) state in registers. Per chunk, with G the in-chunk cumulative log gate:
    inter:  o  = (q * e^G) @ S                          (tl.dot, e^G <= 1)
    intra:  o += sum_{j<=i} (sum_k q_ik k_jk e^{G_ik - G_jk}) v_j   (a loop over the chunk's columns j; the
            exponent is masked to j <= i before exp, so only e^{<=0} is taken: stable for any gate strength)
    state:  S  = e^{G_last} S + (k * e^{G_last - G})^T @ v
The chunk length is the kernel's tile (16, the smallest tl.dot tile); the result does not depend on it, so the
`chunk_size` argument only applies to the reference path. fp32 dots use IEEE precision (no TF32).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from . import reference as _ref
from .dispatch import ENV_VAR, TRITON_MAX_DIM

CHUNK = 16


@triton.jit
def _gla_chunk_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    g_ptr,
    s0_ptr,
    o_ptr,
    sT_ptr,
    L,
    DK,
    DV,
    scale,
    HAS_S0: tl.constexpr,
    BT: tl.constexpr,
    BK: tl.constexpr,
    BV: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_v = tl.program_id(1)
    offs_t = tl.arange(0, BT)
    offs_k = tl.arange(0, BK)
    offs_v = pid_v * BV + tl.arange(0, BV)
    mk = offs_k < DK
    mv = offs_v < DV
    qk_base = pid_bh.to(tl.int64) * L * DK
    v_base = pid_bh.to(tl.int64) * L * DV
    s_off = pid_bh.to(tl.int64) * DK * DV + offs_k[:, None] * DV + offs_v[None, :]
    m_s = mk[:, None] & mv[None, :]
    if HAS_S0:
        S = tl.load(s0_ptr + s_off, mask=m_s, other=0.0).to(tl.float32)
    else:
        S = tl.zeros((BK, BV), dtype=tl.float32)
    for t0 in range(0, L, BT):
        rows = t0 + offs_t
        mt = rows < L
        m_tk = mt[:, None] & mk[None, :]
        m_tv = mt[:, None] & mv[None, :]
        qk_off = qk_base + rows[:, None] * DK + offs_k[None, :]
        q = tl.load(q_ptr + qk_off, mask=m_tk, other=0.0).to(tl.float32)
        k = tl.load(k_ptr + qk_off, mask=m_tk, other=0.0).to(tl.float32)
        g = tl.load(g_ptr + qk_off, mask=m_tk, other=0.0).to(tl.float32)  # padded rows: no decay, no input
        v = tl.load(v_ptr + v_base + rows[:, None] * DV + offs_v[None, :], mask=m_tv, other=0.0).to(tl.float32)
        G = tl.cumsum(g, axis=0)
        o = tl.dot(q * tl.exp(G), S, input_precision="ieee")
        Gj = tl.zeros((BK,), dtype=tl.float32)
        for j in range(0, BT):
            rj = t0 + j
            mjk = mk & ((offs_k * 0 + rj) < L)  # vector masks (a scalar mask is not accepted everywhere)
            mjv = mv & ((offs_v * 0 + rj) < L)
            Gj += tl.load(g_ptr + qk_base + rj * DK + offs_k, mask=mjk, other=0.0).to(tl.float32)
            kj = tl.load(k_ptr + qk_base + rj * DK + offs_k, mask=mjk, other=0.0).to(tl.float32)
            vj = tl.load(v_ptr + v_base + rj * DV + offs_v, mask=mjv, other=0.0).to(tl.float32)
            expo = tl.where((offs_t >= j)[:, None], G - Gj[None, :], float("-inf"))
            a = tl.sum(q * kj[None, :] * tl.exp(expo), axis=1)  # (BT,) scores of column j
            # triton annotates tensor.__getitem__'s index as constexpr; a None (new axis) in the tuple is valid in a kernel
            o += a[:, None] * vj[None, :]  # pyright: ignore[reportArgumentType]
        tl.store(
            o_ptr + v_base + rows[:, None] * DV + offs_v[None, :], (o * scale).to(o_ptr.dtype.element_ty), mask=m_tv
        )
        G_last = tl.sum(tl.where((offs_t == BT - 1)[:, None], G, 0.0), axis=0)  # padded rows add 0 to G
        # triton annotates tensor.__getitem__'s index as constexpr; a None (new axis) in the tuple is valid in a kernel
        kd = k * tl.exp(G_last[None, :] - G)  # pyright: ignore[reportArgumentType]
        S = tl.exp(G_last)[:, None] * S + tl.dot(tl.trans(kd), v, input_precision="ieee")
    tl.store(sT_ptr + s_off, S, mask=m_s)


@triton.jit
def _gla_step_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    g_ptr,
    s_ptr,
    o_ptr,
    DK,
    DV,
    scale,
    BK: tl.constexpr,
    BV: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_v = tl.program_id(1)
    offs_k = tl.arange(0, BK)
    offs_v = pid_v * BV + tl.arange(0, BV)
    mk = offs_k < DK
    mv = offs_v < DV
    s_ptrs = s_ptr + pid_bh.to(tl.int64) * DK * DV + offs_k[:, None] * DV + offs_v[None, :]
    m_s = mk[:, None] & mv[None, :]
    S = tl.load(s_ptrs, mask=m_s, other=0.0).to(tl.float32)
    q = tl.load(q_ptr + pid_bh * DK + offs_k, mask=mk, other=0.0).to(tl.float32)
    k = tl.load(k_ptr + pid_bh * DK + offs_k, mask=mk, other=0.0).to(tl.float32)
    g = tl.load(g_ptr + pid_bh * DK + offs_k, mask=mk, other=0.0).to(tl.float32)
    v = tl.load(v_ptr + pid_bh * DV + offs_v, mask=mv, other=0.0).to(tl.float32)
    S = tl.exp(g)[:, None] * S + k[:, None] * v[None, :]
    tl.store(s_ptrs, S.to(s_ptr.dtype.element_ty), mask=m_s)
    o = tl.sum(q[:, None] * S, axis=0) * scale
    tl.store(o_ptr + pid_bh * DV + offs_v, o.to(o_ptr.dtype.element_ty), mask=mv)


def _blocks(dk: int, dv: int) -> tuple[int, int]:
    if dk > TRITON_MAX_DIM:
        raise ValueError(
            f"key dim dk={dk} is above the Triton GLA kernels' limit of {TRITON_MAX_DIM}; {ENV_VAR}=triton forces "
            f"them: unset it (or set {ENV_VAR}=ref) to run the reference, which has no limit"
        )
    return max(16, triton.next_power_of_2(dk)), max(16, min(64, triton.next_power_of_2(dv)))


def gla_chunk(q, k, v, g, initial_state=None, scale=None, chunk_size=64):
    b, h, L, dk, dv = _ref.check_gla_args(q, k, v, g, initial_state)
    _ref.check_chunk_size(chunk_size)
    scale = _ref.gla_scale(scale, dk)
    g = g.clamp_min(_ref.GATE_FLOOR)  # a -inf gate would give NaN differences inside a chunk (see gla_chunk_ref)
    q, k, v, g = (t.contiguous() for t in (q, k, v, g))
    s0 = None if initial_state is None else initial_state.float().contiguous()
    o = torch.empty_like(v)
    sT = torch.empty(b, h, dk, dv, device=v.device, dtype=torch.float32)
    BK, BV = _blocks(dk, dv)
    grid = (b * h, triton.cdiv(dv, BV))
    # triton types kernel[grid] as the kernel's own signature, so Python values for tl.constexpr parameters fail the check
    _gla_chunk_kernel[grid](
        q,
        k,
        v,
        g,
        s0 if s0 is not None else sT,
        o,
        sT,
        L,
        dk,
        dv,
        scale,
        HAS_S0=s0 is not None,  # pyright: ignore[reportArgumentType]
        BT=CHUNK,  # pyright: ignore[reportArgumentType]
        BK=BK,  # pyright: ignore[reportArgumentType]
        BV=BV,  # pyright: ignore[reportArgumentType]
    )
    return o, sT


def gla_step(q, k, v, g, state, scale=None):
    b, h, dk, dv = _ref.check_gla_step_args(q, k, v, g, state)
    scale = _ref.gla_scale(scale, dk)
    q, k, v, g = (t.contiguous() for t in (q, k, v, g))
    work = state if state.is_contiguous() else state.contiguous()
    o = torch.empty_like(v)
    BK, BV = _blocks(dk, dv)
    # triton types kernel[grid] as the kernel's own signature, so Python values for tl.constexpr parameters fail the check
    _gla_step_kernel[(b * h, triton.cdiv(dv, BV))](q, k, v, g, work, o, dk, dv, scale, BK=BK, BV=BV)  # pyright: ignore[reportArgumentType]
    if work is not state:
        state.copy_(work)
    return o
