"""A review of the hints for Timeflux, ezmsg, LabGraph and MNE users (tests/test_peer_users_session21.py): graphs
that were right and that a hint refused or made worse, each through `wavegraph validate` as a user runs it."""

import pytest
from wavegraph.pipeline.cli import main


def validate(tmp_path, monkeypatch, capsys, text):
    """`wavegraph validate g.yaml` on `text` in tmp_path: (exit code, stderr lines)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    code = main(["validate", "g.yaml"])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, err.strip().splitlines()


def through(node_type, params="{}", source="{rate: 250, duration: 0.2}"):
    """A sine into one node of `node_type` with flow-style `params`, into a null sink."""
    return f"""\
nodes:
  - {{id: src, type: sine, params: {source}}}
  - {{id: n, type: "{node_type}", params: {params}}}
  - {{id: sink, type: null_sink}}
edges:
  - {{source: src.out, target: n.in}}
  - {{source: n.out, target: sink.in}}
"""


def test_a_params_class_that_takes_any_name_keeps_its_parameters(tmp_path, monkeypatch, capsys):
    # a class of one's own whose Params declares no field but takes any name (extra="allow") validated OK before
    # 1a300b1; then "unknown parameters label, gain: class Tag declares no parameters"
    (tmp_path / "anyparams.py").write_text(
        "from pydantic import ConfigDict\n"
        "from wavegraph.pipeline.node import Node, NodeParams\n\n\n"
        "class AnyParams(NodeParams):\n    model_config = ConfigDict(extra='allow')\n\n\n"
        "class Tag(Node[AnyParams]):\n    Params = AnyParams\n\n"
        "    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    )
    code, err = validate(tmp_path, monkeypatch, capsys, through("anyparams:Tag", "{label: x, gain: 2}"))
    assert code == 0 and err == [], err


def test_a_hook_called_by_a_base_class_of_ones_own_is_not_refused(tmp_path, monkeypatch, capsys):
    # a template method: the user's base class calls self.setup() from open(), a subclass defines setup(); the run
    # is right, and cdd1f6b refused it ("defines setup(), LabGraph's hook, which wavegraph never calls"), as it read
    # only the subclass's own source for the call
    (tmp_path / "templates.py").write_text(
        "from wavegraph.pipeline.node import Node\n\n\n"
        "class Template(Node):\n    def open(self):\n        self.setup()\n\n"
        "    def process(self, inputs):\n        return {'out': inputs['in']}\n\n\n"
        "class Scaled(Template):\n    def setup(self):\n        self.k = 2.0\n"
    )
    code, err = validate(tmp_path, monkeypatch, capsys, through("templates:Scaled"))
    assert code == 0 and err == [], err
    # a setup() that nothing of the user's calls is still refused
    (tmp_path / "nocall.py").write_text(
        "from wavegraph.pipeline.node import Node\n\n\n"
        "class Plain(Node):\n    def process(self, inputs):\n        return {'out': inputs['in']}\n\n\n"
        "class Scaled(Plain):\n    def setup(self):\n        self.k = 2.0\n"
    )
    code, err = validate(tmp_path, monkeypatch, capsys, through("nocall:Scaled"))
    assert code == 2 and len(err) == 1 and "defines setup(), LabGraph's hook" in err[0], err


def test_a_channel_name_in_another_case_keeps_did_you_mean_not_a_missing_type(tmp_path, monkeypatch, capsys):
    # `drop: [eog]` with a channel named EOG (and no channel of type eog) said "did you mean 'EOG'? (names are
    # case-sensitive)" before 268d634; then "no channel of type 'eog' in the stream (its types: misc); fix: name the
    # channels"
    text = through("pick_channels", "{drop: [eog]}", "{rate: 250, duration: 0.2, channels: [Fz, EOG]}")
    code, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert "did you mean 'EOG'?" in err[0] and "of type" not in err[0], err


def test_the_command_line_starts_without_importing_numpy():
    # b100888 made layout_hints import the registry at the top, which imports pipeline.node and numpy: every
    # `wavegraph` command (--help, `nodes`) then took ~0.2 s more to start, for a hint only a Timeflux layout uses
    import subprocess
    import sys

    code = "import sys, wavegraph.pipeline.cli; print(sorted(m for m in ('numpy', 'wavegraph.pipeline.node') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_a_spectrum_option_on_an_istft_is_not_told_to_add_a_magnitude_after_it(tmp_path, monkeypatch, capsys):
    # ezmsg's Spectrum output/transform on an istft got the stft's fix (73b1137): "stft gives the complex spectrum;
    # add a magnitude node after it for |X|", after a node whose output is the signal
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: s, type: stft, params: {n_fft: 64, hop: 32}}
  - {id: n, type: istft, params: {n_fft: 64, hop: 32, mode: magnitude}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: s.in}
  - {source: s.out, target: n.in}
  - {source: n.out, target: sink.in}
"""
    code, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("g.yaml:4: node 'n' (istft): unknown parameter 'mode'; fix: remove it"), err
    assert "magnitude node" not in err[0], err


