"""The in-process runner: every node in this process, deterministic, as fast as allowed.

`run_graph` is the one entry point for both runners; the multi-process one lives in multiprocess.py.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from .executor import Executor, NodeFailure
from .graph import Graph
from .summary import stats_to_dicts


@dataclass
class RunResult:
    stats: dict[str, dict]  # node id -> NodeStats.to_dict()
    processes: dict[str, str]  # node id -> process name
    interrupted: bool = False
    failure: str | None = None  # one-paragraph error naming the node, its process and the traceback
    wall_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.failure:
            return 1
        return 130 if self.interrupted else 0


class ProgressBar:
    """A one-line progress bar on stderr for replays whose sources know their duration."""

    def __init__(self, durations: list, enabled: bool):
        self.total = max((d for d in durations if d), default=None)
        self.enabled = enabled and self.total is not None
        self.last = 0.0

    def show(self, done: float, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.2 and not final):
            return
        self.last = now
        done = self.total if final else min(max(done, 0.0), self.total)
        filled = int(30 * done / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {done:7.1f}/{self.total:.1f} s")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def source_durations(nodes: dict) -> list:
    return [getattr(node, "duration_seconds", None) for node in nodes.values()]


def run_in_process(graph: Graph, speed: float | None = None, progress: bool = False) -> RunResult:
    ex = Executor(graph.config, graph.nodes, "main", speed=speed)
    bar = ProgressBar(source_durations(graph.nodes), progress)
    result = RunResult({}, {n: "main" for n in graph.nodes})
    t = time.monotonic()
    ex.stop.install()
    try:
        while ex.step_sources():
            bar.show(max(ex.source_time.values(), default=0.0))
        ex.drain()
        bar.show(0.0, final=not ex.stop)
    except NodeFailure as e:
        result.failure = str(e)
    finally:
        result.interrupted = bool(ex.stop)
        try:
            ex.close()
        except RuntimeError as e:  # a node that could not close (a recording not finalised) fails the run
            result.failure = result.failure or f"process 'main': {e}"
        finally:
            ex.stop.uninstall()
            ex.collect_counters()
    result.stats = stats_to_dicts(ex.stats)
    result.wall_s = time.monotonic() - t
    return result


def run_graph(graph: Graph, speed: float | None = None, in_process: bool = False, progress: bool = False) -> RunResult:
    """Run a built graph to completion (end-of-stream), Ctrl-C or a node failure."""
    if in_process:
        return run_in_process(graph, speed, progress)
    from .multiprocess import run_multiprocess

    return run_multiprocess(graph, speed, progress)
