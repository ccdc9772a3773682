"""Session 45 probe of the BCI path (car, epochs, the SSVEP trial decoder, its decisions recorded and replayed).

car on a typed stream without EEG (only EOG, bio, ECG/EMG) averaged it, where mne.set_eeg_reference refuses it; a trial
dropped at a gap in the signal (gap_in_trial, gap_in_epoch) was counted only, its marker unsaid, and epochs counted a
marker inside a gap's missing span `outside_data`. Also pinned: decisions on real EEG with markers at the first and
last samples, two in one sample and overlapping trials equal the offline mne.Epochs + FBCCA ones in any chunking, and
a decision recorded into a FIF comes back with the code its label gives (docs/nodes.md, "SSVEP decoders")."""

from __future__ import annotations

import logging

import mne
import numpy as np
import pytest
from conftest import dataset
from wavegraph.models.ssvep import FBCCA, fbcca_bands
from wavegraph.nodes.dsp.channels import CAR, Rereference
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

RATE = 250.0
NAMES = ["O1", "Oz", "O2"]
LABELS = ((1, "left"), (2, "right"))
EVENTS = StreamSpec("events", 0.0, (3,), "float64", labels=LABELS)


# --- car on a stream with no EEG ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "types", [("eog", "eog", "eog"), ("bio", "bio", "bio"), ("ecg", "emg", "eog"), ("eog", "eog", "stim")]
)
def test_car_refuses_a_typed_stream_without_eeg_as_mne(types):
    """car averaged an EOG pair (or a belt and a pulse sensor) and subtracted it from each; MNE refuses."""
    x = np.random.default_rng(0).standard_normal((3, 50))
    raw = mne.io.RawArray(x, mne.create_info(["a", "b", "c"], 100.0, list(types)), verbose="error")
    with pytest.raises(ValueError, match="No EEG"):
        mne.set_eeg_reference(raw, copy=True, verbose="error")
    node = CAR()
    node.node_id = "ref"
    with pytest.raises(SpecError, match=r"car 'ref': the stream has no channel typed eeg") as e:
        node.configure({"in": signal_spec(100.0, ["a", "b", "c"], types)})
    assert all(t in str(e.value) for t in types)
    assert "type them eeg at the source" in e.value.hint and "ref_channels" in e.value.hint


def test_car_still_averages_named_channels_and_untyped_streams():
    """With ref_channels named (the fix the error gives) the average is taken; a stream of misc channels only (a source
    that gives no types: an LSL stream of another type, a CSV) is averaged as before, all but a trigger."""
    x = np.random.default_rng(1).standard_normal((3, 40))
    node = CAR(ref_channels=["a", "b"])
    node.configure({"in": signal_spec(100.0, ["a", "b", "c"], "eog")})
    np.testing.assert_allclose(node.process({"in": Chunk(x, 0.0)})["out"].data, x - x[:2].mean(axis=0), atol=1e-15)
    node = CAR()
    node.configure({"in": signal_spec(100.0, ["a", "b", "c"], "misc")})
    np.testing.assert_allclose(node.process({"in": Chunk(x, 0.0)})["out"].data, x - x.mean(axis=0), atol=1e-15)


def test_a_trigger_beside_untyped_channels_keeps_its_codes():
    """A stream of misc channels (no types given) with a trigger typed stim (array_source ch_types, an EDF's channels
    in no voltage beside 'STI 014'): car averaged the trigger's codes in and re-referenced them, and so did
    rereference to a channel; they pass unchanged, as beside EEG."""
    x = np.array([[1.0, 2.0, 0.5], [3.0, 4.0, -1.0], [5.0, 0.0, 0.0]])
    spec = signal_spec(100.0, ["a", "b", "STI"], ("misc", "misc", "stim"))
    node = CAR()
    node.configure({"in": spec})
    got = node.process({"in": Chunk(x, 0.0)})["out"].data
    np.testing.assert_allclose(got[:2], x[:2] - x[:2].mean(axis=0), atol=1e-15)
    np.testing.assert_array_equal(got[2], x[2])
    node = Rereference(channel="a")
    node.configure({"in": spec})
    got = node.process({"in": Chunk(x, 0.0)})["out"].data
    np.testing.assert_array_equal(got, [x[1] - x[0], x[2]])
    with pytest.raises(SpecError, match="0 channel"):  # triggers only: no average (it averaged their codes)
        CAR().configure({"in": signal_spec(100.0, ["S1", "S2"], "stim")})


# --- trials dropped at a gap: said ---------------------------------------------------------------------------------


def _signal():
    t = np.arange(int(12 * RATE)) / RATE
    noise = 1e-6 * np.random.default_rng(2).standard_normal((3, t.size))
    return 1e-5 * np.sin(2 * np.pi * 6 * t) + noise


