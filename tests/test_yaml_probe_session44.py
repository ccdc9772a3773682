"""YAML pipelines, graph building and the CLI, probed as a new user (session 44): each test failed before its fix."""

import json
import math

import pytest
from wavegraph.pipeline import wire
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec


def _errors(capsys, *argv) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip().splitlines()


# --- 1. a node's own stream problem with a value it takes through an alias: said at the alias, not the anchor ------
SHARED = """\
x-pick: &pc
  type: pick_channels
  params: {pick: [ch1]}
x-c: &c {pick: [ch1]}
nodes:
  - id: fast
    type: sine
    params: {rate: 1000, channels: 2}
  - id: slow
    type: sine
    params: {rate: 100}
  - id: ch
    type: pick_channels
    params: &own {pick: [ch1]}
  - id: ch2
    type: pick_channels
    params: *own
  - id: ch3
    <<: *pc
  - {id: ch4, type: pick_channels, params: *c}
  - id: ch5
    type: pick_channels
    params:
      <<: *c
edges:
  - {source: fast.out, target: ch.in}
  - {source: slow.out, target: ch2.in}
  - {source: slow.out, target: ch3.in}
  - {source: slow.out, target: ch4.in}
  - {source: slow.out, target: ch5.in}
"""


def test_a_stream_problem_of_a_node_sharing_its_params_is_said_at_its_own_line(tmp_path, capsys):
    """`params: *own` with the anchor inside node 'ch' (line 14): ch2's stream has no ch1, said at line 14, the line
    of another node, which is fine; the line to change is ch2's own (17). Likewise `<<: *pc` and a merge in params."""
    p = tmp_path / "g.yaml"
    p.write_text(SHARED)
    code, err = _errors(capsys, "validate", str(p))
    assert code == 2
    by_node = {line.split("-> ")[1].split(".in")[0]: line for line in err}
    assert set(by_node) == {"ch2", "ch3", "ch4", "ch5"}, err  # ch's own stream has ch1
    for node, line, anchor in (("ch2", 17, 14), ("ch3", 19, 3), ("ch4", 20, 4), ("ch5", 24, 4)):
        said = by_node[node]
        assert said.startswith(f"{p}:{line}: edge slow.out -> {node}.in"), said
        assert f"(pick as written at line {anchor}, which this node takes on line {line})" in said
        assert said.endswith("; fix: available channels: ch0")


def test_a_parameter_problem_of_a_shared_anchor_stays_one_line_at_the_anchor(tmp_path, capsys):
    """A problem of the value itself (not of a node's stream) is still one line, at the anchor, naming every node."""
    p = tmp_path / "g.yaml"
    p.write_text(SHARED.replace("params: &own {pick: [ch1]}", "params: &own {pick: [ch1], bogus: 1}"))
    code, err = _errors(capsys, "validate", str(p))
    assert code == 2
    assert [x for x in err if "bogus" in x] == [
        f"{p}:14: nodes 'ch', 'ch2' (pick_channels): unknown parameter 'bogus'; fix: parameters are: pick, drop"
    ], err


# --- 2. the stream spec read back from JSON is checked -------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"rate": "250"},
        {"rate": -5.0},
        {"rate": math.nan},
        {"rate": True},
        {"shape": [2.7]},
        {"shape": [-1]},
        {"channel_names": "Fz"},  # a text: was read as the channels 'F' and 'z'
        {"channel_names": [1, 2]},
        {"dtype": "object"},
        {"units": 5},
        {"delay": "x"},
        {"labels": [[1]]},
        {"meas_date": 5},
        {"bads": "Fz"},
        {"framing": [1]},
        {"bogus": 1},
    ],
)
def test_a_malformed_spec_from_json_is_refused(change):
    good = signal_spec(250, ["Fz", "Cz"]).to_dict()
    with pytest.raises(SpecError, match="malformed stream spec"):
        wire.spec_from_json(json.dumps({**good, **change}))


def test_spec_from_json_refuses_what_is_no_spec_and_keeps_good_ones():
    for text in ("{", "null", '"x"', "[1, 2]", "{}", b"\xff"):
        with pytest.raises(SpecError, match="malformed stream spec"):
            wire.spec_from_json(text)
    spec = signal_spec(1000 / 3, ["Fz", "Cz"]).evolve(
        framing=(256, 128, ("kaiser", 8.0)), band=math.inf, lowpass=40.0, bads=("Cz",), meas_date=""
    )
    assert wire.spec_from_json(wire.spec_to_json(spec)) == spec
    events = StreamSpec("events", 0.0, (3,), labels=((1, "left"), (2, "right")))
    assert wire.spec_from_json(wire.spec_to_json(events)) == events


