"""reject_by_annotation in epochs and ssvep_trial_decoder against mne.Epochs on real files MNE wrote (FIF, EDF):
a window that a BAD_... annotation overlaps is dropped (MNE's default), whatever the chunking and however late
the markers come (within max_delay)."""

import logging

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.testing import default_chunkings

mne = pytest.importorskip("mne")
RATE, TMIN, TMAX = 250.0, -0.2, 0.5
I0, I1 = int(round(TMIN * RATE)), int(round(TMAX * RATE))


def marked_raw():
    """45 s of 4-channel EEG with T1/T2 markers and BAD_ segments: some start inside an epoch after its marker,
    some end inside one, a zero-length one, and two that touch an epoch without overlapping it (MNE keeps it)."""
    rng = np.random.default_rng(7)
    info = mne.create_info(["O1", "Oz", "O2", "Pz"], RATE, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((4, int(45 * RATE))) * 1e-5, info, verbose="error")
    marks = np.round(np.cumsum(rng.uniform(1.5, 2.2, 20)) * RATE) + 250
    on = list(marks / RATE)
    text = [("T1", "T2")[i % 2] for i in range(len(on))]
    m = marks
    bad = [
        ((m[2] + 60) / RATE, 0.3, "BAD_muscle"),  # starts after marker 2, inside its epoch
        ((m[5] - 100) / RATE, 0.33, "BAD_blink"),  # ends inside epoch 5 (starts before it)
        ((m[8] + 10.3) / RATE, 0.0, "bad_jump"),  # zero length, lower case: MNE's rule is startswith("bad")
        ((m[11] + I1 + 1) / RATE, 0.5, "BAD_after"),  # starts at the sample after epoch 11: kept
        ((m[14] + I0) / RATE - 0.4, 0.4, "BAD_before"),  # ends at epoch 14's first sample: kept
        ((m[16] - 300) / RATE, 3.0, "BAD_long"),  # covers epoch 16 and 17 whole
        ((m[19] + 3) / RATE, 0.2, "EDGE_note"),  # not bad: no epoch dropped
    ]
    raw.set_annotations(mne.Annotations(on + [b[0] for b in bad], [0.0] * len(on) + [b[1] for b in bad],
                                        text + [b[2] for b in bad]))  # fmt: skip
    return raw


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    raw = marked_raw()
    raw.save(d / "marked_raw.fif", verbose="error")
    mne.export.export_raw(d / "marked.edf", raw, verbose="error")
    return {"fif": d / "marked_raw.fif", "edf": d / "marked.edf"}


def mne_epochs(path, tmin, tmax, reject=True):
    raw = mne.io.read_raw(path, preload=True, verbose="error")
    events, ids = mne.events_from_annotations(raw, verbose="error")
    ep = mne.Epochs(raw, events, ids, tmin=tmin, tmax=tmax, baseline=None, preload=True, proj=False,
                    reject_by_annotation=reject, verbose="error")  # fmt: skip
    dropped = [log[0] for log in ep.drop_log if log]
    return ep.get_data(copy=True), (ep.events[:, 0] - raw.first_samp) / raw.info["sfreq"], dropped


def replay(path, chunk_size):
    src = FileSource(path=str(path), chunk_size=chunk_size)
    specs = src.configure({})
    reads = []
    while (out := src.read()) is not None:
        reads.append(out)
    src.close()
    return specs, reads


def feed(node, specs, x, events, sizes, lag):
    """The signal in chunks of `sizes`; each marker once the signal is `lag` s past it (-inf: all first);
    the end of the marker stream said (input_ended) once the last marker is in, as the runtime does."""
    node.configure({"in": specs["out"], "events": specs["events"]})
    outs, pos, k = [], 0, 0
    for n in sizes:
        while k < len(events) and events[k, 0] + lag <= pos / RATE:
            outs.append(node.process({"events": Chunk(events[k : k + 1], t0=events[k, 0])}))
            k += 1
        outs.append(node.process({"in": Chunk(x[:, pos : pos + n], t0=pos / RATE)}))
        pos += n
    if k < len(events):
        outs.append(node.process({"events": Chunk(events[k:], t0=events[k, 0])}))
    outs += [node.input_ended("events"), *node.finish_all()]  # (the runtime calls finish_all)
    got = [o for o in outs if o]
    port = "out" if isinstance(node, Epochs) else "scores"
    data = np.concatenate([o[port].data for o in got]) if got else np.zeros((0,))
    rows = np.concatenate([o["events" if port == "out" else "out"].data for o in got]) if got else np.zeros((0, 3))
    return data, rows


