"""IIR and FIR filter nodes: streaming == offline scipy on the whole signal, state, NaN policy, errors."""

import numpy as np
import pytest
from scipy import signal as ss
from wavegraph.nodes.dsp.fir import FIR
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

FS = 250.0
SPEC = signal_spec(FS, ["C3", "Cz", "C4"])


def make_x(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    return rng.standard_normal((3, n)) + 5.0 + np.sin(2 * np.pi * 10 * t)  # offset exercises steady init


IIR_CASES = [
    ("bandpass", dict(l_freq=1.0, h_freq=40.0), lambda: ss.butter(4, [1, 40], "bandpass", output="sos", fs=FS)),
    ("highpass", dict(freq=0.5, order=2), lambda: ss.butter(2, 0.5, "highpass", output="sos", fs=FS)),
    (
        "lowpass",
        dict(freq=30.0, design="cheby1", rp=0.5),
        lambda: ss.cheby1(4, 0.5, 30, "lowpass", output="sos", fs=FS),
    ),
    (
        "notch",
        dict(freq=50.0, harmonics=2),
        lambda: np.concatenate([ss.tf2sos(*ss.iirnotch(f, 30, fs=FS)) for f in (50, 100)]),
    ),
]


@pytest.mark.parametrize("name,params,ref", IIR_CASES, ids=[c[0] for c in IIR_CASES])
@pytest.mark.parametrize("init", ["zero", "steady"])
def test_iir_streaming_equals_sosfilt(name, params, ref, init):
    x = make_x()
    cls = lookup(name)
    # tolerance: float64, rtol 1e-10 (the harness default)
    whole = assert_streaming_equivalent(lambda: cls(**params, init=init), x, SPEC)["out"]
    sos = ref()
    zi = np.zeros((sos.shape[0], 3, 2))
    if init == "steady":
        zi = ss.sosfilt_zi(sos)[:, None, :] * x[:, 0][None, :, None]
    expected, _ = ss.sosfilt(sos, x, axis=-1, zi=zi)
    np.testing.assert_allclose(whole, expected, rtol=1e-10, atol=1e-12)


def test_steady_init_removes_onset_transient():
    x = np.full((3, 500), 7.0)
    y0 = run_chunked(lookup("lowpass")(freq=10.0, init="zero"), x, SPEC, [500])["out"]
    y1 = run_chunked(lookup("lowpass")(freq=10.0, init="steady"), x, SPEC, [500])["out"]
    assert abs(y0[0, 0] - 7.0) > 6.0  # zero state: starts from ~0
    np.testing.assert_allclose(y1, 7.0, rtol=1e-9)  # steady state: flat from the first sample


def test_bandpass_attenuates_out_of_band():
    t = np.arange(5000) / FS
    x = np.vstack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 80 * t), np.sin(2 * np.pi * 0.05 * t)])
    y = run_chunked(lookup("bandpass")(l_freq=1.0, h_freq=40.0), x, SPEC, [25] * 200)["out"][:, 2500:]
    rms = np.sqrt((y**2).mean(axis=1))
    assert rms[0] > 0.65 and rms[1] < 0.01 and rms[2] < 0.01


@pytest.mark.parametrize(
    "name,params", [("bandpass", dict(l_freq=1.0, h_freq=40.0)), ("fir", dict(h_freq=30.0, numtaps=31))]
)
def test_state_round_trip(name, params):
    x = make_x(800)
    cls = lookup(name)
    whole = run_chunked(cls(**params), x, SPEC, [800])["out"][:, :800]  # (not fir's tail, flushed at finish)
    a = cls(**params)
    a.configure({"in": SPEC})
    y1 = a.process({"in": Chunk(x[:, :333])})["out"].data
    b = cls(**params)
    b.configure({"in": SPEC})
    b.load_state_dict(a.state_dict())
    y2 = b.process({"in": Chunk(x[:, 333:])})["out"].data
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), whole, rtol=1e-12, atol=1e-14)
    b.reset()
    y3 = b.process({"in": Chunk(x[:, :333])})["out"].data
    np.testing.assert_allclose(y3, y1, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "params", [dict(h_freq=30.0), dict(l_freq=2.0), dict(l_freq=2.0, h_freq=30.0), dict(l_freq=45.0, h_freq=55.0)]
)
def test_fir_streaming_equals_lfilter(params):
    x = make_x()
    node = lookup("fir")(**params, numtaps=51)
    assert isinstance(node, FIR)
    whole = assert_streaming_equivalent(lambda: lookup("fir")(**params, numtaps=51), x, SPEC)["out"]
    node.configure({"in": SPEC})
    assert node.latency_samples == 25
    # (finish() flushes the last 25 samples: zeros through the filter, as resample's tail)
    padded = np.pad(x, ((0, 0), (0, 25)))
    np.testing.assert_allclose(whole, ss.lfilter(node.b, 1.0, padded, axis=-1), rtol=1e-10, atol=1e-12)
    # linear phase: a pass-band sine comes out delayed by exactly the declared latency
    if params == dict(h_freq=30.0):
        t = np.arange(2000) / FS
        s = np.tile(np.sin(2 * np.pi * 5 * t), (3, 1))
        y = run_chunked(lookup("fir")(**params, numtaps=51), s, SPEC, [2000])["out"]
        np.testing.assert_allclose(y[:, 500:2000], s[:, 475:-25], atol=1e-2)  # 1 sample off would be ~0.12


