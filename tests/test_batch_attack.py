"""`wavegraph batch` under hostile inputs: colliding output folders, a --set that fights --inputs."""

import subprocess
import sys
from pathlib import Path

import pytest
from wavegraph.pipeline.batch import plan
from wavegraph.pipeline.batch_inputs import stems as _stems
from wavegraph.pipeline.config import GraphError

GRAPH = """\
nodes:
  - id: src
    type: file_source
    params: {path: placeholder.wav, chunk_size: 256}
  - id: rec
    type: recorder
    params: {path: out.wav}
edges:
  - {source: src.out, target: rec.in}
"""


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_every_input_gets_its_own_output_folder_even_when_paths_flatten_alike():
    # in/a__x.wav and in/a/x.wav both flattened to a__x_wav: two runs wrote one folder, one silently lost
    for inputs in (
        [Path("/t/in/a__x.wav"), Path("/t/in/a/x.wav"), Path("/t/in/b/x.wav")],
        [Path("/t/in/A.wav"), Path("/t/in/a.wav")],  # one folder on a case-insensitive disk (macOS, Windows)
    ):
        stems = _stems(inputs)
        assert len({s.casefold() for s in stems}) == len(inputs), stems
    # a dot file (.x.wav) had the empty stem: its outputs went into OUT itself
    assert all(_stems([Path("/t/in/.x.wav"), Path("/t/in/y.wav")]))


