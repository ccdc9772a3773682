"""Graphs from Python, as a notebook user of ezmsg or MNE-LSL writes them: each mistake is one clear error."""

import mne
import numpy as np
import pytest
from wavegraph.nodes.dsp.filters import Bandpass
from wavegraph.pipeline.api import GraphBuilder, RunFailed
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import GraphError
from wavegraph.pipeline.node import Node, Source
from wavegraph.pipeline.spec import signal_spec


def _graph():
    g = GraphBuilder()
    src = g.add("array_source", data=np.arange(40.0).reshape(2, 20), rate=10.0)
    return g, src


def test_capture_none_captures_nothing_and_a_bare_node_id_says_its_key():
    g, src = _graph()
    assert g.run(capture=None) == {}  # was TypeError: 'NoneType' object is not iterable
    out = g.run(capture=[src])  # capture takes a bare node id; the result is keyed "node.port"
    np.testing.assert_array_equal(out[f"{src}.out"].data, np.arange(40.0).reshape(2, 20))
    with pytest.raises(KeyError, match=rf"no captured stream '{src}': use out\['{src}.out'\]"):
        out[src]  # was a bare KeyError: 'array_source0'
    with pytest.raises(KeyError, match=rf"'nosuch': captured: {src}.out; add it to capture="):
        out["nosuch"]
    assert out.get(src) is None and src not in out  # still a dict


@pytest.mark.parametrize(("kwargs", "name"), [({"speed": "fast"}, "speed"), ({"duration": "10"}, "duration")])
def test_speed_or_duration_given_as_text_is_refused_naming_it(kwargs, name):
    g, _ = _graph()  # was TypeError: '<' not supported between instances of 'int' and 'str'
    with pytest.raises(ValueError, match=f"{name} must be a positive number.*got '"):
        g.run(**kwargs)


def _evoked():
    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    return mne.EvokedArray(np.ones((2, 50)), info, tmin=0.0)


@pytest.mark.parametrize(
    ("data", "said", "fix"),
    [
        (
            "evoked",
            r"data is a mne\.evoked\.EvokedArray, not an array",
            r"mne\.io\.RawArray\(evoked\.data, evoked\.info\)",
        ),
        (None, "data is None, not an array", r"a \(channels, samples\) numpy array with rate="),
        ({"C3": [1.0, 2.0]}, "data is a dict, not an array", "numpy array"),
    ],
)
def test_array_source_given_an_object_that_is_no_array_names_it(data, said, fix):
    """Was 'data has shape () and dtype object; fix: ... for (samples, channels), pass data.T'."""
    g = GraphBuilder()
    g.add("array_source", data=_evoked() if data == "evoked" else data, rate=100.0 if data != "evoked" else None)
    with pytest.raises(GraphError, match=f"array_source0.*{said}.*fix: .*{fix}"):
        g.run()


def test_the_evoked_fix_replays_it():
    evoked = _evoked()
    g = GraphBuilder()
    src = g.add("array_source", data=mne.io.RawArray(evoked.data, evoked.info, verbose="error"))
    np.testing.assert_array_equal(g.run(capture=src)[f"{src}.out"].data, evoked.data)


def test_a_node_used_by_hand_before_configure_or_given_a_bare_array_says_what_to_do():
    x = np.random.default_rng(0).standard_normal((2, 50))
    bp = Bandpass(l_freq=1.0, h_freq=40.0)
    with pytest.raises(AttributeError, match=r"Bandpass\.\w+ is not set yet: call node\.configure\(in_specs\) first"):
        bp.process({"in": Chunk(x, t0=0.0)})  # was "'Bandpass' object has no attribute 'lead'"
    with pytest.raises(AttributeError, match="call node.configure"):
        bp.reset()  # was "... no attribute '_kernel'"
    bp.configure({"in": signal_spec(250.0, ["C3", "C4"])})
    with pytest.raises(AttributeError, match="'Bandpass' object has no attribute 'nosuch'"):
        bp.nosuch  # noqa: B018  (once configured, a missing attribute is Python's usual error)
    for bad in (x, Chunk(x.tolist(), t0=0.0)):  # was "'memoryview' object has no attribute 'dtype'"; "'list' ..."
        with pytest.raises(TypeError, match=r"must be a Chunk of a numpy array, got .*pass \{'in': Chunk\("):
            bp.process({"in": bad})  # type: ignore[dict-item]
    y = bp.process({"in": Chunk(x, t0=0.0)})["out"].data
    bp.reset()
    np.testing.assert_array_equal(bp.process({"in": Chunk(x, t0=0.0)})["out"].data, y)


@pytest.mark.parametrize(
    ("params", "fix"),
    [
        ({"l_freq": "1.0", "h_freq": 20.0}, "write it without quotes: l_freq=1.0$"),
        ({"l_freq": 1.0}, r"missing parameter 'h_freq'; fix: pass h_freq=<float>$"),
        ({"l_freq": 1.0, "h_freq": 20.0, "order": None}, r"'order' is None; fix: give an int, or leave it out for"),
    ],
)
def test_a_parameter_mistake_in_python_gets_the_keyword_to_pass_not_a_yaml_line(params, fix):
    """Was 'l_freq: 1.0', 'add params: {h_freq: <float>}', 'is null (no value) ... or remove the line'."""
    g, src = _graph()
    g.add("bandpass", src, **params)
    with pytest.raises(GraphError, match=f"node 'bandpass1' .*{fix}"):
        g.run()