@pytest.mark.parametrize("name", ["bandpass", "fir"])
def test_nan_policy(name):
    params = dict(l_freq=1.0, h_freq=40.0) if name == "bandpass" else dict(h_freq=30.0, numtaps=21)
    x = make_x(600)
    bad = x.copy()
    bad[1, 100] = np.nan
    bad[2, 200:203] = np.inf
    zeroed = np.where(np.isfinite(bad), bad, 0.0)
    ref = run_chunked(lookup(name)(**params), zeroed, SPEC, [600])["out"]
    node = lookup(name)(**params)  # default: zero
    y = run_chunked(node, bad, SPEC, [50] * 12)["out"]
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)
    assert node.counters == {"nan_zeroed": 4}
    node = lookup(name)(**params, nan_policy="propagate")
    y = run_chunked(node, bad, SPEC, [50] * 12)["out"]
    lat = node.latency_samples
    assert np.isnan(y[1, 100 + lat]) and np.isnan(y[2, 200 + lat : 203 + lat]).all()
    assert np.isnan(y).sum() == 4  # later samples are not poisoned
    finite = np.isfinite(y)
    np.testing.assert_allclose(y[finite], ref[finite], rtol=1e-10, atol=1e-12)
    assert node.counters == {"nan_propagated": 4}
    assert_streaming_equivalent(lambda: lookup(name)(**params, nan_policy="propagate"), bad, SPEC)


@pytest.mark.parametrize(
    "name,params,msg",
    [
        ("lowpass", dict(freq=125.0), "Nyquist"),
        ("bandpass", dict(l_freq=1.0, h_freq=200.0), "h_freq"),
        ("bandpass", dict(l_freq=20.0, h_freq=10.0), "below"),
        ("notch", dict(freq=50.0, harmonics=3), "harmonic 3"),
        ("fir", dict(h_freq=30.0, numtaps=50), "odd"),
        ("fir", dict(), "l_freq"),
        ("fir", dict(h_freq=30.0, window="nope"), "fir design failed"),
    ],
)
def test_bad_params_raise_spec_error(name, params, msg):
    with pytest.raises(SpecError, match=msg) as e:
        lookup(name)(**params).configure({"in": SPEC})
    assert e.value.hint


@pytest.mark.parametrize("name,params", [("bandpass", dict(l_freq=1.0, h_freq=40.0)), ("fir", dict(h_freq=30.0))])
def test_complex_signal_is_refused(name, params):
    # casting complex chunks to the float working dtype would drop the imaginary part without a word
    with pytest.raises(SpecError, match="real-valued signal, got complex128"):
        lookup(name)(**params).configure({"in": signal_spec(FS, ["C3", "Cz", "C4"], dtype="complex128")})


def test_float32_and_banded_input():
    x = make_x(400).astype(np.float32)
    spec32 = signal_spec(FS, ["C3", "Cz", "C4"], dtype="float32")
    y = assert_streaming_equivalent(lambda: lookup("highpass")(freq=1.0), x, spec32, rtol=1e-5, atol=1e-6)["out"]
    assert y.dtype == np.float32
    banded = np.stack([make_x(300, 1), make_x(300, 2)])  # (bands, channels, samples)
    spec_b = SPEC.evolve(shape=(2, 3))
    yb = assert_streaming_equivalent(lambda: lookup("lowpass")(freq=20.0), banded, spec_b)["out"]
    assert yb.shape == banded.shape


@pytest.mark.parametrize("name,params", [("bandpass", dict(l_freq=1.0, h_freq=40.0)), ("notch", dict(freq=50.0))])
def test_float32_eeg_on_an_electrode_offset_is_filtered_in_double_precision(name, params):
    # 8 channels of 10 uV noise and a 20 uV 10 Hz tone on a 20 mV offset (a DC-coupled amplifier), float32, 1 kHz,
    # 10-sample chunks. The IIR poles sit within 1 % of the unit circle: filtered in float32 the output was off
    # by 10 % of its peak (2.8 uV for the bandpass); computed in float64 and rounded once it is float32-exact.
    rate, n = 1000.0, 10_000
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate
    x = (20e-3 + 10e-6 * rng.standard_normal((8, n)) + 20e-6 * np.sin(2 * np.pi * 10 * t)).astype(np.float32)
    spec = signal_spec(rate, [f"E{i}" for i in range(8)], dtype="float32")
    y = run_chunked(lookup(name)(**params), x, spec, [10] * (n // 10))["out"]
    design = lookup(name)(**params).design(rate)  # pyright: ignore[reportAttributeAccessIssue]  # an IIR node's
    exact = np.asarray(ss.sosfilt(design, x.astype(np.float64), axis=-1))  # scipy's float64 design
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, exact.astype(np.float32), rtol=0, atol=1e-6 * np.abs(exact).max())
    assert np.abs(y[:, n // 2 :] - exact[:, n // 2 :]).max() < 1e-4 * np.abs(exact[:, n // 2 :]).max()


@pytest.mark.parametrize("name,params", [("lowpass", dict(freq=40.0)), ("filterbank", dict(bands=[[1.0, 40.0]]))])
def test_a_float32_output_past_float32_range_is_an_overflow_not_a_python_warning(name, params):
    # A step across float32's range (a corrupt file's bytes read as floats): the float64 filter overshoots past
    # 3.4e38, and rounding that to float32 gave inf with numpy's "RuntimeWarning: overflow encountered in cast"
    # printed with a line of filters.py. The node counts it (`overflow`), zeroes the samples and flags the gap.
    import warnings

    node = lookup(name)(**params)
    node.configure({"in": signal_spec(1000.0, ["E0"], dtype="float32")})
    x = np.full((1, 400), -3.3e38, np.float32)
    x[:, 200:] *= -1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = node.process({"in": Chunk(x, 0.0)})["out"]
    assert out.data.dtype == np.float32 and np.isfinite(out.data).all() and out.gap
    assert node.counters["overflow"] > 0
