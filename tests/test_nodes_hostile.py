"""Processing and model nodes fed inputs they were never shown: one channel and 256, float32 and int16,
empty chunks, NaN/Inf and overflowing samples, gaps, non-finite rates and parameters, broken markers.

Stateful nodes must still give the same output for any chunking (`assert_streaming_equivalent`), keep
their state clean under the NaN policy, and refuse bad parameters with a SpecError at configure time."""

import math

import numpy as np
import pytest
from wavegraph.nodes.dsp.bandpower import Bandpower
from wavegraph.nodes.dsp.filterbank import Filterbank
from wavegraph.nodes.dsp.filters import Bandpass, Notch
from wavegraph.nodes.dsp.fir import FIR
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.nodes.dsp.scaling import RunningZScore
from wavegraph.nodes.dsp.spectral import Align
from wavegraph.nodes.dsp.windows import STFT, SlidingWindow
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, split_sizes

RATE = 250.0
STATEFUL = {
    "bandpass": lambda **kw: Bandpass(l_freq=1.0, h_freq=40.0, init="steady", **kw),
    "notch": lambda **kw: Notch(freq=50.0, harmonics=2, **kw),
    "fir": lambda **kw: FIR(l_freq=1.0, h_freq=40.0, numtaps=51, **kw),
    "filterbank": lambda **kw: Filterbank(bands=[[6.0, 40.0], [14.0, 40.0]], **kw),
    "running_zscore": lambda **kw: RunningZScore(window=0.5, **kw),
    "resample_down": lambda **kw: Resample(rate=100.0, **kw),
    "resample_up": lambda **kw: Resample(rate=1000.0, **kw),
    "sliding_window": lambda **kw: SlidingWindow(size=20, hop=7, **kw),
    "stft": lambda **kw: STFT(n_fft=32, hop=8, **kw),
    "bandpower": lambda **kw: Bandpower(window=0.5, hop=0.1, **kw),
}


def spec_of(n_channels: int, dtype: str = "float64") -> StreamSpec:
    return signal_spec(RATE, [f"c{i}" for i in range(n_channels)], dtype=dtype)


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_stateful_nodes_stream_as_offline_for_odd_shapes_and_dtypes(name):
    make = STATEFUL[name]
    rng = np.random.default_rng(1)
    for n_ch, dtype, n in ((1, "float64", 300), (256, "float64", 90), (3, "float32", 300), (3, "int16", 300)):
        x = rng.standard_normal((n_ch, n)) * (1000.0 if dtype == "int16" else 1.0)
        rtol, atol = (1e-4, 1e-4) if dtype == "float32" else (1e-10, 1e-12)  # float64: the harness default
        chunkings = [[1] * n, split_sizes(n, rng, 23)]
        out = assert_streaming_equivalent(make, x.astype(dtype), spec_of(n_ch, dtype), chunkings, rtol=rtol, atol=atol)
        want = "float32" if dtype == "float32" else "float64"
        assert all(np.dtype(y.dtype).name in (want, f"complex{2 * np.dtype(want).itemsize * 8}") for y in out.values())


