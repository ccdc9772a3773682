"""Session 23 audit of principle 1 (streaming equals offline) and principle 5 (explicit state, declared latency):
every node of the library fed hostile chunkings (empty, 1 sample, prime, changing every chunk, one huge chunk),
reset() and state_dict() mid-stream, gaps, float32/float64, channel counts that differ from the configured ones,
and its declared latency against the lag an impulse measures. Each test here is a defect that audit found; it
failed before its fix."""

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import StreamSpec, signal_spec

SIG = signal_spec(250.0, ["O1", "Oz", "O2"])
FRAMES = StreamSpec("features", 31.25, (6,), "complex128")
REAL_FRAMES = StreamSpec("features", 31.25, (6,), "float64")

# name: (make, input spec); every one a node that maps each chunk on its own (the view nodes, gain) or align
PER_CHUNK = {
    "magnitude": (lambda: lookup("magnitude")(log=True), FRAMES),
    "phase": (lambda: lookup("phase")(), FRAMES),
    "complex_to_real": (lambda: lookup("complex_to_real")(), FRAMES),
    "real_to_complex": (lambda: lookup("real_to_complex")(), REAL_FRAMES),
    "gain_signal": (lambda: lookup("gain")(db=6.0), SIG),
    "gain_frames": (lambda: lookup("gain")(db=6.0), FRAMES),
    "align_signal": (lambda: lookup("align")(delay=0.008), SIG),
    "align_frames": (lambda: lookup("align")(delay=0.064), REAL_FRAMES),
}


def _chunk(spec: StreamSpec, n: int, width: int | None = None, dtype: str | None = None) -> np.ndarray:
    """n samples (a signal) or frames of the spec's shape, or with `width` channels/columns instead."""
    w = spec.shape[0] if width is None else width
    shape = (w, n) if spec.kind == "signal" else (n, w)
    rng = np.random.default_rng(n + w)
    x = rng.standard_normal(shape)
    if np.dtype(spec.dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype or spec.dtype)


@pytest.mark.parametrize("name", sorted(PER_CHUNK))
def test_a_chunk_of_another_width_than_configured_is_refused_naming_both_shapes(name):
    """A chunk with one channel (column) more or fewer than the spec the node was configured with, by hand: the view
    nodes, gain and align passed it on as their output, a chunk that did not fit the spec they declared (3 channels
    declared, 4 sent on), and real_to_complex failed with numpy's "could not broadcast input array from shape (5,4)
    into shape (5,3)". Every other node refuses it (nanpolicy.chunk_data); these now do too, with a ValueError that
    gives both shapes."""
    make, spec = PER_CHUNK[name]
    node = make()
    out_spec = node.configure({"in": spec})["out"]
    good = node.process({"in": Chunk(_chunk(spec, 40), t0=0.0)})["out"].data
    assert (good.shape[:-1] if out_spec.kind == "signal" else good.shape[1:]) == out_spec.shape
    for width in (spec.shape[0] + 2, spec.shape[0] - 2):
        with pytest.raises(ValueError, match=r"chunk has shape .* expected .* as configured"):
            node.process({"in": Chunk(_chunk(spec, 5, width), t0=1.0)})
    assert node.process({"in": Chunk(_chunk(spec, 0), t0=1.0)}) == {}  # an empty chunk is still no output


@pytest.mark.parametrize("name", sorted(PER_CHUNK))
def test_a_chunk_of_another_dtype_than_configured_comes_out_in_the_declared_dtype(name):
    """A float32 chunk (complex64) into a node configured for float64 (complex128), or the other way round: align
    passed float32 samples on under a float64 spec; now every per-chunk node casts the chunk to its configured
    dtype first, as the signal nodes do (nanpolicy.chunk_data), so its output is the dtype it declared."""
    make, spec = PER_CHUNK[name]
    other = {"float64": "float32", "complex128": "complex64"}[spec.dtype]
    for in_spec, sent in ((spec, other), (spec.evolve(dtype=other), spec.dtype)):
        node = make()
        out_spec = node.configure({"in": in_spec})["out"]
        got = node.process({"in": Chunk(_chunk(in_spec, 40, dtype=sent), t0=0.0)})["out"].data
        assert got.dtype == np.dtype(out_spec.dtype), (in_spec.dtype, sent)


