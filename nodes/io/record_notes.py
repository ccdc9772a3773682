"""What the recorder says of what a format cannot hold or do (nodes/io/recorder.py, record_formats.py): the formats it
does not write, the fix for a failed write, gaps a format cannot mark, what EDF/BDF lose."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

from wavegraph.pipeline.spec import SpecError, StreamSpec

from .chunk_times import chunk_log_rows

NOT_WRITTEN = {  # formats users ask for that the recorder does not write: what to do instead
    (".parquet", ".pq", ".feather", ".arrow"): " (Parquet/Arrow is not written, docs/nodes.md: record to .csv or .npz, "
    "then pandas.read_csv(path).to_parquet(...))",
    (".vhdr", ".set", ".gdf", ".xdf", ".mff"): " (written only by other tools: record to .bdf or _raw.fif, then "
    "mne.export.export_raw for BrainVision or EEGLAB)",
    (".h5", ".hdf5", ".mat", ".tsv", ".txt", ".json"): " (not written: .npz for numpy and MATLAB's scipy.io, .csv "
    "for text)",
    (".mp3", ".ogg", ".m4a", ".aac", ".opus"): " (lossy audio is not written: .flac or .wav)",
}

WRITE_FIXES = {  # what to do when a recorder's write fails so
    errno.ENOSPC: "free space on that disk",
    errno.EDQUOT: "free space within your disk quota",
    errno.EFBIG: "lift the file-size limit (ulimit -f), or record to a file system without one (FAT32 stops at 4 GB)",
    errno.EACCES: "make the file (or its folder) writable for your user, or record to another path",
    errno.EPERM: "make the file (or its folder) writable for your user, or record to another path",
    errno.EROFS: "record to a disk mounted for writing (that one is read-only)",
}


def libsndfile_cause(sound_file) -> tuple[int | None, str] | None:
    """(errno, its text) of a write libsndfile failed: soundfile's LibsndfileError says only 'System error.' (a full
    disk, a file-size limit, a drive pulled out alike), libsndfile's own account of the file names the cause ('System
    error : File too large.'). None when it cannot be had."""
    import os

    try:
        from soundfile import _ffi, _snd  # pyright: ignore[reportPrivateUsage]

        text = _ffi.string(_snd.sf_strerror(sound_file._file)).decode(errors="replace")  # pyright: ignore
    except Exception:  # noqa: BLE001 — soundfile's internals moved, or the handle is gone: the plain error then
        return None
    cause = text.split(":", 1)[-1].strip().rstrip(".")
    if not cause or cause == text.strip().rstrip("."):
        return None
    return next((c for c in errno.errorcode if os.strerror(c) == cause), None), cause


def write_error(e: Exception, sound_file=None) -> tuple[int | None, str]:
    """(errno, what) of a recorder's failed write; a soundfile's write is asked libsndfile's cause (libsndfile_cause)."""
    if isinstance(e, OSError):
        return e.errno, e.strerror or str(e)
    text = f"{type(e).__name__}: {e}"
    cause = libsndfile_cause(sound_file) if sound_file is not None else None
    return (cause[0], f"{cause[1]} (libsndfile: {text})") if cause else (None, text)


def check_overwrite(path: Path, fmt: str) -> None:
    """A WAV or CSV the recorder writes in place (overwrite: true) that this user may not write: refused at configure.
    It failed at the first chunk with a traceback (WAV: libsndfile's 'System error'; CSV: 'fix: free space on that
    disk'); the spilled formats replace the target by a rename, which a read-only file does not stop."""
    import stat

    from wavegraph.pipeline.spec import SpecError

    if fmt not in ("wav", "csv") or not path.is_file():
        return
    try:
        with open(path, "r+b"):  # (os.access says yes to root, also where root may not write)
            return
    except PermissionError:
        mode = stat.filemode(path.stat().st_mode)
    raise SpecError(
        f"recorder: cannot overwrite {path}: this user may not write it (mode {mode})",
        f"make it writable (chmod u+w {path}), delete it, or record to a new path",
    )


