"""`on_error: restart` on a process group (issue 14 §1): a worker process killed mid-run is started again,
its edges reconnect, the gap is flagged downstream and the restart is counted; without the policy the run
stops naming the process. (The same on a Ray actor: tests/test_multihost_ray.py.)"""

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zmq
from test_runtime_multiprocess import eeg_graph
from wavegraph.pipeline.allocator import worker_env
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.multiprocess import run_multiprocess
from wavegraph.pipeline.runner import run_graph


def restartable(tmp_path, name, policy="on_error: restart, max_restarts: 2", transport="shm"):
    # transport shm: every payload through a shared-memory ring, notified over ipc (pipeline.shm); a
    # restart must give the restarted receiver a new ring and a reconnected notification socket
    p = eeg_graph(tmp_path, name, transport)
    text = p.read_text().replace("dsp: [bp, notch]", f"dsp: {{nodes: [bp, notch], {policy}}}")
    p.write_text(text.replace(".npz}", ".npz, chunk_log: true}"))
    return p


def worker_pid(group: str) -> int | None:
    """The pid of this process's worker child running `group`'s plan."""
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if (
            ppid == os.getpid()
            and b"wavegraph.pipeline.worker" in argv
            and argv[-2].endswith(f"/{group}.json".encode())
        ):
            return int(entry)
    return None


def kill_when(group: str, node: str, chunks: int, killed: list):
    """An observer that kills `group`'s worker (SIGKILL: no report) once `node` has taken `chunks` chunks."""

    def observe(stats: dict) -> None:
        if not killed and stats.get(node, {}).get("chunks_in", 0) >= chunks:
            pid = worker_pid(group)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    return observe


def test_a_killed_worker_restarts_reconnects_and_flags_the_gap(tmp_path):
    assert run_graph(build_graph(load_config(eeg_graph(tmp_path, "inproc"))), in_process=True).exit_code == 0
    killed: list = []
    graph = build_graph(load_config(restartable(tmp_path, "restarted")))
    r = run_multiprocess(graph, speed=12.0, observer=kill_when("dsp", "rec", 60, killed))
    assert killed, "the dsp worker was killed mid-run"
    assert r.exit_code == 0 and r.failure is None, r.failure
    assert r.extra["restarts"] == {"dsp": 1}
    assert r.stats["bp"]["restarts"] == r.stats["notch"]["restarts"] == 1 and r.stats["src"]["restarts"] == 0
    # The restarted process's first chunks reach rec flagged: its sender's seq started over.
    assert r.stats["rec"]["gaps"] >= 1 and r.stats["rec"]["counters"]["rx_seq_reset"] >= 1
    with open(tmp_path / "restarted.npz.chunks.csv") as f:
        rows = list(csv.DictReader(f))
    first_gap = next(i for i, row in enumerate(rows) if row["gap"] == "1")
    assert first_gap >= 60  # nothing was flagged before the kill
    before = sum(int(row["n"]) for row in rows[:first_gap])
    x, ref = np.load(tmp_path / "restarted.npz")["data"], np.load(tmp_path / "inproc.npz")["data"]
    # Up to the kill, the same samples as the in-process run; the stream then goes on to the end.
    assert x[:, :before].tobytes() == ref[:, :before].tobytes()
    assert float(rows[-1]["t0"]) > 60.0 and x.shape[1] > before + 1000


def test_without_the_policy_a_killed_worker_stops_the_run_naming_it(tmp_path):
    killed: list = []
    graph = build_graph(load_config(restartable(tmp_path, "stopped", "on_error: stop")))
    r = run_multiprocess(graph, speed=12.0, observer=kill_when("dsp", "rec", 60, killed))
    assert killed and r.exit_code == 1
    assert r.failure is not None and "process 'dsp' exited with code -9 without reporting" in r.failure
    assert "restarts" not in r.extra


class HeldRestart:
    """A launcher of local workers whose restarted ones wait, before Python starts, until `gate` exists."""

    def __init__(self, tmp_path):
        self.dir, self.gate = tmp_path, tmp_path / "gate"
        self.restarted: set[str] = set()

    def bind_control(self, router) -> str:
        router.bind("tcp://127.0.0.1:*")
        return router.getsockopt(zmq.LAST_ENDPOINT).decode()

    def start(self, group: str, plan):
        path = self.dir / f"{group}.json"
        path.write_text(plan.to_json())
        argv = [sys.executable, "-P", "-m", "wavegraph.pipeline.worker", str(path)]
        if plan.incarnation:
            self.restarted.add(group)
            argv = ["sh", "-c", 'until [ -e "$0" ]; do sleep 0.02; done; exec "$@"', str(self.gate), *argv]
        return subprocess.Popen(argv, env=worker_env())

    def close(self) -> None:
        pass


