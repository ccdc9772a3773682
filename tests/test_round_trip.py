"""Record a stream, then replay the file through file_source: the same samples, times, channel names and rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec


def signal(rate: float = 100.0, n_ch: int = 2, dtype: str = "float64", types: str = "eeg", **kw) -> StreamSpec:
    return StreamSpec("signal", rate, (n_ch,), dtype, tuple(f"C{i}" for i in range(n_ch)), (types,) * n_ch, **kw)


def record(path: Path, spec: StreamSpec, chunks, t0: float = 0.0, events=None) -> Path:
    """Record `chunks` (channels x samples, or rows for features/tokens) back to back from t0; `events` (a list of
    (onset, duration, code) rows) goes in with the first chunk on a recorder with `events: true`."""
    rec = Recorder(path=str(path), events=events is not None)
    ins = {"in": spec}
    ev_spec = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "padding"), (2, "go")))
    if events is not None:
        ins["events"] = ev_spec
    rec.configure(ins)
    t = t0
    for k, c in enumerate(chunks):
        inputs = {"in": Chunk(c, t)}
        if events is not None and k == 0:
            inputs["events"] = Chunk(np.asarray(events, dtype=np.float64), t)
        rec.process(inputs)
        t += (
            (c.shape[-1] / spec.rate)
            if spec.rate and spec.kind == "signal"
            else (len(c) / spec.rate if spec.rate else 0)
        )
    rec.finish()
    rec.close()
    return rec.path


def replay(path: Path, **params):
    """Every chunk of a file_source over `path`: (out spec, data, t0s, events rows, events spec)."""
    src = FileSource(path=str(path), **params)
    specs = src.configure({})
    data, t0s, events = [], [], []
    while (out := src.read()) is not None:
        if "out" in out:
            data.append(out["out"].data)
            t0s.append(out["out"].t0)
        if "events" in out:
            events.append(out["events"].data)
    src.close()
    axis = -1 if specs["out"].kind == "signal" else 0
    joined = np.concatenate(data, axis=axis) if data else np.zeros((0, 0))
    return specs["out"], joined, t0s, np.concatenate(events) if events else np.zeros((0, 3)), specs["events"]


# --- 3. the recorder's padding, not a user's marker named 'padding' -----------------------------------------
@pytest.mark.parametrize("name", ["x.edf", "x.bdf"])
def test_a_users_marker_named_padding_replays(tmp_path, name):
    """A paradigm's own marker `padding` (a filler trial) was dropped with the recorder's padding of the last EDF
    record; only the recorder's (at the end of the data, to the end of the file) is dropped now."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 250)) * 1e-5  # 2.5 records at 100 Hz: the last one half padding
    path = record(tmp_path / name, signal(), [x], events=[[0.5, 0.2, 1], [1.0, 0.0, 2], [2.0, 0.0, 1]])
    spec, y, _, ev, ev_spec = replay(path)
    assert y.shape == x.shape  # the recorder's padding is still not replayed
    labels = dict(ev_spec.labels)
    got = [(round(float(o), 6), round(float(d), 6), labels[int(c)]) for o, d, c in ev]
    assert got == [(0.5, 0.2, "padding"), (1.0, 0.0, "go"), (2.0, 0.0, "padding")]


# --- 2. a float64 WAV at its own precision -----------------------------------------------------------------------
def test_a_double_wav_replays_at_float64(tmp_path):
    """The recorder writes a float64 stream as a DOUBLE WAV; file_source read it back as float32 by default."""
    x = np.array([[0.1, 1 / 3, -0.123456789012345, 2.0**-40], [0.5, -0.25, 1e-12, 0.7]])
    path = record(tmp_path / "x.wav", signal(rate=8000.0, types="audio"), [x])
    assert sf.info(str(path)).subtype == "DOUBLE"
    spec, y, _, _, _ = replay(path)
    assert spec.dtype == "float64"
    np.testing.assert_array_equal(y, x)
    spec32, y32, _, _, _ = replay(path, dtype="float32")  # asked for: as asked
    assert spec32.dtype == "float32" and y32.dtype == np.float32


def test_a_float_wav_still_replays_at_float32(tmp_path):
    x = np.array([[0.1, 0.2, -0.3]], dtype=np.float32)
    path = record(tmp_path / "x.wav", signal(rate=8000.0, n_ch=1, dtype="float32", types="audio"), [x])
    spec, y, _, _, _ = replay(path)
    assert spec.dtype == "float32"
    np.testing.assert_array_equal(y, x)


