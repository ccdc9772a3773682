"""Users of Timeflux, ezmsg(-sigproc), LabGraph and MNE-LSL writing their first wavegraph graph the way their old tool
taught them: its parameter names, its node names, its layout. Each is a problem naming the file, line and node with
wavegraph's equivalent to write (or, where the graph ran, a problem instead of a silent other meaning). Through
`wavegraph validate` as a user runs it, and GraphBuilder for the Python side."""

import pytest
from peer_hints import one_node, validate
from wavegraph.pipeline.api import GraphBuilder


@pytest.mark.parametrize(
    "node_type, params, said",
    [
        # ezmsg-sigproc's ButterworthFilter(cuton, cutoff), MNE's/scipy's/Timeflux's band as a list
        ("bandpass", "{cuton: 1, cutoff: 40}", ["write l_freq: 1", "write h_freq: 40"]),
        ("bandpass", "{frequencies: [1, 40], order: 3}", ["write l_freq: 1, h_freq: 40"]),
        ("bandpass", "{cutoff: [1, 40]}", ["write l_freq: 1, h_freq: 40"]),
        ("lowpass", "{cutoff: 40}", ["wavegraph calls it freq: write freq: 40"]),
        ("lowpass", "{cutoff: [1, 40]}", ["write type: bandpass, params: {l_freq: 1, h_freq: 40}"]),
        ("bandpass", "{l_freq: 1, h_freq: 40, btype: lowpass}", ["write type: lowpass (this node is a bandpass)"]),
        ("bandpass", "{l_freq: 1, h_freq: 40, ftype: butter}", ["write design: butter"]),
        ("bandpass", "{l_freq: 1, h_freq: 40, fs: 250}", ["remove it: this node takes its rate from the stream"]),
        ("fir", "{l_freq: 1, h_freq: 40, order: 100}", ["write numtaps: 101"]),
        # MNE's notch_filter(freqs=...), scipy's iirnotch(w0, Q)
        ("notch", "{freqs: [50, 100, 150]}", ["write freq: 50, harmonics: 3"]),
        ("notch", "{freq: [50, 60]}", ["add a notch node for each of 50, 60"]),
        ("notch", "{freq: 50, Q: 30}", ["write quality: 30"]),
        # ezmsg's Window(window_dur, window_shift) in seconds, scipy's nperseg/noverlap in samples
        ("sliding_window", "{window_dur: 1.0, window_shift: 0.5}", ["counts samples, not seconds", "hop: 125"]),
        ("stft", "{nperseg: 256, noverlap: 192}", ["write n_fft: 256", "write hop: 64"]),
        (
            "bandpower",
            "{nperseg: 256}",
            ["segment is in seconds, not samples", "segment: 1.024 (256 samples at the input's 250 Hz)"],
        ),
        ("running_zscore", "{time_constant: 2.0}", ["write window: 2"]),
        ("resample", "{factor: 4}", ["a decimation by 4 is up: 1, down: 4"]),
        ("resample", "{target_rate: 100}", ["write rate: 100"]),
        ("pick_channels", "{picks: [ch0]}", ["write pick: [ch0]"]),
    ],
)
def test_a_peer_tools_parameter_name_points_to_wavegraphs(tmp_path, monkeypatch, capsys, node_type, params, said):
    # was: 'unknown parameter' with the list of names, beside 'missing parameter l_freq' / 'h_freq' / 'freq' / 'size'
    # for what the peer's name gave; `Q` on a notch, `fs` on a bandpass: the list only
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node(node_type, params))
    assert code == 2, err
    assert all(line.startswith("g.yaml:") and "node 'n'" in line for line in err), err
    assert not [line for line in err if "missing parameter" in line], err  # what the peer's name gave: not missing
    for text in said:
        assert [line for line in err if text in line], (text, err)


def test_mne_sfreq_on_a_source_is_its_rate_not_did_you_mean_freq(tmp_path, monkeypatch, capsys):
    # `sfreq` (MNE's sampling rate) on a sine said "did you mean 'freq'?": the sine's frequency
    text = "nodes:\n  - {id: src, type: sine, params: {sfreq: 500, freq: 10}}\n"
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("g.yaml:2: node 'src' (sine): unknown parameter 'sfreq'"), err
    assert "write rate: 500" in err[0] and "did you mean 'freq'" not in err[0], err


