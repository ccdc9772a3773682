"""models/enhancer_jit.py, the live frame's compiled parts: a part numba cannot compile leaves the model on the torch
step (not an exception out of step()), and settings changed in place as ints compile no new version mid-stream."""

import numpy as np
import pytest
import torch
from numba.core.errors import TypingError
from wavegraph.models import enhancer_numpy
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_fast import fast_step
from wavegraph.models.enhancer_jit import adaptive_mask


def _model() -> Enhancer:
    torch.manual_seed(0)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=2, df_bins=12, df_order=3, snr_adapt=True, mask_floor=0.03)
    model = Enhancer(cfg).eval()
    with torch.no_grad():
        model.head.weight.normal_(0, 1.0)
    return model


def _blocks(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return 0.1 * torch.randn(n, 1, 160, generator=g)


def test_a_part_numba_cannot_compile_leaves_the_torch_step(monkeypatch):
    def refuses(*args):
        raise TypingError("cannot type this")

    monkeypatch.setattr(enhancer_numpy, "gla_block", refuses)
    model = _model()
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        assert enhancer_numpy.numpy_frame(model, fast) is None  # the check run met the error: no numpy frame
        state = model.init_state(1)
        for x in _blocks(3):
            y, state = model.step(x, state)  # the torch step
            assert torch.isfinite(y).all()


def test_settings_set_in_place_as_ints_compile_no_new_version(monkeypatch):
    model = _model()
    x = _blocks(6)
    with torch.inference_mode():
        state = model.init_state(1)
        for t in range(3):
            _, state = model.step(x[t], state)
        assert model.__dict__["_numpy"] is not None
        before = len(adaptive_mask.signatures)
        model.cfg.mask_floor, model.cfg.low_snr_postfilter = 0, 1  # ints, where the config held floats
        for t in range(3, 6):
            y, state = model.step(x[t], state)
            assert torch.isfinite(y).all()
        assert model.__dict__["_numpy"] is not None  # still the numpy frame
        assert len(adaptive_mask.signatures) == before


@pytest.mark.parametrize("post", [0.0, 0.5])
def test_the_adaptive_mask_updates_the_level_state_as_the_formula_says(post):
    """One row, by hand: the level state's one-pole step and the floor from the two levels' ratio."""
    rng = np.random.default_rng(0)
    m, power = rng.random((1, 20), np.float32), rng.random((1, 20), np.float32)
    level = np.array([[1e-3, 2e-3]], np.float32)
    weight, k, start, lo, hi = 0.1, 10 / 6 * 0.5, 2 / 6 * 0.5, 0.0, 1.0
    e0 = float(np.sum(m[0, 2:] ** 2 * power[0, 2:], dtype=np.float64))
    e1 = float(np.sum((1 - m[0, 2:]) ** 2 * power[0, 2:], dtype=np.float64))
    want = np.array([1e-3 + weight * (e0 - 1e-3), 2e-3 + weight * (e1 - 2e-3)])
    out = adaptive_mask(m, power, level, 2, weight, post, k, start, lo, hi, 0.0, 0.03, 1e-30)
    np.testing.assert_allclose(level[0], want, rtol=1e-6)
    floor = min(max(start + k * (np.log10(want[1]) - np.log10(want[0])), lo), hi)
    if post:
        b = floor * post
        sin2 = np.sin(m[0] * np.pi / 2) ** 2
        mm = (1 + b) * m[0] * sin2 / np.maximum(sin2 + b, 1e-12)
        expect = mm + (floor * 0.0 + 0.03) * (1 - mm)
    else:
        expect = m[0] + floor * (1 - m[0])
    np.testing.assert_allclose(out[0], expect, rtol=1e-5, atol=1e-6)
