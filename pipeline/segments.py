"""Shared-memory segments of the edges on one host: their folder and names, the clean-up of a run's (and
of dead runs') segments, and Ring, one generation of an edge's ring of slots (pipeline.shm)."""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import stat
import struct
import uuid

SHM_DIR_ENV = "WAVEGRAPH_SHM_DIR"
PAGE = mmap.PAGESIZE
_NAME = re.compile(r"wg-(\d+)-")
# The ring's geometry, written by its maker after the slot states: a receiver maps a generation by the geometry the
# first notification of it names, and the file's size alone did not decide it (12 x 64 KiB and 1 x 768 KiB fill the same
# bytes): one forged notification of another geometry had the ring mapped wrongly, and every true one was then dropped
_GEOMETRY = struct.Struct("<4sIQ")  # b"WGRG", slots, slot bytes
_GEOMETRY_MAGIC = b"WGRG"


def shm_dir() -> str:
    return os.environ.get(SHM_DIR_ENV) or "/dev/shm"


def shm_available() -> bool:
    """True when this host has a writable shared-memory folder (Linux /dev/shm)."""
    d = shm_dir()
    return os.path.isdir(d) and os.access(d, os.W_OK | os.X_OK)


def shm_prefix(name: str = "edge", run_id: str | None = None) -> str:
    """A segment name prefix for one edge: `{run_id}-{name}`, run_id defaulting to wg-PID-RANDOM."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40]
    return f"{run_id or f'wg-{os.getpid()}-{uuid.uuid4().hex[:10]}'}-{safe}"


def remove_segments(prefix: str) -> int:
    """Unlink every segment whose name starts with `prefix`-; returns how many."""
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(shm_dir()):
            if entry.name.startswith(prefix + "-"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def remove_stale_segments() -> int:
    """Unlink this user's segments whose owner process (the pid in the name) no longer exists."""
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(shm_dir()):
            m = _NAME.match(entry.name)
            st = entry.stat(follow_symlinks=False)
            if not m or not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)) or st.st_uid != os.getuid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
            except (PermissionError, OverflowError):
                pass
    return removed


def ring_size(slots: int, slot_bytes: int) -> int:
    return _data_offset(slots) + slots * slot_bytes


def _data_offset(slots: int) -> int:
    return -(-(slots + _GEOMETRY.size) // PAGE) * PAGE


class Ring:
    """One generation of an edge's ring: a mapped file of slot states and slots."""

    def __init__(self, path: str, slots: int, slot_bytes: int, create: bool):
        self.path, self.slots, self.slot_bytes = path, slots, slot_bytes
        self.offset = _data_offset(slots)
        size = ring_size(slots, slot_bytes)
        flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags | (os.O_CREAT | os.O_EXCL if create else 0), 0o600)
        try:
            if create:
                try:
                    os.posix_fallocate(fd, 0, size)  # the pages exist now: no SIGBUS on a full /dev/shm later
                except OSError:
                    os.unlink(path)
                    raise
                os.pwrite(fd, _GEOMETRY.pack(_GEOMETRY_MAGIC, slots, slot_bytes), slots)
            else:
                st = os.fstat(fd)
                made = os.pread(fd, _GEOMETRY.size, slots) if st.st_size == size else b""
                if (
                    not stat.S_ISREG(st.st_mode)
                    or st.st_uid != os.getuid()
                    or made != _GEOMETRY.pack(_GEOMETRY_MAGIC, slots, slot_bytes)
                ):
                    raise ValueError(f"segment {path} is not this edge's ring of {slots} x {slot_bytes} bytes")
            populate = getattr(mmap, "MAP_POPULATE", 0)
            self.mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | populate)
        finally:
            os.close(fd)

    def acquire(self) -> int:
        """The lowest free slot, or -1. Lowest, not round robin: the few slots in use stay in the CPU's
        caches (1 MiB copies took 35-43 us cycling through 2 to 8 slots, 147 us through 64, here)."""
        return self.mm.find(b"\x00", 0, self.slots)

    def busy(self) -> bool:
        return self.mm[: self.slots].count(0) < self.slots

    def unlink(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def close(self) -> None:
        try:
            self.mm.close()
        except BufferError:  # arrays still view it: the mapping goes when they do
            pass
