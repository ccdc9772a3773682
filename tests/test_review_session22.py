"""Review of session 22's changes: what they broke for a user while fixing a corner case."""

import logging

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.runner import run_graph


class PassOn(Node):
    """A user's node that does what the time-order check's fix says: its output keeps its input's t0."""

    def process(self, inputs):
        chunk = inputs["in"]
        return {"out": Chunk(chunk.data * 2, chunk.t0)}


def test_a_users_node_passing_on_times_that_jitter_back_is_not_failed(tmp_path, caplog):
    """A CSV recorded from a live stream jitters back now and then (as lsl_inlet's fitted times may, live): 29cd795
    passed the project's source's such chunks on, but a user's node downstream that passed its input's t0 on, as the
    check's fix says to, failed the run ('Pass.process() returned a chunk ... went back; fix: ... Chunk(data,
    chunk.t0)'). Its output went back because its input did: passed on, counted and said once, as the source's."""
    rng = np.random.default_rng(0)
    t = np.arange(300) / 250 + rng.normal(0, 0.0015, 300)
    x = rng.normal(size=(300, 2))
    csv = tmp_path / "jitter.csv"
    csv.write_text("t,C3,C4\n" + "".join(f"{a:.6f},{b:.6f},{c:.6f}\n" for a, (b, c) in zip(t, x)))
    assert np.sum(np.diff(t) <= 0) > 0  # the data does jitter back
    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        f"  - {{id: src, type: file_source, params: {{path: {csv}, chunk_size: 1}}}}\n"
        "  - {id: mine, type: test_review_session22:PassOn}\n"
        f"  - {{id: rec, type: recorder, params: {{path: {tmp_path / 'out.npz'}}}}}\n"
        "edges:\n  - {source: src.out, target: mine.in}\n  - {source: mine.out, target: rec.in}\n"
    )
    g = build_graph(load_config(tmp_path / "g.yaml"))
    with caplog.at_level(logging.WARNING, logger="wavegraph.executor"):
        r = run_graph(g, in_process=True)
    assert r.exit_code == 0 and r.failure is None, r.failure
    assert r.stats["mine"]["counters"]["t0_back"] == r.stats["src"]["counters"]["t0_back_out"] > 0
    assert len([m for m in caplog.messages if m.startswith("node 'mine' (PassOn): a chunk on 'out'")]) == 1
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["data"], 2 * x.T, atol=1e-5)
