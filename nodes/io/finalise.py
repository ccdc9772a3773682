"""Converting a recorder's spill file into its target format, at close() or in recover() (nodes/io/recorder.py)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .chunk_times import ChunkTimes


def finalise(
    path: Path,
    first_t0: float = 0.0,
    gaps: Iterable[int] = (),
    times: ChunkTimes | None = None,
    overwrite: bool = False,
    events: Sequence[tuple[float, float, str]] = (),
    n_rows: int | None = None,
    split_size: str | int = "2GB",
) -> Path:
    """Convert `<path>.spill` into the FIF, NPZ, EDF or BDF target (its first `n_rows` rows when given:
    those the chunk log lists), streamed in blocks from the spill (record_formats.py), so
    memory stays flat however long the recording; then delete the spill. If writing fails, no
    temporary file is left and the spill stays for recover(). Markers go where `times` (the chunk
    times received; default: one line at the nominal rate from `first_t0`) puts them."""
    from . import record_formats as rf
    from .edf_writer import write_edf

    spill, meta_path = rf.spill_paths(path)
    meta, spec, rows = rf.open_spill(path)
    if n_rows is not None:
        rows = rows.head(n_rows)
    if path.exists() and not overwrite:
        raise FileExistsError(f"recorder: {path} exists; pass overwrite=True to replace it")
    fmt = meta["format"]
    if times is None and spec.rate > 0:
        times = ChunkTimes.line(spec.rate, first_t0)
    notes = rf.annotation_lists(spec, len(rows), times, list(gaps), list(events)) if times and fmt != "npz" else None
    origin = rf.Origin.of(spec, first_t0, meta.get("wall_start"), len(rows))
    if fmt == "fif" or not len(rows) and fmt == "flac":
        if len(rows):  # a FIF (or FLAC) cannot hold zero samples
            rf.write_fif(path, rows, spec, origin, notes, split_size)  # via a temporary folder
    else:
        tmp = path.with_name(path.name + ".tmp")
        try:
            if fmt == "npz":
                rf.write_npz(tmp, rows, spec, first_t0)
            elif fmt == "flac":
                rf.write_flac(tmp, rows, spec)
            else:
                write_edf(tmp, rows, spec, notes, bdf=fmt == "bdf", start=origin.start)
            os.replace(tmp, path)
        except BaseException:  # a full disk, say: the spill stays for recover(), no stale temporary file
            tmp.unlink(missing_ok=True)
            raise
    del rows
    spill.unlink()
    meta_path.unlink()
    return path
