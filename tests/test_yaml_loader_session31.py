"""Session 31: a graph file is read by libyaml (PyYAML's C scanner and parser) where PyYAML has it: parsing a
3,000-node graph took ~1.8 s of pure-Python PyYAML, ~0.45 s now. PyYAML's composer, LineLoader's constructors and
resolvers still make the objects (lines, plain texts, aliases, duplicate keys, sets), and any problem is read again by
the pure-Python LineLoader, so every error, its line and its text are as before. Texts that libyaml reads otherwise
(a tab after a ':', `{a: b?c}`, a BOM on a later line, `|#`, `key: !`) are read by LineLoader alone."""

from __future__ import annotations

import math

import pytest
import yaml
from peer_hints import graph_problems_both_ways
from wavegraph.pipeline import yaml_lines
from wavegraph.pipeline.config import GraphError
from wavegraph.pipeline.graph_file import read_graph
from wavegraph.pipeline.yaml_lines import LineDict, LineList, LineLoader, load_lines, loader_for

from tests.test_graph_scale_session30 import _chain

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML has no libyaml")


def _snap(x):
    """Everything a parsed graph holds: values, types, and the lines, plain texts, merges and aliases kept."""
    if isinstance(x, LineDict):
        merged = sorted((repr(k), _snap(v)) for k, v in x.merged_over.items())
        return ("D", x.line, [(_snap(k), _snap(v)) for k, v in x.items()], x.key_lines, x.plain_texts, merged)
    if isinstance(x, LineList):
        return ("L", x.line, [_snap(v) for v in x], x.item_lines, x.plain_texts, x.item_aliases)
    if isinstance(x, float) and math.isnan(x):
        return ("float", "nan")
    return (type(x).__name__, repr(x))


def _outcome(load, text):
    try:
        return ("ok", _snap(load(text)))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        return ("error", type(e).__name__, str(e), mark and (mark.line, mark.column, mark.index))
    except RecursionError:
        return ("error", "RecursionError")


def _pure(text):
    return yaml.load(text, Loader=LineLoader)  # noqa: S506


MALFORMED = [
    "nodes:\n  - {id: src, type: sine\nedges: []\n",  # an unclosed {
    "nodes:\n  - id: src\n    id: again\n",  # a duplicate key
    "nodes:\n  - {id: src, type: sine, params: {rate: 250, rate: 500}}\n",  # a duplicate key inside { }
    "nodes:\n - id: a\n   type: sine\n  - id: b\n",  # bad indentation
    "name: 'it's'\n",  # a quote inside single quotes
    'path: "C:\\data"\n',  # an unknown escape
    "nodes: [*missing]\n",  # an undefined alias
    "a: &x [*x]\n",  # an alias inside what it names
    "nodes: !!python/object:os.system {}\n",  # a Python tag
    "channels: !!set {a, b}\n",  # a set
    "name: x\n---\nname: y\n",  # two documents
    "key: value: other\n",  # ': ' in a plain value
    "params: {path: C:\\x: y}\n",  # ':' in a flow mapping
    "nodes:\n  - @src\n",  # a character no plain value starts with
    "a: 1\nb: [1, 2\n",  # an unclosed [
    "?? x\n",
    "%YAML 2.0\n---\na: 1\n",
    "a: \x00\n",  # a NUL (a reader error)
    "a: &a 1\nb: &a 2\nc: [*a, &a 3, *a]\n",  # anchors redefined (fine in PyYAML)
    "x: {<<: *no}\n",
    "x: {<<: [1, 2]}\n",
    "{[1]: 2}\n",  # a list as a key
]
LIBYAML_OTHERWISE = [  # what libyaml alone would read otherwise than PyYAML
    "params:\n  id:\tsrc\n",  # a tab after the ':' (PyYAML refuses it)
    "params: {mode: sigkil?l, at: 5}\n",  # a '?' in a plain value inside { } (PyYAML refuses it)
    "ids: [a, b?c]\n",
    "a: 1\n\ufeffb: 2\n",  # a BOM on a later line (libyaml skips it)
    "text: |#\n  x\n",  # a block scalar's comment without its space (libyaml takes it)
    "key: !\nother: ! \n",  # a non-specific tag on nothing: null to PyYAML, '' to libyaml
]
GOOD = [
    "x-defaults: &f {type: gain, params: {db: 0.0}}\nnodes:\n  - {<<: *f, id: a}\n  - <<: *f\n    id: b\n"
    "    params: {db: 1.0}\nedges: []\nlist: &l [1, 2]\nagain: [*l, *l, 3]\n",
    "run: 010\nsize: 064\noct: 0o17\nexp: 1e3\nexp2: 1.6e4\ntime: 1:30\nflag: yes\nt: true\nday: 2024-01-05\n"
    "nan: .nan\ninf: -.inf\nnull1: ~\nnull2:\nbig: 123456789012345678901234567890\nhex: 0x1F\nu: 1_000\n",
    "text: |\n  line one\n  line two\nfolded: >-\n  a\n  b\n\n  c\nq: 'it''s'\ndq: \"a\\tb\\u00e9\\x41\"\n",
    "\ufeffname: bom at the start\nnodes: []\n",
    "a:\r\n  - 1\r\n  - 2\r\nb: 3\r\n",
    "? [complex, key]\n: value\n? plain\n: other\n",
    "- - nested\n  - seq\n- {a: [1, {b: 2}]}\n-\n- ''\n",
    'e: "\\ud800"\n',  # a lone surrogate escape: libyaml refuses it, PyYAML reads it
    "emoji: 😀\nname: é\nnbsp: a\xa0b\n",
    "k" * 1100 + ": long key\n",
    "%YAML 1.1\n---\na: 1\n...\n",
]


