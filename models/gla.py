"""Gated Linear Attention layer and pre-norm block (Yang et al. 2023, "Gated Linear Attention Transformers with
Hardware-Efficient Training"), on the `kernels` dispatch (gla_chunk for sequences, gla_step for one token).

Attention layer, per head (dk = expand_k * d_model / heads, dv = expand_v * d_model / heads):
    q, k, v = x W_q, x W_k, x W_v
    g = logsigmoid(x W_g1 W_g2 + b_g) / gate_logit_normalizer           (low-rank, log-space forget gate <= 0)
    S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t,   o_t = q_t S_t / sqrt(dk)
    out = W_o (rmsnorm_per_head(o) * silu(x W_r))                       (output gate)
Block: h = x + attn(rmsnorm(x)); y = h + swiglu_mlp(rmsnorm(h)).

`GLAStack` (optional Linear d_in -> d_model, n_layers blocks, a final RMSNorm) is the StreamingModel
(models/streaming.py: forward / init_state / stream / step / flush) that nodes and checkpoints use.

The layers (GLAAttention, GLABlock) keep the raw layer API. Shapes: x (batch, L, d_model), time along dim 1.
State: (batch, heads, dk, dv) fp32. `forward(x, state=None)` returns a new state (the input state is not modified),
so a sequence fed whole or in any chunking gives the same output; `step(x_t, state)` advances one token,
x_t (batch, d_model), and updates `state` IN PLACE (decode path), returning (y_t, state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
import wavegraph.kernels as kernels
from torch import nn

from .config import DictConfig
from .stack import LayerState, RecurrentStack

__all__ = ["GLAConfig", "GLAAttention", "GLABlock", "GLAStack"]


@dataclass
class GLAConfig(DictConfig):
    d_model: int = 64
    n_layers: int = 2  # GLAStack only
    d_in: int = 0  # GLAStack only: features in; 0: same as d_model (no input projection)
    n_heads: int = 4
    expand_k: float = 0.5
    expand_v: float = 1.0
    gate_low_rank: int = 16
    gate_logit_normalizer: float = 16.0
    mlp_ratio: float = 4.0
    chunk_size: int = 64
    norm_eps: float = 1e-5

    def __post_init__(self):
        for name in ("d_model", "n_layers", "n_heads", "gate_low_rank", "chunk_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"GLAConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.d_in < 0:
            raise ValueError("GLAConfig.d_in must be >= 0 (0 means d_model)")
        for name, e in (("expand_k", self.expand_k), ("expand_v", self.expand_v)):
            width = e * self.d_model
            # (an infinite one: int() raised OverflowError, naming no field)
            if not math.isfinite(width) or width != int(width) or int(width) % self.n_heads or width < self.n_heads:
                raise ValueError(f"{name} * d_model = {width} must be a whole multiple of n_heads = {self.n_heads}")
        if not all(0 < v < math.inf for v in (self.gate_logit_normalizer, self.mlp_ratio, self.norm_eps)):
            raise ValueError(  # norm_eps -1: every output NaN; mlp_ratio Infinity: OverflowError
                "gate_logit_normalizer, mlp_ratio and norm_eps must be > 0 and finite, got "
                f"{self.gate_logit_normalizer}, {self.mlp_ratio} and {self.norm_eps}"
            )

    @property
    def key_dim(self) -> int:
        return int(self.expand_k * self.d_model)

    @property
    def value_dim(self) -> int:
        return int(self.expand_v * self.d_model)


class _RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.to(torch.promote_types(x.dtype, torch.float32))  # float32 at least; float64 kept
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


class GLAAttention(nn.Module):
    def __init__(self, cfg: GLAConfig):
        super().__init__()
        self.cfg = cfg
        d, dk, dv, h = cfg.d_model, cfg.key_dim, cfg.value_dim, cfg.n_heads
        self.n_heads, self.dk, self.dv = h, dk // h, dv // h
        self.q_proj = nn.Linear(d, dk, bias=False)
        self.k_proj = nn.Linear(d, dk, bias=False)
        self.v_proj = nn.Linear(d, dv, bias=False)
        self.g_proj = nn.Sequential(nn.Linear(d, cfg.gate_low_rank, bias=False), nn.Linear(cfg.gate_low_rank, dk))
        self.r_proj = nn.Linear(d, dv, bias=False)
        self.o_norm = _RMSNorm(self.dv, cfg.norm_eps)
        self.o_proj = nn.Linear(dv, d, bias=False)

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """The zero state, fp32; float64 when asked (computed in float64: kernels.reference.state_dtype)."""
        dtype = torch.float64 if dtype == torch.float64 else torch.float32
        return torch.zeros(batch, self.n_heads, self.dk, self.dv, device=device, dtype=dtype)

    def _qkvg(self, x: torch.Tensor):
        """x (..., d_model) -> q, k, g (..., heads, dk), v (..., heads, dv)."""
        lead = x.shape[:-1]
        q = self.q_proj(x).view(*lead, self.n_heads, self.dk)
        k = self.k_proj(x).view(*lead, self.n_heads, self.dk)
        v = self.v_proj(x).view(*lead, self.n_heads, self.dv)
        # float32 at least; float64 kept (a float64 stream computes in float64: a float32 gate lost it at the start)
        g = F.logsigmoid(self.g_proj(x).to(torch.promote_types(x.dtype, torch.float32)))
        g = g / self.cfg.gate_logit_normalizer
        return q, k, v, g.view(*lead, self.n_heads, self.dk)

    def _out(self, o: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """o (..., heads, dv) -> (..., d_model) with the per-head norm and the output gate."""
        o = self.o_norm(o).flatten(-2) * F.silu(self.r_proj(x))
        return self.o_proj(o)

    def _check_state(self, state: torch.Tensor, batch: int) -> None:
        want = (batch, self.n_heads, self.dk, self.dv)
        if tuple(state.shape) != want:
            raise ValueError(f"GLA state has shape {tuple(state.shape)}, expected {want}")

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 3 or x.shape[-1] != self.cfg.d_model:
            raise ValueError(f"x must be (batch, L, d_model={self.cfg.d_model}), got {tuple(x.shape)}")
        if state is not None:
            self._check_state(state, x.shape[0])
        elif x.dtype == torch.float64:  # as a float64 stream's init_state: the fp32 default made forward of a .double()
            state = self.init_state(x.shape[0], x.device, x.dtype)  # model 1.7e-5 off its own float64 stream
        q, k, v, g = (t.transpose(1, 2) for t in self._qkvg(x))  # (batch, heads, L, d)
        o, new_state = kernels.gla_chunk(q, k, v.to(q.dtype), g, initial_state=state, chunk_size=self.cfg.chunk_size)
        return self._out(o.transpose(1, 2), x), new_state

    def step(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x_t.dim() != 2 or x_t.shape[-1] != self.cfg.d_model:
            raise ValueError(f"x_t must be (batch, d_model={self.cfg.d_model}), got {tuple(x_t.shape)}")
        self._check_state(state, x_t.shape[0])
        q, k, v, g = self._qkvg(x_t)  # (batch, heads, d)
        o = kernels.gla_step(q, k, v, g, state)
        return self._out(o, x_t), state


class GLABlock(nn.Module):
    """Pre-norm residual block: GLA attention then a SwiGLU MLP. Same state and API as GLAAttention."""

    def __init__(self, cfg: GLAConfig):
        super().__init__()
        self.cfg = cfg
        hidden = int(cfg.mlp_ratio * cfg.d_model * 2 / 3)
        self.attn_norm = _RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = GLAAttention(cfg)
        self.mlp_norm = _RMSNorm(cfg.d_model, cfg.norm_eps)
        self.gate_up = nn.Linear(cfg.d_model, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, cfg.d_model, bias=False)

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> torch.Tensor:
        return self.attn.init_state(batch, device, dtype)

    def _mlp(self, h: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(self.mlp_norm(h)).chunk(2, dim=-1)
        return h + self.down(F.silu(gate) * up)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        a, new_state = self.attn(self.attn_norm(x), state)
        return self._mlp(x + a), new_state

    def step(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, state = self.attn.step(self.attn_norm(x_t), state)
        return self._mlp(x_t + a), state


class GLAStack(RecurrentStack):
    """Optional Linear(d_in -> d_model), n_layers GLABlocks, a final RMSNorm: the GLA StreamingModel.

    Stride 1, latency 0, no options. State: {"S.i": (B, heads, dk, dv) fp32; float64 in stream_dtype} per layer i;
    `step` updates it in place.
    stream_tolerance 1e-4: a chunk boundary changes where the chunked form splits its intra-chunk sums (fp32), a chunk
    of 1-3 frames takes another matrix-product path than a longer one (1e-6 apart), and the per-head norm of the
    attention output reads such rounding up to 1/sqrt(norm_eps) louder where a head's output nearly cancels (a constant
    input, or silence through the input projection's bias: whole vs 1-frame chunks 9.2e-5 apart with the default
    config). Run in float64 (`stream_dtype`: `.double()`, float64 frames, `init_state(dtype=torch.float64)`, what the
    model node does on the CPU) any chunking gives the same output once rounded to fp32."""

    stream_tolerance = 1e-4
    stream_dtype: ClassVar[torch.dtype] = torch.float64
    state_names = ("S",)

    def __init__(self, cfg: GLAConfig):
        super().__init__()
        self.cfg = cfg
        self.in_proj = nn.Linear(cfg.d_in, cfg.d_model) if cfg.d_in else None
        self.blocks: tuple[GLABlock, ...] = tuple(GLABlock(cfg) for _ in range(cfg.n_layers))  # typed view of `layers`
        self.layers = nn.ModuleList(self.blocks)
        self.norm_f = _RMSNorm(cfg.d_model, cfg.norm_eps)

    def _layer_init(self, i: int, batch: int, device, dtype) -> LayerState:
        return (self.blocks[i].init_state(batch, device, dtype),)

    def _layer_run(self, i: int, h: torch.Tensor, s: LayerState | None) -> tuple[torch.Tensor, LayerState]:
        h, new = self.blocks[i](h, s[0] if s is not None else None)
        return h, (new,)

    def _layer_step(self, i: int, h: torch.Tensor, s: LayerState) -> torch.Tensor:
        return self.blocks[i].step(h, s[0])[0]
