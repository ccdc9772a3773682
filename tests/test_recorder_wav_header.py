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