@pytest.mark.parametrize("policy", ["zero", "propagate"])
@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_nan_inf_and_empty_chunks_keep_streaming_equal_to_offline(name, policy):
    make = STATEFUL[name]
    x = np.random.default_rng(2).standard_normal((3, 300))
    x[1, 50], x[0, 120:130], x[2, 200] = np.nan, np.inf, -np.inf
    out = assert_streaming_equivalent(lambda: make(nan_policy=policy), x, spec_of(3))["out"]
    if policy == "zero":
        assert np.isfinite(out).all()
    else:
        assert not np.isfinite(out).all()
    # empty chunks (a bare end-of-stream marker, a (channels, 0) chunk) between the others change nothing
    whole, pieces = make(), make()
    whole.configure({"in": spec_of(3)})
    pieces.configure({"in": spec_of(3)})
    ref = [whole.process({"in": Chunk(x, 0.0)}), whole.finish()]
    got = []
    for i in range(0, 300, 30):
        got.append(pieces.process({"in": Chunk(np.zeros((3, 0)), i / RATE)}))
        got.append(pieces.process({"in": Chunk(x[:, i : i + 30], i / RATE)}))
    got += [pieces.process({"in": Chunk.end(300 / RATE)}), pieces.finish()]
    axis = whole.out_specs["out"].time_axis
    cat = [np.concatenate([o["out"].data for o in outs if "out" in o], axis=axis) for outs in (ref, got)]
    np.testing.assert_allclose(cat[1], cat[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_a_gap_gives_the_same_samples_and_times_for_any_chunking(name):
    """A chunk flagged gap whose t0 jumps 3.7 s: output data and per-sample times do not depend on how
    either side of the gap was chunked, and the times after it carry the jump."""
    make = STATEFUL[name]
    x = np.random.default_rng(3).standard_normal((3, 600))
    cut, jump = 337, 3.7

    def run(sizes):
        node = make()
        out_spec = node.configure({"in": spec_of(3)})["out"]
        data, times, pos = [], [], 0
        for s in sizes:
            c = Chunk(x[:, pos : pos + s], pos / RATE + (jump if pos >= cut else 0.0), gap=pos == cut)
            for o in (node.process({"in": c}),):
                if "out" in o:
                    data.append(o["out"].data)
                    n = o["out"].data.shape[out_spec.time_axis]
                    times.append(o["out"].t0 + np.arange(n) / out_spec.rate)
            pos += s
        tail = node.finish()
        if "out" in tail:
            data.append(tail["out"].data)
            times.append(tail["out"].t0 + np.arange(tail["out"].data.shape[out_spec.time_axis]) / out_spec.rate)
        return np.concatenate(data, axis=out_spec.time_axis), np.concatenate(times)

    ref_data, ref_times = run([cut, 600 - cut])
    rng = np.random.default_rng(4)
    for sizes in ([1] * 600, split_sizes(cut, rng, 40) + split_sizes(600 - cut, rng, 40)):
        data, times = run(sizes)
        np.testing.assert_allclose(data, ref_data, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(times, ref_times, rtol=0, atol=1e-9)
    assert np.all(np.diff(ref_times) > 0) and ref_times[-1] > 599 / RATE + jump - 1.0


@pytest.mark.parametrize("rate", [math.nan, math.inf, -250.0, 0.0])
@pytest.mark.parametrize("name", ["bandpass", "fir", "running_zscore", "resample_down", "sliding_window", "bandpower"])
def test_a_signal_without_a_finite_positive_rate_is_a_spec_error(name, rate):
    # NaN passed the old check (`not rate or rate <= 0`) and gave ValueError/OverflowError, or a node at NaN Hz
    with pytest.raises(SpecError, match="needs a regular signal"):
        STATEFUL[name]().configure({"in": signal_spec(rate, ["a", "b"])})


def test_filter_and_resample_parameters_at_the_edges():
    spec = spec_of(2)
    for make in (
        lambda: Bandpass(l_freq=0.0, h_freq=40.0),
        lambda: Bandpass(l_freq=1.0, h_freq=RATE / 2),
        lambda: Bandpass(l_freq=1.0, h_freq=200.0),
        lambda: Notch(freq=RATE / 2),
        lambda: Notch(freq=RATE / 4, harmonics=2),  # the 2nd harmonic is at Nyquist
        lambda: FIR(h_freq=RATE / 2),
        lambda: Resample(rate=math.nan),
        lambda: Resample(rate=RATE + 0.001),  # a ratio above max_factor (250001/250000; 1/3 Hz is 1/750 now)
    ):
        with pytest.raises(SpecError):
            make().configure({"in": spec})
    same = Resample(rate=RATE)
    same.configure({"in": spec})
    assert (same.up, same.down, same.latency_samples) == (1, 1, 0)
    x = np.random.default_rng(5).standard_normal((2, 400))
    np.testing.assert_array_equal(assert_streaming_equivalent(lambda: Resample(rate=RATE), x, spec)["out"], x)


def test_rate_ratios_match_resample_poly_and_chain():
    from scipy.signal import resample_poly

    x = np.random.default_rng(6).standard_normal((2, 2000))
    for rate_in, rate_out, up, down in ((44100.0, 16000.0, 160, 441), (1000.0, 200.0, 1, 5), (200.0, 250.0, 5, 4)):
        spec = signal_spec(rate_in, ["a", "b"])
        node = Resample(rate=rate_out)
        assert node.configure({"in": spec})["out"].rate == rate_out and (node.up, node.down) == (up, down)
        y = assert_streaming_equivalent(lambda r=rate_out: Resample(rate=r), x, spec)["out"]
        ref = resample_poly(x, up, down, axis=-1)
        d = node.out_delay
        np.testing.assert_allclose(y[:, d : d + ref.shape[1]], ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("delay", [-0.1, math.nan, math.inf])
def test_align_refuses_a_negative_or_non_finite_delay(delay):
    # -0.1 s used to keep only the LAST 25 samples of every chunk, silently; NaN/inf were ValueError/OverflowError
    with pytest.raises(SpecError, match="not a finite number >= 0"):
        Align(delay=delay).configure({"in": signal_spec(RATE, ["a"])})
    zero = Align(delay=0.0)
    zero.configure({"in": signal_spec(RATE, ["a"])})
    x = np.arange(50.0)[None]
    assert np.array_equal(zero.process({"in": Chunk(x, 1.0)})["out"].data, x)


def test_align_says_when_its_delay_dropped_the_whole_stream(caplog):
    """`delay: 1e20` (or any delay longer than the stream) gave an empty output, unsaid."""
    import logging

    node = Align(delay=1e20 / RATE)  # a whole number of samples
    node.configure({"in": signal_spec(RATE, ["a"])})
    assert node.process({"in": Chunk(np.ones((1, 50)), 0.0)}) == {}
    with caplog.at_level(logging.WARNING, "wavegraph.align"):
        assert node.finish() == {}
    (said,) = [r.getMessage() for r in caplog.records]
    assert said.startswith("align: the whole stream was dropped (50 samples, 0.2 s): its delay of 4e+17 s is longer")
    caplog.clear()
    short = Align(delay=0.02)  # 5 samples: a stream longer than its delay is not worth a word
    short.configure({"in": signal_spec(RATE, ["a"])})
    short.process({"in": Chunk(np.ones((1, 50)), 0.0)})
    with caplog.at_level(logging.WARNING, "wavegraph.align"):
        short.finish()
    assert caplog.records == []


# --- model nodes ----------------------------------------------------------------------------------------


def _model_nodes():
    from wavegraph.nodes.models.model import ConformerEncoderNode, GLANode, MambaNode

    return [
        lambda **kw: MambaNode(random_init=True, d_model=16, n_layers=1, **kw),
        lambda **kw: GLANode(random_init=True, d_model=16, n_layers=1, n_heads=2, **kw),
        lambda **kw: ConformerEncoderNode(
            random_init=True, d_model=16, n_layers=1, n_heads=2, att_context_sizes=[(8, 1)], **kw
        ),
    ]


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("k", range(3), ids=["mamba", "gla", "conformer"])
def test_a_float64_value_beyond_float32_range_does_not_poison_a_model_state(k):
    """1e300 is finite in float64, so the NaN policy let it through and the cast to float32 made it inf
    inside the model: every later output was NaN, for ever. Now it is counted and zeroed like an Inf."""
    make = _model_nodes()[k]
    spec = StreamSpec("features", 100.0, (8,), "float64")
    x = np.random.default_rng(7).standard_normal((48, 8))
    x[3, 2] = 1e300
    for policy in ("zero", "propagate"):
        node = make(nan_policy=policy)
        node.configure({"in": spec})
        outs = [node.process({"in": Chunk(x[:24], 0.0)}), node.process({"in": Chunk(x[24:], 0.24)}), node.finish()]
        y = np.concatenate([o["out"].data for o in outs if "out" in o])
        finite = np.asarray(np.isfinite(y).all(axis=1))
        assert finite[-4:].all() and node.counters[f"nan_{'zeroed' if policy == 'zero' else 'propagated'}"] == 1
        assert finite.all() if policy == "zero" else finite.sum() >= len(y) - 1
    clean = x.copy()
    clean[3, 2] = 0.0
    want = assert_streaming_equivalent(make, clean, spec, [[5] * 9 + [3]], rtol=1e-4, atol=1e-5)["out"]
    got = assert_streaming_equivalent(make, x, spec, [[5] * 9 + [3]], rtol=1e-4, atol=1e-5)["out"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # the same as a zero there
    ints = (np.random.default_rng(8).standard_normal((40, 8)) * 100).astype(np.int16)
    assert_streaming_equivalent(make, ints, StreamSpec("features", 100.0, (8,), "int16"), rtol=1e-4, atol=1e-5)


@pytest.mark.usefixtures("one_torch_thread")
def test_the_enhancer_zeroes_an_overflowing_sample_instead_of_going_silent():
    from wavegraph.nodes.models.enhancer import EnhancerNode

    node = EnhancerNode()
    node.configure({"in": signal_spec(16000.0, ["mic"], "misc", dtype="float64")})
    x = np.random.default_rng(9).standard_normal((1, 3200)) * 0.1
    x[0, 100] = 1e39  # finite in float64, inf in float32
    y = np.concatenate(
        [node.process({"in": Chunk(x[:, k : k + 800], k / 16000)})["out"].data for k in (0, 800, 1600, 2400)], axis=-1
    )
    assert np.isfinite(y).all() and np.abs(y[0, -1600:]).max() > 0 and node.counters["nan_zeroed"] == 1


def test_the_ssvep_trial_decoder_drops_markers_without_a_finite_time_or_code():
    """A NaN or -inf onset, or a NaN code with `codes` set, raised ValueError/OverflowError on every later
    chunk (the marker stayed pending); an inf onset waited for ever. Now each is counted bad_marker."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder

    x = np.random.default_rng(10).standard_normal((3, 1000))
    rows = [[math.nan, 0, 1], [-math.inf, 0, 1], [math.inf, 0, 1], [1.0, 0, math.nan], [1.0, 0, 1]]
    node = SSVEPTrialDecoder(freqs=[8.0, 10.0, 12.0], window=1.0, pre=0.2, codes=[1])
    node.configure({"in": signal_spec(RATE, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,))})
    out = [node.process({"events": Chunk(np.asarray(rows), 0.0)})]
    out += [node.process({"in": Chunk(x[:, i : i + 50], i / RATE)}) for i in range(0, 1000, 50)]
    decisions = [o["out"].data for o in out if "out" in o]
    assert len(decisions) == 1 and decisions[0][:, 0].tolist() == [1.0]
    assert node.counters["bad_marker"] == 4


# --- nodes that align inputs by time ------------------------------------------------------------------


def _join():
    from wavegraph.nodes.dsp.join import Join

    node = Join(inputs=["a", "b"])
    node.configure({"a": signal_spec(100.0, ["x"]), "b": signal_spec(100.0, ["y"])})
    return node


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_join_holds_a_bounded_buffer_of_its_other_inputs(order):
    """Once every reference sample had gone out, the next reference time was taken as -inf and nothing of
    the other inputs was pruned: 30,000 samples held after 3,000 chunks (memory and a copy of all of it on
    every chunk, growing with the length of a live run)."""
    node = _join()
    n_out = 0
    for k in range(3000):
        for port in order:
            out = node.process({port: Chunk(np.full((1, 10), float(k)), 0.1 * k)})
            n_out += sum(c.data.shape[1] for c in out.values())
    assert n_out == 30_000 and node.state.a_times.size <= 10 and node.state.b_times.size <= 10


def test_join_and_epochs_start_again_when_a_restarted_source_goes_back_in_time():
    """A restarted process group's sources replay from their start: a gap whose t0 goes back. Join dropped
    every later sample (all before the other input's first time) and held the rest for ever."""
    from wavegraph.nodes.dsp.epochs import Epochs

    node = _join()
    one = np.ones((1, 10))
    for k in range(5):
        for port in "ab":
            node.process({port: Chunk(one, 100.0 + 0.1 * k)})
    n_out = 0
    for k in range(200):
        for port in "ba":  # the other input restarts first: nothing of the reference is lost
            out = node.process({port: Chunk(one * k, 0.1 * k, gap=k == 0)})
            n_out += sum(c.data.shape[1] for c in out.values())
    assert n_out == 2000 and node.counters["time_reset_a"] == node.counters["time_reset_b"] == 1
    assert node.state.b_times.size <= 10 and "before_start" not in node.counters

    ep = Epochs(tmin=-0.05, tmax=0.1)
    ep.configure({"in": signal_spec(100.0, ["x"]), "events": StreamSpec("events", 0.0, (3,))})
    x = np.arange(100.0)[None]
    ep.process({"in": Chunk(x, 5.0)})
    ep.process({"in": Chunk(x + 1000.0, 0.0, gap=True)})  # back to t = 0
    out = ep.process({"events": Chunk(np.array([[0.3, 0.0, 1.0]]), 0.3)})
    np.testing.assert_array_equal(out["out"].data[0, 0], 1000.0 + np.arange(25, 41))


def test_running_zscore_recovers_from_a_huge_spike_whatever_the_chunking():
    """One 1e150 sample (its square is finite) in a whole-signal chunk: the cumulative sums over the
    chunk cancelled to 0 after it and every later output was 0, while small chunks recovered (450 of
    1200 samples differed). The block sums now give identical outputs for every chunking."""
    x = np.random.default_rng(11).standard_normal((2, 600))
    x[0, 100] = 1e150
    for spike in (1e150, 1e300):  # 1e300: its square is inf
        x[0, 100] = spike
        y = assert_streaming_equivalent(lambda: RunningZScore(window=0.2), x, spec_of(2), rtol=0, atol=0)["out"]
        clean = x.copy()
        clean[0, 100] = 0.0
        ref = assert_streaming_equivalent(lambda: RunningZScore(window=0.2), clean, spec_of(2), [[600]])["out"]
        np.testing.assert_allclose(y[:, 151:], ref[:, 151:], rtol=1e-9, atol=1e-9)  # once the window has passed it
        assert np.abs(y[0, 151:]).max() > 1


def test_epochs_drops_markers_without_a_finite_time_or_code():
    """A NaN code went out as an epoch labelled NaN (a recorder downstream then fails on int(NaN)); a NaN
    onset waited until the end of the stream. Both are dropped and counted at once."""
    from wavegraph.nodes.dsp.epochs import Epochs

    ep = Epochs(tmin=-0.05, tmax=0.1)
    ep.configure({"in": signal_spec(100.0, ["x"]), "events": StreamSpec("events", 0.0, (3,))})
    ep.process({"in": Chunk(np.arange(100.0)[None], 0.0)})
    rows = np.array([[0.3, 0.0, math.nan], [math.nan, 0.0, 1.0], [math.inf, 0.0, 1.0], [0.5, 0.0, 2.0]])
    out = ep.process({"events": Chunk(rows, 0.3)})
    assert out["events"].data.tolist() == [[0.5, 0.0, 2.0]] and ep.counters == {"bad_marker": 3}
    assert len(ep.state.pending) == 0


NON_FINITE_PARAMS = [
    ("running_zscore", {}, "window"),
    ("bandpower", {}, "window"),
    ("bandpower", {}, "hop"),
    ("bandpower", {}, "segment"),
    ("epochs", {}, "tmin"),
    ("epochs", {}, "tmax"),
    ("epochs", {}, "max_delay"),
    ("gain", {}, "db"),
    ("apply_mask", {}, "max_wait"),
    ("join", {}, "max_wait"),
    ("ssvep_decoder", {"freqs": [8.0, 10.0]}, "window"),
    ("ssvep_decoder", {"freqs": [8.0, 10.0]}, "step"),
    ("ssvep_trial_decoder", {"freqs": [8.0, 10.0]}, "delay"),
    ("ssvep_trial_decoder", {"freqs": [8.0, 10.0]}, "pre"),
    ("ssvep_trial_decoder", {"freqs": [8.0, 10.0]}, "max_delay"),
]


@pytest.mark.parametrize("value", [math.nan, math.inf])
@pytest.mark.parametrize("name,base,field", NON_FINITE_PARAMS, ids=[f"{n}.{f}" for n, _, f in NON_FINITE_PARAMS])
def test_a_non_finite_time_parameter_is_refused_when_the_node_is_built(name, base, field, value):
    # these raised ValueError/OverflowError ("cannot convert float NaN to integer") in configure()
    from pydantic import ValidationError
    from wavegraph.pipeline.registry import lookup

    with pytest.raises(ValidationError, match="finite number"):
        lookup(name)(**{**base, field: value})


def test_a_gain_beyond_the_dtype_is_a_spec_error():
    from wavegraph.nodes.dsp.spectral import Gain

    with pytest.raises(SpecError, match="beyond what float32"):  # was OverflowError (34, 'Numerical result ...')
        Gain(db=1e12).configure({"in": signal_spec(RATE, ["a"], dtype="float32")})
    g = Gain(db=-60.0)
    g.configure({"in": signal_spec(RATE, ["a"], dtype="float32")})
    np.testing.assert_allclose(g.process({"in": Chunk(np.ones((1, 2), np.float32), 0.0)})["out"].data, 1e-3, rtol=1e-6)
