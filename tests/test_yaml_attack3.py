"""A new user's graph files, written wrong the ways users write them (tabs an editor left, units in values,
YAML merge keys): each said by `wavegraph validate` as `file:line: what; fix: how` (exit 2), the fix one that works."""

import json

from peer_hints import problems as validate
from wavegraph.pipeline.cli import main

GRAPH = """\
nodes:
  - id: src
    type: sine
    params:
      duration: 0.2
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
"""


def test_a_tab_after_a_value_says_its_column_not_to_indent_with_spaces(tmp_path, monkeypatch, capsys):
    # a trailing tab, a tab before a comment, a tab after the ':' (the line is indented with spaces): the fix was
    # "indent with spaces; YAML does not allow tabs", which the user's indentation already is
    for line, column in (("  - id: src\t", 12), ("  - id: src\t# the source", 12), ("  - id:\tsrc", 8)):
        err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("  - id: src", line))
        assert len(err) == 1 and err[0].startswith(f"g.yaml:2: invalid YAML: column {column} holds a tab"), err
        assert "after '- id:" in err[0] and "fix: replace the tab with a space" in err[0], err
        fixed = GRAPH.replace("  - id: src", line.replace("\t", " "))
        assert validate(tmp_path, monkeypatch, capsys, fixed) == []
    # a tab in the indentation keeps its fix
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("    type: sine", "\ttype: sine"))
    assert len(err) == 1 and err[0].startswith("g.yaml:3:") and "indent with spaces" in err[0], err


def test_a_time_in_ms_or_minutes_gets_its_number_of_seconds(tmp_path, monkeypatch, capsys):
    # was: "fix: write a number without quotes, e.g. duration: 1.0" (while '0.2s' got 'duration: 0.2')
    for written, seconds in (("10ms", "0.01"), ("250 ms", "0.25"), ("2 min", "120"), ("1.5 minutes", "90")):
        err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("duration: 0.2", f"duration: {written}"))
        assert err == [
            f"g.yaml:5: node 'src' (sine): parameter 'duration' = '{written}' is text, not a number; "
            f"fix: write it as a plain number of seconds: duration: {seconds}"
        ]
        assert validate(tmp_path, monkeypatch, capsys, GRAPH.replace("duration: 0.2", f"duration: {seconds}")) == []
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "g.yaml", "--set", "src.duration=20ms"]) == 2
    assert (
        "(from --set) is text, not a number; fix: write it as a plain number of seconds: --set src.duration=0.02"
        in (capsys.readouterr().err)
    )
    # a time where a frequency goes has no number of Hz to give
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("duration: 0.2", "freq: 10ms"))
    assert len(err) == 1 and err[0].endswith("fix: write a number without quotes, e.g. freq: 1.0"), err


def test_a_json_graph_indented_with_tabs_is_read(tmp_path, monkeypatch, capsys):
    # json.dumps(indent="\t") (or Go's MarshalIndent): was "invalid YAML: found character '\t' that cannot start any
    # token; fix: indent with spaces; YAML does not allow tabs", of a valid JSON file
    graph = {
        "nodes": [
            {"id": "src", "type": "sine", "params": {"duration": 0.2}},
            {"id": "sink", "type": "nul_sink"},
        ],
        "edges": [{"source": "src.out", "target": "sink.in"}],
    }
    text = json.dumps(graph, indent="\t")
    err = validate(tmp_path, monkeypatch, capsys, "\ufeff" + text)  # its problems on their lines, a BOM read past
    line = text.splitlines().index('\t\t\t"type": "nul_sink"') + 1
    assert err == [f"g.yaml:{line}: node 'sink': unknown type 'nul_sink'; fix: did you mean 'null_sink'?"]
    assert validate(tmp_path, monkeypatch, capsys, text.replace("nul_sink", "null_sink")) == []
    # a tab inside a JSON string is no JSON: the YAML problem stands
    err = validate(tmp_path, monkeypatch, capsys, text.replace('"src",', '"s\trc",', 1))
    assert len(err) == 1 and "tab" in err[0], err


def _chain(n: int, target: str = "g{i}") -> str:
    """A graph of a sine, n gains in a chain and a sink; each gain's input edge names `target`."""
    lines = ["nodes:", "  - {id: src, type: sine, params: {duration: 0.2}}"]
    lines += [f"  - {{id: g{i}, type: gain}}" for i in range(n)] + ["  - {id: sink, type: null_sink}", "edges:"]
    lines += [
        f"  - {{source: {'src' if i == 0 else f'g{i - 1}'}.out, target: {target.format(i=i)}.in}}" for i in range(n)
    ]
    return "\n".join([*lines, f"  - {{source: g{n - 1}.out, target: sink.in}}", ""])


