"""Building a graph: node types, parameters, ports, topology and stream specs, all checked before any
data flows. Every problem is reported as `file:line: message; fix: hint` (see config.GraphError)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from pydantic import ValidationError

from .config import EdgeConfig, GraphConfig, GraphError, NodeConfig
from .missing_package import missing_package
from .node import Node, Sink
from .node_class import class_problem, latency_problem, params_class_problem, specs_problem
from .param_problems import MAX_RATE, _number_problems, _param_problems, _set, _set_text_as_typed
from .path_latency import path_latency
from .peer_params import at_input_rate, peer_param_problems
from .peer_types import unknown_type_fix
from .registry import UnknownNodeType, add_search_dirs, lookup
from .spec import SpecError, StreamSpec
from .stop_iteration import stop_iteration_fix
from .yaml_lines import lookalikes, node_hint

MAX_PATHS = 1000  # `describe`, the monitor and --png list every path up to this many


@dataclass
class Graph:
    config: GraphConfig
    nodes: dict[str, Node]  # node id -> configured node
    order: list[str]  # topological order
    specs: dict[str, StreamSpec]  # "node.port" of every connected output -> its spec
    unchecked: dict[str, str] = field(default_factory=dict)  # node id -> why it was not configured

    def node_config(self, node_id: str) -> NodeConfig:
        return next(n for n in self.config.nodes if n.id == node_id)

    def edges_from(self, node_id: str) -> list[EdgeConfig]:
        return self._by_node("source_node").get(node_id, [])

    def edges_into(self, node_id: str) -> list[EdgeConfig]:
        return self._by_node("target_node").get(node_id, [])

    def _by_node(self, end: str) -> dict[str, list[EdgeConfig]]:
        """Edges by the node at one end, made once (a scan per node made a 3000-node chain's describe take 17 s)."""
        index = self.__dict__.setdefault("_edges_by", {})
        if end not in index or index[end][0] is not self.config.edges or index[end][1] != len(self.config.edges):
            by: dict[str, list[EdgeConfig]] = {}
            for e in self.config.edges:
                by.setdefault(getattr(e, end), []).append(e)
            index[end] = (self.config.edges, len(self.config.edges), by)
        return index[end][2]

    def group_of(self, node_id: str) -> str:
        return next(g for g, members in self.config.processes.items() if node_id in members)

    def paths(self) -> list[list[str]]:
        """Every path from a source (no inputs) to a sink (no outgoing edges); when there are more than MAX_PATHS
        (a chain of diamonds doubles them at each: 2**22 hung `describe`), the slowest path to each sink. Walked
        without recursion (a chain of 3000 nodes was a RecursionError)."""
        nexts = self._nexts()
        starts = [n for n in self.order if not self.edges_into(n)]
        if self.path_count() > MAX_PATHS:
            return self._slowest_paths(nexts)
        out: list[list[str]] = []
        stack = [[s] for s in reversed(starts)]
        while stack:
            path = stack.pop()
            if not nexts.get(path[-1]):
                out.append(path)
            stack.extend(path + [m] for m in reversed(nexts.get(path[-1], [])))
        return out

    def _nexts(self) -> dict[str, list[str]]:
        return {n: list(dict.fromkeys(e.target_node for e in self.edges_from(n))) for n in self.order}

    def path_count(self) -> int:
        """How many paths run from a source to a sink (counted, not listed)."""
        nexts, count = self._nexts(), {}
        for n in reversed(self.order):
            count[n] = sum(count.get(m, 0) for m in nexts[n]) if nexts[n] else 1
        return sum(count[n] for n in self.order if not self.edges_into(n))

    def _slowest_paths(self, nexts: dict[str, list[str]]) -> list[list[str]]:
        """For each sink, the path to it whose declared latencies sum highest (a longest path in the DAG)."""
        best: dict[str, tuple[float, list[str]]] = {}
        for n in self.order:  # topological: every node's inputs come before it
            into = [best[e.source_node] for e in self.edges_into(n) if e.source_node in best]
            latency, path = max(into, key=lambda x: x[0]) if into else (0.0, [])
            best[n] = (latency + self.nodes[n].latency_seconds, [*path, n])
        return [best[n][1] for n in self.order if not nexts[n] and n in best]

    def path_latency(self, path: list[str]) -> float:
        """Declared latency along `path`: a node that pairs its inputs by stamp waits for its slowest (path_latency.py)."""
        return path_latency(self, path)


def make_node(nc: NodeConfig, file: str) -> Node:
    """Instantiate one node from its config, turning type and parameter errors into GraphErrors."""
    graph_dirs = [os.path.dirname(os.path.abspath(file)), os.getcwd()]
    if ":" in nc.type:  # a user module: beside the YAML file, or in the current folder
        add_search_dirs(graph_dirs)
    try:
        cls = lookup(nc.type, graph_dirs if ":" in nc.type else ())
    except UnknownNodeType as e:
        # ezmsg's Scaler, Timeflux's IIRFilter, StreamLSL; mymod.Window with mymod.py here: its module:Class
        hint = unknown_type_fix(nc.type, e, [os.path.dirname(os.path.abspath(file)), os.getcwd()])
        said = f"node '{nc.id}': unknown type '{nc.type}'{lookalikes(nc.type)}"
        raise GraphError([(file, nc.type_line or nc.line, said, hint)]) from None
    wrong = params_class_problem(cls)  # a Params of its own that checks nothing (or a dataclass: a traceback)
    if wrong:
        raise GraphError([(file, nc.type_line or nc.line, f"node '{nc.id}' ({nc.type}): {wrong[0]}", wrong[1])])
    _set_text_as_typed(nc, cls)
    numbers = _number_problems(nc, cls, file)  # parameter name -> problem
    try:  # `cutoff: 40` on a lowpass: write freq: 40 (a hint: a slip in it leaves pydantic's words, not a traceback)
        peers, stood_for = peer_param_problems(nc, cls, file)
    except Exception:  # noqa: BLE001
        peers, stood_for = {}, set()
    numbers |= {k: v for k, v in peers.items() if k not in numbers}
    problems = list(numbers.values())
    try:
        node = cls(**nc.params)
    except ValidationError as e:
        said = set(numbers) | stood_for  # (what a peer's name stands for is not said missing too)
        errors = [err for err in e.errors() if not err["loc"] or str(err["loc"][0]) not in said]
        raise GraphError(problems + _param_problems(nc, cls, errors, file)) from None
    except (ValueError, TypeError) as e:
        raise GraphError([(file, nc.line, f"node '{nc.id}' ({nc.type}): {e}", "check its params")]) from None
    except Exception as e:  # noqa: BLE001 — a node bug must still name the node, not print a traceback
        raise GraphError(
            [
                (
                    file,
                    nc.line,
                    f"node '{nc.id}' ({nc.type}) failed to start: {type(e).__name__}: {e}",
                    stop_iteration_fix(e) or "check its params; if they are right, this is a bug in the node",
                )
            ]
        ) from None
    if problems:
        node.close()
        raise GraphError(problems)
    wrong = class_problem(node)
    if wrong:  # a class the runtime cannot drive: was a bare NotImplementedError mid-run, or a run of nothing
        node.close()
        raise GraphError([(file, nc.type_line or nc.line, f"node '{nc.id}' ({nc.type}): {wrong[0]}", wrong[1])])
    node.node_id = nc.id
    for name, value in dict(node.params).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise GraphError(
                [
                    (
                        file,
                        nc.param_lines.get(name, nc.line),
                        f"node '{nc.id}' ({nc.type}): parameter '{name}' = {value}{_set(nc, name)}",
                        "give a finite number",
                    )
                ]
            )
    return node


def _inputs_param(config: GraphConfig, nodes: dict[str, Node], node_id: str, kind: str) -> str:
    """', or name them: params: {inputs: [in1, in2]}' for a node whose input ports are a parameter (join) that the
    file leaves at its default, when its edges name other ports (j.in1, j.in2: was only "'j' inputs: a, b"); '; add
    'events' with params: {events: true}' for an edge into a port a bool parameter adds (a recorder's markers: the
    fix was only "'rec' inputs: in")."""
    fields = getattr(getattr(type(nodes[node_id]), "Params", None), "model_fields", {})
    given = next((n.params for n in config.nodes if n.id == node_id), {})
    ports = [
        e.target_port for e in config.edges if e.target_node == node_id and e.target_port not in nodes[node_id].inputs
    ]
    flag = next((p for p in ports if p in fields and fields[p].annotation is bool), None) if kind == "inputs" else None
    if flag and getattr(nodes[node_id].params, flag, None) is False:  # a recorder's `events` left out (or false)
        return f"; add '{flag}' with params: {{{flag}: true}}"
    if kind != "inputs" or "inputs" not in fields or "inputs" in given:
        return ""
    named = list(dict.fromkeys(e.target_port for e in config.edges if e.target_node == node_id))
    return f", or name them as the edges do: params: {{inputs: [{', '.join(named)}]}}" if len(named) > 1 else ""


def check_topology(config: GraphConfig, nodes: dict[str, Node], failed: set[str]) -> tuple[list[str], list]:
    """Check ports and connectivity; return the topological order of the edges that are well formed, and
    the problems. `failed`: nodes that could not be made (already reported): their edges count as
    connected and are not checked further; a node fed by a broken edge, or with an input left
    unconnected, is added to it (its spec cannot be checked; the rest of the graph still is). A cycle
    raises GraphError (with nothing else to order by)."""
    file, problems = config.file, []
    bad_edges: set[int] = set()  # indexes in config.edges
    into: dict[tuple[str, str], EdgeConfig] = {}
    backwards: set[int] = set()  # `{source: lp.in, target: src.out}`: one line, the swap, not two 'no port's
    searched = [0]  # unknown node ids given a 'did you mean' (yaml_lines.node_hint)
    for k, e in enumerate(config.edges):
        src, dst = nodes.get(e.source_node), nodes.get(e.target_node)
        if src and dst and e.source_port in src.inputs and e.target_port in dst.outputs:
            if e.source_port not in src.outputs and e.target_port not in dst.inputs:
                said = f"edge {e} runs backwards: {e.source} is an input and {e.target} an output"
                problems.append((file, e.line, said, f"swap them: source: {e.target}, target: {e.source}"))
                bad_edges.add(k)
                backwards.add(k)
                into.setdefault((e.source_node, e.source_port), e)
                failed.add(e.source_node)  # the consumer: its input's spec is not known
                continue
        if src and dst and not src.outputs and not dst.inputs and src.inputs and dst.outputs:  # a sink -> a source
            out, into_port = (dst.outputs[0], src.inputs[0]) if len(dst.outputs) == len(src.inputs) == 1 else ("", "")
            if e.source_port not in src.outputs and e.target_port not in dst.inputs and out:  # (k.out -> a.in: 2 lines)
                said = f"edge {e} runs backwards: '{e.source_node}' has no outputs and '{e.target_node}' no inputs"
                fix = f"swap them: source: {e.target_node}.{out}, target: {e.source_node}.{into_port}"
                problems.append((file, e.line, said, fix))
                bad_edges.add(k)
                into.setdefault((e.source_node, into_port), e)  # (its input is not said unconnected too)
                failed.add(e.source_node)
                continue
        for _end, node_id, port, kind in (
            (e.source, e.source_node, e.source_port, "outputs"),
            (e.target, e.target_node, e.target_port, "inputs"),
        ):
            if node_id in failed:
                continue
            if node_id not in nodes:
                hint = node_hint(node_id, list(nodes), "nodes are", searched)
                problems.append((file, e.line, f"edge {e}: no node '{node_id}'{lookalikes(node_id)}", hint))
                bad_edges.add(k)
                continue
            ports = getattr(nodes[node_id], kind)
            if port not in ports:
                hint = f"'{node_id}' {kind}: {', '.join(ports) or 'none'}" + _inputs_param(config, nodes, node_id, kind)
                said = f"edge {e}: node '{node_id}' has no {kind[:-1]} port '{port}'{lookalikes(port)}"
                problems.append((file, e.line, said, hint))
                bad_edges.add(k)
        key = (e.target_node, e.target_port)
        if key in into and into[key].source == e.source and e.line:  # the same edge twice in a file: was "merge
            # streams with a node" (from Python, where add() made it, the words stay)
            problems.append(
                (file, e.line, f"edge {e} is written twice (first at line {into[key].line})", "delete this line")
            )
            bad_edges.add(k)
        elif key in into:
            problems.append(
                (
                    file,
                    e.line,
                    f"edge {e}: input {e.target} already fed by {into[key].source}"
                    + (f" (line {into[key].line})" if into[key].line else ""),
                    "an input takes one edge; merge streams with a node"
                    if into[key].source == e.source
                    else f"an input takes one edge, and {loop.source} -> {loop.target} feeds '{e.target_node}' its own "
                    "output: a cycle (each node runs after its inputs); remove that edge (feedback is state kept inside "
                    "a node)"
                    if (loop := e if e.source_node == e.target_node else into[key]).source_node == e.target_node
                    else f"an input takes one edge: to use both streams, join them first (a node of type join: "
                    f"{into[key].source} -> j.a, {e.source} -> j.b, j.out -> {e.target}), or give each its own node",
                )
            )
            bad_edges.add(k)
        into[key] = e
    misnamed = {
        e.target_node
        for e in config.edges
        if e.target_node in nodes and e.target_port not in nodes[e.target_node].inputs
    }
    for nc in config.nodes:
        node = nodes.get(nc.id)
        if node is None or nc.id in misnamed or nc.id in failed:  # one mistake, one line: the edge with the wrong
            # port says it, or the malformed edge into it (config.py: `broken`)
            continue
        for port in node.inputs:
            if (nc.id, port) not in into:
                problems.append(
                    (
                        file,
                        nc.line,
                        f"node '{nc.id}' ({nc.type}): input '{port}' is not connected",
                        f"add an edge with target: {nc.id}.{port}",
                    )
                )
                failed.add(nc.id)
    failed.update(config.edges[k].target_node for k in bad_edges - backwards)
    # Kahn's algorithm, in file order for determinism.
    edges = [
        e
        for k, e in enumerate(config.edges)
        if k not in bad_edges and e.source_node in nodes and e.target_node in nodes
    ]
    indeg, out_of = {n: 0 for n in nodes}, {}
    for e in edges:
        indeg[e.target_node] += 1
        out_of.setdefault(e.source_node, []).append(e)  # (a scan of every edge per node: 9M for a 3000-node chain)
    order, ready = [], [n for n in nodes if indeg[n] == 0]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for e in out_of.get(n, []):
            indeg[e.target_node] -= 1
            if indeg[e.target_node] == 0:
                ready.append(e.target_node)
    if len(order) < len(nodes):
        stuck = [n for n in nodes if n not in order]
        while True:  # not the nodes after the cycle (they wait on it): those with no edge back into it
            ends = {n for n in stuck if not any(e.source_node == n and e.target_node in stuck for e in edges)}
            if not ends:
                break
            stuck = [n for n in stuck if n not in ends]
        edge = next(e for e in edges if e.target_node in stuck and e.source_node in stuck)
        raise GraphError(
            problems
            + [
                (
                    file,
                    edge.line,
                    f"cycle through nodes {', '.join(stuck)} (edge {edge})",
                    "streams must flow one way; remove an edge of the cycle",
                )
            ]
        )
    return order, problems


def check_output_paths(config: GraphConfig, nodes: dict[str, Node]) -> None:
    """Two sinks that write the same file (recorders with one path) would lose one recording; a sink that
    writes the file a source reads (a folder loop writing in place) would lose the input."""
    seen: dict[str, str] = {}
    problems = []
    read: dict[str | tuple[int, int], str] = {}  # realpath, and (device, inode) -> id of the node reading it
    for nc in config.nodes:
        path = getattr(getattr(nodes.get(nc.id), "params", None), "path", None)
        if not isinstance(nodes.get(nc.id), Sink) and isinstance(path, str) and os.path.isfile(path):
            read.setdefault(os.path.realpath(os.path.expanduser(path)), nc.id)
            st = os.stat(os.path.expanduser(path))
            read.setdefault((st.st_dev, st.st_ino), nc.id)  # a hard link to it is the same file under another name
    for nc in config.nodes:
        path = getattr(nodes.get(nc.id), "path", None) if isinstance(nodes.get(nc.id), Sink) else None
        if not isinstance(path, (str, os.PathLike)):
            continue
        key = os.path.realpath(os.path.expanduser(os.fspath(path)))
        reader = read.get(key)
        if reader is None and os.path.isfile(key):
            st = os.stat(key)
            reader = read.get((st.st_dev, st.st_ino))
        if reader is not None:
            clash = f"would write {os.fspath(path)}, the file node '{reader}' reads"
            fix = "write the output to another path (the input would be lost)"
        elif key in seen:
            clash, fix = f"writes {os.fspath(path)}, as node '{seen[key]}' does", "give each recorder its own path"
        else:
            seen[key] = nc.id
            continue
        problems.append((config.file, nc.param_lines.get("path", nc.line), f"node '{nc.id}' {clash}", fix))
    if problems:
        raise GraphError(problems)


def configure_node(
    node: Node,
    nc: NodeConfig,
    in_specs: dict[str, StreamSpec],
    in_edges: list[EdgeConfig],
    file: str,
    declared: bool = False,
) -> dict[str, StreamSpec] | None:
    """Run node.configure (or, `declared`, node.declared_specs: None when unknown without the device),
    turning a SpecError into a GraphError that names the edge and both nodes."""
    try:
        if declared:  # as configure() does: its declared latency is counted at the input's rate
            node.in_specs = dict(in_specs)
        out = node.declared_specs(in_specs) if declared else node.configure(in_specs)
        if out is None and declared:
            return None
    except SpecError as e:
        said = params_problems(node, nc, file)  # a parameter no stream takes (stft's window): at its line, when it is
        if any(x[2] == f"node '{nc.id}' ({nc.type}): {e.message}" for x in said):  # this error (not another's text)
            raise GraphError(said) from None
        # said at the line of the parameter whose value the stream does not fit, where the fix goes (or --set)
        where, at = ("--set", 0) if e.param in nc.overridden else (file, nc.param_lines.get(e.param))
        if where == file and e.param in nc.param_via:  # `params: *p`: said where this node takes it, not at the anchor
            e.message += f" ({e.param} as written at line {at}, which this node takes on line {nc.param_via[e.param]})"
            at = nc.param_via[e.param]
        if in_edges:  # the edge into the input the error names (was the file's first edge into the node)
            port = e.port if e.port in in_specs else node.inputs[0] if node.inputs[0] in in_specs else None
            edge = next((x for x in in_edges if x.target_port == port), in_edges[0])
            spec = in_specs.get(edge.target_port)
            what = f"edge {edge} ({spec.describe() if spec else '?'}): node '{edge.target_node}' ({nc.type})"
            what += f" rejects the stream from '{edge.source_node}'"
            others = [f"'{x.target_port}' from '{x.source_node}'" for x in in_edges if x is not edge]
            what += f" on input '{edge.target_port}': {e.message}" if others else f": {e.message}"
            if others:
                what += f" (its other input{'s' * (len(others) > 1)}: {', '.join(others)})"
            raise GraphError([(where, edge.line if at is None else at, what, e.hint)]) from None
        said = f"node '{nc.id}' ({nc.type}): {e.message}"
        raise GraphError([(where, nc.line if at is None else at, said, e.hint)]) from None
    except (OSError, ValueError) as e:
        raise GraphError([(file, nc.line, f"node '{nc.id}' ({nc.type}): {e}", "check its params")]) from None
    except Exception as e:  # noqa: BLE001 — a node bug must still name the node, not print a traceback
        if isinstance(e, ModuleNotFoundError) and (said := missing_package(e)):  # torch, an extra: was '... a bug'
            raise GraphError([(file, nc.line, f"node '{nc.id}' ({nc.type}): {said[0]}", said[1])]) from None
        raise GraphError(
            [
                (
                    file,
                    nc.line,
                    f"node '{nc.id}' ({nc.type}): configure() failed: {type(e).__name__}: {e}",
                    stop_iteration_fix(e)
                    or "check its params and inputs; if they are right, this is a bug in the node",
                )
            ]
        ) from None
    if not isinstance(out, dict):  # a node of one's own whose configure() forgot its return: was taken for a device
        said = f"node '{nc.id}' ({nc.type}): configure() returned {type(out).__name__}, not its output specs"
        raise GraphError([(file, nc.line, said, "return {port: StreamSpec} for each output ({} for a sink)")])
    wrong = specs_problem(node, out) or latency_problem(node)  # was a traceback, or a path of nan ms
    if wrong:
        raise GraphError([(file, nc.line, f"node '{nc.id}' ({nc.type}): {wrong[0]}", wrong[1])])
    for port, spec in out.items():  # a rate no stream has (1e20 Hz ran on for ever), whichever parameter made it
        if not 0 <= spec.rate <= MAX_RATE:
            said = f"node '{nc.id}' ({nc.type}): output '{port}' would run at {spec.rate:g} Hz"
            fix = f"check its parameters: a rate is at most {MAX_RATE:g} Hz (e.g. 250 for EEG, 16000 for speech)"
            raise GraphError([(file, nc.line, said, fix)])
    return out


def params_problems(node: Node, nc: NodeConfig, file: str) -> list[tuple[str, int, str, str]]:
    """node.check_params() of a node left unconfigured offline, at its parameter's line. A recorder fed by an LSL
    inlet was 'OK' in validate with its file already there, refused only once `run` had resolved the stream."""
    try:
        found = node.check_params()
    except Exception as e:  # noqa: BLE001 — a node of one's own: its bug names the node, not a traceback
        found = [("", f"check_params() failed: {type(e).__name__}: {e}", "a bug in the node")]
    out = []
    for name, message, hint in found:
        where, line = ("--set", 0) if name in nc.overridden else (file, nc.param_lines.get(name, nc.line))
        out.append((where, line, f"node '{nc.id}' ({nc.type}): {message}", hint))
    return out


UNCHECKED_DEVICE = "unchecked: needs the device (--devices checks it)"
UNCHECKED_UPSTREAM = "unchecked: its input comes from a device"  # not configured: no spec, no latency


def build_graph(config: GraphConfig, devices: bool = True, broken: set[str] | frozenset = frozenset()) -> Graph:
    """Instantiate, connect and configure every node. Raises GraphError with every problem it can find
    (types and params of all nodes, output paths, ports, then the spec of every node whose inputs are
    known); nothing is started.

    `devices=False` (validate, describe): a node that `needs_device` is not configured; its declared
    specs (from its params) stand in for the device's, or, when it has none, it and the nodes fed by it
    are listed in `Graph.unchecked`. `broken`: ids of nodes the file defines but that could not be read
    (already reported): their edges count as connected and are not checked further."""
    problems, nodes, failed = [], {}, set(broken)
    for nc in config.nodes:
        try:
            nodes[nc.id] = make_node(nc, config.file)
        except GraphError as e:
            problems.extend(e.problems)
            failed.add(nc.id)
    unmade = failed - set(broken)  # their fixes are asked again at the input's rate, once it is known
    try:
        check_output_paths(config, nodes)
    except GraphError as e:
        problems.extend(e.problems)
    try:
        order, topology_problems = check_topology(config, nodes, failed)
    except GraphError as e:  # a cycle: specs cannot be followed along it
        raise GraphError(problems + e.problems) from None
    problems.extend(topology_problems)
    specs: dict[str, StreamSpec] = {}
    unchecked: dict[str, str] = {}
    by_id, edges_into = {n.id: n for n in config.nodes}, {}
    for e in config.edges:
        edges_into.setdefault(e.target_node, []).append(e)
    for node_id in order:
        nc = by_id[node_id]
        in_edges = edges_into.get(node_id, [])
        upstream = {e.source_node for e in in_edges}
        if node_id in failed or upstream & failed:
            failed.add(node_id)  # its input's problem is reported; its own spec cannot be checked
            continue
        if upstream & set(unchecked):
            unchecked[node_id] = UNCHECKED_UPSTREAM
            problems.extend(params_problems(nodes[node_id], nc, config.file))  # an existing recording: said now
            continue
        in_specs = {e.target_port: specs[e.source] for e in in_edges}
        try:
            out = configure_node(
                nodes[node_id],
                nc,
                in_specs,
                in_edges,
                config.file,
                declared=not devices and nodes[node_id].needs_device,
            )
        except GraphError as e:
            problems.extend(e.problems)
            failed.add(node_id)
            continue
        if out is None:
            unchecked[node_id] = UNCHECKED_DEVICE
            problems.extend(params_problems(nodes[node_id], nc, config.file))
            continue
        for port, spec in out.items():
            specs[f"{node_id}.{port}"] = spec
    if problems:
        for node in nodes.values():
            node.close()
        raise GraphError(_beside_the_file(config, at_input_rate(config, problems, unmade, specs)))
    return Graph(config, nodes, order, specs, unchecked)


def _beside_the_file(config: GraphConfig, problems: list) -> list:
    """A problem naming a relative path that is missing here but is beside the graph file gets the path to write.
    Relative paths are from the current folder (docs/yaml.md): `wavegraph run proj/g.yaml` with `path: speech.wav`
    beside it said 'no such file: speech.wav (relative to the current folder: ...)', and a fix listing formats."""
    here = os.path.dirname(os.path.abspath(config.file))
    if not os.path.isfile(config.file) or os.path.realpath(here) == os.path.realpath(os.getcwd()):
        return problems
    beside = {
        (name, value): os.path.join(here, value)
        for nc in config.nodes
        for name, value in nc.params.items()
        if isinstance(value, str) and value and not os.path.isabs(value) and not os.path.exists(value)
        if os.path.exists(os.path.join(here, value))
    }
    out = []
    for file, line, message, hint in problems:
        for (name, value), there in beside.items():
            if value in message:
                there = os.path.relpath(there) if not os.path.relpath(there).startswith("..") else there
                hint = f"{value} is beside the graph file, but a relative path is read from the current folder: write {name}: {there}, or run from {here}"
                break
        out.append((file, line, message, hint))
    return out


def _delay_removed(graph: Graph, n: str) -> str:
    """What an `align` drops, said beside its latency (was 'latency=0 samples (0.00 ms)' alone): `delay: auto`, the
    delay declared upstream; a number, the first that many seconds, also of a stream that declares none. No other
    node drops samples: one whose outputs declare less delay than its inputs (a decoder's events) says nothing."""
    node = graph.nodes[n]
    ins = [graph.specs[e.source].delay for e in graph.edges_into(n) if e.source in graph.specs]
    if node.type_name != "align" or not ins:
        return ""
    declared, given = f"{max(ins) * 1e3:.2f} ms", getattr(node.params, "delay", "auto")
    if not isinstance(given, (int, float)):  # auto
        return f"; drops the delay declared upstream (delay: auto = {declared})"
    return f"; drops the first {given * 1e3:.2f} ms (delay: {given:g}; declared upstream: {declared})"


def describe(graph: Graph) -> str:
    """Human-readable: nodes, the spec on every edge, and the declared latency summed along each path."""
    from .summary import left, width  # padded by terminal columns: a CJK id's character takes two

    lines = [f"graph '{graph.config.name}' ({graph.config.file})", "nodes:"]
    types = {n: graph.nodes[n].type_name or type(graph.nodes[n]).__name__ for n in graph.order}
    nw, tw = max([16, *map(width, graph.order)]), max([20, *map(width, types.values())])
    pw = max([10, *(width(graph.group_of(n)) for n in graph.order)])
    ew = max([32, *(width(str(e)) for e in graph.config.edges)])
    for n in graph.order:
        node = graph.nodes[n]
        lines.append(
            f"  {left(n, nw)} {left(types[n], tw)} process={left(graph.group_of(n), pw)} "
            f"latency={node.latency_samples} samples ({node.latency_seconds * 1e3:.2f} ms)"
            + (f" + {node.latency_note}" if node.latency_note else "")
            + _delay_removed(graph, n)
            + (f"  {graph.unchecked[n]}" if n in graph.unchecked else "")
        )
    lines.append("edges:")
    for e in graph.config.edges:
        spec = graph.specs[e.source].describe() if e.source in graph.specs else graph.unchecked[e.source_node]
        delay = graph.specs[e.source].delay if e.source in graph.specs else 0.0
        spec += (
            f" delay={delay * 1e3:.2f} ms" if delay > 0 else ""
        )  # content behind its time stamps (an `align` drops it)
        lines.append(f"  {left(str(e), ew)} {spec}  queue={e.queue} {e.policy}")
    paths = graph.paths()
    lines.append(
        "latency along each path:"
        if graph.path_count() <= MAX_PATHS
        else f"latency along the slowest path to each end ({graph.path_count():,} paths in all):"
    )
    for path in paths:
        # nodes never configured (fed by an unchecked device) declare nothing; a device node declared its own
        unknown = [n for n in path if graph.unchecked.get(n) == UNCHECKED_UPSTREAM]
        device = [n for n in path if graph.nodes[n].latency_note]
        note = f" (without {', '.join(unknown)}: unchecked)" if unknown else ""
        # not known with --devices either: PortAudio gives it once the stream is open (docs/speech.md, "Latency")
        note += (
            f" + what the device adds at {', '.join(device)} (PortAudio reports it once the stream is open)"
            if device
            else ""
        )
        lines.append(f"  {' -> '.join(path)}: {graph.path_latency(path) * 1e3:.2f} ms{note}")
    return "\n".join(lines)
