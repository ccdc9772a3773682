"""When one input of a join ends while the others go on (an LSL outlet lost, a file that ends first), the
runtime tells the node (Node.input_ended) as soon as that input's end-of-stream arrives, in one process
as across processes, and join stops waiting for it then: it drops the reference samples after that
input's end at once (`after_end`) instead of holding every input until the whole run ends."""

import numpy as np
import pytest
from wavegraph.nodes.dsp.join import Join
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.executor import Executor
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

GRAPH = """
name: join-input-ended
nodes:
  - {{id: eeg, type: "fixture_nodes:Ramp", params: {{n_channels: 1, rate: 100.0, n_samples: 300}}}}
  - {{id: aux, type: "fixture_nodes:Ramp", params: {{n_channels: 1, rate: 100.0, n_samples: 50}}}}
  - {{id: join, type: join, params: {{inputs: [eeg, aux]}}}}
  - {{id: rec, type: recorder, params: {{path: {path}}}}}
edges:
  - {{source: eeg.out, target: join.eeg}}
  - {{source: aux.out, target: join.aux}}
  - {{source: join.out, target: rec.in}}
processes:
  a: [eeg]
  b: [aux]
  c: [join, rec]
"""


@pytest.mark.parametrize("mode", ["in", "multi"])
def test_join_stops_waiting_for_an_input_that_ended(tmp_path, mode):
    """aux ends after 0.5 s, eeg runs 3 s (paced in real time): join counts the eeg samples after aux's
    end as dropped while eeg is still running (its first 2.5 s), not only when the run ends."""
    yaml = tmp_path / "g.yaml"
    yaml.write_text(GRAPH.format(path=tmp_path / "out.npz"))
    seen = []
    r = run_graph(build_graph(load_config(yaml)), speed=1.0, in_process=mode == "in", observer=seen.append)
    assert r.exit_code == 0, r.failure
    seen = [s for s in seen if "join" in s and "eeg" in s]  # (a worker's first statistics may be late)
    while_running = [s["join"]["counters"].get("after_end", 0) for s in seen if s["eeg"]["chunks_out"] < 25]
    assert max(while_running, default=0) > 0, while_running
    assert r.stats["join"]["counters"]["after_end"] == 250  # eeg samples 50-299
    x = np.load(tmp_path / "out.npz")["data"]
    np.testing.assert_array_equal(x, np.vstack([np.arange(50.0), np.arange(50.0)]))  # eeg and aux, 0.5 s


def test_executor_tells_the_node_and_join_holds_nothing_back(tmp_path):
    """In one executor, stepped by hand: once aux's end-of-stream is in, join holds at most one eeg
    chunk (before: every eeg sample after aux's end, until the end of the run)."""
    yaml = tmp_path / "g.yaml"
    yaml.write_text(GRAPH.format(path=tmp_path / "out.npz").replace("n_samples: 300", "n_samples: 10000"))
    graph = build_graph(load_config(yaml))
    ex = Executor(graph.config, graph.nodes)
    join = graph.nodes["join"]
    assert isinstance(join, Join)
    held = []
    while ex.step_sources():
        held.append(join.bufs["eeg"].times.size)
    assert len(held) > 900 and max(held[10:]) <= 10
    assert join.counters["after_end"] == 9950


def test_with_max_wait_an_ended_input_is_held_at_once():
    """With max_wait, reference samples after an ended input's end go out at once, that input's last
    value held, flagged and counted as late (not after max_wait, and not dropped)."""
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    join = Join(inputs=["eeg", "aux"], max_wait=5.0)
    join.configure({"eeg": signal_spec(100.0, ["C3"]), "aux": signal_spec(100.0, ["x"])})
    ramp = np.arange(100.0)[None]
    assert join.process({"aux": Chunk(ramp[:, :20], 0.0)}) == {}
    first = join.process({"eeg": Chunk(ramp[:, :50], 0.0)})["out"]
    assert first.data.shape == (2, 20) and not first.gap
    held = join.input_ended("aux")["out"]
    assert held.data.shape == (2, 30) and held.gap  # what waited for aux goes out now, flagged: aux is held
    late = join.process({"eeg": Chunk(ramp[:, 50:], 0.5)})["out"]
    np.testing.assert_array_equal(late.data, np.vstack([np.arange(50.0, 100.0), np.full(50, 19.0)]))
    assert join.counters["late_aux"] == 80 and "after_end" not in join.counters
    # flagged once: a gap on every later chunk reset every stateful node downstream, chunk after chunk
    assert not late.gap and not join.process({"eeg": Chunk(ramp, 1.0)})["out"].gap