def test_an_unknown_node_in_a_process_group_gets_the_node_meant(tmp_path, monkeypatch, capsys):
    # was "process 'a' names unknown node 'sorc'; fix: use one of: src, sink" (an edge's 'no node' said 'did you mean')
    err = validate(tmp_path, monkeypatch, capsys, GRAPH + "processes:\n  a: [sorc]\n")
    assert err == ["g.yaml:10: process 'a' names unknown node 'sorc'; fix: did you mean 'src'?"]
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "g.yaml", "--set", "sorc.freq=5"]) == 2  # was 'use one of' too: only case was looked at
    assert "--set: no node 'sorc' to override; fix: did you mean 'src'?" in capsys.readouterr().err


def test_unknown_nodes_of_a_500_node_graph_list_20_ids_and_search_a_few(tmp_path, monkeypatch, capsys):
    import difflib

    calls = []
    search = difflib.get_close_matches
    monkeypatch.setattr(difflib, "get_close_matches", lambda *a, **k: calls.append(a[0]) or search(*a, **k))
    # 498 misspelt targets: each was searched among the 500 ids (2.5 s), each line listing all 500 once none was close
    err = validate(tmp_path, monkeypatch, capsys, _chain(498, "g_{i}"))
    unknown = [line for line in err if "no node 'g_" in line]
    assert len(unknown) == 498 and len(calls) <= 50, (len(unknown), len(calls))
    assert unknown[0].endswith("no node 'g_0'; fix: did you mean 'g0'?"), unknown[0]
    for line in unknown:
        assert line.count(", ") <= 20 and (line.endswith("?") or line.endswith(", ... (480 more)")), line
    # a process group naming nodes no graph has: the same list, cut
    groups = "processes:\n" + "".join(f"  p{i}: [g{i}, x{i}]\n" for i in range(100))
    err = validate(tmp_path, monkeypatch, capsys, _chain(498) + groups)
    assert len(err) == 100 and err[0].endswith(
        "'x0'; fix: use one of: src, g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, "
        "g10, g11, g12, g13, g14, g15, g16, g17, g18, ... (480 more)"
    ), err[0]


BANDS = """\
nodes:
  - {id: src, type: sine, params: {duration: 0.2}}
  - id: bp
    type: bandpower
    params:
      bands: {alpha: [8, 13], beta: [13, 30]}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: sink.in}
"""


def test_a_set_of_one_entry_of_a_mapping_parameter_sets_that_entry(tmp_path, monkeypatch, capsys):
    from wavegraph.pipeline.config import load_config

    (tmp_path / "g.yaml").write_text(BANDS)
    # was: "unknown parameter 'bands.alpha' (from --set); fix: did you mean 'bands'?" (--set bp.bands=[8, 12] is wrong)
    config = load_config(tmp_path / "g.yaml", ["bp.bands.alpha=[8, 12]", "bp.bands.gamma=[30, 45]"])
    bp = next(n for n in config.nodes if n.id == "bp")
    assert bp.params["bands"] == {"alpha": [8, 12], "beta": [13, 30], "gamma": [30, 45]}
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "g.yaml", "--set", "bp.bands.alpha=[8, 12]"]) == 0, capsys.readouterr()
    capsys.readouterr()
    # a part of a parameter that is no mapping: the whole parameter's --set, not "did you mean 'freq'"
    assert main(["validate", "g.yaml", "--set", "src.freq.1=3"]) == 2
    assert capsys.readouterr().err.strip() == (
        "g.yaml:2: node 'src' (sine): unknown parameter 'freq.1' (from --set); fix: --set gives a whole parameter: "
        "--set 'src.freq=VALUE', VALUE a float | list[float]"
    )


MERGED = """\
x-filt: &filt
  type: bandpass
  params: {l_freq: 1.0, h_freq: 40.0}
nodes:
  - {id: src, type: sine, params: {duration: 0.2}}
  - <<: *filt
    id: bp
    params: {h_freq: 30.0}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: sink.in}
"""