def test_a_dotted_class_of_ones_own_gets_its_module_class_from_python_and_nodes_too(tmp_path, monkeypatch, capsys):
    # 7a9c614 gave a graph file's `type: mynodes.Window` (mynodes.py beside it) the module:Class to write, but
    # GraphBuilder.add and `wavegraph nodes` kept their own order of hints: "did you mean 'sliding_window'?"
    import pytest
    from wavegraph.pipeline.api import GraphBuilder

    (tmp_path / "mynodes.py").write_text(
        "from wavegraph.pipeline.node import Node\n\n\n"
        "class Window(Node):\n    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    )
    code, err = validate(tmp_path, monkeypatch, capsys, through("mynodes.Window"))
    assert (
        code == 2
        and len(err) == 1
        and err[0].endswith("fix: a class of your own is named module:Class: write type: mynodes:Window")
    ), err
    assert main(["nodes", "mynodes.Window"]) == 2
    said = capsys.readouterr().err
    assert "write type: mynodes:Window" in said and "sliding_window" not in said, said
    g = GraphBuilder()
    with pytest.raises(Exception, match=r"write type: mynodes:Window") as e:
        g.add("mynodes.Window", id="w")
    assert "sliding_window" not in str(e.value)
    # another tool's, and a near miss of a registered type, as before
    assert (
        main(["nodes", "StreamLSL"]) == 2 and "wavegraph's type for StreamLSL is lsl_inlet" in capsys.readouterr().err
    )
    assert main(["nodes", "Bandpass"]) == 2 and "did you mean 'bandpass'?" in capsys.readouterr().err


def test_a_window_of_whole_seconds_well_under_the_rate_gets_no_samples_note(tmp_path, monkeypatch, capsys):
    # a 30-s running_zscore or a 30-s sleep-epoch bandpower at 250 Hz was told "if you meant samples, write window:
    # 0.12"; a count of at least half the rate (window: 250 at 250 Hz) still is
    from wavegraph.pipeline.cli import main

    path = tmp_path / "g.yaml"
    path.write_text(
        """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: z, type: running_zscore, params: {window: 30}}
  - {id: bp, type: bandpower, params: {window: 30, hop: 30}}
  - {id: sam, type: bandpower, params: {window: 125, hop: 25}}
  - {id: a, type: null_sink}
  - {id: b, type: null_sink}
  - {id: c, type: null_sink}
edges:
  - {source: src.out, target: z.in}
  - {source: src.out, target: bp.in}
  - {source: src.out, target: sam.in}
  - {source: z.out, target: a.in}
  - {source: bp.out, target: b.in}
  - {source: sam.out, target: c.in}
"""
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(path)]) == 0
    notes = [line.strip() for line in capsys.readouterr().out.splitlines() if "seconds here" in line]
    assert notes == [
        "node 'sam' (bandpower): window: 125, hop: 25 are seconds here (31250, 6250 samples at 250 Hz); fix: if you "
        "meant samples, write window: 0.5, hop: 0.1"
    ], notes


def test_scipys_normalised_wn_is_not_told_to_be_written_as_hertz(tmp_path, monkeypatch, capsys):
    # butter(N, Wn=0.2) is 0.2 x Nyquist: `wn: 0.2` on a lowpass was told 'write freq: 0.2' (0.2 Hz)
    from wavegraph.pipeline.cli import main

    path = tmp_path / "g.yaml"
    path.write_text(
        """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: lp, type: lowpass, params: {wn: 0.2}}
  - {id: bp, type: bandpass, params: {Wn: [0.01, 0.3]}}
  - {id: hz, type: lowpass, params: {wn: 40}}
  - {id: a, type: null_sink}
  - {id: b, type: null_sink}
  - {id: c, type: null_sink}
edges:
  - {source: src.out, target: lp.in}
  - {source: src.out, target: bp.in}
  - {source: src.out, target: hz.in}
  - {source: lp.out, target: a.in}
  - {source: bp.out, target: b.in}
  - {source: hz.out, target: c.in}
"""
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(path)]) != 0
    err = capsys.readouterr().err
    lines = {n: next(line for line in err.splitlines() if f"node '{n}'" in line) for n in ("lp", "bp", "hz")}
    assert "fractions of Nyquist" in lines["lp"] and "freq: <0.2 x rate/2>" in lines["lp"]
    assert "l_freq: <0.01 x rate/2>, h_freq: <0.3 x rate/2>" in lines["bp"]
    assert "missing" not in err  # the parameters they stand for are not said missing as well
    assert "fractions" not in lines["hz"] and "freq: 40" in lines["hz"]  # fs= was given: Hz already


@pytest.mark.filterwarnings("error")  # numpy's ComplexWarning was all that said the imaginary part was gone
def test_epochs_of_a_complex_signal_keep_its_imaginary_part():
    import numpy as np
    from wavegraph.nodes.dsp.epochs import Epochs
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    node = Epochs(tmin=0.0, tmax=0.1, baseline=(0.0, 0.0))
    node.configure({"in": signal_spec(100.0, ["a", "b"], dtype="complex64"), "events": StreamSpec("events", 0.0, (3,))})
    assert np.dtype(node.out_specs["out"].dtype) == np.complex64
    x = (np.arange(200) * (1 + 2j)).astype(np.complex64)[None].repeat(2, 0)
    node.process({"events": Chunk(np.array([[0.5, 0, 1]]), t0=0.5)})
    epoch = node.process({"in": Chunk(x, t0=0.0)})["out"].data[0]
    np.testing.assert_allclose(epoch[0], x[0, 50:61] - x[0, 50])  # baseline: the first sample, complex
