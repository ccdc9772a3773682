"""A BCI researcher replays recorded EEG files through a graph to evaluate the online pipeline offline (as with
MNE-LSL's PlayerLSL, Timeflux's replay nodes or ezmsg): what went wrong, each found with a tiny file in tmp_path."""

from __future__ import annotations

import os

import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)
import numpy as np
import pytest
from wavegraph.pipeline.api import GraphBuilder

os.environ.setdefault("LSLAPICFG", lsl_loopback.config())  # LSL on loopback, before pylsl is first imported


def _fif(tmp_path, n: int = 200, rate: float = 100.0, onsets=(0.5, 1.2), first_samp: int = 0):
    """A small FIF of 2 EEG channels with integer-coded annotations."""
    import mne

    info = mne.create_info(["Fz", "Cz"], rate, "eeg")
    x = np.random.default_rng(0).standard_normal((2, n)) * 1e-5
    raw = mne.io.RawArray(x, info, first_samp=first_samp, verbose="error")
    raw.set_annotations(mne.Annotations(list(onsets), [0.0] * len(onsets), [str(i + 1) for i in range(len(onsets))]))
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    return path, x


# --- GraphBuilder.add wired its inputs by the class's ports, not the node's ------------------------------------------


def test_add_connects_a_recorders_events_input_when_events_is_true(tmp_path):
    """g.add('recorder', src, 'src.events', events=True) was refused: "has 1 inputs (in), got 2; fix: connect fewer"
    (the class's ports), though the recorder with `events: true` has two (in, events): the replay's markers could only
    be recorded through connect(). The node's own ports, as its parameters make them, take the inputs now."""
    import mne

    path, x = _fif(tmp_path)
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(path), chunk_size=16)
    out = tmp_path / "copy_raw.fif"
    g.add("recorder", "src", "src.events", id="rec", path=str(out), events=True)
    g.run()
    raw = mne.io.read_raw_fif(out, verbose="error")
    np.testing.assert_allclose(raw.get_data(), x, rtol=1e-6, atol=0)  # (FIF single precision)
    np.testing.assert_allclose(raw.annotations.onset - raw.first_time, [0.5, 1.2], atol=1e-6)


def test_add_connects_a_joins_named_inputs_in_order(tmp_path):
    """g.add('join', a, b, inputs=['eeg', 'aux']) connected a and b to join.a and join.b (the class's default ports),
    and the graph was refused: "node 'j' has no input port 'a'"; three inputs were refused outright."""
    g = GraphBuilder()
    for i in range(3):
        g.add("sine", id=f"s{i}", rate=100.0, channels=[f"c{i}"], duration=0.2, freq=float(i + 1))
    g.add("join", "s0", "s1", "s2", id="j", inputs=["eeg", "aux", "acc"])
    got = g.run(capture=["j.out"])["j.out"]
    assert got.spec.channel_names == ("c0", "c1", "c2")
    assert got.data.shape == (3, 20)


def test_add_still_says_too_many_inputs_for_a_node_of_fixed_ports():
    g = GraphBuilder()
    g.add("sine", id="s0", duration=0.1)
    g.add("sine", id="s1", duration=0.1)
    with pytest.raises(Exception, match=r"has 1 inputs \(in\), got 2"):
        g.add("bandpass", "s0", "s1", l_freq=1.0, h_freq=40.0)


# --- chunk_duration given over a graph file's chunk_size ----------------------------------------------------------


