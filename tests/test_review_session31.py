"""Session 31 review: texts libyaml reads otherwise than PyYAML, found after 7f4cca3 (pipeline/yaml_lines.py).

A tag directly followed by a ',' inside [ ] or { } (`{name: !!str,x: 1}`): PyYAML reads the ',' (and what follows up
to a space) as part of the tag and refuses the text (an unknown tag, or a parser error); libyaml ends the tag at the
',' and gave an empty value ('' / None / {} / []), so a graph file PyYAML refuses was read silently with libyaml."""

from __future__ import annotations

import pytest
import yaml
from peer_hints import graph_problems_both_ways
from wavegraph.pipeline import yaml_lines
from wavegraph.pipeline.yaml_lines import LineLoader, load_lines

TAG_THEN_COMMA = [
    "params: {name: !!str,x: 1}\n",
    'params: {"a":!!str,b: 1}\n',
    "ids: [!!null,a]\n",
    "ids: [!,a]\n",
    "ids: [!!map,a]\n",
    "ids: [!!seq,a]\n",
    "ids: [!<tag:yaml.org,2002:str>,a]\n",
]


def _outcome(load, text):
    try:
        return ("ok", repr(load(text)))
    except yaml.YAMLError as e:
        return ("error", type(e).__name__, str(e))


@pytest.mark.parametrize("text", TAG_THEN_COMMA)
def test_a_tag_followed_by_a_comma_is_refused_as_pyyaml_refuses_it(text):
    pure = _outcome(lambda t: yaml.load(t, Loader=LineLoader), text)  # noqa: S506
    assert pure[0] == "error"
    assert _outcome(load_lines, text) == pure


def test_a_graph_file_with_a_tag_followed_by_a_comma_is_refused_with_and_without_libyaml(tmp_path, monkeypatch):
    path = tmp_path / "g.yaml"
    path.write_text("nodes:\n  - {id: a, type: sine, params: {name: !!str,x: 1}}\nedges: []\n")
    with_c, pure = graph_problems_both_ways(path, monkeypatch)
    assert with_c is not None and with_c == pure


def test_the_guard_reads_a_long_run_of_tag_marks():
    """The check for a tag before a ',' on a 60,000-character run of '!' (a regex `!\\S*,` over it was quadratic: 6 s at
    40 KB; the word scan is linear by construction): a ',' at its end sends the text to LineLoader, none leaves it to
    libyaml."""
    run = "a: " + "!" * 60_000
    assert yaml_lines.loader_for(run + ",b\n") is yaml_lines.LineLoader
    if yaml_lines.CLineLoader is not None:
        assert yaml_lines.loader_for(run + "\n") is yaml_lines.CLineLoader
