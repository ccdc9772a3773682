"""LSL acquisition leftovers, session 25, on real liblsl over loopback (configs/lsl_api.cfg): a `--duration` run of a
stream that appeared while the graph waited for it, string markers that are not UTF-8, and what a restarted outlet's
stream loses before liblsl reconnects. Each test failed before its fix."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
import pytest  # noqa: E402
from test_lsl_live_session23 import _one_stream_per_name, read_until  # noqa: E402, F401 (AMBIGUITY_WAIT_S 0.05)
from wavegraph.nodes.io import lsl  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.pipeline.node import Node, NodeParams  # noqa: E402

RATE = 250.0


def uname(what: str) -> str:
    return f"wg-s25b-{what}-{uuid.uuid4().hex[:8]}"  # never resolve a stream left over by another test


class Pump:
    """Pushes one channel at RATE in real time from a background thread, each sample's value its index in the outlet
    that sent it and its timestamp the outlet's start + index / RATE; `restart()` swaps in a new outlet of the same
    source_id (an amplifier app restarted), whose indices start again at 0."""

    def __init__(self, name: str):
        self.name, self.lock, self.done = name, threading.Lock(), threading.Event()
        self.out: pylsl.StreamOutlet | None = None
        self.k, self.t0 = 0, 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.restart()
        self.thread.start()

    def restart(self) -> None:
        with self.lock:
            self.out = None  # the old outlet goes (liblsl closes it) before the new one comes
            self.out = pylsl.StreamOutlet(pylsl.StreamInfo(self.name, "EEG", 1, RATE, pylsl.cf_float32, self.name))
            self.k, self.t0 = 0, pylsl.local_clock()

    def _run(self) -> None:
        while not self.done.wait(0.005):  # (pacing: a real-time sender)
            with self.lock:
                n = int((pylsl.local_clock() - self.t0) * RATE) - self.k
                if n > 0 and self.out is not None:
                    idx = np.arange(self.k, self.k + n)
                    self.out.push_chunk(idx.astype(np.float32)[:, None], [float(t) for t in self.t0 + idx / RATE])
                    self.k += n

    def stop(self) -> None:
        self.done.set()
        self.thread.join(5.0)
        self.out = None


class SlowStartParams(NodeParams):
    parent: int = 0  # the test's pid: the graph's build configures at once, the worker's configure() takes load_s
    load_s: float = 1.5


class SlowStart(Node):
    """Passes its input on; configured in a worker process it takes `load_s` (a model's weights loading)."""

    Params = SlowStartParams

    def configure(self, in_specs):
        if os.getpid() != self.params.parent:
            threading.Event().wait(self.params.load_s)  # the load itself, not a wait for the test
        return super().configure(in_specs)

    def process(self, inputs):
        return {"out": inputs["in"]}


@pytest.mark.usefixtures("shm_dir")
def test_a_duration_run_of_a_stream_that_appeared_while_the_graph_waited_records_no_more_than_the_duration(
    tmp_path, monkeypatch
):
    """`wavegraph run --duration N` of an EEG stream that appeared while the graph waited for it: its worker opens the
    data stream at once (not to lose its start) and the rest of the graph took 1.5 s more to start (a model loading),
    but the duration counts from the graph's start, so those 1.5 s came on top: --duration 1 recorded 2.4-2.6 s (and
    --duration 2 of the CLI 3.5 s). The inlet ends after the run's duration of its stream now: 1 s, contiguous."""
    from wavegraph.pipeline.api import GraphBuilder

    name, waiting = uname("dur"), threading.Event()
    found = lsl.resolve

    def resolve(*a, **k):  # the graph's build waits for the stream: the amplifier app starts now
        waiting.set()
        return found(*a, **k)

    monkeypatch.setattr(lsl, "resolve", resolve)
    pump = Pump(name)
    starter = threading.Thread(target=lambda: waiting.wait(30.0) and pump.start(), daemon=True)
    starter.start()
    rec = tmp_path / "eeg.npz"
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n"
        f"  - {{id: src, type: lsl_inlet, params: {{name: {name}, resolve_timeout: 20.0}}}}\n"
        f"  - {{id: slow, type: '{__name__}:SlowStart', params: {{parent: {os.getpid()}, load_s: 1.5}}}}\n"
        f"  - {{id: rec, type: recorder, params: {{path: '{rec}'}}}}\n"
        "edges:\n  - {source: src.out, target: slow.in}\n  - {source: slow.out, target: rec.in}\n"
        "processes:\n  acq: [src]\n  work: [slow, rec]\n"
    )
    try:
        GraphBuilder.from_yaml(graph).run(in_process=False, duration=1.0)
    finally:
        starter.join(5.0)
        pump.stop()
    x = np.load(rec)["data"][0]
    assert 0.9 * RATE <= len(x) <= 1.0 * RATE, f"{len(x) / RATE:.2f} s recorded for a 1 s run"
    assert (np.diff(x) == 1).all()  # the stream's samples, one after the other (its start kept, its end cut)


