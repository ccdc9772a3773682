"""YAML that remembers where it came from: a SafeLoader whose mappings and lists carry their line numbers
(`LineDict.line`, `.key_lines`; `LineList.line`, `.item_lines`), so graph-file errors name the line (pipeline.config)."""

from __future__ import annotations

import re
from typing import Any

import yaml


class LineDict(dict):
    """A mapping that remembers the line (1-based) of itself and of each of its keys."""

    line: int = 0
    key_lines: dict
    plain_texts: dict  # key -> the text of a plain scalar YAML read as no text (01, 2024-01-05, true): as written
    merged_over: dict  # key -> the mapping a `<<: *name` gave it, which the mapping written here replaced whole
    shared: dict  # key -> the line here that brings a value written elsewhere (`params: *p`, `<<: *defaults`)


class LineList(list):
    line: int = 0
    item_lines: list[int]  # the line of each item (a plain text item has no line of its own)
    plain_texts: dict  # index -> the text of a plain scalar item YAML read as no text (`[010]`: '010'), as written
    item_aliases: dict[int, tuple[int, str]]  # index -> (line, anchor) of an item written as an alias (`- *src`)


class _AliasLines:
    """The alias-line hook shared by both loaders: composing stays in Python (yaml.composer) in each."""

    def compose_node(self, parent, index):
        """An alias keeps the line it is written on and its name (PyYAML gives back the anchored node itself): an item's
        by its index, a mapping value's by its key node."""
        if isinstance(parent, (yaml.SequenceNode, yaml.MappingNode)) and self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            at = index if isinstance(parent, yaml.SequenceNode) else id(index)
            if index is not None:  # (a mapping's key is composed with no index)
                self.__dict__.setdefault("aliases", {})[(id(parent), at)] = (event.start_mark.line + 1, event.anchor)
        return super().compose_node(parent, index)


class LineLoader(_AliasLines, yaml.SafeLoader):
    """PyYAML's pure-Python loader: the reference, and what reports every problem (see load_lines)."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineDict:
    written = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}  # not from a `<<: *defaults`
    merges = [k.start_mark.line + 1 for k, _ in node.value if k.tag == "tag:yaml.org,2002:merge"]
    aliases = loader.__dict__.get("aliases", {})
    loader.flatten_mapping(node)  # (the merged pairs first: a key written here replaces a merged one, as YAML says)
    d = LineDict()
    d.line = node.start_mark.line + 1
    d.key_lines, d.plain_texts, d.merged_over, d.shared = {}, {}, {}, {}
    seen = set()  # the keys written here
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        if key in seen and id(key_node) in written:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {d.key_lines[key]})", key_node.start_mark
            )
        if id(key_node) in written:
            seen.add(key)
        value = loader.construct_object(value_node, deep=True)
        if id(key_node) in written and isinstance(d.get(key), dict) and isinstance(value, dict):
            d.merged_over[key] = d[key]  # `<<: *filt` then `params: {...}`: YAML merges one level, not inside params
        d[key] = value
        d.key_lines[key] = key_node.start_mark.line + 1
        d.shared.pop(key, None)
        if id(key_node) not in written and merges:  # from a `<<: *name`: brought in on the merge's line
            d.shared[key] = merges[0]
        elif (id(node), id(key_node)) in aliases:  # `params: *p`: on the alias's line
            d.shared[key] = aliases[(id(node), id(key_node))][0]
        if isinstance(value_node, yaml.ScalarNode) and value_node.style is None and not isinstance(d[key], str):
            d.plain_texts[key] = value_node.value
    return d


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> LineList:
    seq = LineList(loader.construct_object(child, deep=True) for child in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [child.start_mark.line + 1 for child in node.value]
    seq.plain_texts = {
        i: child.value
        for i, child in enumerate(node.value)
        if isinstance(child, yaml.ScalarNode) and child.style is None and not isinstance(seq[i], str)
    }
    aliases = loader.__dict__.get("aliases", {})
    seq.item_aliases = {i: aliases[(id(node), i)] for i in range(len(node.value)) if (id(node), i) in aliases}
    return seq


# YAML 1.1 reads 1e3 (no dot) as the text "1e3"; read it as the number it is, as YAML 1.2 does, so a
# quoted '1.0' stays text (and is refused where a number is needed) while 1e3 and 1e400 are numbers.
LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"), list("-+0123456789")
)
LineLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?0o[0-7_]+$"), list("-+0"))
# and 1.6e4 (a dot, an exponent without its sign: YAML 1.1 wants 1.6e+4) as the 16000.0 YAML 1.2 reads: was refused as
# text with the fix "write it without quotes: rate: 1.6e4", the very thing written
LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _construct_int(loader: LineLoader, node: yaml.ScalarNode) -> int | str:
    """As YAML 1.2 reads them: a leading 0 is decimal (YAML 1.1 made `run: 010` the octal 8, `chunk_size: 064` 52),
    and 1:30 is text (YAML 1.1's base 60 made it 90), so a number is what it looks like, or refused as text."""
    text = loader.construct_scalar(node)
    if ":" in text:
        return text
    if len(text) > 4000:  # (Python's int() refuses over 4,300 digits: a ValueError traceback, the file and line unsaid)
        raise yaml.constructor.ConstructorError(
            None, None, f"a number of {len(text):,} digits, longer than any parameter takes", node.start_mark
        )
    if re.fullmatch(r"[-+]?0[0-7_]+", text):
        return int(text.replace("_", ""), 10)
    if re.fullmatch(r"[-+]?0o[0-7_]+", text):  # YAML 1.2's octal (0o17: 15): was text, "write it without quotes"
        return int(text.replace("_", "").replace("0o", "", 1), 8)
    return loader.construct_yaml_int(node)


def _construct_float(loader: LineLoader, node: yaml.ScalarNode) -> float | str:
    text = loader.construct_scalar(node)
    return text if ":" in text else loader.construct_yaml_float(node)  # 1:30.5 (base 60 in YAML 1.1): text


def _construct_bool(loader: LineLoader, node: yaml.ScalarNode) -> bool | str:
    """true and false are booleans; yes, no, on and off are text, as in YAML 1.2 (YAML 1.1 made `id: on` true, refused
    as 'each node needs an id', and `marker_codes: {yes: 1, no: 2}` two booleans). A bool parameter still takes them
    (pydantic reads 'yes' and 'off' as booleans)."""
    text = loader.construct_scalar(node)
    return loader.construct_yaml_bool(node) if text.lower() in ("true", "false") else text


def _construct_set(loader: LineLoader, node: yaml.MappingNode) -> None:
    """A `!!set {a, b}` is refused: a set has no order, and Python's differs between runs (string hashes), so a
    list of channels taken from it was another each run, and in each of a graph's processes."""
    items = ", ".join(key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode))
    raise yaml.constructor.ConstructorError(
        None, None, f"a set (!!set) has no order (Python chooses one, another each run): '{items}'", node.start_mark
    )


