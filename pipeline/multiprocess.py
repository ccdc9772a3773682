"""The multi-process runner: each process group of the graph in its own OS process.

The parent builds the whole graph once (so every error is caught before anything starts and every
edge's spec is known), then writes a typed plan per group (pipeline.plan.WorkerPlan: the group's node
configs and specs, never the path of the YAML to re-read) and starts
`python -P -m wavegraph.pipeline.worker PLAN`. Edges inside a group stay in memory; edges between
groups go over ZeroMQ (pipeline.transport): `ipc://` in a per-run folder on one host, `tcp://` when
the graph says `transport: tcp` or a group names a host (a receiver binds port 0 on its group's host,
loopback by default, and reports the port it got). On one host an edge is a shared-memory edge
(pipeline.shm: payloads from 64 KiB through a ring in /dev/shm, ZeroMQ ipc for the rest) unless the
edge or the graph says `transport: ipc` (`shm` sends every payload through the ring). Segment names
start with the run id; the parent removes them at the end, and the next run removes those of runs
whose parent is gone.

Start: every worker binds its receivers and reports `Ready`; the parent then tells each where its
senders connect (`Start`), waits until every sender has connected, and only then lets the sources
start (`Go`), so nothing sent at the start of a stream is lost to a receiver that is not there yet.

Restart (`on_error: restart` on a `processes:` entry, at most `max_restarts` times, default 3): a
process of that group that dies after Go (exits without reporting, or falls silent under --ray) is
started again from its plan (a local process, or a new Ray actor through the launcher), with fresh node
state. It binds its receivers anew and reports `Ready`; the parent tells it where its senders connect
(`Start`), tells the senders of its incoming edges where it now is (`Moved`), measures its clock, and
lets it go. What was in flight is lost and flagged: its receivers see missing seq, the receivers of its
outgoing edges see seq start over, and both mark the next chunk gap=True. The restart is counted in each
of its nodes' `restarts` and in `RunResult.extra["restarts"]`. A group whose inputs had already ended
is not restarted (nothing would end it again), nor one that dies before Go or after a stop. An input that
ends while its group restarts has its `Ended` sent again when the restarted process reports `Ready`
(the first was sent while no process held the group's control identity, and the ROUTER dropped it).

Stop, one way: the parent's StopFlag (SIGINT, SIGTERM, SIGHUP), a worker's `StopRequest` (it got a
signal), a node failure or a process that died all lead to `Stop`: every worker ends its sources and
the graph drains by itself. After `DRAIN_S` (or a second signal) the parent sends `Abort`; processes
still running `STOP_GRACE_S` later are killed, except those that said `Closing` (their graph ended, a
recorder finalises its file: seconds per GB), which are waited for until a second signal or CLOSE_WAIT_S.
The summary is printed in every case.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import zmq

from . import clock
from .allocator import worker_env
from .clock import ClockSync
from .deaths import NOT_RESTARTED, closing, died, not_drained, recordings, stuck
from .executor import NodeStats
from .graph import Graph
from .plan import (
    SENDER_GONE,
    Abort,
    BadMessage,
    ClockReply,
    Clocks,
    Closing,
    Connected,
    Ended,
    Error,
    Go,
    Live,
    Moved,
    Progress,
    Ready,
    Release,
    Start,
    Stats,
    Stop,
    StopRequest,
    WorkerPlan,
    decode,
    encode,
)
from .result import DURATION, ProgressBar, RunResult, source_durations
from .runner import OBSERVE_S, Observer
from .shm import remove_segments, remove_stale_segments
from .stop_flag import StopFlag
from .worker_plans import make_plans, make_run_dir

log = logging.getLogger("wavegraph.multiprocess")
DRAIN_S = 2.0  # after a stop, how long the graph may take to drain before the parent aborts it
STOP_GRACE_S = 1.5  # after an abort, how long before the processes still running are killed
CLOSE_WAIT_S = 600.0  # after a stop, how long a process finalising its recordings is waited for (~100 GB of FIF)


def run_multiprocess(
    graph: Graph,
    speed: float | None = None,
    progress: bool = False,
    observer: Observer | None = None,
    launcher=None,
    duration: float | None = None,
    stop: StopFlag | None = None,
) -> RunResult:
    """`observer`, when given, gets node id -> NodeStats.to_dict() about every OBSERVE_S seconds, merged
    from the workers' `Live` reports. `duration`: stop (as Ctrl-C, but not `interrupted`) after this many
    seconds of wall time from the start barrier. `stop`: the run's StopFlag (GraphBuilder.stop() requests it)."""
    bar = ProgressBar(source_durations(graph.nodes), progress)  # before close(): a closed file has no duration
    for node in graph.nodes.values():
        with contextlib.suppress(Exception):  # the parent only validated; workers build their own nodes
            node.close()
    result = RunResult({}, {n: graph.group_of(n) for n in graph.order})
    stop = (stop or StopFlag()).install()
    run_dir = make_run_dir()
    remove_stale_segments()  # shared-memory rings of runs whose parent was killed
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a restarted worker takes over its group's identity
    procs: dict[str, subprocess.Popen] = {}
    t = time.monotonic()
    try:
        if launcher is not None:  # Ray actors (pipeline.placement): control over tcp on the driver's address
            control = launcher.bind_control(router)
        else:
            control = f"ipc://{os.path.join(run_dir, 'control.ipc')}"
            router.bind(control)
        plans = make_plans(graph, speed, control, run_dir, bar.enabled)
        for plan in plans.values():
            plan.live = observer is not None
            plan.duration = duration

        def start(group: str):
            """Start (or restart) one group's process: a local worker, or what the launcher starts."""
            safe = re.sub(r"[^\w.-]", "_", group).lstrip(".")  # a group name may hold a '/' (ps shows the name)
            name = group if safe == group else f"{safe}-{list(plans).index(group)}"
            path = os.path.join(run_dir, f"{name}.json")
            with open(path, "w") as f:
                f.write(plans[group].to_json())
            if launcher is not None:
                return launcher.start(group, plans[group])
            # -P: the worker's current folder is not on its import path, so a user's nodes.py or
            # pipeline.py there cannot shadow anything; it imports the same wavegraph as this process.
            # Started with the stop signals blocked (the mask is inherited): one that arrives before the
            # worker's first line has run stays pending instead of killing it; the worker unblocks them.
            old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, StopFlag.SIGNALS)
            try:
                # the allocator keeps freed memory: RSS follows the high-water mark (pipeline.allocator)
                return subprocess.Popen(
                    [sys.executable, "-P", "-m", "wavegraph.pipeline.worker", path], env=worker_env()
                )
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

        for group in plans:
            if stop:
                break
            procs[group] = start(group)
        if stop:
            result.interrupted = True
        else:
            supervisor = _Supervisor(router, procs, plans, result, bar, stop, observer)
            supervisor.start, supervisor.max_restarts = start, dict(graph.config.restart)
            supervisor.duration = duration
            supervisor.run()
    finally:
        _kill_stragglers(procs)
        if launcher is not None:
            launcher.close()  # its authenticator (CURVE on the control socket) uses this context
        router.close()
        ctx.term()
        stop.uninstall()
        shutil.rmtree(run_dir, ignore_errors=True)
        remove_segments(os.path.basename(run_dir))  # rings a killed worker could not unlink
    # Nodes of a process that never reported keep a row marked as such, so the table stays complete.
    missing = {
        "chunks_in": 0,
        "chunks_out": 0,
        "drops": 0,
        "gaps": 0,
        "restarts": 0,
        "compute_ns": [],
        "latency_ns": [],
        "counters": {},
        "missing": True,
    }
    result.stats = {n: result.stats.get(n, dict(missing)) for n in graph.order}
    for group, count in result.extra.get("restarts", {}).items():  # each node of a restarted process restarted
        for n in graph.config.processes[group]:
            result.stats[n]["restarts"] += count
    result.wall_s = time.monotonic() - t
    bar.show(0.0, final=not result.interrupted and not result.failure)
    return result


