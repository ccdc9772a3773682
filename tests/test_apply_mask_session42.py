"""Session 42: apply_mask's frame pairing. Frames stamped on half a frame (an stft after a fir of 21 taps, a segment
after a gap that is no whole number of hops) took one index two by two (numpy rounds halves to even), so the pairing
raised IndexError or dropped frames as late; and the runtime put the gap flag of a chunk on `in` onto apply_mask's next
output, which in a whole-chunk run held the mask's frames from before the gap: istft restarted there, and the output
differed with the chunk size."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.nodes.dsp.spectral import ApplyMask
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import StreamSpec, signal_spec

RATE = 1000.0


@pytest.mark.parametrize("start", [0.005, 12345.005])
@pytest.mark.parametrize("per_chunk", [1, 5])
def test_frames_stamped_on_half_a_frame_are_all_paired(start, per_chunk):
    spec = StreamSpec("features", 100.0, (4,), "float64")
    node = ApplyMask()
    node.configure({"in": spec, "mask": spec})
    x = np.arange(40.0).reshape(10, 4) + 1
    out = []
    for k in range(0, 10, per_chunk):
        c = Chunk(x[k : k + per_chunk], t0=start + k / 100)
        for port in ("in", "mask"):
            if o := node.process({port: c}):
                out.append(o["out"])
    out += [o["out"] for o in node.finish_all() if o]
    np.testing.assert_array_equal(np.concatenate([o.data for o in out]), x * x)
    assert not any(o.gap for o in out[1:]) and not node.counters


class SegmentsParams(NodeParams):
    chunk: int = 7
    gap_after: int = 401
    lost: float = 0.5


class Segments(Source):
    """600 samples of noise at 1 kHz, the ones from `gap_after` on stamped `lost` s later and flagged gap."""

    Params = SegmentsParams

    def configure(self, in_specs):
        self.i, self.x = 0, np.random.default_rng(0).standard_normal((1, 600))
        self.out_specs = {"out": signal_spec(RATE, ["a"])}
        return self.out_specs

    def read(self):
        p = self.params
        if self.i >= 600:
            return None
        end = min(self.i + p.chunk, 600, p.gap_after if self.i < p.gap_after else 600)
        c = Chunk(self.x[:, self.i : end], self.i / RATE + (p.lost if self.i >= p.gap_after else 0.0))
        c.gap = self.i == p.gap_after
        self.i = end
        return {"out": c}


def test_a_masked_stft_across_a_gap_gives_the_same_output_for_any_chunking():
    from wavegraph.pipeline.api import GraphBuilder

    def run(chunk: int):
        g = GraphBuilder()
        stft = g.add("stft", g.add(f"{__name__}:Segments", chunk=chunk), n_fft=20, hop=10)
        mask = g.add("apply_mask", stft, g.add("magnitude", stft), activation="clip")
        out = g.add("align", g.add("istft", mask, n_fft=20, hop=10))
        return g.run(capture=[f"{out}.out"])[f"{out}.out"]

    whole, small = run(600), run(7)
    np.testing.assert_array_equal(whole.data, small.data)
    np.testing.assert_allclose(whole.times, small.times, rtol=0, atol=1e-9)
    assert whole.gaps == small.gaps and len(whole.gaps) == 1 and whole.gaps[0] >= 0.401 + 0.5 - 1e-9


def test_inputs_whose_content_lags_their_stamps_differently_are_refused_when_the_graph_is_built():
    """Before: `in` from fir -> stft (20 ms declared) and `mask` from stft -> magnitude (0) were paired by stamp,
    content one frame apart, without a word (and the last frame dropped as unmatched)."""
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.config import GraphError

    g = GraphBuilder()
    src = g.add("array_source", data=np.zeros((1, 2000)), rate=RATE, chunk_size=100)
    stft = g.add("stft", g.add("fir", src, h_freq=200.0, numtaps=41), n_fft=40, hop=20)
    g.add("apply_mask", stft, g.add("magnitude", g.add("stft", src, n_fft=40, hop=20)), activation="clip")
    with pytest.raises(GraphError, match="'in' stream's content lags its stamps by 20 ms more than the other's"):
        g.run()
