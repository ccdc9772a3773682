"""Peer-user tests, continued (test_peer_users_session21.py): MNE options, window and choice names, peer names given by
--set, file players, LSL inlets, async node methods, pick by channel type, dotted class paths."""

import pytest
from peer_hints import one_node, validate
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.cli import main


@pytest.mark.parametrize(
    "node_type, params, said",
    [
        # was "write a list, even of one item: ref_channels: [average]": a channel named 'average'
        ("car", "{ref_channels: average}", "remove ref_channels: car's default is MNE's 'average'"),
        ("rereference", "{ref_channels: [Cz]}", "write channel: Cz"),  # was "did you mean 'channel'?"
        ("rereference", "{ref_channels: [M1, M2]}", "write type: car, params: {ref_channels: [M1, M2]}"),
        ("notch", "{freq: 50, notch_widths: 2}", "write quality: 25"),
        ("bandpass", "{l_freq: 1, h_freq: 40, iir_params: {order: 2, ftype: cheby1}}", "order: 2, design: cheby1"),
        ("bandpass", "{l_freq: 1, h_freq: 40, method: fir}", "write type: fir"),
        ("bandpass", "{l_freq: 1, h_freq: 40, phase: zero}", "a zero-phase one needs the signal's future"),
        ("resample", "{rate: 100, npad: auto}", "remove it: npad is an option of MNE's offline function"),
    ],
)
def test_mne_users_reference_and_filter_options(tmp_path, monkeypatch, capsys, node_type, params, said):
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node(node_type, params))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"g.yaml:5: node 'n' ({node_type}): "), err
    assert said in err[0], err


def test_mne_epochs_event_id_and_reject(tmp_path, monkeypatch, capsys):
    # was "parameters are: tmin, tmax, baseline, codes, ..." for both
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: ep, type: epochs, params: {tmin: -0.2, tmax: 0.5, event_id: {left: 1, right: 2}, reject: {eeg: 1.0e-4}}}
edges:
  - {source: src.out, target: ep.in}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    said = [e for e in err if "'event_id'" in e or "'reject'" in e]
    assert code == 2 and len(said) == 2, err
    assert "fix: epochs take the marker codes: write codes: [1, 2]" in said[0], said
    assert "fix: remove it: epochs has no amplitude rejection" in said[1], said


def test_timeflux_update_without_process_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "tfnodes.py").write_text(
        "from wavegraph.pipeline.node import Node\n\n\nclass Tf(Node):\n    def update(self):\n        pass\n"
    )
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: n, type: "tfnodes:Tf"}
edges:
  - {source: src.out, target: n.in}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert (
        "defines no process()" in err[0] and "(Timeflux's update() is not called: its work goes in process)" in err[0]
    )


@pytest.mark.parametrize(
    "node_type, params, said",
    [
        (
            "stft",
            "{n_fft: 64, hop: 32, window: HAMMING}",
            "stft: unknown window 'HAMMING' (names are lower case); fix: write window: hamming",
        ),
        ("stft", "{n_fft: 64, hop: 32, window: hanning}", "(another tool's name for it); fix: write window: hann"),
        ("stft", "{n_fft: 64, hop: 32, window: sqrt-hann}", "fix: write window: sqrt_hann"),
        (
            "fir",
            "{l_freq: 1, h_freq: 40, window: Blackman}",
            "fir: unknown window 'Blackman' (names are lower case); fix: write window: blackman",
        ),
    ],
)
def test_a_window_named_as_ezmsg_or_numpy_name_it_gets_scipys_name(
    tmp_path, monkeypatch, capsys, node_type, params, said
):
    # ezmsg's WindowFunction.HAMMING, numpy's hanning: was "Invalid window name 'HAMMING' in parameter
    # window='HAMMING'!; fix: use e.g. hann, sqrt_hann, hamming, blackman"
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node(node_type, params))
    assert code == 2 and len(err) == 1, err
    where = f"g.yaml:5: node 'n' ({node_type}): "  # at the window's line since session 30 (their check_params)
    assert err[0].startswith(where) and said in err[0], err


@pytest.mark.parametrize(
    "params, said",
    [
        (
            "{l_freq: 1, h_freq: 40, design: Butterworth}",
            "parameter 'design' = 'Butterworth' is not one of its choices; fix: write design: butter",
        ),
        ("{l_freq: 1, h_freq: 40, design: chebyshev1}", "fix: write design: cheby1"),
        ("{l_freq: 1, h_freq: 40, init: STEADY}", "fix: write init: steady"),
    ],
)
def test_a_choice_written_in_another_case_or_long_form_gets_the_choice(tmp_path, monkeypatch, capsys, params, said):
    # was "Input should be 'butter', 'cheby1', 'cheby2', 'ellip' or 'bessel'; fix: give a 'butter'|'cheby1'|..."
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("bandpass", params))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("g.yaml:5: node 'n' (bandpass): ") and said in err[0], err


