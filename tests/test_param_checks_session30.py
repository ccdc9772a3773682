"""Parameters behind a device (an LSL inlet, a sound card: not configured offline) that validate accepted and only
`run` refused, or ran with, once the device was there: now said by the node's check_params() at validate time, at
the parameter's line, with the node and the fix."""

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
