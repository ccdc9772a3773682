"""Found by a seeded mutation fuzz of configs/*.yaml (lines deleted, duplicated, swapped, re-indented; values of
another type; keys misspelt; endpoints, hosts, merges, tabs, NUL and invalid UTF-8): each mutant's `validate` must
refuse it as `file:line: what; fix: how` at the line of the mutated node, or accept it."""

import pytest
from peer_hints import problems

CHAIN = """\
nodes:
  - id: src
    type: sine
    params: {rate: 160, duration: 0.2}
  - id: f
    type: TYPE
    params: PARAMS
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: f.in}
  - {source: f.out, target: sink.in}
"""


@pytest.mark.parametrize(
    "node_type, params, said",
    [
        ("bandpass", "{l_freq: -1.0, h_freq: 40.0}", "l_freq -1 Hz is outside (0, Nyquist=80 Hz)"),
        ("bandpass", "{l_freq: 1.0, h_freq: 1000}", "h_freq 1000 Hz is outside (0, Nyquist=80 Hz)"),
        ("highpass", "{freq: 0}", "highpass freq 0 Hz is outside"),
        ("lowpass", "{freq: 80}", "lowpass freq 80 Hz is outside"),
        ("notch", "{freq: 1000}", "notch frequency (harmonic 1) 1000 Hz is outside"),
        ("notch", "{freq: 50.0, harmonics: 2}", "notch harmonic 2 of 50 Hz (100 Hz) is at or above Nyquist"),
        ("fir", "{l_freq: -3.5, h_freq: 30.0}", "fir l_freq -3.5 Hz is outside"),
    ],
)
def test_a_filter_frequency_beyond_nyquist_is_said_at_its_parameter(
    tmp_path, monkeypatch, capsys, node_type, params, said
):
    # configs/default.yaml with `l_freq: -1` (or 1_000 on the notch): said at the edge into the filter (line 10
    # here), not where the fix goes; a filter behind a device (check_params) already said it at the parameter
    text = CHAIN.replace("TYPE", node_type).replace("PARAMS", params)
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and err[0].startswith("g.yaml:7: edge src.out -> f.in "), err
    assert f"node 'f' ({node_type})" in err[0] and said in err[0], err


GROUPS = """\
nodes:
  - {id: src, type: sine, params: {rate: 250, duration: 0.1}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
processes:
  a: [src]
  b: {nodes: [sink], host: HOST}
"""


@pytest.mark.parametrize(
    "host, said",
    [
        ("''", "host '' is not an address"),
        ("' '", "host ' ' is not an address"),
        ("0", "host '0' is not an address"),
        ("false", "host 'false' is not an address"),
        ("[]", "host is a list, not an address"),
        ("{a: 1}", "host is a mapping, not an address"),
    ],
)
def test_a_process_host_that_is_no_address_is_refused(tmp_path, monkeypatch, capsys, host, said):
    # `host: ''` or `host: 0` was taken for no host: validate said OK and the group's edges were silently local
    err = problems(tmp_path, monkeypatch, capsys, GROUPS.replace("HOST", host))
    assert err == [
        f"g.yaml:8: process 'b': {said}; fix: name an address of this machine as text, e.g. host: "
        "127.0.0.1 (or leave host out)"
    ], err


def test_a_process_without_a_host_or_a_null_one_still_validates(tmp_path, monkeypatch, capsys):
    assert problems(tmp_path, monkeypatch, capsys, GROUPS.replace("HOST", "null")) == []
    assert problems(tmp_path, monkeypatch, capsys, GROUPS.replace("HOST", "127.0.0.1")) == []


def test_a_bad_inline_model_dimension_is_said_at_its_parameter(tmp_path, monkeypatch, capsys):
    # configs/eeg_tokens.yaml with `subsampling: 1_000` on the conformer: said at the edge into it, not at the
    # parameter's line (a field the config names but the node was not given stays at the edge)
    text = """\
nodes:
  - {id: src, type: sine, params: {rate: 400, channels: 2, duration: 0.2}}
  - {id: win, type: sliding_window, params: {size: 8, hop: 4}}
  - id: enc
    type: conformer_encoder
    params:
      random_init: true
      d_model: 16
      subsampling: 1_000
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: win.in}
  - {source: win.out, target: enc.in}
  - {source: enc.out, target: sink.in}
"""
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and err[0].startswith("g.yaml:9: edge win.out -> enc.in "), err
    assert "ConformerConfig.subsampling must be 2, 4 or 8, got 1000" in err[0], err


def test_a_resample_rate_that_is_no_rate_is_said_at_its_parameter(tmp_path, monkeypatch, capsys):
    # configs/speech_enhance.yaml with the resampler's `rate: -3.5`: said at the edge into it
    err = problems(tmp_path, monkeypatch, capsys, CHAIN.replace("TYPE", "resample").replace("PARAMS", "{rate: -3.5}"))
    assert len(err) == 1 and err[0].startswith("g.yaml:7: edge src.out -> f.in "), err
    assert "resample rate -3.5 is not a positive, finite rate; fix: give a positive output rate in Hz" in err[0], err


def test_an_indented_first_key_is_said_at_its_line(tmp_path, monkeypatch, capsys):
    # configs/eeg_filter.yaml with `  name: eeg-filter` (under the comments): said at `nodes:`, the line written
    # right, as "expected '<document start>' ...; fix: fix the YAML syntax"
    text = "# a graph\n  name: g\nnodes:\n  - {id: s, type: sine, params: {duration: 0.1}}\n"
    err = problems(tmp_path, monkeypatch, capsys, text)
    assert err == [
        "g.yaml:2: invalid YAML: the file's first key 'name' is indented (2 spaces): YAML ends the graph at line 3; "
        "fix: remove the indent of line 2: top-level keys (name, nodes, edges) start at column 1"
    ], err
