"""The worked node example in docs/architecture.md ("Writing a node") runs as printed: it streams like
it filters offline, under both NaN policies and in float32, resumes from its state, and runs in a graph
as `type: mynodes:Smooth` from a file beside the YAML."""

import re
import textwrap

import numpy as np
import pytest
from conftest import ROOT
from fixture_nodes import Collect
from scipy.signal import lfilter
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked


def example_source() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Writing a node", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "docs/architecture.md: no python block under 'Writing a node'"
    return block.group(1)


@pytest.fixture(scope="module")
def Smooth():
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(example_source(), "docs/architecture.md", "exec"), namespace)
    return namespace["Smooth"]


def test_the_example_is_short():
    src = example_source()
    body = src[src.index("class Smooth(") :].strip().splitlines()
    assert len([line for line in body if line.strip()]) <= 16, "the node should stay about 15 lines"


@pytest.mark.parametrize("dtype,rtol,atol", [(np.float64, 1e-12, 1e-14), (np.float32, 1e-5, 1e-6)])
def test_example_streams_like_offline_lfilter(Smooth, dtype, rtol, atol):
    spec = signal_spec(250.0, ["C3", "C4", "Cz"], dtype=np.dtype(dtype).name)
    x = np.random.default_rng(0).standard_normal((3, 700)).astype(dtype)
    whole = assert_streaming_equivalent(lambda: Smooth(alpha=0.2), x, spec, rtol=rtol, atol=atol)["out"]
    assert whole.dtype == dtype
    offline = lfilter([0.2], [1.0, -0.8], x.astype(np.float64), axis=-1)
    np.testing.assert_allclose(whole, offline, rtol=10 * rtol, atol=10 * atol)


def test_example_nan_policies_and_state(Smooth):
    spec = signal_spec(250.0, ["a", "b"])
    x = np.random.default_rng(1).standard_normal((2, 400))
    x[1, 100] = np.nan
    zeroed = x.copy()
    zeroed[1, 100] = 0.0
    ref = lfilter([0.5], [1.0, -0.5], zeroed, axis=-1)
    got = assert_streaming_equivalent(lambda: Smooth(alpha=0.5), x, spec)["out"]
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    prop = run_chunked(node := Smooth(alpha=0.5, nan_policy="propagate"), x, spec, [150, 250])["out"]
    assert np.isnan(prop[1, 100]) and np.isfinite(np.delete(prop[1], 100)).all()
    assert node.counters == {"nan_propagated": 1}
    a = Smooth(alpha=0.5)
    a.configure({"in": spec})
    first = a.process({"in": Chunk(x[:, :123])})["out"].data
    b = Smooth(alpha=0.5)
    b.configure({"in": spec})
    b.load_state_dict(a.state_dict())
    rest = b.process({"in": Chunk(x[:, 123:], t0=123 / 250.0)})["out"].data
    np.testing.assert_allclose(np.concatenate([first, rest], axis=1), ref, rtol=1e-12)


def test_example_runs_in_a_graph_from_a_file_beside_the_yaml(tmp_path):
    (tmp_path / "mynodes.py").write_text(example_source())
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent("""\
        nodes:
          - {id: src, type: sine, params: {rate: 100.0, channels: 2, freq: 5.0, duration: 2.0}}
          - {id: smooth, type: "mynodes:Smooth", params: {alpha: 0.3}}
          - {id: sink, type: "fixture_nodes:Collect"}
        edges:
          - {source: src.out, target: smooth.in}
          - {source: smooth.out, target: sink.in}
        """)
    )
    g = build_graph(load_config(tmp_path / "g.yaml"))
    assert run_graph(g, in_process=True).exit_code == 0
    sink = g.nodes["sink"]
    assert isinstance(sink, Collect)
    y = np.concatenate([c.data for c in sink.chunks], axis=-1)
    x = np.sin(2 * np.pi * 5.0 * np.arange(200) / 100.0)
    np.testing.assert_allclose(y, lfilter([0.3], [1.0, -0.7], np.stack([x, x]), axis=-1), rtol=1e-10, atol=1e-12)


def test_config_docstring_example_parses_and_its_params_are_valid(tmp_path):
    """The graph file shown in pipeline/config.py's docstring: every node's params are accepted by its type."""
    import wavegraph.pipeline.config as config_module
    from wavegraph.pipeline.graph import make_node

    (tmp_path / "g.yaml").write_text(
        textwrap.dedent(str(config_module.__doc__).split("A graph file looks like:", 1)[1])
    )
    cfg = load_config(tmp_path / "g.yaml")
    assert [nc.type for nc in cfg.nodes] == ["file_source", "bandpass"]
    for nc in cfg.nodes:
        make_node(nc, cfg.file)  # a GraphError names a parameter the type does not take
