"""Learning-rate multipliers for the parts of the enhancer that a fine-tune grows at zero (`wavegraph train enhancer`
--tone-lr-scale, --onset-lr-scale, --impulse-lr-scale, --gate-lr-scale, --pitch-lr-scale): at a fine-tune's learning
rate new weights that start at zero hardly move, so the change each optimizer step makes to them is multiplied."""

from __future__ import annotations

import torch

from .enhancer import Enhancer, EnhancerConfig


def feature_lr_spans(
    cfg: EnhancerConfig, tone_scale: float, onset_scale: float, impulse_scale: float = 1.0, pitch_scale: float = 1.0
) -> list[tuple[int, int, float]]:
    """(first column, columns, multiplier) of the core's input columns whose optimizer step --tone-lr-scale,
    --onset-lr-scale, --impulse-lr-scale and --pitch-lr-scale multiply: the tone feature's n_bins columns, then the
    onset feature's, then the impulse feature's impulse_blocks, then the pitch input's df_bins + 1 (the last ones)."""
    spans, start = [], cfg.n_bins + 2 * cfg.df_bins
    features = (
        (cfg.n_bins if cfg.tone_frames else 0, tone_scale),
        (cfg.n_bins if cfg.onset_frames else 0, onset_scale),
        (cfg.impulse_blocks, impulse_scale),
        (cfg.df_bins + 1 if cfg.pitch_lag else 0, pitch_scale),
    )
    for width, scale in features:
        if width and scale != 1:
            spans.append((start, width, scale))
        start += width
    return spans


def scaled_step(
    opt: torch.optim.Optimizer,
    weight: torch.Tensor | None,
    spans: list[tuple[int, int, float]],
    extra: list[tuple[torch.Tensor, list[tuple[int, int, float]]]] = (),  # pyright: ignore[reportArgumentType]
) -> None:
    """opt.step(), then the change it made to each span of `weight`'s columns multiplied by the span's multiplier
    (new columns start at zero: at a fine-tune's learning rate they hardly move); `extra`: more (tensor, spans) pairs
    (`gate_lr_targets`). The tensors must be views of parameters that the optimizer updates in place."""
    targets = ([(weight, spans)] if weight is not None else []) + list(extra)
    before = [[w[:, a : a + n].detach().clone() for a, n, _ in s] for w, s in targets]
    opt.step()
    with torch.no_grad():
        for (w, s), olds in zip(targets, before):
            for (a, n, scale), old in zip(s, olds):
                cols = w[:, a : a + n]
                cols.add_(cols - old, alpha=scale - 1)


def gate_lr_targets(
    model: Enhancer, scale: float, pitch_scale: float = 1.0
) -> list[tuple[torch.Tensor, list[tuple[int, int, float]]]]:
    """`scaled_step`'s extra targets for --gate-lr-scale and --pitch-lr-scale: the time gate's head rows and the
    pitch tap's (the last rows of the head's weight, as columns of its transpose, and of its bias), or none."""
    cfg, span = model.cfg, []
    if cfg.gate_blocks and scale != 1:  # both bands' rows with gate_split
        span.append((cfg.gate_offset, cfg.pitch_offset - cfg.gate_offset, scale))
    if cfg.pitch_lag and pitch_scale != 1:
        span.append((cfg.pitch_offset, cfg.n_outputs - cfg.pitch_offset, pitch_scale))
    return [(model.head.weight.T, span), (model.head.bias[None], span)] if span else []
