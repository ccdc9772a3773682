"""Speed perturbation of the real training voices (session 33): lower voices than the real ones, all female, and
the data stream unchanged when it is off."""

import numpy as np
import pytest
from wavegraph.models import speech_data as sd

SR = sd.SR


def _voiced(f0: float, seconds: float = 1.0) -> np.ndarray:
    """A voice-like pulse train: harmonics of f0 with a falling spectrum."""
    t = np.arange(int(seconds * SR)) / SR
    return sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12)).astype(np.float32) * 0.1


def _f0(x: np.ndarray) -> float:
    """The strongest lag of the whole signal's autocorrelation in 2.5-12.5 ms, as a frequency."""
    spec = np.fft.rfft(x.astype(np.float64), 2 * len(x))
    r = np.fft.irfft(np.abs(spec) ** 2)[: SR // 80 + 1]
    lo = SR // 400
    return SR / (lo + int(np.argmax(r[lo:])))


@pytest.mark.parametrize("factor", [0.75, 0.8, 0.9])
def test_speed_perturb_lowers_the_pitch_by_the_factor_and_stretches_the_time(factor):
    x = _voiced(200.0)
    y = sd.speed_perturb(x, factor)
    assert len(y) == pytest.approx(len(x) / factor, abs=2)
    assert _f0(y) == pytest.approx(200.0 * factor, rel=0.02)
    assert y.dtype == np.float32


def test_speed_perturb_refuses_a_factor_it_cannot_resample_by():
    with pytest.raises(ValueError, match="speed factor"):
        sd.speed_perturb(np.zeros(100, np.float32), 0.0)


def _corpus():
    return sd.Corpus([_voiced(220.0), _voiced(200.0)], ["real_a", "espeak:en+f2"], ["u0", "u1"])


def test_without_speed_perturbation_the_parts_are_those_of_before():
    plain, off = (
        sd.TrainSampler(_corpus(), reverb_prob=0.0),
        sd.TrainSampler(_corpus(), reverb_prob=0.0, speed_prob=0.0),
    )
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(20):
        for u, v in zip(plain.parts(a, 8000), off.parts(b, 8000)):
            assert np.array_equal(u, v)


def test_the_real_voices_examples_are_slowed_and_the_synthetic_ones_are_not():
    sampler = sd.TrainSampler(
        _corpus(), reverb_prob=0.0, speech_free_prob=0.0, real_fraction=1.0, speed_prob=1.0, speed_range=(0.8, 0.8)
    )
    rng = np.random.default_rng(1)
    speech, target, noise = sampler.parts(rng, SR)
    assert len(speech) == len(target) == len(noise) == SR
    assert np.array_equal(speech, target)
    assert _f0(speech) == pytest.approx(220.0 * 0.8, rel=0.02)
    synth = sd.TrainSampler(
        _corpus(), reverb_prob=0.0, speech_free_prob=0.0, real_fraction=0.0, speed_prob=1.0, speed_range=(0.8, 0.8)
    )
    assert _f0(synth.parts(rng, SR)[0]) == pytest.approx(200.0, rel=0.02)


def test_train_enhancer_refuses_a_speed_range_out_of_bounds(capsys):
    from wavegraph.models import train_enhancer

    with pytest.raises(SystemExit):
        train_enhancer.main(["--speed-range", "0.9", "0.7", "--steps", "1", "--out", "/nonexistent/x.safetensors"])
    assert "--speed-range 0.9 0.7" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_enhancer.main(["--speed-prob", "1.5", "--steps", "1", "--out", "/nonexistent/x.safetensors"])
    assert "--speed-prob 1.5" in capsys.readouterr().err


def test_every_slowed_example_has_the_length_asked_for_whatever_factor_is_drawn():
    sampler = sd.TrainSampler(_corpus(), real_fraction=1.0, speed_prob=1.0, speed_range=(0.75, 0.9))
    rng = np.random.default_rng(2)
    for n in (32000, 8000, 16001):
        for _ in range(30):
            assert all(len(a) == n for a in sampler.parts(rng, n))
