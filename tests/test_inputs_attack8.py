"""Broken and unusual inputs, an eighth sweep: graph files and the `wavegraph` command (run, validate, describe) as a
new user brings them: odd-typed node keys, names YAML reads as numbers, misnamed top-level keys, a graph on standard
input. Each mistake is one `file:line: message; fix: ...` line, never a traceback. Each test failed before its fix."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import pytest
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.config import GraphError, load_config

SRC = "{id: %s, type: noise, params: {rate: 100, duration: 0.5, chunk_size: 10}}"


def problems(tmp_path, monkeypatch, capsys, text: str, *args: str) -> list[str]:
    """`wavegraph validate g.yaml` (or the command given): its error lines; [] when it passed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(textwrap.dedent(text))
    code = main([*(args or ("validate",)), "g.yaml"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert (code == 0) == (not lines) or code == 0, err
    return [] if code == 0 else lines


@pytest.mark.parametrize("name", ["010", "1e3", "1_000", "true", "2024-01-05", "0x1F"])
def test_a_node_id_yaml_reads_as_no_text_is_the_id_as_written(tmp_path, monkeypatch, capsys, name):
    """`id: 010` was the number 10 and named '10', while the edge's `source: 010.out` is text: 'no node '010'; fix:
    did you mean '10'?'; `id: 1e3` was 'node id '1000.0' must contain no '.''; `id: true` and a date were 'each node
    needs an id'; `processes: {g: [010]}` named 'unknown node '10''. Now a name is the text written."""
    text = f"""\
        nodes:
          - {SRC % name}
          - {{id: lp, type: lowpass, params: {{freq: 10}}}}
        processes:
          g: [{name}]
        edges:
          - {{source: {name}.out, target: lp.in}}
        """
    assert problems(tmp_path, monkeypatch, capsys, text) == []
    config = load_config(tmp_path / "g.yaml")
    assert [n.id for n in config.nodes] == [name, "lp"] and config.processes["g"] == [name]


def test_an_edge_written_as_a_pair_gets_its_ports_in_the_fix(tmp_path, monkeypatch, capsys):
    """`- [010, lp]` got 'write '- {source: a.out, target: b.in}'' (010 is no text); `- [src, lp]` got '{source: src,
    target: lp}', which is refused next ('must be node.port')."""
    text = f"nodes:\n  - {SRC % '010'}\n  - {{id: lp, type: lowpass, params: {{freq: 10}}}}\nedges:\n  - [010, lp]\n"
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert err[0] == (
        "g.yaml:5: each edge needs 'source' and 'target'; fix: write '- {source: 010.out, target: lp.in}'"
    ), err


@pytest.mark.parametrize(
    "entry, fix",
    [
        ("{name: src, type: noise}", "a node's name is its id: write id: src (not name:)"),
        ("{name: null, type: noise}", "a node's name is its id: write id: NAME (not name:)"),
        ("{id: null, type: noise}", "its id has no value (YAML reads 'id:', 'id: ~' and 'id: null' as none)"),
        ("{id: ~, type: noise}", "its id has no value"),
        ("{id: [src], type: noise}", "a node's id is one name, not a list: write id: src"),
        ("{id: {a: 1}, type: noise}", "a node's id is one name, not a mapping: write id: NAME"),
        ("{id: src, type: [noise]}", "a node's type is one name, not a list: write type: noise"),
    ],
)
def test_a_node_entry_without_a_usable_id_or_type_says_what_it_holds(tmp_path, monkeypatch, capsys, entry, fix):
    """Each was 'each node needs an 'id' and a 'type'; fix: write '- {id: name, type: node_type, ...}'', also for an
    entry that has both keys, one null or a list (ezmsg's and many tools' `name:` was not said to be the id)."""
    err = problems(tmp_path, monkeypatch, capsys, f"nodes:\n  - {entry}\n")
    assert len(err) == 1 and err[0].startswith("g.yaml:2: each node needs an 'id' and a 'type'"), err
    assert err[0].partition("; fix: ")[2].startswith(fix), err


def test_inputs_on_a_node_are_said_to_be_edges(tmp_path, monkeypatch, capsys):
    """`inputs: [src]` on a node (as many dataflow tools connect nodes) got 'a parameter goes under params: write
    params: {inputs: ["src"]}', and lowpass has no such parameter. Now the edge to write."""
    text = f"nodes:\n  - {SRC % 'src'}\n  - {{id: lp, type: lowpass, inputs: [src], params: {{freq: 10}}}}\n"
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert err[0] == (
        "g.yaml:3: node 'lp': unknown key 'inputs'; fix: a node's inputs are edges: write under edges: - {source: "
        "src.out, target: lp.in} (a parameter named inputs goes under params:)"
    ), err


def test_a_parameter_name_that_is_no_word_is_said_at_its_line(tmp_path, monkeypatch, capsys):
    """`params: {5: 3}` or `{null: 3}` was "node 'src' (noise): keywords must be strings; fix: check its params" at the
    node's line, naming neither the key nor its line."""
    text = "nodes:\n  - id: src\n    type: noise\n    params:\n      rate: 100\n      5: 3\n      null: 4\n"
    assert problems(tmp_path, monkeypatch, capsys, text) == [
        "g.yaml:6: node 'src': parameter name 5 is not a word; fix: `wavegraph nodes noise` lists its parameters",
        "g.yaml:7: node 'src': parameter name null is not a word; fix: `wavegraph nodes noise` lists its parameters",
    ]


@pytest.mark.parametrize(
    "end, said",
    [
        ("null", "g.yaml:5: edge target has no value (null); fix: write target: node.port"),
        ("[lp.in, lp2.in]", "g.yaml:5: edge target is a list; fix: write one edge per pair of ports"),
    ],
)
def test_an_edge_end_that_is_null_or_a_list_is_said_so(tmp_path, monkeypatch, capsys, end, said):
    """`target: null` was "edge target 'None' must be 'node.port'; fix: write target: None.in"; a list was read as
    its text "['lp.in', 'lp2.in']"."""
    text = f"nodes:\n  - {SRC % 'src'}\n  - {{id: lp, type: lowpass, params: {{freq: 10}}}}\n"
    err = problems(tmp_path, monkeypatch, capsys, text + f"edges:\n  - {{source: src.out, target: {end}}}\n")
    assert err[0].startswith(said) and "None" not in "".join(err), err


@pytest.mark.parametrize(
    "key, fix",
    [
        ("include: other.yaml", "a graph file holds the whole graph and reads no other file (include: is not"),
        ("imports: [a.yaml]", "a graph file holds the whole graph and reads no other file (imports: is not"),
        ("proceses: {}", "did you mean 'processes'?"),
        ("Edges: []", "did you mean 'edges'?"),
        ("connections: []", "did you mean 'edges'?"),
        ("version: 2", "a note goes in a comment (# ...) or an x- key, which is ignored: write x-version: ..."),
        ("colour: red", "use name, nodes, edges, processes, transport, security (or x-NAME for YAML anchors)"),
    ],
)
def test_an_unknown_top_level_key_gets_the_key_it_looks_like(tmp_path, monkeypatch, capsys, key, fix):
    """Each was "unknown top-level key 'K'; fix: use name, nodes, edges, ..." with no did-you-mean, and `include:`
    (docker compose's, or a templating tool's) was not told that a graph file reads no other file."""
    err = problems(tmp_path, monkeypatch, capsys, f"{key}\nnodes:\n  - {SRC % 'src'}\n")
    assert len(err) == 1 and err[0].startswith(f"g.yaml:1: unknown top-level key '{key.split(':')[0]}'; fix: {fix}")


def test_nodes_under_a_misspelt_key_are_still_checked_and_nodes_not_said_missing(tmp_path, monkeypatch, capsys):
    """`node:` for `nodes:` got the key and "'nodes' must be a non-empty list", and nothing of what it held was checked,
    so the type typo in it came one round later."""
    err = problems(tmp_path, monkeypatch, capsys, "node:\n  - {id: a, type: nosie}\n")
    assert err == [
        "g.yaml:1: unknown top-level key 'node'; fix: did you mean 'nodes'? (the keys are name, nodes, edges, processes,"
        " transport, security, and x-NAME for YAML anchors)",
        "g.yaml:2: node 'a': unknown type 'nosie'; fix: did you mean 'noise'?",
    ]


def test_the_graph_name_is_text_as_written(tmp_path, monkeypatch, capsys):
    """`name: [a]` ran as the graph "['a']" and `name: null` as 'None' (a BIDS task name defaults to it)."""
    err = problems(tmp_path, monkeypatch, capsys, f"name: [a]\nnodes:\n  - {SRC % 'src'}\n")
    assert err == ["g.yaml:1: name must be text, not a list or mapping; fix: write name: NAME"]
    for name, want in (("null", "g"), ("010", "010")):
        (tmp_path / "g.yaml").write_text(f"name: {name}\nnodes:\n  - {SRC % 'src'}\n")
        assert load_config(tmp_path / "g.yaml").name == want


class _Stdin(io.TextIOWrapper):
    def __init__(self, data: bytes, tty: bool = False):
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self.buffer.isatty = lambda: tty  # type: ignore[method-assign]


GRAPH = f"nodes:\n  - {SRC % 'src'}\n  - {{id: lp, type: lowpass, params: {{freq: 10}}}}\nedges:\n  - {{source: src.out, target: lp.in}}\n"


@pytest.mark.parametrize("command", [["validate"], ["describe"], ["run", "--in-process"]])
def test_a_graph_on_standard_input_is_read_from_it(tmp_path, monkeypatch, capsys, command):
    """`wavegraph validate -` (as kubectl, docker compose and yq take a file) was '-: cannot read graph file: No such
    file or directory; fix: check the path'. Now `-` reads standard input, once; problems name '<stdin>' and its line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", _Stdin(GRAPH.encode()))
    assert main([*command, "-"]) == 0
    out = capsys.readouterr().out
    assert {"validate": "<stdin>: OK (2 nodes, 1 edge,", "describe": "graph 'stdin' (<stdin>)"}.get(
        command[0], "lp "
    ) in out
    monkeypatch.setattr(sys, "stdin", _Stdin(GRAPH.replace("lp.in}", "lp.inn}").encode()))
    assert main(["validate", "-"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "<stdin>:5: edge src.out -> lp.inn: node 'lp' has no input port 'inn'; fix: 'lp' inputs: in"
    )


def test_standard_input_that_is_a_terminal_or_a_batch_is_refused(tmp_path, monkeypatch, capsys):
    """`wavegraph run -` typed alone would wait on the terminal; `wavegraph batch -` reads the graph in every job."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", _Stdin(b"", tty=True))
    with pytest.raises(GraphError, match=r"reads the graph from standard input, which is a terminal here; fix: pipe"):
        load_config("-")
    monkeypatch.setattr(sys, "stdin", _Stdin(GRAPH.encode()))
    assert main(["batch", "-", "--inputs", "*.edf", "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert "<stdin>: batch reads the graph in every job; fix: save it to a file and give its path" in err, err


def test_describe_says_what_an_align_drops(tmp_path):
    """`wavegraph describe` showed `align` as 'latency=0 samples (0.00 ms)' and nothing else, for `delay: auto` too,
    and no edge showed the delay declared on it: what align would trim could not be seen before a run."""
    from wavegraph.pipeline.graph import build_graph, describe

    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {id: src, type: noise, params: {rate: 44100, duration: 0.1, chunk_size: 441}}\n"
        "  - {id: rs, type: resample, params: {rate: 16000}}\n  - {id: al, type: align}\n"
        "  - {id: al2, type: align, params: {delay: 0.001}}\nedges:\n  - {source: src.out, target: rs.in}\n"
        "  - {source: rs.out, target: al.in}\n  - {source: rs.out, target: al2.in}\n"
    )
    graph = build_graph(load_config(tmp_path / "g.yaml"))
    declared = graph.specs["rs.out"].delay * 1e3
    assert declared > 0 and graph.specs["al.out"].delay == 0
    text = describe(graph)
    assert f"latency=0 samples (0.00 ms); drops the delay declared upstream (delay: auto = {declared:.2f} ms)" in text
    assert f"drops the first 1.00 ms (delay: 0.001; declared upstream: {declared:.2f} ms)" in text
    assert "rs.out -> al.in" in text and f"delay={declared:.2f} ms" in text.split("rs.out -> al.in")[1].splitlines()[0]


@pytest.mark.parametrize("node", ["eeg_sim", "noise", "chirp", "sine"])
@pytest.mark.parametrize(
    "param, said, fix",
    [
        (
            "chunk_size: 1e20",
            "= 1e+20 is too large for a whole number (at most 2**63 - 1",
            "give chunk_size >= 1, e.g.",
        ),
        ("rate: .nan", "= nan is NaN, not a number", "give rate > 0, e.g. rate: 250.0"),
        ("rate: 1e20", "= 1e+20 Hz is above 1e+09 Hz", "a rate is samples per second: e.g. rate: 250 (EEG)"),
        ("rate: 1e300", "= 1e+300 Hz is above 1e+09 Hz", "a rate is samples per second"),
        (
            "duration: .inf",
            "= inf is infinite",
            "give duration >= 0, e.g. duration: 10.0; for no limit, write duration: null",
        ),
    ],
)
def test_a_number_no_node_can_use_is_said_before_anything_runs(tmp_path, monkeypatch, capsys, node, param, said, fix):
    """`chunk_size: 1e20` was pydantic's 'Unable to parse input string as an integer, exceeded maximum size'; `rate: .nan`
    'Input should be greater than 0' (NaN is not, but that is not why); `rate: 1e20` validated and ran on for ever, 25
    samples a chunk (1e300 too, warning 'invalid value encountered in divide' from eeg_sim's 1/f filter);
    `duration: .inf` did not say that null is the endless source."""
    err = problems(tmp_path, monkeypatch, capsys, f"nodes:\n  - {{id: n, type: {node}, params: {{{param}}}}}\n")
    key = param.split(":")[0]
    assert err == [f"g.yaml:2: node 'n' ({node}): parameter '{key}' {said}" + err[0].partition(said)[2]], err
    assert err[0].partition("; fix: ")[2].startswith(fix), err


def test_an_output_rate_no_stream_has_is_refused_whatever_parameter_made_it(tmp_path, monkeypatch, capsys):
    """A node deriving its rate from another parameter (here kHz) passed 1e15 Hz on, and the graph ran on for ever."""
    (tmp_path / "khz_source.py").write_text(
        textwrap.dedent(
            """\
            from wavegraph.pipeline.node import NodeParams, Source
            from wavegraph.pipeline.spec import signal_spec


            class KhzParams(NodeParams):
                khz: float


            class Khz(Source):
                Params = KhzParams

                def configure(self, in_specs):
                    self.out_specs = {"out": signal_spec(self.params.khz * 1e3, ["a"], "misc")}
                    return self.out_specs

                def read(self):
                    return None
            """
        )
    )
    text = "nodes:\n  - {id: n, type: 'khz_source:Khz', params: {khz: 1e12}}\n"
    assert problems(tmp_path, monkeypatch, capsys, text) == [
        "g.yaml:2: node 'n' (khz_source:Khz): output 'out' would run at 1e+15 Hz; fix: check its parameters: a rate is "
        "at most 1e+09 Hz (e.g. 250 for EEG, 16000 for speech)"
    ]
    assert problems(tmp_path, monkeypatch, capsys, text.replace("1e12", "16")) == []


def test_describe_of_a_deep_chain_or_many_diamonds_ends_and_says_the_slowest_paths(tmp_path, monkeypatch, capsys):
    """A chain of 1200 nodes was a RecursionError traceback in `describe` (paths() walked by recursion); a chain of
    diamonds doubles the paths at each one, and 22 of them (4,194,304 paths) hung it, the monitor and --png. Now every
    path is listed up to 1000; past that, the slowest to each end, with the count."""
    chain = [f"  - {{id: n{i}, type: gain, params: {{db: 0}}}}" for i in range(1, 1200)]
    edges = [f"  - {{source: n{i - 1}.out, target: n{i}.in}}" for i in range(1, 1200)]
    text = "nodes:\n  - " + SRC % "n0" + "\n" + "\n".join(chain) + "\nedges:\n" + "\n".join(edges) + "\n"
    assert problems(tmp_path, monkeypatch, capsys, text, "describe") == []
    # (problems() read what it printed: again, for the text)
    assert main(["describe", "g.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "latency along each path:" and out[-1].startswith("  n0 -> n1 -> ") and "n1199: " in out[-1]

    nodes, edges = ["  - " + SRC % "d0"], []
    for i in range(1, 13):  # 2**12 = 4096 paths
        nodes += [f"  - {{id: {x}{i}, type: gain, params: {{db: 0}}}}" for x in "ab"]
        nodes += [f"  - {{id: j{i}, type: join}}", f"  - {{id: d{i}, type: mix}}"]
        edges += [f"  - {{source: d{i - 1}.out, target: {x}{i}.in}}" for x in "ab"]
        edges += [f"  - {{source: {x}{i}.out, target: j{i}.{x}}}" for x in "ab"]
        edges += [f"  - {{source: j{i}.out, target: d{i}.in}}"]
    (tmp_path / "g.yaml").write_text("nodes:\n" + "\n".join(nodes) + "\nedges:\n" + "\n".join(edges) + "\n")
    assert main(["describe", "g.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "latency along the slowest path to each end (4,096 paths in all):", out[-3:]
    assert out[-1].startswith("  d0 -> a1 -> j1 -> d1 -> ") and out[-1].split(":")[0].endswith("-> d12")


@pytest.mark.parametrize("edge", ["{source: lp.in, target: src.out}", "{target: lp.in, source: src.out}"])
def test_an_edge_written_backwards_is_one_line_with_the_swap(tmp_path, monkeypatch, capsys, edge):
    """`{source: lp.in, target: src.out}` was three lines: 'node 'lp' has no output port 'in'', 'node 'src' has no input
    port 'out'; fix: 'src' inputs: none' and 'input 'in' is not connected', none of them the fix."""
    text = f"nodes:\n  - {SRC % 'src'}\n  - {{id: lp, type: lowpass, params: {{freq: 10}}}}\n  - {{id: z, type: null_sink}}\n"
    text += f"edges:\n  - {edge}\n  - {{source: lp.out, target: z.in}}\n"
    err = problems(tmp_path, monkeypatch, capsys, text)
    if "source: src.out" in edge:  # written the right way round (keys in either order)
        assert err == []
    else:
        assert err == [
            "g.yaml:6: edge lp.in -> src.out runs backwards: lp.in is an input and src.out an output; fix: swap them: "
            "source: src.out, target: lp.in"
        ]


@pytest.mark.parametrize(
    "where, value, said",
    [
        ("params", "{rate: }", "g.yaml:2: node 'n' (sine): parameter 'rate' is null (no value); fix: give a float, or "
         "remove the line for its default (250.0)"),
        ("params", "{channels: ~}", "g.yaml:2: node 'n' (sine): parameter 'channels' is null (no value); fix: give an "
         "int | list[str], or remove the line for its default (1)"),
        ("on_error", "null", "g.yaml:2: node 'n': on_error is null (no value); fix: use stop or restart"),
        ("on_error", "[stop]", "g.yaml:2: node 'n': on_error is a list; fix: use stop or restart"),
        ("transport", "null", "g.yaml:3: transport is null (no value); fix: use auto, shm, ipc or tcp"),
        ("policy", "{a: 1}", "g.yaml:5: edge policy is a mapping; fix: use block or drop_oldest"),
        ("queue", "null", "g.yaml:5: edge queue null must be an integer from 1 to 1000000; fix: write queue: 64"),
    ],
)  # fmt: skip
def test_a_null_list_or_mapping_where_a_word_goes_is_said_so(tmp_path, monkeypatch, capsys, where, value, said):
    """Found by a fuzz of a valid graph (each value replaced by null, [], {}, ...; 700 files, no traceback): `rate:`
    (nothing after it) was "parameter 'rate' = None: Input should be a valid number; fix: give a float" (a union
    parameter added '(and 1 more in 'channels')'); on_error, transport and policy said 'None' and
    "'{'a': 1}'"."""
    node = {"id": "n", "type": "sine", "params": "{duration: 0.1}"}
    if where in ("params", "on_error"):
        node[where] = value
    text = "nodes:\n  - {" + ", ".join(f"{k}: {v}" for k, v in node.items()) + "}\n"
    if where == "transport":
        text += f"transport: {value}\n"
    else:
        text += "  - {id: z, type: null_sink}\nedges:\n  - {source: n.out, target: z.in"
        text += (f", {where}: {value}" if where in ("policy", "queue") else "") + "}\n"
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert said in err, err


def test_validate_takes_several_files_and_a_missing_one_gets_the_file_beside_it(tmp_path, monkeypatch, capsys):
    """`wavegraph validate configs/*.yaml` was 'unrecognized arguments: ...'; `validate g.yml` (for g.yaml), `validate
    g` and `validate G.yaml` were 'cannot read graph file: No such file or directory; fix: check the path'."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.yaml").write_text(f"nodes:\n  - {SRC % 'src'}\n")
    (tmp_path / "bad.yaml").write_text(f"nodes:\n  - {SRC % 'src'}\nedgez: []\n")
    assert main(["validate", "good.yaml", "bad.yaml", "good.yml", "Good", "nothing_like.yaml"]) == 2
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == "good.yaml: OK (1 node, 0 edges, 1 process)"  # then a note: src.out goes nowhere
    assert out.out.count(": OK (") == 1, out.out
    assert out.err.splitlines() == [
        "bad.yaml:3: unknown top-level key 'edgez'; fix: did you mean 'edges'? (the keys are name, nodes, edges, "
        "processes, transport, security, and x-NAME for YAML anchors)",
        "good.yml: cannot read graph file: No such file or directory; fix: did you mean good.yaml?",
        "Good: cannot read graph file: No such file or directory; fix: did you mean good.yaml?",
        "nothing_like.yaml: cannot read graph file: No such file or directory; fix: check the path",
    ]
    assert main(["validate", "good.yaml", "good.yaml"]) == 0
    assert main(["validate", str(tmp_path / "god.yaml")]) == 2
    assert capsys.readouterr().err.endswith(f"fix: did you mean {tmp_path / 'good.yaml'}?\n")


@pytest.mark.parametrize(
    "text, fix",
    [
        ("nodes:\n  - {id: a, type: noise, params: *base}\n", "anchor the value first with &base (an x- key at the top"),
        ("nodes:\n  - &a {id: a, type: noise, params: {x: *a}}\n", "an alias (*name) is used inside the value it names"),
        ("nodes:\n  - !!python/object:os.system {id: a}\n", "remove the tag !!python/object:os.system: a graph file is"),
        ("nodes:\n  - {id: a, type: noise, params: {path: C:\\data: x}}\n", "quote a value holding ':' inside { }"),
        ("nodes:\n  - id: a\n    params:\n      path: a: b\n", "a value holding ': ' (a Windows path, a time) must be"),
        ("nodes:\n  - {id: a, type: noise, params: {path: @home}}\n", "quote the value: YAML does not start a plain value with @"),
        ("nodes:\n  - {id: a, type: noise\n", "a '{' or '[' is not closed: add its '}' or ']'"),
        ("nodes:\n  - id: a\n   type: noise\n", "check this line's indentation: the keys of one mapping line up"),
        ("nodes:\n  - {id: a, type: noise, params: {<<: 5}}\n", "<<: takes an anchored mapping: <<: *name"),
        ('nodes:\n  - {id: a, type: noise, params: {path: "C:\\data"}}\n', 'in "double quotes" a backslash starts an escape'),
        ("nodes:\n  - {id: a, type: noise, params: {path: 'it's'}}\n", "a quote inside 'single quotes' is written twice"),
    ],
)  # fmt: skip
def test_invalid_yaml_gets_the_fix_for_its_kind(tmp_path, monkeypatch, capsys, text, fix):
    """Each was 'invalid YAML: <PyYAML's words>; fix: fix the YAML syntax' (only tabs, a duplicate key and a second
    document had a fix of their own)."""
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and "invalid YAML: " in err[0] and fix in err[0].partition("; fix: ")[2], err


@pytest.mark.parametrize(
    "text, line, column",
    [("nodes:\x00 []\n", 1, 7), ("name: x\nnodes: []  # \x1b[31mred\n", 2, 14), ("nodes: []\n\x7f\n", 2, 1)],
)
def test_a_control_character_is_said_at_its_line_and_column(tmp_path, monkeypatch, capsys, text, line, column):
    """A NUL or a terminal's colour escape in the file was "invalid YAML: unacceptable character #x001b: special
    characters are not allowed in "<unicode string>", position 29; fix: fix the YAML syntax", without a line."""
    char = text.splitlines()[line - 1][column - 1]
    (tmp_path / "g.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "g.yaml"]) == 2
    assert capsys.readouterr().err == (
        f"g.yaml:{line}: invalid YAML: column {column} holds U+{ord(char):04X} (a control character), which YAML does "
        "not allow; fix: remove it (a terminal's colour codes, or bytes of a binary file, copied in?)\n"
    )


@pytest.mark.parametrize(
    "processes, said",
    [
        ("a: src", "g.yaml:7: process 'a' must list node ids; fix: write a: [src]"),
        ("a: 010", "g.yaml:7: process 'a' must list node ids; fix: write a: [010]"),
        ("a: {nodes: src}", "g.yaml:7: process 'a' must list node ids; fix: write nodes: [src]"),
        ("a: [src, src]", "g.yaml:7: node 'src' listed twice in 'a'; fix: list it once"),
        ("null: [src]", "g.yaml:7: a process group's name is null (no name); fix: give it a name: dsp: [...]"),
        ("true: [src]", "g.yaml:7: a process group's name is true (a boolean); fix: give it a name: dsp: [...]"),
    ],
)
def test_a_process_group_written_oddly_gets_the_line_to_write(tmp_path, monkeypatch, capsys, processes, said):
    """`a: src` got 'write a: [node_a, node_b]'; `a: [src, src]` "node 'src' placed in both 'a' and 'a'"; `null: [src]`
    validated and ran a process called 'None' (and `true:` one called 'True')."""
    text = f"nodes:\n  - {SRC % 'src'}\n  - {{id: lp, type: lowpass, params: {{freq: 10}}}}\nedges:\n"
    text += f"  - {{source: src.out, target: lp.in}}\nprocesses:\n  {processes}\n"
    assert problems(tmp_path, monkeypatch, capsys, text) == [said]


def test_describe_png_of_a_graph_too_large_to_draw_is_refused_after_the_text(tmp_path, monkeypatch, capsys):
    """`describe --png` of a 3000-node chain drew for 86 s a PNG 726,220 px wide (4.5 MB, unreadable)."""
    chain = [f"  - {{id: n{i}, type: gain, params: {{db: 0}}}}" for i in range(1, 200)]
    edges = [f"  - {{source: n{i - 1}.out, target: n{i}.in}}" for i in range(1, 200)]
    text = "nodes:\n  - " + SRC % "n0" + "\n" + "\n".join(chain) + "\nedges:\n" + "\n".join(edges) + "\n"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    assert main(["describe", "g.yaml", "--png", "g.png"]) == 2
    out = capsys.readouterr()
    assert "latency along each path:" in out.out and not (tmp_path / "g.png").exists()
    assert out.err.startswith("g.yaml: --png: the picture of 200 nodes would be 48,")
    assert out.err.endswith(
        "fix: leave out --png (describe prints every node); it draws graphs up to 20,000 px a side\n"
    )


def test_a_graph_on_standard_input_is_read_once_and_its_own_nodes_are_found_in_the_current_folder(
    tmp_path, monkeypatch, capsys
):
    """`run - --bids` loads the graph twice (the second time with the BIDS overrides): standard input is read once and
    kept. `type: mymod:Class` in a graph from standard input is looked for in the current folder (there is no file
    to look beside), also by the worker processes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "attack8_stdin_nodes.py").write_text((Path(__file__).parent / "fixture_nodes.py").read_text())
    text = (
        "nodes:\n  - {id: r, type: 'attack8_stdin_nodes:Ramp', params: {rate: 100}}\n  - {id: c, type: 'attack8_stdin_nodes:CumSum'}\n"
        "processes: {a: [r], b: [c]}\nedges:\n  - {source: r.out, target: c.in}\n"
    )
    monkeypatch.setattr(sys, "stdin", _Stdin(text.encode()))
    first, again = load_config("-"), load_config("-", ["r.rate=50"])
    assert [n.id for n in again.nodes] == [n.id for n in first.nodes] == ["r", "c"] and again.nodes[0].params[
        "rate"
    ] == 50
    assert main(["run", "-", "--no-status"]) == 0
    assert "wall time" in capsys.readouterr().out


@pytest.mark.parametrize(
    "param, said",
    [
        ('path: "${DATA}/rec.edf"', "g.yaml:2: node 'n': parameter 'path' holds ${DATA}, which wavegraph does not expand; "
         'fix: write the value, or give it when you run: --set "n.path=${DATA}/rec.edf" (double quotes)'),
        ("rate: $RATE", "g.yaml:2: node 'n': parameter 'rate' holds $RATE, which wavegraph does not expand; fix: write "
         'the value, or give it when you run: --set "n.rate=$RATE" (double quotes)'),
    ],
)  # fmt: skip
def test_a_variable_in_a_parameter_is_said_not_to_be_expanded(tmp_path, monkeypatch, capsys, param, said):
    """A graph file is no docker compose file: `path: ${DATA}/rec.edf` was looked for as a file of that name
    ('no such file: ${DATA}/rec.edf'), `rate: $RATE` was "'$RATE' is text, not a number; fix: write a number
    without quotes", and --set 'src.rate=${RATE}' (single quotes: the shell left it) the same."""
    node = "file_source" if "path" in param else "noise"
    assert problems(tmp_path, monkeypatch, capsys, f"nodes:\n  - {{id: n, type: {node}, params: {{{param}}}}}\n") == [
        said
    ]
    (tmp_path / "g.yaml").write_text(f"nodes:\n  - {SRC % 'src'}\n")
    assert main(["validate", "g.yaml", "--set", "src.rate=${RATE}"]) == 2
    assert capsys.readouterr().err.startswith("--set: node 'src': parameter 'rate' holds ${RATE}, which wavegraph")


def test_a_dollar_in_a_label_or_a_file_name_is_not_taken_for_a_variable(tmp_path, monkeypatch, capsys):
    """Review of the check above: a leading $NAME anywhere was refused, so a marker label '$start' in marker_codes
    (the stimulus program's own name for it) or a folder '$RECYCLE.BIN' could not be written at all."""
    text = "nodes:\n  - {id: m, type: lsl_inlet, params: {name: stim, type: Markers, marker_codes: {$start: 1}}}\n"
    assert not any("does not expand" in p for p in problems(tmp_path, monkeypatch, capsys, text))
    text = "nodes:\n  - {id: f, type: file_source, params: {path: $RECYCLE.BIN/rec.edf}}\n"
    assert not any("does not expand" in p for p in problems(tmp_path, monkeypatch, capsys, text))


def test_set_names_the_node_in_another_case_and_params_as_one_set_each(tmp_path, monkeypatch, capsys):
    """--set SRC.rate=5 got 'use one of: src, lp' (no did-you-mean for case); --set 'src.params={rate: 5}' got
    'parameters are: rate, ...' without saying that each parameter takes its own --set."""
    (tmp_path / "g.yaml").write_text(f"nodes:\n  - {SRC % 'src'}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "g.yaml", "--set", "SRC.rate=5"]) == 2
    assert capsys.readouterr().err == "--set: no node 'SRC' to override; fix: did you mean 'src'?\n"
    assert main(["validate", "g.yaml", "--set", "src.params={rate: 5}"]) == 2
    assert "fix: give each parameter its own --set: --set src.rate=VALUE (parameters: rate, " in capsys.readouterr().err


def test_a_number_beyond_a_float_says_so_not_only_infinite(tmp_path, monkeypatch, capsys):
    """`rate: 1e400` (YAML reads it as infinity) was "parameter 'rate' = inf; fix: give a finite number": the file
    holds no 'inf'. Now the text as written is named."""
    err = problems(tmp_path, monkeypatch, capsys, "nodes:\n  - {id: n, type: noise, params: {rate: 1e400}}\n")
    assert err == [
        "g.yaml:2: node 'n' (noise): parameter 'rate' = inf is infinite (1e400 is beyond 1.8e308); fix: give rate > 0,"
        " e.g. rate: 250.0"
    ]


@pytest.mark.parametrize(
    "text, fix",
    [
        ("- {id: src, type: noise}\n- {id: lp, type: lowpass}\n", "the file is a list of nodes: write 'nodes:' on the"),
        ("- nodes: [{id: a, type: noise}]\n- nodes: []\n", "a file holds one graph: give each its own file"),
        ("- a\n", "see configs/default.yaml"),
    ],
)
def test_a_graph_file_that_is_a_list_gets_the_fix_for_what_it_lists(tmp_path, monkeypatch, capsys, text, fix):
    """A file of node entries without its `nodes:` line, or a list of graphs, got "a graph file must be a mapping with
    'nodes' and 'edges'; fix: see configs/default.yaml"."""
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and err[0].startswith(
        "g.yaml:1: a graph file must be a mapping with 'nodes' and 'edges'; fix: "
    )
    assert err[0].partition("; fix: ")[2].startswith(fix), err  # (the last case, nothing like a graph, as before)


def test_an_integer_too_large_for_a_float_is_a_problem_not_a_traceback(tmp_path, monkeypatch, capsys):
    """Review: `rate: 1` followed by 400 zeros raised OverflowError ('int too large to convert to float') out of
    validate while the problem's text was written."""
    said = problems(
        tmp_path, monkeypatch, capsys, "nodes:\n  - {id: s, type: sine, params: {rate: 1" + "0" * 400 + "}}\n"
    )
    assert len(said) == 1 and "parameter 'rate' = 1000" in said[0] and "..." in said[0]
