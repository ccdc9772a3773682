"""Replaying a real recording gives the same result whatever the replay's chunking (principle 1, streaming equals
offline): tiny slices of PhysioNet EEGMMIDB S001R02 (pipeline/datasets.py) written as FIF with markers, replayed by
file_source at several chunk sizes (1 sample, primes, larger than the file) through the node under test."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import dataset
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.executor import StopFlag

PICKS = ["O1..", "Oz..", "O2..", "Cz..", "Pz..", "Fz.."]


def _slice(tmp_path, seconds: float, onsets, durations, descriptions, name="slice_raw.fif"):
    """The first `seconds` of the real EEGMMIDB recording (6 channels, 160 Hz) with these annotations, as a FIF."""
    import mne

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").pick(PICKS)
    raw.crop(0, seconds - 1 / raw.info["sfreq"]).load_data()
    raw.set_annotations(mne.Annotations(onsets, durations, descriptions))
    path = tmp_path / name
    raw.save(path, verbose="error")
    return path


def _replay(path, size: int, add, capture):
    """file_source(path, chunk_size=size) -> the nodes `add(g)` adds; the captured streams."""
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(path), chunk_size=size)
    add(g)
    return g.run(capture=capture)


def _same(a, b, label: str, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    for port in b:
        x, y = a[port], b[port]
        assert x.data.shape == y.data.shape, f"{label}: {port} shape {x.data.shape} != {y.data.shape}"
        np.testing.assert_allclose(x.data, y.data, rtol=rtol, atol=atol, err_msg=f"{label}: {port}")
        np.testing.assert_allclose(x.times, y.times, rtol=0, atol=1e-9, err_msg=f"{label}: {port} times")
        assert x.gaps == y.gaps, f"{label}: {port} gaps {x.gaps} != {y.gaps}"


# --- markers that come with a chunk longer than max_delay -------------------------------------------------------


MARKERS = ([0.3, 0.9, 1.6, 2.2, 3.1], [0.0, 0.0, 0.0, 0.0, 0.0], ["1", "2", "1", "2", "1"])


@pytest.mark.parametrize("node", ["epochs", "ssvep_trial_decoder"])
def test_markers_replayed_with_a_chunk_longer_than_max_delay_are_not_late(tmp_path, node):
    """file_source sends a chunk's markers after the chunk; a node that pruned its signal to max_delay s before the
    chunk's last sample then found the chunk's own early markers 'late' (late_marker): a replay at chunk_size larger
    than max_delay of signal (chunk_duration: 60, or a chunk larger than the file) silently lost epochs / trial
    decisions that any smaller chunking gave (EEGMMIDB: 2 of 8 epochs kept with one chunk of the file)."""
    path = _slice(tmp_path, 4.0, *MARKERS)

    def add(g):
        if node == "epochs":
            g.add("epochs", "src", "src.events", id="n", tmin=-0.1, tmax=0.3, max_delay=0.5)
        else:
            g.add("ssvep_trial_decoder", "src", "src.events", id="n", freqs=[6.0, 7.5], window=0.5, pre=0.2,
                  max_delay=0.5)  # fmt: skip

    capture = ["n.events"] if node == "epochs" else ["n.out", "n.scores"]
    ref = _replay(path, 7, add, capture)
    assert len(ref[capture[0]].data) == 5, ref[capture[0]].data
    for size in (1, 97, 640, 10_000):
        _same(_replay(path, size, add, capture), ref, f"chunk_size {size}")


# --- a process reading a busy signal beside its markers ---------------------------------------------------------


class _Inbox:
    """An edge receiver holding `chunks` then its end of stream (seq = the number of chunks)."""

    def __init__(self, chunks):
        self.items = [*chunks, replace(Chunk.end(), seq=len(chunks))]

    def count_refused(self):  # (a CURVE receiver's refused handshakes: none here)
        pass

    def recv(self, timeout=None):
        return self.items.pop(0) if self.items else None


class _Executor:
    """What worker._loop drives: deliveries are noted in order; no local sources."""

    def __init__(self):
        self.got: list[str] = []
        self.active_sources: set[str] = set()
        self.source_time: dict[str, float] = {}
        self.stop = StopFlag()

    def deliver(self, node_id, port, chunk):
        if not chunk.eos:
            self.got.append(port)

    def step_sources(self):
        return False

    def drain(self):
        pass


def test_a_worker_reads_its_markers_beside_a_busy_signal_not_after_it():
    """A worker read each input until it ran dry before the next: a flat-out multi-process replay (file_source ->
    bandpass in one process -> epochs / ssvep_trial_decoder in another, the markers straight from the source) fed
    the signal on as long as the filter process kept up, and the markers came over max_delay s of signal late:
    late_marker=1..5 epochs and trials lost at random (3 runs of 4 on the EEGMMIDB slice), none in one process.
    Inputs are now read in turns of at most TURN_CHUNKS chunks."""
    from wavegraph.pipeline import worker

    signal = _Inbox([Chunk(np.zeros((2, 13)), t0=i * 13 / 160) for i in range(500)])
    markers = _Inbox([Chunk(np.array([[0.5, 0.0, 1.0]]), t0=0.5)])
    link = SimpleNamespace(ended={"sig": 500, "ev": 1}, orphaned=False, shift=lambda edge: 0)
    ex = _Executor()
    worker._loop(ex, [(signal, "ep", "in", "sig"), (markers, "ep", "events", "ev")], link)  # type: ignore[arg-type]
    assert ex.got.count("in") == 500 and ex.got.count("events") == 1
    turn = getattr(worker, "TURN_CHUNKS", 8)
    assert ex.got.index("events") <= turn, f"the marker came after {ex.got.index('events')} signal chunks"


# --- irregular rows of several times --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [7, 10_000])
def test_each_trial_decision_is_recorded_at_its_own_marker_time(tmp_path, size):
    """ssvep_trial_decoder's `scores` (irregular features: a chunk's rows share its t0) put every decision of one call
    in one chunk stamped with the first marker's time: replayed in one chunk, the recorder's CSV wrote the trials at
    0.9, 1.6, 2.2 and 3.1 s all at 0.3 s (and a chunking that decided two markers at once, the second at the first's
    time). Each chunk now holds one marker time's decisions, the rest follow (finish_all at the end)."""
    path = _slice(tmp_path, 4.0, *MARKERS)
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(path), chunk_size=size)
    g.add("ssvep_trial_decoder", "src", "src.events", id="n", freqs=[6.0, 7.5], window=0.5, pre=0.2)
    g.add("recorder", "n.scores", id="rec", path=str(tmp_path / "scores.csv"))
    out = g.run(capture=["n.out", "n.scores"])
    np.testing.assert_array_equal(out["n.scores"].times, MARKERS[0])
    np.testing.assert_array_equal(out["n.out"].data[:, 0], MARKERS[0])
    t = np.loadtxt(tmp_path / "scores.csv", delimiter=",", skiprows=1)[:, 0]
    np.testing.assert_array_equal(t, MARKERS[0])


