"""State, gaps and hostile chunk data, node by node (session 32): what the whole-vs-chunked sweep does not look at.

* A chunk flagged gap starts a new segment (principle 5): after it, a node's output equals a fresh node's on the same
  samples, times included. The runtime calls `end_segment(t_next)` before such a chunk (also one of no samples, whose
  gap then comes with the next samples without a second call); these tests call it the same way by hand, and one runs
  the same through a graph. The IIR filters (bandpass, highpass, lowpass, notch), filterbank and running_zscore
  filtered on across a gap (the samples after it from the state left by those before), and sliding_window and
  bandpower went on framing across it (a window holding samples of both sides, the frames after it on the old hop
  grid), where docs/nodes.md ('What a gap ends') says a partial window is dropped there as at the end.
"""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec

RATE = 250.0

GAP_NODES = {
    "bandpass": dict(l_freq=2.0, h_freq=40.0, nan_policy="propagate"),
    "bandpass_steady": dict(l_freq=2.0, h_freq=40.0, init="steady"),
    "highpass": dict(freq=1.0),
    "lowpass": dict(freq=30.0, design="ellip"),
    "notch": dict(freq=50.0, harmonics=2),
    "filterbank": dict(bands=[(4.0, 20.0), (20.0, 40.0)]),
    "running_zscore": dict(window=0.1, nan_policy="propagate"),
    "sliding_window": dict(size=20, hop=7, nan_policy="propagate"),
    "bandpower": dict(window=0.5, hop=0.1),
}


def _make(name):
    kind = name.removesuffix("_steady")
    node = lookup(kind)(**GAP_NODES[name])
    return node


def _signal(nch: int, n: int, seed: int = 0) -> np.ndarray:
    """EEG-like: 20 uV noise on a 5 mV electrode offset, a NaN and an -inf sample."""
    x = np.random.default_rng(seed).standard_normal((nch, n)) * 20e-6 + 5e-3
    x[0, 41] = np.nan
    x[-1, 197] = -np.inf
    return x


def _feed(node, x, sizes, t0s, gaps, outs):
    """Chunks of `sizes` samples (0: a chunk of no samples), the i-th stamped t0s[i], flagged gap where gaps[i], driven
    as the executor drives them: end_segment(t0, or None for no samples) before a gap, a gap on no samples not given
    to process() but held for the next samples (no second end_segment)."""
    pos, held = 0, False
    for n, t0, gap in zip(sizes, t0s, gaps, strict=True):
        data = x[:, pos : pos + n]
        if gap and not held:
            for port, c in node.end_segment(t0 if n else None).items():
                outs.append((port, c.t0, c.data))
        if n == 0:
            held = held or gap
            continue
        c = Chunk(data, t0=t0, gap=gap or held)
        held = False
        outs += [(port, o.t0, o.data) for port, o in node.process({"in": c}).items()]
        pos += n
    return outs


def _after(node, outs, t_from):
    """Per port: the outputs stamped from t_from on, concatenated, with each row's / sample's time."""
    res = {}
    for port in {p for p, _, _ in outs}:
        spec = node.out_specs[port]
        items = [(t, d) for p, t, d in outs if p == port and t >= t_from - 1e-9 and d.size]
        if not items:
            continue
        axis = spec.time_axis
        data = np.concatenate([d for _, d in items], axis=axis)
        times = np.concatenate([t + np.arange(d.shape[axis]) / spec.rate for t, d in items])
        res[port] = (data, times)
    return res


def _fresh(name, nch, x, sizes, t_first):
    node = _make(name)
    node.configure({"in": signal_spec(RATE, [f"c{i}" for i in range(nch)])})
    t0s = [t_first + sum(sizes[:i]) / RATE for i in range(len(sizes))]
    outs = _feed(node, x, sizes, t0s, [False] * len(sizes), [])
    return _after(node, outs, t_first)


def _assert_same(got, want, what):
    assert set(got) == set(want), f"{what}: ports {sorted(got)} != {sorted(want)}"
    for port, (data, times) in want.items():
        assert got[port][0].shape == data.shape, f"{what}: '{port}' shape {got[port][0].shape} != {data.shape}"
        np.testing.assert_array_equal(got[port][0], data, err_msg=f"{what}: '{port}'")
        np.testing.assert_allclose(got[port][1], times, rtol=0, atol=1e-9, err_msg=f"{what}: '{port}' times")


