"""file_source replays real recordings sample-exactly, with exact chunk times and its events."""

from __future__ import annotations

import datetime as dt

import mne
import numpy as np
import pytest
import soundfile as sf
from conftest import dataset
from pydantic import ValidationError
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError


@pytest.fixture(scope="module")
def epo_path():
    return dataset("ssvepy-epochs")


def first_out(src: FileSource):
    """The next read's signal chunk (the source must not be at its end)."""
    out = src.read()
    assert out is not None
    return out["out"]


def replay(src: FileSource):
    """Read a configured source to the end: (signal chunks, event chunks)."""
    sig, ev = [], []
    while (out := src.read()) is not None:
        sig.append(out["out"])
        if "events" in out:
            ev.append((out["out"], out["events"]))
    return sig, ev


def test_edf_replay_is_sample_exact_with_exact_t0(edf_path):
    src = lookup("file_source")(path=str(edf_path), chunk_size=50)
    assert isinstance(src, FileSource)
    specs = src.configure({})
    raw = mne.io.read_raw(edf_path, preload=True, verbose="error")
    ref = raw.get_data()
    spec = specs["out"]
    assert (spec.kind, spec.rate, spec.shape, spec.dtype, spec.units) == ("signal", 160.0, (64,), "float64", "V")
    assert spec.channel_names == tuple(raw.ch_names) and set(spec.channel_types) == {"eeg"}
    sig, _ = replay(src)
    assert [c.data.shape[1] for c in sig] == [50] * 195 + [10]  # 9760 samples
    for k, c in enumerate(sig):
        assert c.t0 == (k * 50) / 160.0  # exact, from the integer sample index
        assert not c.gap and c.data.dtype == np.float64
    np.testing.assert_array_equal(np.concatenate([c.data for c in sig], axis=1), ref)
    assert src.read() is None  # stays at the end


def test_edf_annotation_becomes_event(edf_path):
    src = FileSource(path=str(edf_path))
    specs = src.configure({})
    raw = mne.io.read_raw(edf_path, verbose="error")
    events, event_id = mne.events_from_annotations(raw, verbose="error")
    assert specs["events"].labels == tuple((c, d) for d, c in event_id.items()) == ((1, "T0"),)
    _, ev = replay(src)
    assert len(ev) == 1
    sig_chunk, ev_chunk = ev[0]
    assert ev_chunk.data.dtype == np.float64 and ev_chunk.data.shape == (1, 3)
    onset, duration, code = ev_chunk.data[0]
    assert (onset, code) == (0.0, 1.0) and duration == pytest.approx(raw.annotations.duration[0])
    assert sig_chunk.t0 == 0.0  # emitted with the chunk that holds sample 0


def test_fif_annotations_emitted_with_the_chunk_holding_their_onset(tmp_path):
    sfreq, n, first_samp = 100.0, 1000, 250
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, n)) * 1e-5
    info = mne.create_info(["Cz", "Pz", "EOG"], sfreq, ["eeg", "eeg", "eog"])  # pyright: ignore[reportArgumentType]  # mne stub: ch_types may be a list
    raw = mne.io.RawArray(x, info, first_samp=first_samp, verbose="error")
    raw.set_meas_date(dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    # onsets relative to the first sample: 0.05 s, 2.505 s, 7.0 s, 9.99 s (last sample)
    raw.set_annotations(
        mne.Annotations([0.05, 2.505, 7.0, 9.99], [0.0, 0.5, 1.0, 0.0], ["stim", "resp", "stim", "end"])
    )
    path = tmp_path / "ann_raw.fif"
    raw.save(path, fmt="double", verbose="error")

    src = FileSource(path=str(path), chunk_size=64, picks=["eeg"])
    specs = src.configure({})
    assert specs["out"].channel_names == ("Cz", "Pz")
    assert specs["events"].labels == ((1, "end"), (2, "resp"), (3, "stim"))
    sig, ev = replay(src)
    np.testing.assert_array_equal(np.concatenate([c.data for c in sig], axis=1), x[:2])
    rows = np.concatenate([e.data for _, e in ev])
    np.testing.assert_allclose(rows[:, 0], [0.05, 2.505, 7.0, 9.99], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(rows[:, 1:], [[0, 3], [0.5, 2], [1.0, 3], [0, 1]])
    ref_events, _ = mne.events_from_annotations(raw, verbose="error")  # mne's rounding of onsets
    for (sig_chunk, ev_chunk), onset_sample in zip(ev, ref_events[:, 0] - first_samp):
        n_in = sig_chunk.data.shape[1]
        start = round(sig_chunk.t0 * sfreq)
        assert start <= onset_sample < start + n_in
        assert ev_chunk.t0 == sig_chunk.t0


def test_integer_descriptions_keep_their_codes(tmp_path):
    raw = mne.io.RawArray(np.zeros((1, 500)), mne.create_info(["a"], 50.0, "misc"), verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 2.0], [0, 0], ["101", "7"]))
    raw.save(tmp_path / "codes_raw.fif", verbose="error")
    src = FileSource(path=str(tmp_path / "codes_raw.fif"))
    assert src.configure({})["events"].labels == ((7, "7"), (101, "101"))
    _, ev = replay(src)
    assert [e.data[0, 2] for _, e in ev] == [101.0, 7.0]


