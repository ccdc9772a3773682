"""Registry-wide sweep of the first principles, node type by node type (session 44).

Every type in the registry (`wavegraph nodes`, nodes/__init__.py and the entry points) is run here, unless it is in
SKIP with the reason it cannot run offline. A type not in CASES is tried with its default parameters on EEG; a new
type that cannot be built so fails `test_every_registered_type_is_swept_or_skipped` until a case is added. Per case:

* streaming == whole for any chunking (pipeline.testing.assert_streaming_equivalent for one input; several inputs
  interleaved by time in several chunkings; a source: several `chunk_size`s);
* state_dict() mid-stream survives JSON and npz, is a snapshot, and loaded into a fresh node continues exactly;
  reset() mid-stream gives a fresh node's output;
* the declared latency_samples is the lag from content to output, one sample per chunk;
* a chunk flagged gap (after end_segment(), as the runtime drives it) starts a segment processed as if alone.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Source
from wavegraph.pipeline.registry import catalogue, lookup
from wavegraph.pipeline.spec import StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, default_chunkings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Types that cannot run offline here (hardware, a network stream, a file written as a side effect): what they promise
# is tested in their own files (tests/test_audio*.py, test_lsl*.py, test_recorder*.py, test_brainflow*.py, ...).
SKIP = {
    "audio_input": "a sound card (JACK/PortAudio)",
    "audio_output": "sink: a sound card",
    "lsl_inlet": "a live LSL outlet on the network",
    "lsl_outlet": "sink: publishes on the network",
    "brainflow_source": "a BrainFlow board session",
    "recorder": "sink: writes a file (its streaming promises: tests/test_recorder*.py)",
    "monitor": "sink: serves a web page",
    "null_sink": "sink: no output to compare",
    "file_source": "a recording on disk (its chunk-size sweep: tests/test_formats_sweep.py)",
}

# Replay sources whose reset() keeps their read position (`on_error: restart` goes on from where the failure was,
# docs/yaml.md, rather than replaying the file from its start): their reset is not a fresh node's.
RESET_GOES_ON = {"array_source", "file_source"}

RATE = 250.0
EEG_NAMES = ["Fz", "Cz", "Pz", "O1", "Oz", "O2", "STI"]
EEG = signal_spec(RATE, EEG_NAMES, ["eeg"] * 6 + ["stim"])
AUDIO = signal_spec(16000.0, ["mic"], dtype="float32")
FEAT = StreamSpec("features", 100.0, (6,), "float32")
EVENTS = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "left"), (2, "right")))


def eeg(n: int = 500, seed: int = 0) -> np.ndarray:
    """EEG-like volts: 10 uV noise and a 10 Hz alpha on a 5 mV offset, a 12 Hz SSVEP over the occipital channels,
    and a trigger channel stepping to codes 1 and 2."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    x = rng.standard_normal((7, n)) * 10e-6 + 5e-3
    x[:6] += 8e-6 * np.sin(2 * np.pi * 10 * t)
    x[3:6] += 5e-6 * np.sin(2 * np.pi * 12 * t)
    x[6] = 0.0
    for k, at in enumerate(range(60, n - 20, 150)):
        x[6, at : at + 5] = 1 + k % 2
    return x


def audio(n: int = 1600, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000.0
    return (0.1 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(n))[None].astype(np.float32)


def feats(n: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 6)).astype(np.float32)


def stft_frames(n_fft=32, hop=8) -> tuple[np.ndarray, StreamSpec]:
    s = lookup("stft")(n_fft=n_fft, hop=hop, window="hann")
    spec = s.configure({"in": EEG})["out"]
    x = eeg(400)
    return np.concatenate([s.process({"in": Chunk(x)})["out"].data, s.finish()["out"].data]), spec


def markers(onsets=(0.5, 1.1, 1.5), codes=(1, 2, 1)) -> np.ndarray:
    return np.array([[t, 0.0, c] for t, c in zip(onsets, codes)], dtype=np.float64)


