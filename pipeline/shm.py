"""Shared-memory edges on one host: the payload goes through a ring of slots in /dev/shm, and the messages
(a small notification per slot, or a small chunk whole) through the edge's lane (pipeline.lane: an
ordered queue in shared memory with a doorbell), not through ZeroMQ's I/O threads. Where the lane is
not used (not x86; no lane could be made) ZeroMQ carries them, as on a plain edge.

API (what the multi-process runner uses when an edge's transport is shm)::

    from wavegraph.pipeline.shm import ShmEdgeReceiver, ShmEdgeSender, shm_prefix

    name = shm_prefix("filt.out")                              # wg-PID-RANDOM-filt.out: one per edge and run
    rx = ShmEdgeReceiver(ipc_endpoint("e"), spec, shm=name)    # an EdgeReceiver (binds), same arguments
    tx = ShmEdgeSender(rx.endpoint, spec, shm=name)            # an EdgeSender (connects), same arguments
    tx.send(chunk); chunk = rx.recv(timeout=1)                 # as on any edge

Everything an EdgeSender / EdgeReceiver does holds here too (seq and gaps, the block and drop_oldest
policies, timeouts, rejected frames counted by reason, never pickle); only the payload's path differs.

Sender. A payload of at least `shm_min` bytes (default SHM_MIN_BYTES, 64 KiB; 1 sends every non-empty
payload through the ring), or too large for the lane (16 KiB), is copied into the lowest free slot of the
edge's ring (lowest, so that the few slots in use stay in the CPU caches), the slot is marked full, and
one message, ref + header, goes to the receiver (over ZeroMQ it may also come as two frames): `ref` is a
fixed 40-byte struct (magic b"WGSM", version, generation, slot count, slot, slot size, payload bytes),
`header` the usual wire header. A smaller chunk goes whole in the lane (over ZeroMQ: inline, as on a
plain edge). The lane is made by the receiver and opened by the sender at its first message; a sender
that finds none (a restarted one: the first took the lane's names) sends over ZeroMQ for good, and one
that cannot get a ring moves to ZeroMQ once the receiver has read the lane (which it always reads
first), so the order holds. A batching sender whose receiver is behind holds small chunks and puts them
in one lane message as a batch, as EdgeSender does while its pipe is full. The ring is a file `{shm}-g{generation}` in /dev/shm
(WAVEGRAPH_SHM_DIR overrides), made on the first payload that needs it: a page of slot states (one byte
per slot: 0 free, 1 full; then the ring's geometry, which a receiver checks as it maps the ring) then the
slots, `slot size` = the payload rounded up to a power of two (at least
MIN_SLOT, a page), slots = queue + 4 (at most RING_BYTES in all, at least 2). A larger payload later makes a new
generation with larger slots; the old one is unmapped when its last slot is free. The space is reserved
with posix_fallocate, so a full /dev/shm is an error at creation (the edge then sends inline and counts
`shm_fallback`), never a SIGBUS. Policies: `block` waits for a free slot and room in the lane (forever, or up to
`timeout`, then False as on a full pipe); `drop_oldest` never waits for one: none free drops the chunk
being sent (`dropped_full`, seq consumed), as a full pipe does; end-of-stream chunks always wait.

Receiver. The ref is checked (magic, version, ranges, the segment's owner and size, the slot marked
full) before anything is read; the segment is only ever opened by the name this edge was given plus a
generation number. Then the header is checked exactly as a plain edge checks it (wire.decode), and the
Chunk's array is a read-only numpy view of the slot: zero copies. The slot stays full, so the sender
cannot overwrite it, for as long as anything references that memory (the array, any view or slice of
it, a ZeroMQ frame sending it on); when the last reference goes, a weakref callback frees the slot. A
node that keeps its inputs therefore pins slots: once half the ring is pinned, further payloads are
copied out of the slot and the slot freed at once (`shm_copied`), so a keeping node never starves the
sender. `zero_copy=False` always copies.

Lifetime. The receiver unlinks a segment's name as soon as it has mapped it (the memory lives until both
ends unmap, which the kernel does even after kill -9); names still there when the receiver closes (rings
it never mapped) are removed then. The names start with the run id (`wg-PARENTPID-...`): the multi-process parent removes its run's names at
exit, and `remove_stale_segments()` (called when a run starts) removes the names of runs whose parent
process is gone. A consumer that dies leaves its slots full: the sender times out as on a full pipe and
the runner's stop path ends the run, as with a dead consumer on a plain edge. A restarted receiver
(`reconnect`) gets a new generation: the slots the dead one held are abandoned with the old ring.

Receiving, a lane receiver takes its lane's messages first, then ZeroMQ's; with neither, it looks again
for SPIN_S (yielding; only within SPIN_AFTER_S of its last message), then sleeps on the lane's bell and
the socket at once.

Memory order: on x86 (NOTIFY_FIRST) the sender marks the slot `writing`, sends the notification, then
copies the payload and marks the slot full, so the hop to the receiver overlaps the copy; a
receiver that gets the notification first waits (spins, then sleeps, at most WRITE_WAIT_S, else the
notification is dropped as `shm_state`) for the state byte to say full. x86 makes stores visible in
program order, so the payload is there once the byte says full. Elsewhere the copy and the state byte
come first and the notification after (a system call: a full barrier). Slot states are single bytes,
each written by one side at a time (writing and full: the sender; free: the receiver).
"""

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
from .lane import SPIN_AFTER_S, SPIN_S, Lane, LaneError, spin, wait_until
from .segments import (
    SHM_DIR_ENV,
    Ring,
    remove_segments,
    remove_stale_segments,
    ring_size,
    shm_available,
    shm_dir,
    shm_prefix,
)
from .transport import EdgeReceiver, EdgeSender

