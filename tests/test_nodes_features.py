"""running_zscore, filterbank and bandpower: streaming == offline, state, NaN policy, errors."""

import numpy as np
import pytest
from scipy import signal as ss
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

FS = 100.0
SPEC = signal_spec(FS, ["a", "b", "c"])
RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 900)) * np.array([[1.0], [20.0], [1e-5]]) + np.array([[0.0], [50.0], [1e-3]])


def zscore_offline(x, w):
    y = np.zeros_like(x)
    for t in range(x.shape[1]):
        seg = x[:, max(0, t - w + 1) : t + 1]
        sd = seg.std(axis=1)
        y[:, t] = np.where(sd > 1e-12, (x[:, t] - seg.mean(axis=1)) / np.where(sd > 0, sd, 1), 0)
    return y


def test_running_zscore_equals_direct_computation():
    # tolerance rtol 1e-9/atol 1e-9 for the z-scores (cumulative sums vs two-pass; offset 50 sd on channel b)
    y = assert_streaming_equivalent(lambda: lookup("running_zscore")(window=0.5), X, SPEC, rtol=1e-9, atol=1e-9)["out"]
    np.testing.assert_allclose(y, zscore_offline(X, 50), rtol=1e-8, atol=1e-8)
    assert y[:, 0].tolist() == [0, 0, 0]  # one sample: std 0 -> 0
    flat = np.ones((3, 100))
    assert (run_chunked(lookup("running_zscore")(window=0.5), flat, SPEC, [100])["out"] == 0).all()


def test_running_zscore_state_and_nan():
    def mk():
        return lookup("running_zscore")(window=0.3)

    whole = run_chunked(mk(), X, SPEC, [900])["out"]
    a = mk()
    a.configure({"in": SPEC})
    y1 = a.process({"in": Chunk(X[:, :410])})["out"].data
    b = mk()
    b.configure({"in": SPEC})
    b.load_state_dict(a.state_dict())
    y2 = b.process({"in": Chunk(X[:, 410:])})["out"].data
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), whole, rtol=1e-9, atol=1e-9)
    bad = X.copy()
    bad[0, 200] = np.nan
    node = lookup("running_zscore")(window=0.3, nan_policy="propagate")
    y = run_chunked(node, bad, SPEC, [50] * 18)["out"]
    assert np.isnan(y).sum() == 1 and np.isnan(y[0, 200]) and node.counters == {"nan_propagated": 1}
    np.testing.assert_allclose(y[:, 300:], whole[:, 300:], rtol=1e-9, atol=1e-9)  # recovered after one window


def test_filterbank_equals_bandpass_per_band():
    bands = [(6.0, 40.0), (14.0, 40.0), (22.0, 40.0)]

    def mk():
        return lookup("filterbank")(bands=bands, order=3)

    y = assert_streaming_equivalent(mk, X, SPEC)["out"]  # rtol 1e-10
    assert y.shape == (3, 3, 900)
    spec = mk().configure({"in": SPEC})["out"]
    assert spec.shape == (3, 3) and spec.channel_names == ("a", "b", "c")
    for k, (lo, hi) in enumerate(bands):
        np.testing.assert_allclose(
            y[k],
            ss.sosfilt(ss.butter(3, [lo, hi], "bandpass", output="sos", fs=FS), X, axis=-1),
            rtol=1e-10,
            atol=1e-12,
        )
    node = lookup("filterbank")(bands=bands, nan_policy="propagate")
    bad = X.copy()
    bad[1, 5] = np.inf
    yb = run_chunked(node, bad, SPEC, [900])["out"]
    assert np.isnan(yb).sum() == 3 and np.isnan(yb[:, 1, 5]).all()
    a = mk()
    a.configure({"in": SPEC})
    a.process({"in": Chunk(X[:, :300])})
    b = mk()
    b.configure({"in": SPEC})
    b.load_state_dict(a.state_dict())
    np.testing.assert_allclose(b.process({"in": Chunk(X[:, 300:])})["out"].data, y[..., 300:], rtol=1e-10, atol=1e-12)
    with pytest.raises(SpecError, match="band 1"):
        lookup("filterbank")(bands=[(6, 40), (20, 60)]).configure({"in": SPEC})


def test_bandpower_equals_welch_per_window_and_finds_alpha():
    t = np.arange(2000) / FS
    x = 0.1 * RNG.standard_normal((3, 2000))
    x[1] += np.sin(2 * np.pi * 10 * t)  # alpha on channel b
    bands = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}

    def mk():
        return lookup("bandpower")(bands=bands, window=2.0, hop=0.5, segment=1.0)

    y = assert_streaming_equivalent(mk, x, SPEC)["out"]
    spec = mk().configure({"in": SPEC})["out"]
    assert spec.kind == "features" and spec.rate == 2.0 and spec.shape == (6,)
    n_frames = (2000 - 200) // 50 + 1
    assert y.shape == (n_frames, 6)
    for k in (0, 17, n_frames - 1):
        f, psd = ss.welch(x[:, 50 * k : 50 * k + 200], fs=FS, nperseg=100, axis=-1)
        ref = [[psd[c, (f >= lo) & (f < hi)].sum() * (f[1] - f[0]) for lo, hi in bands.values()] for c in range(3)]
        np.testing.assert_allclose(y[k], np.ravel(ref), rtol=1e-10)
    alpha_b = y[:, 3]
    assert np.all(alpha_b > 0.4) and np.all(alpha_b < 0.6)  # sine power 0.5
    assert np.all(y[:, [1, 5]] < 0.02)
    log = run_chunked(lookup("bandpower")(bands=bands, window=2.0, hop=0.5, segment=1.0, log=True), x, SPEC, [2000])[
        "out"
    ]
    np.testing.assert_allclose(log, np.log10(y), rtol=1e-10)


@pytest.mark.parametrize(
    "params,msg",
    [
        (dict(bands={"g": (30.0, 80.0)}), "Nyquist"),
        (dict(window=0.01), "too short"),
        (dict(bands={"x": (10.2, 10.8)}, window=1.0), "no frequency bin"),
    ],
)
def test_bandpower_bad_params(params, msg):
    with pytest.raises(SpecError, match=msg):
        lookup("bandpower")(**params).configure({"in": SPEC})


def test_feature_specs_name_every_column():
    # one name per column (channel-major), as consumers index them: an LSL outlet labels each of its channels
    bp = lookup("bandpower")(bands={"theta": (4.0, 8.0), "alpha": (8.0, 13.0)})
    spec = bp.configure({"in": SPEC})["out"]
    assert spec.channel_names == ("a:theta", "a:alpha", "b:theta", "b:alpha", "c:theta", "c:alpha")
    assert spec.channel_types == ("eeg",) * 6
    sw = lookup("sliding_window")(size=2, hop=1).configure({"in": SPEC})["out"]
    assert sw.channel_names == ("a:0", "a:1", "b:0", "b:1", "c:0", "c:1") and len(sw.channel_types) == 6
    lookup("lsl_outlet")(name="bp").configure({"in": spec})  # raised IndexError with per-channel names
    banded = lookup("filterbank")(bands=[(4.0, 8.0), (8.0, 13.0)]).configure({"in": SPEC})["out"]
    assert lookup("bandpower")().configure({"in": banded})["out"].channel_names == ()  # (bands, channels): unnamed
