"""recorder writes what it receives, losslessly, and leaves a complete file on abrupt stops."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import mne
import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

REPO = Path(__file__).resolve().parents[1]


def first_out(src: FileSource):
    """The next read's signal chunk (the source must not be at its end)."""
    out = src.read()
    assert out is not None
    return out["out"]


def read_fif(path):
    return mne.io.read_raw(path, preload=True, verbose="error")


def test_edf_replay_to_fif_is_sample_exact(edf_path, tmp_path):
    """Real EEG: file_source -> recorder -> FIF equals mne's own read of the EDF bit for bit.
    The stream is float64, so the recorder saves fmt="double" (no float32 rounding)."""
    src = FileSource(path=str(edf_path), chunk_size=32)
    specs = src.configure({})
    rec = lookup("recorder")(path=str(tmp_path / "s001r02_raw.fif"), chunk_log=True)
    rec.configure({"in": specs["out"]})
    t0s = []
    while (out := src.read()) is not None:
        rec.process({"in": out["out"]})
        t0s.append(out["out"].t0)
    rec.finish()
    rec.close()
    ref = mne.io.read_raw(edf_path, preload=True, verbose="error")
    got = read_fif(tmp_path / "s001r02_raw.fif")
    assert got.ch_names == ref.ch_names and got.info["sfreq"] == 160.0
    assert got.get_channel_types() == ref.get_channel_types()
    np.testing.assert_array_equal(got.get_data(), ref.get_data())
    assert rec.counters == {"chunks": 305, "samples": 9760}
    log = np.genfromtxt(tmp_path / "s001r02_raw.fif.chunks.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(log["t0"], t0s)
    assert log["n"].sum() == 9760 and not log["gap"].any()
    assert not (tmp_path / "s001r02_raw.fif.spill").exists()


def test_float32_stream_saved_single_and_first_samp_from_t0(tmp_path):
    spec = signal_spec(250.0, ["C3", "C4"], dtype="float32")
    x = np.random.default_rng(2).standard_normal((2, 600)).astype(np.float32) * 1e-5
    rec = Recorder(path=str(tmp_path / "f32_eeg.fif"))
    rec.configure({"in": spec})
    for i in range(0, 600, 100):
        rec.process({"in": Chunk(x[:, i : i + 100], t0=2.0 + i / 250.0, gap=(i == 300))})
    rec.close()
    raw = read_fif(tmp_path / "f32_eeg.fif")
    assert raw.first_samp == 500  # first t0 2.0 s at 250 Hz
    data: np.ndarray = raw.get_data()  # pyright: ignore[reportAssignmentType]  # mne stub: get_data() is an array
    np.testing.assert_array_equal(data.astype(np.float32), x)  # float32 exactly
    assert list(raw.annotations.description) == ["BAD boundary", "EDGE boundary"]  # MNE's marks of a join
    assert raw.annotations.onset[0] - raw.first_time == pytest.approx(300 / 250.0)


def test_channel_types_mne_cannot_save_are_kept_as_misc(tmp_path):
    # "meg" and "fnirs" are stream types (file_source maps MNE's fNIRS kinds to "fnirs") but not MNE
    # kinds; create_info refused them at close(), so the recording was never finalised.
    spec = StreamSpec("signal", 100.0, (3,), "float64", ("m", "f", "e"), ("meg", "fnirs", "eeg"), "V")
    x = np.random.default_rng(6).standard_normal((3, 50))
    rec = Recorder(path=str(tmp_path / "types_raw.fif"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(x)})
    rec.close()
    raw = read_fif(tmp_path / "types_raw.fif")
    assert raw.get_channel_types() == ["misc", "misc", "eeg"]
    np.testing.assert_array_equal(raw.get_data(), x)


def test_abrupt_stop_close_only_leaves_complete_fif(edf_path, tmp_path):
    """Process some chunks, then close() without finish(): the file holds exactly those samples."""
    src = FileSource(path=str(edf_path), chunk_size=17, picks=["Cz..", "Pz.."])
    rec = Recorder(path=str(tmp_path / "part_raw.fif"))
    rec.configure({"in": src.configure({})["out"]})
    for _ in range(10):
        rec.process({"in": first_out(src)})
    rec.close()
    rec.close()  # idempotent
    ref = mne.io.read_raw(edf_path, verbose="error").get_data(picks=["Cz..", "Pz.."], stop=170)  # pyright: ignore[reportArgumentType]  # mne stub: picks may be a list
    np.testing.assert_array_equal(read_fif(tmp_path / "part_raw.fif").get_data(), ref)
    with pytest.raises(RuntimeError, match="closed"):
        rec.process({"in": first_out(src)})


def test_recover_after_process_died_before_close(tmp_path):
    spec = signal_spec(100.0, ["a", "b", "c"])
    x = np.arange(3 * 250, dtype=np.float64).reshape(3, 250)
    rec = Recorder(path=str(tmp_path / "died_raw.fif"))
    rec.configure({"in": spec})
    for i in range(0, 250, 50):
        rec.process({"in": Chunk(x[:, i : i + 50], t0=i / 100.0)})
    # no close(): the spill is on disk, flushed per chunk; a torn last row is dropped
    with open(tmp_path / "died_raw.fif.spill", "ab") as f:
        f.write(b"\x00" * 12)
    assert not (tmp_path / "died_raw.fif").exists()
    recover(tmp_path / "died_raw.fif")
    raw = read_fif(tmp_path / "died_raw.fif")
    assert raw.ch_names == ["a", "b", "c"] and raw.get_channel_types() == ["eeg"] * 3
    np.testing.assert_array_equal(raw.get_data(), x)
    assert not (tmp_path / "died_raw.fif.spill").exists()


def test_wav_round_trip_and_valid_before_close(tmp_path):
    x = np.random.default_rng(3).uniform(-1, 1, (2, 4000)).astype(np.float32)
    spec = StreamSpec("signal", 16000.0, (2,), "float32", ("ch0", "ch1"), ("audio", "audio"), "a.u.")
    rec = Recorder(path=str(tmp_path / "a.wav"))
    rec.configure({"in": spec})
    for i in range(0, 2000, 480):
        rec.process({"in": Chunk(x[:, i : min(i + 480, 2000)], t0=i / 16000.0)})
    mid, sr = sf.read(tmp_path / "a.wav", dtype="float32")  # readable while still open
    assert sr == 16000 and mid.shape == (2000, 2)
    np.testing.assert_array_equal(mid.T, x[:, :2000])
    for i in range(2000, 4000, 480):
        rec.process({"in": Chunk(x[:, i : min(i + 480, 4000)], t0=i / 16000.0)})
    rec.close()
    got, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    np.testing.assert_array_equal(got.T, x)
    assert sf.info(tmp_path / "a.wav").subtype == "FLOAT"


def test_audio_file_through_source_and_recorder(tmp_path):
    x = np.random.default_rng(4).uniform(-0.5, 0.5, (3000, 1))
    sf.write(tmp_path / "in.wav", x, 8000, subtype="DOUBLE")
    src = FileSource(path=str(tmp_path / "in.wav"), dtype="float64", chunk_size=256)
    rec = Recorder(path=str(tmp_path / "out.wav"))
    rec.configure({"in": src.configure({})["out"]})
    while (out := src.read()) is not None:
        rec.process({"in": out["out"]})
    rec.close()
    got, sr = sf.read(tmp_path / "out.wav", dtype="float64", always_2d=True)
    assert sr == 8000 and sf.info(tmp_path / "out.wav").subtype == "DOUBLE"
    np.testing.assert_array_equal(got, x)


def test_events_to_csv_and_npz(edf_path, tmp_path):
    ev_spec = StreamSpec("events", 0.0, (3,), labels=((1, "rest"), (2, "move, left")))
    rows = [np.array([[0.5, 0.0, 1.0]]), np.array([[1.25, 2.0, 2.0], [3.0, 0.1, 1.0]])]
    csv_rec, npz_rec = Recorder(path=str(tmp_path / "ev.csv")), Recorder(path=str(tmp_path / "ev.npz"))
    for rec in (csv_rec, npz_rec):
        rec.configure({"in": ev_spec})
        for r in rows:
            rec.process({"in": Chunk(r, t0=r[0, 0])})
        rec.process({"in": Chunk(np.zeros((0, 3)))})  # empty chunks are skipped
        rec.close()
    lines = (tmp_path / "ev.csv").read_text().splitlines()
    assert lines == ["onset,duration,code,label", "0.5,0.0,1,rest", '1.25,2.0,2,"move, left"', "3.0,0.1,1,rest"]
    z = np.load(tmp_path / "ev.npz")
    np.testing.assert_array_equal(z["data"], np.concatenate(rows))
    assert StreamSpec.from_dict(json.loads(str(z["spec"]))) == ev_spec
    assert csv_rec.counters == {"chunks": 2, "rows": 3}


def test_features_and_tokens(tmp_path):
    feats = StreamSpec("features", 10.0, (2,), "float32", channel_names=("alpha", "beta"))
    toks = StreamSpec("tokens", 50.0, (), "int64")
    f = np.arange(10, dtype=np.float32).reshape(5, 2)
    t = np.array([3, 1, 4, 1, 5, 9], dtype=np.int64)
    for path, spec, data in [("f.csv", feats, f), ("f.npz", feats, f), ("t.csv", toks, t), ("t.npz", toks, t)]:
        rec = Recorder(path=str(tmp_path / path))
        rec.configure({"in": spec})
        rec.process({"in": Chunk(data[:2], t0=1.0)})
        rec.process({"in": Chunk(data[2:], t0=1.0 + 2 / spec.rate)})
        rec.close()
    assert (tmp_path / "f.csv").read_text().splitlines()[:3] == ["t,alpha,beta", "1.0,0.0,1.0", "1.1,2.0,3.0"]
    np.testing.assert_array_equal(np.load(tmp_path / "f.npz")["data"], f)
    tz = np.load(tmp_path / "t.npz")["data"]
    assert tz.dtype == np.int64
    np.testing.assert_array_equal(tz, t)
    assert (tmp_path / "t.csv").read_text().splitlines()[1:3] == ["1.0,3", "1.02,1"]


def test_bad_paths_and_specs(tmp_path):
    eeg = signal_spec(100.0, ["Cz"])
    ev = StreamSpec("events", 0.0, (3,))
    cases = [
        ("rec.mat", eeg, "suffix"),
        ("ev.wav", ev, ".npz"),
        ("ev.edf", ev, ".npz"),
        ("odd.bdf", signal_spec(100.0001, ["Cz"]), "resample to a whole rate"),  # (100.5: 201 samples in 2 s)
        ("a_file/x_raw.fif", eeg, "not a writable folder"),
        ("odd.wav", signal_spec(100.5, ["Cz"]), "integer rate"),
    ]
    (tmp_path / "a_file").write_bytes(b"x")
    for name, spec, hint in cases:
        with pytest.raises(SpecError) as e:
            Recorder(path=str(tmp_path / name)).configure({"in": spec})
        assert hint in str(e.value), (name, str(e.value))
    (tmp_path / "exists_raw.fif").write_bytes(b"x")
    with pytest.raises(SpecError, match="already exists") as e:
        Recorder(path=str(tmp_path / "exists_raw.fif")).configure({"in": eeg})
    assert "exists_run-02_raw.fif" in e.value.hint  # a numbered new run name is offered
    rec = Recorder(path=str(tmp_path / "shape_raw.fif"))
    rec.configure({"in": eeg})
    with pytest.raises(ValueError, match="does not match"):
        rec.process({"in": Chunk(np.zeros((2, 10)))})
    rec.close()
    assert not (tmp_path / "shape_raw.fif").exists()  # nothing received, nothing written


def test_missing_folder_is_created_on_first_chunk(tmp_path):
    target = tmp_path / "new" / "deeper" / "x_raw.fif"
    rec = Recorder(path=str(target))
    rec.configure({"in": signal_spec(100.0, ["Cz"])})
    assert not (tmp_path / "new").exists()  # validating a graph creates nothing
    rec.process({"in": Chunk(np.ones((1, 10)))})
    rec.close()
    assert mne.io.read_raw_fif(target, verbose="error").get_data().shape == (1, 10)  # pyright: ignore[reportAttributeAccessIssue]  # mne stub: get_data() is an array


CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.executor import StopFlag
    stop = StopFlag().install()  # the runtime's one signal path; the recorder has none of its own
    src = FileSource(path={edf!r}, chunk_size=32)
    spec = src.configure({{}})["out"]
    fif, wav = Recorder(path={fif!r}), Recorder(path={wav!r})
    for rec in (fif, wav):
        rec.configure({{"in": spec}})
    for _ in range(40):
        chunk = src.read()["out"]
        fif.process({{"in": chunk}})
        wav.process({{"in": chunk}})
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not stop and time.monotonic() < deadline:
        time.sleep(0.02)
    for node in (src, fif, wav):
        node.close()
    sys.exit(130 if stop else 1)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["TERM", "INT", "KILL"])
