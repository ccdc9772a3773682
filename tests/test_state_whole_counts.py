"""A node's count in a loaded state must be a whole number: a float with a fraction was cut by the node's int()."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec

SIG = signal_spec(250.0, ["O1", "Oz", "O2"])


def _decoder():
    node = lookup("ssvep_decoder")(freqs=[8.0, 10.0, 12.0], window=0.4, step=0.12, n_bands=2)
    node.configure({"in": SIG})
    return node


@pytest.mark.parametrize("k", [2.5, np.float32(2.5), float("nan"), float("inf")])
def test_a_count_with_a_fraction_is_refused_naming_the_key(k):
    state = _decoder().state_dict()
    with pytest.raises(ValueError, match="'k' must be a whole number"):
        _decoder().load_state_dict(dict(state, k=k))


def test_a_whole_float_count_as_json_gives_it_still_loads():
    state = _decoder().state_dict()
    node = _decoder()
    node.load_state_dict(dict(state, k=float(state["k"])))
    assert node.state_dict()["k"] == state["k"]
