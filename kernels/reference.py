"""Pure-torch references for every kernel: the CPU path and the ground truth the Triton kernels are tested against.

All recurrent state is kept in fp32 whatever the input dtype; outputs come back in the input dtype.

Selective scan (Mamba, ZOH discretisation as in mamba_ssm):
    dA_t = exp(delta_t * A),  dB_t = delta_t * B_t
    h_t = dA_t * h_{t-1} + dB_t * u_t,   y_t = <C_t, h_t> + D * u_t,   y_t *= silu(z_t)
Gated linear attention (Yang et al. 2023), g is a log-space forget gate (<= 0):
    S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t,   o_t = scale * q_t S_t

The scan and GLA each have a sequential form (the plain recurrence, one step at a time) and a chunked form
(parallel inside a chunk, recurrent across chunks); tests check the two agree.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

__all__ = [
    "selective_scan_ref",
    "selective_scan_chunked_ref",
    "selective_state_update_ref",
    "causal_conv1d_ref",
    "causal_conv1d_update_ref",
    "gla_recurrent_ref",
    "gla_chunk_ref",
    "gla_step_ref",
]


_INDEX_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _shape(t: torch.Tensor | None, name: str, shape: tuple) -> None:
    if t is None:
        return
    _need(tuple(t.shape) == tuple(shape), f"{name} has shape {tuple(t.shape)}, expected {tuple(shape)}")


def _own_memory(t: torch.Tensor, name: str) -> None:
    """ValueError for a state the op updates in place whose elements share memory (a broadcast view: expand(), a
    stride of 0): selective_state_update's reference wrote every row into that one place (a UserWarning, and the state
    silently the last row's), the Triton path and the other ops raised torch's 'more than one element ... refers to a
    single memory location'."""
    shared = any(stride == 0 and size > 1 for stride, size in zip(t.stride(), t.shape))
    _need(
        not shared,
        f"{name} is a broadcast view (shape {tuple(t.shape)}, strides {t.stride()}): its elements share "
        f"memory, so it cannot be updated in place; pass {name}.clone()",
    )


_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _floating(**tensors: torch.Tensor | None) -> None:
    """ValueError naming the first argument that is not a real floating-point tensor: an integer input would come
    back truncated to integers and a complex one (mamba_ssm's complex A) would lose its imaginary part."""
    for name, t in tensors.items():
        if t is not None and t.dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"{name} has dtype {t.dtype}; the kernels take real floating-point tensors "
                "(float16, bfloat16, float32 or float64): convert it with .float()"
            )


# ----------------------------------------------------------------------------------------------- selective scan


def check_scan_args(u, delta, A, B, C, D, z, delta_bias, initial_state) -> tuple[int, int, int, int]:
    _need(u.dim() == 3, f"u must be (batch, dim, L), got shape {tuple(u.shape)}")
    b, d, L = u.shape
    _need(A.dim() == 2 and A.shape[0] == d, f"A must be (dim={d}, N), got shape {tuple(A.shape)}")
    n = A.shape[1]
    _need(n >= 1, f"A has shape {tuple(A.shape)}: the state size N (A's last axis) must be >= 1")
    _shape(delta, "delta", (b, d, L))
    _shape(B, "B", (b, n, L))
    _shape(C, "C", (b, n, L))
    _shape(D, "D", (d,))
    _shape(z, "z", (b, d, L))
    _shape(delta_bias, "delta_bias", (d,))
    _shape(initial_state, "initial_state", (b, d, n))
    _floating(u=u, delta=delta, A=A, B=B, C=C, D=D, z=z, delta_bias=delta_bias, initial_state=initial_state)
    return b, d, L, n


def _scan_delta(delta, delta_bias, delta_softplus) -> torch.Tensor:
    delta = delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    return delta


def _scan_output(y, u, D, z, dtype) -> torch.Tensor:
    if D is not None:
        y = y + u.float() * D.float()[:, None]
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(dtype)


