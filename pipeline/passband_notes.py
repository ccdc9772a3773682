"""A filter chain that passes nothing: a highpass at or above the lowpass the content already went through (highpass
30 Hz after lowpass 10 Hz; a highpass above the Nyquist after a downsample). It runs, but leaves no signal, and MNE
reading such a file's edges warns and resets them (StreamSpec.passband writes 0 Hz and the lowpass instead). Said by
`wavegraph validate` and at the start of a run, naming the two nodes. A join of inputs filtered apart (a 40 Hz highpass
on one, a 50 Hz stream on another) has such edges too, as MNE stores channels filtered apart, but each channel passes
its own band: said so instead."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import Graph
    from .spec import StreamSpec


def _lowpass(spec: StreamSpec) -> float:
    """The content's lowpass edge (Hz): the filters', the Nyquist of its rate and of the lowest it came through."""
    nyquist = spec.rate / 2 if spec.rate > 0 else math.inf
    return min(spec.lowpass or math.inf, spec.band or math.inf, nyquist)


def crossed(spec: StreamSpec) -> bool:
    return spec.kind == "signal" and spec.highpass > 0 and spec.highpass >= _lowpass(spec)


def _ins(graph: Graph, node_id: str) -> list[tuple[str, StreamSpec]]:
    return [(e.source_node, graph.specs[e.source]) for e in graph.edges_into(node_id) if e.source in graph.specs]


def _outs(graph: Graph) -> dict[str, list[StreamSpec]]:
    """node id -> the specs of its signal outputs (in graph.specs' order), made in one pass: a pass over every spec for
    each node made a 3000-node chain's `wavegraph validate` spend 1.3-4 s here."""
    outs: dict[str, list[StreamSpec]] = {}
    for k, s in graph.specs.items():
        if s.kind == "signal":
            outs.setdefault(k.split(".", 1)[0], []).append(s)
    return outs


def _setter(graph: Graph, outs: dict[str, list[StreamSpec]], node_id: str, edge: str, at: float) -> str | None:
    """The nearest node upstream of `node_id` (or itself) whose output set the `edge` ('highpass' or 'lowpass') to
    `at` (Hz) or past it (`outs`: _outs(graph))."""
    seen, todo = set(), [node_id]
    while todo:
        n = todo.pop(0)
        if n in seen:
            continue
        seen.add(n)
        ins = _ins(graph, n)
        for out in outs.get(n, []):
            if edge == "highpass" and out.highpass >= at > max((s.highpass for _, s in ins), default=0.0):
                return n
            if edge == "lowpass" and _lowpass(out) <= at < min((_lowpass(s) for _, s in ins), default=math.inf):
                return n
        todo += [src for src, _ in ins]
    return None


def crossed_filter_notes(graph: Graph) -> list[str]:
    """One line for each node whose output first passes nothing (its inputs did not)."""
    notes, outs = [], _outs(graph)
    for node_id in graph.order:
        bad = [s for s in outs.get(node_id, []) if crossed(s)]
        if not bad or any(crossed(s) for _, s in _ins(graph, node_id)):
            continue
        spec = bad[0]
        hp, lp = spec.highpass, _lowpass(spec)
        high, low = _setter(graph, outs, node_id, "highpass", hp), _setter(graph, outs, node_id, "lowpass", lp)
        names = " and ".join(f"'{n}' ({graph.node_config(n).type})" for n in dict.fromkeys(x for x in (high, low) if x))
        of = {n: f"'{n}'" if n else "?" for n in (high, low)}
        nyq = "" if lp < spec.rate / 2 else f", the Nyquist of {spec.rate:g} Hz"
        if sum(s.kind == "signal" for _, s in _ins(graph, node_id)) > 1:  # a join: each channel passes its own band
            notes.append(
                f"node '{node_id}': its inputs were filtered apart: a highpass of {hp:g} Hz (from {of[high]}) on some "
                f"channels, a lowpass of {lp:g} Hz (from {of[low]}{nyq}) on others, so no one passband holds them all; "
                f"fix: filter the inputs alike before it (check the cut-offs of {names}), or record them apart; "
                "recorders write highpass 0 Hz for it, as MNE resets such edges"
            )
            continue
        notes.append(
            f"node '{node_id}': its output passes nothing: a highpass of {hp:g} Hz (from {of[high]}) at or above a "
            f"lowpass of {lp:g} Hz (from {of[low]}{nyq}); fix: check the cut-offs of {names} (swapped? a downsample "
            f"below twice the highpass?); recorders write highpass 0 Hz for it, as MNE resets such edges"
        )
    return notes
