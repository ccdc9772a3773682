"""`wavegraph batch` says a failure that every file shares once, with the count, not once per file."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from wavegraph.pipeline.batch import Outcome, _say_outcomes
from wavegraph.pipeline.batch import main as batch_main

GRAPH = """\
nodes:
  - {id: src, type: file_source, params: {path: placeholder.wav, chunk_size: 256}}
  - {id: lp, type: lowpass, params: {freq: 6000.0}}
  - {id: rec, type: recorder, params: {path: out.wav}}
edges:
  - {source: src.out, target: lp.in}
  - {source: lp.out, target: rec.in}
"""


def test_a_graph_error_that_every_file_meets_is_said_once_with_the_count(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    for i in range(6):  # 8 kHz files: a 6 kHz low-pass is above their Nyquist, for every one of them
        sf.write(tmp_path / "in" / f"f{i}.wav", np.zeros(800, np.float32), 8000)
    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    rc = batch_main(
        [str(graph), "--inputs", str(tmp_path / "in" / "*.wav"), "--out", str(tmp_path / "out"), "--jobs", "1"]
    )
    out = capsys.readouterr().out
    assert rc == 1
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1, out
    assert failed[0].startswith("FAILED 6 files (") and "and 3 more" in failed[0] and "f0.wav" in failed[0]
    assert "6000" in failed[0] or "Nyquist" in failed[0], failed[0]


def test_reasons_of_a_few_files_are_said_per_file_and_warnings_are_grouped_too(capsys):
    outcomes = [Outcome(f"/in/{c}.edf", "failed", error=f"{c}.edf: not an EDF file") for c in "ab"]
    outcomes += [Outcome(f"/in/w{i}.edf", "done", warnings=["the file ends before its header says"]) for i in range(5)]
    outcomes += [Outcome("/in/x.edf", "done", warnings=["its own warning"])]
    _say_outcomes(outcomes)
    lines = capsys.readouterr().out.splitlines()
    assert "FAILED /in/a.edf: a.edf: not an EDF file" in lines and "FAILED /in/b.edf: b.edf: not an EDF file" in lines
    grouped = [line for line in lines if line.startswith("WARNING 5 files")]
    assert len(grouped) == 1 and "/in/w0.edf, /in/w1.edf, /in/w2.edf, ... and 2 more" in grouped[0]
    assert "WARNING /in/x.edf: its own warning" in lines
