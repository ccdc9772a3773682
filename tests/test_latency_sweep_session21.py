"""Declared latency against what each node does (session 21's sweep).

For every node type that passes a signal through, fed through the plain node class (no runtime) one sample per
chunk and in longer chunks: each output sample or frame is emitted when some input sample is the newest fed; its
content time is its stamp minus the delay its output spec declares (plus the input's). The lag between the two, in
input samples, is at most the declared `latency_samples` (one sample per chunk: exactly it, for every node whose
lag does not depend on where the sample falls), plus up to a chunk less one sample when fed in chunks. This checks
the declaration and the output stamps at once: a stamp off by k samples moves the lag by k. Impulses check where
the response lands (content at its stamp minus the declared delay) for the nodes that delay content (fir,
resample, stft -> istft), and `describe` on composed graphs sums what the pieces measure.
"""

from pathlib import Path

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import StreamSpec, signal_spec

T0 = 10.0
SIG = signal_spec(100.0, ["O1", "O2"])
EVENTS = StreamSpec("events", 0.0, (3,))
TINY_MODEL = dict(random_init=True, d_model=8, n_layers=1, device="cpu")


def _lags(node, port, spec, x, step, out="out", others=None):
    """Feed x (time last for a signal, first for features) to `port` in chunks of `step`; (lags, stamps, data): per
    output sample/frame of `out`, the newest input sample fed when it came out minus its content time, in input
    samples. `others`: {port: spec} of further inputs, fed the same samples (join, apply_mask)."""
    specs = {port: spec, **(others or {})}
    out_spec = node.configure(specs)[out]
    feat = spec.kind != "signal"
    n = x.shape[0] if feat else x.shape[-1]
    lags, stamps, data = [], [], []

    def take(o, newest):
        c = o.get(out)
        if c is None or c.data.size == 0:
            return
        frames = c.data.shape[0] if out_spec.kind != "signal" else c.data.shape[-1]
        t = c.t0 + np.arange(frames) / out_spec.rate if out_spec.rate else np.full(frames, c.t0)
        content = (t - out_spec.delay + spec.delay - T0) * spec.rate
        lags.extend(newest - content)
        stamps.extend(t)
        data.append(c.data)

    for k in range(0, n, step):
        piece = x[k : k + step] if feat else x[..., k : k + step]
        chunks = {port: Chunk(piece, T0 + k / spec.rate)}
        for p, s in (others or {}).items():  # the same samples, in that input's shape and type
            shaped = piece[..., :1] if feat else piece[:1]
            other = np.broadcast_to(shaped, (piece.shape[0], *s.shape) if feat else (*s.shape, piece.shape[-1]))
            real = np.dtype(s.dtype).kind != "c"
            chunks[p] = Chunk(np.real(other).astype(s.dtype) if real else np.asarray(other), chunks[port].t0)
        take(node.process(chunks), min(k + step, n) - 1)
        while node.holds_more and (o := node.more()):
            take(o, min(k + step, n) - 1)
    return np.array(lags), np.array(stamps), data, out_spec


def _signal(spec, n, seed=0):
    return np.random.default_rng(seed).standard_normal((*spec.shape, n))


