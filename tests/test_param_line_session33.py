"""A parameter's value that the stream does not fit (channel names the stream lacks) is said at that parameter's
line, where its fix goes, not at the edge's (session 33; it was left undone since session 31). The message still
names the edge and the stream."""

from peer_hints import problems as validate
from wavegraph.pipeline.cli import main

GRAPH = """\
name: lines
nodes:
  - id: eeg
    type: sine
    params: {rate: 250, duration: 0.5, channels: [O1, Oz, O2, Cz]}
  - id: node
    type: TYPE
    params:
      method: fbcca
      freqs: [6.0, 7.5]
      PARAM
  - id: sink
    type: null_sink
edges:
  - {source: eeg.out, target: node.in}
  - {source: node.out, target: sink.in}
"""


def _graph(node_type: str, param: str) -> str:
    text = GRAPH.replace("TYPE", node_type).replace("PARAM", param)
    return text if node_type.startswith("ssvep") else text.replace("      method: fbcca\n      freqs: [6.0, 7.5]\n", "")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_decoders_channels_the_stream_lacks_are_said_at_the_channels_line(tmp_path, monkeypatch, capsys):
    text = _graph("ssvep_decoder", "channels: [O1, XX9]")
    (err,) = validate(tmp_path, monkeypatch, capsys, text)
    assert err.startswith(f"g.yaml:{_line_of(text, 'channels: [O1, XX9]')}: "), err
    assert "edge eeg.out -> node.in" in err and "channels ['XX9'] are not in the stream" in err, err


def test_pick_drop_and_rereference_names_are_said_at_their_own_lines(tmp_path, monkeypatch, capsys):
    for node_type, param in (
        ("pick_channels", "pick: [Oz, XX9]"),
        ("pick_channels", "drop: [XX9]"),
        ("rereference", "channel: XX9"),
        ("rereference", "pairs: [O1-XX9]"),
        ("car", "ref_channels: [XX9]"),
    ):
        text = _graph(node_type, param)
        (err,) = validate(tmp_path, monkeypatch, capsys, text)
        assert err.startswith(f"g.yaml:{_line_of(text, param)}: "), (param, err)
        assert "'XX9'" in err and "edge eeg.out -> node.in" in err, (param, err)


def test_a_value_given_by_set_is_said_as_the_set_not_as_a_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(_graph("ssvep_decoder", "channels: [O1, Oz]"))
    assert main(["validate", "g.yaml", "--set", "node.channels=[O1, XX9]"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--set: ") and "channels ['XX9']" in err[0], err


def test_a_file_sources_picks_are_said_at_the_picks_line(tmp_path, monkeypatch, capsys):
    import numpy as np
    from scipy.io import wavfile

    wavfile.write(tmp_path / "x.wav", 16000, np.zeros((1600, 2), np.int16))
    text = """\
name: picks
nodes:
  - id: eeg
    type: file_source
    params:
      path: x.wav
      picks: [ch9]
  - id: sink
    type: null_sink
edges:
  - {source: eeg.out, target: sink.in}
"""
    errs = validate(tmp_path, monkeypatch, capsys, text)
    assert errs, "picks naming no channel was taken"
    assert errs[0].startswith(f"g.yaml:{_line_of(text, 'picks: [ch9]')}: ") and "'ch9'" in errs[0], errs


def test_a_stream_that_fits_no_value_of_any_parameter_is_still_said_at_the_edge(tmp_path, monkeypatch, capsys):
    text = _graph("istft", "n_fft: 64")  # a signal into istft: no parameter would make it fit
    (err,) = validate(tmp_path, monkeypatch, capsys, text)
    assert err.startswith(f"g.yaml:{_line_of(text, 'target: node.in')}: edge eeg.out -> node.in"), err