def test_mne_lsl_stream_parameters_on_an_lsl_inlet(tmp_path, monkeypatch, capsys):
    # StreamLSL(bufsize=2.5, name=..., stype=...) and its picks: was the list of 21 parameter names for each
    text = """\
nodes:
  - id: eeg
    type: lsl_inlet
    params: {name: amp, stype: EEG, bufsize: 2.5, picks: [C3, C4], rate: 250, channels: 8}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 3, err
    assert "'stype'" in err[0] and "write type: EEG" in err[0], err
    assert "'bufsize'" in err[1] and "write buffer_s: 3" in err[1], err
    assert "'picks'" in err[2] and "{type: pick_channels, params: {pick: [C3, C4]}}" in err[2], err


def test_a_peer_name_beside_wavegraphs_own_says_which_to_remove(tmp_path, monkeypatch, capsys):
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("lowpass", "{freq: 30, cutoff: 40}"))
    assert code == 2 and len(err) == 1, err
    assert "unknown parameter 'cutoff'; fix: remove cutoff: freq is given (freq: 30)" in err[0], err


def test_peer_names_from_python_get_keyword_fixes():
    g = GraphBuilder()
    src = g.add("sine", sfreq=250.0, duration=0.1)
    g.add("lowpass", src, cutoff=40.0)
    with pytest.raises(Exception) as e:
        g.run()
    said = str(e.value)
    assert "write rate=250" in said and "write freq=40" in said, said
    assert "missing parameter" not in said, said


def test_a_window_written_in_seconds_on_a_sliding_window_is_refused_not_one_sample(tmp_path, monkeypatch, capsys):
    # ezmsg's and Timeflux's windows are seconds: `size: 1.0, hop: 1.0` validated (pydantic took 1.0 as the int 1)
    # and the graph ran windows of one sample; `hop: 0.5` said "got a number with a fractional part; fix: give an int"
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("sliding_window", "{size: 1.0, hop: 0.5}"))
    assert code == 2 and len(err) == 2, err
    assert err[0].startswith("g.yaml:5: node 'n' (sliding_window): parameter 'size' = 1.0 is a decimal number"), err
    assert "size: 250 (1 s x the input's 250 Hz); for 1 sample, size: 1" in err[0], err
    assert err[1].startswith("g.yaml:5: node 'n' (sliding_window): parameter 'hop' = 0.5"), err
    assert "hop: 125 (0.5 s x the input's 250 Hz)" in err[1], err
    # a whole count written with a decimal point gets the count; whole numbers of samples are as before
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("stft", "{n_fft: 256.0, hop: 64}"))
    assert code == 2 and len(err) == 1 and "fix: write n_fft: 256 (a count of samples" in err[0], err
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("sliding_window", "{size: 250, hop: 125}"))
    assert code == 0 and err == [], err


@pytest.mark.parametrize(
    "written, wavegraph",
    [
        ("ButterworthFilter", "bandpass"),  # ezmsg-sigproc's units
        ("Scaler", "running_zscore"),  # was "did you mean 'car'?"
        ("Spectrum", "stft"),
        ("Downsample", "resample"),
        ("StreamLSL", "lsl_inlet"),  # MNE-LSL's; was "did you mean 'resample'?"
        ("welch", "bandpower"),  # was "did you mean 'epochs'?"
        ("notch_filter", "notch"),  # MNE's
        ("timeflux_dsp.nodes.filters:IIRFilter", "bandpass"),  # Timeflux's module:Class, not installed
        ("timeflux.nodes.lsl:Receive", "lsl_inlet"),
    ],
)
def test_a_peer_tools_node_name_as_type_names_wavegraphs_type(tmp_path, monkeypatch, capsys, written, wavegraph):
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node(written, "{}"))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"g.yaml:4: node 'n': unknown type '{written}'; fix: wavegraph's type for "), err
    assert f"write type: {wavegraph} (" in err[0], err


def test_timeflux_module_and_class_get_wavegraphs_type_not_module_class(tmp_path, monkeypatch, capsys):
    # was "fix: write type: timeflux_dsp.nodes.filters:IIRFilter (module:Class of a wavegraph Node)": a class of a
    # package that is not installed, and no wavegraph Node if it were
    text = """\
nodes:
  - id: bp
    module: timeflux_dsp.nodes.filters
    class: IIRFilter
    params: {frequencies: [1, 40]}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("g.yaml:2: each node needs an 'id' and a 'type'"), err
    assert "write type: bandpass (" in err[0] and "module:Class" not in err[0], err


def test_a_peer_node_name_from_python():
    g = GraphBuilder()
    with pytest.raises(Exception) as e:
        g.add("AdaptiveStandardScaler", time_constant=1.0)
    assert "write type: running_zscore (" in str(e.value), str(e.value)
    assert g.nodes == []


def test_timeflux_graph_rate_says_where_the_rate_comes_from(tmp_path, monkeypatch, capsys):
    # Timeflux's `rate: 10` (graph ticks a second): was "use name, nodes, edges, processes, transport, security"
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
rate: 10
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("g.yaml:3: unknown top-level key 'rate'; fix: a graph has no rate of its own"), err
    assert "chunk_size" in err[0], err


