"""What brainflow_source reads of a file BrainFlow's PLAYBACK_FILE_BOARD replays, without loading it: the values on a
line as the board splits it (tab-separated, else comma-separated: its read_thread), whether the file's lines have as
many values as the master board's samples (the board skips every other line, logging it), and how many it streams."""

from __future__ import annotations

from wavegraph.pipeline.spec import SpecError


def line_values(line: bytes) -> int:
    """How many values BrainFlow's playback board splits `line` into (a lone newline after a last separator is none)."""
    sep = b"\t" if b"\t" in line else b","
    return line.count(sep) + 1 - line.endswith(sep + b"\n")


def first_line_values(path: str) -> int | None:
    """The values on the file's first line that is not blank; None when every line is."""
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                return line_values(line)
    return None


def check_rows(bs, path: str, master: int, pre: str, fix: str) -> None:
    """SpecError when the file's lines do not have the master board's row count: the playback board skips every such
    line ('invalid string in file, check provided board id'), so the run stalled on no sample without end."""
    rows = int(bs.BoardShim.get_num_rows(master))
    have = first_line_values(path)
    name = bs.BoardIds(master).name
    if have is None:
        raise SpecError(f"{pre}file {path!r} (PLAYBACK_FILE_BOARD) holds no sample: every line is blank", fix)
    if have != rows:
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


def streamed_samples(path: str, rows: int) -> int:
    """The samples the playback board streams from the file: its lines of `rows` values (read line by line, not
    loaded: DataFilter.read_file took 6 s and the whole file in memory for 15 min of a Cyton)."""
    with open(path, "rb") as f:
        return sum(line_values(line) == rows for line in f)


__all__ = ["check_rows", "first_line_values", "line_values", "streamed_samples"]
