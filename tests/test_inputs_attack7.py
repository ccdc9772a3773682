"""Broken and unusual inputs, a seventh sweep: graph files and the Python API (GraphBuilder) used as a new user of
Timeflux or ezmsg would. Each test failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.config import GraphError


def test_a_failed_add_leaves_the_builder_as_it_was():
    """In a notebook, `g.add("lowpas", src)` (a typo) raised, but the node had been added already: every later run
    failed ('unknown type', 'input in is not connected') until the builder was made again. A dotted id was taken
    and gave 'edge noise0.out -> a.b.in: no node 'a'' at run time."""
    g = GraphBuilder()
    src = g.add("noise", rate=100.0, duration=0.5, chunk_size=10)
    lp = g.add("lowpass", src, freq=10.0)
    with pytest.raises(GraphError, match="unknown type 'lowpas'; fix: did you mean 'lowpass'"):
        g.add("lowpas", lp, freq=5.0)
    with pytest.raises(GraphError, match="unknown node 'lowpas1'; fix: did you mean 'lowpass1'"):
        g.add("lowpass", "lowpas1", freq=5.0)
    with pytest.raises(GraphError, match=r"has 1 inputs \(in\), got 2"):
        g.add("lowpass", lp, src, freq=5.0)
    with pytest.raises(GraphError, match=r"node id 'a.b' must be text without '.'; fix: pass id='a_b'"):
        g.add("lowpass", lp, id="a.b", freq=5.0)
    with pytest.raises(GraphError, match="unknown type 'sinee'"):  # also without inputs: at the add, not the run
        g.add("sinee")
    assert [n.id for n in g.nodes] == [src, lp] and len(g.edges) == 1
    assert g.run(capture=[lp])[f"{lp}.out"].data.shape == (1, 50)


def test_capture_of_one_port_as_text_and_a_wrong_port_named_as_the_user_wrote_it():
    """`g.run(capture="lowpass1.out")` (one port, not a list) was read letter by letter: 12 errors 'edge l ->
    _capture0.in: no node 'l''. A port typo was said as the hidden capture node's edge ('edge lowpass1.otu ->
    _capture0.in: ...'), an unknown node with the capture nodes among the 'nodes are'."""
    g = GraphBuilder()
    src = g.add("noise", rate=100.0, duration=0.5, chunk_size=10)
    lp = g.add("lowpass", src, freq=10.0)
    out = g.run(capture=f"{lp}.out")
    assert list(out) == [f"{lp}.out"] and out[f"{lp}.out"].data.shape == (1, 50)
    assert list(g.run(capture=lp)) == [f"{lp}.out"]
    with pytest.raises(GraphError) as e:
        g.run(capture=[f"{lp}.otu"])
    assert e.value.lines() == [
        "<python>: capture 'lowpass1.otu': node 'lowpass1' has no output port 'otu'; fix: 'lowpass1' outputs: out"
    ]
    with pytest.raises(GraphError) as e:
        g.run(capture=["lowpas1"])
    assert e.value.lines() == ["<python>: capture 'lowpas1': no node 'lowpas1'; fix: did you mean 'lowpass1'?"]


@pytest.mark.parametrize("speed, duration", [(0, None), (-1.0, None), (float("nan"), None), (None, float("inf"))])
def test_a_speed_or_duration_the_command_line_refuses_is_refused_from_python_too(speed, duration, capfd):
    """`wavegraph run --speed 0` is a usage error; g.run(speed=0) was a ZeroDivisionError from inside the executor,
    speed=-1 and NaN ran as fast as possible as if right, and duration=inf printed a timer thread's OverflowError
    traceback and ran on."""
    g = GraphBuilder()
    src = g.add("noise", rate=100.0, duration=0.2, chunk_size=10)
    with pytest.raises(ValueError, match=r"must be a positive number.*finite"):
        g.run(capture=[src], speed=speed, duration=duration)
    assert "Traceback" not in capfd.readouterr().err


def test_a_node_failing_mid_run_keeps_what_was_captured_before():
    """A node that raised at its 5th chunk made g.run() raise RuntimeError with its traceback, and the streams
    captured until then (an hour of a live session, say) were lost with it. Now RunFailed, still a RuntimeError,
    holds them in .streams, as run() would have returned them, and its message says so."""
    from wavegraph.pipeline.api import RunFailed

    g = GraphBuilder()
    src = g.add("fixture_nodes:Ramp", rate=100.0, n_channels=1, chunk_size=10, n_samples=100)
    cum = g.add("fixture_nodes:CumSum", src, crash_at=4)
    with pytest.raises(RunFailed) as e:
        g.run(capture=[src, cum])
    assert isinstance(e.value, RuntimeError) and "boom: deliberate failure" in str(e.value)
    assert str(e.value).endswith(
        f"(kept in this error's .streams, what came before: {src}.out to t = 0.390 s, {cum}.out to t = 0.390 s)"
    )
    np.testing.assert_array_equal(e.value.streams[f"{cum}.out"].data, np.cumsum(np.arange(40.0))[None])
    np.testing.assert_array_equal(e.value.streams[f"{src}.out"].data, np.arange(40.0)[None])


def test_a_relative_path_beside_the_graph_file_run_from_elsewhere_gets_the_path_to_write(tmp_path, monkeypatch, capsys):
    """Relative paths are read from the current folder (docs/yaml.md). `wavegraph validate proj/g.yaml` with
    `path: speech.wav` beside it said 'no such file: speech.wav (relative to the current folder: ...)' and, as the
    fix, the list of supported formats: nothing said that the file is right there, beside the graph."""
    import soundfile as sf
    from wavegraph.pipeline.cli import main

    (tmp_path / "proj").mkdir()
    sf.write(tmp_path / "proj" / "speech.wav", np.zeros(1600, np.float32), 16000)
    (tmp_path / "proj" / "g.yaml").write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: speech.wav}}\n"
        "  - {id: rec, type: recorder, params: {path: out.wav}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "proj/g.yaml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("proj/g.yaml:2: node 'src' (file_source): file_source: no such file")
    assert err[0].endswith(
        f"fix: speech.wav is beside the graph file, but a relative path is read from the current folder: write "
        f"path: proj/speech.wav, or run from {tmp_path / 'proj'}"
    )
    assert main(["validate", "proj/g.yaml", "--set", "src.path=proj/speech.wav"]) == 0  # the fix, as written