def test_connect_takes_a_node_id_as_target_as_it_does_as_source():
    # ezmsg's and LabGraph's users connect units: `g.connect(src, bp)` said at run "edge sine0.out -> bandpass1: node
    # 'bandpass1' has no input port ''", though connect's source took a node id
    g = GraphBuilder()
    src = g.add("sine", rate=250.0, duration=0.1)
    pick = g.add("pick_channels", pick=["ch0"])
    g.connect(src, pick)
    assert g.edges[-1].target == f"{pick}.in"
    assert g.run(capture=[pick])[f"{pick}.out"].data.shape == (1, 25)
    # a node of several inputs: which one is asked for when connecting, naming them
    g = GraphBuilder()
    sig = g.add("sine", rate=250.0, duration=0.1)
    am = g.add("apply_mask")
    with pytest.raises(Exception, match=r"edge target 'apply_mask1' \(apply_mask\) has 2 inputs; fix: name one: "):
        g.connect(sig, am)
    assert g.edges == []


@pytest.mark.parametrize("written", [("sine0", "out"), "sine0:out"])
def test_a_port_written_as_ezmsg_or_timeflux_write_it_gets_node_dot_port(written):
    # ezmsg's (unit, port) pair was "input ('sine0', 'out') is not a node id; fix: pass the id that add() returned",
    # Timeflux's 'sine0:out' "unknown node 'sine0:out'; fix: did you mean 'sine0'?"
    g = GraphBuilder()
    g.add("sine", rate=250.0, duration=0.1)
    bp = g.add("bandpass", l_freq=1.0, h_freq=40.0)
    with pytest.raises(Exception, match=r"a port is one text, 'node.port'; fix: pass 'sine0.out'"):
        g.connect(written, bp)  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"fix: pass 'sine0.out'"):
        g.run(capture=[written])  # type: ignore[list-item]


def test_parameters_given_as_one_settings_mapping_get_the_keywords_to_pass(tmp_path, monkeypatch, capsys):
    # ezmsg's units take one settings object: g.add('bandpass', src, {...}) said "has 1 inputs (in), got 2; fix:
    # connect fewer"; settings={...} (or a Settings dataclass) "unknown parameter 'settings'" beside two missing ones
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class BandSettings:
        l_freq: float = 1.0
        h_freq: float = 40.0

    g = GraphBuilder()
    src = g.add("sine", rate=250.0, duration=0.1)
    with pytest.raises(
        Exception, match=r"a mapping where an input goes; fix: pass the parameters as keywords: l_freq=1"
    ):
        g.add("bandpass", src, {"l_freq": 1, "h_freq": 40})  # type: ignore[arg-type]
    assert [n.id for n in g.nodes] == [src]
    g.add("bandpass", src, settings=BandSettings())
    with pytest.raises(Exception) as e:
        g.run()
    said = str(e.value)
    assert (
        "unknown parameter 'settings'; fix: pass the parameters themselves as keywords: l_freq=1.0, h_freq=40.0" in said
    )
    assert "missing parameter" not in said, said
    # a graph file's params: {settings: {...}}
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("bandpass", "{settings: {l_freq: 1, h_freq: 40}}"))
    assert code == 2 and len(err) == 1, err
    assert "fix: the parameters go straight under params: write params: {l_freq: 1, h_freq: 40}" in err[0], err


def test_timeflux_wildcard_port_gets_a_real_port_not_node_dot_star(tmp_path, monkeypatch, capsys):
    # Timeflux's `source: a:*` (every port) got "fix: write source: a.*", which is refused next as "no output port '*'"
    text = """\
nodes:
  - {id: a, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: sink, type: null_sink}
edges:
  - {source: "a:*", target: "sink:in"}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 2, err  # (sink.in, fed by the edge, is not said unconnected too)
    assert err[0].startswith(
        "g.yaml:5: edge source 'a:*' must be 'node.port'; fix: write source: a.out (one edge per"
    ), err
    assert "a.*" not in err[0], err
    assert err[1] == "g.yaml:5: edge target 'sink:in' must be 'node.port'; fix: write target: sink.in", err


def test_timeflux_edges_without_ports_say_the_port_once_not_also_unconnected(tmp_path, monkeypatch, capsys):
    # Timeflux's `source: src, target: bp` (default ports): each end's fix, then "node 'bp' (bandpass): input 'in'
    # is not connected; fix: add an edge with target: bp.in" for the edge just written
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: bp, type: bandpass, params: {l_freq: 1, h_freq: 40}}
  - {id: sink, type: null_sink}
  - {id: lost, type: null_sink}
edges:
  - {source: src, target: bp.in}
  - {source: bp.out, target: sink}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2, err
    assert err == [
        "g.yaml:7: edge source 'src' must be 'node.port'; fix: write source: src.out",
        "g.yaml:8: edge target 'sink' must be 'node.port'; fix: write target: sink.in",
        "g.yaml:5: node 'lost' (null_sink): input 'in' is not connected; fix: add an edge with target: lost.in",
    ], err


def test_a_timeflux_graphs_file_of_one_graph_has_its_nodes_and_edges_checked(tmp_path, monkeypatch, capsys):
    # was the layout's problem and "'nodes' must be a non-empty list; fix: add '- {id: ..., type: ...}' entries"
    # (the nodes were there, one level down), nothing about them
    text = """\
