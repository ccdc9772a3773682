"""`wavegraph bench enhance`'s paired comparison (benchmarks/enhance_paired.py): per SNR and metric, the mean
per-mixture difference of two methods on the same mixtures, its 95 % t-interval and the mixtures won."""

import math

import numpy as np
import pytest
from wavegraph.benchmarks.enhance import LABELS
from wavegraph.benchmarks.enhance_paired import lines, paired, verdict


def _run(ours_pesq, rnnoise_pesq, snr=0.0, stoi_gap=0.01):
    """A bench result holding only what paired() reads: per-mixture scores of two methods at one SNR."""
    mixtures = []
    for o, r in zip(ours_pesq, rnnoise_pesq):
        mixtures.append(
            {
                "snr": snr,
                "scores": {
                    "ours": {"pesq_wb": o, "stoi": 0.9 + stoi_gap, "si_sdr": 10.0},
                    "rnnoise": {"pesq_wb": r, "stoi": 0.9, "si_sdr": 10.0},
                },
            }
        )
    return {"methods": {"ours": {}, "rnnoise": {}}, "mixtures": mixtures}


def _pesq(records):
    return next(r for r in records if r["metric"] == "pesq_wb")


def test_the_interval_is_students_t_over_the_paired_differences():
    rec = _pesq(paired(_run([2.0, 3.0, 4.0], [1.0, 1.0, 1.0])))  # differences 1, 2, 3: mean 2, sd 1
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) from a table
    assert rec["n"] == 3 and rec["wins"] == 3
    assert rec["mean"] == pytest.approx(2.0)
    assert rec["ci_low"] == pytest.approx(2.0 - half) and rec["ci_high"] == pytest.approx(2.0 + half)
    assert verdict(rec) == "not resolved"  # 2 - 2.48 < 0: three mixtures this spread do not decide it


def test_a_consistent_difference_is_ahead_or_behind_and_a_mixed_one_is_not_resolved():
    rng = np.random.default_rng(0)
    base = rng.uniform(1.2, 2.5, 20)
    ahead = _pesq(paired(_run(base + 0.1 + rng.normal(0, 0.02, 20), base)))
    behind = _pesq(paired(_run(base - 0.1 + rng.normal(0, 0.02, 20), base)))
    mixed = _pesq(paired(_run(base + rng.choice([-0.3, 0.3], 20), base)))
    assert verdict(ahead) == "ahead" and ahead["wins"] == 20
    assert verdict(behind) == "behind" and behind["wins"] == 0
    assert verdict(mixed) == "not resolved"


def test_a_mixture_pesq_could_not_score_is_left_out_not_counted_as_a_loss():
    rec = _pesq(paired(_run([2.0, math.nan, 2.5, 2.2], [1.0, 1.5, 1.4, 1.3])))
    assert rec["n"] == 3 and rec["wins"] == 3
    assert rec["mean"] == pytest.approx(np.mean([1.0, 1.1, 0.9]))
    one = _pesq(paired(_run([2.0, math.nan], [1.0, 1.0])))
    assert one["n"] == 1 and math.isnan(one["ci_low"]) and verdict(one) == "not resolved"


def test_no_comparison_without_both_methods_and_the_text_says_each_snr():
    run = _run([2.0, 2.1], [1.0, 1.2])
    assert paired({**run, "methods": {"ours": {}}}) == []
    text = lines(paired(run), LABELS)
    assert "RNNoise" in text[0] and text[1].startswith("  0 dB: PESQ-WB +0.950")
    assert "STOI +0.0100" in text[1] and "2/2" in text[1]


def test_per_noise_type_pools_every_snr_of_that_noise():
    run = _run([2.0, 2.2], [1.0, 1.0], snr=-5.0)
    run["mixtures"] += _run([1.0, 1.1], [1.5, 1.5], snr=15.0)["mixtures"]
    for e, noise in zip(run["mixtures"], ["clicks", "hum", "clicks", "hum"]):
        e["noise"] = noise
    recs = {r["noise"]: r for r in paired(run, by="noise") if r["metric"] == "pesq_wb"}
    assert recs["clicks"]["n"] == 2 and recs["clicks"]["mean"] == pytest.approx((1.0 - 0.5) / 2)
    assert recs["hum"]["wins"] == 1 and recs["hum"]["mean"] == pytest.approx((1.2 - 0.4) / 2)
    text = lines(paired(run, by="noise"), LABELS)
    assert "per noise type" in text[0] and text[1].startswith("  clicks: PESQ-WB +0.250")
