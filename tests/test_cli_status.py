"""`wavegraph run` output for a new user (issue 12 §4): the status line of live and endless runs (its figures
come from the workers' live statistics in the default multi-process mode), --json for the end-of-run
summary, and the --progress bar in the default multi-process mode (it printed nothing before).
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

from conftest import wavegraph_cli

ROOT = Path(__file__).resolve().parent.parent
ENDLESS = """
name: endless
nodes:
  - id: src
    type: eeg_sim
    params: {duration: null, chunk_size: 25, channels: 4}
  - id: car
    type: car
  - id: rec
    type: recorder
    params: {path: out.npz}
edges:
  - {source: src.out, target: car.in}
  - {source: car.out, target: rec.in}
processes:
  a: [src]
  b: [car, rec]
"""


def _wavegraph(*args: str) -> list[str]:
    return [sys.executable, "-m", "wavegraph.pipeline.cli", *args]


def test_an_endless_run_shows_the_status_line_and_writes_the_json_summary(tmp_path):
    (tmp_path / "endless.yaml").write_text(ENDLESS)
    proc = subprocess.Popen(
        _wavegraph("run", "endless.yaml", "--speed", "1", "--json", "summary.json"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        # The status line is on by default for an endless run; wait for two that show data flowing.
        while sum("sources" in ln and " 0.0 chunks/s" not in ln.split("sinks")[0] for ln in lines) < 2:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert line, "the run ended without a status line: " + "".join(lines)
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    status = [ln for ln in lines if "chunks/s" in ln]
    assert all(k in status[-1] for k in ("late", "drops", "gaps", "xruns")), status[-1]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] and summary["exit_code"] == 130 and summary["failure"] is None
    assert summary["processes"] == {"src": "a", "car": "b", "rec": "b"}
    stats = summary["stats"]
    assert stats["src"]["chunks_out"] > 0
    assert stats["car"]["chunks_out"] == stats["src"]["chunks_out"]  # a stop drains: nothing read is lost
    assert stats["rec"]["counters"]["samples"] == 25 * stats["src"]["chunks_out"]
    assert "late_us_max" in stats["src"]["counters"]  # a paced source records its lateness
    assert summary["wall_s"] > 0


def test_no_status_turns_it_off(tmp_path):
    (tmp_path / "endless.yaml").write_text(ENDLESS.replace("duration: null", "duration: 1.0"))
    r = wavegraph_cli("run", "endless.yaml", "--no-status", "--in-process", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "chunks/s" not in r.stderr


def test_progress_shows_a_bar_in_the_default_multiprocess_mode(tmp_path, edf_path):
    # in this process (conftest.wavegraph_cli; the run's workers are processes still): a new interpreter for the
    # parent imported mne and scipy again
    r = wavegraph_cli(
        "run", str(ROOT / "configs" / "default.yaml"), "--progress", "--set", f"rec.path={tmp_path / 'p_raw.fif'}",
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "61.0/61.0 s" in r.stderr, r.stderr  # the file's duration, read before the parent closes it
    assert "chunks/s" not in r.stderr  # a replay with a known end shows the bar, not the status line
