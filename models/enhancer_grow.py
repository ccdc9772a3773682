"""Growing a trained enhancer by one input feature: a copy whose new core-input columns and head rows start at zero,
so that it computes what the trained model does (training then learns the feature on top of it: `--init` with the
feature's option). The Enhancer's `with_*` methods call `grown`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .enhancer import Enhancer

_GROWN_ORDER = {
    "df_bins": "a deep filter",
    "tone_frames": "the tone feature",
    "onset_frames": "the onset feature",
    "impulse_blocks": "the impulse feature",
    "gate_blocks": "the time gate",  # no input columns: its head rows come last
    "gate_split": "the time gate's second band",  # the high band's head rows, after the gate's
    "pitch_lag": "the pitch input",  # its input columns and head rows come last
}


def grown(model: Enhancer, feature: str, **changes) -> Enhancer:
    """A copy of `model` with `feature` (a config field of _GROWN_ORDER) added by `changes` to its config, whose new
    core-input columns and head rows (appended after the old ones) start at zero, so that it computes what `model` does.
    The columns of the features come in _GROWN_ORDER, so one is added only to a model without it and the later ones."""
    from .enhancer import Enhancer, EnhancerConfig

    order = list(_GROWN_ORDER)
    later = order[order.index(feature) :]
    if any(getattr(model.cfg, name) for name in later):
        names = ", ".join(_GROWN_ORDER[name] for name in later)
        raise ValueError(f"adding {_GROWN_ORDER[feature]} needs a model without {names} (their columns come last)")
    new = Enhancer(EnhancerConfig.from_dict({**model.cfg.to_dict(), **changes}))
    mine = model.state_dict()
    with torch.no_grad():
        for name, p in new.state_dict().items():
            old = mine[name]
            if p.shape != old.shape:  # the core's input projection (columns) or the head (rows): grown
                p.zero_()
                p[tuple(slice(0, n) for n in old.shape)] = old
            else:
                p.copy_(old)
    return new.train(model.training)
