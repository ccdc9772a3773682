"""The runtime and the command line under faults (session 43): a batch killed mid-run (kill -9, SIGTERM) or one of
its workers killed; a recorder that goes on after a full disk (on_error: restart), and one that stops there; recover
of a CSV cut mid-row."""

import json
import os
import signal
import subprocess
import sys
import time

import mne
import numpy as np
import psutil
import pytest
import soundfile
from conftest import wavegraph_cli

N_FILES, CHANNELS, RATE, SECONDS = 4, 8, 250.0, 60

BATCH_GRAPH = """\
nodes:
  - {id: src, type: file_source, params: {path: placeholder.fif, chunk_size: 25}}
  - {id: bp, type: bandpass, params: {l_freq: 1.0, h_freq: 40.0}}
  - {id: rec, type: recorder, params: {path: out_raw.fif}}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: rec.in}
"""


def _batch_inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    x = np.random.default_rng(0).standard_normal((CHANNELS, int(RATE * SECONDS))) * 1e-5
    raw = mne.io.RawArray(x, mne.create_info([f"E{i}" for i in range(CHANNELS)], RATE, "eeg"), verbose="error")
    for i in range(N_FILES):
        raw.save(folder / f"s{i}_raw.fif", verbose="error")
    graph = tmp_path / "g.yaml"
    graph.write_text(BATCH_GRAPH)
    cmd = [sys.executable, "-m", "wavegraph.pipeline.cli", "batch", str(graph), "--inputs", str(folder / "*.fif")]
    return cmd + ["--out", str(tmp_path / "out"), "--jobs", "2"]


def _alive(procs):
    def running(p):
        try:
            return p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    return [p for p in procs if running(p)]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "SIGTERM"])
def test_a_batch_killed_mid_run_leaves_no_worker_running_and_resumes_whole(tmp_path, signum):
    """Before: after `kill -9` of a batch its two pool workers ran on, took the queued files, then waited for more
    for ever (orphans, which a re-run raced for the same output folders); `kill` (SIGTERM) or a closed terminal
    (SIGHUP) ended it with 'Terminated', exit 143, no summary, and the same orphans. Now the workers end with their
    parent (a file they were running is stopped as by Ctrl-C, not marked complete); SIGTERM and SIGHUP stop the batch
    as Ctrl-C does (exit 130, the summary, the files that did not finish); a re-run completes every file."""
    cmd = _batch_inputs(tmp_path)
    out = tmp_path / "out"
    said_to, err_to = tmp_path / "stdout.txt", tmp_path / "stderr.txt"  # (not pipes: an orphan held them open)
    with open(said_to, "w") as stdout, open(err_to, "w") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, start_new_session=True)
    workers = []
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("*/out_raw.fif.spill")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, err_to.read_text()
        workers = [
            w for w in psutil.Process(proc.pid).children(recursive=True) if "resource_tracker" not in w.cmdline()[-1]
        ]
        assert len(workers) == 2, [w.cmdline() for w in workers]
        os.kill(proc.pid, signum)
        proc.wait(timeout=120)
        said, err = said_to.read_text(), err_to.read_text()
        if signum == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == 130, err
            assert f"{N_FILES} files in " in said and "interrupted" in said, said
            assert "interrupted: " in err and "fix: run the same command again to resume" in err, err
        deadline = time.monotonic() + 60
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(workers), [w.cmdline() for w in _alive(workers)]
    finally:
        for w in _alive(workers):
            w.kill()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    again = wavegraph_cli(*cmd[3:])  # the re-run in this process (its pool's workers are processes of their own)
    assert again.returncode == 0, again.stdout + again.stderr
    for i in range(N_FILES):
        assert (out / f"s{i}_raw" / ".wavegraph-done.json").exists(), i
        got = mne.io.read_raw_fif(out / f"s{i}_raw" / "out_raw.fif", verbose="error")
        assert got.n_times == int(RATE * SECONDS), i


RESTARTED_RECORDER = """
import json, resource, signal, sys
import numpy as np
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on a full disk
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
rec = Recorder(path=sys.argv[1])
rec.configure({"in": signal_spec(250.0, ["a", "b", "c"])})
accepted, gap = [], False
for i in range(40):
    if i == 12:  # the disk fills up halfway through chunk 12
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), hard))
    if i == 30:  # room again (another program's files deleted)
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    try:
        rec.process({"in": Chunk(np.full((3, 25), float(i)), t0=i * 0.1, seq=i, gap=gap)})
        accepted.append(i)
        gap = False
    except OSError:  # what the executor does for a node with on_error: restart
        rec.reset()
        gap = True
rec.close()
print(json.dumps(accepted))
"""


