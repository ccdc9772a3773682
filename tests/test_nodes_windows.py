"""Sliding windows, STFT and inverse STFT: framing, times, perfect reconstruction, streaming == offline."""

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

FS = 100.0
SPEC = signal_spec(FS, ["a", "b"])
X = np.random.default_rng(0).standard_normal((2, 777))


def test_sliding_window_layout_and_times():
    node = lookup("sliding_window")(size=50, hop=20)
    out_spec = node.configure({"in": SPEC})["out"]
    assert out_spec.kind == "features" and out_spec.rate == 5.0 and out_spec.shape == (100,)
    y = assert_streaming_equivalent(lambda: lookup("sliding_window")(size=50, hop=20), X, SPEC)["out"]
    n_win = (777 - 50) // 20 + 1
    assert y.shape == (n_win, 100)
    for k in (0, 7, n_win - 1):
        np.testing.assert_array_equal(y[k, :50], X[0, 20 * k : 20 * k + 50])
        np.testing.assert_array_equal(y[k, 50:], X[1, 20 * k : 20 * k + 50])
    node = lookup("sliding_window")(size=50, hop=20)
    node.configure({"in": SPEC})
    times = []
    for i in range(0, 777, 33):
        for c in node.process({"in": Chunk(X[:, i : i + 33], t0=10.0 + i / FS)}).values():
            times += list(c.t0 + np.arange(c.data.shape[0]) / 5.0)
    np.testing.assert_allclose(times, 10.0 + np.arange(n_win) * 0.2)


def stft_offline(x, n_fft, hop, win):
    """Reference: zero-pad n_fft-hop before and enough after, frame with numpy, rfft."""
    n = x.shape[1]
    total = (n - 1 + n_fft - hop) // hop + 1
    xp = np.concatenate([np.zeros((x.shape[0], n_fft - hop)), x, np.zeros((x.shape[0], total * hop - n))], axis=1)
    frames = np.stack([xp[:, k * hop : k * hop + n_fft] for k in range(total)])
    return np.fft.rfft(frames * win, axis=-1).reshape(total, -1)