@dataclass
class Case:
    params: dict[str, Any]
    inputs: dict[str, tuple[StreamSpec, np.ndarray]] = field(default_factory=lambda: {"in": (EEG, eeg())})
    tol: float = 1e-10  # the harness's rtol (atol: tol / 100)
    latency_exact: bool = True  # one sample per chunk reaches the declared latency exactly
    gap: bool = True  # a gap starts a segment processed as if alone (docs/nodes.md 'What a gap ends')
    gap_cuts_at_end: tuple[str, ...] = ()  # ports whose end_segment() leaves out what is stamped past the segment
    gap_frames: bool = False  # end_segment(t_next) keeps the frames whose newest hop block ends by t_next (stft)
    short_gap: bool = True  # a gap shorter than its delay loses the tail stamped past it, nothing else
    impulse: bool = True  # a linear (or at least causal) node: its impulse response says where its delay is


TINY = dict(random_init=True, seed=3, d_model=8, n_layers=1, device="cpu")
_FRAMES, _FRAME_SPEC = stft_frames()
_COMPLEX = {"in": (_FRAME_SPEC, _FRAMES)}
_TWO = {"a": (EEG, eeg(400, 1)), "b": (EEG, eeg(400, 2))}
_MASKED = {"in": (EEG, eeg(400, 1)), "mask": (EEG, eeg(400, 2) * 100)}
_MARKED = {"in": (EEG, eeg(600)), "events": (EVENTS, markers())}

CASES: dict[str, list[Case]] = {
    "align": [Case({}), Case({"delay": 0.048}, {"in": (EEG.evolve(delay=0.048), eeg())})],
    "apply_mask": [Case({}, _MASKED), Case({"activation": "sigmoid", "min_gain": 0.1}, _MASKED)],
    "bandpass": [Case({"l_freq": 1.0, "h_freq": 40.0}), Case({"l_freq": 8.0, "h_freq": 13.0, "init": "steady"})],
    "bandpower": [Case({}, latency_exact=False), Case({"window": 0.5, "hop": 0.1, "log": True}, latency_exact=False)],
    "car": [Case({}), Case({"ref_channels": ["O1", "O2"]})],
    "complex_to_real": [Case({}, _COMPLEX)],
    "conformer_encoder": [
        Case({**TINY, "n_heads": 2, "att_context_sizes": [(8, 1)]}, {"in": (FEAT, feats())}, 1e-5, latency_exact=False)
    ],
    "eeg_tokenizer": [Case({}, {"in": (EEG, eeg(1000))}, 1e-5, latency_exact=False)],
    "enhancer": [  # its vad frame stamped after a segment's end does not go out at a gap (nodes/models/enhancer.py)
        Case({"random_init": True, "d_model": 16}, {"in": (AUDIO, audio())}, 1e-5, False, gap_cuts_at_end=("vad",), impulse=False)
    ],
    "epochs": [Case({}, _MARKED), Case({"tmin": -0.1, "tmax": 0.3, "baseline": (None, 0.0)}, _MARKED)],
    "filterbank": [Case({"bands": [(6.0, 40.0), (14.0, 40.0)]})],
    "fir": [Case({"h_freq": 30.0}), Case({"l_freq": 1.0, "h_freq": 40.0, "numtaps": 31})],
    "gain": [Case({"db": 6.0})],
    "gla": [Case({**TINY, "n_heads": 2, "gate_low_rank": 4, "chunk_size": 8}, {"in": (FEAT, feats())}, 1e-5)],
    "highpass": [Case({"freq": 1.0}), Case({"freq": 0.5, "order": 2})],
    "istft": [Case({"n_fft": 32, "hop": 8, "window": "hann"}, _COMPLEX)],
    "join": [Case({}, _TWO)],
    "lowpass": [Case({"freq": 40.0}), Case({"freq": 30.0, "design": "ellip"})],
    "magnitude": [Case({}, _COMPLEX)],
    "mamba": [Case(TINY, {"in": (FEAT, feats())}, 1e-5)],
    "mix": [Case({}), Case({"weights": [1, 0, 0, 0, 0, 0, -1]})],
    "model": [Case(dict(random_init=True, seed=3, kind="mamba", config={"d_model": 8, "n_layers": 1}, device="cpu"), {"in": (FEAT, feats())}, 1e-5)],
    "notch": [Case({"freq": 50.0}), Case({"freq": 50.0, "harmonics": 2})],
    "phase": [Case({}, _COMPLEX)],
    "pick_channels": [Case({"pick": ["O1", "Oz", "O2"]}), Case({"drop": ["STI"]})],
    "real_to_complex": [Case({}, {"in": (StreamSpec("features", 25.0, (8,)), np.random.default_rng(5).standard_normal((60, 8)))})],
    "rereference": [Case({"channel": "Cz"}), Case({"pairs": ["O1-Oz", "Fz-Pz"]})],
    # 3/7: its outputs run ahead of the input by its leading zero taps, so process() has already sent samples stamped
    # past a gap shorter than that; kept (6403a41f: the overlap is dropped at the speaker; resample -> align is exact)
    # (its lag, half/up = 23.3 input samples, depends on where a sample falls: declared 24)
    "resample": [
        Case({"rate": 100.0}),
        Case({"up": 3, "down": 7, "nan_policy": "propagate"}, short_gap=False, latency_exact=False),
    ],
    "running_zscore": [Case({"window": 0.5}), Case({"window": 0.1})],
    "sliding_window": [Case({"size": 25, "hop": 10}), Case({"size": 5, "hop": 13})],
    "ssvep_decoder": [Case({"freqs": [8.0, 10.0, 12.0]}, latency_exact=False), Case({"freqs": [10.0, 12.0], "window": 0.4, "step": 0.12, "n_bands": 2})],
    # a marker before a short gap whose window lies after it is decided there, its pre-roll cut at the gap
    # (`short_preroll`, docs/nodes.md): markers keep their time across a gap
    "ssvep_trial_decoder": [Case({"freqs": [8.0, 10.0, 12.0], "window": 0.5, "pre": 0.2}, _MARKED, 1e-9, short_gap=False)],
    "stft": [Case({"n_fft": 32, "hop": 8}, gap_frames=True), Case({"n_fft": 64, "hop": 16, "window": "hann"}, gap_frames=True)],
    # sources: chunk_size is their chunking
    "array_source": [
        Case({"data": eeg(400)[:6], "rate": RATE, "ch_names": EEG_NAMES[:6], "ch_types": "eeg", "events": markers()}, {})
    ],
    "chirp": [Case({"duration": 2.0}, {}), Case({"duration": 2.0, "method": "logarithmic", "channels": 2}, {})],
    "eeg_sim": [Case({"duration": 2.0}, {}), Case({"duration": 2.0, "ssvep_freqs": [12.0], "line_uv": 5.0}, {})],
    "noise": [Case({"duration": 2.0}, {}), Case({"duration": 2.0, "color": "pink", "channels": 3}, {})],
    "sine": [Case({"duration": 2.0}, {}), Case({"duration": 2.0, "freq": [5.0, 7.5], "channels": 2}, {})],
}  # fmt: skip