def test_rereference_to_the_only_channel_is_refused_at_configure():
    """A one-channel recording re-referenced to that channel (`rereference: {channel: Cz}` on a Cz-only file) left
    a signal of no channel: `wavegraph validate` said OK and the run failed at the first chunk with numpy's "arrays
    used as indices must be of integer (or boolean) type". It is a SpecError at configure now, saying keep_ref."""
    from wavegraph.pipeline.spec import SpecError

    one = signal_spec(250.0, ["Cz"])
    with pytest.raises(SpecError, match=r"rereference to 'Cz' leaves no channel.*keep_ref: true"):
        lookup("rereference")(channel="Cz").configure({"in": one})
    kept = lookup("rereference")(channel="Cz", keep_ref=True)
    assert kept.configure({"in": one})["out"].shape == (1,)
    np.testing.assert_array_equal(kept.process({"in": Chunk(np.ones((1, 4)), t0=0.0)})["out"].data, np.zeros((1, 4)))


NO_CHANNEL_NODES = {
    "fir": lambda: lookup("fir")(h_freq=30.0, numtaps=31),
    "car": lambda: lookup("car")(),
    "mix": lambda: lookup("mix")(),
    "bandpass": lambda: lookup("bandpass")(l_freq=1.0, h_freq=30.0),
    "resample": lambda: lookup("resample")(rate=100.0),
    "running_zscore": lambda: lookup("running_zscore")(window=0.5),
    "stft": lambda: lookup("stft")(n_fft=32, hop=8),
    "sliding_window": lambda: lookup("sliding_window")(size=8, hop=4),
}


@pytest.mark.parametrize("name", sorted(NO_CHANNEL_NODES))
def test_a_signal_of_no_channel_is_refused_at_configure(name):
    """A signal spec of no channel (what the rereference above declared): fir failed mid-stream with numpy's "Cannot
    apply_along_axis when any iteration dimensions are 0", car and mix with a bare ZeroDivisionError, and the others
    took samples in and gave empty ones out. Every signal node now refuses it at configure, naming what to connect."""
    from wavegraph.pipeline.spec import SpecError

    with pytest.raises(SpecError, match=r"has no channel.*connect a signal of one or more channels"):
        NO_CHANNEL_NODES[name]().configure({"in": signal_spec(250.0, [])})


FEAT = StreamSpec("features", 100.0, (6,), "float32")
SMALL_CONFORMER = dict(
    random_init=True, seed=3, d_model=16, n_layers=1, n_heads=2, conv_kernel=5, att_context_sizes=[(8, 1)]
)
# nodes whose finish() flushes a tail through their state (zeros in, or the model's lookahead): (make, input, spec)
FLUSHING = {
    "resample_up": (lambda: lookup("resample")(rate=1000.0), SIG),
    "resample_down": (lambda: lookup("resample")(up=3, down=7), SIG),
    "fir": (lambda: lookup("fir")(h_freq=40.0, numtaps=31), SIG),
    "eeg_tokenizer": (lambda: lookup("eeg_tokenizer")(), SIG),
    "conformer_encoder": (lambda: lookup("conformer_encoder")(**SMALL_CONFORMER), FEAT),
}


