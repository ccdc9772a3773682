"""Session 30's review of the pitch input (models/enhancer_pitch.py) and of `Enhancer.step`'s kept numpy views of the
state (`_state_views`): a quiet window after a loud burst at int16 scale, and a state whose keys were shuffled onto
the same tensors between frames."""

import numpy as np
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_fast import fast_step
from wavegraph.models.enhancer_pitch import pitch_frame_np, pitch_frames

SR, W, H, L, LMIN = 16000, 320, 160, 256, 32


def _voice(n: int, f0: float = 160.0) -> np.ndarray:
    t = np.arange(n) / SR
    return 0.1 * np.sum([np.sin(2 * np.pi * k * f0 * t + k) / k for k in range(1, 15)], 0)


def test_the_correlation_stays_within_one_after_a_loud_burst_at_int16_scale():
    """A full-scale click at int16 scale (+-32768 is accepted input), then, within the 36 ms a frame's search reads,
    a voice ~150 dB under it (under one LSB: a filter's decaying tail, float dither): the frame's energy, a
    difference of float64 running sums that hold the click's, came out ~0, and r(L) = 8e6 in the torch path and the
    numpy frame alike (a core input). Energies are floored at 1e-10 of the segment's (ENERGY_FLOOR), so r stays a
    correlation and both paths agree."""
    x = np.concatenate([3e4 * np.random.default_rng(2).standard_normal(200), 1e-2 * _voice(2000)]).astype(np.float32)
    ext = np.concatenate([np.zeros(L, np.float32), x])
    dft = Enhancer(EnhancerConfig(df_bins=96, pitch_lag=L)).dft[:, :192]
    _, corr = pitch_frames(torch.from_numpy(ext)[None], W, H, L, LMIN, dft)
    r_torch = corr[0, :, 0].numpy()
    r_np = np.array(
        [
            float(pitch_frame_np(ext[s : s + L + W][None], W, L, LMIN, dft.numpy())[1][0, 0])
            for s in range(0, ext.size - L - W + 1, H)
        ]
    )
    assert np.abs(r_torch).max() <= 1 + 1e-4 and np.abs(r_np).max() <= 1 + 1e-4
    np.testing.assert_allclose(r_torch, r_np[: r_torch.size], atol=1e-3)
    assert r_torch[-1] > 0.95  # the voice, well past the click: still found


def test_kept_views_follow_the_keys_not_the_order_of_the_tensors():
    """Between frames the state's entries are put back under each other's names, the tensors in the same order (the
    dict rebuilt: 'prev' now holds what 'tail' held): the kept views were checked tensor by tensor in order only, so
    the numpy frame read the old 'prev' as 'prev' (0.25 off the torch step at that frame)."""
    torch.manual_seed(0)
    model = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, onset_frames=3)).eval()
    with torch.no_grad():
        model.head.weight.normal_(0, 1.0)
    x = 0.1 * torch.randn(12, 1, 160, generator=torch.Generator().manual_seed(5))

    def rename(state):
        items = list(state.items())
        keys = [k for k, _ in items]
        keys[0], keys[1] = keys[1], keys[0]  # 'prev' and 'tail': the same shape, so the state still checks
        state.clear()
        state.update(zip(keys, (v for _, v in items)))

    with torch.no_grad():
        fast = fast_step(model)
        assert fast is not None
        s_step, s_ref = model.init_state(1), model.init_state(1)
        assert list(s_step)[:2] == ["prev", "tail"]
        for t in range(12):
            if t == 6:
                rename(s_step)
                rename(s_ref)
            y, s_step = model.step(x[t], s_step)
            y_ref, s_ref = model._fast_frame(x[t], s_ref, fast)
            torch.testing.assert_close(y, y_ref, atol=2e-5, rtol=1e-4)
        assert model.__dict__["_numpy"] is not None
