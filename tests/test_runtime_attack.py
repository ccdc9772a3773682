"""The multi-process runtime under faults and misuse, as a user of ezmsg, LabGraph or Timeflux would meet them:
a node that raises, blocks or is killed inside a worker, process groups written oddly."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.runner import run_graph


class FaultParams(NodeParams):
    at: int = 3  # the call of process() (0-based) that misbehaves
    mode: str = (
        "none"  # sigkill: kill -9 (OOM); block: process() never returns; big: 16 MiB out; close: close() has a bug;
        # slow-close: close() takes close_s (a recorder finalising some GB)
    )
    close_s: float = 1.0  # how long close() takes in mode slow-close
    configure_in_worker: bool = False  # configure() raises, in a worker process only (the parent's build passes)


class Fault(Node):
    """Passes its input on, and misbehaves as told."""

    Params = FaultParams

    def configure(self, in_specs):
        self.calls = 0
        if self.params.configure_in_worker and "pipeline.worker" in open("/proc/self/cmdline").read():
            raise RuntimeError("the device is gone")  # the line the failure names
        return super().configure(in_specs)

    def process(self, inputs):
        self.calls += 1
        if self.calls - 1 == self.params.at:
            if self.params.mode == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.params.mode == "exit":
                sys.exit(0)
            if self.params.mode == "interrupt":
                raise KeyboardInterrupt
            if self.params.mode == "in-place":
                inputs["in"].data[:] *= 2  # works on its own array in one process (and changes what others got)
            if self.params.mode == "big":  # the whole recording at once, as an offline-minded node may send it
                return {"out": inputs["in"].with_data(np.zeros((2, 2**20 + 1)))}
            if self.params.mode == "block":
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # deaf, as C code can be
                while True:
                    signal.sigtimedwait({signal.SIGUSR2}, 3600)
        return {"out": inputs["in"]}

    def close(self):
        if self.params.mode == "close" and self.calls:  # not the parent's build-only copy
            self.writer.flush()  # a bug: writer was never set
        if self.params.mode == "slow-close" and self.calls:  # finalising a long recording takes a while
            time.sleep(self.params.close_s)
            with open(os.environ["WG_TEST_CLOSED"], "w") as f:
                f.write("closed")


GRAPH = """\
nodes:
  - {id: src, type: fixture_nodes:Ramp, params: {rate: 1000.0, chunk_size: 10, n_samples: N}}
  - {id: bad, type: test_runtime_attack:Fault, params: PARAMS}
  - {id: rec, type: recorder, params: {path: OUT, chunk_log: true}}
edges:
  - {source: src.out, target: bad.in}
  - {source: bad.out, target: rec.in}
