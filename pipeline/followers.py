"""The last reads of the sources that end with the others of their process (Source.ends_with_others: the marker
inlet beside the EEG's), once those others have ended."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .executor import Executor

GRACE_S = 0.25  # a live follower is read this long after the others ended: what was sent with their last chunk
POLL_S = 0.01  # between rounds of reads that gave nothing
CAP_S = 4 * GRACE_S  # a follower still giving then (a stream that never stops) is read no more


def last_reads(ex: Executor) -> None:
    """Read each follower until it gives nothing more; a live one (an LSL inlet) for GRACE_S, so that a marker sent
    with the EEG's last chunk, still on its way, is taken. Before, each was read once, at once (a marker inlet that
    polls, `wait: 0`, got nothing yet), and ended: that marker was lost, never recorded nor epoched.
    The followers are read in turn, round after round, all in the same GRACE_S (so the end waits GRACE_S once, not
    once a follower), and one that still gives is read on after it until it gives nothing (CAP_S at most). Before,
    they were read one after another against one deadline: the first live one polled it away, and the next got a
    single read, which took one of the chunks it held and dropped the rest."""
    start = time.monotonic()
    pending = list(ex.active_sources)
    while pending and not ex.stop:
        got_any = False
        for node_id in list(pending):
            got = node_id in ex.active_sources and ex._read_source(node_id)
            ex.drain()
            got_any = got_any or got
            polling = ex.nodes[node_id].live and time.monotonic() - start < GRACE_S
            if node_id not in ex.active_sources or not (got or polling):
                pending.remove(node_id)
        if time.monotonic() - start >= CAP_S:
            break
        if pending and not got_any:
            time.sleep(POLL_S)
