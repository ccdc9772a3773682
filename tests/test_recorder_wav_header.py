"""The recorder's WAV: whole after every chunk (its header's sizes rewritten by libsndfile after each write), with
no sync per chunk (soundfile's flush() is an fsync: 3-7 ms a chunk, most of a file-to-file enhancement's time)."""

import numpy as np
import soundfile as sf
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec


def test_a_wav_is_whole_after_every_chunk_without_a_sync_per_chunk(tmp_path, monkeypatch):
    syncs = []
    flush = sf.SoundFile.flush
    monkeypatch.setattr(sf.SoundFile, "flush", lambda self: (syncs.append(self.mode), flush(self))[1])
    path = tmp_path / "enhanced.wav"
    rec = Recorder(path=str(path))
    rec.configure({"in": signal_spec(16000, ["ch0", "ch1"], "audio", "float32", "a.u.")})
    rng = np.random.default_rng(0)
    sent = []
    for k in range(5):
        x = rng.standard_normal((2, 1600)).astype(np.float32) * 0.1
        rec.process({"in": Chunk(x, k * 0.1)})
        sent.append(x)
        seen, rate = sf.read(str(path), dtype="float32")  # another reader, while the recorder still writes
        assert rate == 16000 and seen.shape == ((k + 1) * 1600, 2)
        np.testing.assert_array_equal(seen.T, np.concatenate(sent, 1))
    assert "w" not in syncs  # before: one flush (an fsync) a chunk by the recorder ("r": the reader's close)
    rec.finish()
    assert sf.info(str(path)).frames == 8000


def test_where_soundfile_s_internals_moved_each_write_is_flushed(monkeypatch):
    """Where soundfile's private libsndfile binding is gone (another version), the WAV is still whole after every
    chunk: each write is followed by a flush, as before (it failed with an AttributeError)."""
    import types

    from wavegraph.nodes.io.record_formats import header_after_each_write

    monkeypatch.setattr(sf, "_snd", types.SimpleNamespace())  # no sf_command

    class NoHandle:  # a SoundFile as far as the recorder goes
        def __init__(self):
            self._file = object()
            self.calls = []

        def write(self, data):
            self.calls.append("write")

        def flush(self):
            self.calls.append("flush")

    f = NoHandle()
    header_after_each_write(f)
    f.write(np.zeros(3))
    f.write(np.zeros(3))
    assert f.calls == ["write", "flush", "write", "flush"]
