"""The worker's control link: its end of the control socket to the parent (pipeline.multiprocess).

One thread owns a DEALER socket whose identity is the process group's name. It forwards what the worker's main
thread sends, answers clock probes at once, records the parent's go-aheads (Start, Go, Release), end-of-stream
confirmations (Ended) and moved endpoints (Moved), turns Stop/Abort into the stop flag, and notices when the
parent is gone. The messages are listed in pipeline.plan.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

import zmq

from . import curve
from .clock import LocalClock
from .curve import EdgeSecurity
from .plan import (
    Abort,
    BadMessage,
    ClockProbe,
    ClockReply,
    Clocks,
    Ended,
    Go,
    Heartbeat,
    Moved,
    Release,
    Start,
    Stop,
    StopRequest,
    WorkerPlan,
    decode,
    encode,
)
from .stop_flag import StopFlag

log = logging.getLogger("wavegraph.worker")
ORPHAN_DRAIN_S = 2.0  # without a parent, how long the graph may drain after it noticed


class Aborted(Exception):
    """The stop flag was aborted while the worker waited (to start, or on a full send queue)."""


class ControlLink:
    """The worker's end of the control socket (a DEALER whose identity is the group name).

    One thread owns the socket: it forwards what the main thread sends (through an inproc pipe), turns
    the parent's Stop/Abort into the stop flag, records Start/Go/Release/Ended, sends one StopRequest
    when the flag was set here (a signal), and notices when the parent is gone."""

    def __init__(self, ctx: zmq.Context, plan: WorkerPlan, stop: StopFlag, clock: LocalClock | None = None):
        self.ctx, self.plan, self.stop = ctx, plan, stop
        self.clock = clock or LocalClock()  # the clocks a ClockProbe is answered with
        self.moved: dict[str, str] = {}  # edge -> its restarted receiver's endpoint (Moved), not yet applied
        self.endpoints: dict[str, str] = {}
        self.started, self.go, self.released = threading.Event(), threading.Event(), threading.Event()
        self.ended: dict[str, int] = {}  # edge -> seq of its end-of-stream, confirmed by the sender
        self.shifts: dict[str, int] = {}  # edge -> ns from the sender's monotonic clock to ours (Clocks)
        self.rates: dict[str, float] = {}  # edge -> the drift of that shift, ns per ns, since shifted_at
        self.shifted_at = 0
        self._pipe_ep = f"inproc://control-{id(self)}"
        self._pull = ctx.socket(zmq.PULL)
        self._pull.bind(self._pipe_ep)
        self._push = ctx.socket(zmq.PUSH)
        self._push.connect(self._pipe_ep)
        self._parent = os.getppid()
        self.orphaned = False  # the parent is gone (kill -9): no Ended, no Release will come
        self._thread = threading.Thread(target=self._run, name="wg-control", daemon=True)
        self._thread.start()

    def send(self, msg) -> None:  # main thread only
        self._push.send(encode(msg))

    def wait(self, event: threading.Event) -> None:
        """Wait for one of the parent's go-aheads; Aborted if the run stops first."""
        while not event.wait(0.05):
            if self.stop:
                raise Aborted

    def shift(self, edge: str) -> int:
        """ns from `edge`'s sender's monotonic clock to ours, now: the last measured shift, moved on by
        the clocks' drift since then (pipeline.clock)."""
        rate = self.rates.get(edge, 0.0)
        drifted = rate * (self.clock.mono_ns() - self.shifted_at) if rate else 0.0
        return self.shifts.get(edge, 0) + int(drifted)

    def close(self) -> None:
        self._push.send(b"")  # the last thing in the pipe: everything before it is forwarded first
        self._thread.join(timeout=5)
        self._push.close(linger=0)

    def _run(self) -> None:
        dealer = self.ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.IDENTITY, self.plan.group.encode())
        dealer.setsockopt(zmq.LINGER, 2000)
        try:
            secure = EdgeSecurity.for_plan(self.plan).hook(self.plan.control, "control", self.ctx, server=False)
            if secure is not None:  # the parent on another host: CURVE, as on the edges
                secure(dealer, False, self.plan.control)
                # Sent only once the handshake is done: a parent this host cannot reach (a firewall, a route) queued
                # every message in libzmq, unseen by the check below, and the worker waited until it was killed.
                dealer.setsockopt(zmq.IMMEDIATE, 1)
            dealer.connect(self.plan.control)
        except Exception as e:  # noqa: BLE001 - a key file missing on this host: this thread died, the worker waited
            dealer.close(linger=0)  # for Start until the parent called it lost (65 s), its cause only in this log
            log.error("process '%s': %s", self.plan.group, e)
            self.stop.unreachable = str(e)  # the Ray actor raises it: the parent names the cause
            self.stop.abort(str(e))
            while self._pull.recv():  # what the main thread still sends goes nowhere, until close()
                pass
            self._pull.close(linger=0)
            return
        poller = zmq.Poller()
        poller.register(dealer, zmq.POLLIN)
        poller.register(self._pull, zmq.POLLIN)
        outbox = _Outbox(dealer)
        asked, orphaned_at, last_check, last_beat = False, None, 0.0, 0.0
        heard = False  # anything came from the parent: the handshake, if any, was done
        try:
            while True:
                events = dict(poller.poll(50))
                # Asked after every wake-up, before anything is forwarded: the flag is set before the main
                # thread sends its last messages through _pull (a source that a signal ended at once), and
                # those must not pass the request by.
                if self.stop and not asked and self.stop.why != "parent":
                    asked = True
                    outbox.send(encode(StopRequest(self.plan.group, self.stop.why)))
                if self._pull in events:
                    data = self._pull.recv()
                    if not data:
                        return
                    outbox.send(data)
                    continue
                if dealer in events:
                    heard = True
                    answer = self._handle(dealer.recv())
                    if answer is not None:  # a clock probe is answered at once, from this thread
                        outbox.send(answer)
                now = time.monotonic()
                if self.plan.heartbeat > 0 and now - last_beat > self.plan.heartbeat / 5:
                    last_beat = now
                    outbox.send(encode(Heartbeat(self.plan.group)))
                outbox.flush()
                if (
                    secure is not None
                    and not heard
                    and outbox.stuck_for(now) > curve.HANDSHAKE_S
                    and not self.stop.aborted
                ):
                    self._refused(len(outbox.queue))
                if now - last_check > 0.25:
                    last_check = now
                    if orphaned_at is None and os.getppid() != self._parent:
                        orphaned_at = now  # the parent was killed: nothing else would end this worker
                        self.orphaned = True
                        self.stop.request("parent gone")
                    if orphaned_at is not None and now - orphaned_at > ORPHAN_DRAIN_S:
                        self.stop.abort("parent gone")
        finally:
            try:
                outbox.flush()
            except zmq.ZMQError as e:  # the context ending: the socket is closed below all the same
                log.debug("process '%s': the control link's last flush: %s", self.plan.group, e)
            if outbox.queue:  # the parent never took them (a refused key, a parent gone): said, not waited for
                log.warning("process '%s': %d control messages not delivered", self.plan.group, len(outbox.queue))
            dealer.close(linger=0 if self.orphaned or outbox.queue else None)  # nobody reads them
            self._pull.close(linger=0)

    def _refused(self, queued: int) -> None:
        """The control socket is CURVE and nothing could be sent for HANDSHAKE_S: the parent did not complete the
        handshake. Said here (the parent hears nothing from this process, and calls it lost), and the run aborted."""
        why = (
            f"no CURVE handshake with the parent's control socket {self.plan.control} in {curve.HANDSHAKE_S:.0f} s "
            f"({queued} messages waiting): the parent does not accept this process's client_key (the graph's "
            "security.clients, or its processes' client_key), or this process's server_key is not the parent's, "
            "or this host cannot reach that address (a firewall or route: open the port range, docs/multihost.md)"
        )
        log.error("process '%s': %s", self.plan.group, why)
        self.stop.unreachable = why
        self.stop.abort(why)

    def _handle(self, data: bytes) -> bytes | None:
        t1, m1 = self.clock.wall_ns(), self.clock.mono_ns()
        try:
            msg = decode(data)
        except BadMessage as e:
            log.warning("process '%s': ignored a control message: %s", self.plan.group, e)
            return
        if isinstance(msg, ClockProbe):
            return encode(ClockReply(self.plan.group, msg.t0, t1, msg.m0, m1))
        if isinstance(msg, Clocks):
            self.shifts, self.rates = {e: int(s) for e, s in msg.shifts.items()}, dict(msg.rates)
            self.shifted_at = self.clock.mono_ns()
        if isinstance(msg, Start):
            self.endpoints = dict(msg.endpoints)
            self.started.set()
        elif isinstance(msg, Go):
            self.go.set()
        elif isinstance(msg, Moved):
            self.moved.update(msg.endpoints)
        elif isinstance(msg, Ended):
            self.ended[msg.edge] = msg.seq
        elif isinstance(msg, Stop):
            self.stop.request("parent")
        elif isinstance(msg, Abort):
            self.stop.abort("parent")
        elif isinstance(msg, Release):
            self.released.set()


class _Outbox:
    """What the control thread sends, in order, never blocking: a DEALER with no connection to send on (a CURVE
    handshake the parent refused ends it for good) blocks a send forever, and this thread must go on answering Stop
    and noticing a lost parent. A message the socket does not take now is kept and sent again at the next flush."""

    def __init__(self, dealer: zmq.Socket):
        self.dealer = dealer
        self.queue: deque[bytes] = deque()
        self.since: float | None = None  # when a send was first refused, while any is

    def send(self, data: bytes) -> None:
        self.queue.append(data)
        self.flush()

    def flush(self) -> None:
        while self.queue:
            try:
                self.dealer.send(self.queue[0], zmq.NOBLOCK)
            except zmq.Again:
                if self.since is None:
                    self.since = time.monotonic()
                return
            self.queue.popleft()
            self.since = None

    def stuck_for(self, now: float) -> float:
        """Seconds since the socket first refused a message still queued (0 when none is)."""
        return 0.0 if self.since is None else now - self.since
