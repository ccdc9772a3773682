"""The lane of a shared-memory edge: its messages, in order, in shared memory, with a doorbell.

Why. A ZeroMQ message between two processes passes four threads: the sender's, the sender's I/O thread,
the receiver's I/O thread, the receiver's. On an idle host each hand-over may wake a halted core; a
100-byte message took 72 us one way here, and the same bytes written to a pipe that the receiver blocks
on took 14 us. A shared-memory edge therefore carries its messages (the ring notifications of
pipeline.shm, and small messages whole) in this lane, and rings a bell (a named pipe, one byte per
message) that the receiver waits on: one hand-over.

Layout. A file `{edge prefix}-lane` in the shm folder: a 64-byte header (magic b"WGLN", version,
entries, entry size; at byte 16 the receiver's `waiting` flag), then `entries` fixed entries of ENTRY_BYTES: a state byte (0 free, 1 full), 3
pad bytes, the message length (uint32), the message. The bell is a FIFO `{edge prefix}-bell`. The
receiver makes both (it exists before its sender: the runner starts senders once receivers are up) and
keeps the FIFO open for reading and writing, so it never sees end-of-file; the sender opens both by
name and unlinks the names, so nothing is left behind even after kill -9.

Order and visibility. One sender, one receiver. The sender writes its next entry (length and bytes,
then the state byte full); the receiver reads its next entry once its state byte says full, then marks
it free. Each state byte is written by one side at a time, and x86 makes stores visible in program
order (so the lane is used on x86 only: pipeline.shm.NOTIFY_FIRST).

Waking. The bell is rung only for a receiver that said it is going to sleep: it sets `waiting`, then a
full memory barrier, empties the bell, and looks at the lane once more before it waits on the bell; the
sender marks the entry full, then a barrier, then rings if `waiting` is set. With a barrier between
each side's store and load, at least one of them sees the other's store: either the receiver finds the
message, or the sender rings (Dekker's argument). So a receiver that keeps up costs the sender no
system call, and none is lost for one that sleeps. The barrier is an uncontended lock's acquire and
release (a locked instruction on x86).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import struct
import threading
import time

LANE_MAGIC = b"WGLN"
LANE_VERSION = 1
ENTRY_BYTES = 2048  # per message: 8 bytes of entry header, up to 2040 of message (or of a batch of them)
HEADER_BYTES = 64
LANE_SLACK = 64  # entries beyond the receiver's queue (the sender's default high-water mark)
MAX_ENTRIES = 1 << 16
_HEAD = struct.Struct("<4sB3xII")  # magic, version, entries, entry bytes
_LEN = struct.Struct("<I")
_FREE, _FULL = 0, 1
WAITING = 16  # the header byte the receiver sets while it waits on the bell
_barrier_lock = threading.Lock()


def barrier() -> None:
    """A full memory barrier: acquiring and releasing an uncontended lock executes locked instructions."""
    _barrier_lock.acquire()
    _barrier_lock.release()


def lane_paths(folder: str, prefix: str) -> tuple[str, str]:
    """The lane file and the bell FIFO of the edge whose segment names start with `prefix`."""
    return os.path.join(folder, f"{prefix}-lane"), os.path.join(folder, f"{prefix}-bell")


class LaneError(Exception):
    """A lane entry that cannot be a message (its length is out of range)."""


class Lane:
    """One end of an edge's lane: `create` (the receiver) or `open` (the sender)."""

    def __init__(self, mm: mmap.mmap, bell: int, entries: int):
        self.mm, self.bell, self.entries = mm, bell, entries
        self.capacity = ENTRY_BYTES - 8  # the largest message an entry holds
        self.index = 0  # the sender's next entry to write, or the receiver's next to read

    @classmethod
    def create(cls, folder: str, prefix: str, queue: int) -> Lane:
        """The receiver's end: a lane of `queue` + LANE_SLACK entries and its bell (a stale pair of
        the same names, left by a receiver of this edge that was killed, is replaced)."""
        path, bell_path = lane_paths(folder, prefix)
        entries = max(2, min(MAX_ENTRIES, int(queue) + LANE_SLACK))
        size = HEADER_BYTES + entries * ENTRY_BYTES
        for stale in (path, bell_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
            mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
        except OSError:
            os.unlink(path)
            raise
        finally:
            os.close(fd)
        _HEAD.pack_into(mm, 0, LANE_MAGIC, LANE_VERSION, entries, ENTRY_BYTES)
        try:
            os.mkfifo(bell_path, 0o600)
            bell = os.open(bell_path, os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            mm.close()
            for name in (path, bell_path):
                with contextlib.suppress(OSError):
                    os.unlink(name)
            raise
        return cls(mm, bell, entries)

    @classmethod
    def open(cls, folder: str, prefix: str) -> Lane | None:
        """The sender's end, or None when the edge has no lane (its receiver made none, or a sender
        before this one took it: a restarted sender goes over ZeroMQ). Unlinks both names."""
        path, bell_path = lane_paths(folder, prefix)
        nofollow = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, os.O_RDWR | nofollow)
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
        magic, version, entries, entry_bytes = _HEAD.unpack_from(mm, 0)
        if (
            magic != LANE_MAGIC
            or version != LANE_VERSION
            or entry_bytes != ENTRY_BYTES
            or not 2 <= entries <= MAX_ENTRIES
            or st.st_size != HEADER_BYTES + entries * ENTRY_BYTES
        ):
            mm.close()
            return None
        try:
            bell = os.open(bell_path, os.O_WRONLY | os.O_NONBLOCK | nofollow)
        except OSError:
            mm.close()
            return None
        st = os.fstat(bell)
        if not stat.S_ISFIFO(st.st_mode) or st.st_uid != os.getuid():
            os.close(bell)
            mm.close()
            return None
        for name in (path, bell_path):  # both ends hold them now
            with contextlib.suppress(OSError):
                os.unlink(name)
        return cls(mm, bell, entries)

    # --- the sender's side ---------------------------------------------------------------------------
    def room(self) -> bool:
        """True when the next entry is free (the receiver has read what was written there)."""
        return self.mm[HEADER_BYTES + self.index * ENTRY_BYTES] == _FREE

    def put(self, message: bytes) -> None:
        """Write `message` (at most `capacity` bytes) to the next entry, which room() said is free, and
        ring the bell if the receiver waits on it."""
        at = HEADER_BYTES + self.index * ENTRY_BYTES
        mm = self.mm
        end = at + 8 + len(message)
        mm[at + 8 : end] = message
        _LEN.pack_into(mm, at + 4, len(message))
        mm[at] = _FULL  # last: x86 makes the bytes above visible first
        self.index = (self.index + 1) % self.entries
        barrier()
        if mm[WAITING]:
            try:
                os.write(self.bell, b"\0")
            except (BlockingIOError, BrokenPipeError):  # a full pipe has rung already; no receiver: no one to wake
                pass

    def drained(self) -> bool:
        """True when the receiver has read every message written to the lane."""
        return self.mm[HEADER_BYTES : HEADER_BYTES + self.entries * ENTRY_BYTES : ENTRY_BYTES].count(_FULL) == 0

    # --- the receiver's side -------------------------------------------------------------------------
    def ready(self) -> bool:
        """True when the next entry holds a message."""
        return self.mm[HEADER_BYTES + self.index * ENTRY_BYTES] == _FULL

    def take(self) -> bytes | None:
        """The next message, or None when none is there. Raises LaneError (the entry freed) for an entry
        whose length is out of range."""
        at = HEADER_BYTES + self.index * ENTRY_BYTES
        mm = self.mm
        if mm[at] != _FULL:
            return None
        (n,) = _LEN.unpack_from(mm, at + 4)
        message = mm[at + 8 : at + 8 + n] if n <= self.capacity else None
        mm[at] = _FREE  # after the read: x86 does not move a store ahead of earlier loads
        self.index = (self.index + 1) % self.entries
        if message is None:
            raise LaneError(f"lane entry of {n} bytes; an entry holds at most {self.capacity}")
        return message

    def sleepy(self) -> bool:
        """The receiver is about to wait on the bell: set `waiting`, empty the bell, and look once more.
        True when a message is there after all (then `waiting` is cleared: don't wait); otherwise wait
        on the bell's fd and call awake() after."""
        mm = self.mm
        mm[WAITING] = 1
        barrier()
        with contextlib.suppress(BlockingIOError):
            while len(os.read(self.bell, 4096)) == 4096:
                pass
        if self.ready():
            mm[WAITING] = 0
            return True
        return False

    def awake(self) -> None:
        self.mm[WAITING] = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.bell)
        with contextlib.suppress(BufferError, ValueError):
            self.mm.close()


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