# (type, params, input spec, samples, exact): exact = one sample per chunk reaches the declared latency exactly
SIGNAL_NODES = [
    ("bandpass", dict(l_freq=1.0, h_freq=20.0), SIG, 60, True),
    ("highpass", dict(freq=1.0), SIG, 60, True),
    ("lowpass", dict(freq=20.0), SIG, 60, True),
    ("notch", dict(freq=20.0), SIG, 60, True),
    ("filterbank", dict(bands=[[1.0, 10.0], [5.0, 20.0]]), SIG, 60, True),
    ("fir", dict(h_freq=20.0, numtaps=21), SIG, 60, True),
    ("fir", dict(l_freq=5.0, h_freq=20.0, numtaps=31), SIG, 80, True),
    ("resample", dict(rate=50.0), SIG, 80, True),  # 2:1, D = 20 input samples
    ("resample", dict(rate=300.0), SIG, 60, True),  # 1:3
    ("resample", dict(up=3, down=2), SIG, 60, True),
    ("sliding_window", dict(size=10, hop=3), SIG, 60, True),
    ("sliding_window", dict(size=10, hop=1), SIG, 40, True),
    ("sliding_window", dict(size=4, hop=7), SIG, 60, True),
    ("stft", dict(n_fft=16, hop=4), SIG, 60, True),
    ("stft", dict(n_fft=16, hop=8), SIG, 60, True),
    ("bandpower", dict(window=0.3, hop=0.1, bands={"alpha": [8.0, 13.0]}), SIG, 60, True),
    ("running_zscore", dict(window=0.2), SIG, 40, True),
    ("car", {}, SIG, 30, True),
    ("rereference", dict(channel="O1", keep_ref=True), SIG, 30, True),
    ("pick_channels", dict(pick=["O2"]), SIG, 30, True),
    ("mix", {}, SIG, 30, True),
    ("gain", dict(db=6.0), SIG, 30, True),
    ("align", dict(delay="auto"), SIG, 30, True),
    ("ssvep_decoder", dict(freqs=[8.0, 10.0], window=0.4, step=0.1, n_bands=1), SIG, 70, True),
]


def _case_id(case):
    return f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items() if k not in TINY_MODEL)}"


@pytest.mark.parametrize("case", SIGNAL_NODES, ids=_case_id)
def test_a_nodes_lag_from_content_to_output_is_its_declared_latency(case):
    typ, params, spec, n, exact = case
    out = "scores" if typ == "ssvep_decoder" else "out"
    x = _signal(spec, n)
    for step in (1, 7):
        node = lookup(typ)(**params)
        lags, _, _, _ = _lags(node, "in", spec, x, step, out)
        assert lags.size, f"{typ} emitted nothing from {n} samples"
        declared = node.latency_samples
        assert lags.min() >= -1e-6, f"{typ}: an output came out before its content's input ({lags.min():.3f})"
        assert lags.max() <= declared + step - 1 + 1e-6, f"{typ} step {step}: lag {lags.max()} > declared {declared}"
        if step == 1 and exact:
            assert lags.max() == pytest.approx(declared, abs=1e-6), f"{typ}: lag {lags.max()} != declared {declared}"
        assert node.latency_seconds == pytest.approx(declared / spec.rate)


def test_delayed_input_spec_is_carried_and_align_removes_it_at_no_latency():
    # a stream declaring 50 ms of content delay (a fir before): align drops it and stamps the rest 50 ms earlier
    spec = signal_spec(100.0, ["O1", "O2"]).evolve(delay=0.05)
    node = lookup("align")(delay="auto")
    lags, stamps, data, out_spec = _lags(node, "in", spec, _signal(spec, 30), 1)
    assert out_spec.delay == 0.0 and node.latency_samples == 0
    assert lags.max() == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(stamps, T0 + np.arange(5, 30) / 100.0 - 0.05)


@pytest.mark.parametrize(("n_fft", "hop"), [(16, 4), (16, 8), (32, 8)])
def test_stft_istft_chain_lags_by_the_sum_of_their_declared_latencies(n_fft, hop):
    stft, istft = lookup("stft")(n_fft=n_fft, hop=hop), lookup("istft")(n_fft=n_fft, hop=hop)
    frames = stft.configure({"in": SIG})["out"]
    out_spec = istft.configure({"in": frames})["out"]
    assert istft.latency_samples == n_fft // hop - 1  # frames, at the istft's input (frame) rate
    assert istft.latency_seconds * SIG.rate == pytest.approx(n_fft - hop)
    x = np.zeros((2, 120))
    x[:, 57] = 1.0
    lags, ys = [], []
    for k in range(120):
        o = stft.process({"in": Chunk(x[:, k : k + 1], T0 + k / SIG.rate)})
        o = istft.process({"in": o["out"]}) if o else {}
        if o:
            c = o["out"]
            t = c.t0 + np.arange(c.data.shape[-1]) / out_spec.rate
            lags += list(k - (t - out_spec.delay - T0) * SIG.rate)
            ys.append(c.data)
    declared = (stft.latency_seconds + istft.latency_seconds) * SIG.rate
    assert max(lags) == pytest.approx(declared) == pytest.approx(hop - 1 + n_fft - hop)
    y = np.concatenate(ys, axis=-1)[0]
    # the impulse lands at its own time once the declared delay is taken off the stamps
    assert np.argmax(np.abs(y)) - round(out_spec.delay * SIG.rate) == 57


