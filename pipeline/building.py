"""A stop asked for while a graph is still being built (GraphBuilder.stop() from another thread while a node's
configure() waits for a device: an LSL stream resolved for up to its resolve_timeout).

GraphBuilder.run sets BUILDING to its run's StopFlag (any object whose bool() says a stop was asked) around the
build; a configure() that waits polls `stop_asked()` and raises BuildStopped, which run() takes as the stop it is.
Ctrl-C in the main thread needs none of this: it raises KeyboardInterrupt in the wait itself."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

BUILDING: ContextVar[Any] = ContextVar("wavegraph_building_stop", default=None)


class BuildStopped(KeyboardInterrupt):
    """A wait in configure() ended by a stop asked for the run being built (as Ctrl-C ends it in the main thread)."""


def stop_asked() -> bool:
    """Whether a stop was asked for the run whose graph this thread (context) is building."""
    return bool(BUILDING.get())
