"""The SNR-adaptive floor's estimate over the voice's band only (EnhancerConfig.snr_from_bin, models/enhancer_gain.py):
a rumble under 150 Hz (brown noise put nearly all of its energy there) no longer reads as a low SNR when the bins
above it are clean, in the torch and the numpy step alike; the setting is checked."""

import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_fast import fast_step
from wavegraph.models.enhancer_gain import LEVEL_START, adaptive_mask

CFG = dict(core="gla", d_model=16, n_layers=1, snr_adapt=True, mask_floor=0.03, low_snr_floor=0.0, snr_tau=0.02)


def _floor_after(cfg: EnhancerConfig, frames: int = 200) -> float:
    """The mask applied to a bin the network silences (m = 0), in the voice's band, after `frames` frames of a
    frame whose three lowest bins hold a loud rumble (m = 0 there: noise) and whose other bins are clean voice
    (m = 1)."""
    m = torch.ones(1, 1, cfg.n_bins)
    m[..., :3] = 0.0
    m[..., 40] = 0.0  # the bin whose applied mask is the floor
    power = torch.full((1, 1, cfg.n_bins), 1.0)
    power[..., :3] = 1e4  # the rumble: 40 dB over each voice bin, ~20 dB over the whole voice band
    power[..., 40] = 0.0
    level = torch.full((1, 2), LEVEL_START)
    for _ in range(frames):
        mask, level = adaptive_mask(m, power, level, cfg)
    return float(mask[0, 0, 40])


def test_a_rumble_under_the_voice_band_does_not_drop_the_floor_when_left_out():
    every_bin = EnhancerConfig(**CFG)
    voice_band = EnhancerConfig(**CFG, snr_from_bin=3)
    assert _floor_after(every_bin) == pytest.approx(0.0, abs=1e-6)  # read as ~-20 dB: the low-SNR floor
    assert _floor_after(voice_band) == pytest.approx(0.03, abs=1e-6)  # clean voice band: the high-SNR floor


def test_the_numpy_step_follows_the_band_as_the_torch_step_does():
    torch.manual_seed(0)
    model = Enhancer(EnhancerConfig(**{**CFG, "snr_tau": 3.0}, df_bins=12, df_order=3, snr_from_bin=3)).eval()
    with torch.no_grad():
        model.head.weight.normal_(0, 1.0)
        model.head.bias.normal_(0, 1.0)
    t = torch.arange(30 * 160) / 16000
    noise = 0.01 * torch.randn(30 * 160, generator=torch.Generator().manual_seed(1))  # every bin above rounding noise
    x = (0.5 * torch.sin(2 * torch.pi * 40 * t) + 0.05 * torch.sin(2 * torch.pi * 700 * t) + noise).view(1, 30, 160)
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        s_np, s_torch = model.init_state(1), model.init_state(1)
        for k in range(30):
            y_np, s_np = model.step(x[:, k], s_np)
            y_torch, s_torch = model._fast_frame(x[:, k], s_torch, fast)
            torch.testing.assert_close(y_np, y_torch, atol=2e-5, rtol=1e-4)
        assert model.__dict__["_numpy"] is not None
        torch.testing.assert_close(s_np["level"], s_torch["level"], rtol=1e-4, atol=1e-12)


@pytest.mark.parametrize("bad", [-1, 161, 500])
def test_a_band_start_outside_the_bins_is_refused(bad):
    with pytest.raises(ValueError, match="snr_from_bin must be in 0..160"):
        EnhancerConfig(**CFG, snr_from_bin=bad)