@pytest.mark.parametrize(
    ("typ", "params"),
    [("fir", dict(h_freq=20.0, numtaps=21)), ("resample", dict(rate=50.0)), ("resample", dict(rate=300.0))],
)
def test_an_impulse_lands_at_its_time_once_the_declared_delay_is_taken_off(typ, params):
    x = np.zeros((2, 120))
    x[:, 58] = 1.0  # even: on the 50 Hz grid too
    for step in (1, 13):
        node = lookup(typ)(**params)
        _, stamps, data, out_spec = _lags(node, "in", SIG, x, step)
        tail = node.finish().get("out")
        y = np.concatenate(data + ([tail.data] if tail is not None else []), axis=-1)[0]
        t = stamps[0] + np.arange(y.size) / out_spec.rate
        np.testing.assert_allclose(np.diff(stamps), 1 / out_spec.rate)  # one grid across the chunks
        assert t[np.argmax(y)] - out_spec.delay == pytest.approx(T0 + 0.58, abs=1e-9)
        assert out_spec.delay * SIG.rate == pytest.approx(node.latency_samples)


def test_iir_filters_declare_no_delay_and_respond_from_the_impulse_on():
    # an IIR filter has no single delay: declared 0 (docs/nodes.md), the output stamped at its input's times, and
    # the response starts at the impulse, never before
    x = np.zeros((2, 60))
    x[:, 20] = 1.0
    for typ, params in [("lowpass", dict(freq=20.0)), ("bandpass", dict(l_freq=1.0, h_freq=20.0))]:
        node = lookup(typ)(**params)
        lags, stamps, data, out_spec = _lags(node, "in", SIG, x, 9)
        y = np.concatenate(data, axis=-1)[0]
        assert node.latency_samples == 0 and out_spec.delay == 0.0
        np.testing.assert_allclose(stamps, T0 + np.arange(60) / 100.0)
        assert np.all(y[:20] == 0) and y[20] != 0


def test_resample_with_zero_taps_in_front_declares_its_content_delay_and_comes_out_sooner():
    # 250 -> 200 Hz: up/down 4/5, half 50, D = 60 upsampled (15 input samples), of which p = 10 are zero taps put in
    # front to make D whole at both rates. The content lags the stamps by D (declared on the spec; the stream's first
    # outputs, whose content is the zeros before it, come out at that lag); an output comes out as soon as the taps
    # that are not zero have their input: at most half/up = 12.5 input samples after its content, which latency_samples
    # declares rounded up (session 45: it declared D/up, 15, and describe summed 10 ms too many at 44.1 -> 16 kHz)
    spec = signal_spec(250.0, ["O1"])
    node = lookup("resample")(rate=200.0)
    lags, _, _, out_spec = _lags(node, "in", spec, _signal(spec, 120), 1)
    assert node.latency_samples == 13 and out_spec.delay == pytest.approx(12 / 200)
    assert node.pad == 10
    assert lags.max() == pytest.approx(node.delay_up / node.up)  # the first output: the zeros before the stream
    assert lags[5:].max() == pytest.approx((node.delay_up - node.pad) / node.up)
    assert lags[5:].max() <= node.latency_samples


def _marker_lags(typ, params, marker_t, order=("in", "events"), step=1, out="out"):
    node = lookup(typ)(**params)
    specs = {"in": SIG, "events": EVENTS}
    node.configure({p: specs[p] for p in order})
    node.process({"events": Chunk(np.array([[T0 + marker_t, 0.0, 1.0]]), T0)})
    x = _signal(SIG, 200)
    lags = []
    for k in range(0, 200, step):
        o = node.process({"in": Chunk(x[:, k : k + step], T0 + k / SIG.rate)})
        while o:
            if out in o:
                lags.append(min(k + step, 200) - 1 - (o[out].t0 - T0) * SIG.rate)
            o = node.more() if node.holds_more else {}
    return node, np.array(lags)


