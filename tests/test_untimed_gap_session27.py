"""Samples of chunks without a time (t0 NaN) after a gap, in both sample buffers: TimedBuffer (nodes/dsp/timebuffer.py,
under join and epochs) and the ssvep_trial_decoder's Samples (nodes/models/ssvep_samples.py).

1. A gap after untimed samples: TimedBuffer dropped them (2b7ff75, `untimed_dropped`), Samples kept them with a NaN
   segment time and cut markers before the first timed sample on the timed samples' grid across that gap (af56d1b:
   gap_in_trial). Samples now drops them too, counted `untimed_dropped` on the decoder: a trial decoder fed [untimed
   chunk, markers, gap chunk with times] reads the timed samples as a stream that starts at the gap, as epochs does
   (a marker whose window starts before them: outside_data in both).
2. Helper 192's question: a timed stretch, then a chunk flagged gap without a time, then a timed chunk without a gap.
   Both buffers stamped the untimed samples back from that chunk's t0, which put them before the timed stretch when
   the chunk's t0 came sooner than their count allows: times out of order (a marker there found the wrong samples).
   Untimed samples after a gap that cannot be placed after the samples before it are dropped and counted the same
   way; the timed chunk starts the segment after that gap.
"""

import numpy as np
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.dsp.join import Join
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.nodes.models.ssvep_samples import Samples
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

NAN = float("nan")
RATE = 250.0
X = np.random.default_rng(27).standard_normal((3, 2500)) * 1e-5
MARKERS = np.array([[4.0, 0.0, 1.0], [4.9, 0.0, 1.0], [6.0, 0.0, 1.0]])


def _trial_decoder() -> SSVEPTrialDecoder:
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0], window=1.0, delay=0.2, pre=0.5, max_delay=5)
    node.configure(
        {
            "in": StreamSpec("signal", RATE, (3,), "float64", channel_names=("O1", "Oz", "O2")),
            "events": StreamSpec("events", 0.0, (3,), "float64"),
        }
    )
    return node


def _decided(node, steps) -> list[float]:
    outs = [node.process(step) for step in steps] + node.finish_all()
    return sorted(float(r[0]) for o in outs if o and "out" in o for r in np.asarray(o["out"].data))


def _epochs(steps) -> tuple[list[float], dict[str, int]]:
    node = Epochs(tmin=-0.2, tmax=0.5)
    node.configure({"in": signal_spec(RATE, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,), "float64")})
    outs = [node.process(step) for step in steps] + node.finish_all()
    return [float(o["out"].t0) for o in outs if o], node.counters


def test_trial_decoder_drops_untimed_samples_at_a_gap_as_epochs_does():
    steps = [
        {"in": Chunk(X[:, :500], NAN)},  # 2 s of samples without a time
        {"events": Chunk(MARKERS, 4.0)},
        {"in": Chunk(X[:, 500:], 5.0, gap=True)},  # then timed samples from 5 s, after a gap
    ]
    node = _trial_decoder()
    assert _decided(node, steps) == [4.9, 6.0]  # 4.9 s: the window 5.1-6.1 s, its pre-roll from the stream start
    # 4.0 s: its window (4.2-5.2 s) starts before the first sample there is; was gap_in_trial, the untimed samples
    # kept before the gap as if their segment had a time
    assert node.counters == {"untimed_dropped": 500, "outside_data": 1, "short_preroll": 1}
    got, counters = _epochs(steps)
    assert got == [6.0]  # (4.9 s: its window 4.7-5.4 s starts before the stream too)
    assert counters == {"untimed_dropped": 500, "outside_data": 2}


def test_trial_decoder_keeps_its_state_after_dropping_untimed_samples():
    node = _trial_decoder()
    node.process({"in": Chunk(X[:, :500], 0.0)})  # 0-2 s
    node.process({"in": Chunk(X[:, 500:600], NAN, gap=True)})  # no time, then a gap: never placed
    node.process({"in": Chunk(X[:, 600:1500], 5.0, gap=True)})  # 5-8.6 s
    state = node.state_dict()
    assert node._buf.n_total == 1400 and [int(i) for i in state["buf"]["breaks"]] == [0, 500]
    assert state["buf"]["segments"].tolist() == [[0.0, 0.0], [500.0, 5.0]]
    assert node.counters == {"untimed_dropped": 100}
    twin = _trial_decoder()
    twin.load_state_dict(state)
    steps = [{"events": Chunk(np.array([[0.8, 0.0, 1.0], [6.0, 0.0, 1.0]]), 0.8)}, {"in": Chunk(X[:, 1500:], 8.6)}]
    assert _decided(node, steps) == _decided(twin, steps) == [0.8, 6.0]  # 0.8 s: 1.0-2.0 s, 6.0 s: 6.2-7.2 s


