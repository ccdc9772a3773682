"""Session 12's second keep rule, clause (1) (docs/speech.md; benchmarks/enhance_validation.py `keep_rule`): one mixture
whose PESQ-WB jumps by more than a point is left out and named, so it can neither carry nor sink a candidate's means;
and at every SNR the median of the paired per-mixture differences must not be negative (1c, paired)."""

import numpy as np
import pytest
from wavegraph.benchmarks.enhance_validation import keep_rule

SNRS = (-5.0, 0.0, 5.0, 10.0, 15.0)


def rows(seed: int = 0, per_snr: int = 24) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {"name": f"val{s:+g}dB-{i}", "snr": s, "pesq_out": 1.2 + 0.1 * s / 5 + rng.uniform(0, 0.5),
         "stoi_out": 0.7 + 0.015 * s + rng.uniform(0, 0.05)}
        for s in SNRS for i in range(per_snr)
    ]  # fmt: skip


def shifted(base: list[dict], dp: float, ds: float) -> list[dict]:
    return [{**r, "pesq_out": r["pesq_out"] + dp, "stoi_out": r["stoi_out"] + ds} for r in base]


def test_one_cliff_in_the_baseline_is_left_out_and_named():
    base = rows()
    base[3]["pesq_out"] = 3.7  # a PESQ cliff: the baseline's mean at -5 dB rises by ~0.1 on this one mixture
    cand = shifted(base, 0.01, 0.001)
    cand[3]["pesq_out"] = 1.3
    assert np.mean([r["pesq_out"] for r in cand]) < np.mean([r["pesq_out"] for r in base])  # session 10's rule fails
    res = keep_rule(base, cand)
    assert list(res["left_out"]) == ["val-5dB-3"]
    assert res["left_out"]["val-5dB-3"] == {"base": 3.7, "candidate": 1.3}
    assert res["pass"], res["clauses"]
    gain = (
        res["means_without_left_out"]["candidate"]["all"]["pesq_out"]
        - (res["means_without_left_out"]["base"]["all"]["pesq_out"])
    )
    assert gain == pytest.approx(0.01)


def test_a_loss_at_5_db_beyond_the_tolerance_fails_even_with_higher_means():
    base = rows()
    cand = shifted(base, 0.02, 0.001)
    for r in [r for r in cand if r["snr"] == 5.0][:6]:
        r["pesq_out"] -= 0.12  # 6 of 24 mixtures: -0.01 on the 5 dB mean (0.005 allowed), the paired median +0.02
    res = keep_rule(base, cand)
    assert res["clauses"]["1a_means_above"] and res["clauses"]["1c_paired_median_diff_nonnegative"]
    assert not res["clauses"]["1b_0_5_10dB_within_tolerance"]
    assert not res["pass"]


def test_more_than_three_jumps_fail():
    base = rows()
    cand = shifted(base, 0.01, 0.001)
    for i in range(4):
        cand[10 * i]["pesq_out"] += 1.5
    res = keep_rule(base, cand)
    assert len(res["left_out"]) == 4
    assert not res["clauses"]["left_out<=3"] and not res["pass"]
    cand[0]["pesq_out"] -= 1.5  # three left: allowed
    assert keep_rule(base, cand)["pass"]


def test_a_mean_lifted_by_few_mixtures_under_a_point_fails_on_the_paired_medians():
    base = rows()
    cand = [dict(r) for r in base]
    group = sorted((r for r in cand if r["snr"] == -5.0), key=lambda r: r["pesq_out"])
    for r in group[:16]:  # at -5 dB (no tolerance clause there) most mixtures a little worse ...
        r["pesq_out"] -= 0.003
    for r in group[-4:]:  # ... and a few much better, by less than a point: the means rise
        r["pesq_out"] += 0.9
    for r in cand:
        r["stoi_out"] += 0.001
    res = keep_rule(base, cand)
    assert res["left_out"] == {}
    assert res["clauses"]["1a_means_above"] and res["clauses"]["1b_0_5_10dB_within_tolerance"]
    assert res["paired_per_snr"]["-5.0"]["pesq_out"] == {"median_diff": pytest.approx(-0.003), "wins": 4, "n": 24}
    assert not res["clauses"]["1c_paired_median_diff_nonnegative"] and not res["pass"]


