"""One more GLA block for a trained enhancer (`wavegraph train enhancer --init W --add-layer`), and the learning-rate
multiplier for it (--layer-lr-scale).

The core's blocks are pre-norm residual (models/gla.py: h = x + attn(norm(x)); y = h + mlp(norm(h))), so a block whose
two output projections (the attention's o_proj, the MLP's down) are zero adds nothing: appended after the last block,
before the final norm, the grown model computes what the trained one did, and a fine-tune learns the block on top of
it, as the grown input features are learned (enhancer_grow.grown)."""

from __future__ import annotations

from typing import cast

import torch

from .enhancer import Enhancer, EnhancerConfig
from .gla import GLAStack


def with_extra_layer(model: Enhancer, seed: int = 0) -> Enhancer:
    """A copy of `model` with one more GLA block after its last, whose output projections start at zero, so that it
    computes the same output. The new block's other weights are drawn as a fresh block's from `seed`, not from the
    caller's generator: fine-tunes on different seeds then start from the same grown model, so their weights can be
    averaged (models/average_weights.py), and torch's generators are left as they were. The copy is float32 on the
    CPU, as a fresh Enhancer is (the trainer loads --init in float32)."""
    cfg = model.cfg
    if cfg.core != "gla":
        raise ValueError(f"--add-layer grows a GLA core; this model's core is {cfg.core!r}")
    with torch.random.fork_rng(devices=[]):  # the CPU generator restored after; no other device's is touched
        torch.default_generator.manual_seed(seed)
        new = Enhancer(EnhancerConfig.from_dict({**cfg.to_dict(), "n_layers": cfg.n_layers + 1}))
    missing, unexpected = new.load_state_dict(model.state_dict(), strict=False)
    prefix = f"core.layers.{cfg.n_layers}."
    if unexpected or any(not name.startswith(prefix) for name in missing):  # only the new block is new
        raise ValueError(f"cannot grow this model by a layer: unexpected {unexpected}, missing {missing}")
    block = cast(GLAStack, new.core).blocks[-1]
    with torch.no_grad():
        block.attn.o_proj.weight.zero_()
        block.down.weight.zero_()
    return new.train(model.training)


def layer_lr_targets(model: Enhancer, scale: float) -> list[tuple[torch.Tensor, list[tuple[int, int, float]]]]:
    """`scaled_step`'s extra targets for --layer-lr-scale: every parameter of the core's last block, whole (a 1-D one
    as a row), its change per optimizer step multiplied by `scale`; none for a scale of 1."""
    if scale == 1:
        return []
    out = []
    for p in cast(GLAStack, model.core).blocks[-1].parameters():
        w = p if p.dim() == 2 else p[None]
        out.append((w, [(0, w.shape[1], scale)]))
    return out