def test_a_quoted_number_gets_itself_unquoted_as_the_fix():
    """`chunk_size: "10"` (quoted, as a template or a JSON-minded user writes it) was told 'write a number without
    quotes, e.g. chunk_size: 1.0': another value, and a float for an integer parameter."""
    from wavegraph.pipeline.config import NodeConfig
    from wavegraph.pipeline.graph import make_node

    nc = NodeConfig("a", "noise", {"chunk_size": "10", "rate": "250", "seed": "x"}, "stop", 2)
    with pytest.raises(GraphError) as e:
        make_node(nc, "g.yaml")
    fixes = [line.split("; fix: ")[1] for line in e.value.lines()]
    assert fixes == [
        "write it without quotes: chunk_size: 10",
        "write it without quotes: rate: 250",
        "write a number without quotes, e.g. seed: 1",
    ]


def test_ctrl_c_during_a_python_run_returns_what_came_and_says_it_was_interrupted(caplog):
    """Ctrl-C (a notebook's 'interrupt kernel') in g.run() drains the graph and returns the streams so far, as the
    command line stops cleanly; but it returned them as if the run had ended: a 5 s graph gave 1 s of data and
    nothing said it was cut short."""
    import os
    import signal
    import threading
    import time

    g = GraphBuilder()
    src = g.add("noise", rate=100.0, duration=5.0, chunk_size=10)
    before = signal.getsignal(signal.SIGINT)

    def interrupt():  # once the run has installed its handler (not at a fixed time: a loaded machine builds slowly)
        while signal.getsignal(signal.SIGINT) is before:
            time.sleep(0.01)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with caplog.at_level("WARNING", logger="wavegraph.api"):
        out = g.run(capture=[src], speed=1.0)
    n = out[f"{src}.out"].data.shape[1]
    assert 0 < n < 500
    said = [r.getMessage() for r in caplog.records if r.name == "wavegraph.api"]
    assert said == [
        f"run interrupted (Ctrl-C): the streams returned end where it stopped ({src}.out at t = {(n - 1) / 100:.3f} s)"
    ]


