"""A node that changes its input array in place, in one process: the other consumers of the same output (a second
recorder, a capture) and the user's own array (array_source) got the changed data. Across processes the same node
failed (its input is read-only shared memory); now every runner gives nodes read-only inputs, and the model nodes
that hand an input to torch copy a read-only one first (torch.from_numpy warns of, and may write into, it)."""

import numpy as np
import pytest
from wavegraph.pipeline.api import GraphBuilder, RunFailed
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec

HINT = (
    "ValueError: assignment destination is read-only\nfix: a node's inputs are read-only (from another process they "
    "are shared memory; another node may get the same array): copy before changing one, x = chunk.data.copy(), or "
    "write the result to a new array\n"
)


class Zero(Node):
    """Zeroes its input in place, as a node written for itself alone may ("works on my array")."""

    def process(self, inputs):
        x = inputs["in"].data
        x[:] = 0.0
        return {"out": inputs["in"]}


GRAPH = """\
nodes:
  - {id: src, type: fixture_nodes:Ramp, params: {rate: 1000.0, chunk_size: 10, n_samples: 50}}
  - {id: zero, type: test_inplace_attack:Zero, on_error: restart}
  - {id: rec, type: recorder, params: {path: OUT}}
edges:
  - {source: src.out, target: zero.in}
  - {source: src.out, target: rec.in}
PROCESSES"""


@pytest.mark.parametrize("processes", ["", "processes: {one: [src, zero, rec]}"])
def test_a_node_changing_its_input_in_place_leaves_the_other_consumers_data_alone(tmp_path, processes):
    """The recorder beside it recorded zeros (the in-process runner, and nodes that share a worker process)."""
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("OUT", str(tmp_path / "out.npz")).replace("PROCESSES", processes))
    r = run_graph(build_graph(load_config(p)), in_process=not processes)
    assert r.exit_code == 0, r.failure
    assert r.stats["zero"]["restarts"] == 5  # every chunk: its write failed, as across processes
    data = np.load(tmp_path / "out.npz")["data"]
    np.testing.assert_array_equal(data, np.arange(50.0)[None] + [[0.0], [1000.0]])


def test_the_failure_says_to_copy_and_the_users_array_is_not_changed():
    x = np.arange(40.0).reshape(2, 20)
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=100.0, chunk_size=5)
    g.add("test_inplace_attack:Zero", src)
    with pytest.raises(RunFailed) as e:
        g.run(capture=[src])
    assert HINT in str(e.value)
    np.testing.assert_array_equal(x, np.arange(40.0).reshape(2, 20))  # was zeroed in its first 5 columns


def test_a_capture_keeps_what_the_source_sent_beside_a_node_that_writes_its_input():
    x = np.arange(40.0).reshape(2, 20)
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=100.0, chunk_size=5)
    g.add("test_inplace_attack:Zero", src, on_error="restart")
    out = g.run(capture=[src])
    np.testing.assert_array_equal(out[f"{src}.out"].data, x)
    assert out[f"{src}.out"].data.flags.writeable  # the user's result is theirs to change


def test_the_enhancer_gives_torch_a_writable_copy_of_a_read_only_input(monkeypatch):
    """float32 audio with nothing held back: the enhancer handed the read-only input itself to torch.from_numpy, which
    warned 'The given NumPy array is not writable' (once per program) and may write into it."""
    import torch  # here, not at the top: the worker that imports this module for Zero need not load torch (0.9 s)

    given: list[bool] = []
    from_numpy = torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda a: given.append(a.flags.writeable) or from_numpy(a))
    node = lookup("enhancer")(random_init=True, d_model=8)
    node.configure({"in": signal_spec(16000.0, ["mic"], "audio", "float32")})
    data = (np.random.default_rng(0).standard_normal((1, 640)) * 0.1).astype(np.float32)
    data.setflags(write=False)
    node.process({"in": Chunk(data, t0=0.0)})
    assert given and all(given), given