def gaps_unmarked(path: Path, fmt: str, gaps: list[int], rate: float) -> bool:
    """WAV, FLAC and NPZ hold samples back to back and no mark: a gap (samples missing, a dropout) left no trace, the
    time after it wrong by its length. Their chunk log, `<path>.chunks.csv` (each chunk's t0, length and gap flag), is
    then kept and said (True). A CSV's `t` column shows a gap whose time jumped (a dropout, a restart), not one that
    did not (the epochs of an epochs file replayed back to back, a concatenated recording's boundary): its log is kept
    then too (True, unsaid), and file_source flags those chunks `gap` from it (nodes/io/table_reader.py); they were lost.
    A FIF, EDF or BDF marks a gap (an annotation) but holds its samples back to back: a gap whose time jumped (a
    dropout of 3 s) was replayed with the times after it early by its length. Its log is kept then (True, said), and
    file_source replays the chunk times from it (nodes/io/readers_mne.py)."""
    if gaps and fmt == "csv":
        return any(abs(s) <= max(0.5 / rate, 0.05) for s in _gap_steps(path.with_name(path.name + ".chunks.csv"), rate))
    if gaps and fmt in ("fif", "edf", "bdf"):
        steps = [
            s for s in _gap_steps(path.with_name(path.name + ".chunks.csv"), rate) if abs(s) > max(0.5 / rate, 0.05)
        ]
        if steps:
            logging.getLogger("wavegraph.recorder").warning(
                "recorder: %s marks its %d gap(s) but holds the samples back to back: the time after %d of them "
                "jumped (by %s s), which the file does not hold (MNE reads it on without the jump); the chunk times "
                "are kept in %s.chunks.csv, which file_source replays them from",
                path.name,
                len(gaps),
                len(steps),
                ", ".join(f"{s:.6g}" for s in steps[:3]) + (" ..." if len(steps) > 3 else ""),
                path.name,
            )
        return bool(steps)
    if not gaps or fmt not in ("wav", "flac", "npz"):
        return False
    at = ", ".join(f"{g / rate:.6g} s" if rate else f"row {g}" for g in gaps[:3]) + (" ..." if len(gaps) > 3 else "")
    logging.getLogger("wavegraph.recorder").warning(
        "recorder: %s holds its samples back to back and cannot mark the %d gap(s) in the stream (samples missing, "
        "at %s of the file): their chunk times are kept in %s.chunks.csv (t0 of each chunk); record a signal to "
        "_raw.fif or .edf/.bdf to have them marked, or any stream (features too) to .csv for a time column",
        path.name,
        len(gaps),
        at,
        path.name,
    )
    return True


def _gap_steps(log: Path, rate: float) -> list[float]:
    """How far each chunk flagged gap in the chunk log starts from where the chunk before it ended (s): within half a
    sample and 50 ms (as file_source's CSV reader tells a gap from the `t` column) its time did not jump."""
    if not rate > 0 or not log.exists():
        return []
    end, steps = None, []
    for t0, n, gap in chunk_log_rows(log):
        if n <= 0:
            continue
        if gap and end is not None:
            steps.append(t0 - end)
        end = t0 + n / rate
    return steps


def say_edf_losses(path: Path, spec: StreamSpec, bids: bool) -> None:
    """EDF/BDF hold no channel type and no bad mark: read back (by MNE or file_source) an EOG, ECG or trigger channel is
    EEG (misc without a unit), a bad channel good, so a CAR or a decoder downstream takes them in. Said, not lost unsaid
    (a BIDS copy keeps both in its channels.tsv)."""
    from .triggers import _MNE_TRIGGERS  # (file_source and mne.find_events read these as triggers by their name)

    kept = {("misc", n) for n in spec.channel_names} | {("stim", n) for n in _MNE_TRIGGERS}
    kept |= {("stim", n) for n in spec.channel_names if n.lower() in ("status", "trigger")}  # MNE's EDF reader: stim
    types = [f"{n} ({t})" for n, t in zip(spec.channel_names, spec.channel_types) if t != "eeg" and (t, n) not in kept]
    lost = ([f"{', '.join(types)} read back as EEG"] if types else []) + (
        [f"{', '.join(spec.bads)} as good"] if spec.bads else []
    )
    if lost and not bids:
        logging.getLogger("wavegraph.recorder").warning(
            "recorder: %s holds no channel types or bad marks (%s): %s; record to _raw.fif to keep them, or add "
            "bids_root (its channels.tsv keeps them)",
            path.name,
            path.suffix.lstrip(".").upper(),
            ", and ".join(lost),
        )


