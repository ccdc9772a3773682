"""Found by fuzzing the shipped graphs (configs/*.yaml) with the mistakes a user makes: each mutant's `describe` and
`validate` must refuse it as `file:line: what; fix: how`, naming the node, or accept it and run."""

import pytest
from peer_hints import problems as validate

LIVE = """\
name: live
nodes:
  - id: eeg
    type: lsl_inlet
    params: {type: EEG, resolve_timeout: 10.0}
  - id: car
    type: car
  - id: rec
    type: recorder
    params:
      path: {path}
      events: {events}
edges:
  - {{source: eeg.out, target: car.in}}
  - {{source: car.out, target: rec.in}}
"""


def live(path: str, events: str = "false") -> str:
    text = LIVE.replace("{path}", path).replace("{events}", events).replace("{{", "{").replace("}}", "}")
    if events == "true":  # the stimulus program's markers into rec.events
        marker = "  - {id: markers, type: lsl_inlet, params: {type: Markers}}\n"
        text = text.replace("edges:\n", marker + "edges:\n") + "  - {source: markers.out, target: rec.events}\n"
    return text


def test_a_recorder_fed_by_a_device_is_checked_by_validate(tmp_path, monkeypatch, capsys):
    # configs/bci_ssvep.yaml and eeg_filter.yaml: a recorder behind an LSL inlet is not configured offline (no
    # stream), so validate said 'OK' for a file that is already there, a path with no format, events into a CSV;
    # `run` refused each only after the inlet had found the amplifier's stream. Now said at the path's line
    assert validate(tmp_path, monkeypatch, capsys, live("session01_raw.fif")) == []
    (tmp_path / "session01_raw.fif").write_bytes(b"an earlier session")
    err = validate(tmp_path, monkeypatch, capsys, live("session01_raw.fif"))
    assert len(err) == 1 and err[0].startswith("g.yaml:11: node 'rec' (recorder): "), err
    assert "session01_raw.fif already exists" in err[0] and "fix: record to a new run" in err[0], err
    assert "session01_run-02_raw.fif" in err[0], err
    assert (tmp_path / "session01_raw.fif").read_bytes() == b"an earlier session"  # nothing lost


def test_a_device_fed_recorder_path_of_no_format_or_events_into_csv_is_refused(tmp_path, monkeypatch, capsys):
    for path, events, said in (
        ("-1", "false", "cannot tell the format of '-1'"),  # `path: -1`, `path: .nan`: the fuzzer's number for text
        ("session01", "false", "cannot tell the format of 'session01'"),
        ("session01.csv", "true", "`events: true` writes FIF annotations"),
    ):
        err = validate(tmp_path, monkeypatch, capsys, live(path, events))
        assert len(err) == 1 and err[0].startswith("g.yaml:11: node 'rec' (recorder): "), (path, err)
        assert said in err[0], err


def test_a_device_fed_recorder_with_bids_entities_and_no_bids_root_is_refused(tmp_path, monkeypatch, capsys):
    text = live("session01.edf").replace("      events: false\n", "      events: false\n      subject: '01'\n")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and err[0].startswith("g.yaml:13: node 'rec' (recorder): "), err
    assert "bids_root is not set; fix: add bids_root:" in err[0], err


def test_an_unfinished_recording_beside_a_device_fed_recorder_is_said_by_validate(tmp_path, monkeypatch, capsys):
    (tmp_path / "s_raw.fif.spill").write_bytes(b"\0" * 64)  # a killed run's samples, its header beside them
    (tmp_path / "s_raw.fif.spill.json").write_text("{}")
    err = validate(tmp_path, monkeypatch, capsys, live("s_raw.fif"))
    assert len(err) == 1 and err[0].startswith("g.yaml:11: node 'rec' (recorder): "), err
    assert "holds an unfinished recording" in err[0] and "recover" in err[0], err


FILTERS = """\
nodes:
  - {id: eeg, type: lsl_inlet, params: {type: EEG}}
  - id: f
    type: TYPE
    params:
      PARAMS
  - {id: sink, type: null_sink}
edges:
  - {source: eeg.out, target: f.in}
  - {source: f.out, target: sink.in}
"""


