"""Waiting on all of a process's inputs at once (the multi-process worker's loop, pipeline.worker._loop).

    wait_any(receivers, timeout=0.05)   # returns once any of them may have a chunk, or after timeout s

The worker's loop used to wait a little (2 ms) on each of its inputs in turn when none had anything: a chunk
that came on one input waited for the loop to have waited on every other one first, 2 ms x the idle inputs (a
process with 40 silent marker edges delivered its signal 45 ms late, p50, where one input takes 0.3 ms). One
poll over every input's socket (and, for a shared-memory edge, its lane's bell, armed as its own wait arms it:
ShmEdgeReceiver._wait) wakes at the first message on any of them.

A drop_oldest receiver is filled by its own thread (no descriptor to poll): with one among them, the wait is at
most DROP_OLDEST_S at a time, as each input's wait was.
"""

from __future__ import annotations

import time

import zmq

from .endpoints import ms
from .receiver import EdgeReceiver

DROP_OLDEST_S = 0.002  # the longest wait while a drop_oldest receiver's thread may queue a chunk unseen


def wait_any(receivers: list[EdgeReceiver], timeout: float) -> None:
    """Wait up to `timeout` s until one of `receivers` may have something for recv() (a spurious wake is harmless:
    the caller looks at each with recv(timeout=0)). Returns at once when one already has."""
    poller = zmq.Poller()
    armed = []  # receivers whose wait_handles() armed something (a lane's bell): end_wait() after
    try:
        for rx in receivers:
            if rx.has_pending():  # the rest of a batch, or what a drop_oldest thread queued
                return
            handles = rx.wait_handles()
            if handles is None:  # a message there now (a shared-memory edge's lane)
                return
            armed.append(rx)
            if not handles:  # a drop_oldest receiver: its own thread reads the socket
                timeout = min(timeout, DROP_OLDEST_S)
            for handle in handles:
                poller.register(handle, zmq.POLLIN)
        if poller.sockets:
            poller.poll(ms(timeout))
        else:  # drop_oldest receivers only: a poll of nothing returns at once (the worker's loop spun, a core's worth)
            time.sleep(timeout)
    finally:
        for rx in armed:
            rx.end_wait()
