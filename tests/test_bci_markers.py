"""Marker streams through files: trigger-channel events in file_source, markers saved by the recorder as
FIF annotations (and recovered after a crash), read back by file_source with their labels. Real EEG
(EEGMMIDB S001R02) with a trigger channel added."""

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

mne = pytest.importorskip("mne")
PULSES = [(160, 1), (500, 2), (1234, 1), (1500, 3)]  # (sample, code)


@pytest.fixture(scope="module")
def fif_with_trigger(tmp_path_factory):
    from wavegraph.pipeline.datasets import fetch

    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error").crop(0, 12.0)
    raw.pick(["C3..", "Cz..", "C4..", "Oz.."])
    stim = np.zeros((1, raw.n_times))
    for s, code in PULSES:
        stim[0, s : s + 8] = code
    raw.add_channels([mne.io.RawArray(stim, mne.create_info(["STI 014"], raw.info["sfreq"], "stim"), verbose="error")])
    raw.set_annotations(mne.Annotations([2.0, 9.5], [0.5, 0.0], ["rest", "blink"]))
    path = tmp_path_factory.mktemp("trig") / "trigger_raw.fif"
    raw.save(path, verbose="error")
    return path, raw


def replay(src):
    specs = src.configure({})
    chunks, events = [], []
    while (r := src.read()) is not None:
        chunks.append(r["out"])
        if "events" in r:
            events.append(r["events"])
    return specs, chunks, events


def test_stim_channel_steps_and_annotations_become_events(fif_with_trigger):
    path, raw = fif_with_trigger
    specs, chunks, events = replay(FileSource(path=str(path), stim_channel="STI 014", picks=["eeg"], chunk_size=100))
    rows = np.concatenate([e.data for e in events])
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    labels = dict(specs["events"].labels)
    assert labels == {1: "1", 2: "2", 3: "3", 4: "blink", 5: "rest"}  # annotation codes after the trigger codes
    sf = raw.info["sfreq"]
    want = sorted([(s / sf, 0.0, c) for s, c in PULSES] + [(2.0, 0.5, 5), (9.5, 0.0, 4)])
    np.testing.assert_allclose(rows, np.array(want, dtype=float), atol=1e-9)
    for e in events:  # each event goes out with the signal chunk that holds its sample
        assert all(e.t0 <= r[0] + 1e-9 for r in e.data)
    with pytest.raises(SpecError, match="no stim channel 'STI 999'"):
        FileSource(path=str(path), stim_channel="STI 999").configure({})


def test_recorder_saves_markers_as_annotations_read_back_by_file_source(fif_with_trigger, tmp_path):
    path, raw = fif_with_trigger
    specs, chunks, events = replay(FileSource(path=str(path), stim_channel="STI 014", picks=["eeg"], chunk_size=64))
    out = tmp_path / "session_raw.fif"
    rec = Recorder(path=str(out), events=True)
    assert rec.inputs == ("in", "events")
    rec.configure({"in": specs["out"], "events": specs["events"]})
    early = Chunk(np.array([[-1.0, 0.0, 1.0]]), t0=-1.0)  # before the first sample: left out
    rec.process({"events": early})
    for c in chunks:
        rec.process({"in": c})
    for e in events:  # markers may arrive after the samples (as from LSL), in any order
        rec.process({"events": e})
    rec.close()
    back = mne.io.read_raw_fif(out, preload=True, verbose="error")
    np.testing.assert_array_equal(back.get_data(), np.concatenate([c.data for c in chunks], axis=1))
    ann = [(round(o, 6), d) for o, d in zip(back.annotations.onset - back.first_time, back.annotations.description)]
    sf = raw.info["sfreq"]
    assert ann == sorted([(round(s / sf, 6), str(c)) for s, c in PULSES] + [(2.0, "rest"), (9.5, "blink")])
    # file_source gives the same markers, labels included, on the same clock
    specs2, _, events2 = replay(FileSource(path=str(out)))
    rows2 = np.concatenate([e.data for e in events2])
    labels2 = dict(specs2["events"].labels)
    assert [(round(r[0], 6), labels2[int(r[2])]) for r in rows2] == ann
    # the marker before the first sample is left out of the FIF, as MNE does: the marker log stays beside it, holding it
    # (it was deleted, that marker with it; tests/test_leftovers_session28.py)
    log = (tmp_path / "session_raw.fif.events.csv").read_text().splitlines()
    assert log[1] == "-1.0,0.0,1,1" and len(log) == 1 + 1 + len(rows2)


def test_recover_keeps_the_markers(fif_with_trigger, tmp_path):
    path, raw = fif_with_trigger
    specs, chunks, events = replay(FileSource(path=str(path), stim_channel="STI 014", picks=["eeg"], chunk_size=64))
    out = tmp_path / "crashed_raw.fif"
    rec = Recorder(path=str(out), events=True)
    rec.configure({"in": specs["out"], "events": specs["events"]})
    for c in chunks[:20]:
        rec.process({"in": c})
    rec.process({"events": events[0]})
    rec._file.flush()  # the process dies here: no close()
    recover(out)
    back = mne.io.read_raw_fif(out, verbose="error")
    assert list(back.annotations.description) == ["1"] and back.n_times == 20 * 64


def test_events_input_needs_a_fif_target(tmp_path):
    rec = Recorder(path=str(tmp_path / "x.npz"), events=True)
    with pytest.raises(SpecError, match="writes FIF annotations"):
        rec.configure({"in": StreamSpec("signal", 100.0, (2,)), "events": StreamSpec("events", 0.0, (3,))})


def test_a_trigger_channel_feeds_epochs_as_annotations_do(fif_with_trigger, tmp_path):
    # a recording whose markers are only on its trigger channel (no annotations), graph without stim_channel:
    # the epochs node got no markers at all (0 epochs, nothing said); now, as mne.find_events(raw), STI 014 is read
    from wavegraph.pipeline.api import GraphBuilder

    _, raw = fif_with_trigger
    path = tmp_path / "trigger_only_raw.fif"
    raw.copy().set_annotations(None).save(path, verbose="error")
    back = mne.io.read_raw_fif(path, preload=True, verbose="error")
    want = mne.Epochs(back, mne.find_events(back), tmin=-0.1, tmax=0.3, baseline=None, picks="eeg", verbose="error")
    g = GraphBuilder()
    src = g.add("file_source", path=str(path), picks=["eeg"], chunk_size=50)
    ep = g.add("epochs", src, f"{src}.events", tmin=-0.1, tmax=0.3)
    out = g.run(capture=[f"{ep}.out", f"{ep}.events"])
    np.testing.assert_allclose(out[f"{ep}.out"].data, want.get_data(), rtol=1e-12)
    assert out[f"{ep}.events"].data[:, 2].tolist() == [c for _, c in PULSES]
    assert dict(out[f"{ep}.events"].spec.labels) == {1: "1", 2: "2", 3: "3"}


def test_stim_channel_on_an_epochs_file_is_an_error_not_ignored(tmp_path):
    from wavegraph.pipeline.datasets import fetch

    with pytest.raises(SpecError, match="holds epochs.*stim_channel 'STI 014' is not read"):
        FileSource(path=str(fetch("ssvepy-epochs")), stim_channel="STI 014").configure({})
