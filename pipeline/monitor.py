"""The live monitor's data path: frames from `monitor` nodes to a hub that the web page reads.

A `monitor` node (nodes/io/monitor.py) decimates what it receives to what a screen can show and
publishes small binary frames: a JSON header (stream name, kind, times, channel names; never the data)
plus a raw float32 payload. In the process that runs the web server the frames go straight into the
hub; in a worker process they go over a ZeroMQ PUSH socket to the parent's PULL socket (endpoint in the
environment variable WAVEGRAPH_MONITOR). Both paths are leaky: a full queue drops the frame and counts
it (a non-blocking PUSH send fails at its high-water mark), so the monitor never back-pressures the graph.

The hub keeps, per stream, the last `HISTORY_S` seconds of decimated traces, the latest spectrum, the
last spectrogram/heatmap frames and the last markers, plus the latest per-node statistics and the graph
layout. The web page (pipeline/monitor_app.py) reads it: the traces about 30 times a second, the rest 4.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import zmq

ENV_ENDPOINT = "WAVEGRAPH_MONITOR"
HISTORY_S = 60.0
MAX_FRAMES = 2000  # per stream and kind; a bound on memory whatever the rates
SEND_HWM = 64
RATE_WINDOW_S = 2.0
REPORT_LAG_S = 1.0  # workers report every 0.5 s: counts older than this are taken as unchanged since


def encode(header: dict, payload: np.ndarray) -> list[bytes]:
    """[JSON header, raw float32 buffer]; the header names the payload's shape."""
    a = np.ascontiguousarray(payload, dtype=np.float32)
    return [json.dumps({**header, "shape": list(a.shape)}).encode(), a.tobytes()]


def decode(parts: list[bytes]) -> tuple[dict, np.ndarray]:
    """ValueError on anything that is not a well-formed frame."""
    if len(parts) != 2:
        raise ValueError(f"a monitor frame has 2 parts, got {len(parts)}")
    header = json.loads(parts[0])
    if not isinstance(header, dict) or not isinstance(header.get("stream"), str):
        raise ValueError("monitor frame header without a stream name")
    shape = tuple(int(s) for s in header.get("shape", ()))
    data = np.frombuffer(parts[1], dtype=np.float32)
    if data.size != math.prod(shape):
        raise ValueError(f"monitor frame payload of {data.size} values for shape {shape}")
    return header, data.reshape(shape)


@dataclass
class StreamView:
    """What the hub holds for one monitored stream."""

    name: str
    kind: str = "signal"
    rate: float = 0.0
    channels: list[str] = field(default_factory=list)
    n_channels: int = 0  # the stream's channels, of which `channels` (the first ones) are sent
    traces: deque = field(default_factory=lambda: deque(maxlen=MAX_FRAMES))  # (seq, t (n,), y (ch, n))
    frames: deque = field(default_factory=lambda: deque(maxlen=MAX_FRAMES))  # (seq, t, column (bins,))
    markers: deque = field(default_factory=lambda: deque(maxlen=200))  # (seq, t, label)
    spectrum: tuple | None = None  # (freqs (f,), power dB (ch, f))
    flagged: list[int] = field(default_factory=list)
    bins_label: str = ""
    seq: int = 0

    def add(self, header: dict, data: np.ndarray, seq: int) -> None:
        """`seq`: the hub's frame counter, increasing across all streams (the page's read cursor)."""
        what = header.get("what")
        self.seq = seq
        if what == "trace":
            t = np.asarray(header["t"], dtype=np.float64)
            self.traces.append((self.seq, t, data))
            self.flagged = [int(i) for i in header.get("flagged", [])]
            while self.traces and self.traces[-1][1][-1] - self.traces[0][1][0] > HISTORY_S:
                self.traces.popleft()
        elif what == "frames":
            for t, column in zip(header["t"], data):
                self.frames.append((self.seq, float(t), column))
            self.bins_label = header.get("bins_label", "")
        elif what == "spectrum":
            self.spectrum = (np.asarray(header["freqs"], dtype=np.float64), data)
        elif what == "markers":
            for t, label in zip(header["t"], header["labels"]):
                self.markers.append((self.seq, float(t), str(label)))
        if header.get("kind"):
            self.kind = header["kind"]
            self.rate = float(header.get("rate", 0.0))
            self.channels = list(header.get("channels", self.channels))
            self.n_channels = int(header.get("n_channels", len(self.channels)))


