"""Spectral building blocks (nodes/dsp/spectral.py): STFT views, apply_mask aligned by time, gain, align;
a spectral enhancer built in YAML, the same in one process and across processes."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from wavegraph.nodes.dsp.spectral import Align, ApplyMask, ComplexToReal, Gain, Magnitude, Phase, RealToComplex
from wavegraph.nodes.dsp.windows import ISTFT, STFT
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

RATE = 16000.0
N_FFT, HOP = 256, 128
BINS = N_FFT // 2 + 1


def stft_frames(x: np.ndarray, dtype="float64"):
    """Whole-signal STFT frames of (channels, n) x, and their spec."""
    node = STFT(n_fft=N_FFT, hop=HOP)
    spec = node.configure({"in": signal_spec(RATE, [f"m{i}" for i in range(x.shape[0])], "audio", dtype, "a.u.")})[
        "out"
    ]
    z = np.concatenate([node.process({"in": Chunk(x.astype(dtype), 0.0)})["out"].data, node.finish()["out"].data])
    return z, spec


@pytest.fixture(scope="module")
def frames():
    x = np.random.default_rng(0).standard_normal((2, 4000))
    return stft_frames(x)


def test_views_compute_what_they_say_and_stream(frames):
    z, spec = frames
    mag = assert_streaming_equivalent(lambda: Magnitude(), z, spec)["out"]
    np.testing.assert_allclose(mag, np.abs(z), rtol=1e-15)
    logp = assert_streaming_equivalent(lambda: Magnitude(power=2, log=True), z, spec)["out"]
    np.testing.assert_allclose(logp, np.log10(np.maximum(np.abs(z) ** 2, 1e-10)), rtol=1e-12)
    ph = assert_streaming_equivalent(lambda: Phase(), z, spec)["out"]
    np.testing.assert_allclose(mag * np.exp(1j * ph), z, rtol=1e-12, atol=1e-12)
    ri = assert_streaming_equivalent(lambda: ComplexToReal(), z, spec)["out"]
    assert ri.shape == (z.shape[0], 2 * z.shape[1]) and ri.dtype == np.float64
    np.testing.assert_array_equal(ri[:, : z.shape[1]], z.real)
    ri_spec = ComplexToReal().configure({"in": spec})["out"]
    back = assert_streaming_equivalent(lambda: RealToComplex(), ri, ri_spec)["out"]
    assert RealToComplex().configure({"in": ri_spec})["out"].shape == spec.shape and back.dtype == np.complex128
    np.testing.assert_array_equal(back, z)


def test_views_keep_single_precision():
    z, spec = stft_frames(np.random.default_rng(1).standard_normal((1, 1000)), "float32")
    assert spec.dtype == "complex64"
    for node in (Magnitude(), Phase(), ComplexToReal()):
        out = node.configure({"in": spec})["out"]
        assert out.dtype == "float32" and node.process({"in": Chunk(z)})["out"].data.dtype == np.float32
    assert RealToComplex().configure({"in": ComplexToReal().configure({"in": spec})["out"]})["out"].dtype == "complex64"


def test_view_errors_say_what_to_connect(frames):
    _, spec = frames
    real = spec.evolve(dtype="float64")
    with pytest.raises(SpecError, match="magnitude needs complex frames.*got float64") as e:
        Magnitude().configure({"in": real})
    assert "stft" in e.value.hint
    with pytest.raises(SpecError, match="must be a features stream"):
        Phase().configure({"in": signal_spec(RATE, ["a"], "audio")})
    with pytest.raises(SpecError, match="even width"):
        RealToComplex().configure({"in": real.evolve(shape=(BINS,))})
    with pytest.raises(SpecError, match="complex already"):
        RealToComplex().configure({"in": spec})


def test_gain_scales_signals_and_spectra(frames):
    z, spec = frames
    out = assert_streaming_equivalent(lambda: Gain(db=-6.0), z, spec)["out"]
    np.testing.assert_allclose(out, z * 10 ** (-6 / 20), rtol=1e-15)
    x = np.random.default_rng(2).standard_normal((1, 500)).astype(np.float32)
    sspec = signal_spec(RATE, ["a"], "audio", "float32", "a.u.")
    y = assert_streaming_equivalent(lambda: Gain(db=20.0), x, sspec, rtol=1e-6)["out"]
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, 10 * x, rtol=1e-6)
    with pytest.raises(SpecError, match="gain scales signals and features, got a events"):
        Gain().configure({"in": StreamSpec("events", 0.0, (3,))})


# --- apply_mask ---------------------------------------------------------------------------------------------


def _feed(node, z, m, z_sizes, m_sizes, order, z_t0=0.0, m_t0=0.0, rate=RATE / HOP, axis=0):
    """Feed `z` to 'in' and `m` to 'mask' in chunks, interleaved as `order` says ('i'/'m'), then finish."""
    pieces, times = [], []
    its = {"in": (z, z_sizes, z_t0), "mask": (m, m_sizes, m_t0)}
    pos = {"in": [0, 0], "mask": [0, 0]}  # chunk number, offset

    def keep(out):
        if "out" in out:
            pieces.append(out["out"].data)
            times.append(out["out"].t0)

    for port in order:
        port = "in" if port == "i" else "mask"
        data, sizes, t0 = its[port]
        k, off = pos[port]
        if k >= len(sizes):
            continue
        sl = [slice(None)] * data.ndim
        sl[axis] = slice(off, off + sizes[k])
        keep(node.process({port: Chunk(np.ascontiguousarray(data[tuple(sl)]), t0 + off / rate)}))
        pos[port] = [k + 1, off + sizes[k]]
    assert all(pos[p][0] == len(its[p][1]) for p in pos), "order did not feed every chunk"
    keep(node.finish())
    return np.concatenate(pieces, axis=axis), times


def _sizes(n, rng, top):
    out = []
    while n > 0:
        out.append(int(min(n, rng.integers(1, top + 1))))
        n -= out[-1]
    return out


def _orders(nz, nm, rng):
    """In first, mask first, alternating, and random interleavings."""
    yield "i" * nz + "m" * nm
    yield "m" * nm + "i" * nz
    yield "im" * max(nz, nm)
    for _ in range(3):
        o = list("i" * nz + "m" * nm)
        rng.shuffle(o)
        yield "".join(o)


def test_apply_mask_pairs_frames_by_time_not_arrival(frames):
    z, spec = frames
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((z.shape[0], BINS)).astype(np.float32)  # one value per bin, both channels
    mspec = StreamSpec("features", spec.rate, (BINS,), "float32")
    want = z * np.tile(1 / (1 + np.exp(-logits.astype(np.float64))), (1, 2))
    for _ in range(4):
        zs, ms = _sizes(len(z), rng, 9), _sizes(len(z), rng, 9)
        for order in _orders(len(zs), len(ms), rng):
            node = ApplyMask(activation="sigmoid")
            assert node.configure({"in": spec, "mask": mspec})["out"] == spec
            got, times = _feed(node, z, logits, zs, ms, order)
            assert got.dtype == np.complex128
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"order {order}")
            assert times[0] == 0.0 and not node.counters


def test_apply_mask_drops_frames_without_a_partner(frames):
    """A mask that starts 5 frames late (a model that needs warm-up) pairs with the frames of its stamps."""
    z, spec = frames
    m = np.random.default_rng(4).uniform(size=(z.shape[0] - 5, 2 * BINS))
    mspec = StreamSpec("features", spec.rate, (2 * BINS,), "float64")
    frame = HOP / RATE
    for order in ("i" * 8 + "m" * 8, "m" * 8 + "i" * 8, "im" * 8):
        node = ApplyMask(activation="clip")
        node.configure({"in": spec, "mask": mspec})
        got, times = _feed(
            node,
            z,
            m,
            [len(z) // 8 + 1] * 7 + [len(z) - 7 * (len(z) // 8 + 1)],
            _sizes(len(m), np.random.default_rng(5), 6),
            order,
            m_t0=5 * frame,
        )
        np.testing.assert_array_equal(got, z[5:] * m)
        assert abs(times[0] - 5 * frame) < 1e-12
        assert node.counters == {"unmatched_in": 5}


def test_apply_mask_on_signals_and_its_errors(frames):
    _, spec = frames
    x = np.random.default_rng(6).standard_normal((2, 300))
    g = np.random.default_rng(7).uniform(size=(1, 300))
    sspec = signal_spec(RATE, ["a", "b"], "audio", "float64", "a.u.")
    node = ApplyMask()
    node.configure({"in": sspec, "mask": signal_spec(RATE, ["g"], "misc", "float64", "")})
    got, _ = _feed(node, x, g, [100, 50, 150], [7] * 42 + [6], "imimimim" + "m" * 40, rate=RATE, axis=1)
    np.testing.assert_array_equal(got, x * g)
    mspec = StreamSpec("features", spec.rate, (BINS,), "float32")
    with pytest.raises(SpecError, match="mask runs at 62.5 frames/s, 'in' at 125"):
        ApplyMask().configure({"in": spec, "mask": mspec.evolve(rate=62.5)})
    with pytest.raises(SpecError, match="100 does not divide 258"):
        ApplyMask().configure({"in": spec, "mask": mspec.evolve(shape=(100,))})
    with pytest.raises(SpecError, match="complex mask"):
        ApplyMask().configure({"in": spec.evolve(dtype="float64"), "mask": spec})
    with pytest.raises(SpecError, match="the mask is a signal stream, 'in' a features stream"):
        ApplyMask().configure({"in": spec, "mask": sspec})


# --- align --------------------------------------------------------------------------------------------------


def test_align_removes_the_stft_istft_delay_exactly():
    """stft -> istft returns the input n_fft - hop samples late; align gives back the input, same stamps."""
    x = np.random.default_rng(8).standard_normal((1, 40 * HOP))
    spec = signal_spec(RATE, ["a"], "audio", "float64", "a.u.")
    z, zspec = stft_frames(x)
    istft = ISTFT(n_fft=N_FFT, hop=HOP)
    yspec = istft.configure({"in": zspec})["out"]
    y = istft.process({"in": Chunk(z, 0.0)})["out"].data
    assert y.shape[1] == x.shape[1] + N_FFT - HOP  # the extra samples align removes
    delay = (N_FFT - HOP) / RATE
    assert yspec.delay == delay  # istft declares the delay on its stream, so align's `auto` finds it
    out = assert_streaming_equivalent(lambda: Align(), y, yspec)["out"]
    np.testing.assert_allclose(out, x, atol=1e-12)
    node = Align(delay=delay)
    node.configure({"in": yspec})
    first = next(
        o["out"]
        for o in (node.process({"in": Chunk(y[:, k : k + 100], 5.0 + k / RATE)}) for k in range(0, y.shape[1], 100))
        if o
    )
    assert first.t0 == pytest.approx(5.0)  # the source's time base
    delayed = spec.evolve(delay=0.012)
    a = Align()
    assert a.configure({"in": delayed})["out"].delay == 0.0 and a._d == 192
    none = Align()  # auto on a stream that declares no delay: the identity (a 16 kHz file needs no resampler)
    assert none.configure({"in": spec})["out"] == spec and none._d == 0
    assert none.process({"in": Chunk(x, 5.0)})["out"].t0 == 5.0
    with pytest.raises(SpecError, match="not a whole number of samples"):
        Align(delay=1e-5).configure({"in": spec})


def test_align_stamps_frames_by_a_delay_of_any_length():
    """A features stream (the enhancer's vad behind a resampler: 10 ms from 44.1 kHz, 0.625 ms from 48 kHz) is
    stamped exactly `delay` earlier, and the frames that would then lie before the stream's start are dropped.
    Before, align took signals only and whole samples: the vad's CSV stayed 10-20 ms late."""
    rate = 100.0
    p = np.arange(30, dtype=np.float32)[:, None]
    for delay, dropped in ((0.01, 1), (0.02, 2), (0.000625, 1), (0.0, 0)):
        spec = StreamSpec("features", rate, (1,), "float32", ("speech_prob",), ("misc",), delay=delay)
        node = Align()
        assert node.configure({"in": spec})["out"].delay == 0.0
        outs = [node.process({"in": Chunk(p[k : k + 7], 2.0 + k / rate, gap=k == 14)}) for k in range(0, 30, 7)]
        got = [o["out"] for o in outs if o]
        kept = np.concatenate([p[dropped:14], p[14 + dropped :]])  # after the gap at frame 14: dropped again
        np.testing.assert_array_equal(np.concatenate([c.data for c in got]), kept)
        assert got[0].t0 == pytest.approx(2.0 + dropped / rate - delay, abs=1e-12)  # >= the stream's start
        assert got[0].t0 >= 2.0 - 1e-12 and any(c.gap for c in got)  # a gap flag goes on
        for c in got:
            k = int(round((c.t0 + delay - 2.0) * rate))
            assert c.t0 == pytest.approx(2.0 + k / rate - delay, abs=1e-12) and c.data[0, 0] == k
    with pytest.raises(SpecError, match="signal, features or tokens stream with a rate"):
        Align().configure({"in": StreamSpec("events", 0.0, (3,), delay=0.01)})


# --- in YAML ------------------------------------------------------------------------------------------------


def _graph(tmp_path: Path, processes: bool, model: bool = True) -> tuple[dict, Path]:
    """noise -> stft -> magnitude(log) -> gain -> mamba (random) -> apply_mask(sigmoid) -> istft -> align -> recorder
    (without `model`, the gain's output is the mask: no torch in the workers)."""
    cfg = {
        "name": "spectral-enhancer",
        "nodes": [
            {"id": "src", "type": "noise", "params": {"rate": RATE, "chunk_size": 160, "duration": 1.0, "seed": 1}},
            {"id": "stft", "type": "stft", "params": {"n_fft": N_FFT, "hop": HOP}},
            {"id": "mag", "type": "magnitude", "params": {"log": True}},
            {"id": "gain", "type": "gain", "params": {"db": -3.0}},
            {"id": "net", "type": "mamba", "params": {"random_init": True, "d_model": BINS, "n_layers": 1}},
            {"id": "mask", "type": "apply_mask", "params": {"activation": "sigmoid"}},
            {"id": "istft", "type": "istft", "params": {"n_fft": N_FFT, "hop": HOP}},
            {"id": "align", "type": "align"},  # auto: the n_fft - hop samples the istft declares
            {"id": "rec", "type": "recorder", "params": {"path": str(tmp_path / "out.npz")}},
        ],
        "edges": [
            {"source": "src.out", "target": "stft.in"},
            {"source": "stft.out", "target": "mag.in"},
            {"source": "mag.out", "target": "gain.in"},
            {"source": "gain.out", "target": "net.in"},
            {"source": "net.out", "target": "mask.mask"},
            {"source": "stft.out", "target": "mask.in"},
            {"source": "mask.out", "target": "istft.in"},
            {"source": "istft.out", "target": "align.in"},
            {"source": "align.out", "target": "rec.in"},
        ],
    }
    if model:
        cfg["nodes"][0]["params"]["duration"] = 0.256  # short (torch on a shared CPU), 32 hops
    else:
        cfg["nodes"] = [n for n in cfg["nodes"] if n["id"] != "net"]
        cfg["edges"][3:5] = [{"source": "gain.out", "target": "mask.mask"}]
    if processes:
        cfg["processes"] = {
            "front": ["src", "stft"],
            "net": ["mag", "gain"] + (["net"] if model else []),
            "back": ["mask", "istft", "align", "rec"],
        }
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return cfg, path


def test_stft_to_a_model_needs_a_real_view(tmp_path):
    cfg, path = _graph(tmp_path, False)
    cfg["edges"][1:3] = [{"source": "stft.out", "target": "gain.in"}]
    cfg["nodes"] = [n for n in cfg["nodes"] if n["id"] != "mag"]
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(GraphError, match="mamba needs real-valued features, got complex128; fix: .*magnitude"):
        build_graph(load_config(path))


def test_spectral_enhancer_in_yaml(tmp_path):
    """stft -> magnitude -> model -> apply_mask -> istft -> align runs and keeps the source's length."""
    _, path = _graph(tmp_path, False)
    result = run_graph(build_graph(load_config(path)), in_process=True)
    assert result.exit_code == 0, result.failure
    out = np.load(tmp_path / "out.npz")["data"]
    assert out.shape == (1, 4096) and np.abs(out).max() > 0.05 and not result.stats["mask"]["counters"]


def test_spectral_mask_same_in_one_and_three_processes(tmp_path):
    """The mask and the frames reach apply_mask from different processes: the output is bit-identical."""
    outs = []
    for processes in (False, True):
        folder = tmp_path / ("mp" if processes else "ip")
        folder.mkdir()
        _, path = _graph(folder, processes, model=False)
        result = run_graph(build_graph(load_config(path)), in_process=not processes)
        assert result.exit_code == 0, result.failure
        outs.append(np.load(folder / "out.npz")["data"])
        assert not result.stats["mask"]["counters"], result.stats["mask"]
    assert outs[0].shape == (1, int(RATE))  # aligned: exactly the source's length
    assert np.abs(outs[0]).max() > 0.05
    np.testing.assert_array_equal(outs[0], outs[1])


def test_apply_mask_and_align_resume_from_their_state(frames):
    z, spec = frames
    m = np.random.default_rng(9).uniform(size=(z.shape[0], BINS))
    mspec = StreamSpec("features", spec.rate, (BINS,), "float64")
    rate = spec.rate

    def run(node, parts):
        return [node.process({p: Chunk(d, t0 / rate)}).get("out") for p, d, t0 in parts]

    first = [("in", z[:10], 0), ("mask", m[:6], 0), ("in", z[10:20], 10)]
    rest = [("mask", m[6:], 6), ("in", z[20:], 20)]
    whole = ApplyMask(min_gain=0.1)
    whole.configure({"in": spec, "mask": mspec})
    ref = [c for c in run(whole, first + rest) if c is not None]
    a = ApplyMask(min_gain=0.1)
    a.configure({"in": spec, "mask": mspec})
    got = [c for c in run(a, first) if c is not None]
    b = ApplyMask(min_gain=0.1)
    b.configure({"in": spec, "mask": mspec})
    b.load_state_dict(a.state_dict())
    got += [c for c in run(b, rest) if c is not None]
    np.testing.assert_array_equal(np.concatenate([c.data for c in got]), np.concatenate([c.data for c in ref]))
    np.testing.assert_array_equal(np.concatenate([c.data for c in ref]), z * np.tile(np.maximum(m, 0.1), (1, 2)))
    sspec = signal_spec(RATE, ["a"], "audio", "float64", "a.u.").evolve(delay=0.01)
    x = np.arange(400.0)[None]
    a, b = Align(), Align()
    a.configure({"in": sspec})
    b.configure({"in": sspec})
    assert a.process({"in": Chunk(x[:, :100], 0.0)}) == {}
    b.load_state_dict(a.state_dict())
    out = b.process({"in": Chunk(x[:, 100:], 100 / RATE)})["out"]
    np.testing.assert_array_equal(out.data, x[:, 160:])
    assert out.t0 == pytest.approx(0.0)