@pytest.mark.parametrize(
    ("typ", "params", "out"),
    [
        ("epochs", dict(tmin=-0.1, tmax=0.3), "out"),
        ("epochs", dict(tmin=0.1, tmax=0.2), "out"),
        ("ssvep_trial_decoder", dict(freqs=[8.0, 10.0], window=0.5, n_bands=1, delay=0.14, pre=0.5), "scores"),
    ],
)
def test_marker_nodes_output_the_declared_latency_after_the_marker(typ, params, out):
    for marker_t in (1.0, 1.005):
        node, lags = _marker_lags(typ, params, marker_t, out=out)
        assert lags.size == 1 and lags[0] == pytest.approx(node.latency_samples, abs=0.5 + 1e-9)


@pytest.mark.parametrize("typ", ["epochs", "ssvep_trial_decoder"])
def test_latency_seconds_does_not_depend_on_the_order_the_inputs_were_configured_in(typ):
    # a graph gives configure() its inputs in the order of its edges: with the events edge written first,
    # latency_seconds divided by the events' rate (0, irregular) and said 0 ms (describe: 'latency=30 samples (0.00 ms)')
    params = dict(tmin=-0.1, tmax=0.3) if typ == "epochs" else dict(freqs=[8.0, 10.0], window=0.5, n_bands=1)
    seconds = []
    for order in (("in", "events"), ("events", "in")):
        node = lookup(typ)(**params)
        specs = {"in": SIG, "events": EVENTS}
        node.configure({p: specs[p] for p in order})
        seconds.append(node.latency_seconds)
        assert node.latency_samples > 0 and node.latency_seconds == pytest.approx(node.latency_samples / SIG.rate)
    assert seconds[0] == seconds[1]


def test_describe_sums_the_epochs_latency_whatever_the_order_of_the_edges(tmp_path):
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph, describe

    data = [[float(i) for i in range(50)]]
    for first, second in (("events", "out"), ("out", "events")):
        path = tmp_path / f"ep_{first}.yaml"
        path.write_text(
            "nodes:\n"
            f"  - {{id: src, type: array_source, params: {{data: {data}, rate: 100.0, events: [[0.2, 0.0, 1]]}}}}\n"
            "  - {id: ep, type: epochs, params: {tmin: -0.01, tmax: 0.3}}\n"
            "  - {id: sink, type: null_sink}\n"
            "edges:\n"
            f"  - {{source: src.{first}, target: ep.{'in' if first == 'out' else first}}}\n"
            f"  - {{source: src.{second}, target: ep.{'in' if second == 'out' else second}}}\n"
            "  - {source: ep.out, target: sink.in}\n"
        )
        text = describe(build_graph(load_config(path)))
        assert "src -> ep -> sink: 300.00 ms" in text, text


def _frames(spec, n, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, *spec.shape))
    if np.dtype(spec.dtype).kind == "c":
        x = x + 1j * np.random.default_rng(seed + 1).standard_normal(x.shape)
    return x.astype(spec.dtype)


FEATS = StreamSpec("features", 50.0, (6,), "float32")
COMPLEX = StreamSpec("features", 25.0, (9,), "complex128")
FEATURE_NODES = [
    ("conformer_encoder", dict(TINY_MODEL, n_heads=2, att_context_sizes=[(6, 2)]), FEATS, 11),  # (2+1)*4 - 1
    ("conformer_encoder", dict(TINY_MODEL, n_heads=2, subsampling=2, att_context_sizes=[(6, 0)]), FEATS, 1),
    # the lookahead chosen among the model's contexts: (1+1)*4 - 1 (declared fixed at the first context's, it would be 11)
    (
        "conformer_encoder",
        dict(TINY_MODEL, n_heads=2, att_context_sizes=[(6, 2), (4, 1)], att_context=(4, 1)),
        FEATS,
        7,
    ),
    ("mamba", TINY_MODEL, FEATS, 0),
    ("gla", dict(TINY_MODEL, n_heads=2), FEATS, 0),
    ("model", dict(random_init=True, kind="mamba", config=dict(d_model=8, n_layers=1), device="cpu"), FEATS, 0),
    ("magnitude", {}, COMPLEX, 0),
    ("phase", {}, COMPLEX, 0),
    ("complex_to_real", {}, COMPLEX, 0),
    ("real_to_complex", {}, StreamSpec("features", 25.0, (8,)), 0),
    ("gain", dict(db=-3.0), COMPLEX, 0),
]


