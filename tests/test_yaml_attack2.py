"""A new user's own graph files and node classes: the mistakes they make, each said when the graph is built
(`validate`, exit 2) as `file:line: what; fix: how`, never left to fail or do nothing mid-run."""

import textwrap

import yaml
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.yaml_lines import LineLoader

USER_GRAPH = """\
nodes:
  - {id: src, type: sine, params: {duration: 0.2}}
  - {id: my, type: "MODULE:Doubler"}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: my.in}
  - {source: my.out, target: sink.in}
"""


def check(tmp_path, monkeypatch, capsys, text, *files, command="validate"):
    """Run `wavegraph validate g.yaml` (or `run --in-process`) on `text`; its problems, [] when it passed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(textwrap.dedent(text))
    args = ["run", "g.yaml", "--in-process"] if command == "run" else [command, "g.yaml", *files]
    code = main(args)
    out = capsys.readouterr()
    if code == 0:
        return []
    lines = out.err.strip().splitlines()
    assert code == 2 and lines and "Traceback" not in out.err, out
    for line in lines:
        assert "; fix: " in line, line
    return lines


def user_node(tmp_path, module, body):
    (tmp_path / f"{module}.py").write_text(
        "import numpy as np\nfrom wavegraph.pipeline.node import Node, NodeParams, Source\n"
        "from wavegraph.pipeline.chunk import Chunk\nfrom wavegraph.pipeline.spec import signal_spec\n\n"
        + textwrap.dedent(body)
    )
    return USER_GRAPH.replace("MODULE", module)


def test_a_node_class_the_runtime_cannot_drive_is_refused_at_build(tmp_path, monkeypatch, capsys):
    # no process(): validate said OK, the run failed at the first chunk with a bare NotImplementedError
    graph = user_node(tmp_path, "wg_a2_noproc", "class Doubler(Node):\n    pass\n")
    err = check(tmp_path, monkeypatch, capsys, graph)
    assert err and err[0].startswith("g.yaml:3: node 'my' (wg_a2_noproc:Doubler): class Doubler (wg_a2_noproc.py)")
    assert "defines no process()" in err[0] and "define process(self, inputs)" in err[0], err
    assert check(tmp_path, monkeypatch, capsys, graph, command="run") == err  # before: exit 1, a traceback
    # ports written as text: inputs = "in" made the two inputs 'i' and 'n'
    body = "class Doubler(Node):\n    inputs = 'in'\n    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    err = check(tmp_path, monkeypatch, capsys, user_node(tmp_path, "wg_a2_text_ports", body))
    assert len(err) == 1 and "inputs = 'in', text, not a tuple" in err[0] and "inputs = ('in',)" in err[0], err
    # a Node with no inputs that is not a Source: never called; the run ended with nothing, exit 0
    body = """\
        class Doubler(Node):
            inputs = ()
            def configure(self, in_specs):
                return {"out": signal_spec(250.0, ["a"])}
            def read(self):
                return {"out": Chunk(np.zeros((1, 25)), 0.0)}
        """
    graph = user_node(tmp_path, "wg_a2_nonsource", body).replace("- {source: src.out, target: my.in}\n", "")
    graph = graph.replace("  - {id: src, type: sine, params: {duration: 0.2}}\n", "")
    err = check(tmp_path, monkeypatch, capsys, graph)
    assert len(err) == 1 and "has no inputs but is not a Source" in err[0] and "subclass" in err[0], err
    # a Source without read(): was the same bare NotImplementedError mid-run
    body = "class Doubler(Source):\n    def configure(self, in_specs):\n        return {'out': signal_spec(250.0, ['a'])}\n"
    graph = user_node(tmp_path, "wg_a2_noread", body).replace("- {source: src.out, target: my.in}\n", "")
    err = check(
        tmp_path, monkeypatch, capsys, graph.replace("  - {id: src, type: sine, params: {duration: 0.2}}\n", "")
    )
    assert len(err) == 1 and "is a Source without read()" in err[0] and "read(self)" in err[0], err
    # a class that is right passes, and runs
    body = "class Doubler(Node):\n    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    assert check(tmp_path, monkeypatch, capsys, user_node(tmp_path, "wg_a2_good", body), command="run") == []


def test_a_module_class_that_is_no_node_says_how_to_write_one(tmp_path, monkeypatch, capsys):
    # a plain class, as the README's "a node is a plain class" reads: was "'Doubler' in module '...' is not a
    # Node subclass", what without how
    body = "class Doubler:\n    def process(self, inputs):\n        return {'out': inputs['in']}\nrate = 250\n"
    graph = user_node(tmp_path, "wg_a2_plain", body)
    err = check(tmp_path, monkeypatch, capsys, graph)
    assert len(err) == 1 and err[0].startswith("g.yaml:3: node 'my': unknown type 'wg_a2_plain:Doubler'; fix:"), err
    assert "'Doubler' in wg_a2_plain.py is a plain class" in err[0] and "`class Doubler(Node):`" in err[0], err
    err = check(tmp_path, monkeypatch, capsys, graph.replace(":Doubler", ":rate"))
    assert "'rate' in wg_a2_plain.py is not a class but a value of type int" in err[0], err
    # a misspelt class: was "module '...' has no attribute 'Dobuler'", and no fix
    body = "class Doubler(Node):\n    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    graph = user_node(tmp_path, "wg_a2_typo", body)
    err = check(tmp_path, monkeypatch, capsys, graph.replace(":Doubler", ":Dobuler"))
    assert err[0].endswith("fix: module 'wg_a2_typo' has no attribute 'Dobuler'; did you mean wg_a2_typo:Doubler?"), err
    err = check(tmp_path, monkeypatch, capsys, graph.replace(":Doubler", ":Zzz"))
    assert err[0].endswith("fix: module 'wg_a2_typo' has no attribute 'Zzz'; its node classes: Doubler"), (
        err
    )  # not Node, Source


def test_a_node_module_named_as_another_module_says_which_was_imported(tmp_path, monkeypatch, capsys):
    # signal.py beside the graph: Python's own signal comes first on the import path; was "module 'signal' has
    # no attribute 'Doubler'", as if the user's file lacked the class it holds
    body = "class Doubler(Node):\n    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    err = check(tmp_path, monkeypatch, capsys, user_node(tmp_path, "signal", body))
    assert len(err) == 1 and f"not your {tmp_path / 'signal.py'}" in err[0], err
    assert "the module 'signal' Python imported is " in err[0] and "type: my_signal:Doubler" in err[0], err


def test_a_node_class_whose_params_are_no_node_params_is_refused(tmp_path, monkeypatch, capsys):
    # a pydantic model of one's own: `kk: 3` for k was ignored (pydantic's default), the node ran with k = 2
    body = """\
        from pydantic import BaseModel
        class Doubler(Node):
            class Params(BaseModel):
                k: float = 2
            def process(self, inputs):
                return {"out": inputs["in"]}
        """
    graph = user_node(tmp_path, "wg_a2_basemodel", body).replace(':Doubler"}', ':Doubler", params: {kk: 3}}')
    err = check(tmp_path, monkeypatch, capsys, graph)
    assert len(err) == 1 and err[0].startswith("g.yaml:3: node 'my' (wg_a2_basemodel:Doubler): class Doubler"), err
    assert "Params = a pydantic BaseModel, not a NodeParams" in err[0] and "class Params(NodeParams)" in err[0], err
    # a dataclass: was a traceback (TypeError: 'Params' object is not iterable) from validate and run
    body = body.replace("from pydantic import BaseModel", "from dataclasses import dataclass")
    body = body.replace("class Params(BaseModel):", "@dataclass\n            class Params:")
    graph = user_node(tmp_path, "wg_a2_dataclass", body)
    for command in ("validate", "run"):
        err = check(tmp_path, monkeypatch, capsys, graph, command=command)
        assert len(err) == 1 and "Params = a dataclass, not a NodeParams" in err[0], err


def test_a_configure_that_returns_no_stream_spec_or_another_port_says_so(tmp_path, monkeypatch, capsys):
    body = """\
        class Doubler(Node):
            def configure(self, in_specs):
                return {"out": 250.0}
            def process(self, inputs):
                return {"out": inputs["in"]}
        """
    graph = user_node(tmp_path, "wg_a2_float_spec", body)
    for command in ("validate", "run"):  # was AttributeError: 'float' object has no attribute 'rate', a traceback
        err = check(tmp_path, monkeypatch, capsys, graph, command=command)
        assert len(err) == 1 and err[0].startswith("g.yaml:3: node 'my' (wg_a2_float_spec:Doubler): configure()"), err
        assert "returned float for output 'out', not a StreamSpec" in err[0] and "signal_spec(" in err[0], err
    # a misspelt port: was "gave no spec for outputs ['out']", the port it did give unsaid
    graph = user_node(tmp_path, "wg_a2_port_spec", body.replace('{"out": 250.0}', '{"outt": in_specs["in"]}'))
    err = check(tmp_path, monkeypatch, capsys, graph)
    assert err == [
        "g.yaml:3: node 'my' (wg_a2_port_spec:Doubler): configure() gave no spec for 'out' and a spec for 'outt', "
        "which is no output; fix: return a spec for each of its outputs (out)"
    ]


def test_a_node_class_whose_init_skips_nodes_init_says_to_call_it(tmp_path, monkeypatch, capsys):
    body = """\
        class Doubler(Node):
            def __init__(self, **params):
                self.k = params.get("k", 2)
            def process(self, inputs):
                return {"out": inputs["in"]}
        """
    graph = user_node(tmp_path, "wg_a2_no_super", body)
    for command in ("validate", "run"):  # was AttributeError: 'Doubler' object has no attribute 'params', a traceback
        err = check(tmp_path, monkeypatch, capsys, graph, command=command)
        assert len(err) == 1 and err[0].startswith("g.yaml:3: node 'my' (wg_a2_no_super:Doubler): class Doubler"), err
        assert "does not call Node's" in err[0] and "super().__init__(**params)" in err[0], err


def test_a_node_module_written_as_a_file_or_with_a_dot_gets_the_type_to_write(tmp_path, monkeypatch, capsys):
    body = "class Doubler(Node):\n    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    graph = user_node(tmp_path, "wg_a2_paths", body)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "wg_a2_sub.py").write_text((tmp_path / "wg_a2_paths.py").read_text())
    said = {  # before: Python's import errors ("No module named 'wg_a2_paths.py'"; "the 'package' argument is
        # required to perform a relative import"), or 'run `wavegraph nodes`' for the dotted name
        "wg_a2_paths.py:Doubler": "write type: wg_a2_paths:Doubler (the module's Python name: no .py",
        "./wg_a2_paths:Doubler": "write type: wg_a2_paths:Doubler (",
        "sub/wg_a2_sub.py:Doubler": "write type: sub.wg_a2_sub:Doubler (",
        "wg_a2_paths.Doubler": "a class of your own is named module:Class: write type: wg_a2_paths:Doubler",
    }
    for written, fix in said.items():
        err = check(tmp_path, monkeypatch, capsys, graph.replace("wg_a2_paths:Doubler", written))
        assert len(err) == 1 and err[0].startswith(f"g.yaml:3: node 'my': unknown type '{written}'; fix: {fix}"), err
        right = fix.partition("write type: ")[2].partition(" ")[0]
        assert check(tmp_path, monkeypatch, capsys, graph.replace("wg_a2_paths:Doubler", right)) == [], right
    # a dotted name that is no module anywhere is still an unknown type
    err = check(tmp_path, monkeypatch, capsys, graph.replace("wg_a2_paths:Doubler", "no_such_wg_mod.Doubler"))
    assert err[0].endswith("fix: run `wavegraph nodes` to list the types"), err


def test_an_edge_written_twice_says_to_delete_it(tmp_path, monkeypatch, capsys):
    graph = USER_GRAPH.replace('"MODULE:Doubler"', "gain").replace(
        "  - {source: my.out, target: sink.in}\n",
        "  - {source: my.out, target: sink.in}\n  - {source: my.out, target: sink.in}\n",
    )
    err = check(tmp_path, monkeypatch, capsys, graph)  # was: "already fed by my.out; fix: merge streams with a node"
    assert err == ["g.yaml:8: edge my.out -> sink.in is written twice (first at line 7); fix: delete this line"]
    assert check(tmp_path, monkeypatch, capsys, graph.replace("  - {source: my.out, target: sink.in}\n", "", 1)) == []


def test_nodes_shows_a_class_of_ones_own_from_the_current_folder(tmp_path, monkeypatch, capsys):
    body = """\
        class Doubler(Node):
            class Params(NodeParams):
                k: float = 2.0
            def process(self, inputs):
                return {"out": inputs["in"]}
        """
    user_node(tmp_path, "wg_a2_shown", body)
    monkeypatch.chdir(tmp_path)
    # as a graph file finds it: was "cannot import module 'wg_a2_shown': ModuleNotFoundError", exit 2
    assert main(["nodes", "wg_a2_shown:Doubler"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wg_a2_shown:Doubler  (inputs: in; outputs: out)") and "k: float (default 2.0)" in out, out
    assert main(["nodes", "wg_a2_shown.py:Doubler"]) == 2
    assert "write type: wg_a2_shown:Doubler" in capsys.readouterr().err


def test_a_latency_no_path_can_add_is_said_at_build(tmp_path, monkeypatch, capsys):
    body = """\
        class Doubler(Node):
            def configure(self, in_specs):
                self.latency_samples = LATENCY
                return {"out": in_specs["in"]}
            def process(self, inputs):
                return {"out": inputs["in"]}
        """
    # text crashed describe (TypeError: unsupported operand type(s) for /: 'str' and 'float'); nan and -5 printed
    # paths of nan ms and -20 ms, and validate and run said nothing
    for k, latency in enumerate(("'10'", "float('nan')", "-5")):
        graph = user_node(tmp_path, f"wg_a2_latency{k}", body.replace("LATENCY", latency))
        for command in ("describe", "validate"):
            err = check(tmp_path, monkeypatch, capsys, graph, command=command)
            assert len(err) == 1 and err[0].startswith(f"g.yaml:3: node 'my' (wg_a2_latency{k}:Doubler): configure()")
            assert "latency_samples = " in err[0] and "a whole number >= 0" in err[0], err
    (tmp_path / "g.yaml").write_text(user_node(tmp_path, "wg_a2_latency_ok", body.replace("LATENCY", "np.int64(25)")))
    assert main(["describe", "g.yaml"]) == 0  # a numpy count is a count
    assert "src -> my -> sink: 100.00 ms" in capsys.readouterr().out


def test_a_number_with_a_dot_and_an_exponent_is_the_number_yaml_1_2_reads(tmp_path, monkeypatch, capsys):
    # YAML 1.1 wants a signed exponent after a dot (1.6e+4); 1.6e4 was text, refused with the fix "write it
    # without quotes: rate: 1.6e4", the very thing written
    graph = "nodes:\n  - {id: src, type: sine, params: {duration: 0.01, rate: RATE}}\n  - {id: sink, type: null_sink}\n"
    graph += "edges:\n  - {source: src.out, target: sink.in}\n"
    for written in ("1.6e4", ".5e3", "2.e2", "1_6.0e3"):
        assert check(tmp_path, monkeypatch, capsys, graph.replace("RATE", written)) == [], written
    err = check(tmp_path, monkeypatch, capsys, graph.replace("RATE", "-1.6e4"))  # a number, then checked as one
    assert len(err) == 1 and "parameter 'rate' = -16000.0: Input should be greater than 0" in err[0], err
    assert check(tmp_path, monkeypatch, capsys, graph.replace("RATE", "0.01"), "--set", "src.rate=1.6e4") == []
    # what is not a number stays text, and quoted numbers stay text too
    err = check(tmp_path, monkeypatch, capsys, graph.replace("RATE", "'1.6e4'"))
    assert err == ["g.yaml:2: node 'src' (sine): parameter 'rate' = '1.6e4' is text, not a number; fix: write it "
                   "without quotes: rate: 1.6e4"]  # fmt: skip
    for text in (".e3", "1.6e4.5", "1.6e"):
        err = check(tmp_path, monkeypatch, capsys, graph.replace("RATE", text))
        assert len(err) == 1 and f"parameter 'rate' = '{text}' is text" in err[0], err
    assert yaml.load("a: 1.6e4\nb: 1.6e-4\nc: 16e3\nd: 1.0\ne: 1.6e4x", Loader=LineLoader) == {
        "a": 16000.0, "b": 0.00016, "c": 16000.0, "d": 1.0, "e": "1.6e4x"
    }  # fmt: skip


def test_a_yaml_1_2_octal_number_is_its_value(tmp_path, monkeypatch, capsys):
    # 0o31 is YAML 1.2's 25; it was text, refused with "write a number without quotes" (there were none)
    graph = "nodes:\n  - {id: src, type: sine, params: {duration: 0.2, chunk_size: SIZE}}\n  - {id: sink, type: null_sink}\n"
    graph += "edges:\n  - {source: src.out, target: sink.in}\n"
    assert check(tmp_path, monkeypatch, capsys, graph.replace("SIZE", "0o31")) == []
    assert yaml.load("a: 0o31\nb: -0o31\nc: 031\nd: '0o31'\ne: 0o9", Loader=LineLoader) == {
        "a": 25, "b": -25, "c": 31, "d": "0o31", "e": "0o9"
    }  # fmt: skip


def test_a_channel_name_where_a_count_or_names_go_gets_the_list_to_write(tmp_path, monkeypatch, capsys):
    # channels: C3 (int | list[str]) was "is text, not a number; fix: write a number without quotes, e.g. channels: 1"
    graph = (
        "nodes:\n  - {id: src, type: sine, params: {duration: 0.2, channels: CH}}\n  - {id: sink, type: null_sink}\n"
    )
    graph += "edges:\n  - {source: src.out, target: sink.in}\n"
    said = {
        "C3": "channels: [C3]",
        "'C3, C4'": "channels: [C3, C4]",
        "'C3 Fp1:ref'": 'channels: [C3, "Fp1:ref"]',
    }
    for written, fix in said.items():
        err = check(tmp_path, monkeypatch, capsys, graph.replace("CH", written))
        assert len(err) == 1 and "is text, not a count or a list of names" in err[0], err
        assert err[0].endswith(f"fix: write a list, even of one name: {fix}"), err
        assert check(tmp_path, monkeypatch, capsys, graph.replace("CH", fix.partition(": ")[2])) == []
    err = check(tmp_path, monkeypatch, capsys, graph.replace("CH", "'4'"))  # a count quoted keeps its own fix
    assert err[0].endswith("is text, not a number; fix: write it without quotes: channels: 4"), err


def test_an_empty_or_repeated_channel_name_of_a_simulated_source_is_named(tmp_path, monkeypatch, capsys):
    graph = (
        "nodes:\n  - {id: src, type: TYPE, params: {duration: 0.2, channels: CH}}\n  - {id: sink, type: null_sink}\n"
    )
    graph += "edges:\n  - {source: src.out, target: sink.in}\n"
    for node_type in ("sine", "eeg_sim"):
        # ['', C4, ' '] ran (a recording of it: '' twice in EDF, read back as '-0', '-1')
        err = check(tmp_path, monkeypatch, capsys, graph.replace("TYPE", node_type).replace("CH", "['', C4, ' ']"))
        assert err == [
            f"g.yaml:2: node 'src' ({node_type}): {node_type}: channel names 1, 3 of 3 are empty; fix: give every "
            "channel a name (channels: [C3, C4]), or a count (channels: 2 names them ch0, ch1)"
        ]
        # repeated: was "channels must be a positive count or unique names; fix: e.g. channels: 4", which unsaid
        err = check(tmp_path, monkeypatch, capsys, graph.replace("TYPE", node_type).replace("CH", "[O1, Oz, O1]"))
        assert err[0].endswith(
            f"{node_type}: channel name 'O1' listed more than once; fix: give each channel its own name"
        )
        assert check(tmp_path, monkeypatch, capsys, graph.replace("TYPE", node_type).replace("CH", "[O1, Oz]")) == []


def test_two_graphs_checked_in_one_command_each_get_their_own_node_module(tmp_path, monkeypatch, capsys):
    # a/g.yaml and b/g.yaml, each with its own wg_a2_twin.py: b's graph was checked with a's module (imported
    # once per process): with another class name it said "has no attribute"; with the same one, silently a's class
    for sub, ports in (("a", "('in',)"), ("b", "('x',)")):
        (tmp_path / sub).mkdir()
        body = f"class Twin(Node):\n    inputs = {ports}\n    def process(self, inputs):\n        return {{}}\n"
        body += f"class Only_{sub}(Twin):\n    inputs = ('in',)\n"
        (tmp_path / sub / "g.yaml").write_text(user_node(tmp_path / sub, "wg_a2_twin", body).replace("Doubler", "Twin"))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "a/g.yaml", "b/g.yaml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["b/g.yaml:6: edge src.out -> my.in: node 'my' has no input port 'in'; fix: 'my' inputs: x"], err
    for sub in ("a", "b"):  # each graph's own class, by a name only its module has
        (tmp_path / sub / "g.yaml").write_text((tmp_path / sub / "g.yaml").read_text().replace(":Twin", f":Only_{sub}"))
    assert main(["validate", "a/g.yaml", "b/g.yaml"]) == 0, capsys.readouterr().err


def test_params_written_as_a_list_or_as_text_get_the_mapping_and_are_still_checked(tmp_path, monkeypatch, capsys):
    graph = USER_GRAPH.replace('{id: my, type: "MODULE:Doubler"}', "{id: my, type: bandpass, params: PARAMS}")
    # `- l_freq: 1.0` lines, or one text: was "fix: write params: {name: value}", then both parameters "missing"
    err = check(tmp_path, monkeypatch, capsys, graph.replace("PARAMS", "[{l_freq: 1.0}, {h_freq: 40.0}]"))
    assert err == [
        "g.yaml:3: node 'my': params must be a mapping; fix: write them as one mapping, not as a list: "
        "params: {l_freq: 1.0, h_freq: 40.0}"
    ]
    err = check(tmp_path, monkeypatch, capsys, graph.replace("PARAMS", "'l_freq=1, h_freq: 400'"))
    assert err[0] == (
        "g.yaml:3: node 'my': params must be a mapping; fix: write them as one mapping, not as text: "
        "params: {l_freq: 1, h_freq: 400}"
    )
    assert len(err) == 2 and "h_freq" in err[1] and "Nyquist" in err[1], err  # the values given are checked
    err = check(tmp_path, monkeypatch, capsys, graph.replace("PARAMS", "'bandpass 1-40'"))  # nothing to read
    assert err[0].endswith("params must be a mapping; fix: write params: {name: value}"), err


def test_a_graph_file_or_another_tools_word_as_the_command_gets_the_command_to_type(tmp_path, monkeypatch, capsys):
    # was argparse's "invalid choice: 'g.yaml' (choose from 'run', 'validate', ...)"
    monkeypatch.chdir(tmp_path)
    said = {
        ("g.yaml", "--speed", "1"): "wavegraph: 'g.yaml' is a file, not a command; fix: wavegraph run g.yaml --speed 1 "
        "(or validate, describe)",
        ("my graph.yml",): "wavegraph: 'my graph.yml' is a file, not a command; fix: wavegraph run 'my graph.yml' "
        "(or validate, describe)",
        ("check", "g.yaml"): "wavegraph: unknown command 'check'; fix: wavegraph validate g.yaml",
        (
            "plan",
            "g.yaml",
            "--set",
            "bp.h_freq=30",
        ): "wavegraph: unknown command 'plan'; fix: wavegraph describe g.yaml --set bp.h_freq=30",
        ("valdiate", "g.yaml"): "wavegraph: unknown command 'valdiate'; fix: wavegraph validate g.yaml",
    }
    for argv, line in said.items():
        assert main(list(argv)) == 2
        assert capsys.readouterr().err.strip() == line
    assert main(["zzz"]) == 2 and "fix: use one of: run, validate, describe" in capsys.readouterr().err


def test_a_node_class_with_a_port_no_edge_can_name_is_refused_at_build(tmp_path, monkeypatch, capsys):
    # outputs = ('out.x',): validate said 'no output port out', and `my.out.x` was refused as no node.port
    body = """\
        class Doubler(Node):
            outputs = ("out.x",)
            def configure(self, in_specs):
                return {"out.x": in_specs["in"]}
            def process(self, inputs):
                return {"out.x": inputs["in"]}
        """
    graph = user_node(tmp_path, "wg_a2_dotted_port", body)
    for edge_end in ("my.out", "my.out.x"):
        err = check(tmp_path, monkeypatch, capsys, graph.replace("source: my.out", f"source: {edge_end}"))
        assert err[edge_end.count(".") - 1] == (  # (my.out.x is also said as no node.port, before it)
            "g.yaml:3: node 'my' (wg_a2_dotted_port:Doubler): class Doubler (wg_a2_dotted_port.py) has the port 'out.x', "
            "which no edge can name (an edge end is node.port); fix: name its ports with letters, digits and _ (no "
            "'.'), e.g. 'out_x'"
        ), err
    # ('in', 'in'): ran as one port, said nothing
    body = "class Doubler(Node):\n    inputs = ('in', 'in')\n    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    err = check(tmp_path, monkeypatch, capsys, user_node(tmp_path, "wg_a2_twice_port", body))
    assert len(err) == 1 and err[0].endswith("lists the port 'in' twice in inputs; fix: list each port once"), err


def test_two_streams_into_one_input_get_the_join_to_write(tmp_path, monkeypatch, capsys):
    graph = (
        "nodes:\n  - {id: s1, type: sine, params: {duration: 0.2}}\n  - {id: s2, type: noise, params: {duration: 0.2}}\n"
        "  - {id: sink, type: null_sink}\nedges:\n  - {source: s1.out, target: sink.in}\n"
        "  - {source: s2.out, target: sink.in}\n"
    )
    err = check(tmp_path, monkeypatch, capsys, graph)  # was "fix: an input takes one edge; merge streams with a node"
    assert err == [
        "g.yaml:7: edge s2.out -> sink.in: input sink.in already fed by s1.out (line 6); fix: an input takes one edge: "
        "to use both streams, join them first (a node of type join: s1.out -> j.a, s2.out -> j.b, j.out -> sink.in), "
        "or give each its own node"
    ]
    joined = graph.replace("  - {id: sink", "  - {id: j, type: join}\n  - {id: sink").replace(
        "  - {source: s1.out, target: sink.in}\n  - {source: s2.out, target: sink.in}\n",
        "  - {source: s1.out, target: j.a}\n  - {source: s2.out, target: j.b}\n  - {source: j.out, target: sink.in}\n",
    )
    assert check(tmp_path, monkeypatch, capsys, joined, command="run") == []  # the fix as written runs
