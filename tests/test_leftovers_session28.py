"""Leftovers of earlier sessions' closing notes (session 28 helper): each with the test that failed before its fix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import need
from wavegraph.pipeline.spec import SpecError

ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


def _prompt() -> Path:
    """The smallest Asterisk G.722 prompt of the English voice (skips without it, or without PyAV)."""
    pytest.importorskip("av")
    prompts = sorted(ALLISON.glob("*.g722"), key=lambda p: (p.stat().st_size, p.name)) if ALLISON.is_dir() else []
    need(prompts, "the Asterisk English G.722 prompts are not installed (apt-get install asterisk-core-sounds-en-g722)")
    return next(p for p in prompts if p.stat().st_size > 8000)  # half a second at least


def _whole(path: Path) -> np.ndarray:
    """The file decoded at once, as models/speech_data.py decodes the prompts (PyAV's g722), float32 in [-1, 1]."""
    import av

    with av.open(str(path), format="g722") as c:
        x = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(c.streams.audio[0])])
    assert x.dtype == np.int16
    return x.astype(np.float32) / 32768


def test_file_source_replays_a_g722_prompt_as_pyav_decodes_it_whole():
    """A raw G.722 file (an Asterisk prompt) given to file_source was refused ('.g722 audio is not a format libsndfile
    reads', with an ffmpeg line) though PyAV, installed, decodes it. It replays now: 16 kHz mono float32, every sample
    of the whole file's decoding (2 per byte), in chunks of any size, each chunk at its sample's time."""
    from wavegraph.nodes.io.file_source import FileSource

    path = _prompt()
    whole = _whole(path)
    assert whole.size == 2 * path.stat().st_size
    for chunk in (1600, 997):
        src = FileSource(path=str(path), chunk_size=chunk)
        spec = src.configure({})["out"]
        assert (spec.rate, spec.shape, spec.dtype, spec.channel_types) == (16000.0, (1,), "float32", ("audio",))
        assert src.duration_seconds == whole.size / 16000
        got, times = [], []
        while (out := src.read()) is not None:
            got.append(out["out"].data)
            times.append(out["out"].t0)
        src.close()
        np.testing.assert_array_equal(np.concatenate(got, axis=1)[0], whole)
        assert times == [k * chunk / 16000 for k in range(len(got))]


def test_the_g722_reader_gives_the_same_samples_read_in_pieces_skipping_and_going_back():
    """G.722 is ADPCM (each sample depends on all before): samples read in uneven pieces, after a skip ahead and after
    going back (the decoder starts again from the file's start) are those of the whole decoding, float64 too."""
    from wavegraph.nodes.io.g722_reader import G722Reader

    path = _prompt()
    whole = _whole(path).astype(np.float64)
    r = G722Reader(path, "float64")
    pieces, at = [], 0
    for n in (1, 2, 333, 1024, 4095, 7, 10**6):
        pieces.append(r.get([0], at, min(at + n, r.n_times)))
        at = min(at + n, r.n_times)
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1)[0], whole)
    np.testing.assert_array_equal(r.get([0], 100, 5000)[0], whole[100:5000])  # back: decoded again
    np.testing.assert_array_equal(r.get([0], 8000, 8100)[0], whole[8000:8100])  # ahead: the skipped ones decoded
    r.close()


def test_without_pyav_a_g722_file_is_refused_with_the_ffmpeg_and_the_pip_line(monkeypatch):
    """PyAV is optional (the enhance extra): without it file_source keeps the ffmpeg line and gives the pip line."""
    from wavegraph.nodes.io.file_source import FileSource

    path = _prompt()
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError, as where it is not installed
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    said = str(e.value)
    assert "PyAV, which is not installed" in said and "pip install av" in said
    assert f"ffmpeg -i {path.name} {path.stem}.wav" in said
