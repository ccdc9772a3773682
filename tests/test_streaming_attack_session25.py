"""Streaming attack (session 25): the stream == offline promise under chunkings and gaps the other tests leave out.

A gap flagged on a chunk of no samples (an artefact-rejection node that dropped a whole chunk, a bare marker after
lost data) must act as the same gap flagged on the next chunk with samples: in a node used by hand as in the runtime,
which never calls process() with no samples. A run must give what the nodes give by hand: for big-endian chunks (as
across processes), and with every output of a node flagged after a gap, not only the first to emit.
"""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams, Source
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = ["O1", "Oz", "O2"]
SPEC = signal_spec(250.0, NAMES, "eeg")


class DropParams(NodeParams):
    drop_at: int = 3  # the input chunk (from 0) replaced by a chunk of no samples flagged gap


class DropChunk(Node):
    """Passes a signal on, but its chunk `drop_at` as a chunk of no samples flagged gap, as a node rejecting an
    artefact may drop a whole chunk."""

    Params = DropParams

    def configure(self, in_specs):
        self.calls = 0
        self.out_specs = {"out": in_specs["in"]}
        return self.out_specs

    def process(self, inputs):
        c, self.calls = inputs["in"], self.calls + 1
        if self.calls - 1 == self.params.drop_at:
            return {"out": Chunk(c.data[..., :0], c.t0, gap=True)}
        return {"out": Chunk(c.data, c.t0)}


class ForeignParams(NodeParams):
    dtype: str = ">f8"  # the byte order and type of the chunks it sends (its spec: their native dtype)


class ForeignSource(Source):
    """Sends 200 samples of 2 channels in chunks of 20 as arrays of another byte order, as np.frombuffer(b, ">f4") of
    a big-endian recording gives them; declares their native dtype."""

    Params = ForeignParams

    def configure(self, in_specs):
        self.pos = 0
        dtype = np.dtype(self.params.dtype).newbyteorder("=").name
        self.out_specs = {"out": signal_spec(250.0, ["a", "b"], dtype=dtype)}
        return self.out_specs

    def read(self):
        if self.pos >= 200:
            return None
        x = _x(200)[:2, self.pos : self.pos + 20].astype(self.params.dtype)
        self.pos += 20
        return {"out": Chunk(x, (self.pos - 20) / 250.0)}


def _x(n=400):
    return np.random.default_rng(0).standard_normal((3, n))


def _by_hand(kind, params, port, x, size, drop_at, empty_gap):
    """The node fed x in chunks of `size`, chunk `drop_at` dropped and the gap flagged on a chunk of no samples
    (empty_gap) or on the chunk after it; its `port` output concatenated."""
    node = lookup(kind)(**params)
    node.configure({"in": SPEC})
    parts = []
    for i in range(x.shape[1] // size):
        data, t0 = x[:, i * size : (i + 1) * size], i * size / SPEC.rate
        if i == drop_at:
            if not empty_gap:
                continue
            data = data[:, :0]
        outs = node.process({"in": Chunk(data, t0, gap=i == drop_at or (i == drop_at + 1 and not empty_gap))})
        parts += [outs[port]] if port in outs else []
    parts += [o[port] for o in node.finish_all() if port in o]
    axis = -1 if node.out_specs[port].kind == "signal" else 0
    return np.concatenate([c.data for c in parts], axis=axis)


@pytest.mark.parametrize(
    "kind, params, port",
    [
        ("ssvep_decoder", dict(freqs=[8.0, 10.0], window=0.4, step=0.12, n_bands=2), "scores"),
        ("align", dict(delay=0.04), "out"),
    ],
)
def test_a_gap_on_a_chunk_of_no_samples_reaches_the_node_in_a_run(kind, params, port):
    """In a run, a chunk of no samples flagged gap (a node upstream dropped a chunk) was not given to the node (the
    runtime calls process() only with samples): only the node's next output was flagged, the node itself went on
    across the gap. An ssvep_decoder decided 10 windows where it decides 8 given the gap (2 spanned it, filtered
    on from before it); an align kept the new segment's first 40 ms it drops after a gap. The node now sees the gap on
    the input's next chunk: the run equals the node by hand given the gap there (or on the chunk of no samples)."""
    from wavegraph.pipeline.api import GraphBuilder

    x = _x()
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=SPEC.rate, ch_names=NAMES, ch_types="eeg", chunk_size=20)
    node = g.add(kind, g.add(f"{__name__}:DropChunk", src, drop_at=3), **params)
    got = g.run(capture=[f"{node}.{port}"])[f"{node}.{port}"]
    want = _by_hand(kind, params, port, x, 20, 3, empty_gap=False)
    same = _by_hand(kind, params, port, x, 20, 3, empty_gap=True)
    np.testing.assert_allclose(same, want, rtol=1e-12, atol=1e-12)  # by hand: the gap acts wherever it is flagged
    assert got.data.shape == want.shape, f"{kind}: {got.data.shape} in a run, {want.shape} given the gap by hand"
    np.testing.assert_allclose(got.data, want, rtol=1e-9, atol=1e-12)
    assert len(got.gaps) == 1  # the output after the gap flagged once


