"""The recorder's marker log `<path>.events.csv` (session 28 review): a run without `overwrite` that meets an earlier
run's log (that run got no sample: no file, its markers kept in the log) is refused at configure, as a leftover spill
is (it overwrote the log, or left it for recover to read as its own); recover keeps a marker whose line the kill cut
before its label (it dropped it, then deleted the log). Each test failed before its fix."""

from __future__ import annotations

import logging
from pathlib import Path

import mne
import numpy as np
import pytest
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

RATE = 200.0
SIGNAL = StreamSpec("signal", RATE, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"))
EVENTS = StreamSpec("events", 0.0, (3,), labels=((1, "stim"), (2, "right hand")))


def _a_run_of_markers_and_no_sample(path: Path) -> Path:
    """A run to FIF whose stream ended before its first sample: no file, its 2 markers kept in the log."""
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": SIGNAL, "events": EVENTS})
    rec.process({"events": Chunk(np.array([[1.0, 0.0, 1], [2.0, 0.0, 2]]), t0=1.0)})
    rec.finish()
    rec.close()
    log = path.with_name(path.name + ".events.csv")
    assert not path.exists() and log.read_text().splitlines()[1:] == ["1.0,0.0,1,stim", "2.0,0.0,2,right hand"]
    return log


@pytest.mark.parametrize("events", [True, False])
def test_a_run_without_overwrite_is_refused_by_an_earlier_runs_marker_log(tmp_path, events):
    """With markers the new run wrote over the earlier run's log (its markers lost); without, the log stayed beside
    the new recording, and recover() of a killed run wrote its markers in as this run's."""
    path = tmp_path / "rec_raw.fif"
    log = _a_run_of_markers_and_no_sample(path)
    before = log.read_bytes()
    rec = Recorder(path=str(path), events=events)
    with pytest.raises(SpecError) as e:
        rec.configure({"in": SIGNAL} | ({"events": EVENTS} if events else {}))
    assert str(log) in str(e.value) and "move it away" in str(e.value) and "overwrite: true" in str(e.value)
    assert log.read_bytes() == before


def test_a_run_with_overwrite_over_an_earlier_runs_marker_log_keeps_only_its_own(tmp_path):
    """(the fix the refusal names: overwrite: true; 06c9869 removes the old log, unchanged)"""
    path = tmp_path / "rec_raw.fif"
    log = _a_run_of_markers_and_no_sample(path)
    rec = Recorder(path=str(path), overwrite=True)
    rec.configure({"in": SIGNAL})
    rec.process({"in": Chunk(np.zeros((2, 400)), 0.0)})
    rec.finish()
    rec.close()
    assert len(mne.io.read_raw_fif(path, verbose="error").annotations) == 0 and not log.exists()


def _killed_with_a_cut_last_line(path: Path, tail: str) -> Path:
    """A FIF recording killed while writing its second marker's line: the log ends in `tail` (no line break)."""
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": SIGNAL, "events": EVENTS})
    rec.process({"events": Chunk(np.array([[1.0, 0.0, 1]]), t0=1.0)})
    rec.process({"in": Chunk(np.zeros((2, 700)), 0.0)})
    rec._file.flush()  # no close(): the process "died"
    assert rec._events_file is not None
    rec._events_file.close()
    log = path.with_name(path.name + ".events.csv")
    with open(log, "a") as f:
        f.write(tail)
    return log


@pytest.mark.parametrize(
    ("tail", "label"),
    [
        ("2.5,", "(label cut off)"),
        ("2.5,0.0", "(label cut off)"),
        ("2.5,0.0,2", "(label cut off)"),  # ('2' may be the start of '21')
        ("2.5,0.0,2,", "2 (label cut off)"),  # (no whole line of code 2 says its label)
        ("2.5,0.0,2,rig", "2 (label cut off)"),
    ],
)
def test_recover_keeps_a_marker_whose_line_the_kill_cut_before_its_label(tmp_path, caplog, tail, label):
    """A last line cut after its onset: the marker was dropped (cut before the label's comma) or labelled by its code
    as if whole, and the log deleted: its onset was lost. Kept now at its onset, its label said cut; the log stays."""
    path = tmp_path / "rec_raw.fif"
    log = _killed_with_a_cut_last_line(path, tail)
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        out = recover(path)
    notes = mne.io.read_raw_fif(out, verbose="error").annotations
    assert list(zip(notes.onset, notes.description)) == [(1.0, "stim"), (2.5, label)]
    assert log.exists() and f"{log.name} stays beside the recording" in caplog.text


def test_recover_keeps_the_log_when_the_kill_cut_a_markers_onset(tmp_path, caplog):
    """'2' may be the start of '2.5' or '27.1': no marker is written for it, and the log (deleted before) stays."""
    path = tmp_path / "rec_raw.fif"
    log = _killed_with_a_cut_last_line(path, "2")
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        out = recover(path)
    assert list(mne.io.read_raw_fif(out, verbose="error").annotations.onset) == [1.0]
    assert log.read_text().endswith("\n2") and "before its onset was whole" in caplog.text


def test_recover_restores_a_cut_label_its_code_has_and_removes_the_log(tmp_path):
    """(a cut label whose code a whole line names: the file holds it all, the log goes, as before)"""
    path = tmp_path / "rec_raw.fif"
    log = _killed_with_a_cut_last_line(path, "2.5,0.0,1,st")
    notes = mne.io.read_raw_fif(recover(path), verbose="error").annotations
    assert list(zip(notes.onset, notes.description)) == [(1.0, "stim"), (2.5, "stim")] and not log.exists()