class MonitorHub:
    """The page's view of a run: streams, statistics, graph. Thread-safe; `add` never blocks for long."""

    def __init__(self, graph_info: dict | None = None):
        self.lock = threading.Lock()
        self.streams: dict[str, StreamView] = {}
        self.stats: dict[str, dict] = {}  # node id -> NodeStats dict plus "process", "rate_in", "rate_out"
        self.graph_info = graph_info or {"nodes": [], "edges": [], "paths": []}
        self.processes: dict[str, str] = {}  # node id -> process, every node of the run (the table's rows)
        self.frames_in = 0
        self.frames_bad = 0
        # trace frames a page got merged into a later update because it had not yet drawn the previous one, and
        # trace messages sent to a page that had not acknowledged the previous one in time (monitor_app.Session)
        self.traces_merged = 0
        self.traces_ack_timeouts = 0
        self.started = time.monotonic()
        self._counts: dict[str, deque] = {}  # node -> (time, chunks in, chunks out) over the rate window
        self._sub: zmq.Socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- input ---------------------------------------------------------------------------------
    def add(self, header: dict, data: np.ndarray) -> None:
        with self.lock:
            view = self.streams.get(header["stream"])
            if view is None:
                view = self.streams[header["stream"]] = StreamView(header["stream"])
            self.frames_in += 1
            view.add(header, data, self.frames_in)

    def update_stats(self, stats: dict[str, dict], processes: dict[str, str]) -> None:
        """Latest NodeStats dicts (cumulative counts). Rates are taken over the last RATE_WINDOW_S seconds:
        worker reports arrive at their own moments, so two updates close together may hold the same counts."""
        now = time.monotonic()
        with self.lock:
            for node, s in stats.items():
                seen = self._counts.setdefault(node, deque())
                at = float(s.get("at", now))  # when a worker's counts were so (its report), not when read
                if not seen or at > seen[-1][0]:
                    seen.append((at, s["chunks_in"], s["chunks_out"]))
                while len(seen) > 2 and seen[-1][0] - seen[1][0] >= RATE_WINDOW_S:
                    seen.popleft()
                t0, in0, out0 = seen[0]
                dt = max(seen[-1][0], now - REPORT_LAG_S) - t0  # a process that stopped reporting: falls
                row = dict(
                    s,
                    process=processes.get(node, "main"),
                    rate_in=(s["chunks_in"] - in0) / dt if dt > 0 else 0.0,
                    rate_out=(s["chunks_out"] - out0) / dt if dt > 0 else 0.0,
                )
                self.stats[node] = row

    def listen(self, context: zmq.Context, endpoint: str, secure=None) -> str:
        """Receive frames from worker processes on `endpoint` (PULL, bound) in a background thread;
        `secure(socket, True, endpoint)` first, when given (CURVE on tcp: pipeline.curve). Returns the
        bound endpoint (tcp port 0: the port chosen)."""
        sub = context.socket(zmq.PULL)
        sub.setsockopt(zmq.RCVHWM, 1000)
        sub.setsockopt(zmq.MAXMSGSIZE, 64 * 1024 * 1024)
        try:
            if secure is not None:
                secure(sub, True, endpoint)
            sub.bind(endpoint)
        except BaseException:
            sub.close(linger=0)  # left open, it would hang the context's term() in close() forever
            raise
        self._sub = sub
        self._thread = threading.Thread(target=self._receive, name="monitor-hub", daemon=True)
        self._thread.start()
        return sub.getsockopt_string(zmq.LAST_ENDPOINT)

    def _receive(self) -> None:
        assert self._sub is not None
        poller = zmq.Poller()
        poller.register(self._sub, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(100):
                continue
            parts = self._sub.recv_multipart()
            try:
                header, data = decode(parts)
                self.add(header, data)
            except (ValueError, KeyError, TypeError, IndexError):
                self.frames_bad += 1  # dropped and counted, never fatal
                continue

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._sub is not None:
            self._sub.close(linger=0)

    # --- output (read by the page) -------------------------------------------------------------
    def stream_names(self) -> list[str]:
        with self.lock:
            return sorted(self.streams)

    def snapshot(self, name: str) -> StreamView | None:
        with self.lock:
            return self.streams.get(name)


_LOCAL_HUB: MonitorHub | None = None  # the hub of this process, when it runs the web server
_REMOTE_HUB: tuple[str, object] | None = None  # (endpoint, CURVE set-up) of a hub on another host


def set_remote_hub(endpoint: str, secure=None) -> None:
    """A worker on another host (under --ray) sends to the parent's hub at `endpoint` (tcp, CURVE)."""
    global _REMOTE_HUB
    _REMOTE_HUB = (endpoint, secure) if endpoint else None


def set_local_hub(hub: MonitorHub | None) -> None:
    global _LOCAL_HUB
    _LOCAL_HUB = hub


class MonitorPublisher:
    """Used by `monitor` nodes: to the local hub, to the parent's hub over ZeroMQ, or nowhere."""

    def __init__(self):
        self.dropped = 0
        self._socket: zmq.Socket | None = None
        endpoint, secure = _REMOTE_HUB or (os.environ.get(ENV_ENDPOINT, ""), None)
        if _LOCAL_HUB is None and endpoint:
            sock = self._socket = zmq.Context.instance().socket(zmq.PUSH)
            sock.setsockopt(zmq.SNDHWM, SEND_HWM)
            sock.setsockopt(zmq.IMMEDIATE, 1)  # no reader connected: drop (and count), do not queue
            sock.setsockopt(zmq.LINGER, 0)
            if callable(secure):
                secure(sock, False, endpoint)
            sock.connect(endpoint)

    @property
    def active(self) -> bool:
        return _LOCAL_HUB is not None or self._socket is not None

    def send(self, header: dict, payload: np.ndarray) -> None:
        if _LOCAL_HUB is not None:
            _LOCAL_HUB.add(header, np.asarray(payload, dtype=np.float32))
        elif self._socket is not None:
            try:
                self._socket.send_multipart(encode(header, payload), flags=zmq.NOBLOCK)
            except zmq.Again:
                self.dropped += 1

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None


def graph_info(graph, processes: dict[str, str] | None = None) -> dict:
    """Nodes with their process, type and latency, the edges with their specs, and each path's latency
    (the monitor's own nodes left out: they are taps, not part of the processing)."""
    shown = [n for n in graph.order if graph.node_config(n).type != "monitor"]
    nodes = [
        {
            "id": n,
            "type": graph.node_config(n).type,
            "process": (processes or {}).get(n) or graph.group_of(n),
            "latency_ms": 1e3 * graph.nodes[n].latency_seconds,
        }
        for n in shown
    ]
    edges = []
    for e in graph.config.edges:
        if e.target_node not in shown:
            continue
        spec = graph.specs.get(e.source)
        label = f"{spec.kind} {spec.rate:g} Hz {'x'.join(map(str, spec.shape))}" if spec is not None else ""
        edges.append({"source": e.source_node, "target": e.target_node, "label": label})
    paths = [{"path": p, "latency_ms": 1e3 * graph.path_latency(p)} for p in graph.paths() if p[-1] in shown]
    return {"nodes": nodes, "edges": edges, "paths": paths}


def add_monitor_nodes(config):
    """`--monitor`: a `monitor` node on every connected output port, in the process of the port's node,
    fed through a drop_oldest edge. Returns a new GraphConfig; the file's own nodes are untouched."""
    from dataclasses import replace

    from .config import EdgeConfig, NodeConfig

    ports = list(dict.fromkeys(e.source for e in config.edges))
    nodes, edges = list(config.nodes), list(config.edges)
    processes = {g: list(members) for g, members in config.processes.items()}
    taken = {n.id for n in nodes}
    for port in ports:
        node_id = "monitor_" + port.replace(".", "_")
        if node_id in taken:
            continue
        nodes.append(NodeConfig(node_id, "monitor", {"name": port}, "restart", 0))
        edges.append(EdgeConfig(port, f"{node_id}.in", 8, "drop_oldest", 0))
        group = next(g for g, members in processes.items() if port.partition(".")[0] in members)
        processes[group].append(node_id)
    return replace(config, nodes=nodes, edges=edges, processes=processes)


def check_stream_names(graph) -> None:
    """GraphError when two monitor nodes would show one stream name: the page keeps a stream per name, so their
    frames went into one, interleaved (times back and forth, channel lists swapped at each frame)."""
    from .config import GraphError

    names: dict[str, list[str]] = {}
    for n in graph.order:
        if graph.node_config(n).type == "monitor":
            names.setdefault(graph.nodes[n].params.name or n, []).append(n)
    problems = []
    for name, ids in names.items():
        mine = [i for i in ids if graph.node_config(i).line] or ids  # the file's own (--monitor's taps have no line)
        if len(ids) > 1:
            said = f"monitor nodes {', '.join(repr(i) for i in ids)} all show the stream '{name}' on the page"
            problems.append(
                (
                    graph.config.file,
                    graph.node_config(mine[-1]).line,
                    said + " (the page would mix their frames into one)",
                    f"give each its own name, e.g. params: {{name: {mine[-1]}}}"
                    + (" (--monitor names its taps by their port)" if len(mine) < len(ids) else ""),
                )
            )
    if problems:
        raise GraphError(problems)


def uses_monitor(config) -> bool:
    return any(n.type == "monitor" for n in config.nodes)


class LiveMonitor:
    """Serves the page for one run: the hub, the web server, and the route frames take to the hub
    (directly in-process; a PUSH/PULL socket from workers, announced to them in the environment)."""

    def __init__(self, graph, host: str = "127.0.0.1", port: int = 0, multiprocess: bool = True, remote: bool = False):
        """`remote`: the workers run on other hosts (--ray): the hub listens where listen_remote() says."""
        from .monitor_server import start_server

        check_stream_names(graph)
        taps_last = sorted(graph.order, key=lambda n: graph.node_config(n).type == "monitor")  # the table's order
        self.processes = {n: graph.group_of(n) if multiprocess else "main" for n in taps_last}
        self.hub = MonitorHub(graph_info(graph, self.processes))
        self.hub.processes = dict(self.processes)
        self.context: zmq.Context | None = None
        self._endpoint_file = ""
        self._stop_server = None
        try:
            if remote:
                self.context = zmq.Context()
            elif multiprocess:
                import tempfile

                from .endpoints import socket_dir

                self.context = zmq.Context()
                folder = tempfile.mkdtemp(prefix="wgmon-", dir=socket_dir(os.path.join("wgmon-xxxxxxxx", "monitor")))
                self._endpoint_file = os.path.join(folder, "monitor")
                endpoint = "ipc://" + self._endpoint_file
                self.hub.listen(self.context, endpoint)
                os.environ[ENV_ENDPOINT] = endpoint
            else:
                set_local_hub(self.hub)
            self.url, self._stop_server = start_server(self.hub, host, port)
        except BaseException:
            self.close()
            raise

    def observe(self, stats: dict[str, dict]) -> None:
        self.hub.update_stats(stats, self.processes)

    def listen_remote(self, endpoint: str, secure=None) -> str:
        """Listen for workers on other hosts on `endpoint` (tcp on the driver's address, CURVE through
        `secure`: pipeline.placement); the bound endpoint, which their plans name."""
        assert self.context is not None, "LiveMonitor(remote=True)"
        return self.hub.listen(self.context, endpoint, secure)

    def close(self) -> None:
        import shutil

        if self._stop_server is not None:
            self._stop_server()
        self.hub.close()
        set_local_hub(None)
        os.environ.pop(ENV_ENDPOINT, None)
        if self.context is not None:
            self.context.term()
        if self._endpoint_file:
            shutil.rmtree(os.path.dirname(self._endpoint_file), ignore_errors=True)
