"""lsl_inlet's start (the node is in lsl.py): one ambiguity check a run, off the stream's way, and the data stream
opened as soon as the run's process has it.

A multi-process run configures every node twice: the parent, to check the graph, then the worker process that runs
it. Each lsl_inlet configure() resolved its stream and then listened AMBIGUITY_WAIT_S more for a second matching one,
so a graph of an EEG and a marker inlet spent about 3 s in those waits before its inlets opened; with the stream
started after wavegraph (the amplifier app, MNE-LSL's PlayerLSL) that was 3 s of its start, and its markers, not
received (liblsl gives an inlet only what is sent once its data stream is open). Now (`find_stream`):
- the process that checked a stream leaves its uid to its worker processes (they inherit os.environ): a worker finds
  that very stream by its uid (`pinned_query`) and, when it appeared while the graph waited (`appeared`), opens its
  data stream at once (one there before opens when the graph starts); one not there (gone meanwhile) is looked for
  anew;
- a stream that appeared while configure() waited for it (created after the wait began, on this host) is not
  listened for a twin there: `TwinWatch` listens from then on, and open() (the graph starting, the inlet already
  receiving) asks it, as long as configure() would have. A stream there before the wait is checked at once.
`open()` says (`missed_start_said`) when the stream appeared while the graph waited for it: its first seconds, before
the inlet opened, are not received -- inherent to LSL, which keeps nothing for an inlet that is not yet open.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import threading
import time
from dataclasses import dataclass

from wavegraph.pipeline.spec import SpecError

from .lsl_info import describe_streams, which_one

CHECKED_ENV = "WAVEGRAPH_LSL_CHECKED"  # query -> {"uid", "pid" (the process that found it), "since", "at", "checked"}
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


def remember(pred: str, uid: str, since: float, now: float, checked: bool = True) -> None:
    """Leave the stream found for `pred` (its uid; `since`: when the graph began waiting, wait_began; `checked`: for a
    twin) to the worker processes this one starts; `now`: the LSL clock when it was found."""
    table = _table()
    table[pred] = {"uid": uid, "pid": os.getpid(), "since": since, "at": now, "checked": checked}
    os.environ[CHECKED_ENV] = json.dumps(table)


def pinned_query(pred: str) -> tuple[str, float, bool] | None:
    """(`pred` pinned to the uid of the stream the parent process found, when its wait began, whether it was checked
    for a twin), or None when this process's parent found none for `pred` (the graph's own process, another host's)."""
    entry = _table().get(pred)
    if not isinstance(entry, dict) or entry.get("pid") != os.getppid() or "'" in str(entry.get("uid", "'")):
        return None
    return f"{pred} and uid='{entry['uid']}'", float(entry.get("since", math.inf)), bool(entry.get("checked", False))


def twins_error(p, pred: str, found: list) -> SpecError:
    """The error of several streams matching the query (`p`: the inlet's params)."""
    return SpecError(
        f"lsl_inlet: {len(found)} LSL streams match {pred}: {describe_streams(found)}", which_one(p, found)
    )


class TwinWatch:
    """The streams matching `pred` over `wait_s` from now (a second one: an error), asked when the graph starts."""

    def __init__(self, pylsl, pred: str, wait_s: float):
        self.pred, self._resolver, self._until = pred, pylsl.ContinuousResolver(pred=pred), time.monotonic() + wait_s

    def check(self, p) -> None:
        """Wait out the listen; raise twins_error when it saw more than one stream."""
        while time.monotonic() < self._until:
            time.sleep(0.02)
        found = list(self._resolver.results()) if self._resolver is not None else []
        self.close()
        if len(found) > 1:
            raise twins_error(p, self.pred, found)

    def close(self) -> None:
        last, self._resolver = [self._resolver], None  # liblsl's teardown can block for 5 s: a daemon thread's
        threading.Thread(target=last.clear, daemon=True).start()


@dataclass
class Found:
    streams: list  # those matching (one; none or several: what configure() says)
    since: float  # LSL clock: when the graph began waiting for it (wait_began; the parent's, in a worker)
    twins: bool  # a second matching stream still to listen for (TwinWatch, asked at open())
    pinned: bool  # found by the uid the parent process left: this is the run's process


def find_stream(pylsl, resolve, pred: str, timeout: float, seen: list, twin_wait_s: float) -> Found:
    """lsl_inlet's search for its stream (configure()): `resolve` is lsl_info.resolve (`seen`: its list of the streams
    seen meanwhile); `twin_wait_s`: how long to listen for a second matching stream."""
    start = pylsl.local_clock()
    since, pinned = wait_began(start), pinned_query(pred)
    if pinned is not None:
        found = resolve(pylsl, pinned[0], min(timeout, PINNED_WAIT_S))
        if found:
            return Found(found, pinned[1], not pinned[2], True)
    found = resolve(pylsl, pred, timeout, seen)  # polled: Ctrl-C stops the wait at once
    late = len(found) == 1 and found[0].hostname() == socket.gethostname() and found[0].created_at() > start
    if found and not late:  # one more discovery wave (they come every 0.5 s), so a second matching stream is not missed
        found = pylsl.resolve_bypred(pred, minimum=2, timeout=twin_wait_s) or found
    if len(found) == 1:
        remember(pred, found[0].uid(), since, pylsl.local_clock(), checked=not late)
    return Found(found, since, late and len(found) == 1, False)


def receive(pylsl, inlet) -> float:
    """Open the inlet's data stream (liblsl buffers what is sent from then on); the LSL clock once it is open. One that
    does not open within OPEN_TIMEOUT_S is left to read(), which opens it (or ends the stream when it is gone)."""
    with contextlib.suppress(pylsl.util.TimeoutError, pylsl.util.LostError):
        inlet.open_stream(timeout=OPEN_TIMEOUT_S)
    return pylsl.local_clock()


def appeared(info, since: float) -> bool:
    """Whether the stream appeared while the graph waited for it (`since`), on this host. A worker opens such a
    stream's data stream at configure, its start the sooner received; one there before, at the graph's start (open()),
    as in one process: opened at configure, it was received while the graph's other processes started (or a node
    loaded a model), and `--duration 5` recorded 6.05 s, that backlog on top."""
    return info.hostname() == socket.gethostname() and float(info.created_at()) >= since


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
    "Found",
    "TwinWatch",
    "appeared",
    "find_stream",
    "missed_start_said",
    "pinned_query",
    "receive",
    "remember",
    "twins_error",
    "wait_began",
]