PROCESSES
"""


def graph(tmp_path, params="{}", n=200, processes="processes: {a: [src], b: [bad], c: [rec]}"):
    p = tmp_path / "g.yaml"
    text = GRAPH.replace("N", str(n)).replace("PARAMS", params).replace("OUT", str(tmp_path / "out.npz"))
    p.write_text(text.replace("PROCESSES", processes))
    return p


@pytest.mark.parametrize("name", ['""', "'  '"])
def test_a_process_group_without_a_name_is_refused_not_a_run_that_hangs(tmp_path, name):
    """`"": [src]` validated, and its worker's control thread died on ZeroMQ's 'Invalid argument' (an empty socket
    identity): the parent waited for it at the start barrier for ever."""
    p = graph(tmp_path, processes=f"processes: {{{name}: [src], b: [bad]}}")
    with pytest.raises(GraphError) as e:
        build_graph(load_config(p))
    what = "empty" if name == '""' else "only blanks ('  ')"
    assert e.value.lines() == [f"{p}:8: a process group's name is {what}; fix: give it a name: dsp: [...]"]


def test_a_worker_killed_mid_run_is_named_with_its_signal_and_its_nodes(tmp_path):
    """kill -9 of a worker (or the OOM killer) said only "process 'b' exited with code -9 without reporting": not
    that it was killed, nor by what, nor which nodes, whose rows of the summary are empty."""
    r = run_graph(build_graph(load_config(graph(tmp_path, "{mode: sigkill, at: 5}", n=400))))
    assert r.exit_code == 1 and r.failure is not None
    assert r.failure == (
        "process 'b' exited with code -9 without reporting: killed by SIGKILL (kill -9, or the kernel's "
        "out-of-memory killer: see `dmesg | grep -i oom`); its node: bad"
    )
    assert r.stats["bad"].get("missing") and not r.stats["rec"].get("missing")
    # The recorder's input ended with what had come (before, it waited for an end-of-stream until the abort, 2 s on)
    assert r.stats["rec"]["chunks_in"] == 5
    data = np.load(tmp_path / "out.npz")["data"]  # what 'bad' passed on before it was killed, whole
    np.testing.assert_array_equal(data[0], np.arange(50.0))


def test_a_node_that_never_returns_is_killed_at_the_abort_and_named(tmp_path, monkeypatch, caplog):
    """A node stuck in process() (deaf to signals, as in C code) kept its process from stopping: Ctrl-C ended the
    run 5.1 s later (drain 2 s, abort grace 1.5 s, then another 1.5 s in _kill_stragglers) and nothing said which
    process was killed, nor that its nodes were never closed. Now it is killed at the end of the abort's grace,
    named with its node."""
    from wavegraph.pipeline import multiprocess

    monkeypatch.setattr(multiprocess, "DRAIN_S", 0.2)
    monkeypatch.setattr(multiprocess, "STOP_GRACE_S", 0.3)
    g = build_graph(load_config(graph(tmp_path, "{mode: block, at: 3}", n=100_000)))
    with caplog.at_level("WARNING", logger="wavegraph.multiprocess"):
        r = run_graph(g, speed=1.0, duration=0.2)  # stops as Ctrl-C does, 0.2 s after the start
    said = [rec.getMessage() for rec in caplog.records if "was killed" in rec.getMessage()]
    assert len(said) == 1 and said[0].startswith("process 'b' did not stop ")
    assert said[0].endswith(
        "s after the stop and was killed: its node 'bad' did not return (a read or wait without a timeout, a "
        "deadlock?), and was not closed"
    )
    assert r.stats["bad"].get("missing") and not r.stats["rec"].get("missing")
    data = np.load(tmp_path / "out.npz")["data"]  # the recorder (another process) closed its file: what came, whole
    np.testing.assert_array_equal(data[0], np.arange(30.0))


def test_a_node_whose_configure_fails_only_in_its_worker_is_said_with_its_own_line(tmp_path):
    """configure() passes in the parent's build and raises in the worker (a device gone, a file the worker cannot
    open): the failure printed the worker's traceback (worker.py, graph.py), not where the node raised."""
    r = run_graph(build_graph(load_config(graph(tmp_path, "{configure_in_worker: true}"))))
    assert r.exit_code == 1 and r.failure is not None
    raised = next(i for i, line in enumerate(open(__file__), 1) if 'RuntimeError("the device is gone")' in line)
    lines = r.failure.split("\n")
    assert lines[0] == (
        f"process 'b' failed: {tmp_path}/g.yaml:3: node 'bad' (test_runtime_attack:Fault): configure() failed: "
        "RuntimeError: the device is gone; fix: check its params and inputs; if they are right, this is a bug in the node"
    )
    assert lines[1] == f'  File "{__file__}", line {raised}, in configure'
    assert lines[-1] == "RuntimeError: the device is gone" and "worker.py" not in r.failure


@pytest.mark.parametrize("transport", ["auto", "ipc"])
def test_a_chunk_larger_than_an_edge_between_processes_takes_fails_the_run_naming_its_node(tmp_path, transport):
    """A chunk over 2**20 samples (16 MiB here) was dropped by its receiver: over shm with one warning, over ipc or
    tcp by libzmq without a word (ZMQ_MAXMSGSIZE); the run ended with exit 0 and the data lost (in one process it
    is recorded)."""
    p = graph(tmp_path, "{mode: big, at: 3}")
    p.write_text(f"transport: {transport}\n" + p.read_text())
    r = run_graph(build_graph(load_config(p)))
    assert r.exit_code == 1 and r.failure == (
        "node 'bad' (test_runtime_attack:Fault) in process 'b' failed:\nit sent a chunk of 16,777,232 bytes (shape "
        "(2, 1048577)) on bad.out -> rec.in, more than an edge between processes takes: 16,777,216 bytes (1,048,576 "
        "samples or 10 minutes of this stream, at most 256 MiB); fix: send it in smaller chunks, or place 'bad' and "
        "'rec' in one process"
    )
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["data"][0], np.arange(30.0))  # what came before


