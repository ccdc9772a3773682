"""The end-of-run table: one row per node."""

from __future__ import annotations

from .executor import NodeStats


def _pair(values: list[float], scale: float, fmt: str) -> str:
    if not values:
        return "-"
    return f"{values[0] / scale:{fmt}}/{values[1] / scale:{fmt}}"


def format_summary(stats: dict[str, dict], processes: dict[str, str] | None = None) -> str:
    """`stats`: node id -> NodeStats.to_dict(). Compute time in µs and latency in ms, as p50/p99."""
    header = (
        f"{'node':<16} {'process':<10} {'in':>7} {'out':>7} {'drops':>6} {'gaps':>5} {'restarts':>8} "
        f"{'compute us p50/p99':>20} {'e2e ms p50/p99':>16}  counters"
    )
    lines = [header, "-" * len(header)]
    for node_id, s in stats.items():
        if s.get("missing"):  # its process died or was killed before it could report
            lines.append(
                f"{node_id:<16} {(processes or {}).get(node_id, 'main'):<10} {'-':>7} {'-':>7} {'-':>6} "
                f"{'-':>5} {'-':>8} {'-':>20} {'-':>16}  no report: its process ended without one"
            )
            continue
        counters = ", ".join(f"{k}={v}" for k, v in sorted(s.get("counters", {}).items()) if v)
        lines.append(
            f"{node_id:<16} {(processes or {}).get(node_id, 'main'):<10} {s['chunks_in']:>7} {s['chunks_out']:>7} "
            f"{s['drops']:>6} {s['gaps']:>5} {s['restarts']:>8} {_pair(s['compute_ns'], 1e3, '.1f'):>20} "
            f"{_pair(s['latency_ns'], 1e6, '.2f'):>16}  {counters}"
        )
    return "\n".join(lines)


def stats_to_dicts(stats: dict[str, NodeStats]) -> dict[str, dict]:
    return {n: s.to_dict() for n, s in stats.items()}
