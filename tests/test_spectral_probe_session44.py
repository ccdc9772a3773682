"""Probe of the spectral and rate-changing nodes (session 44): stft / istft against scipy's ShortTimeFFT and the
least-squares overlap-add, resample at NTSC-style rates (x/1.001), and framing states that do not fit their counts."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec


def _spec(rate: float, n: int = 2) -> StreamSpec:
    return StreamSpec("signal", rate, (n,), "float64", tuple(f"c{i}" for i in range(n)), ("eeg",) * n)


def _run(node, chunks) -> list[Chunk]:
    outs = [o["out"] for c in chunks if (o := node.process({"in": c}))]
    return outs + ([tail["out"]] if (tail := node.finish()) else [])


@pytest.mark.parametrize(
    "n_fft, hop, window", [(32, 16, "sqrt_hann"), (33, 11, "hann"), (64, 16, ("kaiser", 8)), (31, 1, "blackman")]
)
def test_stft_is_scipy_short_time_fft_and_istft_the_least_squares_overlap_add(n_fft, hop, window):
    """Frame k of the stft is ShortTimeFFT's slice k (phase_shift None, k_offset n_fft//2) of the input with n_fft - hop
    zeros before it, for odd and even n_fft, hop 1 and a list window, in 1-sample chunks with empty ones between; the
    istft of arbitrary frames is sum_k w * irfft(Z_k) / sum_k w**2 (scipy's dual window) where the frames overlap."""
    from scipy.signal import ShortTimeFFT
    from wavegraph.nodes.dsp.windows import ISTFT, STFT, make_window

    rng = np.random.default_rng(1)
    x = rng.standard_normal(120)
    stft = STFT(n_fft=n_fft, hop=hop, window=window)
    frames = stft.configure({"in": _spec(1000.0, 1)})["out"]
    chunks = [Chunk(x[None, i : i + j], i / 1000.0) for i in range(120) for j in (0, 1)]
    z = np.concatenate([c.data for c in _run(stft, chunks)])
    w = make_window(window, n_fft)
    sft = ShortTimeFFT(w, hop, 1000.0, fft_mode="onesided", phase_shift=None)
    padded = np.concatenate([np.zeros(n_fft - hop), x, np.zeros(n_fft)])
    np.testing.assert_allclose(z, sft.stft(padded, p0=0, p1=z.shape[0], k_offset=n_fft // 2).T, rtol=0, atol=1e-12)

    f = 40
    frames_in = rng.standard_normal((f, n_fft // 2 + 1)) + 1j * rng.standard_normal((f, n_fft // 2 + 1))
    istft = ISTFT(n_fft=n_fft, hop=hop, window=window)
    istft.configure({"in": frames})
    y = np.concatenate([c.data for c in _run(istft, [Chunk(frames_in[k : k + 1], k * hop / 1e3) for k in range(f)])], 1)
    num, den = np.zeros(f * hop + n_fft), np.zeros(f * hop + n_fft)
    for k in range(f):
        num[k * hop : k * hop + n_fft] += w * np.fft.irfft(frames_in[k], n=n_fft)
        den[k * hop : k * hop + n_fft] += w**2
    inner = slice(n_fft - hop, f * hop)  # every sample there has all its frames
    np.testing.assert_allclose(y[0, inner], num[inner] / den[inner], rtol=0, atol=1e-12)


def test_a_rate_over_1001_is_said_with_the_max_factor_that_takes_it():
    """44100/1.001 Hz (44.056 kHz) to 44100 Hz is up/down 1001/1000, one above the default max_factor. It was refused as
    needing up/down 2.20e+15/2.20e+15 and a filter of 9.9e8 GiB, with no max_factor to give (the float ratio's exact
    fraction); now the error names 1001/1000 and max_factor: 1001, which resamples as resample_poly(x, 1001, 1000)."""
    from scipy.signal import resample_poly
    from wavegraph.nodes.dsp.resample import Resample, rational_ratio

    ntsc = 44100 / 1.001
    with pytest.raises(SpecError) as e:
        rational_ratio(ntsc, 44100.0, 1000)
    assert "1001/1000" in e.value.message and "max_factor: 1001" in e.value.hint
    with pytest.raises(SpecError) as e:
        rational_ratio(44100.0, ntsc, 1000)
    assert "1000/1001" in e.value.message and "max_factor: 1001" in e.value.hint
    assert rational_ratio(ntsc, 44100.0, 1001) == (1001, 1000)
    with pytest.raises(SpecError) as e:  # a ratio with no simple form is still said as before
        rational_ratio(250.0, 1e-300, 1000)
    assert "1/2.50e+302" in e.value.message

    x = np.random.default_rng(0).standard_normal((2, 1500))
    node = Resample(rate=44100.0, max_factor=1001)
    node.configure({"in": _spec(ntsc)})
    rng = np.random.default_rng(2)
    cuts = np.unique(np.r_[0, rng.integers(0, 1500, 40), 1500])
    y = np.concatenate([c.data for c in _run(node, [Chunk(x[:, a:b], a / ntsc) for a, b in zip(cuts, cuts[1:])])], 1)
    ref = resample_poly(x, 1001, 1000, axis=-1)
    d = node.out_delay
    np.testing.assert_allclose(y[:, d : d + ref.shape[1]], ref, rtol=0, atol=1e-12)


def _framers():
    from wavegraph.nodes.dsp.bandpower import Bandpower
    from wavegraph.nodes.dsp.windows import STFT, SlidingWindow

    return [
        STFT(n_fft=32, hop=16),
        SlidingWindow(size=5, hop=17),  # hop > size: samples between windows are skipped
        Bandpower(window=0.2, hop=0.05, bands={"a": [5.0, 40.0]}),
    ]


@pytest.mark.parametrize("which", range(3))
def test_a_framing_state_whose_samples_do_not_fit_its_counts_is_refused(which):
    """stft, sliding_window and bandpower: a state whose held samples came from another save than its counts (or a
    negative count) was taken, and the frames after it were cut from the wrong samples and stamped at the wrong time
    (an stft given 100 held samples for 29 emitted 4 frames of them, stamped from -0.32 s with k -5). Now it is a
    ValueError naming the fields, the node keeps its state, and every state the node saves mid-stream still loads
    (the output after a save and load at every chunk is the whole run's)."""
    x = np.random.default_rng(3).standard_normal((2, 300))
    node = _framers()[which]
    node.configure({"in": _spec(250.0)})
    node.process({"in": Chunk(x[:, :45], 0.0)})
    early = node.state_dict()
    node.process({"in": Chunk(x[:, 45:163], 45 / 250.0)})
    late = node.state_dict()
    mixed = dict(late, buf=early["buf"]) if early["buf"].shape != late["buf"].shape else dict(late, n_in=7)
    for bad in (mixed, dict(late, k=-5), dict(late, n_in=10**9)):
        with pytest.raises(ValueError, match="state"):
            node.load_state_dict(bad)
        assert node.state.n_in == 163  # unchanged
    node.load_state_dict(late)

    whole = _framers()[which]
    whole.configure({"in": _spec(250.0)})
    ref = np.concatenate([c.data for c in _run(whole, [Chunk(x, 0.0)])])
    rng = np.random.default_rng(4)
    cur = _framers()[which]
    cur.configure({"in": _spec(250.0)})
    outs, i = [], 0
    while i < 300:
        n = int(rng.integers(0, 23))
        if o := cur.process({"in": Chunk(x[:, i : i + n], i / 250.0)}):
            outs.append(o["out"].data)
        i += n
        saved = cur.state_dict()
        cur = _framers()[which]
        cur.configure({"in": _spec(250.0)})
        cur.load_state_dict(saved)
    if tail := cur.finish():
        outs.append(tail["out"].data)
    np.testing.assert_array_equal(np.concatenate(outs), ref)


def test_an_istft_frame_count_below_zero_is_refused():
    """istft state 'k' (frames received, its output's time base) set to -3 by hand was taken: the next output was
    stamped 3 hops before the stream. Now a ValueError, as for the other counts."""
    from wavegraph.nodes.dsp.windows import ISTFT, STFT

    stft = STFT(n_fft=16, hop=8)
    istft = ISTFT(n_fft=16, hop=8)
    istft.configure({"in": stft.configure({"in": _spec(250.0)})["out"]})
    with pytest.raises(ValueError, match="'k' is -3"):
        istft.load_state_dict(dict(istft.state_dict(), k=-3))
