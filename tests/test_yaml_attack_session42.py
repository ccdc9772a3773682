"""Session 42: graph-file authoring mistakes a reviewer found. Each test failed before its fix."""

from __future__ import annotations

import pytest
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph

HEAD = "nodes:\n  - {id: src, type: sine, params: {rate: 250, channels: 2}}\n"


def _problems(tmp_path, text: str, sets: tuple = ()) -> list[str]:
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(GraphError) as e:
        build_graph(load_config(path, list(sets)))
    return e.value.lines()


def test_a_number_of_thousands_of_digits_is_said_at_its_line(tmp_path):
    """Before: Python's 'Exceeds the limit (4300 digits)' ValueError traceback, exit 1, the line unsaid."""
    lines = _problems(tmp_path, HEAD + "x-big: " + "9" * 5000 + "\nedges: []\n")
    assert lines[0].startswith(f"{tmp_path / 'g.yaml'}:3: invalid YAML: a number of 5,000 digits")


def test_a_null_inside_a_mapping_parameter_names_its_key_and_a_factory_default_is_shown(tmp_path):
    """Before: 'parameter 'bands' is null' (the whole parameter), and join's offsets default printed as
    PydanticUndefined."""
    text = HEAD + (
        "  - {id: bp, type: bandpower, params: {bands: {alpha: null}}}\n"
        "  - {id: j, type: join, params: {offsets: null}}\n"
        "edges:\n  - {source: src.out, target: bp.in}\n"
    )
    said = "\n".join(_problems(tmp_path, text))
    assert "parameter 'bands'['alpha'] = " in said and "parameter 'bands' is null" not in said
    assert "remove the line for its default ({})" in said and "PydanticUndefined" not in said


def test_an_edge_from_a_node_into_itself_is_said_as_the_cycle_it_is(tmp_path):
    """Before: 'join them first (src.out -> j.a, g.out -> j.b, j.out -> g.in)', which gave 'cycle through g, j'."""
    text = HEAD + (
        "  - {id: g, type: gain, params: {db: 1}}\n"
        "edges:\n  - {source: src.out, target: g.in}\n  - {source: g.out, target: g.in}\n"
    )
    said = _problems(tmp_path, text)[0]
    assert "feeds 'g' its own output: a cycle" in said and "join them" not in said


def test_a_graph_file_of_megabytes_is_refused_before_it_is_parsed(tmp_path):
    """Before: a 10 MB inline list took PyYAML 21 s and 1 GB, then was said as aliases expanded (there were none)."""
    lines = _problems(tmp_path, HEAD + "x-big: [" + ",".join(["0"] * 2_500_000) + "]\nedges: []\n")
    assert "a graph file of 4.8 MB" in lines[0] and "file_source" in lines[0]


def test_a_huge_value_is_not_echoed_whole(tmp_path):
    """Before: a 1 MB text value came back whole in the error, twice (the problem and its fix)."""
    text = (
        HEAD
        + "  - {id: g, type: gain, params: {db: '"
        + "9" * 1_000_000
        + "'}}\nedges:\n  - {source: src.out, target: g.in}\n"
    )
    lines = _problems(tmp_path, text)
    assert all(len(line) < 5000 for line in lines) and any("characters left out" in line for line in lines)


@pytest.mark.parametrize(
    "bands, said",
    [
        (
            "{alpha: [13, 8]}",
            ":6: node 'bp' (bandpower): parameter 'bands' = {'alpha': [13, 8]}: band 'alpha' [13, 8] Hz",
        ),
        ("{gamma: [30, 200]}", "bandpower band 'gamma' [30, 200] Hz is not within [0, Nyquist=125]"),
        ("{' alpha ': [8, 13]}", ":6: node 'bp' (bandpower): parameter 'bands' = {' alpha ': [8, 13]}: band name"),
    ],
)
def test_a_bandpower_band_is_said_at_its_line_with_what_is_wrong(tmp_path, bands, said):
    """Before: [13, 8] was said at the edge's line as 'not within [0, Nyquist=125]' (both within it); names '' and
    ' alpha ' were taken."""
    text = HEAD + f"  - id: bp\n    type: bandpower\n    params:\n      bands: {bands}\n"
    lines = _problems(tmp_path, text + "edges:\n  - {source: src.out, target: bp.in}\n")
    assert said in lines[0]
    assert ":6: " in lines[0]  # the line of bands, not the edge's


@pytest.mark.parametrize("node_id, fix", [("a=b", "id: a_b"), (" src2 ", "id: src2")])
def test_a_node_id_that_set_could_not_name_is_refused_with_a_name_that_works(tmp_path, node_id, fix):
    """Before: taken, and then `--set 'a=b.rate=5'` said 'cannot read override', `--set ' src2 .rate=1'` 'no node
    'src2'; did you mean ' src2 '?'."""
    said = _problems(tmp_path, HEAD + f"  - {{id: '{node_id}', type: gain}}\nedges: []\n")[0]
    assert f"node id '{node_id}' must be non-empty, with no '.' or '='" in said and fix in said


@pytest.mark.parametrize(
    "line, fix",
    [
        ("  - {id: bp, type: bandpass, params: {l_freq: 1 h_freq: 40}}\n", "write l_freq: 1, h_freq: ..."),
        ("  - {id: bp, type: bandpass, params: {path: 'C: x', l_freq: 1 h_freq: 40}}\n", "write l_freq: 1, h_freq"),
    ],
)
def test_a_comma_left_out_of_a_flow_mapping_gets_the_comma_as_its_fix(tmp_path, line, fix):
    """Before: 'quote a value holding ':' inside { }: path: 'C:\\\\data'', which does not fix it."""
    said = _problems(tmp_path, HEAD + line + "edges: []\n")[0]
    assert ":3: invalid YAML" in said and "a comma is missing before 'h_freq'" in said and fix in said
