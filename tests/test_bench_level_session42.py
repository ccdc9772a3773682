"""Session 42: `python -m wavegraph.benchmarks.enhance_level` scores RNNoise and ours on held-out mixtures scaled to
other speech levels than the bench's -25 dBFS, and ours at the input_gain_db its quiet-input warning advises."""

from __future__ import annotations

import json

import pytest


def test_the_level_bench_scores_each_method_per_level_and_the_advised_gain_undoes_a_quiet_input(tmp_path, capsys):
    pytest.importorskip("pyrnnoise", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    pytest.importorskip("pesq", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    from wavegraph.benchmarks.enhance_level import main

    assert main(["--levels", "-65", "--per-snr", "1", "--json", str(tmp_path / "l.json")]) == 0
    result = json.loads((tmp_path / "l.json").read_text())
    assert result["levels"] == [-65, -25]  # the reference level is always measured in the same run
    ours, gained = result["scores"]["ours"], result["scores"]["ours+gain"]
    assert ours["-65"]["stoi"] < ours["-25"]["stoi"] - 0.05  # at -65 dBFS the speech is taken for noise
    # the advised gain (5 dB steps, from the mixture's loudest 10 ms) brings -65 dBFS back near the -25 dBFS figures
    assert gained["-65"] == pytest.approx(gained["-25"], abs=0.01) and gained["-25"] == ours["-25"]
    assert "| -65 | " in capsys.readouterr().out
