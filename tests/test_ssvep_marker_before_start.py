"""A stimulus marker whose window starts before the stream's first sample: ssvep_trial_decoder counted it
`late_marker` (telling the user their marker stream lags), though nothing had been dropped; it is
`outside_data`, as the `epochs` node counts the same marker."""

import numpy as np
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

RATE = 250.0
NAMES = ["O1", "Oz", "O2"]


def _run(markers: np.ndarray, t0: float) -> SSVEPTrialDecoder:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, int(6 * RATE))) * 1e-5
    specs = {
        "in": StreamSpec("signal", RATE, (3,), "float64", channel_names=tuple(NAMES)),
        "events": StreamSpec("events", 0.0, (3,), "float64"),
    }
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0], window=1.0, delay=0.2, pre=0.5, max_delay=2.0)
    node.configure(specs)
    node.process({"events": Chunk(markers, float(markers[0, 0]))})
    for i in range(0, x.shape[1], 100):
        node.process({"in": Chunk(x[:, i : i + 100], t0 + i / RATE)})
    node.finish()
    return node


def test_marker_before_the_stream_start_is_outside_data_not_late():
    node = _run(np.array([[9.0, 2.0, 1], [12.0, 2.0, 2]]), t0=10.0)  # 9 s: its window starts before 10 s
    assert node.counters.get("late_marker", 0) == 0
    assert node.counters.get("outside_data") == 1


def test_marker_inside_the_stream_is_decided():
    node = _run(np.array([[12.0, 2.0, 2]]), t0=10.0)
    assert not node.counters, node.counters
