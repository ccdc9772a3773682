"""Runs a set of configured nodes that share one process: the core of both runners.

The executor moves chunks; it does no maths. It assigns per-edge sequence numbers, ORs gap flags from
inputs into outputs, propagates end-of-stream (calling `input_ended(port)` when one input of several
ends, `finish()` once all of a node's inputs ended),
paces replayed sources, applies each node's `on_error` policy and keeps the per-node statistics.
Delivery is a FIFO, so a run is deterministic. Edges whose target lives in another process are handed
to `send_remote(edge, chunk)` (the multi-process runner plugs its ZeroMQ senders in there).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import fields, replace

import numpy as np

from .chunk import Chunk
from .config import EdgeConfig, GraphConfig
from .followers import last_reads
from .node import Node, Sink, Source
from .node_stats import NodeStats, _hist  # NodeStats: importable from here as before
from .spec import SpecError
from .stop_flag import StopFlag
from .stop_iteration import stop_iteration_fix
from .stuck import HINT as _STUCK_HINT
from .stuck import NodeStuck
from .time_order import passed_on, signal_outputs, went_back
from .wire import WireError, check_against_spec, dtype_code

log = logging.getLogger("wavegraph.executor")
# What a node's code may raise that fails that node: sys.exit() too (in one process it ended the whole program with exit 0
# and no word; in a worker, the graph drained as if the stream had ended: exit 0, the rest of the data never read).
# A KeyboardInterrupt too: during a run Ctrl-C only sets the StopFlag, so one raised in a node is the node's own (in one
# process it ended the run as a Ctrl-C does: 'stopped (Ctrl-C)', exit 130, no summary, no word of the node).
NODE_ERRORS = (Exception, SystemExit, KeyboardInterrupt)
_FOREIGN = ">" if sys.byteorder == "little" else "<"  # the byte order of an array from a file of the other kind
_EXIT_HINT = "fix: a node may not end its process (sys.exit, exit): raise an exception, or return None from read() to end a source\n"
_INTERRUPT_HINT = "fix: a node may not raise KeyboardInterrupt (Ctrl-C stops a run by itself, draining the graph): raise an exception\n"


def _hint() -> str:
    """The fix said after the traceback of a node that ended its process or interrupted the run itself."""
    kind = sys.exc_info()[0]
    if kind is NodeStuck:
        return _STUCK_HINT
    return _EXIT_HINT if kind is SystemExit else _INTERRUPT_HINT if kind is KeyboardInterrupt else ""


_READ_ONLY_HINT = (
    "fix: a node's inputs are read-only (from another process they are shared memory; another node may get the same "
    "array): copy before changing one, x = chunk.data.copy(), or write the result to a new array\n"
)
# Executor._send copies a chunk field by field (dataclasses.replace cost 0.65 us more per chunk and edge): a new field
# of Chunk must be copied there too
_CHUNK_FIELDS = ("data", "t0", "seq", "gap", "eos", "origin_ns")
assert tuple(f.name for f in fields(Chunk)) == _CHUNK_FIELDS, "Executor._send copies Chunk's fields one by one"
_HERE = os.path.dirname(os.path.abspath(__file__))  # the runtime's own frames, left out of where a node failed


def _not_outputs(node: Node, outs, method: str = "process() (or finish())") -> str:
    """What a node returned that is not {output port: Chunk of a numpy array}, and what to return."""
    said = f"returned {type(outs).__name__}, not a dict of its outputs"
    if isinstance(outs, dict):
        for port, c in outs.items():
            if port not in node.outputs:
                said = f"returned the port {port!r}, which it does not have"
            elif not isinstance(c, (Chunk, type(None))):
                said = f"returned {type(c).__name__} on {port!r} where a Chunk goes"
            elif c is not None and not isinstance(c.data, np.ndarray):
                said = f"returned a Chunk of {type(c.data).__name__} on {port!r}"
            elif c is not None and not isinstance(c.t0, _SECONDS):
                said = f"returned a Chunk on {port!r} whose t0 is {type(c.t0).__name__} {c.t0!r}, not seconds"
                ports = ", ".join(f"'{p}': Chunk(array, t0)" for p in node.outputs)
                return (
                    f"{type(node).__name__}.{method} {said}; return {{{ports}}} with t0 the stream time in seconds "
                    "of its first sample, a float (from a datetime: (when - start).total_seconds())"
                )
            elif c is not None and c.t0 in _INFINITE:  # across processes the frame was dropped, its end of stream too
                said = f"returned a Chunk on {port!r} whose t0 is {c.t0!r}, not a stream time"
                return (
                    f"{type(node).__name__}.{method} {said}; give each chunk the time in seconds of its first sample "
                    "(float('nan') for a chunk without a time: the nodes downstream place it from the next timed one)"
                )
            else:
                continue
            break
    ports = ", ".join(f"'{p}': Chunk(array, t0)" for p in node.outputs)
    end = ", None at the end" if method == "read()" else ""
    return f"{type(node).__name__}.{method} {said}; return {{{ports}}} ({{}} for no output yet{end})"


# what a chunk's t0 may be: seconds, as a number (np.float32, np.int64 too); a datetime, None or text was a TypeError
# from deep in the executor ("'>' not supported between 'datetime.datetime' and 'float'") or the capture, after the run
_SECONDS = (float, int, np.floating, np.integer)
_NEVER = float("-inf")  # the t0 before an input's first chunk
_INFINITE = (float("inf"), _NEVER)  # no chunk's t0 (NaN is: a chunk without a time, wire.py carries it too)


class NodeFailure(RuntimeError):
    """A node raised and its policy is `on_error: stop`."""

    def __init__(self, node_id: str, node_type: str, process: str, tb: str):
        self.node_id, self.node_type, self.process, self.tb = node_id, node_type, process, tb
        super().__init__(f"node '{node_id}' ({node_type}) in process '{process}' failed:\n{tb}")


class Executor:
    def __init__(
        self,
        config: GraphConfig,
        nodes: dict[str, Node],
        process: str = "main",
        send_remote: Callable[[EdgeConfig, Chunk], None] | None = None,
        speed: float | None = None,
    ):
        self.config, self.nodes, self.process = config, nodes, process
        self.send_remote = send_remote
        self.speed = speed  # None: as fast as possible; 1.0: real time
        self.stats = {n: NodeStats() for n in nodes}
        self.on_error = {nc.id: nc.on_error for nc in config.nodes}
        self.types = {nc.id: nc.type for nc in config.nodes}
        self.out_edges: dict[tuple[str, str], list[EdgeConfig]] = {}
        for e in config.edges:
            self.out_edges.setdefault((e.source_node, e.source_port), []).append(e)
        self.seq = {e: 0 for e in config.edges}  # the next sequence number of each edge
        self.open_inputs = {n: set(node.inputs) for n, node in nodes.items()}
        self.active_sources = [n for n, node in nodes.items() if isinstance(node, Source)]
        # sources that end with the others of this process (Source.ends_with_others), when there are others
        followers = {n for n in self.active_sources if getattr(nodes[n], "ends_with_others", False)}
        self.followers = followers if len(followers) < len(self.active_sources) else set()
        if followers and not self.followers:
            log.warning(
                "%s: ends_with_others, but no other source is in this process to end with: it ends only when its "
                "own stream does; put it in the process of the source it follows",
                ", ".join(sorted(followers)),
            )
        self.pending_gap: dict[str, set[str]] = {n: set() for n in nodes}  # per node, the outputs owed a gap flag
        self.queue: deque[tuple[str, str, Chunk]] = deque()
        self.start_ns: int | None = None
        self.source_time = {n: 0.0 for n in self.active_sources}
        # (node, port) -> (dtype, is a signal, shape without the time axis) of the last chunk that fitted its spec:
        # chunks of any length on that input then skip the check
        self.fits: dict[tuple[str, str], tuple] = {}
        self.gap_next: set[tuple[str, str]] = set()  # inputs whose last chunk was dropped: flag the next one
        self.gap_held: set[tuple[str, str]] = set()  # inputs whose gap came on a chunk of no samples: on the next one
        self.t_last = signal_outputs(nodes)  # each signal output's last t0: one may not go back (time_order.py)
        self.t_in: dict[tuple[str, str], float] = {}  # each input's last t0: an output that went back after it did
        self.stop = StopFlag()  # runners install it; checked between chunks and while pacing
        self.clock = time.monotonic_ns  # origin stamps and sink latency (a worker gives its LocalClock's)

    # --- public ------------------------------------------------------------------------------
    def deliver(self, node_id: str, port: str, chunk: Chunk) -> None:
        """Hand a chunk to a local node's input and run everything it triggers."""
        self.queue.append((node_id, port, chunk))
        self.drain()

    def step_sources(self) -> bool:
        """Read one chunk from each active local source (pacing replays). False when none is left.
        Once a stop is requested, the sources end instead (end-of-stream follows what they sent); once
        only sources that end with the others (Source.ends_with_others) are left, they end."""
        for node_id in list(self.active_sources):
            if self.stop:
                self.end_sources()
                return False
            self._read_source(node_id)
            self.drain()
        if self.stop:  # asked during the reads (a paced wait, a device's block): the in-process runner stops calling
            self.end_sources()  # now, so end them here, or no end-of-stream goes down and no node's finish() runs
            return False
        if self.followers and self.active_sources and self.followers.issuperset(self.active_sources):
            last_reads(self)  # only those are left: what they hold and what is on its way, then the end
            self.end_sources()
        return bool(self.active_sources) and not self.stop

    def end_sources(self) -> None:
        """End every local source now, as if it had reached its end, and drain what follows."""
        for node_id in list(self.active_sources):
            self.active_sources.remove(node_id)
            self._end(node_id)
        self.drain()

    def run(self) -> None:
        """Run until every local source has ended and every queued chunk is processed."""
        while self.step_sources():
            pass
        self.drain()

    def open(self) -> None:
        """Open every node (Node.open: a file's data, a device); called once by the runner of this
        process (in-process runner, worker after the start barrier), before the first chunk. A node
        that cannot open fails the run (NodeFailure, naming it; a SpecError, which names what and the fix,
        without the traceback: a sound card gone since the build). Sources open last: a live source (a microphone)
        starts producing when it opens, and what it captured while a slow sink (a speaker's stream: ~30 ms on JACK)
        was still opening stayed queued in that sink's jitter buffer as extra latency for the whole run."""
        order = sorted(self.nodes.items(), key=lambda item: isinstance(item[1], Source))  # stable: others first
        for n, node in order:
            try:
                node.open()
            except SpecError as e:
                raise NodeFailure(n, self.types.get(n, type(node).__name__), self.process, str(e)) from None
            except NODE_ERRORS:  # noqa: BLE001 — any failure to open is this node's failure
                tb = traceback.format_exc() + _hint()
                raise NodeFailure(n, self.types.get(n, type(node).__name__), self.process, tb) from None

    def close(self) -> None:
        """Close every node (recorders finalise their files). Safe to call twice."""
        errors = []
        for n, node in self.nodes.items():
            try:
                node.close()
            except NODE_ERRORS as e:  # noqa: BLE001 — report all, close the rest
                frames = traceback.extract_tb(e.__traceback__)  # where: a node's own close() may simply have a bug
                at = ([f for f in frames if os.path.dirname(f.filename) != _HERE] or frames)[-1]
                errors.append(f"{n}: {e} ({type(e).__name__} at {at.filename}:{at.lineno} in {at.name})")
        if errors:
            raise RuntimeError("errors while closing nodes: " + "; ".join(errors))

    def collect_counters(self) -> None:
        for n, node in self.nodes.items():
            self.stats[n].counters.update(node.counters)

    def snapshot(self) -> dict[str, dict]:
        """node id -> NodeStats.to_dict() with the nodes' own counters so far (live statistics while
        running; changes nothing)."""
        out = {}
        for n, st in self.stats.items():
            d = st.to_dict()
            d["counters"].update(getattr(self.nodes[n], "counters", {}))
            out[n] = d
        return out

    # --- internals -----------------------------------------------------------------------------
    def drain(self) -> None:
        while self.queue and not self.stop.aborted:
            self._run(*self.queue.popleft())

    def _read_source(self, node_id: str) -> bool:
        """Read one chunk of a source and send it on; whether it gave one."""
        node = self.nodes[node_id]
        assert isinstance(node, Source)  # active_sources holds only sources
        t = time.perf_counter_ns()
        try:
            outs = node.read()
        except NODE_ERRORS:  # noqa: BLE001
            outs = self._failed(node_id, method="read")
            if outs is None:
                return False
        _hist(self.stats[node_id].compute_ns).record(time.perf_counter_ns() - t)
        if outs is None:
            self.active_sources.remove(node_id)
            self._end(node_id)
            return False
        if outs.__class__ is not dict or any(  # an array, a Chunk, a datetime t0
            c.__class__ is not Chunk or not isinstance(c.t0, _SECONDS) or c.t0 in _INFINITE for c in outs.values()
        ):
            raise NodeFailure(node_id, self.types[node_id], self.process, _not_outputs(node, outs, "read()"))
        if not outs:
            return False
        t0 = min(c.t0 for c in outs.values())
        self.source_time[node_id] = max(self.source_time[node_id], t0)
        if self.speed is not None and not node.live and t0 == t0:  # (a chunk without a time, NaN: sent at once; its
            if self.start_ns is None:  # int() was a ValueError that ended the run with a traceback)
                self.start_ns = time.monotonic_ns() - int(t0 / self.speed * 1e9)
            due = self.start_ns + t0 / self.speed * 1e9
            while not self.stop and (wait := due - time.monotonic_ns()) > 0:
                time.sleep(min(wait / 1e9, 0.05))
            late_us = int((time.monotonic_ns() - due) / 1e3)  # how late this paced chunk leaves
            counters = self.stats[node_id].counters
            if late_us > counters.get("late_us_max", 0):
                counters["late_us_max"] = late_us
        now = self.clock()
        outs = {p: c if c.origin_ns else replace(c, origin_ns=now) for p, c in outs.items()}
        self._emit(node_id, outs, gap=False, origin_ns=now)
        return True

    def _run(self, node_id: str, port: str, chunk: Chunk) -> None:
        node, st = self.nodes[node_id], self.stats[node_id]
        if port not in self.open_inputs[node_id]:
            return  # data after end-of-stream on this input: ignore
        data = chunk.data
        if data.size:
            if data.dtype.byteorder == _FOREIGN:  # np.frombuffer(b, ">f4"): native, as it arrives from another process
                chunk = replace(chunk, data=(data := data.astype(data.dtype.newbyteorder("="))))  # (it was dropped)
            fit = self.fits.get((node_id, port))
            if fit is None or data.dtype != fit[0] or (data.shape[:-1] if fit[1] else data.shape[1:]) != fit[2]:
                if not self._fits(node_id, port, chunk):
                    if not chunk.eos:
                        return
                    chunk = replace(Chunk.end(chunk.t0), seq=chunk.seq)  # the data goes, the end of stream stays
        if self.gap_next and (node_id, port) in self.gap_next:
            self.gap_next.discard((node_id, port))
            chunk = replace(chunk, gap=True)
        held_gap = bool(self.gap_held) and (node_id, port) in self.gap_held and chunk.data.size > 0
        if held_gap:  # a gap that came on a chunk of no samples (counted, and end_segment called, then)
            self.gap_held.discard((node_id, port))
            held_gap, chunk = not chunk.gap, replace(chunk, gap=True)
        if chunk.data.size or not chunk.eos:  # the end-of-stream marker alone is not a chunk in the summary
            st.chunks_in += 1
        if chunk.gap and not held_gap:
            st.gaps += 1
            try:  # the segment before the gap finished first (node.end_segment: the enhancer's tail), not flagged
                ends = node.end_segment(chunk.t0 if chunk.data.size else None)  # (the tail stamped before it)
            except NODE_ERRORS:  # noqa: BLE001
                ends = self._failed(node_id, f"in end_segment() before the gap at t0={chunk.t0:.6g} s") or {}
            self._emit(node_id, ends, False, chunk.origin_ns)
        if chunk.data.size:
            back = chunk.t0 <= self.t_in.get((node_id, port), _NEVER)  # (its source's times jittered back)
            self.t_in[(node_id, port)] = chunk.t0
            t = time.perf_counter_ns()
            held: tuple | list[dict[str, Chunk]] = ()
            try:
                outs = node.process({port: replace(chunk, eos=False) if chunk.eos else chunk})
                if node.holds_more:  # one marker time per chunk: the others out now, not with later chunks
                    held = list(iter(node.more, {}))
            except NODE_ERRORS:  # noqa: BLE001
                at = f"in process() of the chunk at t0={chunk.t0:.6g} s on '{port}' (its chunk {chunk.seq}, from 0)"
                outs, held = self._failed(node_id, at) or {}, ()
            done = time.perf_counter_ns()
            _hist(st.compute_ns).record(done - t)
            if isinstance(node, Sink) and chunk.origin_ns:
                _hist(st.latency_ns).record(self.clock() - chunk.origin_ns)
            self._emit(node_id, outs, chunk.gap, chunk.origin_ns, back)
            for extra in held:
                self._emit(node_id, extra, False, chunk.origin_ns, back)
        elif chunk.gap:  # an empty chunk (an end-of-stream marker, say) after lost data: the node gets the gap on
            self.pending_gap[node_id].update(node.outputs if node.propagates_gaps else ())  # this input's next chunk
            self.gap_held.add((node_id, port))  # with samples (it went on across it, a model node keeping its state)
        if chunk.eos:
            self.open_inputs[node_id].discard(port)
            if self.open_inputs[node_id]:
                self._input_ended(node_id, port)
            else:
                self._end(node_id)

    def _fits(self, node_id: str, port: str, chunk: Chunk) -> bool:
        """Whether a chunk fits its input's spec, as a receiver checks a frame (wire.check_against_spec): one
        whose shape or dtype does not (a source that changed its channel count mid-run, a dtype it did not
        declare) is dropped and counted on the receiving node (rx_rejected_spec_shape/_dtype), and the
        next chunk on that input is flagged gap: in one process as across processes, where the receiver drops
        it. Without this the node raised (the run failed naming it, not the sender) or cast complex to real. A dtype
        no frame carries (object, float128) is counted on the sending node instead (tx_rejected_dtype, and a drop), as
        an edge between processes drops it at its sender (it was rx_rejected_spec_dtype here, tx_ there)."""
        spec = self.nodes[node_id].in_specs.get(port)
        if spec is None:
            return True
        try:
            check_against_spec(chunk.data, spec)
        except WireError as e:
            src = self._unsendable_from(node_id, port, chunk, e)
            if src is not None:  # a dtype no frame carries: where an edge between processes drops it, at its sender
                st = self.stats[src]  # (tx_rejected_dtype and a drop: EdgeSender._unsendable, worker._merge_transport)
                st.drops += 1
                counters, names = st.counters, ("tx_rejected_dtype",)
            else:
                counters = self.stats[node_id].counters
                names = ("rx_rejected", f"rx_rejected_{e.reason}")  # the names a worker gives its receivers' counts
            if names[-1] not in counters:
                log.warning("%s", self._misfit(node_id, port, e, src))
            for key in names:
                counters[key] = counters.get(key, 0) + 1
            self.gap_next.add((node_id, port))
            return False
        signal = spec.kind == "signal"
        self.fits[(node_id, port)] = (
            chunk.data.dtype,
            signal,
            chunk.data.shape[:-1] if signal else chunk.data.shape[1:],
        )
        return True

    def _unsendable_from(self, node_id: str, port: str, chunk: Chunk, e: WireError) -> str | None:
        """The node in this process that sent a chunk of a dtype no wire code carries (object, float128, str), which
        a worker drops at its edge's sender; None for any other misfit (counted on the receiving node, as a worker's
        receiver counts it). Both runners then count it under one name, tx_rejected_dtype on the sending node."""
        if e.reason != "spec_dtype":
            return None
        try:
            dtype_code(chunk.data.dtype)
            return None
        except WireError:
            pass
        edge = next((x for x in self.config.edges if x.target_node == node_id and x.target_port == port), None)
        return edge.source_node if edge is not None and edge.source_node in self.stats else None

    def _misfit(self, node_id: str, port: str, e: WireError, unsendable: str | None = None) -> str:
        """What a dropped chunk's warning says: the node that sent it and the fix, when it is in this process (a node
        of one's own returning another shape or dtype than its configure() declared lost all its output, said as
        the receiving input's only, '_capture0.in: a chunk that does not fit the input is dropped')."""
        said = f"{node_id}.{port}: a chunk that does not fit the input is dropped ({e})"
        edge = next((x for x in self.config.edges if x.target_node == node_id and x.target_port == port), None)
        if edge is None or edge.source_node not in self.nodes:
            return said
        src = edge.source_node
        counted = f"rx_rejected on '{node_id}'"
        if unsendable:
            counted = f"tx_rejected_dtype on '{src}': no edge between processes carries that dtype"
        return (
            f"edge {edge.source} -> {edge.target}: node '{src}' ({self.types.get(src, '?')}) sent a chunk that does "
            f"not fit the spec it declared for '{edge.source_port}' ({e}): dropped, as is every such chunk (counted "
            f"{counted}); fix: make '{src}' return the shape and dtype its configure() declares for "
            f"'{edge.source_port}' (or declare what it returns)"
        )

    def _input_ended(self, node_id: str, port: str) -> None:
        node, held = self.nodes[node_id], ()
        try:
            outs = node.input_ended(port)
            # what the input's end completes, all out now as after process() (join: a run held for the next chunk was
            # dropped unsaid when that chunk restarted the reference)
            if node.holds_more:
                held = list(iter(node.more, {}))
        except NODE_ERRORS:  # noqa: BLE001
            outs, held = self._failed(node_id) or {}, ()
        self._emit(node_id, outs, False, 0)
        for extra in held:
            self._emit(node_id, extra, False, 0)

    def _end(self, node_id: str) -> None:
        try:
            tails = self.nodes[node_id].finish_all()
        except NODE_ERRORS:  # noqa: BLE001
            tails = [self._failed(node_id) or {}]
        for tail in tails:
            self._emit(node_id, tail, False, 0)
        for port in self.nodes[node_id].outputs:
            self._send(node_id, port, Chunk.end(self.source_time.get(node_id, 0.0)))

    def _failed(self, node_id: str, where: str = "", method: str = ""):
        """A node raised: fail the run naming it, `where` (which chunk) and the fix, or restart it (on_error)."""
        kind, error = sys.exc_info()[:2]
        # an error marked as saying its own fix (node.explained: a recorder's full disk, what it kept, where, `wavegraph
        # recover`) is said as it is: the runtime's frames before it and 'fix: correct the node' after it told nothing
        said = getattr(error, "explained", False) and kind not in (NodeStuck, SystemExit, KeyboardInterrupt)
        tb = f"{where}\n" * bool(where)
        tb += "".join(traceback.format_exception_only(error)) if said else traceback.format_exc() + _hint()
        if kind is ValueError and "read-only" in str(error):
            tb += _READ_ONLY_HINT
        elif stop_iteration_fix(error) and not said:  # next() on a spent iterator: was no fix at all (read())
            tb += f"fix: {stop_iteration_fix(error, method)}\n"
        elif where and not _hint() and not said:
            tb += "fix: correct the node, or give it on_error: restart to drop such chunks and go on\n"
        if self.on_error[node_id] != "restart" or sys.exc_info()[0] is NodeStuck:  # stopped: not restarted
            raise NodeFailure(node_id, self.types[node_id], self.process, tb)
        try:
            self.nodes[node_id].reset()
        except NODE_ERRORS:  # noqa: BLE001 — a node that cannot restart fails as one that may not
            raise NodeFailure(
                node_id,
                self.types[node_id],
                self.process,
                f"{tb}\non_error: restart, but reset() failed:\n{traceback.format_exc(chain=False)}",
            ) from None
        if not self.stats[node_id].restarts:  # why it restarts, once: later failures are counted (restarts)
            log.warning(
                "node '%s' (%s) in process '%s' failed and restarts (on_error: restart; further failures are "
                "counted, not logged):\n%s",
                node_id,
                self.types[node_id],
                self.process,
                tb.rstrip(),
            )
        self.stats[node_id].restarts += 1
        self.stats[node_id].drops += 1  # the chunk that failed is lost
        self.pending_gap[node_id].update(self.nodes[node_id].outputs)
        return None

    def _emit(self, node_id: str, outs: dict[str, Chunk], gap: bool, origin_ns: int, back_in: bool = False) -> None:
        """Send a node's outputs with `gap` (its input's flag) ORed in. A gap that produces no output on a port
        (a node holding data back, e.g. for a window) is kept for that port's next chunk (an enhancer's vad, a frame
        every 160 samples, lost the flag when its `out` went first). A node with
        `propagates_gaps = False` flags its outputs itself (a restart still flags its next output). `back_in`: the
        input chunk's t0 was not after the one before it (an output going back then is passed on, time_order.py)."""
        node = self.nodes[node_id]
        if outs.__class__ is not dict:  # a node of one's own returning None, an array or a Chunk: was an AttributeError
            raise NodeFailure(node_id, self.types[node_id], self.process, _not_outputs(node, outs))
        if not node.propagates_gaps:
            gap = False
        pending = self.pending_gap[node_id]
        if gap:
            pending.update(node.outputs)
        for port, chunk in outs.items():
            if chunk is None:
                continue
            if (
                port not in node.outputs
                or chunk.__class__ is not Chunk
                or not isinstance(chunk.data, np.ndarray)
                or not isinstance(chunk.t0, _SECONDS)
                or chunk.t0 in _INFINITE
            ):
                # an unknown port's data was dropped without a word; an array for a Chunk was an AttributeError
                raise NodeFailure(node_id, self.types[node_id], self.process, _not_outputs(node, outs))
            gap_out = gap or chunk.gap or port in pending
            if (last := self.t_last.get((node_id, port))) is not None and chunk.data.size:  # going back: not unless
                if chunk.t0 <= last and not gap_out and not passed_on(node_id, node, port, chunk.t0, last, back_in):
                    said = went_back(node, port, chunk.t0, last)  # flagged gap, or the project's node (time_order.py)
                    raise NodeFailure(node_id, self.types[node_id], self.process, said)
                self.t_last[(node_id, port)] = chunk.t0
            pending.discard(port)
            if chunk.eos:  # the end of a stream is the runtime's to send (_end): a node's flag ended its output there,
                chunk = replace(chunk, eos=False)  # the later chunks ignored (in one process) or rejected (across)
            if gap_out != chunk.gap or (origin_ns and not chunk.origin_ns):
                chunk = replace(chunk, gap=gap_out, origin_ns=chunk.origin_ns or origin_ns)
            if chunk.data.size or not chunk.eos:
                self.stats[node_id].chunks_out += 1
            self._send(node_id, port, chunk)

    def _send(self, node_id: str, port: str, chunk: Chunk) -> None:
        edges = self.out_edges.get((node_id, port), ())
        data = chunk.data
        if edges and data.flags.writeable:
            # consumers get a read-only view (no copy), as a chunk from another process is: a node that changed its
            # input in place changed what the other consumers of this output (and a capture, the user's array) got
            data = data.view()
            data.setflags(write=False)  # (flags.writeable = False costs 130 ns more)
        for e in edges:
            # Chunk(...), not dataclasses.replace: 0.65 us less per chunk and edge (_emit checked it is a Chunk;
            # _CHUNK_FIELDS)
            out = Chunk(data, chunk.t0, self.seq[e], chunk.gap, chunk.eos, chunk.origin_ns)
            self.seq[e] += 1
            if e.target_node in self.nodes:
                self.queue.append((e.target_node, e.target_port, out))
            elif self.send_remote is not None:
                self.send_remote(e, out)
