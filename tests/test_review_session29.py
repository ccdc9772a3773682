"""Review of session 29's commits (helper 214): what they got wrong, held to what the docs and the commits say."""

from peer_hints import problems as validate

BIDS_LIVE = """\
name: live
nodes:
  - {id: eeg, type: lsl_inlet, params: {type: EEG}}
  - id: rec
    type: recorder
    params:
      path: session01.edf
      bids_root: bids
      subject: "01"
      task: rest
      session: "01"
      run: 1
edges:
  - {source: eeg.out, target: rec.in}
"""


def test_an_existing_recording_behind_a_device_is_said_at_the_path_not_at_a_bids_entity_its_name_holds(
    tmp_path, monkeypatch, capsys
):
    # b5d2e4e: a recorder behind an LSL inlet whose file is already there is said at the parameter's line; the
    # parameter was guessed from the BIDS entity names the message holds, so 'session01.edf already exists' was said
    # at `session:` (line 11), and 'holds the markers of an earlier run' at `run:` (line 12): the path is at line 7
    assert validate(tmp_path, monkeypatch, capsys, BIDS_LIVE) == []
    (tmp_path / "session01.edf").write_bytes(b"an earlier session")
    err = validate(tmp_path, monkeypatch, capsys, BIDS_LIVE)
    assert len(err) == 1 and err[0].startswith("g.yaml:7: node 'rec' (recorder): recorder: session01.edf already"), err
    (tmp_path / "session01.edf").unlink()
    (tmp_path / "session01.edf.events.csv").write_text("onset,duration,description\n")
    err = validate(tmp_path, monkeypatch, capsys, BIDS_LIVE)
    assert len(err) == 1 and err[0].startswith("g.yaml:7: node 'rec' (recorder): "), err
    assert "holds the markers of an earlier run" in err[0], err


def test_a_bids_entity_problem_behind_a_device_is_still_said_at_that_entity(tmp_path, monkeypatch, capsys):
    text = BIDS_LIVE.replace("      bids_root: bids\n", "")  # subject/task/session/run without bids_root
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and err[0].startswith("g.yaml:8: node 'rec' (recorder): "), err  # subject's line
    assert "bids_root is not set" in err[0], err