def test_a_set_of_the_source_path_is_refused_not_silently_replaced_by_each_input(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.raises(GraphError) as e:  # before: every job ran its input, the --set was dropped without a word
        plan(str(graph), str(tmp_path / "*.wav"), str(tmp_path / "out"), ["src.path=other.wav"])
    said = "; ".join(e.value.lines())
    assert "--set src.path" in said and "--inputs" in said and "fix:" in said, said
    # other parameters of the source are the user's to set
    assert plan(str(graph), str(tmp_path / "*.wav"), str(tmp_path / "out"), ["src.chunk_size=64"])


class _Pool:
    """A process pool whose first file ends, then Ctrl-C: ProcessPoolExecutor's shutdown() drops _processes."""

    def __init__(self, max_workers, mp_context, initializer=None, initargs=()):
        self.killed = []
        self._processes = {1: _Proc(self.killed, 1), 2: _Proc(self.killed, 2)}
        _Pool.last = self

    def submit(self, fn, job):
        from concurrent.futures import Future

        f = Future()
        f.job = job  # type: ignore[attr-defined]
        return f

    def shutdown(self, wait=True, cancel_futures=False):
        self._processes = None


class _Proc:
    def __init__(self, killed, pid):
        self.killed, self.pid = killed, pid

    def terminate(self):
        self.killed.append(self.pid)

    def join(self, timeout=None):
        pass

    def is_alive(self):
        return False


def test_ctrl_c_mid_batch_stops_the_workers_and_names_what_did_not_finish(tmp_path, monkeypatch, capsys):
    import concurrent.futures as cf

    from wavegraph.pipeline import batch

    def as_completed(futures):
        first = next(iter(futures))
        first.set_result(batch.Outcome(first.job.input, "done"))
        yield first
        raise KeyboardInterrupt

    monkeypatch.setattr(cf, "ProcessPoolExecutor", _Pool)
    monkeypatch.setattr(cf, "as_completed", as_completed)
    jobs = [batch.Job("g.yaml", f"/in/r{i}.wav", f"/out/r{i}", ()) for i in range(3)]
    # before: AttributeError ('NoneType' object has no attribute 'values'), a traceback, the workers left running
    with pytest.raises(batch.Interrupted) as e:
        batch.run_local(jobs, 2, progress=False)
    assert [o.input for o in e.value.outcomes] == ["/in/r0.wav"]
    assert e.value.unfinished == ["/in/r1.wav", "/in/r2.wav"]
    assert sorted(_Pool.last.killed) == [1, 2]


def test_a_bids_tree_glob_takes_the_recordings_not_the_sidecars_and_says_so(tmp_path, capsys):
    from wavegraph.pipeline.batch import main

    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    eeg = tmp_path / "bids" / "sub-01" / "eeg"
    eeg.mkdir(parents=True)
    for name in ("sub-01_task-x_eeg.json", "sub-01_task-x_channels.tsv", "sub-01_task-x_events.tsv"):
        (eeg / name).write_text("{}")
    (tmp_path / "bids" / "dataset_description.json").write_text("{}")
    (eeg / "sub-01_task-x_eeg.wav").write_bytes(b"")
    # before: 5 jobs, the 4 sidecars each FAILED 'not a recording', the recording's folder ..._eeg_wav
    jobs = plan(str(graph), str(tmp_path / "bids" / "**" / "*"), str(tmp_path / "out"), [])
    assert [Path(j.input).name for j in jobs] == ["sub-01_task-x_eeg.wav"]
    assert Path(jobs[0].out_dir).name == "sub-01_task-x_eeg"
    # nothing but sidecars: said before any run, with the fix
    rc = main([str(graph), "--inputs", str(tmp_path / "bids" / "**" / "*.json"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "sidecar" in err and "dataset_description.json" in err and "fix:" in err, err


class _Ray:
    """Ray as run_ray uses it: the first task ends, then Ctrl-C while waiting for the next."""

    def __init__(self):
        self.cancelled, self.calls = [], 0

    def is_initialized(self):
        return True

    def remote(self, **_):
        return lambda fn: type("T", (), {"remote": staticmethod(lambda job: job)})

    def wait(self, refs, num_returns=1):
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt
        return refs[:1], refs[1:]

    def get(self, ref):
        from wavegraph.pipeline.batch import Outcome

        return Outcome(ref.input, "done")

    def cancel(self, ref, force=False):
        self.cancelled.append(ref.input)


def test_ctrl_c_in_a_ray_batch_names_what_did_not_finish(monkeypatch):
    from wavegraph.pipeline import batch

    ray = _Ray()
    monkeypatch.setitem(sys.modules, "ray", ray)
    jobs = [batch.Job("g.yaml", f"/in/r{i}.wav", f"/out/r{i}", ()) for i in range(3)]
    # before: a bare KeyboardInterrupt: 'wavegraph: stopped (Ctrl-C)', no summary, no --json, tasks left running
    with pytest.raises(batch.Interrupted) as e:
        batch.run_ray(jobs, None, 1.0, 0.0, progress=False)
    assert [o.input for o in e.value.outcomes] == ["/in/r0.wav"]
    assert e.value.unfinished == ["/in/r1.wav", "/in/r2.wav"] == sorted(ray.cancelled)


def test_the_json_names_the_outputs_of_a_file_skipped_as_complete(tmp_path, capsys):
    import json

    from wavegraph.pipeline.batch import DONE, _signature, main

    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    (tmp_path / "x.wav").write_bytes(b"")
    (job,) = plan(str(graph), str(tmp_path / "x.wav"), str(tmp_path / "out"), [])
    Path(job.out_dir).mkdir(parents=True)
    (Path(job.out_dir) / "out.wav").write_bytes(b"")  # as a first batch left it
    (Path(job.out_dir) / DONE).write_text(json.dumps(_signature(job)))
    args = [str(graph), "--inputs", str(tmp_path / "x.wav"), "--out", str(tmp_path / "out")]
    assert main([*args, "--json", str(tmp_path / "o.json")]) == 0
    (skipped,) = json.loads((tmp_path / "o.json").read_text())
    # before: outputs [] for a resumed batch's complete files: the --json named no output of theirs
    assert skipped["status"] == "skipped" and skipped["outputs"] == [str(Path(job.out_dir) / "out.wav")]


def test_a_glob_of_folders_only_says_so_and_how_to_reach_their_files(tmp_path, capsys):
    from wavegraph.pipeline.batch import main

    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    for s in ("s1", "s2"):
        (tmp_path / "recs" / s).mkdir(parents=True)
        (tmp_path / "recs" / s / "run.wav").write_bytes(b"")
    rc = main([str(graph), "--inputs", str(tmp_path / "recs" / "*"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    # before: 'no file matches', though it matched two folders of recordings
    assert rc == 2 and "folders" in err and "s1" in err and "**" in err and "fix:" in err, err


def test_the_sidecar_note_leaves_out_the_batchs_own_outputs(tmp_path):
    from wavegraph.pipeline.batch import sidecars

    (tmp_path / "recs" / "out" / "s1").mkdir(parents=True)
    (tmp_path / "recs" / "s1_eeg.json").write_text("{}")
    (tmp_path / "recs" / "out" / "s1" / "rec_eeg.json").write_text("{}")  # a BIDS recorder's output, not a sidecar
    said = sidecars(str(tmp_path / "recs" / "**" / "*.json"), str(tmp_path / "recs" / "out"))
    assert said == [str(tmp_path / "recs" / "s1_eeg.json")]
