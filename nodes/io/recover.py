"""Finishing a recording whose process died before the recorder's close(): `wavegraph recover PATH...` (or
`recover(path)`) builds the target from its spill file, as close() would have (nodes/io/recorder.py writes them)."""

from __future__ import annotations

import errno
import logging
import math
import os
import shlex
import sys
from pathlib import Path

from .bids_pending import PENDING, copy_into_bids, copy_pending, pending_path
from .chunk_times import read_chunk_log
from .finalise import finalise
from .record_formats import FIF_ENDINGS, FORMATS, lock, open_spill, sf_name
from .record_notes import gaps_unmarked
from .recorder import _mne_name, empty_marker_spill

ENDINGS = (*FIF_ENDINGS, ".edf", ".bdf", ".wav", ".flac", ".npz", ".csv")  # what a recorder writes


def recover(path: str | os.PathLike) -> Path:
    """Finish a recording whose process died before close(): build the target from its spill file.

    Recovers the samples, and the chunk times (from `<path>.chunks.csv` when present) that place the
    markers (`<path>.events.csv`) as close() would have. `path` may
    also name the spill (`x_raw.fif.spill`, `x_raw.fif.spill.json`)."""
    path = Path(path)
    if path.is_dir():  # (Path('.').with_name raised "PosixPath('.') has an empty name")
        raise ValueError(f"{path} is a folder: `wavegraph recover {path}` recovers every .spill under it")
    for tail in (".spill.json", ".spill"):
        if path.name.endswith(tail) and len(path.name) > len(tail):
            path = path.with_name(path.name[: -len(tail)])
            break
    spill = path.with_name(path.name + ".spill")
    named = _mne_name(path, say=False)  # the recorder's path: x.fif was recorded as x_raw.fif (its YAML says x.fif)
    if not spill.exists() and named != path and (named.with_name(named.name + ".spill").exists() or named.exists()):
        path, spill = named, named.with_name(named.name + ".spill")
    if not spill.exists() and path.is_file() and pending_path(path).exists():  # a BIDS copy that failed: again
        return copy_pending(path)
    if not spill.exists():
        return _check_direct(path, spill)
    try:  # (writable, not created: for the lock, held until the spill is converted; nothing is written)
        held = os.fdopen(os.open(spill, os.O_WRONLY | os.O_APPEND), "ab")
    except FileNotFoundError:  # finished meanwhile (by its close, or another recover)
        return _check_direct(path, spill)
    except OSError as e:  # a read-only card or mount, a folder of another user's: no recorder writes there
        if e.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        if not os.access(spill, os.R_OK):  # another user's (mode 600) or no one's (000): a copy of it cannot be made
            raise _cannot_read(path, e) from None
        raise _cannot_write(path, e) from None
    with held:  # two recovers at once wrote the same temporary file, one deleting the spill under the other
        if not lock(held):
            raise OSError(
                f"{spill} is being written by a running recorder, or recovered by another recover: stop that run "
                "(recover is for one that died), or let the other recover finish"
            )
        if os.fstat(held.fileno()).st_nlink == 0:  # finished while this one waited for the lock
            return _check_direct(path, spill)
        return _recover_locked(path, spill)