def selective_scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, initial_state=None):
    """Sequential form: the plain recurrence, one time step at a time. Returns (y, final_state fp32)."""
    b, d, L, n = check_scan_args(u, delta, A, B, C, D, z, delta_bias, initial_state)
    dt = _scan_delta(delta, delta_bias, delta_softplus)
    uf, Af, Bf, Cf = u.float(), A.float(), B.float(), C.float()
    h = torch.zeros(b, d, n, device=u.device) if initial_state is None else initial_state.float().clone()
    ys = []
    for t in range(L):
        dA = torch.exp(dt[:, :, t, None] * Af)  # (b, d, n)
        dBu = dt[:, :, t, None] * Bf[:, None, :, t] * uf[:, :, t, None]
        h = dA * h + dBu
        ys.append((h * Cf[:, None, :, t]).sum(-1))
    y = torch.stack(ys, dim=-1) if ys else uf.new_zeros(b, d, 0)
    return _scan_output(y, u, D, z, u.dtype), h


def selective_scan_chunked_ref(
    u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, initial_state=None, chunk_size=16
):
    """Chunked form: inside each chunk every h_t is computed at once from cumulative log-decays
    (h_t = exp(S_t) h_0 + sum_{s<=t} exp(S_t - S_s) dB_s u_s with S the cumulative sum of delta*A),
    and the state is carried across chunks. Exponents are masked to s <= t so only exp(<=0) is taken for A <= 0."""
    b, d, L, n = check_scan_args(u, delta, A, B, C, D, z, delta_bias, initial_state)
    check_chunk_size(chunk_size)
    dt = _scan_delta(delta, delta_bias, delta_softplus)
    uf, Af, Bf, Cf = u.float(), A.float(), B.float(), C.float()
    h = torch.zeros(b, d, n, device=u.device) if initial_state is None else initial_state.float().clone()
    ys = []
    for s0 in range(0, L, chunk_size):
        s1 = min(L, s0 + chunk_size)
        T = s1 - s0
        # log-decay per step (b, d, T, n), floored like GLA's gate: an A of -inf would give -inf - -inf = NaN below
        la = (dt[:, :, s0:s1, None] * Af[None, :, None, :]).clamp_min(GATE_FLOOR)
        cum64 = torch.cumsum(la.double(), dim=2)  # float64: S_t - S_s cancels (as GLA's cumulative gate below)
        cum = cum64.float()
        dBu = dt[:, :, s0:s1, None] * Bf[:, None, :, s0:s1].transpose(2, 3) * uf[:, :, s0:s1, None]  # (b, d, T, n)
        diff = (cum64[:, :, :, None, :] - cum64[:, :, None, :, :]).float()  # (b, d, t, s, n) = S_t - S_s
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool, device=u.device))[None, None, :, :, None]
        w = torch.exp(torch.where(mask, diff, torch.full_like(diff, -torch.inf)))
        hs = torch.exp(cum) * h[:, :, None, :] + (w * dBu[:, :, None, :, :]).sum(3)  # (b, d, T, n)
        ys.append((hs * Cf[:, None, :, s0:s1].transpose(2, 3)).sum(-1))
        h = hs[:, :, -1]
    y = torch.cat(ys, dim=-1) if ys else uf.new_zeros(b, d, 0)
    return _scan_output(y, u, D, z, u.dtype), h


