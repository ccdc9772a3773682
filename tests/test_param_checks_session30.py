"""Parameters behind a device (an LSL inlet, a sound card: not configured offline) that validate accepted and only
`run` refused, or ran with, once the device was there: now said by the node's check_params() at validate time, at
the parameter's line, with the node and the fix."""

from pathlib import Path

from peer_hints import problems as validate

BEHIND_INLET = """\
name: live
nodes:
  - id: eeg
    type: lsl_inlet
    params: {type: EEG, resolve_timeout: 10.0}
  - id: sink
    type: null_sink
  - id: n
    type: TYPE
    params:
PARAMS
edges:
  - {source: eeg.out, target: n.in}
  - {source: n.out, target: sink.in}
"""


def behind_inlet(node_type: str, params: str) -> str:
    """An lsl_inlet into a node of `node_type` (its params block style, one per line from line 11), into a sink."""
    lines = "\n".join(f"      {line}" for line in params.splitlines())
    return BEHIND_INLET.replace("TYPE", node_type).replace("PARAMS", lines)


def test_a_notch_quality_no_stream_takes_is_refused_at_its_line(tmp_path, monkeypatch, capsys):
    # Q <= 0 and NaN were already refused (the field's gt=0). 1e-300 behind an inlet was 'OK' and refused by `run`
    # at the edge's line once the stream was there; 1e9 (5e-8 Hz wide) ran, passing 99.999 % of the mains after a
    # minute, offline as well
    assert validate(tmp_path, monkeypatch, capsys, behind_inlet("notch", "freq: 50.0\nquality: 30")) == []
    for quality, said in (
        ("1e-300", "at or above the Nyquist frequency of any stream"),
        ("1e9", "narrower than 0.001 Hz"),
        ("1e308", "narrower than 0.001 Hz"),
    ):
        err = validate(tmp_path, monkeypatch, capsys, behind_inlet("notch", f"freq: 50.0\nquality: {quality}"))
        assert len(err) == 1 and err[0].startswith("g.yaml:12: node 'n' (notch): notch quality "), (quality, err)
        assert said in err[0] and "fix: set quality: 30" in err[0], err
    offline = behind_inlet("notch", "freq: 50.0\nquality: 1e9").replace(
        "{type: EEG, resolve_timeout: 10.0}", "{type: EEG, channels: 2, rate: 250}"
    )  # an inlet that declares its stream is configured offline: configure() says it too
    err = validate(tmp_path, monkeypatch, capsys, offline)
    assert len(err) == 1 and "narrower than 0.001 Hz" in err[0], err


STFT_LAST = """\
name: s
edges:
  - {source: mic.out, target: spec.in}
  - {source: spec.out, target: sink.in}
nodes:
  - id: mic
    type: SOURCE
  - id: sink
    type: null_sink
  - id: spec
    type: stft
    params:
      n_fft: 512
      window: WINDOW"""


def test_an_unknown_stft_window_on_the_last_line_is_said_at_its_line(tmp_path, monkeypatch, capsys):
    # The window was said at the first edge's line (g.yaml:3 here), also offline; behind an lsl_inlet validate said
    # 'OK' and `run` refused it at that edge once the stream came. The window is the node's and the file's last line
    for source in ("lsl_inlet\n    params: {name: mic}", "noise\n    params: {rate: 16000, duration: 1}"):
        for window, said in (("hammingg", "unknown window 'hammingg'"), ("HAMMING", "fix: write window: hamming")):
            for end in ("", "\n", "\n\n# the end\n"):
                text = STFT_LAST.replace("SOURCE", source).replace("WINDOW", window) + end
                err = validate(tmp_path, monkeypatch, capsys, text)
                assert len(err) == 1 and err[0].startswith("g.yaml:15: node 'spec' (stft): "), (source, end, err)
                assert said in err[0], err
    text = STFT_LAST.replace("SOURCE", "lsl_inlet\n    params: {name: mic}").replace("WINDOW", "hann\n      hop: 100")
    err = validate(tmp_path, monkeypatch, capsys, text)  # a hop that does not divide n_fft, at hop's line
    assert len(err) == 1 and err[0].startswith("g.yaml:16: node 'spec' (stft): stft/istft hop 100 must"), err


def test_decoder_channels_no_stream_has_are_refused_at_their_line(tmp_path, monkeypatch, capsys):
    # configs/bci_ssvep.yaml's decoder behind the amplifier's lsl_inlet: `channels: []` or a name '' was 'OK'; `run`
    # refused them at the edge's line once the stream came ('has no channel to decode', "channels [''] are not in
    # the stream"). Offline (configured) they are said at channels' line too
    text = (Path(__file__).parents[1] / "configs" / "bci_ssvep.yaml").read_text()
    given = "channels: [O1, Oz, O2, PO3, POz, PO4, PO7, PO8]"
    line = text[: text.index(given)].count("\n") + 1
    assert validate(tmp_path, monkeypatch, capsys, text) == []
    for channels, said in (("[]", "`channels` is an empty list"), ('[O1, ""]', "`channels` names '': no stream")):
        err = validate(tmp_path, monkeypatch, capsys, text.replace(given, f"channels: {channels}"))
        assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: node 'decoder' (ssvep_decoder): "), err
        assert said in err[0] and "fix: " in err[0] and "channels: [O1, Oz, O2]" in err[0], err
    offline = text.replace(given, 'channels: [""]').replace(
        "{type: EEG, resolve_timeout: 10.0, chunk_size: 32}", "{type: EEG, channels: [O1, Oz, O2], rate: 250}"
    )
    err = validate(tmp_path, monkeypatch, capsys, offline)
    assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: node 'decoder' (ssvep_decoder): `channels` names"), err


def test_plot_of_a_graph_file_or_an_unreadable_recording_makes_no_output_folder(tmp_path, monkeypatch, capsys):
    # `wavegraph plot configs/default.yaml -o figs/run1/x.png` made figs/run1/, then said the file is a graph
    from wavegraph.pipeline.cli import main

    monkeypatch.chdir(tmp_path)
    graph = Path(__file__).parents[1] / "configs" / "default.yaml"
    assert main(["plot", str(graph), "-o", "figs/run1/x.png"]) == 2
    assert "is a graph file, not a recording; fix: run it" in capsys.readouterr().err
    assert not (tmp_path / "figs").exists()
    (tmp_path / "bad.fif").write_bytes(b"not a FIF file")  # refused once read: the folders it made are taken back
    (tmp_path / "kept").mkdir()
    for out in ("figs/run1/x.png", "kept/x.png"):
        assert main(["plot", "bad.fif", "-o", out]) == 2
        assert "error: cannot plot bad.fif: " in capsys.readouterr().err
    assert not (tmp_path / "figs").exists() and (tmp_path / "kept").is_dir()
