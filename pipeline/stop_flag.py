"""The one stop path of a process (StopFlag): SIGINT, SIGTERM and SIGHUP set a flag that the runners read between
chunks (pipeline.executor, pipeline.runner, pipeline.worker)."""

from __future__ import annotations

import signal
import threading

from .stuck import NodeStuck, in_node


class StopFlag:
    """The one stop path of a process: SIGINT, SIGTERM and SIGHUP only set this flag, never interrupt a
    node mid-chunk.

    The first signal (or `request()`) asks for a stop: the runners end their sources (as if each had
    reached end-of-stream) and let the graph drain, so every chunk already read reaches the sinks and
    recorders finalise complete files. A second signal (or `abort()`) stops at once, between chunks;
    every node is still closed. `bool(flag)` is True once a stop was asked for.

    Only signals count towards the second: a stop asked otherwise (a worker told by its parent, a
    `--duration`) is not one. A signal to a whole process group (Ctrl-C in a terminal, `kill -TERM -PGID`)
    reaches the parent and its workers at once, and a worker's parent may tell it to stop before that
    worker's own handler has run; the signal must still mean "drain", not "abort"."""

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self):
        self.event = threading.Event()
        self.abort_event = threading.Event()
        self.why = ""  # what asked first: "SIGTERM", "parent", ...
        self.signals = 0  # stop signals received
        self.overdue = ""  # set by stuck.Overdue (a run's duration ran out long ago): its signal stops a stuck node
        self.unreachable = ""  # set by the worker's control link: why the parent cannot hear this process
        self._old: dict = {}

    def __bool__(self) -> bool:
        return self.event.is_set()

    @property
    def aborted(self) -> bool:
        return self.abort_event.is_set()

    def request(self, why: str = "") -> None:
        if not self.event.is_set():
            self.why = why
            self.event.set()

    def abort(self, why: str = "") -> None:
        self.request(why)
        self.abort_event.set()

    def _on_signal(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.overdue:  # the run is aborted already: a node still in its call is stuck (stuck.Overdue)
            if node_id := in_node(frame):
                raise NodeStuck(f"{self.overdue} node '{node_id}' was still in its call")
            return
        self.signals += 1
        if self.signals > 2 and (node_id := in_node(frame)):  # a node that does not return, stop after stop
            raise NodeStuck(f"{name} number {self.signals} while node '{node_id}' was still in its call")
        if self.signals > 1:
            self.abort(name)
        else:
            self.request(name)

    def install(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._on_signal)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old.clear()