def test_workers_whose_parent_is_killed_drain_without_it(tmp_path, shm_dir):
    """After kill -9 of the parent, each worker held the end-of-stream on its inputs for the parent's confirmation,
    which never came: the graph was aborted 2 s later (ORPHAN_DRAIN_S), then each waited 2 s more for the control
    socket's linger and for a Release that would not come either: 4.2 s in all, now 0.3 s, drained."""
    p = graph(tmp_path, n=100_000, processes="transport: shm\nprocesses: {a: [src], b: [bad], c: [rec]}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(p), "--speed", "1", "--log-level", "DEBUG"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    log = tmp_path / "out.npz.chunks.csv"
    deadline = time.monotonic() + 60
    while (not log.exists() or log.read_text().count("\n") < 10) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    try:
        _, err = proc.communicate(timeout=30)  # to the end: the workers hold its stderr until they exit
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a safety net: the workers are in its session
    said = [line.split("wavegraph.worker: ", 1)[1] for line in err.splitlines() if "; closing the nodes" in line]
    assert sorted(said) == [f"process '{g}': the graph has drained; closing the nodes" for g in "abc"], err[-3000:]
    data = np.load(tmp_path / "out.npz")["data"]
    assert data.shape[1] >= 100 and np.array_equal(data[0], np.arange(data.shape[1]))  # whole, up to where it stopped
    assert not os.listdir(shm_dir)


@pytest.mark.parametrize("transport", ["shm", "ipc"])
def test_drop_oldest_behind_a_slow_consumer_counts_every_lost_chunk_in_drops(tmp_path, transport):
    """drop_oldest drops at both ends of an edge: in the receiver's queue (its node's `drops`) and at the sender when
    the pipe is full, which was only a counter (tx_dropped_full): over ipc the summary said 8 drops of 296 lost."""
    p = tmp_path / "q.yaml"
    p.write_text(
        f"""\
transport: {transport}
nodes:
  - {{id: src, type: fixture_nodes:Ramp, params: {{rate: 1000.0, chunk_size: 10, n_samples: 3000}}}}
  - {{id: acc, type: fixture_nodes:CumSum, params: {{delay_s: 0.002}}}}
edges:
  - {{source: src.out, target: acc.in, queue: 4, policy: drop_oldest}}
processes: {{a: [src], b: [acc]}}
"""
    )
    r = run_graph(build_graph(load_config(p)))
    assert r.exit_code == 0, r.failure
    src, acc = r.stats["src"], r.stats["acc"]
    dropped_full = src["counters"].get("tx_dropped_full", 0)
    assert src["drops"] == dropped_full
    if transport == "ipc":  # ZeroMQ's pipe fills behind the slow consumer; shm's ring (queue + 4 slots) did not in
        assert dropped_full > 0  # 1 run of 5 here (its drops were all in the receiver's queue, counted below)
    assert src["drops"] + acc["drops"] + acc["chunks_in"] == src["chunks_out"] == 300


def test_a_node_whose_close_raises_is_named_with_what_and_where(tmp_path):
    """close() raising said only "process 'b': errors while closing nodes: bad: 'Fault' object has no attribute
    'writer'": neither the exception's type nor the line, for a bug in a node of one's own."""
    r = run_graph(build_graph(load_config(graph(tmp_path, "{mode: close}"))))
    line = next(i for i, text in enumerate(open(__file__), 1) if "self.writer.flush()  # a bug" in text)
    assert r.exit_code == 1 and r.failure == (
        "process 'b': errors while closing nodes: bad: 'Fault' object has no attribute 'writer' "
        f"(AttributeError at {__file__}:{line} in close)"
    )
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["data"][0], np.arange(200.0))  # all of it


@pytest.mark.parametrize(
    "mode, in_process, said",
    [
        ("exit", True, "node 'bad' (test_runtime_attack:Fault) in process 'main' failed:"),
        ("exit", False, "node 'bad' (test_runtime_attack:Fault) in process 'b' failed:"),
        ("interrupt", False, "node 'bad' (test_runtime_attack:Fault) in process 'b' failed:"),
    ],
    ids=["exit-in-process", "exit-in-worker", "keyboard-interrupt-in-worker"],
)
def test_a_node_that_exits_or_raises_keyboard_interrupt_fails_the_run(tmp_path, mode, in_process, said):
    """sys.exit(0) in a node's process() ended `wavegraph run --in-process` with exit 0, no summary and no word; in a
    worker, the graph drained as if the stream had ended (exit 0, 30 of 200 samples recorded). A KeyboardInterrupt
    raised by a node's code (a signal sets the stop flag instead) did the same in a worker, with a traceback."""
    p = graph(tmp_path, f"{{mode: {mode}, at: 3}}")
    if in_process:
        p.write_text(p.read_text().split("processes:")[0])
    r = run_graph(build_graph(load_config(p)), in_process=in_process)
    assert r.exit_code == 1 and r.failure is not None and r.failure.startswith(said), r.failure
    assert ("SystemExit: 0\nfix: a node may not end its process" in r.failure) == (mode == "exit")
    assert f'File "{__file__}"' in r.failure  # the node's own line
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["data"][0], np.arange(30.0))


