"""A user's session with the speech enhancement path (session 20): files, folders and the bench on odd inputs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

SR = 16000


def _speechy(n: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced-like signal: a 220 Hz tone with harmonics, on for 150 ms and off for 100 ms."""
    t = np.arange(n) / SR
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 6))
    on = (t % 0.25) < 0.15
    return (0.2 * tone * on + 0.001 * rng.standard_normal(n)).astype(np.float32)


def _snr_heard(noisy: np.ndarray, target: np.ndarray) -> float:
    """The SNR a listener (and PESQ, STOI, SI-SDR) gets: the speech's active power against the noise's, both
    without their DC offset, which is not sound."""
    from wavegraph.models.speech_data import active_power

    speech = target - target.mean()
    noise = noisy - target
    noise = noise - noise.mean()
    return 10 * np.log10(active_power(speech) / np.mean(noise**2))


@pytest.mark.parametrize("where", ["noise", "clean"])
def test_bench_folder_mixtures_are_at_the_snr_they_are_labelled_with_a_dc_offset_in_a_file(tmp_path, where):
    """A noise (or clean) file with a DC offset (a cheap sound card's, or a float WAV whose writer left one) was
    mixed counting the offset as power: noise at std 0.1 with a 0.5 offset made the '0 dB' row a 14 dB mixture.
    The bench now removes a file's DC offset as it reads it."""
    from wavegraph.benchmarks.enhance_data import folder_mixtures

    rng = np.random.default_rng(0)
    (tmp_path / "clean").mkdir()
    (tmp_path / "noise").mkdir()
    clean = _speechy(int(1.2 * SR), rng)
    noise = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    if where == "noise":
        noise += 0.5
    else:
        clean += 0.3
    sf.write(tmp_path / "clean" / "a.wav", clean, SR, subtype="FLOAT")
    sf.write(tmp_path / "noise" / "n.wav", noise, SR, subtype="FLOAT")
    mixtures = folder_mixtures(str(tmp_path / "clean"), str(tmp_path / "noise"), [0.0], 6.0, 0, log=print)
    noisy, target, snr, _name, _noise = mixtures[0]
    assert snr == 0.0
    assert abs(_snr_heard(noisy, target)) < 0.5