def test_align_drops_the_delay_again_after_a_gap_flagged_on_a_chunk_of_no_samples():
    """align, by hand: a gap flagged on a chunk of no samples was ignored (it returned before reading the flag), so the
    new segment's first `delay` was kept and everything after stamped off; flagged on the next chunk it was dropped."""
    x = _x(100)

    def run(chunks):
        node = lookup("align")(delay=0.04)
        node.configure({"in": SPEC})
        outs = [node.process({"in": Chunk(d, t0, gap=gap)}).get("out") for d, t0, gap in chunks]
        return [(c.t0, c.data) for c in outs if c is not None]

    on_data = run([(x[:, :50], 0.0, False), (x[:, 50:], 0.5, True)])
    on_empty = run([(x[:, :50], 0.0, False), (x[:, :0], 0.5, True), (x[:, 50:], 0.5, False)])
    assert [t for t, _ in on_empty] == pytest.approx([t for t, _ in on_data], abs=1e-12)
    np.testing.assert_array_equal(
        np.concatenate([d for _, d in on_empty], 1), np.concatenate([d for _, d in on_data], 1)
    )
    assert sum(d.shape[1] for _, d in on_empty) == 100 - 2 * 10  # 40 ms at 250 Hz dropped at the start and the gap


@pytest.mark.parametrize("dtype", [">f8", ">f4"])
def test_a_big_endian_chunk_is_filtered_in_a_run_as_across_processes(dtype):
    """A source sending big-endian arrays of the dtype it declares (np.frombuffer(b, ">f4") of a big-endian file) had
    every chunk dropped in one process, said as 'float64 payload on a float64 edge' (the check compares byte order
    too), while across processes the wire converts them and they went through: the run gave (2, 0). Such a chunk is
    now made native, as the wire does, and filtered as the same samples in native order are."""
    from wavegraph.pipeline.api import GraphBuilder

    g = GraphBuilder()
    bp = g.add("bandpass", g.add(f"{__name__}:ForeignSource", dtype=dtype), l_freq=1.0, h_freq=40.0)
    got = g.run(capture=[f"{bp}.out"])[f"{bp}.out"]
    node = lookup("bandpass")(l_freq=1.0, h_freq=40.0)
    node.configure({"in": signal_spec(250.0, ["a", "b"], dtype=np.dtype(dtype).newbyteorder("=").name)})
    want = node.process({"in": Chunk(_x(200)[:2].astype(np.dtype(dtype).newbyteorder("=")), 0.0)})["out"].data
    assert got.data.shape == (2, 200) and got.data.dtype == want.dtype
    np.testing.assert_allclose(got.data, want, rtol=1e-6 if dtype == ">f4" else 1e-12, atol=1e-7)


def test_each_output_of_a_node_flags_its_first_chunk_after_a_gap():
    """The runtime kept one 'gap owed' flag per node: the first chunk after a gap on any of its outputs took it. An
    enhancer fed chunks shorter than its 160-sample hop gives `out` at once and its `vad` frame only later, so `vad`'s
    first frame after a gap went out unflagged (an align or a recorder after it saw no gap). Each output port now owes
    the flag until its own next chunk: `vad` is flagged where `out` is."""
    from wavegraph.pipeline.api import GraphBuilder

    x = np.random.default_rng(0).standard_normal((1, 6000)) * 0.05
    g = GraphBuilder()
    src = g.add(
        "array_source", data=x, rate=16000.0, ch_names=["mic"], ch_types="audio", chunk_size=100, dtype="float32"
    )
    g.add(
        "enhancer", g.add(f"{__name__}:DropChunk", src, drop_at=17), id="enh", random_init=True, d_model=16, n_layers=1
    )
    got = g.run(capture=["enh.out", "enh.vad"])
    out, vad = got["enh.out"], got["enh.vad"]
    assert len(out.gaps) == 1 and out.gaps[0] == pytest.approx(18 * 100 / 16000)  # the chunk after the dropped one
    assert vad.gaps == pytest.approx(out.gaps)  # the new segment's first vad frame, stamped at its start
    assert np.isclose(vad.times, vad.gaps[0]).any()