class _Supervisor:
    """The parent's side of the control socket: start barrier, stop, drain deadline, abort, reports."""

    def __init__(
        self,
        router,
        procs: dict[str, subprocess.Popen],
        plans: dict[str, WorkerPlan],
        result: RunResult,
        bar: ProgressBar,
        stop: StopFlag,
        observer: Observer | None = None,
    ):
        self.router, self.procs, self.plans, self.result, self.bar, self.stop = router, procs, plans, result, bar, stop
        self.observer = observer
        self.live: dict[str, dict] = {}  # node id -> its process's latest Live (or final) statistics
        self.observed_at = 0.0
        self.receiver_of = {r.edge: g for g, p in plans.items() for r in p.receivers}
        self.sender_of = {s.edge: g for g, p in plans.items() for s in p.senders}
        self.start: Callable[[str], Any] | None = None  # group -> a new process for it (restarts)
        self.max_restarts: dict[str, int] = {}  # groups with on_error: restart -> their max_restarts
        self.restarting: set[str] = set()  # restarted, not yet told Go
        self.not_restarted: set[str] = set()  # on_error: restart, but it holds a recorder (deaths.NOT_RESTARTED)
        self.ended: dict[str, Ended] = {}  # crossing edge -> its sender's end-of-stream (sent again on a restart)
        self.resync_at = 0.0  # when the next clock burst is due (pipeline.clock)
        self.clock = ClockSync()  # clock offsets, measured from each Ready on (result.extra["clocks"])
        # group -> when it last sent anything (plans with a heartbeat); the first word is due within a minute
        self.heard: dict[str, float] = {g: time.monotonic() + 60.0 for g, p in plans.items() if p.heartbeat > 0}
        self.endpoints: dict[str, str] = {}
        self.ready: set[str] = set()
        self.connected: set[str] = set()
        self.reported: set[str] = set()
        self.known: set[str] = set()  # groups whose control socket has spoken (so ours reaches them)
        self.went = False  # Go was sent: the sources have started
        self.went_at = 0.0
        self.duration: float | None = None  # run_multiprocess's: stop this long after Go
        self.stop_at: float | None = None
        self.abort_at: float | None = None
        self.exited_at: dict[str, float] = {}
        self.closing: dict[str, float] = {}  # group -> when it said Closing (its recorders finalise): not stuck
        self.said_closing = False  # wait_for_closing said what the run waits for

    def send(self, group: str, msg) -> None:
        self.router.send_multipart([group.encode(), encode(msg)])

    def broadcast(self, msg) -> None:
        for g in self.known:
            self.send(g, msg)

    def stop_run(self) -> None:
        if not self.went:  # nothing has flowed yet: there is nothing to drain
            self.abort_run()
        if self.stop_at is None:
            self.stop_at = time.monotonic()
            log.debug("stop: the sources end, the graph drains (at most %.1f s)", DRAIN_S)
            self.broadcast(Stop())

    def abort_run(self) -> None:
        if self.stop_at is None:
            self.stop_at = time.monotonic()
            self.broadcast(Stop())
        if self.abort_at is None:
            self.abort_at = time.monotonic()
            log.debug("abort, %.2f s after the stop", self.abort_at - self.stop_at)
            self.broadcast(Abort())

    def run(self) -> None:
        while True:
            if self.router.poll(50):
                group, data = self.router.recv_multipart()[:2]
                self.receive(group.decode(errors="replace"), data)
            if self.stop and not self.result.interrupted:
                self.result.interrupted = True
                self.stop_run()
            if self.stop.aborted:
                self.abort_run()
            now = time.monotonic()
            if self.duration is not None and self.went and now - self.went_at >= self.duration:
                self.duration = None
                self.result.extra["stopped"] = DURATION
                self.stop_run()  # as a stop, but a normal end: result.interrupted stays False
            if self.observer is not None and self.live and now - self.observed_at >= OBSERVE_S:
                self.observed_at = now
                self.observer(dict(self.live))
            if self.went and self.stop_at is None and now >= self.resync_at:
                self.resync_at = now + clock.RESYNC_S  # the clocks again: their drift (pipeline.clock)
                for g in self.known - self.restarting - self.reported:
                    self.send(g, self.clock.resync(g))
            for g, p in list(self.procs.items()):
                beat = self.plans[g].heartbeat
                if beat > 0 and g not in self.reported and now - self.heard[g] > beat:
                    if self.restart(g, f"lost (no word from it for {beat:.0f} s)"):
                        continue
                    self.reported.add(g)  # silent: its host is gone, frozen or cut off (it is killed at the end)
                    if self.result.failure is None:
                        where = getattr(p, "where", "")
                        self.result.failure = f"process '{g}'{where} lost: no word from it for {beat:.0f} s"
                    self.stop_run()
                code = p.poll()
                if code is None or g in self.reported:
                    continue
                # Its last report may still be on the way: give it a moment before calling it lost.
                if now - self.exited_at.setdefault(g, now) > 0.3:
                    if self.restart(g, f"exited with code {code}"):
                        continue
                    self.reported.add(g)  # it never will now
                    if self.result.failure is None:
                        where = getattr(p, "where", "")  # a Ray actor names its host
                        self.result.failure = (
                            f"process '{g}'{where} {died(code, self.plans[g], getattr(p, 'error', ''))}"
                        )
                        self.result.failure += NOT_RESTARTED * (g in self.not_restarted)
                    for s in self.plans[g].senders:  # its receivers would wait for its end-of-stream until the abort
                        if s.edge not in self.ended:
                            self.ended[s.edge] = Ended(s.edge, SENDER_GONE)
                            self.send(self.receiver_of[s.edge], self.ended[s.edge])
                    self.stop_run()
            if self.abort_at is None and self.stop_at is not None and now - self.stop_at > DRAIN_S:
                busy = sorted(set(self.procs) - self.reported - self.closing.keys())
                if not busy:  # every process drained; those left are finalising: nothing to abort
                    self.wait_for_closing()
                else:
                    log.warning("%s", not_drained(busy, DRAIN_S))  # what was on its way is lost: say so
                    self.abort_run()
            pending = (t for g, t in self.closing.items() if g not in self.reported)
            late = self.stop_at is not None and any(now - t > CLOSE_WAIT_S for t in pending)
            if late or self.abort_at is not None and now - self.abort_at > STOP_GRACE_S:
                self.kill_stuck(now)
                if not self.closing.keys() - self.reported or self.stop.aborted:
                    self.broadcast(Release())  # all is in that will come: the others need not wait for _kill_stragglers
                    return
                self.wait_for_closing()
            if len(self.reported) == len(self.procs):
                self.broadcast(Release())  # every frame has arrived: senders may close
                return

    def wait_for_closing(self) -> None:
        """Say once which processes the run waits for while they close their nodes (deaths.closing)."""
        if not self.said_closing:
            self.said_closing = True
            waiting = {g: self.plans[g] for g in sorted(self.closing.keys() - self.reported)}
            log.warning("%s", closing(waiting, CLOSE_WAIT_S, again=self.stop.signals > 0))

    def kill_stuck(self, now: float) -> None:
        """Kill, and name, the processes that neither drained nor aborted (a node that never returns: nothing else
        would end them; their nodes are not closed), and those finalising past CLOSE_WAIT_S or at a second stop."""
        for g, p in self.procs.items():
            finalising = g in self.closing and now - self.closing[g] <= CLOSE_WAIT_S
            if g in self.reported or p.poll() is not None or (finalising and not self.stop.aborted):
                continue
            with contextlib.suppress(Exception):
                p.kill()
            self.reported.add(g)  # it never will now (and its death is this, not news)
            why, where = stuck(self.plans[g], g in self.closing, self.went and g in self.ready), getattr(p, "where", "")
            after = now - (self.stop_at or now)
            log.warning("process '%s'%s did not stop %.1f s after the stop and was killed: %s", g, where, after, why)

    def restart(self, group: str, why: str) -> bool:
        """Start `group` again if its policy allows (on_error: restart, under max_restarts, while the run
        goes on and its inputs have not ended); False when the death must stop the run."""
        done = self.result.extra.get("restarts", {}).get(group, 0)
        if (
            self.start is None
            or done >= self.max_restarts.get(group, 0)
            or not self.went
            or self.stop_at is not None
            or any(r.edge in self.ended for r in self.plans[group].receivers)
        ):
            return False
        if recordings(self.plans[group]):  # restarted, its recorder refused the spill its killed process left
            self.not_restarted.add(group)
            return False
        old = self.procs[group]
        with contextlib.suppress(Exception):  # one that is lost may still run; one that exited is reaped
            old.kill()
            old.wait(timeout=1.0)
        log.warning(
            "process '%s'%s %s: restarting it (%d of %d)",
            group,
            getattr(old, "where", ""),
            why,
            done + 1,
            self.max_restarts[group],
        )
        self.result.extra.setdefault("restarts", {})[group] = done + 1
        for state in (self.ready, self.connected, self.known):
            state.discard(group)
        self.exited_at.pop(group, None)
        self.clock.forget(group)  # maybe another host now
        if group in self.heard:
            self.heard[group] = time.monotonic() + 60.0
        self.restarting.add(group)
        self.plans[group].incarnation = done + 1  # its shm rings get generations its receivers have not seen
        self.procs[group] = self.start(group)
        return True

    def send_clocks(self) -> None:
        """Each worker's clock shifts for its incoming edges, as of now (the fitted offsets and drift)."""
        now = time.monotonic_ns()
        for g in self.plans:
            self.send(g, Clocks(self.clock.shifts(g, self.plans, now), self.clock.rates(g, self.plans)))

    def maybe_go(self) -> None:
        """Once every edge is connected and every clock measured: the clock shifts, then Go. A restarted
        process gets its Go alone, once connected and measured."""
        if self.stop_at is not None:
            return
        for g in [g for g in self.restarting if g in self.connected and self.clock.complete([g])]:
            self.restarting.discard(g)
            self.send_clocks()
            self.send(g, Go())
        if self.went or len(self.connected) < len(self.procs):
            return
        if not self.clock.complete(self.procs):
            return
        self.send_clocks()
        self.went = True
        self.went_at = time.monotonic()
        self.resync_at = self.went_at + clock.RESYNC_S
        self.broadcast(Go())

    def receive(self, group: str, data: bytes) -> None:
        if group not in self.procs:
            return
        self.heard[group] = time.monotonic()
        try:
            msg = decode(data)
        except BadMessage:
            return
        if group not in self.known:
            self.known.add(group)
            if self.stop_at is not None:  # it missed the broadcast
                self.send(group, Stop())
            if self.abort_at is not None:
                self.send(group, Abort())
        if isinstance(msg, ClockReply):
            if self.clock.reply(group, msg.t0, msg.t1, msg.m0, msg.m1):
                self.send(group, self.clock.probe())
            elif self.went and group not in self.restarting:
                self.send_clocks()  # a later burst is complete: the shifts follow the drift
            self.result.extra.setdefault("clocks", {})[group] = self.clock.estimate(group)
            self.maybe_go()
        elif isinstance(msg, Ready):
            self.send(group, self.clock.probe())
            self.ready.add(group)
            self.endpoints.update(msg.endpoints)
            if group in self.restarting:  # its senders connect as before; its receivers' senders move
                self.send(group, Start({s.edge: self.endpoints[s.edge] for s in self.plans[group].senders}))
                for edge, endpoint in msg.endpoints.items():
                    self.send(self.sender_of[edge], Moved({edge: endpoint}))
                    if edge in self.ended:  # sent while no worker held the group's identity: dropped
                        self.send(group, self.ended[edge])
            elif len(self.ready) == len(self.procs) and self.stop_at is None:
                for g, plan in self.plans.items():
                    self.send(g, Start({s.edge: self.endpoints[s.edge] for s in plan.senders}))
        elif isinstance(msg, Connected):
            self.connected.add(group)
            self.maybe_go()
        elif isinstance(msg, Progress):
            self.bar.show(msg.t)
        elif isinstance(msg, Live):
            if group not in self.reported and isinstance(msg.stats, dict):  # "at": when the counts were so (rates)
                self.live.update({n: dict(s, at=time.monotonic()) for n, s in msg.stats.items()})
        elif isinstance(msg, Ended):
            self.ended[msg.edge] = msg
            if msg.edge in self.receiver_of:
                self.send(self.receiver_of[msg.edge], msg)
        elif isinstance(msg, StopRequest):
            self.result.interrupted = True
            self.stop_run()
        elif isinstance(msg, Error):
            self.result.failure = self.result.failure or msg.message
            self.stop_run()
        elif isinstance(msg, Closing):
            self.closing.setdefault(group, time.monotonic())
        elif isinstance(msg, Stats):
            try:
                self.result.stats.update({n: NodeStats.from_dict(s).to_dict() for n, s in msg.stats.items()})
                self.live.update(self.result.stats)
            except ValueError:
                pass
            self.reported.add(group)
            if self.stop_at is not None:
                log.debug(
                    "process '%s' reported (code %s), %.2f s after the stop",
                    group,
                    msg.code,
                    time.monotonic() - self.stop_at,
                )


def _kill_stragglers(procs: dict[str, subprocess.Popen]) -> None:
    """Wait until STOP_GRACE_S from now (one deadline for all, not one per process), then kill the
    processes still running."""
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs.values():
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