# --- a recording's round trip -------------------------------------------------------------------------------------


def _epochs_file(tmp_path):
    """3 epochs of the real SSVEP recording (ssvepy, 256 Hz), 3 channels, 1 s each: replayed back to back, the
    chunks of epochs 2 and 3 flagged gap at times that do not jump."""
    import mne

    epochs = mne.read_epochs(dataset("ssvepy-epochs"), preload=False, verbose="error")[:3]
    epochs = epochs.load_data().pick(["O1", "Oz", "O2"]).crop(0, 1.0 - 1 / 256)
    path = tmp_path / "three-epo.fif"
    epochs.save(path, verbose="error")
    return path


def test_a_csv_recording_replays_the_gaps_whose_time_did_not_jump(tmp_path):
    """A CSV's `t` column shows a gap whose time jumped, but not the gaps of an epochs file replayed back to back (or a
    concatenated recording's boundary), and the recorder dropped its chunk log at close: the replay of the CSV had no
    gap, and an epochs / ssvep decoder downstream cut windows across the epochs. The recorder keeps the log for a CSV
    with gaps, and file_source flags those chunks gap from it, as it does for an NPZ."""
    src = _epochs_file(tmp_path)
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(src), chunk_size=61)
    g.add("recorder", "src", id="rec", path=str(tmp_path / "rec.csv"))
    orig = g.run(capture=["src.out"])["src.out"]
    assert len(orig.gaps) == 2
    back = _replay(tmp_path / "rec.csv", 61, lambda g: None, ["src.out"])["src.out"]
    np.testing.assert_array_equal(back.data, orig.data)
    np.testing.assert_array_equal(back.times, orig.times)
    assert back.gaps == orig.gaps
    assert back.spec.channel_names == orig.spec.channel_names


