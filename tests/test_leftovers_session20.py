"""Defects left from the last review (session 20), each reproduced as a user meets it; each test failed before its fix."""

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec


@pytest.mark.parametrize(
    ("type_name", "params"),
    [("resample", {"rate": 100.0}), ("fir", {"h_freq": 10.0}), ("align", {"delay": 0.1}), ("join", {})],
)
def test_finish_before_configure_says_to_configure_first(type_name, params):
    """Before: Resample(rate=100).finish() by hand, configure() skipped, was AttributeError: 'NoneType' object has no
    attribute 'n_in' (fir and align alike, join a bare KeyError: 'a'). Now it says to call configure() first; a
    configured node still finishes as before."""
    import importlib

    from wavegraph.nodes import BUILTIN_NODES

    module, name = BUILTIN_NODES[type_name].split(":")
    cls = getattr(importlib.import_module(module), name)
    with pytest.raises(RuntimeError, match=r"finish\(\) before configure\(\): call node\.configure\(in_specs\) first"):
        cls(**params).finish()
    node = cls(**params)
    spec = signal_spec(250.0, ["C3"])
    node.configure(dict.fromkeys(node.inputs, spec))
    node.process({port: Chunk(np.ones((1, 50)), 0.0) for port in node.inputs})
    assert isinstance(node.finish(), dict)