MARKERS = np.array([[2.0, 0, 1], [4.5, 0, 2], [5.5, 0, 1], [8.0, 0, 2]])


def _feed(node, x, chunk):
    """Markers first, then 0-5 s, a gap, then 6-12 s, in chunks of `chunk` samples; every output."""
    outs = [node.process({"events": Chunk(MARKERS.copy(), 2.0)})]
    for i in range(0, int(5 * RATE), chunk):
        outs.append(node.process({"in": Chunk(x[:, i : min(i + chunk, int(5 * RATE))], i / RATE)}))
    for k, i in enumerate(range(int(6 * RATE), x.shape[1], chunk)):
        outs.append(node.process({"in": Chunk(x[:, i : i + chunk], i / RATE, gap=k == 0)}))
    return outs + node.finish_all()


def _said(caplog, counter):
    return [r.getMessage() for r in caplog.records if counter in r.getMessage() and r.levelno == logging.WARNING]


@pytest.mark.parametrize("chunk", [1, 50, 4000])
def test_a_trial_dropped_at_a_gap_is_said_once_with_its_marker_and_time(caplog, chunk):
    """gap_in_trial was counted only: a missing decision and no reason. Each trial is said once (not at every chunk
    it waited), with its marker's label and code, its time and the gap, in any chunking."""
    node = SSVEPTrialDecoder(freqs=[6.0, 7.5], window=1.0)
    node.node_id = "dec"
    node.configure({"in": signal_spec(RATE, NAMES), "events": EVENTS})
    with caplog.at_level(logging.WARNING, logger="wavegraph"):
        outs = _feed(node, _signal(), chunk)
    assert [float(r[0]) for o in outs if o and "out" in o for r in o["out"].data] == [2.0, 8.0]
    assert node.counters == {"gap_in_trial": 2}
    said = sorted(_said(caplog, "gap_in_trial"))
    assert len(said) == 2, said
    assert "marker 'right' (code 2) at 4.500 s" in said[1] and "marker 'left' (code 1) at 5.500 s" in said[0]
    assert all("ssvep_trial_decoder 'dec'" in s and "between 4.996 s and 6.000 s" in s for s in said)


def test_an_epoch_dropped_at_a_gap_is_said_and_a_marker_in_the_gap_is_no_outside_data(caplog):
    """epochs: gap_in_epoch said as the decoder's; a marker inside the gap's missing span (5.5 s, samples 0-5 s and
    6-12 s) was counted outside_data, as if the window reached past the recording."""
    node = Epochs(tmin=-0.1, tmax=1.0)
    node.node_id = "ep"
    node.configure({"in": signal_spec(RATE, NAMES), "events": EVENTS})
    with caplog.at_level(logging.WARNING, logger="wavegraph"):
        outs = _feed(node, _signal(), 50)
    assert [float(r[0]) for o in outs if o and "events" in o for r in o["events"].data] == [2.0, 8.0]
    assert node.counters == {"gap_in_epoch": 2}
    said = _said(caplog, "gap_in_epoch")
    assert len(said) == 2 and all("epochs 'ep'" in s and "no epoch" in s for s in said), said
    assert any("marker 'left' (code 1) at 5.500 s" in s for s in said)


def test_the_codes_of_waiting_trials_survive_a_state_round_trip(caplog):
    """The trial's code goes in the state beside its time (`pending_codes`); a state saved before has none: said as
    code '?', decided as before."""
    x = _signal()
    make = lambda: SSVEPTrialDecoder(freqs=[6.0, 7.5], window=1.0)  # noqa: E731
    a = make()
    a.configure({"in": signal_spec(RATE, NAMES), "events": EVENTS})
    a.process({"events": Chunk(MARKERS.copy(), 2.0)})
    a.process({"in": Chunk(x[:, :1000], 0.0)})  # 0-4 s: 4.5 and 5.5 still wait
    state = a.state_dict()
    assert state["pending_codes"].tolist() == [2.0, 1.0, 2.0]
    for drop_codes in (False, True):
        b = make()
        b.configure({"in": signal_spec(RATE, NAMES), "events": EVENTS})
        b.load_state_dict({k: v for k, v in state.items() if not (drop_codes and k == "pending_codes")})
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="wavegraph"):
            b.process({"in": Chunk(x[:, 1000:1250], 4.0)})
            b.process({"in": Chunk(x[:, 1500:], 6.0, gap=True)})
            b.finish_all()
        said = _said(caplog, "gap_in_trial")
        assert len(said) == 2 and b.counters == {"gap_in_trial": 2}
        want = "marker ? at 4.500 s" if drop_codes else "marker 'right' (code 2) at 4.500 s"
        assert any(want in s for s in said), said


# --- real EEG: decisions equal the offline computation -------------------------------------------------------------

