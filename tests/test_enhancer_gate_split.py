"""The time gate in two bands (EnhancerConfig.gate_split, models/enhancer_gate.py `synthesize`): a model grown with
it computes the same output, streaming equals offline in every path with it, each band's gain acts on its own bins
only, its config and option checks, and its rows take the gate's learning-rate multiplier."""

import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_lr import gate_lr_targets
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.models.train_enhancer import _split_bin


def _gated(seed: int = 0) -> Enhancer:
    torch.manual_seed(seed)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, impulse_blocks=8, mask_floor=0.03)
    cfg.snr_adapt = True
    model = Enhancer(cfg).with_time_gate(8).eval()
    with torch.no_grad():  # a trained gate: rows away from zero
        model.head.weight[model.cfg.gate_offset :].normal_(0, 2.0)
        model.head.bias[model.cfg.gate_offset :].normal_(0, 1.0)
    return model


def _clicky(seed: int = 1) -> torch.Tensor:
    x = 0.1 * torch.randn(2, 30, 160, generator=torch.Generator().manual_seed(seed))
    x[:, 20, 40:45] += 3.0
    return x


def test_split_gate_grown_keeps_the_output_then_streams_equal_offline_in_every_path():
    base = _gated()
    split = base.with_split_gate(20).eval()
    assert split.cfg.gate_split == 20 and split.cfg.n_outputs == base.cfg.n_outputs + 8
    x = _clicky()
    with torch.no_grad():
        torch.testing.assert_close(split(x), base(x), atol=1e-6, rtol=1e-5)  # both bands the one gate's gains
        high = slice(base.cfg.n_outputs, split.cfg.n_outputs)
        split.head.weight[high].normal_(0, 2.0)
        split.head.bias[high].normal_(0, 1.0)
        assert float((split(x) - base(x)).abs().max()) > 1e-3  # the high band has its own gains now
    # every chunking, and the live step (the numpy frame), against forward: the shared harness
    assert_stream_equals_forward(split, x)


def test_each_band_of_the_gate_acts_on_its_own_bins_only():
    """Closing the high band's gate (its bias at -40: gain ~0) leaves a low tone through and removes a high one."""
    split = _gated().with_split_gate(20).eval()  # 20 bins: 1 kHz
    cfg = split.cfg
    with torch.no_grad():
        split.head.weight[cfg.gate_offset :].zero_()
        split.head.bias[cfg.gate_offset : cfg.gate_offset + 8] = 0.0  # low band: gain 1
        split.head.bias[cfg.gate_offset + 8 :] = -40.0  # high band: closed
        t = torch.arange(40 * 160) / 16000
        low = split(torch.sin(2 * torch.pi * 300 * t).view(1, 40, 160))[..., :160].flatten()
        high = split(torch.sin(2 * torch.pi * 3000 * t).view(1, 40, 160))[..., :160].flatten()
        split.head.bias[cfg.gate_offset + 8 :] = 0.0  # both open: the reference
        low_open = split(torch.sin(2 * torch.pi * 300 * t).view(1, 40, 160))[..., :160].flatten()
        high_open = split(torch.sin(2 * torch.pi * 3000 * t).view(1, 40, 160))[..., :160].flatten()
    keep = slice(800, None)  # past the start
    assert float(high[keep].square().sum() / high_open[keep].square().sum()) < 1e-3  # -30 dB or more
    assert float(low[keep].square().sum() / low_open[keep].square().sum()) > 0.9


def test_split_gate_checks_and_lr_rows():
    with pytest.raises(ValueError, match="gate_split needs gate_blocks"):
        EnhancerConfig(gate_split=20)
    with pytest.raises(ValueError, match="gate_split needs gate_blocks"):
        EnhancerConfig(gate_blocks=8, gate_split=161)
    with pytest.raises(ValueError, match="needs a model with the time gate"):
        Enhancer(EnhancerConfig(d_model=16, n_layers=1)).with_split_gate(20)
    split = _gated().with_split_gate(20)
    with pytest.raises(ValueError, match="without the time gate's second band"):
        split.with_split_gate(30)
    (w, span), _ = gate_lr_targets(split, 20.0)
    assert span == [(split.cfg.gate_offset, 16, 20.0)]  # both bands' rows
    assert _split_bin(1000.0, split.cfg) == 20 and _split_bin(0.0, split.cfg) == 0 and _split_bin(10.0, split.cfg) == 1
    for bad in (-5.0, float("nan"), 8000.0):
        with pytest.raises(ValueError, match="--gate-split-hz"):
            _split_bin(bad, split.cfg)
