"""`wavegraph bench enhance` on its held-out set says ours against RNNoise per speaker too (session 33): Carlo, the
speaker never trained on, beside the held-out utterances of the training voices."""

import pytest
from conftest import run_enhance_bench
from wavegraph.benchmarks.enhance import LABELS
from wavegraph.benchmarks.enhance_paired import lines, paired


def _mixture(speaker: str, ours: float, rnnoise: float) -> dict:
    scores = {"pesq_wb": 0.0, "stoi": 0.9, "si_sdr": 10.0}
    return {
        "snr": 5.0,
        "speaker": speaker,
        "scores": {"ours": {**scores, "pesq_wb": ours}, "rnnoise": {**scores, "pesq_wb": rnnoise}},
    }


def test_per_speaker_pools_every_snr_of_that_speaker_and_the_text_names_them():
    run = {
        "methods": {"ours": {}, "rnnoise": {}},
        "mixtures": [_mixture("carlo", 2.0, 2.3), _mixture("june", 2.0, 1.5), _mixture("carlo", 1.9, 2.0)],
    }
    recs = {r["speaker"]: r for r in paired(run, by="speaker") if r["metric"] == "pesq_wb"}
    assert recs["carlo"]["n"] == 2 and recs["carlo"]["mean"] == pytest.approx(-0.2) and recs["carlo"]["wins"] == 0
    assert recs["june"]["n"] == 1 and recs["june"]["mean"] == pytest.approx(0.5)
    text = lines(paired(run, by="speaker"), LABELS)
    assert "per speaker, over every SNR" in text[0]
    assert text[1].startswith("  carlo: PESQ-WB -0.200") and text[2].startswith("  june: PESQ-WB +0.500")


def test_the_held_out_bench_writes_and_prints_the_per_speaker_comparison(tmp_path, capsys):
    pytest.importorskip("pyrnnoise", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    pytest.importorskip("pesq", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    result = run_enhance_bench(tmp_path, ["rnnoise"], per_snr=4)
    speakers = {e["speaker"] for e in result["mixtures"]}
    assert "carlo" in speakers and len(speakers) >= 2
    assert {r["speaker"] for r in result["paired_by_speaker"]} == speakers
    assert "per speaker, over every SNR" in capsys.readouterr().out
