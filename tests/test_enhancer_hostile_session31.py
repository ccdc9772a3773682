"""Session 31's hostile inputs to the shipped enhancer (stage 30s, with the pitch input): signals whose pitch
correlations tie across lags (a click in digital silence, clicks 257 samples apart, a full-scale square wave). The
whole-file run (torch, FFT correlation) and 10 ms steps (numpy frame, np.correlate) broke the ties differently, and
the deep filter's tap on the lagged window then added a different earlier window: the output of a chunked run was
up to 0.05 off the whole run's, its vad up to 0.36. Also the pitch search's edge lags (clicks 32 and 256 samples
apart)."""

import numpy as np
import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_pitch import pitch_frame_np, pitch_frames
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR, N = 16000, 16000
SPEC = signal_spec(SR, ["ch0"], "audio", "float32", "a.u.")


def _sizes(n: int, k: int) -> list[int]:
    return [k] * (n // k) + ([n % k] if n % k else [])


def _clicks(period: int) -> np.ndarray:
    x = np.zeros(N, np.float32)
    x[::period] = 1.0
    return x


def _impulse() -> np.ndarray:
    x = np.zeros(N, np.float32)
    x[5000] = 32767 / 32768  # one int16 full-scale sample in digital silence
    return x


def _square() -> np.ndarray:
    return np.sign(np.sin(2 * np.pi * 200 * np.arange(N) / SR)).astype(np.float32)


@pytest.mark.parametrize(
    "make",
    [_impulse, lambda: _clicks(257), _square, lambda: _clicks(32), lambda: _clicks(256)],
    ids=["impulse", "clicks257", "square200", "clicks32", "clicks256"],
)
def test_chunked_runs_equal_the_whole_run_where_pitch_lags_tie(make):
    """Before: the impulse's chunked output was 1.6e-3 off the whole run's (its peak 4.8e-3: the click's echo in one
    run only), clicks 257 samples apart 0.027 (vad 0.36), a 200 Hz square wave 0.05. Every output finite."""
    x = make()[None]
    out = assert_streaming_equivalent(
        EnhancerNode, x, SPEC, chunkings=[_sizes(N, 160), _sizes(N, 7), _sizes(N, 4000)], rtol=0, atol=2e-5
    )
    assert np.isfinite(out["out"]).all() and np.isfinite(out["vad"]).all()
    assert out["out"].shape == (1, N + 319)


def test_torch_and_numpy_pitch_search_choose_the_same_window_after_a_click():
    """Frames of digital silence after a click: r = 0 at every lag (np.correlate exactly, the FFT to ~1e-8), so a
    bare argmax took lag 256 in the numpy frame and whichever lag the FFT's rounding favoured in the torch path: the
    window one lag back held the click in one and not the other."""
    W, H, L, LMIN = 320, 160, 256, 32
    x = np.zeros(3000, np.float32)
    x[1000] = 1.0
    ext = np.concatenate([np.zeros(L, np.float32), x])
    dft = Enhancer(EnhancerConfig(df_bins=96, pitch_lag=L)).dft[:, :192]
    P, r = pitch_frames(torch.from_numpy(ext)[None], W, H, L, LMIN, dft)
    for k in range(P.shape[1]):
        Pn, rn = pitch_frame_np(ext[k * H : k * H + L + W][None], W, L, LMIN, dft.numpy())
        np.testing.assert_allclose(P[0, k].reshape(-1).numpy(), Pn[0], atol=1e-4, err_msg=f"frame {k}")
        np.testing.assert_allclose(float(r[0, k, 0]), float(rn[0, 0]), atol=1e-5)
