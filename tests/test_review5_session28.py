"""Review of 38d3950/f95e311 (session 28): the markers a FIF holds past its data are read again only for a FIF cut
short. A whole FIF that MNE wrote with `raw.save(fname, tmax=...)` (a segment saved) holds every annotation of the
Raw it came from, those after `tmax` too, and MNE's reader keeps the segment's: those file_source replayed, as
before, not the rest of the recording's markers after the last sample."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_cut_markers_session28 import _replay as _labelled_replay  # pyright: ignore[reportMissingImports]

mne = pytest.importorskip("mne")


def _replay(path):
    samples, events = _labelled_replay(path)
    return samples, [(round(onset, 6), label) for onset, _, label in events]


def _segment(tmp_path, first_samp=0):
    raw = mne.io.RawArray(np.zeros((2, 4000)), mne.create_info(["Fz", "Cz"], 100.0, "eeg"), first_samp=first_samp)
    raw.set_annotations(mne.Annotations([1.0, 5.0, 25.0, 35.0], [0, 0, 0, 0], list("abcd")))
    path = tmp_path / "segment_raw.fif"
    raw.save(path, tmax=20.0, verbose="error")  # 20 s of data; the file keeps all four annotations
    assert len(mne.read_annotations(path)) == 4
    return path


@pytest.mark.parametrize("first_samp", [0, 1234])
def test_a_whole_fif_saved_with_tmax_replays_only_the_markers_mne_reads(tmp_path, caplog, first_samp):
    """Before: c and d (25 s, 35 s) went out after the 20 s of data, said to 'lie after its last sample'."""
    path = _segment(tmp_path, first_samp)
    want = mne.io.read_raw_fif(path, verbose="error")
    assert list(want.annotations.description) == ["a", "b"]
    with caplog.at_level(logging.WARNING):
        samples, events = _replay(path)
    assert samples == want.n_times
    assert events == [(1.0, "a"), (5.0, "b")]
    assert "lie after its last sample" not in caplog.text


def test_a_segment_fif_cut_short_still_keeps_its_markers_past_the_data(tmp_path):
    """The guard: the same file cut inside its data (no end-of-file tag) replays the markers MNE leaves out."""
    path = _segment(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    samples, events = _replay(path)
    assert 0 < samples < 2001
    assert [t for _, t in events][:2] == ["a", "b"] and "c" in [t for _, t in events]


def test_the_new_run_a_refusal_names_is_one_the_recorder_takes(tmp_path):
    """c601b71 refuses a run over an earlier run's marker log; the run name the refusals name (next_run_name) skipped
    a run's file and spill but not its log, so the named run was refused in turn (rec_run-02_raw.fif, whose earlier run
    got no sample and kept its markers in rec_run-02_raw.fif.events.csv)."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import SpecError, StreamSpec

    signal = StreamSpec("signal", 200.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"))
    events = StreamSpec("events", 0.0, (3,), labels=((1, "stim"),))

    def run(path, samples=True):
        rec = Recorder(path=str(path), events=True)
        rec.configure({"in": signal, "events": events})
        rec.process({"events": Chunk(np.array([[1.0, 0.0, 1]]), t0=1.0)})
        if samples:
            rec.process({"in": Chunk(np.zeros((2, 400)), 0.0)})
        rec.finish()
        rec.close()

    run(tmp_path / "rec_raw.fif")
    run(tmp_path / "rec_run-02_raw.fif", samples=False)  # no sample: no file, its marker kept in the log
    assert (tmp_path / "rec_run-02_raw.fif.events.csv").exists() and not (tmp_path / "rec_run-02_raw.fif").exists()
    with pytest.raises(SpecError) as e:
        Recorder(path=str(tmp_path / "rec_raw.fif"), events=True).configure({"in": signal, "events": events})
    named = str(e.value).split("path: ")[1].split(",")[0].split(")")[0].strip()
    assert named == str(tmp_path / "rec_run-03_raw.fif")
    run(named)  # taken
    assert len(mne.io.read_raw_fif(named, verbose="error").annotations) == 1
