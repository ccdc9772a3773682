"""The enhancer's fused inference step (models/enhancer.py): what a live graph runs every 10 ms frame.

`FastGLAStep` is one GLAStack step and the head with the projections fused and the norms folded in. The Enhancer
builds it from its own weights and checks it against its eager step before using it; on the CPU its numpy port
(models/enhancer_numpy.py) runs the frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from .gla import GLABlock, GLAStack
from .streaming import State

if TYPE_CHECKING:
    from .enhancer import Enhancer


def _rms(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMS normalisation without a weight, in the fewest CPU ops (one 10 ms frame is a handful of tiny tensors)."""
    return x * x.square().mean(-1, keepdim=True).add_(eps).rsqrt_()


class FastGLAStep:
    """Inference-only one-frame step of a GLAStack and the enhancer's head: the same arithmetic as GLAStack.step
    followed by `head`, with the q/k/v/gate/r projections in one matmul, every RMSNorm weight folded into the
    matrix that follows it, the gate as sigmoid(z) ** (1 / normalizer) (= exp(logsigmoid(z) / normalizer)), and no
    module-call or kernel-dispatch overhead (a live graph pays this per 10 ms frame). Built from the model's own
    weights; `Enhancer` checks it against GLAStack.step + head when it builds it and keeps the stack's step if they
    differ (e.g. after a change in models/gla.py). Returns the head's logits (B, 1, bins + 1)."""

    def __init__(self, stack: GLAStack, head: nn.Linear, prefix: str = ""):
        cfg = stack.cfg
        self.keys = [f"{prefix}S.{i}" for i in range(len(stack.layers))]  # the layer states in the state dict
        self.eps, self.inv_gnorm = cfg.norm_eps, 1.0 / cfg.gate_logit_normalizer
        self.in_proj = None if stack.in_proj is None else (stack.in_proj.weight.detach().T, stack.in_proj.bias.detach())
        norm_f = cast(torch.Tensor, stack.norm_f.weight).detach()
        self.head = ((head.weight.detach() * norm_f[None]).T.contiguous(), head.bias.detach())
        self.layers = []
        for blk in cast("list[GLABlock]", list(stack.layers)):
            at = blk.attn
            projs = (at.q_proj, at.k_proj, at.v_proj, cast(nn.Linear, at.g_proj[0]), at.r_proj)
            w = torch.cat([m.weight for m in projs], 0).detach() * blk.attn_norm.weight.detach()[None]
            g2 = cast(nn.Linear, at.g_proj[1])
            o_w = at.o_proj.weight.detach() * at.o_norm.weight.detach().repeat(at.n_heads)[None]
            mlp_w = blk.gate_up.weight.detach() * blk.mlp_norm.weight.detach()[None]
            self.layers.append(
                (
                    (at.n_heads, at.dk, at.dv, at.o_norm.eps),
                    w.T.contiguous(),
                    [m.out_features for m in projs],
                    (g2.weight.detach().T.contiguous(), g2.bias.detach()),
                    o_w.T.contiguous(),
                    mlp_w.T.contiguous(),
                    blk.down.weight.detach().T.contiguous(),
                )
            )

    def __call__(self, f: torch.Tensor, state: State) -> torch.Tensor:
        h = f if self.in_proj is None else torch.addmm(self.in_proj[1], f, self.in_proj[0])
        b = f.shape[0]
        for key, ((heads, dk, dv, o_eps), w, sizes, (g_w, g_b), o_w, mlp_w, down_w) in zip(self.keys, self.layers):
            q, k, v, g, r = (_rms(h, self.eps) @ w).split(sizes, -1)
            g = torch.sigmoid(torch.addmm(g_b, g, g_w)).pow_(self.inv_gnorm)
            S = state[key]
            S.mul_(g.view(b, heads, dk, 1)).addcmul_(k.view(b, heads, dk, 1), v.view(b, heads, 1, dv))
            o = torch.matmul(q.view(b, heads, 1, dk), S).view(b, heads, dv).mul_(dk**-0.5)
            o = _rms(o, o_eps).view(b, heads * dv).mul_(nn.functional.silu(r))
            h = torch.addmm(h, o, o_w)
            gate, up = (_rms(h, self.eps) @ mlp_w).chunk(2, -1)
            h = torch.addmm(h, nn.functional.silu(gate).mul_(up), down_w)
        return torch.addmm(self.head[1], _rms(h, self.eps), self.head[0]).unsqueeze(1)


def fast_step(model: Enhancer) -> FastGLAStep | None:
    """The fused GLA + head step for inference (None while training, for a Mamba core, or if it failed its
    check). Rebuilt when a parameter changes (optimizer step, load_state_dict)."""
    if model.training or torch.is_grad_enabled() or not isinstance(model.core, GLAStack):
        return None
    cache = model.__dict__  # plain attributes, dropped by Enhancer._forget_fast_step
    params = cache.get("_fast_params")
    if params is None:  # dropped by load_state_dict and by .to()/.double() (_apply): they replace parameters
        params = cache["_fast_params"] = list(model.parameters())
    try:  # in-place updates (optimizer steps, load_state_dict) bump the versions
        key = tuple(p._version for p in params)
    except RuntimeError:  # e.g. parameters made inside inference_mode track no version: no fused step
        return None
    if cache.get("_fast_key") != key:
        cache["_fast_key"], cache["_fast"] = key, None
        try:
            fast = FastGLAStep(model.core, model.head, "core.")
            check = FastGLAStep(model.core, model.head)
            f = torch.randn(2, model.cfg.n_features, generator=torch.Generator().manual_seed(0)).to(model.head.weight)
            s1, s2 = model.core.init_state(2, f.device), model.core.init_state(2, f.device)
            for _ in range(3):
                h, s1 = model.core.step(f, s1)
                ref = model.head(h)
                got = check(f, s2)
            if torch.allclose(got, ref, atol=1e-5, rtol=1e-4):
                cache["_fast"] = fast
        except (
            AttributeError,
            RuntimeError,
            ValueError,
            TypeError,
        ):  # models/gla.py changed shape: keep the stack's step
            pass
    return cache["_fast"]