@pytest.mark.parametrize("nch", [1, 64])
@pytest.mark.parametrize("name", sorted(GAP_NODES))
def test_after_a_gap_the_output_is_a_fresh_nodes_on_the_same_samples(name, nch):
    """A gap after 4 chunks of 1, 3, 17 and 2 samples (sliding_window's 20-sample window and bandpower's 0.5 s one
    partly filled), the samples after it stamped 1 s later, then a second gap right after the next chunk (two in a
    row): after each, bit for bit and in time a fresh node's output on those samples. Before: every node here went
    on from the state left before the gap (bandpass off by up to 2e-5 of a 20 uV signal; sliding_window's windows
    held samples of both sides and were stamped on the old hop grid)."""
    n = 400
    x = _signal(nch, n)
    sizes = [1, 3, 17, 2, 29, 5, 64, 11, 40, 13, 7, 100, 33, 77, 18]
    cut1, cut2 = 4, 5  # a gap on the 5th chunk (sample 23), another on the 6th (sample 52)
    shift = [0.0] * cut1 + [1.0] + [2.0] * (len(sizes) - cut2)
    t0s = [sum(sizes[:i]) / RATE + shift[i] for i in range(len(sizes))]
    gaps = [i in (cut1, cut2) for i in range(len(sizes))]
    node = _make(name)
    node.configure({"in": signal_spec(RATE, [f"c{i}" for i in range(nch)])})
    outs = _feed(node, x, sizes, t0s, gaps, [])
    p1, p2 = sum(sizes[:cut1]), sum(sizes[:cut2])
    between = {k: v for k, v in _after(node, [o for o in outs if o[1] < t0s[cut2] - 1e-9], t0s[cut1]).items()}
    _assert_same(between, _fresh(name, nch, x[:, p1:p2], sizes[cut1:cut2], t0s[cut1]), "between the two gaps")
    _assert_same(_after(node, outs, t0s[cut2]), _fresh(name, nch, x[:, p2:], sizes[cut2:], t0s[cut2]), "after them")


@pytest.mark.parametrize("name", ["bandpass", "sliding_window", "running_zscore"])
def test_a_gap_on_a_chunk_of_no_samples_starts_the_segment_at_the_next_samples(name):
    """The gap comes on a chunk of no samples (an upstream node dropped a whole chunk): end_segment(None) then, the
    next samples flagged gap without a second call; after it, a fresh node's output. A gap on the very first chunk
    changes nothing."""
    x = _signal(2, 300)
    sizes = [13, 50, 0, 37, 200]
    t0s = [0.0, 13 / RATE, 0.7, 0.7, 0.7 + 37 / RATE]
    node = _make(name)
    node.configure({"in": signal_spec(RATE, ["a", "b"])})
    outs = _feed(node, x, sizes, t0s, [False, False, True, False, False], [])
    _assert_same(_after(node, outs, 0.7), _fresh(name, 2, x[:, 63:], [37, 200], 0.7), "after an empty gap chunk")
    first = _make(name)
    first.configure({"in": signal_spec(RATE, ["a", "b"])})
    got = _after(first, _feed(first, x, [13, 287], [0.0, 13 / RATE], [True, False], []), 0.0)
    _assert_same(got, _fresh(name, 2, x, [13, 287], 0.0), "a gap on the first chunk")


class GapSourceParams(NodeParams):
    n: int = 600
    gap_at: int = 230  # the first sample after the gap
    lost: float = 0.5  # seconds lost in the gap
    start: int = 0  # send x[start:start + n], its first sample at start / rate (+ lost after gap_at)


class GapSource(Source):
    """Two channels in chunks of 16 samples, the chunk at gap_at flagged gap and stamped `lost` s later."""

    Params = GapSourceParams

    def configure(self, in_specs):
        self.i = self.params.start
        self.out_specs = {"out": signal_spec(RATE, ["C3", "C4"])}
        return self.out_specs

    def read(self):
        p = self.params
        if self.i >= p.start + p.n:
            return None
        end = min(self.i + 16, p.start + p.n, p.gap_at if self.i < p.gap_at else p.start + p.n)
        later = p.lost if self.i >= p.gap_at else 0.0
        x = _signal(2, 1000, seed=5)[:, self.i : end]
        c = Chunk(x, self.i / RATE + later, gap=self.i == p.gap_at and p.start < p.gap_at)
        self.i = end
        return {"out": c}


