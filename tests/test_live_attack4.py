"""Live LSL, a fourth round (after test_live_attack.py .. test_live_attack3.py): a BCI session's amplifier and stimulus
streams on real liblsl over loopback, as a lab's apps misbehave mid-session. Each test failed before its fix."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
import pytest  # noqa: E402
from test_live_attack3 import one_stream_per_name, uname  # noqa: E402, F401  # pyright: ignore[reportMissingImports]
from test_live_lsl import read_all  # noqa: E402  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402


def amplifier(name, source_id, n=2, rate=100.0):
    return pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", n, rate, pylsl.cf_float32, source_id))


def read_samples(node, n, limit_s=5.0):
    """Read until `n` samples came (in as many chunks as liblsl gives them)."""
    got, t_end = 0, time.monotonic() + limit_s
    while got < n and time.monotonic() < t_end:
        if r := node.read():
            got += r["out"].data.shape[1]
    assert got == n


def pushed_when_connected(out, n, rate=100.0):
    def run():
        assert out.wait_for_consumers(10.0)
        out.push_chunk(np.ones((n, out.channel_count), np.float32).tolist(), pylsl.local_clock())

    th = threading.Thread(target=run)
    th.start()
    return th


def test_an_amplifier_back_under_a_new_source_id_ends_the_stream_said(caplog):
    """`recover: true` and the amplifier app restarted mid-session, same name and type, but with a source_id it made
    up anew (as apps do that derive it from a random uuid). liblsl reconnects only to the old source_id. Before: the
    inlet said 'recover: true waits for an outlet of source_id ...-serial1 to come back' and waited in silence until
    idle_timeout (for ever without it), never naming the stream that was back."""
    name = uname("amp")
    first = amplifier(name, f"{name}-serial1")
    node = LslInlet(name=name, recover=True, idle_timeout=30.0, clock_sync=False, resolve_timeout=2.0, wait=0.05)
    node.configure({})
    th = pushed_when_connected(first, 20)  # the inlet connects at its first read
    read_samples(node, 20)
    th.join(10.0)
    del first
    again = amplifier(name, f"{name}-serial2")  # noqa: F841
    with caplog.at_level(logging.ERROR, "wavegraph.lsl"):
        read_all(node, limit_s=5.0)  # before: the 30 s of idle_timeout
    assert node.counters["outlet_changed"] == 1
    assert f"under another source_id, {name}-serial2" in caplog.text
    assert f"`recover` reconnects only to {name}-serial1" in caplog.text and "fixed source_id" in caplog.text


def test_an_amplifier_back_under_a_new_source_id_with_other_channels_says_both(caplog):
    """The amplifier app restarted mid-session under a new source_id and with 4 channels instead of 2 (another
    montage, a channel switched on). Before (65cc9c5): only the new source_id was said, not that the layout changed
    too, which a fixed source_id alone would not have made readable."""
    name = uname("amp")
    first = amplifier(name, f"{name}-serial1")
    node = LslInlet(name=name, recover=True, idle_timeout=30.0, clock_sync=False, resolve_timeout=2.0, wait=0.05)
    node.configure({})
    th = pushed_when_connected(first, 20)
    read_samples(node, 20)
    th.join(10.0)
    del first
    again = amplifier(name, f"{name}-serial2", n=4)  # noqa: F841
    with caplog.at_level(logging.ERROR, "wavegraph.lsl"):
        read_all(node, limit_s=5.0)
    assert f"under another source_id, {name}-serial2, with 4 ch at 100 Hz, float32 (it had 2 ch" in caplog.text


def test_a_second_outlet_of_the_name_beside_a_sending_amplifier_does_not_end_it():
    """The check above looks only while the stream is silent: a second app of the same name started while the
    amplifier sends (said at the next run's resolve as two matching streams) leaves this run reading."""
    name = uname("amp")
    first = amplifier(name, f"{name}-serial1")
    node = LslInlet(name=name, recover=True, clock_sync=False, resolve_timeout=2.0, wait=0.05)
    node.configure({})
    stop = threading.Event()

    def send():
        assert first.wait_for_consumers(10.0)
        while not stop.is_set():
            first.push_chunk(np.ones((5, 2), np.float32).tolist())
            stop.wait(0.05)

    th = threading.Thread(target=send)
    th.start()
    try:
        read_samples(node, 10)
        other = amplifier(name, f"{name}-other")  # noqa: F841
        t_end = time.monotonic() + 1.5  # beyond RECHECK_S, the idle check's period
        while time.monotonic() < t_end:
            assert node.read() is not None
    finally:
        stop.set()
        th.join(5.0)
    assert "outlet_changed" not in node.counters


def test_frequency_markers_with_a_line_end_or_spaces_around_take_their_marker_codes(caplog):
    """A stimulus program that sends its marker text with a line end or a space ("7.5\\n", " 8.57"), with
    `marker_codes: {"7.5": 75, "8.57": 857}` as docs/bci.md says. An integer marker is read with spaces around (" 6 " is
    6). Before: each was dropped (unknown_marker) with the advice 'give it a code with marker_codes', which it had: the
    session's trials got no decision and the recording no annotation."""
    name = uname("stimulus")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))
    node = LslInlet(
        name=name, max_samples=4, clock_sync=False, resolve_timeout=2.0, marker_codes={"7.5": 75, "8.57": 857}
    )
    node.configure({})
    t = pylsl.local_clock()

    def send():
        assert out.wait_for_consumers(10.0)
        for k, m in enumerate(["7.5\n", " 8.57", "7.5\r\n", " 6 "]):
            out.push_sample([m], t + k)

    th = threading.Thread(target=send)
    th.start()
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        rows = np.concatenate([c.data for c in read_all(node, limit_s=5.0)])
    th.join()
    assert rows[:, 2].tolist() == [75.0, 857.0, 75.0, 6.0]
    np.testing.assert_allclose(rows[:, 0], t + np.arange(4), atol=1e-9)
    assert "unknown_marker" not in node.counters and "no code" not in caplog.text


