"""Graph files a YAML attack round left said wrong or not at all: a merge that lost optional params, edges of a
refused node said again, an output that goes nowhere, capitalised edge and process keys. Each through
`wavegraph validate` as a user runs it."""

from wavegraph.pipeline.cli import main


def validate(tmp_path, monkeypatch, capsys, text):
    """`wavegraph validate g.yaml` on `text`: (exit code, stdout lines, stderr lines)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    code = main(["validate", "g.yaml"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return code, out.out.strip().splitlines(), out.err.strip().splitlines()


def test_a_merged_optional_param_replaced_by_the_nodes_own_params_is_noted(tmp_path, monkeypatch, capsys):
    # `order: 2` came only from the merge: the node's own params: replaced the merged ones whole and order was
    # bandpass's default, without a word
    text = """\
x-bp: &bp {type: bandpass, params: {l_freq: 1.0, h_freq: 40.0, order: 2}}
nodes:
  - {id: src, type: sine, params: {duration: 0.2}}
  - {id: bp, <<: *bp, params: {l_freq: 1.0, h_freq: 30.0}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: sink.in}
"""
    code, out, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 0 and err == [], err
    notes = [line for line in out if "'bp'" in line]
    assert len(notes) == 1, out
    assert "order: 2" in notes[0] and "l_freq" not in notes[0] and "h_freq" not in notes[0], notes
    assert "params: {<<: *" in notes[0], notes
    # the params merged inside (params: {<<: *p, ...}) lose nothing: no note
    text = text.replace("x-bp: &bp {type: bandpass, params:", "x-p: &p").replace("order: 2}}", "order: 2}")
    text = text.replace("<<: *bp, params: {", "type: bandpass, params: {<<: *p, ")
    code, out, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 0 and not [line for line in out if "'bp'" in line], (out, err)


def test_the_edges_of_a_node_refused_for_capital_keys_are_not_said_again(tmp_path, monkeypatch, capsys):
    # was, after the node's own error: "edge src.out -> sink.in: no node 'src'; fix: nodes are: sink"
    text = """\
nodes:
  - {ID: src, Type: sine}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
"""
    code, out, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("g.yaml:2: each node needs an 'id' and a 'type'; fix: keys are lower case"), err


def test_a_node_whose_outputs_go_nowhere_is_noted_by_validate(tmp_path, monkeypatch, capsys):
    # a second sine connected to nothing validated and ran without a word, its output dropped
    text = """\
nodes:
  - {id: src, type: sine, params: {duration: 0.2}}
  - {id: src2, type: sine, params: {duration: 0.2}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
"""
    code, out, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 0 and err == [], err
    notes = [line for line in out if "'src2'" in line]
    assert len(notes) == 1 and "src2.out" in notes[0] and "connect" in notes[0] and "remove" in notes[0], out
    assert not [line for line in out if "'src'" in line or "'sink'" in line], out


def test_capitalised_edge_and_process_keys_get_the_lower_case_keys(tmp_path, monkeypatch, capsys):
    graph = """\
nodes:
  - {id: src, type: sine, params: {duration: 0.2}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
"""
    code, _, err = validate(
        tmp_path, monkeypatch, capsys, graph.replace("{source:", "{Source:").replace("target:", "Target:")
    )
    assert code == 2 and err[0].startswith(
        "g.yaml:5: each edge needs 'source' and 'target'; fix: keys are lower case"
    ), err
    assert "(not Source:, Target:)" in err[0], err
    code, _, err = validate(
        tmp_path, monkeypatch, capsys, graph + "processes:\n  gpu: {nodes: [src], On: {resources: {GPU: 1}}}\n"
    )
    assert code == 2 and err == ["g.yaml:7: process 'gpu': unknown key 'On'; fix: did you mean 'on'?"], err