def test_a_peer_name_given_by_set_gets_the_set_to_type(tmp_path, monkeypatch, capsys):
    # `--set lp.cutoff=40` on a lowpass whose file writes freq: 30 got "fix: remove cutoff: freq is given (freq: 30)",
    # a line to remove that no file holds; `--set src.sfreq=500` "write rate: 500"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(one_node("lowpass", "{freq: 30}"))
    for option, said in [
        ("n.cutoff=40", "unknown parameter 'cutoff' (from --set); fix: wavegraph calls it freq: give --set n.freq=40"),
        (
            "src.sfreq=500",
            "unknown parameter 'sfreq' (from --set); fix: wavegraph calls it rate: give --set src.rate=500",
        ),
        ("n.design=BUTTER", "(from --set); fix: give --set n.design=butter"),
    ]:
        assert main(["validate", "g.yaml", "--set", option]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0], (option, err)


@pytest.mark.parametrize(
    "params, said",
    [
        # was "channels are picked by a node of their own: add {type: pick_channels...}" (this session's first fix)
        ("{rate: 250, ch_names: [C3, C4]}", "write channels: [C3, C4]"),
        ("{rate: 250, columns: 5}", "write channels: 5"),  # Timeflux's Random; was the list of names
        ("{rate: 250, amp: 2}", "write amplitude: 2"),
    ],
)
def test_a_sources_channels_and_amplitude_under_peer_names(tmp_path, monkeypatch, capsys, params, said):
    code, _, err = validate(tmp_path, monkeypatch, capsys, f"nodes:\n  - {{id: n, type: sine, params: {params}}}\n")
    assert code == 2 and len(err) == 1 and said in err[0], err


def test_file_player_options_of_mne_lsl_and_timeflux(tmp_path, monkeypatch, capsys):
    # PlayerLSL(fname, n_repeat), Timeflux's Replay(filename, speed): 'missing parameter path' and the name list
    text = "nodes:\n  - {id: n, type: file_source, params: {fname: rec.edf, speed: 1, n_repeat: 3, preload: true}}\n"
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 4, err
    assert "unknown parameter 'fname'; fix: wavegraph calls it path: write path: rec.edf" in err[0], err
    assert "`wavegraph run GRAPH --speed 1`" in err[1] and "a file plays once" in err[2], err
    assert "reads the file as it plays it" in err[3], err


def test_timeflux_window_length_in_seconds_under_a_peer_name_is_not_one_sample(tmp_path, monkeypatch, capsys):
    # `length: 1.0` (seconds, as Timeflux's windows) got "wavegraph calls it size: write size: 1": one sample
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("sliding_window", "{length: 1.0, hop: 125}"))
    assert code == 2 and len(err) == 1, err
    assert (
        "fix: wavegraph calls it size, a count of samples: for 1 s write size: 250 (1 s x the input's 250 Hz)" in err[0]
    )


def test_wavegraph_nodes_with_a_peer_type_name_names_wavegraphs_type(capsys):
    # `wavegraph nodes StreamLSL` said "did you mean 'resample'?", `nodes ButterworthFilter` nothing
    assert main(["nodes", "StreamLSL"]) == 2
    err = capsys.readouterr().err
    assert "unknown node type 'StreamLSL'; wavegraph's type for StreamLSL is lsl_inlet" in err, err
    assert "resample" not in err, err
    assert main(["nodes", "Bandpass"]) == 2  # a registered type but for its case: as before
    assert "did you mean 'bandpass'?" in capsys.readouterr().err


def test_timeflux_epoch_before_after_and_ezmsg_spectrum_output(tmp_path, monkeypatch, capsys):
    # Timeflux's Epoch(before, after) and ezmsg's Spectrum(output=...): each was the list of parameter names
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("epochs", "{before: 0.2, after: 0.8}"))
    assert code == 2 and len(err) == 2, err
    assert "fix: epochs take the times from the marker (s): write tmin: -0.2" in err[0], err
    assert "write tmax: 0.8" in err[1], err
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("stft", "{output: abs}"))
    assert code == 2 and len(err) == 1 and "add a magnitude node after it" in err[0], err


