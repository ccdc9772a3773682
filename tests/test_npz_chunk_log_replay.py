"""The recorder's .npz replayed through file_source with the chunk log it keeps beside it (`<path>.chunks.csv`)."""

from __future__ import annotations

import logging

import numpy as np
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec


def _record(path, chunks):
    rec = Recorder(path=str(path))
    rec.configure({"in": StreamSpec("signal", 10.0, (1,), "float64", ("C0",), ("eeg",))})
    for data, t0, gap in chunks:
        rec.process({"in": Chunk(data, t0, gap=gap)})
    rec.finish()
    rec.close()


def _replay(path, chunk_size):
    src = FileSource(path=str(path), chunk_size=chunk_size)
    src.configure({})
    got = []
    while (out := src.read()) is not None:
        got.append(out["out"])
    src.close()
    return got


def test_an_npz_with_a_gap_replays_its_recorded_chunk_times_and_gap(tmp_path):
    """After a gap the replay's times ran straight on from the .npz's t0 (5 s early here) and no chunk was flagged
    gap, though the recorder kept <path>.chunks.csv (each chunk's t0, length, gap flag) for that case."""
    x = np.arange(30.0).reshape(1, 30)
    recorded = [(x[:, :10], 100.0, False), (x[:, 10:20], 101.002, False), (x[:, 20:], 107.0, True)]
    _record(tmp_path / "g.npz", recorded)
    assert (tmp_path / "g.npz.chunks.csv").exists()
    chunks = _replay(tmp_path / "g.npz", chunk_size=10)
    assert [(c.t0, c.gap, c.data.shape[-1]) for c in chunks] == [(t0, gap, 10) for _, t0, gap in recorded]
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks], axis=-1), x)
    # chunks of another size: the times inside a recorded chunk follow from its t0, none straddles the gap
    chunks = _replay(tmp_path / "g.npz", chunk_size=8)
    got = [(round(c.t0, 9), c.gap, c.data.shape[-1]) for c in chunks]
    assert got == [(100.0, False, 8), (100.8, False, 8), (101.602, False, 4), (107.0, True, 8), (107.8, False, 2)]


def test_a_chunk_log_of_another_length_is_not_used_and_said(tmp_path, caplog):
    x = np.arange(20.0).reshape(1, 20)
    _record(tmp_path / "g.npz", [(x[:, :10], 0.0, False), (x[:, 10:], 5.0, True)])
    log = tmp_path / "g.npz.chunks.csv"
    log.write_text(log.read_text() + "2,9.0,5,0\n")  # a log that is not this file's (a re-recording's)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wavegraph.file_source"):
        chunks = _replay(tmp_path / "g.npz", chunk_size=10)
    assert [(c.t0, c.gap) for c in chunks] == [(0.0, False), (1.0, False)]  # as before: the t0 and the rate
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "wavegraph.file_source")
    assert "g.npz.chunks.csv" in said and "25 samples" in said and "20" in said


def test_the_recorder_refuses_markers_for_an_npz(tmp_path):
    """(Why no <path>.events.csv stands beside a finished .npz: `events: true` is FIF/EDF/BDF only.)"""
    rec = Recorder(path=str(tmp_path / "g.npz"), events=True)
    ev = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "go"),))
    try:
        rec.configure({"in": StreamSpec("signal", 10.0, (1,), "float64"), "events": ev})
    except SpecError as e:
        assert "FIF" in e.message
    else:
        raise AssertionError("an .npz recorder took an events input")