OCC = ["O1..", "Oz..", "O2..", "Po3.", "Poz.", "Po4.", "Po7.", "Po8."]
FREQS = [6.0, 7.5, 10.0, 12.0]


def _decide(x, rate, rows, chunk):
    node = SSVEPTrialDecoder(freqs=FREQS, window=1.0, pre=1.0, delay=0.14)
    node.configure({"in": signal_spec(rate, OCC), "events": EVENTS})
    outs = [node.process({"events": Chunk(rows, float(rows[0, 0]))})]
    outs += [node.process({"in": Chunk(x[:, i : i + chunk], i / rate)}) for i in range(0, x.shape[1], chunk)]
    outs += [node.input_ended("in"), node.input_ended("events"), *node.finish_all()]
    ev = np.concatenate([o["out"].data for o in outs if o and "out" in o])
    return ev, np.concatenate([o["scores"].data for o in outs if o and "scores" in o]), node.counters


def test_trial_decisions_on_real_eeg_at_the_edges_equal_mne_epochs_and_fbcca():
    """EEGMMIDB S001R02 (160 Hz): markers at the first sample, two in one sample, overlapping trials, and two with no
    data after them. Scores equal FBCCA on mne.Epochs(raw, events, -pre, delay + window - 1/rate) filtered from zero
    state (the first, which MNE drops as NO_DATA, filtered from the stream start: short_preroll), in any chunking; the
    last two are counted after_end (MNE: TOO_SHORT)."""
    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").pick(OCC).load_data()
    rate, x = raw.info["sfreq"], raw.get_data()
    last = (raw.n_times - 1) / rate
    onsets = [0.0, 5.0, 10.0, 10.0, 12.0, 12.5, 30.0, last - 1.0, last]
    rows = np.array([[t, 0.0, 1.0] for t in onsets])
    raw.set_annotations(mne.Annotations(onsets[1:], 0.0, ["a", "b", "a", "a", "a", "a", "a", "a"]))
    events, _ = mne.events_from_annotations(raw, verbose="error")
    ep = mne.Epochs(
        raw, events, tmin=-1.0, tmax=0.14 + 1.0 - 1 / rate, baseline=None, event_repeated="drop", verbose="error"
    )
    fb = FBCCA(FREQS, rate, 5, fbcca_bands(rate, 5))
    n = int(round(rate))
    first = fb.scores(fb.filter(x[:, : int(round(1.14 * rate))])[..., -n:])
    want = np.array([first, *[fb.scores(fb.filter(e)[..., -n:]) for e in ep.get_data()]])
    want = np.insert(want, 3, want[2], axis=0)  # MNE drops the second marker of a sample; the decoder decides both
    for chunk in (7, x.shape[1]):
        ev, scores, counters = _decide(x, rate, rows, chunk)
        assert ev[:, 0].tolist() == onsets[:7]
        np.testing.assert_allclose(scores, want, rtol=1e-9, atol=1e-12)
        assert (ev[:, 2] == 1 + np.argmax(want, axis=1)).all()
        assert counters == {"short_preroll": 1, "after_end": 2}


def test_decisions_recorded_into_a_fif_come_back_with_the_codes_their_labels_give(tmp_path):
    """Annotations hold text only: a decision's label comes back, its code numbered from the label as file_source numbers
    any annotation (an integer label as itself, the others after the largest integer label), as docs/nodes.md says."""
    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").pick(OCC[:3]).crop(0, 8).load_data()
    raw.set_annotations(mne.Annotations([0.3, 1.6, 3.1, 4.4, 5.9], 0.0, ["go"] * 5))
    raw.save(tmp_path / "s_raw.fif", verbose="error")
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(tmp_path / "s_raw.fif"), chunk_size=37)
    g.add("ssvep_trial_decoder", "src", "src.events", id="dec", freqs=[6.0, 7.5, 12.0], window=0.5, pre=0.2)
    g.add("recorder", "src", "dec.out", id="rec", path=str(tmp_path / "r_raw.fif"), events=True)
    live = g.run(capture=["dec.out"])["dec.out"]
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(tmp_path / "r_raw.fif"))
    again = g.run(capture=["src.events"])["src.events"]
    said, heard = dict(live.spec.labels), dict(again.spec.labels)
    labels = [said[int(c)] for c in live.data[:, 2]]
    assert {"6", "7.5"} <= set(labels)  # (this EEG's decisions: code 1 comes back 6, code 2 comes back 7)
    assert [heard[int(c)] for c in again.data[:, 2]] == labels
    ints = [int(v) for v in set(labels) if v.isdigit()]
    assert {heard[int(c)]: int(c) for c in again.data[:, 2]} == {
        v: int(v) if v.isdigit() else max(ints, default=0) + 1 for v in set(labels)
    }
