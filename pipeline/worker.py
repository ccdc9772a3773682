"""One process of a multi-process run: `python -P -m wavegraph.pipeline.worker PLAN.json`.

The plan (a pipeline.plan.WorkerPlan, JSON) holds this process's node configs, the spec the parent
computed on every input and output, and one receiver or sender per edge that crosses into or out of
the group. The worker builds only its own nodes (it never reads the graph file), binds its receivers
and reports them (`Ready`), connects its senders where the parent says (`Start`), waits until every
edge of the graph is connected (`Go`), then runs the same Executor as the in-process runner. The
control messages are listed in pipeline.plan.

Stopping goes one way. SIGINT, SIGTERM and SIGHUP set the process's StopFlag and nothing else; the
worker asks the parent to stop the run (`StopRequest`), the parent tells every worker (`Stop`), each
ends its sources, and the graph drains: every chunk a source has read reaches the sinks. If the drain
takes longer than the parent's deadline, or on a second signal, the flag is aborted: the worker stops
between chunks (a blocked send gives up too), closes its nodes and reports. An end-of-stream frame on
an incoming edge is held until the parent confirms that the edge's sender sent it (`Ended`, with the
same seq); one that is not confirmed (injected, or not from the sender) is counted as rejected.
"""

# ruff: noqa: E402  (signals are recorded before the heavy imports; see below)
from __future__ import annotations

import signal

# Run as `python -m`, this module records stop signals from its first line: importing numpy, zmq and the
# node modules can take seconds on a loaded machine, and Python's default SIGTERM or SIGHUP would kill
# the worker before it could report. main() hands them to the StopFlag, the one stop path.
_EARLY_SIGNALS: list[int] = []
if __name__ == "__main__":
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, lambda signum, frame: _EARLY_SIGNALS.append(signum))
    # The parent started us with these blocked (see multiprocess.py), so one sent while the interpreter
    # itself started is pending, and arrives here now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

import contextlib
import logging
import os
import socket
import sys
import threading
import time
import traceback

import zmq

import wavegraph

from .chunk import Chunk
from .clock import LocalClock
from .config import GraphError
from .curve import EdgeSecurity, KeyFileError
from .deaths import recordings
from .endpoints import DEFAULT_MAX_BYTES, MAX_CHUNK_SAMPLES, max_frame_bytes
from .executor import Executor, NodeFailure
from .graph import configure_node, make_node
from .plan import (
    SENDER_GONE,
    Closing,
    Connected,
    Ended,
    Error,
    Live,
    Progress,
    Ready,
    Stats,
    WorkerPlan,
)
from .result import running_for
from .shm import ShmEdgeReceiver, ShmEdgeSender
from .socket_room import edge_context
from .spec import SpecError, StreamSpec
from .stop_flag import StopFlag
from .summary import stats_to_dicts
from .transport import EdgeReceiver, EdgeSender
from .wait_inputs import wait_any
from .worker_control import Aborted, ControlLink

log = logging.getLogger("wavegraph.worker")
LIVE_S = 0.5  # how often a worker sends its statistics so far when the parent has an observer
TURN_CHUNKS = 8  # chunks one input delivers per turn before the others are read (markers beside a busy signal)


class _SaidByParent(logging.Filter):
    """Drops the warnings of this thread (the nodes' configure()): on the parent's host the parent configured the
    same nodes from the same plan, files and devices, and said them once (a file cut short was said once per
    process). A worker on another host (`host:`, --ray) says its own: its files and devices are not the parent's."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and record.thread == self.thread)


def _build_nodes(plan: WorkerPlan, nodes: dict) -> None:
    """Instantiate and configure the group's nodes from the plan (never from the YAML file). The parent
    configured them too (to check the graph) but opened nothing: they are opened (Node.open: a file's
    data, a device) only here, once per run, after the start barrier (run_worker). The warnings of
    configure() are the parent's to say (errors are said here too)."""
    if plan.parent_host != socket.gethostname():  # another host: its configure() may say what the parent's did not
        _configure_nodes(plan, nodes)
        return
    root = logging.getLogger()
    # without handlers Python's lastResort prints warnings, and it takes no filter: the same, as a handler
    own = None if root.handlers else logging.StreamHandler()
    if own is not None:
        own.setLevel(logging.WARNING)
        root.addHandler(own)
    quiet = _SaidByParent()
    for h in root.handlers:
        h.addFilter(quiet)
    try:
        _configure_nodes(plan, nodes)
    finally:
        for h in root.handlers:
            h.removeFilter(quiet)
        if own is not None:
            root.removeHandler(own)


