"""The recorder's marker log, `<path>.events.csv` (onset,duration,code,label a line), which recover() reads to place the
markers of a killed recording where close() would have put them. Written a chunk's markers at a time, unbuffered
(whole_writes.py), as the samples are. It was a line-buffered text file: a write that failed (a full disk) left a line
cut in the file and the rest in the buffer, the recorder stopped with a bare '[Errno 28] No space left on device', and
its close() failed on the same buffer before it wrote the recording from its spill (left for `wavegraph recover`)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .record_notes import WRITE_FIXES
from .whole_writes import cut_back, open_whole, write_whole

HEADER = "onset,duration,code,label\n"


def marker_lines(rows: np.ndarray, labels: dict[int, str]) -> tuple[list[tuple[float, float, str]], str]:
    """(onset, duration, label) of each marker row (onset, duration, code), and their lines in the log. The label is
    its code's, else the code as text ('' was dropped by EDF, as lsl_outlet sends the code); the label is the last
    field, commas and all (recover splits a line 3 times), a line break in it a space."""
    events, lines = [], []
    for onset, dur, code in rows:
        label = labels.get(int(code)) or str(int(code))
        events.append((float(onset), float(dur), label))
        lines.append(f"{float(onset)!r},{float(dur)!r},{int(code)},{' '.join(label.splitlines())}\n")
    return events, "".join(lines)


def write_markers(log: io.FileIO | None, path: Path, lines: str) -> io.FileIO:
    """Append `lines` to the log at `path` (opened, with its header, when `log` is None), whole or not at all: a failed
    write is cut back to the end of the last whole line and raised. Returns the open log."""
    opened = log is None
    if log is None:
        log, lines = open_whole(path, "wb"), HEADER + lines
    end = log.tell()
    try:
        write_whole(log, lines)
    except OSError:
        cut_back(log, end)
        if opened:  # (the caller never got it: closed here, not leaked)
            log.close()
        raise
    return log


def log_failed(e: OSError, path: Path, target: Path, n_markers: int) -> OSError:
    """The recorder's error for a marker log it could not write: the cause, what is kept where, and the fix."""
    why = e.strerror or str(e)
    fix = WRITE_FIXES.get(e.errno or 0, "check that disk")
    return OSError(
        e.errno,
        f"recorder: writing the marker log {path} failed: {why}; the markers before these are kept in it, and the "
        f"{n_markers} received (these too) go into {target.name} at close if the disk has room; fix: {fix} (or record "
        f"to another: --set NODE.path=...); a recording left as {target.name}.spill is finished by `wavegraph recover "
        f"{target}`",
    )
