"""lsl_inlet's start (the node is in lsl.py): one ambiguity check a run, and the data stream opened when the graph starts.

A multi-process run configures every node twice: the parent, to check the graph, then the worker process that runs
it. Each lsl_inlet configure() resolved its stream and then listened AMBIGUITY_WAIT_S more for a second matching one,
so a graph of an EEG and a marker inlet spent about 3 s in those waits before its inlets opened; with the stream
started after wavegraph (the amplifier app, MNE-LSL's PlayerLSL) that was 3 s of its start, and its markers, not
received (liblsl gives an inlet only what is sent once its data stream is open). Now the process that checked the
stream leaves its uid to its worker processes (they inherit os.environ): a worker finds that very stream by its uid
(`pinned_query`), without the second wait, and falls back to the full check if it is not there (gone meanwhile).

`open()` (the process that runs the node, when the graph starts) opens the data stream at once instead of at the
first pull, and says (`missed_start_said`) when the stream appeared while the graph waited for it: its first seconds,
before the inlet opened, are not received -- inherent to LSL, which keeps nothing for an inlet that is not yet open.
"""

from __future__ import annotations

import json
import math
import os
import socket

CHECKED_ENV = "WAVEGRAPH_LSL_CHECKED"  # query -> {"uid", "pid": the process that checked it, "since": its wait's start}
PINNED_WAIT_S = 2.0  # s: how long a worker looks for the stream its parent checked before checking anew
OPEN_TIMEOUT_S = 2.0  # s: how long open() waits for the data connection (read() goes on trying)
CHAIN_S = 1.0  # s: an inlet configured within this of the previous one's stream being found waits since its wait began


def _table() -> dict:
    try:
        table = json.loads(os.environ.get(CHECKED_ENV, "{}"))
    except ValueError:
        return {}
    return table if isinstance(table, dict) else {}


def wait_began(now: float) -> float:
    """When the graph began waiting for its LSL streams, for a configure() starting `now` (LSL clock): the start of
    the previous inlet's wait when this process configured it just before this one (a graph's EEG, then its markers:
    a marker stream that appeared while the EEG's was awaited appeared while the graph waited too), else `now`."""
    mine = [e for e in _table().values() if isinstance(e, dict) and e.get("pid") == os.getpid()]
    last = max(mine, key=lambda e: float(e.get("at", -math.inf)), default=None)
    if last is not None and 0 <= now - float(last.get("at", -math.inf)) < CHAIN_S:
        return min(now, float(last.get("since", now)))
    return now


def remember(pred: str, uid: str, since: float, now: float) -> None:
    """Leave the stream checked for `pred` (its uid; `since`: when the graph began waiting, wait_began) to the worker
    processes this one starts; `now`: the LSL clock when it was found."""
    table = _table()
    table[pred] = {"uid": uid, "pid": os.getpid(), "since": since, "at": now}
    os.environ[CHECKED_ENV] = json.dumps(table)


def pinned_query(pred: str) -> tuple[str, float] | None:
    """(`pred` pinned to the uid of the stream the parent process checked, when its wait began), or None when this
    process's parent checked no stream for `pred` (the graph's own process, a worker on another host)."""
    entry = _table().get(pred)
    if not isinstance(entry, dict) or entry.get("pid") != os.getppid() or "'" in str(entry.get("uid", "'")):
        return None
    return f"{pred} and uid='{entry['uid']}'", float(entry.get("since", float("inf")))


def missed_start_said(info, since: float, now: float) -> str | None:
    """What open() says when the stream (its full `info`) was created after `since`, when the graph began waiting for
    it, on this host (another host's LSL clock is another): how much of its start the inlet, opened `now`, missed."""
    created = float(info.created_at())
    if info.hostname() != socket.gethostname() or not since <= created <= now:
        return None
    return (
        f"stream '{info.name()}' appeared while the graph waited for it, {now - created:.2f} s before its inlet opened: "
        "LSL gives an inlet only what is sent once it is open, so those first samples (and markers) are not in this "
        "run; to have a session's first seconds, start sending (the task, the stimulus) once the graph runs, or start "
        "the stream before wavegraph"
    )


__all__ = [
    "CHECKED_ENV",
    "OPEN_TIMEOUT_S",
    "PINNED_WAIT_S",
    "missed_start_said",
    "pinned_query",
    "remember",
    "wait_began",
]
