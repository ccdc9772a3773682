"""WAV and FLAC whose file name is not valid UTF-8 (a Latin-1 name from an old disk: surrogate-escaped in
Python): the recorder writes them and file_source reads them (libsndfile was given the name as UTF-8 text,
which such a name cannot be encoded to)."""

import os

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_audio_with_a_latin1_name_is_recorded_and_replayed(tmp_path, suffix):
    path = tmp_path / os.fsdecode(b"caf\xe9 take" + suffix.encode())
    x = np.linspace(-0.5, 0.5, 2 * 800).reshape(2, 800)
    rec = Recorder(path=str(path))
    rec.configure({"in": signal_spec(8000.0, ["l", "r"], "audio", dtype="float64")})
    for i in range(0, 800, 100):
        rec.process({"in": Chunk(x[:, i : i + 100], t0=i / 8000.0)})
    if suffix == ".flac":  # killed: FLAC is written from the spill by recover
        assert recover(path) == path
    else:
        rec.close()
    src = FileSource(path=str(path), dtype="float64")
    src.configure({})
    got = []
    while (out := src.read()) is not None:
        got.append(out["out"].data)
    np.testing.assert_allclose(np.concatenate(got, axis=1), x, atol=2.0**-23)


def test_file_source_reads_a_wav_with_a_latin1_name(tmp_path):
    import soundfile as sf

    path = tmp_path / os.fsdecode(b"\xe9l\xe8ve 01.wav")
    x = np.linspace(-0.5, 0.5, 300).reshape(300, 1)
    with open(path, "wb") as f:  # (written through a file object: any name)
        sf.write(f, x, 16000, "FLOAT", format="WAV")
    src = FileSource(path=str(path), dtype="float64")
    assert src.configure({})["out"].rate == 16000.0  # was: cannot read it (UnicodeEncodeError)
    out = src.read()
    assert out is not None
    np.testing.assert_allclose(out["out"].data[0], x[: out["out"].data.shape[1], 0], atol=1e-7)
