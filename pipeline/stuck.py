"""A node that never returns, in the process that runs it (`--in-process`, or a worker): the StopFlag's signals only
set flags, so its wait (an Event never set, a device read without a timeout) went on through any number of Ctrl-C and
SIGTERMs, and nothing said which node held the run. The third stop signal that finds the run inside a node's call
raises NodeStuck there: the node fails (executor.NODE_ERRORS), named, with the line it was waiting at."""

from __future__ import annotations

import os
from types import FrameType

_EXECUTOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "executor.py")
HINT = (
    "fix: this node did not return from its call after the run was asked to stop (its line above): a wait without a "
    "timeout or a loop that never ends; give its waits a timeout\n"
)


class NodeStuck(KeyboardInterrupt):
    """Raised by the third stop signal in the node's code that the run is waiting on."""


def in_node(frame: FrameType | None) -> str:
    """The id of the node whose code `frame` (a signal handler's) is running, '' when it is the runtime's own."""
    if frame is None or os.path.abspath(frame.f_code.co_filename) == _EXECUTOR:
        return ""
    f: FrameType | None = frame
    while f is not None:
        if os.path.abspath(f.f_code.co_filename) == _EXECUTOR and isinstance(f.f_locals.get("node_id"), str):
            return f.f_locals["node_id"]
        f = f.f_back
    return ""