def say_audio_losses(path: Path, fmt: str, spec: StreamSpec) -> None:
    """WAV and FLAC hold samples and a rate only: a stream that is not audio (EEG in V) reads back as channels ch0,
    ch1, ... of type audio in a.u., its names, types and unit gone; FLAC's 24 bits of [-1, 1] also keep it in steps of
    2**-23 (0.12 uV of an EEG in V: a 20 uV signal kept in a few hundred steps, 50 times coarser than a 16-bit EDF's).
    Said, not lost unsaid (docs: WAV is for audio; a .wav or .flac path of an EEG stream wrote it)."""
    names_all = list(spec.channel_names) or [f"ch{i}" for i in range(spec.n_channels)]
    names = [n for n, t in zip(names_all, spec.channel_types) if t != "audio"]
    types = [t for t in spec.channel_types if t != "audio"]
    if not types or fmt not in ("wav", "flac"):
        return
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    kinds = ", ".join(sorted(set(types)))
    unit = spec.units if spec.units not in ("", "a.u.") else ""
    steps = (
        f"; its 24-bit samples of [-1, 1] keep steps of {2.0**-23:.3g}{' ' + unit if unit else ''} (values beyond "
        "clipped)"
        if fmt == "flac"
        else ""
    )
    logging.getLogger("wavegraph.recorder").warning(
        "recorder: %s (%s) holds audio: the %d %s channel(s) %s%s read back as ch0, ch1, ... of type audio in a.u., "
        "their names, types and unit not kept%s; record to _raw.fif or .npz (or .bdf) to keep them",
        path.name,
        fmt.upper(),
        len(types),
        kinds,
        shown,
        f" (in {unit})" if unit else "",
        steps,
    )


def say_fif_labels(path: Path, fmt: str, labels: dict[int, str]) -> None:
    """FIF keeps annotation descriptions in Latin-1: MNE writes any other character as an XML character reference
    ('Ωmega' as '&#937;mega'), and reads it back so: a marker label changed unsaid, which epochs or a decoder
    downstream then no longer match (the channel names FIF cannot hold were said). Said at configure."""
    if fmt != "fif":
        return
    changed = {t: t.encode("latin-1", "xmlcharrefreplace").decode("latin-1") for t in labels.values()}
    changed = {a: b for a, b in changed.items() if a != b}
    if changed:
        logging.getLogger("wavegraph.recorder").warning(
            "recorder: %s cannot hold every marker label as it is (FIF annotations are Latin-1; MNE writes other "
            "characters as XML references, and reads them back so): %s; record to .edf or .bdf (UTF-8 annotations) "
            "to keep them",
            path.name,
            ", ".join(f"{a!r} -> {b!r}" for a, b in list(changed.items())[:5]) + (" ..." if len(changed) > 5 else ""),
        )


WAV_MAX_BYTES = 2**32 - 1 - 4096  # a WAV's RIFF and data sizes are 32-bit; less its header's room (fmt, fact; and a
# PEAK chunk of 8 bytes a channel: 8264 bytes of header for 1024 channels)


