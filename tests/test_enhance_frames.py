"""benchmarks/enhance_frames.py: the per-frame error columns behind docs/speech.md's stage notes."""

import numpy as np
from wavegraph.benchmarks.enhance_frames import frame_errors

SR = 16000


def _speech_pause_click():
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    clean = np.where(t < 0.5, 0.3 * np.sin(2 * np.pi * 220 * t), 0.0)  # a tone, then a pause
    noise = 0.003 * rng.standard_normal(SR)
    noise[12000:12080] += rng.standard_normal(80)  # a 5 ms click in the pause
    return clean, clean + noise


def _measured(cols: dict[str, float | None]) -> dict[str, float]:
    return {k: v for k, v in cols.items() if v is not None}


def test_the_noisy_input_scores_0_db_in_pauses_and_the_clean_speech_far_below():
    clean, noisy = _speech_pause_click()
    left = _measured(frame_errors(noisy, clean, noisy))
    assert abs(left["pause err/N"]) < 1e-6 and abs(left["burst-pause err/N"]) < 1e-6
    perfect = _measured(frame_errors(noisy, clean, clean))
    assert perfect["pause err/N"] < -100 and perfect["speech err/S"] < -100


def test_a_click_left_in_the_pause_shows_in_the_burst_column_not_in_the_speech_one():
    clean, noisy = _speech_pause_click()
    out = clean.copy()
    out[12000:12080] = (noisy - clean)[12000:12080]  # everything removed but the click
    cols = frame_errors(noisy, clean, out)
    assert cols["burst-speech err/S"] is None  # the click is in the pause only
    cols = _measured(cols)
    assert cols["burst-pause err/N"] > -1.0  # the click frames: the click is all there
    assert cols["speech err/S"] < -100  # the speech frames: nothing wrong