LineLoader.add_constructor("tag:yaml.org,2002:set", _construct_set)
LineLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
LineLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _PyYAMLReadsOtherwise(yaml.YAMLError):
    """What libyaml reads otherwise than PyYAML, met while composing: LineLoader reads the text again."""


CLineLoader: type | None = None  # the same loader over libyaml's scanner and parser; None where PyYAML has no libyaml
if getattr(yaml, "__with_libyaml__", False):
    from yaml.composer import Composer
    from yaml.cyaml import CParser  # pyright: ignore[reportAttributeAccessIssue] (built from _yaml.pyx)

    class _CLineLoader(_AliasLines, Composer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml scans and parses (the bulk of the time: 1.8 s -> 0.4 s on a 3,000-node graph); PyYAML's own
        composer (the alias hook, the same recursion depth as LineLoader's: 'nested too deeply' at the same depth)
        and LineLoader's constructors and resolvers (the same dicts) make the objects."""

        yaml_constructors = LineLoader.yaml_constructors
        yaml_multi_constructors = LineLoader.yaml_multi_constructors
        yaml_implicit_resolvers = LineLoader.yaml_implicit_resolvers
        yaml_path_resolvers = LineLoader.yaml_path_resolvers

        def __init__(self, stream):
            CParser.__init__(self, stream)
            Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        def compose_node(self, parent, index):
            """A plain scalar holding a '?' inside [ ] or { } ({mode: a?b}): libyaml reads it as text, PyYAML stops the
            scalar at the '?' and refuses the rest, so the text is read again by PyYAML (load_lines)."""
            if self.check_event(yaml.ScalarEvent):
                event = self.peek_event()
                if parent is not None and parent.flow_style and not event.style and "?" in event.value:
                    raise _PyYAMLReadsOtherwise(event.start_mark)
                if event.tag == "!":  # `key: !` is null to PyYAML (its value resolved as plain), '' to libyaml
                    event.implicit = (True, False)
            return super().compose_node(parent, index)

        def compose_scalar_node(self, anchor):
            """A plain scalar's style is None, as PyYAML's parser gives it (libyaml's is ''): plain_texts reads it."""
            node = super().compose_scalar_node(anchor)
            node.style = node.style or None
            return node

    CLineLoader = _CLineLoader

# Where libyaml reads a text otherwise than PyYAML: a tab after a key's ':' (PyYAML refuses it, with the fix that
# graph_file gives), a BOM at the start of a later line (libyaml skips it, PyYAML reads it as text), the line breaks
# of YAML 1.1 that an editor does not show (graph_file refuses or escapes them first), a block scalar's `|#` (a
# comment without its space: libyaml takes it, PyYAML refuses it), a tag followed by a ',' (`[!!str,a]`: libyaml ends
# the tag there, an empty value; PyYAML reads the ',' as the tag's and refuses it). Such a text is read by PyYAML alone.
_PURE_ONLY = re.compile(r"[\t\x85\u2028\u2029]|.\ufeff|[|>][-+0-9]*#", re.DOTALL)


def _tag_then_comma(text: str) -> bool:
    """A ',' after a '!' in one word: `[!!str,a]` (a tag's characters have no space; a regex over '!!!...' was
    quadratic)."""
    return "!" in text and any("," in w.partition("!")[2] for w in text.split() if "!" in w)


def loader_for(text: str) -> type:
    """The loader that reads `text` first: CLineLoader where libyaml is there and reads it as PyYAML does."""
    if CLineLoader is None or _PURE_ONLY.search(text) or _tag_then_comma(text):
        return LineLoader
    return CLineLoader


def load_lines(text: str) -> Any:
    """yaml.load(text, Loader=LineLoader), faster: libyaml reads it where it can. Any problem (a YAML error, a
    duplicate key, a set, nesting too deep) is read again by LineLoader, so its error, line and text are PyYAML's."""
    loader = loader_for(text)
    if loader is not LineLoader:
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 (a SafeLoader's constructors)
        except Exception:  # what LineLoader says of it, or its objects where libyaml alone refused the text
            pass
    return yaml.load(text, Loader=LineLoader)  # noqa: S506


def line_of(obj: Any, key: Any = None) -> int:
    """The line of a parsed mapping (or of one of its keys); 0 when unknown."""
    if key is not None and isinstance(obj, LineDict):
        return obj.key_lines.get(key, obj.line)
    return getattr(obj, "line", 0)


def written(obj: Any, key: Any) -> str | None:
    """A name (a node id, an edge end, a group's member) as the file writes it: `id: 010` is '010', not the number 10
    (an edge's `source: 010.out` is text, so they did not meet), `1e3` '1e3', `true` 'true'; None for null or a value
    that is no scalar (a list, a mapping)."""
    value = obj[key]
    if value is None or isinstance(value, (dict, list)):
        return None
    texts = getattr(obj, "plain_texts", {})
    return texts[key] if key in texts else str(value)


def value_said(value: Any) -> str:
    """A value as a problem names it: 'stop' quoted, null, a list or a mapping said so (was 'None', "{'a': None}")."""
    if value is None:
        return "is null (no value)"
    if isinstance(value, (list, dict)):
        return "is a list" if isinstance(value, list) else "is a mapping"
    return f"'{value}'"


def lookalikes(name: str) -> str:
    """What is not printable ASCII in a key or type name, said (empty when all is): 'pаrams' with a Cyrillic а, or
    'sine' with a zero-width space after it (copied from a web page or a PDF), was 'unknown key pаrams; fix: use ...
    params' or "unknown type 'sine'; did you mean 'sine'?", the difference unseen."""
    import unicodedata

    odd = [
        f"{unicodedata.name(c, f'U+{ord(c):04X}')} at character {i + 1}"
        for i, c in enumerate(name)
        if not " " <= c <= "~"
    ]
    return f" (it holds {', '.join(odd)}: not what it looks like; type it again)" if odd else ""


SEARCHES = 50  # unknown node ids per check given a 'did you mean' (difflib over every id, 5 ms each on 500 ids)
LISTED = 20  # node ids a fix lists


def node_hint(name: str, ids: list[str], lead: str = "use one of", searched: list[int] | None = None) -> str:
    """The fix for a node id that no node has: 'did you mean X?' for the id it is closest to, else the ids, the first
    LISTED and how many more (a graph of 500 nodes listed all 500, on every such line). `searched` counts one check's
    searches: past SEARCHES the close match is not looked for (500 misspelt ids took 2.5 s of difflib)."""
    import difflib

    close = [n for n in ids if n.lower() == name.lower()]
    if not close and (searched is None or searched[0] < SEARCHES):
        close = difflib.get_close_matches(name, ids, n=1)
        if searched is not None:
            searched[0] += 1
    if close and lookalikes(close[0]) and not lookalikes(name):  # `id: sрc` (a Cyrillic р): 'src' looked the same
        return f"the node's id is '{close[0]}'{lookalikes(close[0])}: write it as id: {name}"
    if close:
        return f"did you mean '{close[0]}'?"
    if not ids:  # every node entry was refused (`ID: src`): was 'nodes are: ' and nothing
        return "no node of this graph could be read: fix the nodes' problems above first"
    more = f", ... ({len(ids) - LISTED} more)" if len(ids) > LISTED else ""
    return f"{lead}: {', '.join(ids[:LISTED])}{more}"
