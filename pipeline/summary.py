"""The end-of-run table: one row per node."""

from __future__ import annotations

from .executor import NodeStats


def _pair(values: list[float], scale: float, fmt: str) -> str:
    if not values:
        return "-"
    return f"{values[0] / scale:{fmt}}/{values[1] / scale:{fmt}}"


def width(text: str) -> int:
    """Columns a terminal gives `text`: a wide (CJK) character takes two, a combining mark none."""
    import unicodedata

    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def left(text: str, columns: int) -> str:
    """`text` padded to `columns` on a terminal (f"{text:<n}" counts characters, not columns)."""
    return text + " " * max(0, columns - width(text))


def nothing_flowed(stats: dict[str, dict], interrupted: bool) -> str | None:
    """What to say of a run stopped before any chunk moved (Ctrl-C while a worker still loaded the enhancer or opened
    the sound card: seconds), whose summary is all 0 and said nothing of why; None otherwise."""
    if not interrupted or not stats or any(s["chunks_in"] or s["chunks_out"] for s in stats.values()):
        return None
    return (
        "note: stopped before any data flowed (every count above is 0): the graph was still starting (loading a model "
        "or opening the sound card takes seconds) or its sources had sent nothing yet; fix: wait until the status "
        "line shows data before stopping"
    )


def format_summary(stats: dict[str, dict], processes: dict[str, str] | None = None) -> str:
    """`stats`: node id -> NodeStats.to_dict(). Compute time in µs and latency in ms, as p50/p99. The node and
    process columns are as wide as their longest name (a fixed 16 and 10 put the figures of a longer name, such
    as --monitor's monitor_notch_out, under the wrong headings)."""
    where = {n: (processes or {}).get(n, "main") for n in stats}
    nw = max([16, *(width(n) for n in stats)])
    pw = max([10, *(width(p) for p in where.values())])
    header = (
        f"{left('node', nw)} {left('process', pw)} {'in':>7} {'out':>7} {'drops':>6} {'gaps':>5} {'restarts':>8} "
        f"{'compute us p50/p99':>20} {'e2e ms p50/p99':>16}  counters"
    )
    lines = [header, "-" * len(header)]
    for node_id, s in stats.items():
        if s.get("missing"):  # its process died or was killed before it could report
            lines.append(
                f"{left(node_id, nw)} {left(where[node_id], pw)} {'-':>7} {'-':>7} {'-':>6} "
                f"{'-':>5} {'-':>8} {'-':>20} {'-':>16}  no report: its process ended without one"
            )
            continue
        counters = ", ".join(f"{k}={v}" for k, v in sorted(s.get("counters", {}).items()) if v)
        lines.append(
            f"{left(node_id, nw)} {left(where[node_id], pw)} {s['chunks_in']:>7} {s['chunks_out']:>7} "
            f"{s['drops']:>6} {s['gaps']:>5} {s['restarts']:>8} {_pair(s['compute_ns'], 1e3, '.1f'):>20} "
            f"{_pair(s['latency_ns'], 1e6, '.2f'):>16}  {counters}"
        )
    return "\n".join(lines)


def stats_to_dicts(stats: dict[str, NodeStats]) -> dict[str, dict]:
    return {n: s.to_dict() for n, s in stats.items()}
