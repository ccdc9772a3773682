"""wavegraph from Python as a notebook user of MNE, ezmsg, Timeflux or scipy uses it: nodes as plain classes, the
streaming-equivalence harness on a node of one's own, GraphBuilder graphs. Each mistake is one clear error."""

import datetime
import logging
import threading
from dataclasses import dataclass

import numpy as np
import pytest
from pydantic import BaseModel
from wavegraph.pipeline.api import GraphBuilder, RunFailed
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams, Source
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

X = np.random.default_rng(0).standard_normal((2, 300))
SPEC = signal_spec(250.0, ["C3", "C4"])


class Gain(Node):
    class Params(NodeParams):
        k: float = 2.0

    def process(self, inputs):
        c = inputs["in"]
        return {"out": Chunk(c.data * self.params.k, c.t0)}


class Leak(Node):
    """A running sum that configure() does not reset: its state leaks when one node is fed every chunking."""

    def configure(self, in_specs):
        self.total = np.zeros((2, 1))
        return {"out": in_specs["in"]}

    def process(self, inputs):
        c = inputs["in"]
        y = self.total + np.cumsum(c.data, axis=-1)
        self.total = y[:, -1:]
        return {"out": Chunk(y, c.t0)}


@pytest.mark.parametrize(
    "x, said",
    [
        (X.T, r"x has shape \(300, 2\).*\(2, samples\); pass x.T"),  # (samples, channels): was a pass on 2 'samples'
        (X[:, :0], "holds no samples"),  # nothing compared: was a pass
        (X[0], r"x has shape \(300,\)"),  # one channel of a 2-channel spec: was a pass
    ],
)
def test_the_harness_refuses_an_x_that_is_not_the_specs_signal(x, said):
    with pytest.raises(ValueError, match=said):
        assert_streaming_equivalent(lambda: Gain(), x, SPEC)


def test_the_harness_takes_a_list_of_rows_as_an_array():
    out = assert_streaming_equivalent(lambda: Gain(k=3.0), X.tolist(), SPEC)  # was 'list' has no attribute 'shape'
    np.testing.assert_array_equal(out["out"], 3.0 * X)


def test_the_harness_refuses_a_node_in_place_of_a_maker_or_one_node_made_twice():
    with pytest.raises(TypeError, match=r"make_node is Gain; pass a function .* lambda: Gain\(...\)"):
        assert_streaming_equivalent(Gain(), X, SPEC)  # type: ignore[arg-type]  # was "'Gain' object is not callable"
    leak = Leak()
    with pytest.raises(TypeError, match="returned the same node twice"):  # was a mismatch blamed on the chunking
        assert_streaming_equivalent(lambda: leak, X, SPEC)
    with pytest.raises(TypeError, match="make_node\\(\\) returned NoneType, not a node"):
        assert_streaming_equivalent(lambda: None, X, SPEC)  # type: ignore[arg-type,return-value]


def test_the_harness_gives_a_node_read_only_inputs_as_the_runtime_does():
    class Scale(Node):  # scales its input in place: the runtime's read-only input refuses it
        def process(self, inputs):
            c = inputs["in"]
            c.data *= 2.0
            return {"out": Chunk(c.data, c.t0)}

    x = X.copy()
    with pytest.raises(ValueError, match="read-only"):
        assert_streaming_equivalent(lambda: Scale(), x, SPEC)
    np.testing.assert_array_equal(x, X)  # the caller's array: was doubled by the first run


def test_the_harness_says_what_a_node_returned_that_is_no_output():
    class Bare(Node):
        def process(self, inputs):
            return {"out": inputs["in"].data}  # an array where a Chunk goes: was "'ndarray' has no attribute 't0'"

    with pytest.raises(TypeError, match=r"Bare.process\(\) .* returned ndarray on 'out' where a Chunk goes"):
        assert_streaming_equivalent(lambda: Bare(), X, SPEC)


