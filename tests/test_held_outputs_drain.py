"""epochs and ssvep_trial_decoder send one marker time per chunk (their rows share a chunk's t0), and held the
others for their next process() calls: replayed in chunks longer than the markers' spacing (file_source's 60 s
chunks, markers every 2 s), the held epochs and decisions piled up and came out only at the end of the stream
(review: 19 of 299 epochs during a 600 s replay), not to the recorders or the monitor while it ran, held in memory
and in the node's state. The runtime now takes them from more() right after each process()."""

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.api import GraphBuilder

RATE, SECONDS = 100.0, 40.0
ONSETS = np.arange(1.0, SECONDS - 2, 2.0)  # 19 markers, every 2 s


def _run(monkeypatch, cls, add):
    left: list[int] = []
    finish_all = cls.finish_all

    def counting(self):
        tails = finish_all(self)
        left.append(sum(1 for t in tails if t))  # chunks still held at the end of the stream
        return tails

    monkeypatch.setattr(cls, "finish_all", counting)
    n = int(RATE * SECONDS)
    x = np.random.default_rng(0).standard_normal((3, n)) * 1e-5
    events = np.column_stack([ONSETS, np.zeros_like(ONSETS), np.ones_like(ONSETS)])
    g = GraphBuilder()
    g.add("array_source", id="src", data=x, rate=RATE, ch_names=["O1", "Oz", "O2"], events=events, chunk_size=1000)
    add(g)
    return g.run(capture=["n.events" if cls is Epochs else "n.out"]), left


@pytest.mark.parametrize("cls", [Epochs, SSVEPTrialDecoder])
def test_held_outputs_go_out_with_the_chunk_that_made_them_not_at_the_end(monkeypatch, cls):
    if cls is Epochs:
        out, left = _run(monkeypatch, cls, lambda g: g.add("epochs", "src", "src.events", id="n", tmin=-0.1, tmax=0.5))
        times = out["n.events"].data[:, 0]
    else:
        out, left = _run(
            monkeypatch,
            cls,
            lambda g: g.add("ssvep_trial_decoder", "src", "src.events", id="n", freqs=[6.0, 7.5], window=0.5, pre=0.2),
        )
        times = out["n.out"].data[:, 0]
    np.testing.assert_allclose(times, ONSETS)  # every marker, each at its own time
    assert left == [0], left  # before: 11 chunks still held when the stream ended