def test_chunk_duration_set_over_a_files_chunk_size_says_how_to_drop_it(tmp_path, monkeypatch, capsys):
    """`--set eeg.chunk_duration=0.5` on a replay graph that gives chunk_size (as configs/default.yaml does) said
    "give chunk_size or chunk_duration, not both; fix: `wavegraph nodes file_source` lists its parameters": no way to
    drop the file's chunk_size from the command line was given. The fix says it (chunk_size=null), and it works."""
    from wavegraph.pipeline.cli import main

    path, _ = _fif(tmp_path)
    graph = tmp_path / "g.yaml"
    graph.write_text(
        f"name: t\nnodes:\n  - id: eeg\n    type: file_source\n    params: {{path: {path}, chunk_size: 16}}\n"
        "  - id: bp\n    type: bandpass\n    params: {l_freq: 1.0, h_freq: 40.0}\n"
        "edges:\n  - {source: eeg.out, target: bp.in}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(graph), "--set", "eeg.chunk_duration=0.5"]) == 2
    err = capsys.readouterr().err
    assert "(chunk_size 16, chunk_duration 0.5)" in err, err
    assert "--set eeg.chunk_size=null" in err, err
    assert main(["validate", str(graph), "--set", "eeg.chunk_duration=0.5", "--set", "eeg.chunk_size=null"]) == 0


# --- an XDF stream whose clock runs off its nominal rate --------------------------------------------------------


def _drifting_xdf(tmp_path, marks, actual: float):
    """2000 samples of a 250 Hz (nominal) stream stamped at `actual` Hz (an amplifier 0.5 % fast or slow, as LSL
    stamps it on the computer's clock), each sample's value its index, and a marker at the stamp of each sample in
    `marks`."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    n = 2000
    t = 500.0 + np.arange(n) / actual
    ramp = np.repeat(np.arange(n, dtype=np.float64)[:, None], 2, axis=1)
    marker = XdfStream("mk", "Markers", 0.0, [str(i + 1) for i in range(len(marks))], [t[k] for k in marks], "string")
    eeg = XdfStream("amp", "EEG", 250.0, ramp, t, "double64", ["a", "b"], "EEG", "")
    return write_xdf(tmp_path / "drift.xdf", [eeg, marker])


@pytest.mark.parametrize("actual", [251.25, 248.75])
@pytest.mark.parametrize("size", [16, 500, 2000])
def test_xdf_markers_land_on_their_samples_whatever_the_chunking(tmp_path, size, actual):
    """A stream whose stamps advance 0.5 % faster than its nominal rate: file_source gives each chunk its first
    sample's stamp and the nodes count the samples after it at the nominal rate, but a marker went out at its own
    stamp, off that count by the drift since the chunk's start, and a fast clock's chunk t0 (before the count's newest
    sample) did not move the count at all: epochs cut (and a recorder wrote) the markers at samples 300, 1000, 1800 at
    299, 995, 1791 when the file was replayed in one chunk or chunks of 500 (a slow clock: 302, 1005, 1809 in one
    chunk); right only in small chunks. Each marker now goes out at the time the chunk's count gives its sample, a
    fast clock's in chunks that drift under half a sample."""
    marks = [300, 1000, 1800]
    path = _drifting_xdf(tmp_path, marks, actual)
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(path), chunk_size=size)
    g.add("epochs", "src", "src.events", id="ep", tmin=0.0, tmax=0.02)
    got = g.run(capture=["ep.out"])["ep.out"].data
    assert got[:, 0, 0].tolist() == marks


# --- a trigger channel beside annotations ----------------------------------------------------------------------------


def _triggers_and(tmp_path, annotations):
    """A FIF of 2 EEG channels and STI 014 stepping to 5 at sample 100, 3 at 700 and 5 at 1500 (250 Hz), with
    these (onset, description) annotations."""
    import mne

    x = np.random.default_rng(0).standard_normal((3, 2000)) * 1e-5
    x[2] = 0
    for at, code in ((100, 5), (700, 3), (1500, 5)):
        x[2, at : at + 3] = code
    info = mne.create_info(["Fz", "Cz", "STI 014"], 250.0, ["eeg", "eeg", "stim"])
    raw = mne.io.RawArray(x, info, verbose="error")
    raw.set_annotations(
        mne.Annotations([a for a, _ in annotations], [0.0] * len(annotations), [d for _, d in annotations])
    )
    path = tmp_path / "trig_raw.fif"
    raw.save(path, verbose="error")
    return path


