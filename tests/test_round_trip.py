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
