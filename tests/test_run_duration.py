"""`duration` (GraphBuilder.run, run_graph, `wavegraph run --duration`): an endless graph stops after a
wall-clock time as Ctrl-C stops it (sources end, the graph drains, files complete), as a normal end."""

import subprocess
import sys

import mne
import numpy as np
import pytest
from conftest import ROOT
from wavegraph.pipeline.api import GraphBuilder


def test_endless_graph_in_process_stops_and_returns_what_it_captured():
    g = GraphBuilder()
    src = g.add("sine", rate=200.0, channels=2, duration=None, chunk_size=10)  # endless
    out = g.run(capture=[src], speed=1.0, duration=0.3)[f"{src}.out"]
    n = out.data.shape[1]
    assert n > 0 and n % 10 == 0  # whole chunks, the stream from its start, nothing dropped
    np.testing.assert_allclose(out.times, np.arange(n) / 200.0)
    np.testing.assert_allclose(out.data[0], np.sin(2 * np.pi * 10.0 * out.times), atol=1e-12)


def test_bad_duration_is_refused():
    g = GraphBuilder()
    g.add("sine", rate=100.0, duration=None)
    with pytest.raises(ValueError, match="positive number of seconds"):
        g.run(duration=0)


@pytest.mark.parametrize("where", ["--in-process", "multi-process"])
def test_cli_duration_ends_an_endless_run_with_exit_0_and_a_complete_file(tmp_path, where):
    config = tmp_path / "endless.yaml"
    rec = tmp_path / "out_raw.fif"
    config.write_text(
        f"""name: endless
nodes:
  - {{id: src, type: sine, params: {{rate: 250.0, channels: 2, duration: null, chunk_size: 25}}}}
  - {{id: rec, type: recorder, params: {{path: {rec}}}}}
edges:
  - {{source: src.out, target: rec.in}}
processes:
  a: [src]
  b: [rec]
"""
    )
    args = [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(config), "--speed", "1", "--duration", "1.5"]
    if where == "--in-process":
        args.append("--in-process")
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stopped after --duration 1.5 s" in done.stdout
    raw = mne.io.read_raw_fif(rec, verbose="error")
    n = raw.n_times
    assert n > 0 and n % 25 == 0  # whole chunks: the last one written and the file finalised
    t = np.arange(n) / 250.0
    np.testing.assert_allclose(raw.get_data()[0], np.sin(2 * np.pi * 10.0 * t), atol=1e-6)


def test_cli_refuses_a_bad_duration():
    done = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", "configs/default.yaml", "--duration", "-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--duration must be a positive number of seconds" in done.stderr
