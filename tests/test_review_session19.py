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