def test_params_written_beside_a_merge_say_they_replaced_the_merged_params(tmp_path, monkeypatch, capsys):
    # was "missing parameter 'l_freq'; fix: add params: {l_freq: <float>}", of a node whose <<: *filt gives l_freq
    err = validate(tmp_path, monkeypatch, capsys, MERGED)
    assert err == [
        "g.yaml:6: node 'bp' (bandpass): missing parameter 'l_freq': the node's own params: replaced the params its "
        "<<: merge gave (l_freq: 1.0), whole (YAML merges keys one level deep); fix: anchor the params themselves "
        "(x-bandpass: &bandpass {l_freq: ...}) and merge them inside: params: {<<: *bandpass, ...}, or add l_freq to "
        "this node's params"
    ]
    fixed = MERGED.replace("x-filt: &filt\n  type: bandpass\n  params: {l_freq", "x-bandpass: &bandpass {l_freq")
    fixed = fixed.replace(
        "  - <<: *filt\n    id: bp\n    params: {h_freq",
        "  - id: bp\n    type: bandpass\n    params: {<<: *bandpass, h_freq",
    )
    assert fixed.startswith("x-bandpass: &bandpass {l_freq: 1.0, h_freq: 40.0}\n"), fixed
    assert validate(tmp_path, monkeypatch, capsys, fixed) == []
    # a node without params of its own takes the merged ones, as before
    assert validate(tmp_path, monkeypatch, capsys, MERGED.replace("    params: {h_freq: 30.0}\n", "")) == []


def test_nan_or_infinity_inside_a_list_of_numbers_is_a_problem_with_its_line(tmp_path, monkeypatch, capsys):
    # was: validate OK, and the sine's second channel all NaN (the NaN check looked at single numbers only)
    two = GRAPH.replace("duration: 0.2", "duration: 0.2\n      channels: 2\n      freq: [10, F]")
    for written, said in (
        (".nan", "nan is NaN, not a number"),
        ("nan", "'nan' is NaN, not a number"),
        ("-.inf", "-inf is infinite"),
    ):
        err = validate(tmp_path, monkeypatch, capsys, two.replace("F]", f"{written}]"))
        assert err == [
            f"g.yaml:7: node 'src' (sine): parameter 'freq'[1] = {said}; "
            "fix: give a finite number there (NaN and infinity are not accepted)"
        ]
    assert validate(tmp_path, monkeypatch, capsys, two.replace("F]", "20]")) == []
    # a list of names takes 'nan' as a name
    names = GRAPH.replace("duration: 0.2", "duration: 0.2\n      channels: [nan, inf]")
    assert validate(tmp_path, monkeypatch, capsys, names) == []


JOIN = """\
nodes:
  - {id: a, type: sine, params: {duration: 0.2}}
  - {id: b, type: sine, params: {duration: 0.2}}
  - {id: j, type: join}
  - {id: sink, type: null_sink}
edges:
  - {source: a.out, target: j.in1}
  - {source: b.out, target: j.in2}
  - {source: j.out, target: sink.in}
"""


def test_a_join_fed_on_ports_of_other_names_gets_the_inputs_to_write(tmp_path, monkeypatch, capsys):
    # was "fix: 'j' inputs: a, b" only: join's inputs are a parameter
    err = validate(tmp_path, monkeypatch, capsys, JOIN)
    assert err == [
        f"g.yaml:{line}: edge {x}.out -> j.in{i}: node 'j' has no input port 'in{i}'; fix: 'j' inputs: a, b, "
        "or name them as the edges do: params: {inputs: [in1, in2]}"
        for line, x, i in ((7, "a", 1), (8, "b", 2))
    ]
    named = JOIN.replace("{id: j, type: join}", "{id: j, type: join, params: {inputs: [in1, in2]}}")
    assert validate(tmp_path, monkeypatch, capsys, named) == []
    # inputs the file names: a misspelt port gets the list only
    err = validate(tmp_path, monkeypatch, capsys, named.replace("target: j.in2}", "target: j.in3}"))
    assert err[0].endswith("has no input port 'in3'; fix: 'j' inputs: in1, in2"), err


def test_node_keys_in_capitals_get_the_lower_case_keys(tmp_path, monkeypatch, capsys):
    # was "fix: write '- {id: name, type: node_type, params: {...}}'" and, with no node read, "fix: nodes are: "
    text = GRAPH.replace("  - id: src\n    type: sine", "  - ID: src\n    Type: sine").replace(
        "{id: sink, type: null_sink}", "{Id: sink, type: null_sink}"
    )
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err[:2] == [
        "g.yaml:2: each node needs an 'id' and a 'type'; fix: keys are lower case: write id: src, type: sine "
        "(not ID:, Type:)",
        "g.yaml:6: each node needs an 'id' and a 'type'; fix: keys are lower case: write id: sink (not Id:)",
    ]
    assert len(err) == 2  # the edges of the nodes refused are not said again (test_yaml_leftovers_session20.py)
