"""A gap whose t0 goes back in time in the ssvep_trial_decoder's Samples (nodes/models/ssvep_samples.py): a restarted
source replaying from its start, or a chunk after an untimed gap whose t0 is before the samples before it.

TimedBuffer (epochs, join) drops what it holds there and starts again from that chunk (join counts
`time_reset_<port>`). Samples started a new segment at that t0 after the held samples, so its times went out of order
(a reviewer's example at 10 Hz: [0, .1, .2, .3, .4, .3]) and a marker after the restart whose window the old samples
also covered was decided on the samples from before it. Samples now does as TimedBuffer (the decoder counts
`time_reset`); markers that arrive after it are decided on the new samples (one whose window starts before them:
`late_marker`, as epochs counts a marker before its samples). Markers still waiting at it are the old run's since
session 28 (dropped, `time_reset_marker`: nodes/dsp/marker_runs.py); they were decided on the new samples.
"""

import numpy as np
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.nodes.models.ssvep_samples import Samples
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

RATE = 250.0
FREQS = [6.0, 7.5, 10.0]


def _trial_decoder() -> SSVEPTrialDecoder:
    node = SSVEPTrialDecoder(method="fbcca", freqs=FREQS, window=1.0, delay=0.2, pre=0.5, max_delay=5)
    node.configure(
        {
            "in": StreamSpec("signal", RATE, (3,), "float64", channel_names=("O1", "Oz", "O2")),
            "events": StreamSpec("events", 0.0, (3,), "float64"),
        }
    )
    return node


def _ssvep(freq: float, n: int, seed: int) -> np.ndarray:
    t = np.arange(n) / RATE
    noise = np.random.default_rng(seed).standard_normal((3, n))
    return (np.sin(2 * np.pi * freq * t)[None, :] * np.array([[1.0], [1.5], [1.0]]) + 0.3 * noise) * 1e-5


def _times(buf: Samples) -> list[float]:
    return [round(buf.time(i), 9) for i in range(buf.start, buf.n_total)]


def _decisions(outs) -> list[tuple[float, int]]:
    rows = [r for o in outs if o and "out" in o for r in np.asarray(o["out"].data)]
    return sorted((round(float(r[0]), 9), int(r[2])) for r in rows)


def test_samples_drop_what_they_hold_at_a_gap_back_in_time():
    buf = Samples(1, 10.0)  # the reviewer's example
    assert not buf.append(np.ones((1, 1)), 0.0, False)
    assert not buf.append(np.ones((1, 4)), -0.2, False)  # not a gap: stays on the grid (t0 before the held samples)
    assert buf.append(np.ones((1, 1)), 0.3, True)  # a gap back in time: True, as TimedBuffer.append
    assert _times(buf) == [0.3]  # was [0, .1, .2, .3, .4, .3]
    assert buf.start == 5 and buf.segments == [(5, 0.3)] and buf.breaks == [5] and buf.newest == 0.3
    assert not buf.append(np.ones((1, 2)), 0.4, False)
    assert _times(buf) == [0.3, 0.4, 0.5]


def test_a_gap_forward_still_keeps_the_held_samples():
    buf = Samples(1, 10.0)
    buf.append(np.ones((1, 3)), 0.0, False)
    assert not buf.append(np.ones((1, 2)), 0.25, True)  # after the newest held sample (0.2): no reset
    assert _times(buf) == [0.0, 0.1, 0.2, 0.25, 0.35] and buf.breaks == [0, 3]


def test_the_decoder_keeps_its_times_sorted_through_process():
    node = _trial_decoder()  # the reviewer's chunks at 250 Hz (t0 -0.2 -> -2 samples, 0.3 -> 3 samples)
    x = _ssvep(10.0, 6, 1)
    node.process({"in": Chunk(x[:, :1], 0.0)})
    node.process({"in": Chunk(x[:, 1:5], -2 / RATE)})
    node.process({"in": Chunk(x[:, 5:], 3 / RATE, gap=True)})
    times = _times(node._buf)
    assert times == sorted(times) and times == [round(3 / RATE, 9)]  # was [0, 1, 2, 3, 4, 3] samples
    assert node.counters == {"time_reset": 1}


def _restart_steps():
    """4 s of a 6 Hz response, then (a gap) a source that replays from 2 s with a 10 Hz response."""
    before, after = _ssvep(6.0, 1000, 2), _ssvep(10.0, 1000, 3)
    head = [{"in": Chunk(before[:, i : i + 50], i / RATE)} for i in range(0, 1000, 50)]
    head.append({"events": Chunk(np.array([[3.5, 0.0, 1.0]]), 3.5)})  # its window (3.7-4.7 s) not complete yet
    tail = [{"in": Chunk(after[:, :50], 2.0, gap=True)}]  # back to 2 s
    # 1.9 s: its window (2.1-3.1 s) is in the new samples, which the old ones (0-4 s) also covered; 0.5 s: before them
    tail.append({"events": Chunk(np.array([[0.5, 0.0, 1.0], [1.9, 0.0, 1.0]]), 0.5)})
    tail += [{"in": Chunk(after[:, i : i + 50], 2.0 + i / RATE)} for i in range(50, 1000, 50)]
    return head, tail


def test_markers_after_the_restart_are_decided_on_the_new_samples():
    head, tail = _restart_steps()
    node = _trial_decoder()
    outs = [node.process(step) for step in head + tail] + node.finish_all()
    # 1.9 s was decided on the 6 Hz samples from before the restart (code 1); now on the new ones (10 Hz, code 3). 3.5 s,
    # pending across it, is the old run's (its samples are gone; a replay sends it again): dropped, counted
    # time_reset_marker (tests/test_time_reset_markers_session28.py; it was decided on the new samples)
    assert _decisions(outs) == [(1.9, 3)]
    assert node.counters == {"time_reset": 1, "time_reset_marker": 1, "late_marker": 1, "short_preroll": 1}


def test_a_state_dict_round_trip_across_the_restart():
    head, tail = _restart_steps()
    node = _trial_decoder()
    outs = [node.process(step) for step in head + tail[:1]]
    twin = _trial_decoder()
    twin.load_state_dict(node.state_dict())  # saved after the restart: the old samples are not in it
    assert _times(twin._buf) == _times(node._buf) == [round(2.0 + i / RATE, 9) for i in range(50)]
    first = [node.process(step) for step in tail[1:]] + node.finish_all()
    second = [twin.process(step) for step in tail[1:]] + twin.finish_all()
    assert _decisions(outs + first) == _decisions(outs + second) == [(1.9, 3)]  # (3.5 s: the old run's)
    node, before = _trial_decoder(), _trial_decoder()  # saved before it: the twin counts the reset, decides the same
    early = [node.process(step) for step in head]
    before.load_state_dict(node.state_dict())
    rest = [before.process(step) for step in tail] + before.finish_all()
    assert _decisions(early + rest) == [(1.9, 3)]
    assert before.counters == {"time_reset": 1, "time_reset_marker": 1, "late_marker": 1, "short_preroll": 1}