def check_state_update_args(
    state, x, dt, A, B, C, D, z, dt_bias, state_batch_indices, index_values: bool = True
) -> tuple[int, int, int]:
    _need(state.dim() == 3, f"state must be (n_slots, dim, N), got shape {tuple(state.shape)}")
    _need(x.dim() == 2, f"x must be (batch, dim), got shape {tuple(x.shape)}")
    bsz, d = x.shape
    n = state.shape[2]
    _need(n >= 1, f"state has shape {tuple(state.shape)}: the state size N (its last axis) must be >= 1")
    _need(state.shape[1] == d, f"state dim {state.shape[1]} != x dim {d}")
    _shape(dt, "dt", (bsz, d))
    _need(A.dim() == 2 and A.shape[0] == d, f"A must be (dim={d}, N), got shape {tuple(A.shape)}")
    _need(
        A.shape[1] == n,
        f"state has shape {tuple(state.shape)} (n_slots, dim, N={n}) but A has shape {tuple(A.shape)} "
        f"(N={A.shape[1]}): the state's last axis must be A's N",
    )
    _shape(B, "B", (bsz, n))
    _shape(C, "C", (bsz, n))
    _shape(D, "D", (d,))
    _shape(z, "z", (bsz, d))
    _shape(dt_bias, "dt_bias", (d,))
    _floating(state=state, x=x, dt=dt, A=A, B=B, C=C, D=D, z=z, dt_bias=dt_bias)
    _own_memory(state, "state")
    if state_batch_indices is None:
        _need(state.shape[0] == bsz, f"state has {state.shape[0]} slots but batch is {bsz}; pass state_batch_indices")
    else:
        check_state_batch_indices(state_batch_indices, bsz, state.shape[0], index_values)
    return bsz, d, n


def check_state_batch_indices(idx: torch.Tensor, bsz: int, n_slots: int, read_values: bool = True) -> None:
    """ValueError unless idx is `bsz` distinct integer slot numbers in [0, n_slots). Both backends call this before
    touching the state. The values are read only with `read_values`: on a GPU that is two device-to-host syncs per
    call, which the Triton kernel on CUDA skips (the H200 timings: docs/benchmarks.md, Kernels). There the kernel
    leaves the state of an out-of-range row alone and gives that row NaN, and distinct slots are the caller's to
    keep (a repeated slot is not detected: what it holds then depends on the order the GPU runs the rows in)."""
    _shape(idx, "state_batch_indices", (bsz,))
    _need(idx.dtype in _INDEX_DTYPES, f"state_batch_indices must be an integer tensor, got {idx.dtype}")
    if bsz == 0 or not read_values:
        return
    lo, hi = torch.stack([idx.min(), idx.max()]).tolist()
    _need(lo >= 0, f"state_batch_indices holds {lo}: slot indices must be >= 0 (negative indices do not wrap)")
    _need(hi < n_slots, f"state_batch_indices holds {hi} but the state has {n_slots} slots (0..{n_slots - 1})")
    values, counts = torch.unique(idx, return_counts=True)
    if len(values) != bsz:
        raise ValueError(
            f"state_batch_indices repeats slot {int(values[counts > 1][0])}: each row needs its own "
            "slot (two rows on one slot would both update it)"
        )


def selective_state_update_ref(
    state, x, dt, A, B, C, D=None, z=None, dt_bias=None, dt_softplus=False, state_batch_indices=None
):
    """One recurrence step; `state` (n_slots, dim, N) is updated in place. Row i reads and writes
    state[state_batch_indices[i]] (indices must be distinct), or state[i] when no indices are given."""
    bsz, d, n = check_state_update_args(state, x, dt, A, B, C, D, z, dt_bias, state_batch_indices)
    idx = torch.arange(bsz, device=x.device) if state_batch_indices is None else state_batch_indices.long()
    dtf = dt.float()
    if dt_bias is not None:
        dtf = dtf + dt_bias.float()
    if dt_softplus:
        dtf = F.softplus(dtf)
    h = state[idx].float()
    h = torch.exp(dtf[:, :, None] * A.float()) * h + dtf[:, :, None] * B.float()[:, None, :] * x.float()[:, :, None]
    state[idx] = h.to(state.dtype)
    y = (h * C.float()[:, None, :]).sum(-1)
    if D is not None:
        y = y + x.float() * D.float()
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(x.dtype)


# ----------------------------------------------------------------------------------------------- causal conv1d


def _activate(y: torch.Tensor, activation) -> torch.Tensor:
    if activation is None:
        return y
    if activation in ("silu", "swish"):
        return F.silu(y)
    raise ValueError(f"activation must be None or 'silu', got {activation!r}")


