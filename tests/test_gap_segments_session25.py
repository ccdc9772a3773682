"""resample, fir and stft -> istft end their segment at a gap (end_segment: the flushed tail, then a fresh filter), so
that `align` after them gives each segment as if processed alone (as MNE's raw.filter / raw.resample per segment);
the tail keeps only what is stamped before the next segment, so times always increase (tests/ of session 25)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams, Source
from wavegraph.pipeline.spec import StreamSpec


class GapSignalParams(NodeParams):
    rate: float = 250.0
    n: int = 900  # samples sent (both segments)
    gap_at: int = 403  # the first sample after the gap (not on the stft's hop grid)
    lost: int = 250  # samples lost in the gap (0: one segment, no gap)
    chunk: int = 64
    start: int = 0  # send x[start:start+n] (one segment alone)
    stim: bool = False  # a third channel typed stim (codes)


def _signal(p: GapSignalParams) -> np.ndarray:
    total = 2000
    x = np.random.default_rng(7).standard_normal((3, total))
    x[2] = 0.0
    x[2, 30:34] = 5.0  # trigger pulses, one near each segment's end
    x[2, 395:397] = 7.0
    x[2, 890:893] = 3.0
    return x if p.stim else x[:2]


class GapSignal(Source):
    """A signal in chunks of `chunk` samples; the chunk at `gap_at` is flagged gap and stamped `lost` samples later,
    as a source that dropped data sends it."""

    Params = GapSignalParams

    def configure(self, in_specs):
        p = self.params
        self.i = p.start
        kinds = ("eeg", "eeg", "stim") if p.stim else ("eeg", "eeg")
        names = tuple(f"c{k}" for k in range(len(kinds)))
        self.out_specs = {"out": StreamSpec("signal", p.rate, (len(kinds),), "float64", names, kinds)}
        return self.out_specs

    def read(self):
        p = self.params
        end_all = p.start + p.n
        if self.i >= end_all:
            return None
        stop = p.gap_at if self.i < p.gap_at and p.lost else end_all
        end = min(end_all, self.i + p.chunk, stop)
        later = p.lost if p.lost and self.i >= p.gap_at else 0
        chunk = Chunk(_signal(p)[:, self.i : end], (self.i + later) / p.rate, gap=bool(p.lost) and self.i == p.gap_at)
        self.i = end
        return {"out": chunk}


# (nodes, input rate, the delay align drops in output samples at the output rate, output rate)
CHAINS = {
    "resample_250_100": ([("resample", {"rate": 100.0})], 250.0, 10, 100.0),
    "resample_160_256": ([("resample", {"rate": 256.0})], 160.0, 16, 256.0),
    "fir": ([("fir", {"h_freq": 40.0, "numtaps": 31})], 250.0, 15, 250.0),
    "stft_istft": ([("stft", {"n_fft": 32, "hop": 16}), ("istft", {"n_fft": 32, "hop": 16})], 250.0, 16, 250.0),
}


def _run(chain: str, stim: bool = False, **source) -> tuple:
    from wavegraph.pipeline.api import GraphBuilder

    nodes, rate, _, _ = CHAINS[chain]
    g = GraphBuilder()
    up = g.add(f"{__name__}:GapSignal", rate=rate, stim=stim, **source)
    raw = None
    for kind, params in nodes:
        up = raw = g.add(kind, up, **params)
    al = g.add("align", up)
    out = g.run(capture=[f"{al}.out", f"{raw}.out"])
    return out[f"{al}.out"], out[f"{raw}.out"]


@functools.cache
def _alone(chain: str, start: int, n: int, stim: bool) -> tuple[np.ndarray, np.ndarray]:
    """One segment (x[start:start+n], its first sample at t = start/rate) run alone, after align: data, times."""
    got, _ = _run(chain, stim, start=start, n=n, lost=0, chunk=10_000)
    return got.data, got.times


@pytest.mark.parametrize("chunk", [7, 64, 10_000])
@pytest.mark.parametrize("lost", [250, 2])  # 1 s, and 8 to 12.5 ms: under the chain's delay
@pytest.mark.parametrize("chain", list(CHAINS))
def test_each_segment_is_filtered_as_if_alone_and_times_increase(chain, lost, chunk):
    """A stream that lost `lost` samples before sample 403 of 900, through resample (250 -> 100 Hz, 160 -> 256 Hz),
    fir or stft -> istft, then align. Before: they filtered on across the gap (re-anchoring times only) and align
    dropped their delay again after it: 250 -> 100 Hz lost the last 0.1 s of the segment before the gap and blended
    the next one's first 0.1 s into it (fir: its 15 samples; stft -> istft: 16, the gap flagged 16 samples late). Now
    the output is each segment processed alone (its flushed tail at the gap, then a fresh filter), for any chunking;
    after a gap shorter than the delay the tail keeps what is stamped before the next segment: times strictly
    increase, the segment before loses only the part of its tail past the next segment's start."""
    _, rate, delay, out_rate = CHAINS[chain]
    stim = chain.startswith(("resample", "fir"))
    got, raw = _run(chain, stim, lost=lost, chunk=chunk)
    a, ta = _alone(chain, 0, 403, stim)
    b, tb = _alone(chain, 403, 497, stim)
    t_next = (403 + lost) / rate
    tb = tb + lost / rate  # the segment after the gap starts `lost` samples later
    assert (np.diff(got.times) > 0).all(), "aligned times go back"
    assert (np.diff(raw.times) > 0).all(), "the raw output's times go back (a restart to epochs, join)"
    m = got.data.shape[-1] - b.shape[-1]
    np.testing.assert_allclose(got.data[..., m:], b, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.times[m:], tb, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.data[..., :m], a[..., :m], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.times[:m], ta[:m], rtol=0, atol=1e-9)
    assert got.gaps == [pytest.approx(t_next)]
    before = int(np.count_nonzero(ta < t_next - delay / out_rate - 1e-9))  # what the tail stamped before t_next gives
    if lost >= 250:  # a long gap: nothing lost, the whole of each segment
        assert m == a.shape[-1]
    elif chain == "stft_istft":  # whole hop blocks before t_next
        assert before - 16 < m <= before
    else:
        assert m == before