# --- 3. a StopIteration out of a node's code gets its fix --------------------------------------------------------
NODES = """\
from wavegraph.pipeline.node import Node, Source
from wavegraph.pipeline.spec import signal_spec


class Gen(Node):
    inputs = ("in",)
    outputs = ("out",)

    def configure(self, in_specs):
        self.it = iter([])
        return {"out": in_specs["in"]}

    def process(self, inputs):
        total = sum(x + next(self.it) for x in [1, 2])  # a generator: RuntimeError: generator raised StopIteration
        return {"out": inputs["in"]}


class Src(Source):
    outputs = ("out",)

    def configure(self, in_specs):
        self.it = iter([])
        return {"out": signal_spec(250.0, ["a"])}

    def read(self):
        next(self.it)  # as an iterator ends: a source ends by returning None


class Cfg(Node):
    inputs = ("in",)
    outputs = ("out",)

    def configure(self, in_specs):
        return {"out": next(iter([]))}

    def process(self, inputs):
        return {}
"""


def _stop_graph(tmp_path, module: str, body: str):
    (tmp_path / f"{module}.py").write_text(NODES)
    p = tmp_path / "g.yaml"
    p.write_text(body.replace("MOD", module))
    return p


def test_stop_iteration_in_a_generator_of_process_gets_a_fix(tmp_path, capsys):
    p = _stop_graph(
        tmp_path,
        "s44_stop_gen",
        "nodes:\n  - {id: src, type: sine, params: {duration: 0.2}}\n  - {id: g, type: 'MOD:Gen'}\n"
        "  - {id: sink, type: null_sink}\nedges:\n  - {source: src.out, target: g.in}\n"
        "  - {source: g.out, target: sink.in}\n",
    )
    code, err = _errors(capsys, "run", str(p), "--in-process", "--no-status")
    text = "\n".join(err)
    assert code == 1 and "RuntimeError: generator raised StopIteration" in text
    assert "fix: next() on an iterator that had run out let a StopIteration out of a generator" in text
    assert "write next(it, None)" in text


def test_stop_iteration_from_a_source_read_says_how_a_source_ends(tmp_path, capsys):
    p = _stop_graph(
        tmp_path,
        "s44_stop_src",
        "nodes:\n  - {id: src, type: 'MOD:Src'}\n  - {id: sink, type: null_sink}\n"
        "edges:\n  - {source: src.out, target: sink.in}\n",
    )
    code, err = _errors(capsys, "run", str(p), "--in-process", "--no-status")
    assert code == 1
    assert err[-1] == (
        "fix: next() on an iterator that had run out let a StopIteration out: a source ends by returning None from "
        "read(), not by raising StopIteration; write next(it, None) and return None when it gives None"
    ), err[-3:]


def test_stop_iteration_in_configure_gets_a_fix_at_validate(tmp_path, capsys):
    p = _stop_graph(
        tmp_path,
        "s44_stop_cfg",
        "nodes:\n  - {id: src, type: sine}\n  - {id: c, type: 'MOD:Cfg'}\n  - {id: sink, type: null_sink}\n"
        "edges:\n  - {source: src.out, target: c.in}\n  - {source: c.out, target: sink.in}\n",
    )
    code, err = _errors(capsys, "validate", str(p))
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"{p}:3: node 'c' (s44_stop_cfg:Cfg): configure() failed: StopIteration")
    assert err[0].endswith(
        "; fix: next() on an iterator that had run out let a StopIteration out: write next(it, None) "
        "(or catch StopIteration) and handle the end of the iterator"
    )


# --- 4. a time with its unit where a count of samples goes, or a seconds parameter said '(s)' ----------------------
@pytest.mark.parametrize(
    "params, fix",
    [
        (
            "{size: 0.5s, hop: 25}",
            "fix: size counts samples, not seconds: write size: <0.5 s x the stream rate> (e.g. size: 125 at 250 Hz)",
        ),  # was 'write ... size: 0.5', itself refused (size counts samples)
        (
            "{size: 500ms, hop: 25}",
            "fix: size counts samples, not seconds: write size: <0.5 s x the stream rate> (e.g. size: 125 at 250 Hz)",
        ),  # was 'e.g. size: 1'
    ],
)
def test_a_time_for_a_count_of_samples_gets_the_samples(tmp_path, capsys, params, fix):
    p = tmp_path / "g.yaml"
    p.write_text(
        "nodes:\n  - {id: s, type: sine}\n"
        f"  - {{id: w, type: sliding_window, params: {params}}}\nedges:\n  - {{source: s.out, target: w.in}}\n"
    )
    code, err = _errors(capsys, "validate", str(p))
    assert code == 2 and len(err) == 1 and err[0].startswith(f"{p}:3: ") and err[0].endswith(fix), err