def _configure_nodes(plan: WorkerPlan, nodes: dict) -> None:
    for nc in plan.nodes:
        node = nodes[nc.id] = make_node(nc, plan.file)
        in_specs = {p: StreamSpec.from_dict(d) for p, d in plan.in_specs.get(nc.id, {}).items()}
        in_edges = [e for e in plan.edges if e.target_node == nc.id]
        out = configure_node(node, nc, in_specs, in_edges, plan.file)
        assert out is not None  # configure (not declared_specs) always gives the output specs
        for port, spec in out.items():
            want = plan.out_specs.get(nc.id, {}).get(port)
            if want is not None and spec.to_dict() != want:  # a device or stream changed since the build
                raise RuntimeError(
                    f"node '{nc.id}' output '{port}' is {spec.describe()} in process "
                    f"'{plan.group}' but was {StreamSpec.from_dict(want).describe()} when "
                    f"the graph was built"
                )


def pin(ctx: zmq.Context, cpus: list[int], who: str) -> None:
    """Run this process (every thread) and the I/O thread `ctx` starts with its first socket on `cpus` only (a
    group's `cpus:`; its effect on an edge's hop: docs/benchmarks.md, Transport, session 11)."""
    try:
        os.sched_setaffinity(0, cpus)
        for task in os.listdir("/proc/self/task"):  # the threads started before this one (a thread's own setting)
            with contextlib.suppress(ProcessLookupError):  # one that ended meanwhile
                os.sched_setaffinity(int(task), cpus)
    except (OSError, ValueError, AttributeError) as e:  # checked by the parent where it could; not on this machine
        raise RuntimeError(f"{who}: cannot run on cpus {cpus} here ({e}); fix: name CPUs of this machine") from e
    for cpu in cpus:
        ctx.set(zmq.THREAD_AFFINITY_CPU_ADD, cpu)


def run_worker(plan: WorkerPlan, stop: StopFlag, clock: LocalClock | None = None) -> int:
    """Run one process group. `clock` is this machine's clocks (a test gives one that is skewed and
    drifts, as another machine's would be): probes are answered and chunks stamped with it."""
    with running_for(plan.duration):  # (its live sources read the run's duration: result.run_duration)
        return _run_group(plan, stop, clock)


