"""Node.open(): a source's heavy part (a file's data, a device) happens once per run, where it runs.

The parent of a multi-process run configures every node to check the graph; the worker configures its
own again (light: specs only) and is the only process that opens them; validate never opens."""

import os

import numpy as np
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

GRAPH = """\
nodes:
  - id: src
    type: fixture_nodes:OpenCountingRamp
    params: {rate: 1000.0, chunk_size: 10, n_samples: 200, log: LOG}
  - id: acc
    type: fixture_nodes:CumSum
  - id: rec
    type: recorder
    params: {path: OUT}
edges:
  - {source: src.out, target: acc.in}
  - {source: acc.out, target: rec.in}
processes:
  a: [src]
  b: [acc]
  c: [rec]
"""


def _graph(tmp_path, fail_open=False):
    p = tmp_path / "g.yaml"
    p.write_text(
        GRAPH.replace("LOG", str(tmp_path / "calls.log"))
        .replace("OUT", str(tmp_path / "out.npz"))
        .replace("n_samples: 200", f"n_samples: 200, fail_open: {str(fail_open).lower()}")
    )
    return p


def _calls(tmp_path) -> list[tuple[str, int]]:
    log = tmp_path / "calls.log"
    lines = log.read_text().split() if log.exists() else []
    return [(lines[i], int(lines[i + 1])) for i in range(0, len(lines), 2)]


def test_three_process_run_opens_a_source_once_in_its_worker(tmp_path):
    r = run_graph(build_graph(load_config(_graph(tmp_path))))
    assert r.exit_code == 0, r.failure
    calls = _calls(tmp_path)
    opens = [pid for what, pid in calls if what == "open"]
    assert len(opens) == 1 and opens[0] != os.getpid()  # once, in the worker that runs it
    assert "unopened-read" not in [w for w, _ in calls]  # the worker opened it before the first read
    configures = [pid for what, pid in calls if what == "configure"]
    assert configures.count(os.getpid()) == 1 and opens[0] in configures  # the parent only configured
    assert np.load(tmp_path / "out.npz")["data"].shape == (2, 200)


def test_in_process_run_opens_once_and_build_alone_never_opens(tmp_path):
    graph = build_graph(load_config(_graph(tmp_path)))
    assert [w for w, _ in _calls(tmp_path)] == ["configure"]  # validate/describe/build: no open
    r = run_graph(graph, in_process=True)
    assert r.exit_code == 0, r.failure
    assert [w for w, _ in _calls(tmp_path)] == ["configure", "open"]


def test_offline_configure_then_read_still_works(tmp_path):
    from fixture_nodes import OpenCountingRamp

    src = OpenCountingRamp(rate=100.0, n_samples=20, log=str(tmp_path / "calls.log"))
    src.configure({})
    out = src.read()
    assert out is not None and out["out"].data.shape == (2, 10)
    assert [w for w, _ in _calls(tmp_path)] == ["configure", "unopened-read", "open"]


def test_a_source_that_cannot_open_fails_the_run_naming_it(tmp_path):
    r = run_graph(build_graph(load_config(_graph(tmp_path, fail_open=True))))  # the build succeeds: no open
    assert r.exit_code == 1 and r.failure is not None
    assert "node 'src' (fixture_nodes:OpenCountingRamp) in process 'a' failed" in r.failure
    assert "device busy: deliberate failure" in r.failure
