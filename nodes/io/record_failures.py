"""What the recorder (nodes/io/recorder.py) says, and leaves on disk, when a write fails: a full disk, a quota, a file
size limit, a drive pulled out.

At the start (the first chunk's files cannot be made): nothing was recorded, so nothing is left. The chunk log, the
WAV or CSV target and the spill's header that the start made are removed: a full disk left a 0-byte
`<path>.chunks.csv` (and a 0-byte WAV or CSV, or `<path>.spill.json.tmp`) beside the run's one error, litter a user
took for a recording and that the next run's recover found as a 'damaged' log.
Later (a chunk cannot be written): the run stops; what came before is kept, and said where."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from wavegraph.pipeline.node import explained

from .record_formats import SPILLED
from .record_notes import WRITE_FIXES


def cause_of(rec: Any, e: Exception) -> tuple[int | None, str]:
    """(errno, what) of a failed write or open: an OSError's own; libsndfile's 'System error.' (a RuntimeError) asked
    for its cause (record_notes.write_error), else the C errno it left (a WAV that could not be opened on a full disk
    has no handle to ask: it was a LibsndfileError traceback)."""
    if isinstance(e, OSError):
        return e.errno, e.strerror or str(e)
    from .flac_file import WRITE_ERRNOS, _c_errno
    from .record_notes import write_error

    code = _c_errno()  # (first: before another call into libsndfile)
    errno_, text = write_error(e, rec.__dict__.get("_file") if rec.format == "wav" else None)
    if errno_ is None and code in WRITE_ERRNOS:
        return code, f"{os.strerror(code)} ({type(e).__name__}: {e})"
    return errno_, text


def start_failed(rec: Any, e: Exception) -> OSError:
    """The error of a recorder whose start (or first chunk) could not be written, after closing and removing the files
    its start made (`rec._made`): nothing was recorded."""
    errno_, text = cause_of(rec, e)
    for name in ("_chunks", "_file"):
        f = rec.__dict__.pop(name, None)
        if f is not None and f is not rec._spill:  # (the spill is the recorder's close()'s: locked, removed there)
            with contextlib.suppress(Exception):  # (a WAV's header flush on a full disk fails too)
                f.close()
    if rec._spill is not None and rec.spill_path.with_name(rec.spill_path.name + ".json") in rec._made:
        with contextlib.suppress(OSError):  # this run's spill (a first chunk's part in it): empty, as close() removes
            rec._spill.truncate(0)
    for path in rec._made:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    rec._made, rec._open = [], False  # (a recorder that goes on, on_error: restart, starts again at its next chunk)
    fix = WRITE_FIXES.get(errno_ or 0, "free space on that disk")
    markers = f"; the markers received are kept in {rec.events_path}" if rec._events_file is not None else ""
    return explained(
        OSError(
            *([errno_] if errno_ is not None else []),
            f"recorder: cannot start writing {rec.path}: {text}; nothing was recorded, and no file of it is left"
            f"{markers}; fix: {fix} (--set NODE.path=...)",
        )
    )


def write_failed(rec: Any, e: Exception) -> OSError:
    """A write that failed (ENOSPC, EDQUOT, EIO): the run stops; what came before is kept, and said where."""
    rec._failed_write = True
    n, rate = rec._n_total, rec.spec.rate
    what = f"{n} samples ({n / rate:.6g} s)" if rec.spec.kind == "signal" and rate else f"{n} rows"
    if not n:
        kept = "nothing was recorded before it"
    elif rec.format in SPILLED:
        kept = (
            f"the {what} before it are kept in {rec.spill_path}, which the recorder converts to "
            f"{rec.path.name} at close if the disk has room (it needs about as much again)"
        )
    else:
        kept = f"the {what} before it are in {rec.path}, cut back to the last whole chunk"
    errno_, text = cause_of(rec, e)  # (a WAV's cause from libsndfile: it was 'System error.' for any)
    return explained(
        OSError(
            *([errno_] if errno_ is not None else []),  # OSError(None, text) printed as '[Errno None] text'
            f"recorder: writing {rec.path} failed: {text}; {kept}; fix: {WRITE_FIXES.get(errno_ or 0, 'check that disk')} (or "
            "record to another: --set NODE.path=...); "
            + (  # (a WAV or CSV has no spill: the one it was told of never existed)
                f"a recording left as {rec.spill_path.name} is finished by `wavegraph recover {rec.path}`"
                if rec.format in SPILLED
                else f"after a kill, `wavegraph recover {rec.path}` checks what it holds"
            ),
        )
    )