@pytest.mark.parametrize("fmt", [pylsl.cf_float32, pylsl.cf_double64])
def test_numeric_frequency_markers_that_are_no_integer_take_their_marker_codes(fmt, caplog):
    """A stimulus program that sends each target's frequency as a number (a one-channel float stream at an irregular
    rate: 7.5, 8.57), with `marker_codes: {"7.5": 75, "8.57": 857}`. Before: dropped, counted unknown_marker, and said
    "marker '7.5' ... has no code (not an integer, not in the outlet's desc/events nor in marker_codes) ... give it a
    code with marker_codes": the advice it had followed; the session's trials got no decision."""
    name = uname("stimulus")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, fmt, name))
    node = LslInlet(
        name=name, max_samples=4, clock_sync=False, resolve_timeout=2.0, marker_codes={"7.5": 75, "8.57": 857}
    )
    node.configure({})

    def send():
        assert out.wait_for_consumers(10.0)
        for v in (7.5, 8.57, 6.0, 6.25):
            out.push_sample([v])

    th = threading.Thread(target=send)
    th.start()
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        rows = np.concatenate([c.data for c in read_all(node, limit_s=5.0)])
    th.join()
    assert rows[:, 2].tolist() == [75.0, 857.0, 6.0]  # 6.25: no code given, still unknown (and said)
    assert node.counters["unknown_marker"] == 1 and "marker '6.25'" in caplog.text


def test_a_second_marker_outlet_of_the_name_beside_a_quiet_stimulus_program_does_not_end_it():
    """Markers are sparse: a marker stream read with `recover: true` is silent between trials with its outlet up. A
    second outlet of its name and type started meanwhile (another stimulus program, a test tool) is no restart of it.
    Before (65cc9c5, the check above taken for markers too): the marker stream ended after RECHECK_S of quiet, its
    later markers lost."""
    name = uname("stimulus")
    stim = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, f"{name}-1"))
    node = LslInlet(name=name, recover=True, clock_sync=False, resolve_timeout=2.0, wait=0.05)
    node.configure({})
    assert node.read() == {}  # connects
    other = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, f"{name}-2"))  # noqa: F841
    t_end = time.monotonic() + 1.6  # beyond RECHECK_S of quiet
    while time.monotonic() < t_end:
        assert node.read() is not None
    assert stim.wait_for_consumers(5.0)
    stim.push_sample(["3"])
    rows, t_end = [], time.monotonic() + 3.0
    while not rows and time.monotonic() < t_end:
        r = node.read()
        assert r is not None
        rows += [r["out"].data] if r else []
    assert rows and rows[0][0, 2] == 3.0 and "outlet_changed" not in node.counters


