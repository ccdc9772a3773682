"""`wavegraph run --status`: a one-line status about once a second while a graph runs (live and endless
runs show nothing else until they stop): elapsed time, chunks per second in and out of the graph, the
worst lateness of a paced source, drops, gaps and xruns. It is an observer of the runner (it gets the
per-node statistics about twice a second) and writes to stderr, redrawing one line on a terminal.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import TextIO

XRUN_WORDS = ("overflow", "underflow", "xrun")
REPORT_LAG_S = 1.0  # workers report every 0.5 s (worker.LIVE_S)


def ends(graph) -> tuple[set[str], set[str]]:
    """The graph's sources (no input edge) and sinks (no output edge), `monitor` taps left out: a tap is not where
    the graph's data ends (with --monitor on every port, counting them tripled the sinks' chunks/s)."""
    shown = [n for n in graph.order if graph.node_config(n).type != "monitor"]
    return {n for n in shown if not graph.edges_into(n)}, {n for n in shown if not graph.edges_from(n)}


def taps(graph) -> set[str]:
    """The graph's `monitor` nodes (--monitor's taps, or the file's own)."""
    return {n for n in graph.order if graph.node_config(n).type == "monitor"}


def summarise(
    stats: dict[str, dict],
    sources: set[str] | None = None,
    sinks: set[str] | None = None,
    monitors: set[str] | None = None,
) -> dict[str, float]:
    """Totals over the nodes: chunks out of sources, chunks into sinks, drops, gaps, xruns, lateness. Without the
    graph's `sources` and `sinks` (ends()), a node that takes nothing in is a source and one that gives nothing
    out a sink. What the `monitors` (taps()) drop, the page's copy that fell behind, counts apart (monitor_drops):
    said among the graph's drops and gaps, it read as data lost."""
    out = {"source_chunks": 0, "sink_chunks": 0, "drops": 0, "gaps": 0, "xruns": 0, "late_ms": 0.0, "monitor_drops": 0}
    for node, s in stats.items():
        counters = s.get("counters", {})
        if node in (monitors or ()):
            out["monitor_drops"] += s["drops"]
            continue
        if node in sources if sources is not None else s["chunks_in"] == 0:
            out["source_chunks"] += s["chunks_out"]
        if node in sinks if sinks is not None else s["chunks_out"] == 0:
            out["sink_chunks"] += s["chunks_in"]
        out["drops"] += s["drops"]
        out["gaps"] += s["gaps"]
        out["xruns"] += sum(v for k, v in counters.items() if any(w in k for w in XRUN_WORDS))
        out["late_ms"] = max(out["late_ms"], counters.get("late_us_max", 0) / 1e3)
    return out


class StatusLine:
    def __init__(self, stream: TextIO | None = None, every_s: float = 1.0, graph=None):
        """`graph`: its sources and sinks are the ones counted (ends())."""
        self.stream = stream or sys.stderr
        self.sources, self.sinks = ends(graph) if graph is not None else (None, None)
        self.monitors = taps(graph) if graph is not None else None
        self.every_s = every_s
        self.started = time.monotonic()
        self.last_t = 0.0
        self.seen: dict[str, deque] = {}  # node -> (time, chunks in, chunks out) over about every_s
        self.lines = 0

    def __call__(self, stats: dict[str, dict]) -> None:
        now = time.monotonic()
        for node, s in stats.items():  # each node's counts as of its report ("at"; else now), for the rates
            seen = self.seen.setdefault(node, deque())
            at = float(s.get("at", now))
            if not seen or at > seen[-1][0]:
                seen.append((at, s["chunks_in"], s["chunks_out"]))
            while len(seen) > 2 and seen[-1][0] - seen[1][0] >= self.every_s:
                seen.popleft()
        if now - self.last_t < self.every_s:
            return
        totals = summarise(stats, self.sources, self.sinks, self.monitors)
        sources = self.sources if self.sources is not None else {n for n, s in stats.items() if s["chunks_in"] == 0}
        sinks = self.sinks if self.sinks is not None else {n for n, s in stats.items() if s["chunks_out"] == 0}
        # Each node's rate between two of its own reports: a worker reports every 0.5 s, so its counts read a
        # second apart held one, two or three reports' worth (a steady 10 chunks/s showed 5.7, then 10.5).
        rate_in = sum(self._rate(n, 2, now) for n in sources)
        rate_out = sum(self._rate(n, 1, now) for n in sinks)
        self.last_t = now
        line = (
            f"{now - self.started:7.1f} s  sources {rate_in:7.1f} chunks/s  sinks {rate_out:7.1f} chunks/s  "
            f"late {totals['late_ms']:6.2f} ms  drops {totals['drops']}  gaps {totals['gaps']}  "
            f"xruns {totals['xruns']}"
            + (f"  monitor drops {totals['monitor_drops']}" if totals["monitor_drops"] else "")
        )
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(line + end)
        self.stream.flush()
        self.lines += 1

    def _rate(self, node: str, field: int, now: float) -> float:
        """Chunks per second of `node` (field 1: in, 2: out) between its oldest and newest counts kept (from the
        start of the run while it has reported once); counts older than REPORT_LAG_S are taken as unchanged
        since (a process that stopped reporting falls to 0)."""
        seen = self.seen.get(node)
        if not seen:
            return 0.0
        t1, c1 = max(seen[-1][0], now - REPORT_LAG_S), seen[-1][field]
        t0, c0 = (seen[0][0], seen[0][field]) if len(seen) > 1 else (self.started, 0)
        return (c1 - c0) / max(t1 - t0, 1e-3)

    def close(self) -> None:
        if self.lines and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()
