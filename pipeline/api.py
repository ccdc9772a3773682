"""Graphs from Python: build or load a graph, run it, get the streams back in memory.

    from wavegraph.pipeline.api import GraphBuilder

    g = GraphBuilder()
    src = g.add("file_source", path="dataset:eegmmidb-s001r02", chunk_size=16)
    bp = g.add("bandpass", src, l_freq=1.0, h_freq=40.0)     # connects src.out -> bp.in
    out = g.run(capture=[bp])                                  # in this process, as fast as possible
    out["bp.out"].data, out["bp.out"].times, out["bp.out"].spec

    out = GraphBuilder.from_yaml("configs/default.yaml").run(capture=["bp.out"])

No YAML and no files are needed. The graph goes through the same build checks as a YAML file (the
errors name the node and the fix) and the same executor, so the captured arrays are the ones a
recorder would have written. Capturing runs the graph in one process (`run(in_process=False)` runs the
YAML's process groups, but then nothing can be captured: use recorders).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import math
import numbers
import operator
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, SupportsIndex

import numpy as np

from .building import BUILDING, BuildStopped
from .chunk import Chunk
from .config import (
    DEFAULT_QUEUE,
    MAX_QUEUE,
    ON_ERROR,
    POLICIES,
    EdgeConfig,
    GraphConfig,
    GraphError,
    NodeConfig,
    load_config,
)
from .executor import StopFlag
from .node import Node, Sink
from .param_problems import PYTHON
from .spec import StreamSpec


@dataclass
class Stream:
    """A captured stream: `data` with time on the spec's time axis, `times` (seconds) for every sample,
    frame or event, the `spec`, and the start times of chunks that followed a gap."""

    spec: StreamSpec
    data: np.ndarray
    times: np.ndarray
    gaps: list[float] = field(default_factory=list)


class Capture(Sink):
    """Keeps every chunk it receives, for GraphBuilder.run(capture=...)."""

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        self.spec = in_specs["in"]
        self.chunks: list[Chunk] = []
        return {}

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        chunk = inputs["in"]
        if chunk.data.size:  # a copy: a node may fill its next output into the array it returned (a buffer of its own,
            # which a recorder had written by then): every chunk kept was the last one's values, the run's end state
            self.chunks.append(chunk.with_data(chunk.data.copy()))
        return {}

    def stream(self) -> Stream:
        spec, axis = self.spec, self.spec.time_axis
        gaps = [c.t0 for c in self.chunks if c.gap]
        if not self.chunks:
            shape = (*spec.shape, 0) if spec.kind == "signal" else (0, *spec.shape)
            return Stream(spec, np.zeros(shape, dtype=spec.dtype), np.zeros(0), gaps)
        data = np.concatenate([c.data for c in self.chunks], axis=axis)
        if spec.kind == "events":
            times = data[:, 0].astype(np.float64)
        elif spec.rate:
            times = np.concatenate([c.t0 + np.arange(c.data.shape[axis]) / spec.rate for c in self.chunks])
        else:
            times = np.array([c.t0 for c in self.chunks for _ in range(c.data.shape[axis])])
        return Stream(spec, data, times, gaps)


class Streams(dict[str, Stream]):
    """What run() returns: {"node.port": Stream}. A key that is not there says which are (a bare node id, as
    capture= takes it, was a bare KeyError: 'bandpass1')."""

    def __missing__(self, key):
        ports = [p for p in self if isinstance(key, str) and p.split(".")[0] == key]
        fix = f"use out[{ports[0]!r}]" if ports else f"captured: {', '.join(self) or 'nothing'}; add it to capture="
        raise KeyError(f"no captured stream {key!r}: {fix}")


_CAPTURE = f"{__name__}:Capture"
_STOP = "stop()"  # StopFlag.why of GraphBuilder.stop()
log = logging.getLogger("wavegraph.api")


def _ports_may_follow_params(cls: type) -> bool:
    """Whether a node class's instance may have other ports than the class: a class of its own below Node defines
    __init__ (join, recorder), or `inputs` is no plain tuple (a property)."""
    for klass in cls.__mro__:
        if klass is Node:
            return False
        if "__init__" in klass.__dict__ or not isinstance(klass.__dict__.get("inputs", ()), (tuple, list)):
            return True
    return True  # (not a Node: built, as before)


def _python(value: Any, arrays: bool = False) -> Any:
    """A parameter as a graph file gives it, inside lists, tuples and dicts too: a pathlib.Path as its text (was
    "Input should be a valid string"), numpy's scalars (h_freq from np.arange, np.float32, np.bool_) as Python's
    (in_process=False refused np.int64 as 'cannot be sent to its worker: give numbers'; from_yaml's overrides wrote
    it as the text '16', refused as 'text, not a number: write it without quotes'); `arrays`: an array as a list
    too (from_yaml: YAML holds no array). Text is what goes to worker processes (JSON)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic) or (arrays and isinstance(value, np.ndarray)):
        return value.tolist()
    if type(value) in (list, tuple):
        return type(value)(_python(v, arrays) for v in value)
    if type(value) is dict:
        return {_python(k, arrays): _python(v, arrays) for k, v in value.items()}
    return value


