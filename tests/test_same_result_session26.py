"""Same code, same input, same result: a recording of a replay is the same file, byte for byte, whenever it is made.

Before, the recorder's float WAV carried libsndfile's PEAK chunk, whose 4-byte timestamp is the wall-clock second of
the header's last write: two recordings of the same replay (configs/speech_enhance_file.yaml on one file, say)
differed in those bytes, where the FIF, EDF, BDF, NPZ, CSV and FLAC of a dated stream were identical."""

import struct
import time

import numpy as np
import soundfile as sf
from wavegraph.pipeline.api import GraphBuilder


def _chunks(path):
    """(id, body) of each top-level chunk of a RIFF WAVE file."""
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"
    out, at = [], 12
    while at + 8 <= len(raw):
        cid, n = raw[at : at + 4], struct.unpack("<I", raw[at + 4 : at + 8])[0]
        out.append((cid, raw[at + 8 : at + 8 + n]))
        at += 8 + n + (n & 1)
    return out


def _record(src, out):
    g = GraphBuilder()
    s = g.add("file_source", path=src, chunk_size=400)
    g.add("recorder", s, path=out)
    g.run()


def test_a_wav_recording_of_a_replay_holds_no_wall_clock_time_and_is_the_same_file_each_run(tmp_path):
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(3200) / 16000)).astype(np.float32)
    src = tmp_path / "in.wav"
    sf.write(src, x, 16000, subtype="PCM_16")  # undated (no bext): its recording gets no date either
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    _record(src, a)
    _record(src, b)
    now = time.time()
    for cid, body in _chunks(a):
        if cid == b"PEAK":  # version, then the Unix second libsndfile wrote it (a wall-clock stamp of the run)
            stamp = struct.unpack("<I", body[4:8])[0]
            assert abs(stamp - now) > 86400, f"{a.name}'s PEAK chunk holds the run's wall-clock time ({stamp})"
    assert [c for c, _ in _chunks(a)][:1] == [b"fmt "] and b"data" in [c for c, _ in _chunks(a)]
    assert a.read_bytes() == b.read_bytes()
    y, rate = sf.read(a, dtype="float32")
    assert rate == 16000 and y.dtype == np.float32
    np.testing.assert_array_equal(y, sf.read(src, dtype="float32")[0])  # the replayed samples, exact
