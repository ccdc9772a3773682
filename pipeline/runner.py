"""The in-process runner: every node in this process, deterministic, as fast as allowed.

`run_graph` is the one entry point for both runners; the multi-process one lives in multiprocess.py.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Callable

from .executor import Executor, NodeFailure
from .graph import Graph
from .result import DURATION, ProgressBar, RunResult, running_for, source_durations
from .stop_flag import StopFlag
from .stuck import Overdue
from .summary import stats_to_dicts

Observer = Callable[[dict[str, dict]], None]
log = logging.getLogger("wavegraph.runner")  # --log-level debug: the run's phases, as the workers log theirs


OBSERVE_S = 0.5  # how often an observer (live monitor, status line) gets the statistics


def run_in_process(
    graph: Graph,
    speed: float | None = None,
    progress: bool = False,
    observer: Observer | None = None,
    duration: float | None = None,
    stop: StopFlag | None = None,
) -> RunResult:
    ex = Executor(graph.config, graph.nodes, "main", speed=speed)
    if stop is not None:  # GraphBuilder.stop() from another thread, where no signal handler can be installed
        ex.stop = stop
    bar = ProgressBar(source_durations(graph.nodes), progress)
    result = RunResult({}, {n: "main" for n in graph.nodes})
    t = time.monotonic()
    timer: Overdue | None = None
    ex.stop.install()
    try:
        ex.open()
        pace = "as fast as possible" if speed is None else f"at speed {speed:g}"
        log.debug("process 'main': %d nodes open (%s), running %s", len(graph.nodes), ", ".join(graph.nodes), pace)
        last = 0.0  # the duration counts from here, as the worker processes' from Go; a timer, not a check
        if duration is not None:  # between reads: a paced replay at a low --speed waits long for its next chunk
            timer = Overdue(ex.stop, duration, DURATION)  # as Ctrl-C: sources end, graph drains; a stuck node stopped
        while ex.step_sources():
            bar.show(max(ex.source_time.values(), default=0.0))
            if observer is not None and time.monotonic() - last >= OBSERVE_S:
                last = time.monotonic()
                observer(ex.snapshot())
        if timer is not None and ex.stop.why != DURATION:  # the sources have ended: a duration that runs out while
            timer.end()  # the graph drains stops nothing (after the duration's stop, a node stuck in the drain is stopped)
        log.debug("process 'main': the sources have ended (%s); draining the graph", ex.stop.why or "end of stream")
        ex.drain()
        log.debug("process 'main': the graph has drained; closing the nodes")
        bar.show(0.0, final=not ex.stop)
    except NodeFailure as e:
        result.failure = str(e)
    finally:
        if timer is not None:
            timer.end()
        result.interrupted = bool(ex.stop) and ex.stop.why != DURATION
        if ex.stop.why == DURATION:
            result.extra["stopped"] = DURATION
        try:
            ex.close()
        except RuntimeError as e:  # a node that could not close (a recording not finalised) fails the run
            result.failure = result.failure or f"process 'main': {e}"
        finally:
            ex.stop.uninstall()
            ex.collect_counters()
    log.debug("process 'main': nodes closed (%s)", f"failed: {result.failure}" if result.failure else "ok")
    result.stats = stats_to_dicts(ex.stats)
    result.wall_s = time.monotonic() - t
    return result


def _number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def run_graph(
    graph: Graph,
    speed: float | None = None,
    in_process: bool = False,
    progress: bool = False,
    observer: Observer | None = None,
    duration: float | None = None,
    stop: StopFlag | None = None,
) -> RunResult:
    """Run a built graph to completion (end-of-stream), Ctrl-C or a node failure. `observer`, when given,
    is called about every OBSERVE_S seconds with node id -> NodeStats.to_dict() (the live monitor).
    `duration`: stop after this many seconds of wall time as Ctrl-C stops (the sources end, the graph
    drains, files are complete), but as a normal end: not `interrupted`, exit code 0; a node that has not returned
    from its call a grace later fails, named (in one process stuck.Overdue interrupts it; a worker process is killed).
    `stop`: the StopFlag to run
    under (one that another thread may request, as GraphBuilder.stop() does; signals still set it in the main thread)."""
    # as `wavegraph run --speed/--duration` check them: speed=0 was a ZeroDivisionError mid-run, speed=-1 ran as fast as
    # possible, duration=inf printed a thread's OverflowError traceback
    # speed="fast" or duration="10" was "TypeError: '<' not supported between instances of 'int' and 'str'"
    if speed is not None and not (_number(speed) and 0 < speed < math.inf):
        raise ValueError(
            f"speed must be a positive number (finite; 1: real time) or None (as fast as possible), got {speed!r}"
        )
    if duration is not None and not (_number(duration) and 0 < duration < math.inf):
        raise ValueError(f"duration must be a positive number of seconds (finite; None: to the end), got {duration!r}")
    from .passband_notes import crossed_filter_notes

    for note in crossed_filter_notes(graph):  # a filter chain that passes nothing: likely a mistake, said once
        log.warning("%s", note)
    with running_for(duration):  # (a live source that received from before the graph started counts it too)
        if in_process:
            return run_in_process(graph, speed, progress, observer, duration, stop)
        from .multiprocess import run_multiprocess

        groups = "; ".join(f"'{g}': {', '.join(m)}" for g, m in graph.config.processes.items())
        n = len(graph.config.processes)
        log.debug("%d nodes in %d process%s (%s)", len(graph.nodes), n, "" if n == 1 else "es", groups)
        return run_multiprocess(graph, speed, progress, observer, duration=duration, stop=stop)
