"""Mutated node states (session 46): a state_dict() that cannot be what the node saved is refused at load, naming its
key, rather than loaded and then crashing, giving NaN or silently wrong output at a later chunk.

Found by a mutation fuzz over the sweep's node configurations (tests/test_node_sweep_probe_session44.py): each key
deleted or extended, each array given NaN/inf or another dtype or shape, each scalar negative, huge, NaN, a string.
"""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RATE = 250.0
EEG = signal_spec(RATE, ["Fz", "Cz", "Pz"], ["eeg"] * 3)


def _eeg(n=300, seed=0):
    return np.random.default_rng(seed).standard_normal((3, n)) * 10e-6 + 5e-3


def _node(name, params, spec=EEG):
    node = lookup(name)(**params)
    node.configure({"in": spec})
    return node


def _saved(name, params, n=137):
    """A node's state after n samples of EEG, and a fresh node of the same configuration to load it into."""
    node = _node(name, params)
    node.process({"in": Chunk(_eeg()[:, :n], 0.0)})
    return node.state_dict(), _node(name, params)


def _set(state, key, how):
    out = dict(state)
    out[key] = how(np.array(state[key]))
    return out


def _nan(a):
    a = a.astype(np.float64 if a.dtype.kind != "c" else a.dtype)
    a.flat[0] = np.nan
    return a


# (node, params, key): an array the node keeps finite. Each was loaded: a filter's NaN memory zeroed its next outputs
# as an `overflow`; a NaN in a framer's or fir's held samples came out in the frames (NaN under nan_policy zero); a
# running_zscore's NaN block gave finite, wrong z-scores (its sums may overflow in a state it saves itself: not checked)
FINITE = [
    ("highpass", {"freq": 1.0}, "zi"),
    ("notch", {"freq": 50.0}, "zi"),
    ("filterbank", {"bands": [(6.0, 40.0), (14.0, 40.0)]}, "zi"),
    ("fir", {"h_freq": 30.0}, "hist"),
    ("resample", {"rate": 100.0}, "hist"),
    ("running_zscore", {"window": 0.5}, "ref"),
    ("running_zscore", {"window": 0.5}, "block"),
    ("sliding_window", {"size": 25, "hop": 10}, "buf"),
    ("stft", {"n_fft": 32, "hop": 8}, "buf"),
    ("bandpower", {"window": 0.5, "hop": 0.1}, "buf"),
]


@pytest.mark.parametrize("name,params,key", FINITE, ids=[f"{n}-{k}" for n, _, k in FINITE])
def test_a_nan_in_a_state_the_node_keeps_finite_is_refused_naming_it(name, params, key):
    saved, fresh = _saved(name, params)
    with pytest.raises(ValueError, match=f"'{key}' holds 1 NaN or infinite"):
        fresh.load_state_dict(_set(saved, key, _nan))


def test_under_propagate_a_framer_holding_nan_still_loads_and_continues_exactly():
    params = {"size": 25, "hop": 10, "nan_policy": "propagate"}
    x = _eeg()
    x[1, 130] = np.nan
    a, b = _node("sliding_window", params), _node("sliding_window", params)
    a.process({"in": Chunk(x[:, :137], 0.0)})
    assert np.isnan(a.state.buf).any()
    b.load_state_dict(a.state_dict())
    rest = Chunk(x[:, 137:], 137 / RATE)
    np.testing.assert_array_equal(b.process({"in": rest})["out"].data, a.process({"in": rest})["out"].data)


def test_a_nan_noise_filter_state_is_refused():
    """pink noise from a NaN filter memory: NaN to the end of the stream."""
    node = lookup("noise")(duration=2.0, color="pink", channels=3)
    node.configure({})
    node.read()
    state = _set(node.state_dict(), "pink_zi", _nan)
    fresh = lookup("noise")(duration=2.0, color="pink", channels=3)
    fresh.configure({})
    with pytest.raises(ValueError, match="'pink_zi'"):
        fresh.load_state_dict(state)


def test_a_negative_source_position_is_refused():
    """was taken, and the next read() failed inside numpy's random generator ('expected non-negative integer')."""
    node = lookup("noise")(duration=2.0)
    node.configure({})
    node.read()
    fresh = lookup("noise")(duration=2.0)
    fresh.configure({})
    with pytest.raises(ValueError, match="'pos' is -1"):
        fresh.load_state_dict({**node.state_dict(), "pos": -1})


@pytest.mark.parametrize(
    "name,params,key",
    [("sliding_window", {"size": 25, "hop": 10}, "k"), ("ssvep_decoder", {"freqs": [8.0, 10.0, 12.0]}, "k")],
)
def test_a_whole_number_beyond_int64_is_refused_naming_the_key(name, params, key):
    """1e300 is whole, and was taken as a count: OverflowError 'Python int too large to convert to C long' later."""
    saved, fresh = _saved(name, params, n=200)
    with pytest.raises(ValueError, match=f"'{key}'.*int64"):
        fresh.load_state_dict({**saved, key: 1e300})


@pytest.mark.parametrize("shift", [-1, -3])
def test_a_resample_state_behind_its_input_count_is_refused(shift):
    """n_out a few outputs short of what n_in completes: its windows read before `hist` ('strides is incompatible')."""
    saved, fresh = _saved("resample", {"up": 3, "down": 7})
    with pytest.raises(ValueError, match="'n_in' .* and 'n_out'"):
        fresh.load_state_dict({**saved, "n_out": saved["n_out"] + shift})


@pytest.mark.parametrize("policy,cols,fill", [("zero", "latency", True), ("propagate", 1, True), ("zero", 1, False)])
def test_a_fir_nan_mask_that_cannot_be_its_own_is_refused(policy, cols, fill):
    """NaN positions pending: none or `latency` of them, and none with NaN under nan_policy zero. A mask of another
    length, or one with NaN under zero, was taken and put NaN in the output."""
    params = {"h_freq": 30.0, "nan_policy": policy}
    saved, fresh = _saved("fir", params)
    k = fresh.latency_samples if cols == "latency" else cols
    with pytest.raises(ValueError, match="'nan_mask'"):
        fresh.load_state_dict({**saved, "nan_mask": np.full((3, k), fill)})


def test_a_fir_nan_mask_of_its_own_length_loads_under_propagate():
    params = {"h_freq": 30.0, "nan_policy": "propagate"}
    saved, fresh = _saved("fir", params)
    fresh.load_state_dict({**saved, "nan_mask": np.zeros((3, fresh.latency_samples), bool)})


@pytest.mark.parametrize("what", ["longer block", "count"])
def test_a_running_zscore_block_that_does_not_fit_its_count_is_refused(what):
    """A block longer than its window failed at the next chunk ('could not broadcast input array'); a count from
    another save than the block gave z-scores over the wrong window, unsaid."""
    saved, fresh = _saved("running_zscore", {"window": 0.5})
    if what == "longer block":
        state = {**saved, "block": np.ones((3, 300))}
    else:
        state = {**saved, "n": saved["n"] + 5}
    with pytest.raises(ValueError, match="'block' holds"):
        fresh.load_state_dict(state)