def test_a_node_that_changes_its_input_in_place_behind_a_process_edge_is_told_to_copy(tmp_path):
    """Arrays from another process are read-only views (shared memory, or ZeroMQ's frame): a node that changed its
    input in place failed with only numpy's "ValueError: output array is read-only"."""
    r = run_graph(build_graph(load_config(graph(tmp_path, "{mode: in-place, at: 3}"))))
    assert r.exit_code == 1 and r.failure is not None
    assert r.failure.endswith(
        "ValueError: output array is read-only\nfix: a node's inputs are read-only (from another process they are "
        "shared memory; another node may get the same array): copy before changing one, x = chunk.data.copy(), or "
        "write the result to a new array\n"
    )
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["data"][0], np.arange(30.0))


def test_a_stop_that_cannot_drain_in_time_says_that_chunks_were_lost(tmp_path, monkeypatch, caplog):
    """Ctrl-C behind a slow consumer: the sources stop, the graph drains for DRAIN_S, then it is aborted and what was
    still queued is lost (1171 chunks read, 234 processed) with exit 130 and not a word."""
    from wavegraph.pipeline import multiprocess

    monkeypatch.setattr(multiprocess, "DRAIN_S", 0.2)
    p = tmp_path / "slow.yaml"
    p.write_text(
        """\
nodes:
  - {id: src, type: fixture_nodes:Ramp, params: {rate: 1000.0, chunk_size: 10, n_samples: 1000000}}
  - {id: acc, type: fixture_nodes:CumSum, params: {delay_s: 0.01}}
edges:
  - {source: src.out, target: acc.in}
processes: {a: [src], b: [acc]}
"""
    )
    with caplog.at_level("WARNING", logger="wavegraph.multiprocess"):
        r = run_graph(build_graph(load_config(p)), duration=0.3)  # stops as Ctrl-C does
    said = [rec.getMessage() for rec in caplog.records if "did not drain" in rec.getMessage()]
    assert len(said) == 1 and said[0].startswith("the graph did not drain within 0.2 s of the stop (process")
    assert said[0].endswith(  # 'b' (and 'a' while its end-of-stream waits behind the full queue) not done
        "'b' not done): aborted; the chunks still on their way are lost (a node's 'in' below what feeds it "
        "shows how many)"
    )
    assert r.stats["acc"]["chunks_in"] < r.stats["src"]["chunks_out"]  # indeed lost


def test_a_killed_process_that_held_a_recorder_says_how_to_recover_its_recording(tmp_path, monkeypatch, caplog):
    """A process killed at the stop (or by kill -9) leaves its recorder's spill, not the file: nothing said so."""
    from wavegraph.nodes.io.recover import recover
    from wavegraph.pipeline import multiprocess

    monkeypatch.setattr(multiprocess, "DRAIN_S", 0.2)
    monkeypatch.setattr(multiprocess, "STOP_GRACE_S", 0.3)
    p = graph(tmp_path, "{mode: block, at: 3}", n=100_000, processes="processes: {a: [src], b: [bad, rec]}")
    with caplog.at_level("WARNING", logger="wavegraph.multiprocess"):
        run_graph(build_graph(load_config(p)), speed=1.0, duration=0.2)
    out = tmp_path / "out.npz"
    said = [rec.getMessage() for rec in caplog.records if "was killed" in rec.getMessage()]
    assert len(said) == 1 and said[0].endswith(
        "s after the stop and was killed: one of its nodes (bad, rec) did not return (a read or wait without a "
        f"timeout, a deadlock?), and none of them was closed; the recording {out} is left unfinished (fix: wavegraph "
        f"recover {out})"
    )
    assert not out.exists()
    np.testing.assert_array_equal(np.load(recover(out))["data"][0], np.arange(30.0))  # the fix it gives works


