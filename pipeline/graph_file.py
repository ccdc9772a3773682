"""Reading a graph file into YAML (pipeline.config checks what it holds): a path, a folder, a recording given by
mistake, `-` for standard input (as kubectl, docker compose and yq take it), bytes that are not UTF-8, YAML syntax."""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from .config import MAX_VALUES, GraphError, _values_in
from .yaml_lines import load_lines
from .yaml_slips import slip

STDIN = "<stdin>"  # the file name problems name for a graph read from standard input (`wavegraph run -`)
RECORDING_SUFFIXES = (
    *(".fif", ".fif.gz", ".edf", ".bdf", ".gdf", ".vhdr", ".eeg", ".set", ".fdt", ".cnt", ".xdf", ".xdfz", ".mff"),
    *(".wav", ".flac", ".ogg", ".mp3", ".aiff", ".h5", ".hdf5", ".npz", ".csv"),
)  # what `wavegraph run rec.edf` gets instead of a graph (as `mne-lsl player rec.edf` takes a recording)
RECORDING_FOLDERS = (".ds", ".mff")  # CTF and EGI recordings are folders (file_source reads them, a batch takes them)
_YAML_FIXES = (  # PyYAML's problem (a regular expression) -> the fix; {0} is the first 'quoted' text in the problem
    (r"'\\t'", "indent with spaces; YAML does not allow tabs"),
    (
        r"digits, longer than any parameter",
        "shorten it (quote it if it is text); large data goes in a file (file_source)",
    ),
    (r"^duplicate key", "write each key once: remove one of the two"),
    (
        r"another document",
        "a graph file is one YAML document: remove the '---' line and what follows, or give it a file of its own",
    ),
    (
        r"undefined alias",
        "anchor the value first with &{0} (an x- key at the top is the place: x-{0}: &{0} ...), or write it out",
    ),
    (r"recursive node", "an alias (*name) is used inside the value it names (&name): write the values out instead"),
    (
        r"constructor for the tag",
        "remove the tag {0}: a graph file is plain YAML (no !tags; Python objects are not read)",
    ),
    (r"^mapping values are not allowed", "a value holding ': ' (a Windows path, a time) must be quoted: key: 'a: b'"),
    (r"expected ',' or '\}', but got ':'", "quote a value holding ':' inside {{ }}: path: 'C:\\data'"),
    (r"expected ',' or '[\]}]', but got '<stream end>'", "a '{{' or '[' is not closed: add its '}}' or ']'"),
    (
        r"expected ',' or '[\]}]'",
        "check this line's quotes and commas (a quote inside 'single quotes' is written twice: 'it''s')",
    ),
    (r"cannot start any token", "quote the value: YAML does not start a plain value with {0}"),
    (
        r"unknown escape character",
        "in \"double quotes\" a backslash starts an escape: use 'single quotes' ('C:\\data'), or write \\\\",
    ),
    (r"^expected <block end>", "check this line's indentation: the keys of one mapping line up (2 spaces a level)"),
    (r"for merging", "<<: takes an anchored mapping: <<: *name"),
    (r"^a set \(!!set\)", "write a list: [{0}]"),
)
MAX_GRAPH_BYTES = 4 * 2**20
_stdin: list = [None, b""]  # [the stream, what it held]: standard input is read once (`run --bids` loads twice)


def _missing_comma(before: str, problem: str) -> str | None:
    """The fix for `{l_freq: 1 h_freq: 40}` (a comma left out between two pairs: YAML reads '1 h_freq' as one value and
    stops at the second ':'), whose fix was to quote a value holding ':'."""
    if not re.search(r"expected ',' or '\}', but got ':'", problem):
        return None
    m = re.search(r"([\w.-]+\s*:\s*[^\s,{}\[\]:]+)\s+([A-Za-z_][\w.-]*)\s*$", before)
    return f"a comma is missing before '{m.group(2)}': write {m.group(1)}, {m.group(2)}: ..." if m else None