def _run_group(plan: WorkerPlan, stop: StopFlag, clock: LocalClock | None) -> int:
    if os.path.realpath(wavegraph.__file__) != os.path.realpath(plan.wavegraph_file):
        raise RuntimeError(
            f"this worker imported wavegraph from {wavegraph.__file__}, the parent from "
            f"{plan.wavegraph_file}; run both with the same Python environment"
        )
    group = plan.group
    ctx = edge_context(len(plan.senders) + len(plan.receivers), f"process '{group}'")  # (many edges: 1023 sockets)
    if plan.cpus:
        pin(ctx, plan.cpus, f"process '{group}'")
    link = ControlLink(ctx, plan, stop, clock)
    security = EdgeSecurity.for_plan(plan)  # (on another host than the parent's: says an open secret key file)
    receivers: list[tuple[EdgeReceiver, str, str, str]] = []
    senders: dict[str, EdgeSender] = {}
    ended: set[str] = set()  # crossing edges this worker has sent end-of-stream on
    nodes: dict = {}
    ex = None
    code = 0
    types = {nc.id: nc.type for nc in plan.nodes}
    limits = {  # the largest chunk each crossing edge's receiver takes
        s.edge: min(max_frame_bytes(StreamSpec.from_dict(s.spec)), DEFAULT_MAX_BYTES) for s in plan.senders
    }

    def send(edge, chunk: Chunk) -> None:
        name = str(edge)
        tx = senders[name]
        if chunk.data.nbytes > limits[name]:  # its receiver would drop it (libzmq: without a word) and go on
            raise NodeFailure(
                edge.source_node,
                types[edge.source_node],
                group,
                f"it sent a chunk of {chunk.data.nbytes:,} bytes (shape {chunk.data.shape}) on {name}, more than an "
                f"edge between processes takes: {limits[name]:,} bytes ({MAX_CHUNK_SAMPLES:,} samples or 10 minutes of "
                f"this stream, at most 256 MiB); fix: send it in smaller chunks, or place '{edge.source_node}' and "
                f"'{edge.target_node}' in one process",
            )
        if name in link.moved:  # its receiver's process was restarted (on_error: restart)
            tx.reconnect(link.moved.pop(name))
        if tx.policy == "drop_oldest" and not chunk.eos:
            tx.send(chunk)  # never waits: a full pipe drops (and counts) this chunk
        else:
            while not tx.send(chunk, timeout=0.1):  # a receiver that has gone must not hang us
                for other in senders.values():  # chunks the other edges hold go on while this one waits
                    other.flush(0)
                if stop.aborted:
                    raise Aborted
                if name in link.moved:
                    tx.reconnect(link.moved.pop(name))
        if chunk.eos:
            ended.add(name)
            link.send(Ended(name, tx.seq - 1))

    try:
        if plan.monitor:  # --monitor under --ray: monitor nodes send to the parent's hub over tcp (CURVE)
            from .monitor import set_remote_hub

            set_remote_hub(plan.monitor, security.hook(plan.monitor, "monitor", ctx, server=False))
        _build_nodes(plan, nodes)
        for r in plan.receivers:
            extra: dict = {"shm": r.shm} if r.shm else {}
            rx = (ShmEdgeReceiver if r.shm else EdgeReceiver)(
                r.bind,
                StreamSpec.from_dict(r.spec),
                policy=r.policy,
                maxlen=r.queue,
                context=ctx,
                name=r.edge,
                secure=security.hook(r.bind, r.edge, ctx, server=True),
                **extra,
            )
            receivers.append((rx, r.target_node, r.target_port, r.edge))
        link.send(Ready(group, {edge: rx.endpoint for rx, _, _, edge in receivers}))
        link.wait(link.started)
        for s in plan.senders:
            endpoint = link.endpoints[s.edge]
            extra: dict = {"shm": s.shm, "shm_min": s.shm_min, "generation": plan.incarnation << 20} if s.shm else {}
            senders[s.edge] = (ShmEdgeSender if s.shm else EdgeSender)(
                endpoint,
                StreamSpec.from_dict(s.spec),
                policy=s.policy,
                hwm=s.queue,
                context=ctx,
                secure=security.hook(endpoint, s.edge, ctx, server=False),
                batch=True,  # _loop flushes every turn (EdgeSender.flush)
                name=s.edge,
                **extra,
            )
        barrier_at = time.monotonic()
        for name, tx in senders.items():  # the start barrier: no source starts before every edge is up
            while not tx.wait_connected(0.05):
                if stop:
                    raise Aborted
                security.check_handshake(name, tx.endpoint, time.monotonic() - barrier_at)  # a refused key
        link.send(Connected(group))
        link.wait(link.go)
        ex = Executor(plan.config(), nodes, group, send_remote=send, speed=plan.speed)
        ex.stop, ex.clock = stop, link.clock.mono_ns
        ex.open()  # after Go: a live device starts with the graph, not while edges connect
        report = live = None
        if plan.progress and ex.active_sources:
            report = lambda t: link.send(Progress(group, t))  # noqa: E731
        if plan.live:
            running = ex
            live = lambda: link.send(Live(group, _with_transport(running.snapshot(), receivers, senders)))  # noqa: E731
        _loop(ex, receivers, link, report, live, tuple(senders.values()))
        if stop:
            code = 130
    except Aborted:
        code = 130
    except NodeFailure as e:
        link.send(Error(group, str(e)))
        code = 1
    except KeyboardInterrupt:  # raised by a node's code: a signal sets the stop flag instead (StopFlag's handler)
        link.send(Error(group, f"process '{group}' failed: KeyboardInterrupt raised in it:\n{traceback.format_exc()}"))
        code = 1
    except GraphError as e:  # a node's configure() failed here though it passed the parent's build (a device gone)
        link.send(Error(group, f"process '{group}' failed: {_said(e)}"))
        code = 1
    except KeyFileError as e:  # a key file of this host (the build checked the parent's): its message, no traceback
        link.send(Error(group, f"process '{group}' failed: {e}"))
        code = 1
    except Exception as e:  # noqa: BLE001 — a set-up failure must reach the parent too
        link.send(Error(group, f"process '{group}' failed: {e}\n{traceback.format_exc()}"))
        code = 1
    finally:
        if ex is not None and not stop.aborted:
            # Downstream processes must not wait for an end-of-stream that would never come.
            for name, tx in senders.items():
                if name not in ended and tx.send(Chunk.end(), timeout=0.5):
                    link.send(Ended(name, tx.seq - 1))
        log.debug(
            "process '%s': the graph has %s; closing the nodes",
            group,
            "been aborted" if stop.aborted else "drained" if ex is not None else "not started",
        )
        ex = ex or Executor(plan.config(), nodes, group)
        if recordings(plan):  # a recorder's finalising may outlast the parent's stop deadlines: not stuck (another
            link.send(Closing(group))  # node's close that hangs is: killed at the abort, as before)
        try:
            ex.close()
        except RuntimeError as e:  # a node that could not close (a recording not finalised)
            link.send(Error(group, f"process '{group}': {e}"))
            code = code or 1
        ex.collect_counters()
        stats = _with_transport(stats_to_dicts(ex.stats), receivers, senders)
        for _, node_id, _, edge in receivers:
            if security.refused.get(edge):  # CURVE handshakes refused: a peer without an allowed key (ZAP), added to
                counters = stats[node_id]["counters"]  # those libzmq refused before asking it (EdgeReceiver._refused)
                counters["rx_refused_peers"] = counters.get("rx_refused_peers", 0) + security.refused[edge]
        link.send(Stats(group, stats, code))
        log.debug("process '%s': nodes closed, reported (code %s)", group, code)
        # Senders stay open until every process has reported: ZeroMQ's linger does not cover frames
        # its I/O thread has taken but not yet written, so an early exit could lose the tail.
        if senders:
            while not stop.aborted and not link.orphaned and not link.released.wait(0.05):
                pass
        # Released: every receiver has taken all it will. What a sender still queues is for one that is gone (killed,
        # or restarted elsewhere): with ZeroMQ's linger it would retry that address and hold ctx.term() until the
        # parent killed this process (STOP_GRACE_S), once over tcp after any restart or death downstream.
        done = stop.aborted or link.released.is_set()
        for tx in senders.values():
            tx.close(linger_ms=0 if done else None)
        for rx, _, _, _ in receivers:
            rx.close()
        link.close()
        security.stop()
        ctx.term()
    return code


