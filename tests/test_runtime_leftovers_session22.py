"""Leftovers of the runtime (session 22), each as a user meets it: a node that never returns in a run in one process
with a duration (the run waited for ever), a node of one's own whose chunk times go back (passed on without a word),
and a model checkpoint saved in float64 (or float16, bfloat16) that checkpoint.load gave back as float32."""

import logging
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
from wavegraph.pipeline import stuck
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node, NodeParams, Source
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import StreamSpec

RELEASE = threading.Event()  # what a stuck node waits on: set only by a test (or its safety net, when the run hangs)


class StuckParams(NodeParams):
    mode: str = "wait"  # wait: an Event never set; deaf: the same with the stop signals blocked (as C code may)
    at: int = 3  # the call of process() (0-based) that does not return


class Stuck(Node):
    """Passes its input on; its `at`-th call waits on RELEASE, without a timeout."""

    Params = StuckParams

    def configure(self, in_specs):
        self.calls = 0
        return super().configure(in_specs)

    def process(self, inputs):
        self.calls += 1
        if self.calls - 1 == self.params.at:
            deaf = {signal.SIGINT, signal.SIGTERM} if self.params.mode == "deaf" else set()
            old = signal.pthread_sigmask(signal.SIG_BLOCK, deaf)
            try:
                RELEASE.wait()  # stuck here
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return {"out": inputs["in"]}


_LINES = Path(__file__).read_text().splitlines()
WAITS_AT = f"{__file__}:{next(i for i, line in enumerate(_LINES, 1) if line.endswith('# stuck here'))}"
STUCK = """\
nodes:
  - {id: src, type: sine, params: {rate: 100.0, channels: 2, chunk_size: 10}}
  - {id: bad, type: test_runtime_leftovers_session22:Stuck, params: {mode: MODE}}
  - {id: rec, type: recorder, params: {path: OUT}}
edges:
  - {source: src.out, target: bad.in}
  - {source: bad.out, target: rec.in}
"""


class Said(logging.Handler):
    """The runner's warnings; sets RELEASE once one says `release_on`."""

    def __init__(self, release_on: str):
        super().__init__()
        self.release_on, self.said = release_on, []

    def emit(self, record):
        self.said.append(record.getMessage())
        if self.release_on and self.release_on in self.said[-1]:
            RELEASE.set()


@pytest.fixture
def stuck_run(tmp_path, monkeypatch):
    """(run(mode, in_thread) -> (RunResult, the runner's warnings)): a 0.2 s run in one process whose node 'bad' does
    not return from its 4th call; the grace is 0.2 s. A safety net (10 s: a run that hangs) releases the node, so a
    run that is not ended fails its asserts instead of hanging the tests."""
    monkeypatch.setattr(stuck, "GRACE_S", 0.2, raising=False)
    RELEASE.clear()
    done = threading.Event()

    def safety():
        if not done.wait(10.0):
            RELEASE.set()

    def run(mode: str, release_on: str = "", in_thread: bool = False):
        p = tmp_path / "g.yaml"
        p.write_text(STUCK.replace("MODE", mode).replace("OUT", str(tmp_path / "out.npz")))
        g = build_graph(load_config(p))
        said = Said(release_on)
        logging.getLogger("wavegraph.runner").addHandler(said)
        threading.Thread(target=safety, daemon=True).start()
        try:
            if not in_thread:
                return run_graph(g, in_process=True, duration=0.2), said.said
            out = []
            t = threading.Thread(target=lambda: out.append(run_graph(g, in_process=True, duration=0.2)))
            t.start()
            t.join()
            return out[0], said.said
        finally:
            done.set()
            logging.getLogger("wavegraph.runner").removeHandler(said)

    yield run
    RELEASE.set()


def test_a_node_that_never_returns_in_a_run_in_one_process_with_a_duration_is_stopped_naming_it(stuck_run):
    """`wavegraph run --in-process --duration 2` (run_graph(in_process=True, duration=2)) with a node waiting for ever
    in process() (an Event never set, a read without a timeout) never ended: the duration only asked for a stop, which
    sets a flag, and the run waited on the node; it took three Ctrl-C. Now, a grace after the duration, the node is
    named with the line it waits at and interrupted: it fails, the run ends, the recorder's file is complete."""
    r, said = stuck_run("wait")
    assert said == [
        "node 'bad' did not return from its call: the run's duration (0.2 s) ran out over 0.2 s ago; it waits at "
        f"{WAITS_AT} in process: interrupting it"
    ]
    assert r.exit_code == 1 and r.failure is not None, r
    assert r.failure.startswith("node 'bad' (test_runtime_leftovers_session22:Stuck) in process 'main' failed:")
    assert "NodeStuck: the run's duration (0.2 s) ran out, and 0.2 s later node 'bad' was still in its call" in (
        r.failure
    )
    assert f'File "{__file__}"' in r.failure and "RELEASE.wait()  # stuck here" in r.failure
    assert "fix: this node did not return from its call after the run was asked to stop" in r.failure
    assert r.stats["rec"]["chunks_in"] == 3 and r.stats["rec"]["counters"]["samples"] == 30


