"""Record, then replay through the same stage: the stage's output replayed equals what it gave live (times, gap flags,
names, markers), on real data (PhysioNet EEGMMIDB S001R02), for the formats the recorder writes a signal to."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from conftest import dataset
from wavegraph.pipeline.api import GraphBuilder


def _epochs_file(tmp_path):
    """Three 2 s epochs of 3 real channels (160 Hz), replayed back to back by file_source, gaps at 2 s and 4 s."""
    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").pick(["C3..", "Cz..", "C4.."])
    raw.crop(0, 12).load_data()
    ep = mne.make_fixed_length_epochs(raw, duration=2.0, verbose="error")[[0, 2, 3]]
    path = tmp_path / "x-epo.fif"
    ep.save(path, verbose="error")
    return path


def _bandpower(g, up):
    g.add("bandpower", up, id="st", window=0.5, hop=0.25)


@pytest.mark.parametrize(
    ("suffix", "rtol"), [("_raw.fif", 0), (".npz", 0), (".csv", 0), (".bdf", 2e-7)]
)  # BDF: within its 24-bit steps
def test_a_recorded_signal_replays_through_bandpower_as_it_ran_live(tmp_path, suffix, rtol):
    src = _epochs_file(tmp_path)
    rec = tmp_path / f"rec{suffix}"
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(src), chunk_size=37)
    g.add("recorder", "src", id="rec", path=str(rec))
    _bandpower(g, "src")
    live = g.run(capture=["src.out", "st.out"])
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(rec), chunk_size=11)
    _bandpower(g, "src")
    again = g.run(capture=["src.out", "st.out"])
    for port in ("src.out", "st.out"):
        a, b = live[port], again[port]
        assert a.data.shape == b.data.shape, port
        np.testing.assert_allclose(b.data, a.data, rtol=0, atol=rtol * np.max(np.abs(a.data)), err_msg=port)
        np.testing.assert_allclose(b.times, a.times, rtol=0, atol=1e-9, err_msg=port)
        assert b.gaps == a.gaps == [2.0, 4.0], port
        assert b.spec.channel_names == a.spec.channel_names, port
    if suffix != ".csv":  # CSV keeps no type or unit (docs/nodes.md)
        assert again["st.out"].spec.units == live["st.out"].spec.units == "V^2"
        assert again["src.out"].spec.channel_types == ("eeg",) * 3


@pytest.mark.parametrize("log", [False, True])
def test_bandpower_of_a_stream_without_a_unit_has_no_unit(tmp_path, log):
    """A CSV recording replays with no unit (""): bandpower of it said its unit was '^2' ('log10(^2)' with log),
    a unit of nothing squared; it is "" (unknown) now, as its input's."""
    src = _epochs_file(tmp_path)
    rec = tmp_path / "rec.csv"
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(src), chunk_size=160)
    g.add("recorder", "src", id="rec", path=str(rec))
    g.run()
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(rec), chunk_size=160)
    g.add("bandpower", "src", id="st", window=0.5, hop=0.25, log=log)
    out = g.run(capture=["src.out", "st.out"])
    assert out["src.out"].spec.units == ""
    assert out["st.out"].spec.units == ""


@pytest.mark.parametrize("suffix", ["_raw.fif", ".edf", ".bdf"])
def test_decoder_decisions_recorded_as_markers_replay_with_their_labels_and_times(tmp_path, suffix):
    """ssvep_trial_decoder's decisions on real EEG, recorded as the recording's annotations, replay as markers at
    the decisions' times with their labels (the codes are numbered from the labels: annotations hold text only)."""
    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").pick(["O1..", "Oz..", "O2.."])
    raw.crop(0, 8).load_data()
    raw.set_annotations(mne.Annotations([0.3, 1.6, 3.1, 4.4, 5.9], 0.0, ["go", "go, left", "go", "ü rest", "go"]))
    src = tmp_path / "s_raw.fif"
    raw.save(src, verbose="error")
    rec = tmp_path / f"r{suffix}"
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(src), chunk_size=37)
    g.add("ssvep_trial_decoder", "src", "src.events", id="dec", freqs=[6.0, 7.5], window=0.5, pre=0.2, max_delay=0.5)
    g.add("recorder", "src", "dec.out", id="rec", path=str(rec), events=True)
    live = g.run(capture=["dec.out"])["dec.out"]
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(rec), chunk_size=11)
    again = g.run(capture=["src.events"])["src.events"]
    assert len(live.data) == len(again.data) == 5
    np.testing.assert_allclose(again.data[:, 0], live.data[:, 0], atol=0.5 / 160)  # onsets, to the sample
    np.testing.assert_allclose(again.times, live.times, atol=0.5 / 160)
    np.testing.assert_allclose(again.data[:, 1], live.data[:, 1], atol=1e-6)  # durations
    said = dict(live.spec.labels)
    heard = dict(again.spec.labels)
    assert [heard[int(c)] for c in again.data[:, 2]] == [said[int(c)] for c in live.data[:, 2]]
