"""Two leftovers of a review of session 22's changes: GraphBuilder.add silenced the whole process's logging while it
built a node to learn its ports, and a replay of a drifting XDF lowered the user's chunk_size saying it at INFO only."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
from pydantic import field_validator
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.node import Node, NodeParams

# --- add() building a node to learn its ports: only what that building says is dropped ----------------------------

_building = threading.Event()  # set by ChattyJoinParams' node while add() builds it
_logged = threading.Event()  # set by the other thread once it logged


class _Params(NodeParams):
    n: int = 1


class ChattyNode(Node[_Params]):
    """A node whose ports come from its params (as join's), which logs while it is built and, while add() builds it,
    waits for another thread to log (the handshake: the other thread logs during the build)."""

    Params = _Params
    outputs = ("out",)

    def __init__(self, **params):
        super().__init__(**params)
        self.inputs = tuple(f"in{i}" for i in range(self.params.n))
        logging.getLogger("wavegraph.test_leftovers.node").warning("building says this")
        _building.set()
        _logged.wait(5)


def test_a_log_record_of_another_thread_during_add_is_not_lost(caplog):
    """add() built the node to learn its ports under logging.disable(CRITICAL), process-wide: a graph running in
    another thread lost its log lines meanwhile. Only what the building thread says is dropped now."""
    _building.clear()
    _logged.clear()

    def other():
        assert _building.wait(5)
        logging.getLogger("wavegraph.test_leftovers.other").warning("another thread says this")
        _logged.set()

    g = GraphBuilder()
    g.add("array_source", id="src", data=[[0.0, 1.0]], rate=10.0)
    t = threading.Thread(target=other)
    with caplog.at_level(logging.INFO):
        t.start()
        g.add(f"{__name__}:ChattyNode", "src", "src", id="chat", n=2)
        t.join(5)
    said = [r.getMessage() for r in caplog.records]
    assert "another thread says this" in said
    assert "building says this" not in said  # said when the graph is built, not at add() too
    assert [e.target for e in g.edges] == ["chat.in0", "chat.in1"]


_validated: list[int] = []  # CountedParams' values, as each instance is built


class CountedParams(NodeParams):
    gain: float = 1.0

    @field_validator("gain")
    @classmethod
    def _count(cls, v: float) -> float:
        _validated.append(1)
        return v


class PlainNode(Node[CountedParams]):
    """A node of the class's ports: no __init__ of its own that might set others."""

    Params = CountedParams


def test_add_builds_no_node_whose_ports_cannot_depend_on_its_params():
    """A class with no __init__ of its own has its class's ports: add() need not build it (and hear what it says) to
    learn them."""
    g = GraphBuilder()
    g.add("array_source", id="src", data=[[0.0, 1.0]], rate=10.0)
    _validated.clear()
    g.add(f"{__name__}:PlainNode", "src", id="plain", gain=2.0)
    assert _validated == []
    assert [e.target for e in g.edges] == ["plain.in"]


# --- a drifting XDF replayed: the chunk_size the user set, lowered, is said at WARNING ------------------------------


def _drifting_xdf(tmp_path, actual: float = 251.25):
    """2000 samples of a 250 Hz (nominal) stream stamped at `actual` Hz (0.5 % fast), one marker."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    n = 2000
    t = 500.0 + np.arange(n) / actual
    data = np.zeros((n, 2))
    marker = XdfStream("mk", "Markers", 0.0, ["1"], [t[300]], "string")
    eeg = XdfStream("amp", "EEG", 250.0, data, t, "double64", ["a", "b"], "EEG", "")
    return write_xdf(tmp_path / "drift.xdf", [eeg, marker])


@pytest.mark.parametrize("given", [{"chunk_size": 500}, {"chunk_duration": 2.0}])
def test_a_chunk_size_the_user_set_lowered_for_a_drifting_stream_is_warned(tmp_path, caplog, given):
    """A 0.5 % fast XDF stream replayed with chunk_size 500 ran in chunks of 100, said at INFO only: the user's chunks
    changed without a warning. It is a WARNING now, with the size used, why, and how to keep one's own."""
    from wavegraph.nodes.io.file_source import FileSource

    node = FileSource(path=str(_drifting_xdf(tmp_path)), **given)
    with caplog.at_level(logging.INFO, logger="wavegraph.file_source"):
        node.configure({})
    said = [r for r in caplog.records if "nominal rate" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING, [(r.levelname, r.getMessage()) for r in said]
    text = said[0].getMessage()
    assert f"chunks of {node.chunk_size} samples" in text and "500" in text, text
    assert f"chunk_size: {node.chunk_size}" in text, text  # how to have the chunks one asks for


def test_a_chunk_size_within_the_drift_cap_is_not_warned(tmp_path, caplog):
    """Asked within what the drift allows, the chunk_size is kept and nothing is said."""
    from wavegraph.nodes.io.file_source import FileSource

    node = FileSource(path=str(_drifting_xdf(tmp_path)), chunk_size=50)
    with caplog.at_level(logging.INFO, logger="wavegraph.file_source"):
        node.configure({})
    assert node.chunk_size == 50
    assert not [r for r in caplog.records if "nominal rate" in r.getMessage()]
