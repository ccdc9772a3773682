"""Window parameters of stft, istft and fir (session 30): fir's unknown window said at its line also behind a device
(as stft's since 668ab5d), scipy.signal.get_window's tuple forms written as a YAML list (`window: [kaiser, 8]`), and
a default hop that does not divide n_fft said at n_fft's line."""

import json

import numpy as np
import pytest
from peer_hints import SOURCES
from peer_hints import behind as graph
from peer_hints import problems as validate
from scipy.signal import firwin, get_window
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent


def test_an_unknown_fir_window_is_said_at_its_line_also_behind_a_device(tmp_path, monkeypatch, capsys):
    # It was said at the edge's line (g.yaml:12) as 'fir design failed: Invalid window name ...'; behind an
    # lsl_inlet validate said OK and `run` refused it there once the stream came
    for source in SOURCES:
        assert validate(tmp_path, monkeypatch, capsys, graph(source, "fir", "h_freq: 30\nwindow: hann")) == []
        for window, said in (
            ("hammingg", "fir design failed: Invalid window name 'hammingg'"),  # (its words, as before)
            ("HAMMING", "fix: write window: hamming"),
            ("sqrt_hann", "Invalid window name 'sqrt_hann'"),  # stft's own: firwin has no such window
        ):
            err = validate(tmp_path, monkeypatch, capsys, graph(source, "fir", f"h_freq: 30\nwindow: {window}"))
            assert len(err) == 1 and err[0].startswith("g.yaml:10: node 'n' (fir): "), (source, window, err)
            assert said in err[0], err


STFT_ISTFT = """\
name: tuple
nodes:
  - {id: src, type: sine, params: {rate: 16000, duration: 0.2}}
  - {id: spec, type: stft, params: {n_fft: 64, hop: 16, window: WIN_A}}
  - id: back
    type: istft
    params:
      n_fft: 64
      hop: 16
      window: WIN_B
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: spec.in}
  - {source: spec.out, target: back.in}
  - {source: back.out, target: sink.in}
"""


def test_a_window_of_scipys_tuple_forms_is_taken_as_a_yaml_list(tmp_path, monkeypatch, capsys):
    # `window: [kaiser, 8]` was "Input should be a valid string; fix: give a str" for stft, istft and fir
    for window in ("[kaiser, 8]", "[tukey, 0.25]", "[gaussian, 7.5]", "hann"):
        text = STFT_ISTFT.replace("WIN_A", window).replace("WIN_B", window)
        assert validate(tmp_path, monkeypatch, capsys, text) == [], window
        for source in SOURCES:
            assert validate(tmp_path, monkeypatch, capsys, graph(source, "fir", f"h_freq: 30\nwindow: {window}")) == []
    text = STFT_ISTFT.replace("WIN_A", "[kaiser, 8]").replace("WIN_B", "[kaiser, 8.0]")  # the same window
    assert validate(tmp_path, monkeypatch, capsys, text) == []
    # an istft's window unlike its stft's: said, with the stft's written as the file takes it
    for istft in ("[kaiser, 9]", "kaiser", "hann"):
        text = STFT_ISTFT.replace("WIN_A", "[kaiser, 8]").replace("WIN_B", istft)
        err = validate(tmp_path, monkeypatch, capsys, text)
        assert len(err) == 1 and "differs from the stft that made its frames" in err[0], (istft, err)
        assert "window: [kaiser, 8] " in err[0], err


def test_bad_names_and_parameters_in_the_list_form_are_said_at_the_window_line(tmp_path, monkeypatch, capsys):
    for source in SOURCES:
        for node_type, params, line in (
            ("stft", "n_fft: 64\nhop: 16\nwindow: WINDOW", 11),
            ("fir", "h_freq: 30\nwindow: WINDOW", 10),
        ):
            for window, said in (
                ("[kaiserr, 8]", "window [kaiserr, 8]: Invalid window name 'kaiserr'"),
                ("[KAISER, 8]", "fix: write window: [kaiser, 8]"),
                ("[kaiser, x]", "window [kaiser, x]"),
                ("[kaiser, 8, 9, 10]", "window [kaiser, 8, 9, 10]"),
                ("[8, kaiser]", "parameter 'window' = [8, 'kaiser']: a window list starts with the window's name"),
                ("[]", "parameter 'window' = []: a window list starts"),
                ("{kaiser: 8}", "parameter 'window' = {'kaiser': 8}: not a window; fix: write window: hann (a name)"),
                ("[kaiser, .nan]", "not finite"),
                ("kaiser", "'kaiser' must have parameters"),
            ):
                text = graph(source, node_type, params.replace("WINDOW", window))
                err = validate(tmp_path, monkeypatch, capsys, text)
                assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: node 'n' ({node_type}): "), (window, err)
                assert said in err[0], (window, err)