@pytest.mark.parametrize("case", FEATURE_NODES, ids=_case_id)
def test_a_frame_nodes_lag_is_its_declared_latency_in_input_frames(case):
    typ, params, spec, expected = case
    x = _frames(spec, 24)
    for step in (1, 5):
        node = lookup(typ)(**params)
        lags, _, _, out_spec = _lags(node, "in", spec, x, step)
        assert node.latency_samples == expected
        assert lags.size and lags.min() >= -1e-6
        assert lags.max() <= expected + step - 1 + 1e-6
        if step == 1:
            assert lags.max() == pytest.approx(expected, abs=1e-6)
        assert node.latency_seconds == pytest.approx(expected / spec.rate)


def test_two_input_nodes_join_and_apply_mask_add_no_latency():
    sig_b = signal_spec(100.0, ["x"])
    node = lookup("join")()
    lags, stamps, _, _ = _lags(node, "a", SIG, _signal(SIG, 30), 1, others={"b": sig_b})
    assert node.latency_samples == 0 and lags.max() == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(stamps, T0 + np.arange(30) / 100.0)
    node = lookup("apply_mask")()
    lags, _, _, _ = _lags(
        node, "in", COMPLEX, _frames(COMPLEX, 20), 3, others={"mask": COMPLEX.evolve(dtype="float64")}
    )
    assert node.latency_samples == 0 and lags.max() <= 2 + 1e-9


@pytest.mark.parametrize("rate", [200.0, 1000.0, 250.0])
def test_eeg_tokenizer_lag_is_its_declared_latency(rate):
    # a token is stamped at the start of its newest hop block (200 Hz) on the resampled clock: it comes out when
    # that block's last sample does. Exact where the resampler has no zero taps in front (200 Hz: none; 1000 Hz:
    # 1/5); at 250 Hz (4/5, p/up = 2.5) the declaration counts the resampler's content delay D/up (as resample
    # does) and rounds the hop block up: over the lag by at most p/up + 1.
    spec = signal_spec(rate, ["C3"])
    node = lookup("eeg_tokenizer")()
    lags, stamps, _, out_spec = _lags(node, "in", spec, _signal(spec, int(1.6 * rate)), 1, out="tokens")
    r = node.resampler
    assert lags.size == 3
    np.testing.assert_allclose(np.diff(stamps), 0.5)
    assert out_spec.delay == pytest.approx(r.out_delay / 200.0)
    if r.pad == 0:
        assert lags.max() == pytest.approx(node.latency_samples)
    else:
        assert node.latency_samples - r.pad / r.up - 1 <= lags.max() <= node.latency_samples


def test_enhancer_output_lags_its_content_by_the_declared_319_samples_and_vad_is_within_it():
    spec = signal_spec(16000.0, ["mic"], "misc", dtype="float32")
    x = (0.1 * _signal(spec, 800)).astype(np.float32)
    for step, out in ((1, "out"), (37, "out"), (1, "vad")):
        node = lookup("enhancer")(device="cpu")
        lags, _, _, _ = _lags(node, "in", spec, x, step, out=out)
        assert node.latency_samples == 319
        if out == "out":
            assert lags.max() <= 319 + step - 1 + 1e-6 and lags.min() >= 319 - 1e-6  # every sample: 319 behind
        else:  # a vad frame is stamped at its middle (160 k) and comes out with its newest 10 ms block
            assert lags.max() == pytest.approx(159, abs=1e-6) and 159 <= node.latency_samples


