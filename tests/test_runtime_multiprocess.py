"""Multi-process runner: bit-identical to in-process on real EEG, failures, Ctrl-C, end-of-stream."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.datasets import fetch
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

EEG_GRAPH = """\
name: eeg-bitident
transport: TRANSPORT
nodes:
  - id: src
    type: file_source
    params: {path: EDF, chunk_size: 23}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 30.0}
  - id: notch
    type: notch
    params: {freq: 50.0}
  - id: rec
    type: recorder
    params: {path: OUT}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: notch.in}
  - {source: notch.out, target: rec.in}
processes:
  acquisition: [src]
  dsp: [bp, notch]
  storage: [rec]
"""


def eeg_graph(tmp_path, out_name, transport="ipc"):
    p = tmp_path / f"{out_name}.yaml"
    edf = fetch("eegmmidb-s001r02")
    p.write_text(
        EEG_GRAPH.replace("EDF", str(edf))
        .replace("OUT", str(tmp_path / f"{out_name}.npz"))
        .replace("TRANSPORT", transport)
    )
    return p


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_multiprocess_is_bit_identical_to_in_process_on_real_eeg(tmp_path, transport):
    a = eeg_graph(tmp_path, "inproc")
    b = eeg_graph(tmp_path, "multi", transport)
    r1 = run_graph(build_graph(load_config(a)), in_process=True)
    r2 = run_graph(build_graph(load_config(b)), in_process=False)
    assert r1.exit_code == 0 and r2.exit_code == 0, r2.failure
    x1 = np.load(tmp_path / "inproc.npz")["data"]
    x2 = np.load(tmp_path / "multi.npz")["data"]
    assert x1.shape == (64, 9760)  # 61 s at 160 Hz, every sample
    assert x1.tobytes() == x2.tobytes()  # bit-identical
    assert r2.processes == {"src": "acquisition", "bp": "dsp", "notch": "dsp", "rec": "storage"}
    assert (
        r2.stats["rec"]["chunks_in"] == r1.stats["rec"]["chunks_in"] == 425
    )  # the data chunks (not the end-of-stream marker)
    assert r2.stats["rec"]["latency_ns"], "end-to-end latency measured across processes"


RAMP_GRAPH = """\
nodes:
  - id: src
    type: fixture_nodes:Ramp
    params: {rate: 1000.0, chunk_size: 10, n_samples: N}
  - id: acc
    type: fixture_nodes:CumSum
    params: {crash_at: CRASH}
    on_error: POLICY
  - id: rec
    type: recorder
    params: {path: OUT, chunk_log: true}
edges:
  - {source: src.out, target: acc.in}
  - {source: acc.out, target: rec.in}
processes:
  a: [src]
  b: [acc]
  c: [rec]
