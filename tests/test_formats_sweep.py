"""Real-data file formats a new user brings (audio for the enhancer, EEG for file_source): each test builds a
small file at test time and fails on the code before its fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _voice(rate: int, seconds: float) -> np.ndarray:
    """A voiced, gliding-pitch signal with syllable gaps (speech-like for the enhancer), float64."""
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 0.5 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20)) * (np.sin(2 * np.pi * 3 * t) > 0)
    return 0.1 * voiced + 0.005 * np.random.default_rng(0).standard_normal(t.size)


def _enhance_file(src: Path, out: Path) -> np.ndarray:
    import soundfile as sf
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    sets = [f"src.path={src}", f"rec.path={out}", f"vad.path={out.with_suffix('.csv')}"]
    result = run_graph(build_graph(load_config(ROOT / "configs" / "speech_enhance_file.yaml", sets)), in_process=True)
    assert result.exit_code == 0, result.failure
    y, rate = sf.read(out, dtype="float64")
    assert rate == 16000
    return y


def test_enhance_file_graph_output_is_aligned_for_44k1_and_8k_input(tmp_path):
    """The resampler did not declare its delay on its stream, so `align` left it in: a 44.1 kHz file came out
    160 samples (10 ms) late, an 8 kHz one 20 samples, against the same speech given at 16 kHz."""
    import soundfile as sf
    from scipy.signal import correlate, resample_poly

    x16 = _voice(16000, 1.0)
    sf.write(tmp_path / "r16.wav", x16, 16000, subtype="FLOAT")
    ref = _enhance_file(tmp_path / "r16.wav", tmp_path / "o16.wav")
    for rate, (up, down) in ((44100, (441, 160)), (8000, (1, 2))):
        sf.write(tmp_path / f"r{rate}.wav", resample_poly(x16, up, down), rate, subtype="FLOAT")  # zero-phase
        y = _enhance_file(tmp_path / f"r{rate}.wav", tmp_path / f"o{rate}.wav")
        n = min(len(y), len(ref))
        c = correlate(y[:n], ref[:n], mode="full")
        lag = int(np.argmax(c)) - (n - 1)
        assert lag == 0, (rate, lag)
        assert abs(len(y) - len(x16)) <= 0.0015 * 16000, (rate, len(y), len(x16))  # the filter's tail, < 1.5 ms


def _replay(path: Path, **params) -> tuple[np.ndarray, list, np.ndarray]:
    """(signal, [(t0, gap)] per chunk, event rows) of a file_source replay."""
    from wavegraph.nodes.io.file_source import FileSource

    src = FileSource(path=str(path), **params)
    src.configure({})
    xs, chunks, evs = [], [], []
    while (c := src.read()) is not None:
        xs.append(c["out"].data)
        chunks.append((c["out"].t0, c["out"].gap))
        if "events" in c:
            evs.append(c["events"].data)
    return np.concatenate(xs, axis=1), chunks, np.concatenate(evs) if evs else np.zeros((0, 3))


def test_xdf_markers_stay_on_their_samples_across_a_1_5_s_dropout_at_250_hz(tmp_path):
    """pyxdf's default break rule (over max(1 s, 500 samples): 2 s at 250 Hz) fitted one line across a 1.5 s
    dropout, so every timestamp around it moved by up to 0.75 s and the markers landed up to 158 samples off."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    fs, n, hole, cut = 250.0, 5000, 1.5, 2500
    rng = np.random.default_rng(1)
    stamps = 1000.0 + np.arange(n) / fs + rng.normal(0, 2e-4, n)  # LSL jitter
    stamps[cut:] += hole  # the amplifier's radio dropped 1.5 s
    x = rng.standard_normal((n, 3)).astype(np.float32)
    marks = np.array([250, 1000, 2400, 2600, 4000, 4900])
    eeg = XdfStream("amp", "EEG", fs, x, stamps, "float32", ["O1", "Oz", "O2"], "EEG", "microvolts")
    mark_stamps = 1000.0 + marks / fs + np.where(marks >= cut, hole, 0.0)
    mk = XdfStream("stim", "Markers", 0.0, [f"m{i}" for i in range(len(marks))], mark_stamps, "string")
    path = write_xdf(tmp_path / "dropout.xdf", [eeg, mk])
    data, chunks, ev = _replay(path, chunk_size=50)
    np.testing.assert_allclose(data, x.T.astype(np.float64) * 1e-6, rtol=1e-6)
    t0 = np.array([t for t, _ in chunks])
    gaps = [i * 50 for i, (_, g) in enumerate(chunks) if g]
    assert gaps == [cut]  # the dropout is a gap, where it was
    index = np.searchsorted(t0, ev[:, 0], side="right") - 1  # the chunk holding each marker
    sample = index * 50 + np.round((ev[:, 0] - t0[index]) * fs)
    np.testing.assert_array_equal(sample, marks)


