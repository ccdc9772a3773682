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


def test_a_speech_cache_made_from_other_prompts_is_decoded_again_as_a_fresh_machine_would(tmp_path, monkeypatch):
    """A voice's decoded cache was used whatever prompts the voice now has: after prompts were added (or changed) by
    an upgrade of the Asterisk sounds, a machine that had a cache kept training and scoring on the old set, and a
    fresh machine with the same code and prompts on the new one."""
    import shutil
    from pathlib import Path

    import pytest
    from conftest import need
    from wavegraph.models import speech_data

    pytest.importorskip("av")
    carlo = Path("/usr/share/asterisk/sounds/it_IT_m_Carlo")
    prompts = sorted(carlo.glob("*.g722"), key=lambda p: (p.stat().st_size, p.name))[:3] if carlo.is_dir() else []
    need(len(prompts) == 3, "the Asterisk Italian prompts are not installed (scripts/system_deps.sh)")  # the shortest
    voice = tmp_path / "sounds" / "it_IT_m_Carlo"
    voice.mkdir(parents=True)
    for p in prompts[:2]:
        shutil.copy(p, voice / p.name)
    monkeypatch.setattr(speech_data, "SOUNDS", tmp_path / "sounds")
    monkeypatch.setenv("WAVEGRAPH_DATA", str(tmp_path / "cache"))
    old = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)  # decodes 2 prompts, caches them
    assert len(old) == 2
    shutil.copy(prompts[2], voice / prompts[2].name)  # the voice gains a prompt
    grown = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)
    shutil.rmtree(tmp_path / "cache")
    fresh = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)  # a fresh machine: no cache
    assert grown.names == fresh.names and len(fresh) == 3
    for a, b in zip(grown.audio, fresh.audio):
        np.testing.assert_array_equal(a, b)
    shutil.copy(prompts[2], voice / prompts[0].name)  # a prompt changed in place (same name, other speech)
    changed = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)
    np.testing.assert_array_equal(changed.audio[0], fresh.audio[2])
    again = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)  # and an unchanged voice reads its cache
    assert again.names == changed.names and all(np.array_equal(a, b) for a, b in zip(again.audio, changed.audio))


def test_a_synthetic_speech_cache_made_by_another_recipe_is_made_again_as_a_fresh_machine_would(tmp_path, monkeypatch):
    """The synthetic voices' cache (synthetic_<n>_<seed>.npz) was used whatever code or engines made it: a machine
    that had one from other voices, words or espeak-ng/flite versions trained on other speech than a fresh machine
    with the same code and engines. The cache keeps its recipe now, and one made by another is made again."""
    import shutil

    from conftest import need
    from wavegraph.models import speech_data

    need(shutil.which("espeak-ng") and shutil.which("flite"), "espeak-ng and flite are not installed")
    monkeypatch.setenv("WAVEGRAPH_DATA", str(tmp_path))
    fresh = speech_data._synthetic(1, seed=5)  # a fresh machine: synthesised now, cached with its recipe
    again = speech_data._synthetic(1, seed=5)  # read back from the cache
    assert again.names == fresh.names and all(np.array_equal(a, b) for a, b in zip(again.audio, fresh.audio))
    cache = speech_data.cache_root() / "synthetic_1_5.npz"
    n = len(fresh.names)  # what another recipe made (other voices, say), written as the cache is
    pcm, lens = np.full(1600 * n, 8192, np.int16), np.full(n, 1600, np.int64)
    np.savez(cache, names=np.array(fresh.names), lens=lens, pcm=pcm, recipe=np.array("another recipe"))
    got = speech_data._synthetic(1, seed=5)
    assert got.names == fresh.names
    for a, b in zip(got.audio, fresh.audio):
        np.testing.assert_array_equal(a, b)