def _yaml_text(value: Any) -> str:
    """A value as --set reads it back (YAML): texts quoted as JSON quotes them ('1e3' stays text), NaN and infinities as
    YAML's .nan and .inf (JSON's NaN and Infinity were read back as texts: 'text, not a number'), lists and mappings in
    flow style; another object, its text."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml_text(k)}: {_yaml_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, default=str, ensure_ascii=False)


class _NotThisThread(logging.Filter):
    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.get_ident() != self.thread


@contextlib.contextmanager
def _quiet_this_thread() -> Iterator[None]:
    """Drop the log records this thread makes meanwhile, not another thread's (a graph running beside it: was
    logging.disable, process-wide): a filter on every logger and handler, each list swapped whole (a thread reading
    the old one meanwhile keeps it). Warnings are left as they are (catch_warnings is process-wide too): Python says
    one once per place."""
    quiet = _NotThisThread()
    loggers = [logging.root, *(x for x in logging.root.manager.loggerDict.values() if isinstance(x, logging.Logger))]
    handlers = {id(h): h for x in loggers for h in x.handlers}
    if logging.lastResort is not None:
        handlers[id(logging.lastResort)] = logging.lastResort
    them = [*loggers, *handlers.values()]
    for x in them:
        x.filters = [*x.filters, quiet]
    try:
        yield
    finally:
        for x in them:
            x.filters = [f for f in x.filters if f is not quiet]


class GraphBuilder:
    """A graph assembled in Python (or loaded from YAML) that runs and returns its streams."""

    def __init__(self, name: str = "python"):
        self.name = name
        self.nodes: list[NodeConfig] = []
        self.edges: list[EdgeConfig] = []
        self.processes: dict[str, list[str]] = {}
        self._file = PYTHON
        self._loaded: GraphConfig | None = None
        self._running: list[StopFlag] = []  # the runs going on (stop())

    @classmethod
    def from_yaml(
        cls, path: str | Path, overrides: Sequence[str] | Mapping[str, Any] | str | None = ()
    ) -> GraphBuilder:
        """A graph file, with `overrides` as `--set` takes them: ["rec.path=out/x.fif", ...], one such text, or
        {"rec.path": "out/x.fif"} (the values as Python gives them; or its items(), pairs)."""
        # a dict (was "--set: cannot read override 'rec.path'"), its items() or pairs (were "AttributeError: 'tuple' object
        # has no attribute 'partition'"), None (was 'not iterable'), one text (was read letter by letter)
        if overrides is None or isinstance(overrides, str):
            given: list[Any] = [] if overrides is None else [overrides]
        else:
            given = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
        if odd := [o for o in given if not isinstance(o, str) and not (isinstance(o, tuple) and len(o) == 2)]:
            fix = "pass texts ['node.param=value', ...] or a dict {'node.param': value}"
            raise GraphError([("--set", 0, f"override {odd[0]!r} is not text", fix)])
        texts = [o if isinstance(o, str) else f"{o[0]}={_yaml_text(_python(o[1], arrays=True))}" for o in given]
        config = load_config(path, texts)
        g = cls(config.name)
        g.nodes, g.edges, g.processes, g._file = (
            list(config.nodes),
            list(config.edges),
            dict(config.processes),
            config.file,
        )
        g._loaded = config  # hosts, transport, security and placement come along
        return g

    def add(self, type_: str, *inputs: str, id: str | None = None, on_error: str = "stop", **params) -> str:
        """Add a node; each input (a node id, or "node.port") connects to the new node's inputs in order.
        `on_error`: stop (default) or restart, as in a graph file (docs/yaml.md). Returns the new node's id. A mistake
        (an unknown type, input or id) raises GraphError and adds nothing."""
        if on_error not in ON_ERROR:  # was a parameter, refused at run with 'change it in the graph file'
            raise GraphError([(self._file, 0, f"on_error {on_error!r}", "pass on_error='stop' or 'restart'")])
        if not isinstance(type_, str) or not type_:  # g.add(None), g.add(Bandpass): was AttributeError: ... 'split'
            fix = "pass a name from `wavegraph nodes` (e.g. 'bandpass'), or 'module:Class' for a class of your own"
            if isinstance(type_, type):  # the class itself: its name as a graph file writes it
                fix = f"pass its name: '{getattr(type_, 'type_name', None) or f'{type_.__module__}:{type_.__qualname__}'}'"
            raise GraphError([(self._file, 0, f"node type {type_!r} is not a type name", fix)])
        stem, taken = type_.split(":")[-1].lower(), {n.id for n in self.nodes}  # an id of its own, not one given:
        # 'notch2' after a node given id='notch2' was 'used twice; fix: pass another id=', though none was passed
        free = (f"{stem}{k}" for k in range(len(self.nodes), len(self.nodes) + len(taken) + 1))
        node_id = id or next(x for x in free if x not in taken)
        if not isinstance(node_id, str) or "." in node_id:  # as a graph file's ids: 'a.b' read as node 'a', port 'b'
            fix = f"pass id={str(node_id).replace('.', '_')!r}" if isinstance(node_id, str) else "pass id='name'"
            raise GraphError([(self._file, 0, f"node id {node_id!r} must be text without '.'", fix)])
        if any(n.id == node_id for n in self.nodes):
            raise GraphError([(self._file, 0, f"node id '{node_id}' is used twice", "pass another id=")])
        if any(isinstance(src, dict) for src in inputs):  # g.add('bandpass', src, {'l_freq': 1.0}), ezmsg's settings:
            # was 'has 1 inputs (in), got 2; fix: connect fewer'
            said = ", ".join(f"{k}={v!r}" for src in inputs if isinstance(src, dict) for k, v in src.items())
            what = f"node '{node_id}' ({type_}): a mapping where an input goes"
            raise GraphError([(self._file, 0, what, f"pass the parameters as keywords: {said}")])
        ports = self._node_inputs(type_, params) if inputs else self._ports(type_, "inputs")  # (a type is checked)
        if len(inputs) > len(ports):
            raise GraphError(
                [
                    (
                        self._file,
                        0,
                        f"node '{node_id}' ({type_}) has {len(ports)} inputs ({', '.join(ports)}), got {len(inputs)}",
                        "connect fewer, or use connect()",
                    )
                ]
            )
        sources = [self._output(src) for src in inputs]  # each checked before the node is added
        params = {k: _python(v) for k, v in params.items()}
        self.nodes.append(NodeConfig(node_id, type_, params, on_error, 0))
        for src, port in zip(sources, ports):
            self.connect(src, f"{node_id}.{port}")
        return node_id

    def _node_inputs(self, type_: str, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The inputs of a `type_` node with these params: a node may set its own in __init__ (join's `inputs`, a
        recorder's `events: true`); the class's were used, so add() wired join's to ports it did not have and refused a
        recorder's events. The class's when the node cannot be built here (its error is said when the graph is), or
        when its class has no __init__ of its own that might set them (it is not built then)."""
        from .registry import lookup

        ports = self._ports(type_, "inputs")
        cls = lookup(type_)
        if not _ports_may_follow_params(cls):
            return ports
        try:
            with _quiet_this_thread():  # what building it says (a recorder's renamed path) is said at build, once
                got = getattr(cls(**params), "inputs", ports)
        except Exception:  # noqa: BLE001 — a bad parameter: said, with its fix, when the graph is built
            return ports
        return tuple(got) if isinstance(got, (tuple, list)) else ports

    def _ports(self, type_: str, which: str) -> tuple[str, ...]:
        from .peer_types import unknown_type_fix
        from .registry import UnknownNodeType, add_search_dirs, lookup

        if ":" in type_:  # mymod:Class: mymod.py in the current folder too, as a graph file's (graph.make_node)
            add_search_dirs([os.getcwd()])
        try:
            return getattr(lookup(type_), which)
        except UnknownNodeType as e:
            hint = unknown_type_fix(type_, e, [os.getcwd()])
            raise GraphError([(self._file, 0, f"unknown type '{type_}'", hint)]) from None

    def _output(self, source: str) -> str:
        """`source` as "node.port": a node id is its first output; an unknown node is a GraphError."""
        self._ports_text(source)
        if not isinstance(source, str):  # was TypeError: argument of type 'int' is not iterable
            raise GraphError([(self._file, 0, f"input {source!r} is not a node id", "pass the id that add() returned")])
        if "." in source:
            return source
        node = next((n for n in self.nodes if n.id == source), None)
        if node is None:
            close = difflib.get_close_matches(source, [n.id for n in self.nodes], n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"add it first (nodes: {', '.join(n.id for n in self.nodes)})"
            )
            raise GraphError([(self._file, 0, f"unknown node '{source}'", hint)])
        outputs = self._ports(node.type, "outputs")
        if not outputs:  # a sink (recorder, null_sink) as an input: was IndexError: tuple index out of range
            raise GraphError([(self._file, 0, f"node '{source}' ({node.type}) has no outputs", self._feeds(source))])
        return f"{source}.{outputs[0]}"

    def _feeds(self, node_id: str) -> str:
        """The fix for a sink given as a source or a capture: the streams that go into it."""
        into = [e.source for e in self.edges if e.target.partition(".")[0] == node_id]
        return f"use what goes into it: {', '.join(repr(p) for p in into)}" if into else "use a node with outputs"

    def connect(self, source: str, target: str, queue: SupportsIndex = 64, policy: str = "block") -> None:
        """`source` "node.port" (or a node id: its first output) -> `target` "node.port"."""
        # as a graph file's edge is checked (config._parse): queue=0 or policy='dropp' failed inside a worker mid-run
        if policy not in POLICIES:
            raise GraphError(
                [(self._file, 0, f"edge policy {policy!r}", f"pass policy={POLICIES[0]!r} or {POLICIES[1]!r}")]
            )
        # an integer of numpy's (np.int64(8), from an array or a config table) is one: it was refused as 'not an integer'
        n = operator.index(queue) if isinstance(queue, numbers.Integral) and not isinstance(queue, bool) else None
        if n is None or not 1 <= n <= MAX_QUEUE:
            said = f"edge queue {queue!r} must be an integer from 1 to {MAX_QUEUE}"
            raise GraphError([(self._file, 0, said, f"pass queue={DEFAULT_QUEUE}")])
        self.edges.append(EdgeConfig(self._output(source), self._input(target), n, policy, 0))

    def _input(self, target) -> str:
        """`target` as "node.port": a node id is its input when it has one (as a source's id is its first output; was
        "node 'bp' has no input port ''"); ezmsg's (node, port) pair and Timeflux's 'node:port' get the text to pass."""
        if not isinstance(target, str) or "." in target:
            return self._ports_text(target) or target
        node = next((n for n in self.nodes if n.id == target), None)
        if node is None:
            return self._ports_text(target) or target  # (an unknown node: said when the graph is built)
        inputs = self._node_inputs(node.type, node.params)
        if len(inputs) != 1:
            said = f"edge target '{target}' ({node.type}) has {len(inputs)} inputs"
            fix = f"name one: {', '.join(repr(f'{target}.{p}') for p in inputs)}" if inputs else "it takes no input"
            raise GraphError([(self._file, 0, said, fix)])
        return f"{target}.{inputs[0]}"

    def _ports_text(self, end) -> str:
        """Raise for a port written as another tool writes it, ('node', 'port') or 'node:port', with the text to pass;
        "" for anything else."""
        ids = {n.id for n in self.nodes}
        pair = None
        if isinstance(end, tuple) and len(end) == 2 and all(isinstance(x, str) for x in end) and end[0] in ids:
            pair = end
        elif isinstance(end, str) and ":" in end and end not in ids and end.partition(":")[0] in ids:
            pair = end.partition(":")[0], end.partition(":")[2]
        if pair is None:
            return ""
        raise GraphError(
            [(self._file, 0, f"port {end!r}: a port is one text, 'node.port'", f"pass '{pair[0]}.{pair[1]}'")]
        )

    def _capture_port(self, port) -> str:
        """A capture as "node.port" (a node id: its first output), checked: an unknown node or port was said as the
        hidden capture node's edge ('edge nosuch -> _capture0.in: no node ...; fix: nodes are: ..., _capture0')."""
        from .registry import UnknownNodeType, lookup

        ids = [n.id for n in self.nodes]
        self._ports_text(port)
        if not isinstance(port, str):
            raise GraphError([(self._file, 0, f"capture {port!r} is not a node id or 'node.port'", f"e.g. {ids[:1]}")])
        node_id, _, name = port.partition(".")
        node = next((n for n in self.nodes if n.id == node_id), None)
        if node is None:
            close = difflib.get_close_matches(node_id, ids, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"nodes are: {', '.join(ids)}"
            raise GraphError([(self._file, 0, f"capture '{port}': no node '{node_id}'", hint)])
        try:
            outputs = lookup(node.type).outputs
        except UnknownNodeType:  # (a graph file's type typo: said with its line when the graph is built)
            return port
        if not outputs:  # a sink: was IndexError: tuple index out of range
            raise GraphError(
                [(self._file, 0, f"capture '{port}': node '{node_id}' has no outputs", self._feeds(node_id))]
            )
        if name and name not in outputs:
            said = f"capture '{port}': node '{node_id}' has no output port '{name}'"
            raise GraphError([(self._file, 0, said, f"'{node_id}' outputs: {', '.join(outputs) or 'none'}")])
        return port if name else f"{port}.{outputs[0]}"

    def config(self, capture: Sequence[str] | str | None = ()) -> GraphConfig:
        if not self.nodes:  # a graph file without nodes is refused; run() returned {} as if it had run
            raise GraphError(
                [(self._file, 0, "the graph has no nodes", "add them first, e.g. g.add('sine', rate=250.0)")]
            )
        nodes, edges = list(self.nodes), list(self.edges)
        # capture="bp.out" was read letter by letter; capture=None ('nothing') was "'NoneType' object is not iterable"
        ports = [capture] if isinstance(capture, str) else [] if capture is None else list(capture)
        for i, port in enumerate(dict.fromkeys(self._capture_port(p) for p in ports)):
            cap = f"_capture{i}"
            nodes.append(NodeConfig(cap, _CAPTURE, {}, "stop", 0))
            edges.append(EdgeConfig(port, f"{cap}.in", 64, "block", 0))
        if self._loaded is None and self.processes:  # set in Python: checked as a graph file's (a node in two groups
            from .process_groups import parse_groups  # or none known was taken; a node placed twice ran in both)

            problems: list = []
            groups = {g: list(m) if isinstance(m, (tuple, set)) else m for g, m in self.processes.items()}
            parse_groups(self._file, {"processes": groups}, [n.id for n in self.nodes], problems)
            if problems:
                raise GraphError(problems)
        processes = {g: list(m) for g, m in self.processes.items()}
        listed = {m for members in processes.values() for m in members}
        rest = [n.id for n in nodes if n.id not in listed]
        if rest:
            processes.setdefault("main", []).extend(rest)
        if self._loaded is not None:
            return replace(self._loaded, nodes=nodes, edges=edges, processes=processes)
        return GraphConfig(self._file, self.name, nodes, edges, processes, {}, "auto")

    def run(
        self,
        capture: Sequence[str] | str | None = (),
        speed: float | None = None,
        in_process: bool = True,
        duration: float | None = None,
    ) -> Streams:
        """Run to the end of the sources, or for `duration` seconds of wall time (a live or endless graph:
        then the sources end and the graph drains, as on Ctrl-C); return {"node.port": Stream} for every
        captured port (a bare node id captures its first output). Raises GraphError on a graph problem,
        RunFailed (a RuntimeError) if a node failed: its `streams` hold what was captured before."""
        from .graph import build_graph
        from .runner import run_graph

        if capture and not in_process:
            raise ValueError("capture needs in_process=True (the streams are kept in this process)")
        flag = StopFlag()
        self._running.append(flag)  # from here: a stop() while the graph is built (models load) ends this run too
        try:
            building = BUILDING.set(flag)  # a configure() that waits for a device (lsl_inlet's resolve) polls it
            try:
                config = self.config(capture)
                graph = build_graph(config)
            except BuildStopped:  # stop() while a stream was resolved: nothing ran, as a stop before any chunk
                log.warning("run stopped by stop() while its graph was built (waiting for a device): nothing ran")
                return Streams()
            finally:
                BUILDING.reset(building)
            result = run_graph(graph, speed=speed, in_process=in_process, duration=duration, stop=flag)
        finally:
            self._running.remove(flag)
        out = Streams()
        for edge in config.edges:
            node = graph.nodes[edge.target_node]
            if isinstance(node, Capture):
                out[edge.source] = node.stream()
        if result.failure:  # what came before the failure is kept: a long run's data was lost with it
            raise RunFailed(result.failure, out)
        if result.interrupted:  # Ctrl-C (a notebook's interrupt) drains the graph and returns: said, not silent
            ends = [f"{p} at t = {s.times[-1]:.3f} s" for p, s in out.items() if s.times.size]
            how = "stop()" if flag.why == _STOP else "Ctrl-C"
            log.warning("run interrupted (%s): the streams returned end where it stopped (%s)", how, ", ".join(ends))
        return out

    def stop(self) -> bool:
        """Stop this builder's run() going on in another thread (a notebook's background run, which Ctrl-C and the
        notebook's interrupt do not reach: Python gives signals to the main thread only, so a live or endless graph
        ran on with no way to end it). As Ctrl-C: the sources end, the graph drains, run() returns what came.
        False when no run is going on."""
        for flag in self._running:
            flag.request(_STOP)
        return bool(self._running)


class RunFailed(RuntimeError):
    """A node failed mid-run (GraphBuilder.run). `streams`: what the captured ports received before it, as run()
    returns them."""

    def __init__(self, failure: str, streams: dict[str, Stream]):
        kept = ", ".join(
            f"{p} to t = {s.times[-1]:.3f} s" if s.times.size else f"{p}: empty" for p, s in streams.items()
        )
        super().__init__(f"{failure}\n(kept in this error's .streams, what came before: {kept or 'nothing captured'})")
        self.failure, self.streams = failure, streams