def _recover_locked(path: Path, spill: Path) -> Path:
    """recover() with the spill's lock held."""
    events_csv = path.with_name(path.name + ".events.csv")
    events, whole = _read_events(events_csv) if events_csv.exists() else ([], True)
    try:
        meta, spec, rows = open_spill(path)
        rate = spec.rate  # every chunk's t0 and length: markers go where they went live
    except (OSError, ValueError, KeyError, TypeError) as e:  # was the bare FileNotFoundError, JSONDecodeError...
        if empty_marker_spill(spill):  # killed before its first sample: as a spill of no whole sample, below
            spill.unlink()
            kept = f"; its markers stay in {events_csv.name}" if events else ""  # (a run with none: the next refuses)
            raise ValueError(
                f"{spill} held no complete sample: nothing to write (the empty spill is removed){kept}"
            ) from None
        raise ValueError(
            f"{spill}'s header {spill.name}.json is missing or damaged ({e}): its samples cannot be read"
        ) from None
    first_t0, gaps, total, times = read_chunk_log(path.with_name(path.name + ".chunks.csv"), rate)
    if total is not None and len(rows) < total:  # the log is written after the data: the spill lost its end
        lost = total - len(rows)
        logging.getLogger("wavegraph.recorder").warning(
            "recover: %s holds %d samples, its chunk log %s lists %d: the last %d%s were lost from the spill (cut "
            "short: a disk that filled or failed, a copy that did not finish); the %d it holds are written",
            spill.name,
            len(rows),
            path.name + ".chunks.csv",
            total,
            lost,
            f" ({lost / rate:.3g} s)" if rate > 0 else "",
            len(rows),
        )
    # The log is written after the data: rows past its total (a chunk whose log line was never
    # written, say on a full disk) are left out, so the file and its log agree.
    log = path.with_name(path.name + ".chunks.csv")
    if total is not None and len(rows) > total and (total == 0 or len(rows) - total > _largest_chunk(log)):
        logging.getLogger("wavegraph.recorder").warning(  # more than one chunk a kill leaves unlogged: the log broke
            "recover: %s lists %d samples in whole lines, its spill holds %d: the log is empty or damaged (a power "
            "cut, a disk error), not cut by a kill; every sample is written, those past the log's last whole line "
            "timed at the nominal rate after it",
            log.name,
            total,
            len(rows),
        )
        total, times = None, times if total else None
    log_whole = total is not None and len(rows) >= total  # the file holds all the log lists
    try:
        out = finalise(
            path,
            first_t0=first_t0,
            gaps=gaps,
            times=times,
            overwrite=True,
            events=events,
            n_rows=total,
            split_size=meta.get("split_size", "2GB"),  # the recorder's (a FIF split at 500MB recovers so, not at 2 GB)
            events_csv=events_csv,  # deleted once the file holds every marker (kept, and said, when some fall outside)
            keep_log=not whole,  # a line it could not read whole (cut by the kill, damaged): the log stays, said
        )
    except OSError as e:  # a full disk (the target takes about the spill's size again): the spill stays
        raise _cannot_write(path, e) from None
    if not out.exists():  # a FIF or FLAC cannot hold zero samples
        kept = f"; its markers stay in {events_csv.name}" if events_csv.exists() else ""  # (they were deleted)
        raise ValueError(f"{spill} held no complete sample: nothing to write (the empty spill is removed){kept}")
    # (a header without chunk_log, written before it said it: whether its recorder kept the log is not known)
    if log_whole and meta.get("chunk_log", True) is False and not gaps_unmarked(out, meta["format"], gaps, rate):
        log.unlink(missing_ok=True)  # as close() deletes it: the file holds all it says (replayed from it: the times
        # of a live stream's every chunk, where the closed recording's replay, without it, has the file's own)
    if bids := meta.get("bids"):  # a killed `wavegraph run --bids`: the copy close() would have made
        copy_into_bids(out, bids, spec)  # (failed: what it needs kept beside `out`, for a recover again)
    return out


def _largest_chunk(log: Path) -> int:
    from .chunk_times import chunk_log_rows

    return max((n for _, n, _ in chunk_log_rows(log)), default=0)


CUT = "(label cut off)"  # the label of a marker whose log line the kill cut before its label could be read


