"""Training-only noise families `alarms` and `typing` (models/speech_noise.py), and the training-side validation set
shaped like the bench (models/speech_data.heldout_set(training_side=True), benchmarks/enhance_validation.py)."""

import numpy as np
import pytest
from wavegraph.models import speech_data as sd

SR = sd.SR


def _frame_energy(y: np.ndarray, frame: int) -> np.ndarray:
    n = len(y) // frame * frame
    return (y[:n].reshape(-1, frame).astype(np.float64) ** 2).sum(1)


@pytest.mark.parametrize("kind", ["alarms", "typing"])
def test_new_families_are_training_only_and_seeded(kind):
    assert kind in sd.TRAIN_NOISES and kind not in sd.NOISE_TYPES  # the held-out set scores NOISE_TYPES
    a = sd.make_noise(kind, 3 * SR, np.random.default_rng(4))
    np.testing.assert_array_equal(a, sd.make_noise(kind, 3 * SR, np.random.default_rng(4)))
    assert a.dtype == np.float32 and a.shape == (3 * SR,) and np.isfinite(a).all() and np.abs(a).max() > 0
    assert not np.array_equal(a, sd.make_noise(kind, 3 * SR, np.random.default_rng(5)))


def test_alarms_are_tonal_and_some_switch_or_modulate():
    """Every 32 ms frame of `alarms` has its energy in a few spectral lines (harmonic complexes, not noise), and over
    seeds the level both stays put (steady, sirens) and moves by more than 10 dB (beeps, ringers) within 4 s."""
    swings = []
    for seed in range(12):
        y = sd.make_noise("alarms", 4 * SR, np.random.default_rng(seed)).astype(np.float64)
        frames = y[: len(y) // 512 * 512].reshape(-1, 512) * np.hanning(512)
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        loud = power.sum(1) > 1e-3 * power.sum(1).max()
        top = np.sort(power[loud], axis=1)[:, ::-1]
        assert np.median(top[:, :26].sum(1) / top.sum(1)) > 0.9  # 10 % of the bins hold > 90 % of a frame
        e = _frame_energy(y, 160)
        swings.append(10 * np.log10(e.max() / max(np.percentile(e, 10), 1e-12)))
    assert min(swings) < 5 and max(swings) > 10


def test_typing_is_paired_strokes_in_words():
    """`typing`: short strokes (most energy in a few 2 ms frames), each press followed 40-120 ms later by a weaker
    release, with pauses between words: a rhythm, not random bursts."""
    for seed in range(4):
        y = sd.make_noise("typing", 6 * SR, np.random.default_rng(seed))
        e = np.sort(_frame_energy(y, 160))[::-1]
        assert e[: len(e) // 5].sum() > 0.6 * e.sum()  # sudden: 20 % of the 10 ms frames hold > 60 %
        env = _frame_energy(y, 32)  # 2 ms frames
        onsets = np.flatnonzero((env[1:] > 0.05 * env.max()) & (env[:-1] <= 0.05 * env.max())) + 1
        gaps = np.diff(onsets) * 2e-3
        assert np.mean((gaps > 0.03) & (gaps < 0.13)) > 0.25  # press -> release (and quick next keys)
        assert (gaps > 0.3).any()  # a pause between words


def _toy_corpus() -> sd.Corpus:
    """Held-out and training utterances of two real voices and Carlo (names chosen by the split's own hash)."""
    rng = np.random.default_rng(0)
    audio, speakers, names = [], [], []
    for spk in ("allison", "june", "carlo"):
        for i in range(400):
            name = f"{spk}/u{i}"
            if spk == "carlo" and i > 3:
                break
            audio.append((0.1 * rng.standard_normal(SR)).astype(np.float32))
            speakers.append(spk)
            names.append(name)
    return sd.Corpus(audio, speakers, names)


def test_training_side_set_has_the_bench_shape_and_no_heldout_data():
    corpus = _toy_corpus()
    train = ("music", "babble", "white", "pink", "brown", "hum", "tonal")
    mixes = sd.heldout_set((-5, 15), 14, 7, train, corpus=corpus, training_side=True)
    assert len(mixes) == 28 and {m.snr_db for m in mixes} == {-5.0, 15.0}
    assert {m.noise for m in mixes} == set(train)  # every type, once per speaker cycle
    for m in mixes:
        assert not sd.is_heldout(m.speaker, m.name) and m.speaker != sd.HELDOUT_SPEAKER
        assert abs(20 * np.log10(np.sqrt(np.mean(m.noisy**2))) + 25) < 0.5  # the bench's level
    held = sd.heldout_set((-5,), 7, 7, train, corpus=corpus)  # the bench's own side is unchanged
    assert all(sd.is_heldout(m.speaker, m.name) for m in held)
    with pytest.raises(ValueError, match="training noises only"):
        sd.heldout_set((0,), 8, 7, train + ("clicks",), corpus=corpus, training_side=True)


def test_validation_groups_per_snr_and_noise_type():
    from wavegraph.benchmarks.enhance_validation import grouped

    mixes = [sd.Mixture(np.zeros(1), np.zeros(1), snr, "a", noise, "n") for snr in (0.0, 5.0) for noise in "xyy"]
    rows = [{"pesq_out": float(i), "stoi_out": 1.0} for i in range(6)]
    rows[2]["pesq_out"] = float("nan")  # a PESQ failure is left out of its mean
    res = grouped(mixes, rows)
    assert res["per_snr"]["0.0"]["pesq_out"] == 0.5 and res["per_snr"]["5.0"]["pesq_out"] == 4.0
    assert res["per_noise"]["x"]["pesq_out"] == 1.5 and res["per_noise"]["y"]["pesq_out"] == pytest.approx(10 / 3)
    assert res["all"]["pesq_out"] == 2.25


def test_mixing_silent_speech_is_refused_not_nan():
    """An all-zero clean signal has no active frame to set an SNR against: it gave an all-NaN mixture."""
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    with pytest.raises(ValueError, match="all zeros"):
        sd.mix(np.zeros(16000, np.float32), noise, 5.0)
    noisy, target = sd.mix(np.full(16000, 1e-3, np.float32), noise, 5.0)  # quiet but not silent: mixed
    assert np.isfinite(noisy).all() and np.isfinite(target).all()
