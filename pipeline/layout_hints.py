"""Fixes for a graph file laid out as another tool's: parameters beside `params`, nodes as a mapping (config.py)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection
from typing import Any

import yaml

from .peer_types import peer_type_fix
from .yaml_lines import LineLoader, line_of, lookalikes, written

NODE_KEYS = ("id", "type", "params", "on_error")
TOP_KEYS = ("name", "nodes", "edges", "processes", "transport", "security")
_TOP_LIKE = {  # other tools' words for wavegraph's keys
    **dict.fromkeys(("connections", "links", "wires", "connect", "routes", "pipes"), "edges"),
    **dict.fromkeys(("components", "units", "blocks", "steps", "graph"), "nodes"),
    **dict.fromkeys(("groups", "workers", "process"), "processes"),
}
_INCLUDE = ("include", "includes", "import", "imports", "extends", "extend", "base", "inherit", "template", "load")
_RATE_LIKE = ("rate", "fps", "hz", "tick", "ticks", "interval", "period", "frequency", "srate", "fs", "sfreq")
_NOTES = ("description", "desc", "comment", "comments", "notes", "author", "version", "meta", "metadata", "about")


def unknown_top_keys(doc: dict) -> tuple[list[tuple[int, str, str]], dict[str, Any]]:
    """(line, message, fix) for each top-level key that is not a graph key (x-NAME keys are YAML anchors' place),
    with the key it looks like; and graph key -> the key that seems to stand for it, where the file lacks it (`node:`
    for nodes: its nodes are still checked, and the missing nodes: is not said again)."""
    out, meant = [], {}
    listed = ", ".join(TOP_KEYS)
    for key in doc:
        text = "null" if key is None else str(key)
        if text.startswith("x-") or key in TOP_KEYS:
            continue
        near = _TOP_LIKE.get(text.lower()) or next(
            iter(difflib.get_close_matches(text.lower(), TOP_KEYS, n=1, cutoff=0.6)), None
        )
        if text in ("graphs", "graph") and isinstance(
            doc[key], (dict, list)
        ):  # Timeflux's layout, or one level too deep
            near, fix = "", "a file holds one graph: put its nodes: and edges: at the top level"
            if isinstance(doc[key], list) and len(doc[key]) > 1:  # Timeflux runs each graph in its own process
                fix = (
                    "a file holds one graph: put every graph's nodes under one nodes: and their edges under one "
                    "edges: at the top level (an edge between graphs is a plain edge), and list each graph's nodes as a "
                    "group under processes: (its own OS process, as Timeflux's graphs are)"
                )
        elif text.lower() in _INCLUDE:
            fix = (
                f"a graph file holds the whole graph and reads no other file ({text}: is not supported): copy the "
                "nodes in; to share values within the file, anchor them under an x-NAME key (x-bp: &bp {l_freq: 1.0}, "
                "then params: *bp); to change one per run, --set node.param=value"
            )
        elif text.lower() in _RATE_LIKE:  # Timeflux's graph `rate: 10` (its scheduler's ticks per second)
            near, fix = (
                "",
                (
                    "a graph has no rate of its own: each node runs when a chunk reaches it, so a source's rate and "
                    "chunk_size set how often (params: {rate: 250, chunk_size: 25} is 10 chunks a second); "
                    "`wavegraph run --speed 1` replays a file in real time"
                ),
            )
        elif text.lower() in _NOTES:
            fix = f"a note goes in a comment (# ...) or an x- key, which is ignored: write x-{text}: ..."
        elif near:
            fix = f"did you mean '{near}'? (the keys are {listed}, and x-NAME for YAML anchors)"
        else:
            fix = f"use {listed} (or x-NAME for YAML anchors)"
        if near and near not in doc:
            meant.setdefault(near, key)
        out.append((line_of(doc, key), f"unknown top-level key '{text}'{lookalikes(text)}", fix))
    return out, meant


_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-[^}]*)?\}")
_LEADING = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_]*(?=/|$)")  # `$HOME/rec.edf`, `$RATE`: not `$start` in a label list
_IN_PATH = re.compile(r"(?<=/)\$[A-Za-z_][A-Za-z0-9_]*")  # `/data/$SUBJ/x.edf`, `out/$RUN_raw.fif`: a folder's or
# file's name as a shell variable starts it (a recorder wrote a file named '$RUN_raw.fif', unsaid)


def unexpanded(value: Any, leading: bool = False) -> str:
    """The first ${NAME} in a parameter's text, in a list or mapping of them too; with `leading` (a path or a number,
    where a `$` is no file's or number's) also a leading $NAME; "" when none. A graph file is not a docker compose file:
    wavegraph expands no variables, so `path: ${DATA}/rec.edf` was looked for as a file named that, and `rate: ${RATE}`
    was 'text, not a number'. A leading $NAME elsewhere is left alone: a marker label may be '$start'."""
    if isinstance(value, str):
        found = _VARIABLE.search(value) or (_LEADING.search(value) or _IN_PATH.search(value) if leading else None)
        return found.group(0) if found else ""
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else []
    return next((v for v in (unexpanded(i, leading) for i in items) if v), "")


def list_fix(doc: Any) -> str:
    """The fix for a graph file that is no mapping: a list of node entries lacks its `nodes:` line; a list of graphs
    (each with nodes:) is several graphs in one file."""
    items = doc if isinstance(doc, list) else []
    if items and all(isinstance(x, dict) and "nodes" in x for x in items):
        return "a file holds one graph: give each its own file, with nodes: and edges: at the top level"
    if items and any(isinstance(x, dict) and ("id" in x or "type" in x) for x in items):
        return "the file is a list of nodes: write 'nodes:' on the line above it, the entries indented under it"
    return "see configs/default.yaml"


def dashless(raw: Any, keys: tuple[str, ...]) -> str:
    """The fix for `nodes:` or `edges:` that is one entry written without its '- ' (a mapping holding one of `keys`:
    `id: src` under `nodes:`), "" for anything else."""
    if not isinstance(raw, dict) or not any(k in raw for k in keys):
        return ""
    item = yaml.safe_dump(
        json.loads(json.dumps(raw, default=str)), default_flow_style=True, sort_keys=False, width=1000
    )
    what = "a node" if "id" in keys else "an edge"
    return f"{what} is an item of the list: put '- ' before its first key: - {item.strip()}"


def edge_pairs(raw: Any) -> list[tuple[str, str]]:
    """The (source, target) of each edge of `edges:` written as no list: one text of arrows (`a.out -> b.in; c.out ->
    d.in`) or a mapping of pairs (`a.out: b.in`); [] for anything else."""
    if isinstance(raw, str):
        parts = [p.split("->") for p in re.split(r"[;,\n]", raw)]
        return [(a.strip(), b.strip()) for a, b in (p for p in parts if len(p) == 2)]
    if isinstance(raw, dict) and "source" not in raw and "target" not in raw:
        return [(str(k), v) for k, v in raw.items() if isinstance(v, str) and "." in str(k)]
    return []


def node_list_hint(raw_nodes: Any) -> str:
    """The fix for `nodes:` that is no list: for a mapping of id -> node (compose-style), its first entry as an item."""
    if dashless(raw_nodes, ("id", "type")):
        return dashless(raw_nodes, ("id", "type"))
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        return "add '- {id: ..., type: ...}' entries"
    node_id, body = next(iter(raw_nodes.items()))
    body = json.loads(json.dumps(body if isinstance(body, dict) else {"type": body}, default=str))  # plain, for yaml
    item = yaml.safe_dump({"id": node_id, **body}, default_flow_style=True, sort_keys=False, width=1000).strip()
    return f"write one '- ' entry per node, its id inside: '- {item}'"


_ID_LIKE = ("name", "label", "node_id")  # what other tools call a node's id
_TYPE_LIKE = ("kind", "class", "node_type", "nodetype", "plugin", "component", "op")  # and its type
_EDGE_LIKE = ("inputs", "input", "from", "source", "sources", "upstream", "parents", "connect", "connections", "wires")


def empty_item(what: str) -> str:
    """The fix for a list item that is empty: a '-' left alone when an entry was deleted."""
    return f"the item is empty (a '-' with nothing after it): remove the line, or write the {what} after its '-'"


def node_entry_fix(raw: Any) -> str:
    """The fix for a node entry without a usable id or type, from what it holds instead."""
    plain = "write '- {id: name, type: node_type, params: {...}}'"
    if raw is None:
        return empty_item("node")
    if not isinstance(raw, dict):
        return plain
    if "type" not in raw and "module" in raw and "class" in raw:  # Timeflux's layout
        from .registry import catalogue  # (here: the registry imports numpy, which a graph file's parse needs not)

        path = f"{raw['module']}:{raw['class']}"
        return peer_type_fix(path, list(catalogue())) or f"write type: {path} (module:Class of a wavegraph Node)"
    for key, value in (("id", raw.get("id")), ("type", raw.get("type"))):
        if isinstance(value, (list, dict)):
            what = "a list" if isinstance(value, list) else "a mapping"
            one = written(value, 0) if isinstance(value, list) and value else None
            one = one or "NAME"  # (the first item, as written, when it is a name)
            return f"a node's {key} is one name, not {what}: write {key}: {one}"
    cased = {k: str(k).lower() for k in raw if str(k).lower() in ("id", "type") and k != str(k).lower()}
    if cased and not any(lower in raw for lower in cased.values()):  # `ID: src`, `Type: sine`: keys are lower case
        said = ", ".join(f"{lower}: {written(raw, k) or 'NAME'}" for k, lower in cased.items())
        return f"keys are lower case: write {said} (not {', '.join(f'{k}:' for k in cased)})"
    if "id" not in raw or raw["id"] is None:
        other = next((k for k in _ID_LIKE if k in raw), None)
        if other is not None:  # ezmsg's and many tools' `name:`
            return f"a node's name is its id: write id: {written(raw, other) or 'NAME'} (not {other}:)"
        if "id" in raw:
            return "its id has no value (YAML reads 'id:', 'id: ~' and 'id: null' as none): write id: NAME"
    if raw.get("type") is None:  # `typ: sine`, Kubernetes' `kind:`: was the template, not the key to rename
        like = (k for k in raw if str(k).lower() in _TYPE_LIKE or difflib.get_close_matches(str(k), ["type"], 1, 0.6))
        other = next((k for k in like if k not in NODE_KEYS and written(raw, k)), None)
        if other is not None:
            named = "" if raw.get("id") is not None else ", and name it: id: NAME"
            return f"a node's type is written type: write type: {written(raw, other)} (not {other}:){named}"
    return plain


def unknown_node_keys(raw: dict) -> list[tuple[int, str, str]]:
    """(line, message, fix) for each key of a node entry that is not a node key: one like a node key (on_eror) gets the
    list; a mapping (ezmsg's `settings:`) is the params under another name; others are parameters beside `params`."""
    close: dict = {}
    for key in (k for k in raw if k not in NODE_KEYS):
        if str(key).lower() in _EDGE_LIKE:  # `inputs: [src]` on the node: wavegraph's connections are edges
            value = raw[key] if isinstance(raw[key], list) else [raw[key]]
            node = written(raw, "id")
            ends = [f"{{source: {v if '.' in str(v) else f'{v}.out'}, target: {node}.in}}" for v in value]
            close[key] = (
                f"a node's inputs are edges: write under edges: - {', - '.join(ends) or '...'} "
                f"(a parameter named {key} goes under params:)"
            )
            continue
        close[key] = difflib.get_close_matches(str(key), NODE_KEYS, n=1, cutoff=0.6) or isinstance(raw[key], dict)
    stray = ", ".join(f"{k}: {json.dumps(raw[k], default=str)}" for k, like in close.items() if not like)
    return [
        (
            line_of(raw, key),
            f"node '{written(raw, 'id')}': unknown key '{key}'{lookalikes(str(key))}",
            like
            if isinstance(like, str)
            else "use id, type, params, on_error"
            if isinstance(like, list)
            else f"a node's parameters go under params: rename '{key}' to params"
            if like
            else f"a parameter goes under params: write params: {{{stray}}}",
        )
        for key, like in close.items()
    ]


def params_as_mapping(params: Any) -> tuple[str, dict | None]:
    """For `params:` that is no mapping, the fix and, where the parameters can be read from it, the mapping meant (so
    that they are still checked): a list of one-key mappings (`- l_freq: 1.0` lines, the dashes of a YAML list) or
    text (`params: "l_freq=1, h_freq=40"`). Both said "write params: {name: value}" and then that every parameter
    given was missing."""
    meant: dict | None = None
    if isinstance(params, list) and params and all(isinstance(p, dict) for p in params):
        keys = [k for p in params for k in p]
        if all(isinstance(k, str) for k in keys) and len(set(keys)) == len(keys):
            merged = type(params[0])({k: v for p in params for k, v in p.items()})  # a LineDict: its lines kept
            for attr in ("key_lines", "plain_texts"):
                setattr(merged, attr, {k: v for p in params for k, v in getattr(p, attr, {}).items()})
            meant = merged
    elif isinstance(params, str):
        pairs = re.findall(r"\s*([A-Za-z_]\w*)\s*[=:]\s*([^,;]*?)\s*(?:[,;]|$)", params)
        rebuilt = ", ".join(f"{k}={v}" for k, v in pairs)
        if pairs and re.sub(r"\s*[=:]\s*", "=", re.sub(r"\s*[,;]\s*", ", ", params.strip())) == rebuilt:
            try:
                meant = {k: yaml.load(v, Loader=LineLoader) if v else None for k, v in pairs}
            except yaml.YAMLError:
                meant = None
    if meant is None:
        return "write params: {name: value}", None
    shown = yaml.safe_dump(dict(meant), default_flow_style=True, sort_keys=False, width=10**6).strip()
    what = "not as a list" if isinstance(params, list) else "not as text"
    return f"write them as one mapping, {what}: params: {shown}", meant


def end_node(value: str, ids: Collection[str]) -> tuple[str, str] | None:
    """(node, port) of an edge end written with another separator than '.' (ROS's `src/out`, `src->out`, `src::out`,
    `src out`) whose node is one of `ids`; None otherwise."""
    found = re.fullmatch(r"(.+?)\s*(?:/|->|::|\s)\s*([\w-]+)", value.strip())
    return (found.group(1), found.group(2)) if found and found.group(1) in ids else None


def fed_node(target: str, ids: Collection[str]) -> str:
    """The node a malformed edge target names (`bp`, `bp:in`, `bp/in` for a node bp), so its input is not also said
    to be unconnected."""
    return (end_node(target, ids) or re.split(r"[.:]", target))[0]


def edge_end_fix(value: str, key: str, ids: Collection[str] = ()) -> str:
    """What to write for an edge's source or target that is not `node.port`: Timeflux's `node:port`, a bare node id
    (its out or in), and Timeflux's `node:*` (every port; was 'write source: a.*', a port no node has); `src/out`
    and the like for a node of `ids` (was 'write source: src/out.out')."""
    default = "out" if key == "source" else "in"
    if value in ids:  # (an id may hold a '/' or a space)
        return f"{value}.{default}"
    if "." not in value and (ends := end_node(value, ids)):
        return ".".join(ends)
    node, colon, port = value.partition(":")
    if colon and node and port == "*" and "." not in value:
        return (
            f"{node}.{default} (one edge per port: wavegraph has no wildcard; `wavegraph nodes TYPE` lists the ports)"
        )
    if colon and node and port and "." not in value:
        return f"{node}.{port}"
    if value and "." not in value and ":" not in value and not re.search(r"/|->|\s", value.strip()):
        return f"{value}.{default}"
    return "node.port"


def one_graph(doc: dict) -> dict:
    """Where the file has no nodes: but Timeflux's `graphs:` of one graph, that graph (its nodes and edges are still
    checked, beside the layout's problem: was also "'nodes' must be a non-empty list"); else the file itself."""
    graphs = doc.get("graphs", doc.get("graph")) if "nodes" not in doc else None  # (`graph:`: one level too deep)
    if isinstance(graphs, list) and len(graphs) == 1:
        graphs = graphs[0]
    return graphs if isinstance(graphs, dict) and isinstance(graphs.get("nodes"), list) else doc