def _read_events(events_csv: Path) -> tuple[list[tuple[float, float, str]], bool]:
    """The markers of `<path>.events.csv` (onset, duration, code, label: the label last, commas and all), and whether
    the file can hold all the log says (else the log stays beside it). A last line cut by the kill (no line break) keeps
    its marker where its onset is whole (a comma after it): labelled as a whole line of its code is, where its code is
    whole and has one (its cut label, 'right ' for 'right hand', was written as it was); else '<code> (label cut off)',
    or '(label cut off)' where the code is cut too (duration 0 where that is). Such a marker, a line whose onset was cut
    (not kept: '1' may have been '12.5') and a damaged line (no marker) are said, and keep the log."""
    events, labels, damaged, whole = [], {}, [], True
    say = logging.getLogger("wavegraph.recorder").warning
    with open(  # (newline="": a label's \r stays in it, as the recorder wrote it; a damaged byte is no traceback)
        events_csv, newline="", encoding="utf-8", errors="replace"
    ) as f:
        f.readline()  # the header
        for number, line in enumerate(f, start=2):
            parts = line.removesuffix("\n").split(",", 3)
            cut = not line.endswith("\n")  # the last line, cut by the kill: its last field may be cut short
            if cut and len(parts) == 1:
                whole = False
                say(
                    "recover: the last marker in %s was cut by the kill before its onset was whole (%r): it is not in "
                    "the recording; %s stays beside it",
                    events_csv.name,
                    line,
                    events_csv.name,
                )
                continue
            try:  # NUL bytes over a line (a power cut) stopped the recovery: "could not convert string to float"
                onset = float(parts[0]) if cut or len(parts) == 4 else math.nan  # (a whole line of 3 fields: damaged)
                duration = float(parts[1]) if len(parts) > 2 else 0.0
            except ValueError:
                onset = duration = math.nan
            if not (math.isfinite(onset) and math.isfinite(duration)):
                damaged.append(f"line {number} ({line.rstrip()[:40]!r})")
                continue
            if cut:
                code = parts[2] if len(parts) == 4 else ""
                label = labels.get(code) if code else None
                whole = whole and label is not None
                label = label if label is not None else f"{code} {CUT}" if code else CUT
                say(
                    "recover: the last marker in %s was cut by the kill (%r); kept at %s s as %r%s",
                    events_csv.name,
                    line,
                    parts[0],
                    label,
                    "" if whole else f"; {events_csv.name} stays beside the recording with what its line holds",
                )
                events.append((onset, duration, label))
            else:
                labels.setdefault(parts[2], parts[3])
                events.append((onset, duration, parts[3]))
    if damaged:
        say(
            "recover: %s is damaged at %s: no marker there can be read, the others are kept; %s stays beside the "
            "recording; what it held may be in the stimulus program's own log too",
            events_csv.name,
            ", ".join(damaged[:3]) + (f" and {len(damaged) - 3} more lines" if len(damaged) > 3 else ""),
            events_csv.name,
        )
    return events, whole and not damaged


def _cannot_write(path: Path, e: OSError) -> OSError:
    """The target cannot be written beside its spill (a full disk, a read-only card): the spill is kept; the fix."""
    spill = path.with_name(path.name + ".spill")
    ends = (".spill", ".spill.json", ".chunks.csv", ".events.csv")
    parts = ", ".join(p.name for p in (path.with_name(path.name + end) for end in ends) if p.exists())
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = (
            f"free about {spill.stat().st_size / 1e6:.3g} MB in {path.parent} and recover again, or move {parts} "
            "together to a disk with room and recover there"
        )
    else:
        fix = f"copy {parts} together to a folder you can write (off a read-only card or mount) and recover there"
    return OSError(e.errno, f"cannot write {path} from {spill.name}: {e.strerror or e}; the spill is kept; fix: {fix}")


def _cannot_read(path: Path, e: OSError) -> OSError:
    """The spill (or a file beside it) cannot be read by this user: copying it elsewhere, the fix _cannot_write
    gives, cannot work either. Its mode and owner, and the fix: a mode that lets its user read it, or its owner."""
    import stat

    ends = (".spill", ".spill.json", ".chunks.csv", ".events.csv")
    parts = [p for p in (path.with_name(path.name + end) for end in ends) if p.exists()]
    shut = [p for p in parts if not os.access(p, os.R_OK)] or parts[:1]
    st = shut[0].stat()
    try:
        import pwd

        owner = pwd.getpwuid(st.st_uid).pw_name
    except (ImportError, KeyError):  # (no pwd on Windows; a uid no user has)
        owner = f"uid {st.st_uid}"
    names = " ".join(shlex.quote(str(p)) for p in parts)
    again = f"wavegraph recover {shlex.quote(str(path))}"
    fix = (
        f"give yourself read and write on them (chmod u+rw {names}) and run {again} again"
        if hasattr(os, "geteuid") and os.geteuid() == st.st_uid
        else f"run it as their owner (sudo -u {owner} {again}), or have {owner} or root make them yours "
        f"(sudo chown $USER {names}) and run {again} again"
    )
    return OSError(
        e.errno,
        f"cannot read {', '.join(p.name for p in shut)} ({stat.filemode(st.st_mode)}, owner {owner}): {e.strerror or e}"
        f"; nothing was written and the spill is kept; fix: {fix}",
    )


