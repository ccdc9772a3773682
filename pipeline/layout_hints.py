"""Fixes for a graph file laid out as another tool's: parameters beside `params`, nodes as a mapping (config.py)."""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml

from .yaml_lines import line_of, lookalikes

NODE_KEYS = ("id", "type", "params", "on_error")


def node_list_hint(raw_nodes: Any) -> str:
    """The fix for `nodes:` that is no list: for a mapping of id -> node (compose-style), its first entry as an item."""
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        return "add '- {id: ..., type: ...}' entries"
    node_id, body = next(iter(raw_nodes.items()))
    body = json.loads(json.dumps(body if isinstance(body, dict) else {"type": body}, default=str))  # plain, for yaml
    item = yaml.safe_dump({"id": node_id, **body}, default_flow_style=True, sort_keys=False, width=1000).strip()
    return f"write one '- ' entry per node, its id inside: '- {item}'"


def unknown_node_keys(raw: dict) -> list[tuple[int, str, str]]:
    """(line, message, fix) for each key of a node entry that is not a node key: one like a node key (on_eror) gets the
    list; a mapping (ezmsg's `settings:`) is the params under another name; others are parameters beside `params`."""
    close = {}
    for key in (k for k in raw if k not in NODE_KEYS):
        close[key] = difflib.get_close_matches(str(key), NODE_KEYS, n=1, cutoff=0.6) or isinstance(raw[key], dict)
    stray = ", ".join(f"{k}: {json.dumps(raw[k], default=str)}" for k, like in close.items() if not like)
    return [
        (
            line_of(raw, key),
            f"node '{raw['id']}': unknown key '{key}'{lookalikes(str(key))}",
            "use id, type, params, on_error"
            if isinstance(like, list)
            else f"a node's parameters go under params: rename '{key}' to params"
            if like
            else f"a parameter goes under params: write params: {{{stray}}}",
        )
        for key, like in close.items()
    ]
