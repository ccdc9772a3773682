"""In-process runner: end-of-stream shutdown, gap/seq handling, node failures and restarts."""

import numpy as np
from fixture_nodes import Collect
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

GRAPH = """\
nodes:
  - id: src
    type: fixture_nodes:Ramp
    params: {n_channels: 2, rate: 100.0, chunk_size: 7, n_samples: 100}
  - id: acc
    type: fixture_nodes:CumSum
    params: {crash_at: CRASH}
    on_error: POLICY
  - id: sink
    type: fixture_nodes:Collect
edges:
  - {source: src.out, target: acc.in}
  - {source: acc.out, target: sink.in}
"""


def build(tmp_path, crash=-1, policy="stop"):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("CRASH", str(crash)).replace("POLICY", policy))
    return build_graph(load_config(p))


def _sink(g) -> Collect:
    node = g.nodes["sink"]
    assert isinstance(node, Collect)
    return node


def test_end_of_stream_finishes_run_and_keeps_every_sample(tmp_path):
    g = build(tmp_path)
    result = run_graph(g, in_process=True)
    assert result.exit_code == 0 and not result.interrupted
    chunks = _sink(g).chunks
    data = np.concatenate([c.data for c in chunks], axis=-1)
    expected = np.cumsum(np.arange(100.0)[None, :] + 1000.0 * np.arange(2)[:, None], axis=-1)
    np.testing.assert_array_equal(data, expected)
    assert [c.seq for c in chunks] == list(range(len(chunks)))  # per-edge sequence numbers
    assert [c.t0 for c in chunks] == [i * 7 / 100.0 for i in range(15)]
    assert not any(c.gap for c in chunks)
    st = result.stats
    assert st["src"]["chunks_out"] == 15 and st["acc"]["chunks_in"] == 15  # the end-of-stream marker is not counted
    assert st["sink"]["chunks_in"] == 15 and len(st["sink"]["latency_ns"]) == 2


def test_failure_stops_run_and_names_node(tmp_path):
    g = build(tmp_path, crash=3)
    result = run_graph(g, in_process=True)
    assert result.exit_code == 1
    assert result.failure is not None
    assert "node 'acc' (fixture_nodes:CumSum) in process 'main' failed" in result.failure
    assert "ValueError: boom: deliberate failure" in result.failure  # the traceback
    assert len(_sink(g).chunks) == 3


def test_restart_policy_resets_state_flags_gap_and_goes_on(tmp_path):
    g = build(tmp_path, crash=3, policy="restart")
    result = run_graph(g, in_process=True)
    assert result.exit_code == 0
    chunks = _sink(g).chunks
    assert len(chunks) == 14  # the chunk that failed is lost and counted
    assert result.stats["acc"]["restarts"] == 1 and result.stats["acc"]["drops"] == 1
    assert [c.gap for c in chunks] == [False] * 3 + [True] + [False] * 10
    # after the restart the running sum starts again from zero at sample 28
    first_after = chunks[3].data
    np.testing.assert_array_equal(first_after[0], np.cumsum(np.arange(28.0, 35.0)))
    assert result.stats["sink"]["gaps"] == 1


def test_replay_pacing_at_speed_one(tmp_path):
    import time

    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("CRASH", "-1").replace("POLICY", "stop").replace("n_samples: 100", "n_samples: 150"))
    g = build_graph(load_config(p))
    t = time.monotonic()
    result = run_graph(g, speed=1.0, in_process=True)
    elapsed = time.monotonic() - t
    # 150 samples at 100 Hz: the last chunk starts at 1.47 s of stream time; pacing must not run ahead.
    assert elapsed >= 1.47
    assert result.exit_code == 0
    # every chunk was emitted no earlier than its stream time (origin_ns is stamped at emission)
    chunks = _sink(g).chunks
    start = chunks[0].origin_ns
    for c in chunks[1:]:
        assert (c.origin_ns - start) / 1e9 >= c.t0 - 1e-3


def test_a_node_that_fails_to_close_fails_the_run(tmp_path):
    # e.g. a recorder that cannot finalise its file: the data is not where the user expects it
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("params: {crash_at: CRASH}", "params: {fail_close: true}").replace("POLICY", "stop"))
    g = build_graph(load_config(p))
    result = run_graph(g, in_process=True)
    assert result.exit_code == 1
    assert result.failure is not None and "acc: cannot finalise: disk full" in result.failure
    assert result.stats["sink"]["chunks_in"] == 15  # the run itself completed