def test_an_input_that_ends_while_its_receiver_restarts_ends_there_too(tmp_path):
    """The source reaches its end of file while the dsp process is down (a queue that holds the rest):
    the end-of-stream reaches the restarted worker, and the parent's Ended, sent while no worker held
    the group's control identity, is sent again once the restarted one reports Ready."""
    inproc = run_graph(build_graph(load_config(eeg_graph(tmp_path, "inproc"))), in_process=True)
    total = inproc.stats["src"]["chunks_out"]
    p = restartable(tmp_path, "ended", transport="ipc")
    p.write_text(p.read_text().replace("target: bp.in}", "target: bp.in, policy: drop_oldest, queue: 1000}"))
    launcher, killed, seen_end = HeldRestart(tmp_path), [], []
    deadline = time.monotonic() + 60.0
    kill = kill_when("dsp", "rec", 20, killed)

    def observe(stats: dict) -> None:
        if time.monotonic() > deadline:  # the hang guard
            raise TimeoutError("the run did not end: the restarted dsp still waits for its input's end")
        kill(stats)
        if "dsp" in launcher.restarted and stats["src"]["chunks_out"] == total:
            seen_end.append(True)
            # One observation later (0.5 s): the source's end-of-stream and Ended, a read after its last
            # chunk, have gone out; the parent forwarded that Ended while no dsp process could take it.
            if len(seen_end) == 2:
                launcher.gate.touch()

    r = run_multiprocess(build_graph(load_config(p)), speed=24.0, observer=observe, launcher=launcher)
    assert killed and launcher.gate.exists(), "the dsp worker was killed and restarted after the source ended"
    assert r.exit_code == 0 and r.failure is None, r.failure
    assert r.extra["restarts"] == {"dsp": 1}
    assert r.stats["src"]["drops"] == 0 and r.stats["rec"]["gaps"] >= 1
    # What the source sent while dsp was down reached the recording, up to the source's last sample.
    with open(tmp_path / "ended.npz.chunks.csv") as f:
        last = list(csv.DictReader(f))[-1]
    n = np.load(tmp_path / "inproc.npz")["data"].shape[1]
    assert round(float(last["t0"]) * 160) + int(last["n"]) == n


class KeptProcesses:
    """A launcher of local workers (control over tcp, as under --ray) that keeps each Popen: how each one ended."""

    def __init__(self, tmp_path):
        self.dir, self.procs = tmp_path, []

    def bind_control(self, router) -> str:
        router.bind("tcp://127.0.0.1:*")
        return router.getsockopt(zmq.LAST_ENDPOINT).decode()

    def start(self, group: str, plan):
        path = self.dir / f"{group}.json"  # (worker_pid finds a group's worker by it)
        path.write_text(plan.to_json())
        argv = [sys.executable, "-P", "-m", "wavegraph.pipeline.worker", str(path)]
        self.procs.append(subprocess.Popen(argv, env=worker_env()))
        return self.procs[-1]

    def close(self) -> None:
        pass


@pytest.mark.parametrize("policy", ["on_error: restart", "on_error: stop"])
def test_over_tcp_the_other_workers_end_by_themselves_after_one_was_killed(tmp_path, policy):
    """The dsp worker killed mid-run, its edges over tcp (as between hosts): the source's worker, whose frames to the
    dead receiver were still queued (ZeroMQ's linger retried its address for 5 s), was killed by the parent at the end
    (-9, after STOP_GRACE_S), whether dsp was restarted elsewhere or the run stopped. Now every worker but the killed
    one ends by itself."""
    killed: list = []
    launcher = KeptProcesses(tmp_path)
    graph = build_graph(load_config(restartable(tmp_path, "tcp", policy, transport="tcp")))
    r = run_multiprocess(graph, speed=12.0, observer=kill_when("dsp", "rec", 60, killed), launcher=launcher)
    assert killed and r.exit_code == (0 if "restart" in policy else 1), r.failure
    ended = {p.pid: p.returncode for p in launcher.procs if p.pid not in killed}
    assert len(ended) == (3 if "restart" in policy else 2) and all(code >= 0 for code in ended.values()), ended


@pytest.mark.parametrize(
    "policy, message",
    [
        ("on_error: again", "process 'dsp': on_error 'again'"),
        ("on_error: restart, max_restarts: -1", "process 'dsp': max_restarts must be a whole number from 0 to 1000"),
    ],
)
def test_the_policy_is_checked_with_file_and_line(tmp_path, policy, message):
    with pytest.raises(GraphError) as e:
        load_config(restartable(tmp_path, "bad", policy))
    assert f"bad.yaml:22: {message}" in str(e.value)
