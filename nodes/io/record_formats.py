"""The recorder's file formats: FIF, NPZ, EDF/BDF, FLAC from the spill in blocks (memory stays flat); CSV rows.

A recorder that cannot append to its target writes the stream to `<path>.spill` (raw rows, time first,
the dtype of the stream) and describes it in `<path>.spill.json` (format, spec, row shape, first t0).
At close, or in recover() after a crash, the spill is read back a block at a time (plain reads, not a
memmap: mapped file pages would count in the process's RSS) and copied into the target; nothing holds
the whole recording in memory:

  FIF  - a lazy mne Raw whose reads come from the spill; mne's raw.save writes it buffer by buffer
         and splits past `split_size` (2 GB, MNE's limit) into <name>_raw-1.fif, ... as MNE does.
  NPZ  - the "data" member is written straight into the zip from the spill (a 1-axis signal as a
         Fortran-order (channels, samples) array, which is the spill's own byte order).
  EDF/BDF - (edf_writer) EDF+C / BDF+C, one-second records (or those that hold a rate exactly: record_layout), written record by record after a first pass for each
         channel's range; markers and gaps become EDF+ annotations. 16 (EDF) or 24 (BDF) bits: the
         file equals the input within half a quantisation step. The last record is padded with zeros
         and marked by a "padding" annotation. NaN is written as 0, inf as the range's end (the range is
         that of the finite samples).
  FLAC - (flac_file) 24-bit, from the spill at close (libFLAC holds back whole frames: written as it went, a killed
         recording could not be read); NaN as 0, values clipped to [-1, 1]; dated (a DATE comment).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import zipfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from wavegraph.pipeline.spec import StreamSpec

from .chunk_times import ChunkTimes
from .column_labels import column_labels
from .edf_writer import edf_names, spec_volt_factors
from .marker_codes import BOUNDARY
from .record_target import (  # noqa: F401 — which format, and whether its name fits: offered here as before
    FIF_ENDINGS,
    FORMATS,
    NO_NAN,
    SIGNAL_ONLY,
    SPILLED,
    check_name_length,
    target_format,
)

BLOCK_BYTES = 4 << 20  # rows per block: about this many bytes
FIF_SPLIT = "2GB"  # MNE's own default (a FIF file cannot pass 2 GiB)


def spill_paths(path: Path) -> tuple[Path, Path]:
    spill = path.with_name(path.name + ".spill")
    return spill, spill.with_name(spill.name + ".json")


def lock(f) -> bool:
    """Take the advisory lock of a spill opened for writing (a recorder holds it while recording; the system
    drops it when the process dies, even killed); False when another process holds it. A POSIX record lock:
    the process's own never conflict. True where there is none (Windows)."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:  # held elsewhere; any other error (a file system without locks, ENOLCK): no lock
        return e.errno not in (errno.EACCES, errno.EAGAIN)
    return True


