"""Broken and unusual inputs, a fifth sweep: what a recording keeps of a live session (gaps, marker codes) and
MNE's own marks (BAD_ annotations, concatenation boundaries) when it is replayed. Each test failed before its fix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from wavegraph.nodes.io.xdf import XdfStream, write_xdf
from wavegraph.pipeline.api import GraphBuilder


def _events(path, **params) -> tuple[np.ndarray, dict[int, str]]:
    """(event rows, code -> label) file_source gives for a file."""
    from wavegraph.nodes.io.file_source import FileSource

    src = FileSource(path=str(path), **params)
    spec = src.configure({})["events"]
    rows = [c["events"].data for c in iter(src.read, None) if "events" in c]
    return (np.concatenate(rows) if rows else np.zeros((0, 3))), {int(c): t for c, t in spec.labels}


def test_a_recording_of_a_stream_with_gaps_replays_as_the_live_stream_ran(tmp_path):
    """The recorder marks a chunk flagged gap (an outlet lost, an epoch) with a zero-length 'gap' annotation, but
    file_source replayed the file as one continuous stream with 'gap' as a marker: no gap flag (so epochs, the SSVEP
    decoders and models ran across what live they had not) and an epochs node cut a trial at every 'gap'."""
    import mne

    info = mne.create_info(["O1", "Oz", "O2"], 250.0, "eeg")
    x = np.random.default_rng(0).standard_normal((3, 3, 500)) * 1e-5
    events = np.array([[0, 0, 1], [500, 0, 2], [1000, 0, 1]])
    mne.EpochsArray(x, info, events, event_id={"a": 1, "b": 2}, verbose="error").save(tmp_path / "s-epo.fif")

    def run(path, record=None):
        g = GraphBuilder()
        src = g.add("file_source", path=str(path), chunk_size=32)
        ep = g.add("epochs", f"{src}.out", f"{src}.events", tmin=0.0, tmax=0.2)
        if record:
            g.connect(f"{src}.events", g.add("recorder", f"{src}.out", path=str(record), events=True) + ".events")
        out = g.run(capture=[f"{src}.out", f"{src}.events", f"{ep}.out"])
        return out[f"{src}.out"], out[f"{src}.events"], out[f"{ep}.out"]

    live = run(tmp_path / "s-epo.fif", record=tmp_path / "s_raw.fif")
    assert "BAD boundary" in mne.io.read_raw(tmp_path / "s_raw.fif", verbose="error").annotations.description
    replay = run(tmp_path / "s_raw.fif")
    assert replay[0].gaps == live[0].gaps == [2.0, 4.0]
    np.testing.assert_array_equal(replay[0].data, live[0].data)
    np.testing.assert_array_equal(replay[1].data, live[1].data)  # the trials' markers, no 'gap' among them
    assert replay[2].data.shape == live[2].data.shape == (3, 3, 51)  # three trials, as live


@pytest.mark.parametrize("suffix", [".edf", "_raw.fif"])
def test_a_gap_replays_at_its_sample_whatever_digits_the_file_keeps_of_its_time(tmp_path, suffix):
    """The gap at sample 3001 of a 44.1 kHz recording is kept as 0.068049887 s (3001.005 samples): the first fix,
    which took the sample at or after the onset (for EEGLAB's boundaries, between two samples), put it at 3002."""
    import mne

    info = mne.create_info(["mic"], 44100.0, "misc")
    x = np.random.default_rng(2).standard_normal((2, 1, 3001)) * 1e-3
    mne.EpochsArray(x, info, verbose="error").save(tmp_path / "a-epo.fif")
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / "a-epo.fif"), chunk_size=64)
    g.add("recorder", src, path=str(tmp_path / f"a{suffix}"))
    live = g.run(capture=[src])[f"{src}.out"]
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / f"a{suffix}"), chunk_size=64)
    assert g.run(capture=[src])[f"{src}.out"].gaps == live.gaps == [3001 / 44100]