def _said(e: GraphError) -> str:
    """A GraphError's lines and, when a node raised it (not a SpecError), where: the node's own frames, not the
    worker's (they were the traceback printed, and the node's file and line were not)."""
    text = "\n".join(e.lines())
    cause = e.__cause__ or e.__context__
    if cause is not None and not isinstance(cause, SpecError):
        frames = traceback.extract_tb(cause.__traceback__)[1:]  # from configure_node's call into the node on
        here = os.path.dirname(os.path.abspath(__file__))
        frames = [f for f in frames if os.path.dirname(os.path.abspath(f.filename)) != here] or frames
        text += "\n" + "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(cause))
    return text.rstrip("\n")


def _with_transport(stats: dict, receivers: list, senders: dict) -> dict:
    """`stats` (per node) with the transport counters of the process's crossing edges merged in."""
    for rx, node_id, _, _ in receivers:
        rx.count_refused()  # (CURVE handshakes libzmq refused: its monitor, read in this thread)
        _merge_transport(stats[node_id], rx.counters, receiving=True)
    for edge, tx in senders.items():
        _merge_transport(stats[edge.split(".")[0]], tx.counters, receiving=False)
    return stats


_RX_COUNTS = ("seq_missing", "seq_reset", "shm_received", "shm_copied", "refused_peers")  # rx_ in the summary


def _merge_transport(stats: dict, counters: dict, receiving: bool) -> None:
    if receiving:
        stats["drops"] += counters.get("dropped_oldest", 0)
        rejected_by_reason = [k for k in list(counters) if k.startswith("rejected_")]  # list(): a thread may add keys
        for key in ("rejected", *rejected_by_reason, *_RX_COUNTS):
            if counters.get(key):
                stats["counters"][f"rx_{key}"] = stats["counters"].get(f"rx_{key}", 0) + counters[key]
        return
    for key in ("dropped_full", "rejected_dtype"):  # (a chunk of a dtype the wire cannot carry: dropped at the sender)
        if counters.get(key):
            stats["counters"][f"tx_{key}"] = stats["counters"].get(f"tx_{key}", 0) + counters[key]
            stats["drops"] += counters[
                key
            ]  # drop_oldest at the sender (a full pipe), a dtype: chunks lost all the same


def _reject_eos(rx: EdgeReceiver) -> None:
    """An end-of-stream frame the edge's sender did not send (or not there): counted, never obeyed."""
    rx.counters["rejected"] += 1
    rx.counters["rejected_eos"] = rx.counters.get("rejected_eos", 0) + 1
    if "eos" not in rx._logged:
        rx._logged.add("eos")
        log.warning("edge %s: dropped an end-of-stream frame its sender did not send", rx.name)


