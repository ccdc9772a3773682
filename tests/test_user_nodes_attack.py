"""A node of one's own (a plain class, `type: module:Class`) that misbehaves: what the runtime does with it, in one
process and across processes, is what docs/yaml.md (on_error) and the README promise."""

import os
import signal
import threading

import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.runner import run_graph


class MisParams(NodeParams):
    mode: str = "ok"
    at: int = 3  # the call of process() (0-based) from which it misbehaves


class Mis(Node):
    """Passes its input on, and misbehaves from the `at`-th chunk as told."""

    Params = MisParams

    def configure(self, in_specs):
        self.calls = 0
        return super().configure(in_specs)

    def process(self, inputs):
        c = inputs["in"]
        k, self.calls = self.calls, self.calls + 1
        if k >= self.params.at:
            if self.params.mode == "raise":
                raise RuntimeError("boom")
            if self.params.mode == "interrupt":
                raise KeyboardInterrupt
            if self.params.mode == "hang":  # Ctrl-C three times while it waits on what never comes
                for _ in range(2):  # the first asks to drain, the second to stop between chunks
                    os.kill(os.getpid(), signal.SIGINT)
                threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)).start()
                threading.Event().wait(3.0)  # for ever, as far as the run knows: only bounded to keep the test short
                return {"out": Chunk(c.data, c.t0)}
            if self.params.mode == "eos":  # copies the flag it sees, as if it were its to set
                return {"out": Chunk(c.data, c.t0, eos=True)}
        return {"out": Chunk(c.data, c.t0)}


GRAPH = """\
nodes:
  - {id: src, type: sine, params: {rate: 100.0, channels: 2, chunk_size: 10, duration: 1.0}}
  - {id: bad, type: test_user_nodes_attack:Mis, params: PARAMS}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: bad.in}
  - {source: bad.out, target: sink.in}
"""


def graph(tmp_path, params: str, processes: str = ""):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("PARAMS", params) + processes)
    return build_graph(load_config(p))


def test_a_node_raising_keyboard_interrupt_in_one_process_fails_naming_it(tmp_path):
    """A KeyboardInterrupt raised by a node's own code (Ctrl-C only sets the run's stop flag) ended `wavegraph run
    --in-process` with 'wavegraph: stopped (Ctrl-C)', exit 130, no summary and no word of the node, as if the user
    had pressed Ctrl-C; across processes it failed naming the process. It is now the node's failure."""
    r = run_graph(graph(tmp_path, "{mode: interrupt, at: 3}"), in_process=True)
    assert r.exit_code == 1 and r.failure is not None, r
    assert r.failure.startswith("node 'bad' (test_user_nodes_attack:Mis) in process 'main' failed:"), r.failure
    assert "KeyboardInterrupt" in r.failure and f'File "{__file__}"' in r.failure
    assert "fix: a node may not raise KeyboardInterrupt" in r.failure
    assert r.stats["sink"]["chunks_in"] == 3


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "across-processes"])
def test_a_node_returning_a_chunk_flagged_end_of_stream_loses_no_data(tmp_path, in_process):
    """A node that returned Chunk(data, t0, eos=True) mid-stream (the end of a stream is the runtime's to carry) ended
    its output there: in one process the 7 later chunks were ignored without a word (exit 0, 40 of 100 samples at the
    sink); across processes they were rejected (rx_rejected_eos, rx_seq_missing). The flag is now the runtime's only."""
    g = graph(tmp_path, "{mode: eos, at: 3}", "" if in_process else "processes: {a: [src], b: [bad]}")
    r = run_graph(g, in_process=in_process)
    assert r.exit_code == 0 and r.failure is None, r.failure
    sink = r.stats["sink"]
    assert sink["chunks_in"] == 10 and sink["counters"].get("samples") == 100, sink
    assert sink["gaps"] == 0 and not any(k.startswith("rx_") for k in sink["counters"]), sink


def test_a_node_that_never_returns_is_stopped_by_the_third_ctrl_c_naming_it(tmp_path):
    """A node waiting for ever in process() (an Event never set) held `wavegraph run --in-process` through any number of
    Ctrl-C (and --duration, and SIGTERMs): the stop flag's signals only set flags, the run waited on the node, and
    nothing said which node; only kill -9 ended it. The third stop signal inside a node's call now fails that node,
    named, with the line it waited at and the fix."""
    r = run_graph(graph(tmp_path, "{mode: hang, at: 3}"), in_process=True)
    assert r.exit_code == 1 and r.failure is not None, r
    assert r.failure.startswith("node 'bad' (test_user_nodes_attack:Mis) in process 'main' failed:"), r.failure
    assert f'File "{__file__}"' in r.failure and "NodeStuck: SIGINT number 3 while node 'bad'" in r.failure
    assert "fix: this node did not return from its call after the run was asked to stop" in r.failure
    assert r.stats["sink"]["chunks_in"] == 3


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "across-processes"])
def test_a_node_that_raises_mid_stream_is_told_which_chunk_and_the_fix(tmp_path, in_process):
    """process() raising on its 4th chunk failed the run naming the node and the traceback, but not which chunk (its
    time on the stream, to find it in the recording) nor what to do but fix the code: on_error: restart goes on."""
    g = graph(tmp_path, "{mode: raise, at: 3}", "" if in_process else "processes: {a: [src], b: [bad]}")
    r = run_graph(g, in_process=in_process)
    assert r.exit_code == 1 and r.failure is not None, r
    process = "main" if in_process else "b"
    head = f"node 'bad' (test_user_nodes_attack:Mis) in process '{process}' failed:\n"
    said = "in process() of the chunk at t0=0.3 s on 'in' (its chunk 3, from 0)"
    assert r.failure.startswith(head + said), r.failure
    assert "RuntimeError: boom" in r.failure
    assert "fix: correct the node, or give it on_error: restart to drop such chunks and go on" in r.failure