def test_through_a_graph_the_segment_after_a_gap_is_processed_as_if_alone():
    """bandpass -> sliding_window in a graph (the executor calls end_segment): the frames after the gap are those of
    the segment after it run alone, at its times. Before: all 35 frames after the gap differed (1750 of 1750 values:
    7e-6 where alone gives 1e-4; the bandpass went on from the state before the gap, the window framing across it)."""
    from wavegraph.pipeline.api import GraphBuilder

    def run(**source):
        g = GraphBuilder()
        src = g.add(f"{__name__}:GapSource", **source)
        win = g.add("sliding_window", g.add("bandpass", src, l_freq=1.0, h_freq=40.0), size=25, hop=10)
        return g.run(capture=[f"{win}.out"])[f"{win}.out"]

    got = run()
    alone = run(start=230, n=370, gap_at=0)
    after = got.times >= 230 / RATE + 0.5 - 1e-9
    np.testing.assert_array_equal(got.data[after], alone.data)
    np.testing.assert_allclose(got.times[after], alone.times, rtol=0, atol=1e-9)  # (stamped 0.5 s late too)


SSM = dict(random_init=True, seed=3, d_model=16, n_layers=1, d_state=4, device="cpu", nan_policy="propagate")


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("bad", ["wider", "3-d", "complex"])
@pytest.mark.parametrize("first", [False, True], ids=["mid_stream", "first_chunk"])
def test_a_chunk_a_model_node_refuses_changes_nothing(bad, first):
    """Principle 7: a chunk of 7 features where the model takes 6 (or one not 2-D) raised only inside to_tensor, after
    the node had counted its frames (n_in), its NaN frames and, on the first chunk, its t0: the stream going on after
    the error was off by the refused frames (5 refused at 0.11 s: every later frame stamped 0.05 s early, the NaN
    input frame 33 marked NaN at output frame 38). A complex chunk was cast to float32 with numpy's ComplexWarning
    only and went through the model state. Now each is a ValueError saying what to
    pass, and the stream after it is, bit for bit and in time, the one that never saw it."""
    from wavegraph.pipeline.spec import StreamSpec

    spec = StreamSpec("features", 100.0, (6,), "float32")
    x = np.random.default_rng(4).standard_normal((60, 6)).astype(np.float32)
    x[33, 2] = np.nan
    wrong = {
        "wider": np.zeros((5, 7), np.float32),
        "3-d": np.zeros((1, 5, 6), np.float32),
        "complex": np.ones((5, 6), np.complex64),
    }[bad]

    def run(with_bad):
        node = lookup("mamba")(**SSM)
        node.configure({"in": spec})
        outs = []
        for a, b in [(0, 0), (0, 11), (11, 30), (30, 60)] if not first else [(0, 0), (0, 30), (30, 60)]:
            if a == b and not first:
                continue
            if with_bad and (a == 11 or (first and a == b)):
                with pytest.raises(ValueError, match="nothing of it was kept"):
                    node.process({"in": Chunk(wrong, t0=7.0)})
            if a < b:
                outs += [(o.t0, o.data) for o in node.process({"in": Chunk(x[a:b], t0=a / 100.0)}).values()]
        outs += [(o.t0, o.data) for o in node.finish().values()]
        return outs

    want, got = run(False), run(True)
    assert [t for t, _ in got] == [t for t, _ in want]
    np.testing.assert_array_equal(np.concatenate([d for _, d in got]), np.concatenate([d for _, d in want]))


@pytest.mark.parametrize(
    "kind, params",
    [("bandpass", dict(l_freq=1.0, h_freq=40.0)), ("sliding_window", dict(size=4, hop=2)), ("align", dict(delay=0.02))],
)
def test_a_complex_chunk_into_a_real_node_is_refused_not_cast(kind, params):
    """By hand (a graph drops a chunk whose dtype is not its edge's), complex samples given to a real signal node were
    cast with numpy's ComplexWarning only, the imaginary part dropped and the real part filtered as the signal."""
    node = lookup(kind)(**params)
    node.configure({"in": signal_spec(RATE, ["a", "b"])})
    with pytest.raises(ValueError, match="complex.*magnitude or complex_to_real"):
        node.process({"in": Chunk(np.ones((2, 10), np.complex128) * 1j, t0=0.0)})


@pytest.mark.usefixtures("one_torch_thread")
def test_a_complex_chunk_into_the_tokenizer_is_refused_and_changes_nothing():
    node = lookup("eeg_tokenizer")()
    node.configure({"in": signal_spec(RATE, ["O1", "Oz"])})
    with pytest.raises(ValueError, match="complex"):
        node.process({"in": Chunk(np.ones((2, 300), np.complex128), t0=0.0)})
    assert node.t_first is None