@pytest.mark.parametrize(
    "in_specs, error, said",
    [
        (
            SPEC,
            TypeError,
            r"Bandpass.configure\(\) takes a dict of its inputs' specs, got StreamSpec; pass \{'in': spec\}",
        ),
        ({"in": 250.0}, TypeError, r"input 'in' is float, not a StreamSpec; pass e.g. signal_spec"),
        ({"input": SPEC}, ValueError, r"was given the inputs 'input'; its inputs are 'in'; fix: pass \{'in': spec\}"),
    ],
)
def test_configure_by_hand_with_a_spec_not_in_its_port_dict_says_what_to_pass(in_specs, error, said):
    from wavegraph.nodes.dsp.filters import Bandpass

    with pytest.raises(error, match=said):  # were: 'StreamSpec' object is not iterable / no attribute 'kind' / 'in'
        Bandpass(l_freq=1.0, h_freq=40.0).configure(in_specs)


def test_configure_by_hand_of_a_two_input_node_names_both_ports():
    from wavegraph.nodes.dsp.epochs import Epochs

    with pytest.raises(ValueError, match=r"its inputs are 'in', 'events'; fix: pass \{'in': spec, 'events': spec\}"):
        Epochs().configure({"in": SPEC})  # was a bare KeyError: 'events'


@pytest.mark.parametrize("inputs", [Chunk(X), {"x": Chunk(X)}])
def test_process_by_hand_without_the_port_dict_says_what_to_pass(inputs):
    from wavegraph.nodes.dsp.filters import Bandpass

    bp = Bandpass(l_freq=1.0, h_freq=40.0)
    bp.configure({"in": SPEC})
    with pytest.raises(
        TypeError, match=r"Bandpass.process\(\) takes \{'in': Chunk\}.*pass \{'in': Chunk\(x, t0=seconds\)\}"
    ):
        bp.process(inputs)  # type: ignore[arg-type]  # were: 'Chunk' object is not subscriptable / KeyError: 'in'


class Half(Node):
    """Returns float32 where its configure() (the default: the input's spec) declared float64."""

    def process(self, inputs):
        c = inputs["in"]
        return {"out": Chunk(c.data.astype(np.float32), c.t0)}


def test_a_node_of_ones_own_returning_another_dtype_than_declared_is_named_with_the_fix(caplog):
    g = GraphBuilder()
    src = g.add("array_source", data=X, rate=250.0, chunk_size=100)
    half = g.add(f"{__name__}:Half", src, id="half")
    with caplog.at_level(logging.WARNING, logger="wavegraph.executor"):
        out = g.run(capture=[half])
    assert out["half.out"].data.shape == (2, 0)  # every chunk dropped, as across processes (architecture.md)
    # was "_capture0.in: a chunk that does not fit the input is dropped (...)": the hidden capture node, not 'half'
    said = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert said and "node 'half' (" in said[0] and "float32 payload on a float64 edge" in said[0]
    assert "fix: make 'half' return the shape and dtype its configure() declares for 'out'" in said[0]


class Stamped(Source):
    """Three chunks stamped with the wall clock, as a notebook user's acquisition loop stamps them."""

    def configure(self, in_specs):
        self.i = 0
        return {"out": signal_spec(10.0, ["a"])}

    def read(self):
        if self.i == 3:
            return None
        self.i += 1
        when = datetime.datetime(2024, 5, 1) + datetime.timedelta(seconds=self.i)
        return {"out": Chunk(np.zeros((1, 5)), t0=when)}  # type: ignore[arg-type]


class Untimed(Node):
    def process(self, inputs):
        return {"out": Chunk(inputs["in"].data.copy(), t0=None)}  # type: ignore[arg-type]


def test_a_chunk_stamped_with_a_datetime_or_none_fails_the_run_naming_the_node_and_the_fix():
    g = GraphBuilder()
    src = g.add(f"{__name__}:Stamped", id="src")
    # was TypeError: '>' not supported between instances of 'datetime.datetime' and 'float' (executor.source_time)
    with pytest.raises(
        RunFailed, match=r"(?s)node 'src' .*Stamped.read\(\) returned a Chunk on 'out' whose t0 is datetime"
    ):
        g.run(capture=[src])
    g = GraphBuilder()
    src = g.add("array_source", data=X, rate=250.0, chunk_size=100)
    node = g.add(f"{__name__}:Untimed", src, id="untimed")
    with pytest.raises(
        RunFailed, match=r"whose t0 is NoneType None, not seconds; .*\(when - start\).total_seconds\(\)"
    ):
        g.run(capture=[node])  # was a TypeError from the capture after the run: NoneType + ndarray