def test_paths_given_as_pathlib_paths(tmp_path):
    """`g.add("file_source", path=Path(...))`, the way a notebook holds its paths, was refused: "parameter 'path' =
    PosixPath('...'): Input should be a valid string; fix: give a str" (for the recorder's path too)."""
    from pathlib import Path

    import soundfile as sf

    x = np.sin(np.arange(800) / 10.0).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, 8000, subtype="FLOAT")
    g = GraphBuilder()
    src = g.add("file_source", path=tmp_path / "in.wav", chunk_size=100)
    g.add("recorder", src, path=Path(tmp_path / "out.wav"))
    assert g.run(capture=[src])[f"{src}.out"].data.shape == (1, 800)
    np.testing.assert_array_equal(sf.read(tmp_path / "out.wav", dtype="float32")[0], x)
    g = GraphBuilder()
    src = g.add("file_source", path=tmp_path / "in.wav")
    g.add("recorder", src, path=tmp_path / "in.wav", overwrite=True)  # the same-file check sees through it
    with pytest.raises(GraphError, match="would write .*in.wav, the file node 'file_source0' reads"):
        g.run()


def test_parameters_written_beside_params_get_the_params_line_to_write(tmp_path):
    """`- {id: a, type: noise, rate: 100, duration: 0.1}` (parameters beside `params`, as a flat config holds them)
    and `settings: {rate: 100}` (ezmsg's word) were each 'unknown key 'rate'; fix: use id, type, params, on_error':
    the keys allowed, not where the parameters go."""
    from wavegraph.pipeline.config import load_config

    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {id: a, type: noise, rate: 100, path: a b.wav}\n"
        "  - id: b\n    type: null_sink\n    settings: {queue: 1}\n    on_eror: stop\n"
    )
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    assert [line.split(": ", 1)[1] for line in e.value.lines()] == [
        "node 'a': unknown key 'rate'; fix: a parameter goes under params: write params: {rate: 100, path: \"a b.wav\"}",
        "node 'a': unknown key 'path'; fix: a parameter goes under params: write params: {rate: 100, path: \"a b.wav\"}",
        "node 'b': unknown key 'settings'; fix: a node's parameters go under params: rename 'settings' to params",
        "node 'b': unknown key 'on_eror'; fix: use id, type, params, on_error",
    ]


def test_an_edge_written_with_other_words_gets_its_own_ends_in_the_fix(tmp_path):
    """`{from: src.out, to: sink.in}` (or src/dst, or target spelt destination) was told "write '- {source: a.out,
    target: b.in}'": placeholders, where the edge's own two ends were there to be used."""
    from wavegraph.pipeline.config import load_config

    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {id: src, type: noise}\n  - {id: sink, type: null_sink}\nedges:\n"
        "  - {from: src.out, to: sink.in}\n  - {source: src.out, destination: sink.in}\n"
    )
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    fix = "each edge needs 'source' and 'target'; fix: write '- {source: src.out, target: sink.in}'"
    assert e.value.lines() == [f"{tmp_path / 'g.yaml'}:5: {fix}", f"{tmp_path / 'g.yaml'}:6: {fix}"]


@pytest.mark.parametrize(
    "kw, said",
    [
        ({"policy": "dropp"}, "edge policy 'dropp'; fix: pass policy='block' or 'drop_oldest'"),
        ({"queue": 0}, "edge queue 0 must be an integer from 1 to 1000000; fix: pass queue=64"),
        ({"queue": "64"}, "edge queue '64' must be an integer from 1 to 1000000; fix: pass queue=64"),
    ],
)
def test_connect_checks_queue_and_policy_as_a_graph_file_does(kw, said):
    """A graph file's edge with `policy: dropp` or `queue: 0` is refused when read; g.connect(..., policy='dropp') was
    taken, and across processes the run failed in a worker with its traceback ("unknown flow policy 'dropp'", "maxlen=0:
    the receive queue needs room", "'<' not supported between instances of 'str' and 'int'")."""
    g = GraphBuilder()
    src = g.add("noise", rate=100.0, duration=0.2)
    sink = g.add("null_sink")
    with pytest.raises(GraphError) as e:
        g.connect(src, f"{sink}.in", **kw)
    assert e.value.lines() == [f"<python>: {said}"] and g.edges == []