def test_markers_that_are_not_utf8_are_read_counted_and_said_once(caplog):
    """pylsl gives a string stream's values as the bytes sent; a stimulus program in the Windows code page sends
    'été' as b'\\xe9t\\xe9', not UTF-8. Before: no crash, but such markers were dropped as unknown, said as '\\ufffdt\\ufffd'
    with the fix 'give it a code with marker_codes' (which no key could match; 'été' was given one), and nothing said
    the encoding. Now each is read with U+FFFD for the bad bytes and looked up also as Windows-1252 text (kept: 'été'
    takes its code), counted invalid_utf8 and said once; one still unknown is said as the text to give a code."""
    from wavegraph.nodes.io.lsl_markers import marker_values

    name = uname("utf8")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, pylsl.cf_string, name))
    node = LslInlet(name=name, resolve_timeout=3.0, marker_codes={"été": 5, "go": 1})
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    sent = [b"\xe9t\xe9", b"go", b"\xff\xfe", b"7", "été".encode(), b"go\xc3"]
    with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
        for m in sent:
            out.push_sample([m])
        rows = np.concatenate([c.data for c in read_until(node, 4)])
        node.read()  # (nothing more: the two unknown came with them)
    node.close()
    assert rows[:, 2].tolist() == [5.0, 1.0, 7.0, 5.0]
    assert node.counters["invalid_utf8"] == 3 and node.counters["unknown_marker"] == 2
    said = [r.getMessage() for r in caplog.records if "not valid UTF-8" in r.getMessage()]
    assert len(said) == 1 and "b'\\xe9t\\xe9'" in said[0] and "'été'" in said[0], said
    unknown = " ".join(r.getMessage() for r in caplog.records if "has no code" in r.getMessage())
    assert "'ÿþ'" in unknown and "'goÃ'" in unknown  # the texts that marker_codes would take
    # a sample of several channels: joined as marker_text joins them, its Windows-1252 text beside
    values, alts, first = marker_values(np.array([[b"cue", b"l\xe9ft"], [b"cue", b"right"]], dtype=object))
    assert values == ["cue/l\ufffdft", "cue/right"] and alts == ["cue/léft", None] and first == b"l\xe9ft"


def test_a_restarted_outlets_first_samples_lost_before_the_reconnect_are_counted_and_said(caplog):
    """`recover: true` and the amplifier app restarted (same source_id): liblsl reconnects once it finds the new
    outlet, and LSL gives an inlet nothing sent before it connects, so the new outlet's first samples are lost.
    Measured here: the first sample received after the restart is the new outlet's L-th (L about 230 at 250 Hz, 0.9
    s). Before, only the gap was said ('samples lost on the way, dropped from liblsl's full buffer, or the amplifier
    paused'), the L samples of the running stream not at all; now they are counted restart_lost and said, once."""
    name = uname("restart")
    pump = Pump(name)
    pump.start()
    node = LslInlet(name=name, resolve_timeout=3.0, recover=True, idle_timeout=10.0)
    node.configure({})
    node.open()
    after = []
    try:
        assert sum(c.data.shape[1] for c in read_until(node, 100)) >= 100
        with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
            pump.restart()
            end = time.monotonic() + 15.0  # (a bound: each read waits up to `wait` for data)
            while time.monotonic() < end and not (after and "restart_lost" in node.counters):  # the gap's chunk,
                if (r := node.read()) is None:  # then its loss said (the watch sees the new outlet within 5 s)
                    break
                after += [r["out"]] if r and r["out"].gap else []
    finally:
        pump.stop()
        node.close()
    assert after, "no gap after the outlet restarted"
    lost = int(after[0].data[0, 0])  # the new outlet's index of the first sample received from it
    assert lost > 0  # the restart gap, in samples of the running stream
    assert abs(node.counters.get("restart_lost", 0) - lost) <= 2, (node.counters, lost)
    said = [r.getMessage() for r in caplog.records if "restart_lost" in r.getMessage()]
    assert len(said) == 1 and "came back (its outlet restarted" in said[0], said