def test_stop_ends_a_run_in_a_thread_that_waits_for_its_amplifier(monkeypatch):
    """A notebook runs configs/bci_ssvep.yaml's inlet in a thread (GraphBuilder.run), `resolve_timeout: 30` while the
    amplifier is switched on, and the user gives up: GraphBuilder.stop() (Ctrl-C does not reach a thread). Before: the
    wait went on for all of resolve_timeout (stop() only took effect once the graph was built), then run() raised
    GraphError 'no LSL stream ... within 30 s', as if nothing had stopped it. Now the wait ends at once and run()
    returns nothing, said."""
    from wavegraph.nodes.io import lsl_info
    from wavegraph.pipeline.api import GraphBuilder

    waiting = threading.Event()
    resolve = lsl_info.resolve

    def resolve_seen(*args, **kwargs):
        waiting.set()
        return resolve(*args, **kwargs)

    monkeypatch.setattr(lsl_info, "resolve", resolve_seen)
    from wavegraph.nodes.io import lsl

    monkeypatch.setattr(lsl, "resolve", resolve_seen)
    g = GraphBuilder()
    g.add("lsl_inlet", name=uname("never-switched-on"), resolve_timeout=30.0)
    out: list = []
    th = threading.Thread(target=lambda: out.append(g.run(capture=["lsl_inlet0"])), daemon=True)
    th.start()
    assert waiting.wait(10.0)
    assert g.stop() is True
    th.join(5.0)  # before: 30 s
    assert not th.is_alive() and out == [{}]


def test_a_stimulus_program_running_twice_is_said_as_such(monkeypatch):
    """The stimulus program started a second time while its first instance still runs (a crashed window left open):
    two marker outlets of one name, type and source_id. Before: 'fix: give a `name` (and `type`) that only one stream
    has, or give the outlets distinct source ids', advice for two different apps; the fix is to close one."""
    from wavegraph.nodes.io import lsl
    from wavegraph.pipeline.spec import SpecError

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.8)  # the second discovery wave, as in a real run
    name = uname("stimulus")
    outs = [pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, "psychopy")) for _ in "ab"]
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, type="Markers", resolve_timeout=2.0).configure({})
    assert f"2 LSL streams match name='{name}'" in str(e.value)
    assert "published 2 times (source_id psychopy" in str(e.value) and "close all but one" in str(e.value)
    del outs


def test_trial_markers_that_come_after_their_signal_left_max_delay_are_said(caplog):
    """configs/bci_ssvep_dnn.yaml's decoder in a live session whose marker stream stalls (its link, or an app that
    stamps markers on another clock) by more than max_delay behind the EEG: those trials get no decision. Before: only
    counted late_marker, seen in the summary after the session; nothing said while the user waited for feedback."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    rate, names = 250.0, ["O1", "Oz", "O2"]
    specs = {"in": signal_spec(rate, names), "events": StreamSpec("events", 0.0, (3,), "float64")}
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5], window=1.0, channels=names, max_delay=2.0)
    node.configure(specs)
    x = np.random.default_rng(0).standard_normal((3, 250 * 8)) * 1e-5
    for i in range(0, x.shape[1], 125):
        node.process({"in": Chunk(x[:, i : i + 125], i / rate)})
    with caplog.at_level(logging.WARNING, "wavegraph.ssvep"):
        node.process({"events": Chunk(np.array([[1.5, 1.0, 1.0], [2.0, 1.0, 2.0]]), 1.5)})  # 6 s behind
    assert node.counters["late_marker"] == 2
    assert caplog.text.count("the marker at 1.500 s came after the signal its trial needs") == 1
    assert "raise max_delay" in caplog.text


def test_a_trial_marker_before_the_amplifier_started_is_said(caplog):
    """The stimulus program's first trial marker sent before the amplifier's stream began (the stimulus started
    first): its window holds no sample. Before: only counted outside_data, nothing said during the session."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    rate, names = 250.0, ["O1", "Oz", "O2"]
    specs = {"in": signal_spec(rate, names), "events": StreamSpec("events", 0.0, (3,), "float64")}
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5], window=1.0, channels=names)
    node.configure(specs)
    with caplog.at_level(logging.WARNING, "wavegraph.ssvep"):
        node.process({"events": Chunk(np.array([[95.0, 1.0, 1.0], [96.0, 1.0, 2.0]]), 95.0)})  # 5 s early
        x = np.random.default_rng(0).standard_normal((3, 250 * 2)) * 1e-5
        node.process({"in": Chunk(x, 100.0)})
    assert node.counters["outside_data"] == 2
    assert caplog.text.count("the marker at 95.000 s has its window before the stream's first sample (100.000") == 1
    assert "start the amplifier first" in caplog.text