def _loop(
    ex: Executor,
    receivers: list[tuple[EdgeReceiver, str, str, str]],
    link: ControlLink,
    report=None,
    live=None,
    senders: tuple[EdgeSender, ...] = (),
) -> None:
    """Alternate between remote inputs and local sources until everything has ended (or an abort).
    `report(t)`, when given, is told the replay position about three times a second; `live()`, when
    given, is called about every LIVE_S seconds (it sends the statistics so far). Every turn first
    sends what `senders` held back while their receivers were behind (EdgeSender.flush, not waiting)."""
    open_rx = list(receivers)
    held: dict[int, Chunk] = {}  # index in receivers -> an end-of-stream frame awaiting confirmation
    last_report = last_live = last_refused = 0.0
    busy = False  # an input left chunks behind last turn (TURN_CHUNKS): read on without waiting on the others
    while (open_rx or ex.active_sources) and not ex.stop.aborted:
        for tx in senders:
            tx.flush(0)
        now = time.monotonic()
        if report is not None and now - last_report > 0.3:
            last_report = now
            report(max(ex.source_time.values(), default=0.0))
        if live is not None and now - last_live >= LIVE_S:
            last_live = now
            live()
        if now - last_refused >= 1.0:  # CURVE handshakes refused, counted and said while busy too (EdgeReceiver)
            last_refused = now
            for rx, *_ in receivers:
                rx.count_refused()
        got = more = False
        for item in list(open_rx):
            rx, node_id, port, edge = item
            key = receivers.index(item)
            # Without local sources to read, wait on the one input rather than spin (several: all at once, below).
            chunk, n = rx.recv(timeout=0.05 if len(open_rx) == 1 and not (ex.active_sources or busy) else 0), 0
            while chunk is not None:
                got = True
                if key in held:  # a frame after an end-of-stream: that one was not the end
                    _reject_eos(rx)
                    del held[key]
                if chunk.eos:
                    held[key] = chunk
                else:
                    if chunk.origin_ns:  # the source's monotonic clock -> ours (another host: pipeline.clock)
                        chunk.origin_ns += link.shift(edge)
                    ex.deliver(node_id, port, chunk)
                if ex.stop.aborted:
                    return
                n += 1
                # a busy input (a signal) read until it ran dry left the others (markers) waiting: late_marker
                if n >= TURN_CHUNKS:
                    more = True
                    break
                chunk = rx.recv(timeout=0)
            if chunk is not None:  # its turn ended with chunks left: the end (a dead sender's too) waits for them
                continue
            eos, confirmed = held.get(key), link.ended.get(edge)
            if confirmed == SENDER_GONE:  # its process died: what came is all that will come
                held.pop(key, None)
                open_rx.remove(item)
                ex.deliver(node_id, port, eos or Chunk.end())
            elif eos is not None and confirmed is None and link.orphaned:  # the parent that confirms it is gone
                del held[key]
                open_rx.remove(item)
                ex.deliver(node_id, port, eos)
            elif eos is not None and confirmed is not None:
                del held[key]
                if eos.seq == confirmed:
                    open_rx.remove(item)
                    ex.deliver(node_id, port, eos)
                else:
                    _reject_eos(rx)
        busy = more
        # (2 ms on each in turn was 2 ms x the idle ones late on a busy one); stopped too: its inputs' drain (it spun)
        if not (got or busy or ex.active_sources) and len(open_rx) > 1:
            held_back = held or any(tx._held for tx in senders)
            wait_any([item[0] for item in open_rx], 0.002 if held_back else 0.05)
        if ex.active_sources or ex.stop:
            ex.step_sources()  # after a stop, this ends the sources
        elif not got and not open_rx:
            break
    ex.drain()


def main() -> int:
    stop = StopFlag().install()  # first thing: a stop during start-up is honoured, never half-done
    for signum in _EARLY_SIGNALS:
        stop._on_signal(signum, None)
    if os.environ.get("WAVEGRAPH_LOG_LEVEL"):  # `wavegraph run --log-level`
        logging.basicConfig(
            level=os.environ["WAVEGRAPH_LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    with open(sys.argv[1]) as f:
        plan = WorkerPlan.from_json(f.read())
    return run_worker(plan, stop)


def exit_now(code: int) -> None:
    """End the process without the interpreter's teardown. By now every node is closed (recordings
    finalised), every socket closed and the ZeroMQ context terminated; what remains is freeing modules
    and objects, which under heavy CPU load took longer than the parent's STOP_GRACE_S (1.3 to 1.9 s
    at load 16 on 2 cores, so the parent killed the worker on most stops and the stop took 3 to 5 s)."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