def _run_file(node, x: np.ndarray, spec: StreamSpec, sizes) -> list[tuple[str, float, np.ndarray]]:
    """One file through an already configured node: its chunks from t0 0, then finish()."""
    outs, pos = [], 0
    for n in sizes:
        part = x[..., pos : pos + n] if spec.kind == "signal" else x[pos : pos + n]
        outs += [(p, c.t0, c.data) for p, c in sorted(node.process({"in": Chunk(part, t0=pos / spec.rate)}).items())]
        pos += n
    return outs + [(p, c.t0, c.data) for p, c in sorted(node.finish().items())]


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("name", sorted(FLUSHING))
def test_a_node_given_a_second_file_after_finish_starts_it_fresh(name):
    """One node, many files (as the enhancer says it does): after finish() the next chunk starts a new stream. The
    resampler given a second file after finish() failed with numpy's "strides is incompatible with shape of requested
    array and size of buffer" (up-sampling) or gave 148 samples for 151 (down-sampling), fir filtered the second file
    on from the zeros it had flushed, and the tokenizer and the conformer gave another number of frames."""
    make, spec = FLUSHING[name]
    rng = np.random.default_rng(5)
    n = 700 if name == "eeg_tokenizer" else 70 if spec.kind == "features" else 300
    x = rng.standard_normal((n, 6) if spec.kind == "features" else (3, n)).astype(spec.dtype)
    fresh = make()
    fresh.configure({"in": spec})
    want = _run_file(fresh, x, spec, [n // 3, n - n // 3])
    node = make()
    node.configure({"in": spec})
    _run_file(node, rng.standard_normal(x.shape).astype(spec.dtype), spec, [n])  # the first file
    got = _run_file(node, x, spec, [n // 3, n - n // 3])  # the second
    assert [(p, t0, d.shape) for p, t0, d in got] == [(p, t0, d.shape) for p, t0, d in want]
    for (_, _, d), (_, _, w) in zip(got, want):
        np.testing.assert_allclose(d, w, rtol=1e-6, atol=1e-6)


def _stft_spec() -> StreamSpec:
    return lookup("stft")(n_fft=32, hop=8, window="hann").configure({"in": SIG})["out"]


# the other single-input nodes with a stream state: (make, spec)
CONTINUING = {
    "bandpass": (lambda: lookup("bandpass")(l_freq=2.0, h_freq=40.0), SIG),
    "notch": (lambda: lookup("notch")(freq=50.0), SIG),
    "filterbank": (lambda: lookup("filterbank")(bands=[(4.0, 20.0), (20.0, 40.0)]), SIG),
    "running_zscore": (lambda: lookup("running_zscore")(window=0.1), SIG),
    "sliding_window": (lambda: lookup("sliding_window")(size=20, hop=3), SIG),
    "bandpower": (lambda: lookup("bandpower")(window=0.5, hop=0.1), SIG),
    "stft": (lambda: lookup("stft")(n_fft=32, hop=8), SIG),
    "istft": (lambda: lookup("istft")(n_fft=32, hop=8, window="hann"), None),
    "ssvep_decoder": (lambda: lookup("ssvep_decoder")(freqs=[8.0, 10.0], window=0.4, step=0.12, n_bands=2), SIG),
    "align": (lambda: lookup("align")(delay=0.048), SIG),
    "mamba": (lambda: lookup("mamba")(random_init=True, seed=3, d_model=16, n_layers=1, device="cpu"), FEAT),
}


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("name", sorted(CONTINUING))
def test_every_stateful_node_given_a_second_file_after_finish_starts_it_fresh(name):
    """finish() ends the stream for every node, not only those that flush a tail: the filters and running_zscore
    began the second file from the first one's state (a transient of the other recording), sliding_window, bandpower
    and ssvep_decoder put the first file's trailing samples, which finish() says it drops, into the second file's
    first window (100 windows for 94), and align did not drop the second file's delay (300 samples for 288: after an
    enhancer, which starts each file anew, its warm-up went out as signal)."""
    make, spec = CONTINUING[name]
    rng = np.random.default_rng(6)
    spec = spec or _stft_spec()
    n = 70 if spec.kind == "features" else 300
    if spec.kind == "features":
        x = rng.standard_normal((n, spec.shape[0]))
        x = (x + 1j * rng.standard_normal(x.shape) if spec.dtype.startswith("complex") else x).astype(spec.dtype)
    else:
        x = rng.standard_normal((3, n))
    other = x[::-1].copy() if spec.kind == "features" else x[:, ::-1] * 2.0
    fresh = make()
    fresh.configure({"in": spec})
    want = _run_file(fresh, x, spec, [n // 3, n - n // 3])
    node = make()
    node.configure({"in": spec})
    _run_file(
        node, np.ascontiguousarray(other)[..., : n - 7] if spec.kind == "signal" else other[: n - 7], spec, [n - 7]
    )
    got = _run_file(node, x, spec, [n // 3, n - n // 3])
    assert [(p, round(t0, 9), d.shape) for p, t0, d in got] == [(p, round(t0, 9), d.shape) for p, t0, d in want]
    for (_, _, d), (_, _, w) in zip(got, want):
        np.testing.assert_allclose(d, w, rtol=1e-6, atol=1e-6)


EV = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "stim"),))
# nodes of two inputs: (make, input specs, the port whose chunks hold the second input, markers (None: a signal))
TWO_INPUTS = {
    "join": (lambda: lookup("join")(), {"a": SIG, "b": SIG}, "b"),
    "apply_mask": (lambda: lookup("apply_mask")(activation="sigmoid"), {"in": SIG, "mask": SIG}, "mask"),
    "epochs": (lambda: lookup("epochs")(tmin=-0.1, tmax=0.3, baseline=None), {"in": SIG, "events": EV}, "events"),
    "ssvep_trial_decoder": (
        lambda: lookup("ssvep_trial_decoder")(freqs=[8.0, 10.0, 12.0], n_bands=2, window=0.3, pre=0.2),
        {"in": SIG, "events": EV},
        "events",
    ),
}


def _two_input_file(node, first: str, second: str, x: np.ndarray, y: np.ndarray) -> list:
    """One file through a configured node of two inputs, in time order, then finish_all() (what the runtime calls)."""
    if second == "events":
        arrivals = [(second, Chunk(np.array([[t, 0.0, 1.0]]), t0=t)) for t in (0.3, 0.9, 1.5)]
    else:
        arrivals = [(second, Chunk(y[:, a : a + 64], t0=a / 250.0)) for a in range(0, y.shape[1], 64)]
    arrivals += [(first, Chunk(x[:, a : a + 50], t0=a / 250.0)) for a in range(0, x.shape[1], 50)]
    arrivals.sort(key=lambda pc: pc[1].t0)
    outs = []
    for port, c in arrivals:
        outs += [(p, o.t0, o.data) for p, o in sorted(node.process({port: c}).items())]
    for tail in node.finish_all():
        outs += [(p, o.t0, o.data) for p, o in sorted(tail.items())]
    return outs


@pytest.mark.parametrize("name", sorted(TWO_INPUTS))
def test_a_node_of_two_inputs_given_a_second_file_after_finish_starts_it_fresh(name):
    """As the single-input nodes: after finish_all() the next chunk starts a new stream. apply_mask dropped the whole
    second file as late (counted late_in 600, late_mask 600: its frames were stamped before the last one it emitted),
    join stamped the second file 2.4 s on, after the first, and ssvep_trial_decoder decided other trials."""
    make, specs, second = TWO_INPUTS[name]
    first = next(p for p in specs if p != second)
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((3, 600)), rng.standard_normal((3, 600))
    fresh = make()
    fresh.configure(specs)
    want = _two_input_file(fresh, first, second, x, y)
    node = make()
    node.configure(specs)
    _two_input_file(node, first, second, y * 2.0, x[:, ::-1].copy())
    got = _two_input_file(node, first, second, x, y)
    assert want and [(p, round(t0, 9), d.shape) for p, t0, d in got] == [
        (p, round(t0, 9), d.shape) for p, t0, d in want
    ]
    for (_, _, d), (_, _, w) in zip(got, want):
        np.testing.assert_allclose(d, w, rtol=1e-9, atol=1e-12)
