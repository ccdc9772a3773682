"""The tail a filtering node (resample, fir, stft) flushes at a gap: only what is stamped before the next segment.

At a gap such a node ends its segment as finish() ends a stream (its flushed tail, then a fresh filter), so each
segment is filtered as if alone (as MNE's raw.filter / raw.resample do: skip_by_annotation 'edge'). The tail is
stamped up to the node's delay after the segment's last sample; after a gap shorter than that, the next segment's
first output (stamped at its own t0) would come before the tail's end, and times going back are a restart to
`epochs`, `join` and the trial decoder. So the tail keeps only what is stamped before `t_next` (the gap chunk's t0);
the rest is counted (`tail_dropped_at_gap`, said once). After a gap at least the delay long nothing is dropped.
"""

from __future__ import annotations

import logging
import math

from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node

_log = logging.getLogger("wavegraph.gap")


def tail_before(node: Node, out: dict[str, Chunk], t_next: float | None, rate: float, frames: bool = False):
    """`out` (finish()'s {"out": chunk}) cut to the samples stamped before t_next; for `frames` (an stft's, time on
    axis 0), to the frames whose newest hop block (1/rate from the stamp) ends by t_next, so an istft after it gives
    samples stamped before t_next too. None or a non-finite t_next: all of it."""
    c = out.get("out")
    if c is None or t_next is None or not math.isfinite(t_next) or not math.isfinite(c.t0):
        return out
    n = c.data.shape[0 if frames else -1]
    x = (t_next - float(c.t0)) * rate  # in samples (frames) from the tail's first stamp
    keep = math.floor(x + 1e-6) if frames else math.ceil(x - 1e-6)  # (within float rounding of the grid)
    keep = min(n, max(0, keep))
    if keep == n:
        return out
    dropped = n - keep
    node.count("tail_dropped_at_gap", dropped)
    if not node.__dict__.get("_said_tail_dropped"):
        node.__dict__["_said_tail_dropped"] = True
        what = "frames" if frames else "samples"
        _log.warning(
            "%s: a gap of less than its delay: the last %d %s of the segment's flushed tail (stamped from %.6g s) "
            "were dropped so that the output's times keep increasing into the next segment (at %.6g s); later "
            "ones are counted in tail_dropped_at_gap. A gap at least the node's delay long loses nothing",
            node.node_id or type(node).__name__,
            dropped,
            what,
            float(c.t0) + keep / rate,
            t_next,
        )
    rest = {k: v for k, v in out.items() if k != "out"}  # (the enhancer's vad, cut at the segment's end already)
    if keep == 0:
        return rest
    data = c.data[:keep] if frames else c.data[..., :keep]
    return {**rest, "out": c.with_data(data, float(c.t0))}
