"""File input and output with the files users really have: truncated, misnamed, with NaN, odd names, killed.

Each test failed before its fix (see the commit that added it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import mne
import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover, recover_main
from wavegraph.nodes.io.xdf import XdfStream, write_xdf
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec


def replay(path, **params):
    """(specs, data (channels, samples), events rows) of a whole file_source replay."""
    src = FileSource(path=str(path), **params)
    specs = src.configure({})
    sig, ev = [], [np.zeros((0, 3))]
    while (out := src.read()) is not None:
        sig.append(out["out"].data)
        if "events" in out:
            ev.append(out["events"].data)
    src.close()
    return specs, np.concatenate(sig, axis=1), np.concatenate(ev)


def record(path, x, spec, chunk=37, close=True, **params):
    rec = Recorder(path=str(path), **params)
    rec.configure({"in": spec})
    for i in range(0, x.shape[-1], chunk):
        rec.process({"in": Chunk(x[:, i : i + chunk], t0=i / spec.rate)})
    if close:
        rec.finish()
        rec.close()
    return rec


def eeg_spec(n, rate=250.0, names=None, kind="eeg", dtype="float64"):
    names = tuple(names or (f"E{i}" for i in range(n)))
    return StreamSpec("signal", rate, (n,), dtype, names, (kind,) * n, "V")


def test_truncated_fif_replays_what_it_holds(tmp_path, caplog):
    info = mne.create_info(["Fz", "Cz"], 200.0, "eeg")
    x = np.random.default_rng(0).normal(0, 1e-5, (2, 2000))
    full = tmp_path / "full_raw.fif"
    mne.io.RawArray(x, info, verbose="error").save(full, fmt="double", verbose="error")
    cut = tmp_path / "cut_raw.fif"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])  # a copy cut short: a torn last buffer
    with caplog.at_level(logging.WARNING):
        specs, y, _ = replay(cut)
    assert 0 < y.shape[1] < 2000 and "truncated" in caplog.text and str(cut) in caplog.text
    np.testing.assert_array_equal(y, x[:, : y.shape[1]])


def test_audio_under_another_name_is_read_as_audio(tmp_path):
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (300, 2)).astype(np.float32)
    for name, fmt in (("exported.edf", "WAV"), ("no_suffix", "WAV"), ("core_audio", "CAF")):
        sf.write(tmp_path / name, x, 22050, subtype="FLOAT", format=fmt)
        specs, y, _ = replay(tmp_path / name)
        assert specs["out"].rate == 22050 and specs["out"].dtype == "float32"
        np.testing.assert_array_equal(y, x.T)


@pytest.mark.parametrize("suffix, bits", [(".edf", 16), (".bdf", 24)])
def test_edf_bdf_keep_each_channels_scale_with_nan_and_inf(tmp_path, suffix, bits):
    x = np.random.default_rng(2).normal(0, 2e-5, (3, 500))
    x[0, 10], x[1, 20], x[2, 30] = np.nan, np.inf, -np.inf
    rec = record(tmp_path / f"r{suffix}", x, eeg_spec(3))
    assert rec.counters["nonfinite"] == 3
    y = np.asarray(mne.io.read_raw(tmp_path / f"r{suffix}", verbose="error").get_data())[:, :500]
    finite = np.isfinite(x)
    step = (np.nanmax(np.where(finite, x, np.nan), 1) - np.nanmin(np.where(finite, x, np.nan), 1)) / 2**bits
    assert (np.abs(y - x)[finite].reshape(3, -1) <= step[:, None]).all()  # not clipped to +-1 uV as before
    top, bottom = np.max(x[1][finite[1]]), np.min(x[2][finite[2]])
    assert y[1, 20] >= top - step[1] and y[2, 30] <= bottom + step[2]  # inf, -inf: the range's ends


def test_flac_takes_nan_and_survives_a_kill(tmp_path):
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (2, 3000)).astype(np.float32)
    x[0, 5] = np.nan
    spec = eeg_spec(2, 16000.0, kind="audio", dtype="float32")
    rec = record(tmp_path / "a.flac", x, spec, chunk=500)  # libFLAC failed on the NaN (AssertionError)
    y = sf.read(tmp_path / "a.flac", dtype="float32", always_2d=True)[0].T
    assert y[0, 5] == 0 and rec.counters["nonfinite"] == 1
    np.testing.assert_allclose(y[:, 6:], x[:, 6:], atol=2**-23)
    assert record(tmp_path / "e.flac", x[:, :0], spec).counters["no_samples"] == 1  # not a 0-byte "FLAC"
    assert not (tmp_path / "e.flac").exists()
    record(tmp_path / "died.flac", x[:, 6:], spec, chunk=500, close=False)  # the process "died"
    out = recover(tmp_path / "died.flac")  # the FLAC written as it went was unreadable (libFLAC buffers frames)
    np.testing.assert_allclose(sf.read(out, dtype="float32", always_2d=True)[0].T, x[:, 6:], atol=2**-23)


def test_fif_with_non_ascii_channel_names_is_written(tmp_path):
    x = np.random.default_rng(4).normal(0, 1e-5, (2, 300))
    record(tmp_path / "n_raw.fif", x, eeg_spec(2, names=["Fp1 ü", "Ø2"]))  # UnicodeEncodeError at close before
    raw = mne.io.read_raw_fif(tmp_path / "n_raw.fif", verbose="error")
    assert raw.ch_names == ["Fp1 u", "?2"]
    np.testing.assert_array_equal(raw.get_data(), x)


@pytest.mark.parametrize("name", ["d_raw.fif", "d.edf", "d.wav", "d.npz"])
def test_a_folder_as_the_path_is_refused_at_configure(tmp_path, name):
    (tmp_path / name).mkdir()
    spec = eeg_spec(2, kind="audio" if name.endswith(".wav") else "eeg")
    with pytest.raises(SpecError, match="is a folder"):
        Recorder(path=str(tmp_path / name), overwrite=True).configure({"in": spec})


def test_recover_takes_the_spill_path_and_keeps_marker_labels(tmp_path, capsys):
    path = tmp_path / "m_raw.fif"
    rec = Recorder(path=str(path), events=True)
    labels = ((1, "go, left"), (2, "stop"))
    rec.configure({"in": eeg_spec(2), "events": StreamSpec("events", 0.0, (3,), "float64", labels=labels)})
    rec.process({"in": Chunk(np.zeros((2, 500)), t0=0.0)})
    rec.process({"events": Chunk(np.array([[0.5, 0.0, 1.0], [1.0, 0.0, 2.0]]), t0=0.5)})
    assert recover_main([str(path) + ".spill"]) == 0  # `wavegraph recover x_raw.fif.spill`
    assert list(mne.io.read_raw_fif(path, verbose="error").annotations.description) == ["go, left", "stop"]
    empty = tmp_path / "e_raw.fif"
    rec = Recorder(path=str(empty))
    rec.configure({"in": eeg_spec(2)})
    rec._start()  # killed before the first sample was written
    assert recover_main([str(empty)]) == 1 and "no complete sample" in capsys.readouterr().err
    assert not list(tmp_path.glob("e_raw.fif.spill*"))  # the next recording there is not blocked


def test_xdf_empty_streams_and_integer_marker_streams(tmp_path):
    t = 50.0 + np.arange(500) / 250.0
    eeg = XdfStream("eeg", "EEG", 250.0, np.random.default_rng(5).normal(size=(500, 2)), t, labels=["a", "b"])
    codes = XdfStream("psychopy", "Markers", 0.0, np.array([[3], [7]]), [50.5, 51.0], channel_format="int32")
    silent = XdfStream("silent", "EEG", 100.0, np.zeros((0, 2)), [])  # write_xdf failed on it before
    write_xdf(tmp_path / "s.xdf", [eeg, codes, silent])
    specs, y, ev = replay(tmp_path / "s.xdf")
    assert y.shape == (2, 500) and specs["events"].labels == ((3, "3"), (7, "7"))  # int markers were dropped
    np.testing.assert_allclose(ev[:, [0, 2]], [[0.5, 3], [1.0, 7]], atol=1e-9)
    with pytest.raises(SpecError, match="silent.*no samples"):
        replay(tmp_path / "s.xdf", stream="silent")


def test_plot_names_the_file_it_cannot_draw(tmp_path, capsys):
    from wavegraph.nodes.io.plot import main

    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"not audio at all" * 8)
    assert main([str(bad), "-o", str(tmp_path / "x.png")]) == 2  # a LibsndfileError traceback before
    assert f"cannot plot {bad}" in capsys.readouterr().err
    sf.write(tmp_path / "empty.wav", np.zeros((0, 1)), 8000)
    assert main([str(tmp_path / "empty.wav"), "-o", str(tmp_path / "e.png")]) == 2  # an empty picture before
    assert "holds no samples" in capsys.readouterr().err
    t = 5.0 + np.arange(500) / 250.0
    eeg = XdfStream("eeg", "EEG", 250.0, np.random.default_rng(11).normal(size=(500, 2)), t, labels=["a", "b"])
    write_xdf(tmp_path / "s.xdf", [eeg, XdfStream("m", "Markers", 0.0, ["go"], [6.0], channel_format="string")])
    assert main([str(tmp_path / "s.xdf"), "-o", str(tmp_path / "s.png")]) == 0  # plot took no XDF before
    assert (tmp_path / "s.png").stat().st_size > 0


def test_batch_does_not_take_its_own_outputs_as_inputs(tmp_path):
    from wavegraph.pipeline.batch import plan

    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: x.edf}}\n"
        "  - {id: rec, type: recorder, params: {path: out_raw.fif}}\n"
        "edges:\n  - {source: src.out, target: rec.in}\n"
    )
    (tmp_path / "recs" / "results" / "s1").mkdir(parents=True)
    (tmp_path / "recs" / "s1_raw.fif").write_bytes(b"")
    (tmp_path / "recs" / "results" / "s1" / "out_raw.fif").write_bytes(b"")  # the first batch's output
    jobs = plan(str(graph), str(tmp_path / "recs" / "**" / "*.fif"), str(tmp_path / "recs" / "results"), [])
    assert [j.input for j in jobs] == [str(tmp_path / "recs" / "s1_raw.fif")]
    for name in ("bv.vhdr", "bv.eeg", "bv.vmrk", "s1_raw-1.fif", "lone.eeg"):  # parts of one recording
        (tmp_path / "recs" / name).write_bytes(b"")
    jobs = plan(str(graph), str(tmp_path / "recs" / "**" / "*"), str(tmp_path / "recs" / "results"), [])
    assert sorted(Path(j.input).name for j in jobs) == ["bv.vhdr", "lone.eeg", "s1_raw.fif"]  # one run each


def test_csv_keeps_names_and_labels_with_commas(tmp_path):
    import csv

    from wavegraph.nodes.io.plot import load

    def read(path):
        with open(path, newline="") as f:
            return list(csv.reader(f))

    names = ["C3, left", 'Cz "mid"', "Pz\nback"]
    record(tmp_path / "s.csv", np.arange(12.0).reshape(3, 4), eeg_spec(3, names=names))  # a torn header before
    assert read(tmp_path / "s.csv")[0] == ["t", "C3, left", 'Cz "mid"', "Pz back"]
    assert load(tmp_path / "s.csv")["names"] == ["C3, left", 'Cz "mid"', "Pz back"]
    rec = Recorder(path=str(tmp_path / "e.csv"))
    rec.configure({"in": StreamSpec("events", 0.0, (3,), "float64", labels=((1, "go, left"),))})
    rec.process({"in": Chunk(np.array([[0.5, 0.0, 1.0]]), t0=0.5)})
    rec.close()
    assert read(tmp_path / "e.csv")[1][3] == "go, left"  # was "go  left"
    assert load(tmp_path / "e.csv")["markers"] == [(0.5, "go, left")]


@pytest.mark.parametrize("size", ["3GB", "10kB", "abc", "0MB"])
def test_a_bad_split_size_is_refused_before_recording(size):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="split_size"):  # MNE refused it at close, the session left in the spill
        Recorder(path="x_raw.fif", split_size=size)


def write_edf_d(path, x, rate, starts, notes):
    """A minimal EDF+D: x (channels, records * rate) in uV, one-second records starting at `starts` (s),
    `notes` {record: [(onset, text)]} written into that record's annotation signal."""
    n_ch, n_rec, tal_len = x.shape[0], len(starts), 60

    def field(text, width):
        return str(text).encode("latin-1").ljust(width)

    ns = n_ch + 1
    head = field("0", 8) + field("X X X X", 80) + field("Startdate 01-JAN-2020 X X X", 80) + field("01.01.20", 8)
    head += field("10.00.00", 8) + field(256 * (ns + 1), 8) + field("EDF+D", 44) + field(n_rec, 8) + field(1, 8)
    head += field(ns, 4)
    per_signal = [(16, [f"E{i}" for i in range(n_ch)] + ["EDF Annotations"]), (80, [""] * ns)]
    per_signal += [(8, ["uV"] * n_ch + [""]), (8, [-1000] * n_ch + [-1]), (8, [1000] * n_ch + [1])]
    per_signal += [(8, [-32768] * ns), (8, [32767] * ns), (80, [""] * ns), (8, [int(rate)] * n_ch + [tal_len // 2])]
    per_signal += [(32, [""] * ns)]
    for width, values in per_signal:
        head += b"".join(field(v, width) for v in values)
    digital = np.round((x + 1000) / (2000 / 65535) - 32768).astype("<i2")
    with open(path, "wb") as f:
        f.write(head)
        for r, start in enumerate(starts):
            f.write(digital[:, r * int(rate) : (r + 1) * int(rate)].tobytes())
            tal = f"+{start}\x14\x14\x00" + "".join(f"+{t}\x14{text}\x14\x00" for t, text in notes.get(r, []))
            f.write(tal.encode().ljust(tal_len, b"\x00"))
    return path


def test_discontinuous_edf_keeps_its_gaps_and_markers(tmp_path):
    x = np.random.default_rng(6).uniform(-500, 500, (2, 4 * 128))
    notes = {0: [(0.5, "before")], 3: [(6.25, "after the gap")]}  # records at 0, 1, then 5, 6 s
    path = write_edf_d(tmp_path / "d.edf", x, 128, [0, 1, 5, 6], notes)
    src = FileSource(path=str(path), chunk_size=100)
    src.configure({})
    chunks, events = [], []
    while (out := src.read()) is not None:
        chunks.append(out["out"])
        events += [(row[0], out["out"].t0) for row in out.get("events", Chunk(np.zeros((0, 3)))).data]
    y = np.concatenate([c.data for c in chunks], axis=1)
    assert np.abs(y * 1e6 - x).max() <= 2000 / 65535  # the samples, packed as MNE reads them
    # MNE reads an EDF+D as continuous: before, no gap and t0 = sample / rate (2.0 s where 5.0 s was recorded)
    assert [(c.t0, c.data.shape[1], c.gap) for c in chunks] == [
        (0.0, 100, False),
        (100 / 128, 100, False),
        (200 / 128, 56, False),
        (5.0, 100, True),
        (5.0 + 100 / 128, 100, False),
        (5.0 + 200 / 128, 56, False),
    ]
    assert events == [(0.5, 0.0), (6.25, 5.0 + 100 / 128)]  # the marker after the gap was dropped by MNE (past 4 s)


def test_a_discontinuous_edf_read_into_memory_keeps_its_gaps_or_is_refused(tmp_path):
    # array_source with the Raw MNE reads from an EDF+D: the records went back to back (t0 2.0 s where 5.0 s was
    # recorded, no gap, the marker after the gap lost); now as file_source replays the file
    from wavegraph.nodes.io.array_source import ArraySource

    x = np.random.default_rng(6).uniform(-500, 500, (2, 4 * 128))
    path = write_edf_d(tmp_path / "d.edf", x, 128, [0, 1, 5, 6], {0: [(0.5, "a")], 3: [(6.25, "b")]})

    def chunks(src):
        src.configure({})
        out = []
        while (r := src.read()) is not None:
            out.append((r["out"].t0, r["out"].data.shape[1], r["out"].gap, r["out"].data.tobytes()))
            out += [tuple(row) for row in r.get("events", Chunk(np.zeros((0, 3)))).data]
        return out

    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    want = chunks(FileSource(path=str(path), chunk_size=100))
    assert chunks(ArraySource(data=raw, chunk_size=100)) == want
    assert [c[0] for c in want if len(c) == 4 and c[2]] == [5.0]
    with pytest.raises(SpecError, match=r"read from .*d\.edf, a discontinuous EDF\+D") as e:
        ArraySource(data=raw.copy().crop(0.5, None)).configure({})  # its samples no longer match the records
    assert f"file_source path: {path}" in e.value.hint


def test_the_data_part_of_a_brainvision_recording_points_to_its_header(tmp_path):
    (tmp_path / "rec.eeg").write_bytes(np.zeros(8, "<f4").tobytes())
    (tmp_path / "rec.vhdr").write_text("Brain Vision Data Exchange Header File Version 1.0\n")
    with pytest.raises(SpecError) as e:  # a UnicodeDecodeError from MNE's Nihon Kohden reader before
        FileSource(path=str(tmp_path / "rec.eeg")).configure({})
    assert str(tmp_path / "rec.vhdr") in e.value.hint


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_a_wav_whose_writer_died_before_its_size_is_read(tmp_path, subtype):
    x = np.random.default_rng(7).uniform(-0.5, 0.5, (700, 2))
    sf.write(tmp_path / "done.wav", x, 16000, subtype=subtype)
    data = bytearray((tmp_path / "done.wav").read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = bytes(4)  # arecord / sox / ffmpeg killed mid-stream: the data size is still 0
    (tmp_path / "killed.wav").write_bytes(bytes(data))
    _, y, _ = replay(tmp_path / "killed.wav")  # libsndfile reads 0 frames: nothing was replayed before
    np.testing.assert_array_equal(y, replay(tmp_path / "done.wav")[1])


def test_epochs_truncated_or_saved_under_a_raw_name(tmp_path):
    info = mne.create_info(["Fz", "Cz"], 100.0, "eeg")
    x = np.random.default_rng(8).normal(0, 1e-5, (5, 2, 50))
    events = np.array([[i * 100, 0, 1 + i % 2] for i in range(5)])
    epochs = mne.EpochsArray(x, info, events=events, event_id={"a": 1, "b": 2}, tmin=-0.1, verbose="error")
    epochs.save(tmp_path / "whole-epo.fif", fmt="double", verbose="error")
    (tmp_path / "whole-epo.fif").rename(tmp_path / "session.fif")  # MNE: "No raw data" before
    specs, y, ev = replay(tmp_path / "session.fif")
    np.testing.assert_array_equal(y, np.concatenate(list(x), axis=1))
    data = (tmp_path / "session.fif").read_bytes()
    (tmp_path / "cut-epo.fif").write_bytes(data[: len(data) * 2 // 3])  # failed at the first torn epoch before
    _, y, ev = replay(tmp_path / "cut-epo.fif")
    n = y.shape[1] // 50
    assert 0 < n < 5 and len(ev) == n  # no marker of an epoch that is not there
    np.testing.assert_array_equal(y, np.concatenate(list(x[:n]), axis=1))


def test_a_missing_file_names_the_folder_and_close_names(tmp_path, monkeypatch):
    sf.write(tmp_path / "subject01.wav", np.zeros(10), 8000)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as e:
        FileSource(path="subjet01.wav").configure({})
    assert str(tmp_path / "subjet01.wav") in str(e.value) and "did you mean subject01.wav" in e.value.hint


def test_recover_leaves_a_recording_in_progress_alone(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "live_raw.fif"
    rec = Recorder(path=str(path))
    rec.configure({"in": eeg_spec(2)})
    rec.process({"in": Chunk(np.ones((2, 100)), t0=0.0)})  # still recording, in this process
    cmd = [sys.executable, "-m", "wavegraph.nodes.io.recover", "recover", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    # before: the other process converted the live spill and deleted it; the session went on into a deleted file
    assert out.returncode == 1 and "being written by a running recorder" in out.stderr
    assert (tmp_path / "live_raw.fif.spill").exists() and not path.exists()
    rec.process({"in": Chunk(np.ones((2, 100)), t0=1.0)})
    rec.close()
    assert mne.io.read_raw_fif(path, verbose="error").n_times == 200


@pytest.mark.parametrize(
    "name, step",
    [("r_raw.fif", 0.0), ("r.edf", 2**-16), ("r.bdf", 2**-24), ("r.wav", 0.0), ("r.flac", 2**-23), ("R_RAW.FIF", 0.0)],
)
def test_every_signal_format_replays_what_was_recorded(tmp_path, name, step):
    audio = name.endswith((".wav", ".flac"))
    spec = eeg_spec(
        2, 16000.0 if audio else 250.0, kind="audio" if audio else "eeg", dtype="float32" if audio else "float64"
    )
    x = np.random.default_rng(9).uniform(-0.5, 0.5, (2, 777)).astype(spec.dtype) * (1 if audio else 1e-4)
    path = record(tmp_path / name, x, spec).path  # R_RAW.FIF: MNE refused the name at close (left in the spill)
    _, y, _ = replay(path)
    assert y.shape == x.shape  # EDF/BDF: the zeros padding the last record were replayed before
    resolution = step * (x.max(1) - x.min(1)) if not audio else np.full(2, step)
    assert (np.abs(y - x) <= resolution[:, None] + 1e-20).all()


def test_xdf_trigger_channel_and_params_that_do_not_apply(tmp_path):
    trig = np.zeros(500)
    trig[100:110], trig[300:305], trig[302:305] = 5, 7, 9  # a rise to 5, then 7 and 9 (as mne.find_events)
    data = np.column_stack([np.random.default_rng(10).normal(size=500), trig])
    eeg = XdfStream("eeg", "EEG", 250.0, data, 10 + np.arange(500) / 250, labels=["Cz", "TRIG"])
    marks = XdfStream("m", "Markers", 0.0, ["go"], [11.0], channel_format="string")
    write_xdf(tmp_path / "t.xdf", [eeg, marks])
    specs, _, ev = replay(tmp_path / "t.xdf", stim_channel="TRIG")  # stim_channel was ignored on XDF
    np.testing.assert_allclose(ev, [[0.4, 0, 5], [1.0, 0, 1], [1.2, 0, 7], [1.208, 0, 9]], atol=1e-9)
    assert dict(specs["events"].labels) == {1: "go", 5: "5", 7: "7", 9: "9"}
    sf.write(tmp_path / "a.wav", np.zeros(10), 8000)
    for path, params in ((tmp_path / "a.wav", {"stim_channel": "TRIG"}), (tmp_path / "a.wav", {"stream": "EEG"})):
        with pytest.raises(SpecError, match="stim channel|`stream`"):  # silently ignored before
            FileSource(path=str(path), **params).configure({})


def test_names_a_format_cannot_hold_are_said_at_configure(tmp_path, caplog):
    names = ["EEG Fp1-Ref (left frontal)", "Cz"]
    with caplog.at_level(logging.WARNING):
        Recorder(path=str(tmp_path / "n.edf")).configure({"in": eeg_spec(2, names=names)})  # cut silently before
    assert "'EEG Fp1-Ref (left frontal)' -> 'EEG Fp1-Ref (lef'" in caplog.text and "'Cz'" not in caplog.text


@pytest.mark.parametrize("name, n, rate", [("x.flac", 9, 16000.0), ("x.flac", 1, 700000.0), ("x.wav", 1100, 16000.0)])
def test_audio_formats_refuse_what_they_cannot_hold_at_configure(tmp_path, name, n, rate):
    with pytest.raises(SpecError, match="at most"):  # failed when the file was written (FLAC: at close)
        Recorder(path=str(tmp_path / name)).configure({"in": eeg_spec(n, rate, kind="audio", dtype="float32")})


def test_audio_libsndfile_cannot_read_says_how_to_convert(tmp_path):
    (tmp_path / "voice memo.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(100))
    with pytest.raises(SpecError) as e:  # "Unsupported file type (.m4a)" from MNE before
        FileSource(path=str(tmp_path / "voice memo.m4a")).configure({})
    assert "ffmpeg -i" in e.value.hint


@pytest.mark.parametrize("date", ["2084-01-01T00:00:00+00:00", "not a date"])
def test_fif_with_a_date_it_cannot_hold_is_written_undated(tmp_path, date):
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"), "V", meas_date=date)
    record(tmp_path / "d_raw.fif", np.ones((2, 100)), spec)  # failed at close before, the session left in the spill
    raw = mne.io.read_raw_fif(tmp_path / "d_raw.fif", verbose="error")
    assert raw.info["meas_date"] is None and raw.n_times == 100


@pytest.mark.parametrize("suffix", ["_raw.fif", ".edf"])
def test_a_recording_dated_before_1970_keeps_its_date(tmp_path, suffix, caplog):
    """A 1950 recording (MNE writes and reads FIF dates from 1901-12-13): it was written undated, unsaid."""
    spec = StreamSpec(
        "signal", 100.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"), "V", meas_date="1950-03-01T12:00:00+00:00"
    )
    record(tmp_path / f"d{suffix}", np.ones((2, 100)), spec)
    raw = mne.io.read_raw(tmp_path / f"d{suffix}", verbose="error")
    assert raw.info["meas_date"] == datetime(1950, 3, 1, 12, tzinfo=UTC) and "undated" not in caplog.text


def test_a_date_before_fifs_range_is_written_undated_and_said(tmp_path, caplog):
    spec = StreamSpec(
        "signal", 100.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"), "V", meas_date="1900-03-01T00:00:00+00:00"
    )
    record(tmp_path / "d_raw.fif", np.ones((2, 100)), spec)
    assert mne.io.read_raw_fif(tmp_path / "d_raw.fif", verbose="error").info["meas_date"] is None
    assert "FIF cannot hold the date 1900-03-01" in caplog.text


def test_a_signal_without_a_rate_is_refused_for_fif(tmp_path):
    spec = StreamSpec("signal", 0.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"), "V")
    with pytest.raises(SpecError, match="FIF needs a sample rate"):  # ZeroDivisionError at close before
        Recorder(path=str(tmp_path / "z_raw.fif")).configure({"in": spec})


def test_markers_without_a_time_or_code_do_not_stop_the_recorder(tmp_path):
    rec = Recorder(path=str(tmp_path / "m_raw.fif"), events=True)
    labels = ((1, "x"),)
    rec.configure({"in": eeg_spec(1, 100.0), "events": StreamSpec("events", 0.0, (3,), "float64", labels=labels)})
    rec.process({"in": Chunk(np.zeros((1, 300)), t0=0.0)})
    rows = np.array([[np.nan, 0, 1], [0.5, np.nan, 1], [1.0, 0, np.nan], [1.5, 0, np.inf], [2.0, 0, 1]])
    rec.process({"events": Chunk(rows, t0=0.0)})  # ValueError (NaN to integer) before
    rec.close()
    ann = mne.io.read_raw_fif(tmp_path / "m_raw.fif", verbose="error").annotations
    assert list(ann.onset) == [0.5, 2.0] and list(ann.duration) == [0.0, 0.0] and rec.counters["bad_marker"] == 3
    csv = Recorder(path=str(tmp_path / "m.csv"))
    csv.configure({"in": StreamSpec("events", 0.0, (3,), "float64", labels=labels)})
    csv.process({"in": Chunk(rows, t0=0.0)})
    csv.close()
    assert (tmp_path / "m.csv").read_text().splitlines()[3] == "1.0,0.0,nan,"  # CSV keeps what came


def test_a_split_size_too_small_for_the_stream_is_refused_at_configure(tmp_path):
    with pytest.raises(SpecError, match="split_size 1MB is too small") as e:  # MNE refused it at close before
        Recorder(path=str(tmp_path / "s_raw.fif"), split_size="1MB").configure({"in": eeg_spec(64, 1000.0)})
    assert "2MB" in e.value.hint
    x = np.random.default_rng(12).normal(0, 1e-5, (64, 6000))
    record(tmp_path / "s_raw.fif", x, eeg_spec(64, 1000.0), chunk=500, split_size="2MB")
    np.testing.assert_array_equal(replay(tmp_path / "s_raw.fif")[1], x)  # three parts, read through the first
    assert (tmp_path / "s_raw-1.fif").exists()


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_a_trigger_channel_keeps_its_codes_in_edf_and_bdf(tmp_path, suffix):
    x = np.zeros((2, 1000))
    x[0] = np.random.default_rng(13).normal(0, 1e-5, 1000)
    x[1, 100:110], x[1, 300:310], x[1, 500:510] = 5, 250, 3
    spec = StreamSpec("signal", 250.0, (2,), "float64", ("Cz", "TRIG"), ("eeg", "stim"), "V")
    record(tmp_path / f"t{suffix}", x, spec)
    _, y, ev = replay(tmp_path / f"t{suffix}", stim_channel="TRIG")
    np.testing.assert_array_equal(y[1], x[1])  # BDF: 4.99992 before, read as trigger 4
    assert ev[:, 2].tolist() == [5, 250, 3]


@pytest.mark.parametrize("name", ["nan_raw.fif", "nan.edf", "nan.npz"])
@pytest.mark.parametrize("recovered", [False, True])
def test_a_first_chunk_without_a_time_takes_its_time_from_the_next(tmp_path, name, recovered):
    """A first chunk with t0 NaN made close() (and recover) fail on int(NaN) for FIF, EDF and NPZ; the
    recording's start is now the first timed chunk's t0 less the samples before it."""
    spec = eeg_spec(2)
    x = np.random.default_rng(3).normal(0, 1e-5, (2, 100))
    rec = Recorder(path=str(tmp_path / name))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(x[:, :10], t0=float("nan"))})
    rec.process({"in": Chunk(x[:, 10:], t0=5.0 + 10 / spec.rate)})
    if recovered:  # killed before close: the spill and its chunk log are converted afterwards
        recover(tmp_path / name)
    else:
        rec.finish()
        rec.close()
    if name.endswith(".npz"):
        with np.load(tmp_path / name) as z:
            assert z["data"].shape == x.shape
    else:
        assert replay(tmp_path / name)[1].shape == x.shape
    if name.endswith(".fif"):
        raw = mne.io.read_raw_fif(tmp_path / name, verbose="error")
        assert raw.first_samp == 1250  # 5.0 s at 250 Hz


def test_markers_outside_the_recording_are_said_not_only_left_out(tmp_path, caplog):
    """Markers stamped on another clock (Unix time against the signal's LSL clock) all fell outside the
    recording and were left out of the FIF without a word: a calibration run then trained on nothing."""
    rec = Recorder(path=str(tmp_path / "o_raw.fif"), events=True)
    rec.configure({"in": eeg_spec(1, 100.0), "events": StreamSpec("events", 0.0, (3,), "float64", labels=((1, "x"),))})
    rec.process({"in": Chunk(np.zeros((1, 300)), t0=5000.0)})
    rec.process({"events": Chunk(np.array([[5001.0, 0, 1], [1.7e9, 0, 1], [1.7e9 + 1, 0, 1]]), t0=5001.0)})
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        rec.close()
    raw = mne.io.read_raw_fif(tmp_path / "o_raw.fif", verbose="error")
    assert list(raw.annotations.onset - raw.first_time) == [1.0]  # the one marker on the signal's clock
    said = [r.getMessage() for r in caplog.records if "outside the recording" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("recorder: 2 of 3 markers")


def test_annotation_texts_are_codes_only_in_plain_decimal(tmp_path):
    """file_source took an annotation text as its own code whenever int() read it: "1_2" (block 1, target 2)
    became code 12, as the LSL inlet did before; both follow one rule now (nodes/io/marker_codes.py)."""
    raw = mne.io.RawArray(np.zeros((1, 1000)), mne.create_info(["Oz"], 250.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 2.0], [0.0, 0.0], ["1_2", "3"]))
    raw.save(tmp_path / "a_raw.fif", verbose="error")
    specs, _, ev = replay(tmp_path / "a_raw.fif")
    assert dict(specs["events"].labels) == {3: "3", 4: "1_2"}  # was {12: "1_2", 3: "3"}; "3" is 3, as live
    assert ev[:, -1].tolist() == [4.0, 3.0]
    raw.set_annotations(mne.Annotations([1.0, 2.0], [0.0, 0.0], [" 7", "-3"]))  # plain decimal: their own codes
    raw.save(tmp_path / "b_raw.fif", verbose="error")
    assert dict(replay(tmp_path / "b_raw.fif")[0]["events"].labels) == {7: " 7", -3: "-3"}
