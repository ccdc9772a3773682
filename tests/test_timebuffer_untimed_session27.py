"""TimedBuffer (nodes/dsp/timebuffer.py, under join and epochs): samples of chunks without a time (t0 NaN) and then a
gap. The untimed samples stayed in the buffer with NaN times before the timed ones after the gap, and every time
search over the buffer went wrong: join output nothing (all counted `before_start`), epochs counted a marker inside
the timed samples `outside_data`. Such samples can never be placed (the gap's missing samples are not counted), so the
gap drops them, counted `untimed_dropped` (join: `untimed_dropped_<port>`); the timed samples after it are used as
those of a stream that starts there. And epochs waits for a time before deciding a marker (as join waits): a marker
that came before samples without a time was counted `outside_data` before a later chunk stamped them."""

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.dsp.join import Join
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

NAN = float("nan")
RATE = 100.0
B = np.arange(800.0)[None] / RATE  # input b: its own time, 0 .. 7.99 s


def _join_outputs(steps) -> tuple[list[Chunk], dict[str, int]]:
    join = Join()
    join.configure({"a": signal_spec(RATE, ["A"]), "b": signal_spec(RATE, ["B"])})
    outs = [join.process(step) for step in steps] + join.finish_all()
    return [o["out"] for o in outs if o], join.counters


@pytest.mark.parametrize("b_first", [False, True])
def test_join_uses_the_timed_samples_after_untimed_ones_and_a_gap(b_first):
    a = 1.0 + np.arange(300.0)[None]
    steps = [{"a": Chunk(np.zeros((1, 100)), t0=NAN)}, {"a": Chunk(a, t0=5.0, gap=True)}]
    steps.append({"a": Chunk(np.zeros((1, 0)), t0=8.0)})  # (a chunk of no samples counts nothing again)
    steps = [{"b": Chunk(B, t0=0.0)}, *steps] if b_first else [*steps, {"b": Chunk(B, t0=0.0)}]
    got, counters = _join_outputs(steps)
    assert [(c.t0, c.data.shape) for c in got] == [(5.0, (2, 300))]  # nothing came out before
    np.testing.assert_array_equal(got[0].data[0], a[0])
    np.testing.assert_allclose(got[0].data[1], 5.0 + np.arange(300) / RATE, atol=1e-12)  # b at a's times
    assert counters == {"untimed_dropped_a": 100}  # was {"before_start": 100}


def test_join_drops_an_untimed_segment_between_two_timed_ones():
    steps = [
        {"a": Chunk(np.full((1, 200), 1.0), t0=0.0)},  # 0 .. 2 s
        {"a": Chunk(np.full((1, 50), 2.0), t0=NAN, gap=True)},  # no time: never placed
        {"a": Chunk(np.full((1, 300), 3.0), t0=5.0, gap=True)},  # 5 .. 8 s
        {"b": Chunk(B, t0=0.0)},
    ]
    got, counters = _join_outputs(steps)
    assert [(c.t0, c.data.shape[1], c.gap) for c in got] == [(0.0, 200, False), (5.0, 300, True)]
    assert set(np.unique(got[1].data[0])) == {3.0}
    np.testing.assert_allclose(got[1].data[1], 5.0 + np.arange(300) / RATE, atol=1e-12)
    assert counters == {"untimed_dropped_a": 50}


def _epochs(steps) -> tuple[list[tuple[float, np.ndarray]], dict[str, int]]:
    node = Epochs(tmin=-0.2, tmax=0.5)
    node.configure({"in": signal_spec(RATE, ["A"]), "events": StreamSpec("events", 0.0, (3,), "float64")})
    outs = [node.process(step) for step in steps] + node.finish_all()
    return [(o["out"].t0, o["out"].data[0, 0]) for o in outs if o], node.counters


def _marker(t: float) -> dict[str, Chunk]:
    return {"events": Chunk(np.array([[t, 0.0, 1.0]]), t0=t)}


@pytest.mark.parametrize("marker_first", [False, True])
def test_epochs_cuts_a_marker_in_the_timed_samples_after_untimed_ones_and_a_gap(marker_first):
    x = np.arange(300.0)[None]  # 5 .. 7.99 s
    steps = [{"in": Chunk(np.full((1, 400), -1.0), t0=NAN)}, {"in": Chunk(x, t0=5.0, gap=True)}]
    steps = [_marker(6.0), *steps] if marker_first else [*steps, _marker(6.0)]
    got, counters = _epochs(steps)
    assert len(got) == 1 and got[0][0] == 6.0
    np.testing.assert_array_equal(got[0][1], x[0, 80:151])  # 5.8 .. 6.5 s
    assert counters == {"untimed_dropped": 400}  # was {"outside_data": 1}


def test_epochs_cuts_markers_on_both_timed_sides_of_a_dropped_untimed_segment():
    x = np.arange(300.0)[None]
    steps = [
        {"in": Chunk(x[:, :200] + 1000.0, t0=0.0)},  # 0 .. 2 s
        {"in": Chunk(np.full((1, 50), -1.0), t0=NAN, gap=True)},
        _marker(1.0),  # (markers late: the timed samples they need were pruned while the newest had no time)
        _marker(6.0),
        {"in": Chunk(x, t0=5.0, gap=True)},
    ]
    got, counters = _epochs(steps)
    assert [t for t, _ in got] == [1.0, 6.0]
    np.testing.assert_array_equal(got[0][1], 1000.0 + x[0, 80:151])
    np.testing.assert_array_equal(got[1][1], x[0, 80:151])
    assert counters == {"untimed_dropped": 50}


@pytest.mark.parametrize("first_t0", [0.0, NAN])
def test_epochs_waits_for_a_later_chunk_to_time_the_samples_of_a_marker_that_came_first(first_t0):
    """No gap: the untimed samples are stamped back from the next chunk's t0 (TimedBuffer._anchor_untimed), so the
    epoch is the one of a run with every time known; the marker was counted outside_data at the untimed chunk."""
    x = np.arange(400.0)[None]
    steps = [_marker(2.0), {"in": Chunk(x[:, :250], t0=first_t0)}, {"in": Chunk(x[:, 250:], t0=2.5)}]
    got, counters = _epochs(steps)
    assert len(got) == 1 and got[0][0] == 2.0
    np.testing.assert_array_equal(got[0][1], x[0, 180:251])
    assert counters == {}