def test_a_gap_on_a_chunk_held_back_is_flagged_on_the_output_that_holds_it(tmp_path):
    # acc fails on its third chunk (restart): its next output, the 4th chunk of the stream, has the
    # gap; 'pairs' holds that one back and emits it joined to the 5th, which must carry the gap.
    p = tmp_path / "g.yaml"
    p.write_text(
        GRAPH.replace("CRASH", "2")
        .replace("POLICY", "restart")
        .replace("  - id: sink\n", "  - id: pairs\n    type: fixture_nodes:Pairs\n  - id: sink\n")
        .replace(
            "{source: acc.out, target: sink.in}",
            "{source: acc.out, target: pairs.in}\n  - {source: pairs.out, target: sink.in}",
        )
    )
    g = build_graph(load_config(p))
    result = run_graph(g, in_process=True)
    assert result.exit_code == 0, result.failure
    chunks = _sink(g).chunks
    assert [c.data.shape[1] for c in chunks] == [14, 14, 14, 14, 14, 14, 9]  # 98 of 100 samples
    assert [c.gap for c in chunks] == [False, True, False, False, False, False, False]
    assert result.stats["sink"]["gaps"] == 1


def test_streaming_harness_checks_timing_and_dtype_not_just_values():
    import pytest
    from wavegraph.pipeline.node import Node
    from wavegraph.pipeline.spec import signal_spec
    from wavegraph.pipeline.testing import assert_streaming_equivalent

    class LosesT0(Node):  # right samples, every chunk stamped 0.0
        def process(self, inputs):
            return {"out": inputs["in"].with_data(inputs["in"].data * 2.0, t0=0.0)}

    class WidensShortChunks(Node):  # right values, float32 for short chunks only
        def process(self, inputs):
            x = inputs["in"].data
            return {"out": inputs["in"].with_data(x.astype(np.float32) if x.shape[1] < 5 else x)}

    class Good(Node):
        def process(self, inputs):
            return {"out": inputs["in"].with_data(inputs["in"].data * 2.0)}

    x = np.arange(60.0).reshape(2, 30)
    spec = signal_spec(100.0, ["a", "b"])
    assert_streaming_equivalent(Good, x, spec)
    with pytest.raises(AssertionError, match="has t0 0.0, whole-signal timing gives"):
        assert_streaming_equivalent(LosesT0, x, spec)
    with pytest.raises(AssertionError, match="dtype float32 != whole-signal float64"):
        assert_streaming_equivalent(WidensShortChunks, x, spec)


def test_a_gap_on_an_empty_chunk_reaches_the_next_output(tmp_path):
    # e.g. a drop_oldest receiver dropped the last data chunk: the gap arrives on the empty
    # end-of-stream marker, and the tail that finish() flushes must carry it.
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.executor import Executor

    p = tmp_path / "g.yaml"
    p.write_text(
        GRAPH.replace(
            "fixture_nodes:CumSum\n    params: {crash_at: CRASH}\n    on_error: POLICY", "fixture_nodes:Pairs"
        )
    )
    g = build_graph(load_config(p))
    ex = Executor(g.config, g.nodes)
    ex.deliver("acc", "in", Chunk(np.ones((2, 3)), t0=0.0))  # held back by Pairs
    ex.deliver("acc", "in", Chunk(np.zeros((2, 0)), t0=0.03, gap=True, eos=True))
    chunks = _sink(g).chunks
    assert [(c.data.shape, c.gap) for c in chunks] == [((2, 3), True)]


def test_a_source_that_ends_with_others_but_is_alone_in_its_process_is_said(tmp_path, caplog):
    """Source.ends_with_others (the BCI config's marker inlet) only ends a source once the other sources of
    its process have: alone in its process it was silently ignored, and the run went on with it."""
    import logging

    from wavegraph.pipeline.executor import Executor

    g = build(tmp_path)
    g.nodes["src"].ends_with_others = True  # pyright: ignore[reportAttributeAccessIssue]
    with caplog.at_level(logging.WARNING, logger="wavegraph.executor"):
        Executor(g.config, g.nodes)
    said = [r.getMessage() for r in caplog.records if "ends_with_others" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("src:")
