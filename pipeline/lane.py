"""The lane of a shared-memory edge: its messages, in order, in shared memory, with a doorbell.

Why. A ZeroMQ message between two processes passes four threads: the sender's, the sender's I/O thread,
the receiver's I/O thread, the receiver's. On an idle host each hand-over may wake a halted core; a
100-byte message took 72 us one way here, and the same bytes written to a pipe that the receiver blocks
on took 14 us. A shared-memory edge therefore carries its messages (the ring notifications of
pipeline.shm, and chunks under 16 KiB whole) in this lane, and rings a bell (a named pipe) that the
receiver waits on: one hand-over.

Layout. A file `{edge prefix}-lane` in the shm folder: a 64-byte header (magic b"WGLN", version, block
count, block size; at byte 16 the receiver's `waiting` flag, at 17 the sender's `room waiting`, at 20 the block the
sender writes next), a state
byte per block (0 free, 1 a message starts here, 2 skip to block 0, 3 taken by the message before), a
uint32 per block (the message's length in bytes; for a skip, the blocks skipped), then the blocks of
BLOCK_BYTES. A message takes as many whole blocks as it needs, contiguous: one that would run past the
last block starts again at block 0, the blocks left over marked skip. The bells are FIFOs
`{edge prefix}-bell` (sender to receiver: a message is there) and `{edge prefix}-room` (receiver to
sender: room was made). The receiver makes the three (it exists before its sender: the runner starts
senders once receivers are up) and keeps both FIFOs open for reading and writing, so it never sees
end-of-file nor a broken pipe; the sender opens them by name (the room bell read-write too: a killed
receiver must not leave it hung up, which poll() reports at once) and unlinks the names, so nothing is
left behind even after kill -9.

Order and visibility. One sender, one receiver. The sender writes the message's bytes, its length and
the states of its further blocks, then its first block's state; the receiver reads the message once
that state says so, then frees its blocks. The sender writes only into blocks it sees free, every one
of them (so frees seen in any order are safe), and x86 makes stores visible in program order (so the
lane is used on x86 only: pipeline.shm.NOTIFY_FIRST).

Waking. The bell is rung only for a receiver that said it is going to sleep: it sets `waiting`, then a
full memory barrier, empties the bell, and looks at the lane once more before it waits on the bell; the
sender marks the message there, then a barrier, then rings if `waiting` is set. With a barrier between
each side's store and load, at least one of them sees the other's store: either the receiver finds the
message, or the sender rings (Dekker's argument). So a receiver that keeps up costs the sender no
system call, and none is lost for one that sleeps. The sender waiting for room does the same with
`room waiting` and the room bell. The barrier is an uncontended lock's acquire and release (a locked
instruction on x86).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import select
import stat
import struct
import threading
import time

LANE_MAGIC = b"WGLN"
LANE_VERSION = 3
BLOCK_BYTES = 1024
BLOCKS_PER_MESSAGE = 8  # blocks per message of the queue: (queue + LANE_SLACK) messages of up to 8 KiB fit
LANE_SLACK = 64  # messages beyond the receiver's queue (the sender's default high-water mark)
MESSAGE_BLOCKS = 17  # the largest message: a chunk under 16 KiB and its header (larger ones: the ring)
HEADER_BYTES = 64
MAX_BLOCKS = 1 << 16  # 64 MiB: a very long queue does not reserve that much shared memory per edge
_HEAD = struct.Struct("<4sB3xII")  # magic, version, blocks, block bytes
_FREE, _FULL, _SKIP, _CONT = 0, 1, 2, 3
_ZEROS = bytes(MESSAGE_BLOCKS)
_CONTS = bytes([_CONT]) * MESSAGE_BLOCKS
WAITING = 16  # the header byte the receiver sets while it waits on the bell
ROOM_WAITING = 17  # the header byte the sender sets while it waits for room
NEXT = 20  # the header's uint32 where the sender says which block it writes next (see take)
# Before it sleeps, a side with nothing to do looks again for this long (yielding the core): a stream of
# small chunks then costs no system call and no wake-up (64 B, sender to receiver: 130-160k -> 240-250k
# messages/s at load 6 here), a quiet edge only this much CPU per wait.
SPIN_S = 50e-6
SPIN_AFTER_S = 1e-3  # the receiver spins only within this long of its last message (a stream in full flow),
# so a quiet or slow edge (chunks 1 ms or more apart) costs no spinning at all
_barrier_lock = threading.Lock()
_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def barrier() -> None:
    """A full memory barrier: acquiring and releasing an uncontended lock executes locked instructions
    (one `with`: a KeyboardInterrupt between acquire() and release() would leave it held)."""
    with _barrier_lock:
        pass


def lane_paths(folder: str, prefix: str) -> tuple[str, str, str]:
    """The lane file, the bell FIFO and the room FIFO of the edge whose segment names start with `prefix`."""
    return tuple(os.path.join(folder, f"{prefix}-{what}") for what in ("lane", "bell", "room"))  # pyright: ignore[reportReturnType]


def _layout(blocks: int) -> tuple[int, int, int]:
    """Offsets of the states, the lengths and the blocks, and the file size."""
    lengths = HEADER_BYTES + -(-blocks // 8) * 8
    data = -(-(lengths + 4 * blocks) // 64) * 64
    return lengths, data, data + blocks * BLOCK_BYTES


class LaneError(Exception):
    """A lane message whose length (or skip) is out of range."""


class Lane:
    """One end of an edge's lane: `create` (the receiver) or `open` (the sender)."""

    def __init__(self, mm: mmap.mmap, bell: int, room: int, blocks: int):
        self.mm, self.bell, self.room_bell, self.blocks = mm, bell, room, blocks
        self._lengths, self._data, _ = _layout(blocks)
        self._len = memoryview(mm)[self._lengths : self._lengths + 4 * blocks].cast("I")
        self._next = memoryview(mm)[NEXT : NEXT + 4].cast("I")
        self.capacity = min(MESSAGE_BLOCKS, blocks // 4) * BLOCK_BYTES  # the largest message
        self.index = 0  # the sender's next block to write, or the receiver's next to read
        self.closed = False
        self._close_lock = threading.Lock()
        self._poll = select.poll()
        self._poll.register(room, select.POLLIN)  # the sender sleeps on it (see wait)

    @classmethod
    def create(cls, folder: str, prefix: str, queue: int) -> Lane:
        """The receiver's end: a lane of (`queue` + LANE_SLACK) x BLOCKS_PER_MESSAGE blocks and its two
        bells (stale ones of the same names, left by a receiver of this edge that was killed, are
        replaced)."""
        path, bell_path, room_path = lane_paths(folder, prefix)
        blocks = min(MAX_BLOCKS, (max(1, int(queue)) + LANE_SLACK) * BLOCKS_PER_MESSAGE)
        size = _layout(blocks)[2]
        for stale in (path, bell_path, room_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _FLAGS, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
            mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
        except OSError:
            os.unlink(path)
            raise
        finally:
            os.close(fd)
        _HEAD.pack_into(mm, 0, LANE_MAGIC, LANE_VERSION, blocks, BLOCK_BYTES)
        fds: list[int] = []
        try:  # both read-write here: the receiver never sees end-of-file, nor a broken pipe
            for fifo in (bell_path, room_path):
                os.mkfifo(fifo, 0o600)
                fds.append(os.open(fifo, os.O_RDWR | os.O_NONBLOCK | _FLAGS))
        except OSError:
            mm.close()
            for fd in fds:
                os.close(fd)
            for name in (path, bell_path, room_path):
                with contextlib.suppress(OSError):
                    os.unlink(name)
            raise
        return cls(mm, fds[0], fds[1], blocks)

    @classmethod
    def open(cls, folder: str, prefix: str) -> Lane | None:
        """The sender's end, or None when the edge has no lane (its receiver made none, or a sender
        before this one took it: a restarted sender goes over ZeroMQ). Unlinks the names."""
        path, bell_path, room_path = lane_paths(folder, prefix)
        try:
            fd = os.open(path, os.O_RDWR | _FLAGS)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size < HEADER_BYTES:
                return None
            mm = mmap.mmap(fd, st.st_size, flags=mmap.MAP_SHARED)
        except OSError:
            return None
        finally:
            os.close(fd)
        magic, version, blocks, block_bytes = _HEAD.unpack_from(mm, 0)
        fds: list[int] = []
        try:
            if (
                magic != LANE_MAGIC
                or version != LANE_VERSION
                or block_bytes != BLOCK_BYTES
                or not 4 * MESSAGE_BLOCKS <= blocks <= MAX_BLOCKS
                or st.st_size != _layout(blocks)[2]
            ):
                raise ValueError("not a lane of this version")
            # The room bell read-write too: with the receiver gone (killed) it would have no writer, and
            # poll() would say 'hung up' at once, for ever: a sender waiting for room would spin.
            for fifo, mode in ((bell_path, os.O_WRONLY), (room_path, os.O_RDWR)):
                fds.append(os.open(fifo, mode | os.O_NONBLOCK | _FLAGS))
                st = os.fstat(fds[-1])
                if not stat.S_ISFIFO(st.st_mode) or st.st_uid != os.getuid():
                    raise ValueError(f"{fifo} is not this edge's bell")
        except (OSError, ValueError):
            for fd in fds:
                os.close(fd)
            mm.close()
            return None
        for name in (path, bell_path, room_path):  # both ends hold them now
            with contextlib.suppress(OSError):
                os.unlink(name)
        return cls(mm, fds[0], fds[1], blocks)

    # --- the sender's side ---------------------------------------------------------------------------
    def room(self, nbytes: int) -> bool:
        """True when a message of `nbytes` (at most `capacity`) can be written now: every block it would
        take (and, at the end of the lane, those it would skip) is free."""
        k = -(-nbytes // BLOCK_BYTES) or 1
        at, blocks, mm = self.index, self.blocks, self.mm
        s = HEADER_BYTES
        if at + k <= blocks:
            return mm[s + at : s + at + k].count(_FREE) == k
        return mm[s + at : s + blocks].count(_FREE) == blocks - at and mm[s : s + k].count(_FREE) == k

    def put(self, message: bytes) -> None:
        """Write `message` (room() said it fits) and ring the bell if the receiver waits on it."""
        n = len(message)
        k = -(-n // BLOCK_BYTES) or 1
        at, blocks, mm, s = self.index, self.blocks, self.mm, HEADER_BYTES
        if at + k > blocks:  # skip the blocks left at the end
            self._next[0] = 0
            self._len[at] = blocks - at
            mm[s + at + 1 : s + blocks] = _CONTS[: blocks - at - 1]
            mm[s + at] = _SKIP
            at = 0
        start = self._data + at * BLOCK_BYTES
        mm[start : start + n] = message
        self._len[at] = n
        if k > 1:
            mm[s + at + 1 : s + at + k] = _CONTS[: k - 1]
        self.index = self._next[0] = (at + k) % blocks  # before the state: see _drop
        mm[s + at] = _FULL  # last: x86 makes the stores above visible first
        barrier()
        if mm[WAITING]:
            _ring(self.bell)

    def behind(self, blocks: int) -> bool:
        """True when the receiver has not yet read the block written `blocks` blocks ago: it is at least
        that far behind (blocks are freed in order, so a written block not yet free is unread)."""
        return self.mm[HEADER_BYTES + (self.index - blocks) % self.blocks] != _FREE

    def drained(self) -> bool:
        """True when the receiver has read every message written to the lane."""
        return self.mm[HEADER_BYTES : HEADER_BYTES + self.blocks].count(_FREE) == self.blocks

    def wait(self, ready, timeout: float | None) -> bool:
        """Wait until `ready()` (room in the lane, or in the ring, which the receiver makes): True, or
        False once `timeout` seconds have passed (None: for ever; 0: look once). Spins SPIN_S, then
        sleeps on the room bell, which the receiver rings when it frees blocks or a slot while
        `room waiting` is set (the same handshake as the bell's), at most 0.1 s at a time."""
        if ready():
            return True
        if timeout == 0.0:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        mm = self.mm
        while not spin(ready, SPIN_S):
            mm[ROOM_WAITING] = 1
            barrier()
            _empty(self.room_bell)
            if ready():
                mm[ROOM_WAITING] = 0
                return True
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left > 0:
                self._poll.poll(max(1, int(left * 1000)))
            mm[ROOM_WAITING] = 0
            if ready():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    # --- the receiver's side -------------------------------------------------------------------------
    def ready(self) -> bool:
        """True when the next block starts a message (or a skip to one), or holds a state no sender
        writes there (see take: it is dropped)."""
        return self.mm[HEADER_BYTES + self.index] != _FREE

    def take(self) -> bytes | None:
        """The next message, or None when none is there. Raises LaneError (its blocks freed, see _drop)
        for one whose state, length or skip is out of range."""
        at, blocks, mm, s = self.index, self.blocks, self.mm, HEADER_BYTES
        state = mm[s + at]
        if state == _SKIP:
            skip = self._len[at]
            if skip != blocks - at or mm[s + at + 1 : s + blocks].count(_CONT) != skip - 1:
                self._drop(at, f"a skip of {skip} blocks at block {at} of {blocks}")
            mm[s + at : s + blocks] = bytes(blocks - at)
            self.index = at = 0
            self.freed()
            state = mm[s]
        if state == _FREE:
            return None
        n = self._len[at]
        k = -(-n // BLOCK_BYTES)
        if state != _FULL:
            self._drop(at, f"state {state} at block {at}")
        if not 0 < n <= self.capacity or at + k > blocks:
            self._drop(at, f"a message of {n} bytes at block {at}; the lane holds at most {self.capacity}")
        start = self._data + at * BLOCK_BYTES
        message = mm[start : start + n]
        mm[s + at : s + at + k] = _ZEROS[:k]  # after the read: x86 does not move a store ahead of earlier loads
        self.index = (at + k) % blocks
        self.freed()
        return message

    def _drop(self, at: int, what: str) -> None:
        """A block at the receiver's place that its sender did not write so (another process wrote into
        the lane): free it and raise LaneError. When the sender has written there (the block it says it
        writes next, NEXT, is another: the sender sets NEXT before a message's state, so it is seen
        with it), the blocks marked as that message's own are freed too and the receiver moves past
        them; otherwise the lane was empty there, and the receiver stays for the sender's next message
        (moving on, it would wait ahead of the sender)."""
        blocks, mm, s = self.blocks, self.mm, HEADER_BYTES
        k = 1
        if self._next[0] != at:
            while at + k < blocks and mm[s + at + k] == _CONT:
                k += 1
            self.index = (at + k) % blocks
        mm[s + at : s + at + k] = bytes(k)
        self.freed()
        raise LaneError(what)

    def freed(self) -> None:
        """The receiver has freed blocks or a ring slot: wake the sender if it waits for room. The lock
        (taken after the store that freed, before the flag is read: a full barrier, see barrier()) also
        keeps a slot's releaser, which may run on any thread, from ringing a descriptor close() has
        just closed and the process reused."""
        with self._close_lock:
            if self.closed:  # a slot freed after the receiver closed (a node kept its view): nobody to tell
                return
            if self.mm[ROOM_WAITING]:
                _ring(self.room_bell)

    def sleepy(self) -> bool:
        """The receiver is about to wait on the bell: set `waiting`, empty the bell, and look once more.
        True when a message is there after all (then `waiting` is cleared: don't wait); otherwise wait
        on the bell's fd and call awake() after."""
        mm = self.mm
        mm[WAITING] = 1
        barrier()
        _empty(self.bell)
        if self.ready():
            mm[WAITING] = 0
            return True
        return False

    def awake(self) -> None:
        self.mm[WAITING] = 0

    def close(self) -> None:
        with self._close_lock:
            if self.closed:
                return
            self.closed = True
            for fd in (self.bell, self.room_bell):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._len.release()
        self._next.release()
        with contextlib.suppress(BufferError, ValueError):
            self.mm.close()


def _ring(fd: int) -> None:
    try:
        os.write(fd, b"\0")
    except (BlockingIOError, BrokenPipeError):  # a full pipe has rung already; nobody there: no one to wake
        pass


def _empty(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while len(os.read(fd, 4096)) == 4096:
            pass


def spin(ready, seconds: float) -> bool:
    """Poll `ready()` for up to `seconds`, yielding the core between looks; True once it is."""
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        if ready():
            return True
        os.sched_yield()
    return False


def wait_until(ready, timeout: float | None) -> bool:
    """Poll `ready()` until it is true (True) or `timeout` seconds pass (False; None: for ever; 0: just
    once): yield first, then sleep in growing steps (20 us to 1 ms). For a sender waiting for its
    receiver to make room, which is back-pressure, not the hot path."""
    if ready():
        return True
    if timeout == 0.0:
        return False
    deadline = None if timeout is None else time.monotonic() + timeout
    pause, spins = 20e-6, 0
    while not ready():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        spins += 1
        if spins < 50:
            os.sched_yield()
        else:
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)
    return True
