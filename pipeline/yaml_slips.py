"""The slips a first graph file makes, which PyYAML words as where its parser stopped (often the line after, or the
file's end): said at the line of the slip, with what to write. pipeline.graph_file relays every other YAML error as
PyYAML words it."""

from __future__ import annotations

import re

import yaml

_FLOW_CLOSERS = {"{": "}", "[": "]"}


def slip(e: yaml.YAMLError, lines: list[str]) -> tuple[int, str, str] | None:
    """(line, what, fix) for an unclosed quote, a key without its ':', a line indented deeper than its key, a list
    item's '-' without its space, or a '{'/'[' not closed on its line; None for any other error."""
    context, problem = str(getattr(e, "context", "") or ""), str(getattr(e, "problem", "") or "")
    start, stop = getattr(e, "context_mark", None), getattr(e, "problem_mark", None)

    def text(n: int) -> str:
        return lines[n] if 0 <= n < len(lines) else ""

    if context == "while scanning a quoted scalar" and start and "end of stream" in problem:
        quote = text(start.line)[start.column : start.column + 1] or "'"
        said = f"the {quote} opened at column {start.column + 1} is not closed (YAML read the rest of the file into it)"
        return start.line + 1, said, f"close it: add a {quote} at the end of the value"
    if context == "while scanning a simple key" and start and "expected ':'" in problem:
        written = re.sub(r"^-\s+", "", text(start.line).split(" #")[0].strip())
        found = re.fullmatch(r"([A-Za-z_][\w-]*)\s*(?:=\s*|\s+)(\S.*)", written)
        fix = "write key: value (a ': ' after the key), or # before a note"
        if found and " " not in found[2]:  # (`this is my note`: a comment without its #, not `this: is my note`)
            fix = f"write {found[1]}: {found[2]} (a ': ' after the key), or # before a note"
        return start.line + 1, f"'{written}' has no ':' after its key", fix
    if "expected '<document start>'" in problem and stop and stop.column == 0:  # `  name: x` first, `nodes:` after
        first = next((n for n in range(stop.line) if text(n).strip() and not text(n).lstrip().startswith("#")), None)
        indent = len(text(first)) - len(text(first).lstrip(" ")) if first is not None else 0
        key = re.match(r"\s*([\w-]+)\s*:", text(first) if first is not None else "")
        if (
            first is not None and indent and key
        ):  # (was said at the next key's line, written right: 'fix the YAML syntax')
            key = key[1]
            said = f"the file's first key '{key}' is indented ({indent} spaces): YAML ends the graph at line {stop.line + 1}"
            fix = f"remove the indent of line {first + 1}: top-level keys (name, nodes, edges) start at column 1"
            return first + 1, said, fix
    if problem == "mapping values are not allowed here" and stop:
        return _deeper(lines, stop.line)
    if "expected <block end>" in problem and stop and re.match(r"-[\w{\[\"']", written := text(stop.line).strip()):
        said = f"'{written}' has no space after its '-', so YAML reads '{written.split(':')[0]}' as a key"
        return stop.line + 1, said, f"write - {written[1:]}"
    if context.startswith("while parsing a flow") and start and stop:  # a JSON graph's `// ...` (JSONC)
        for n in range(start.line, stop.line + 1):
            if (written := text(n).strip()).startswith(("//", "/*")):
                said = f"'{written}' is a comment in JSONC, not in YAML or JSON"
                return n + 1, said, "start it with # (YAML reads JSON, and its comments), or remove it"
    if "for merging" in problem and start and stop:  # the line of the `<<:`, not the anchored value's (x-a: &a [1])
        at = next((n for n in range(start.line, len(lines)) if re.search(r"<<\s*:", text(n))), None)
        if at is not None and at != stop.line:
            alias = re.search(r"<<\s*:\s*\*([^\s,}\]]+)", text(at))
            what = f"*{alias[1]}, " if alias else ""
            said = f"'<<:' merges {what}the value at line {stop.line + 1}, which is no mapping ({problem})"
            return at + 1, said, "<<: takes an anchored mapping (x-p: &p {l_freq: 1.0}, then <<: *p)"
    if (
        context.startswith("while parsing a flow")
        and start
        and stop
        and stop.line > start.line
        and "<stream" not in problem
    ):
        opened = text(start.line)
        opener = opened[start.column : start.column + 1]
        closer = _FLOW_CLOSERS.get(opener, "")
        next_line = text(stop.line)
        indent = len(opened) - len(opened.lstrip())
        if (
            closer
            and opened.count(opener) > opened.count(closer)
            and len(next_line) - len(next_line.lstrip()) <= indent
        ):
            said = f"the '{opener}' at column {start.column + 1} is not closed on its line, so YAML read the next line into it"
            return start.line + 1, said, f"add its '{closer}' at the end of line {start.line + 1}"
    return None


def _deeper(lines: list[str], n: int) -> tuple[int, str, str] | None:
    """A line indented deeper than the key with a value above it (`  - id: src` then `     type: sine`): YAML reads it
    as the rest of that value, then refuses its ':' ('mapping values are not allowed here')."""
    here = lines[n] if n < len(lines) else ""
    above = next((s for s in reversed(lines[:n]) if s.strip() and not s.lstrip().startswith("#")), "")
    found = re.match(r"(\s*(?:-\s+)?)([\w-]+):\s+\S", above)
    indent = len(here) - len(here.lstrip(" "))
    if not found or indent <= len(found[1]):
        return None
    key, column = found[2], len(found[1])
    said = f"this line is indented deeper ({indent} spaces) than '{key}' above ({column}), so YAML reads it as the rest of that value"
    return n + 1, said, f"indent it as '{key}' above: {column} spaces"