def test_a_bandpower_window_written_as_a_sample_count_is_noted_by_validate(tmp_path, monkeypatch, capsys):
    # scipy's and Timeflux's windows count samples: `window: 250, hop: 50` validated without a word and ran 250-s
    # windows, one estimate every 50 s (nothing from a recording shorter than that)
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: bp, type: bandpower, params: {window: 250, hop: 50}}
  - {id: ok, type: bandpower, params: {window: 2, hop: 0.5}}
  - {id: a, type: null_sink}
  - {id: b, type: null_sink}
edges:
  - {source: src.out, target: bp.in}
  - {source: src.out, target: ok.in}
  - {source: bp.out, target: a.in}
  - {source: ok.out, target: b.in}
"""
    code, out, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 0 and err == [], err
    notes = [line.strip() for line in out if "seconds here" in line]
    assert notes == [
        "node 'bp' (bandpower): window: 250, hop: 50 are seconds here (62500, 12500 samples at 250 Hz); fix: if you "
        "meant samples, write window: 1, hop: 0.2"
    ], out


def test_mne_lsl_connect_options_on_an_lsl_inlet(tmp_path, monkeypatch, capsys):
    # StreamLSL.connect(processing_flags='all', acquisition_delay=0.001): the list of 21 parameter names for each
    text = """\
nodes:
  - id: eeg
    type: lsl_inlet
    params: {name: amp, rate: 250, channels: 8, processing_flags: all, acquisition_delay: 0.001}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 2, err
    assert "fix: liblsl's flags are two parameters: write clock_sync: true, dejitter: true" in err[0], err
    assert "write wait: 0.001" in err[1], err


@pytest.mark.parametrize(
    "params, said",
    [
        # a rate is 'samples per second': sfreq 256.5 got "rate counts samples, not seconds: write rate: <256.5 s x
        # the input's rate>", and 1000000 was written 1e+06
        ("{sfreq: 256.5}", "fix: wavegraph calls it rate: write rate: 256.5"),
        ("{fs: 1000000}", "write rate: 1000000"),
    ],
)
def test_a_rate_under_a_peer_name_is_written_as_given(tmp_path, monkeypatch, capsys, params, said):
    code, _, err = validate(tmp_path, monkeypatch, capsys, f"nodes:\n  - {{id: n, type: sine, params: {params}}}\n")
    assert code == 2 and len(err) == 1 and err[0].endswith(said), err


def test_ezmsg_butterworth_settings_with_a_null_edge(tmp_path, monkeypatch, capsys):
    # ezmsg's high-pass: ButterworthFilter(cuton=1, cutoff=None); cutoff got "write freq: null"
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("highpass", "{order: 4, cuton: 1, cutoff: null}"))
    assert code == 2 and len(err) == 2, err
    assert err[0].endswith("unknown parameter 'cuton'; fix: wavegraph calls it freq: write freq: 1"), err
    assert "unknown parameter 'cutoff'; fix: remove it: it is null" in err[1], err


def test_timeflux_window_length_of_one_is_not_taken_as_one_sample(tmp_path, monkeypatch, capsys):
    # Timeflux's Window(length=1, step=0.5) (seconds): `length: 1` got "write size: 1", a window of one sample (and
    # a first try at saying both raised AttributeError: 'int' object has no attribute 'is_integer', a traceback)
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("sliding_window", "{length: 1, step: 0.5}"))
    assert code == 2 and len(err) == 2, err
    assert "for 1 s write size: 250 (1 s x the input's 250 Hz); for 1 sample, size: 1" in err[0]
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("sliding_window", "{length: 250, step: 125}"))
    assert code == 2 and "fix: wavegraph calls it size: write size: 250" in err[0], err


def test_a_slip_in_the_peer_hints_leaves_the_plain_problem_not_a_traceback(tmp_path, monkeypatch, capsys):
    import wavegraph.pipeline.graph as graph

    def broken(*_):
        raise AttributeError("a bug in a hint")

    monkeypatch.setattr(graph, "peer_param_problems", broken)
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("lowpass", "{cutoff: 40}"))
    assert code == 2, err
    assert any("unknown parameter 'cutoff'" in line for line in err), err
    assert any("missing parameter 'freq'" in line for line in err), err


def test_a_non_finite_value_under_a_peer_name_gets_a_hint_not_a_failed_one(tmp_path, monkeypatch, capsys):
    # `window_dur: .nan` raised ValueError (cannot convert float NaN to integer) inside the hint, which fell back
    # to the list of parameter names
    code, _, err = validate(tmp_path, monkeypatch, capsys, one_node("sliding_window", "{window_dur: .nan, hop: 5}"))
    assert code == 2 and len(err) == 1, err
    assert "wavegraph calls it size, and takes a finite number: write size: <a number>" in err[0], err