def test_bad_annotations_shift_no_code_of_the_others(tmp_path):
    """A BAD_ annotation (a segment marked in MNE's browser), which mne.events_from_annotations leaves out, took code
    1 in the replay, so 'T1' was code 2 there and 1 in MNE: an epochs node given MNE's codes cut the wrong trials."""
    import mne

    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(1).standard_normal((2, 1000)) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations([1, 2, 3, 4], [0, 0.5, 0, 0], ["T1", "BAD_muscle", "T2", "T1"]))
    raw.save(tmp_path / "marked_raw.fif", verbose="error")
    mne_events, ids = mne.events_from_annotations(raw, verbose="error")
    rows, labels = _events(tmp_path / "marked_raw.fif", chunk_size=64)
    assert [labels[int(c)] for c in rows[:, 2]] == ["T1", "BAD_muscle", "T2", "T1"]  # still replayed, after the rest
    np.testing.assert_array_equal(rows[[0, 2, 3], 2], mne_events[:, 2])
    assert all(labels[c] == d for d, c in ids.items())


def test_mnes_concatenation_boundary_is_a_gap_not_two_markers(tmp_path):
    """mne.concatenate_raws marks the join 'BAD boundary' / 'EDGE boundary' (MNE filters and epochs each side apart):
    the replay ran on across it unflagged and gave both marks as events."""
    import mne

    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(1).standard_normal((2, 1000)) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations([1, 4], [0, 0], ["T1", "T2"]))
    both: Any = mne.concatenate_raws([raw.copy(), raw.copy()], verbose="error")
    both.save(tmp_path / "two_runs_raw.fif")
    rows, labels = _events(tmp_path / "two_runs_raw.fif", chunk_size=64)
    assert [labels[int(c)] for c in rows[:, 2]] == ["T1", "T2", "T1", "T2"]
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / "two_runs_raw.fif"), chunk_size=64)
    assert g.run(capture=[src])[f"{src}.out"].gaps == [10.0]  # the join of the two runs


def test_integer_markers_keep_their_code_beside_word_markers_as_live(tmp_path):
    """lsl_inlet reads a marker '11' as code 11 live; the XDF LabRecorder wrote of the same session numbered the
    sorted texts 1..k once a word marker ('start') was among them, so '11' replayed as code 1 and an epochs node
    with codes [11, 12] cut no trial of the replay."""
    fs, n = 250.0, 2500
    eeg = XdfStream("amp", "EEG", fs, np.zeros((n, 2), np.float32), 10 + np.arange(n) / fs, "float32", ["O1", "O2"])
    texts = ["start", "11", "12", "11", "stop"]
    mk = XdfStream("stim", "Markers", 0.0, texts, [10.5, 11, 12, 13, 19], "string")
    rows, labels = _events(write_xdf(tmp_path / "session.xdf", [eeg, mk]))
    assert [labels[int(c)] for c in rows[:, 2]] == texts
    assert rows[1:4, 2].tolist() == [11, 12, 11]
    assert {labels[int(rows[0, 2])], labels[int(rows[4, 2])]} == {"start", "stop"} and min(rows[[0, 4], 2]) > 12


@pytest.mark.parametrize(
    ("texts", "codes"),
    [
        (["2", "1", "2"], [2, 1, 2]),  # every text an integer: its value (unchanged)
        (["b", "a"], [2, 1]),  # none: 1..k over the sorted texts (unchanged, MNE's)
        (["1", "01", "x"], [2, 1, 3]),  # two texts of one value: numbered, as before
    ],
)
def test_marker_codes_unchanged_where_nothing_is_mixed(texts, codes):
    from wavegraph.nodes.io.marker_codes import codes_for

    c = codes_for(texts)
    assert [c[t] for t in texts] == codes


