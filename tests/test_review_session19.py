"""Review of session 19's commits (f928168..a9f2208): defects found in today's changes, each with its regression."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.executor import StopFlag


class _Inbox:
    """An edge receiver holding `chunks` (no end-of-stream: its sender died)."""

    def __init__(self, chunks):
        self.items = list(chunks)

    def count_refused(self):  # (a CURVE receiver's refused handshakes: none here)
        pass

    def recv(self, timeout=None):
        return self.items.pop(0) if self.items else None


class _Executor:
    """What worker._loop drives: the data chunks delivered, in order; no local sources."""

    def __init__(self):
        self.got: list[float] = []
        self.ended: list[str] = []
        self.active_sources: set[str] = set()
        self.source_time: dict[str, float] = {}
        self.stop = StopFlag()

    def deliver(self, node_id, port, chunk):
        if chunk.eos:
            self.ended.append(port)
        else:
            self.got.append(chunk.t0)

    def step_sources(self):
        return False

    def drain(self):
        pass


def test_a_worker_delivers_every_chunk_a_dead_sender_left_queued_not_only_one_turn():
    """worker._loop reads an input in turns of TURN_CHUNKS (0b7fe66); when the edge's sending process had died
    (SENDER_GONE: 'what came is all that will come') the input was closed after the first turn, the chunks still
    queued behind it dropped without a word. Every queued chunk is delivered, then the end."""
    from wavegraph.pipeline import worker
    from wavegraph.pipeline.plan import SENDER_GONE

    n = 3 * worker.TURN_CHUNKS + 1
    signal = _Inbox([Chunk(np.zeros((2, 4)), t0=float(i)) for i in range(n)])
    link = SimpleNamespace(ended={"sig": SENDER_GONE}, orphaned=False, shift=lambda edge: 0)
    ex = _Executor()
    worker._loop(ex, [(signal, "f", "in", "sig")], link)  # type: ignore[arg-type]
    assert ex.got == [float(i) for i in range(n)]
    assert ex.ended == ["in"]


def _markers():
    return Chunk(np.array([[0.5, 0.0, 1.0], [1.5, 0.0, 2.0], [2.5, 0.0, 1.0]]), t0=0.5)


def test_epochs_finish_by_hand_gives_every_epoch_held_not_only_the_first_marker_times():
    """epochs sends one marker time per chunk (the rest held for the next calls and finish_all, what the runtime
    calls); by hand, process() then finish() (the README's way of using a node) gave the first two marker times'
    epochs and lost the third without a count. finish() gives every epoch still held, in one chunk."""
    from wavegraph.nodes.dsp.epochs import Epochs
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    x = np.random.default_rng(0).standard_normal((2, 400))
    ep = Epochs(tmin=-0.1, tmax=0.2)
    ep.configure({"in": signal_spec(100.0, ["C3", "C4"]), "events": StreamSpec("events", 0.0, (3,))})
    outs = [ep.process({"in": Chunk(x, t0=0.0)}), ep.process({"events": _markers()}), ep.finish()]
    rows = np.concatenate([o["events"].data for o in outs if o])
    np.testing.assert_array_equal(rows[:, 0], [0.5, 1.5, 2.5])
    data = np.concatenate([o["out"].data for o in outs if o])
    np.testing.assert_array_equal(data[2], x[:, 240:271])  # the third epoch: samples 250 - 10 ... 250 + 20
    assert ep.finish_all() == [{}]  # nothing held twice


def test_ssvep_trial_decoder_finish_by_hand_gives_every_decision_held():
    """As epochs: ssvep_trial_decoder's finish() alone gave one marker time's decisions and lost the others held."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    rate, t = 160.0, np.arange(640) / 160.0
    x = np.stack([np.sin(2 * np.pi * 7.5 * t + k) + 0.1 * np.cos(2 * np.pi * 3 * t * k) for k in range(3)])
    node = SSVEPTrialDecoder(freqs=[6.0, 7.5], window=0.5, pre=0.2)
    node.configure({"in": signal_spec(rate, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,))})
    outs = [node.process({"in": Chunk(x, t0=0.0)}), node.process({"events": _markers()}), node.finish()]
    rows = np.concatenate([o["out"].data for o in outs if o])
    np.testing.assert_array_equal(rows[:, 0], [0.5, 1.5, 2.5])
    assert sum(len(o["scores"].data) for o in outs if o) == 3
