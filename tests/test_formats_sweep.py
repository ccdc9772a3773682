"""Real-data file formats a new user brings (audio for the enhancer, EEG for file_source): each test builds a
small file at test time and fails on the code before its fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _voice(rate: int, seconds: float) -> np.ndarray:
    """A voiced, gliding-pitch signal with syllable gaps (speech-like for the enhancer), float64."""
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 0.5 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20)) * (np.sin(2 * np.pi * 3 * t) > 0)
    return 0.1 * voiced + 0.005 * np.random.default_rng(0).standard_normal(t.size)


def _enhance_file(src: Path, out: Path) -> np.ndarray:
    import soundfile as sf
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    sets = [f"src.path={src}", f"rec.path={out}", f"vad.path={out.with_suffix('.csv')}"]
    result = run_graph(build_graph(load_config(ROOT / "configs" / "speech_enhance_file.yaml", sets)), in_process=True)
    assert result.exit_code == 0, result.failure
    y, rate = sf.read(out, dtype="float64")
    assert rate == 16000
    return y


def test_enhance_file_graph_output_is_aligned_for_44k1_and_8k_input(tmp_path):
    """The resampler did not declare its delay on its stream, so `align` left it in: a 44.1 kHz file came out
    160 samples (10 ms) late, an 8 kHz one 20 samples, against the same speech given at 16 kHz."""
    import soundfile as sf
    from scipy.signal import correlate, resample_poly

    x16 = _voice(16000, 1.5)
    sf.write(tmp_path / "r16.wav", x16, 16000, subtype="FLOAT")
    ref = _enhance_file(tmp_path / "r16.wav", tmp_path / "o16.wav")
    for rate, (up, down) in ((44100, (441, 160)), (8000, (1, 2))):
        sf.write(tmp_path / f"r{rate}.wav", resample_poly(x16, up, down), rate, subtype="FLOAT")  # zero-phase
        y = _enhance_file(tmp_path / f"r{rate}.wav", tmp_path / f"o{rate}.wav")
        n = min(len(y), len(ref))
        c = correlate(y[:n], ref[:n], mode="full")
        lag = int(np.argmax(c)) - (n - 1)
        assert lag == 0, (rate, lag)
        assert abs(len(y) - len(x16)) <= 0.0015 * 16000, (rate, len(y), len(x16))  # the filter's tail, < 1.5 ms