def test_what_mne_says_of_a_file_is_one_line_said_once_in_a_multi_process_run(tmp_path):
    """MNE's warnings on reading a file (a header date that is no date, renamed duplicate channels) were passed on as
    Python warnings: printed with the line of wavegraph's code that gave them, and again by the worker process."""
    import subprocess
    import sys

    from test_inputs_attack import _edf  # pyright: ignore[reportMissingImports]

    path = _edf(tmp_path / "rec.edf", [("Cz", np.arange(200) % 50, 100)], 2)
    raw = bytearray(path.read_bytes())
    raw[168:176] = b"31.02.20"  # 31 February
    path.write_bytes(bytes(raw))
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: rec.edf}}\n  - {id: out, type: null_sink}\n"
        "edges:\n  - {source: src.out, target: out.in}\nprocesses: {a: [src], b: [out]}\n"
    )
    cmd = [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(graph), "--no-status"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "date" in line]  # (MNE's words in ours since 63ad5c7)
    assert len(said) == 1 and said[0].startswith("file_source: rec.edf: its start date field"), done.stderr
    assert "readers.py" not in done.stderr


def test_epochs_by_default_cut_at_mnes_events_not_at_bad_segments(tmp_path):
    """With no `codes`, epochs (and ssvep_trial_decoder) cut a trial at every marker, a BAD_muscle segment's start
    among them: mne.Epochs(raw, *mne.events_from_annotations(raw)) has no such epoch (MNE leaves BAD_ out)."""
    import mne

    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(3).standard_normal((2, 1000)) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations([1, 2, 3, 4], [0, 0.5, 0, 0], ["T1", "BAD_muscle", "T2", "T1"]))
    raw.save(tmp_path / "marked_raw.fif", verbose="error")
    raw = mne.io.read_raw(tmp_path / "marked_raw.fif", preload=True, verbose="error")
    # reject_by_annotation off: an epoch at the BAD_ segment's start would be dropped as overlapping it, hiding the cut
    events = mne.events_from_annotations(raw, verbose="error")
    ref = mne.Epochs(raw, *events, tmin=-0.2, tmax=0.5, baseline=None, reject_by_annotation=False)
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / "marked_raw.fif"), chunk_size=32)
    ep = g.add("epochs", f"{src}.out", f"{src}.events", tmin=-0.2, tmax=0.5, reject_by_annotation=False)
    trial = g.add(
        "ssvep_trial_decoder", f"{src}.out", f"{src}.events", freqs=[8.0, 12.0], window=0.5, n_bands=1,
        reject_by_annotation=False,
    )  # fmt: skip
    out = g.run(capture=[f"{ep}.out", f"{trial}.out"])
    np.testing.assert_allclose(out[f"{ep}.out"].data, ref.get_data(verbose="error"), rtol=1e-10, atol=0)
    np.testing.assert_allclose(out[f"{trial}.out"].times, [1.0, 3.0, 4.0])  # one decision per MNE event