def check_conv_args(x, weight, bias, initial_state) -> tuple[int, int, int, int]:
    _need(x.dim() == 3, f"x must be (batch, dim, L), got shape {tuple(x.shape)}")
    b, d, L = x.shape
    _need(weight.dim() == 2 and weight.shape[0] == d, f"weight must be (dim={d}, width), got {tuple(weight.shape)}")
    w = weight.shape[1]
    _need(w >= 1, "weight width must be >= 1")
    _shape(bias, "bias", (d,))
    _shape(initial_state, "initial_state", (b, d, w - 1))
    _floating(x=x, weight=weight, bias=bias, initial_state=initial_state)
    return b, d, L, w


def causal_conv1d_ref(x, weight, bias=None, initial_state=None, activation=None):
    """Depthwise causal conv: y[..., t] = bias + sum_k weight[:, k] * xpad[..., t + k], xpad = [state | x].
    Returns (y, final_state) with final_state the last width-1 inputs (fp32 compute, x dtype out)."""
    b, d, L, w = check_conv_args(x, weight, bias, initial_state)
    _activate(x.new_zeros(0), activation)  # validate early
    prev = x.new_zeros(b, d, w - 1) if initial_state is None else initial_state.to(x.dtype)
    xcat = torch.cat([prev, x], dim=-1)
    if L == 0 or d == 0:  # F.conv1d refuses an input shorter than the kernel, and zero groups
        y = xcat.new_zeros(b, d, L, dtype=torch.float32)
    else:
        y = F.conv1d(xcat.float(), weight.float()[:, None, :], None if bias is None else bias.float(), groups=d)
    final = xcat[..., xcat.shape[-1] - (w - 1) :].clone()
    return _activate(y, activation).to(x.dtype), final


def check_conv_update_args(x, conv_state, weight, bias) -> tuple[int, int, int]:
    """(batch, dim, width) of a causal_conv1d_update call, or a ValueError naming the argument as it was passed (both
    backends call this: the Triton one named conv_state `initial_state`)."""
    _need(x.dim() == 2, f"x must be (batch, dim), got shape {tuple(x.shape)}")
    b, d = x.shape
    _need(weight.dim() == 2 and weight.shape[0] == d, f"weight must be (dim={d}, width), got {tuple(weight.shape)}")
    w = weight.shape[1]
    _need(w >= 1, "weight width must be >= 1")
    _shape(conv_state, "conv_state", (b, d, w - 1))
    _shape(bias, "bias", (d,))
    _floating(x=x, conv_state=conv_state, weight=weight, bias=bias)
    _own_memory(conv_state, "conv_state")
    return b, d, w


def causal_conv1d_update_ref(x, conv_state, weight, bias=None, activation=None):
    """One step; conv_state (batch, dim, width-1) is rolled in place to hold the latest width-1 inputs."""
    check_conv_update_args(x, conv_state, weight, bias)
    xcat = torch.cat([conv_state.to(x.dtype), x[:, :, None]], dim=-1)  # (b, d, w)
    y = _activate((xcat.float() * weight.float()).sum(-1) + (0.0 if bias is None else bias.float()), activation)
    conv_state.copy_(xcat[:, :, 1:])  # only once the activation is known good: a bad one leaves the state alone
    return y.to(x.dtype)


# ----------------------------------------------------------------------------------------------- GLA


GATE_FLOOR = -150.0  # exp(-150) is 0 in fp32 (the smallest subnormal is e^-103)


def state_dtype(state: torch.Tensor | None) -> torch.dtype:
    """The dtype GLA computes in: float64 for a float64 state, else float32 (a float32, float16 or bfloat16 state and
    no state: fp32, bit for bit as before). A GLAStack run in float64 (models/gla.py `stream_dtype`, the model node's)
    keeps its output independent of where its chunks start: the chunked form splits its sums at a call's start, which
    rounds differently in fp32, and the per-head norm after it reads that rounding up to 1/sqrt(eps) louder where a
    head's output nearly cancels."""
    return torch.float64 if state is not None and state.dtype == torch.float64 else torch.float32


