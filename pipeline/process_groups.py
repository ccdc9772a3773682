"""The `processes:` section of a graph file (pipeline/config.py reads the rest): which nodes each process
group runs, a group's `host` (checked to be an address of this machine, where its receivers bind), its restart
policy (`on_error: restart`, `max_restarts`), its own `security:` keys and its `cpus` (the CPUs its process and its
ZeroMQ I/O thread may run on). Placement under --ray (`on:`) is pipeline/placement.py. Problems are appended to
the caller's list as (file, line, message, hint)."""

from __future__ import annotations

import difflib
import os
import socket

from .config import ON_ERROR, _problem
from .yaml_lines import line_of, node_hint, value_said, written


def host_problem(host: str) -> str:
    """Why a process cannot bind on `host` here ("" when it can): receivers bind to their group's host."""
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as e:
        return f"cannot be resolved ({e})"
    for family, kind, proto, _, addr in infos:
        try:
            with socket.socket(family, kind, proto) as s:
                s.bind(addr)
            return ""
        except OSError:
            continue
    return "is not an address of this machine"


def parse_process_security(file, raw, graph_has_security: bool, problems) -> dict[str, dict]:
    """group -> its own `security:` (the same fields as the graph's; pipeline.curve, per-process keys)."""
    from .curve import parse_security

    out: dict[str, dict] = {}
    for group, members in (raw or {}).items() if isinstance(raw, dict) else ():
        if isinstance(members, dict) and "security" in members:
            own = parse_security(file, members["security"], problems, line_of)
            if own and not graph_has_security:
                _problem(
                    problems,
                    file,
                    line_of(members, "security"),
                    f"process '{group}': its own security: needs the graph's security: too",
                    "add security: {server_key: ..., client_key: ...} at the top (the parent's control socket)",
                )
            elif own:
                out[str(group)] = own
    return out


GROUP_KEYS = ("nodes", "host", "on_error", "max_restarts", "security", "cpus", "on")


def parse_cpus(file, raw, problems) -> dict[str, list[int]]:
    """group -> the CPUs (`cpus: [2, 3]` or `cpus: 2`) its worker pins itself and its I/O thread to. A group
    placed by --ray (`on:`) may run on another machine: its worker checks them there instead."""
    out: dict[str, list[int]] = {}
    for group, members in (raw or {}).items() if isinstance(raw, dict) else ():
        if not isinstance(members, dict) or "cpus" not in members:
            continue
        value, line = members["cpus"], line_of(members, "cpus")
        cpus = [value] if isinstance(value, int) else value
        if not isinstance(cpus, list) or not cpus or any(not isinstance(c, int) or isinstance(c, bool) for c in cpus):
            _problem(
                problems,
                file,
                line,
                f"process '{group}': cpus must be a CPU number or a list of them",
                "write cpus: [0]",
            )
            continue
        here, placed = _cpus_here(), "on" in members
        missing = [c for c in cpus if c not in here]
        if here and missing and not placed:
            _problem(
                problems,
                file,
                line,
                f"process '{group}': cpus {missing} are not CPUs this process may use",
                f"use some of {sorted(here)}",
            )
            continue
        if not here and not placed:
            _problem(problems, file, line, f"process '{group}': cpus cannot be set on this system", "remove cpus")
            continue
        out[str(group)] = sorted(set(cpus))
    return out


def _cpus_here() -> set[int]:
    """The CPUs this process may run on; empty where the system cannot pin (no sched_setaffinity)."""
    get = getattr(os, "sched_getaffinity", None)
    return set(get(0)) if get else set()


def parse_restart(file, raw, problems) -> dict[str, int]:
    """group -> max_restarts for each `processes:` entry with `on_error: restart` (default 3 restarts)."""
    out: dict[str, int] = {}
    for group, members in (raw or {}).items() if isinstance(raw, dict) else ():
        if not isinstance(members, dict) or ("on_error" not in members and "max_restarts" not in members):
            continue
        policy, limit = members.get("on_error", "stop"), members.get("max_restarts", 3)
        if policy not in ON_ERROR:
            _problem(
                problems,
                file,
                line_of(members, "on_error"),
                f"process '{group}': on_error {value_said(policy)}",
                "use stop or restart",
            )
        elif "on_error" not in members:  # `{nodes: [dec], max_restarts: 5}`: no restart at all, and nothing said
            _problem(
                problems,
                file,
                line_of(members, "max_restarts"),
                f"process '{group}': max_restarts is only read with on_error: restart",
                "add on_error: restart to restart its process when it dies, or remove max_restarts",
            )
        elif not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 1000:
            _problem(
                problems,
                file,
                line_of(members, "max_restarts"),
                f"process '{group}': max_restarts must be a whole number from 0 to 1000",
                "write max_restarts: 3",
            )
        elif policy == "restart":
            out[str(group)] = limit
    return out