def test_eeglabs_boundary_is_a_gap_and_a_boundary_marker_elsewhere_is_a_marker(tmp_path):
    """An EEGLAB 'boundary' event (data cut out in EEGLAB) replayed as a marker across an unflagged splice; a FIF
    marker a user named 'boundary' stays a marker."""
    import mne
    import scipy.io

    x = np.random.default_rng(4).standard_normal((2, 2000)).astype(np.float32)
    x.T.tofile(tmp_path / "cut.fdt")  # samples of channels
    ev = np.zeros(2, dtype=[("type", "O"), ("latency", "f8"), ("duration", "f8")])
    ev[0], ev[1] = ("stim", 200.0, 0.0), ("boundary", 1000.5, 300.0)  # 3 s removed after sample 1000 (1-based)
    chans = np.zeros(2, dtype=[("labels", "O")])
    chans["labels"] = ["C3", "C4"]
    eeg = {"setname": "cut", "nbchan": 2.0, "pnts": 2000.0, "trials": 1.0, "srate": 100.0, "xmin": 0.0}
    eeg |= {"xmax": 19.99, "data": "cut.fdt", "event": ev, "chanlocs": chans, "icawinv": [], "icasphere": []}
    scipy.io.savemat(tmp_path / "cut.set", eeg | {"icaweights": [], "ref": "common"}, appendmat=False)
    raw = mne.io.RawArray(x.astype(np.float64), mne.create_info(["C3", "C4"], 100.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([10.0], [0.0], ["boundary"]))
    raw.save(tmp_path / "marker_raw.fif", verbose="error")
    for name, gaps, labels in (("cut.set", [10.0], ["stim"]), ("marker_raw.fif", [], ["boundary"])):
        rows, codes = _events(tmp_path / name, chunk_size=64)
        assert [codes[int(c)] for c in rows[:, 2]] == labels
        g = GraphBuilder()
        src = g.add("file_source", path=str(tmp_path / name), chunk_size=64)
        assert g.run(capture=[src])[f"{src}.out"].gaps == gaps


@pytest.mark.parametrize(("size", "fix"), [("1kB", "write one, e.g. 500MB or 2GB"), ("3GB", "give a size up to 2GB")])
def test_a_bad_split_size_gets_a_fix_that_is_one(tmp_path, monkeypatch, capsys, size, fix):
    """`--set rec.split_size=1kB` said '...; fix: give a str': it was one."""
    from wavegraph.pipeline.cli import main

    monkeypatch.chdir(tmp_path)
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: sine, params: {duration: 1}}\n  - {id: rec, type: recorder, params: {path: "
        "x_raw.fif}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    assert main(["validate", str(graph), "--set", f"rec.split_size={size}"]) == 2
    err = capsys.readouterr().err
    assert f"; fix: {fix}" in err and "give a str" not in err, err


def test_a_cycle_names_its_own_nodes_not_those_after_it(tmp_path, monkeypatch, capsys):
    """A feedback loop src -> j -> a -> b -> j with a branch a -> sink said 'cycle through nodes a, j, b, sink':
    the sink, which only waits on the loop, is no part of it."""
    from wavegraph.pipeline.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop.yaml").write_text(
        "nodes:\n  - {id: src, type: sine, params: {duration: 1}}\n  - {id: j, type: join}\n"
        "  - {id: a, type: lowpass, params: {freq: 30}}\n  - {id: b, type: lowpass, params: {freq: 20}}\n"
        "  - {id: sink, type: null_sink}\nedges:\n  - {source: src.out, target: j.a}\n"
        "  - {source: j.out, target: a.in}\n  - {source: a.out, target: b.in}\n  - {source: b.out, target: j.b}\n"
        "  - {source: a.out, target: sink.in}\n"
    )
    assert main(["validate", "loop.yaml"]) == 2
    err = capsys.readouterr().err
    assert "cycle through nodes j, a, b (edge" in err, err


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_an_edf_of_more_channels_than_its_header_holds_is_refused_at_build(tmp_path, suffix):
    """10,000 channels (with the annotations' signal: 10,001, in a 4-digit header field) were recorded to an EDF whose
    header said '1000' signals: the run ended well and no reader could read the file ('ch6500' read as a number)."""
    from wavegraph.pipeline.config import GraphError

    g = GraphBuilder()
    src = g.add("array_source", data=np.zeros((10000, 10)), rate=100.0, ch_types="eeg")
    g.add("recorder", src, path=str(tmp_path / f"many{suffix}"))
    with pytest.raises(GraphError, match=r"holds at most 9998 channels.*10000.*fix: record to \.npz or _raw\.fif"):
        g.run()
    assert not list(tmp_path.iterdir())


def test_a_fif_recording_of_a_third_of_1000_hz_resamples_on_replay_as_live(tmp_path):
    """FIF keeps its rate in float32: a 1000/3 Hz stream (1 kHz resampled by 1/3) came back at 333.333343506 Hz, and
    the live graph's next step, resample to 100 Hz (3/10 live), was refused on replay (up/down 5e14/1.7e15)."""
    g = GraphBuilder()
    third = g.add("resample", g.add("sine", rate=1000.0, duration=2.0, freq=7.0), up=1, down=3)
    g.add("recorder", third, path=str(tmp_path / "third_raw.fif"))
    live = g.run(capture=[g.add("resample", third, rate=100.0)])
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / "third_raw.fif"))
    replay = g.run(capture=[src, g.add("resample", src, rate=100.0)])
    assert replay[f"{src}.out"].spec.rate == 1000 / 3
    (ref,), (out,) = live.values(), [v for k, v in replay.items() if not k.startswith(src)]
    np.testing.assert_allclose(out.times, ref.times, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out.data, ref.data, rtol=0, atol=1e-6)  # the file's float32 samples