def _events_of(path, **params):
    from wavegraph.nodes.io.file_source import FileSource

    src = FileSource(path=str(path), chunk_size=500, **params)
    src.configure({})
    rows = []
    while (out := src.read()) is not None:
        if "events" in out:
            rows.extend(out["events"].data.tolist())
    return rows


def test_trigger_steps_no_annotation_marks_are_said_with_the_fix(tmp_path, caplog):
    """A recording whose only annotation is 'Recording starts' (or BAD_ segments) replayed that one as its events and
    dropped its trigger channel's three steps without a word: the epochs of a replay came out empty. The steps no
    annotation marks are said, with stim_channel as the fix, which gives them."""
    path = _triggers_and(tmp_path, [(0.0, "Recording starts")])
    with caplog.at_level("WARNING", logger="wavegraph.file_source"):
        assert len(_events_of(path)) == 1
    said = [r.getMessage() for r in caplog.records if "STI 014" in r.getMessage()]
    assert said and "3 steps" in said[0] and "stim_channel: 'STI 014'" in said[0], said
    assert [round(r[0] * 250) for r in _events_of(path, stim_channel="STI 014")] == [0, 100, 700, 1500]


def test_annotations_made_from_the_triggers_say_nothing_of_them(tmp_path, caplog):
    """Annotations at the trigger's own steps (mne.annotations_from_events, then saved): nothing is lost, nothing said."""
    path = _triggers_and(tmp_path, [(0.4, "5"), (2.8, "3"), (6.0, "5")])
    with caplog.at_level("WARNING", logger="wavegraph.file_source"):
        assert len(_events_of(path)) == 3
    assert not [r for r in caplog.records if "STI 014" in r.getMessage()]


# --- an XDF's irregular numeric stream of event codes not typed Markers -------------------------------------------


@pytest.mark.parametrize("kind", ["Events", "Marker", "Triggers", "stim"])
def test_an_xdf_stream_of_integer_event_codes_typed_events_or_triggers_is_its_markers(tmp_path, kind):
    """An irregular int32 stream of codes (PsychoPy's or an app's, StreamInfo(..., 'Events', 1, 0, 'int32')) was read
    as markers only when its type was exactly 'Markers': typed 'Events', 'Marker', 'Triggers' or 'stim', its codes were
    dropped without a word and the replay had no events."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 100.0 + np.arange(500) / 250.0
    eeg = XdfStream("amp", "EEG", 250.0, np.zeros((500, 2)), t, "float32", ["Fz", "Cz"], "EEG", "microvolts")
    codes = XdfStream("trig", kind, 0.0, np.array([[1], [2], [1]]), [100.4, 101.0, 101.6], "int32")
    path = write_xdf(tmp_path / "codes.xdf", [eeg, codes])
    rows = _events_of(path)
    assert [(round(r[0] * 250), int(r[2])) for r in rows] == [(100, 1), (250, 2), (400, 1)]


def test_an_xdf_irregular_numeric_stream_left_out_is_said(tmp_path, caplog):
    """An irregular numeric stream of another type (a sensor sampled at its own times) is no signal and no markers:
    it was left out without a word; it is said, with what to do if it holds event codes."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 100.0 + np.arange(500) / 250.0
    eeg = XdfStream("amp", "EEG", 250.0, np.zeros((500, 2)), t, "float32", ["Fz", "Cz"], "EEG", "microvolts")
    other = XdfStream("gaze", "Gaze", 0.0, np.array([[0.1, 0.2], [0.3, 0.4]]), [100.4, 101.0], "float32")
    path = write_xdf(tmp_path / "gaze.xdf", [eeg, other])
    with caplog.at_level("WARNING", logger="wavegraph.file_source"):
        assert _events_of(path) == []
    said = [r.getMessage() for r in caplog.records if "'gaze'" in r.getMessage()]
    assert said and "array_source" in said[0], said


