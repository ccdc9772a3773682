"""The receiving end of a shared-memory edge (ShmEdgeReceiver), and the notification (the "ref") its sender,
pipeline.shm.ShmEdgeSender, sends for each payload in a ring slot. How both ends work: pipeline.shm, where both
are importable from."""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import platform
import struct
import time
import weakref

import numpy as np
import zmq

from . import wire
from .chunk import Chunk
from .lane import SPIN_AFTER_S, SPIN_S, Lane, LaneError, spin
from .receiver import EdgeReceiver
from .segments import Ring, remove_segments, shm_dir

log = logging.getLogger("wavegraph.transport")

MAX_SLOTS = 1 << 16
MAX_SLOT_BYTES = 1 << 31
MAGIC = b"WGSM"
VERSION = 1
_REF = struct.Struct("<4sB3xIIIQQ4x")  # magic, version, generation, slots, slot, slot size, payload bytes
REF_BYTES = _REF.size  # 40
_FREE, _FULL, _WRITING = 0, 1, 2
# Notify first, then copy (x86 only: its stores become visible in program order, so a receiver that sees
# a slot's state byte say full also sees the bytes written before it; elsewhere the copy goes first and
# the notification's system call is the barrier). The receiver of an early notification waits for the
# state to turn full, so the ZeroMQ hop and the copy overlap.
NOTIFY_FIRST = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
WRITE_WAIT_S = 1.0  # how long a receiver waits for a slot being written before it drops the notification:
# well inside the parent's drain (DRAIN_S + STOP_GRACE_S) after a sender killed mid-copy, so the receiver still
# finishes its files; a sender preempted mid-copy for over a second costs that chunk (counted shm_state)


