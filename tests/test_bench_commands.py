"""The benchmark commands exactly as docs/benchmarks.md and README.md tell a reviewer to run them."""

from __future__ import annotations

import runpy
import sys

import pytest
from conftest import ROOT


def _run_script(monkeypatch, name: str, *argv: str) -> None:
    """`python benchmarks/NAME.py ARGV...` in this process: the file run as __main__, outside any package."""
    path = ROOT / "benchmarks" / name
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as e:
        assert e.code in (0, None), f"benchmarks/{name} exited {e.code}"


def test_nodes_script_draws_its_png(monkeypatch, tmp_path, capsys):
    # docs: `.venv/bin/python benchmarks/nodes.py` (+ `--png PATH`, docs/monitor.md); its `from .figures import
    # bars` failed with "attempted relative import with no known parent package" after the whole run
    png = tmp_path / "nodes.png"
    _run_script(monkeypatch, "nodes.py", "--seconds", "0.05", "--repeats", "1", "--png", str(png))
    assert "chain" in capsys.readouterr().out
    assert png.stat().st_size > 1000


@pytest.mark.usefixtures("one_torch_thread")
def test_kernels_script_draws_its_png(monkeypatch, tmp_path, capsys):
    # docs: `.venv/bin/python benchmarks/kernels.py --repeats 10` (+ `--png PATH`): the same relative import
    png = tmp_path / "kernels.png"
    _run_script(
        monkeypatch,
        "kernels.py",
        "--device",
        "cpu",
        "--repeats",
        "1",
        "--skip",
        "ref-chunked",
        "ref-seq",
        "--png",
        str(png),
    )
    assert "gla_step" in capsys.readouterr().out
    assert png.stat().st_size > 1000