def test_epochs_are_concatenated_with_gaps_and_events(epo_path):
    picks = ["O1", "Oz", "O2"]
    src = FileSource(path=str(epo_path), chunk_size=1000, picks=picks, dtype="float32")
    specs = src.configure({})
    epochs = mne.read_epochs(epo_path, preload=True, verbose="error").pick(picks)
    ref = epochs.get_data()  # (16, 3, 4096)
    assert specs["out"].rate == 256.0 and specs["out"].dtype == "float32"
    sig, ev = replay(src)
    n_ep = ref.shape[2]
    starts = [round(c.t0 * 256) for c in sig]
    # chunks never straddle an epoch; each epoch after the first opens with a gap
    assert all(s // n_ep == (s + c.data.shape[1] - 1) // n_ep for s, c in zip(starts, sig))
    assert [s for s, c in zip(starts, sig) if c.gap] == [k * n_ep for k in range(1, 16)]
    got = np.concatenate([c.data for c in sig], axis=1)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.concatenate(list(ref), axis=1).astype(np.float32))
    rows = np.concatenate([e.data for _, e in ev])
    np.testing.assert_array_equal(rows[:, 2], epochs.events[:, 2])
    np.testing.assert_array_equal(rows[:, 0], np.arange(16) * n_ep / 256.0)
    assert dict(specs["events"].labels) == {c: d for d, c in epochs.event_id.items()}


def test_audio_replay_and_chunk_duration(tmp_path):
    rng = np.random.default_rng(1)
    x = (rng.uniform(-0.9, 0.9, (8000, 2))).astype(np.float32)
    path = tmp_path / "tone.wav"
    sf.write(path, x, 8000, subtype="FLOAT")
    src = FileSource(path=str(path), chunk_duration=0.01)
    specs = src.configure({})
    spec = specs["out"]
    assert (spec.dtype, spec.units, spec.channel_types, spec.shape) == ("float32", "a.u.", ("audio", "audio"), (2,))
    assert specs["events"].labels == ()
    sig, ev = replay(src)
    assert {c.data.shape for c in sig} == {(2, 80)} and ev == []
    np.testing.assert_array_equal(np.concatenate([c.data for c in sig], axis=1), x.T)
    src.close()
    src.close()


def test_state_dict_resumes_at_the_same_sample(edf_path):
    a = FileSource(path=str(edf_path), chunk_size=40, picks=["Cz..", "Oz.."])
    a.configure({})
    for _ in range(7):
        a.read()
    state = a.state_dict()
    assert state["position"] == 280 and state["saved_config"]["params"]["path"] == str(edf_path)
    b = FileSource(path=str(edf_path), chunk_size=40, picks=["Cz..", "Oz.."])
    b.configure({})
    b.load_state_dict(state)
    ca, cb = first_out(a), first_out(b)
    assert ca.t0 == cb.t0 == 280 / 160.0
    np.testing.assert_array_equal(ca.data, cb.data)
    a.reset()  # after a failed read: keeps the position (skips, never replays from the start)
    assert first_out(a).t0 == 320 / 160.0
    a.load_state_dict({"position": 0})
    assert first_out(a).t0 == 0.0
    with pytest.raises(KeyError, match="unknown state keys"):
        a.load_state_dict({"pos": 1})


def test_missing_and_unreadable_files_fail_at_configure(tmp_path):
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / "nope.edf")).configure({})
    assert "nope.edf" in str(e.value) and "EDF" in str(e.value) and "WAV" in str(e.value.hint).upper()
    junk = tmp_path / "junk.edf"
    junk.write_bytes(b"not an edf file at all" * 10)
    with pytest.raises(SpecError, match="cannot read .*junk.edf") as e:
        FileSource(path=str(junk)).configure({})
    assert "FIF" in e.value.hint
    with pytest.raises(SpecError, match=r"cannot read .*x\.xyz.*Unsupported file type"):
        (tmp_path / "x.xyz").write_text("?")
        FileSource(path=str(tmp_path / "x.xyz")).configure({})


def test_bad_params(edf_path):
    with pytest.raises(ValidationError, match="not both"):
        FileSource(path=str(edf_path), chunk_size=10, chunk_duration=0.1)
    with pytest.raises(ValidationError):
        FileSource(path=str(edf_path), chunk_size=0)
    with pytest.raises(SpecError, match="'Cz'") as e:
        FileSource(path=str(edf_path), picks=["Cz"]).configure({})
    assert "Cz.." in e.value.hint  # lists what is available
    with pytest.raises(SpecError, match="picks is empty"):
        FileSource(path=str(edf_path), picks=[]).configure({})


def test_any_chunking_replays_the_same_stream(edf_path):
    """Streaming equals offline for a source: every chunk size yields the same samples and events."""

    def run(size):
        src = FileSource(path=str(edf_path), chunk_size=size, picks=["C3..", "Cz..", "C4.."])
        src.configure({})
        sig, ev = replay(src)
        return np.concatenate([c.data for c in sig], axis=1), np.concatenate([e.data for _, e in ev])

    ref_x, ref_ev = run(9760)
    for size in (1, 7, 37, 1000):
        x, ev = run(size)
        np.testing.assert_array_equal(x, ref_x, err_msg=f"chunk_size={size}")
        np.testing.assert_array_equal(ev, ref_ev, err_msg=f"chunk_size={size}")