def check_chunk_size(chunk_size) -> None:
    """ValueError unless chunk_size is a whole number >= 1: 3.5 was "'float' object cannot be interpreted as an
    integer" on the reference path and taken by the Triton one (which ignores it)."""
    whole = isinstance(chunk_size, numbers.Integral) and not isinstance(chunk_size, bool)
    _need(whole and int(chunk_size) >= 1, f"chunk_size must be a whole number >= 1, got {chunk_size!r}")


def gla_scale(scale, dk: int) -> float:
    """GLA's output scale: dk**-0.5 for None, else `scale` as a float. ValueError unless it is a finite real number (or a
    one-element real tensor): a string or a list was "only integer tensors of a single element can be converted to an
    index" on the reference, 1j was cut to its real part there (an error on the Triton path), and NaN or inf made every
    output NaN on both."""
    if scale is None:
        return dk**-0.5
    if isinstance(scale, torch.Tensor) and scale.numel() == 1 and not scale.is_complex():
        scale = scale.item()
    ok = isinstance(scale, numbers.Real) and not isinstance(scale, bool) and math.isfinite(scale)
    _need(ok, f"scale must be a finite real number (None: 1/sqrt(dk)), got {scale!r}")
    return float(scale)


def check_gla_args(q, k, v, g, initial_state) -> tuple[int, int, int, int, int]:
    _need(q.dim() == 4, f"q must be (batch, heads, L, dk), got shape {tuple(q.shape)}")
    b, h, L, dk = q.shape
    _need(dk >= 1, f"q has shape {tuple(q.shape)}: the key dim dk (its last axis) must be >= 1")
    _need(
        v.dim() == 4 and v.shape[:3] == (b, h, L), f"v must be (batch={b}, heads={h}, L={L}, dv), got {tuple(v.shape)}"
    )
    dv = v.shape[3]
    _shape(k, "k", (b, h, L, dk))
    _shape(g, "g", (b, h, L, dk))
    _shape(initial_state, "state", (b, h, dk, dv))
    _floating(q=q, k=k, v=v, g=g, state=initial_state)
    return b, h, L, dk, dv


def gla_recurrent_ref(q, k, v, g, initial_state=None, scale=None):
    """Sequential form of GLA: the plain recurrence, token by token. Returns (o, final_state fp32)."""
    b, h, L, dk, dv = check_gla_args(q, k, v, g, initial_state)
    scale = gla_scale(scale, dk)
    cdt = state_dtype(initial_state)
    S = q.new_zeros(b, h, dk, dv, dtype=cdt) if initial_state is None else initial_state.to(cdt).clone()
    qf, kf, vf, gf = q.to(cdt), k.to(cdt), v.to(cdt), g.to(cdt)
    os_ = []
    for t in range(L):
        S = torch.exp(gf[:, :, t, :, None]) * S + kf[:, :, t, :, None] * vf[:, :, t, None, :]
        os_.append(scale * torch.einsum("bhk,bhkv->bhv", qf[:, :, t], S))
    o = torch.stack(os_, dim=2) if os_ else vf.new_zeros(b, h, 0, dv)
    return o.to(v.dtype), S


