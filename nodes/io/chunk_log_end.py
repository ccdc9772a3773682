"""The chunk log of a WAV whose recorder was killed (`wavegraph recover`, nodes/io/recover.py): the recorder writes a
chunk's samples, then its line in `<path>.chunks.csv`, so a kill between the two leaves a file that holds one chunk
more than its log lists. file_source then said the log was "not this recording's" and replayed without it (a
live stream's chunk times and gaps lost). Here the missing line is added: the samples are the file's, timed on from
the chunk before at the rate (as a replay without a log times them); a line the kill tore is cut first."""

from __future__ import annotations

import logging
from pathlib import Path


def complete_log(log: Path, n_file: int, rate: float) -> bool:
    """Add the line of the last chunk when `log` lists fewer samples than the file holds by at most its largest
    chunk (what a kill leaves); anything else is left as it is (file_source says so). Whether a line was added."""
    whole_end, total, largest, last = 0, 0, 0, None
    with open(log, "rb") as f:
        header = f.readline()
        whole_end = len(header) if header.endswith(b"\n") else 0
        for raw in f:
            parts = raw.decode("utf-8", "replace").split(",")
            if not raw.endswith(b"\n") or len(parts) != 4:
                break  # a line the kill tore: the end of what the log holds
            try:
                seq, t0, n = int(parts[0]), float(parts[1]), int(parts[2])
            except ValueError:
                return False  # damaged: not a kill's doing
            whole_end += len(raw)
            total, largest, last = total + n, max(largest, n), (seq, t0, n)
    missing = n_file - total
    if last is None or not whole_end or missing <= 0 or missing > largest:
        return False
    seq, t0, n = last
    with open(log, "r+b") as f:
        f.truncate(whole_end)
        f.seek(whole_end)
        f.write(f"{seq + 1},{t0 + n / rate!r},{missing},0\n".encode())
    logging.getLogger("wavegraph.recorder").warning(
        "recover: %s lacked the line of the last %d samples (the kill came after they were written, before they "
        "were logged): added, timed on from the chunk before",
        log.name,
        missing,
    )
    return True
