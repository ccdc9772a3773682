"""recorder: write a stream to disk so that nothing received is lost, even on Ctrl-C or SIGTERM.

The target format follows the path suffix:

  *_raw.fif, *-raw.fif, *_eeg.fif, ... (MNE's raw naming) -> FIF (mne raw.save, streamed from the spill); signals.
      Channel names and types come from the spec ("audio", "meg", "fnirs" and missing types become
      "misc", as MNE needs the exact kind (mag/grad, fnirs_od, ...) for the others; unnamed
      channels are ch0, ch1, ...), sfreq from the rate, first_samp from the first chunk's t0 plus the spec's
      first_time, meas_date from the spec (a replayed FIF/EDF keeps its source's first_samp and meas_date;
      a stream without one, live or synthetic, is dated by the wall clock when its first chunk left the
      source: meas_date + first_samp / sfreq is that moment; record_formats.Origin).
      Precision follows the stream dtype: saved with fmt="single" where float32 holds every value (float32,
      float16, int16, ...), else fmt="double" (float64, int32, int64: lossless). Chunks flagged `gap` get MNE's zero-length "BAD boundary" and "EDGE boundary"
      annotations (as mne.concatenate_raws marks a join; not "gap", which a user's marker may be called).
      With `events: true` the recorder has a second input, `events` (markers: lsl_inlet of a marker
      stream, file_source events, a decoder's decisions), saved as FIF annotations: onset relative
      to the first sample, at the sample the chunk times received put it (not first t0 + index / rate:
      a live clock drifts, a gap jumps; nodes/io/chunk_times.py), markers before the first sample or
      after the last left out, as MNE does;
      the marker's duration, description = its label from the events spec (else the integer code).
      file_source reads them back as events with the same labels.
  *.fif or *.fif.gz not named as MNE wants: accepted with a warning, written as *_raw.fif (MNE's name).
  *.edf / *.bdf -> EDF+C (16-bit) / BDF+C (24-bit), signal streams; one-second records (a rate that
      is not whole, 512.5 Hz: records that hold it exactly, 1025 samples in 2 s; none of up to 60 s: refused), each channel's physical range taken from the data (so the file equals the stream within
      half a quantisation step); gaps and `events` markers become EDF+ annotations. The header holds the
      first sample's time (FIF's origin; the fraction of a second in EDF+'s time-keeping annotation).
  *.flac -> 24-bit FLAC via soundfile, converted from the spill at close (values clipped to [-1, 1]); dated: its first
      sample's time in a Vorbis DATE comment, which file_source reads back (flac_file.py).
  EDF/BDF/FLAC hold no NaN or inf: NaN is written as 0, inf as the range's end (counted `nonfinite`).
  FLAC (24-bit) holds [-1, 1]: samples beyond are clipped, counted `clipped` and said at close.
  *.wav -> WAV via soundfile; signal streams (required for channel type "audio"). Subtype FLOAT for
      data float32 holds (float32, float16, int16, bool, ...), DOUBLE for float64, int32 and int64 (lossless; values
      are not clipped). WAV holds 4 GiB (9 h of 16 kHz stereo float32): the chunk past it fails, with the fix (.flac, .npz).
      WAV/FLAC of a stream not audio (EEG): its names, types and unit are not kept (said at configure). A dated
      stream's WAV holds its first sample's time in a Broadcast WAV bext chunk (UTC date, time, TimeReference; its
      date kept on replay, to the sample; wav_bext.py); one from an undated file gets none.
      No PEAK chunk (libsndfile's wall-clock stamp): a replay recorded again is the same file, byte for byte.
  *.npz -> NumPy archive; any kind. Keys: "data" (the concatenated stream, time on the spec's time axis), "spec" (the
      StreamSpec as JSON text; a live stream's dated as its FIF) and, but for events, "t0" (the first sample's time).
      file_source replays a signal's .npz and .csv (nodes/io/table_reader.py).
  *.csv -> text; any kind but multi-axis. Header row, then one row per sample/frame/event: signals and
      features "t,<name or f0>,<...>", tokens "t,token[,token1...]", events "onset,duration,code,label"
      (a name or label with a comma or quote is quoted, RFC 4180; a line break becomes a space); no date, type or unit.

Memory stays flat however long the session: WAV/CSV are written as the chunks come, and the
formats that cannot be appended to (FIF, NPZ, EDF/BDF, FLAC) are streamed from the spill file at
close, a block at a time (nodes/io/record_formats.py). FIF splits past `split_size` (2 GB) as MNE does:
<name>_raw.fif, <name>_raw-1.fif, ... (read the first; MNE follows the parts).

Overwriting is refused unless `overwrite: true`; the error names the next free run name
(out/default_raw.fif exists -> out/default_run-02_raw.fif).

Crash safety. Every chunk is on disk before process() returns:
  - WAV and CSV are written straight to the target; libsndfile rewrites the WAV header after each write
    (record_formats.header_after_each_write), so the file is valid after every chunk. Written, not synced: a
    killed process loses nothing, as with every format here (soundfile's flush, an fsync, cost 3-7 ms a chunk).
  - FIF, NPZ, EDF, BDF and FLAC cannot be appended to, so chunks go to a spill file `<path>.spill` (raw rows, time
    first, flushed per chunk; `<path>.spill.json` describes it). close() converts the spill into the
    target (written to a temporary name, then renamed) and deletes it. If the process died without
    close() (SIGKILL), `recover(path)` or `wavegraph recover PATH` finishes the job from the spill (not
    while a recorder still writes it: it holds a lock). recover() takes any format: a WAV/CSV target
    needs no conversion (it is checked to be readable and returned).
  - Every chunk's seq, t0, length and gap flag go to `<path>.chunks.csv` (flushed per chunk), which
    recover() reads (a line at a time), so its markers land where close() would have put them. A clean close deletes it unless `chunk_log: true` (opt-in: keep it), and so does
    recover() once it has rebuilt the file (record_failures.py: a start that failed on a full disk leaves no file).

close() is idempotent and is what a runner calls on shutdown. Signals are the runner's alone
(pipeline.executor.StopFlag: SIGINT, SIGTERM and SIGHUP stop the sources, the graph drains, then every
node is closed); the recorder installs no handler of its own.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Sink
from wavegraph.pipeline.spec import SpecError, StreamSpec

from . import record_notes
from .chunk_times import ChunkTimes
from .edf_writer import notes_named
from .finalise import finalise
from .marker_log import log_failed, marker_lines, write_markers
from .record_failures import start_failed, write_failed
from .record_formats import (
    FIF_ENDINGS,
    NO_NAN,
    SPILLED,
    check_name_length,
    csv_header,
    csv_rows,
    float32_holds,
    header_after_each_write,
    lock,
    no_peak_chunk,
    sf_name,
    stored_names,
    target_format,
    truncate_wav,
)
from .record_notes import (
    EVENTS_NOT_IN,
    can_write_in,
    check_overwrite,
    gaps_unmarked,
    say_audio_losses,
    say_edf_losses,
    wav_full,
)
from .run_names import next_run_name
from .wav_bext import first_sample_time, write_bext
from .whole_writes import cut_back, open_whole, write_whole


def _mne_name(path: Path, say: bool = True) -> Path:
    """x.fif -> x_raw.fif (MNE warns on, and some MNE readers refuse, other FIF names); X_RAW.FIF ->
    X_RAW.fif (MNE writes only a lower-case .fif). `say`: log the change (recover() looks for it quietly)."""
    log = logging.getLogger("wavegraph.recorder").warning if say else lambda *a: None
    name = path.name
    lower = name.lower()
    for ext in (".fif.gz", ".fif"):
        if lower.endswith(ext) and not name.endswith(ext):
            path = path.with_name(name[: -len(ext)] + ext)
            log("recorder: MNE writes %s as %s", name, path.name)
            name = path.name
        if lower.endswith(ext) and not lower.endswith(FIF_ENDINGS):
            new = path.with_name(name[: -len(ext)] + "_raw" + ext)
            log("recorder: %s does not follow MNE's FIF naming (*_raw.fif); writing %s", name, new.name)
            return new
    return path


class RecorderParams(NodeParams):
    path: str = Field(
        description="file to write; its suffix picks the format: _raw.fif, .edf, .bdf, .wav, .flac, .npz, .csv"
    )
    overwrite: bool = Field(default=False, description="replace an existing file instead of refusing")
    events: bool = Field(default=False, description="FIF/EDF/BDF: add an `events` input saved as annotations")
    chunk_log: bool = Field(
        default=False,
        description="keep <path>.chunks.csv (seq, t0, n, gap of every chunk) "
        "after a clean close; it is always written while recording, for recover()",
    )
    bids_root: str | None = Field(
        default=None,
        description="also write a BIDS-EEG layout here at close (mne-bids); "
        "needs subject and task, and an .edf/.bdf path; `wavegraph run --bids ROOT` sets it",
    )
    subject: str | None = Field(default=None, description="BIDS subject label (with bids_root: required)")
    session: str | None = Field(default=None, description="BIDS session label (with bids_root; optional)")
    task: str | None = Field(
        default=None, description="BIDS task label (with bids_root: required; --bids: the graph's name)"
    )
    run: int | None = Field(default=None, ge=0, description="BIDS run number (with bids_root; optional)")
    line_freq: float | None = Field(  # the mains frequency (MNE's info['line_freq']): line_freq 1e300 was taken
        default=None, gt=0, lt=1000, description="BIDS PowerLineFrequency (50 or 60 Hz; the mains', under 1000 Hz)"
    )
    split_size: str = Field(default="2GB", description="FIF: split into <name>_raw-1.fif, ... past this size")

    @field_validator("split_size")
    @classmethod
    def _size(cls, v: str) -> str:  # checked now: MNE checks it only when the recording is saved, at close
        try:
            size = split_bytes(v)
        except (KeyError, ValueError):
            raise ValueError(f"split_size {v!r} is no size in MB or GB; fix: write one, e.g. 500MB or 2GB") from None
        if not 0 < size <= 2**31:
            raise ValueError(
                f"split_size {v!r} is not above 0 and at most 2GB; fix: give a size up to 2GB (FIF's limit)"
            )
        return v


def split_bytes(size: str) -> float:
    return float(size[:-2]) * {"MB": 2**20, "GB": 2**30}[size[-2:]]


class Recorder(Sink[RecorderParams]):
    """Write the 'in' stream to `path`; see the module docstring for formats and crash safety."""

    inputs = ("in",)
    Params = RecorderParams

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.path = _mne_name(Path(os.path.expanduser(self.params.path)))  # ('~take.wav': pathlib's raised)
        if self.params.events:
            self.inputs = ("in", "events")
        self._events: list[tuple[float, float, str]] = []
        self._events_file = None
        self._log_failed = False  # a write of the marker log failed (a full disk)
        self._spill = None  # the spill, opened and locked before any of the session's files is touched
        self._made: list[Path] = []  # the files _start made (removed when it fails: record_failures.py)
        self._open = False
        self._closed = False
        self.closing = False  # True while close() finalises; signal handlers leave it alone then

    # --- graph-build time --------------------------------------------------------------------
    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        super().configure(in_specs)
        spec = self.spec = self.require_input(in_specs, "in")
        self.format = target_format(self.path, spec)
        buffer = spec.n_channels * spec.rate * (8 if spec.dtype == "float64" else 4)  # MNE writes 1 s buffers,
        need = buffer + 2**20 + 2**16 + 200 * spec.n_channels  # 1 MB for the end tags, the header (about)
        if self.format == "fif" and split_bytes(self.params.split_size) < need:
            raise SpecError(
                f"recorder: split_size {self.params.split_size} is too small for {spec.n_channels} channels at "
                f"{spec.rate:g} Hz (MNE needs a second of data and 1 MB more per part)",
                f"split_size: {math.ceil(need / 2**20)}MB or more",
            )
        check_name_length(self.path)
        record_notes.check_not_pipe(self.path)
        if self.path.is_dir():
            name = "recording_raw.fif" if self.format == "fif" else "recording" + self.path.suffix
            raise SpecError(
                f"recorder: {self.path} is a folder, not a file name",
                f"record to a file in it, e.g. path: {self.path / name}",
            )
        renamed = [f"{a!r} -> {b!r}" for a, b in zip(spec.channel_names, stored_names(self.format, spec)) if a != b]
        if renamed:  # FIF: ASCII; EDF/BDF: 16 ASCII characters, none named as the annotations channel (edf_names)
            why = notes_named(spec.channel_names) if self.format in ("edf", "bdf") else ""
            logging.getLogger("wavegraph.recorder").warning(
                "recorder: %s cannot hold every channel name as it is: %s%s", self.path.name, ", ".join(renamed), why
            )
        if self.format in ("edf", "bdf"):
            say_edf_losses(self.path, spec, self.params.bids_root is not None)
        say_audio_losses(self.path, self.format, spec)  # WAV/FLAC of EEG: no names, types, unit (FLAC: 24 bits)
        if self.params.events:
            ev = self.require_input(in_specs, "events", "events")
            self._labels = dict(ev.labels)
            from .record_notes import say_fif_labels  # 'Ωmega' as '&#937;mega' (MNE's Latin-1), said

            say_fif_labels(self.path, self.format, self._labels)
            if self.format not in ("fif", "edf", "bdf"):
                raise SpecError(*EVENTS_NOT_IN)
        self.bids = self._check_bids()
        self._check_target()
        return {}

    def check_params(self) -> list[tuple[str, str, str]]:
        return record_notes.offline_problems(self)  # configure()'s checks that no input stream changes

    def _check_target(self) -> None:
        self.events_path = self.path.with_name(self.path.name + ".events.csv")
        self.spill_path = self.path.with_name(self.path.name + ".spill")
        self.chunks_path = self.path.with_name(self.path.name + ".chunks.csv")
        existing = next(d for d in (self.path.parent, *self.path.parent.parents) if d.exists())
        if not existing.is_dir() or not can_write_in(existing):  # first: 'already exists' offered fixes that fail there
            raise SpecError(f"recorder: cannot create {self.path} ({existing} is not a writable folder)", "change path")
        if self.spill_path.exists() and not self.params.overwrite and not empty_marker_spill(self.spill_path):
            raise SpecError(
                f"recorder: {self.spill_path} holds an unfinished recording",
                f"run `wavegraph recover {self.path}`, "
                f"record to a new run (e.g. path: {next_run_name(self.path)}) or set overwrite: true",
            )
        if self.path.exists() and not self.params.overwrite:
            raise SpecError(
                f"recorder: {self.path} already exists (overwriting is refused by default)",
                f"record to a new run, e.g. path: {next_run_name(self.path)}, or set overwrite: true",
            )
        if self.events_path.exists() and not self.params.overwrite:  # an earlier run's markers (it got no sample):
            raise SpecError(  # overwritten by this run's, or read by recover as this run's
                f"recorder: {self.events_path} holds the markers of an earlier run to {self.path.name} (one that got no"
                " sample, or whose file was moved): this run would overwrite them or, killed, be recovered with them",
                f"move it away to keep them, record to a new run (e.g. path: {next_run_name(self.path)}), "
                "or set overwrite: true (it is deleted)",
            )
        check_overwrite(self.path, self.format)  # a read-only WAV/CSV, written in place (overwrite: true)

    def _bids_entities(self) -> dict:
        keys = ("subject", "session", "task", "run", "line_freq", "overwrite")
        labels = sorted(getattr(self, "_labels", {}).items(), reverse=True)  # a label's smallest code last: its value
        codes = {"codes": {text: code for code, text in labels}, "root": str(getattr(self.bids, "root", ""))}
        return {k: getattr(self.params, k) for k in keys} | codes

    def _check_bids(self):
        p = self.params
        if p.bids_root is None and all(v is None for v in (p.subject, p.session, p.task, p.run)):
            return None  # no BIDS: its module stays unimported
        from .bids_layout import check_recorder_bids

        return check_recorder_bids(self.params, self.format, self.path, self.node_id)

    def _start(self, origin_ns: int = 0, first_t0: float | None = None) -> None:
        """Open the files on the first chunk (a graph that fails to start leaves nothing behind);
        `origin_ns`: when it left its source (time.monotonic_ns(); 0: unknown, now); `first_t0`: its t0 (None: no
        sample, an empty file)."""
        spec = self.spec
        age = (time.monotonic_ns() - origin_ns) / 1e9 if origin_ns else 0.0
        self.wall_start = datetime.fromtimestamp(time.time() - max(age, 0.0), UTC).isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format in SPILLED:
            self._take_spill()  # first: a recorder refused here must not truncate the live session's chunk log
        self._made = []  # the files made here, removed if the start fails (record_failures.py): each once opened
        self._chunks = open_whole(self.chunks_path, "wb")  # (whole_writes.py: a failed write is cut back at once)
        self._made.append(self.chunks_path)  # (an open that failed left the file there, an earlier run's, as it was)
        write_whole(self._chunks, "seq,t0,n,gap\n")
        self._logged = self._chunks.tell()  # the end of its last whole line
        self._n_total = 0
        self._first_t0: float | None = None
        self._gaps: list[int] = []
        self._times = ChunkTimes(spec.rate) if spec.rate > 0 else None  # marker onset -> sample position
        self._nonfinite = 0
        self._clipped = 0
        self._failed_write = False  # a write failed (a full disk): close() keeps what is whole
        self._whole = 0  # the end of the last whole chunk in the CSV or spill
        self._file: Any  # a soundfile.SoundFile (wav), a text file (csv) or the binary spill, by format
        if self.format == "wav":
            import soundfile as sf

            subtype = "FLOAT" if float32_holds(spec.dtype) else "DOUBLE"  # (int32 samples past 2**24 stay exact)
            open(sf_name(self.path), "wb").close()  # an OSError with its errno (libsndfile says only 'System error')
            self._made.append(self.path)
            self._file = sf.SoundFile(
                sf_name(self.path), "w", int(round(spec.rate)), spec.n_channels, subtype, format="WAV"
            )
            no_peak_chunk(self._file)  # (its wall-clock stamp made each run's file differ)
            header_after_each_write(self._file)
            if first_t0 is not None:  # dated in a bext chunk before the data, which file_source reads (wav_bext.py)
                start = first_sample_time(spec.meas_date, spec.first_time + first_t0, self.wall_start)
                if start is not None:
                    write_bext(self._file, start, int(round(spec.rate)))
        elif self.format == "csv":
            self._file = open_whole(self.path, "wb")  # UTF-8 (not the locale's: cp1252 has no 中)
            self._made.append(self.path)
            write_whole(self._file, csv_header(spec) + "\n")
            self._whole = self._file.tell()
        else:
            if self.format == "fif":
                import mne  # noqa: F401 — now, not at close: the process's memory does not jump at the end
            header = {
                "format": self.format,
                "target": self.path.name,
                "spec": spec.to_dict(),
                "row_shape": list(spec.shape),
                "dtype": spec.dtype,
                "wall_start": self.wall_start,
                "split_size": self.params.split_size,  # (recover() splits as close() would have)
                "chunk_log": self.params.chunk_log,  # (recover() keeps the log as close() would have)
            }
            if self.bids is not None:  # recover() copies it into the layout as close() would have (it was left out)
                header["bids"] = self._bids_entities()
            self._file = self._take_spill()
            meta = self.spill_path.with_name(self.spill_path.name + ".json")
            self._made.append(meta.with_name(meta.name + ".tmp"))
            meta.with_name(meta.name + ".tmp").write_text(json.dumps(header))
            os.replace(meta.with_name(meta.name + ".tmp"), meta)  # whole or absent: recover() reads it
            self._made.append(meta)  # (now this run's: its spill is emptied, not left, when the start fails)
            self._file.truncate(0)  # locked while recording: recover() leaves a live spill alone
        self._open = True

    def _take_spill(self):
        """The spill, opened for appending and locked (once). Taken before the chunk or events log is opened
        for writing: another process's recorder still writing this path is refused before it truncates them."""
        if self._spill is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = open_whole(self.spill_path, "ab")
            if not lock(f):
                f.close()
                raise OSError(f"recorder: another running recorder writes {self.spill_path}; record to another path")
            self._spill = f
            if self.params.overwrite and self._events_file is None:  # a log an earlier run kept (a marker outside
                self.events_path.unlink(missing_ok=True)  # its file): stayed beside this one, recover took it as ours
        return self._spill

    # --- data time ---------------------------------------------------------------------------
    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        if "events" in inputs:
            self._add_events(inputs["events"])
        chunk = inputs.get("in")
        if chunk is None:
            return {}
        if self._closed:
            raise RuntimeError(f"recorder: {self.path} is closed; it cannot take more data")
        spec = self.spec
        data = np.asarray(chunk.data)
        if data.size == 0:
            return {}
        if not self._open:
            try:
                self._start(chunk.origin_ns, float(chunk.t0))
            except (OSError, RuntimeError) as e:  # a full disk before the first sample (a WAV: libsndfile's 'System
                raise start_failed(self, e) from None  # error.'): nothing recorded, said; the files made removed
        rows = _as_rows(data, spec)  # time first
        if self.format in NO_NAN and rows.dtype.kind == "f":
            bad = rows.size - int(np.count_nonzero(np.isfinite(rows)))
            if bad:  # written as 0 (NaN) or the range's ends (inf): counted, and said at close
                self.count("nonfinite", bad)
                self._nonfinite += bad
        if self.format == "flac" and rows.dtype.kind in "fiu":  # 24-bit PCM holds [-1, 1]: louder samples clip
            # (an integer stream's too: int16 PCM counts were clipped to +-1 without a word)
            over = int(np.count_nonzero((rows > 1) | (rows < -1)))  # (not abs: abs(int16 -32768) is -32768)
            if over:
                self.count("clipped", over)
                self._clipped += over
        n = rows.shape[0]
        if self.format == "wav" and (
            full := wav_full(self.path, spec, self._n_total, n, 4 if float32_holds(spec.dtype) else 8)
        ):
            raise full  # (libsndfile wrote on past 4 GiB, capped the header there: the rest was lost to every reader)
        try:  # a full disk, a quota, a drive pulled out: said with what is kept and how to finish it
            if self.format == "wav":  # as floats: soundfile takes no int64, float16, bool, uint8 ... (it raised)
                self._file.write(np.asarray(rows, dtype=np.float32 if float32_holds(spec.dtype) else np.float64))
            elif self.format == "csv":
                write_whole(self._file, csv_rows(rows, chunk.t0, spec))
            else:
                write_whole(self._file, np.ascontiguousarray(rows, dtype=spec.dtype).tobytes())
            write_whole(self._chunks, f"{int(chunk.seq)},{float(chunk.t0)!r},{n},{int(chunk.gap)}\n")
        except (OSError, RuntimeError) as e:  # (soundfile's LibsndfileError 'System error.' is a RuntimeError)
            if not self._n_total:  # the first chunk: nothing recorded (an empty spill, a header alone), as at the start
                raise start_failed(self, e) from None
            failed = write_failed(self, e)  # first: libsndfile's cause of a WAV's failure goes with its next seek
            cut_back(self._file, self._n_total if self.format == "wav" else self._whole)
            cut_back(self._chunks, self._logged)
            raise failed from None
        if self.format != "wav":
            self._whole = self._file.tell()
        self._logged = self._chunks.tell()
        if self._first_t0 is None and math.isfinite(chunk.t0):  # the first sample's time, from the first timed chunk
            self._first_t0 = float(chunk.t0) - (self._n_total / spec.rate if spec.rate else 0.0)
        if chunk.gap:
            self._gaps.append(self._n_total)
            self.count("gaps")
        if self._times is not None:
            self._times.add(float(chunk.t0), n)
        self._n_total += n
        self.count("chunks")
        self.count("rows" if spec.kind != "signal" else "samples", n)
        return {}

    def _add_events(self, chunk: Chunk) -> None:
        """Markers: kept for the annotations and appended to <path>.events.csv (written whole: crash-safe)."""
        rows = np.array(chunk.data, dtype=np.float64).reshape(-1, 3)  # a copy: received arrays are read-only
        good = np.isfinite(rows[:, 0]) & np.isfinite(rows[:, 2]) & (np.abs(rows[:, 2]) < 2**53)
        if not good.all():  # no time or no code: nothing an annotation can say (it failed the recorder before)
            self.count("bad_marker", int((~good).sum()))
            rows = rows[good]
        ok = np.isfinite(rows[:, 1]) & (rows[:, 1] > 0)  # a duration NaN, inf or negative (the marker vanished
        rows[:, 1] = np.where(ok, rows[:, 1], 0.0)  # from the FIF and EDF annotations): 0
        rows[:, 0] += self.spec.delay  # a delayed signal (resample, fir): at the stamp of the content a marker marks
        if not len(rows) or self._closed:
            return
        if self._events_file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.format in SPILLED:  # (see _take_spill; made empty if none: configure takes that as no recording)
                self._take_spill()
        events, lines = marker_lines(rows, self._labels)
        self._events += events  # (first: close() writes them into the file though the log failed)
        self.count("events", len(rows))
        try:  # whole lines, unbuffered (marker_log.py): a full disk is said, the log cut back to its last whole line
            self._events_file = write_markers(self._events_file, self.events_path, lines)
        except OSError as e:  # (close: the log lacks these, so no longer said to keep every marker)
            self._log_failed = True
            raise log_failed(e, self.events_path, self.path, len(self._events)) from None

    def finish(self) -> dict[str, Chunk]:
        """End of stream. A stream that ended without one sample still gets its (empty, valid) file,
        except FIF and FLAC (libsndfile neither writes nor reads an empty one): counted (`no_samples`), logged; one an
        earlier run left at the path is removed (overwrite: true), not left as this stream's output."""
        if not self._open and not self._closed:
            if self.format in ("fif", "flac"):
                self.count("no_samples")
                if self.params.overwrite and self._events_file is None:  # the removed file's kept marker log
                    self.events_path.unlink(missing_ok=True)
                record_notes.say_no_samples(
                    self.path, self.format, self.params.overwrite, len(self._events), self.events_path
                )
            else:
                try:
                    self._start()
                except (OSError, RuntimeError) as e:  # (a full disk: as at a first chunk)
                    raise start_failed(self, e) from None
        return {}

    def close(self) -> None:
        """Finalise the target file. Safe to call twice, and from a signal handler."""
        if self._closed or self.closing:
            return
        self.closing = True
        try:
            if self._events_file is not None:
                self._events_file.close()
            if self._open:
                try:
                    try:
                        self._file.close()
                    finally:  # the chunk log is closed even when the file's close fails
                        self._chunks.close()
                except OSError:  # (a full disk: the buffer's rest; the log says what is whole)
                    if not self._failed_write:
                        raise
                if self.format == "wav":  # frames of a chunk whose write or log line failed (a full
                    truncate_wav(self.path, self._n_total)  # disk) go: the file and its log agree
                if self.format == "csv" and self._failed_write:  # a row cut off mid-line would read as data
                    os.truncate(self.path, self._whole)
                self._open = False
                if self._nonfinite:
                    logging.getLogger("wavegraph.recorder").warning(
                        "recorder: %s holds no NaN or inf: %d such samples written as 0 (NaN) or the range's ends",
                        self.path,
                        self._nonfinite,
                    )
                if self._clipped:
                    logging.getLogger("wavegraph.recorder").warning(
                        "recorder: %s (FLAC, 24-bit) holds [-1, 1]: %d samples beyond it were clipped; record to "
                        ".wav (32-bit float) to keep them, or lower the level (gain node)",
                        self.path,
                        self._clipped,
                    )
                if self.format in SPILLED:
                    try:
                        finalise(
                            self.path,
                            first_t0=self._first_t0 or 0.0,
                            gaps=self._gaps,
                            times=self._times,
                            overwrite=True,
                            events=self._events,
                            n_rows=self._n_total,
                            split_size=self.params.split_size,
                            events_csv=self.events_path if self.params.events and not self._log_failed else None,
                        )
                    except OSError as e:  # said here too: a run that failed already reports its first error only
                        said = (
                            f"recorder: could not write {self.path} from its spill: {e.strerror or e}; the recording "
                            f"({self._n_total} samples) stays in {self.spill_path}; fix: free about "
                            f"{self.spill_path.stat().st_size / 1e6:.3g} MB on that disk and run `wavegraph recover "
                            f"{self.path}`"
                        )
                        logging.getLogger("wavegraph.recorder").error("%s", said)
                        raise OSError(e.errno, said) from e
                kept = self.params.chunk_log or gaps_unmarked(self.path, self.format, self._gaps, self.spec.rate)
                if not kept:  # the file is complete: the crash-recovery log has done its job (before the BIDS copy,
                    self.chunks_path.unlink(missing_ok=True)  # as recover: one that failed left it for good)
                if self.bids is not None:  # (failed: what the copy needs kept for `wavegraph recover`; bids_pending)
                    from .bids_pending import copy_into_bids

                    self.bids_file = copy_into_bids(self.path, self._bids_entities(), self.spec, say=False)
            elif self._spill is not None:  # a spill locked for the markers, and no sample came
                self._spill.close()
                if empty_marker_spill(self.spill_path):
                    self.spill_path.unlink(missing_ok=True)
        finally:
            self.closing = False
            self._closed = True


def empty_marker_spill(spill: Path) -> bool:
    """An empty spill without its header: made and locked for markers before a first sample (the lock keeps a
    second recorder off the session's logs), which holds no recording to recover."""
    try:
        return spill.stat().st_size == 0 and not spill.with_name(spill.name + ".json").exists()
    except FileNotFoundError:  # gone meanwhile (a recorder that closed)
        return True


# --- spill files ------------------------------------------------------------------------------
def _as_rows(data: np.ndarray, spec: StreamSpec) -> np.ndarray:
    """Chunk data -> (n, *row_shape) with time first; checks the shape against the spec."""
    if spec.kind == "signal":
        want = tuple(spec.shape)
        if data.ndim != len(want) + 1 or data.shape[:-1] != want:
            raise ValueError(f"recorder: chunk shape {data.shape} does not match the spec's {want} + (samples,)")
        return np.moveaxis(data, -1, 0)
    want = tuple(spec.shape)
    if data.ndim == 0 or data.shape[1:] != want:
        raise ValueError(f"recorder: chunk shape {data.shape} does not match the spec's (frames,) + {want}")
    return data
