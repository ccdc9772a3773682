"""Notes `wavegraph validate` prints after OK: what the file does that runs, but likely not as meant (a merge's
params lost, an output that goes nowhere). Not errors, and not said on every run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import DEFAULT_QUEUE, GraphConfig
from .param_problems import shown

if TYPE_CHECKING:
    from .graph import Graph


def merge_notes(config: GraphConfig) -> list[str]:
    """Nodes written `<<: *x` with params of their own: YAML merges one level deep, so the own `params:` replaced
    the merged ones whole; the optional ones it does not repeat ran at their defaults (a required one is an error,
    param_problems says it)."""
    notes = []
    for nc in config.nodes:
        lost = {k: v for k, v in nc.merged_params.items() if k not in nc.params}
        if lost:
            said = ", ".join(f"{k}: {shown(v)}" for k, v in lost.items())
            notes.append(
                f"node '{nc.id}' ({nc.type}): its own params: replaced the params its <<: merge gave, whole (YAML "
                f"merges keys one level deep): {said} lost, the default used; fix: anchor the params themselves "
                f"(x-{nc.type}: &{nc.type} {{...}}) and merge them inside: params: {{<<: *{nc.type}, ...}}, "
                "or repeat them in this node's params"
            )
    return notes


def in_memory_edge_notes(config: GraphConfig) -> list[str]:
    """Edges given a queue, a policy or a transport, whose two ends run in one process: the edge is in memory, so none
    of them applies (`policy: drop_oldest` for a view that must never slow the graph dropped nothing)."""
    notes = []
    group_of = {n: g for g, ns in config.processes.items() for n in ns}
    for e in config.edges:
        group = group_of.get(e.source_node)
        given = {
            "policy": e.policy if e.policy != "block" else "",
            "queue": e.queue if e.queue != DEFAULT_QUEUE else "",
        }
        said = ", ".join(f"{k}: {v}" for k, v in {**given, "transport": e.transport}.items() if v != "")
        if said and group is not None and group == group_of.get(e.target_node):
            node = e.target_node
            notes.append(
                f"edge {e} (line {e.line}): {said} appl{'ies' if ',' not in said else 'y'} between processes only, "
                f"and both ends run in process '{group}' (in memory: nothing is queued or dropped); fix: place "
                f"'{node}' in a process of its own (processes: {{{node}: [{node}]}}), or remove "
                f"{'them' if ',' in said else 'it'}"
            )
    return notes


def dangling_notes(graph: Graph) -> list[str]:
    """Nodes with outputs none of which an edge takes (a second `sine` left unconnected): they run and what they
    make is dropped."""
    notes = []
    for nc in graph.config.nodes:
        node = graph.nodes.get(nc.id)
        outputs = list(node.outputs) if node is not None else []
        if outputs and not graph.edges_from(nc.id):
            ports = ", ".join(f"{nc.id}.{port}" for port in outputs)
            notes.append(
                f"node '{nc.id}' ({nc.type}): its output{'s' if len(outputs) > 1 else ''} {ports} go"
                f"{'' if len(outputs) > 1 else 'es'} to no node: what it makes is dropped; fix: connect it (an edge "
                f"with source: {nc.id}.{outputs[0]}) or remove the node"
            )
    return notes


_SECONDS_WINDOWS = ("window", "hop", "segment")  # bandpower's and running_zscore's: seconds, where peers count samples
SAMPLE_LIKE = 16  # a whole number of seconds from here up reads as a sample count (window: 250 at 250 Hz)


def seconds_notes(graph: Graph) -> list[str]:
    """A window in seconds written as a whole number like a sample count (bandpower's `window: 250, hop: 50`, as
    Timeflux's and scipy's windows count samples): it validated and ran 250-s windows, one estimate every 50 s (none
    at all from a short recording). Said with the seconds it means at the input's rate and the numbers for samples, when
    one of them is at least half the rate (a sample count of a window of 0.5 s or more), so that 30-s windows at 250 Hz
    are not questioned."""
    notes = []
    for nc in graph.config.nodes:
        node = graph.nodes.get(nc.id)
        fields = getattr(getattr(type(node), "Params", None), "model_fields", {})
        rate = next((s.rate for s in getattr(node, "in_specs", {}).values() if s.rate), 0.0)
        big = {
            name: value
            for name, value in nc.params.items()
            if name in _SECONDS_WINDOWS
            and name in fields
            and "second" in (fields[name].description or "")
            and type(value) is int
            and value >= SAMPLE_LIKE
        }
        if big and rate and max(big.values()) >= rate / 2:  # (30 s of running_zscore or a sleep epoch at 250 Hz is
            # seconds: a note only where some value is at least half a second's worth of samples)
            said = ", ".join(f"{k}: {v}" for k, v in big.items())
            meant = ", ".join(f"{k}: {v / rate:g}" for k, v in big.items())
            notes.append(
                f"node '{nc.id}' ({nc.type}): {said} {'are' if len(big) > 1 else 'is'} seconds here "
                f"({', '.join(f'{v * rate:g}' for v in big.values())} samples at {rate:g} Hz); fix: if you meant "
                f"samples, write {meant}"
            )
    return notes
