"""What brainflow_source reads of a file BrainFlow's PLAYBACK_FILE_BOARD replays, without loading it: the values on a
line as the board splits it (tab-separated, else comma-separated: its read_thread), whether the file's lines have as
many values as the master board's samples (the board skips every other line, logging it), and how many it streams.

The board replays the file's stamps in real time: before each sample it sleeps the step from the last one's stamp. A
line whose stamp is far before the next one's (a header of column names that parse as numbers, as `0<TAB>1<TAB>...`
from pandas' to_csv; two recordings written into one file) made it sleep for years (its usleep overflows to ~36 min),
the run stalled after one sample, and a stop (BrainFlow's stop_stream joins that thread) hung: such a step is refused
(check_rows for the file's first lines at build, streamed_samples for all of it at open). A first sample line of words
(a header of names) was streamed as a sample of zeros (std::stod fails, the values stay 0): refused too."""

from __future__ import annotations

import re
from collections import Counter

from wavegraph.pipeline.spec import SpecError

HEAD_LINES = 10  # the lines check_rows reads at build: a header line the board skips, then samples
MAX_WAIT_S = 3600.0  # a step of the stamps longer than this is no pause of a recording: refused
_NUMBER = re.compile(rb"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE)


def values(line: bytes) -> list[bytes]:
    """The values BrainFlow's playback board splits `line` into (a lone newline after a last separator is none)."""
    parts = line.split(b"\t" if b"\t" in line else b",")
    if parts[-1] in (b"\n", b""):
        parts.pop()
    return parts


def line_values(line: bytes) -> int:
    """How many values BrainFlow's playback board splits `line` into."""
    return len(values(line))


def number(value: bytes) -> float | None:
    """The value std::stod reads (its leading number: '12abc' is 12), None where it reads none."""
    try:
        return float(value)
    except ValueError:
        m = _NUMBER.match(value)
        return float(m[0]) if m else None


def first_line_values(path: str) -> int | None:
    """The values on the file's first line that is not blank; None when every line is."""
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                return line_values(line)
    return None


class _Stamps:
    """The waits BrainFlow's playback board sleeps between the samples it streams (its read_thread: a stamp <= 0 before
    is no wait; a stamp it cannot read is the stamp it gave the sample before, now's, which waits nothing either)."""

    def __init__(self, path: str, ts_row: int | None, pre: str):
        self.path, self.ts_row, self.pre = path, ts_row, pre
        self.last: tuple[int, float] | None = None  # (line number, stamp) of the sample before
        self.first: int | None = None  # the line number of the first sample

    def add(self, line_no: int, parts: list[bytes]) -> None:
        if self.ts_row is None:
            return
        stamp = number(parts[self.ts_row]) if self.ts_row < len(parts) else None
        last, self.last = self.last, None if stamp is None else (line_no, stamp)
        self.first = line_no if self.first is None else self.first
        if last is None or stamp is None or last[1] <= 0 or stamp - last[1] <= MAX_WAIT_S:
            return
        first = last[0] == self.first
        raise SpecError(
            f"{self.pre}file {self.path!r}: line {line_no} is stamped {stamp - last[1]:.6g} s after line {last[0]} "
            f"(stamp row {self.ts_row}: {last[1]:.17g}, then {stamp:.17g}): BrainFlow's playback board replays the "
            "file's stamps in real time, so it would stream nothing for that long, and a stop would wait for it",
            f"remove line {last[0]} (its first sample line: a header of column names?)"
            if first
            else f"cut the file before line {line_no} into two files (two recordings?) and replay each",
        )


def _samples(f, rows: int):
    """(line number from 1, values) of the lines of `rows` values: the samples the board streams."""
    for i, line in enumerate(f, 1):
        parts = values(line)
        if len(parts) == rows:
            yield i, parts


def check_rows(bs, path: str, master: int, pre: str, fix: str) -> None:
    """SpecError when the file's lines do not have the master board's row count: the playback board skips every such
    line ('invalid string in file, check provided board id'), so the run stalled on no sample without end. A first
    line or two of another count (a header the board skips) are let through when samples follow them; a first sample
    line of words, or stamped long before the next, is refused (module docstring)."""
    rows = int(bs.BoardShim.get_num_rows(master))
    ts_row = bs.BoardShim.get_board_descr(master).get("timestamp_channel")
    with open(path, "rb") as f:
        head = _head(f)
    name = bs.BoardIds(master).name
    if not head:
        raise SpecError(f"{pre}file {path!r} (PLAYBACK_FILE_BOARD) holds no sample: every line is blank", fix)
    samples = [(i, values(line)) for i, line in head if line_values(line) == rows]
    if not samples:
        have = Counter(line_values(line) for _, line in head).most_common(1)[0][0]
        same = []
        for b in bs.BoardIds:
            try:
                if int(b.value) >= -1 and bs.BoardShim.get_num_rows(int(b.value)) == have:
                    same.append(b.name)
            except bs.BrainFlowError:
                continue
        raise SpecError(
            f"{pre}file {path!r} has {have} values a sample, master_board {name}'s samples {rows}: "
            "BrainFlow's playback board would skip every line and stream nothing",
            "set master_board to the board the file was recorded from"
            + (f" ({', '.join(same[:6])}{', ...' if len(same) > 6 else ''} have {have})" if same else ""),
        )
    i, parts = samples[0]
    words = [v.strip().decode(errors="replace") for v in parts if number(v) is None]
    if words:
        raise SpecError(
            f"{pre}file {path!r}: line {i} holds {len(words)} values that are no numbers ({', '.join(words[:4])}"
            f"{', ...' if len(words) > 4 else ''}: a header of column names?): BrainFlow's playback board would "
            "stream it as a sample of zeros",
            f"remove line {i} (a file BrainFlow plays holds samples only: DataFilter.write_file's)",
        )
    stamps = _Stamps(path, ts_row, pre)
    for i, parts in samples:
        stamps.add(i, parts)


def _head(f) -> list[tuple[int, bytes]]:
    """The first HEAD_LINES lines that are not blank, with their numbers from 1."""
    head = []
    for i, line in enumerate(f, 1):
        if line.strip():
            head.append((i, line))
            if len(head) == HEAD_LINES:
                break
    return head


def streamed_samples(path: str, rows: int, ts_row: int | None = None, pre: str = "") -> int:
    """The samples the playback board streams from the file: its lines of `rows` values (read line by line, not
    loaded: DataFilter.read_file took 6 s and the whole file in memory for 15 min of a Cyton). With `ts_row`, a step
    of the stamps the board would sleep for over MAX_WAIT_S is a SpecError (module docstring)."""
    stamps = _Stamps(path, ts_row, pre)
    n = 0
    with open(path, "rb") as f:
        for i, parts in _samples(f, rows):
            stamps.add(i, parts)
            n += 1
    return n


__all__ = ["check_rows", "first_line_values", "line_values", "number", "streamed_samples", "values"]