def _brainvision(folder: Path, markers: list[tuple[str, int]]) -> Path:
    """A BrainVision Recorder file set (INT_16, 0.1 uV, 250 Hz, 3 channels, 2 s) with these (marker, sample)."""
    x = (np.random.default_rng(0).standard_normal((500, 3)) * 100).astype("<i2")
    (folder / "rec.eeg").write_bytes(x.tobytes())
    (folder / "rec.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n[Common Infos]\nCodepage=UTF-8\nDataFile=rec.eeg\n"
        "MarkerFile=rec.vmrk\nDataFormat=BINARY\nDataOrientation=MULTIPLEXED\nNumberOfChannels=3\n"
        "SamplingInterval=4000\n[Binary Infos]\nBinaryFormat=INT_16\n[Channel Infos]\n"
        + "".join(f"Ch{i + 1}={name},,0.1,µV\n" for i, name in enumerate(["O1", "Oz", "O2"]))
    )
    lines = [
        "Brain Vision Data Exchange Marker File, Version 1.0",
        "[Common Infos]",
        "Codepage=UTF-8",
        "DataFile=rec.eeg",
    ]
    lines += ["[Marker Infos]", "Mk1=New Segment,,1,1,0,20240101120000000000"]
    lines += [
        f"Mk{k + 2}={kind},{text},{sample + 1},1,0"
        for k, (text, sample) in enumerate(markers)
        for kind in ["Stimulus" if text.startswith("S") else "Response" if text.startswith("R") else "Comment"]
    ]
    (folder / "rec.vmrk").write_text("\n".join(lines) + "\n")
    return folder / "rec.vhdr"


def test_brainvision_marker_codes_are_mnes(tmp_path):
    """'Stimulus/S  8' came out of file_source as code 2 (1..k over the sorted texts), so `epochs` with
    codes: [8] (the trigger the amplifier got, and MNE's events_from_annotations code) matched nothing."""
    import mne

    vhdr = _brainvision(tmp_path, [("S  8", 100), ("S 10", 200), ("R  1", 250), ("S  8", 300), ("S 15", 400)])
    raw = mne.io.read_raw_brainvision(vhdr, verbose="error")
    raw.save(tmp_path / "from_bv_raw.fif", verbose="error")  # the same markers in a FIF: MNE codes them the same
    for path in (vhdr, tmp_path / "from_bv_raw.fif"):
        events, _ = mne.events_from_annotations(mne.io.read_raw(path, verbose="error"), verbose="error")
        _, _, ev = _replay(path, chunk_size=64)
        np.testing.assert_array_equal(ev[:, 2], events[:, 2])
        np.testing.assert_array_equal(ev[:, 2], [8, 10, 1001, 8, 15])
        np.testing.assert_allclose(ev[:, 0] * 250, events[:, 0])