def test_an_input_fed_twice_from_python_names_no_line_zero():
    """g.add('lowpass', src) then g.connect(src, 'lowpass1.in'): 'input lowpass1.in already fed by noise0.out (line 0)'
    (a graph built in Python has no lines)."""
    g = GraphBuilder()
    src = g.add("noise", rate=100.0, duration=0.2)
    lp = g.add("lowpass", src, freq=10.0)
    g.connect(src, f"{lp}.in")
    with pytest.raises(GraphError) as e:
        g.run()
    assert e.value.lines() == [
        "<python>: edge noise0.out -> lowpass1.in: input lowpass1.in already fed by noise0.out; "
        "fix: an input takes one edge; merge streams with a node"
    ]


def test_from_yaml_takes_one_override_as_text_or_a_mapping(tmp_path):
    """GraphBuilder.from_yaml("g.yaml", "src.duration=0.1") (one override, not a list) was read letter by letter:
    "--set: cannot read override 's'"; {"src.duration": 0.1}, the Python way, "cannot read override 'src.duration'"."""
    from pathlib import Path

    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {id: src, type: noise, params: {duration: 1.0}}\n"
        "  - {id: rec, type: recorder, params: {path: r.npz}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    one = GraphBuilder.from_yaml(tmp_path / "g.yaml", "src.duration=0.1")
    assert one.nodes[0].params["duration"] == 0.1
    out = tmp_path / "take #2 ü.npz"
    both = GraphBuilder.from_yaml(tmp_path / "g.yaml", {"src.duration": 0.2, "rec.path": Path(out)})
    assert both.nodes[0].params["duration"] == 0.2 and both.nodes[1].params["path"] == str(out)
    assert both.run(capture=["src"])["src.out"].data.shape == (1, 50) and out.is_file()


def test_process_groups_set_in_python_are_checked_as_a_graph_files():
    """g.processes = {...} naming a node no group has, or one node in two groups, was taken without a word (the unknown
    id and the second placement ignored); a graph file's `processes:` is refused for both."""
    g = GraphBuilder()
    src = g.add("noise", rate=100.0, duration=0.2)
    sink = g.add("null_sink", src)
    g.processes = {"p1": [src], "p2": ["nosuch"]}
    with pytest.raises(
        GraphError, match="process 'p2' names unknown node 'nosuch'; fix: use one of: noise0, null_sink1"
    ):
        g.run(in_process=False)
    g.processes = {"p1": (src, sink), "p2": [sink]}  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(GraphError, match="node 'null_sink1' placed in both 'p1' and 'p2'; fix: place each node in one"):
        g.run(in_process=False)


