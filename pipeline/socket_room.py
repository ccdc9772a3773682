"""Room for the sockets of a process with many edges between processes (the multi-process worker's context).

    ctx = edge_context(edges=len(plan.senders) + len(plan.receivers), where="process 'b'")

Each edge takes ZeroMQ sockets (a sender's own, and its handshake monitor's pair until it has connected; a CURVE
receiver's monitor) and file descriptors (each socket's mailbox, the listening and connected sockets, a
shared-memory edge's bells). Two limits ended a run with 'Too many open files' and a worker's traceback, though
neither is about files: ZeroMQ's 1023 sockets per context (about 340 edges from one process), and the soft
open-file limit of the shell (ulimit -n, 1024 on most hosts: about 250 edges). The context is made with room for
the process's edges, and the soft limit raised toward the hard one as far as they need; where the hard limit is
too low, a warning says so, and the fix, before the first socket.
"""

from __future__ import annotations

import logging

import zmq

SOCKETS_PER_EDGE = 4  # a sender, its monitor's pair (2) until connected; a receiver, a CURVE receiver's monitor
FDS_PER_EDGE = 8  # measured about 5 (ipc, tcp); a shared-memory edge adds its lane's bells
SPARE = 64  # the control link, the live monitor, nodes' own files and devices
log = logging.getLogger("wavegraph.worker")


def edge_context(edges: int, where: str) -> zmq.Context:
    """A zmq.Context that can hold the sockets of `edges` edges, with the open-file limit raised for them."""
    ctx = zmq.Context()
    sockets = SPARE + SOCKETS_PER_EDGE * edges
    current = ctx.max_sockets
    if isinstance(current, int) and sockets > current:
        ctx.max_sockets = sockets
    _raise_open_files(SPARE + FDS_PER_EDGE * edges, edges, where)
    return ctx


def _raise_open_files(need: int, edges: int, where: str) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    room = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if room > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (room, hard))
        except (ValueError, OSError):  # pragma: no cover - a platform that refuses it
            room = soft
    if room < need:
        log.warning(
            "%s: its %d edges between processes need about %d open files; this host allows it %d (ulimit -n, hard "
            "limit %d), so it may fail with 'Too many open files'; fix: raise the hard limit (ulimit -Hn, "
            "LimitNOFILE= of a service) or place fewer of those edges' nodes in other processes",
            where,
            edges,
            need,
            room,
            hard,
        )
