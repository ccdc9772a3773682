"""Every class of graph-file error is one line naming file, line and fix, exits 2, and starts nothing."""

import textwrap

import pytest
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph

GOOD = """\
name: t
nodes:
  - id: src
    type: fixture_nodes:Ramp
    params: {n_channels: 2, rate: 100.0}
  - id: acc
    type: fixture_nodes:CumSum
  - id: sink
    type: fixture_nodes:Collect
edges:
  - {source: src.out, target: acc.in}
  - {source: acc.out, target: sink.in}
"""


def write(tmp_path, text):
    p = tmp_path / "g.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def errors_of(tmp_path, text, capsys):
    p = write(tmp_path, text)
    code = main(["validate", str(p)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert err, "no error printed"
    for line in err:
        assert line.startswith(f"{p}:"), line
        assert "; fix: " in line, line
    return err


def test_good_graph_validates(tmp_path, capsys):
    assert main(["validate", str(write(tmp_path, GOOD))]) == 0
    assert "OK (3 nodes, 2 edges" in capsys.readouterr().out


def test_unknown_type_suggests(tmp_path, capsys):
    err = errors_of(tmp_path, GOOD.replace("fixture_nodes:Collect", "recordr"), capsys)
    assert ":9: node 'sink': unknown type 'recordr'" in err[0]
    assert "did you mean 'recorder'" in err[0]


def test_unknown_dotted_type(tmp_path, capsys):
    err = errors_of(tmp_path, GOOD.replace("fixture_nodes:Collect", "fixture_nodes:Nope"), capsys)
    assert "unknown type 'fixture_nodes:Nope'; fix: module 'fixture_nodes' has no attribute 'Nope'" in err[0]
    err = errors_of(tmp_path, GOOD.replace("fixture_nodes:Collect", "no_such_pkg.nodes:X"), capsys)
    assert "fix: cannot import module 'no_such_pkg.nodes': ModuleNotFoundError: No module named 'no_such_pkg'" in err[0]
    broken = tmp_path / "broken_nodes_mod.py"
    broken.write_text("raise ValueError('a bug at import time')\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:  # a module that fails while importing is a graph error too, not a traceback
        err = errors_of(tmp_path, GOOD.replace("fixture_nodes:Collect", "broken_nodes_mod:X"), capsys)
    finally:
        sys.path.remove(str(tmp_path))
    assert "cannot import module 'broken_nodes_mod': ValueError: a bug at import time" in err[0]


def test_missing_extra_and_wrong_params(tmp_path, capsys):
    text = GOOD.replace("params: {n_channels: 2, rate: 100.0}", "params:\n      n_channels: two\n      rat: 100.0")
    err = errors_of(tmp_path, text, capsys)
    joined = "\n".join(err)
    assert ":6: node 'src' (fixture_nodes:Ramp): parameter 'n_channels' = 'two'" in joined
    assert ":7: node 'src' (fixture_nodes:Ramp): unknown parameter 'rat'; fix: did you mean 'rate'?" in joined


def test_missing_required_param(tmp_path, capsys):
    err = errors_of(tmp_path, GOOD.replace("params: {n_channels: 2, rate: 100.0}", "params: {n_channels: 2}"), capsys)
    assert ":3: node 'src' (fixture_nodes:Ramp): missing parameter 'rate'; fix: add params: {rate: <float>}" in err[0]


def test_unknown_port_and_node(tmp_path, capsys):
    err = errors_of(tmp_path, GOOD.replace("target: acc.in}", "target: acc.input}"), capsys)
    assert ":11: edge src.out -> acc.input: node 'acc' has no input port 'input'" in err[0]
    err = errors_of(tmp_path, GOOD.replace("target: acc.in}", "target: ac.in}"), capsys)
    assert "no node 'ac'" in err[0] and "did you mean 'acc'" in err[0]


def test_duplicate_id(tmp_path, capsys):
    err = errors_of(tmp_path, GOOD.replace("id: sink", "id: acc"), capsys)
    assert ":8: duplicate node id 'acc' (first at line 6)" in err[0]


def test_unconnected_input(tmp_path, capsys):
    err = errors_of(tmp_path, GOOD.replace("  - {source: acc.out, target: sink.in}\n", ""), capsys)
    assert ":8: node 'sink' (fixture_nodes:Collect): input 'in' is not connected" in err[0]
    assert "target: sink.in" in err[0]


def test_cycle(tmp_path, capsys):
    text = GOOD.replace(
        "  - id: sink\n    type: fixture_nodes:Collect\n", "  - id: acc2\n    type: fixture_nodes:CumSum\n"
    )
    text = text.replace("  - {source: src.out, target: acc.in}\n", "").replace(
        "  - {source: acc.out, target: sink.in}\n",
        "  - {source: acc.out, target: acc2.in}\n  - {source: acc2.out, target: acc.in}\n  - {source: src.out, target: acc.in}\n",
    )
    err = errors_of(tmp_path, text, capsys)
    assert any("already fed" in e or "cycle" in e for e in err)
    text2 = text.replace("  - {source: src.out, target: acc.in}\n", "")
    err = errors_of(tmp_path, text2, capsys)
    assert "cycle through nodes acc, acc2" in err[0]


def test_spec_mismatch_names_both_nodes_and_edge(tmp_path, capsys):
    text = GOOD.replace("type: fixture_nodes:CumSum", "type: fixture_nodes:CumSum\n    params: {expect_channels: 8}")
    err = errors_of(tmp_path, text, capsys)
    assert ":12: edge src.out -> acc.in (signal 100 Hz 2 float64 [a.u.]): node 'acc'" in err[0]
    assert "rejects the stream from 'src': expects 8 channels, got 2; fix: pick channels upstream" in err[0]


def test_yaml_syntax_and_structure(tmp_path, capsys):
    err = errors_of(tmp_path, "nodes: [\n", capsys)
    assert "invalid YAML" in err[0]
    err = errors_of(tmp_path, GOOD.replace("edges:", "edgez:"), capsys)
    assert any("unknown top-level key 'edgez'" in e for e in err)
    err = errors_of(
        tmp_path, GOOD.replace("    params: {n_channels: 2, rate: 100.0}", "    params: {[n]: 2, rate: 100.0}"), capsys
    )
    assert ":5: invalid YAML: a mapping key must be a plain value" in err[0]  # not a TypeError traceback


def test_set_override_and_bad_set(tmp_path):
    p = write(tmp_path, GOOD)
    g = build_graph(load_config(p, ["src.n_channels=3"]))
    assert g.specs["src.out"].shape == (3,)
    with pytest.raises(GraphError, match="write --set node.param=value"):
        load_config(p, ["src.n_channels"])
    with pytest.raises(GraphError, match=r"--set: cannot read the value in 'src.rate=\[' as YAML"):
        load_config(p, ["src.rate=["])


def test_queue_must_be_a_positive_integer_not_a_boolean(tmp_path, capsys):
    err = errors_of(tmp_path, GOOD.replace("target: acc.in}", "target: acc.in, queue: true}"), capsys)
    assert ":11: edge queue True must be an integer from 1 to" in err[0]


def test_describe_sums_latency(tmp_path, capsys):
    assert main(["describe", str(write(tmp_path, GOOD))]) == 0
    out = capsys.readouterr().out
    assert "src.out -> acc.in" in out and "signal 100 Hz 2 float64" in out
    assert "src -> acc -> sink: 0.00 ms" in out
