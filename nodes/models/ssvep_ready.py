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

from ..marker_groups import first_group


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
        k = first_group(self.rows[:, 0])
        group, self.rows = self.rows[:k], self.rows[k:]
        return {"out": Chunk(group[:, :3].copy(), t), "scores": Chunk(group[:, 3:].copy(), t)}

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
