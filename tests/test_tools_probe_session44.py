"""The tools around runs under a user's odd cases (session 44): a batch into a read-only output folder, a batch of many
renamed inputs resumed, the monitor page switched between a features, a signal and an events stream, and `recover`
of a WAV whose recorder was killed between a chunk's samples and its line in the chunk log."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

GRAPH = """name: g
nodes:
  - {id: src, type: file_source, params: {path: x.wav}}
  - {id: rec, type: recorder, params: {path: copy.wav}}
edges:
  - {source: src.out, target: rec.in}
"""


def _graph_and_inputs(tmp_path: Path, n: int) -> tuple[Path, Path]:
    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    inputs = tmp_path / "recs"
    inputs.mkdir()
    for i in range(n):
        sf.write(inputs / f"r{i:03d}.wav", np.full((80, 1), i * 1e-3, dtype="float32"), 8000)
    return graph, inputs


# --- batch ------------------------------------------------------------------------------------------------------------
def test_a_batch_into_an_output_folder_it_cannot_write_is_refused_before_any_file_runs(tmp_path, monkeypatch, capsys):
    """--out naming an existing folder on a read-only disk: every file ran and failed alike ('OSError: [Errno 30]
    Read-only file system: .../b', one FAILED line each), exit 1. Now a usage error before any file runs."""
    from wavegraph.pipeline import batch

    graph, inputs = _graph_and_inputs(tmp_path, 2)
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    if os.geteuid() == 0:  # root writes through the mode bits: the read-only disk's refusal, as the kernel says it

        def refused(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(batch.tempfile, "mkdtemp", refused)
    monkeypatch.setattr(batch, "run_local", lambda *a, **k: pytest.fail("a file ran"))
    try:
        rc = batch.main([str(graph), "--inputs", str(inputs / "*.wav"), "--out", str(out), "--jobs", "1"])
    finally:
        out.chmod(0o755)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"--out {out}: cannot write in that folder" in err and "fix: give a folder you can write" in err
    assert list(out.iterdir()) == []


def test_a_resumed_batch_of_many_renamed_inputs_matches_each_input_once(tmp_path, monkeypatch):
    """Inputs renamed between a batch and its resume (`mv rNNN.wav s01_rNNN.wav`): each was compared with every
    complete folder, a signature (the graph hashed) each time: 1,000 inputs took 46 s before the batch said a word
    (quadratic). Now each input is compared only with the folders done for its size and modification time; every
    folder still follows its input."""
    from wavegraph.pipeline import batch, batch_renames
    from wavegraph.pipeline.batch import DONE, _signature, plan

    n = 40
    graph, inputs = _graph_and_inputs(tmp_path, n)
    out = tmp_path / "out"
    for job in plan(str(graph), str(inputs / "*.wav"), str(out), []):  # as a batch that completed leaves them
        Path(job.out_dir).mkdir(parents=True)
        (Path(job.out_dir) / "copy.wav").write_bytes(b"RIFF")
        (Path(job.out_dir) / DONE).write_text(json.dumps(_signature(job) | {"warnings": []}))
    for p in sorted(inputs.iterdir()):
        p.rename(p.with_name("s01_" + p.name))  # (mv keeps the modification time)
    jobs = plan(str(graph), str(inputs / "*.wav"), str(out), [])
    calls = []

    def counted(job):
        calls.append(job.input)
        return _signature(job)

    monkeypatch.setattr(batch_renames, "_signature", counted)
    said = batch_renames.follow_renames(jobs, str(out))
    assert len(calls) <= 3 * n, f"{len(calls)} signatures for {n} inputs"
    assert sum("not run again" in line for line in said) == n
    assert sorted(p.name for p in out.iterdir()) == sorted(f"s01_r{i:03d}" for i in range(n))
    assert all(batch.is_done(j) for j in jobs)


# --- the monitor page -------------------------------------------------------------------------------------------------
@pytest.fixture
def hub():
    pytest.importorskip("bokeh")
    from wavegraph.pipeline import monitor as mon

    h = mon.MonitorHub()
    mon.set_local_hub(h)
    yield h
    mon.set_local_hub(None)


def _tap(name, spec, chunks):
    from wavegraph.nodes.io.monitor import Monitor

    node = Monitor(name=name)
    node.configure({"in": spec})
    for chunk in chunks:
        node.process({"in": chunk})
    node.finish()


def test_the_page_shows_no_other_streams_heatmap_or_spectrum_and_says_what_a_features_stream_shows(hub):
    """Switched from a features stream (a 256-value bandpower) to a 100 Hz signal, the page went on showing the
    features' heatmap under the signal's name (a signal under 8 kHz has none), and back, the signal's spectrum under
    the features'; the features' title said 'channels 1-64 of 256 shown' where the heatmap drew values 1-128, and an
    events stream was '0 Hz'."""
    from bokeh.document import Document
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.monitor_app import Session
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    rng = np.random.default_rng(0)
    _tap("bp.out", StreamSpec("features", 10.0, (256,), "float32"), [Chunk(rng.random((20, 256)), t0=0.0)])
    _tap("eeg.out", signal_spec(100.0, ["a", "b"]), [Chunk(rng.random((2, 300)), t0=0.0)])
    _tap("dec.out", StreamSpec("events", 0.0, (3,), "float64"), [Chunk(np.array([[0.5, 0.0, 1.0]]), t0=0.0)])
    page = Session(hub, Document(), {})

    def show(name):
        page._switch(name)
        view = hub.snapshot(name)
        page._heatmap(view)
        page._spectrum(view)
        return len(page.heat.data["image"]), len(page.psd.data["x0"]), page.fig.title.text

    heat, psd, title = show("bp.out")
    assert heat == 1 and psd == 0
    assert title == "bp.out (features, 10 Hz, values 1-128 of 256 shown in the heatmap)"
    heat, psd, title = show("eeg.out")
    assert heat == 0 and psd > 0 and title == "eeg.out (signal, 100 Hz)"
    heat, psd, title = show("bp.out")
    assert heat == 1 and psd == 0
    heat, psd, title = show("dec.out")
    assert heat == 0 and psd == 0 and title == "dec.out (events, irregular)"


# --- recover ----------------------------------------------------------------------------------------------------------
def test_recover_of_a_wav_killed_before_its_last_chunk_was_logged_completes_the_log(tmp_path, capsys, caplog):
    """The recorder writes a chunk's samples, then its line in <path>.chunks.csv: a kill between the two left a WAV
    one chunk longer than its log. `recover` said it complete; its replay said 'the log is not this recording's' and
    dropped the log (a live stream's chunk times and gaps). Now recover adds the missing line (timed on from the chunk
    before, a torn line cut first), says so, and the replay takes the log: every sample, at its logged time."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.nodes.io.recover import recover_main

    path = tmp_path / "live.wav"
    script = f"""
        import os, signal
        import numpy as np
        from wavegraph.nodes.io.recorder import Recorder
        from wavegraph.pipeline.chunk import Chunk
        from wavegraph.pipeline.spec import StreamSpec
        rec = Recorder(path={str(path)!r})
        rec.configure({{"in": StreamSpec("signal", 1000.0, (2,), "float32", ("a", "b"), ("misc", "misc"))}})
        for i in range(6):  # 100 samples a chunk; a 2 s gap before the fifth
            t0 = 100.0 + i * 0.1 + (2.0 if i >= 4 else 0.0)
            rec.process({{"in": Chunk(np.full((2, 100), i / 10, "float32"), t0=t0, seq=i, gap=(i == 4))}})
        os.kill(os.getpid(), signal.SIGKILL)
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr[-2000:]
    log = tmp_path / "live.wav.chunks.csv"
    lines = log.read_text().splitlines(keepends=True)
    assert len(lines) == 7 and sf.info(str(path)).frames == 600
    log.write_text("".join(lines[:-1]) + "5,10")  # the kill's state: the last chunk written, its line torn short
    assert recover_main([str(path)]) == 0
    assert capsys.readouterr().out.strip() == str(path)  # said as recovered, not "complete as it is"
    assert "lacked the line of the last 100 samples" in caplog.text
    assert log.read_text().splitlines()[-1] == f"5,{102.4 + 0.1!r},100,0"
    caplog.clear()
    src = FileSource(path=str(path))
    src.configure({})
    chunks = []
    while (got := src.read()) is not None:
        chunks.append(got["out"])
    src.close()
    assert "not this recording's" not in caplog.text
    assert sum(c.data.shape[-1] for c in chunks) == 600
    after_gap = next(c for c in chunks if c.gap)
    assert after_gap.t0 == pytest.approx(102.4)
    assert chunks[-1].t0 + chunks[-1].data.shape[-1] / 1000.0 == pytest.approx(102.6)
