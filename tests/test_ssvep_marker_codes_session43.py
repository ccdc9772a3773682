"""ssvep_trial_decoder compares marker codes as numbers, as `epochs` does since session 43: a marker of code 2.5 was
cast to 2 and began a trial under `codes: [2]`; MNE's event ids are integers, so it matches none."""

import logging

import numpy as np
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

RATE = 250.0


def _decided(markers: np.ndarray) -> SSVEPTrialDecoder:
    x = np.random.default_rng(0).standard_normal((3, int(6 * RATE))) * 1e-5
    specs = {
        "in": StreamSpec("signal", RATE, (3,), "float64", channel_names=("O1", "Oz", "O2")),
        "events": StreamSpec("events", 0.0, (3,), "float64"),
    }
    node = SSVEPTrialDecoder(freqs=[6.0, 7.5, 10.0], window=1.0, delay=0.2, pre=0.5, max_delay=2.0, codes=[2])
    node.configure(specs)
    node.process({"events": Chunk(markers, float(markers[0, 0]))})
    for i in range(0, x.shape[1], 100):
        node.process({"in": Chunk(x[:, i : i + 100], 10.0 + i / RATE)})
    node.finish()
    return node


def test_a_non_whole_marker_code_starts_no_trial_and_is_said_once(caplog):
    with caplog.at_level(logging.WARNING, logger="wavegraph.markers"):
        node = _decided(np.array([[11.0, 0.0, 2.5], [12.5, 0.0, 2.5]]))
    assert node.counters == {"ignored_marker": 2}  # (before: both decided as trials of code 2)
    said = [r.getMessage() for r in caplog.records if "no whole number" in r.getMessage()]
    assert len(said) == 1 and "2.5" in said[0]


def test_a_whole_code_given_as_a_float_still_starts_its_trial():
    node = _decided(np.array([[11.0, 0.0, 2.0]]))
    assert not node.counters, node.counters
