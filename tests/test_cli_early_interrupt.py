"""Ctrl-C while `wavegraph` is still loading (before any run has its stop handler) ends with exit 130 and one
line, not a KeyboardInterrupt traceback. A real SIGINT is sent at a fixed point: when the import of the
command line's graph reader (pipeline/config.py: yaml, pydantic) or of the runner begins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import os, signal, sys
from importlib.metadata import entry_points

# Ctrl-C's handler as a terminal gives it: a harness run in the background (bash without job control) leaves SIGINT
# ignored in every child, and then the SIGINT below did nothing
signal.signal(signal.SIGINT, signal.default_int_handler)

class InterruptAt:  # a real SIGINT to this process when the import of module `at` begins
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

(script,) = [e for e in entry_points(group="console_scripts") if e.name == "wavegraph"]
sys.meta_path.insert(0, InterruptAt())
main = script.load()  # what the installed `wavegraph` script runs
sys.exit(main(["run", sys.argv[2], "--in-process", "--no-status"]))
"""


@pytest.mark.parametrize("at", ["wavegraph.pipeline.config", "wavegraph.pipeline.runner"])
def test_ctrl_c_while_loading_exits_130_without_a_traceback(tmp_path: Path, at: str):
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "name: g\nnodes:\n  - {id: src, type: sine, params: {duration: 1.0}}\n"
        f"  - {{id: rec, type: recorder, params: {{path: {tmp_path / 'out.npz'}}}}}\n"
        "edges:\n  - {source: src.out, target: rec.in}\n"
    )
    # (not from the checkout: a stale wavegraph.egg-info there would shadow the installed entry points)
    r = subprocess.run(
        [sys.executable, "-c", CHILD, at, str(graph)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "wavegraph: stopped (Ctrl-C)"
    assert not (tmp_path / "out.npz").exists()
