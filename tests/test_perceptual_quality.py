"""The PESQ-like training term (models/perceptual_quality.py): what it punishes, and that it tracks PESQ-WB."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_loss import enhancer_loss
from wavegraph.models.perceptual_quality import disturbances, quality, quality_loss

SR = 16000


def _voice(n: int, seed: int = 0) -> torch.Tensor:
    """(1, n) voiced-like speech: harmonics of a wandering f0, syllable-rate amplitude, short pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = 130 + 25 * np.sin(2 * np.pi * 0.6 * t)
    ph = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * ph) / k for k in range(1, 25)) * np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None)
    return torch.from_numpy(0.1 * x + 1e-4 * rng.standard_normal(n))[None]


def _noise(n: int, seed: int = 1) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(n))[None]


def test_identity_scores_the_top_and_gain_is_ignored():
    ref = _voice(SR)
    assert float(quality(ref, ref)) == pytest.approx(4.5, abs=1e-3)
    est = ref + 0.01 * _noise(SR)
    assert float(quality(3.0 * est, ref)) == pytest.approx(float(quality(est, ref)), abs=1e-6)
    assert float(quality(est, ref)) < 4.4


def test_more_noise_scores_lower():
    ref = _voice(SR)
    scores = [float(quality(ref + a * _noise(SR), ref)) for a in (0.002, 0.01, 0.05)]
    assert scores[0] > scores[1] > scores[2]


def test_what_the_output_adds_costs_more_than_what_it_removes():
    """PESQ's asymmetry: removing part of the speech (its last 0.4 s) adds no asymmetric disturbance; adding a noise
    of the same energy does."""
    ref = _voice(SR)
    removed = ref.clone()
    removed[:, -6400:] = 0
    gone = (ref - removed).pow(2).sum()
    noise = _noise(SR)
    added = ref + noise * (gone / noise.pow(2).sum()).sqrt()
    sym_r, asym_r = disturbances(removed, ref)
    sym_a, asym_a = disturbances(added, ref)
    assert float(sym_r) > 0 and float(sym_a) > 0
    assert float(asym_r) == pytest.approx(0.0, abs=1e-3)
    assert float(asym_a) > 1.0


def test_gradient_points_towards_the_clean_speech_and_is_finite_on_silence():
    ref = _voice(SR)
    est = (ref + 0.02 * _noise(SR)).requires_grad_(True)
    quality_loss(est, ref).backward()
    assert est.grad is not None and torch.isfinite(est.grad).all()
    step = (ref - est.detach()) / (ref - est.detach()).norm()
    assert float((-est.grad * step).sum()) > 0
    silent = torch.zeros(1, SR, dtype=torch.float64, requires_grad=True)
    quality(silent, ref).sum().backward()
    assert silent.grad is not None and torch.isfinite(silent.grad).all()


def test_speech_free_examples_are_left_out_and_short_input_is_refused():
    ref = torch.cat([_voice(SR), torch.zeros(1, SR, dtype=torch.float64)])
    est = ref + 0.01 * _noise(SR)
    assert float(quality_loss(est, ref)) == pytest.approx(4.5 - float(quality(est[:1], ref[:1])), abs=1e-9)
    assert float(quality_loss(est[1:], ref[1:])) == 0.0
    with pytest.raises(ValueError, match="512 samples"):
        quality(est[:, :400], ref[:, :400])
    with pytest.raises(ValueError, match="same"):
        quality(est[:, :-160], ref)


def test_the_trainer_loss_adds_the_weighted_term():
    torch.manual_seed(0)
    model = Enhancer(EnhancerConfig(core="gla", d_model=32, n_layers=1))
    clean = _voice(2 * SR).float().repeat(2, 1)
    noisy = clean + 0.02 * _noise(2 * SR).float()
    base, _ = enhancer_loss(model, noisy, clean)
    loss, parts = enhancer_loss(model, noisy, clean, quality_weight=0.01)
    assert parts["quality_loss"] > 0
    assert float((loss - base).detach()) == pytest.approx(0.01 * parts["quality_loss"], rel=1e-4)


def test_it_ranks_real_speech_as_pesq_wb_does():
    """On real held-out speech with two noises at -5..15 dB, each mixture noisy and half-cleaned: the proxy must
    order them much as PESQ-WB does (it is a training direction, not the metric: Spearman, not equality)."""
    pesq = pytest.importorskip("pesq").pesq
    from wavegraph.models import speech_data as sd

    try:
        mixtures = sd.heldout_set(
            snrs=(-5, 5, 15), per_snr=2, noises=("white", "babble"), corpus=sd.load_corpus(synthetic=0)
        )
    except sd.DataError as e:
        pytest.skip(str(e))
    ours, ref = [], []
    for m in mixtures:
        for est in (m.noisy, 0.5 * (m.noisy + m.clean), 0.1 * m.noisy + 0.9 * m.clean):
            ref.append(pesq(SR, m.clean.astype(np.float64), est.astype(np.float64), "wb"))
            ours.append(float(quality(torch.from_numpy(est)[None].double(), torch.from_numpy(m.clean)[None].double())))
    rank_ours, rank_ref = np.argsort(np.argsort(ours)), np.argsort(np.argsort(ref))
    rho = np.corrcoef(rank_ours, rank_ref)[0, 1]  # Spearman's rank correlation (no ties here)
    assert rho > 0.85