class ShmEdgeReceiver(EdgeReceiver):
    """An EdgeReceiver that also takes payloads from its edge's shared-memory ring (see pipeline.shm's
    docstring). Counters add shm_received and shm_copied; the slots nodes still hold are the keys of
    _held (a ref to one of them is rejected as shm_state)."""

    def __init__(self, endpoint: str, spec, *, shm: str, zero_copy: bool = True, **kw):
        self.shm_prefix = shm
        self.zero_copy = zero_copy
        self._rings: dict[int, Ring] = {}
        self._held: dict[tuple[str, int], weakref.ref] = {}
        self._shm_fast: tuple | None = None  # see _accept_fast: header length, stream_key parts, shape, dtype, bytes
        self._lane: Lane | None = None
        self._last_take = 0.0  # perf_counter of the last message taken from the lane (see _wait)
        super().__init__(endpoint, spec, **kw)  # calls _setup; a drop_oldest receiver's thread starts here
        self.counters.setdefault("shm_received", 0)
        self.counters.setdefault("shm_copied", 0)

    def _setup(self) -> None:
        """Make the edge's lane (x86 only, see NOTIFY_FIRST) and wait on its bell and the socket."""
        if not NOTIFY_FIRST:
            return
        try:
            self._lane = Lane.create(shm_dir(), self.shm_prefix, self.maxlen)
        except OSError as e:
            log.warning("edge %s: no shared-memory lane (%s); messages go over ZeroMQ", self.name, e)
            return
        self._poller = zmq.Poller()
        self._poller.register(self._sock, zmq.POLLIN)
        self._poller.register(self._lane.bell, zmq.POLLIN)

    def _next(self, flags: int):
        """As EdgeReceiver._next, the lane first: its messages come before any sent over ZeroMQ (a
        sender goes over ZeroMQ only once the lane is empty, and never back)."""
        lane = self._lane
        if lane is None:
            return super()._next(flags)
        while True:
            try:
                message = lane.take()
            except LaneError as e:
                self._reject(wire.WireError("lane", str(e)))
                return None
            if message is not None:
                self._last_take = time.perf_counter()
                return self._take_message(message)
            try:
                return super()._next(zmq.NOBLOCK)
            except zmq.Again:
                if flags & zmq.NOBLOCK:
                    raise
            self._wait(-1)

    def _wait(self, timeout_ms: int) -> bool:
        lane = self._lane
        if lane is None or not timeout_ms:  # recv(timeout=0): a look, no sleep, so no bell to arm (a syscall)
            return lane is not None and lane.ready() or super()._wait(timeout_ms)
        if time.perf_counter() - self._last_take < SPIN_AFTER_S and spin(lane.ready, SPIN_S):
            return True
        if lane.sleepy():  # a message came after all
            return True
        try:
            return bool(self._poller.poll(timeout_ms))
        finally:
            lane.awake()

    def wait_handles(self) -> list | None:
        """As EdgeReceiver.wait_handles, and the lane's bell, armed (Lane.sleepy: end_wait() disarms it); None when a
        message is in the lane now."""
        lane = self._lane
        if lane is None or self._thread is not None:
            return super().wait_handles()
        if lane.ready() or lane.sleepy():  # a message there (sleepy: after all, `waiting` cleared again)
            return None
        return [lane.bell, self._sock]

    def end_wait(self) -> None:
        if self._lane is not None and self._thread is None:
            self._lane.awake()

    def _rest(self, first: bytes):
        if len(first) > REF_BYTES and first.startswith(MAGIC):  # a notification in one frame: ref + header
            return first
        return super()._rest(first)

    def _accept(self, frames):
        # A notification is the 40-byte ref then the wire header: one frame (bytes, see _rest: what the
        # sender sends) or two. A wire message starts with wire.MAGIC, and a wire header alone is at
        # least 52 bytes, so magic and length tell them apart.
        if type(frames) is bytes:
            if not frames.startswith(MAGIC):
                return super()._accept(frames)
            ref, head = frames, frames[REF_BYTES:]
        elif len(frames) == 2 and len(frames[0]) == REF_BYTES:
            ref, head = frames
        else:
            return super()._accept(frames)
        try:
            ring, slot, view = self._slot(ref)
        except wire.WireError as e:
            self._reject(e)
            if type(frames) is bytes:  # read as one frame: drop the rest of its message too
                self._discard_rest()
            return None
        item = self._accept_fast(head, view)
        if item is None:
            item = super()._accept([head, view])
            if item is not None and type(head) is bytes and not head[5]:  # flags 0: cache the layout
                data = item[0].data
                self._shm_fast = (len(head), *wire.stream_key(head), data.shape, data.dtype, data.nbytes)
        if item is None and type(frames) is bytes:
            self._discard_rest()
        if item is not None and self.zero_copy and len(self._held) < ring.slots // 2:
            key = (ring.path, slot)
            self._held[key] = weakref.ref(view, _releaser(self._held, key, ring.mm, slot, self._lane))
        else:
            if item is not None:  # half the ring is still referenced (or zero_copy is off): copy out
                chunk = item[0]
                chunk.data = chunk.data.copy()
                chunk.data.setflags(write=False)
                self.counters["shm_copied"] = self.counters.get("shm_copied", 0) + 1
            del view
            ring.mm[slot] = _FREE
            if self._lane is not None:
                self._lane.freed()
        if item is not None:  # get(): a drop_oldest receiver's thread may be here before __init__ ends
            self.counters["shm_received"] = self.counters.get("shm_received", 0) + 1
        return item

    def _accept_fast(self, head, view: np.ndarray):
        """The notification's header and slot as a chunk without wire.decode, when the header equals,
        in every byte decode checks (length; bytes 0-12: magic, version, flags 0, dtype, ndim, spec id;
        the shape), the last one that passed all of them with a payload of this size, and is next in
        sequence (as EdgeReceiver._take_fast); None otherwise: the full path decides."""
        fast = self._shm_fast
        if (
            fast is None
            or type(head) is not bytes
            or len(head) != fast[0]
            or view.nbytes != fast[5]
            or not head.startswith(fast[1])
            or not head.startswith(fast[2], wire.HEADER_FIXED_BYTES)
        ):
            return None
        seq, t0, origin_ns, _, _ = wire.unpack_tail(head, wire.PREFIX_BYTES)
        if seq != self._next_seq or t0 - t0 != 0.0:  # out of order, or t0 NaN/inf: the full path decides
            return None
        self._next_seq, self._after_eos = seq + 1, -1
        data = np.ndarray(fast[3], fast[4], view)  # a view of the slot, as decode makes it
        data.setflags(write=False)
        counters = self.counters
        counters["received"] += 1
        counters["bytes"] += fast[5]
        return Chunk(data, t0, seq, False, False, origin_ns), head

    def _slot(self, ref) -> tuple[Ring, int, np.ndarray]:
        magic, version, gen, slots, slot, slot_bytes, n = _REF.unpack_from(ref)
        if magic != MAGIC:
            raise wire.WireError("shm_ref", f"magic {bytes(magic)!r}; expected {MAGIC!r}")
        if version != VERSION:
            raise wire.WireError("shm_ref", f"shared-memory ref version {version}; this build reads {VERSION}")
        if not (0 < slots <= MAX_SLOTS and slot < slots and 0 < slot_bytes <= MAX_SLOT_BYTES and n <= slot_bytes):
            raise wire.WireError("shm_ref", f"ref out of range: slot {slot}/{slots}, {n} of {slot_bytes} bytes")
        if n > self.max_bytes:
            raise wire.WireError("oversized", f"payload of {n} bytes; the limit is {self.max_bytes}")
        ring = self._rings.get(gen)
        if ring is None:
            ring = self._map(gen, slots, slot_bytes)
        elif ring.slots != slots or ring.slot_bytes != slot_bytes:
            raise wire.WireError("shm_ref", f"ref of generation {gen} does not match its ring")
        mm = ring.mm
        state = mm[slot]
        if state == _WRITING:  # an early notification (NOTIFY_FIRST): the sender is still copying
            state = _wait_written(mm, slot)
        if state != _FULL:
            what = "was not written in time" if state == _WRITING else "is not full"
            raise wire.WireError("shm_state", f"slot {slot} of generation {gen} {what}")
        if (ring.path, slot) in self._held:  # a duplicate or forged ref: its view's death would free the slot
            raise wire.WireError("shm_state", f"slot {slot} of generation {gen} is still held by a node")
        return ring, slot, np.frombuffer(mm, np.uint8, n, ring.offset + slot * slot_bytes)

    def _map(self, gen: int, slots: int, slot_bytes: int) -> Ring:
        if self._rings and gen <= max(self._rings):
            raise wire.WireError("shm_ref", f"generation {gen} is older than the edge's rings")
        path = os.path.join(shm_dir(), f"{self.shm_prefix}-g{gen}")
        try:
            ring = Ring(path, slots, slot_bytes, create=False)
        except (OSError, ValueError) as e:
            raise wire.WireError("shm_segment", f"cannot map {path}: {e}") from None
        ring.unlink()  # both ends have it mapped: the name is no longer needed, nothing can leak
        for old_gen, old in list(self._rings.items()):  # older generations: the sender has moved on
            if not old.busy():
                del self._rings[old_gen]
                old.close()
        self._rings[gen] = ring
        return ring

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        for ring in self._rings.values():
            ring.close()
        self._rings.clear()
        if self._lane is not None:
            self._lane.close()
        remove_segments(self.shm_prefix)  # rings made after the last one mapped: nobody will read them


def _wait_written(mm: mmap.mmap, slot: int) -> int:
    """The slot's state once it is no longer being written (or still _WRITING after WRITE_WAIT_S: a sender
    killed mid-copy): spin for the first 200 us (a 1 MiB copy takes 35-50 us), then yield, then sleep."""
    t0 = time.perf_counter()
    pause = 20e-6
    while True:
        state = mm[slot]
        if state != _WRITING:
            return state
        waited = time.perf_counter() - t0
        if waited < 200e-6:
            continue
        if waited >= WRITE_WAIT_S:
            return state
        if waited < 2e-3:
            os.sched_yield()
        else:
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)


def _releaser(held: dict, key: tuple[str, int], mm: mmap.mmap, slot: int, lane: Lane | None):
    def release(_ref) -> None:
        held.pop(key, None)
        with contextlib.suppress(ValueError):  # the mapping was closed (the receiver is gone)
            mm[slot] = _FREE
            if lane is not None:  # a sender waiting for a slot sleeps on the lane's room bell
                lane.freed()

    return release