# --- driving a node by hand, as the executor does --------------------------------------------------------------------
def _params():
    out = []
    for name in sorted(catalogue()):
        if name not in SKIP:
            out += [pytest.param(name, i, id=f"{name}-{i}") for i in range(len(CASES.get(name, [None])))]
    return out


def _case(name: str, i: int) -> Case:
    return CASES[name][i] if name in CASES else Case({})  # a new type: its defaults on EEG


def _is_source(name: str) -> bool:
    return issubclass(lookup(name), Source)


def _make(name: str, case: Case):
    node = lookup(name)(**case.params)
    node.configure({p: spec for p, (spec, _) in case.inputs.items()})
    return node


def _length(spec: StreamSpec, x: np.ndarray) -> int:
    return len(x) if spec.kind == "events" else x.shape[spec.time_axis]


def _arrivals(case: Case, sizes_of=None, shift: float = 0.0, start: int = 0, gap: bool = False):
    """Every input's chunks, in the order of their times (a marker as a chunk of its own at its onset): signals and
    features cut in `sizes_of(n)` from sample `start`, stamped + `shift`; the first chunk of each input flagged `gap`."""
    items = []
    for k, (port, (spec, x)) in enumerate(case.inputs.items()):
        if spec.kind == "events":
            rows = x[x[:, 0] >= start / RATE] if start else x
            items += [(r[0] + shift, k, port, Chunk(r[None] + [shift, 0, 0], t0=r[0] + shift)) for r in rows]
            continue
        n, pos = _length(spec, x), start
        for j, s in enumerate((sizes_of or (lambda m: [m]))(n - start)):
            idx = [slice(None)] * x.ndim
            idx[spec.time_axis] = slice(pos, pos + s)
            t0 = pos / spec.rate + shift
            data = np.ascontiguousarray(x[tuple(idx)]).view()
            data.setflags(write=False)  # read-only, as the runtime gives a node its inputs (CASES' arrays stay intact)
            items.append((t0, k, port, Chunk(data, t0=t0, gap=gap and j == 0)))
            pos += s
    items.sort(key=lambda item: (item[0], item[1]))
    return [(port, c) for _, _, port, c in items]