@pytest.mark.parametrize(
    "kind, port, params",
    [("join", "b", {}), ("apply_mask", "mask", {}), ("epochs", "in", dict(tmin=-0.1, tmax=0.3, baseline=None))],
)
def test_a_complex_chunk_into_a_multi_input_node_is_refused_and_changes_nothing(kind, port, params):
    """join, epochs (their TimedBuffer) and apply_mask cast a complex chunk given by hand to the stream's real dtype
    (numpy's ComplexWarning only) and went on with its real part as samples; now refused before anything is kept."""
    from wavegraph.pipeline.spec import StreamSpec

    node = lookup(kind)(**params)
    ports = {"join": ("a", "b"), "apply_mask": ("in", "mask"), "epochs": ("in", "events")}[kind]
    specs = {
        p: StreamSpec("events", 0.0, (3,), "float64") if p == "events" else signal_spec(RATE, ["a"]) for p in ports
    }
    node.configure(specs)
    before = node.state_dict()
    with pytest.raises(ValueError, match="complex"):
        node.process({port: Chunk(np.ones((1, 8), np.complex128), t0=0.0)})
    after = node.state_dict()
    assert before.keys() == after.keys()
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(after[k], v, err_msg=k)
        elif k != "saved_config":
            assert after[k] == v or (v != v and after[k] != after[k]), k


def _layout(state, how):
    """Every array of a state as a file may give it back: Fortran order (an npz of a transposed array), big-endian (an
    npz written on such a machine, a JSON that kept the dtype '>f4'), read-only (np.load with mmap_mode)."""
    if isinstance(state, dict):
        return {k: _layout(v, how) for k, v in state.items()}
    if not isinstance(state, np.ndarray):
        return state
    if how == "fortran":
        return np.asfortranarray(state)
    if how == "big-endian":
        return state.astype(state.dtype.newbyteorder(">")) if state.dtype.kind in "fciub" else state
    a = state.copy()
    a.setflags(write=False)
    return a


LAYOUT_NODES = {
    "bandpass": (lambda: lookup("bandpass")(l_freq=2.0, h_freq=40.0), signal_spec(RATE, [f"c{i}" for i in range(64)])),
    "filterbank": (lambda: lookup("filterbank")(bands=[(4.0, 20.0), (20.0, 40.0)]), signal_spec(RATE, ["a", "b"])),
    "mamba": (lambda: lookup("mamba")(**SSM), None),
    "enhancer": (
        lambda: lookup("enhancer")(random_init=True, d_model=16, n_layers=1),
        signal_spec(16000.0, ["mic"], dtype="float32"),
    ),
}


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("how", ["fortran", "big-endian", "read-only"])
@pytest.mark.parametrize("name", sorted(LAYOUT_NODES))
@pytest.mark.filterwarnings("error::UserWarning")
def test_a_state_read_back_in_another_array_layout_resumes_bit_for_bit(name, how):
    """A state_dict() whose arrays come back Fortran-ordered, big-endian or read-only, loaded into a fresh node after
    chunks of 1, 3 and 17 samples: the rest equals the uninterrupted run. Before: the IIR filters' Fortran zi failed
    at the next chunk inside the compiled sosfilt kernel ('ndarray is not C-contiguous'); the model nodes, the
    tokenizer and the enhancer refused a big-endian state at load inside torch ('given numpy array has byte order
    different from the native byte order')."""
    from wavegraph.pipeline.spec import StreamSpec

    make, spec = LAYOUT_NODES[name]
    if spec is None:
        spec = StreamSpec("features", 100.0, (6,), "float32")
        x = np.random.default_rng(4).standard_normal((60, 6)).astype(np.float32)
        piece = lambda a, b: x[a:b]  # noqa: E731
    else:
        n = 640 if spec.rate > 1000 else 200
        x = np.random.default_rng(4).standard_normal((spec.shape[0], n)).astype(spec.dtype) * 0.05
        piece = lambda a, b: x[:, a:b]  # noqa: E731
    total = x.shape[0] if spec.kind != "signal" else x.shape[1]
    cuts = [0, 1, 4, 21, total]

    def run(node, cuts, outs):
        for a, b in zip(cuts[:-1], cuts[1:]):
            outs += [(p, o.t0, o.data) for p, o in node.process({"in": Chunk(piece(a, b), t0=a / spec.rate)}).items()]
        return outs

    ref = make()
    ref.configure({"in": spec})
    want = run(ref, cuts, []) + [(p, o.t0, o.data) for p, o in ref.finish().items()]
    a = make()
    a.configure({"in": spec})
    outs = run(a, cuts[:4], [])
    b = make()
    b.configure({"in": spec})
    b.load_state_dict(_layout(a.state_dict(), how))
    got = run(b, cuts[3:], outs) + [(p, o.t0, o.data) for p, o in b.finish().items()]
    assert [(p, t) for p, t, _ in got] == [(p, t) for p, t, _ in want]
    for (_, _, d), (_, _, e) in zip(got, want, strict=True):
        np.testing.assert_array_equal(d, e)
