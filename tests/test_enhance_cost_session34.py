"""benchmarks/enhance_cost.py: per-frame cost of checkpoints against RNNoise in one run, no quality scored."""

import sys
import types

import numpy as np
import pytest
import soundfile as sf
from wavegraph.benchmarks import enhance_cost


def _speech_folder(tmp_path):
    t = np.arange(3 * 16000) / 16000
    x = 0.2 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    sf.write(tmp_path / "a.wav", x.astype(np.float32), 16000)
    return tmp_path


def test_rounds_files_and_names_are_checked(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrnnoise", types.ModuleType("pyrnnoise"))
    for argv in (["--rounds", "0"], ["--max-files", "0"], ["a.safetensors", "a.safetensors"], ["rnnoise"]):
        with pytest.raises(SystemExit) as e:
            enhance_cost.main([*argv, "--clean", str(tmp_path)])
        assert e.value.code == 2


def test_the_ratio_is_each_methods_median_frame_over_rnnoises_on_the_same_audio(tmp_path, monkeypatch, capsys):
    seen = []

    class Fake:
        def __init__(self, frame_s, frame, rate):
            self.frame_s, self.frame, self.rate = frame_s, frame, rate

        def run(self, x):
            seen.append(x)
            return x, 0.0, [self.frame_s * 3, self.frame_s, self.frame_s]  # median: frame_s

    monkeypatch.setitem(sys.modules, "pyrnnoise", types.ModuleType("pyrnnoise"))
    monkeypatch.setattr(enhance_cost, "pin_one_core", lambda: None)  # the test process keeps its cores
    monkeypatch.setattr(enhance_cost, "RNNoise", lambda: Fake(0.004, 480, 48000))  # RTF 0.4
    monkeypatch.setattr(enhance_cost, "Ours", lambda path: Fake(0.001 if path == "a" else 0.006, 160, 16000))
    assert enhance_cost.main(["a", "b", "--clean", str(_speech_folder(tmp_path)), "--rounds", "2"]) == 0
    rounds = [line for line in capsys.readouterr().out.splitlines() if line.startswith("round ")]
    assert rounds == ["round 1: per-frame RTF p50: rnnoise 0.4000 (1.00x), a 0.1000 (0.25x), b 0.6000 (1.50x)"] + [
        "round 2: per-frame RTF p50: rnnoise 0.4000 (1.00x), a 0.1000 (0.25x), b 0.6000 (1.50x)"
    ]
    assert len(seen) == 6 and all(x is seen[0] for x in seen)  # every method, every round: the same samples


def test_a_real_run_gives_every_method_its_ratio_to_rnnoise(tmp_path, monkeypatch, capsys):
    pytest.importorskip("pyrnnoise", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    monkeypatch.setattr(enhance_cost, "pin_one_core", lambda: None)
    assert (
        enhance_cost.main([str(shipped_checkpoint()), "--clean", str(_speech_folder(tmp_path)), "--rounds", "1"]) == 0
    )
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("round ")]
    assert "rnnoise " in line and "(1.00x)" in line and "enhancer.safetensors " in line