def test_a_tail_cut_at_a_short_gap_is_counted_and_said_once(caplog):
    """By hand, as the runtime calls it: end_segment(t_next) of a 250 -> 100 Hz resample whose next segment starts
    28 ms after its last sample (its delay: 0.1 s) keeps the tail stamped before t_next; the rest is counted (tail_dropped_at_gap) and said
    once (WARNING), and the next chunk starts a fresh filter stamped at its own t0. Without t_next (by hand, or a gap
    on a chunk of no samples) the whole tail comes, as finish() gives it."""
    from wavegraph.nodes.dsp.resample import Resample

    spec = StreamSpec("signal", 250.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"))
    x = np.random.default_rng(3).standard_normal((2, 403))
    node = Resample(rate=100.0)
    node.configure({"in": spec})
    head = node.process({"in": Chunk(x, 0.0)})["out"]
    whole = Resample(rate=100.0)
    whole.configure({"in": spec})
    whole.process({"in": Chunk(x, 0.0)})
    full = whole.end_segment()["out"]  # no t_next: finish()'s tail
    t_next = 410 / 250.0
    with caplog.at_level("WARNING", logger="wavegraph.gap"):
        tail = node.end_segment(t_next)["out"]
        n = tail.data.shape[-1]
        assert tail.t0 + (n - 1) / 100.0 < t_next <= tail.t0 + n / 100.0
        np.testing.assert_array_equal(tail.data, full.data[:, :n])
        assert node.counters["tail_dropped_at_gap"] == full.data.shape[-1] - n > 0
        after = node.process({"in": Chunk(x[:, :50], t_next, gap=True)})["out"]
        assert after.t0 == t_next and head.t0 == 0.0
        node.end_segment(t_next + 50 / 250.0 + 1 / 250.0)
    assert node.counters["tail_dropped_at_gap"] > full.data.shape[-1] - n  # the second cut counted too
    assert sum("tail_dropped_at_gap" in r.getMessage() for r in caplog.records) == 1


def test_a_node_of_ones_own_ends_its_segment_at_a_gap_before_the_gap_chunk():
    """A node of one's own (GraphBuilder, module:Class) gets end_segment(t_next) from the runtime at a gap, the gap
    chunk's t0: its tail goes out before the gap chunk, its times increasing."""
    from wavegraph.pipeline.api import GraphBuilder

    g = GraphBuilder()
    src = g.add(f"{__name__}:GapSignal", lost=10, chunk=100)
    own = g.add(f"{__name__}:OwnEnd", src)
    got = g.run(capture=[f"{own}.out"])[f"{own}.out"]
    assert got.data.shape[-1] == 900 + 1  # its one-sample tail at the gap
    assert (np.diff(got.times) > 0).all()


class OwnEnd(Node[NodeParams]):
    """Passes its input on; at a gap, one sample of 9s stamped just after the segment's last one."""

    Params = NodeParams

    def process(self, inputs):
        c = inputs["in"]
        self.last = c.t0 + (c.data.shape[-1] - 1) / 250.0
        return {"out": c}

    def end_segment(self, t_next=None):
        assert t_next is not None and t_next > self.last + 0.5 / 250.0  # (the gap chunk's t0, after 10 lost samples)
        return {"out": Chunk(np.full((2, 1), 9.0), self.last + 0.5 / 250.0)}