@pytest.mark.parametrize("kind", ["fif", "edf"])
def test_epochs_drop_what_mne_epochs_drops_by_annotation(files, kind, caplog):
    ref, ref_onsets, dropped = mne_epochs(files[kind], TMIN, TMAX)
    assert {"BAD_muscle", "BAD_blink", "bad_jump", "BAD_long"} <= set(dropped) and "EDGE_note" not in dropped
    specs, reads = replay(files[kind], 4096)
    x = np.concatenate([r["out"].data for r in reads], axis=1)
    events = np.concatenate([r["events"].data for r in reads if "events" in r])
    n = x.shape[1]
    for sizes in [[n], *default_chunkings(n)]:
        for lag in (-np.inf, 0.0, 0.3, 2.5):  # markers ahead of the signal, with it, behind it (within max_delay)
            if lag > -np.inf and max(sizes) > 6 * RATE:
                continue  # a marker after a chunk of over 7.5 s is late (max_delay 10 s), here and in MNE's absence
            node = Epochs(tmin=TMIN, tmax=TMAX)
            with caplog.at_level(logging.WARNING, logger="wavegraph.epochs"):
                caplog.clear()
                got, rows = feed(node, specs, x, events, sizes, lag)
            np.testing.assert_allclose(rows[:, 0], ref_onsets, rtol=0, atol=0.5 / RATE, err_msg=f"{sizes[:4]} {lag}")
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=0)
            segments = len(events) - len(ref) - len(dropped)  # the BAD_/EDGE rows: no epoch of their own
            assert node.counters == {"bad_segment": len(dropped), "ignored_marker": segments}, node.counters
            said = [r.getMessage() for r in caplog.records if "overlaps the segment" in r.getMessage()]
            assert len(said) == 1 and "'BAD_muscle'" in said[0] and "bad_segment" in said[0], said
    # reject_by_annotation: false keeps them all, as MNE's
    ref_all, onsets_all, _ = mne_epochs(files[kind], TMIN, TMAX, reject=False)
    node = Epochs(tmin=TMIN, tmax=TMAX, reject_by_annotation=False)
    got, rows = feed(node, specs, x, events, [37] * (n // 37) + [n % 37], 0.3)
    assert len(rows) == len(onsets_all) == len(ref) + len(dropped)
    np.testing.assert_allclose(got, ref_all, rtol=1e-10, atol=0)
    assert "bad_segment" not in node.counters


@pytest.mark.parametrize("chunk_size", [7, 64, 1000])
def test_a_replayed_file_through_the_runtime_gives_mnes_epochs(files, chunk_size):
    ref, ref_onsets, dropped = mne_epochs(files["fif"], TMIN, TMAX)
    g = GraphBuilder()
    src = g.add("file_source", path=str(files["fif"]), chunk_size=chunk_size)
    ep = g.add("epochs", f"{src}.out", f"{src}.events", tmin=TMIN, tmax=TMAX)
    out = g.run(capture=[f"{ep}.out", f"{ep}.events"])
    np.testing.assert_allclose(out[f"{ep}.out"].data, ref, rtol=1e-10, atol=0)
    np.testing.assert_allclose(out[f"{ep}.events"].data[:, 0], ref_onsets, rtol=0, atol=0.5 / RATE)


def test_ssvep_trial_decoder_skips_the_trials_mne_epochs_drops(files):
    """The trial reads [marker - pre, marker + delay + window): it is dropped where mne.Epochs over that span drops
    it; the decisions on the others are those of reject_by_annotation: false."""
    pre, delay, window = 1.0, 0.14, 0.5
    last = (int(round(delay * RATE)) + int(round(window * RATE)) - 1) / RATE
    _, ref_onsets, dropped = mne_epochs(files["fif"], -pre, last)
    assert len(dropped) >= 5
    specs, reads = replay(files["fif"], 4096)
    x = np.concatenate([r["out"].data for r in reads], axis=1)
    events = np.concatenate([r["events"].data for r in reads if "events" in r])
    params = dict(freqs=[8.0, 12.0], window=window, delay=delay, pre=pre, n_bands=2)
    n = x.shape[1]
    every = SSVEPTrialDecoder(**params, reject_by_annotation=False)
    all_scores, all_rows = feed(every, specs, x, events, [n], -np.inf)
    assert len(all_rows) == len(ref_onsets) + len(dropped) and "bad_segment" not in every.counters
    keep = np.isin(np.round(all_rows[:, 0] * RATE), np.round(ref_onsets * RATE))
    for sizes in default_chunkings(n)[1:3]:
        for lag in (-np.inf, 0.4):
            node = SSVEPTrialDecoder(**params)
            scores, rows = feed(node, specs, x, events, sizes, lag)
            np.testing.assert_allclose(rows[:, 0], ref_onsets, rtol=0, atol=0.5 / RATE)
            np.testing.assert_allclose(scores, all_scores[keep], rtol=1e-10, atol=0)
            assert node.counters["bad_segment"] == len(dropped), node.counters


def test_state_round_trip_keeps_the_segments_and_the_waiting_epoch(files):
    """A state saved while an epoch waits for the marker stream (and a segment is held) resumes to MNE's epochs; a
    state saved before reject_by_annotation (no segment fields) still loads."""
    ref, ref_onsets, _ = mne_epochs(files["fif"], TMIN, TMAX)
    specs, reads = replay(files["fif"], 97)
    reads = [{"in": r["out"], **({"events": r["events"]} if "events" in r else {})} for r in reads]
    a = Epochs(tmin=TMIN, tmax=TMAX)
    a.configure({"in": specs["out"], "events": specs["events"]})
    half = len(reads) // 2
    outs = [a.process(r) for r in reads[:half]]
    saved = a.state_dict()
    assert len(saved["pending"]) and len(saved["bad"]) + len(saved["pending"]) > 0
    b = Epochs(tmin=TMIN, tmax=TMAX)
    b.configure({"in": specs["out"], "events": specs["events"]})
    b.load_state_dict(saved)
    outs += [b.process(r) for r in reads[half:]] + [b.finish()]
    np.testing.assert_allclose(np.concatenate([o["out"].data for o in outs if o]), ref, rtol=1e-10, atol=0)
    old = {k: v for k, v in saved.items() if k not in ("bad", "marked", "markers_ended")}
    c = Epochs(tmin=TMIN, tmax=TMAX)
    c.configure({"in": specs["out"], "events": specs["events"]})
    c.load_state_dict(old)
    assert c.state.marked == -np.inf and not len(c.state.bad)