@pytest.mark.parametrize("in_thread", [False, True], ids=["deaf-to-signals", "run-in-a-thread"])
def test_a_stuck_node_that_cannot_be_interrupted_is_said_with_the_fix(stuck_run, in_thread):
    """A node deaf to signals (C code that blocks them), or a run outside the main thread (which alone takes signals),
    cannot be stopped in one process: the run waited without a word. It now says so, naming the node, its line, the
    process to kill and the fix; here the node is then let go (as the user's kill would end it)."""
    r, said = stuck_run("wait" if in_thread else "deaf", release_on="the run waits on it", in_thread=in_thread)
    head = f"node 'bad' did not return from its call: the run's duration (0.2 s) ran out over 0.2 s ago; it waits at {WAITS_AT} in process"
    why = (
        "cannot be interrupted: the run is not in the main thread, which alone takes signals"
        if in_thread
        else "does not take the interruption (C code that blocks signals, or one that catches KeyboardInterrupt)"
    )
    assert said[-1] == (
        f"{head} and {why}; the run waits on it; fix: end it with kill -9 {os.getpid()} (a recording is then recovered: "
        "wavegraph recover PATH), give its waits a timeout, or put the node in a process of "
        "its own (processes:), which the run kills after 0.2 s"
    )
    assert said[:-1] == ([] if in_thread else [f"{head}: interrupting it"])
    if in_thread:  # let go, the node returned: the run ended as a stop by its duration does
        assert r.exit_code == 0 and r.failure is None, r.failure
    else:  # the interruption waited for the signals to be unblocked
        assert r.exit_code == 1 and r.failure is not None and "node 'bad' was still in its call" in r.failure


class BendParams(NodeParams):
    mode: str = "back"  # back: one chunk 1 s back; repeat: the chunk before's t0 again; back-gap: back, flagged gap
    at: int = 3  # the call (0-based) whose chunk is mistimed


class Bend(Node):
    """Passes its input on, one chunk's time wrong as told (a node of one's own that computes its t0 badly)."""

    Params = BendParams

    def configure(self, in_specs):
        self.calls, self.t_before = 0, 0.0
        return super().configure(in_specs)

    def process(self, inputs):
        c, p = inputs["in"], self.params
        self.calls += 1
        t0 = c.t0
        if self.calls - 1 == p.at:
            t0 = self.t_before if p.mode == "repeat" else c.t0 - 1.0
        self.t_before = c.t0
        return {"out": Chunk(c.data, t0, gap=p.mode == "back-gap" and self.calls - 1 == p.at)}


class BackSource(Source):
    """A source of one's own: ten chunks of 10 samples at 100 Hz, the 4th stamped 0.1 s (back from 0.3 s)."""

    Params = NodeParams

    def configure(self, in_specs):
        self.i = 0
        self.out_specs = {"out": StreamSpec("signal", 100.0, (2,))}
        return self.out_specs

    def read(self):
        self.i += 1
        return None if self.i > 10 else {"out": Chunk(np.zeros((2, 10)), 0.1 if self.i == 4 else (self.i - 1) / 10)}


BENT = """\
nodes:
  - {id: src, type: SOURCE, params: {rate: 100.0, channels: 2, chunk_size: 10, duration: 1.0}}
  - {id: bad, type: test_runtime_leftovers_session22:Bend, params: {mode: MODE}}
  - {id: rec, type: recorder, params: {path: OUT, chunk_log: true}}
edges:
  - {source: src.out, target: bad.in}
  - {source: bad.out, target: rec.in}
"""


def bent(tmp_path, mode: str, processes: str = "", source: str = "sine"):
    p = tmp_path / "g.yaml"
    text = BENT.replace("SOURCE", source).replace("MODE", mode).replace("OUT", str(tmp_path / "out.npz"))
    if source != "sine":
        text = text.replace("params: {rate: 100.0, channels: 2, chunk_size: 10, duration: 1.0}", "params: {}")
    p.write_text(text + processes)
    return build_graph(load_config(p))


