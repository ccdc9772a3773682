"""Review of session 32's streaming fixes (fir's direct convolution, istft's order, the tokenizer, ssvep and GLA nodes
one shape a call): what the review found and fixed, and the hostile inputs it checked them on."""

import numpy as np
import pytest
from wavegraph.nodes.dsp.fir import FIR
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent


def _sizes(n: int, size: int) -> list[int]:
    return [size] * (n // size) + ([n % size] if n % size else [])


def _fir_state_saved_with_lfilter(node: FIR) -> dict:
    """The state_dict a fir of before 1e5f59e saved: lfilter's 'zi' (same shape) where 'hist' is now."""
    state = node.state_dict()
    state["zi"] = np.full_like(state.pop("hist"), 0.25)
    return state


def test_a_fir_state_saved_with_lfilters_zi_is_refused_saying_why_and_the_fix():
    """1e5f59e replaced fir's lfilter 'zi' (partial sums) by 'hist' (the last input samples) and refuses a state saved
    before: the refusal was the generic "FIR state keys do not match: missing ['hist'], unexpected ['zi']", naming
    neither what changed nor what to do. Now it says the state comes from the lfilter fir and names the fix."""
    spec = signal_spec(250.0, ["a", "b"])
    old = FIR(h_freq=40.0, numtaps=31)
    old.configure({"in": spec})
    old.process({"in": Chunk(np.ones((2, 50)), 0.0)})
    state = _fir_state_saved_with_lfilter(old)
    node = FIR(h_freq=40.0, numtaps=31)
    node.configure({"in": spec})
    with pytest.raises(ValueError, match=r"lfilter.*'zi'.*'hist'.*Fix: start the stream fresh.*node\.reset\(\)"):
        node.load_state_dict(state)
    del state["n_in"], state["t_next"]  # (a state from before the tail flush too: the same answer)
    with pytest.raises(ValueError, match="saved by an earlier wavegraph"):
        node.load_state_dict(state)
    y = node.process({"in": Chunk(np.ones((2, 40)), 0.0)})["out"].data  # the node is left as it was: fresh
    fresh = FIR(h_freq=40.0, numtaps=31)
    fresh.configure({"in": spec})
    np.testing.assert_array_equal(y, fresh.process({"in": Chunk(np.ones((2, 40)), 0.0)})["out"].data)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fir_with_1001_taps_streams_bit_for_bit_with_triggers_nans_and_empty_chunks(dtype):
    """The review's hostile run of 1e5f59e's claim (chunked == whole bit for bit) beyond its 31-tap test: 1001 taps,
    a large offset under the signal, a NaN run kept (nan_policy propagate), a trigger channel (delayed, not filtered),
    chunks of 1, of more than numtaps, and empty ones; and a state_dict saved mid-stream resumes in a new node."""
    n, rate = 2600, 250.0
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, n)) * 3e4 + 1e5
    x[1, 700:705] = np.nan
    x[3] = np.where(np.arange(n) % 97 == 0, 7.0, 0.0)
    x = x.astype(dtype)
    spec = signal_spec(rate, ["a", "b", "c", "STI 014"], ["eeg", "eeg", "eeg", "stim"], dtype=dtype)
    make = lambda: FIR(h_freq=30.0, numtaps=1001, nan_policy="propagate")  # noqa: E731
    chunkings = [[1] * 300 + [n - 300], [0, 5, 0] + _sizes(n - 5, 1013), [1200, 0, 1400]]
    out = assert_streaming_equivalent(make, x, spec, chunkings, rtol=0, atol=0)["out"]
    assert np.isnan(out[1, 1200:1205]).all() and not np.isnan(out[0]).any()
    assert np.flatnonzero(out[3])[:2].tolist() == [500, 597]  # codes 500 samples later, as they were
    first = make()
    first.configure({"in": spec})
    head = first.process({"in": Chunk(x[:, :1234], 0.0)})["out"].data
    second = make()
    second.configure({"in": spec})
    second.load_state_dict(first.state_dict())
    rest = second.process({"in": Chunk(x[:, 1234:], 1234 / rate)})["out"].data
    np.testing.assert_array_equal(np.concatenate([head, rest, second.finish()["out"].data], -1), out)


DNN_CHANNELS = ["Pz", "PO3", "PO4", "PO7", "PO8", "POz", "O1", "Oz", "O2"]


@pytest.mark.usefixtures("one_torch_thread")
def test_the_ssvep_dnn_decoder_is_bit_for_bit_on_float32_eeg_over_an_offset_with_1_sample_and_empty_chunks():
    """fd0fd0b claims every chunking now gives the whole file's bits (its test asserts the stated rtol 1e-5 /
    atol 1e-6): the 400 ms shipped checkpoint on float32 EEG over a 3 mV offset, in 1-sample chunks, chunks of 61
    after empty ones, and one of the window's length, at atol 0."""
    from pathlib import Path

    from wavegraph.nodes.models.ssvep import SSVEPDecoder

    rate, n = 160.0, 960
    x = (3e-3 + 2e-5 * np.random.default_rng(7).standard_normal((9, n))).astype(np.float32)
    ckpt = Path(__file__).resolve().parents[1] / "models/weights/ssvep_dnn_40f_160hz_400ms.safetensors"
    make = lambda: SSVEPDecoder(method="dnn", checkpoint=str(ckpt), step=0.1)  # noqa: E731
    chunkings = [[1] * 300 + [n - 300], [0, 17, 0, *_sizes(n - 17, 61)], _sizes(n, 64)]
    spec = signal_spec(rate, DNN_CHANNELS, dtype="float32")
    out = assert_streaming_equivalent(make, x, spec, chunkings, rtol=0, atol=0)
    assert np.isfinite(out["scores"]).all() and len(out["scores"]) >= 50