def test_a_group_with_a_recorder_is_not_restarted_and_says_how_to_recover(tmp_path):
    """on_error: restart on a group holding a recorder: the restarted recorder refused the spill its killed process
    left, and the run failed with the recorder's 'holds an unfinished recording; fix: ... or set overwrite: true'
    (overwrite would delete what was recorded before the crash)."""
    from wavegraph.nodes.io.recover import recover

    p = graph(
        tmp_path,
        "{mode: sigkill, at: 5}",
        n=100_000,
        processes="processes: {a: [src], b: {nodes: [bad, rec], on_error: restart}}",
    )
    r = run_graph(build_graph(load_config(p)), speed=1.0)  # its input still flowing: a group that may be restarted
    out = tmp_path / "out.npz"
    assert r.exit_code == 1 and r.failure == (
        "process 'b' exited with code -9 without reporting: killed by SIGKILL (kill -9, or the kernel's out-of-memory "
        f"killer: see `dmesg | grep -i oom`); its nodes: bad, rec; the recording {out} is left unfinished (fix: "
        f"wavegraph recover {out}); not restarted (on_error: restart): a recorder cannot go on with the recording its "
        "killed process left (fix: keep recorders out of groups with on_error: restart)"
    )
    assert not r.extra.get("restarts")
    np.testing.assert_array_equal(np.load(recover(out))["data"][0], np.arange(50.0))


def test_a_stop_waits_for_a_process_that_is_closing_its_nodes_instead_of_killing_it(tmp_path, monkeypatch, caplog):
    """Ctrl-C (or --duration) ending a long recording: its recorder finalises the file from its spill at close, a
    few seconds per GB (a 3.3 GB FIF took ~5 s). The parent killed every process not done DRAIN_S + STOP_GRACE_S
    after the stop, so the recording was left to `wavegraph recover`, said as 'did not return (a deadlock?)'. A
    process that drained and is closing its nodes is now waited for, and said once; the recording is whole."""
    from wavegraph.pipeline import multiprocess

    monkeypatch.setattr(multiprocess, "DRAIN_S", 0.2)
    monkeypatch.setattr(multiprocess, "STOP_GRACE_S", 0.2)
    monkeypatch.setenv("WG_TEST_CLOSED", str(tmp_path / "closed"))
    # close() outlasts DRAIN_S + STOP_GRACE_S (0.4 s), when the parent used to kill it
    p = graph(tmp_path, "{mode: slow-close, close_s: 0.6}", n=100_000, processes="processes: {a: [src], c: [bad, rec]}")
    with caplog.at_level("WARNING", logger="wavegraph.multiprocess"):
        r = run_graph(build_graph(load_config(p)), speed=1.0, duration=0.3)  # stops as Ctrl-C does
    said = [rec.getMessage() for rec in caplog.records]
    assert (tmp_path / "closed").read_text() == "closed", said  # its close() ran to the end
    assert not [m for m in said if "was killed" in m or "did not drain" in m], said
    assert (
        said.count(
            f"waiting for process 'c' to close its nodes: finalising {tmp_path / 'out.npz'} (at most 600 s); Ctrl-C "
            "twice to stop now (then: wavegraph recover PATH)"
        )
        == 1
    ), said
    assert r.failure is None and r.exit_code == 0
    data = np.load(tmp_path / "out.npz")["data"]
    assert data.shape[1] >= 100 and np.array_equal(data[0], np.arange(data.shape[1]))  # whole, up to the stop


def test_a_process_finalising_past_the_close_wait_is_killed_with_the_recover_line(tmp_path, monkeypatch, caplog):
    """The wait for a process closing its recordings after a stop is bounded (CLOSE_WAIT_S): a recorder group whose
    close hangs would otherwise keep a --duration run, or one stopped by a failure, running for ever. The others then
    exit by themselves: process 'a' waited for a Release that never came, and was killed STOP_GRACE_S (1.5 s) later."""
    from wavegraph.pipeline import multiprocess

    monkeypatch.setattr(multiprocess, "DRAIN_S", 0.2)
    monkeypatch.setattr(multiprocess, "CLOSE_WAIT_S", 0.3)  # shorter than the 1 s close(): it is killed
    killed, kill = [], subprocess.Popen.kill

    def spy(p):
        killed.append(os.path.basename(p.args[-1]))  # the worker's plan: <group>.json
        kill(p)

    monkeypatch.setattr(subprocess.Popen, "kill", spy)
    monkeypatch.setenv("WG_TEST_CLOSED", str(tmp_path / "closed"))
    p = graph(tmp_path, "{mode: slow-close}", n=100_000, processes="processes: {a: [src], c: [bad, rec]}")
    with caplog.at_level("WARNING", logger="wavegraph.multiprocess"):
        run_graph(build_graph(load_config(p)), speed=1.0, duration=0.3)
    said = [rec.getMessage() for rec in caplog.records if "was killed" in rec.getMessage()]
    assert len(said) == 1 and said[0].startswith("process 'c' did not stop "), said
    out = tmp_path / "out.npz"
    assert said[0].endswith(
        f"it was still closing its nodes; the recording {out} is left unfinished (fix: wavegraph recover {out})"
    )
    assert not (tmp_path / "closed").exists()
    assert killed == ["c.json"]
