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

import logging
import os
import select

import numpy as np

from . import wire
from .chunk import Chunk
from .lane import Lane, wait_until
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
from .shm_receiver import (  # the receiving end and the ref's format: importable from here as before
    _FREE,
    _FULL,
    _REF,
    _WRITING,
    MAGIC,
    MAX_SLOT_BYTES,
    MAX_SLOTS,
    NOTIFY_FIRST,
    REF_BYTES,
    VERSION,
    WRITE_WAIT_S,
    ShmEdgeReceiver,
)
from .transport import EdgeSender, EdgeUnreachable

__all__ = [  # the segment helpers live in pipeline.segments, the receiving end and the ref in pipeline.shm_receiver
    "MAGIC",
    "NOTIFY_FIRST",
    "REF_BYTES",
    "SHM_DIR_ENV",
    "SHM_MIN_BYTES",
    "VERSION",
    "WRITE_WAIT_S",
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
BEHIND_BLOCKS = 4  # a batching sender holds small chunks once its receiver is this many lane blocks behind
GONE_CHECK_S = 0.1  # a send that waits for ever looks this often whether the lane's receiver is gone


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
        if not self._lane_wait(lane, lambda: lane.room(len(message)), timeout):
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
        if self._lane_wait(lane, ready, wait) if lane is not None else wait_until(ready, wait):
            return True
        if drop:
            self.counters["dropped_full"] += 1
            self.seq += 1
        else:
            self.counters["timeouts"] += 1
        return False

    def _lane_wait(self, lane: Lane, ready, timeout: float | None) -> bool:
        """lane.wait(ready, timeout); a wait for ever (None) raises EdgeUnreachable once the receiver is gone
        (closed, or its process ended: nobody reads the lane's bell), as nothing would end it (a restarted
        receiver makes a lane of its own: reconnect())."""
        if timeout is not None:
            return lane.wait(ready, timeout)
        while not lane.wait(ready, GONE_CHECK_S):
            if _reader_gone(lane.bell):
                raise EdgeUnreachable(
                    f"edge {self.name}: its receiver is gone (closed, or its process ended) and the shared-memory "
                    "lane has no room: a send without a timeout would wait for ever; fix: send with a timeout "
                    "(False: not sent), or reconnect() to the receiver that replaces it"
                )
        return True

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


def _reader_gone(bell: int) -> bool:
    """Whether a FIFO's write end has no reader left (poll says POLLERR): the lane's receiver is gone."""
    poll = select.poll()
    poll.register(bell, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poll.poll(0))


def _close(ring: Ring) -> bool:
    ring.unlink()
    ring.close()
    return False
