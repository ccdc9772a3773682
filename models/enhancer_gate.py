"""The enhancer's time gate (EnhancerConfig.gate_blocks > 0): a gain over time inside each 20 ms frame.

The mask and the deep filter act per 10 ms frame and per 50 Hz bin, so a 2 ms click inside a frame can only be
removed by lowering the whole frame's bins, speech included, and what is left of it is spread over the frame by the
synthesis. The time gate lets the network lower the output inside the frame where the click is: the head gives
gate_blocks more logits z_b per frame, one per block of n_fft / gate_blocks samples (the impulse feature's blocks,
which tell the network where in the frame the energy is), and the frame's synthesized samples (window applied, before
the overlap-add) are multiplied by

    g(n) = 1 + sum_b tanh(z_b / 2) c_b(n)        (= 2 sigmoid(z) where the curve rests on one block: in (0, 2))

where c_b(n) interpolates linearly between the blocks' centres (constant before the first and after the last; the
weights of every sample sum to 1). At z = 0 the gain is exactly 1: a model grown with the gate (`with_time_gate`,
new head rows at zero) computes what it did before. Per frame, so streaming equals offline for any chunking; no
added latency; one (gate_blocks x n_fft) product and one multiply per frame.

With gate_split > 0 the gate has two bands: the frame is synthesized as the part of its bins below gate_split and
the part from gate_split up (the two products cost what the one did), each part multiplied by its own gain curve
(the head gives 2 gate_blocks logits: the low band's, then the high band's), and the two added. A click above 1 kHz
can then be cut without cutting the voice below it. A model grown with the split (`with_split_gate`: the high band's
rows a copy of the one gate's) computes what it did before."""

from __future__ import annotations

import torch


def gate_curve(n_fft: int, blocks: int) -> torch.Tensor:
    """(blocks, n_fft) float32: c_b(n), the weight of block b's gain at sample n of the frame."""
    size = n_fft / blocks
    pos = (torch.arange(n_fft, dtype=torch.float64) + 0.5) / size - 0.5  # sample position in block-centre units
    pos = pos.clamp(0, blocks - 1)
    lo = pos.floor().clamp(max=blocks - 2) if blocks > 1 else pos.floor()
    frac = pos - lo
    curve = torch.zeros(blocks, n_fft, dtype=torch.float64)
    cols = torch.arange(n_fft)
    curve[lo.long(), cols] = 1 - frac
    if blocks > 1:
        curve[lo.long() + 1, cols] += frac
    return curve.float()


def apply_gate(seg: torch.Tensor, logits: torch.Tensor, curve: torch.Tensor) -> torch.Tensor:
    """seg (..., n_fft) the synthesized frames, logits (..., blocks) their gate logits -> the gated frames."""
    return seg * (torch.tanh(logits * 0.5) @ curve).add_(1)


def synthesize(out: torch.Tensor, logits: torch.Tensor, idft: torch.Tensor, cfg, curve: torch.Tensor | None):
    """out (..., bins * 2) the filtered frames (real, imaginary per bin), logits (..., outputs) the head's -> the
    frames' samples (..., n_fft), synthesis window and time gate (with cfg.gate_blocks) applied."""
    if not cfg.gate_blocks or curve is None:
        return out @ idft
    if not cfg.gate_split:
        return apply_gate(out @ idft, logits.narrow(-1, cfg.gate_offset, cfg.gate_blocks), curve)
    k, n = 2 * cfg.gate_split, out.shape[-1] - 2 * cfg.gate_split
    z = logits.narrow(-1, cfg.gate_offset, 2 * cfg.gate_blocks).unflatten(-1, (2, cfg.gate_blocks))
    g = (torch.tanh(z * 0.5) @ curve).add_(1)  # (..., 2, n_fft): both bands' gains in one product (as apply_gate)
    low = (out.narrow(-1, 0, k) @ idft.narrow(0, 0, k)).mul_(g.select(-2, 0))
    return low.addcmul_(out.narrow(-1, k, n) @ idft.narrow(0, k, n), g.select(-2, 1))
