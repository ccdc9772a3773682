"""Triton kernels for the Mamba selective scan and its single-step state update.

Only imported by the dispatch in kernels/__init__.py when the Triton backend is chosen (triton is imported here at
module level). Semantics, shapes and dtypes match kernels/reference.py; state is fp32 inside the kernels.

selective_scan: one program per (batch, block of BLOCK_D channels). It walks the sequence in tiles of BLOCK_L
steps; inside a tile the linear recurrence h_t = a_t h_{t-1} + b_t is solved with tl.associative_scan over the
time axis of a (BLOCK_D, N, BLOCK_L) tile, then the carried state is applied and y = <C_t, h_t> is reduced over N.
Loads along time are contiguous (time is the last axis), so each tile load is coalesced.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from . import reference as _ref
from .dispatch import ENV_VAR, TRITON_MAX_DIM


@triton.jit
def _affine_combine(a1, b1, a2, b2):
    # compose h -> a1 h + b1 then h -> a2 h + b2
    return a1 * a2, b1 * a2 + b2


@triton.jit
def _softplus(x):
    return tl.where(x <= 20.0, tl.log(1.0 + tl.exp(x)), x)


@triton.jit
def _selective_scan_kernel(
    u_ptr,
    dt_ptr,
    A_ptr,
    B_ptr,
    C_ptr,
    D_ptr,
    z_ptr,
    dtb_ptr,
    h0_ptr,
    y_ptr,
    hT_ptr,
    dim,
    L,
    N,
    HAS_D: tl.constexpr,
    HAS_Z: tl.constexpr,
    HAS_DTB: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    HAS_H0: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_L: tl.constexpr,
):
    pid_b = tl.program_id(0)
    pid_d = tl.program_id(1)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    mask_d = offs_d < dim
    mask_n = offs_n < N
    mask_dn = mask_d[:, None] & mask_n[None, :]

    A = tl.load(A_ptr + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0).to(tl.float32)
    state_off = pid_b.to(tl.int64) * dim * N + offs_d[:, None] * N + offs_n[None, :]
    if HAS_H0:
        h = tl.load(h0_ptr + state_off, mask=mask_dn, other=0.0).to(tl.float32)
    else:
        h = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_DTB:
        dtb = tl.load(dtb_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)

    pb = pid_b.to(tl.int64)  # 64-bit offsets: batch * dim * L can pass 2**31
    row = pb * dim * L + offs_d[:, None] * L  # (BLOCK_D, 1) offsets of (batch, d, 0)
    brow = pb * N * L + offs_n[:, None] * L  # (BLOCK_N, 1) offsets of (batch, n, 0)
    last = (tl.arange(0, BLOCK_L) == BLOCK_L - 1)[None, None, :]
    for l0 in range(0, L, BLOCK_L):
        offs_l = l0 + tl.arange(0, BLOCK_L)
        mask_l = offs_l < L
        m_dl = mask_d[:, None] & mask_l[None, :]
        m_nl = mask_n[:, None] & mask_l[None, :]
        u = tl.load(u_ptr + row + offs_l[None, :], mask=m_dl, other=0.0).to(tl.float32)
        dt = tl.load(dt_ptr + row + offs_l[None, :], mask=m_dl, other=0.0).to(tl.float32)
        if HAS_DTB:
            dt = dt + dtb[:, None]
        if SOFTPLUS:
            dt = _softplus(dt)
        Bt = tl.load(B_ptr + brow + offs_l[None, :], mask=m_nl, other=0.0).to(tl.float32)
        Ct = tl.load(C_ptr + brow + offs_l[None, :], mask=m_nl, other=0.0).to(tl.float32)
        # padded steps (l >= L) get a = 1, b = 0 so the tile's last column is the state after the last real step
        a = tl.exp(dt[:, None, :] * A[:, :, None])
        a = tl.where(mask_l[None, None, :], a, 1.0)
        b = (dt * u)[:, None, :] * Bt[None, :, :]
        b = tl.where(mask_l[None, None, :], b, 0.0)
        a_cum, b_cum = tl.associative_scan((a, b), axis=2, combine_fn=_affine_combine)
        # triton annotates tensor.__getitem__'s index as constexpr; a None (new axis) in the tuple is valid in a kernel
        hs = a_cum * h[:, :, None] + b_cum  # (BLOCK_D, BLOCK_N, BLOCK_L)  # pyright: ignore[reportArgumentType]
        y = tl.sum(hs * Ct[None, :, :], axis=1)  # (BLOCK_D, BLOCK_L)
        if HAS_D:
            y = y + u * Dv[:, None]
        if HAS_Z:
            zz = tl.load(z_ptr + row + offs_l[None, :], mask=m_dl, other=0.0).to(tl.float32)
            y = y * zz * tl.sigmoid(zz)
        tl.store(y_ptr + row + offs_l[None, :], y.to(y_ptr.dtype.element_ty), mask=m_dl)
        h = tl.sum(tl.where(last, hs, 0.0), axis=2)
    tl.store(hT_ptr + state_off, h, mask=mask_dn)


@triton.jit
def _state_update_kernel(
    state_ptr,
    x_ptr,
    dt_ptr,
    A_ptr,
    B_ptr,
    C_ptr,
    D_ptr,
    z_ptr,
    dtb_ptr,
    idx_ptr,
    y_ptr,
    dim,
    N,
    n_slots,
    HAS_D: tl.constexpr,
    HAS_Z: tl.constexpr,
    HAS_DTB: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    HAS_IDX: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid_b = tl.program_id(0)
    pid_d = tl.program_id(1)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    mask_d = offs_d < dim
    mask_n = offs_n < N
    mask_dn = mask_d[:, None] & mask_n[None, :]
    if HAS_IDX:
        slot = tl.load(idx_ptr + pid_b).to(tl.int64)
    else:
        slot = pid_b.to(tl.int64)
    # an unchecked slot index out of range touches no state, and its row gets NaN (vector masks: a scalar mask is
    # not accepted everywhere)
    slot_d = offs_d.to(tl.int64) * 0 + slot
    valid = (slot_d >= 0) & (slot_d < n_slots)
    mask_dn = mask_dn & valid[:, None]
    s_ptrs = state_ptr + slot * dim * N + offs_d[:, None] * N + offs_n[None, :]
    h = tl.load(s_ptrs, mask=mask_dn, other=0.0).to(tl.float32)
    x = tl.load(x_ptr + pid_b * dim + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    dt = tl.load(dt_ptr + pid_b * dim + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_DTB:
        dt = dt + tl.load(dtb_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if SOFTPLUS:
        dt = _softplus(dt)
    A = tl.load(A_ptr + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0).to(tl.float32)
    Bv = tl.load(B_ptr + pid_b * N + offs_n, mask=mask_n, other=0.0).to(tl.float32)
    Cv = tl.load(C_ptr + pid_b * N + offs_n, mask=mask_n, other=0.0).to(tl.float32)
    h = tl.exp(dt[:, None] * A) * h + (dt * x)[:, None] * Bv[None, :]
    tl.store(s_ptrs, h.to(state_ptr.dtype.element_ty), mask=mask_dn)
    y = tl.sum(h * Cv[None, :], axis=1)
    if HAS_D:
        y = y + x * tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_Z:
        zz = tl.load(z_ptr + pid_b * dim + offs_d, mask=mask_d, other=0.0).to(tl.float32)
        y = y * zz * tl.sigmoid(zz)
    y = tl.where(valid, y, float("nan"))
    tl.store(y_ptr + pid_b * dim + offs_d, y.to(y_ptr.dtype.element_ty), mask=mask_d)


def _c(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.contiguous()


# selective_scan's (block_d, block_l, num_warps) when none are given. CUDA: the fastest of hand-picked configs on an
# H200 (small tiles, one warp: many programs in flight; docs/benchmarks.md, Kernels). The CPU interpreter: larger
# tiles, since each program costs Python there.
SCAN_LAUNCH = {"cuda": (4, 8, 1), "interpreter": (16, 16, 4)}


def _block_n(n: int) -> int:
    if n > TRITON_MAX_DIM:
        raise ValueError(
            f"state size N={n} is above the Triton kernels' limit of {TRITON_MAX_DIM}; {ENV_VAR}=triton forces "
            f"them: unset it (or set {ENV_VAR}=ref) to run the reference, which has no limit"
        )
    return triton.next_power_of_2(n)


def selective_scan(
    u,
    delta,
    A,
    B,
    C,
    D=None,
    z=None,
    delta_bias=None,
    delta_softplus=False,
    initial_state=None,
    block_d: int | None = None,
    block_l: int | None = None,
    num_warps: int | None = None,
    num_stages: int = 3,
):
    """Launch settings not given come from SCAN_LAUNCH, by device."""
    b, d, L, n = _ref.check_scan_args(u, delta, A, B, C, D, z, delta_bias, initial_state)
    defaults = SCAN_LAUNCH["cuda" if u.is_cuda else "interpreter"]
    block_d, block_l, num_warps = (given or default for given, default in zip((block_d, block_l, num_warps), defaults))
    u, delta, A, B, C = (t.contiguous() for t in (u, delta, A, B, C))
    D, z, delta_bias = map(_c, (D, z, delta_bias))
    h0 = None if initial_state is None else initial_state.float().contiguous()
    y = torch.empty_like(u)
    hT = torch.empty(b, d, n, device=u.device, dtype=torch.float32)
    dummy = hT  # stands in for absent optional pointers; never read (the HAS_* flag is False)
    grid = (b, triton.cdiv(d, block_d))
    # triton types kernel[grid] as the kernel's own signature, so Python values for tl.constexpr parameters fail the check
    _selective_scan_kernel[grid](
        u,
        delta,
        A,
        B,
        C,
        D if D is not None else dummy,
        z if z is not None else dummy,
        delta_bias if delta_bias is not None else dummy,
        h0 if h0 is not None else dummy,
        y,
        hT,
        d,
        L,
        n,
        HAS_D=D is not None,  # pyright: ignore[reportArgumentType]
        HAS_Z=z is not None,  # pyright: ignore[reportArgumentType]
        HAS_DTB=delta_bias is not None,  # pyright: ignore[reportArgumentType]
        SOFTPLUS=bool(delta_softplus),  # pyright: ignore[reportArgumentType]
        HAS_H0=h0 is not None,  # pyright: ignore[reportArgumentType]
        BLOCK_D=block_d,  # pyright: ignore[reportArgumentType]
        BLOCK_N=_block_n(n),  # pyright: ignore[reportArgumentType]
        BLOCK_L=block_l,  # pyright: ignore[reportArgumentType]
        num_warps=num_warps,  # pyright: ignore[reportCallIssue]  # a launch option, not a kernel parameter
        num_stages=num_stages,  # pyright: ignore[reportCallIssue]
    )
    return y, hT


def selective_state_update(
    state,
    x,
    dt,
    A,
    B,
    C,
    D=None,
    z=None,
    dt_bias=None,
    dt_softplus=False,
    state_batch_indices=None,
    block_d: int = 32,
    num_warps: int = 2,
    check_indices: bool | None = None,
):
    """Launch defaults from hand-picked configs timed on an H200 (docs/benchmarks.md, Kernels). `check_indices`
    (default: not on CUDA) reads the slot indices' values back to refuse bad ones; without it an out-of-range row
    touches no state and gets NaN, and a repeated slot is not detected (see reference.check_state_batch_indices)."""
    if check_indices is None:
        check_indices = not x.is_cuda
    bsz, d, n = _ref.check_state_update_args(
        state, x, dt, A, B, C, D, z, dt_bias, state_batch_indices, index_values=check_indices
    )
    x, dt, A, B, C = (t.contiguous() for t in (x, dt, A, B, C))
    D, z, dt_bias, idx = map(_c, (D, z, dt_bias, state_batch_indices))
    work = state if state.is_contiguous() else state.contiguous()
    y = torch.empty_like(x)
    dummy = y
    grid = (bsz, triton.cdiv(d, block_d))
    # triton types kernel[grid] as the kernel's own signature, so Python values for tl.constexpr parameters fail the check
    _state_update_kernel[grid](
        work,
        x,
        dt,
        A,
        B,
        C,
        D if D is not None else dummy,
        z if z is not None else dummy,
        dt_bias if dt_bias is not None else dummy,
        idx if idx is not None else dummy,
        y,
        d,
        n,
        work.shape[0],
        HAS_D=D is not None,  # pyright: ignore[reportArgumentType]
        HAS_Z=z is not None,  # pyright: ignore[reportArgumentType]
        HAS_DTB=dt_bias is not None,  # pyright: ignore[reportArgumentType]
        SOFTPLUS=bool(dt_softplus),  # pyright: ignore[reportArgumentType]
        HAS_IDX=idx is not None,  # pyright: ignore[reportArgumentType]
        BLOCK_D=block_d,  # pyright: ignore[reportArgumentType]
        BLOCK_N=_block_n(n),  # pyright: ignore[reportArgumentType]
        num_warps=num_warps,  # pyright: ignore[reportCallIssue]  # a launch option, not a kernel parameter
    )
    if work is not state:
        state.copy_(work)
    return y