graphs:
  - id: filtering
    nodes:
      - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
      - {id: bp, type: bandpass, params: {frequencies: [1, 40]}}
    edges:
      - {source: src.out, target: bp.in}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 2, err
    assert err[0] == (
        "g.yaml:1: unknown top-level key 'graphs'; fix: a file holds one graph: put its nodes: and edges: at the "
        "top level"
    ), err
    assert err[1] == "g.yaml:5: node 'bp' (bandpass): unknown parameter 'frequencies'; fix: write l_freq: 1, h_freq: 40"
    # several graphs (Timeflux's processes): one problem, pointing to processes:
    text = """\
graphs:
  - {id: acq, nodes: [{id: src, type: sine}]}
  - {id: dsp, nodes: [{id: sink, type: null_sink}]}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert "unknown top-level key 'graphs'" in err[0] and "a group under processes:" in err[0], err


def test_parameters_of_a_labgraph_style_class_say_how_to_declare_them(tmp_path, monkeypatch, capsys):
    # a LabGraph user's node keeps its settings in `config: Config` (ezmsg's in SETTINGS): each parameter given was
    # "unknown parameter 'factor'; fix: parameters are: none", with nothing on how a class declares them
    (tmp_path / "lgnodes.py").write_text(
        "from dataclasses import dataclass\n"
        "from wavegraph.pipeline.node import Node\n\n\n"
        "@dataclass\nclass ScaleConfig:\n    factor: float = 2.0\n\n\n"
        "class Scale(Node):\n    config: ScaleConfig\n\n"
        "    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    )
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: n, type: "lgnodes:Scale", params: {factor: 3.0, label: x}}
edges:
  - {source: src.out, target: n.in}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(
        "g.yaml:3: node 'n' (lgnodes:Scale): unknown parameters factor, label: class Scale declares no parameters "
        "(config, as LabGraph and ezmsg declare them, is not read); fix: declare them in it: class Params(NodeParams): "
        "factor: float = 3.0; label: str = 'x'"
    ), err


def test_a_labgraph_setup_or_ezmsg_initialize_hook_is_refused_when_built(tmp_path, monkeypatch, capsys):
    # validate said OK; the run failed at the first chunk with "'Scale' object has no attribute 'k'" (the attribute
    # setup() was to make: the runtime never calls it)
    (tmp_path / "hooknodes.py").write_text(
        "from wavegraph.pipeline.node import Node\n\n\n"
        "class Scale(Node):\n    def setup(self):\n        self.k = 2.0\n\n"
        "    def process(self, inputs):\n        return {'out': inputs['in']}\n\n\n"
        "class EzScale(Node):\n    async def initialize(self):\n        self.k = 2.0\n\n"
        "    def process(self, inputs):\n        return {'out': inputs['in']}\n\n\n"
        "class Helper(Node):\n    def __init__(self, **params):\n        super().__init__(**params)\n        self.setup()\n\n"
        "    def setup(self):\n        self.k = 2.0\n\n"
        "    def process(self, inputs):\n        return {'out': inputs['in']}\n"
    )
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: a, type: "hooknodes:Scale"}
  - {id: b, type: "hooknodes:EzScale"}
  - {id: c, type: "hooknodes:Helper"}
edges:
  - {source: src.out, target: a.in}
  - {source: src.out, target: b.in}
  - {source: src.out, target: c.in}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 2, err  # (Helper calls its setup() itself: no problem)
    assert err[0].startswith("g.yaml:3: node 'a' (hooknodes:Scale): class Scale (hooknodes.py) defines setup(), "), err
    assert "fix: rename it open(self): wavegraph calls open() once where the node runs" in err[0], err
    assert err[1].startswith(
        "g.yaml:4: node 'b' (hooknodes:EzScale): class EzScale (hooknodes.py) defines initialize()"
    )
    assert "rename it open(self) (a plain def: nothing awaits it)" in err[1], err
