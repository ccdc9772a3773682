"""A recorder's spill, CSV and chunk log are written a whole chunk at a time, unbuffered: a write that fails (a full
disk, a quota) is cut back to the end of the last whole chunk at once. Buffered, the failed chunk stayed in the write
buffer (and part of it in the file): a recorder that went on (`on_error: restart`) wrote it out once the disk had room
again, unlisted in its chunk log, and every later sample sat off its time, without a word (a WAV, which libsndfile
writes, went on at the start of the file, over the recording: it is put back after its last whole chunk)."""

from __future__ import annotations

import contextlib
import errno
import io
import os


def open_whole(path, mode: str) -> io.FileIO:
    """`path` opened unbuffered in binary `mode` ("wb", "ab"): what write_whole writes is in the file or cut back."""
    return io.FileIO(path, mode)


def write_whole(f: io.FileIO, data: bytes | str) -> None:
    """All of `data` (text as UTF-8), or an OSError (a short write is the start of one: the disk is full)."""
    view = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
    while view:
        written = f.write(view)
        if not written:  # (a write of nothing: no progress; taken as the full disk it is on the ones seen)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def cut_back(f, end: int) -> None:
    """Cut `f` back to `end` (the end of its last whole chunk: a byte offset, or a soundfile.SoundFile's frame, whose
    frames past it close() cuts) after a write that failed; a cut that fails too leaves it as it is (close() and
    recover cut by the chunk log)."""
    with contextlib.suppress(Exception):  # (the write's error is the one said, whatever this one is)
        if not hasattr(f, "frames"):
            f.truncate(end)
        f.seek(end)  # (a WAV: libsndfile went on at the file's start after a failed write, over the recording)
