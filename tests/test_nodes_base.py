"""The node base: stored input specs, declared state (reset/state_dict/load_state_dict) and its errors."""

from dataclasses import dataclass

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, Sink
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec

SPEC = signal_spec(100.0, ["a", "b"])


class Counter(Node):
    """Sums every sample per channel and keeps the last 3 samples: one fixed and one growing field."""

    @dataclass
    class State:
        total: np.ndarray  # (channels,)
        last: np.ndarray  # (channels, <= 3): a buffer, empty at the start
        n: int = 0
        t_first: float | None = None
        started: bool = False

    def configure(self, in_specs):
        self.out_specs = {"out": in_specs["in"]}
        self.reset()
        return self.out_specs

    def new_state(self):
        return self.State(np.zeros(2), np.zeros((2, 0)))

    def process(self, inputs):
        c, s = inputs["in"], self.state
        s.total += c.data.sum(axis=1)
        s.last = np.concatenate([s.last, c.data], axis=1)[:, -3:]
        s.n += c.data.shape[1]
        s.t_first = c.t0 if s.t_first is None else s.t_first
        s.started = True
        return {"out": Chunk(s.total[:, None].copy(), c.t0)}


def test_configure_stores_in_specs_without_the_subclass_doing_it():
    node = Counter()
    node.configure({"in": SPEC})
    assert node.in_specs == {"in": SPEC} and node.latency_seconds == 0.0
    sink = Sink()
    sink.configure({"in": SPEC})
    assert sink.in_specs == {"in": SPEC}
    bp = lookup("bandpass")(l_freq=1.0, h_freq=20.0)
    bp.configure({"in": SPEC})
    assert bp.in_specs == {"in": SPEC}


def test_declared_state_round_trip_copies_and_reset():
    a = Counter()
    a.configure({"in": SPEC})
    a.process({"in": Chunk(np.ones((2, 5)), t0=1.5)})
    saved = a.state_dict()
    assert set(saved) == {"total", "last", "n", "t_first", "started", "saved_config"}  # + what it was saved under
    assert saved["n"] == 5 and saved["t_first"] == 1.5 and saved["started"] is True
    assert saved["last"].shape == (2, 3)
    a.process({"in": Chunk(np.ones((2, 5)), t0=1.55)})
    assert saved["total"].tolist() == [5.0, 5.0]  # a copy: later processing leaves a saved state alone
    b = Counter()
    b.configure({"in": SPEC})
    b.load_state_dict(saved)
    b.load_state_dict(saved)  # loading copies too: b's processing must not change `saved`
    b.process({"in": Chunk(np.ones((2, 5)), t0=1.55)})
    assert saved["total"].tolist() == [5.0, 5.0]
    np.testing.assert_array_equal(b.state.total, a.state.total)
    assert b.state.n == a.state.n == 10
    b.reset()
    assert b.state.n == 0 and b.state.t_first is None and b.state.last.shape == (2, 0)


def _fresh():
    node = Counter()
    node.configure({"in": SPEC})
    return node


@pytest.mark.parametrize(
    "change,error,match",
    [
        (lambda d: d.pop("n"), KeyError, r"missing \['n'\]"),
        (lambda d: d.update(extra=1), KeyError, r"unexpected \['extra'\]"),
        (lambda d: d.update(total=np.zeros(3)), ValueError, r"'total' has shape \(3,\), expected \(2,\)"),
        (lambda d: d.update(last=np.zeros((3, 1))), ValueError, r"'last' has shape \(3, 1\), expected \(2, n\)"),
        (lambda d: d.update(total=np.zeros(2, complex)), ValueError, "'total' has dtype complex128"),
        (lambda d: d.update(total=None), ValueError, "'total' must be an array"),
        (lambda d: d.update(n=2.5), ValueError, "'n' must be int, got 2.5"),
        (lambda d: d.update(n="3"), ValueError, "'n' must be int"),
        (lambda d: d.update(started=2), ValueError, "'started' must be bool"),
        (lambda d: d.update(t_first="now"), ValueError, "'t_first' must be float"),
    ],
)
def test_mismatched_state_dict_is_a_clear_error(change, error, match):
    saved = _fresh().state_dict()
    change(saved)
    node = _fresh()
    with pytest.raises(error, match=match):
        node.load_state_dict(saved)


def test_buffer_axis_is_free_and_numbers_are_converted():
    saved = _fresh().state_dict()
    saved.update(last=np.ones((2, 3), dtype=np.float32), n=np.int64(4), t_first=2, total=[1, 2])
    node = _fresh()
    node.load_state_dict(saved)
    s = node.state
    assert s.last.dtype == np.float64 and s.last.shape == (2, 3)
    assert type(s.n) is int and s.n == 4 and type(s.t_first) is float and s.total.tolist() == [1.0, 2.0]


def test_stateless_node_refuses_state():
    node = lookup("car")()
    node.configure({"in": SPEC})
    assert node.state_dict() == {}
    node.load_state_dict({})
    with pytest.raises(KeyError, match="has no state"):
        node.load_state_dict({"zi": 0})


def test_filter_state_from_another_configuration_is_refused():
    a, b = lookup("bandpass")(l_freq=1.0, h_freq=20.0), lookup("bandpass")(l_freq=1.0, h_freq=20.0)
    a.configure({"in": SPEC})
    b.configure({"in": signal_spec(100.0, ["a", "b", "c"])})
    with pytest.raises(ValueError, match="'zi' has shape"):
        # without the configuration it was saved under (a state built by hand): the node's own check, as the
        # compiled kernel would index a wrong one without bounds checks
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "saved_config"})
