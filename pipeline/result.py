"""What a run returns (RunResult) and the replay progress bar, shared by both runners."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass, field

DURATION = "duration"  # why a run stopped when run_graph's `duration` ran out: a normal end, not an interrupt
_run_duration: float | None = (
    None  # run_graph's `duration` while it runs here (a worker: its plan's); see run_duration()
)


def run_duration() -> float | None:
    """The `duration` (s) of the run this process is part of, or None: run_graph's while it runs, a worker's from its
    plan. A live source that received its stream from before the graph started (lsl_inlet, a stream that appeared
    while the graph waited) takes no more than that of it."""
    return _run_duration


@contextlib.contextmanager
def running_for(duration: float | None):
    """run_duration() is `duration` within (a finite positive number, else None); as it was after."""
    global _run_duration
    before = _run_duration
    _run_duration = float(duration) if duration is not None and 0 < float(duration) < math.inf else None
    try:
        yield
    finally:
        _run_duration = before


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
        total = self.total
        assert total is not None  # enabled only with a total
        done = total if final else min(max(done, 0.0), total)
        filled = int(30 * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {done:7.1f}/{total:.1f} s")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def source_durations(nodes: dict) -> list:
    return [getattr(node, "duration_seconds", None) for node in nodes.values()]
