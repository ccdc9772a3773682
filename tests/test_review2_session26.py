"""Review of session 26's speech-corpus cache checks (d03d6fe, f60f186): a cache written before them, which kept no
record of what it was made from, was trusted as it was, so on every machine that already had one (this one's caches
date from before the checks) the checks never ran."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import need
from wavegraph.models import speech_data


def _old_cache(path: Path, names: list[str]) -> None:
    """A cache as written before d03d6fe / f60f186 (names, lens, pcm; no sizes, no recipe), of other speech."""
    lens = np.full(len(names), 1600, np.int64)
    np.savez(path, names=np.array(names), lens=lens, pcm=np.full(1600 * len(names), 8192, np.int16))


def test_an_old_voice_cache_without_its_prompts_sizes_is_decoded_again_once_then_read(tmp_path, monkeypatch):
    pytest.importorskip("av")
    carlo = Path("/usr/share/asterisk/sounds/it_IT_m_Carlo")
    prompts = sorted(carlo.glob("*.g722"), key=lambda p: (p.stat().st_size, p.name))[:2] if carlo.is_dir() else []
    need(len(prompts) == 2, "the Asterisk Italian prompts are not installed (scripts/system_deps.sh)")
    voice = tmp_path / "sounds" / "it_IT_m_Carlo"
    voice.mkdir(parents=True)
    for p in prompts:
        shutil.copy(p, voice / p.name)
    monkeypatch.setattr(speech_data, "SOUNDS", tmp_path / "sounds")
    monkeypatch.setenv("WAVEGRAPH_DATA", str(tmp_path / "cache"))
    fresh = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)  # a fresh machine: decoded now
    cache = speech_data.cache_root() / "it_IT_m_Carlo.npz"
    _old_cache(cache, fresh.names)  # the same prompts' names, other samples, no sizes: an older cache
    got = speech_data._asterisk_voice("it_IT_m_Carlo", 0.0)
    assert got.names == fresh.names
    for a, b in zip(got.audio, fresh.audio):
        np.testing.assert_array_equal(a, b)  # was the old cache's constant 0.25
    assert speech_data._kept(cache, "sizes") == [p.stat().st_size for p in prompts]  # stamped: read from now on
    shutil.rmtree(tmp_path / "sounds")  # a machine without the voice still reads its (old) cache
    _old_cache(cache, fresh.names)
    assert np.all(speech_data._asterisk_voice("it_IT_m_Carlo", 0.0).audio[0] == np.float32(8192 / 32767))


def test_an_old_synthetic_cache_without_its_recipe_is_made_again_once_then_read(tmp_path, monkeypatch):
    need(shutil.which("espeak-ng") and shutil.which("flite"), "espeak-ng and flite are not installed")
    monkeypatch.setenv("WAVEGRAPH_DATA", str(tmp_path))
    fresh = speech_data._synthetic(1, seed=7)
    cache = speech_data.cache_root() / "synthetic_1_7.npz"
    _old_cache(cache, fresh.names)  # written before f60f186: no recipe
    got = speech_data._synthetic(1, seed=7)
    assert got.names == fresh.names
    for a, b in zip(got.audio, fresh.audio):
        np.testing.assert_array_equal(a, b)  # was the old cache's constant 0.25
    assert speech_data._kept(cache, "recipe") == speech_data._synth_recipe()


def test_two_writers_of_one_cache_each_write_their_own_file(tmp_path, monkeypatch):
    """Every writer of a cache wrote it through the same `<name>.tmp.npz`: two trainings started together on a machine
    whose cache was being made again (a23fa28: an old cache, an upgraded voice or engine) wrote into one file, and the one
    that renamed it first left the other writing into the cache itself. Here the other writer is a handle open on that
    name, writing on after this process's cache is made."""
    monkeypatch.setenv("WAVEGRAPH_DATA", str(tmp_path))
    path = speech_data.cache_root() / "v.npz"
    path.parent.mkdir(parents=True)
    audio = [np.linspace(-0.5, 0.5, 800, dtype=np.float32), np.full(400, 0.25, np.float32)]
    with open(path.with_suffix(".tmp.npz"), "wb") as other:  # another process, mid-write
        other.write(b"PK\x03\x04")
        saved = speech_data._save_cache(path, ["v/a", "v/b"], audio, sizes=np.array([1, 2], np.int64))
        other.seek(0)
        other.write(b"\0" * 4096)  # ... and writing on
    names, got = speech_data._load_cache(path)
    assert names == ["v/a", "v/b"] and speech_data._kept(path, "sizes") == [1, 2]
    for a, b in zip(got, saved):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in path.parent.iterdir() if p != path and p.name != "v.tmp.npz"] == []  # no leftover
