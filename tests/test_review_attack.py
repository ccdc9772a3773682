"""Defects found reviewing the day's commits (814ee53..): each test failed before its fix."""

import threading

from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.runner import run_graph


class HangCloseParams(NodeParams):
    hang_s: float = 3.0  # how long close() blocks (bounded, so that a test of the old behaviour ends)


class HangClose(Node):
    """Passes its input on; its close() blocks (a device that never lets go, a lost lock)."""

    Params = HangCloseParams

    def configure(self, in_specs):
        self.calls = 0
        return super().configure(in_specs)

    def process(self, inputs):
        self.calls += 1
        return {"out": inputs["in"]}

    def close(self):
        if self.calls:  # not the parent's build-only copy
            threading.Event().wait(self.params.hang_s)


GRAPH = """\
nodes:
  - {id: src, type: fixture_nodes:Ramp, params: {rate: 1000.0, chunk_size: 10, n_samples: 100000}}
  - {id: bad, type: test_review_attack:HangClose}
edges:
  - {source: src.out, target: bad.in}
processes: {a: [src], b: [bad]}
"""


def test_a_process_without_a_recorder_whose_close_hangs_is_still_killed_at_the_stop(tmp_path, monkeypatch, caplog):
    """4c1dfca waits for every process that said Closing, so that a recorder can finalise its file. Every worker
    said it, recorder or not: a node whose close() never returns (a device) kept a --duration run (or one stopped by
    a failure) waiting for ever (`timeout 40 wavegraph run --duration 1` ran 10 min: its SIGTERM counts as the first
    stop), where it was killed STOP_GRACE_S after the abort before. Only a process with a recorder is waited for now."""
    from wavegraph.pipeline import multiprocess

    monkeypatch.setattr(multiprocess, "DRAIN_S", 0.2)
    monkeypatch.setattr(multiprocess, "STOP_GRACE_S", 0.3)
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH)
    with caplog.at_level("WARNING", logger="wavegraph.multiprocess"):
        run_graph(build_graph(load_config(p)), speed=1.0, duration=0.2)  # stops as --duration does
    said = [rec.getMessage() for rec in caplog.records]
    assert not [m for m in said if m.startswith("waiting for process")], said
    killed = [m for m in said if "was killed" in m]
    assert len(killed) == 1 and killed[0].startswith("process 'b' did not stop "), said
