"""epochs and ssvep_trial_decoder after a time reset (a restarted source replays from its start; `time_reset`): what
was learnt on the old clock is forgotten (nodes/dsp/marker_runs.py).

Both wait, before cutting a window, for BAD_ segments that may come late on the marker stream, and stop waiting once a
marker at or after the window's end has arrived. The newest marker time was kept across a reset of the signal, so a
window of the new run, at times below the old run's markers, went out at once and a BAD_ segment over it that came a
moment later was missed. So were the BAD_ segments and the markers still waiting of the old run kept, and used on the
new run's samples at the same times. Either stream may reset first: markers of the old run that come after the
signal's reset (a queue behind it) are dropped until the marker stream goes back too; markers of the new run that come
before the signal's reset are held until it (they were cut on the old run's samples). Each test drives both nodes on
the same steps: the old run's signal is a 6 Hz response of value 1 (epochs), the new run's 10 Hz of value 2, so each
window says which run it was cut from."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

STIM, BAD = 1, 2
WITH_BAD = ((STIM, "stim"), (BAD, "BAD_muscle"))  # a BAD_ label: windows wait for the marker stream
PLAIN = ((STIM, "stim"),)
STEP = 0.2  # s of signal per chunk
FREQ = {1: 6.0, 2: 10.0}  # the run's SSVEP frequency; the decoder's code: 1 + its index in FREQS
FREQS = [6.0, 7.5, 10.0]


def _epochs(labels) -> Epochs:
    node = Epochs(tmin=0.0, tmax=0.5, max_delay=10.0)
    node.configure({"in": signal_spec(100.0, ["C3"]), "events": StreamSpec("events", 0.0, (3,), labels=labels)})
    return node


def _trials(labels) -> SSVEPTrialDecoder:
    node = SSVEPTrialDecoder(method="fbcca", freqs=FREQS, window=1.0, delay=0.2, pre=0.5, max_delay=5)
    node.configure(
        {
            "in": StreamSpec("signal", 250.0, (3,), "float64", channel_names=("O1", "Oz", "O2")),
            "events": StreamSpec("events", 0.0, (3,), "float64", labels=labels),
        }
    )
    return node


NODES = {"epochs": _epochs, "trials": _trials}


def _data(node, run: int, t0: float) -> np.ndarray:
    """STEP s of the run's signal from t0."""
    rate = node.in_specs["in"].rate
    n = int(round(STEP * rate))
    if isinstance(node, Epochs):
        return np.full((1, n), float(run))
    t = t0 + np.arange(n) / rate
    noise = np.random.default_rng([run, int(round(t0 * rate))]).standard_normal((3, n))
    return (np.sin(2 * np.pi * FREQ[run] * t)[None] * np.array([[1.0], [1.5], [1.0]]) + 0.3 * noise) * 1e-5


def sig(run: int, t_from: float, t_to: float, gap: bool = False):
    """Steps: the run's signal from t_from to t_to s in STEP s chunks (the first flagged gap when `gap`)."""
    k0, k1 = int(round(t_from / STEP)), int(round(t_to / STEP))
    return [("in", run, k * STEP, gap and k == k0) for k in range(k0, k1)]


def ev(*rows, gap: bool = False):
    return [("events", np.array(rows, dtype=np.float64), None, gap)]


def _feed(node, steps) -> list:
    outs = []
    for port, what, t0, gap in steps:
        if port == "in":
            outs.append(node.process({"in": Chunk(_data(node, what, t0), t0, gap=gap)}))
        else:
            outs.append(node.process({"events": Chunk(what, float(what[0, 0]), gap=gap)}))
    return outs


def _windows(node, outs) -> list[tuple[float, int]]:
    """(marker time, the run whose samples the window was cut from), sorted."""
    got = []
    for o in outs:
        if not o:
            continue
        if isinstance(node, Epochs) and "out" in o:
            got += [(float(r[0]), int(round(float(np.mean(x))))) for r, x in zip(o["events"].data, o["out"].data)]
        elif "out" in o:
            got += [(float(r[0]), {1: 1, 3: 2}.get(int(r[2]), 0)) for r in o["out"].data]
    return sorted((round(t, 6), run) for t, run in got)


def _run(kind: str, labels, steps):
    node = NODES[kind](labels)
    outs = _feed(node, steps) + node.finish_all()
    return _windows(node, outs), dict(node.counters)


@pytest.mark.parametrize("kind", NODES)
def test_a_window_of_the_new_run_waits_for_a_late_bad_segment(kind):
    """The reported case: the old run's newest marker (4 s) is above the new run's window (1 s): it went out at once."""
    steps = sig(1, 0, 5) + ev([4.0, 0, STIM])  # the old run; 4 s still waits (its window is not known yet)
    steps += sig(2, 0, STEP, gap=True) + ev([1.0, 0, STIM])  # the source restarts: back to 0 s, a trial at 1 s
    steps += sig(2, STEP, 4) + ev([1.2, 0.3, BAD])  # a BAD_ segment over it, late on the marker stream
    windows, counters = _run(kind, WITH_BAD, steps)
    assert windows == []  # was [(1.0, 2)]: cut before the segment came
    assert counters["bad_segment"] == 1 and counters["time_reset"] == 1
    assert counters["time_reset_marker"] == 1  # 4 s, still waiting at the reset: its samples are gone


