"""Review of session 27's enhancer commits (52ed1af, 5cc567f): the SNR-adaptive floor in a float16 model.

52ed1af floored the estimate's levels at LEVEL_FLOOR = 1e-30 before log10 so that digital silence no longer made the
floor, the mask and the output NaN. In float16 both 1e-30 and the level state's start LEVEL_START = 1e-10 are 0 (its
smallest subnormal is 6e-8), so a float16 model (checkpoint.load keeps a model saved in float16 so) whose stream starts
in digital silence still gave log10(0) - log10(0) = NaN there, with any snr_tau, in `stream` and in `step`.
"""

import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_gain import LEVEL_START, adaptive_mask

CFG = dict(core="gla", d_model=16, n_layers=1, snr_adapt=True, mask_floor=0.03, low_snr_floor=0.0)


@pytest.mark.parametrize("snr_tau", [3.0, 0.005])
@pytest.mark.parametrize("snr_from_bin", [0, 2])
def test_a_float16_model_through_digital_silence_at_the_start_stays_finite(snr_tau, snr_from_bin):
    torch.manual_seed(0)
    model = Enhancer(EnhancerConfig(**CFG, snr_tau=snr_tau, snr_from_bin=snr_from_bin)).eval().to(torch.float16)
    silence = torch.zeros(1, 20, model.cfg.hop, dtype=torch.float16)
    with torch.inference_mode():
        y, state = model.stream(silence, model.init_state(1, dtype=torch.float16))
        assert torch.isfinite(y).all()  # before: NaN in every frame
        s = model.init_state(1, dtype=torch.float16)
        for k in range(5):
            y_t, s = model.step(silence[:, k], s)
            assert torch.isfinite(y_t).all()
        assert not y[..., : model.cfg.hop].any()  # silence in, silence out


@pytest.mark.parametrize("snr_tau", [3.0, 0.005])
def test_the_float16_floor_in_silence_is_the_float32_one(snr_tau):
    # equal levels (0 dB: LEVEL_START, or both floored) put the floor a third of the way from mask_floor to
    # low_snr_floor (snr_high 2, snr_low -4), as in float32; the mask where the network says noise (m = 0) is that floor
    cfg = EnhancerConfig(**CFG, snr_tau=snr_tau, snr_low=-4.0, snr_high=2.0)  # the shipped settings
    masks = {}
    for dtype in (torch.float32, torch.float16):
        m = torch.zeros(1, 3, cfg.n_bins, dtype=dtype)
        level = torch.full((1, 2), LEVEL_START, dtype=dtype)
        masks[dtype], level = adaptive_mask(m, torch.zeros_like(m), level, cfg)
        assert torch.isfinite(masks[dtype]).all()
    assert masks[torch.float32][0, 0, 0].item() == pytest.approx(0.02, abs=1e-6)
    torch.testing.assert_close(masks[torch.float16].float(), masks[torch.float32], atol=1e-4, rtol=0)