__all__ = [  # the segment helpers live in pipeline.segments
    "SHM_DIR_ENV",
    "SHM_MIN_BYTES",
    "ShmEdgeReceiver",
    "ShmEdgeSender",
    "remove_segments",
    "remove_stale_segments",
    "ring_size",
    "shm_available",
    "shm_dir",
    "shm_prefix",
]
log = logging.getLogger("wavegraph.transport")

SHM_MIN_BYTES = 64 * 1024  # auto selection: payloads from this size use the ring, smaller ones go inline
MIN_SLOT = 4096  # a page: payloads too large for the lane but small take small slots
RING_BYTES = 256 * 1024 * 1024  # at most this much per ring (but always at least 2 slots)
EXTRA_SLOTS = 4  # slots beyond the queue: the receiver frees a slot only when its chunk is gone
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
BEHIND_BLOCKS = 4  # a batching sender holds small chunks once its receiver is this many lane blocks behind
WRITE_WAIT_S = 1.0  # how long a receiver waits for a slot being written before it drops the notification:
# well inside the parent's drain (DRAIN_S + STOP_GRACE_S) after a sender killed mid-copy, so the receiver still
# finishes its files; a sender preempted mid-copy for over a second costs that chunk (counted shm_state)


class ShmEdgeSender(EdgeSender):
    """An EdgeSender whose large payloads go through a shared-memory ring (see the module docstring)."""

    def __init__(self, endpoint: str, spec, *, shm: str, shm_min: int = SHM_MIN_BYTES, generation: int = 0, **kw):
        super().__init__(endpoint, spec, **kw)
        self.shm_prefix = shm
        self.shm_min = max(1, int(shm_min))
        self.queue_slots = int(kw.get("hwm", 64)) + EXTRA_SLOTS
        self.counters.update(shm_sent=0, shm_fallback=0)
        self._ring: Ring | None = None
        self._old: list[Ring] = []
        self._gen = int(generation)  # the first ring's; a restarted sender starts above its predecessor's
        self._unusable = 0  # payloads at least this large could not get a ring (0: none failed)
        self._lane: Lane | None = None
        self._lane_open = NOTIFY_FIRST  # True until a message has gone over ZeroMQ (see send)
        self._open_lane()

    def _open_lane(self) -> None:
        if self._lane is None and self._lane_open:
            self._lane = Lane.open(shm_dir(), self.shm_prefix)

    def send(self, chunk: Chunk, timeout: float | None = None) -> bool:
        try:
            if self._lane is not None:
                return self._send_lane(chunk, timeout)
            if self._lane_open:  # a receiver that binds after this sender connected makes its lane late
                self._open_lane()
                self._lane_open = self._lane is not None  # the first message decides: no lane, ZeroMQ for good
                if self._lane is not None:
                    return self._send_lane(chunk, timeout)
            data = chunk.data
            if type(data) is not np.ndarray or data.nbytes < self.shm_min:
                return super().send(chunk, timeout)
            head, body = wire.encode(chunk, self.seq, self.spec_id)
            n = len(body)
            ring = self._ring_for(n)
            if ring is None:
                self.counters["shm_fallback"] += 1
                return self._send_frames(head, body, n < self.copy_threshold, chunk.eos, timeout, n)
            slot = self._slot(ring, chunk.eos, timeout)
            if slot < 0:
                return False
            mm = ring.mm
            start = ring.offset + slot * ring.slot_bytes
            ref = _REF.pack(MAGIC, VERSION, self._gen, ring.slots, slot, ring.slot_bytes, n)
            if NOTIFY_FIRST:
                mm[slot] = _WRITING
            else:
                mm[start : start + n] = body
                mm[slot] = _FULL
            if not self._send_frames(ref + head, None, True, chunk.eos, timeout, n):  # one frame: one recv there
                mm[slot] = _FREE  # timed out or dropped on a full pipe: the receiver never sees this slot
                return False
            if NOTIFY_FIRST:
                mm[start : start + n] = body
                mm[slot] = _FULL
            self.counters["shm_sent"] += 1
            return True
        except wire.WireError as e:  # a dtype that cannot travel: dropped and counted (EdgeSender._unsendable)
            return self._unsendable(chunk, e, timeout)

    def _send_lane(self, chunk: Chunk, timeout: float | None) -> bool:
        """send() over the lane: a small chunk whole in the lane, any other through a ring slot with its
        notification in the lane (written first, so the receiver wakes while the payload is
        copied). The policies and counters are send()'s."""
        lane = self._lane
        assert lane is not None
        data, eos = chunk.data, chunk.eos
        size = data.nbytes + wire.HEADER_FIXED_BYTES + 8 * data.ndim if type(data) is np.ndarray else -1
        if 0 <= size <= lane.capacity and data.nbytes < self.shm_min:
            frame = self._cached_frame(chunk)
            if frame is None:
                frame = self._new_frame(chunk)
            elif self.batch and (self._held or lane.behind(BEHIND_BLOCKS) or not lane.room(size)):
                return self._hold(frame, timeout, data.nbytes)
            return self._put(frame, eos, timeout) and self._sent(data.nbytes)
        if self._held and not self.flush(timeout):
            self.counters["timeouts"] += 1
            return False
        head, body = wire.encode(chunk, self.seq, self.spec_id)
        n = len(body)
        if n < self.shm_min and len(head) + n <= lane.capacity:  # any other data, as wire.encode_one makes it
            return self._put(head + body, eos, timeout) and self._sent(n)
        ring = self._ring_for(n)
        if ring is None:  # no ring could be made: over ZeroMQ from now on, once the receiver has read
            # everything in the lane (it reads the lane first, so the order holds): drop_oldest drops this
            # chunk rather than wait for that
            if not self._room(lane.drained, eos, timeout):
                return False
            self._lane, self._lane_open = None, False
            lane.close()
            self.counters["shm_fallback"] += 1
            return self._send_frames(head, body, n < self.copy_threshold, eos, timeout, n)
        slot = self._slot(ring, eos, timeout)
        if slot < 0:
            return False
        ref = _REF.pack(MAGIC, VERSION, self._gen, ring.slots, slot, ring.slot_bytes, n) + head
        if not self._lane_room(len(ref), eos, timeout):
            return False
        mm = ring.mm
        start = ring.offset + slot * ring.slot_bytes
        mm[slot] = _WRITING
        lane.put(ref)
        mm[start : start + n] = body
        mm[slot] = _FULL
        self.counters["shm_sent"] += 1
        return self._sent(n)

    def _put(self, message: bytes, eos: bool, timeout: float | None) -> bool:
        """Put a message in the lane after what is held, once there is room (see _room)."""
        lane = self._lane
        assert lane is not None
        if self._held and not self.flush(timeout):
            self.counters["timeouts"] += 1
            return False
        if not self._lane_room(len(message), eos, timeout):
            return False
        lane.put(message)
        return True

    def _lane_room(self, nbytes: int, eos: bool, timeout: float | None) -> bool:
        lane = self._lane
        assert lane is not None
        return lane.room(nbytes) or self._room(lambda: lane.room(nbytes), eos, timeout)

    def _hold(self, frame: bytes, timeout: float | None, nbytes: int) -> bool:
        """A batching sender whose receiver is behind (BEHIND_BLOCKS unread, the lane full, or chunks held
        already) holds small chunks of the stream's layout and puts them in the lane as one batch (see
        flush), as EdgeSender does while its pipe is full: the receiver then takes them at a batch's
        cost per chunk and catches up."""
        lane = self._lane
        assert lane is not None
        most = max(1, min(self._hold_max, (lane.capacity - wire.BATCH_HEADER_BYTES) // len(frame)))
        if len(self._held) >= most and not self.flush(timeout):
            self.counters["timeouts"] += 1
            return False
        self._held.append(frame)
        return self._sent(nbytes)

    def flush(self, timeout: float | None = None) -> bool:
        """As EdgeSender.flush; over the lane, the held chunks go as one message (a batch)."""
        lane, held = self._lane, self._held
        if lane is None or not held:
            return super().flush(timeout)
        message = held[0] if len(held) == 1 else wire.encode_batch(held)
        if not lane.wait(lambda: lane.room(len(message)), timeout):
            return False
        lane.put(message)
        held.clear()
        return True

    def _sent(self, nbytes: int) -> bool:
        self.seq += 1
        self.counters["sent"] += 1
        self.counters["bytes"] += nbytes
        return True

    def _room(self, ready, eos: bool, timeout: float | None) -> bool:
        """Wait for `ready()` under the edge's policy: drop_oldest never waits (but for end-of-stream):
        the chunk is dropped (dropped_full, seq consumed) as on a full pipe; block waits up to `timeout`
        (then False, timeouts, seq not consumed)."""
        drop = self.policy == "drop_oldest" and not eos
        lane = self._lane
        wait = 0.0 if drop else timeout
        if lane.wait(ready, wait) if lane is not None else wait_until(ready, wait):
            return True
        if drop:
            self.counters["dropped_full"] += 1
            self.seq += 1
        else:
            self.counters["timeouts"] += 1
        return False

    def _slot(self, ring: Ring, eos: bool, timeout: float | None) -> int:
        """The lowest free slot of `ring`, waiting for one under the policy (see _room); -1 if none."""
        slot = ring.acquire()
        if slot < 0 and self._room(lambda: ring.acquire() >= 0, eos, timeout):
            slot = ring.acquire()
        return slot

    def _ring_for(self, n: int) -> Ring | None:
        if self._old:
            self._old = [r for r in self._old if r.busy() or _close(r)]
        ring = self._ring
        if ring is not None and n <= ring.slot_bytes:
            return ring
        if self._unusable and n >= self._unusable or n > MAX_SLOT_BYTES:
            return None
        slot_bytes = max(MIN_SLOT, 1 << (n - 1).bit_length())
        slots = max(2, min(self.queue_slots, MAX_SLOTS, RING_BYTES // slot_bytes))
        gen = self._gen + (ring is not None)
        path = os.path.join(shm_dir(), f"{self.shm_prefix}-g{gen}")
        try:
            new = Ring(path, slots, slot_bytes, create=True)
        except (OSError, ValueError) as e:
            self._unusable = n
            log.warning("edge %s: no shared-memory ring of %d x %d bytes (%s); sending inline", path, slots, n, e)
            return None
        if ring is not None:
            self._old.append(ring)
        self._ring, self._gen = new, gen
        return new

    def reconnect(self, endpoint: str) -> None:
        """As EdgeSender.reconnect (a restarted receiver), then a new ring: the slots the old receiver
        held would stay full for ever, and the new one maps generations from the next on."""
        super().reconnect(endpoint)
        for ring in [*self._old, *([self._ring] if self._ring else [])]:
            ring.unlink()
            ring.close()
        if self._ring is not None:
            self._gen += 1
        self._ring, self._old = None, []
        if self._lane is not None:  # the new receiver made a lane of its own
            self._lane.close()
        self._lane, self._lane_open = None, NOTIFY_FIRST

    def close(self, linger_ms: int | None = None) -> None:
        """Close the socket (see EdgeSender.close), then unmap the rings. Their names stay for a receiver
        that has not mapped them yet (it unlinks them), unless linger_ms is 0 (queued frames are
        abandoned anyway); the run's clean-up removes what is left."""
        if self._closed:
            return
        super().close(linger_ms)
        for ring in [*self._old, *([self._ring] if self._ring else [])]:
            if linger_ms == 0:
                ring.unlink()
            ring.close()
        self._ring, self._old = None, []
        if self._lane is not None:  # what it holds stays readable: the receiver has it mapped
            self._lane.close()
            self._lane = None


def _close(ring: Ring) -> bool:
    ring.unlink()
    ring.close()
    return False


class ShmEdgeReceiver(EdgeReceiver):
    """An EdgeReceiver that also takes payloads from its edge's shared-memory ring (see the module
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
