"""The multi-process runner: each process group of the graph in its own OS process.

The parent builds the whole graph once (so every error is caught before anything starts and every
edge's spec is known), then writes a JSON plan per group and starts `python -P -m wavegraph.pipeline.worker PLAN`.
Edges inside a group stay in memory; edges between groups go over ZeroMQ (pipeline.transport):
`ipc://` on one host, `tcp://` when the graph says `transport: tcp` or a group names a host (a
receiver binds to its group's host, loopback by default). Workers report stats and failures on a
control socket in JSON. On Ctrl-C or SIGTERM the parent sends SIGTERM to every worker, each closes
its nodes (recorders finalise their files) and exits; stragglers are killed after `STOP_GRACE_S`.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import zmq

import wavegraph

from .graph import Graph
from .result import ProgressBar, RunResult, source_durations
from .transport import free_tcp_port, ipc_endpoint

STOP_GRACE_S = 1.5


def make_plans(graph: Graph, speed: float | None, control: str, release: str, overrides: list[str]) -> dict[str, dict]:
    config = graph.config
    plans = {
        group: {"config": config.file, "overrides": list(overrides), "group": group, "speed": speed,
                "control": control, "release": release, "wavegraph_file": wavegraph.__file__, "progress": False, "in_specs": {}, "receivers": [],
                "senders": []}
        for group in config.processes
    }
    for e in config.edges:
        src_group, dst_group = graph.group_of(e.source_node), graph.group_of(e.target_node)
        spec = graph.specs[e.source].to_dict()
        plans[dst_group]["in_specs"].setdefault(e.target_node, {})[e.target_port] = spec
        if src_group == dst_group:
            continue
        use_tcp = config.transport == "tcp" or src_group in config.hosts or dst_group in config.hosts
        if use_tcp:
            host = config.hosts.get(dst_group, "127.0.0.1")
            endpoint = f"tcp://{host}:{free_tcp_port(host)}"
        else:
            endpoint = ipc_endpoint(f"{e.source_node}-{e.target_node}")
        common = {"edge": str(e), "endpoint": endpoint, "policy": e.policy, "queue": e.queue, "spec": spec}
        plans[dst_group]["receivers"].append({**common, "target_node": e.target_node, "target_port": e.target_port})
        plans[src_group]["senders"].append(common)
    return plans


def run_multiprocess(graph: Graph, speed: float | None = None, progress: bool = False,
                     overrides: list[str] | None = None) -> RunResult:
    for node in graph.nodes.values():
        node.close()  # the parent only validated; workers build their own nodes
    overrides = list(overrides if overrides is not None else graph.config.overrides)
    result = RunResult({}, {n: graph.group_of(n) for n in graph.order})
    ctx = zmq.Context()
    control = ctx.socket(zmq.PULL)
    control_ep = ipc_endpoint("control")
    control.bind(control_ep)
    release = ctx.socket(zmq.PUB)  # "every process has reported": senders may close (see worker)
    release_ep = ipc_endpoint("release")
    release.bind(release_ep)
    tmp = tempfile.mkdtemp(prefix="wavegraph-")
    procs: dict[str, subprocess.Popen] = {}
    t = time.monotonic()
    bar = ProgressBar(source_durations(graph.nodes), progress)
    try:
        for group, plan in make_plans(graph, speed, control_ep, release_ep, overrides).items():
            plan["progress"] = bar.enabled
            path = os.path.join(tmp, f"{group}.json")
            with open(path, "w") as f:
                json.dump(plan, f)
            # -P: the worker's current folder is not on its import path, so a user's nodes.py or
            # pipeline.py there cannot shadow anything; it imports the same wavegraph as this process.
            procs[group] = subprocess.Popen([sys.executable, "-P", "-m", "wavegraph.pipeline.worker", path])
        _supervise(control, release, procs, result, bar)
    except KeyboardInterrupt:
        result.interrupted = True
        _stop_all(procs)
        _collect(control, procs, result, deadline=time.monotonic() + STOP_GRACE_S)
    finally:
        _stop_all(procs, kill=True)
        control.close(linger=0)
        release.close(linger=0)
        ctx.term()
        for ep in (control_ep, release_ep):  # libzmq leaves the socket files of ipc:// binds
            with contextlib.suppress(OSError):
                os.unlink(ep[len("ipc://"):])
        shutil.rmtree(tmp, ignore_errors=True)
    # Nodes of a process that died without reporting keep zeroed rows, so the table stays complete.
    empty = {"chunks_in": 0, "chunks_out": 0, "drops": 0, "gaps": 0, "restarts": 0, "compute_ns": [],
             "latency_ns": [], "counters": {}}
    result.stats = {n: result.stats.get(n, dict(empty)) for n in graph.order}
    result.wall_s = time.monotonic() - t
    bar.show(0.0, final=not result.interrupted and not result.failure)
    return result


def _handle(msg: dict, result: RunResult, reported: set, bar: ProgressBar | None) -> None:
    if msg["type"] == "progress":
        if bar is not None:
            bar.show(msg["t"])
    elif msg["type"] == "stats":
        result.stats.update(msg["stats"])
        reported.add(msg["group"])
        if msg.get("code") == 130:
            result.interrupted = True
    elif msg["type"] == "error" and result.failure is None:
        result.failure = msg["message"]


def _supervise(control, release, procs, result: RunResult, bar) -> None:
    reported: set[str] = set()
    while True:
        if all(g in reported or p.poll() is not None for g, p in procs.items()):
            release.send(b"exit")  # repeated each round: a late subscriber still hears it
        if control.poll(100):
            _handle(control.recv_json(), result, reported, bar)
            if result.failure:
                _stop_all(procs)
                _collect(control, procs, result, time.monotonic() + STOP_GRACE_S, reported)
                return
            continue
        done = {g: p.poll() for g, p in procs.items()}
        # A process that died without reporting (killed, segfault, os._exit) never sends end-of-stream:
        # the processes downstream of it would wait forever, so stop them all.
        died = [g for g, code in done.items() if code not in (None, 0, 130) and g not in reported]
        if died or all(code is not None for code in done.values()):
            if died:
                _stop_all(procs)
            _collect(control, procs, result, time.monotonic() + (STOP_GRACE_S if died else 0.5), reported)
            for g, code in done.items():
                if code not in (None, 0, 130) and g not in reported and result.failure is None:
                    result.failure = f"process '{g}' exited with code {code} without reporting"
            return


def _collect(control, procs, result, deadline, reported=None, bar=None) -> None:
    """Read every report still coming until the processes have exited (or the deadline)."""
    reported = reported if reported is not None else set()
    while time.monotonic() < deadline:
        if control.poll(50):
            _handle(control.recv_json(), result, reported, bar)
        elif all(p.poll() is not None for p in procs.values()) and not control.poll(0):
            return


def _stop_all(procs, kill: bool = False) -> None:
    """SIGTERM every running process; with kill=True, instead wait until STOP_GRACE_S from now (one
    deadline for all, not one per process) and kill those still running."""
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs.values():
        if p.poll() is None:
            if kill:
                try:
                    p.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            else:
                p.send_signal(signal.SIGTERM)