def test_nodes_written_as_a_mapping_of_ids_get_the_list_item_to_write(tmp_path, capsys):
    """`nodes: {src: {type: noise, ...}, sink: {...}}` (a compose-style mapping of id -> node) got "'nodes' must be a
    non-empty list; fix: add '- {id: ..., type: ...}' entries", then from validate one 'no node' line per edge end,
    each with an empty 'nodes are: '."""
    from wavegraph.pipeline.cli import main

    (tmp_path / "g.yaml").write_text(
        "nodes:\n  src: {type: noise, params: {rate: 100}}\n  sink: {type: null_sink}\n"
        "edges:\n  - {source: src.out, target: sink.in}\n"
    )
    assert main(["validate", str(tmp_path / "g.yaml")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"{tmp_path / 'g.yaml'}:1: 'nodes' must be a non-empty list; fix: write one '- ' entry per node, its id "
        "inside: '- {id: src, type: noise, params: {rate: 100}}'"
    ]


@pytest.mark.parametrize("text", ["", "# nodes: to come\n", "\n\n"])
def test_an_empty_graph_file_is_said_to_be_empty(tmp_path, text):
    """An empty graph file (a save that failed, a file created to be filled) was told "a graph file must be a mapping
    with 'nodes' and 'edges'", as though it held something else."""
    from wavegraph.pipeline.config import load_config

    (tmp_path / "g.yaml").write_text(text)
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    assert e.value.lines() == [
        f"{tmp_path / 'g.yaml'}:1: the file holds no YAML (empty, or comments only); fix: see configs/default.yaml"
    ]


def test_an_empty_array_is_said_empty_not_turned_around(caplog):
    """array_source(data=[]) said 'data (1, 0) is read as 1 channels of 0 samples ...; if its rows are samples (a table
    from pandas or Timeflux), pass data.T' before 'holds no samples': advice to transpose an empty array."""
    g = GraphBuilder()
    src = g.add("array_source", data=[], rate=250.0)
    with caplog.at_level("WARNING"):
        assert g.run(capture=[src])[f"{src}.out"].data.shape == (1, 0)
    said = [r.getMessage() for r in caplog.records]
    assert said == ["array_source: <array in memory> holds no samples: the replay ends at once"], said


def test_on_error_restart_from_python():
    """A graph file's node takes `on_error: restart`; from Python, g.add(..., on_error="restart") went into the
    parameters and was refused at run: "unknown parameter 'on_error'; fix: ... change it in the graph file", a file a
    graph built in Python does not have. Now add() takes it: the node restarts and the run goes on."""
    g = GraphBuilder()
    src = g.add("fixture_nodes:Ramp", rate=100.0, n_channels=1, chunk_size=10, n_samples=100)
    cum = g.add("fixture_nodes:CumSum", src, crash_at=4, on_error="restart")
    out = g.run(capture=[cum])[f"{cum}.out"]
    assert out.data.shape == (1, 90) and out.gaps == [0.5]  # the failed chunk dropped, a gap flagged after it
    with pytest.raises(GraphError, match="on_error 'retry'; fix: pass on_error='stop' or 'restart'"):
        g.add("lowpass", src, freq=10.0, on_error="retry")


def test_add_and_run_say_what_is_wrong_with_arguments_of_the_wrong_kind():
    """g.add(None) and g.add(Bandpass) (the class) raised AttributeError: 'NoneType' object has no attribute 'split';
    g.add('lowpass', 5) TypeError: argument of type 'int' is not iterable; run() of a builder with no nodes returned
    {} as if it had run (a graph file without nodes is refused)."""
    from fixture_nodes import Ramp

    g = GraphBuilder()
    with pytest.raises(GraphError, match="the graph has no nodes; fix: add them first"):
        g.run()
    with pytest.raises(GraphError, match="node type None is not a type name; fix: pass a name from `wavegraph nodes`"):
        g.add(None)  # pyright: ignore[reportArgumentType]
    with pytest.raises(GraphError, match="fix: pass its name: 'fixture_nodes:Ramp'"):
        g.add(Ramp)  # pyright: ignore[reportArgumentType]
    src = g.add("fixture_nodes:Ramp", rate=100.0)
    with pytest.raises(GraphError, match="input 5 is not a node id; fix: pass the id that add"):
        g.add("lowpass", 5, freq=10.0)  # pyright: ignore[reportArgumentType]
    assert [n.id for n in g.nodes] == [src]


def test_a_node_repeated_by_an_alias_is_said_at_the_alias_with_the_merge_to_write(tmp_path):
    """`- *src` (an alias of an anchored node, to reuse its settings) repeats its id: the duplicate was said at the
    anchor's line ('g.yaml:2: duplicate node id 'a' (first at line 2)'), the alias's line lost, and the fix 'give every
    node a unique id' did not say how with an alias. The fix given validates."""
    from wavegraph.pipeline.cli import main
    from wavegraph.pipeline.config import load_config

    head = "nodes:\n  - &src {id: a, type: noise, params: {duration: 0.1}}\n"
    (tmp_path / "g.yaml").write_text(head + "  - *src\n")
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    assert e.value.lines() == [
        f"{tmp_path / 'g.yaml'}:3: duplicate node id 'a' (first at line 2); fix: '- *src' repeats the whole node, its "
        "id too: write '- {<<: *src, id: a_2}'"
    ]
    (tmp_path / "g.yaml").write_text(head + "  - {<<: *src, id: a_2}\n")
    assert main(["validate", str(tmp_path / "g.yaml")]) == 0


def test_a_text_parameter_in_the_file_takes_a_plain_value_as_written(tmp_path):
    """`subject: 01` in a graph file (a BIDS subject, as `--set rec.subject=01` takes it since a229c67) was "parameter
    'subject' = 1: Input should be a valid string; fix: give a str | None" (YAML reads 01 as the number 1, and the
    zero is gone), `session: 2024-01-05` "= datetime.date(2024, 1, 5): Input should be a valid string". A text
    parameter now takes a plain scalar as written in the file, as --set does; a number parameter is unchanged."""
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import make_node

    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {id: rec, type: recorder, params: {path: x.edf, subject: 01, session: 2024-01-05, run: 02}}\n"
    )
    node = make_node(load_config(tmp_path / "g.yaml").nodes[0], "g.yaml")
    p = node.params
    assert (p.subject, p.session, p.run) == ("01", "2024-01-05", 2)  # pyright: ignore[reportAttributeAccessIssue]
