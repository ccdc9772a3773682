"""`wavegraph batch`: one run per recording, isolated failures, resumable, identical to a run alone."""

import json
import shutil

import mne
import numpy as np
import pytest
from conftest import wavegraph_cli

GRAPH = """\
nodes:
  - id: src
    type: file_source
    params: {path: placeholder.edf, chunk_size: 32}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 40.0}
  - id: rec
    type: recorder
    params: {path: filtered_raw.fif}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: rec.in}
"""


def _cli(*args, cwd=None):
    # `wavegraph ARGS` in this process (conftest.wavegraph_cli): each new interpreter imported mne and scipy again
    return wavegraph_cli(*args, cwd=cwd)


def _corpus(tmp_path, edf_path):
    """A real recording twice (same stem, two folders), a 20 s crop of it as FIF, and a broken file."""
    (tmp_path / "in" / "a").mkdir(parents=True)
    (tmp_path / "in" / "b").mkdir(parents=True)
    shutil.copy(edf_path, tmp_path / "in" / "a" / "S001R02.edf")
    shutil.copy(edf_path, tmp_path / "in" / "b" / "S001R02.edf")
    raw = mne.io.read_raw_edf(edf_path, preload=True, verbose="error").crop(0, 20)
    raw.save(tmp_path / "in" / "b" / "crop_raw.fif", verbose="error")
    (tmp_path / "in" / "b" / "broken.edf").write_bytes(b"this is not an EDF file" * 10)
    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    return tmp_path, graph


@pytest.fixture
def corpus(tmp_path, edf_path):
    """The corpus, the test's own (it may change it)."""
    return _corpus(tmp_path, edf_path)


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory, edf_path):
    """One local-engine batch (`wavegraph batch`, 2 workers) over a corpus, made once: the isolation test checks
    its outcome, the Ray engine's test compares its outputs with it. Neither changes the corpus or out/."""
    tmp, graph = _corpus(tmp_path_factory.mktemp("batch"), edf_path)
    r = _cli(
        "batch",
        str(graph),
        "--inputs",
        str(tmp / "in" / "**" / "*.*"),
        "--out",
        str(tmp / "out"),
        "--jobs",
        "2",
        "--json",
        str(tmp / "outcomes.json"),
    )
    return tmp, graph, r


def test_batch_isolates_failures_and_equals_a_run_alone(local_batch):
    tmp, graph, r = local_batch
    out = tmp / "out"
    assert r.returncode == 1, r.stdout + r.stderr
    assert "4 files" in r.stdout and "3 done" in r.stdout and "1 failed" in r.stdout
    assert "FAILED" in r.stdout and "broken.edf" in r.stdout
    outcomes = {o["input"]: o["status"] for o in json.loads((tmp / "outcomes.json").read_text())}
    assert outcomes[str(tmp / "in" / "b" / "broken.edf")] == "failed" and sorted(outcomes.values()).count("done") == 3
    # same stem in two folders: the outputs do not collide
    a = np.asarray(mne.io.read_raw_fif(out / "a__S001R02" / "filtered_raw.fif", verbose="error").get_data())
    b = np.asarray(mne.io.read_raw_fif(out / "b__S001R02" / "filtered_raw.fif", verbose="error").get_data())
    crop = np.asarray(mne.io.read_raw_fif(out / "b__crop_raw" / "filtered_raw.fif", verbose="error").get_data())
    np.testing.assert_array_equal(a, b)
    assert crop.shape == (64, 20 * 160 + 1)
    # causal filters: the crop's output is the prefix of the whole one (up to the FIF crop's float32 storage)
    np.testing.assert_allclose(crop, a[:, : crop.shape[1]], rtol=0, atol=1e-10)
    # the same file run alone (multi-process, as `wavegraph run` does by default) gives the same samples
    alone = tmp / "alone_raw.fif"
    r = _cli("run", str(graph), "--set", f"src.path={tmp / 'in' / 'a' / 'S001R02.edf'}", "--set", f"rec.path={alone}")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(mne.io.read_raw_fif(alone, verbose="error").get_data(), a)


def test_batch_resumes_and_skips_what_is_complete(corpus):
    tmp, graph = corpus
    (tmp / "in" / "b" / "broken.edf").unlink()
    out = tmp / "out"
    args = ("batch", str(graph), "--inputs", str(tmp / "in" / "**" / "*.edf"), "--out", str(out), "--jobs", "2")
    # (the two S001R02.edf; the FIF crop does not match *.edf)
    assert _cli(*args).returncode == 0
    done = out / "a__S001R02" / "filtered_raw.fif"
    first = done.stat().st_mtime_ns
    r = _cli(*args)
    assert r.returncode == 0 and "0 done, 2 skipped" in r.stdout
    assert done.stat().st_mtime_ns == first  # not rewritten
    (out / "b__S001R02" / ".wavegraph-done.json").unlink()  # as if that run had been interrupted (its file stays)
    r = _cli(*args)
    assert r.returncode == 0 and "1 done, 1 skipped" in r.stdout
    assert (out / "b__S001R02" / "filtered_raw.fif").exists()
    graph.write_text(GRAPH.replace("h_freq: 40.0", "h_freq: 30.0"))  # a changed graph: nothing is current
    r = _cli(*args)
    assert r.returncode == 0 and "2 done, 0 skipped" in r.stdout


def test_stems_stay_unique(tmp_path):
    from wavegraph.pipeline.batch_inputs import stems as _stems

    a, b, c = tmp_path / "x" / "S001.edf", tmp_path / "x" / "S001.bdf", tmp_path / "y" / "S001.edf"
    assert len(set(_stems([a, b, c]))) == 3
    assert _stems([a, c]) == ["x__S001", "y__S001"]


def test_batch_refuses_a_graph_it_cannot_feed(tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text(
        GRAPH.replace(
            "type: file_source\n    params: {path: placeholder.edf, chunk_size: 32}",
            "type: sine\n    params: {rate: 100.0}",
        )
    )
    r = _cli("batch", str(g), "--inputs", "*.edf", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "batch needs one file_source" in r.stderr and "fix:" in r.stderr


@pytest.mark.realtime  # a Ray cluster on 127.0.0.1 (tests/conftest.py); the rest of this file runs in the parallel pass
def test_ray_engine_gives_the_local_engines_output(local_batch, tmp_path):
    """Files as Ray tasks (a local Ray bound to 127.0.0.1), the same bytes as the local pool."""
    ray = pytest.importorskip("ray")
    from wavegraph.pipeline.batch import plan, run_ray

    tmp, graph, _ = local_batch  # the local engine's outputs: tmp/out
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        outcomes = run_ray(  # the two S001R02.edf (not the broken one, nor the crop)
            plan(str(graph), str(tmp / "in" / "**" / "S001R02.edf"), str(tmp_path / "ray"), []),
            None,
            task_cpus=1,
            task_gpus=0,
            progress=False,
        )
    finally:
        ray.shutdown()
    assert sorted(o.status for o in outcomes) == ["done", "done"]
    for stem in ("a__S001R02", "b__S001R02"):
        np.testing.assert_array_equal(
            mne.io.read_raw_fif(tmp_path / "ray" / stem / "filtered_raw.fif", verbose="error").get_data(),
            mne.io.read_raw_fif(tmp / "out" / stem / "filtered_raw.fif", verbose="error").get_data(),
        )
