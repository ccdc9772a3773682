"""Polyphase resampler: streaming == upfirdn on the whole signal, == resample_poly after the declared delay."""

import numpy as np
import pytest
from scipy import signal as ss
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked


@pytest.mark.parametrize(
    "fin,fout,n,lat",
    [
        (1000, 250, 3000, 40),
        (48000, 16000, 4000, 30),
        (44100, 16000, 2500, 28),  # ceil(half/up): the wait for an impulse's peak (its content delay D/up is 441)
        (250, 1000, 500, 10),
        (100, 150, 400, 10),
    ],
)
def test_resample_equals_upfirdn_and_resample_poly(fin, fout, n, lat):
    spec = signal_spec(fin, ["a", "b"])
    x = np.random.default_rng(0).standard_normal((2, n))
    # tolerance: float64, rtol 1e-10 / atol 1e-12
    y = assert_streaming_equivalent(lambda: lookup("resample")(rate=fout), x, spec)["out"]
    node = lookup("resample")(rate=fout)
    assert isinstance(node, Resample)
    out_spec = node.configure({"in": spec})["out"]
    assert out_spec.rate == fout and out_spec.channel_names == ("a", "b")
    assert node.latency_samples == lat and out_spec.delay == pytest.approx(node.out_delay / fout)
    assert node.latency_seconds == pytest.approx(node.out_delay / fout if node.pad == 0 else lat / fin)
    ref = ss.upfirdn(node.filter_taps, x, node.up, node.down, axis=-1)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)
    rp = ss.resample_poly(x, node.up, node.down, axis=-1)
    d = node.out_delay
    np.testing.assert_allclose(y[:, d : d + rp.shape[1]], rp, rtol=1e-10, atol=1e-12)


def test_output_times_and_state_round_trip():
    spec = signal_spec(1000, ["a"])
    x = np.sin(2 * np.pi * 7 * np.arange(2000) / 1000)[None]

    def mk():
        return lookup("resample")(rate=250)

    whole = run_chunked(mk(), x, spec, [2000])["out"]
    a = mk()
    a.configure({"in": spec})
    c1 = a.process({"in": Chunk(x[:, :1003], t0=5.0)})["out"]
    assert c1.t0 == 5.0
    b = mk()
    b.configure({"in": spec})
    b.load_state_dict(a.state_dict())
    c2 = b.process({"in": Chunk(x[:, 1003:], t0=6.003)})["out"]
    assert c2.t0 == pytest.approx(5.0 + c1.data.shape[1] / 250)
    tail = b.finish()["out"].data
    np.testing.assert_allclose(np.concatenate([c1.data, c2.data, tail], axis=1), whole, rtol=1e-12, atol=1e-14)
    # a pass-band sine comes out delayed by the declared latency (10 output samples)
    t = np.arange(whole.shape[1]) / 250
    np.testing.assert_allclose(whole[0, 100:400], np.sin(2 * np.pi * 7 * (t[100:400] - 0.040)), atol=2e-3)


def test_nan_policy():
    spec = signal_spec(1000, ["a", "b"])
    x = np.random.default_rng(1).standard_normal((2, 800))
    bad = x.copy()
    bad[1, 401] = np.nan
    ref = run_chunked(lookup("resample")(rate=250), np.where(np.isfinite(bad), bad, 0), spec, [800])["out"]
    node = lookup("resample")(rate=250, nan_policy="propagate")
    y = run_chunked(node, bad, spec, [10] * 80)["out"]
    assert np.isnan(y).sum() == 1 and np.isnan(y[1, 100 + 10])  # round(401/4) + delay 10
    ok = np.isfinite(y)
    np.testing.assert_allclose(y[ok], ref[ok], rtol=1e-12)
    assert node.counters == {"nan_propagated": 1}
    assert_streaming_equivalent(lambda: lookup("resample")(rate=250, nan_policy="propagate"), bad, spec)
    node = lookup("resample")(rate=250)
    np.testing.assert_allclose(run_chunked(node, bad, spec, [33] * 24 + [8])["out"], ref, rtol=1e-12)
    assert node.counters == {"nan_zeroed": 1}


@pytest.mark.parametrize("params", [dict(rate=250.0), dict(up=3, down=3)])
def test_same_rate_is_the_identity(params):
    # firwin has no cutoff below Nyquist for up == down == 1; resample_poly returns the input unchanged
    spec = signal_spec(250, ["a", "b"])
    x = np.random.default_rng(2).standard_normal((2, 300))
    y = assert_streaming_equivalent(lambda: lookup("resample")(**params), x, spec)["out"]
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(y, ss.resample_poly(x, 1, 1, axis=-1))
    node = lookup("resample")(**params)
    assert node.configure({"in": spec})["out"].rate == 250 and node.latency_samples == 0


@pytest.mark.parametrize(
    "params,msg",
    [
        (dict(rate=999.9999), "max_factor"),
        (dict(rate=-5.0), "positive"),
        (dict(rate=float("nan")), "positive"),
        (dict(rate=float("inf")), "positive"),
        (dict(up=1), "both"),
        (dict(rate=250, up=1, down=4), "not both"),
    ],
)
def test_impossible_ratio_raises_spec_error(params, msg):
    with pytest.raises(SpecError, match=msg) as e:
        lookup("resample")(**params).configure({"in": signal_spec(1000, ["a"])})
    assert e.value.hint


def test_gap_moves_the_time_base_by_the_lost_time():
    # the chunk after a gap starts 3 s after the previous one ended: counting samples alone stamped it 3 s early
    spec = signal_spec(1000, ["a"])
    x = np.random.default_rng(3).standard_normal((1, 2000))
    outs = []
    for gap in (False, True):
        node = lookup("resample")(rate=250)
        node.configure({"in": spec})
        node.process({"in": Chunk(x[:, :1000], t0=2.0)})
        outs.append(node.process({"in": Chunk(x[:, 1000:], t0=3.0 + (3.0 if gap else 0.0), gap=gap)})["out"])
    assert outs[1].t0 == pytest.approx(outs[0].t0 + 3.0, abs=1e-9)
    np.testing.assert_array_equal(outs[1].data, outs[0].data)
