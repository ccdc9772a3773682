"""`--set node.param=value`: the command line's overrides of a graph file's parameters, read as YAML values."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import yaml

from .config import MAX_VALUES, GraphError, _values_in
from .yaml_lines import LineLoader


def parse_set(assignments: list[str]) -> list[tuple[str, str, Any]]:
    """Parse `--set node.param=value` overrides; the value is read as YAML (so 4 is an int), under the graph
    file's limit on values with aliases expanded (MAX_VALUES, all the overrides together)."""
    out, values = [], 0
    for a in assignments:
        target, eq, value = a.partition("=")
        node_id, dot, param = (part.strip() for part in target.partition("."))  # 'src.rate = 300': not 'rate '
        param = param.removeprefix("params.")  # src.params.rate: the file's nesting spelled out
        if not eq or not dot or not node_id or not param:
            fix = "write --set node.param=value"
            if eq and not dot and node_id and re.fullmatch(r"\w+", node_id):  # `--set rate=3`: was the pattern only
                fix += (
                    f", the node's id first: --set NODE.{node_id}={value.strip()} (NODE: the id of the node to change)"
                )
            elif not eq and dot and node_id and param:  # `--set s1.rate 300`: the value went to another argument
                fix += f", its value after '=' in the same argument: --set {node_id}.{param}=VALUE"
            raise GraphError([("--set", 0, f"cannot read override {a!r}", fix)])
        if not value.strip():  # YAML reads nothing as null: the error was "None: give a str"
            raise GraphError(
                [
                    (
                        "--set",
                        0,
                        f"the value of {target} is empty in {a!r}",
                        f"give it after the '=', e.g. --set {target}=VALUE (a shell variable that was unset or "
                        "empty expands to nothing); write null for None",
                    )
                ]
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8 (the shell passes its bytes): text as given
            out.append((node_id, param, value[1:-1] if value[:1] == value[-1:] and value[:1] in "'\"" else value))
            continue
        try:
            out.append((node_id, param, _set_value(a, value)))  # as in the file: 1e3 is a number
            values += _values_in(out[-1][2], MAX_VALUES - values)
        except yaml.YAMLError as e:
            problem = str(getattr(e, "problem", e))
            fix = f"quote it: --set {shlex.quote(target + '=' + json.dumps(value.strip(), ensure_ascii=False))}"
            if problem.startswith("a set (!!set)"):  # (quoted, it would be the text '!!set {a, b}')
                fix = f"write a list: --set {shlex.quote(f'{target}=[' + problem.split(chr(39))[-2] + ']')}"
            raise GraphError([("--set", 0, f"cannot read the value in {a!r} as YAML ({problem})", fix)]) from None
        except RecursionError:
            raise GraphError(
                [("--set", 0, f"the value in {a[:60]!r}... is nested too deeply", "give a few levels")]
            ) from None
        if values > MAX_VALUES:  # an alias bomb to a parameter no type checks (array_source.data, ...)
            raise GraphError(
                [
                    (
                        "--set",
                        0,
                        f"the --set values hold more than {MAX_VALUES:,} values once their aliases (*name) are "
                        f"expanded (at {a[:60]!r})",
                        "do not nest aliases of aliases; give large data as a file (file_source), not inline",
                    )
                ]
            )
    return out


def _set_value(assignment: str, value: str) -> Any:
    """A --set value read as YAML, except that ' #' does not start a comment: the shell has its own, so '#' is
    part of the value (a file name such as 'take #2.wav', which YAML read as 'take': the wrong output file)."""
    parsed = yaml.load(value, Loader=LineLoader)
    if not re.search(r"(?:^|\s)#", value) or value.count("#") <= str(parsed).count("#"):
        return parsed
    if parsed is None or isinstance(parsed, str):
        return value.strip()  # text: as given
    raise GraphError(
        [
            (
                "--set",
                0,
                f"the value in {assignment!r} holds '#' after a space, which YAML reads as the start of a comment",
                "leave the '#...' out, or quote the text that holds it, e.g. --set 'node.param=[\"a #1\", b]'",
            )
        ]
    )