def wav_full(path: Path, spec: StreamSpec, frames: int, n: int, sample_bytes: int) -> OSError | None:
    """The error for a chunk of `n` frames that would take a WAV of `frames` frames past its 4 GiB (None while it fits).
    libsndfile wrote on past it and capped the header's sizes, so every reader stopped at 4 GiB: the rest of a long
    session was lost unsaid (8 channels of 48 kHz float32 reach it in 46 min)."""
    per_s, most = spec.rate * spec.n_channels * sample_bytes, WAV_MAX_BYTES - 8 * spec.n_channels
    if (frames + n) * spec.n_channels * sample_bytes <= most:
        return None
    return OSError(
        errno.EFBIG,
        f"recorder: {path} is full: a WAV file holds at most 4 GiB of samples ({most / per_s / 3600:.3g} h of "
        f"{spec.n_channels} channels at {spec.rate:g} Hz, {sample_bytes * 8}-bit), and its readers stop there; its "
        f"{frames} frames ({frames / spec.rate:.6g} s) before this chunk are kept; fix: record sessions this long to "
        ".flac (24-bit audio, up to 8 channels), .npz (any stream) or, for a stream not audio, _raw.fif",
    )


def say_no_samples(path: Path, fmt: str, overwrite: bool, n_events: int, events_path: Path) -> None:
    """A stream that ended without a sample to FIF or FLAC (neither can be empty): no file. One there from an earlier
    run (overwrite: true) is removed: it stayed, another recording's output under this one's name (a folder loop's
    empty take), beside this run's other outputs."""
    removed = ""
    if overwrite and (path.is_file() or path.is_symlink()):
        path.unlink()
        removed = (
            f"; the {fmt.upper()} an earlier run wrote there was removed (overwrite: true): it held another stream"
        )
    logging.getLogger("wavegraph.recorder").warning(
        "recorder: the stream ended without a sample; a %s file cannot be empty, so %s was not written%s%s",
        fmt.upper(),
        path,
        removed,
        f"; its {n_events} markers are kept in {events_path}" if n_events else "",
    )


def check_not_pipe(path: Path) -> None:
    """A path that is a named pipe (or a device): the run hung writing it with no reader, and ignored SIGTERM; or a
    link that cannot be written through (a loop, a folder that does not exist: links.unwritable_link)."""
    from .links import unwritable_link

    if (bad := unwritable_link(path)) is not None:
        raise bad
    if path.exists() and not path.is_file() and not path.is_dir():
        raise SpecError(
            f"recorder: {path} is a pipe or a device, not a file (writing it waits for a reader: the run hangs)",
            "record to a file (e.g. path: out/recording.wav) and give that file to what reads the pipe after the run",
        )


def can_write_in(folder: Path) -> bool:
    """Try it (os.access says yes to root on a read-only mount or in /proc); leaves nothing behind."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


EVENTS_NOT_IN = (
    "recorder: `events: true` writes FIF annotations (or EDF+ ones); the target is neither",
    "record to a _raw.fif/.edf/.bdf path, or the markers with a second recorder to .csv",
)


def offline_problems(rec) -> list[tuple[str, str, str]]:
    """Recorder.check_params: offline, its input from a device (validate, describe), what configure() would refuse
    whatever the stream: the path's format, name and folder, BIDS entities, an earlier run's files. Was 'OK', and
    `run` refused it only once the inlet had found the amplifier's stream."""
    from wavegraph.pipeline.spec import signal_spec

    from .record_formats import check_name_length, target_format

    stage = "path"
    try:
        rec.format = target_format(rec.path, signal_spec(250.0, ["Cz"]))  # a stream every format holds
        check_name_length(rec.path)
        check_not_pipe(rec.path)
        if rec.params.events and rec.format not in ("fif", "edf", "bdf"):
            raise SpecError(*EVENTS_NOT_IN)
        stage = "bids"
        rec._check_bids()
        stage = "path"  # an earlier run's files: 'session01.edf already exists' was said at `session:`
        rec._check_target()
    except SpecError as e:
        given = rec.params.model_fields_set if stage == "bids" else set()
        names = [k for k in ("bids_root", "subject", "task", "session", "run") if k in e.message and k in given]
        return [(names[0] if names else "path", e.message, e.hint)]
    return []