def test_the_start_a_worker_kept_of_a_stream_that_appeared_while_the_graph_waited_is_no_backlog_said(
    monkeypatch, caplog
):
    """A stream that appeared while the graph waited is received from its worker's configure() (its start kept) and
    what came before the graph started waits in liblsl's buffer. Before: the first read said `behind`, '3.1 s of
    stream ... wait to be read (the graph reads slower than real time: a slow node or a loaded machine...)', at the
    start of every such session whose other process took a few seconds to start (a model loading). That backlog is
    the stream's start, read at once: not said now. (The worker here is this process, its parent's pid its own.)"""
    from wavegraph.nodes.io import lsl_start

    name, outs = uname("kept"), []
    found = lsl.resolve

    def resolve(*a, **k):  # the build waits for the stream: the amplifier app starts now
        if not outs:
            outs.append(pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, RATE, pylsl.cf_float32, name)))
        return found(*a, **k)

    monkeypatch.setattr(lsl, "resolve", resolve)
    LslInlet(name=name, resolve_timeout=3.0).configure({})  # the graph's build (the parent process)
    monkeypatch.setattr(lsl_start.os, "getppid", os.getpid)  # this process is the worker it starts
    node = LslInlet(name=name, resolve_timeout=3.0, units="uV")
    node.configure({})  # pinned to the stream the build found, which appeared meanwhile: receives at once
    idx = np.arange(int(3 * RATE))
    outs[0].push_chunk(idx.astype(np.float32)[:, None], [float(t) for t in pylsl.local_clock() - 3.0 + idx / RATE])
    inlet, end = node._inlet, time.monotonic() + 5.0
    while inlet is not None and inlet.samples_available() < len(idx) and time.monotonic() < end:
        threading.Event().wait(0.01)  # until liblsl holds the 3 s sent before the graph started
    with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
        node.open()
        got = sum(c.data.shape[1] for c in read_until(node, len(idx)))
    node.close()
    assert got == len(idx)  # the start, all of it
    assert "behind" not in node.counters, [r.getMessage() for r in caplog.records]


def test_a_marker_stream_received_from_before_the_start_ends_after_the_run_duration(monkeypatch):
    """The markers beside such an EEG stream (both appeared while the graph waited; the worker receives them from its
    configure()): in a run of a set length they end as the EEG does, after the run's duration from the data stream's
    opening. Before: a marker stamped after it was recorded, the markers running past the EEG's end."""
    from wavegraph.nodes.io import lsl_start
    from wavegraph.pipeline import result

    name, outs = uname("mark"), []
    found = lsl.resolve

    def resolve(*a, **k):  # the build waits for the stream: the stimulus program starts now
        if not outs:
            outs.append(pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, pylsl.cf_string, name)))
        return found(*a, **k)

    monkeypatch.setattr(lsl, "resolve", resolve)
    LslInlet(name=name, resolve_timeout=3.0).configure({})  # the graph's build (the parent process)
    monkeypatch.setattr(lsl_start.os, "getppid", os.getpid)  # this process is the worker it starts
    monkeypatch.setattr(result, "_run_duration", 2.0)  # the worker's plan's, for `wavegraph run --duration 2`
    node = LslInlet(name=name, resolve_timeout=3.0)
    node.configure({})  # pinned, appeared meanwhile: receives at once
    assert node._opened is not None
    node.open()
    assert outs[0].wait_for_consumers(5.0)
    for code, after_s in ((1, 0.5), (2, 1.9), (3, 2.1), (4, 3.0)):  # stamped that long after the stream was opened
        outs[0].push_sample([str(code)], node._opened + after_s)
    chunks = read_until(node, 4, limit_s=3.0)
    assert node.read() is None  # ended
    node.close()
    assert np.concatenate([c.data for c in chunks])[:, 2].tolist() == [1.0, 2.0]
