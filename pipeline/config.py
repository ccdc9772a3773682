"""YAML graph files: parsing with line numbers, and the error type every graph check raises.

A graph file looks like:

    name: eeg-filter
    nodes:
      - id: src
        type: file_source            # a registered name, or mypkg.nodes:MyNode
        params: {path: rec.edf, chunk_size: 32}
        on_error: stop               # or restart (reset state, flag a gap, go on)
      - id: bp
        type: bandpass
        params: {l_freq: 1.0, h_freq: 40.0}
    edges:
      - {source: src.out, target: bp.in}          # optional: queue, policy, transport (docs/yaml.md)
    processes:                                    # optional placement; unlisted nodes share "main"
      acquisition: [src]
      dsp: {nodes: [bp], host: 127.0.0.1}         # naming a host puts its edges on tcp://
                                                  # (on: {resources: {GPU: 1}} places a group under --ray)
                                                  # (on_error: restart, max_restarts: 3 restarts a
                                                  # process that dies, see pipeline.multiprocess)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .layout_hints import (
    dashless,
    edge_end_fix,
    edge_pairs,
    empty_item,
    fed_node,
    list_fix,
    node_entry_fix,
    node_list_hint,
    one_graph,
    params_as_mapping,
    unexpanded,
    unknown_node_keys,
    unknown_top_keys,
)
from .yaml_lines import line_of, lookalikes, node_hint, value_said, written

ON_ERROR = ("stop", "restart")
POLICIES = ("block", "drop_oldest")
TRANSPORTS = ("auto", "shm", "ipc", "tcp")  # edges between processes; see docs/yaml.md
EDGE_LIST_FIX = "write one edge per pair of ports: - {source: a.out, target: b.in}, - {source: a.out, target: c.in}"
DEFAULT_QUEUE = 64
MAX_QUEUE = 1_000_000  # chunks; ZeroMQ's high-water marks are C ints


class GraphError(Exception):
    """One or more problems in a graph file. Each is printed as `file:line: message; fix: hint`."""

    nodes: list[NodeConfig]  # set by load_config: the well-formed nodes, when there were problems
    config: GraphConfig  # set by load_config: the well-formed nodes and edges, for `validate` to check further
    broken: set[str]  # set by load_config: ids of nodes whose entry was rejected (already reported)

    def __init__(self, problems: list[tuple[str, int, str, str]]):
        self.problems = _merge_repeats(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        out = []
        for file, line, message, hint in self.problems:
            where = f"{file}:{line}" if line else file
            message, hint = (_short(re.sub(r"\s*\n\s*", " ", text)) for text in (message, hint))  # (MNE's span lines)
            out.append(f"{where}: {message}" + (f"; fix: {hint}" if hint else ""))
        return out


_NODE_PREFIX = re.compile(r"^node '([^']*)'")
MAX_SAID = 2000  # characters of a message or fix: a 10 MB value in a graph file was echoed whole


def _short(text: str) -> str:
    if len(text) <= MAX_SAID:
        return text
    return f"{text[: MAX_SAID - 300]} ... [{len(text) - MAX_SAID + 100:,} characters left out] ... {text[-200:]}"


def _merge_repeats(problems: list[tuple[str, int, str, str]]) -> list[tuple[str, int, str, str]]:
    """One mistake, one line: the same problem at the same line for several nodes (a YAML anchor used
    by each) becomes one line naming them all; exact repeats are dropped."""
    groups: dict[tuple, list[str]] = {}
    for file, line, message, hint in problems:
        m = _NODE_PREFIX.match(message)
        key = (file, line, _NODE_PREFIX.sub("node {}", message) if m else message, hint)
        ids = groups.setdefault(key, [])
        if m and m.group(1) not in ids:
            ids.append(m.group(1))
    out = []
    for (file, line, message, hint), ids in groups.items():
        if ids:
            message = message.replace(
                "node {}", ("nodes " if len(ids) > 1 else "node ") + ", ".join(f"'{i}'" for i in ids), 1
            )
        out.append((file, line, message, hint))
    return out


@dataclass
class NodeConfig:
    id: str
    type: str
    params: dict
    on_error: str
    line: int
    param_lines: dict = field(default_factory=dict)
    type_line: int = 0
    overridden: list = field(default_factory=list)  # params given by --set (a problem with one says so)
    set_text: dict = field(default_factory=dict)  # values as typed, --set's and the file's plain scalars (a text
    # parameter takes them as written: subject: 01 is '01', not the number 1)
    merged_params: dict = field(default_factory=dict)  # the params a `<<: *name` gave, which `params:` replaced
    # param -> the line that brings this node a value written elsewhere and shared (`params: *p`, `<<: *defaults`):
    # a problem of this node's alone (its stream) is said there, not at the anchor, inside another node maybe
    param_via: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EdgeConfig:
    source: str  # "node.port"
    target: str
    queue: int
    policy: str
    line: int
    transport: str = ""  # "" (the graph's), auto, shm, ipc or tcp: how this edge crosses processes

    @property
    def source_node(self) -> str:
        return self.source.partition(".")[0]

    @property
    def source_port(self) -> str:
        return self.source.partition(".")[2]

    @property
    def target_node(self) -> str:
        return self.target.partition(".")[0]

    @property
    def target_port(self) -> str:
        return self.target.partition(".")[2]

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


@dataclass
class GraphConfig:
    file: str
    name: str
    nodes: list[NodeConfig]
    edges: list[EdgeConfig]
    processes: dict[str, list[str]]  # group -> node ids, every node in exactly one group
    hosts: dict[str, str]  # group -> host, for groups that named one
    transport: str  # auto (default: shm or ipc on one host, tcp between hosts), shm, ipc or tcp
    overrides: list[str] = field(default_factory=list)  # the --set assignments applied (workers re-apply them)
    security: dict = field(default_factory=dict)  # CURVE key files (pipeline.curve), paths only, never keys
    placement: dict = field(default_factory=dict)  # group -> where to run under --ray (pipeline.placement)
    restart: dict = field(default_factory=dict)  # group -> max_restarts, for groups with on_error: restart
    process_security: dict = field(default_factory=dict)  # group -> its own `security:` (per-process keys)
    cpus: dict = field(default_factory=dict)  # group -> the CPUs its worker and its I/O thread are pinned to


def _items(seq: list) -> list[tuple[Any, int]]:
    """Each item of a parsed list with its line (also for an item that is plain text or a number)."""
    lines, aliases = getattr(seq, "item_lines", []), getattr(seq, "item_aliases", {})  # `- *e`: the alias's line
    return [
        (item, aliases[i][0] if i in aliases else line_of(item) or (lines[i] if i < len(lines) else line_of(seq)))
        for i, item in enumerate(seq)
    ]


def _param_via(raw: Any, params: Any) -> dict:
    """param -> the line of this node that brings it from elsewhere (NodeConfig.param_via): all of them where the
    node's params are an alias or merged (`params: *p`, `<<: *defaults`), else those merged inside its params."""
    shared = getattr(raw, "shared", {})
    via = {k: shared["params"] for k in params} if "params" in shared else dict(getattr(params, "shared", {}))
    lines = getattr(params, "key_lines", {})
    return {k: line for k, line in via.items() if line != lines.get(k)}