@pytest.mark.parametrize("fmt", ["edf", "bdf"])
def test_mne_exported_edf_replays_without_its_padding(tmp_path, fmt):
    """mne.export.export_raw fills the last one-second record with the last value and marks it BAD_ACQ_SKIP:
    file_source replayed those samples as signal (2.5 s -> 3 s) and the mark as an event."""
    import mne

    x = np.random.default_rng(0).standard_normal((3, 625)) * 1e-5  # 2.5 s at 250 Hz
    raw = mne.io.RawArray(x, mne.create_info(["O1", "Oz", "O2"], 250.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.5, 2.0], [1.0, 0.0], ["8", "10"]))
    path = tmp_path / f"exported.{fmt}"
    mne.export.export_raw(path, raw, fmt=fmt, verbose="error")
    assert mne.io.read_raw(path, verbose="error").n_times == 750  # as MNE reads it: padded to whole records
    data, _, ev = _replay(path, chunk_size=100)
    assert data.shape == (3, 625)
    np.testing.assert_allclose(data, x, atol=2e-9 if fmt == "edf" else 1e-11)  # EDF 16-bit, BDF 24-bit steps
    np.testing.assert_allclose(ev, [[0.5, 1.0, 8.0], [2.0, 0.0, 10.0]])


def test_epoched_eeglab_set_replays_as_epochs(tmp_path):
    """An EEGLAB .set holding trials (the usual EEGLAB file after pop_epoch) was refused with MNE's raw-reader
    TypeError ('The number of trials is 4. It must be 1 for raw files'); MNE reads it with read_epochs_eeglab."""
    import mne

    x = np.random.default_rng(0).standard_normal((4, 3, 200)) * 1e-5  # 4 trials, 3 channels, 0.8 s at 250 Hz
    info = mne.create_info(["O1", "Oz", "O2"], 250.0, "eeg")
    events = np.array([[50 + 300 * k, 0, 8 if k % 2 else 10] for k in range(4)])
    ep = mne.EpochsArray(x, info, events, tmin=-0.2, event_id={"8": 8, "10": 10}, verbose="error")
    mne.export.export_epochs(tmp_path / "trials.set", ep, verbose="error")
    ref = mne.read_epochs_eeglab(tmp_path / "trials.set", verbose="error")
    data, chunks, ev = _replay(tmp_path / "trials.set", chunk_size=64)
    np.testing.assert_allclose(data, np.concatenate(list(ref.get_data()), axis=1))
    assert [i for i, (_, gap) in enumerate(chunks) if gap] == [4, 8, 12]  # each trial after the first: a gap
    np.testing.assert_allclose(ev[:, 0], 0.2 + 0.8 * np.arange(4))  # each trial's event at its time-locked sample
    inv = {c: d for d, c in ref.event_id.items()}
    assert [inv[int(c)] for c in ev[:, 2]] == ["10", "8", "10", "8"]


def test_train_ssvep_reads_trials_from_an_epoched_eeglab_set(tmp_path):
    """`wavegraph train ssvep trials.set` (and `bench bci --data`) ended in a TypeError traceback from MNE's raw
    reader; they read the trials as file_source does now."""
    import mne
    from wavegraph.benchmarks.train_ssvep import recording_trials

    t = np.arange(500) / 250.0 - 0.2
    freqs = [8.0, 10.0, 8.0, 10.0]
    x = np.stack([np.tile(np.sin(2 * np.pi * f * t), (3, 1)) * 1e-5 for f in freqs])
    events = np.array([[50 + 600 * k, 0, int(f)] for k, f in enumerate(freqs)])
    info = mne.create_info(["O1", "Oz", "O2"], 250.0, "eeg")
    ep = mne.EpochsArray(x, info, events, tmin=-0.2, event_id={"8": 8, "10": 10}, verbose="error")
    mne.export.export_epochs(tmp_path / "calib.set", ep, verbose="error")
    xs, ys, trial, fs, channels = recording_trials(tmp_path / "calib.set", [8.0, 10.0], None, 1.0, 0.14, None, None, {})
    assert fs == 250.0 and channels == ["O1", "Oz", "O2"]
    assert list(ys) == [0, 1, 0, 1] and list(trial) == [0, 1, 2, 3] and xs.shape[-1] == 250


