"""A node that never returns, in the process that runs it (`--in-process`, or a worker): the StopFlag's signals only
set flags, so its wait (an Event never set, a device read without a timeout) went on through any number of Ctrl-C and
SIGTERMs, and nothing said which node held the run. The third stop signal that finds the run inside a node's call
raises NodeStuck there: the node fails (executor.NODE_ERRORS), named, with the line it was waiting at. A run in one
process with a duration does the same by itself after a grace (Overdue)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

log = logging.getLogger("wavegraph.runner")
_EXECUTOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "executor.py")
HINT = (
    "fix: this node did not return from its call after the run was asked to stop (its line above): a wait without a "
    "timeout or a loop that never ends; give its waits a timeout\n"
)


class NodeStuck(KeyboardInterrupt):
    """Raised by the third stop signal in the node's code that the run is waiting on."""


def in_node(frame: FrameType | None) -> str:
    """The id of the node whose code `frame` (a signal handler's) is running, '' when it is the runtime's own."""
    call = node_call(frame)
    return call[1] if call else ""


def node_call(frame: FrameType | None) -> tuple[FrameType, str] | None:
    """(the executor's frame that called the node, the node's id) when `frame` is in a node's code, else None."""
    if frame is None or os.path.abspath(frame.f_code.co_filename) == _EXECUTOR:
        return None
    f: FrameType | None = frame
    while f is not None:
        if os.path.abspath(f.f_code.co_filename) == _EXECUTOR and isinstance(f.f_locals.get("node_id"), str):
            return f, f.f_locals["node_id"]
        f = f.f_back
    return None


# After a run's duration ran out in one process, how long a node's call may go on before it is interrupted: the
# multi-process runner kills a process then (multiprocess.DRAIN_S + STOP_GRACE_S after the stop)
GRACE_S = 3.5
_STDLIB = os.path.dirname(os.path.abspath(os.__file__))


def waits_at(frame: FrameType) -> str:
    """'file:line in function' of the innermost frame of the node's code (the standard library's left out: the line
    that called Event.wait, not threading.py's) in the call `frame` is in."""
    f: FrameType | None = frame
    first = None
    while f is not None and os.path.abspath(f.f_code.co_filename) != _EXECUTOR:
        if first is None and not os.path.abspath(f.f_code.co_filename).startswith(_STDLIB + os.sep):
            first = f
        f = f.f_back
    f = first or frame
    return f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"


class Overdue:
    """A run in one process with a duration (`wavegraph run --in-process --duration`, run_graph(in_process=True,
    duration=...)). When the duration runs out the stop is asked, as Ctrl-C asks it: the sources end, the graph drains.
    A node whose call goes on GRACE_S after it (a wait without a timeout: the stop only sets a flag, so the run waited
    for ever; a drain that goes on, call after call, is not stuck) is named with the line it waits at, the run is
    aborted and the node interrupted as a third Ctrl-C would: NodeStuck is raised in its call, the node fails, the run
    ends. A node deaf to signals (C code that blocks
    them) or that catches the interruption cannot be stopped in one process, nor a run that is not in the main thread
    (a signal reaches only that one): the run is then said to wait on it, with the fix (kill -9, and a process of the
    node's own, which the multi-process runner kills after its grace)."""

    def __init__(self, stop, duration: float, why: str):
        self.stop, self.duration, self.why = stop, duration, why
        self.run = threading.get_ident()  # the thread of the run (the signal handlers' when it is the main thread)
        self.main = threading.current_thread() is threading.main_thread()
        self.lock = threading.Lock()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="wavegraph-duration", daemon=True)
        self.thread.start()

    def end(self) -> None:
        """The run's own work is over (before its nodes are closed: a recorder finalising is not stuck)."""
        with self.lock:
            self.ended.set()

    def _watch(self) -> None:
        if self.ended.wait(self.duration):
            return
        self.stop.request(self.why)  # as Ctrl-C: sources end, graph drains (a timer, not a check between reads)
        seen, since = None, 0.0  # the node call the run was in at the last look, and since when
        frame, call = None, None
        while not self.ended.wait(GRACE_S / 4):  # a drain that goes on, call after call, is not stuck: one call is
            frame = sys._current_frames().get(self.run)  # the run's thread
            call = node_call(frame)
            if call is None or call[0] is not seen:
                seen, since = call and call[0], time.monotonic()
            elif time.monotonic() - since >= GRACE_S:
                break
        with self.lock:
            if self.ended.is_set() or call is None or frame is None:
                return
            self.stop.abort(self.why)  # as a second Ctrl-C: between chunks
            node_id, where = call[1], waits_at(frame)
            said = f"run's duration ({self.duration:g} s) ran out over {GRACE_S:g} s ago"
            if self.main:
                self.stop.overdue = f"the run's duration ({self.duration:g} s) ran out, and {GRACE_S:g} s later"
                log.warning(
                    "node '%s' did not return from its call: the %s; it waits at %s: interrupting it",
                    node_id,
                    said,
                    where,
                )
                signal.pthread_kill(self.run, signal.SIGINT)  # the StopFlag's handler raises NodeStuck in the node
        if self.ended.wait(GRACE_S if self.main else 0):
            return
        why = (
            "does not take the interruption (C code that blocks signals, or one that catches KeyboardInterrupt)"
            if self.main
            else "cannot be interrupted: the run is not in the main thread, which alone takes signals"
        )
        log.warning(
            "node '%s' did not return from its call: the %s; it waits at %s and %s; the run waits on it; fix: end it "
            "with kill -9 %d (a recording is then recovered: wavegraph recover PATH), give its "
            "waits a timeout, or put the node in a process of its own (processes:), which the run kills after %g s",
            node_id,
            said,
            where,
            why,
            os.getpid(),
            GRACE_S,
        )
