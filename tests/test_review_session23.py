"""Defects found reviewing session 23's changes (bdbbdf6..): each test fails before its fix."""

import logging

import numpy as np
from wavegraph.nodes.dsp.channels import Mix
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec


def _stereo(left: np.ndarray, right: np.ndarray) -> dict[str, Chunk]:
    return {"in": Chunk(np.stack([left, right]).astype(np.float32), 0.0)}


def test_mix_given_a_second_file_after_finish_checks_it_for_cancelling_channels(caplog):
    """finish() ends the stream for every single-input stateful node (9945454), but mix kept its cancel check decided:
    a second file through the same node (one node, many files) whose right channel is the left inverted mixed to
    silence unsaid, as the first file had been checked already."""
    rate = 16000
    mix = Mix()
    mix.configure({"in": signal_spec(rate, ["L", "R"], "audio", "float32", "a.u.")})
    x = np.sin(2 * np.pi * 440 * np.arange(3 * rate) / rate) * 0.1
    with caplog.at_level(logging.WARNING):
        mix.process(_stereo(x, x))  # a first file, its channels alike: checked over its first 2 s, nothing to say
        mix.finish()
        assert not [r for r in caplog.records if "cancel" in r.getMessage()]
        out = mix.process(_stereo(x, -x))["out"].data  # the second file: R = -L
        mix.finish()
    assert np.abs(out).max() < 1e-6  # mixed to silence
    said = [r.getMessage() for r in caplog.records if "cancel" in r.getMessage()]
    assert len(said) == 1 and "'L', 'R'" in said[0] and "weights: [0.5, -0.5]" in said[0]
