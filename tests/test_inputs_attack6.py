"""Broken and unusual inputs, a sixth sweep: the speech path (configs/speech_enhance_file.yaml) and the CLI on
odd-but-legal audio. Each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

ENHANCE = Path(__file__).resolve().parents[1] / "configs" / "speech_enhance_file.yaml"


def test_an_audio_rate_of_no_simple_ratio_to_16_khz_gets_the_max_factor_that_takes_it(tmp_path):
    """A legal 16001 Hz WAV (44056 Hz and other NTSC-pulled rates alike) is refused by the enhancer graph's
    resampler. Before, the fix said 'choose an output rate with a simpler ratio to the input rate (e.g. 250, 500,
    16000 Hz), or raise max_factor': the output rate was 16000 Hz already and the enhancer takes no other, and
    'raise' gave no value. Now the value that works and the delay it costs; the value given runs the file."""
    x = 0.3 * np.sin(2 * np.pi * 220 * np.arange(800) / 16001)
    sf.write(tmp_path / "odd.wav", x, 16001)
    sets = [f"src.path={tmp_path / 'odd.wav'}", f"rec.path={tmp_path / 'e.wav'}", f"vad.path={tmp_path / 'v.csv'}"]
    with pytest.raises(GraphError) as e:
        build_graph(load_config(ENHANCE, sets))
    line = e.value.lines()[0]
    assert "node 'to16k' (resample)" in line and "up/down = 16000/16001" in line
    assert "fix: set max_factor: 16001 (the filter then delays the stream by 1 s)" in line
    assert "16000 Hz)" not in line.split("fix:")[1].split("sox")[0]  # no longer offered as the 'simpler' rate

    graph = build_graph(load_config(ENHANCE, [*sets, "to16k.max_factor=16001"]))
    assert not run_graph(graph, speed=None, in_process=True).failure
    y, rate = sf.read(tmp_path / "e.wav")
    assert rate == 16000 and abs(len(y) - 800 * 16000 / 16001) <= 16  # the input's duration (+ the filter tail)
