"""One process of a multi-process run: `python -P -m wavegraph.pipeline.worker PLAN.json`.

The plan (written by pipeline.multiprocess) names the graph file, this process's group, the stream
spec on every input of its nodes, and a ZeroMQ endpoint for every edge that crosses into or out of the
group. The worker builds only its own nodes, runs them with the same Executor as the in-process
runner, and reports to the parent over a control socket in JSON (never pickle): `stats` when it ends,
`error` (naming node, process and traceback) when a node fails with `on_error: stop`.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

import zmq

import wavegraph

from .config import load_config
from .executor import Executor, NodeFailure, StopFlag
from .graph import configure_node, make_node
from .spec import StreamSpec
from .summary import stats_to_dicts
from .transport import EdgeReceiver, EdgeSender


def run_worker(plan: dict, stop: StopFlag) -> int:
    if os.path.realpath(wavegraph.__file__) != os.path.realpath(plan["wavegraph_file"]):
        raise RuntimeError(f"this worker imported wavegraph from {wavegraph.__file__}, the parent from "
                           f"{plan['wavegraph_file']}; run both with the same Python environment")
    config = load_config(plan["config"], plan["overrides"])
    group = plan["group"]
    members = config.processes[group]
    ctx = zmq.Context()
    control = ctx.socket(zmq.PUSH)
    control.setsockopt(zmq.LINGER, 2000)
    control.connect(plan["control"])
    receivers: list[tuple[EdgeReceiver, str, str]] = []
    senders: dict[str, EdgeSender] = {}
    ex = None
    code = 0
    try:
        nodes = {}
        for nc in config.nodes:
            if nc.id in members:
                node = make_node(nc, config.file)
                in_specs = {p: StreamSpec.from_dict(d) for p, d in plan["in_specs"].get(nc.id, {}).items()}
                in_edges = [e for e in config.edges if e.target_node == nc.id]
                configure_node(node, nc, in_specs, in_edges, config.file)
                nodes[nc.id] = node
        for r in plan["receivers"]:
            rx = EdgeReceiver(r["endpoint"], StreamSpec.from_dict(r["spec"]), policy=r["policy"],
                              maxlen=r["queue"], context=ctx, name=r["edge"])
            receivers.append((rx, r["target_node"], r["target_port"]))
        for s in plan["senders"]:
            senders[s["edge"]] = EdgeSender(s["endpoint"], StreamSpec.from_dict(s["spec"]), policy=s["policy"],
                                            hwm=s["queue"], context=ctx)
        edge_senders = {e: senders[str(e)] for e in config.edges if str(e) in senders}
        ex = Executor(config, nodes, group, send_remote=lambda e, c: edge_senders[e].send(c), speed=plan["speed"])
        ex.stop = stop
        control.send_json({"type": "ready", "group": group})
        report = None
        if plan["progress"] and ex.active_sources:
            report = lambda t: control.send_json({"type": "progress", "group": group, "t": t})  # noqa: E731
        _loop(ex, receivers, report)
        if stop:
            code = 130
    except NodeFailure as e:
        control.send_json({"type": "error", "group": group, "message": str(e)})
        code = 1
    except Exception as e:  # noqa: BLE001 — a set-up failure must reach the parent too
        import traceback

        control.send_json({"type": "error", "group": group, "message": f"process '{group}' failed: {e}\n{traceback.format_exc()}"})
        code = 1
    finally:
        if ex is not None:
            try:
                ex.close()
            except RuntimeError as e:  # a node that could not close (a recording not finalised)
                control.send_json({"type": "error", "group": group, "message": f"process '{group}': {e}"})
                code = code or 1
            ex.collect_counters()
            stats = stats_to_dicts(ex.stats)
            for rx, node_id, _ in receivers:
                _merge_transport(stats[node_id], rx.counters, receiving=True)
            for edge, tx in senders.items():
                _merge_transport(stats[edge.split(".")[0]], tx.counters, receiving=False)
            control.send_json({"type": "stats", "group": group, "stats": stats, "code": code})
        if code == 0 and senders:
            _wait_for_release(ctx, plan["release"], stop)
        for tx in senders.values():
            tx.close()
        for rx, _, _ in receivers:
            rx.close()
        control.close()
        ctx.term()
    return code


def _wait_for_release(ctx: zmq.Context, endpoint: str, stop: StopFlag) -> None:
    """Keep the senders open until the parent says every process has finished.

    ZeroMQ's linger does not cover frames already taken by its I/O thread when the context ends, so a
    sender that exits right after its last frame can lose the tail (end-of-stream included) when the
    receiver is slow. Every receiver reports only after it has seen end-of-stream on all its inputs,
    so once all processes have reported, every frame has arrived."""
    release = ctx.socket(zmq.SUB)
    release.setsockopt(zmq.SUBSCRIBE, b"")
    release.setsockopt(zmq.LINGER, 0)
    release.connect(endpoint)
    try:
        while not stop and not release.poll(100):
            pass
    finally:
        release.close()


def _merge_transport(stats: dict, counters: dict, receiving: bool) -> None:
    if receiving:
        stats["drops"] += counters.get("dropped_oldest", 0)
        for key in ("rejected", "seq_missing"):
            if counters.get(key):
                stats["counters"][f"rx_{key}"] = stats["counters"].get(f"rx_{key}", 0) + counters[key]
    elif counters.get("dropped_full"):
        stats["counters"]["tx_dropped_full"] = stats["counters"].get("tx_dropped_full", 0) + counters["dropped_full"]


def _loop(ex: Executor, receivers: list[tuple[EdgeReceiver, str, str]], report=None) -> None:
    """Alternate between remote inputs and local sources until everything has ended.
    `report(t)`, when given, is told the replay position about three times a second."""
    open_rx = list(receivers)
    last_report = 0.0
    while (open_rx or ex.active_sources) and not ex.stop:
        if report is not None and time.monotonic() - last_report > 0.3:
            last_report = time.monotonic()
            report(max(ex.source_time.values(), default=0.0))
        got = False
        for item in list(open_rx):
            rx, node_id, port = item
            # Without local sources to read, wait a little on each input rather than spin.
            wait = 0.0 if ex.active_sources else (0.05 if len(open_rx) == 1 else 0.002)
            chunk = rx.recv(timeout=wait)
            while chunk is not None:
                got = True
                ex.deliver(node_id, port, chunk)
                if chunk.eos:
                    open_rx.remove(item)
                    break
                chunk = rx.recv(timeout=0)
        if ex.active_sources:
            ex.step_sources()
        elif not got and not open_rx:
            break
    ex.drain()


def _stop_when_orphaned(stop: StopFlag, parent_pid: int, every_s: float = 0.25) -> None:
    """Set the stop flag once the parent is gone (killed with SIGKILL, say): nothing else would end
    a worker waiting for an end-of-stream or a release that can no longer come."""
    while not stop.event.wait(every_s):
        if os.getppid() != parent_pid:
            stop.event.set()


def main() -> int:
    stop = StopFlag().install()  # first thing: a stop during start-up is honoured, never half-done
    threading.Thread(target=_stop_when_orphaned, args=(stop, os.getppid()), daemon=True).start()
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    return run_worker(plan, stop)


if __name__ == "__main__":
    sys.exit(main())