def test_a_time_with_its_unit_for_epochs_seconds_is_worked_out(tmp_path, capsys):
    """epochs' tmin says its unit as '(s)': '-200ms' was given 'e.g. tmin: 1.0'."""
    p = tmp_path / "g.yaml"
    p.write_text(
        "nodes:\n  - {id: s, type: sine}\n  - {id: e, type: epochs, params: {tmin: -200ms, max_delay: 1 min}}\n"
    )
    code, err = _errors(capsys, "validate", str(p))
    assert code == 2
    assert any(x.endswith("fix: write it as a plain number of seconds: tmin: -0.2") for x in err), err
    assert any(x.endswith("fix: write it as a plain number of seconds: max_delay: 60") for x in err), err


# --- 5. a type named with what every node is (sine_source): its type, not the nearest spelling ----------------------
@pytest.mark.parametrize("written, meant", [("sine_source", "sine"), ("noise_source", "noise"), ("mix_node", "mix")])
def test_an_unknown_type_with_a_node_word_suggests_the_type(tmp_path, capsys, written, meant):
    p = tmp_path / "g.yaml"
    p.write_text(f"nodes:\n  - {{id: s, type: {written}}}\n")
    code, err = _errors(capsys, "validate", str(p))
    assert code == 2 and err == [f"{p}:2: node 's': unknown type '{written}'; fix: did you mean '{meant}'?"]


# --- 6. --set without the node, or without its value --------------------------------------------------------------
@pytest.mark.parametrize(
    "assignment, fix",
    [
        ("rate=300", "--set NODE.rate=300 (NODE: the id of the node to change)"),
        ("s.rate", "its value after '=' in the same argument: --set s.rate=VALUE"),
    ],
)
def test_a_set_missing_a_part_says_which(tmp_path, capsys, assignment, fix):
    p = tmp_path / "g.yaml"
    p.write_text("nodes:\n  - {id: s, type: sine}\n")
    code, err = _errors(capsys, "validate", str(p), "--set", assignment)
    assert code == 2 and len(err) == 1 and err[0].startswith(f"--set: cannot read override '{assignment}'")
    assert err[0].endswith(fix), err


# --- 7. an edge naming a node whose id holds a look-alike letter: said, not 'did you mean' the same-looking id -------
def test_an_edge_to_an_id_with_a_lookalike_letter_says_the_letter(tmp_path, capsys):
    p = tmp_path / "g.yaml"
    p.write_text(
        "nodes:\n  - {id: s\u0440c, type: sine}\n  - {id: b, type: notch, params: {freq: 50}}\n"
        "edges:\n  - {source: src.out, target: b.in}\n"
    )
    code, err = _errors(capsys, "validate", str(p))
    assert code == 2 and err == [  # was "fix: did you mean 'src'?", the id it showed looking as written
        f"{p}:5: edge src.out -> b.in: no node 'src'; fix: the node's id is 's\u0440c' (it holds CYRILLIC SMALL "
        "LETTER ER at character 2: not what it looks like; type it again): write it as id: src"
    ]


# --- 8. a graph file saved as UTF-16 without its BOM ------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_without_a_bom_is_said_so(tmp_path, capsys, encoding):
    p = tmp_path / "g.yaml"
    p.write_bytes("nodes:\n  - {id: s, type: sine}\n".encode(encoding))
    code, err = _errors(capsys, "validate", str(p))  # was 'column 2 holds U+0000 (a control character)'
    assert code == 2 and err == [f"{p}:1: the file is UTF-16 text (without a BOM), not UTF-8; fix: save it as UTF-8"]


# --- 9. an edge from a sink to a source: one line with the swap ---------------------------------------------------
def test_an_edge_from_a_sink_to_a_source_is_said_backwards_once(tmp_path, capsys):
    p = tmp_path / "g.yaml"
    p.write_text(
        "nodes:\n  - {id: a, type: sine}\n  - {id: k, type: null_sink}\nedges:\n  - {source: k.out, target: a.in}\n"
    )
    code, err = _errors(capsys, "validate", str(p))  # was three lines: two 'no port', 'k.in is not connected'
    assert code == 2 and err == [
        f"{p}:5: edge k.out -> a.in runs backwards: 'k' has no outputs and 'a' no inputs; fix: swap them: "
        "source: a.out, target: k.in"
    ]


# --- 10. a shell variable starting a folder's or file's name inside a path -------------------------------------------
def test_a_variable_inside_a_recorder_path_is_a_problem_not_a_file_named_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "g.yaml"
    p.write_text(
        "nodes:\n  - {id: a, type: sine}\n  - {id: r, type: recorder, params: {path: 'out/$RUN/x_raw.fif'}}\n"
        "edges:\n  - {source: a.out, target: r.in}\n"
    )
    code, err = _errors(capsys, "validate", str(p))  # was OK: the run wrote the folder 'out/$RUN'
    assert code == 2 and err == [
        f"{p}:3: node 'r': parameter 'path' holds $RUN, which wavegraph does not expand; fix: write the value, or give "
        'it when you run: --set "r.path=out/$RUN/x_raw.fif" (double quotes)'
    ]