@pytest.mark.parametrize("name", ["rec.wav", "rec.flac"])
def test_a_wav_or_flac_recording_replays_its_gaps_and_chunk_times_from_its_chunk_log(tmp_path, name):
    """WAV and FLAC hold samples back to back; the recorder keeps each chunk's time and gap flag in
    `<path>.chunks.csv` and says so, but file_source replayed them from 0 at the rate: the gaps were lost and every
    time after a dropout was early by its length (here 3 s). It now reads the log, as it does for an NPZ."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.spec import signal_spec

    src = _epochs_file(tmp_path)
    orig = _replay(src, 64, lambda g: None, ["src.out"])["src.out"]  # 3 real epochs: gaps at 1 s and 2 s, no jump
    x = np.asarray(orig.data) / np.abs(orig.data).max() * 0.5  # (within +-1: an audio file's range)
    rec = Recorder(path=str(tmp_path / name))
    rec.configure({"in": signal_spec(256.0, ["O1", "Oz", "O2"], "audio", units="a.u.")})
    rec.process({"in": Chunk(x[:, :256], t0=0.0)})
    rec.process({"in": Chunk(x[:, 256:512], t0=1.0, gap=True)})
    rec.process({"in": Chunk(x[:, 512:], t0=5.0, gap=True)})  # 3 s of samples missing before it
    rec.finish()
    rec.close()
    back = _replay(tmp_path / name, 64, lambda g: None, ["src.out"])["src.out"]
    assert back.gaps == [1.0, 5.0]
    np.testing.assert_array_equal(
        back.times[[0, 255, 256, 511, 512, 767]], [0, 255 / 256, 1, 511 / 256, 5, 5 + 255 / 256]
    )
    np.testing.assert_allclose(back.data, x, atol=1e-6)


def test_a_join_with_max_wait_gives_the_same_output_for_a_replay_in_long_chunks(tmp_path):
    """join's max_wait counted from the reference's newest sample: a source joined with itself through a lowpass
    and a resample (the resampled chunk comes after the reference's chunk it was made from) replayed in chunks longer
    than max_wait had the resampled channels held as late, NaN and gap-flagged (40 s of EEGMMIDB at chunk_size 7000:
    37,920 NaN values; chunk_size 97 at max_wait 0.5 s: 96). It now counts from the first sample of the reference's
    newest chunk."""
    path = _slice(tmp_path, 4.0, *MARKERS)

    def add(g):
        g.add("lowpass", "src", id="lp", freq=30.0)
        g.add("resample", "lp", id="rs", rate=100.0)
        g.add("join", "src", "rs", id="j", max_wait=0.5)

    ref = _replay(path, 13, add, ["j.out"])
    assert ref["j.out"].data.shape == (12, 640) and not np.isnan(ref["j.out"].data).any()
    for size in (97, 1000):
        _same(_replay(path, size, add, ["j.out"]), ref, f"chunk_size {size}")


def test_an_apply_mask_with_max_wait_gives_the_same_output_for_a_replay_in_long_chunks(tmp_path):
    """apply_mask stopped waiting for a frame's partner once the other input's newest frame was max_wait past it, but
    the mask made of an stft chunk (magnitude) comes after that chunk: a replay in chunks longer than max_wait dropped
    frames as unmatched (6 s of real speech, max_wait 2 s: 96,384 samples out at chunk_size 160, 80,384 at 40,000
    with a gap, 32,384 in one chunk). It now counts from the first frame of the other input's newest chunk."""
    path = _slice(tmp_path, 4.0, *MARKERS)

    def add(g):
        g.add("stft", "src", id="st", n_fft=32, hop=8, window="hann")
        g.add("magnitude", "st", id="mag")
        g.add("apply_mask", "st", "mag", id="am", activation="clip", max_wait=0.5)
        g.add("istft", "am", id="is", n_fft=32, hop=8, window="hann")

    ref = _replay(path, 13, add, ["is.out"])
    assert ref["is.out"].data.shape[1] >= 640
    for size in (97, 1000):
        _same(_replay(path, size, add, ["is.out"]), ref, f"chunk_size {size}")


def test_a_chunk_size_past_what_a_process_edge_takes_is_read_in_chunks_it_takes(tmp_path):
    """A replay in one chunk (chunk_size past the file's length) of a recording over 2**20 samples failed a
    multi-process run at its first chunk ('it sent a chunk of 18,176,000 bytes ... more than an edge between processes
    takes'), though validate said OK and one process ran it. file_source now reads at most what such an edge takes
    (the same replay: any chunking gives the same output)."""
    import mne
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.endpoints import DEFAULT_MAX_BYTES, max_frame_bytes

    raw = mne.io.read_raw_edf(dataset("bsn-eeg-acoustic-edf"), preload=True, verbose="error")  # 2 ch, 1 kHz, 284 s
    path = tmp_path / "long_raw.fif"
    mne.io.RawArray(np.tile(raw.get_data(), 4), raw.info, verbose="error").save(path, verbose="error")  # 19 min
    src = FileSource(path=str(path), chunk_size=2_000_000)
    spec = src.configure({})["out"]
    src.open()
    sizes = []
    while (out := src.read()) is not None:
        assert out["out"].data.nbytes <= min(max_frame_bytes(spec), DEFAULT_MAX_BYTES)
        sizes.append(out["out"].data.shape[1])
    assert sum(sizes) == 4 * raw.n_times and len(sizes) == 2


@pytest.mark.parametrize("size", [7, 10_000])
def test_each_epoch_is_out_at_its_own_marker_time(tmp_path, size):
    """epochs' `out` (irregular features: a chunk's rows share its t0) put every epoch cut in one call in one chunk
    stamped with the first marker's time: replayed in one chunk, the epochs at 0.9 ... 3.1 s were all at 0.3 s in a
    capture and in the recorder's chunk log. Each chunk now holds one marker time's epochs, the rest follow
    (finish_all)."""
    path = _slice(tmp_path, 4.0, *MARKERS)
    g = GraphBuilder()
    g.add("file_source", id="src", path=str(path), chunk_size=size)
    g.add("epochs", "src", "src.events", id="ep", tmin=-0.1, tmax=0.3)
    g.add("recorder", "ep", id="rec", path=str(tmp_path / "epochs.npz"), chunk_log=True)
    out = g.run(capture=["ep.out", "ep.events"])
    np.testing.assert_array_equal(out["ep.out"].times, MARKERS[0])
    np.testing.assert_array_equal(out["ep.events"].data[:, 0], MARKERS[0])
    log = np.loadtxt(tmp_path / "epochs.npz.chunks.csv", delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_array_equal(np.repeat(log[:, 1], log[:, 2].astype(int)), MARKERS[0])  # each epoch's t0


@pytest.mark.parametrize("name", ["rec_raw.fif", "rec.edf", "rec.bdf"])
def test_a_fif_or_edf_recording_replays_the_time_a_gap_jumped_and_its_markers_there(tmp_path, name):
    """A FIF, EDF or BDF marks a gap but holds its samples back to back: a dropout of 3 s replayed with the gap flagged
    and every time after it, samples and markers, 3 s early (unsaid). The recorder keeps the chunk log where a gap's
    time jumped (and says so), and file_source replays the chunk times, and the markers with them, from it."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    x = np.asarray(_replay(_epochs_file(tmp_path), 64, lambda g: None, ["src.out"])["src.out"].data)  # real EEG
    rec = Recorder(path=str(tmp_path / name), events=True)
    rec.configure({"in": signal_spec(256.0, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,))})
    rec.process({"in": Chunk(x[:, :256], t0=0.0)})
    rec.process({"in": Chunk(x[:, 256:512], t0=1.0, gap=True)})  # an epoch boundary: no time missing
    rec.process({"in": Chunk(x[:, 512:], t0=5.0, gap=True)})  # 3 s of samples missing before it
    rec.process({"events": Chunk(np.array([[0.5, 0.0, 1.0], [1.5, 0.0, 2.0], [5.5, 0.0, 1.0]]), t0=0.5)})
    rec.finish()
    rec.close()
    back = _replay(tmp_path / name, 64, lambda g: None, ["src.out", "src.events"])
    assert back["src.out"].gaps == [1.0, 5.0]
    np.testing.assert_allclose(back["src.out"].times[[255, 256, 512, 767]], [255 / 256, 1, 5, 5 + 255 / 256])
    np.testing.assert_allclose(back["src.events"].data[:, 0], [0.5, 1.5, 5.5])
    np.testing.assert_allclose(back["src.out"].data, x, rtol=1e-4, atol=1e-9)  # (EDF: 16 bits)