def _samples_steps(late_t0: float) -> list[tuple[np.ndarray, float, bool]]:
    return [(X[:, :500], 0.0, False), (X[:, 500:550], NAN, True), (X[:, 550:800], late_t0, False)]


def test_samples_never_stamps_untimed_samples_before_the_timed_ones():
    """0-2 s timed, 50 samples flagged gap without a time, then a chunk at 2.1 s without a gap: stamped back from it
    the 50 samples would start at 1.9 s, before the last timed sample (1.996 s)."""
    buf = Samples(3, RATE)
    dropped = []
    for x, t0, gap in _samples_steps(2.1):
        buf.append(x, t0, gap)
        dropped.append(buf.untimed_dropped)
    assert dropped == [0, 0, 50]
    times = np.array([buf.time(i) for i in range(buf.n_total)])
    assert buf.n_total == 750 and np.all(np.diff(times) > 0)  # was 800 samples, 1.9 s after 1.996 s
    np.testing.assert_allclose(times[500:], 2.1 + np.arange(250) / RATE)
    assert buf.breaks == [0, 500]  # the gap the untimed samples came after: before the timed chunk now
    np.testing.assert_array_equal(buf.take(500, 750), X[:, 550:800])


def test_samples_places_untimed_samples_after_a_gap_that_fit():
    """Control: the same with the chunk at 5 s: the untimed samples are stamped 4.8-4.996 s, after the timed ones."""
    buf = Samples(3, RATE)
    for x, t0, gap in _samples_steps(5.0):
        buf.append(x, t0, gap)
    assert buf.untimed_dropped == 0 and buf.n_total == 800
    np.testing.assert_allclose(buf.time(500), 4.8)


def _join_a(late_t0: float) -> tuple[list[Chunk], dict[str, int]]:
    join = Join()
    join.configure({"a": signal_spec(RATE, ["A"]), "b": signal_spec(RATE, ["B"])})
    steps = [{"a": Chunk(X[:1, :500], 0.0)}, {"a": Chunk(X[:1, 500:550], NAN, gap=True)}]
    steps += [{"a": Chunk(X[:1, 550:800], late_t0)}, {"b": Chunk(np.arange(2000.0)[None] / RATE, 0.0)}]
    outs = [join.process(step) for step in steps] + join.finish_all()
    return [o["out"] for o in outs if o], join.counters


def test_timed_buffer_never_stamps_untimed_samples_before_the_timed_ones():
    """The same in join (TimedBuffer): its times were 0-2 s, then 1.9 s on; a join read b at them out of order."""
    got, counters = _join_a(2.1)
    assert [(c.t0, c.data.shape[1], c.gap) for c in got] == [(0.0, 500, False), (2.1, 250, True)]
    np.testing.assert_array_equal(got[1].data[0], X[0, 550:800])
    np.testing.assert_allclose(got[1].data[1], 2.1 + np.arange(250) / RATE, atol=1e-12)  # b at a's times
    assert counters == {"untimed_dropped_a": 50}


def test_timed_buffer_places_untimed_samples_after_a_gap_that_fit():
    got, counters = _join_a(5.0)
    assert [(c.t0, c.data.shape[1], c.gap) for c in got] == [(0.0, 500, False), (4.8, 300, True)]
    np.testing.assert_array_equal(got[1].data[0], X[0, 500:800])
    assert counters == {}


def test_epochs_cuts_markers_around_untimed_samples_that_could_not_be_placed():
    """Before, the untimed samples were stamped 1.9-2.096 s, held after the timed ones of 0-1.996 s: times out of
    order. A marker at 1.95 s (sample 487.5: the even one, 488, as MNE rounds) got an epoch one sample early (ending
    at 487), and one at 2.12 s an epoch of samples 505-555 (untimed ones and the chunk's first samples, across the
    gap) as if they were 1.92-2.12 s; that window spans the gap (2.0-2.1 s), gap_in_epoch."""
    steps = [
        {"in": Chunk(X[:, :500], 0.0)},
        {"in": Chunk(X[:, 500:550], NAN, gap=True)},
        {"in": Chunk(X[:, 550:800], 2.1)},
        {"events": Chunk(np.array([[1.95, 0.0, 1.0], [2.12, 0.0, 1.0], [2.3, 0.0, 1.0]]), 1.95)},
    ]
    node = Epochs(tmin=-0.2, tmax=0.0)
    node.configure({"in": signal_spec(RATE, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,), "float64")})
    outs = [node.process(step) for step in steps] + node.finish_all()
    got = [o["out"] for o in outs if o]
    assert [c.t0 for c in got] == [1.95, 2.3]
    np.testing.assert_array_equal(got[0].data[0], X[:, 438:489])  # 1.75-1.95 s
    np.testing.assert_array_equal(got[1].data[0], X[:, 550:601])  # 2.1-2.3 s: the timed chunk's (2.1 s at 550)
    assert node.counters == {"untimed_dropped": 50, "gap_in_epoch": 1}
