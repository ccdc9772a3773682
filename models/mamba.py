"""Mamba (selective state-space) block and a residual stack of them, with exact chunked streaming and one-step decode.

Block (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"):
    x, z = in_proj(u)                                    (d_model -> 2 * d_inner, d_inner = expand * d_model)
    x = silu(causal depthwise conv1d(x))                 (width d_conv, default 4)
    dt, B, C = x_proj(x)                                 (input-dependent: dt_rank + 2 * d_state)
    delta = softplus(dt_proj(dt))                        (dt_proj.bias init so softplus(bias) is log-uniform in
                                                          [dt_min, dt_max] = [1e-3, 0.1])
    h_t = exp(delta A) h_{t-1} + delta B_t x_t,  y_t = C_t h_t + D x_t;  y *= silu(z);  out = out_proj(y)
    A = -exp(A_log), S4D-real init A = -(1..N) for every channel; D init 1.

All the sequence ops go through `kernels` (selective_scan, selective_state_update, causal_conv1d,
causal_conv1d_update): Triton on CUDA, the pure-torch reference on CPU, one dispatch there.

`MambaStack` is a StreamingModel (models/streaming.py: forward / init_state / stream / step / flush).
One block (`Mamba`, a layer) keeps the raw layer API: state (conv_state (B, d_inner, d_conv-1), ssm_state
(B, d_inner, d_state) fp32); `forward(x, state=None) -> (y, new_state)` leaves its input state untouched,
`step(x_t, state)` advances one token and updates the state tensors IN PLACE (decode path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import wavegraph.kernels as kernels
from torch import nn

from .config import DictConfig
from .stack import LayerState, RecurrentStack

__all__ = ["MambaConfig", "Mamba", "MambaStack"]


@dataclass
class MambaConfig(DictConfig):
    d_model: int = 64
    n_layers: int = 2
    d_in: int = 0  # features in; 0: same as d_model (no input projection)
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int = 0  # 0: ceil(d_model / 16)
    dt_min: float = 1e-3
    dt_max: float = 0.1
    dt_init_floor: float = 1e-4
    norm_eps: float = 1e-5

    def __post_init__(self):
        for name in ("d_model", "n_layers", "d_state", "d_conv", "expand"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"MambaConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.d_in < 0 or self.dt_rank < 0:
            raise ValueError("MambaConfig.d_in and dt_rank must be >= 0 (0 means the default)")
        if not 0 < self.dt_min <= self.dt_max < math.inf:  # dt_max Infinity: every output NaN
            raise ValueError(f"need 0 < dt_min <= dt_max, finite, got {self.dt_min}, {self.dt_max}")
        if not (0 <= self.dt_init_floor < math.inf and 0 < self.norm_eps < math.inf):  # norm_eps -1: NaN out
            raise ValueError(
                f"need dt_init_floor >= 0, norm_eps > 0, finite, got {self.dt_init_floor}, {self.norm_eps}"
            )

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def rank(self) -> int:
        return self.dt_rank or math.ceil(self.d_model / 16)


class Mamba(nn.Module):
    def __init__(self, cfg: MambaConfig):
        super().__init__()
        d, di, n, r = cfg.d_model, cfg.d_inner, cfg.d_state, cfg.rank
        self.d_inner, self.d_state, self.d_conv = di, n, cfg.d_conv
        self.in_proj = nn.Linear(d, 2 * di, bias=False)
        self.conv1d = nn.Conv1d(di, di, cfg.d_conv, groups=di, bias=True)  # weights only; run via kernels
        self.x_proj = nn.Linear(di, r + 2 * n, bias=False)
        self.dt_proj = nn.Linear(r, di, bias=True)
        self.out_proj = nn.Linear(di, d, bias=False)
        std = r**-0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(di) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min))
        dt = dt.clamp(min=cfg.dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(di, 1))
        self.D = nn.Parameter(torch.ones(di))

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        device = device if device is not None else self.A_log.device
        return (
            torch.zeros(batch, self.d_inner, self.d_conv - 1, device=device, dtype=dtype),
            torch.zeros(batch, self.d_inner, self.d_state, device=device, dtype=torch.float32),
        )

    def _conv_weight(self) -> torch.Tensor:
        return self.conv1d.weight[:, 0, :]

    def _dt_b_c(self, x: torch.Tensor):  # x (..., d_inner) -> dt (..., d_inner), B, C (..., N)
        r, n = self.dt_proj.in_features, self.d_state
        dt, b, c = self.x_proj(x).split([r, n, n], dim=-1)
        return F.linear(dt, self.dt_proj.weight), b, c

    def forward(self, x: torch.Tensor, state=None):
        """x (B, L, d_model) -> (y (B, L, d_model), (conv_state, ssm_state)); state None means zeros."""
        bsz, L, _ = x.shape
        if state is None:
            state = self.init_state(bsz, x.device, x.dtype)
        if L == 0:  # a copy, as for any other chunk: MambaStack.step updates the state it is given in place, and
            return x, tuple(t.clone() for t in state)  # the state passed to stream(empty chunk) changed with it
        conv_state, ssm_state = state
        xs, z = self.in_proj(x).transpose(1, 2).chunk(2, dim=1)  # (B, d_inner, L) each
        xs, conv_new = kernels.causal_conv1d(
            xs, self._conv_weight(), self.conv1d.bias, initial_state=conv_state, activation="silu"
        )
        dt, b, c = self._dt_b_c(xs.transpose(1, 2))
        A = -torch.exp(self.A_log.float())
        y, ssm_new = kernels.selective_scan(
            xs,
            dt.transpose(1, 2),
            A,
            b.transpose(1, 2),
            c.transpose(1, 2),
            self.D,
            z.contiguous(),
            delta_bias=self.dt_proj.bias,
            delta_softplus=True,
            initial_state=ssm_state,
        )
        return self.out_proj(y.transpose(1, 2)), (conv_new, ssm_new)

    def step(self, x: torch.Tensor, state):
        """One token x (B, d_model) -> (y (B, d_model), state); the state tensors are updated in place."""
        conv_state, ssm_state = state
        xs, z = self.in_proj(x).chunk(2, dim=-1)
        xs = kernels.causal_conv1d_update(xs, conv_state, self._conv_weight(), self.conv1d.bias, activation="silu")
        dt, b, c = self._dt_b_c(xs)
        A = -torch.exp(self.A_log.float())
        y = kernels.selective_state_update(
            ssm_state, xs, dt, A, b, c, self.D, z, dt_bias=self.dt_proj.bias, dt_softplus=True
        )
        return self.out_proj(y), state


class MambaStack(RecurrentStack):
    """Optional Linear(d_in -> d_model), then n_layers of x + Mamba(RMSNorm(x)), then a final RMSNorm.

    A StreamingModel (models/streaming.py): stride 1, latency 0, no options. State: {"conv.i": (B, d_inner, d_conv-1),
    "ssm.i": (B, d_inner, d_state) fp32} per layer i. `step` updates it in place (the decode path).
    stream_tolerance 1e-5: the chunked scan adds in the same order as the whole one, up to fp32 rounding.

    Initialisation follows mamba_ssm (`_init_weights` of mixer_seq_simple): Linear biases zero (except dt_proj's,
    set from [dt_min, dt_max] by the inverse softplus), each block's out_proj re-drawn kaiming-uniform and divided by
    sqrt(n_layers) so the residual stream's variance does not grow with depth, A = -(1..N), D = 1."""

    stream_tolerance = 1e-5
    state_names = ("conv", "ssm")

    def __init__(self, cfg: MambaConfig):
        super().__init__()
        self.cfg = cfg
        self.in_proj = nn.Linear(cfg.d_in, cfg.d_model) if cfg.d_in else None
        self.norms = nn.ModuleList(nn.RMSNorm(cfg.d_model, eps=cfg.norm_eps) for _ in range(cfg.n_layers))
        self.blocks: tuple[Mamba, ...] = tuple(Mamba(cfg) for _ in range(cfg.n_layers))  # typed view of `layers`
        self.layers = nn.ModuleList(self.blocks)
        self.norm_f = nn.RMSNorm(cfg.d_model, eps=cfg.norm_eps)
        self.init_weights()

    def init_weights(self) -> None:
        """mamba_ssm's `_init_weights` (rescale_prenorm_residual, one residual per layer)."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear) and module.bias is not None:
                    if not any(module is layer.dt_proj for layer in self.blocks):
                        nn.init.zeros_(module.bias)
            for layer in self.blocks:
                nn.init.kaiming_uniform_(layer.out_proj.weight, a=math.sqrt(5))
                layer.out_proj.weight /= math.sqrt(self.cfg.n_layers)

    def _layer_init(self, i: int, batch: int, device, dtype) -> LayerState:
        return self.blocks[i].init_state(batch, device, dtype)

    def _layer_run(self, i: int, h: torch.Tensor, s: LayerState | None) -> tuple[torch.Tensor, LayerState]:
        y, new = self.blocks[i](self.norms[i](h), s)
        return h + y, new

    def _layer_step(self, i: int, h: torch.Tensor, s: LayerState) -> torch.Tensor:
        return h + self.blocks[i].step(self.norms[i](h), s)[0]