READING = threading.Event()


class Endless(Source):
    """A live source that never ends (an amplifier's stream), saying when it first read."""

    live = True

    def configure(self, in_specs):
        self.i = 0
        return {"out": signal_spec(100.0, ["a"])}

    def read(self):
        READING.set()
        self.i += 1
        return {"out": Chunk(np.full((1, 10), float(self.i)), t0=(self.i - 1) / 10)}


def test_a_run_in_a_thread_which_ctrl_c_does_not_reach_is_ended_by_stop():
    g = GraphBuilder()
    src = g.add(f"{__name__}:Endless", id="src")
    got = {}
    READING.clear()
    assert g.stop() is False  # nothing runs yet
    t = threading.Thread(target=lambda: got.update(g.run(capture=[src])), daemon=True)
    t.start()
    assert READING.wait(10)
    assert g.stop() is True  # was AttributeError, and the run went on for ever: a signal reaches the main thread only
    t.join(10)
    assert not t.is_alive()
    data = got["src.out"].data
    np.testing.assert_array_equal(data[0, ::10], np.arange(1, data.shape[1] // 10 + 1))  # what came, none lost


class Running(Node):
    """A running sum per channel with its state declared (docs/architecture.md) and no configure() of its own."""

    @dataclass
    class State:
        total: np.ndarray

    def new_state(self):
        return self.State(np.zeros((self.in_specs["in"].n_channels, 1)))

    def process(self, inputs):
        c = inputs["in"]
        y = self.state.total + np.cumsum(c.data, axis=-1)
        self.state.total = y[:, -1:]
        return {"out": Chunk(y, c.t0)}


class RunningConfigured(Running):
    """The same with a configure() of its own that does not call reset()."""

    def configure(self, in_specs):
        return {"out": in_specs["in"]}


@pytest.mark.parametrize("cls", [Running, RunningConfigured])
def test_a_node_of_ones_own_declaring_its_state_starts_it_at_configure(cls):
    # was AttributeError: 'NoneType' object has no attribute 'total' at the first process(), by hand or in a graph
    out = assert_streaming_equivalent(lambda: cls(), X, SPEC)
    np.testing.assert_allclose(out["out"], np.cumsum(X, axis=-1))
    g = GraphBuilder()
    src = g.add("array_source", data=X, rate=250.0, chunk_size=64)
    node = g.add(f"{__name__}:{cls.__name__}", src)
    np.testing.assert_allclose(g.run(capture=[node])[f"{node}.out"].data, np.cumsum(X, axis=-1))


class Buffered(Node):
    """Keeps its chunks in a Python list in its declared state, a notebook's habit."""

    @dataclass
    class State:
        seen: list

    def new_state(self):
        return self.State([])

    def process(self, inputs):
        self.state.seen.append(inputs["in"].data.shape[-1])
        return {}


def test_a_state_field_that_is_a_list_is_refused_at_state_dict_naming_it():
    node = Buffered()
    node.configure({"in": SPEC})
    node.process({"in": Chunk(X)})
    # was a dict holding the node's own list (no copy: it changed with the next chunks), and loading it said
    # "Buffered state 'seen' must be float, got [300]"
    with pytest.raises(TypeError, match=r"State field 'seen' is a list: .* fix: keep it as a numpy array"):
        node.state_dict()


class OwnModelParams(BaseModel):
    k: float = 2.0


class OwnModel(Node):
    Params = OwnModelParams  # type: ignore[assignment]  # a pydantic model of its own, not a NodeParams


def test_a_node_whose_params_are_no_node_params_is_refused_by_hand_as_in_a_graph():
    # was OwnModel(kk=3) made with k = 2.0, the misspelt kk ignored (a graph refused the class already)
    with pytest.raises(TypeError, match=r"class OwnModel .* has Params = a pydantic BaseModel, not a NodeParams"):
        OwnModel(kk=3.0)


@pytest.mark.parametrize("chunk", [Chunk(X.tolist()), X])  # type: ignore[arg-type]
def test_pick_channels_by_hand_given_a_chunk_of_a_list_or_a_bare_array_says_what_to_pass(chunk):
    from wavegraph.nodes.dsp.channels import PickChannels

    pick = PickChannels(pick=["C4"])
    pick.configure({"in": SPEC})
    # was "'list' object has no attribute 'dtype'" / "'memoryview' object has no attribute 'dtype'", where the other
    # nodes say it
    with pytest.raises(TypeError, match=r"an input chunk must be a Chunk of a numpy array.*pass \{'in': Chunk\("):
        pick.process({"in": chunk})


def test_a_node_class_of_the_notebook_in_a_worker_process_is_refused_before_the_run(monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["__main__"], "NotebookGain", Gain, raising=False)  # as a notebook cell defines it
    g = GraphBuilder()
    src = g.add("sine", rate=100.0, duration=0.2, id="src")
    g.add("__main__:NotebookGain", src, id="gain")
    g.add("null_sink", "gain", id="sink")
    assert g.run(capture=["gain"])["gain.out"].data.shape == (1, 20)  # in one process it is found
    g.processes = {"a": ["src"], "b": ["gain", "sink"]}
    # was RunFailed once the workers ran: "module '__main__' has no attribute 'NotebookGain'; it defines no node
    # class: write `class NotebookGain(Node):` there" (the worker's __main__ is another)
    with pytest.raises(
        ValueError, match=r"node 'gain' \(__main__:NotebookGain\) is a class of this script or notebook"
    ):
        g.run(in_process=False)


def test_a_parameter_mistake_by_hand_gets_the_fix_a_graph_gives_under_pydantics_lines():
    from pydantic import ValidationError
    from wavegraph.nodes.dsp.filters import Bandpass

    with pytest.raises(ValidationError) as e:  # still pydantic's error (a graph catches it as one)
        Bandpass(lfreq=1.0, h_freq=40.0)
    # was pydantic's lines only: 'lfreq  Extra inputs are not permitted', 'l_freq  Field required'
    assert "Bandpass: unknown parameter 'lfreq'; fix: did you mean 'l_freq'?" in e.value.__notes__


def test_array_source_takes_an_empty_list_of_events_as_no_events():
    g = GraphBuilder()
    g.add("array_source", data=X, rate=250.0, events=[], id="src")  # was refused: 'events of shape (0,)'
    out = g.run(capture=["src.out", "src.events"])
    assert out["src.out"].data.shape == X.shape and out["src.events"].data.shape == (0, 3)


class ForgetsReturn(Node):
    def configure(self, in_specs):
        self.k = 2.0  # and no return: the output specs are None

    def process(self, inputs):
        return {"out": inputs["in"]}


class SpecForOtherPort(Node):
    def configure(self, in_specs):
        return {"output": in_specs["in"]}

    def process(self, inputs):
        return {"out": inputs["in"]}


@pytest.mark.parametrize(
    "cls, said",
    [
        (ForgetsReturn, r"ForgetsReturn.configure\(\) returned NoneType, not its output specs"),  # was not iterable
        (SpecForOtherPort, r"configure\(\) gave no spec for 'out' and a spec for 'output', which is no output"),
    ],
)
def test_the_harness_says_what_configure_returned_that_is_no_output_specs(cls, said):
    with pytest.raises(TypeError, match=said):
        assert_streaming_equivalent(lambda: cls(), X, SPEC)


class Duck:
    """Not a Node subclass, but with its methods (a unit wrapped from another toolkit): the harness drives it."""

    def configure(self, in_specs):
        return {"out": in_specs["in"]}

    def process(self, inputs):
        c = inputs["in"]
        return {"out": Chunk(c.data * 2.0, c.t0)}

    def finish_all(self):
        return [{}]


def test_the_harness_still_drives_a_node_that_only_has_the_methods():
    out = assert_streaming_equivalent(lambda: Duck(), X, SPEC)  # type: ignore[arg-type,return-value]
    np.testing.assert_array_equal(out["out"], 2.0 * X)