def gla_chunk_ref(q, k, v, g, initial_state=None, scale=None, chunk_size=64):
    """Chunked form of GLA: inside a chunk, o = scale * [(q * e^{G}) S_prev + sum_{j<=i} (q_i k_j e^{G_i - G_j}) v_j]
    with G the in-chunk cumulative gate; the state is then decayed by e^{G_last} and gets sum_j (k_j e^{G_last-G_j})^T v_j.
    The pairwise decays are formed explicitly and masked to j <= i, so only exp(<=0) is ever taken."""
    b, h, L, dk, dv = check_gla_args(q, k, v, g, initial_state)
    check_chunk_size(chunk_size)
    scale = gla_scale(scale, dk)
    cdt = state_dtype(initial_state)
    S = q.new_zeros(b, h, dk, dv, dtype=cdt) if initial_state is None else initial_state.to(cdt).clone()
    # a gate of -inf (forget all) would make the in-chunk differences G_i - G_j = -inf - -inf = NaN; below GATE_FLOOR
    # exp(g) is 0 in fp32 already, so the floor changes no decay, and the chunked form matches the recurrent one
    qf, kf, vf, gf = q.to(cdt), k.to(cdt), v.to(cdt), g.to(cdt).clamp_min(GATE_FLOOR)
    os_ = []
    for s0 in range(0, L, chunk_size):
        s1 = min(L, s0 + chunk_size)
        T = s1 - s0
        qc, kc, vc = qf[:, :, s0:s1], kf[:, :, s0:s1], vf[:, :, s0:s1]
        # the cumulative gate summed in float64: G_i - G_j of nearby steps cancels, and float32 kept it to its ulp at
        # |G| (strong gates: -30 a step, or floored ones, reach |G| ~ 1e3 in a chunk): outputs 6e-4 off the recurrence
        G64 = torch.cumsum(gf[:, :, s0:s1].double(), dim=2)
        G = G64.to(cdt)  # (b, h, T, dk)
        o_inter = torch.einsum("bhtk,bhkv->bhtv", qc * torch.exp(G), S)
        diff = (G64[:, :, :, None, :] - G64[:, :, None, :, :]).to(cdt)  # (b, h, i, j, dk)
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool, device=q.device))[None, None, :, :, None]
        decay = torch.exp(torch.where(mask, diff, torch.full_like(diff, -torch.inf)))
        att = torch.einsum("bhik,bhjk,bhijk->bhij", qc, kc, decay)
        os_.append(scale * (o_inter + att @ vc))
        to_end = torch.exp((G64[:, :, -1:, :] - G64).to(cdt))  # e^{G_last - G_j}
        S = torch.exp(G[:, :, -1, :, None]) * S + torch.einsum("bhtk,bhtv->bhkv", kc * to_end, vc)
    o = torch.cat(os_, dim=2) if os_ else vf.new_zeros(b, h, 0, dv)
    return o.to(v.dtype), S


def check_gla_step_args(q, k, v, g, state) -> tuple[int, int, int, int]:
    """(batch, heads, dk, dv) of a one-token GLA step, or a ValueError naming the argument and the shape it was passed
    with (both backends call this: the Triton one added a time axis first, so a k of too few axes was an IndexError)."""
    _need(q.dim() == 3, f"q must be (batch, heads, dk), got shape {tuple(q.shape)}")
    b, h, dk = q.shape
    _need(dk >= 1, f"q has shape {tuple(q.shape)}: the key dim dk (its last axis) must be >= 1")
    _need(v.dim() == 3 and v.shape[:2] == (b, h), f"v must be (batch={b}, heads={h}, dv), got {tuple(v.shape)}")
    dv = v.shape[2]
    _shape(k, "k", (b, h, dk))
    _shape(g, "g", (b, h, dk))
    _shape(state, "state", (b, h, dk, dv))
    _floating(q=q, k=k, v=v, g=g, state=state)
    _own_memory(state, "state")
    return b, h, dk, dv


def gla_step_ref(q, k, v, g, state, scale=None):
    """One token: q, k, g (batch, heads, dk), v (batch, heads, dv); `state` (batch, heads, dk, dv) updated in place."""
    _, _, dk, _ = check_gla_step_args(q, k, v, g, state)
    scale = gla_scale(scale, dk)
    cdt = state_dtype(state)
    prev = state.to(cdt)
    if prev is state and torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v, g, state)):
        # autograd keeps the old state for exp(g)'s gradient; the copy_ below would overwrite it ('one of the
        # variables needed for gradient computation has been modified by an inplace operation' at backward)
        prev = prev.clone()
    S = torch.exp(g.to(cdt))[..., None] * prev + k.to(cdt)[..., None] * v.to(cdt)[..., None, :]
    state.copy_(S.to(state.dtype))
    return (scale * torch.einsum("bhk,bhkv->bhv", q.to(cdt), S)).to(v.dtype)