def _not_an_id(group: str, i: int, members: list) -> tuple[str, str]:
    """(what, fix) for item i of a group's list that is no name: a mapping (a node's entry), a list, '' or null."""
    item, ids = members[i], [m for m in (written(members, j) for j in range(len(members))) if m]
    said = f"process '{group}': item {i + 1} {'is empty' if item == '' else value_said(item)}, not a node id"
    if isinstance(item, dict) and "id" in item and written(item, "id"):
        return said, f"write its id: {group}: [{', '.join([*ids[:i], str(written(item, 'id')), *ids[i:]])}]"
    if isinstance(item, list):
        inner = [n for n in (written(item, j) for j in range(len(item))) if n]
        return said, f"write the ids in one list: {group}: [{', '.join([*ids[:i], *inner, *ids[i:]])}]"
    return said, f"write node ids: {group}: [{', '.join(ids) or 'node_a'}]"


def parse_groups(file, doc, node_ids, problems) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(group -> its node ids, group -> its host) from `processes:`; nodes no group lists share "main"."""
    raw = doc.get("processes") or {}
    groups: dict[str, list[str]] = {}
    hosts: dict[str, str] = {}
    placed: dict[str, str] = {}
    searched = [0]  # unknown node ids given a 'did you mean' (yaml_lines.node_hint)
    if not isinstance(raw, dict):
        _problem(
            problems,
            file,
            line_of(doc, "processes"),
            "'processes' must map a group name to node ids",
            "write processes: {acq: [src]}",
        )
        raw = {}
    for group, members in raw.items():
        line = line_of(raw, group)
        if len(str(group).encode()) > 240:  # its run files (RUN/<group>.json) are named after it: was a traceback
            size = len(str(group).encode())
            _problem(problems, file, line, f"process '{str(group)[:20]}...': a name of {size} bytes", "use at most 240")
            continue
        if isinstance(members, dict):
            for key in members:
                if key not in GROUP_KEYS:
                    near = [k for k in GROUP_KEYS if k == str(key).lower()]  # `On:` (too short for difflib)
                    near = near or difflib.get_close_matches(str(key), GROUP_KEYS, n=1)
                    _problem(
                        problems,
                        file,
                        line_of(members, key) or line,
                        f"process '{group}': unknown key '{key}'",
                        f"did you mean '{near[0]}'?" if near else f"use {', '.join(GROUP_KEYS)}",
                    )
            host = members.get("host")
            if host is not None and (not isinstance(host, str) or not host.strip()):  # `host: ''`, `host: 0`: were
                said = (
                    f"{value_said(host)}, not"
                    if isinstance(host, (list, dict))
                    else f"'{written(members, 'host')}' is not"
                )
                _problem(  # taken for no host (the edges silently local), as `false`, `[]` were
                    problems,
                    file,
                    line_of(members, "host"),
                    f"process '{group}': host {said} an address",
                    "name an address of this machine as text, e.g. host: 127.0.0.1 (or leave host out)",
                )
            elif host:
                hosts[str(group)] = str(members["host"])
                why = host_problem(hosts[str(group)])
                if why:
                    _problem(
                        problems,
                        file,
                        line_of(members, "host"),
                        f"process '{group}': host '{members['host']}' {why}",
                        "name an address of this machine (127.0.0.1 by default); workers run here",
                    )
            members = members.get("nodes", [])
        if group is None or isinstance(group, bool):  # `null: [src]` ran a process called 'None'
            what = "null (no name)" if group is None else f"{str(group).lower()} (a boolean)"
            _problem(problems, file, line, f"a process group's name is {what}", "give it a name: dsp: [...]")
            continue
        if not str(group).strip():  # '': the worker's control identity, which ZeroMQ refuses: the run hung at start
            what = "empty" if group == "" else f"only blanks ({group!r})"
            _problem(problems, file, line, f"a process group's name is {what}", "give it a name: dsp: [...]")
            continue
        if not isinstance(members, list):
            where = (raw[group], "nodes") if isinstance(raw[group], dict) else (raw, group)  # as written: a: 010
            one = written(*where) if not isinstance(members, (dict, type(None))) else None
            _problem(
                problems,
                file,
                line,
                f"process '{group}' must list node ids",
                f"write {where[1]}: [{one or 'node_a, node_b'}]",
            )
            continue
        if not members:  # was dropped without a word: a group emptied by mistake, its nodes run in "main"
            _problem(
                problems, file, line, f"process '{group}' lists no nodes", f"list them ({group}: [node_a]) or remove it"
            )
            continue
        for i, m in enumerate(written(members, i) for i in range(len(members))):  # as written: `[010]` is '010'
            if not m:  # a node's entry pasted in, a nested list, '' or null: was "names unknown node 'null'"
                _problem(problems, file, line, *_not_an_id(str(group), i, members))
            elif m not in node_ids:
                _problem(
                    problems,
                    file,
                    line,
                    f"process '{group}' names unknown node '{m}'",
                    node_hint(m, list(node_ids), searched=searched),
                )
            elif m in placed:
                twice = placed[m] == str(group)  # `a: [src, src]` was "placed in both 'a' and 'a'"
                _problem(
                    problems,
                    file,
                    line,
                    f"node '{m}' listed twice in '{group}'"
                    if twice
                    else f"node '{m}' placed in both '{placed[m]}' and '{group}'",
                    "list it once" if twice else "place each node in one process",
                )
            else:
                placed[m] = str(group)
                groups.setdefault(str(group), []).append(m)
    rest = [n for n in node_ids if n not in placed]
    if rest:
        groups.setdefault("main", []).extend(rest)
    return groups, hosts
