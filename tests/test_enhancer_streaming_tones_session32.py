"""Session 32: the shipped enhancer's whole-file run (torch, all frames in one product) against 10 ms steps (numpy,
one frame) on synthetic signals with empty spectral bins, and on a real noisy recording whose pitch lag flipped.

Before, the analysis DFT summed its float32 products in float32, whose rounding depends on the product's shape, and
the level-free features (the tone steadiness, the phase advance, the pitch feature) read that rounding as signal in
bins that hold little else: a full-scale 125 Hz square wave (odd harmonics at half bins: the sqrt-Hann window leaves
exact zeros between them) gave outputs 0.15 apart (vad 0.63), a 500 Hz tone 0.032, an int16-quantized 1 kHz tone
6.9e-3. And the pitch search's float32 correlations (FFT against np.correlate, 3e-7 apart) chose another lag in 4 of
1,360 frames of a real mixture (brown noise, 0 dB): 1.5e-4 apart. Both are now summed in float64 (`analyze`,
models/enhancer_features.py; models/enhancer_pitch.py): 1.4e-6 and 2.5e-7. Then a bin whose sum cancels exactly (the
DC bin of a tone's frame centred on an exact zero crossing) holds only float64 rounding, whose sign the two paths
sum differently: such bins are zeroed for the phase features (`nonempty`), as digital silence is."""

import numpy as np
import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_features import EMPTY_BIN, analyze, nonempty
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR, N = 16000, 16000
SPEC = signal_spec(SR, ["ch0"], "audio", "float32", "a.u.")
T = np.arange(N) / SR


def _sizes(n: int, k: int) -> list[int]:
    return [k] * (n // k) + ([n % k] if n % k else [])


SIGNALS = {
    "square125": lambda: np.sign(np.sin(2 * np.pi * 125 * T)),
    "tone500": lambda: np.sin(2 * np.pi * 500 * T),
    "tone1k_int16": lambda: np.round(np.sin(2 * np.pi * 1000 * T) * 32767) / 32768,
    "dc_and_tone": lambda: 0.5 + 0.01 * np.sin(2 * np.pi * 300 * T),
    "nyquist": lambda: 0.5 * (-1.0) ** np.arange(N),
    "cosine_bin_centre": lambda: np.cos(2 * np.pi * 50 * 7 * T),
    # the node zeroes samples under 1e-10: the tone's zero crossings on the sample grid (every 400 samples) become
    # exact zeros, and a frame centred on one sums to exactly 0 in its DC bin (0.011 apart before `nonempty`)
    "silence_then_tone220": lambda: np.where(np.arange(N) >= 8000, 0.3 * np.sin(2 * np.pi * 220 * T), 0.0),
}


@pytest.mark.parametrize("name", list(SIGNALS))
def test_chunked_runs_equal_the_whole_run_on_signals_with_empty_bins(name):
    x = SIGNALS[name]().astype(np.float32)[None]
    out = assert_streaming_equivalent(
        EnhancerNode, x, SPEC, chunkings=[_sizes(N, 160), _sizes(N, 7), _sizes(N, 4001)], rtol=0, atol=2e-5
    )
    assert np.isfinite(out["out"]).all() and np.isfinite(out["vad"]).all()


def test_analyze_rounds_the_same_whatever_the_number_of_frames():
    """The spectra of 50 frames in one product equal each frame's own to one float32 step (where a sum meets a
    rounding boundary) plus the float64 sums' own rounding; in float32 products they did not (the empty bins'
    rounding differed). The float64 rounding is what is left in a bin whose sum cancels (the square wave's empty
    bins, ~1e-14), and float32 keeps it: its value depends on the order the BLAS sums the 320 products in, which
    depends on the product's shape on some CPUs. With MKL's other code path (MKL_CBWR=COMPATIBLE, as another CPU
    takes) an empty bin was -7.1e-15 in one product and -1.04e-14 frame by frame: 3.3e-15 apart, 6.5e8 float32 steps
    (`assert_array_max_ulp(..., maxulp=1)` failed there), within the float64 bound below (1.4e-11 at most), which
    float32 sums miss a million-fold."""
    model = Enhancer(EnhancerConfig())
    frames = torch.from_numpy(np.sign(np.sin(2 * np.pi * 125 * T))).float().reshape(50, 320)
    whole = analyze(frames, model.dft64)
    each = torch.cat([analyze(frames[k : k + 1], model.dft64) for k in range(50)])
    w, e = whole.numpy(), each.numpy()
    # a sum of n products in float64, in any order: within n * eps64 * sum |product| of the exact sum
    sum_order = 320 * np.finfo(np.float64).eps * (frames.double().abs() @ model.dft64.abs()).numpy()
    one_step = np.spacing(np.maximum(np.abs(w), np.abs(e))).astype(np.float64)  # float32 rounding of each side
    assert (np.abs(w.astype(np.float64) - e) <= one_step + sum_order).all()
    assert whole.dtype == torch.float32
    assert analyze(frames.double(), model.dft64).dtype == torch.float64


def test_dft64_follows_the_model_to_another_dtype_and_keeps_its_entries():
    model = Enhancer(EnhancerConfig())
    before = model.dft64.clone()
    model.double().float()
    assert model.dft64.dtype == torch.float64 and torch.equal(model.dft64, before)
    assert "dft64" not in model.state_dict()


def test_a_real_mixture_whose_pitch_lag_flipped_streams_as_it_runs_whole():
    """A training-side mixture (brown noise at 0 dB, real voice): 10 ms steps took another pitch lag than the
    whole-file run in 4 frames (outputs 1.5e-4 apart) while the float32 correlations differed by rounding."""
    from conftest import need
    from wavegraph.models import speech_data as sd

    try:
        corpus = sd.load_corpus(synthetic=0)
    except sd.DataError as e:
        need(False, f"speech corpora missing: {e}")
    mixes = sd.heldout_set(
        snrs=(-5, 0, 5, 10, 15), per_snr=7, training_side=True, noises=sd.TRAIN_NOISES[:7], corpus=corpus
    )
    m = mixes[11]
    assert (m.snr_db, m.noise) == (0.0, "brown")
    x = m.noisy.astype(np.float32)[None]
    n = x.shape[1]
    assert_streaming_equivalent(EnhancerNode, x, SPEC, chunkings=[_sizes(n, 160), _sizes(n, 997)], rtol=0, atol=2e-5)


def test_nonempty_zeroes_only_the_bins_200_db_under_their_frame():
    spec = torch.tensor([[[[1.0, 0.0], [0.0, 3e-9], [2e-11, 0.0], [0.0, 0.0]]]])  # (1, 1, 4, 2)
    power = spec.square().sum(-1)
    got = nonempty(spec, power)
    assert torch.equal(got[..., :2, :], spec[..., :2, :])  # 3e-9: power 9e-18, 170 dB under the frame: kept
    assert float(power[0, 0, 2]) < EMPTY_BIN * float(power.sum())
    assert torch.equal(got[..., 2:, :], torch.zeros(1, 1, 2, 2))
