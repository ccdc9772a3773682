"""Converting a recorder's spill file into its target format, at close() or in recover() (nodes/io/recorder.py)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .chunk_times import ChunkTimes
from .marker_codes import BOUNDARY


def finalise(
    path: Path,
    first_t0: float = 0.0,
    gaps: Iterable[int] = (),
    times: ChunkTimes | None = None,
    overwrite: bool = False,
    events: Sequence[tuple[float, float, str]] = (),
    n_rows: int | None = None,
    split_size: str | int = "2GB",
    events_csv: Path | None = None,
    keep_log: bool = False,
) -> Path:
    """Convert `<path>.spill` into the FIF, NPZ, EDF or BDF target (its first `n_rows` rows when given:
    those the chunk log lists), streamed in blocks from the spill (record_formats.py), so
    memory stays flat however long the recording; then delete the spill. If writing fails, no
    temporary file is left and the spill stays for recover(). Markers go where `times` (the chunk
    times received; default: one line at the nominal rate from `first_t0`) puts them. `events_csv`: the markers'
    log (`<path>.events.csv`), deleted once the file holds them all; kept when some fall outside the recording (a
    marker sent with a live stream's last chunk, stamped after its last sample: MNE leaves it out of the file), and
    said, so that none is lost (it was deleted with them); `keep_log`: kept all the same (recover: a line of it that
    the kill cut, or damaged, is in the file in part or not at all)."""
    from . import record_formats as rf
    from .edf_writer import write_edf
    from .flac_file import write_flac

    spill, meta_path = rf.spill_paths(path)
    meta, spec, rows = rf.open_spill(path)
    if n_rows is not None:
        rows = rows.head(n_rows)
    if path.exists() and not overwrite:
        raise FileExistsError(f"recorder: {path} exists; pass overwrite=True to replace it")
    fmt = meta["format"]
    if times is None and spec.rate > 0:
        times = ChunkTimes.line(spec.rate, first_t0)
    gaps, events = list(gaps), list(events)
    kept_in = events_csv.name if events_csv is not None and events_csv.exists() else ""
    notes = rf.annotation_lists(spec, len(rows), times, gaps, events, kept_in) if times and fmt != "npz" else None
    inside = len(notes[0]) - len(BOUNDARY) * len(gaps) if notes else len(events)  # the markers the file holds
    origin = rf.Origin.of(spec, first_t0, meta.get("wall_start"), len(rows))
    target = _through_link(path)
    if fmt == "fif" or not len(rows) and fmt == "flac":
        if len(rows):  # a FIF (or FLAC) cannot hold zero samples
            rf.write_fif(target, rows, spec, origin, notes, split_size)  # via a temporary folder
    else:
        tmp = target.with_name(target.name + ".tmp")
        try:
            if fmt == "npz":
                rf.write_npz(tmp, rows, rf.dated_spec(spec, first_t0, meta.get("wall_start")), first_t0)
            elif fmt == "flac":
                write_flac(tmp, rows, spec, start=origin.start)
            else:
                write_edf(tmp, rows, spec, notes, bdf=fmt == "bdf", start=origin.start)
            os.replace(tmp, target)
        except BaseException:  # a full disk, say: the spill stays for recover(), no stale temporary file
            tmp.unlink(missing_ok=True)
            raise
    del rows
    spill.unlink()
    meta_path.unlink()
    if events_csv is not None and path.exists() and inside == len(events) and not keep_log:
        events_csv.unlink(missing_ok=True)
    return path


def _through_link(path: Path) -> Path:
    """The file to write for `path`: a link's target, written through as WAV/CSV (written in place) and the shell's
    `>` are (the file moved in replaced the link itself, and its target, on another disk say, kept the old
    recording); the link itself when its target's name is not of the format (MNE writes only *.fif, *.fif.gz)."""
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    name = path.name.lower()
    ext = next((e for e in (".fif.gz", ".fif", ".npz", ".edf", ".bdf", ".flac") if name.endswith(e)), path.suffix)
    return target if target.name.lower().endswith(ext) and target.parent.is_dir() else path
