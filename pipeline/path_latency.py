"""The declared latency along a path of a graph, as `wavegraph describe` (and the monitor, graph PNG) sum it.

Each node's latency_seconds is added along the path. A node that lines its inputs up by their time stamps (join,
apply_mask, epochs, ssvep_trial_decoder: ALIGNING) emits nothing for time t before
every input has reached t, so what arrives at it is the slowest of its inputs, not only the one on the path: the
path `src -> join` beside `src -> fir -> join` said 0 ms where the join's output came the fir's 200 ms late, and a
marker stream's path into epochs left out the delay of the filtered signal the epochs wait for.
"""

from __future__ import annotations

ALIGNING = frozenset({"join", "apply_mask", "epochs", "ssvep_trial_decoder"})


def aligns_inputs(node) -> bool:
    """Whether the node waits for all its inputs to reach a time before it emits (pairs them by stamp)."""
    return getattr(node, "type_name", "") in ALIGNING


def arrivals(graph) -> dict[str, float]:
    """node -> the slowest declared latency with which its inputs reach it (0 for sources), in topological order."""
    into: dict[str, float] = {}
    done: dict[str, float] = {}
    for n in graph.order:
        into[n] = max((done[e.source_node] for e in graph.edges_into(n) if e.source_node in done), default=0.0)
        done[n] = into[n] + graph.nodes[n].latency_seconds
    return into


def path_latency(graph, path: list[str], into: dict[str, float] | None = None) -> float:
    """Sum of latency_seconds along `path`; at a node that aligns its inputs, at least its slowest input's."""
    into = arrivals(graph) if into is None and any(aligns_inputs(graph.nodes[n]) for n in path) else into
    total = 0.0
    for n in path:
        node = graph.nodes[n]
        if into is not None and aligns_inputs(node):
            total = max(total, into[n])
        total += node.latency_seconds
    return total