def test_one_pick_given_as_text_in_python_gets_the_list_to_pass():
    g = GraphBuilder()  # was "picks: [ch0]"
    g.add("array_source", data=np.zeros((1, 10)), rate=10.0, picks="ch0")
    with pytest.raises(GraphError, match=r"write a list, even of one item: picks=\['ch0'\]$"):
        g.run()


@pytest.mark.parametrize(
    ("params", "fix"),
    [
        (
            {"params": {"l_freq": 1.0, "h_freq": 20.0}},
            r"pass them as keywords: g\.add\('bandpass', \*inputs, \*\*params\)",
        ),
        ({"l_freq": 1.0, "h_freq": 20.0, "type": "lowpass"}, r"a node's type is add\(\)'s first argument"),
    ],
)
def test_params_as_a_dict_or_a_type_keyword_in_python_is_not_told_to_use_set_or_the_graph_file(params, fix):
    """ezmsg/Timeflux style params={...}: was 'give each parameter its own --set: --set bandpass1.order=VALUE'."""
    g, src = _graph()
    g.add("bandpass", src, **params)
    with pytest.raises(GraphError, match=f"unknown parameter '(params|type)'; fix: {fix}"):
        g.run()


def test_an_edge_queue_given_as_a_numpy_integer_is_taken():
    g, src = _graph()  # was "edge queue np.int64(8) must be an integer from 1 to 1000000"
    lp = g.add("lowpass", freq=2.0)
    g.connect(src, f"{lp}.in", queue=np.int64(8))
    assert g.run(capture=lp)[f"{lp}.out"].data.shape == (2, 20)
    with pytest.raises(GraphError, match=r"edge queue np.int64\(0\) must be an integer from 1 to"):
        g.connect(src, f"{lp}.in", queue=np.int64(0))


def test_a_sink_captured_or_given_as_an_input_names_what_goes_into_it():
    g, src = _graph()
    sink = g.add("null_sink", src)
    for capture in (sink, f"{sink}.in"):  # was IndexError: tuple index out of range
        with pytest.raises(GraphError, match=rf"node '{sink}' has no outputs; fix: use what goes into it: '{src}.out'"):
            g.run(capture=[capture])
    with pytest.raises(GraphError, match=rf"node '{sink}' \(null_sink\) has no outputs; fix: use what goes into"):
        g.add("lowpass", sink, freq=2.0)
    assert len(g.nodes) == 2  # nothing added


class _Returns(Node):
    """A node of one's own that returns `what` from process(), as a notebook user might write it."""

    what = "none"

    def process(self, inputs):
        c = inputs["in"]
        return {
            "none": None,
            "array": c.data,
            "chunk": c,
            "port": {"output": c},
            "dict_of_array": {"out": c.data},
            "chunk_of_list": {"out": Chunk(c.data.tolist(), c.t0)},  # type: ignore[arg-type]
        }[self.what]


class ReturnsNone(_Returns):
    what = "none"


class ReturnsArray(_Returns):
    what = "array"


class ReturnsChunk(_Returns):
    what = "chunk"


class ReturnsPort(_Returns):
    what = "port"


class ReturnsDictOfArray(_Returns):
    what = "dict_of_array"


class ReturnsChunkOfList(_Returns):
    what = "chunk_of_list"


@pytest.mark.parametrize(
    ("cls", "said"),
    [
        (ReturnsNone, "returned NoneType, not a dict of its outputs"),
        (ReturnsArray, "returned ndarray, not a dict of its outputs"),
        (ReturnsChunk, "returned Chunk, not a dict of its outputs"),
        (ReturnsPort, "returned the port 'output', which it does not have"),  # was: its data dropped without a word
        (ReturnsDictOfArray, "returned ndarray on 'out' where a Chunk goes"),
        (ReturnsChunkOfList, "returned a Chunk of list on 'out'"),
    ],
)
def test_a_node_of_ones_own_returning_the_wrong_thing_fails_the_run_naming_it(cls, said):
    """Were AttributeErrors from inside the executor ("'NoneType' object has no attribute 'items'", ... 'gap'),
    raised out of run() without what was captured, or (an unknown port) a run that returned no data at all."""
    g, src = _graph()
    node = g.add(f"{__name__}:{cls.__name__}", src)
    with pytest.raises(
        RunFailed, match=rf"node '{node}' .*failed:\n{cls.__name__}\.process\(\).* {said}; return "
    ) as e:
        g.run(capture=[src, node])
    assert set(e.value.streams) == {f"{src}.out", f"{node}.out"}  # a RunFailed: what was captured comes with it


class ReadsArrays(Source):
    """A source of one's own whose read() returns an array where {'out': Chunk} goes."""

    def configure(self, in_specs):
        return {"out": signal_spec(10.0, ["a"])}

    def read(self):
        return np.zeros((1, 5))


class ConfiguresNothing(Node):
    """configure() without its return: the output specs are None."""

    def configure(self, in_specs):
        self.ready = True

    def process(self, inputs):
        return {"out": inputs["in"]}


def test_a_source_reading_an_array_or_a_configure_without_return_is_named():
    g = GraphBuilder()  # was "ValueError: The truth value of an array with more than one element is ambiguous"
    g.add(f"{__name__}:ReadsArrays")
    with pytest.raises(RunFailed, match=r"ReadsArrays\.read\(\) returned ndarray, not a dict.*None at the end\)"):
        g.run()
    g, src = _graph()  # was taken for a device node's unchecked spec; the run then failed in the capture
    node = g.add(f"{__name__}:ConfiguresNothing", src)
    with pytest.raises(GraphError, match=rf"'{node}' .*configure\(\) returned NoneType, not its output specs; fix: "):
        g.run(capture=[node])