def test_bench_enhance_takes_a_folder_of_mp3_and_ogg_speech(tmp_path):
    """`bench enhance --clean DIR` looked only for .wav/.flac: a Common Voice folder (.mp3) or an .ogg corpus was
    'no .wav or .flac files', though file_source (and libsndfile) read them."""
    import soundfile as sf
    from wavegraph.benchmarks.enhance_data import load_folder

    x = _voice(16000, 1.2)
    sf.write(tmp_path / "a.mp3", x, 16000)
    sf.write(tmp_path / "b.ogg", x, 16000, subtype="VORBIS")
    (tmp_path / "notes.txt").write_text("not audio")
    got = load_folder(str(tmp_path), 1.0, "--clean", log=print)
    assert [p.name for p, _ in got] == ["a.mp3", "b.ogg"]
    for _, y in got:
        assert len(y) == 16000 and np.corrcoef(y, x[:16000])[0, 1] > 0.9  # lossy codecs: close, not equal


def test_car_on_a_fif_with_eog_ecg_and_stim_equals_mnes_average_reference(tmp_path):
    """A FIF with EOG and ECG channels (as most lab recordings have) through `car`: the ECG (mV) and EOG went
    into the average and were re-referenced, so the heartbeat was subtracted from every EEG channel; MNE's
    set_eeg_reference averages and re-references the EEG channels only."""
    import mne
    from wavegraph.pipeline.api import GraphBuilder

    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 1000)) * 1e-5
    x[5] *= 100  # ECG, ~1 mV
    x[6] = 0.0
    x[6, 300:320] = 5.0  # a trigger
    names = ["O1", "Oz", "O2", "PO3", "EOG1", "ECG1", "STI 014"]
    info = mne.create_info(names, 250.0, ["eeg"] * 4 + ["eog", "ecg", "stim"])  # pyright: ignore[reportArgumentType]  # mne stub: ch_types may be a list
    raw = mne.io.RawArray(x, info, verbose="error")
    raw.save(tmp_path / "lab_raw.fif", verbose="error")
    g = GraphBuilder()
    car = g.add("car", g.add("file_source", path=str(tmp_path / "lab_raw.fif"), chunk_size=37))
    y = g.run(capture=[car])[f"{car}.out"].data
    saved = mne.io.read_raw_fif(tmp_path / "lab_raw.fif", preload=True, verbose="error")  # float32 on disk
    ref = saved.set_eeg_reference("average", verbose="error").get_data()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-20)


def test_flac_recorder_counts_and_says_the_samples_it_clips(tmp_path, caplog):
    """The enhancer's output of a clipped (full-scale) recording peaks above 1 (1.11 on real speech clipped at
    +-1): written to .flac (24-bit PCM) those samples were clipped without a word."""
    import logging

    import soundfile as sf
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    x = (1.3 * np.sin(2 * np.pi * 200 * np.arange(1600) / 16000)).astype(np.float32)[None]
    rec = Recorder(path=str(tmp_path / "loud.flac"))
    rec.configure({"in": signal_spec(16000, ["ch0"], "audio", "float32", "a.u.")})
    rec.process({"in": Chunk(x, t0=0.0)})
    rec.finish()
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        rec.close()
    over = int(np.count_nonzero(np.abs(x) > 1))
    assert over > 0 and rec.counters["clipped"] == over
    assert "clipped" in caplog.text and "loud.flac" in caplog.text
    y = sf.read(tmp_path / "loud.flac", dtype="float32")[0]
    assert np.abs(y).max() <= 1.0 and len(y) == 1600  # clipped, as said; the rest is there