def _chain_lag(nodes, spec, n):
    """Max lag (input samples) from content to output through `nodes` chained by hand, one sample per chunk."""
    specs = [spec]
    for node in nodes:
        specs.append(node.configure({"in": specs[-1]})["out"])
    last = specs[-1]
    x = _signal(spec, n)
    lags = []
    for k in range(n):
        o = {"out": Chunk(x[:, k : k + 1], T0 + k / spec.rate)}
        for node in nodes:
            o = node.process({"in": o["out"]}) if o else {}
        if o and o["out"].data.size:
            frames = o["out"].data.shape[-1] if last.kind == "signal" else o["out"].data.shape[0]
            content = (o["out"].t0 + np.arange(frames) / last.rate - last.delay - T0) * spec.rate
            lags += list(k - content[content > -1])  # (a resampler's first outputs hold the zeros before the stream)
    return max(lags)


def test_describe_sums_what_bandpass_resample_sliding_window_measure(tmp_path):
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph, describe

    path = tmp_path / "chain.yaml"
    path.write_text(
        "nodes:\n"
        "  - {id: src, type: sine, params: {rate: 100.0, freq: 5.0, duration: 1.0}}\n"
        "  - {id: bp, type: bandpass, params: {l_freq: 1.0, h_freq: 20.0}}\n"
        "  - {id: rs, type: resample, params: {rate: 50.0}}\n"
        "  - {id: win, type: sliding_window, params: {size: 4, hop: 2}}\n"
        "  - {id: sink, type: null_sink}\n"
        "edges:\n"
        "  - {source: src.out, target: bp.in}\n"
        "  - {source: bp.out, target: rs.in}\n"
        "  - {source: rs.out, target: win.in}\n"
        "  - {source: win.out, target: sink.in}\n"
    )
    graph = build_graph(load_config(path))
    declared_ms = graph.path_latency(["src", "bp", "rs", "win", "sink"]) * 1e3
    assert "src -> bp -> rs -> win -> sink: 260.00 ms" in describe(graph)  # 20 input samples + 3 frames of 2
    spec = graph.specs["src.out"]
    nodes = [lookup("bandpass")(l_freq=1.0, h_freq=20.0), lookup("resample")(rate=50.0)]
    nodes.append(lookup("sliding_window")(size=4, hop=2))
    assert _chain_lag(nodes, spec, 60) / spec.rate * 1e3 == pytest.approx(declared_ms)


def test_describe_of_the_speech_enhancer_file_graph_sums_what_resample_and_enhancer_measure(tmp_path):
    # configs/speech_enhance_file.yaml on a 22.05 kHz stereo file: mix -> resample 16 kHz (14 input samples, 0.63 ms:
    # the wait for its filter's centre; its content delay, 20 ms, is on the spec) -> enhancer (319 samples at 16 kHz,
    # 19.94 ms) -> align; measured through the same nodes chained by hand (from the first output of the file's content)
    import soundfile as sf
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph, describe

    wav = tmp_path / "noisy.wav"
    sf.write(wav, 0.01 * _signal(signal_spec(22050.0, ["l", "r"]), 2205).T, 22050)
    sets = [f"src.path={wav}", f"rec.path={tmp_path / 'e.wav'}", f"vad.path={tmp_path / 'v.csv'}"]
    graph = build_graph(load_config(Path(__file__).parents[1] / "configs" / "speech_enhance_file.yaml", sets))
    assert "src -> mono -> to16k -> enhancer -> align -> rec: 20.57 ms" in describe(graph)
    declared = graph.path_latency(["src", "mono", "to16k", "enhancer", "align", "rec"])
    spec = signal_spec(22050.0, ["l", "r"], "misc", dtype="float32")
    nodes = [lookup("mix")(), lookup("resample")(rate=16000.0), lookup("enhancer")(device="cpu")]
    assert declared - 1 / 22050.0 < _chain_lag(nodes, spec, 600) / 22050.0 <= declared  # (resample's: rounded up)