@pytest.mark.parametrize("name", ["rec_raw.fif", "rec.npz", "rec.csv", "rec.wav"])
def test_a_recorder_restarted_after_a_full_disk_keeps_only_the_chunks_it_took_in_order(tmp_path, name):
    """Before: with `on_error: restart` (what the failure's own message suggested), a write that failed on a full disk
    stayed in the recorder's write buffer, and a partial one in the file: once the disk had room again the failed
    chunks were written after all, the chunk log did not list them, and every later sample sat one or more chunks
    off its time (the FIF held chunks 0-25 then 40-53 where its log said 0-19, 40-59), without a word; a WAV went on
    at the start of its file, over the recording (it began with chunk 26). Now a failed write is cut back to the last
    whole chunk at once: the file holds exactly the chunks the recorder took, in order."""
    path = tmp_path / name
    limit = 12 * 600 + 300  # the spill: 3 float64 channels x 25 samples, 600 bytes a chunk; after 12, half one more
    if name.endswith((".wav", ".csv")):  # written as they go: their size after 12 chunks, from one without a limit
        probe = tmp_path / f"probe{path.suffix}"
        r = subprocess.run([sys.executable, "-c", RESTARTED_RECORDER, str(probe), str(1 << 40)], capture_output=True)
        assert r.returncode == 0, r.stderr
        lines = probe.read_bytes().splitlines(keepends=True)  # (the CSV's: a header, then a row a sample)
        header = probe.stat().st_size - 40 * 600 if name.endswith(".wav") else len(lines[0])
        limit += header if name.endswith(".wav") else header + sum(map(len, lines[1 : 1 + 12 * 25])) - 12 * 600
    r = subprocess.run(
        [sys.executable, "-c", RESTARTED_RECORDER, str(path), str(limit)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    accepted = json.loads(r.stdout.splitlines()[-1])
    assert accepted == list(range(12)) + list(range(30, 40)), accepted
    if name.endswith(".fif"):
        data = mne.io.read_raw_fif(path, verbose="error").get_data()
    elif name.endswith(".npz"):
        with np.load(path) as f:
            data = f["data"]
    elif name.endswith(".csv"):
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)[:, 1:].T
    else:
        data = soundfile.read(path, always_2d=True)[0].T
    want = np.repeat(np.array(accepted, dtype=float), 25)[None].repeat(3, 0)
    assert data.shape == want.shape and np.array_equal(data, want), data[0, ::25].tolist()


def test_recover_of_a_csv_cut_mid_row_says_it_cut_it_not_that_it_was_complete(tmp_path, capsys, caplog):
    """Before: `wavegraph recover rec.csv` of a CSV whose recorder was killed mid-row cut the torn row off (said in a
    warning) and then printed 'rec.csv: no spill beside it: complete as it is, nothing to recover'. Now it prints the
    recording's path as for any recovered one; a CSV that ends in a whole row is still said to be complete."""
    from wavegraph.nodes.io.recover import recover_main

    path = tmp_path / "rec.csv"
    killed = RESTARTED_RECORDER.replace("rec.close()", "import os; os._exit(0)")  # killed before close()
    r = subprocess.run([sys.executable, "-c", killed, str(path), str(1 << 40)], capture_output=True, text=True)
    assert r.returncode == 0 and path.with_name("rec.csv.chunks.csv").exists(), r.stderr
    whole = path.read_bytes()
    os.truncate(path, len(whole) - 7)  # the last row cut off by the kill
    assert recover_main([str(path)]) == 0
    said = capsys.readouterr().out
    assert "complete as it is" not in said and said.strip() == str(path), said
    assert "cut back to its last whole row" in caplog.text
    assert path.read_bytes() == whole[: whole.rstrip(b"\n").rfind(b"\n") + 1]
    assert recover_main([str(path)]) == 0  # now whole: left as it is, and said so
    assert "complete as it is, nothing to recover" in capsys.readouterr().out


KILLED_BY_ITS_FILE = """\
import os, signal
from wavegraph.pipeline.node import Sink


class DiesOnOddRates(Sink):
    \"\"\"Its process is killed (as by the kernel's out-of-memory killer) on a stream of 123 Hz.\"\"\"

    def process(self, inputs):
        if self.in_specs["in"].rate == 123.0:
            os.kill(os.getpid(), signal.SIGKILL)
        return {}
"""


def _killing_batch(tmp_path, files: list, seconds: float):
    """in/NAME_raw.fif of `seconds` at each rate, and a graph that records them beside a node killing its process on
    the 123 Hz one: (the folder, the graph)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, rate in files:
        x = np.zeros((2, int(rate * seconds)))
        raw = mne.io.RawArray(x, mne.create_info(["E0", "E1"], rate, "eeg"), verbose="error")
        raw.save(folder / f"{name}_raw.fif", verbose="error")
    (tmp_path / "dies.py").write_text(KILLED_BY_ITS_FILE)
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: x.fif, chunk_size: 50}}\n"
        "  - {id: rec, type: recorder, params: {path: out_raw.fif}}\n  - {id: dies, type: 'dies:DiesOnOddRates'}\n"
        "edges:\n  - {source: src.out, target: rec.in}\n  - {source: src.out, target: dies.in}\n"
    )
    return folder, graph


def test_a_file_whose_worker_is_killed_fails_alone_the_others_complete(tmp_path, monkeypatch):
    """Before: one file whose pool worker was killed (the out-of-memory killer, on a file too big for it) failed every
    file of the batch, also those running in the other worker and those not started: 'FAILED 4 files (...): worker
    died: A process in the process pool was terminated abruptly'. Now the files of the broken pool run again, one
    process each: the one that kills its process fails, named, and the others complete."""
    folder, graph = _killing_batch(tmp_path, [("a", 250.0), ("b", 123.0), ("c", 250.0), ("d", 250.0)], 20)
    monkeypatch.syspath_prepend(str(tmp_path))  # dies.py, for the batch run in this process and its workers
    monkeypatch.setenv("PYTHONPATH", str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "out"
    r = wavegraph_cli("batch", str(graph), "--inputs", str(folder / "*.fif"), "--out", str(out), "--jobs", "2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "3 done, 0 skipped (complete), 1 failed" in r.stdout, r.stdout + r.stderr
    failed = [line for line in r.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and failed[0].startswith(f"FAILED {folder / 'b_raw.fif'}: "), failed
    assert "SIGKILL" in failed[0] and "out-of-memory" in failed[0], failed
    for name in "acd":
        assert (out / f"{name}_raw" / ".wavegraph-done.json").exists(), name


def _file_size_limit(size):
    """A subprocess's preexec_fn: writes past `size` bytes fail (EFBIG), as on a full disk, for any user."""
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return limit


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "across-processes"])
def test_a_recorder_on_a_full_disk_says_its_own_fix_without_a_traceback(tmp_path, in_process):
    """Before: the recorder's own error (what was kept, where, `wavegraph recover`, the fix) came after a traceback of
    the runtime's and the recorder's frames, and was followed by 'fix: correct the node, or give it on_error: restart'
    (there is nothing to correct in the node). Now an error that names its fix is said as it is: its type and text."""
    x = np.zeros((4, 250 * 60))
    mne.io.RawArray(x, mne.create_info(4, 250.0, "eeg"), verbose="error").save(tmp_path / "in_raw.fif")
    graph = tmp_path / "g.yaml"
    graph.write_text(
        f"nodes:\n  - {{id: src, type: file_source, params: {{path: '{tmp_path / 'in_raw.fif'}', chunk_size: 50}}}}\n"
        f"  - {{id: rec, type: recorder, params: {{path: '{tmp_path / 'disk' / 'rec_raw.fif'}'}}}}\n"
        "edges:\n  - {source: src.out, target: rec.in}\n" + ("" if in_process else "processes: {a: [src], b: [rec]}\n")
    )
    cmd = [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(graph), "--no-status"]
    cmd += ["--in-process"] if in_process else []
    r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=_file_size_limit(64 << 10), timeout=300)
    assert r.returncode == 1, r.stderr
    said = r.stderr[r.stderr.index("error: node 'rec' (recorder)") :]
    assert f"recorder: writing {tmp_path / 'disk' / 'rec_raw.fif'} failed: " in said and "fix: " in said, said
    assert "Traceback" not in said and "correct the node" not in said, said
    assert "in process() of the chunk at t0=" in said, said  # (which chunk, as for any node's failure)


def test_after_a_worker_is_killed_the_files_not_started_run_on_a_pool_not_one_by_one(tmp_path, monkeypatch):
    """Review of the fix above: a killed worker breaks its pool and every pending future, also of files that never
    started; all of them were then run alone, one process at a time (a batch of 1,000 files with --jobs 16 ran the rest
    serially after one kill). Now only the files that had started run alone; the others go on a fresh pool."""
    import wavegraph.pipeline.batch as batch

    folder, graph = _killing_batch(tmp_path, [("a", 123.0)] + [(chr(ord("b") + k), 250.0) for k in range(9)], 5)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    alone = []
    real = batch.run_alone
    monkeypatch.setattr(batch, "run_alone", lambda job: alone.append(job.input) or real(job))
    jobs = batch.plan(str(graph), str(folder / "*.fif"), str(tmp_path / "out"), [])
    outcomes = batch.run_local(jobs, 2, progress=False)
    assert sorted(o.status for o in outcomes) == ["done"] * 9 + ["failed"], outcomes
    # alone: the killed file, the one running beside it, and one whose outcome was on its way as the pool broke (at
    # most); before, every file not done yet (8 or 9 of 10)
    assert str(folder / "a_raw.fif") in alone and len(alone) <= 4, alone