def test_enhancer_survives_a_corrupt_float_wav_burst(tmp_path):
    """A float WAV with a burst of huge finite values (1e30: a corrupt file, or raw bytes read as float) made the
    enhancer's float32 state inf, and every output sample after it NaN to the end of the file."""
    import soundfile as sf

    x = _voice(16000, 1.5).astype(np.float32)
    bad = x.copy()
    bad[1600:1700] = 1e30
    sf.write(tmp_path / "clean.wav", x, 16000, subtype="FLOAT")
    sf.write(tmp_path / "burst.wav", bad, 16000, subtype="FLOAT")
    ref = _enhance_file(tmp_path / "clean.wav", tmp_path / "o_clean.wav")
    y = _enhance_file(tmp_path / "burst.wav", tmp_path / "o_burst.wav")
    assert np.isfinite(y).all() and len(y) == len(x)
    assert np.corrcoef(y[8000:], ref[8000:])[0, 1] > 0.99  # half a second later, as if there had been no burst


def test_bci_replay_of_a_160_hz_edf_says_to_lower_the_notch_harmonics(tmp_path, capsys):
    """configs/bci_ssvep_replay.yaml notches 50 and 100 Hz; on a 160 Hz recording (EEGMMIDB's rate) the error told
    the user to 'choose notch frequency (harmonic 2) between 0 and 80 Hz', which no parameter sets."""
    import mne
    from wavegraph.pipeline.cli import main

    raw = mne.io.RawArray(np.zeros((2, 320)), mne.create_info(["O1", "O2"], 160.0, "eeg"), verbose="error")
    raw.save(tmp_path / "r160_raw.fif", verbose="error")
    sets = [f"eeg.path={tmp_path / 'r160_raw.fif'}", f"rec.path={tmp_path / 'x_raw.fif'}"]
    assert (
        main(["validate", str(ROOT / "configs" / "bci_ssvep_replay.yaml"), *(a for s in sets for a in ("--set", s))])
        == 2
    )
    err = capsys.readouterr()
    assert "harmonics: 1" in err.out + err.err


def test_a_fifs_bad_channels_stay_out_of_car_and_stay_marked_in_the_recording(tmp_path):
    """A FIF with a channel marked bad (MNE's info['bads']): car averaged the bad (flat or noisy) channel into
    every other one, and the recording lost the mark; MNE's set_eeg_reference leaves bads out and untouched."""
    import mne
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.registry import lookup

    x = np.random.default_rng(0).standard_normal((5, 800)) * 1e-5
    x[1] += 3e-3  # a bad electrode: 3 mV of drift
    raw = mne.io.RawArray(x, mne.create_info(["O1", "Oz", "O2", "PO3", "PO4"], 250.0, "eeg"), verbose="error")
    raw.info["bads"] = ["Oz"]
    raw.save(tmp_path / "bads_raw.fif", verbose="error")
    g = GraphBuilder()
    car = g.add("car", g.add("file_source", path=str(tmp_path / "bads_raw.fif"), chunk_size=50))
    g.add("recorder", car, path=str(tmp_path / "out_raw.fif"))
    y = g.run(capture=[car])[f"{car}.out"].data
    saved = mne.io.read_raw_fif(tmp_path / "bads_raw.fif", preload=True, verbose="error")
    np.testing.assert_allclose(y, saved.set_eeg_reference("average", verbose="error").get_data(), atol=1e-20)
    assert mne.io.read_raw_fif(tmp_path / "out_raw.fif", verbose="error").info["bads"] == ["Oz"]
    epochs = mne.make_fixed_length_epochs(saved, duration=1.0, verbose="error")  # an epochs file: the same
    epochs.save(tmp_path / "bads-epo.fif", verbose="error")
    src = lookup("file_source")(path=str(tmp_path / "bads-epo.fif"))
    assert src.configure({})["out"].bads == ("Oz",)