def _check_direct(path: Path, spill: Path) -> Path:
    """WAV, FLAC and CSV are written as they go: valid after every chunk, nothing to convert. Another
    target without a spill was finished by close() (also a worker's, when its parent was killed)."""
    name = path.name.lower()
    if path.is_dir() or (path.exists() and not name.endswith(ENDINGS)):
        what = "a folder" if path.is_dir() else f"not a file a recorder writes ({FORMATS})"
        raise ValueError(f"{path} is {what}: nothing to recover; give the path of a recording (or its .spill)")
    if path.exists() and name.endswith((".wav", ".flac")):
        import soundfile as sf

        if path.stat().st_size == 0:
            raise ValueError(f"{path} is empty (0 bytes): its recorder wrote nothing, so there is nothing to recover")
        try:
            info = sf.info(sf_name(path))
        except sf.LibsndfileError as e:
            raise ValueError(
                f"{path} is not a readable {path.suffix[1:].upper()} ({e.error_string}); a recorder writes these as it "
                "goes, with no spill: this file was not written by one, or was damaged after"
            ) from None
        log = path.with_name(path.name + ".chunks.csv")
        if log.exists() and info.samplerate > 0:
            from .chunk_log_end import complete_log

            complete_log(log, info.frames, float(info.samplerate))
            first_t0, gaps, _, _ = read_chunk_log(log, float(info.samplerate))
            if not gaps:  # (with a gap it is the gaps' record, said at close)
                logging.getLogger("wavegraph.recorder").warning(
                    "recover: %s stays beside %s (whether its recorder kept it, chunk_log: true, is not known after a "
                    "kill): file_source replays the chunk times it lists, from %.6g s, where the file alone (as a "
                    "recording closed cleanly, whose log is deleted) replays from 0 at the rate; delete it for that",
                    log.name,
                    path.name,
                    first_t0,
                )
        return path
    if path.exists() and name.endswith(".csv") and path.with_name(path.name + ".chunks.csv").exists():
        _cut_torn_row(path)  # (its chunk log is left: the recording was killed, not closed)
    if path.exists():
        return path
    raise FileNotFoundError(
        f"neither {path} nor its spill {spill.name} exists: nothing to recover; fix: give the path the recorder"
        " wrote (its path: parameter, or the .spill file it left)"
    )