def _collect(node, out, outs):
    for port, c in out.items():
        if c is not None:
            outs.append((port, c.t0, c.data))


def _feed(node, arrivals, outs=None):
    outs = [] if outs is None else outs
    for port, c in arrivals:
        if c.gap:  # the runtime ends the segment first (node.py: end_segment)
            _collect(node, node.end_segment(c.t0 if c.data.size else None), outs)
        _collect(node, node.process({port: c}), outs)
        while node.holds_more and (more := node.more()):
            _collect(node, more, outs)
    return outs


def _end(node, outs):
    for out in node.finish_all():
        _collect(node, out, outs)
    return outs


def _read(node, n_chunks=None, outs=None):
    """A source's read() until the end (or n_chunks of them)."""
    outs = [] if outs is None else outs
    k = 0
    while n_chunks is None or k < n_chunks:
        out = node.read()
        if out is None:
            break
        _collect(node, out, outs)
        k += 1
    return outs


def _result(node, outs):
    """Per port: the data along its time axis (rows for events) and, for a regular port, every sample's time."""
    res = {}
    for port in sorted({p for p, _, _ in outs}):
        spec, items = node.out_specs[port], [(t0, d) for p, t0, d in outs if p == port]
        regular = bool(spec.rate) and spec.kind != "events"
        axis = spec.time_axis if regular else 0
        data = np.concatenate([d for _, d in items], axis=axis)
        times = np.concatenate([t0 + np.arange(d.shape[axis]) / spec.rate for t0, d in items]) if regular else None
        res[port] = (data, times)
    return res


def _assert_same(got, want, tol, what):
    assert set(got) == set(want), f"{what}: ports {sorted(got)} != {sorted(want)}"
    for port, (data, times) in want.items():
        assert got[port][0].shape == data.shape, f"{what}: '{port}' shape {got[port][0].shape} != {data.shape}"
        assert got[port][0].dtype == data.dtype, f"{what}: '{port}' dtype {got[port][0].dtype} != {data.dtype}"
        np.testing.assert_allclose(got[port][0], data, rtol=tol, atol=tol / 100, err_msg=f"{what}: '{port}'")
        if times is not None:
            np.testing.assert_allclose(got[port][1], times, rtol=0, atol=1e-9, err_msg=f"{what}: '{port}' times")


def _whole(name, case):
    node = _make(name, case)
    outs = _read(node) if _is_source(name) else _end(node, _feed(node, _arrivals(case)))
    return node, _result(node, outs)


def _uneven(n):
    return default_chunkings(n, seed=4)[1]