@pytest.mark.parametrize("n_fft,hop,window", [(64, 32, "sqrt_hann"), (64, 16, "hann"), (30, 10, "hamming")])
def test_stft_istft_perfect_reconstruction(n_fft, hop, window):
    from scipy.signal import get_window

    def mk_s():
        return lookup("stft")(n_fft=n_fft, hop=hop, window=window)

    def mk_i():
        return lookup("istft")(n_fft=n_fft, hop=hop, window=window)

    z = assert_streaming_equivalent(mk_s, X, SPEC)["out"]  # float64 -> complex128, rtol 1e-10
    assert z.dtype == np.complex128
    w = np.sqrt(get_window("hann", n_fft)) if window == "sqrt_hann" else get_window(window, n_fft)
    np.testing.assert_allclose(z, stft_offline(X, n_fft, hop, w), rtol=1e-10, atol=1e-12)
    s = mk_s()
    fspec = s.configure({"in": SPEC})["out"]
    assert fspec.rate == FS / hop and fspec.shape == (2 * (n_fft // 2 + 1),)
    y = assert_streaming_equivalent(mk_i, z, fspec)["out"]
    i = mk_i()
    i.configure({"in": fspec})
    lat = n_fft - hop
    assert i.latency_samples * hop == lat and i.latency_seconds == pytest.approx(lat / FS)
    assert y.shape[1] >= X.shape[1] + lat
    np.testing.assert_allclose(y[:, lat : lat + X.shape[1]], X, rtol=1e-10, atol=1e-12)  # input delayed by latency
    np.testing.assert_allclose(y[:, :lat], 0, atol=1e-12)


def test_stft_chain_times_and_state_round_trip():
    s, i = lookup("stft")(n_fft=32, hop=16), lookup("istft")(n_fft=32, hop=16)
    fspec = s.configure({"in": SPEC})["out"]
    i.configure({"in": fspec})
    outs = []
    for k in range(0, 400, 50):
        for c in s.process({"in": Chunk(X[:, k : k + 50], t0=3.0 + k / FS)}).values():
            outs.append(i.process({"in": c})["out"])
    assert outs[0].t0 == 3.0 and outs[1].t0 == pytest.approx(3.0 + outs[0].data.shape[1] / FS)
    # state round trip on the stft
    whole = run_chunked(lookup("stft")(n_fft=32, hop=16), X, SPEC, [777])["out"]
    a = lookup("stft")(n_fft=32, hop=16)
    a.configure({"in": SPEC})
    z1 = a.process({"in": Chunk(X[:, :301])})["out"].data
    b = lookup("stft")(n_fft=32, hop=16)
    b.configure({"in": SPEC})
    b.load_state_dict(a.state_dict())
    z2 = b.process({"in": Chunk(X[:, 301:])})["out"].data
    z3 = b.finish()["out"].data
    np.testing.assert_allclose(np.concatenate([z1, z2, z3]), whole, rtol=1e-12, atol=1e-12)


def test_nan_only_spoils_frames_that_contain_it():
    bad = X.copy()
    bad[0, 300] = np.nan
    node = lookup("stft")(n_fft=32, hop=16, nan_policy="propagate")
    z = run_chunked(node, bad, SPEC, [100] * 7 + [77])["out"].reshape(-1, 2, 17)
    nan_frames = np.nonzero(np.isnan(z[:, 0, :]).any(axis=1))[0]
    np.testing.assert_array_equal(nan_frames, [18, 19])  # frames k with k*16-16 <= 300 < k*16+16
    assert np.isfinite(z[:, 1]).all() and node.counters == {"nan_propagated": 1}
    node = lookup("stft")(n_fft=32, hop=16)
    assert np.isfinite(run_chunked(node, bad, SPEC, [777])["out"]).all() and node.counters == {"nan_zeroed": 1}


@pytest.mark.parametrize(
    "name,params,msg",
    [
        ("stft", dict(n_fft=64, hop=24), "divide"),
        ("stft", dict(window="nope"), "window"),
        ("istft", dict(n_fft=64, hop=64, window="hann"), "NOLA"),
    ],
)
def test_bad_params(name, params, msg):
    # (an istft's frames from an stft of its own params: one of others is refused for that, test_delay_attack)
    spec = SPEC if name == "stft" else lookup("stft")(**params).configure({"in": SPEC})["out"]
    with pytest.raises(SpecError, match=msg):
        lookup(name)(**params).configure({"in": spec})


def test_sliding_window_hop_longer_than_size_skips_the_samples_between():
    # frame k is x[:, 5k : 5k+2] for any chunking (the gap between windows must be skipped, not buffered)
    y = assert_streaming_equivalent(lambda: lookup("sliding_window")(size=2, hop=5), X, SPEC)["out"]
    n_win = (777 - 2) // 5 + 1
    assert y.shape == (n_win, 4)
    for k in (0, 1, 50, n_win - 1):
        np.testing.assert_array_equal(y[k], np.concatenate([X[0, 5 * k : 5 * k + 2], X[1, 5 * k : 5 * k + 2]]))


def test_istft_wrong_frame_width_is_a_clear_error():
    fspec = lookup("stft")(n_fft=16, hop=8).configure({"in": SPEC})["out"]
    with pytest.raises(SpecError, match="regular frame rate"):  # an irregular stream has no output rate
        lookup("istft")(n_fft=16, hop=8).configure({"in": fspec.evolve(rate=0.0)})
    node = lookup("istft")(n_fft=16, hop=8)
    node.configure({"in": fspec})
    with pytest.raises(ValueError, match=r"istft chunk has shape \(3, 5\), expected \(frames, 18\)"):
        node.process({"in": Chunk(np.zeros((3, 5), complex))})
    assert node.process({"in": Chunk(np.zeros((0, 18), complex))}) == {}


def _stamps_after_a_gap(make, x, spec, cut, jump):
    """Output (t0, data) of the chunk after `cut`, fed contiguously and then after `jump` s of lost samples."""
    runs = []
    for gap in (False, True):
        node = make()
        node.configure({"in": spec})
        node.process({"in": Chunk(x[..., :cut] if spec.kind == "signal" else x[:cut], t0=2.0)})
        t0 = 2.0 + cut / spec.rate + (jump if gap else 0.0)
        rest = x[..., cut:] if spec.kind == "signal" else x[cut:]
        runs.append(node.process({"in": Chunk(rest, t0=t0, gap=gap)})["out"])
    return runs


@pytest.mark.parametrize(
    "name,params",
    [
        ("sliding_window", dict(size=50, hop=20)),
        ("stft", dict(n_fft=32, hop=16)),
        ("bandpower", dict(window=0.5, hop=0.2)),
        ("istft", dict(n_fft=32, hop=16)),
    ],
)
def test_gap_moves_the_time_base_by_the_lost_time(name, params):
    # a chunk flagged gap starts 3 s after the previous one ended: its outputs are stamped 3 s later than
    # the same samples arriving without a gap (counting samples alone would stamp them 3 s early)
    spec, x = SPEC, X
    if name == "istft":
        stft = lookup("stft")(**params)
        spec = stft.configure({"in": SPEC})["out"]
        x = run_chunked(stft, X, SPEC, [777])["out"]
    plain, gapped = _stamps_after_a_gap(lambda: lookup(name)(**params), x, spec, x.shape[spec.time_axis] // 2, 3.0)
    assert gapped.t0 == pytest.approx(plain.t0 + 3.0, abs=1e-9)
    np.testing.assert_array_equal(gapped.data, plain.data)  # the data are not touched


def test_stft_without_hop_below_the_default_says_the_hop_is_the_default():
    # `stft: {n_fft: 64}` read "hop 128 must divide n_fft 64", and the user had written no hop.
    with pytest.raises(SpecError, match=r"hop 128 \(the default\) must divide n_fft 64") as e:
        lookup("stft")(n_fft=64).configure({"in": SPEC})
    assert "give the same hop to the stft and the istft, e.g. hop: 32" in e.value.hint


def test_the_recording_start_goes_through_stft_istft_and_the_windowed_features():
    # Before: stft (and sliding_window, bandpower) made a spec without meas_date, so `stft -> istft -> recorder`
    # wrote a FIF dated the day of the run, not the recording's.
    dated = SPEC.evolve(meas_date="2023-05-04T10:00:00+00:00", first_time=12.5)
    fspec = lookup("stft")(n_fft=64, hop=32).configure({"in": dated})["out"]
    back = lookup("istft")(n_fft=64, hop=32).configure({"in": fspec})["out"]
    windows = lookup("sliding_window")(size=10, hop=5).configure({"in": dated})["out"]
    power = lookup("bandpower")().configure({"in": dated})["out"]
    for spec in (fspec, back, windows, power):
        assert (spec.meas_date, spec.first_time) == ("2023-05-04T10:00:00+00:00", 12.5)
