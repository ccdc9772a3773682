"""The last reads of the sources that end with the others of their process (Source.ends_with_others: the marker
inlet beside the EEG's), once those others have ended."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .executor import Executor

GRACE_S = 0.25  # a live follower is read this long after the others ended: what was sent with their last chunk
POLL_S = 0.01  # between its reads that gave nothing


def last_reads(ex: Executor) -> None:
    """Read each follower until it gives nothing more; a live one (an LSL inlet) for GRACE_S, so that a marker sent
    with the EEG's last chunk, still on its way, is taken. Before, each was read once, at once (a marker inlet that
    polls, `wait: 0`, got nothing yet), and ended: that marker was lost, never recorded nor epoched."""
    until = time.monotonic() + GRACE_S
    for node_id in list(ex.active_sources):
        live = ex.nodes[node_id].live
        while node_id in ex.active_sources and not ex.stop:
            got = ex._read_source(node_id)
            ex.drain()
            if time.monotonic() >= until or not (got or live):
                break
            if not got:
                time.sleep(POLL_S)
