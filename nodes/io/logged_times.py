"""The chunk times and gaps of a recording the recorder wrote back to back (NPZ, WAV, FLAC), from its chunk log.

The recorder writes every chunk's seq, t0, length and gap flag to `<path>.chunks.csv` and keeps it beside a
recording that cannot mark a gap (nodes/io/record_notes.py). file_source replays such a recording with each chunk at
its logged t0 and the chunk after a gap flagged `gap`: an NPZ did (nodes/io/table_reader.py); a WAV or FLAC was
replayed from 0 at its rate, its gaps lost and the times after them early by the samples missing, though the
recorder said the log kept them. A log that counts another number of samples than the file is said and not used.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .chunk_times import chunk_log_rows
from .readers_base import _Reader

_log = logging.getLogger("wavegraph.file_source")


class LoggedTimes(_Reader):
    """A reader whose chunk times come from `starts` / `t0s` (one segment from `t0` without a log)."""

    t0: float = 0.0
    starts: np.ndarray = np.zeros(1, np.int64)
    t0s: np.ndarray = np.zeros(1)

    def time_of(self, index: int) -> float:
        k = max(int(np.searchsorted(self.starts, index, side="right")) - 1, 0)
        return float(self.t0s[k]) + (index - int(self.starts[k])) / self.sfreq

    def _chunk_log(self, path: Path) -> None:
        """Each recorded chunk's t0 and gap flag from the recorder's `<path>.chunks.csv` (complete lines only)."""
        self.starts, self.t0s = np.zeros(1, np.int64), np.array([self.t0])
        got = read_log(path, self.n_times, self.sfreq, self.t0)
        if got is not None:
            self.starts, self.t0s, self.breaks = got


def read_log(path: Path, n_times: int, sfreq: float, t0: float = 0.0, then: str = "replayed from its t0 at the rate"):
    """(starts, t0s, gap starts) of each chunk in the recorder's `<path>.chunks.csv` beside `path`; None without one,
    or when it cannot be read or counts another number of samples than the file (said, with `then`: what the replay
    does without it)."""
    log = path.with_name(path.name + ".chunks.csv")
    if not log.exists() or not sfreq > 0:
        return None
    what = f"file_source: {path}"
    starts, t0s, gaps, total = [], [], [], 0
    try:
        for t, n, gap in chunk_log_rows(log):
            if n <= 0:
                continue
            if not np.isfinite(t):  # a chunk without a time: on from the one before
                t = t0s[-1] + (total - starts[-1]) / sfreq if t0s else t0 + total / sfreq
            starts.append(total)
            t0s.append(t)
            if gap and total:
                gaps.append(total)
            total += n
    except (OSError, ValueError, UnicodeDecodeError) as e:
        _log.warning("%s: cannot read its chunk log %s (%s): %s", what, log, e, then)
        return None
    if total != n_times or not starts:
        _log.warning(
            "%s: its chunk log %s counts %d samples, the file holds %d: the log is not this recording's; "
            "%s (delete the log, or put the recording's own beside it)",
            what,
            log.name,
            total,
            n_times,
            then,
        )
        return None
    return np.array(starts, np.int64), np.array(t0s, np.float64), np.array(gaps, np.int64)