class SpillRows:
    """The spill's rows, (n, *row_shape) with time first, read on demand: rows[i:j] is an ndarray."""

    def __init__(self, path: Path, dtype: np.dtype, row_shape: tuple[int, ...], n: int):
        self.path, self.dtype, self.row_shape, self.n = path, dtype, row_shape, n
        self.row_nbytes = (int(np.prod(row_shape)) if row_shape else 1) * dtype.itemsize
        self.shape = (n, *row_shape)

    def __len__(self) -> int:
        return self.n

    def head(self, n: int) -> SpillRows:
        return SpillRows(self.path, self.dtype, self.row_shape, max(0, min(n, self.n)))

    def __getitem__(self, sl: slice) -> np.ndarray:
        start, stop, step = sl.indices(self.n)
        assert step == 1, "contiguous reads only"
        count = max(0, stop - start)
        if count == 0:
            return np.zeros((0, *self.row_shape), self.dtype)
        flat = np.fromfile(
            self.path,
            dtype=self.dtype,
            count=count * (self.row_nbytes // self.dtype.itemsize),
            offset=start * self.row_nbytes,
        )
        return flat.reshape((count, *self.row_shape))

    def blocks(self):
        """(first row, rows) a block of about BLOCK_BYTES at a time."""
        step = max(1, BLOCK_BYTES // max(1, self.row_nbytes))
        for i in range(0, self.n, step):
            yield i, self[i : i + step]


def open_spill(path: Path) -> tuple[dict, StreamSpec, SpillRows]:
    """(meta, spec, rows); a torn last row (the process killed mid-write) is left out."""
    spill, meta_path = spill_paths(path)
    meta = json.loads(meta_path.read_text())
    spec = StreamSpec.from_dict(meta["spec"])
    dtype, row_shape = np.dtype(meta["dtype"]), tuple(meta["row_shape"])
    per_row = (int(np.prod(row_shape)) if row_shape else 1) * dtype.itemsize
    return meta, spec, SpillRows(spill, dtype, row_shape, spill.stat().st_size // per_row)


FIF_MAX_SAMPLE = 2**31 - 1  # FIF's first_samp and last sample are 32-bit ints


@dataclass(frozen=True)
class Origin:
    """Where a recording sits in time. `first_samp`: MNE's, (spec.first_time + first t0) * rate, so the
    recording lines up with its source. `meas_date`: MNE's (the time of sample 0): the spec's when the
    stream carries one (a replayed file's; None for a file that gives none, spec.meas_date ""); otherwise from the wall clock when the first chunk left its
    source (`wall_start`, in the spill's header), so that meas_date + first_samp / sfreq is that moment.
    `start`: the first sample's time (UTC), which EDF/BDF headers hold."""

    first_samp: int
    meas_date: datetime | None
    start: datetime | None

    @classmethod
    def of(cls, spec: StreamSpec, first_t0: float, wall_start: str | None = None, n: int = 0) -> Origin:
        """`n`: the recording's samples (first_samp + n must fit FIF's 32-bit sample numbers)."""
        rate = spec.rate if spec.rate > 0 else 0.0
        first_samp = max(0, int(round((spec.first_time + first_t0) * rate)))
        if first_samp and first_samp + n > FIF_MAX_SAMPLE:  # chunk times on another clock: Unix time, ms...
            logging.getLogger("wavegraph.recorder").warning(
                "recorder: the stream's first sample is at %.6g s: too far from 0 to keep as the recording's "
                "first sample number (FIF's are 32-bit); written as sample 0, dated when it was recorded",
                spec.first_time + first_t0,
            )
            first_samp = 0
        offset = timedelta(seconds=first_samp / rate) if rate else timedelta(0)
        text = spec.meas_date if spec.meas_date is not None else wall_start  # "": a file that gives no date
        if not text:  # (the replay's wall clock was its date: MNE keeps an undated file undated)
            return cls(first_samp, None, None)
        try:
            when = datetime.fromisoformat(text)
        except ValueError:  # a date no one can read: the recording is undated rather than lost
            logging.getLogger("wavegraph.recorder").warning("recorder: unreadable date %r left out", text)
            return cls(first_samp, None, None)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)  # naive text: UTC
        try:  # before 1970 too (a 1950 recording's): each format says the dates it cannot hold
            meas_date = when if spec.meas_date else when - offset
            return cls(first_samp, meas_date.astimezone(UTC), (meas_date + offset).astimezone(UTC))
        except OverflowError:  # past year 1 or 9999
            logging.getLogger("wavegraph.recorder").warning("recorder: date %r out of range: left out", text)
            return cls(first_samp, None, None)


def annotation_lists(spec: StreamSpec, n: int, times: ChunkTimes, gaps, events, kept_in="") -> tuple[list, list, list]:
    """Gap flags (MNE's zero-length "BAD boundary" and "EDGE boundary" at the sample: marker_codes.BOUNDARY, which
    a user's marker of any other name is not) and markers (onset: where the chunk times the recorder
    received put it, from the first sample (chunk_times.py); those before it or after the recording's end
    (n / rate: MNE keeps a marker there, such as an EDF's "Recording ends"), by more than half a sample, are
    left out, as MNE does, and said; `kept_in`: the file that keeps every marker then, said too)."""
    onsets = [g / spec.rate for g in gaps for _ in BOUNDARY]
    durations, labels = [0.0] * len(onsets), [mark for _ in gaps for mark in BOUNDARY]
    end = n / spec.rate
    at = times.seconds([e[0] for e in events]) if len(events) else []
    outside = []
    for pos, (_, dur, label) in zip(at, events, strict=True):
        if -0.5 / spec.rate <= pos <= end + 0.5 / spec.rate:
            onsets.append(min(max(float(pos), 0.0), end))
            # cut at the recording's end, as MNE trims a FIF's; a duration of 2e12 s (ns for s) was MNE's
            # OverflowError at close (the FIF not written, `recover` failing the same way), and an EDF MNE cannot read
            durations.append(min(float(dur), end - onsets[-1]))
            labels.append(label)
        else:
            outside.append(float(pos))
    if outside:  # said, not only left out: markers on another clock would otherwise vanish without a word
        logging.getLogger("wavegraph.recorder").warning(
            "recorder: %d of %d markers fall outside the recording (%.3f s long) and are left out of it, as MNE does%s; "
            "the first at %.3f s from its first sample. If none was expected there, the marker times are on "
            "another clock than the signal's (e.g. Unix time against LSL's local_clock)",
            len(outside),
            len(events),
            end,
            f" (every marker is kept in {kept_in}, at its stream time)" if kept_in else "",
            outside[0],
        )
    return onsets, durations, labels


# --- CSV ----------------------------------------------------------------------------------------
def csv_header(spec: StreamSpec) -> str:
    if spec.kind == "events":
        return "onset,duration,code,label"
    width = int(np.prod(spec.shape)) if spec.shape else 1
    if spec.kind == "tokens":
        return "t," + ",".join(["token"] + [f"token{i}" for i in range(1, width)])
    names = column_labels(spec, width, "f")[0]  # an stft's frames: "O1:12.5Hz", where they were f0, f1, ...
    return "t," + ",".join(map(csv_field, names))


def csv_field(text: str) -> str:
    """One CSV field on one line: quoted (RFC 4180) when it holds a comma or a quote; line breaks become spaces."""
    text = " ".join(str(text).splitlines())
    return '"' + text.replace('"', '""') + '"' if "," in text or '"' in text else text


def csv_rows(rows: np.ndarray, t0: float, spec: StreamSpec) -> str:
    lines = []
    if spec.kind == "events":
        labels = dict(spec.labels)
        for onset, dur, code in rows.reshape(-1, 3):
            known = bool(np.isfinite(code))  # a NaN code is written as it is (CSV keeps what came)
            label = csv_field(labels.get(int(code), "")) if known else ""
            lines.append(f"{float(onset)!r},{float(dur)!r},{int(code) if known else repr(float(code))},{label}")
    else:
        flat = rows.reshape(rows.shape[0], -1).astype(np.uint8 if rows.dtype == bool else rows.dtype, copy=False)
        for i, row in enumerate(flat.tolist()):  # Python numbers: repr round-trips, is fast (bool: 0/1, not True)
            t = float(t0) + i / spec.rate if spec.rate else float(t0)
            lines.append(f"{t!r}," + ",".join(map(repr, row)))
    return "".join(line + "\n" for line in lines)


# --- NPZ -------------------------------------------------------------------------------------------
def write_npz(target: Path, rows: SpillRows, spec: StreamSpec, t0: float | None = None) -> None:
    """Keys "data" (time on the spec's time axis), "spec" (JSON text) and, but for events, "t0" (the first sample's
    time, a float64 scalar: file_source's replay starts there), as np.savez would write them."""
    n, row_shape = len(rows), rows.shape[1:]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open("data.npy", "w", force_zip64=True) as f:
            if spec.kind != "signal" or len(row_shape) == 1:
                signal = spec.kind == "signal"
                shape = (*row_shape, n) if signal else rows.shape
                header = {"descr": np.lib.format.dtype_to_descr(rows.dtype), "fortran_order": signal, "shape": shape}
                np.lib.format.write_array_header_2_0(f, header)
                for _, block in rows.blocks():
                    f.write(np.ascontiguousarray(block).tobytes())
            else:  # a multi-axis signal: C order (*row_shape, n), one pass over the spill per row element
                header = {
                    "descr": np.lib.format.dtype_to_descr(rows.dtype),
                    "fortran_order": False,
                    "shape": (*row_shape, n),
                }
                np.lib.format.write_array_header_2_0(f, header)
                for j in range(int(np.prod(row_shape))):
                    for _, block in rows.blocks():
                        f.write(np.ascontiguousarray(block.reshape(len(block), -1)[:, j]).tobytes())
        with zf.open("spec.npy", "w") as f:
            np.lib.format.write_array(f, np.array(json.dumps(spec.to_dict())))
        if t0 is not None and spec.kind != "events":
            with zf.open("t0.npy", "w") as f:
                np.lib.format.write_array(f, np.array(float(t0)))


def dated_spec(spec: StreamSpec, first_t0: float, wall_start: str | None) -> StreamSpec:
    """The spec an NPZ of a signal or features stream stores: a live stream's (meas_date None) dated by the wall clock
    when its first chunk left its source, as its FIF is (Origin), so that meas_date + first_time + t0 is that moment.
    It was stored undated (meas_date null), and its replay, and a FIF recorded from that, were undated."""
    if spec.meas_date is not None or not wall_start or spec.kind == "events":
        return spec
    try:
        when = datetime.fromisoformat(wall_start) - timedelta(seconds=spec.first_time + first_t0)
        return replace(spec, meas_date=when.astimezone(UTC).isoformat())
    except (ValueError, OverflowError):  # (chunk times on no clock: 1e300 s)
        return spec


# --- FIF -------------------------------------------------------------------------------------------
_MNE_TYPES = {"audio": "misc", "meg": "misc", "fnirs": "misc"}  # no single MNE type: saved as misc


def fif_names(names) -> list[str]:
    """FIF stores channel names as ASCII: accents go (NFKD: 'Fp1 ü' -> 'Fp1 u'), other characters become '?'; names
    that are then the same (two 'Fz', 'Fp1 ü' beside 'Fp1 u', '中' and '文') are numbered as MNE numbers them,
    'Fz-0', 'Fz-1' (MNE renamed them unsaid, and a bad mark on one failed the close: 'bad channel(s) ... do not
    exist in info')."""
    import unicodedata

    from .edf_writer import ascii_dashes

    out = []
    for name in names:
        plain = unicodedata.normalize("NFKD", ascii_dashes(name)).encode("ascii", "ignore").decode()
        out.append(
            name if name.isascii() else plain if len(plain) == len(name) else name.encode("ascii", "replace").decode()
        )
    from collections import Counter

    taken, next_k = set(out), {}
    dup = {n for n, c in Counter(out).items() if c > 1}
    for i, name in enumerate(out):
        if name in dup:
            k = next_k.get(name, 0)
            while f"{name}-{k}" in taken:
                k += 1
            out[i], next_k[name] = f"{name}-{k}", k + 1
            taken.add(out[i])
    return out


def stored_names(fmt: str, spec: StreamSpec) -> list[str]:
    """The channel names as a format stores them (the recorder warns when one changes)."""
    names = list(spec.channel_names)
    if fmt == "fif":
        return fif_names(names)
    if fmt in ("edf", "bdf"):
        return edf_names(names)  # 16 ASCII characters; none named as the annotations channel
    if fmt == "csv":  # a line break becomes a space (csv_field): it was changed unsaid
        return [" ".join(name.splitlines()) for name in names]
    return names


def mne_info(spec: StreamSpec):
    import mne

    n_ch = spec.n_channels
    names = fif_names(spec.channel_names) or [f"ch{i}" for i in range(n_ch)]
    types = [_MNE_TYPES.get(t, t) for t in spec.channel_types] or ["misc"] * n_ch
    info = mne.create_info(names, spec.rate, types, verbose="error")  # pyright: ignore[reportArgumentType]  # mne stub: ch_types may be a list
    info["bads"] = [n for n, orig in zip(names, spec.channel_names) if orig in spec.bads]  # the source's bad marks
    highpass, lowpass = spec.passband()  # the graph's filters (0 and the Nyquist, MNE's defaults, were written)
    with info._unlock():
        info["highpass"], info["lowpass"] = highpass, lowpass
    return info


def lazy_raw(rows: SpillRows, spec: StreamSpec, origin: Origin, notes=None):
    """An mne Raw over the spill (preload=False): reads come from the spill a segment at a time."""
    import mne

    class SpillRaw(mne.io.BaseRaw):
        def __init__(self, info, first_samp):
            super().__init__(
                info,
                preload=False,
                first_samps=[first_samp],
                last_samps=[first_samp + len(rows) - 1],
                filenames=[None],
                raw_extras=[{}],
                orig_format="double",
                verbose="error",
            )

        def _read_segment_file(self, data, idx, fi, start, stop, cals, mult):
            first = first_samp  # mne passes start/stop counted from first_samp
            one = np.asarray(rows[start - first : stop - first], dtype=np.float64).T
            if volts is not None:  # a stream in uV, mV or nV: FIF holds volts
                one = one * volts[:, None]
            if mult is not None:
                data[:] = mult @ one[idx]
            else:
                data[:] = one[idx] * cals.reshape(-1, 1)

    first_samp = origin.first_samp  # the source's time base
    volts = spec_volt_factors(spec, len(spec.channel_names) or rows.shape[1])
    volts = None if (volts == 1.0).all() else volts
    info = mne_info(spec)
    if origin.meas_date is not None and -(2**31) <= origin.meas_date.timestamp() < 2**31:
        info.set_meas_date(origin.meas_date)
    elif origin.meas_date is not None:  # FIF holds seconds in 32 bits: an EDF dated 2084 (year '84'), say
        logging.getLogger("wavegraph.recorder").warning(
            "recorder: FIF cannot hold the date %s (only 1901-12-13 to 2038-01-19); the recording is undated",
            origin.meas_date,
        )
    raw = SpillRaw(info, first_samp)
    if notes and notes[0]:
        raw.set_annotations(mne.Annotations(*notes), emit_warning=False)  # MNE trims overruns
    return raw


def write_fif(
    target: Path, rows: SpillRows, spec: StreamSpec, origin: Origin, notes, split_size: str | int = FIF_SPLIT
) -> list[Path]:
    """Write into a temporary folder under the final name(s), then move the file(s) in: a split FIF
    names its next part, so parts must be written under the names they keep."""
    tmpdir = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmpdir, ignore_errors=True)
    tmpdir.mkdir()
    try:
        raw = lazy_raw(rows, spec, origin, notes)
        fmt = "single" if float32_holds(spec.dtype) else "double"
        raw.save(tmpdir / target.name, fmt=fmt, overwrite=True, split_size=split_size, verbose="error")
        parts = sorted(tmpdir.iterdir(), key=lambda p: (p.name != target.name, p.name))
        replaced = target.exists()  # (overwrite: a recording of this name, maybe split into more parts than this)
        out = []
        for p in parts:
            os.replace(p, target.with_name(p.name))
            out.append(target.with_name(p.name))
        k = len(out)  # the replaced recording's parts past ours read as this one's (its x_raw-1.fif beside the new
        while replaced and (stale := split_part(target, k)).exists():  # x_raw.fif): removed
            stale.unlink()
            k += 1
        return out
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def split_part(target: Path, k: int) -> Path:
    """MNE's name of part k (1, 2, ...) of a split FIF: x_raw.fif -> x_raw-1.fif, x_raw.fif.gz -> x_raw-1.fif.gz."""
    ext = ".fif.gz" if target.name.endswith(".fif.gz") else ".fif"
    return target.with_name(f"{target.name[: -len(ext)]}-{k}{ext}")


# --- WAV -------------------------------------------------------------------------------------------
def float32_holds(dtype: str) -> bool:
    """Whether float32 holds every value of `dtype` exactly (float16/32, int8/16, uint8/16, bool); FIF and WAV store
    other streams (float64, int32, int64: whole numbers past 2**24) as float64."""
    return np.can_cast(np.dtype(dtype), np.float32, "safe")


def sf_name(path: str | os.PathLike) -> Any:
    """A path as libsndfile must get it: bytes. soundfile encodes a str name to UTF-8, which a name that is
    not UTF-8 (a Latin-1 name, surrogate-escaped in Python) cannot be; bytes go through as they are (its
    type stub says str)."""
    return os.fsencode(path)


def truncate_wav(path: Path, frames: int) -> None:
    import soundfile as sf

    try:
        if sf.info(sf_name(path)).frames > frames:
            with sf.SoundFile(sf_name(path), "r+") as f:
                f.truncate(frames)
    except Exception as e:  # noqa: BLE001 — closing must go on; the log still says what is valid
        logging.getLogger("wavegraph.recorder").warning(
            "recorder: could not cut %s back to %d frames: %s", path, frames, e
        )


# --- WAV -------------------------------------------------------------------------------------------
SFC_SET_UPDATE_HEADER_AUTO = 0x1061  # libsndfile's sf_command: rewrite the header after every write
SFC_SET_ADD_PEAK_CHUNK = 0x1050  # libsndfile's sf_command: a PEAK chunk in a float WAV (on by default)


def no_peak_chunk(f) -> None:
    """Have libsndfile leave out the PEAK chunk it writes into a float WAV (call before the first sample): that chunk
    holds the wall-clock second of its last header write, so two recordings of the same replay differed in those 4
    bytes (every other format's are the same, byte for byte). Nothing reads it (file_source finds a file's peak)."""
    import soundfile as sf

    try:
        sf._snd.sf_command(f._file, SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
    except AttributeError:  # soundfile's internals moved: the chunk stays, as before
        pass


def header_after_each_write(f) -> None:
    """Have libsndfile rewrite an open WAV's header (its sizes) after every write, so that the file is whole after
    each chunk without soundfile's flush(), which is an fsync (3-7 ms a chunk here: most of a file-to-file
    enhancement's time). Where the soundfile in use has no handle to give (it is private), each write is flushed."""
    import soundfile as sf

    try:
        set_auto = sf._snd.sf_command(f._file, SFC_SET_UPDATE_HEADER_AUTO, sf._ffi.NULL, 1) == 1
    except AttributeError:  # soundfile's internals moved
        set_auto = False
    if not set_auto:
        write = f.write

        def write_and_flush(data):
            n = write(data)
            f.flush()
            return n

        f.write = write_and_flush


# --- BIDS (the layout's checks and the copy into it: bids_layout.py) ------------------------------
def bids_path(root: str | Path, subject: str, task: str, session: str | None = None, run: int | str | None = None):
    import mne_bids

    return mne_bids.BIDSPath(subject=subject, session=session, task=task, run=run, root=root, datatype="eeg")
