"""The recorder's FLAC (nodes/io/recorder.py): 24-bit, written from the spill at close, and dated.

Dated: the time of its first sample is in a Vorbis comment DATE (ISO 8601, UTC, to the microsecond), written through
libsndfile (soundfile's `date`; mutagen, metaflac and ffprobe show it) and read back by file_source (audio_reader.py).
A FLAC the recorder wrote was undated, where the same stream's FIF, EDF and WAV (bext) were dated: its replay, and any
recording made from it, lost the date. A DATE without a time of day (a music file's '2019' or '2019-05-01', a release
date) is no recording's start: such a file replays undated, as before."""

from __future__ import annotations

import errno
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from wavegraph.pipeline.spec import StreamSpec

if TYPE_CHECKING:
    from .record_formats import SpillRows


def date_tag(start: datetime) -> str:
    """The DATE comment of a recording whose first sample is at `start`: '2021-03-04T05:06:09.250000+00:00'."""
    return start.astimezone(UTC).isoformat(timespec="microseconds")


def tag_start(text: str | None) -> str | None:
    """The first sample's time (ISO 8601, UTC) a DATE comment gives; None where it holds no date with a time of day.
    A time without a zone is taken as UTC (as a BWF's bext, an EDF's start)."""
    text = (text or "").strip()
    if "T" not in text and " " not in text:  # a date alone: a release date, not when a recording started
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)  # a write's failures: a full disk, a quota, a limit


def _c_errno() -> int:
    """The C errno as the last call into libsndfile left it (cffi keeps it); 0 where it cannot be had."""
    try:
        from soundfile import _ffi  # pyright: ignore[reportPrivateUsage]

        return int(_ffi.errno)
    except Exception:  # noqa: BLE001 — soundfile's internals moved
        return 0


def write_flac(target: Path, rows: SpillRows, spec: StreamSpec, start: datetime | None = None) -> None:
    """24-bit FLAC from the spill, block by block; values clipped to [-1, 1], NaN written as 0; `start` (the first
    sample's time, Origin.start) as its DATE. (Written at close: libFLAC holds back whole frames, so a FLAC written as
    it goes is unreadable after a kill.)"""
    import soundfile as sf

    from .record_formats import sf_name
    from .record_notes import libsndfile_cause

    f = sf.SoundFile(  # a bytes name: libsndfile takes one that is not UTF-8 only so
        sf_name(target), "w", int(round(spec.rate)), rows.shape[1], "PCM_24", format="FLAC"
    )
    try:
        if start is not None:
            f.date = date_tag(start)  # (before the first frame: libsndfile writes the comments with the header)
        for _, block in rows.blocks():
            f.write(np.nan_to_num(np.asarray(block, dtype=np.float64), nan=0.0, posinf=1.0, neginf=-1.0))
        f.close()
    except RuntimeError as e:  # libsndfile's 'System error.' (a full disk): its cause, an OSError the recorder says
        code = _c_errno()  # (first: the failed write's, before another call)
        cause = None if f.closed else libsndfile_cause(f)
        if (cause is None or cause[0] is None) and code in WRITE_ERRNOS:  # libFLAC's first write failed: libsndfile
            cause = code, os.strerror(code)  # says only 'problem with initialization of the flac decoder', [Errno None]
        if cause is None and shutil.disk_usage(target.parent).free < 1 << 20:  # (failed in close: no account left)
            cause = errno.ENOSPC, os.strerror(errno.ENOSPC)
        if not f.closed:
            try:
                f.close()
            except RuntimeError:  # (its last frames do not fit either)
                pass
        if cause is None:
            raise
        raise OSError(cause[0], cause[1]) from e