# --- an .npz that is no recorder's archive ------------------------------------------------------------------------


def test_an_npy_array_saved_under_npz_says_what_it_holds_and_how_to_replay_it(tmp_path):
    """np.save(open('rec.npz', 'wb'), x) writes an .npy: file_source said "TypeError: 'numpy.ndarray' object does not
    support the context manager protocol"; a file that is no zip said numpy's "This file contains pickled (object)
    data ... load it unsafely using allow_pickle", which it does not contain."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.spec import SpecError

    npy = tmp_path / "rec.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros((2, 100)))
    with pytest.raises(SpecError, match=r"holds one NumPy array \(\.npy.*array_source") as e:
        FileSource(path=str(npy)).configure({})
    assert "context manager" not in str(e.value)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(b"P")
    with pytest.raises(SpecError, match="not a zip archive's") as e:
        FileSource(path=str(cut)).configure({})
    assert "pickle" not in str(e.value)


# --- `wavegraph train ssvep` / `bench bci --data` on an XDF with a dropout ---------------------------------------


def test_an_xdf_read_for_training_keeps_each_marker_on_its_sample_after_a_dropout(tmp_path):
    """benchmarks/ssvep_recording.read_recording (`wavegraph train ssvep FILE`, `bench bci --data FILE`) put an XDF's
    samples back to back but its markers at their stamps: after a 5 s dropout the trials were 5 s late (outside the
    data: 'Omitted 2 annotation(s)', the trials lost), and a stream 0.5 % fast put them a sample off per 0.8 s. Each
    marker is now at its own sample, as file_source places it."""
    from wavegraph.benchmarks.ssvep_recording import read_recording
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    n, marks = 2500, [500, 1500, 2400]
    t = 100.0 + np.arange(n) / 251.25
    t[1250:] += 5.0  # the amplifier's link dropped for 5 s
    ramp = np.repeat(np.arange(n, dtype=np.float64)[:, None], 2, axis=1)
    eeg = XdfStream("amp", "EEG", 250.0, ramp, t, "double64", ["O1", "Oz"], "EEG", "")
    markers = XdfStream("mk", "Markers", 0.0, ["6", "7.5", "6"], [t[k] for k in marks], "string")
    raw, _ = read_recording(str(write_xdf(tmp_path / "calib.xdf", [eeg, markers])))
    at = np.round((raw.annotations.onset - raw.first_time) * raw.info["sfreq"]).astype(int)
    assert raw.get_data()[0][at].tolist() == marks


def test_a_discontinuous_edf_read_for_training_keeps_the_trials_after_its_gap(tmp_path):
    """read_recording read an EDF+D (records at 0, 1, then 5, 6 s) with MNE, which packs the records and drops the
    annotations past its packed length: the trial at 6.25 s was lost without a word. Its markers are now at their
    own samples, as file_source places them (the one at 6.25 s: record 3's sample 32)."""
    from test_io_hostile import write_edf_d
    from wavegraph.benchmarks.ssvep_recording import read_recording

    x = np.random.default_rng(6).uniform(-500, 500, (2, 4 * 128))
    path = write_edf_d(tmp_path / "d.edf", x, 128, [0, 1, 5, 6], {0: [(0.5, "6")], 3: [(6.25, "7.5")]})
    raw, _ = read_recording(str(path))
    at = np.round((raw.annotations.onset - raw.first_time) * raw.info["sfreq"]).astype(int)
    assert list(raw.annotations.description) == ["6", "7.5"]
    assert at.tolist() == [64, 3 * 128 + 32]


def test_add_says_what_building_a_node_says_once(tmp_path, caplog):
    """add() builds the node to learn its ports: what its building logs (a recorder's FIF renamed to MNE's *_raw.fif)
    is said once, when the graph is built, not at add() too."""
    path, _ = _fif(tmp_path)
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(path), chunk_size=64)
    with caplog.at_level("WARNING", logger="wavegraph.recorder"):
        g.add("recorder", "src", "src.events", id="rec", path=str(tmp_path / "copy.fif"), events=True)
        g.run()
    assert sum("does not follow MNE's FIF naming" in r.getMessage() for r in caplog.records) == 1
    assert (tmp_path / "copy_raw.fif").exists()


