"""Outputs of one marker time per chunk, for the nodes that cut several marker times' at once (epochs,
ssvep_trial_decoder): an irregular features chunk has one t0 for all its rows, so each chunk holds one marker time's
rows (pipeline/node.py `more()`), and finish() by hand joins what is left into one chunk."""

from __future__ import annotations

import numpy as np
from wavegraph.pipeline.chunk import Chunk


def first_group(times: np.ndarray) -> int:
    """How many of the held rows, oldest first, share the first one's marker time (`times`: their onsets)."""
    return int(np.argmax(times != times[0])) or len(times)


def joined(parts: list[dict[str, Chunk]], ports: tuple[str, ...]) -> dict[str, Chunk]:
    """finish_all()'s `parts` in one chunk per port at the first one's time: what finish() alone returns (it gave the
    first marker time's and lost the rest unsaid); each row keeps its own time in the marker rows."""
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return parts[0] if parts else {}
    t0 = parts[0][ports[0]].t0
    return {k: Chunk(np.concatenate([p[k].data for p in parts]), t0=t0) for k in ports}