"""


def ramp_graph(tmp_path, n=200, crash=-1, policy="stop"):
    p = tmp_path / "ramp.yaml"
    p.write_text(
        RAMP_GRAPH.replace("N", str(n))
        .replace("CRASH", str(crash))
        .replace("POLICY", policy)
        .replace("OUT", str(tmp_path / "ramp.npz"))
    )
    return p


def test_crash_in_worker_names_node_and_process(tmp_path):
    r = run_graph(build_graph(load_config(ramp_graph(tmp_path, crash=5))))
    assert r.exit_code == 1 and r.failure is not None
    assert "node 'acc' (fixture_nodes:CumSum) in process 'b' failed" in r.failure
    assert "boom: deliberate failure" in r.failure


def test_restart_in_worker_flags_gap(tmp_path):
    r = run_graph(build_graph(load_config(ramp_graph(tmp_path, crash=5, policy="restart"))))
    assert r.exit_code == 0, r.failure
    assert r.stats["acc"]["restarts"] == 1 and r.stats["rec"]["gaps"] == 1
    assert np.load(tmp_path / "ramp.npz")["data"].shape == (2, 190)


def test_slow_consumer_still_gets_the_tail_and_end_of_stream(tmp_path):
    # The sender's process finishes long before the slow consumer drains its queue; nothing may be lost.
    cfg = ramp_graph(tmp_path, n=1500)
    cfg.write_text(cfg.read_text().replace("params: {crash_at: -1}", "params: {crash_at: -1, delay_s: 0.01}"))
    r = run_graph(build_graph(load_config(cfg)))
    assert r.exit_code == 0, r.failure
    data = np.load(tmp_path / "ramp.npz")["data"]
    np.testing.assert_array_equal(data[0], np.cumsum(np.arange(1500.0)))


def test_cli_run_exits_by_itself_at_end_of_stream(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(ramp_graph(tmp_path)), "--progress"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith(f"[{'#' * 30}]     0.2/0.2 s\n")  # the progress bar ends full
    assert "compute us p50/p99" in proc.stdout and "acc" in proc.stdout
    assert np.load(tmp_path / "ramp.npz")["data"].shape == (2, 200)


@pytest.mark.realtime  # the stop is timed (tests/conftest.py); the rest of this file runs in the parallel pass
@pytest.mark.parametrize("mode", [[], ["--in-process"]])
def test_ctrl_c_mid_replay_leaves_complete_file(tmp_path, mode):
    # 20 s of stream replayed in real time; interrupt once the recorder has ~0.5 s of it.
    cfg = ramp_graph(tmp_path, n=20000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(cfg), "--speed", "1", *mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = tmp_path / "ramp.npz.chunks.csv"  # the recorder's per-chunk log: wait until data flows
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 50):
        time.sleep(0.1)
    t = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    stop_s = time.monotonic() - t
    assert proc.returncode == 130, err
    assert stop_s < 5.0  # the issue asks for 2 s; the margin absorbs a loaded CI machine
    data = np.load(tmp_path / "ramp.npz")["data"]
    chunks = np.loadtxt(tmp_path / "ramp.npz.chunks.csv", delimiter=",", skiprows=1, ndmin=2)
    n = data.shape[1]
    assert 0 < n < 20000
    assert n == int(chunks[:, 2].sum())  # every chunk the recorder received is in the file
    np.testing.assert_array_equal(data[0], np.cumsum(np.arange(n, dtype=np.float64)))


def test_worker_that_dies_without_reporting_ends_the_run(tmp_path):
    # 'b' vanishes (os._exit, as after a segfault or an OOM kill) and never sends end-of-stream: the
    # run must end with an error naming it instead of 'c' waiting for it forever (the subprocess
    # timeout only turns a hang into a failure).
    cfg = ramp_graph(tmp_path)
    cfg.write_text(cfg.read_text().replace("params: {crash_at: -1}", "params: {crash_at: -1, exit_at: 5}"))
    proc = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # the dead one's socket file
    assert proc.returncode == 1, proc.stderr
    assert "process 'b' exited with code 3 without reporting" in proc.stderr
    assert "rec " in proc.stdout  # the summary still lists every node
    assert "(failed)" in proc.stdout and "(interrupted)" not in proc.stdout  # a failure, not a Ctrl-C
    row = next(line for line in proc.stdout.splitlines() if line.startswith("acc "))
    assert "no report" in row and " 0 " not in row  # not a row of zeros that looks like a measurement


def _parent_of(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_workers_stop_and_finalise_when_the_parent_is_killed(tmp_path):
    # SIGKILL leaves the parent no chance to forward a stop: the workers notice they are orphaned.
    cfg = ramp_graph(tmp_path, n=20000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(cfg), "--speed", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # what a killed parent leaves
    log = tmp_path / "ramp.npz.chunks.csv"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 20):
        time.sleep(0.1)
    workers = [d for d in os.listdir("/proc") if d.isdigit() and _parent_of(d) == proc.pid]
    assert len(workers) == 3
    proc.kill()
    proc.wait()

    def running(pid):  # an exited orphan may stay a zombie until init reaps it
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rpartition(")")[2].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 30  # a safety net only; they stop within about a second
    while time.monotonic() < deadline and any(running(w) for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if running(w)]
    for w in alive:
        os.kill(int(w), signal.SIGKILL)
    assert not alive, "workers outlived their parent"
    data = np.load(tmp_path / "ramp.npz")["data"]  # the recorder's process closed it cleanly
    n = data.shape[1]
    assert 0 < n < 20000
    np.testing.assert_array_equal(data[0], np.cumsum(np.arange(n, dtype=np.float64)))


def test_a_run_leaves_no_plan_files_or_sockets_behind(tmp_path, socket_tmpdir, monkeypatch):
    scratch = socket_tmpdir  # the run folder (and its ipc:// sockets) go here
    import tempfile

    made, mkdtemp = [], tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(mkdtemp(*a, **k)) or made[-1])
    r = run_graph(build_graph(load_config(ramp_graph(tmp_path))))
    assert r.exit_code == 0, r.failure
    assert any(os.path.dirname(d) == str(scratch) for d in made), made  # the run folder was made there
    assert list(scratch.iterdir()) == []


def test_a_node_that_fails_to_close_in_a_worker_fails_the_run(tmp_path):
    cfg = ramp_graph(tmp_path)
    cfg.write_text(cfg.read_text().replace("params: {crash_at: -1}", "params: {crash_at: -1, fail_close: true}"))
    r = run_graph(build_graph(load_config(cfg)))
    assert r.exit_code == 1 and r.failure is not None
    assert "process 'b'" in r.failure and "acc: cannot finalise: disk full" in r.failure
    assert r.stats["acc"]["chunks_in"] == 20  # its stats still arrive: 20 chunks


@pytest.mark.realtime  # timed: one grace period, not six
def test_stragglers_are_killed_after_one_grace_period_not_one_per_process():
    from wavegraph.pipeline.multiprocess import STOP_GRACE_S, _kill_stragglers

    procs = {f"g{i}": subprocess.Popen(["sleep", "60"]) for i in range(6)}
    t = time.monotonic()
    _kill_stragglers(procs)
    elapsed = time.monotonic() - t
    assert all(p.poll() is not None for p in procs.values())
    assert elapsed >= STOP_GRACE_S - 0.05
    assert elapsed < 4 * STOP_GRACE_S  # generous; one grace period per process would be 6 of them