def test_join_of_two_recordings_that_started_apart_says_the_offset_to_give(tmp_path, caplog):
    """Two files replay each from time 0: a recording and a copy cut from it 2 s in (first_samp 200) were joined
    sample 0 to sample 0, 2 s off, without a word, though their meas_date and first sample say where each starts."""
    import mne

    info = mne.create_info(["C3"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(5).standard_normal((1, 1000)) * 1e-5, info, verbose="error")
    raw.set_meas_date(1.7e9)
    raw.save(tmp_path / "a_raw.fif", verbose="error")
    raw.copy().crop(tmin=2.0).save(tmp_path / "b_raw.fif", verbose="error")

    def joined(**offsets):
        g = GraphBuilder()
        a, b = (g.add("file_source", path=str(tmp_path / f"{p}_raw.fif"), chunk_size=50) for p in "ab")
        j = g.add("join", a, b, offsets=offsets)
        return g.run(capture=[j])[f"{j}.out"]

    joined()
    assert "input 'b' started 2 s after input 'a'" in caplog.text and "offsets: {b: 2}" in caplog.text
    caplog.clear()
    out = joined(b=2.0)  # the fix it gives: the two copies of C3 line up
    assert "started" not in caplog.text
    np.testing.assert_allclose(out.data[0], out.data[1], rtol=1e-9, atol=0)
    assert out.times[0] == 2.0


def test_a_recording_of_a_join_keeps_the_date_of_the_reference_recording(tmp_path):
    """join's output spec carried no meas_date: a FIF recorder after it wrote the time of the run as the date of a
    replayed 2023 recording (the filters and resample keep it)."""
    import mne

    info = mne.create_info(["C3"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(6).standard_normal((1, 500)) * 1e-5, info, verbose="error")
    raw.set_meas_date(1.7e9)  # 2023-11-14 22:13:20 UTC
    raw.save(tmp_path / "a_raw.fif", verbose="error")
    g = GraphBuilder()
    a, b = (g.add("file_source", path=str(tmp_path / "a_raw.fif")) for _ in range(2))
    g.add("recorder", g.add("join", a, b), path=str(tmp_path / "j_raw.fif"))
    g.run()
    assert mne.io.read_raw(tmp_path / "j_raw.fif", verbose="error").info["meas_date"] == raw.info["meas_date"]


def test_a_paused_brainvision_recording_replays_with_a_gap_where_it_resumed(tmp_path):
    """BrainVision Recorder marks a pause (between blocks) with a 'New Segment' marker where recording resumed: the
    replay ran across it as if the samples were continuous (filters across the jump, epochs spanning it)."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    vhdr = _brainvision(tmp_path, [("S  1", 100), ("S  2", 300)])
    with open(tmp_path / "rec.vmrk", "a") as f:
        f.write("Mk4=New Segment,,251,1,0,20240101120005000000\n")  # resumed at sample 250, 5 s later
    rows, labels = _events(vhdr, chunk_size=64)
    assert [labels[int(c)] for c in rows[:, 2]] == ["Stimulus/S  1", "New Segment/", "Stimulus/S  2"]  # MNE's
    g = GraphBuilder()
    src = g.add("file_source", path=str(vhdr), chunk_size=64)
    assert g.run(capture=[src])[f"{src}.out"].gaps == [1.0]