def test_paired_differences_not_a_difference_of_medians():
    """Stage 15's case (session 12): nearly every mixture a little better, a few in the upper half much worse (by less
    than a point) and a few at the top much better; each model's own median falls, the paired median does not."""
    base = rows()
    cand = shifted(base, 0.01, 0.001)
    for s in SNRS:
        group = sorted((r for r in cand if r["snr"] == s), key=lambda r: r["pesq_out"])
        for r in group[12:15]:  # just above the middle: pushed below it
            r["pesq_out"] -= 0.8
        for r in group[-8:]:
            r["pesq_out"] += 0.5
    res = keep_rule(base, cand)
    for s in SNRS:
        own = [np.median([r["pesq_out"] for r in x if r["snr"] == s]) for x in (base, cand)]
        assert own[1] < own[0]  # session 12's (1c), a difference of medians, would fail here
        assert res["paired_per_snr"][str(s)]["pesq_out"]["median_diff"] == pytest.approx(0.01)
    assert res["clauses"]["1c_paired_median_diff_nonnegative"] and res["pass"], res["clauses"]


def test_a_nan_pesq_is_neither_a_jump_nor_a_mean():
    base = rows()
    cand = shifted(base, 0.01, 0.001)
    cand[30]["pesq_out"] = float("nan")
    res = keep_rule(base, cand)
    assert res["left_out"] == {} and res["pass"]
    assert np.isfinite(res["means_without_left_out"]["candidate"]["all"]["pesq_out"])


def test_different_mixtures_are_refused():
    base = rows()
    with pytest.raises(ValueError, match="different mixtures"):
        keep_rule(base, base[1:])


def test_the_third_rule_takes_a_paired_median_within_the_margin_and_not_beyond():
    """Session 14's third rule: (1c) as non-inferiority, each paired median >= -0.005 PESQ-WB and >= -0.0005 STOI."""
    base = rows()
    cand = shifted(base, 0.0, 0.001)
    for r in cand:
        if r["snr"] == 5.0:
            r["pesq_out"] -= 0.0001  # stage 19's case: a median a hair below 0 at one SNR, the means still above
        elif r["snr"] == 15.0:
            r["pesq_out"] += 0.01
    second, third = keep_rule(base, cand), keep_rule(base, cand, paired_margin=(0.005, 0.0005))
    assert not second["clauses"]["1c_paired_median_diff_nonnegative"] and not second["pass"]
    assert third["clauses"]["1c_paired_median_diff_within_margin"] and third["pass"], third["clauses"]
    assert "1c_paired_median_diff_nonnegative" not in third["clauses"]
    for r in cand:
        if r["snr"] == -5.0:
            r["stoi_out"] -= 0.0016  # -0.0006 paired: beyond the STOI margin
    worse = keep_rule(base, cand, paired_margin=(0.005, 0.0005))
    assert worse["paired_per_snr"]["-5.0"]["stoi_out"]["median_diff"] == pytest.approx(-0.0006)
    assert not worse["clauses"]["1c_paired_median_diff_within_margin"] and not worse["pass"]


def test_the_fourth_rule_leaves_out_a_flip_of_half_a_pesq_point_and_says_its_threshold():
    """Session 21's fourth rule: the third with the leave-out threshold at 0.5 PESQ-WB (a 0.77 flip of the baseline
    on one 0 dB mixture failed (1b) for every candidate judged under the third)."""
    base = rows()
    cand = shifted(base, 0.002, 0.001)
    flip = next(i for i, r in enumerate(base) if r["snr"] == 0.0)
    cand[flip]["pesq_out"] = base[flip]["pesq_out"] - 0.77
    third = keep_rule(base, cand, paired_margin=(0.005, 0.0005))
    fourth = keep_rule(base, cand, jump=0.5, paired_margin=(0.005, 0.0005))
    assert third["leave_out_jump"] == 1.0 and third["left_out"] == {} and not third["pass"]
    assert fourth["leave_out_jump"] == 0.5 and list(fourth["left_out"]) == [base[flip]["name"]] and fourth["pass"]


def test_leave_out_jump_on_the_command_line_needs_a_baseline(capsys):
    from wavegraph.benchmarks.enhance_validation import main

    with pytest.raises(SystemExit):
        main(["w.safetensors", "--snrs", "0", "--per-mixture", "--leave-out-jump", "0.5"])
    assert "--leave-out-jump needs --against" in capsys.readouterr().err
