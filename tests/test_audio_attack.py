"""Audio files as a user enhancing their own recordings feeds them (file_source's audio reader and `wavegraph bench
enhance --clean DIR`): odd-but-legal or damaged files. Each test failed before its fix."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest
import soundfile as sf
from wavegraph.benchmarks.enhance_data import load_folder
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError


def replay(path, **params) -> np.ndarray:
    src = FileSource(path=str(path), chunk_size=1600, **params)
    src.configure({})
    out = []
    while (c := src.read()) is not None:
        out.append(c["out"].data)
    src.close()
    return np.concatenate(out, axis=1)


def tone(n: int, rate: float = 16000.0) -> np.ndarray:
    t = np.arange(n) / rate
    return (0.3 * np.sin(2 * np.pi * 300 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_a_float_wav_a_few_db_over_full_scale_gets_the_gain_that_fits_it(tmp_path, caplog):
    """A float mix 7 dB over full scale (peak 2.25): said as 'integer sample values saved as float?' with 'db: -90.31
    (1/32768)', which turned the recording into silence. Now the gain that brings its peak to 1."""
    x = 5 * tone(16000)
    sf.write(tmp_path / "loud.wav", x, 16000, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        y = replay(tmp_path / "loud.wav")
    np.testing.assert_array_equal(y[0], x)  # as they are: only said
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "loud.wav holds float samples up to 2.2499" in said[0]
    assert "integer" not in said[0] and "-90.31" not in said[0]
    db = float(said[0].split("db: ")[1].split()[0])
    assert -7.1 < db <= -20 * np.log10(np.abs(x).max())  # within +-1 after it, by less than 0.1 dB of headroom


def test_a_float_wav_holding_nan_or_inf_says_where_once(tmp_path, caplog):
    """NaN and inf samples (a failed computation saved as audio) went through unsaid: an all-NaN file came out of the
    enhancer graph as silence, only the resampler's counter (nan_zeroed) showing it. Now said once, with where."""
    x = tone(8000)
    x[2000:2010], x[5000], x[7000] = np.nan, np.inf, -np.inf
    sf.write(tmp_path / "nan.wav", x, 16000, subtype="FLOAT")
    sf.write(tmp_path / "plain.wav", tone(8000), 16000, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        y = replay(tmp_path / "nan.wav")
        replay(tmp_path / "plain.wav")
    np.testing.assert_array_equal(y[0], x)  # as they are: the nodes downstream apply their nan_policy
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "nan.wav holds 12 NaN or inf samples" in said[0]
    assert "the first at sample 2000 (0.125 s)" in said[0] and "nan_policy" in said[0]


def _killed(tmp_path, name: str) -> None:
    """A 16-bit WAV whose writer was killed before it wrote the data size (still 0): arecord, sox, ffmpeg."""
    x = tone(24000)
    sf.write(tmp_path / "whole.wav", x, 16000, subtype="PCM_16")
    data = bytearray((tmp_path / "whole.wav").read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", 0)
    (tmp_path / name).write_bytes(bytes(data))
    (tmp_path / "whole.wav").unlink()


def test_bench_reads_a_wav_whose_writer_died_as_file_source_does(tmp_path):
    """`bench enhance --clean DIR` left such a file out as 'it is empty (0 samples)', while `wavegraph run` enhances
    its 24000 samples (file_source reads what follows the header)."""
    (tmp_path / "clean").mkdir()
    _killed(tmp_path / "clean", "killed.wav")
    said: list[str] = []
    [(path, x)] = load_folder(str(tmp_path / "clean"), 6.0, "--clean", said.append)
    assert path.name == "killed.wav" and len(x) == 24000 and not said
    np.testing.assert_allclose(x, tone(24000), atol=1 / 32768)


def test_bench_leaves_out_hidden_files_and_folders_and_says_so(tmp_path):
    """A hidden file (.take1.wav, an editor's or a sync tool's copy) and a hidden folder (.Trash-1000 on a drive: deleted
    recordings) were scored as speech without a word; the shell's `*.wav` of docs/speech.md's folder loop, glob and
    librosa's find_files skip them. Now left out, each named."""
    clean = tmp_path / "clean"
    (clean / ".Trash-1000").mkdir(parents=True)
    for name in ("a.wav", ".take1.wav", ".Trash-1000/old.wav"):
        sf.write(clean / name, tone(16000), 16000)
    said: list[str] = []
    got = load_folder(str(clean), 6.0, "--clean", said.append)
    assert [p.name for p, _ in got] == ["a.wav"]
    assert any(".take1.wav: a hidden file" in s for s in said)
    assert any(".Trash-1000: a hidden folder" in s for s in said) and not any("old.wav" in s for s in said)


def test_an_m4a_saved_under_a_wav_name_says_what_it_holds(tmp_path):
    """A phone's voice memo (M4A: an MP4 container of AAC) renamed .wav: 'the file is damaged, cut short or not audio'.
    Now what it holds and the conversion, as a .m4a name gets."""
    av = pytest.importorskip("av")
    with av.open(str(tmp_path / "memo.wav"), "w", format="ipod") as c:  # ipod: ffmpeg's .m4a muxer
        s = c.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray((tone(4000) * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.rate = 16000
        for packet in [*s.encode(frame), *s.encode(None)]:
            c.mux(packet)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / "memo.wav")).configure({})
    assert "memo.wav: it holds MP4/M4A audio (AAC or ALAC" in e.value.message and "damaged" not in str(e.value)
    assert e.value.hint.endswith("ffmpeg -i memo.wav memo_converted.wav")
    sf.write(tmp_path / "speech.wav", tone(16000), 16000)
    said: list[str] = []
    load_folder(str(tmp_path), 6.0, "--clean", said.append)  # bench enhance: 'cannot read it (LibsndfileError...'
    assert said == [
        f"bench enhance: leaving out {tmp_path / 'memo.wav'}: it holds MP4/M4A audio (AAC or ALAC: a phone's voice "
        "memo), which libsndfile does not read (convert it: ffmpeg -i in.m4a out.wav)"
    ]
