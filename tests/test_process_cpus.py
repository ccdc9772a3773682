"""`cpus:` of a process group: its worker, and the ZeroMQ I/O thread it starts, run on those CPUs only; bad values
and unknown keys of a group are file:line errors before anything starts."""

import json
import os

import pytest
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

GRAPH = """\
nodes:
  - id: src
    type: fixture_nodes:AffinityRamp
    params: {rate: 1000.0, chunk_size: 10, n_samples: 100, log: LOG}
  - id: acc
    type: fixture_nodes:CumSum
edges:
  - {source: src.out, target: acc.in}
processes:
  a: {nodes: [src], CPUS}
  b: [acc]
"""


def _graph(tmp_path, cpus: str):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("LOG", str(tmp_path / "threads.log")).replace("CPUS", cpus))
    return p


def test_a_group_with_cpus_runs_every_thread_there(tmp_path):
    here = sorted(os.sched_getaffinity(0))
    # On a machine that gives this test one CPU every thread is there, pinned or not: the run is still checked.
    cpu = here[-1]
    r = run_graph(build_graph(load_config(_graph(tmp_path, f"cpus: [{cpu}]"))))
    assert r.exit_code == 0, r.failure
    seen = json.loads((tmp_path / "threads.log").read_text())
    assert seen["pid"] != os.getpid()
    assert any(name.startswith("ZMQbg/IO") for name in seen["threads"])  # the I/O thread was there to check
    assert set(seen["threads"].values()) == {str(cpu)}, seen  # every thread, the I/O thread too
    assert sorted(os.sched_getaffinity(0)) == here  # the parent is not pinned


@pytest.mark.parametrize(
    "cpus, message, hint",
    [
        ("cpus: [100000]", "cpus [100000] are not CPUs this process may use", "use some of"),
        ("cpus: fast", "cpus must be a CPU number or a list of them", "write cpus: [0]"),
        ("cpus: []", "cpus must be a CPU number or a list of them", "write cpus: [0]"),
        ("cpu: [0]", "unknown key 'cpu'", "did you mean 'cpus'?"),
    ],
)
def test_bad_cpus_and_unknown_group_keys_are_file_line_errors(tmp_path, cpus, message, hint):
    with pytest.raises(GraphError) as e:
        load_config(_graph(tmp_path, cpus))
    text = str(e.value)
    assert f"g.yaml:10: process 'a': {message}" in text and hint in text, text


def test_a_group_that_lists_no_nodes_is_a_file_line_error(tmp_path):
    """`a: []` was dropped without a word (its nodes, moved out by mistake, ran in "main")."""
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("  a: {nodes: [src], CPUS}\n", "  a: []\n"))
    with pytest.raises(GraphError) as e:
        load_config(p)
    assert "g.yaml:10: process 'a' lists no nodes" in str(e.value) and "or remove it" in str(e.value), str(e.value)
