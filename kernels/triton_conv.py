"""Triton kernels for the causal depthwise conv1d (Mamba's short conv) and its single-step rolling update.

Only imported by the dispatch in kernels/__init__.py when the Triton backend is chosen. Semantics match
kernels/reference.py: y[b, d, t] = bias[d] + sum_k weight[d, k] * xpad[b, d, t + k] with xpad = [state | x],
fp32 accumulation, output in x's dtype, optional SiLU.

causal_conv1d: one program per (batch, block of channels, block of time). The width taps are unrolled
(width is a constexpr); a tap that reaches before t = 0 reads the carried state instead of x.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from . import reference as _ref


@triton.jit
def _conv_kernel(
    x_ptr,
    w_ptr,
    b_ptr,
    s_ptr,
    y_ptr,
    dim,
    L,
    WIDTH: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    HAS_STATE: tl.constexpr,
    SILU: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_L: tl.constexpr,
):
    pid_b = tl.program_id(0)
    pid_d = tl.program_id(1)
    pid_l = tl.program_id(2)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_l = pid_l * BLOCK_L + tl.arange(0, BLOCK_L)
    mask_d = offs_d < dim
    mask_l = offs_l < L
    row = pid_b.to(tl.int64) * dim * L + offs_d[:, None] * L  # 64-bit: batch * dim * L can pass 2**31
    srow = pid_b * dim * (WIDTH - 1) + offs_d[:, None] * (WIDTH - 1)
    acc = tl.zeros((BLOCK_D, BLOCK_L), dtype=tl.float32)
    if HAS_BIAS:
        acc += tl.load(b_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)[:, None]
    # triton's static_range.__iter__ raises outside the JIT (NoReturn), so pyright thinks it is not iterable
    for k in tl.static_range(WIDTH):  # pyright: ignore[reportGeneralTypeIssues]
        w = tl.load(w_ptr + offs_d * WIDTH + k, mask=mask_d, other=0.0).to(tl.float32)
        src = offs_l + (k - (WIDTH - 1))  # position in x; negative means the carried state
        m_x = mask_d[:, None] & (mask_l & (src >= 0))[None, :]
        xv = tl.load(x_ptr + row + src[None, :], mask=m_x, other=0.0).to(tl.float32)
        if HAS_STATE:
            spos = src + (WIDTH - 1)  # index into the (width-1)-long state
            m_s = mask_d[:, None] & (mask_l & (src < 0) & (spos >= 0))[None, :]
            xv += tl.load(s_ptr + srow + spos[None, :], mask=m_s, other=0.0).to(tl.float32)
        acc += w[:, None] * xv
    if SILU:
        acc = acc * tl.sigmoid(acc)
    tl.store(y_ptr + row + offs_l[None, :], acc.to(y_ptr.dtype.element_ty), mask=mask_d[:, None] & mask_l[None, :])


@triton.jit
def _conv_update_kernel(
    x_ptr,
    s_ptr,
    w_ptr,
    b_ptr,
    y_ptr,
    dim,
    WIDTH: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    SILU: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_W: tl.constexpr,
):
    pid_b = tl.program_id(0)
    pid_d = tl.program_id(1)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_w = tl.arange(0, BLOCK_W)
    mask_d = offs_d < dim
    srow = pid_b * dim * (WIDTH - 1) + offs_d[:, None] * (WIDTH - 1)
    in_state = mask_d[:, None] & (offs_w < WIDTH - 1)[None, :]
    # window = [state[0..W-2] | x]: columns 0..W-2 from the state, column W-1 is the new input
    win = tl.load(s_ptr + srow + offs_w[None, :], mask=in_state, other=0.0).to(tl.float32)
    x = tl.load(x_ptr + pid_b * dim + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    win = tl.where((offs_w == WIDTH - 1)[None, :], x[:, None], win)
    w = tl.load(
        w_ptr + offs_d[:, None] * WIDTH + offs_w[None, :], mask=mask_d[:, None] & (offs_w < WIDTH)[None, :], other=0.0
    ).to(tl.float32)
    y = tl.sum(win * w, axis=1)
    if HAS_BIAS:
        y += tl.load(b_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if SILU:
        y = y * tl.sigmoid(y)
    # roll: new state[j] = window[j + 1], i.e. window column c goes to state column c - 1 (c = 1..W-1)
    m_roll = mask_d[:, None] & ((offs_w >= 1) & (offs_w < WIDTH))[None, :]
    tl.store(s_ptr + srow + (offs_w - 1)[None, :], win.to(s_ptr.dtype.element_ty), mask=m_roll)
    tl.store(y_ptr + pid_b * dim + offs_d, y.to(y_ptr.dtype.element_ty), mask=mask_d)


def _silu_flag(activation) -> bool:
    if activation is None:
        return False
    if activation in ("silu", "swish"):
        return True
    raise ValueError(f"activation must be None or 'silu', got {activation!r}")


def causal_conv1d(x, weight, bias=None, initial_state=None, activation=None, block_d: int = 16, block_l: int = 64):
    b, d, L, w = _ref.check_conv_args(x, weight, bias, initial_state)
    silu = _silu_flag(activation)
    xc, wc = x.contiguous(), weight.contiguous()
    bc = None if bias is None else bias.contiguous()
    sc = None if initial_state is None or w == 1 else initial_state.contiguous()
    y = torch.empty_like(xc)
    if L > 0:
        grid = (b, triton.cdiv(d, block_d), triton.cdiv(L, block_l))
        # triton types kernel[grid] as the kernel's own signature, so Python values for tl.constexpr parameters fail the check
        _conv_kernel[grid](
            xc,
            wc,
            bc if bc is not None else y,
            sc if sc is not None else y,
            y,
            d,
            L,
            WIDTH=w,  # pyright: ignore[reportArgumentType]
            HAS_BIAS=bc is not None,  # pyright: ignore[reportArgumentType]
            HAS_STATE=sc is not None,  # pyright: ignore[reportArgumentType]
            SILU=silu,  # pyright: ignore[reportArgumentType]
            BLOCK_D=block_d,  # pyright: ignore[reportArgumentType]
            BLOCK_L=block_l,  # pyright: ignore[reportArgumentType]
        )
    # the final state is the last width-1 inputs of [state | x]; only those columns are touched
    if L >= w - 1:
        final = x[..., L - (w - 1) :].clone()
    else:
        prev = x.new_zeros(b, d, w - 1) if initial_state is None else initial_state.to(x.dtype)
        final = torch.cat([prev[..., L:], x], dim=-1)
    return y, final


def causal_conv1d_update(x, conv_state, weight, bias=None, activation=None, block_d: int = 64):
    b, d, w = _ref.check_conv_update_args(x, conv_state, weight, bias)
    silu = _silu_flag(activation)
    xc, wc = x.contiguous(), weight.contiguous()
    bc = None if bias is None else bias.contiguous()
    work = conv_state if conv_state.is_contiguous() else conv_state.contiguous()
    y = torch.empty_like(xc)
    grid = (b, triton.cdiv(d, block_d))
    # triton types kernel[grid] as the kernel's own signature, so Python values for tl.constexpr parameters fail the check
    _conv_update_kernel[grid](
        xc,
        work,
        wc,
        bc if bc is not None else y,
        y,
        d,
        WIDTH=w,  # pyright: ignore[reportArgumentType]
        HAS_BIAS=bc is not None,  # pyright: ignore[reportArgumentType]
        SILU=silu,  # pyright: ignore[reportArgumentType]
        BLOCK_D=block_d,  # pyright: ignore[reportArgumentType]
        BLOCK_W=triton.next_power_of_2(w),  # pyright: ignore[reportArgumentType]
    )
    if work is not conv_state:
        conv_state.copy_(work)
    return y