# --- JSON and npz: a state is plain data --------------------------------------------------------------------------
def _enc(v):
    if isinstance(v, dict):
        return {k: _enc(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        data = np.stack([v.real, v.imag], -1).tolist() if v.dtype.kind == "c" else v.tolist()
        return {"__array__": data, "dtype": v.dtype.str, "shape": list(v.shape)}
    return v.item() if isinstance(v, np.generic) else v


def _json(state):
    """A JSON round trip keeping array dtypes and shapes; a value JSON cannot hold (a tensor, an object) fails."""

    def dec(v):
        if isinstance(v, dict) and "__array__" in v:
            if 0 in v["shape"]:
                return np.zeros(v["shape"], v["dtype"])
            a = np.array(v["__array__"], dtype=np.float64 if np.dtype(v["dtype"]).kind == "c" else v["dtype"])
            a = a[..., 0] + 1j * a[..., 1] if np.dtype(v["dtype"]).kind == "c" else a
            return a.astype(v["dtype"]).reshape(v["shape"])
        return {k: dec(x) for k, x in v.items()} if isinstance(v, dict) else v

    return dec(json.loads(json.dumps(_enc(state))))


def _npz(state):
    """The arrays in an .npz (complex, 0-d and empty ones too, at any depth), the rest as JSON text beside them."""
    arrays: list[np.ndarray] = []

    def out(v):
        if isinstance(v, dict):
            return {k: out(x) for k, x in v.items()}
        if isinstance(v, np.ndarray):
            arrays.append(v)
            return {"__npz__": len(arrays) - 1}
        return v.item() if isinstance(v, np.generic) else v

    rest = json.dumps(out(state))
    buf = io.BytesIO()
    np.savez(buf, __rest__=np.array(rest), **{f"a{i}": v for i, v in enumerate(arrays)})
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:

        def back(v):
            if isinstance(v, dict):
                return f[f"a{v['__npz__']}"] if "__npz__" in v else {k: back(x) for k, x in v.items()}
            return v

        return back(json.loads(str(f["__rest__"])))


def _same_state(a, b) -> bool:
    return json.dumps(_enc(a), sort_keys=True) == json.dumps(_enc(b), sort_keys=True)


# --- the sweep -------------------------------------------------------------------------------------------------------
def test_every_registered_type_is_swept_or_skipped():
    """A type added to the registry is swept with its default parameters on EEG, or needs a case or a skip reason."""
    for name in sorted(catalogue()):
        if name in SKIP or name in CASES:
            continue
        try:
            _make(name, Case({}))
        except Exception as e:  # noqa: BLE001
            pytest.fail(
                f"new node type '{name}' does not run with its defaults on EEG ({e}); add a Case to CASES "
                f"or, if it cannot run offline, a reason to SKIP"
            )
    assert not set(SKIP) - set(catalogue()) and not set(CASES) - set(catalogue()), "a case or skip of no type"


@pytest.mark.parametrize("name,i", _params())
def test_streaming_equals_whole_for_any_chunking(name, i):
    case = _case(name, i)
    if _is_source(name):  # its chunk_size is its chunking
        big = _make(name, Case({**case.params, "chunk_size": 100_000}, {}))
        whole = _result(big, _read(big))
        for size in (1, 7, 64):
            node = _make(name, Case({**case.params, "chunk_size": size}, {}))
            _assert_same(_result(node, _read(node)), whole, case.tol, f"chunk_size {size}")
        return
    if len(case.inputs) == 1:
        port, (spec, x) = next(iter(case.inputs.items()))
        atol = case.tol / 100
        assert_streaming_equivalent(lambda: lookup(name)(**case.params), x, spec, rtol=case.tol, atol=atol, port=port)
        return
    _, whole = _whole(name, case)
    assert whole, f"{name}: no output at all"
    for seed in (0, 1):
        n = max(_length(s, x) for s, x in case.inputs.values())
        for sizes in default_chunkings(n, seed=seed, ones_prefix=40):
            node = _make(name, case)
            cut = lambda m, sizes=sizes: _fit(sizes, m)  # noqa: E731
            _assert_same(
                _result(node, _end(node, _feed(node, _arrivals(case, cut)))),
                whole,
                case.tol,
                f"chunk sizes {sizes[:8]}",
            )


def _fit(sizes, n):
    """`sizes` cut or extended to add up to n."""
    out, total = [], 0
    for s in sizes:
        if total >= n:
            break
        out.append(min(s, n - total))
        total += out[-1]
    return out + ([n - total] if total < n else [])


def _split_points(k: int) -> list[int]:
    return sorted({1, k // 3, (2 * k) // 3, k - 1} - {0}) if k > 1 else []


@pytest.mark.parametrize("name,i", _params())
def test_state_mid_stream_through_json_and_npz_continues_and_reset_is_fresh(name, i):
    case = _case(name, i)
    _, whole = _whole(name, case)
    source = _is_source(name)
    if source:
        case = Case({**case.params, "chunk_size": 23}, {}, case.tol)
        steps = len(_read(_make(name, case)))
    else:
        arrivals = _arrivals(case, _uneven)
        steps = len(arrivals)
    fresh = _make(name, case)
    empty = fresh.state_dict()  # a state before any data loads too
    _make(name, case).load_state_dict(_json(empty))
    for k in _split_points(steps):
        for how, trip in (("JSON", _json), ("npz", _npz)):
            a = _make(name, case)
            outs = _read(a, k) if source else _feed(a, arrivals[:k])
            saved = a.state_dict()
            kept = _json(saved)
            _read(a) if source else _end(a, _feed(a, arrivals[k:]))
            assert _same_state(saved, kept), f"{name}: the state saved after {k} chunks changed as the node ran on"
            b = _make(name, case)
            b.load_state_dict(trip(saved))
            got = _read(b, outs=list(outs)) if source else _end(b, _feed(b, arrivals[k:], list(outs)))
            _assert_same(_result(b, got), whole, case.tol, f"{name}: state after {k} of {steps} chunks via {how}")
    if name in RESET_GOES_ON:
        return
    c = _make(name, case)
    _read(c, steps // 2) if source else _feed(c, arrivals[: steps // 2])
    c.reset()
    got = _read(c) if source else _end(c, _feed(c, _arrivals(case, _uneven)))
    _assert_same(_result(c, got), whole, case.tol, f"{name}: reset() mid-stream")


def _one_input(name: str, i: int) -> Case:
    case = _case(name, i)
    if _is_source(name) or len(case.inputs) != 1:
        pytest.skip(
            "a source, or several inputs (their latency and gaps: test_latency_sweep_session21.py, test_state_sweep.py)"
        )
    return case


T0 = 10.0


@pytest.mark.parametrize("name,i", _params())
def test_declared_latency_is_the_lag_from_content_to_output(name, i):
    """Fed one sample (frame) per chunk, each output sample's content time (its stamp less the delay its spec
    declares, plus the input's) lags the newest input sample by at most latency_samples, exactly that where the lag
    does not depend on where a sample falls; latency_seconds is latency_samples at the input rate."""
    case = _one_input(name, i)
    port, (spec, x) = next(iter(case.inputs.items()))
    node = lookup(name)(**case.params)
    out_specs = node.configure({port: spec})
    n = _length(spec, x)
    lags: dict[str, list[float]] = {}
    for k in range(n):
        idx = [slice(None)] * x.ndim
        idx[spec.time_axis] = slice(k, k + 1)
        for p, c in node.process({port: Chunk(np.ascontiguousarray(x[tuple(idx)]), T0 + k / spec.rate)}).items():
            o = out_specs[p]
            if not o.rate or o.kind == "events" or c.data.size == 0:
                continue
            t = c.t0 + np.arange(c.data.shape[o.time_axis]) / o.rate
            content = (t - o.delay + spec.delay - T0) * spec.rate  # (a resampler's first outputs: zeros before it)
            lags.setdefault(p, []).extend(k - content[content > -1])
    declared = node.latency_samples
    assert lags, f"{name}: no regular output from {n} samples"
    for p, got in lags.items():
        assert min(got) >= -1e-6, f"{name} '{p}': an output came out before its content ({min(got):.3f} samples)"
        assert max(got) <= declared + 1e-6, f"{name} '{p}': lag {max(got):.3f} > declared {declared}"
    if case.latency_exact:
        assert max(max(v) for v in lags.values()) == pytest.approx(declared, abs=1e-6), f"{name}: lags {lags}"
    assert node.latency_seconds == pytest.approx(declared / spec.rate)


@pytest.mark.parametrize("name,i", _params())
def test_an_impulse_responds_where_the_declared_delay_puts_it(name, i):
    """An impulse on two channels (at a sample on the output grid) through a node with a signal output: with the delay
    its output spec declares taken off the stamps, nothing responds before the impulse where none is declared (a
    causal filter), and the peak lands on the impulse where one is (fir, resample, align)."""
    case = _one_input(name, i)
    port, (spec, x) = next(iter(case.inputs.items()))
    if spec.kind != "signal" or not case.impulse:
        pytest.skip("no signal in, or not linear (its response to an impulse: its own tests)")
    k0 = _length(spec, x) // 2 // 10 * 10  # on the grid of 100 Hz and of 250 * 3/7 Hz

    def run(xx):
        node = _make(name, Case(case.params, {port: (spec, xx)}))
        return node, _result(node, _end(node, _feed(node, [(port, Chunk(xx, T0))])))

    zero = np.zeros_like(x)
    imp = zero.copy()
    imp[0, k0], imp[min(3, len(imp) - 1), k0] = 1e-3, 5e-4
    node, base = run(zero)
    _, got = run(imp)
    checked = 0
    for p, (y0, t) in base.items():
        o = node.out_specs[p]
        if o.kind != "signal":
            continue
        d = np.abs(np.moveaxis(got[p][0] - y0, o.time_axis, -1)).reshape(-1, t.size).max(axis=0)
        hit = np.nonzero(d > 1e-9 * d.max())[0]
        assert hit.size, f"{name} '{p}': no response to the impulse"
        at = (t - o.delay + spec.delay - T0) * spec.rate - k0  # content time, in input samples from the impulse
        if o.delay == 0:
            assert at[hit[0]] >= -1e-6, f"{name} '{p}': responds {-at[hit[0]]:.2f} samples before the impulse"
        else:
            assert abs(at[np.argmax(d)]) <= 0.5 * spec.rate / o.rate + 1e-6, (
                f"{name} '{p}': peak {at[np.argmax(d)]:.2f}"
            )
        checked += 1
    if not checked:
        pytest.skip("no signal output (frames, features: their lag is test_declared_latency_is_the_lag_...)")


@pytest.mark.parametrize("how", ["on_data", "on_no_samples", "short"])
@pytest.mark.parametrize("name,i", _params())
def test_a_gap_starts_a_segment_processed_as_if_alone(name, i, how):
    """docs/nodes.md 'What a gap ends': driven as the runtime drives a chunk flagged gap (end_segment(t_next) first;
    a gap on a chunk of no samples: end_segment(None), the flag then on the next samples), the output before the gap
    is a fresh node's on the first segment with its finish(), but what that stamps at or after t_next, and the output
    after it a fresh node's on the second, times included (the second segment 3.7 s late, or 2 samples: 'short').
    A node of several inputs gets the gap on each (a source restarted), and the markers of each segment."""
    case = _case(name, i)
    if _is_source(name) or not case.gap or (how == "short" and not case.short_gap):
        pytest.skip("a source, or documented otherwise")
    rate = next(s.rate for s, _ in case.inputs.values() if s.kind != "events")
    n = min(_length(s, x) for s, x in case.inputs.values() if s.kind != "events")
    cut = n // 2 + 3
    t_next = (cut + 2) / rate if how == "short" else cut / rate + 3.7

    def part(a, b):
        inputs = {}
        for port, (spec, x) in case.inputs.items():
            if spec.kind == "events":  # each segment's markers, from its start
                rows = x[(x[:, 0] >= a / rate) & (x[:, 0] < b / rate)] - [a / rate, 0, 0]
                inputs[port] = (spec, rows)
            else:
                idx = [slice(None)] * x.ndim
                idx[spec.time_axis] = slice(a, b)
                inputs[port] = (spec, np.ascontiguousarray(x[tuple(idx)]))
        return Case(case.params, inputs, case.tol)

    first, second = part(0, cut), part(cut, n)
    a = _make(name, first)
    want_a = _result(a, _end(a, _feed(a, _arrivals(first, _uneven))))
    for p, (data, times) in want_a.items():
        if times is None:
            continue
        if p in case.gap_cuts_at_end:
            keep = times <= cut / rate + 1e-9
        elif how == "on_no_samples":  # t_next unknown: all of it
            keep = np.ones(times.shape, bool)
        elif case.gap_frames:
            keep = times + 1 / a.out_specs[p].rate <= t_next + 1e-9
        else:
            keep = times < t_next - 1e-9
        want_a[p] = (np.compress(keep, data, axis=a.out_specs[p].time_axis), times[keep])
    b = _make(name, second)
    want_b = _result(b, _end(b, _feed(b, _arrivals(second, _uneven, shift=t_next))))
    node = _make(name, case)
    before = _feed(node, _arrivals(first, _uneven))
    after: list = []
    for p, c in _arrivals(second, _uneven, shift=t_next, gap=True):  # each input's first chunk flagged
        if c.gap:
            _collect(node, node.end_segment(None if how == "on_no_samples" else t_next), before)
        _collect(node, node.process({p: c}), after)  # (a gap of no samples: the executor holds its flag for the
        while node.holds_more and (more := node.more()):  # next samples, and calls no second end_segment)
            _collect(node, more, after)
    _end(node, after)
    _assert_same(_result(node, before), want_a, case.tol, f"{name}: the segment before the gap")
    _assert_same(_result(node, after), want_b, case.tol, f"{name}: the segment after the gap")
    for p, (_, times) in _result(node, before + after).items():
        if times is not None:
            assert np.all(np.diff(times) > 0), f"{name} '{p}': times go back at the gap"
