"""The enhancer's numpy frame step (models/enhancer_numpy.py), what `Enhancer.step` runs on the CPU: built for every
feature the model has, equal to the torch frame step (`_fast_frame`) frame by frame in output and state, and refused
(the torch step used) when its check against the torch step fails. Streaming against offline with it is checked by
the shared harness in the feature tests (test_enhancer*.py)."""

import numpy as np
import pytest
import torch
from wavegraph.models import enhancer_numpy
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_fast import fast_step
from wavegraph.models.enhancer_numpy import numpy_frame

CONFIGS = {
    "mask only, fixed floor": dict(mask_floor=0.05),
    "deep filter, SNR-adaptive floor": dict(df_bins=12, df_order=3, snr_adapt=True, mask_floor=0.03),
    "every feature, split gate, post-filter": dict(
        df_bins=12,
        df_order=5,
        tone_frames=4,
        onset_frames=3,
        impulse_blocks=8,
        gate_blocks=8,
        gate_split=20,
        snr_adapt=True,
        mask_floor=0.03,
        low_snr_floor=0.01,
        low_snr_postfilter=0.5,
    ),
    "one-band gate, two layers": dict(impulse_blocks=8, gate_blocks=8, n_layers=2, onset_frames=2),
    "pitch input, split gate": dict(
        df_bins=12, tone_frames=4, impulse_blocks=8, gate_blocks=8, gate_split=20, pitch_lag=256, snr_adapt=True
    ),
}


def _model(**changes) -> Enhancer:
    torch.manual_seed(0)
    model = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=changes.pop("n_layers", 1), **changes)).eval()
    with torch.no_grad():  # trained-like: every head output (mask, taps, gates) away from its resting value
        model.head.weight.normal_(0, 1.0)
        model.head.bias.normal_(0, 1.0)
    return model


def _signal(frames: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    t = torch.arange(frames * 160) / 16000
    x = 0.3 * torch.sin(2 * torch.pi * 220 * t) * (1 + torch.sin(2 * torch.pi * 3 * t)) + 0.05 * torch.randn(
        frames * 160, generator=g
    )
    x[25 * 160 + 40 : 25 * 160 + 44] += 2.0  # a click
    x[30 * 160 : 32 * 160] = 0.0  # digital silence: the tone feature's zero phasors
    return x.view(1, frames, 160)


@pytest.mark.parametrize("name", CONFIGS)
def test_the_numpy_frame_equals_the_torch_frame_step_in_output_and_state(name):
    model = _model(**CONFIGS[name])
    x = _signal(40)
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        frame = numpy_frame(model, fast)
        assert frame is not None, "the numpy frame failed its own check against the torch step"
        s_np, s_torch = model.init_state(1), model.init_state(1)
        for t in range(x.shape[1]):
            y_np, s_np = model.step(x[:, t], s_np)  # the numpy frame
            y_torch, s_torch = model._fast_frame(x[:, t], s_torch, fast)
            torch.testing.assert_close(y_np, y_torch, atol=2e-5, rtol=1e-4)
        assert model.__dict__["_numpy"] is frame  # step ran the numpy frame, built once
        assert s_np.keys() == s_torch.keys()
        for k in s_np:
            torch.testing.assert_close(s_np[k], s_torch[k].reshape(s_np[k].shape), atol=1e-4, rtol=1e-3)


def test_a_numpy_frame_that_disagrees_with_the_torch_step_is_not_used(monkeypatch):
    """Its check against `_fast_frame` is what keeps a port that drifted from the torch step (a change in one of
    them) out of a live graph: step() then gives the torch step's output."""
    model = _model(**CONFIGS["deep filter, SNR-adaptive floor"])
    real = enhancer_numpy.NumpyFrame._synthesize
    monkeypatch.setattr(enhancer_numpy.NumpyFrame, "_synthesize", lambda self, out, z: real(self, out, z) * 1.001)
    x = _signal(5)
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        assert numpy_frame(model, fast) is None
        y, _ = model.step(x[:, 0], model.init_state(1))
        ref, _ = model._fast_frame(x[:, 0], model.init_state(1), fast)
    assert torch.equal(y, ref)


def test_new_weights_rebuild_the_numpy_frame():
    model = _model(**CONFIGS["mask only, fixed floor"])
    x = _signal(3)[:, 0]
    with torch.inference_mode():
        before = model.step(x, model.init_state(1))[0]
    with torch.no_grad():
        model.head.bias[:161].add_(2.0)  # an optimizer step or load_state_dict changes the weights in place
    with torch.inference_mode():
        after = model.step(x, model.init_state(1))[0]
        fast = fast_step(model)
        assert fast is not None
        ref = model._fast_frame(x, model.init_state(1), fast)[0]
    torch.testing.assert_close(after, ref, atol=1e-6, rtol=1e-5)
    assert not np.allclose(before.numpy(), after.numpy(), atol=1e-4)


def test_settings_changed_in_place_are_read_at_every_frame():
    """The SNR-adaptive floor's settings (models/enhancer_gain.py) can be changed on a running model: the numpy frame
    follows them as the torch step does (a time constant cached when the frame was built would not)."""
    model = _model(**CONFIGS["every feature, split gate, post-filter"])
    x = _signal(12)
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        s_np, s_torch = model.init_state(1), model.init_state(1)
        for t in range(x.shape[1]):
            if t == 4:
                model.cfg.snr_tau, model.cfg.snr_high, model.cfg.onset_frames = 0.05, 10.0, 1
            y_np, s_np = model.step(x[:, t], s_np)
            y_torch, s_torch = model._fast_frame(x[:, t], s_torch, fast)
            torch.testing.assert_close(y_np, y_torch, atol=2e-5, rtol=1e-4)
        assert model.__dict__["_numpy"] is not None


def test_a_short_snr_time_constant_through_digital_silence_stays_finite():
    """With snr_tau under ~14 ms the smoothed levels reached exactly 0 in digital silence and log10 made the mask and
    the output NaN there (both steps; helper 188's review). The levels are floored before the log now."""
    model = _model(**CONFIGS["deep filter, SNR-adaptive floor"])
    model.cfg.snr_tau = 0.005
    x = torch.cat([torch.zeros(1, 80, 160), _signal(10)], 1)
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        s_np, s_torch = model.init_state(1), model.init_state(1)
        for t in range(x.shape[1]):
            y_np, s_np = model.step(x[:, t], s_np)
            y_torch, s_torch = model._fast_frame(x[:, t], s_torch, fast)
            assert torch.isfinite(y_np).all() and torch.isfinite(y_torch).all(), t
            torch.testing.assert_close(y_np, y_torch, atol=2e-5, rtol=1e-4)
            if t == 79:  # the end of the silence: the levels did reach 0, the floor is what kept the output finite
                assert float(s_np["level"].max()) == 0.0 and float(s_torch["level"].max()) == 0.0