WENT_BACK = (
    "the nodes downstream (a recorder, epochs, join) place samples by it; fix: give each chunk the time of its first "
    "sample as t0 (the chunk before's t0 plus its samples / rate; pass the input's on: Chunk(data, chunk.t0) or "
    "chunk.with_data(data)), or flag gap=True on a chunk where the stream really starts again earlier (a device that "
    "restarted)"
)


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "across-processes"])
@pytest.mark.parametrize("mode", ["back", "repeat"])
def test_a_node_whose_chunk_times_go_back_fails_naming_it_the_port_and_both_times(tmp_path, mode, in_process):
    """A node of one's own returning a chunk at t0 0.3 - 1 s (or 0.2 s again) after one at 0.2 s: passed on, exit 0,
    and the recorder logged it as is (a recording whose time goes back; epochs and join restamp it forward: the wrong
    samples). Such a chunk now fails the node: its class, the port, both times and the fix."""
    g = bent(tmp_path, mode, "" if in_process else "processes: {a: [src], b: [bad], c: [rec]}")
    r = run_graph(g, in_process=in_process)
    assert r.exit_code == 1 and r.failure is not None, r
    t0, what = ("-0.7", "went back") if mode == "back" else ("0.2", "did not move on (the same t0 twice)")
    assert r.failure == (
        f"node 'bad' (test_runtime_leftovers_session22:Bend) in process '{'main' if in_process else 'b'}' failed:\n"
        f"Bend.process() (or finish()) returned a chunk on 'out' at t0={t0} s after one at t0=0.2 s: the stream's time "
        f"{what}, and {WENT_BACK}"
    )
    assert r.stats["rec"]["chunks_in"] == 3  # what came before it


def test_a_source_of_ones_own_whose_chunk_times_go_back_is_passed_on_counted_and_said(tmp_path, caplog):
    """A source's read() is checked as a node's process(): 0.1 s after 0.2 s. A source's times are a device's clock or
    a file's as often as its own count, and a live session must not end on a timestamp that jittered back (review,
    session 22): passed on, counted and said once with both fixes, the run goes on to its end."""
    with caplog.at_level(logging.WARNING, logger="wavegraph.executor"):
        r = run_graph(bent(tmp_path, "none", source="test_runtime_leftovers_session22:BackSource"), in_process=True)
    assert r.exit_code == 0 and r.failure is None, r.failure
    assert r.stats["src"]["counters"]["t0_back"] == 1 and r.stats["rec"]["chunks_in"] == 10
    said = [m for m in caplog.messages if "times went back" in m and m.startswith("node 'src'")]
    assert len(said) == 1 and said[0].startswith(
        "node 'src' (BackSource): a chunk on 'out' at t0=0.1 s came after one at t0=0.2 s: the stream's times went back"
    )
    assert r.stats["bad"]["counters"]["t0_back"] == 1  # the user's node downstream passed its input's time on
    assert "when read() stamps its chunks itself, give each the time of its first sample" in said[0]


def test_a_chunk_flagged_gap_may_go_back(tmp_path):
    """A chunk flagged gap is a new start (a device that restarted, a replay): it may go back, and is recorded so."""
    r = run_graph(bent(tmp_path, "back-gap"), in_process=True)
    assert r.exit_code == 0 and r.failure is None, r.failure
    assert r.stats["rec"]["chunks_in"] == 10 and r.stats["rec"]["gaps"] == 1
    lines = (tmp_path / "out.npz.chunks.csv").read_text().splitlines()
    assert [line.split(",")[1:] for line in lines[3:6]] == [["0.2", "10", "0"], ["-0.7", "10", "1"], ["0.4", "10", "0"]]


