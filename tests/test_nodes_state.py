"""State round trip for every stateful processing node: process a part, move state_dict() into a fresh
node, process the rest (and finish) == one node over the whole signal; reset() == a fresh node."""

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import run_chunked

SPEC = signal_spec(200.0, ["a", "b"])
X = np.random.default_rng(5).standard_normal((2, 1000)) + 3.0

CASES = [
    ("bandpass", dict(l_freq=2.0, h_freq=40.0, init="steady")),
    ("highpass", dict(freq=1.0)),
    ("lowpass", dict(freq=30.0, design="ellip")),
    ("notch", dict(freq=30.0, harmonics=2)),
    ("fir", dict(l_freq=5.0, numtaps=41, nan_policy="propagate")),
    ("resample", dict(rate=150.0, nan_policy="propagate")),
    ("running_zscore", dict(window=0.4)),
    ("filterbank", dict(bands=[(4.0, 20.0), (20.0, 40.0)])),
    ("sliding_window", dict(size=64, hop=24)),
    ("stft", dict(n_fft=64, hop=16, window="hann")),
    ("bandpower", dict(window=1.0, hop=0.3)),
]


def _collect(outs, parts):
    for c in outs.values():
        parts.append(c.data)


@pytest.mark.parametrize("name,params", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("split", [1, 437])
def test_state_round_trip_and_reset(name, params, split):
    bad = X.copy()
    bad[1, 500] = np.nan  # NaN bookkeeping (pending masks) is state too
    axis = lookup(name)(**params).configure({"in": SPEC})["out"].time_axis
    whole = run_chunked(lookup(name)(**params), bad, SPEC, [1000])["out"]
    a = lookup(name)(**params)
    a.configure({"in": SPEC})
    parts = []
    _collect(a.process({"in": Chunk(bad[:, :split])}), parts)
    state = a.state_dict()
    b = lookup(name)(**params)
    b.configure({"in": SPEC})
    b.load_state_dict(state)
    for i in range(split, 1000, 100):
        _collect(b.process({"in": Chunk(bad[:, i : min(i + 100, 1000)], t0=i / 200.0)}), parts)
    _collect(b.finish(), parts)
    got = np.concatenate(parts, axis=axis)
    np.testing.assert_allclose(got, whole, rtol=1e-9, atol=1e-12)
    # reset: the same node now behaves like a fresh one
    b.reset()
    again = []
    _collect(b.process({"in": Chunk(bad)}), again)
    _collect(b.finish(), again)
    np.testing.assert_allclose(np.concatenate(again, axis=axis), whole, rtol=1e-9, atol=1e-12)


def test_istft_state_round_trip():
    s = lookup("stft")(n_fft=32, hop=8, window="hann")
    fspec = s.configure({"in": SPEC})["out"]
    z = run_chunked(s, X, SPEC, [1000])["out"]
    whole = run_chunked(lookup("istft")(n_fft=32, hop=8, window="hann"), z, fspec, [z.shape[0]])["out"]
    a = lookup("istft")(n_fft=32, hop=8, window="hann")
    a.configure({"in": fspec})
    y1 = a.process({"in": Chunk(z[:51])})["out"].data
    b = lookup("istft")(n_fft=32, hop=8, window="hann")
    b.configure({"in": fspec})
    b.load_state_dict(a.state_dict())
    y2 = b.process({"in": Chunk(z[51:])})["out"].data
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), whole, rtol=1e-10, atol=1e-12)