def test_signal_in_a_recording_process_leaves_a_complete_file(edf_path, tmp_path, signum):
    """A real process records 40 chunks of EEG to FIF and WAV, then gets a signal. TERM/INT: the
    StopFlag is set and the process closes the recorders. KILL: nothing runs; the WAV is still complete (its header is
    rewritten on every flush) and recover() builds the FIF from the spill."""
    fif, wav = tmp_path / "sig_raw.fif", tmp_path / "sig.wav"
    code = CHILD.format(repo=str(REPO), edf=str(edf_path), fif=str(fif), wav=str(wav))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if signum in (signal.SIGTERM, signal.SIGINT):
        assert proc.returncode == 130, err  # the stop flag was set and the recorders closed
    else:
        assert proc.returncode == -signal.SIGKILL and not fif.exists()
        recover(fif)
    ref = mne.io.read_raw(edf_path, verbose="error").get_data(stop=40 * 32)
    np.testing.assert_array_equal(read_fif(fif).get_data(), ref)
    assert not fif.with_name(fif.name + ".spill").exists()
    got, sr = sf.read(wav, dtype="float64", always_2d=True)
    assert sr == 160
    np.testing.assert_array_equal(got.T, ref)


def test_recover_cli(tmp_path):
    spec = signal_spec(50.0, ["x"])
    rec = Recorder(path=str(tmp_path / "cli_raw.fif"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.ones((1, 20)), t0=0.0)})
    with pytest.raises(SpecError, match="unfinished recording") as e:  # a new run must not clobber it
        Recorder(path=str(tmp_path / "cli_raw.fif")).configure({"in": spec})
    assert "recover" in e.value.hint
    rec._file.close()  # the process died (the system closes its files; a live recording's spill is refused)
    cmd = [
        sys.executable,
        "-m",
        "wavegraph.nodes.io.recover",
        "recover",
        str(tmp_path / "cli_raw.fif"),
        str(tmp_path / "none_raw.fif"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 1 and "nothing to recover" in out.stderr
    np.testing.assert_array_equal(read_fif(tmp_path / "cli_raw.fif").get_data(), np.ones((1, 20)))


def test_any_chunking_records_the_same_file(tmp_path):
    """Recording the same stream cut into different chunk sizes gives identical files."""
    from wavegraph.pipeline.testing import default_chunkings

    x = np.random.default_rng(5).standard_normal((4, 500))
    spec = signal_spec(100.0, ["a", "b", "c", "d"])
    for k, sizes in enumerate([[500], *default_chunkings(500)]):
        for suffix in ("_raw.fif", ".npz"):
            rec = Recorder(path=str(tmp_path / f"c{k}{suffix}"))
            rec.configure({"in": spec})
            start = 0
            for s in sizes:
                rec.process({"in": Chunk(x[:, start : start + s], t0=start / 100.0)})
                start += s
            rec.close()
        got = read_fif(tmp_path / f"c{k}_raw.fif").get_data()
        np.testing.assert_array_equal(got, x)
        np.testing.assert_array_equal(np.load(tmp_path / f"c{k}.npz")["data"], x)


def test_yaml_graph_replays_file_into_recorder(edf_path, tmp_path):
    """The real in-process runner: file_source -> recorder from a graph file, events to CSV."""
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    g = tmp_path / "replay.yaml"
    g.write_text(
        textwrap.dedent(f"""\
        name: replay
        nodes:
          - id: src
            type: file_source
            params: {{path: "{edf_path}", chunk_size: 64, picks: [Oz..]}}
          - id: rec
            type: recorder
            params: {{path: "{tmp_path / "oz_raw.fif"}"}}
          - id: ev
            type: recorder
            params: {{path: "{tmp_path / "ev.csv"}"}}
        edges:
          - {{source: src.out, target: rec.in}}
          - {{source: src.events, target: ev.in}}
        """)
    )
    result = run_graph(build_graph(load_config(g)), in_process=True)
    assert result.exit_code == 0, result.failure
    ref = mne.io.read_raw(edf_path, verbose="error").get_data(picks=["Oz.."])  # pyright: ignore[reportArgumentType]  # mne stub: picks may be a list
    np.testing.assert_array_equal(read_fif(tmp_path / "oz_raw.fif").get_data(), ref)
    assert (tmp_path / "ev.csv").read_text().splitlines()[1].startswith("0.0,60.2,1,T0")