def test_a_filter_fed_by_a_device_with_an_edge_no_rate_takes_is_refused_by_validate(tmp_path, monkeypatch, capsys):
    # configs/bci_ssvep.yaml with `notch: {freq: -1}` (or 0, or 1e308) was 'OK' in validate: a notch behind an LSL
    # inlet is not configured offline, and `run` refused it only once the amplifier's stream was found
    for node_type, params, line, said in (
        ("notch", "freq: -1", 6, "node 'f' (notch): freq -1 Hz is not above 0 Hz; fix: give one in (0, Nyquist"),
        ("notch", "freq: 0", 6, "freq 0 Hz is not above 0 Hz; fix: give one in (0, Nyquist = rate / 2), e.g. freq: 50"),
        ("notch", "freq: 1.0e+308", 6, "freq 1e+308 Hz is at or above the Nyquist frequency of any stream"),
        ("bandpass", "{l_freq: -1.0, h_freq: 40.0}", 5, "l_freq -1 Hz is not above 0 Hz; fix: give one in (0, Nyq"),
        ("bandpass", "{l_freq: 40.0, h_freq: 1.0}", 5, "bandpass l_freq 40 Hz must be below h_freq 1 Hz; fix: swap"),
        ("highpass", "freq: 0.0", 6, "freq 0 Hz is not above 0 Hz"),
        ("lowpass", "freq: -40.0", 6, "freq -40 Hz is not above 0 Hz"),
    ):
        text = FILTERS.replace("TYPE", node_type).replace("PARAMS", params)
        if params.startswith("{"):
            text = text.replace("    params:\n      ", "    params: ")
        err = validate(tmp_path, monkeypatch, capsys, text)
        assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: node 'f' ({node_type}): "), (params, err)
        assert said in err[0], err
    for node_type, params in (("notch", "freq: 50.0"), ("bandpass", "l_freq: 1.0\n      h_freq: 40.0")):
        assert (
            validate(tmp_path, monkeypatch, capsys, FILTERS.replace("TYPE", node_type).replace("PARAMS", params)) == []
        )


def test_an_edge_into_the_events_input_of_a_recorder_without_events_true_says_to_set_it(tmp_path, monkeypatch, capsys):
    # configs/bci_ssvep.yaml with the recorder's `events: true` left out: the fix was only "'rec' inputs: in"
    text = live("session01_raw.fif", "true").replace("events: true", "overwrite: false")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and err[0].startswith("g.yaml:17: edge markers.out -> rec.events: node 'rec' has no"), err
    assert err[0].endswith("fix: 'rec' inputs: in; add 'events' with params: {events: true}"), err
    fixed = text.replace("overwrite: false", "events: true")
    assert validate(tmp_path, monkeypatch, capsys, fixed) == []


@pytest.mark.timeout(120)  # a guard, not a measure: before, validate counted 1e30 sub-bands one by one (no end)
def test_a_huge_n_bands_of_ssvep_decoder_is_refused_not_counted_for_ever(tmp_path, monkeypatch, capsys):
    text = """\
nodes:
  - {id: src, type: sine, params: {freq: 7.5, rate: 256, channels: 2, duration: 4}}
  - id: decoder
    type: ssvep_decoder
    params: {freqs: [6.0, 7.5], window: 2.0, n_bands: 1000000000000000000000000000000}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: decoder.in}
  - {source: decoder.out, target: sink.in}
"""
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and "node 'decoder' (ssvep_decoder)" in err[0], err
    assert "sub-band 12 would start at 94 Hz" in err[0] and "fix: set n_bands to 11 or fewer" in err[0], err
    assert validate(tmp_path, monkeypatch, capsys, text.replace("1000000000000000000000000000000", "5")) == []


def test_a_huge_window_or_step_of_ssvep_decoder_gets_its_fix_not_a_bug_in_the_node(tmp_path, monkeypatch, capsys):
    # window: 1e308 (or step): 'configure() failed: OverflowError: cannot convert float infinity to integer; fix: check
    # its params and inputs; if they are right, this is a bug in the node'
    text = """\
nodes:
  - {id: src, type: sine, params: {freq: 7.5, rate: 256, channels: 2, duration: 4}}
  - id: decoder
    type: ssvep_decoder
    params: {freqs: [6.0, 7.5], PARAMS}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: decoder.in}
  - {source: decoder.out, target: sink.in}
"""
    for params, said in (
        ("window: 1.0e+308", "ssvep_decoder window of"),
        ("window: 2.0, step: 1.0e+308", "step 1e+308 s is longer than the window 2 s; fix: use a step no longer"),
    ):
        err = validate(tmp_path, monkeypatch, capsys, text.replace("PARAMS", params))
        assert len(err) == 1 and "node 'decoder' (ssvep_decoder)" in err[0] and said in err[0], err
        assert "bug in the node" not in err[0] and "OverflowError" not in err[0], err
    assert (
        "fix: a window of at most" in validate(tmp_path, monkeypatch, capsys, text.replace("PARAMS", "window: 1e9"))[0]
    )
