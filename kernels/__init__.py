"""Kernel ops for the sequence models: selective scan (Mamba), causal depthwise conv1d, gated linear attention.

Each op has a Triton kernel (kernels/triton_*.py), a pure-torch reference (kernels/reference.py: the CPU path and
the ground truth), and ONE dispatch function here that models call. Dispatch runs Triton when every tensor is on
CUDA and triton imports, else the reference; `WAVEGRAPH_KERNELS=ref|triton` forces one (see kernels/dispatch.py).

Shapes (time last for the Mamba ops, as in mamba_ssm; (batch, heads, L, d) for GLA, as fla's head_first=True; fla's
default since 0.2 is (batch, L, heads, d), which fits these shapes too and would run along the wrong axis, unsaid:
give it as q.transpose(1, 2) and transpose o back):
    selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, initial_state=None)
        u, delta: (batch, dim, L); A: (dim, N); B, C: (batch, N, L); D, delta_bias: (dim,); z: (batch, dim, L)
        -> (y (batch, dim, L), final_state (batch, dim, N) fp32)
    selective_state_update(state, x, dt, A, B, C, D=None, z=None, dt_bias=None, dt_softplus=False,
                           state_batch_indices=None, check_indices=None) -> y (batch, dim)
        state (n_slots, dim, N) updated in place; row i uses state[state_batch_indices[i]]: distinct slots in
        [0, n_slots). The reference refuses an index out of range, negative or repeated (ValueError); the Triton
        path on CUDA does not read the indices back unless check_indices=True (two syncs per call): an
        out-of-range row there leaves the state alone and gives NaN, and a repeated slot is not detected
    causal_conv1d(x, weight, bias=None, initial_state=None, activation=None) -> (y, final_state)
        x: (batch, dim, L); weight: (dim, width); states (batch, dim, width-1); activation None | "silu"
    causal_conv1d_update(x, conv_state, weight, bias=None, activation=None) -> y (batch, dim)
        conv_state (batch, dim, width-1) rolled in place
    gla_chunk(q, k, v, g, initial_state=None, scale=None, chunk_size=64) -> (o, final_state)
        q, k, g: (batch, heads, L, dk), v: (batch, heads, L, dv), g <= 0 log forget gate; state (batch, heads, dk, dv)
        fp32; a float64 state is computed in float64 by the reference (on any device), what GLAStack streams with
    gla_step(q, k, v, g, state, scale=None) -> o
        one token: q, k, g (batch, heads, dk) and v (batch, heads, dv) (a length-1 time axis is also accepted);
        state updated in place
"""

from __future__ import annotations

import torch

from . import reference as _ref
from .dispatch import select_backend as _select_backend
from .dispatch import within_triton_limit as _within_limit

__all__ = [
    "selective_scan",
    "selective_state_update",
    "causal_conv1d",
    "causal_conv1d_update",
    "gla_chunk",
    "gla_step",
]


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, initial_state=None):
    backend = _select_backend(
        u=u, delta=delta, A=A, B=B, C=C, D=D, z=z, delta_bias=delta_bias, initial_state=initial_state
    )
    if _within_limit(backend, A.shape[-1] if A.dim() else 0) == "triton":
        from . import triton_ssm

        return triton_ssm.selective_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state)
    # reference path: the sequential form on CPU (measured faster there, see docs/benchmarks.md "Kernels"), the
    # chunked parallel form on GPUs (one launch per chunk instead of per step, e.g. when autograd needs gradients)
    ref = _ref.selective_scan_chunked_ref if u.is_cuda else _ref.selective_scan_ref
    return ref(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state)


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
    check_indices: bool | None = None,
):
    backend = _select_backend(
        state=state, x=x, dt=dt, A=A, B=B, C=C, D=D, z=z, dt_bias=dt_bias, state_batch_indices=state_batch_indices
    )
    if _within_limit(backend, state.shape[-1] if state.dim() else 0) == "triton":
        from . import triton_ssm

        return triton_ssm.selective_state_update(
            state, x, dt, A, B, C, D, z, dt_bias, dt_softplus, state_batch_indices, check_indices=check_indices
        )
    return _ref.selective_state_update_ref(state, x, dt, A, B, C, D, z, dt_bias, dt_softplus, state_batch_indices)


def causal_conv1d(x, weight, bias=None, initial_state=None, activation=None):
    if _select_backend(x=x, weight=weight, bias=bias, initial_state=initial_state) == "triton":
        from . import triton_conv

        return triton_conv.causal_conv1d(x, weight, bias, initial_state, activation)
    return _ref.causal_conv1d_ref(x, weight, bias, initial_state, activation)


def causal_conv1d_update(x, conv_state, weight, bias=None, activation=None):
    if _select_backend(x=x, conv_state=conv_state, weight=weight, bias=bias) == "triton":
        from . import triton_conv

        return triton_conv.causal_conv1d_update(x, conv_state, weight, bias, activation)
    return _ref.causal_conv1d_update_ref(x, conv_state, weight, bias, activation)


def _f64(state) -> bool:
    """A float64 GLA state: the reference computes in float64 (kernels.reference.state_dtype); the Triton kernels are
    fp32."""
    return isinstance(state, torch.Tensor) and state.dtype == torch.float64


def gla_chunk(q, k, v, g, initial_state=None, scale=None, chunk_size=64):
    backend = _select_backend(q=q, k=k, v=v, g=g, initial_state=initial_state)
    if _within_limit(backend, q.shape[-1] if q.dim() else 0) == "triton" and not _f64(initial_state):
        from . import triton_gla

        return triton_gla.gla_chunk(q, k, v, g, initial_state, scale, chunk_size)
    return _ref.gla_chunk_ref(q, k, v, g, initial_state, scale, chunk_size)


def gla_step(q, k, v, g, state, scale=None):
    _select_backend(q=q, k=k, v=v, g=g, state=state)  # a non-tensor argument is a TypeError naming it
    squeeze = q.dim() == 4  # (batch, heads, 1, dk) form
    if squeeze:
        if q.shape[2] != 1:
            raise ValueError(f"gla_step takes one token; got q with time length {q.shape[2]}")
        for name, t in (("k", k), ("v", v), ("g", g)):
            if t.dim() != 4 or t.shape[2] != 1:
                raise ValueError(
                    f"q has shape {tuple(q.shape)} (batch, heads, 1, dk), so {name} must have a length-1 time axis "
                    f"too, got shape {tuple(t.shape)}"
                )
        q, k, v, g = q[:, :, 0], k[:, :, 0], v[:, :, 0], g[:, :, 0]
    backend = _within_limit(_select_backend(q=q, k=k, v=v, g=g, state=state), q.shape[-1] if q.dim() else 0)
    if backend == "triton" and not _f64(state):
        from . import triton_gla

        o = triton_gla.gla_step(q, k, v, g, state, scale)
    else:
        o = _ref.gla_step_ref(q, k, v, g, state, scale)
    return o[:, :, None] if squeeze else o