def test_a_csv_whose_time_column_jitters_back_replays_whole_counted_and_said_once(tmp_path, caplog):
    """A CSV recorded from a live stream: its `t` column jitters (1.5 ms at 250 Hz), so chunks of one sample start
    before the one before them now and then. The time-order check for users' nodes failed file_source on it (exit 1,
    'fix: give each chunk the time of its first sample', advice for code the user did not write), where the run had
    replayed it whole. The project's own nodes take their times from the data: such chunks are passed on, counted
    and said once."""
    rng = np.random.default_rng(0)
    t = np.arange(400) / 250 + rng.normal(0, 0.0015, 400)
    x = rng.normal(size=(400, 2))
    csv = tmp_path / "jitter.csv"
    csv.write_text("t,C3,C4\n" + "".join(f"{a:.6f},{b:.6f},{c:.6f}\n" for a, (b, c) in zip(t, x)))
    back = int(np.sum(np.diff(t) <= 0))
    assert back > 0  # the data does jitter back
    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        f"  - {{id: src, type: file_source, params: {{path: {csv}, chunk_size: 1}}}}\n"
        f"  - {{id: rec, type: recorder, params: {{path: {tmp_path / 'out.npz'}}}}}\n"
        "edges:\n  - {source: src.out, target: rec.in}\n"
    )
    g = build_graph(load_config(tmp_path / "g.yaml"))
    with caplog.at_level(logging.WARNING, logger="wavegraph.executor"):
        r = run_graph(g, in_process=True)
    assert r.exit_code == 0 and r.failure is None, r.failure
    assert r.stats["src"]["counters"]["t0_back_out"] == back
    said = [m for m in caplog.messages if "times went back" in m]
    assert len(said) == 1 and said[0].startswith("node 'src' (FileSource): a chunk on 'out' at t0=")
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["data"], x.T, atol=1e-6)


@pytest.fixture
def gla(one_torch_thread):
    """A fresh tiny GLA stack (float32): torch is imported here, not by the module (worker processes import it)."""
    import torch
    from wavegraph.models.gla import GLAConfig, GLAStack

    torch.manual_seed(0)
    return GLAStack(GLAConfig(d_model=16, n_layers=2, d_in=8, n_heads=2, gate_low_rank=4)).eval()


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_a_checkpoint_saved_in_another_dtype_loads_in_that_dtype(tmp_path, gla, dtype):
    """checkpoint.load built the model in float32 and copied the weights into it: a model saved in float64 came back
    float32 (its values rounded), one saved in float16 or bfloat16 came back twice the size, without a word. The
    weights now come back in the dtype they were saved in, value for value."""
    import torch
    from wavegraph.models import checkpoint

    model = gla.to(getattr(torch, dtype))
    checkpoint.save(model, tmp_path / "m.safetensors")
    loaded = checkpoint.load(tmp_path / "m.safetensors")
    want, got = model.state_dict(), loaded.state_dict()
    assert {k: v.dtype for k, v in got.items()} == {k: v.dtype for k, v in want.items()}
    assert all(torch.equal(got[k], want[k]) for k in want)
    if dtype == "float64":  # the same model: the same output, to the bit
        x = torch.randn(1, 12, 8, dtype=torch.float64)
        with torch.no_grad():
            assert torch.equal(loaded(x), model(x))


def test_a_checkpoint_of_mixed_dtypes_keeps_each_tensors_dtype(tmp_path, gla):
    """A half model whose first weight was kept in float32 (as a norm may be) is saved with both dtypes: each comes
    back in its own."""
    import torch
    from wavegraph.models import checkpoint

    model = gla.half()
    first = next(iter(model.parameters()))
    first.data = first.data.float()
    checkpoint.save(model, tmp_path / "m.safetensors")
    got = checkpoint.load(tmp_path / "m.safetensors").state_dict()
    want = model.state_dict()
    assert {k: v.dtype for k, v in got.items()} == {k: v.dtype for k, v in want.items()}
    assert {v.dtype for v in got.values() if v.is_floating_point()} == {torch.float16, torch.float32}
    assert all(torch.equal(got[k], want[k]) for k in want)


def test_load_takes_an_explicit_dtype(tmp_path, gla):
    """load(path, dtype=torch.float32) casts a float64 checkpoint; a dtype that is not a floating torch dtype is said
    so, with what to give."""
    import torch
    from wavegraph.models import checkpoint

    model = gla.double()
    checkpoint.save(model, tmp_path / "m.safetensors")
    got = checkpoint.load(tmp_path / "m.safetensors", dtype=torch.float32).state_dict()
    assert {v.dtype for v in got.values() if v.is_floating_point()} == {torch.float32}
    assert all(torch.equal(got[k], v.float()) for k, v in model.state_dict().items())
    for bad in ("float32", torch.int64):
        with pytest.raises(checkpoint.CheckpointError) as e:
            checkpoint.load(tmp_path / "m.safetensors", dtype=bad)
        assert str(e.value) == (
            f"dtype must be a floating torch dtype (torch.float32, ...) or None (as saved), got {bad!r}"
        )