def read_graph(path: str | Path) -> tuple[str, Any]:
    """(the file name problems name, the parsed YAML) of a graph file; `-` reads standard input."""
    file = STDIN if str(path) == "-" else str(path)
    if file.lower().endswith(RECORDING_SUFFIXES):
        from .registry import lookup  # the node library's hint (pipeline does not import nodes)

        hint = getattr(lookup("file_source"), "not_read_hint", None)  # .h5, .npz, .csv: no file_source reads them
        fix = (hint(Path(file)) if hint else None) or (
            "replay it through a graph whose file_source reads it, e.g. a file holding 'nodes: [{id: src, "
            f"type: file_source, params: {{path: {json.dumps(file)}}}}}]' and the nodes after it (docs/yaml.md)"
        )
        raise GraphError([(file, 0, "this is a recording, not a graph file (YAML)", fix)])
    # a 10 MB list took PyYAML 21 s and 1 GB before the value count refused it: a file's size is checked before it is read
    size = Path(file).stat().st_size if file != STDIN and Path(file).is_file() else 0
    raw = b"" if size > MAX_GRAPH_BYTES else _stdin_bytes() if file == STDIN else _file_bytes(file)
    if (size := max(size, len(raw))) > MAX_GRAPH_BYTES:
        raise GraphError(
            [
                (
                    file,
                    0,
                    f"a graph file of {size / 2**20:.1f} MB (at most {MAX_GRAPH_BYTES / 2**20:g} MB): graph "
                    "files hold nodes and edges, a few kB",
                    "give large data as a file (file_source reads recordings; a node's parameter can name a file)",
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        what = f"the file is not UTF-8 text (byte {e.start}: {raw[e.start]:#04x})"
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Windows Notepad's "Unicode", PowerShell's `>`
            what, line = "the file is UTF-16 text, not UTF-8", 1
        raise GraphError([(file, line, what, "save it as UTF-8")]) from None
    half = len(raw) // 2  # UTF-16 without its BOM (iconv -t utf-16le): ASCII with a NUL after (or before) each byte,
    odd, even = raw[1::2].count(0), raw[0::2].count(0)  # (a file of zeros is no text: said as a NUL)
    if half >= 4 and min(odd, even) == 0 and max(odd, even) >= 0.9 * half:  # was 'column 2 holds U+0000'
        raise GraphError([(file, 1, "the file is UTF-16 text (without a BOM), not UTF-8", "save it as UTF-8")])
    if _LINE_BREAKS.search(text):  # YAML breaks the line there: problems then named the line below
        text, outside = _breaks_in_quotes(text)  # inside quotes: the value's own, as YAML's escape (same line)
        if outside is not None:
            line, said = _odd_char(text, outside, "which YAML reads as a line break (an editor shows none)")
            raise GraphError([(file, line, said, "replace it with a space (copied from a web page or a PDF?)")])
    try:
        doc = load_lines(_json_tabs_as_spaces(text))
    except yaml.reader.ReaderError as e:  # a NUL, a terminal's colour escape: was 'position 29' and no line
        import unicodedata

        line, column = text[: e.position].count("\n") + 1, e.position - text.rfind("\n", 0, e.position)
        name = unicodedata.name(chr(e.character), "a control character") if isinstance(e.character, int) else "?"
        said = f"invalid YAML: column {column} holds U+{e.character:04X} ({name}), which YAML does not allow"
        fix = "remove it (a terminal's colour codes, or bytes of a binary file, copied in?)"
        raise GraphError([(file, line, said, fix)]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = str(getattr(e, "problem", e))
        hint = next((fix for said, fix in _YAML_FIXES if re.search(said, problem)), "fix the YAML syntax")
        hint = hint.format(*(re.findall(r"'([^']*)'", problem.replace("tag:yaml.org,2002:", "!!")) or ["name"]))
        said = f"invalid YAML: {problem}"
        lines = text.splitlines()
        if mark and mark.line < len(lines) and (comma := _missing_comma(lines[mark.line][: mark.column], problem)):
            hint = comma
        tab = mark and re.search(r"'\\t'", problem) and _tab_after_text(text, mark.line, mark.column)
        if tab:
            said, hint = tab
        if mark and (var := _variable(text.splitlines()[: mark.line + 1])):
            said, hint = var  # {path: ${DATA}/x.edf}: YAML read the { of ${DATA} as a mapping ('quotes and commas')
        elif mark and not tab and (glued := _glued_line(text.splitlines(), mark.line)):
            raise GraphError([(file, *glued)]) from None
        elif mark and not tab and (space := _space_before(text, mark.index)) is not None:
            (line, said), hint = _odd_char(text, space, "which YAML reads as text, not as a space"), _SPACE_FIX
            raise GraphError([(file, line, said, hint)]) from None
        elif not tab and (slipped := slip(e, text.splitlines())):  # an unclosed quote, a key without its ':', ...
            line, said, hint = slipped
            raise GraphError([(file, line, f"invalid YAML: {said}", hint)]) from None
        raise GraphError([(file, mark.line + 1 if mark else 0, said, hint)]) from None
    except RecursionError:
        raise GraphError([(file, 0, "the YAML is nested too deeply", "a graph file needs a few levels")]) from None
    if _values_in(doc, MAX_VALUES) > MAX_VALUES:
        raise GraphError(
            [
                (
                    file,
                    0,
                    f"the YAML holds more than {MAX_VALUES:,} values (its aliases, *name, expanded)",
                    "a graph file needs a few hundred: give large data as a file (file_source), not inline, and do not nest aliases of "
                    "aliases",
                )
            ]
        )
    if glued := _glued_key(doc):  # `{rate:250}`: the parameter 'rate:250', null ("remove it: it is null")
        raise GraphError([(file, *glued)])
    return file, doc


_GLUED = re.compile(r"([A-Za-z_][\w-]*):(?![\s/\\:])(\S.*)")  # `type:sine`; not `C:\data`, `http://`, `1:30`


def _glued(text: str, line: int) -> tuple[int, str, str]:
    """(line, what, fix) for a key written without the space after its ':'."""
    key, _, value = text.partition(":")
    said = f"invalid YAML: '{text}' has no space after its ':', so YAML reads it as one text, not a key and its value"
    return line, said, f"write {key}: {value}"


def _glued_line(lines: list[str], line: int) -> tuple[int, str, str] | None:
    """Where YAML broke at `line` (0-based): `type:sine` on it or the line above (a block key written without its
    space: 'could not find expected ':'' on the next line, or 'mapping values are not allowed here')."""
    for n in (line - 1, line):
        text = lines[n].split(" #")[0].rstrip() if 0 <= n < len(lines) else ""
        if found := _GLUED.fullmatch(re.sub(r"^\s*(?:-\s+)?", "", text)):
            return _glued(found.group(0), n + 1)
    return None


def _glued_key(doc: Any) -> tuple[int, str, str] | None:
    """The first mapping key that is `name:value` with no value (`{id:src, ...}`, `params: {rate:250}`), with its line."""
    from .yaml_lines import line_of

    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            for key, value in x.items():
                if value is None and isinstance(key, str) and _GLUED.fullmatch(key):
                    return _glued(key, line_of(x, key))
            stack.extend(reversed(list(x.values())))
        elif isinstance(x, list):
            stack.extend(reversed(x))
    return None


_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")  # line breaks to YAML 1.1 (PyYAML), not to an editor
_SPACES = re.compile("[\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")  # Unicode's spaces (Zs) but ' '
_SPACE_FIX = "replace it with a plain space (copied from a web page or a chat?)"


_ESCAPES = {"\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P", "\n": "\\n", "\t": "\\t"}  # YAML's escapes


def _breaks_in_quotes(text: str) -> tuple[str, int | None]:
    """(text with each quoted scalar that holds a U+0085 / U+2028 / U+2029 written double-quoted on one line, its
    value as PyYAML scans it (a U+0085 folded to a space, the spaces around a break dropped) with those breaks
    escaped and its real newlines as escaped line breaks: the same value, and no line break YAML would count that an
    editor does not, so later lines keep their numbers; where the first one outside quotes is, or None). Before, the
    characters were escaped in place: a U+0085 stayed in the value, where yaml.safe_load gives a space."""
    breaks = [m.start() for m in _LINE_BREAKS.finditer(text)]
    spans: list[tuple[int, int, str]] = []  # (start, end, value) of the quoted scalars that hold one
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                a, b = token.start_mark.index, token.end_mark.index
                if any(a < p < b for p in breaks):
                    spans.append((a, b, token.value))
            if token.end_mark.index > breaks[-1]:
                break
    except yaml.YAMLError:  # the syntax error past them is said by the parse
        pass
    outside = next((p for p in breaks if not any(a < p < b for a, b, _ in spans)), None)
    if outside is not None:
        return text, outside
    for a, b, value in reversed(spans):
        held = "\\\n" * text.count("\n", a, b)  # its lines, as escaped line breaks (which add nothing to the value)
        text = text[:a] + '"' + "".join(map(_escape, value)) + held + '"' + text[b:]
    return text, None


def _escape(c: str) -> str:
    """A character of a double-quoted YAML scalar, escaped where it is a quote, a backslash, a break or a control."""
    if c in _ESCAPES:
        return _ESCAPES[c]
    if c in '"\\':
        return "\\" + c
    return f"\\x{ord(c):02x}" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else c


def _odd_char(text: str, at: int, why: str) -> tuple[int, str]:
    """(line, what) for the character at `at` that YAML does not read as it looks: its line and column as an editor
    counts them, and its name."""
    import unicodedata

    start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
    line = len(re.findall(r"\r\n|\r|\n", text[:start])) + 1
    column = at - start + 1 - (start == 0 and text.startswith("\ufeff"))  # (a BOM is not shown)
    char = text[at]
    name = unicodedata.name(char, "a control character" if char == "\x85" else "?")
    name = "NEXT LINE" if char == "\x85" else name
    return line, f"invalid YAML: column {column} holds U+{ord(char):04X} ({name}), {why}"


def _space_before(text: str, index: int) -> int | None:
    """Where YAML syntax broke at `index`: the nearest Unicode space (a no-break space pasted in as indentation or
    after a ':') before it, on its line or the two above, outside a comment and quotes; None for none."""
    start = index
    for _ in range(3):
        start = text.rfind("\n", 0, start - 1) + 1 if start > 0 else 0
    found: dict[int, int] = {}  # the start of a line -> its first such space
    for match in _SPACES.finditer(text, start, index + 1):
        line = text.rfind("\n", 0, match.start()) + 1
        head = text[line : match.start()]
        if "#" not in head and head.count('"') % 2 == 0 and head.count("'") % 2 == 0:
            found.setdefault(line, match.start())
    return found[max(found)] if found else None


def _json_tabs_as_spaces(text: str) -> str:
    """A JSON graph indented with tabs (json.dumps(indent='\\t'), Go's MarshalIndent) as YAML reads it: PyYAML takes
    no tab there and said 'indent with spaces'. In JSON a tab is only whitespace between tokens (json.loads refuses one
    inside a string), so spaces for tabs read the same values, on the same lines."""
    body = text.lstrip("\ufeff")  # a BOM: json.loads refuses it, YAML reads past it
    if "\t" not in body or body.lstrip()[:1] not in ("{", "["):
        return text
    try:
        json.loads(body)
    except ValueError:
        return text
    return text.replace("\t", " ")


def _tab_after_text(text: str, line: int, column: int) -> tuple[str, str] | None:
    """(what, fix) for a tab PyYAML refused after the text of a line (`id: src<TAB># c`, `id:<TAB>src`, a trailing
    tab an editor left): its column and what stands before it. The fix was 'indent with spaces' for a line indented
    with spaces. None for a tab in a line's indentation (that fix stands)."""
    lines = text.splitlines()
    here = lines[line] if line < len(lines) else ""
    indent = len(here) - len(here.lstrip(" \t-"))
    if column >= len(here) or here[column] != "\t" or column < indent or "\t" in here[:indent]:
        return None
    before = here[:column].strip()
    said = f"invalid YAML: column {column + 1} holds a tab, after '{before}' (PyYAML takes no tab there)"
    return said, "replace the tab with a space (an editor may not show it: a tab after a value, a ':' or at the end)"


def _variable(lines: list[str]) -> tuple[str, str] | None:
    """(what, fix) for the last of `lines` (the file up to it) whose YAML broke on a `${VAR}` in a flow mapping
    (`params: {path: ${DATA}/x.edf}`), the problem config.py names for a value that YAML reads: the variable, not
    expanded, and the `--set` that gives it, for the node whose `id:` is on that line or above it in its item."""
    found = re.search(r"([\w-]+)\s*:\s*(\$\{\w*\}[^\s,}\]\"']*)", lines[-1]) if lines else None
    if not found:
        return None
    param, value = found.groups()
    var = value[: value.index("}") + 1]
    found = _node_id(lines)
    node = found.group(1) if found else "NODE"
    said = (
        f"parameter '{param}' holds {var}, which wavegraph does not expand (inside {{ }} YAML read its {{ as a mapping)"
    )
    said = f"node '{node}': {said}" if found else said
    fix = f'write the value, or leave it out here and give it when you run: --set "{node}.{param}={value}" (double quotes)'
    return said, fix


def _node_id(lines: list[str]) -> re.Match | None:
    """The `id:` of the node whose item holds the last of `lines`: on that line (`- {id: src, ...}`), or above it in
    the same item (`- id: src` then `params: {...}`); None when the item gives none before it."""
    found = re.search(r"\bid\s*:\s*[\"']?([\w-]+)", lines[-1])
    if found:
        return found
    for line in reversed(lines[:-1]):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found = re.match(r"\s*(?:-\s*)?\{?\s*id\s*:\s*[\"']?([\w-]+)", line)
        if found or re.match(r"\s*-\s", line) or not line[0].isspace():  # the id, the item's start, or a top key
            return found
    return None


MAX_BYTES = 64 << 20  # a graph of MAX_VALUES values is about 20 MiB; /dev/zero or `yes |` was read until memory ran out


def _capped(stream, file: str) -> bytes:
    """What a stream holds, GraphError past MAX_BYTES (an endless one: a device, a pipe from a program that does not end)."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise GraphError(
            [
                (
                    file,
                    0,
                    f"holds more than {f'{MAX_BYTES >> 20} MiB' if MAX_BYTES >= 1 << 20 else f'{MAX_BYTES} bytes'}: "
                    "no graph file is that large (a device, a recording?)",
                    "give the graph file (YAML); large data goes in a file a file_source reads, not inline",
                )
            ]
        )
    return data


def _file_bytes(file: str) -> bytes:
    try:
        with open(file, "rb") as f:
            if stat.S_ISCHR(mode := os.fstat(f.fileno()).st_mode) or stat.S_ISBLK(mode):  # /dev/zero hung, /dev/tty
                raise GraphError([(file, 0, "is a device, not a graph file", "give the graph file (YAML)")])
            return _capped(f, file)
    except OSError as e:
        if Path(file).is_dir():  # `wavegraph run configs/`: name the graph files in it
            graphs = sorted(str(p) for p in Path(file).glob("*.y*ml"))
            graphs = graphs[:5] + ["..."] * (len(graphs) > 5)
            fix = f"give one of its graph files: {', '.join(graphs)}" if graphs else "give a graph file (YAML)"
            raise GraphError([(file, 0, "is a folder, not a graph file", fix)]) from None
        raise GraphError([(file, 0, f"cannot read graph file: {e.strerror}", _near(Path(file)))]) from None


def _near(path: Path) -> str:
    """The fix for a graph file that is not there: a graph file beside it with a close name (g.yml for g.yaml, g for
    g.yaml, G.yaml), else the path to check."""
    try:
        here = [p.name for p in path.parent.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file()]
    except OSError:
        return "check the path"
    stem = [n for n in here if Path(n).stem.lower() == path.stem.lower() or n.lower() == path.name.lower()]
    stems = {Path(n).stem.lower(): n for n in here}
    close = stem or [stems[m] for m in difflib.get_close_matches(path.stem.lower(), list(stems), n=1, cutoff=0.75)]
    return (
        f"did you mean {path.parent / close[0] if str(path.parent) != '.' else close[0]}?"
        if close
        else "check the path"
    )


def _stdin_bytes() -> bytes:
    """Standard input, once: a terminal is refused rather than waited on (`wavegraph run -` typed alone hung)."""
    stream = getattr(sys.stdin, "buffer", None)
    if _stdin[0] is not stream or stream is None:
        if stream is None or stream.closed:
            raise GraphError([(STDIN, 0, "no standard input to read the graph from", "give a graph file's path")])
        if stream.isatty():
            raise GraphError(
                [
                    (
                        STDIN,
                        0,
                        "'-' reads the graph from standard input, which is a terminal here",
                        "pipe or redirect a graph into it (wavegraph run - < graph.yaml), or give the file's path",
                    )
                ]
            )
        _stdin[:] = [stream, _capped(stream, STDIN)]
    return _stdin[1]
