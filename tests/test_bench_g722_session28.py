"""`wavegraph bench enhance --clean DIR` reads raw G.722 files (.g722, Asterisk's prompts) as file_source does since
ec833f8 (through PyAV); it left them out with 'libsndfile cannot read .g722'. Without PyAV they are left out with the
pip line."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import need
from wavegraph.benchmarks.enhance_data import BenchError, load_folder

ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


def _prompt(tmp_path: Path) -> Path:
    pytest.importorskip("av")
    prompts = sorted(ALLISON.glob("*.g722"), key=lambda p: -p.stat().st_size) if ALLISON.is_dir() else []
    need(prompts, "the Asterisk English G.722 prompts are not installed (apt-get install asterisk-core-sounds-en-g722)")
    folder = tmp_path / "clean"
    folder.mkdir()
    return Path(shutil.copy(prompts[0], folder / "prompt.G722"))  # any case, as the other suffixes


def test_bench_enhance_reads_a_folder_of_g722_prompts(tmp_path):
    path = _prompt(tmp_path)
    said: list[str] = []
    got = load_folder(str(path.parent), None, "--clean", log=said.append)
    assert [p.name for p, _ in got] == ["prompt.G722"] and not said
    x = got[0][1]
    assert x.dtype == np.float32 and abs(len(x) - 2 * path.stat().st_size) <= 1  # 16 kHz, two samples a byte
    assert 0.01 < np.abs(x).max() <= 1.0  # speech at its level, not int16 counts
    assert [p.name for p, _ in load_folder(str(path), None, "--clean", log=said.append)] == ["prompt.G722"]


def test_without_pyav_a_g722_file_is_left_out_with_the_pip_line(tmp_path, monkeypatch):
    path = _prompt(tmp_path)
    monkeypatch.setitem(sys.modules, "av", None)  # as if not installed
    said: list[str] = []
    with pytest.raises(BenchError, match="no audio files"):
        load_folder(str(path.parent), None, "--clean", log=said.append)
    assert any("prompt.G722" in s and "pip install av" in s for s in said), said
