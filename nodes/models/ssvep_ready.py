"""The ssvep_trial_decoder's decisions waiting to go out, one marker time per chunk (nodes/models/ssvep.py).

`scores` is an irregular features stream: a chunk has one t0 for all its rows, so the decisions of several markers
that came out of one call (a replay in long chunks, or markers that arrived together) were all stamped with the
first one's time (a recorder's CSV wrote the trial at 5.0 s at 2.03 s). Each chunk now holds the decisions of one
marker time; the others go out with the node's next outputs, and at the end of the stream each in its own chunk
(`finish_all`). `out` (events) goes with its `scores`, chunk for chunk.
"""

from __future__ import annotations

import numpy as np
from wavegraph.pipeline.chunk import Chunk


class Ready:
    """Decided rows (onset, duration, code) and their scores, oldest first."""

    def __init__(self, n_scores: int):
        self.n_scores = n_scores
        self.rows = np.zeros((0, 3 + n_scores))

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, events: np.ndarray, scores: np.ndarray) -> None:
        self.rows = np.concatenate([self.rows, np.column_stack([events, scores])])

    def take(self) -> dict[str, Chunk]:
        """The outputs of the oldest marker time held ({} when none is)."""
        if not len(self.rows):
            return {}
        t = float(self.rows[0, 0])
        k = int(np.argmax(self.rows[:, 0] != t)) or len(self.rows)
        group, self.rows = self.rows[:k], self.rows[k:]
        return {"out": Chunk(group[:, :3].copy(), t), "scores": Chunk(group[:, 3:].copy(), t)}

    @staticmethod
    def joined(parts: list[dict[str, Chunk]]) -> dict[str, Chunk]:
        """`parts` (finish_all's) in one chunk per port at the first one's time: what finish() alone returns (it gave
        the first marker time's decisions and lost the rest unsaid)."""
        parts = [p for p in parts if p]
        if len(parts) < 2:
            return parts[0] if parts else {}
        t0 = parts[0]["out"].t0
        return {k: Chunk(np.concatenate([p[k].data for p in parts]), t0) for k in ("out", "scores")}

    def state(self) -> np.ndarray:
        return self.rows.copy()

    def load(self, rows) -> None:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.size == 0:
            rows = rows.reshape(0, 3 + self.n_scores)
        if rows.ndim != 2 or rows.shape[1] != 3 + self.n_scores:
            raise ValueError(
                f"ssvep_trial_decoder state 'ready' has shape {rows.shape}, this node keeps (n, {3 + self.n_scores}) "
                "(onset, duration, code and a score per frequency): load a state saved by this node"
            )
        self.rows = rows.copy()