@pytest.mark.parametrize("kind", NODES)
def test_the_old_runs_bad_segments_are_forgotten(kind):
    steps = sig(1, 0, 2) + ev([1.0, 0.6, BAD]) + sig(1, 2, 5) + ev([4.0, 0, STIM])
    steps += sig(2, 0, STEP, gap=True) + ev([1.2, 0, STIM]) + sig(2, STEP, 5) + ev([3.0, 0, STIM])
    windows, counters = _run(kind, WITH_BAD, steps)
    assert windows == [(1.2, 2), (3.0, 2)]  # 1.2 s was dropped for the old run's segment at 1.0-1.6 s
    assert "bad_segment" not in counters


@pytest.mark.parametrize("kind", NODES)
def test_old_run_markers_queued_behind_the_signal_reset_are_dropped(kind):
    """A replay across processes: the signal restarts while a marker of the old run (3 s) is still queued; then the
    marker stream restarts too and sends 1 s and 3 s again."""
    steps = sig(1, 0, 2) + ev([1.0, 0, STIM]) + sig(1, 2, 5)
    steps += sig(2, 0, STEP, gap=True) + ev([3.0, 0, STIM])  # the old run's 3 s, after the signal's reset
    steps += ev([1.0, 0, STIM]) + sig(2, STEP, 2) + ev([3.0, 0, STIM]) + sig(2, 2, 5)  # the new run's markers
    windows, counters = _run(kind, PLAIN, steps)
    assert windows == [(1.0, 1), (1.0, 2), (3.0, 2)]  # 3 s was cut twice on the new run's samples
    assert counters["time_reset_marker"] == 1


def _markers_first():
    """The marker stream restarts before the signal does (the signal a queue behind): the new run's 1 s comes while
    the old run's signal still runs."""
    steps = sig(1, 0, 6) + ev([5.0, 0, STIM])  # waits for the marker stream (BAD_ labels)
    steps += ev([1.0, 0, STIM], gap=True)  # the marker stream went back (a restarted sender: gap): the new run's
    steps += sig(1, 6, 7)  # the old run's last chunks
    return steps, sig(2, 0, 4, gap=True)


@pytest.mark.parametrize("kind", NODES)
def test_new_run_markers_before_the_signal_reset_wait_for_it(kind):
    head, tail = _markers_first()
    windows, counters = _run(kind, WITH_BAD, head + tail)
    # 1 s was cut on the old run's samples at 1 s; 5 s (the old run's) on the old samples: the old run's marker stream
    # ended when it went back, no BAD_ segment of it can still come
    assert windows == [(1.0, 2), (5.0, 1)]
    assert "time_reset_marker" not in counters and counters["time_reset"] == 1


@pytest.mark.parametrize("kind", NODES)
def test_state_round_trip_while_new_run_markers_wait(kind):
    head, tail = _markers_first()
    node = NODES[kind](WITH_BAD)
    early = _feed(node, head)
    twin = NODES[kind](WITH_BAD)
    twin.load_state_dict(node.state_dict())
    first = _windows(node, early + _feed(node, tail) + node.finish_all())
    second = _windows(twin, early + _feed(twin, tail) + twin.finish_all())
    assert first == second == [(1.0, 2), (5.0, 1)]
    state = node.state_dict()  # a state saved before these fields: loads, as no reset under way
    for key in ("markers_newest", "old_end", "held", "held_until", "runs"):
        state.pop(key, None)
    older = NODES[kind](WITH_BAD)
    older.load_state_dict(state)
    _feed(older, sig(2, 4, 5))


@pytest.mark.parametrize("kind", NODES)
def test_markers_held_for_a_signal_reset_that_never_came_are_counted(kind):
    head, _ = _markers_first()
    windows, counters = _run(kind, WITH_BAD, head)
    assert windows == [(5.0, 1)]  # 1 s was cut on the old run's samples
    assert counters["time_reset_marker"] == 1


@pytest.mark.parametrize("kind", NODES)
def test_a_late_marker_going_back_without_a_reset_is_taken_as_before(kind):
    """A marker before the newest, on a chunk not flagged gap while the signal has not gone back: a late marker (sent
    out of order), not a reset of the marker stream (tests/test_ssvep_fbcca.py sends one)."""
    steps = sig(1, 0, 1) + ev([0.6, 0, STIM]) + ev([3.0, 0, STIM]) + sig(1, 1, 2) + ev([1.5, 0, STIM]) + sig(1, 2, 5)
    windows, counters = _run(kind, PLAIN, steps)
    assert windows == [(0.6, 1), (1.5, 1), (3.0, 1)]
    assert "time_reset_marker" not in counters


@pytest.mark.parametrize("kind", NODES)
def test_a_signal_that_steps_back_on_the_markers_clock(kind):
    """The signal alone goes back (a live stream stamped a burst early; the marker stream did not reset): markers after
    its newest time before the step are taken at once, and all of them once it has run max_delay past it."""
    steps = sig(1, 0, 2) + ev([1.0, 0, STIM]) + sig(1, 2, 10)
    steps += sig(2, 9.6, 11, gap=True) + ev([9.8, 0, STIM])  # at or before the old end (10 s): the old run's
    steps += ev([10.4, 0, STIM]) + sig(2, 11, 22) + ev([21.0, 0, STIM]) + sig(2, 22, 23)
    windows, counters = _run(kind, PLAIN, steps)
    assert windows == [(1.0, 1), (10.4, 2), (21.0, 2)]
    assert counters["time_reset_marker"] == 1