@needs_libyaml
def test_a_graph_file_is_read_by_libyaml_where_pyyaml_has_it(tmp_path, monkeypatch):
    assert yaml_lines.CLineLoader is not None
    assert issubclass(yaml_lines.CLineLoader, yaml.cyaml.CParser)
    assert loader_for(_chain(10)) is yaml_lines.CLineLoader
    used = []
    real_load = yaml.load

    def spy(text, Loader):  # noqa: N803 (yaml.load's name)
        used.append(Loader)
        return real_load(text, Loader=Loader)  # noqa: S506

    monkeypatch.setattr(yaml, "load", spy)
    path = tmp_path / "g.yaml"
    path.write_text(_chain(10))
    read_graph(path)
    assert used == [yaml_lines.CLineLoader]  # read once, by libyaml
    used.clear()
    path.write_text("nodes:\n  - id: a\n    id: b\n")
    with pytest.raises(GraphError):
        read_graph(path)
    assert used == [yaml_lines.CLineLoader, LineLoader]  # the problem: read again by PyYAML, which says it


def test_without_libyaml_the_pure_python_loader_reads_it(monkeypatch):
    monkeypatch.setattr(yaml_lines, "CLineLoader", None)
    assert loader_for(_chain(10)) is LineLoader
    assert _snap(load_lines(_chain(10))) == _snap(_pure(_chain(10)))


@needs_libyaml
@pytest.mark.parametrize("text", LIBYAML_OTHERWISE)
def test_texts_libyaml_reads_otherwise_are_read_as_pyyaml_reads_them(text):
    assert _outcome(load_lines, text) == _outcome(_pure, text)


@needs_libyaml
def test_those_texts_do_differ_under_libyaml_alone():
    """The guards are needed: libyaml (with no guard) reads each otherwise, or refuses where PyYAML reads it."""

    def bare(text):
        return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506

    for text in LIBYAML_OTHERWISE:
        plain = _outcome(lambda t: yaml.load(t, Loader=yaml.SafeLoader), text)  # noqa: S506
        assert _outcome(bare, text)[:2] != plain[:2] or text.startswith("key: !"), text


@pytest.mark.parametrize("text", MALFORMED + LIBYAML_OTHERWISE + GOOD)
def test_errors_and_values_are_pyyamls(text):
    """The same error (its type, text, line, column) or the same objects (lines and all) as LineLoader's."""
    assert _outcome(load_lines, text) == _outcome(_pure, text)


@pytest.mark.parametrize("text", MALFORMED + LIBYAML_OTHERWISE[:1] + ["a: 1\n\tb: 2\n"])
def test_graph_file_problems_are_the_same_with_and_without_libyaml(text, tmp_path, monkeypatch):
    """`wavegraph validate`'s lines (file:line: what; fix: how) for a malformed file, with and without libyaml."""
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with_c, pure = graph_problems_both_ways(path, monkeypatch)
    assert with_c == pure


def test_a_large_graph_loads_to_the_same_objects():
    text = _chain(1000)  # 3,004 nodes, 3,003 edges (~250 KB)
    doc = load_lines(text)
    assert _snap(doc) == _snap(_pure(text))
    assert len(doc["nodes"]) == 3004 and doc["edges"].item_lines[-1] == 3004 + 3003 + 3


@pytest.mark.parametrize("depth", [200, 330, 340, 500, 1200])
def test_nesting_too_deep_is_said_at_the_same_depth(depth):
    for text in ("[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth):
        assert _outcome(load_lines, text)[:2] == _outcome(_pure, text)[:2]


def test_an_alias_bomb_is_refused_as_before(tmp_path, monkeypatch):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nnodes: []\n")
    with_c, pure = graph_problems_both_ways(path, monkeypatch)
    assert with_c is not None and with_c == pure
    assert "more than 1,000,000 values" in str(with_c)