def _cut_torn_row(path: Path) -> None:
    """A CSV whose recorder was killed mid-write ends in part of a row: cut back to its last whole line (a row cut
    short read as a wrong number, '1.25e-05' as '1.25', or as a row of too few fields that readers refuse)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        end = size
        while end > 0:  # the last line break, read from the end a block at a time (the file may be large)
            start = max(0, end - 65536)
            f.seek(start)
            block = f.read(end - start)
            if start + len(block) == size and block.endswith(b"\n"):
                return  # whole
            if (i := block.rfind(b"\n")) >= 0:
                end = start + i + 1
                break
            end = start
    os.truncate(path, end)
    logging.getLogger("wavegraph.recorder").warning(
        "recover: %s ended in a row cut off by the kill (%d bytes); cut back to its last whole row", path, size - end
    )


def _given(value: str) -> str:
    """A path typed as '' ("$OUT" unset): refused (exit 2); Path('') is the current folder."""
    if not value.strip():
        import argparse

        raise argparse.ArgumentTypeError("is empty (a shell variable that was unset or empty expands to nothing)")
    return value


def main(argv: list[str] | None = None, prog: str = "python -m wavegraph.nodes.io.recover") -> int:
    """`python -m wavegraph.nodes.io.recover recover PATH...`: finish recordings whose process died before close()."""
    import argparse

    ap = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    helptext = "build the FIF/NPZ/EDF/BDF/FLAC target from its .spill file (WAV/CSV: checked)"
    what = "a recording, its .spill, or a folder: every .spill under it (nothing there: said, exit 0)"
    # `recover ''`: was the current folder, every spill under it
    sub.add_parser("recover", help=helptext, description=helptext).add_argument(
        "paths", nargs="+", type=_given, help=what
    )
    args = ap.parse_args(argv)
    status, paths = 0, []
    for p in args.paths:  # a folder: every spill under it (a batch's output folder holds one folder per file)
        found, unread = _files_under(p) if Path(p).is_dir() else ([], [])
        spills = sorted(q for q in found if q.endswith(".spill")) if Path(p).is_dir() else [p]
        if Path(p).is_dir():  # (and the BIDS copies that failed: made from what they kept)
            spills += sorted(
                q[: -len(PENDING)] for q in found if q.endswith(PENDING) and q[: -len(PENDING)] + ".spill" not in spills
            )
        for folder, why in unread:  # (rglob skipped an unreadable one without a word, its spills left as they were)
            print(f"error: {folder}: cannot look in it ({why}): a recording in it is not recovered", file=sys.stderr)
            status = 1
        if not spills and Path(p).name.lower().endswith(ENDINGS):  # `recover d_raw.fif`, a folder: not a recording
            spills = [p]  # (recover says so, exit 1)
        elif not spills:  # as a recording without a spill is left as it is: a second `recover out/` is no error
            print(f"{p}: no .spill file under it: nothing to recover (its recordings were finished, or none was made)")
        paths += spills
    for p in paths:
        try:
            spilled, size, logged = _has_spill(Path(p)), _size(p), _size(f"{p}.chunks.csv")
            out = recover(p)  # a file with no spill beside it was printed as a recovered one: said as left alone
            # (a CSV killed mid-row, cut back to its last whole row; a WAV's log given its last line: said as recovered)
            cut = _size(out) != size or _size(f"{out}.chunks.csv") != logged
            print(out if spilled or cut else f"{out}: no spill beside it: complete as it is, nothing to recover")
        except Exception as e:  # noqa: BLE001 — one path's failure is reported, the others still run
            print(f"error: {p}: {type(e).__name__}: {e}", file=sys.stderr)
            status = 1
    return status


def _files_under(folder: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The files under a folder, and the folders under it that could not be listed (with why). A folder that went
    away while it was walked (a batch cleaning up) holds nothing to recover: it was rglob's FileNotFoundError traceback."""
    unread: list[tuple[str, str]] = []

    def said(e: OSError) -> None:
        if not isinstance(e, FileNotFoundError):
            unread.append((str(e.filename), e.strerror or type(e).__name__))

    return [os.path.join(d, f) for d, _, files in os.walk(folder, onerror=said) for f in files], unread


def _size(path: str | os.PathLike) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _has_spill(path: Path) -> bool:
    """Whether recover(path) has a spill to convert (path may name it, or the graph's x.fif recorded as x_raw.fif)."""
    named = _mne_name(path, say=False)
    spills = (path, path.with_name(path.name + ".spill"), named.with_name(named.name + ".spill"))
    return any(q.name.endswith((".spill", ".spill.json")) and q.exists() for q in spills) or pending_path(path).exists()


def recover_main(argv: list[str]) -> int:
    """`wavegraph recover PATH...` (the same as `python -m wavegraph.nodes.io.recover recover PATH...`)."""
    return main(["recover", *argv], prog="wavegraph")  # no PATH: argparse's usage error, exit 2


if __name__ == "__main__":
    sys.exit(main())