# --- a replay published on LSL without --speed ------------------------------------------------------------------


def test_a_replay_run_flat_out_into_an_lsl_outlet_says_to_pace_it(tmp_path, monkeypatch, capsys):
    """configs/eeg_filter.yaml's replay recipe (file_source -> ... -> lsl_outlet) run without --speed published the
    recording as fast as it could: its LSL consumers got seconds of EEG in a burst, stamped now, and nothing said so
    (MNE-LSL's PlayerLSL streams in real time). At --speed 0.4 a receiving lsl_inlet saw a gap at every chunk (each
    stamped now, 2.5 times its samples' span apart). The run says both, and the fix; with the chunk times as stamps
    (timestamps: stream) it says nothing."""
    from wavegraph.pipeline.cli import main

    path, _ = _fif(tmp_path)
    graph = tmp_path / "g.yaml"
    graph.write_text(
        f"name: t\nnodes:\n  - id: eeg\n    type: file_source\n    params: {{path: {path}, chunk_size: 50}}\n"
        "  - id: out\n    type: lsl_outlet\n    params: {name: wavegraph-test-session22-replay}\n"
        "edges:\n  - {source: eeg.out, target: out.in}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(graph), "--in-process", "--no-status"]) == 0
    err = capsys.readouterr().err
    assert "note: lsl_outlet 'out' publishes a replay run as fast as it can" in err and "--speed 1" in err, err
    assert main(["run", str(graph), "--in-process", "--no-status", "--speed", "50"]) == 0
    assert "50 times as fast as its rate says (chunks that overlap in time)" in capsys.readouterr().err
    graph.write_text(graph.read_text().replace("name: wavegraph-test", "timestamps: stream, name: wavegraph-test"))
    assert main(["run", str(graph), "--in-process", "--no-status", "--speed", "50"]) == 0
    assert "note: lsl_outlet" not in capsys.readouterr().err


# --- annotations inside epochs --------------------------------------------------------------------------------------


def test_an_epochs_files_annotations_inside_its_epochs_are_markers(tmp_path):
    """mne.Epochs keep their Raw's annotations (a response after each stimulus, epochs.get_annotations_per_epoch());
    an epochs file replayed only each epoch's own event, and its responses were lost without a word. They go out at
    their samples in the epochs, with their own code and label."""
    import mne

    raw = mne.io.RawArray(np.zeros((2, 2000)), mne.create_info(["Fz", "Cz"], 100.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([2.0, 2.3, 6.0, 6.4, 12.0], [0.0] * 5, ["stim", "resp"] * 2 + ["stim"]))
    events, _ = mne.events_from_annotations(raw, event_id={"stim": 1}, verbose="error")
    epochs = mne.Epochs(raw, events, {"stim": 1}, tmin=-0.2, tmax=0.8, baseline=None, verbose="error")
    path = tmp_path / "resp-epo.fif"
    epochs.save(path, verbose="error")
    from wavegraph.nodes.io.file_source import FileSource

    labels = dict(FileSource(path=str(path)).configure({})["events"].labels)
    got = [(round(r[0] * 100), labels[int(r[2])]) for r in _events_of(path)]
    assert got == [(20, "stim"), (50, "resp"), (121, "stim"), (161, "resp"), (222, "stim")]


def test_an_xdf_eeg_stream_that_declares_no_rate_says_its_stamps_rate_and_how_to_replay_it(tmp_path):
    """An app that sent EEG without declaring its rate (nominal_srate 0) wrote a stream file_source cannot replay as
    a signal; the fix said "set stream to a stream listed without a note", and there was none. It says the rate its
    stamps advance at, and how to replay it."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf
    from wavegraph.pipeline.spec import SpecError

    t = 100.0 + np.arange(500) / 250.0
    eeg = XdfStream("amp", "EEG", 0.0, np.zeros((500, 2)), t, "float32", ["Fz", "Cz"], "EEG", "microvolts")
    path = write_xdf(tmp_path / "norate.xdf", [eeg])
    with pytest.raises(SpecError, match=r"'amp' declares no rate .* advance at 250 samples/s.*array_source"):
        _events_of(path)


def test_a_csv_whose_time_column_has_another_name_says_to_name_it_t(tmp_path):
    """A CSV of a time column and channels (timestamp,Fp1,Fp2: a notebook's pandas.to_csv, BrainFlow-like) was refused
    with 'load it and replay it from Python' only, though naming its time column t is all file_source needs; it says
    so, and the table so named replays."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.spec import SpecError

    rows = "".join(f"{i / 250!r},{i}.0,{-i}.0\n" for i in range(50))
    path = tmp_path / "session.csv"
    path.write_text("timestamp,Fp1,Fp2\n" + rows)
    with pytest.raises(SpecError, match=r"'timestamp', is each row's time in seconds, name it t \(the header t,Fp1"):
        FileSource(path=str(path)).configure({})
    path.write_text("t,Fp1,Fp2\n" + rows)
    assert FileSource(path=str(path)).configure({})["out"].rate == 250.0


def test_an_xdf_of_mne_lsl_players_annotations_replays_them_as_lsl_inlet_reads_them_live(tmp_path):
    """MNE-LSL's PlayerLSL publishes a recording's annotations as a stream of type 'annotations' (rate 0, one float
    channel per description, the fired one holding its duration): lsl_inlet reads them live, but an XDF LabRecorder
    wrote of it replayed without them (no events, unsaid). They are markers with their descriptions and durations."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 100.0 + np.arange(500) / 250.0
    eeg = XdfStream("player", "eeg", 250.0, np.zeros((500, 2)), t, "double64", ["Fz", "Cz"], "eeg", "volts")
    onehot = np.array([[0.5, 0.0], [0.0, 1.5]])  # 'left' of 0.5 s, then 'right' of 1.5 s
    annotations = XdfStream("player-annotations", "annotations", 0.0, onehot, [100.4, 101.0], "double64",
                            ["left", "right"])  # fmt: skip
    path = write_xdf(tmp_path / "player.xdf", [eeg, annotations])
    labels = dict(FileSource(path=str(path)).configure({})["events"].labels)
    got = [(round(r[0] * 250), r[1], labels[int(r[2])]) for r in _events_of(path)]
    assert got == [(100, 0.5, "left"), (250, 1.5, "right")]


def test_an_xdf_of_mne_lsl_annotations_gives_training_its_trial_durations(tmp_path):
    """read_recording (train ssvep, bench bci --data) set every XDF marker's duration to 0; MNE-LSL's annotations
    carry theirs (the stimulation's length), which a trial then lasts."""
    from wavegraph.benchmarks.ssvep_recording import read_recording
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 100.0 + np.arange(1000) / 250.0
    eeg = XdfStream("player", "eeg", 250.0, np.zeros((1000, 2)), t, "double64", ["O1", "Oz"], "eeg", "volts")
    onehot = np.array([[1.5, 0.0], [0.0, 1.25]])
    notes = XdfStream("player-annotations", "annotations", 0.0, onehot, [100.4, 102.0], "double64", ["6", "7.5"])
    raw, _ = read_recording(str(write_xdf(tmp_path / "player.xdf", [eeg, notes])))
    assert list(raw.annotations.description) == ["6", "7.5"]
    np.testing.assert_allclose(raw.annotations.duration, [1.5, 1.25])


# --- an XDF's recording date ---------------------------------------------------------------------------------------


def test_an_xdf_replayed_into_a_fif_keeps_its_recording_date(tmp_path):
    """LabRecorder writes when it started recording in the file header (<datetime>); file_source left it out, so the
    FIF a replay of the XDF wrote (docs/bci.md: calib01.xdf -> calib01_raw.fif) was dated by the wall clock of the
    replay. The stream carries the file's date, and the FIF keeps it."""
    import mne
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 100.0 + np.arange(500) / 250.0
    eeg = XdfStream("amp", "EEG", 250.0, np.zeros((500, 2)), t, "float32", ["O1", "Oz"], "EEG", "microvolts")
    path = write_xdf(tmp_path / "calib.xdf", [eeg], datetime="2021-03-10T12:00:00+0100")
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(path), chunk_size=100)
    g.add("recorder", "src", id="rec", path=str(tmp_path / "calib_raw.fif"))
    g.run()
    raw = mne.io.read_raw_fif(tmp_path / "calib_raw.fif", verbose="error")
    assert raw.info["meas_date"].isoformat() == "2021-03-10T11:00:00+00:00"


def test_an_xdf_of_mne_lsl_streams_finds_its_eeg_stream_typed_eeg_in_lower_case(tmp_path):
    """MNE-LSL types a stream by MNE's channel type, 'eeg': an XDF of it beside another signal stream (an
    accelerometer) was refused by default ('0 ... streams match ... one of type EEG'), and docs/bci.md's
    `--set eeg.stream=EEG` too. The type is matched whatever its case, as a name or type given by `stream` is when
    none matches exactly."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t, ta = 100.0 + np.arange(500) / 250.0, 100.0 + np.arange(100) / 50.0
    eeg = XdfStream("player", "eeg", 250.0, np.zeros((500, 2)), t, "double64", ["Fz", "Cz"], "eeg", "volts")
    acc = XdfStream("acc", "Accelerometer", 50.0, np.zeros((100, 3)), ta, "float32", ["x", "y", "z"], "misc", "")
    path = write_xdf(tmp_path / "mne_lsl.xdf", [eeg, acc])
    for stream in (None, "EEG", "Player"):
        assert FileSource(path=str(path), stream=stream).configure({})["out"].channel_names == ("Fz", "Cz")
    assert FileSource(path=str(path), stream="ACC").configure({})["out"].channel_names == ("x", "y", "z")


def test_two_streams_of_one_xdf_joined_line_up_whatever_the_chunking(tmp_path):
    """An EEG stream 0.5 % fast and an accelerometer on the computer's clock, replayed by two file_sources and joined:
    in chunks of 500, the fast clock's chunk t0 (before the join's newest sample) never moved its count, and the
    accelerometer came out 50 ms off the EEG and 5 samples short. Chunks that drift under half a sample keep them
    within a sample, all of them."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t, ta = 100.0 + np.arange(2500) / 251.25, 100.0 + np.arange(500) / 50.0
    eeg = XdfStream("amp", "EEG", 250.0, np.repeat(t[:, None] - 100, 2, axis=1), t, "double64", ["a", "b"], "EEG", "")
    acc = XdfStream("acc", "Acc", 50.0, (ta - 100)[:, None], ta, "double64", ["x"], "misc", "")
    path = write_xdf(tmp_path / "two.xdf", [eeg, acc])
    g = GraphBuilder()
    g.add("file_source", id="e", path=str(path), stream="EEG", chunk_size=500)
    g.add("file_source", id="a", path=str(path), stream="Acc", chunk_size=100)
    g.add("join", "e", "a", id="j")
    out = g.run(capture=["j.out"])["j.out"].data
    assert out.shape == (3, 2500)
    assert np.abs(out[2, 50:] - out[0, 50:]).max() < 1 / 250  # the accelerometer's time against the EEG's
