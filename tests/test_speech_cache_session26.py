"""The decoded speech cache (models/speech_data.py): a fresh machine's first run, which decodes the Asterisk prompts,
sees the same samples as every later run, which reads them from the int16 cache. Before, the first run used the
decoded floats and later runs their int16 copy (a different scale and rounding), so a bench or training run on a
new machine differed from its rerun (single PESQ-WB scores by up to 0.06)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import need
from wavegraph.models import speech_data

CARLO = Path("/usr/share/asterisk/sounds/it_IT_m_Carlo")


def test_first_run_and_cached_run_read_the_same_samples(tmp_path, monkeypatch):
    pytest.importorskip("av")
    prompts = sorted(CARLO.glob("*.g722"))[:3] if CARLO.is_dir() else []
    need(prompts, "the Asterisk Italian prompts are not installed (scripts/system_deps.sh)")
    sounds = tmp_path / "sounds"
    (sounds / "it_IT_m_Carlo").mkdir(parents=True)
    for p in prompts:
        shutil.copy(p, sounds / "it_IT_m_Carlo" / p.name)
    monkeypatch.setattr(speech_data, "SOUNDS", sounds)
    monkeypatch.setenv("WAVEGRAPH_DATA", str(tmp_path / "cache"))
    first = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)  # decodes, writes the cache
    assert (tmp_path / "cache" / "speech" / "it_IT_m_Carlo.npz").is_file()
    again = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)  # reads the cache
    assert first.names == again.names and len(first.audio) == 3
    for a, b in zip(first.audio, again.audio):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert max(float(np.abs(a).max()) for a in first.audio) > 0.01  # real speech, not silence
