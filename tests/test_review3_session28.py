"""Review 3 of session 28's commits (join's more(), brainflow_source's read() after close()).

- The runtime took a holds_more node's more() after process() only: the runs of the reference that an input's end
  completes (join's input_ended) went out one, the rest held for the next chunk, and when that chunk was a restart of
  the reference (a gap back in time) the buffer's reset dropped them unsaid; had the reference's run come after that
  input's end, it went out. Executor._input_ended now takes more() until {} as after process().
- brainflow_source read() after close() opens a new session, but kept the old session's idle clock: an idle read
  just before close() and one just after the reopening made the new session end at once on idle_timeout (or warn a
  stall), counting the time the board was closed as silence.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.executor import Executor
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import signal_spec


class ScriptParams(NodeParams):
    rate: float = 100.0
    chunks: list[list[float]]  # [t0, samples, gap (0/1)]: one chunk a read


class Script(Source):
    """One chunk a read as written (its times, gaps and restarts); each sample's value is its time."""

    Params = ScriptParams

    def configure(self, in_specs):
        self.i = 0
        self.out_specs = {"out": signal_spec(self.params.rate, ["x"], "misc", units="a.u.")}
        return self.out_specs

    def read(self):
        if self.i >= len(self.params.chunks):
            return None
        t0, n, gap = self.params.chunks[self.i]
        self.i += 1
        return {"out": Chunk((t0 + np.arange(int(n)) / self.params.rate)[None], t0=t0, gap=bool(gap))}


GRAPH = """
name: join-more-at-input-end
nodes:
  - {{id: a, type: "test_review3_session28:Script", params: {{chunks: {a}}}}}
  - {{id: b, type: "test_review3_session28:Script", params: {{chunks: [[0.0, 50, 0]]}}}}
  - {{id: join, type: join, params: {{inputs: [a, b], max_wait: 100.0}}}}
  - {{id: sink, type: "fixture_nodes:Collect"}}
edges:
  - {{source: a.out, target: join.a}}
  - {{source: b.out, target: join.b}}
  - {{source: join.out, target: sink.in}}
"""


def _join_runs(tmp_path, a_chunks) -> tuple[list[tuple[float, int]], dict]:
    yaml = tmp_path / "g.yaml"
    yaml.write_text(GRAPH.format(a=a_chunks))
    graph = build_graph(load_config(yaml))
    Executor(graph.config, graph.nodes).run()
    runs = [(round(c.t0, 6), c.data.shape[1]) for c in graph.nodes["sink"].chunks if c.data.size]  # pyright: ignore
    return runs, dict(graph.nodes["join"].counters)


def test_join_runs_an_input_end_completes_all_go_out_before_a_restart_of_the_reference(tmp_path):
    # a: 0-0.99 s, a gap, 2-2.99 s, then restarts at 0 (a gap back in time); b: 0-0.49 s, then its end-of-stream,
    # which comes (sources read in turn) after a's second run: with max_wait, b's end completes both runs (b held)
    got, counters = _join_runs(tmp_path, [[0.0, 100, 0], [2.0, 100, 1], [0.0, 100, 1]])
    assert got[:3] == [(0.0, 50), (0.5, 50), (2.0, 100)], got  # before: 2-2.99 s dropped by a's restart, unsaid
    assert counters["time_reset_a"] == 1
    # the same data with a's second run after b's end (a first chunk of a before anything): the run goes out
    control, _ = _join_runs(tmp_path, [[0.0, 10, 0], [0.1, 90, 0], [2.0, 100, 1], [0.0, 100, 1]])
    assert (2.0, 100) in control


def _next_chunk(node):
    for _ in range(2000):  # read() waits up to `wait` (0 here) for samples: {} while none came
        out = node.read()
        assert out is not None, dict(node.counters)  # None: the stream ended
        if out:
            return out
        time.sleep(0.002)
    raise AssertionError("the synthetic board sent nothing")


def test_brainflow_source_read_after_close_does_not_count_the_closed_time_as_idle():
    """By hand (a notebook): an idle read before close(), a while closed, then read(): a new session. Its first reads
    (the board only just started) are idle; the old session's idle clock made it end at once on idle_timeout (the
    closed time counted as silence). The real library, its synthetic board."""
    pytest.importorskip("brainflow")
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource

    node = BrainFlowSource(board="SYNTHETIC_BOARD", chunk_size=25, wait=0.0, idle_timeout=0.5)
    node.configure({})
    try:
        node.open()
        _next_chunk(node)
        for _ in range(2000):  # until a read finds nothing new (wait 0: at once after a chunk, as a rule)
            if node.read() == {}:
                break
        node.close()
        time.sleep(0.6)  # closed for longer than idle_timeout
        assert node.read() is not None  # opens the board again; before: None (ended, idle_timeout counted)
        _next_chunk(node)
        assert "idle_timeout" not in node.counters
    finally:
        node.close()