FS = 100.0
SPEC = signal_spec(FS, ["a", "b"])
X = np.random.default_rng(0).standard_normal((2, 777))


@pytest.mark.parametrize("window", [["kaiser", 8], ["tukey", 0.25], ("gaussian", 7.5)])
def test_streaming_equals_offline_for_a_tuple_window(window):
    n_fft, hop = 64, 16
    z = assert_streaming_equivalent(lambda: lookup("stft")(n_fft=n_fft, hop=hop, window=window), X, SPEC)["out"]
    w = get_window(tuple(window), n_fft)  # periodic, as scipy.signal.stft's
    total = (X.shape[1] - 1 + n_fft - hop) // hop + 1
    xp = np.concatenate([np.zeros((2, n_fft - hop)), X, np.zeros((2, total * hop - X.shape[1]))], axis=1)
    frames = np.stack([xp[:, k * hop : k * hop + n_fft] for k in range(total)])
    np.testing.assert_allclose(z, np.fft.rfft(frames * w, axis=-1).reshape(total, -1), rtol=1e-10, atol=1e-12)
    fspec = lookup("stft")(n_fft=n_fft, hop=hop, window=window).configure({"in": SPEC})["out"]
    wire = json.loads(json.dumps(fspec.to_dict()))  # a worker process's: its own spec's to_dict must equal it
    assert StreamSpec.from_dict(wire) == fspec and fspec.to_dict() == wire, wire  # (`processes:` refused the run)
    y = assert_streaming_equivalent(lambda: lookup("istft")(n_fft=n_fft, hop=hop, window=window), z, fspec)["out"]
    lat = n_fft - hop
    np.testing.assert_allclose(y[:, lat : lat + X.shape[1]], X, rtol=1e-10, atol=1e-12)  # perfect reconstruction
    b = firwin(31, 20.0, window=tuple(window), fs=FS)
    fir = assert_streaming_equivalent(lambda: lookup("fir")(h_freq=20.0, numtaps=31, window=window), X, SPEC)["out"]
    np.testing.assert_allclose(fir[:, : X.shape[1]], np.stack([np.convolve(x, b)[: X.shape[1]] for x in X]), atol=1e-12)


def test_an_istft_of_another_tuple_window_is_refused():
    fspec = lookup("stft")(n_fft=64, hop=16, window=["kaiser", 8]).configure({"in": SPEC})["out"]
    with pytest.raises(SpecError, match="differs from the stft") as e:
        lookup("istft")(n_fft=64, hop=16, window=["kaiser", 9]).configure({"in": fspec})
    assert "window: [kaiser, 8] " in e.value.hint


def test_a_default_hop_that_does_not_divide_n_fft_is_said_at_n_ffts_line(tmp_path, monkeypatch, capsys):
    # It was said at the node's line (g.yaml:6): the hop the user did not write has no line; n_fft made it wrong
    for source in SOURCES:
        for node_type in ("stft", "istft") if source == SOURCES[0] else ("stft",):
            err = validate(tmp_path, monkeypatch, capsys, graph(source, node_type, "window: hann\nn_fft: 100"))
            assert len(err) == 1 and err[0].startswith(
                f"g.yaml:10: node 'n' ({node_type}): stft/istft hop 128 (the default) must divide n_fft 100"
            ), (source, err)
        err = validate(tmp_path, monkeypatch, capsys, graph(source, "stft", "n_fft: 100\nhop: 30"))
        assert len(err) == 1 and err[0].startswith("g.yaml:10: node 'n' (stft): stft/istft hop 30 must"), err