# --- 1. the recorder's CSV and NPZ recordings replay -----------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".npz"])
@pytest.mark.parametrize("rate", [2048.0, 1000 / 3, 250.0])
def test_a_csv_or_npz_recording_replays_as_recorded(tmp_path, suffix, rate):
    """file_source refused the recorder's own .csv and .npz ('not read by file_source ... load it and replay it
    with array_source'): now the same samples, channel names, rate and (CSV: from its t column) times come back."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 700)) * 1e-5
    names = ("Fp1", "C3,left", 'O"z')  # CSV quotes them (RFC 4180)
    spec = StreamSpec("signal", rate, (3,), "float64", names, ("eeg",) * 3, units="V")
    path = record(tmp_path / f"x{suffix}", spec, [x[:, :100], x[:, 100:333], x[:, 333:]], t0=12.5)
    out, y, t0s, _, _ = replay(path, chunk_size=64)
    assert out.rate == rate and out.channel_names == names
    np.testing.assert_array_equal(y, x)  # exact: repr digits, or the stored bytes
    np.testing.assert_allclose(t0s, 12.5 + np.arange(0, 700, 64) / rate, rtol=0, atol=1e-9)
    if suffix == ".npz":  # the spec is stored whole
        assert out.channel_types == ("eeg",) * 3 and out.units == "V"


def test_a_csv_with_a_jump_in_time_flags_the_gap(tmp_path):
    """Chunks recorded with a jump in time (a gap live): the rate is still told, the chunk after the jump flagged."""
    x = np.arange(20.0).reshape(1, 20)
    rec = Recorder(path=str(tmp_path / "g.csv"))
    rec.configure({"in": signal(rate=10.0, n_ch=1)})
    rec.process({"in": Chunk(x[:, :10], 0.0)})
    rec.process({"in": Chunk(x[:, 10:], 5.0, gap=True)})  # 4 s missing
    rec.finish()
    rec.close()
    src = FileSource(path=str(tmp_path / "g.csv"), chunk_size=4)
    assert src.configure({})["out"].rate == 10.0
    chunks = []
    while (out := src.read()) is not None:
        chunks.append(out["out"])
    got = [(c.t0, c.gap, c.data.shape[-1]) for c in chunks]
    assert got == [(0.0, False, 4), (0.4, False, 4), (0.8, False, 2), (5.0, True, 4), (5.4, False, 4), (5.8, False, 2)]
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks], axis=-1), x)


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_a_features_or_events_table_is_refused_with_how_to_load_it(tmp_path, suffix):
    from wavegraph.pipeline.spec import SpecError

    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "go"),))
    rec = Recorder(path=str(tmp_path / f"e{suffix}"))
    rec.configure({"in": ev})
    rec.process({"in": Chunk(np.array([[0.5, 0.0, 1.0]]), 0.0)})
    rec.finish()
    rec.close()
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / f"e{suffix}")).configure({})
    assert "events" in e.value.message and "array_source" in e.value.hint


def test_a_foreign_csv_is_refused_naming_its_first_row(tmp_path):
    from wavegraph.pipeline.spec import SpecError

    path = tmp_path / "openbci.csv"
    path.write_text("Sample Index, EXG 0\n0, 1.0\n")
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert "Sample Index" in e.value.message and "array_source" in e.value.hint


def test_a_killed_csv_recordings_torn_last_row_is_not_replayed(tmp_path, caplog):
    """A recorder killed mid-row leaves '0.2,1.0,2' (2.0 cut): it parsed as a sample of 2, or failed the whole file."""
    path = tmp_path / "killed.csv"
    path.write_text("t,a,b\n0.0,1.0,2.0\n0.1,1.5,2.5\n0.2,1.0,2", encoding="utf-8")
    (tmp_path / "killed.csv.chunks.csv").write_text("seq,t0,n,gap\n0,0.0,2,0\n")  # a killed recorder leaves its log
    out, y, _, _, _ = replay(path)
    assert out.rate == 10.0 and out.channel_names == ("a", "b")
    np.testing.assert_array_equal(y, [[1.0, 1.5], [2.0, 2.5]])
    assert "wavegraph recover" in caplog.text


def test_an_int_npz_recording_replays_exact(tmp_path):
    x = np.array([[1, -2, 3, 2**40], [0, 5, -7, 9]], dtype=np.int64)
    path = record(tmp_path / "i.npz", signal(rate=4.0, dtype="int64", types="stim"), [x[:, :1], x[:, 1:]], t0=3.0)
    out, y, t0s, _, _ = replay(path, chunk_size=2)
    np.testing.assert_array_equal(y, x)
    assert t0s == [3.0, 3.5] and out.channel_types == ("stim", "stim")


def test_a_live_csv_recordings_jittered_chunk_times_keep_its_nominal_rate(tmp_path):
    """Chunk times a live inlet stamps scatter by a millisecond: the rate is the nominal one (from the steps inside
    the chunks), not the span's 250.02 Hz; the chunks come back at the times recorded."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 1000))
    rec = Recorder(path=str(tmp_path / "live.csv"))
    rec.configure({"in": signal(rate=250.0, n_ch=1)})
    t0s = 1000.0 + np.arange(0, 1000, 25) / 250.0 + rng.uniform(-1e-3, 1e-3, 40)
    for k, t0 in enumerate(t0s):
        rec.process({"in": Chunk(x[:, 25 * k : 25 * (k + 1)], float(t0))})
    rec.finish()
    rec.close()
    out, y, got, _, _ = replay(tmp_path / "live.csv", chunk_size=25)
    assert out.rate == 250.0
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(got, t0s)
