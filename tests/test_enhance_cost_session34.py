"""benchmarks/enhance_cost.py: per-frame cost of checkpoints against RNNoise in one run, no quality scored."""

import numpy as np
import pytest
import soundfile as sf
from wavegraph.benchmarks import enhance_cost


def _speech_folder(tmp_path):
    t = np.arange(3 * 16000) / 16000
    x = 0.2 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    sf.write(tmp_path / "a.wav", x.astype(np.float32), 16000)
    return tmp_path


def test_rounds_and_files_must_be_at_least_one(tmp_path):
    for argv in (["--rounds", "0"], ["--max-files", "0"]):
        with pytest.raises(SystemExit) as e:
            enhance_cost.main([*argv, "--clean", str(tmp_path)])
        assert e.value.code == 2


def test_each_round_gives_every_method_its_ratio_to_rnnoise(tmp_path, capsys):
    pytest.importorskip("pyrnnoise", reason="pip install 'wavegraph[enhance]' for the peers and metrics")
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    assert (
        enhance_cost.main([str(shipped_checkpoint()), "--clean", str(_speech_folder(tmp_path)), "--rounds", "2"]) == 0
    )
    rounds = [line for line in capsys.readouterr().out.splitlines() if line.startswith("round ")]
    assert len(rounds) == 2
    for line in rounds:
        assert "rnnoise " in line and "(1.00x)" in line and "enhancer.safetensors " in line
        ratio = float(line.rsplit("(", 1)[1].split("x)")[0])
        assert 0 < ratio < 100  # a real measurement, not a placeholder
