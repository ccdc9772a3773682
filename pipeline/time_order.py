"""Chunk times that go back: a node (a user's class above all) whose signal output returned a chunk whose t0 was
not after the chunk before it on that output (it went back, or repeated) was passed on without a word; the nodes
downstream place samples by it (a recorder's chunk-time map, epochs' and join's time buffers restamp it forward or
cut the wrong samples). The executor (Executor._emit) checks every node's signal outputs, sources' as the others', at
one dict lookup and one comparison a chunk: such a chunk fails the node, naming it, the port, both times and the fix.
A chunk flagged gap may go back (a restarted device, a replay: the nodes downstream start again from it); a chunk
without a time (t0 NaN) or without samples is not compared; events and features may share a time (two markers).
The project's own nodes take their times from the data (a CSV's time column, an LSL stream's jittering timestamps
fitted over a few samples): theirs going back is the data's, not a bug, and must not end a live session or a replay;
it is passed on, counted (`t0_back`) and logged once per output; and so is a user's source's (its times are a
device's or a file's as often as its own count) and a user's node's chunk that went back when the input chunk it came
from went back too (it passed the input's time on, as it should). Only a user's processing node whose output goes
back on its own (a bug in its time keeping) fails."""

from __future__ import annotations

import logging

from .node import Node, Source

_log = logging.getLogger("wavegraph.executor")


def signal_outputs(nodes: dict[str, Node]) -> dict[tuple[str, str], float]:
    """(node id, output port) -> the t0 of its last chunk (-inf before the first), for every regular signal output."""
    out: dict[tuple[str, str], float] = {}
    for node_id, node in nodes.items():
        for port, spec in getattr(node, "out_specs", {}).items():
            if getattr(spec, "kind", "") == "signal" and getattr(spec, "rate", 0) > 0:
                out[(node_id, port)] = float("-inf")
    return out


def went_back(node: Node, port: str, t0: float, before: float) -> str:
    """What a NodeFailure says of a chunk at `t0` on `port` after one at `before`, and the fix."""
    method = "read()" if isinstance(node, Source) else "process() (or finish())"
    what = "went back" if t0 < before else "did not move on (the same t0 twice)"
    return (
        f"{type(node).__name__}.{method} returned a chunk on '{port}' at t0={t0:.9g} s after one at t0={before:.9g} "
        f"s: the stream's time {what}, and the nodes downstream (a recorder, epochs, join) place samples by it; fix: "
        "give each chunk the time of its first sample as t0 (the chunk before's t0 plus its samples / rate; pass "
        "the input's on: Chunk(data, chunk.t0) or chunk.with_data(data)), or flag gap=True on a chunk where the "
        "stream really starts again earlier (a device that restarted)"
    )


def passed_on(node_id: str, node: Node, port: str, t0: float, before: float, back_in: bool = False) -> bool:
    """Whether a chunk going back is passed on (the project's own node, a user's source, or any node whose input chunk
    went back: `back_in`; counted, logged once per output) rather than failing the node (a user's)."""
    own = type(node).__module__.startswith("wavegraph.") or back_in
    if not own and not isinstance(node, Source):
        return False
    fix = (
        "larger chunks, or a recording with regular times"
        if own
        else "when read() stamps its chunks itself, give each the time of its first sample (the chunk before's t0 "
        "plus its samples / rate); when they come from a device's clock, fit them over more samples or read larger "
        "chunks"
    )
    key = f"t0_back_{port}" if len(getattr(node, "outputs", ())) > 1 else "t0_back"
    node.count(key)
    if node.counters[key] == 1:
        _log.warning(
            "node '%s' (%s): a chunk on '%s' at t0=%.9g s came after one at t0=%.9g s: the stream's times went back "
            "(a file's time column or a device's timestamps jittering by more than a chunk); passed on and counted "
            "(%s), said once; the nodes downstream place samples by these times (fix: %s)",
            node_id,
            type(node).__name__,
            port,
            t0,
            before,
            key,
            fix,
        )
    return True