def test_an_async_or_generator_node_method_is_refused_when_built(tmp_path, monkeypatch, capsys):
    # ezmsg's `async def` and LabGraph's/ezmsg's publishers that yield: validate said OK, and the run failed at the
    # first call ("returned coroutine, not a dict of its outputs")
    (tmp_path / "asyncnodes.py").write_text(
        "import numpy as np\n"
        "from wavegraph.pipeline.chunk import Chunk\n"
        "from wavegraph.pipeline.node import Node, Source\n"
        "from wavegraph.pipeline.spec import signal_spec\n\n\n"
        "class Pub(Source):\n    def configure(self, in_specs):\n        return {'out': signal_spec(250.0, ['a'])}\n\n"
        "    def read(self):\n        yield {'out': Chunk(np.zeros((1, 10)), 0.0)}\n\n\n"
        "class Sub(Node):\n    async def process(self, inputs):\n        return {'out': inputs['in']}\n"
    )
    text = """\
nodes:
  - {id: pub, type: "asyncnodes:Pub"}
  - {id: sub, type: "asyncnodes:Sub"}
edges:
  - {source: pub.out, target: sub.in}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 2, err
    assert err[0].startswith(
        "g.yaml:2: node 'pub' (asyncnodes:Pub): class Pub (asyncnodes.py): read() is a generator"
    ), err
    assert "fix: write a plain def read(self) that returns one {port: Chunk} per call" in err[0], err
    assert err[1].startswith("g.yaml:3: node 'sub' (asyncnodes:Sub): class Sub (asyncnodes.py): process() is async"), (
        err
    )


def test_pick_channels_takes_an_mne_channel_type_as_mne_picks_do():
    # MNE's raw.pick('eeg') / picks=['eeg', 'eog']: pick_channels said "unknown channel 'eeg'; fix: available channels:"
    import numpy as np

    g = GraphBuilder()
    x = np.arange(40.0).reshape(4, 10)
    src = g.add(
        "array_source", data=x, rate=100.0, ch_names=["C3", "EOG1", "C4", "STI"], ch_types=["eeg", "eog", "eeg", "stim"]
    )
    eeg = g.add("pick_channels", src, pick=["eeg"])
    no_eog = g.add("pick_channels", src, drop=["eog", "stim"])
    out = g.run(capture=[eeg, no_eog])
    assert out[f"{eeg}.out"].spec.channel_names == ("C3", "C4")
    assert np.array_equal(out[f"{eeg}.out"].data, x[[0, 2]])
    assert out[f"{no_eog}.out"].spec.channel_names == ("C3", "C4")
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=100.0, ch_names=["C3", "EOG1", "C4", "STI"], ch_types="eeg")
    g.add("pick_channels", src, pick=["eog"])
    with pytest.raises(
        Exception, match=r"pick_channels pick: no channel of type 'eog' in the stream \(its types: eeg\)"
    ):
        g.run()


def test_mne_lsl_picks_of_one_type_on_an_inlet_gives_a_list(tmp_path, monkeypatch, capsys):
    # StreamLSL(...).pick('eeg'): `picks: eeg` got "add {type: pick_channels, params: {pick: eeg}}", refused next as
    # "write a list, even of one item"
    text = "nodes:\n  - {id: eeg, type: lsl_inlet, params: {name: amp, rate: 250, channels: 8, picks: eeg}}\n"
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 1, err
    assert "add {type: pick_channels, params: {pick: [eeg]}} after this one" in err[0], err


def test_a_dotted_class_path_of_ones_own_or_of_timeflux(tmp_path, monkeypatch, capsys):
    # LabGraph's and Timeflux's Python paths: `mynodes.Window` (mynodes.py beside the graph) got "did you mean
    # 'sliding_window'?", and `timeflux_dsp.nodes.filters.IIRFilter` nothing about bandpass
    (tmp_path / "mynodes.py").write_text(
        "from wavegraph.pipeline.node import Node\n\n\nclass Window(Node):\n    pass\n"
    )
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.2}}
  - {id: n, type: mynodes.Window}
  - {id: m, type: timeflux_dsp.nodes.filters.IIRFilter}
edges:
  - {source: src.out, target: n.in}
  - {source: src.out, target: m.in}
"""
    code, _, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2 and len(err) == 2, err
    assert err[0].endswith(
        "unknown type 'mynodes.Window'; fix: a class of your own is named module:Class: write type: mynodes:Window"
    )
    assert "wavegraph's type for IIRFilter is bandpass: write type: bandpass (" in err[1], err