def _name(raw: Any, key: str) -> str:
    """A node's id or type as written ('' for none usable: absent, null, empty, a list or a mapping)."""
    return (written(raw, key) or "") if isinstance(raw, dict) and key in raw else ""


def _path_or_number(name: str, value: Any) -> bool:
    """Whether a leading $NAME in this parameter is a variable no shell expanded: in a path (`$HOME/rec.edf`) or a
    whole value (`rate: $RATE`); not inside a list or mapping (a marker label '$start')."""
    return isinstance(value, str) and (
        "path" in name
        or name.endswith(("root", "dir", "file", "checkpoint"))
        or (value.startswith("$") and "/" not in value)
    )


def _has_nul(value: Any) -> bool:
    """A NUL character in a text, or in a list or mapping of them."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, (list, tuple)) and any(_has_nul(v) for v in value)


def graph_name(file: str, doc: dict, problems: list) -> str:
    """The graph's `name:` as written (`name: 2024` is '2024'); the file's stem when it has none."""
    name = written(doc, "name") if "name" in doc else None
    if isinstance(doc.get("name"), (list, dict)):
        _problem(problems, file, line_of(doc, "name"), "name must be text, not a list or mapping", "write name: NAME")
    return name or ("stdin" if file == "<stdin>" else Path(file).stem)


def _problem(problems, file, line, message, hint=""):
    problems.append((file, line, message, hint))


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> GraphConfig:
    """Read and structurally check a graph file (`-`: standard input). Raises GraphError listing every problem."""
    from .graph_file import read_graph

    file, doc = read_graph(path)
    return _parse(file, doc, overrides)


MAX_VALUES = 1_000_000  # in a graph file, aliases expanded: a few lines of nested aliases make 9**9 strings


def _values_in(doc: Any, limit: int) -> int:
    """How many values `doc` holds counting every alias use (a YAML 'billion laughs'), up to `limit` + 1.
    PyYAML shares aliased objects, so the file loads at once, but any walk of it (the checks, an error
    message's repr, a parameter's validation) would never end. Counted without expanding; stops past the limit."""
    stack, n = [doc], 0
    while stack:
        x = stack.pop()
        n += 1
        if n > limit:
            return n
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return n


def _parse(file: str, doc: Any, overrides: Sequence[str]) -> GraphConfig:
    problems: list = []
    if not isinstance(doc, dict):
        said = (
            "a graph file must be a mapping with 'nodes' and 'edges'" if doc is not None else "the file holds no YAML"
        )
        said += " (empty, or comments only)" if doc is None else ""
        raise GraphError([(file, 1, said, list_fix(doc))])
    unknown, meant = unknown_top_keys(doc)  # `node:` for nodes: said once, with the key it looks like
    for key_line, message, hint in unknown:
        _problem(problems, file, key_line, message, hint)
    nodes: list[NodeConfig] = []
    seen: dict[str, int] = {}
    inner = one_graph(doc)  # Timeflux's graphs: [{id, nodes, edges}]: the graph's nodes and edges still checked
    raw_nodes = inner.get(meant.get("nodes", "nodes")) or []
    broken: set[str] = set()  # ids of rejected node entries: their edges are not reported again
    nested = "nodes" not in doc and any(isinstance(doc.get(k), (list, dict)) for k in ("graphs", "graph"))  # said
    if (not isinstance(raw_nodes, list) or not raw_nodes) and not nested:
        _problem(
            problems,
            file,
            line_of(doc, "nodes"),
            "'nodes' must be a non-empty list",
            node_list_hint(raw_nodes),
        )
        one = dashless(raw_nodes, ("id", "type"))  # one node without its '- ': still checked
        if isinstance(raw_nodes, dict) and not one:  # nodes written as a mapping: their edges are not reported again
            broken.update(map(str, raw_nodes))
        raw_nodes = [raw_nodes] if one else []
    for i, (raw, line) in enumerate(_items(raw_nodes)):
        node_id, node_type = _name(raw, "id"), _name(raw, "type")  # as written: `id: 010` is '010', as in 010.out
        if not node_id or not node_type:
            _problem(
                problems,
                file,
                line,
                "each node needs an 'id' and a 'type'" + (f" (node '{node_id}' has none)" if node_id else ""),
                node_entry_fix(raw),
            )
            cased = [k for k in raw if str(k).lower() == "id"] if isinstance(raw, dict) and not node_id else []
            node_id = node_id or (_name(raw, cased[0]) if cased else "")  # `ID: src`: its edges are said by it
            if node_id:
                broken.add(node_id)
            continue
        for key_line, message, hint in unknown_node_keys(raw):
            _problem(problems, file, key_line, message, hint)
        if "." in node_id or "=" in node_id or not node_id or node_id != node_id.strip():  # ('a=b', ' src ': no
            fix = re.sub(r"[.=]+", "_", node_id.strip()) or "src"  # --set could name them: 'cannot read override')
            _problem(
                problems,
                file,
                line,
                f"node id '{node_id}' must be non-empty, with no '.' or '=' and no spaces around it",
                f"rename the node (and its edges): id: {fix}",
            )
            broken.add(node_id)  # `validate` checks the rest without it
            continue
        if node_id in seen:  # `- *src` (an alias) repeats the node, its id too: said at its line, with the merge
            alias_line, anchor = getattr(raw_nodes, "item_aliases", {}).get(i, (0, ""))
            _problem(
                problems,
                file,
                alias_line or line_of(raw, "id"),
                f"duplicate node id '{node_id}' (first at line {seen[node_id]})",
                f"'- *{anchor}' repeats the whole node, its id too: write '- {{<<: *{anchor}, id: {node_id}_2}}'"
                if anchor
                else "give every node a unique id",
            )
            continue
        seen[node_id] = line_of(raw, "id")
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            fix, given = params_as_mapping(params)  # the parameters meant, still checked
            _problem(problems, file, line_of(raw, "params"), f"node '{node_id}': params must be a mapping", fix)
            params = given or {}
        for key in [k for k in params if not isinstance(k, str)]:  # `{5: 3}`: was 'keywords must be strings'
            _problem(
                problems,
                file,
                getattr(params, "key_lines", {}).get(key, line_of(params)),  # (line_of takes None for no key)
                f"node '{node_id}': parameter name {'null' if key is None else repr(key)} is not a word",
                f"`wavegraph nodes {node_type}` lists its parameters",
            )
        on_error = raw.get("on_error", "stop")
        if on_error not in ON_ERROR:
            _problem(
                problems,
                file,
                line_of(raw, "on_error"),
                f"node '{node_id}': on_error {value_said(on_error)}",
                "use stop or restart",
            )
        nodes.append(
            NodeConfig(
                node_id,
                node_type,
                {k: v for k, v in params.items() if isinstance(k, str)},
                on_error,
                line,
                dict(getattr(params, "key_lines", {})),
                line_of(raw, "type"),
                set_text=dict(getattr(params, "plain_texts", {})),  # `subject: 01` as --set rec.subject=01 takes it
                merged_params=dict(getattr(raw, "merged_over", {}).get("params") or {}),
                param_via=_param_via(raw, params),
            )
        )
    by_id = {n.id: n for n in nodes}
    from .set_overrides import parse_set

    for assignment, (node_id, param, value) in zip(overrides, parse_set(list(overrides))):
        if node_id not in by_id:
            if node_id not in broken:  # (a refused entry's id is said with its problem)
                said = f"no node '{node_id}'{lookalikes(node_id)} to override"
                _problem(problems, "--set", 0, said, node_hint(node_id, list(by_id)))
            continue
        nc, (head, dot, key) = by_id[node_id], param.partition(".")
        if dot and isinstance(nc.params.get(head), dict):  # bp.bands.alpha=[8, 12]: one entry of a mapping
            param, value = head, {**nc.params[head], key: value}
        else:
            nc.set_text[param] = assignment.partition("=")[2].strip()
        nc.params[param] = value
        nc.overridden.append(param)
    for nc in nodes:  # a NUL: the recorder's path check raised 'ValueError: embedded null byte' with a traceback
        for param in (k for k, v in nc.params.items() if _has_nul(v)):
            broken.add(nc.id)  # not built: its edges are not reported again
            where = ("--set", 0) if param in nc.overridden else (file, nc.param_lines.get(param, nc.line))
            _problem(
                problems,
                *where,
                f"node '{nc.id}': parameter '{param}' holds a NUL character",
                "remove it (no file name or text holds one; in a double-quoted YAML string, \\0 is a NUL)",
            )
        for param, var in ((k, unexpanded(v, _path_or_number(k, v))) for k, v in nc.params.items()):
            if var:  # ${DATA} as in docker compose: no variable is expanded, the file or number was wrong
                broken.add(nc.id)
                text = nc.params[param] if isinstance(nc.params[param], str) else var  # the shell expands it
                where = ("--set", 0) if param in nc.overridden else (file, nc.param_lines.get(param, nc.line))
                said = f"node '{nc.id}': parameter '{param}' holds {var}, which wavegraph does not expand"
                hint = f'write the value, or give it when you run: --set "{nc.id}.{param}={text}" (double quotes)'
                _problem(problems, *where, said, hint)

    edges: list[EdgeConfig] = []
    raw_edges = inner.get(meant.get("edges", "edges")) or []
    bad_edges: set[int] = set()  # edges with a malformed end: left out of what `validate` checks further
    if not isinstance(raw_edges, list):
        one = dashless(raw_edges, ("source", "target"))  # one edge without its '- ': still checked
        pairs = [] if one else edge_pairs(raw_edges)  # `edges: a.out -> b.in`, `edges: {a.out: b.in}`
        items = ", ".join(f"'- {{source: {a}, target: {b}}}'" for a, b in pairs)
        fix = one or (f"write one item per edge: {items}" if pairs else "write '- {source: a.out, target: b.in}'")
        _problem(problems, file, line_of(doc, "edges"), "'edges' must be a list", fix)
        raw_edges = [raw_edges] if one else []
        for a, b in pairs:  # (said: what they feed is not said unconnected too)
            bad_edges.add(len(edges))
            edges.append(EdgeConfig(a, b, DEFAULT_QUEUE, "block", line_of(doc, "edges")))
    for raw, line in _items(raw_edges):
        if not isinstance(raw, dict) or "source" not in raw or "target" not in raw:
            ends = raw.split("->") if isinstance(raw, str) else [*raw.values()] if isinstance(raw, dict) else raw
            ends = [*edge_pairs(raw)[0]] if isinstance(raw, dict) and len(raw) == 1 and edge_pairs(raw) else ends
            ends = [written(raw, i) for i in range(len(raw))] if isinstance(raw, list) else ends  # `- [010, b]`
            # (`- [a.out, b.in]`, `- a.out -> b.in`, `- {from: a.out, to: b.in}`: its two ends, in the order written)
            ok = isinstance(ends, list) and len(ends) == 2 and all(isinstance(x, str) for x in ends)
            a, b = (str(x).strip() for x in ends) if ok else ("a.out", "b.in")
            a, b = (x if "." in x else f"{x}.{port}" for x, port in ((a, "out"), (b, "in")))  # `- [a, b]`
            fix = f"write '- {{source: {a}, target: {b}}}'"
            keys = raw if isinstance(raw, dict) else {}
            cased = [f"{k}:" for k in keys if str(k).lower() in ("source", "target") and k not in ("source", "target")]
            fix = f"keys are lower case: {fix} (not {', '.join(cased)})" if cased else fix
            fix = empty_item("edge") if raw is None else fix
            _problem(problems, file, line, "each edge needs 'source' and 'target'", fix)  # `Source:` was not said
            if ok:  # (said: what it feeds is not said unconnected too)
                bad_edges.add(len(edges))
                edges.append(EdgeConfig(a, b, DEFAULT_QUEUE, "block", line))
            continue
        for key in raw:
            if key not in ("source", "target", "queue", "policy", "transport"):
                _problem(
                    problems,
                    file,
                    line_of(raw, key),
                    f"edge: unknown key '{key}'{lookalikes(str(key))}",
                    "use source, target, queue, policy, transport",
                )
        edge_transport = raw.get("transport", "")  # "": the graph's
        if "transport" in raw and edge_transport not in TRANSPORTS:
            _problem(
                problems,
                file,
                line_of(raw, "transport"),
                f"edge transport {value_said(edge_transport)}",
                "use auto, shm, ipc or tcp",
            )
        policy = raw.get("policy", "block")
        if policy not in POLICIES:
            _problem(
                problems, file, line_of(raw, "policy"), f"edge policy {value_said(policy)}", "use block or drop_oldest"
            )
        queue = raw.get("queue", DEFAULT_QUEUE)
        if not isinstance(queue, int) or isinstance(queue, bool) or not 1 <= queue <= MAX_QUEUE:
            _problem(
                problems,
                file,
                line_of(raw, "queue"),
                f"edge queue {'null' if queue is None else repr(queue)} must be an integer from 1 to {MAX_QUEUE}",
                "write queue: 64",
            )
            queue = DEFAULT_QUEUE
        ends = []
        for key in ("source", "target"):
            value = written(raw, key) or ""  # as written: `source: 010.out` names node '010'
            if isinstance(raw[key], list):  # `target: [a.in, b.in]`: an edge joins one port to one port
                bad_edges.add(len(edges))
                _problem(problems, file, line_of(raw, key), f"edge {key} is a list", EDGE_LIST_FIX)
            elif value.count(".") != 1 or not all(value.split(".")):
                bad_edges.add(len(edges))
                fix = edge_end_fix(value, key, by_id)
                _problem(
                    problems,
                    file,
                    line_of(raw, key),
                    f"edge {key} '{value}' must be 'node.port'" if value else f"edge {key} has no value (null)",
                    f"write {key}: {fix}",
                )
            ends.append(value)
        edges.append(EdgeConfig(ends[0], ends[1], queue, policy, line, str(edge_transport)))

    from .process_groups import parse_cpus, parse_groups, parse_process_security, parse_restart

    processes, hosts = parse_groups(file, doc, [n.id for n in nodes], problems)
    transport = doc.get("transport", "auto")
    if transport not in TRANSPORTS:
        _problem(
            problems, file, line_of(doc, "transport"), f"transport {value_said(transport)}", "use auto, shm, ipc or tcp"
        )
    group_of = {n: g for g, ns in processes.items() for n in ns}
    for e in edges:  # shm and ipc need both ends on one host
        ends = {group_of.get(e.source_node), group_of.get(e.target_node)}
        if e.transport in ("shm", "ipc") and len(ends) == 2 and ends & set(hosts):
            _problem(
                problems,
                file,
                e.line,
                f"edge {e}: transport {e.transport} needs both ends on one host, but a process names a host",
                "remove the edge's transport (tcp is used between hosts)",
            )
    from .curve import is_loopback, parse_security
    from .placement import parse_placement

    security = parse_security(file, doc.get("security"), problems, line_of)
    placement = parse_placement(file, doc.get("processes"), problems, line_of)
    restart = parse_restart(file, doc.get("processes"), problems)
    process_security = parse_process_security(file, doc.get("processes"), bool(security), problems)
    cpus = parse_cpus(file, doc.get("processes"), problems)
    for group, host in hosts.items():
        if not security and not is_loopback(host) and not any(f"process '{group}': host" in p[2] for p in problems):
            _problem(
                problems,
                file,
                line_of(doc.get("processes"), group),
                f"process '{group}': host {host} is reachable from other machines, and edges between hosts need CURVE",
                "add security: {server_key: ..., client_key: ...} (see docs/multihost.md)",
            )
    config = GraphConfig(
        file,
        graph_name(file, doc, problems),
        nodes,
        edges,
        processes,
        hosts,
        transport if transport in TRANSPORTS else "auto",
        list(overrides),
        security,
        placement,
        restart,
        process_security,
        cpus,
    )
    from .key_checks import key_file_problems

    problems += key_file_problems(config, doc, line_of)  # the key files named: here, now, not at a worker's start
    if problems:
        error = GraphError(problems)
        error.nodes = [n for n in nodes if n.id not in broken]  # the well-formed: `validate` checks them too
        good_edges = [e for i, e in enumerate(edges) if i not in bad_edges]
        error.config = GraphConfig(file, config.name, error.nodes, good_edges, processes, hosts, config.transport)
        error.broken = broken  # `validate` also checks ports, topology and specs of the rest
        # the node a malformed edge feeds (`target: bp`, `source: src` into bp.in): its input is not said unconnected
        error.broken |= {fed_node(edges[i].target, by_id) for i in bad_edges if isinstance(edges[i].target, str)}
        raise error
    return config
