"""file_source: replay a recording from disk as a signal stream plus its annotations as events.

Reads anything `mne.io.read_raw` reads (FIF, EDF/BDF/GDF, BrainVision .vhdr, EEGLAB .set, CNT, ...),
MNE Epochs files (`*-epo.fif`), XDF files from LabRecorder (`.xdf`: one stream per file_source, chosen
by `stream`, with every marker stream as events and the clock offsets applied; see nodes/io/xdf.py),
the recorder's own .npz and .csv of a signal stream (the samples, names, rate and times it recorded:
nodes/io/table_reader.py) and audio files that soundfile reads (WAV, FLAC, OGG, AIFF, ...).

Outputs
  out:    signal (channels, samples), `chunk_size` samples per chunk (the last one may be shorter; at most what an
          edge between processes takes: 2**20 samples or 10 min, at most 256 MiB).
          MNE data is in SI units (V for EEG) as `mne` returns it; audio is "a.u." in [-1, 1] with
          channel type "audio" and names ch0, ch1, ..., float32 by default, float64 from a float64 WAV
          (subtype DOUBLE, as the recorder writes a float64 stream: read at float32 before, 1e-8 off) and from a
          32-bit integer one (PCM_32: 31 bits and a sign, of which float32 holds 24: read 7 bits short before)
          Both specs carry the file's `meas_date` and `first_time` (MNE's first_samp / sfreq), so a
          FIF recorder downstream writes the source's meas_date and first_samp.
  events: (n, 3) float64 rows (onset s, duration s, code) on the stream clock (seconds since the
          first sample of the file). A chunk is emitted only together with the signal chunk that
          contains the onset sample (onsets before the data go with the first chunk, onsets past it
          with the last, or alone after it where the data ended at a read block's end: markers are data, a file cut
          short loses none it holds, a FIF's MNE leaves out past its buffers included); nothing is emitted on this port for signal chunks without events. A stream whose
          stamps run off its nominal rate (an XDF's; a recorder's CSV of one, by its `t` column) has each
          marker at the time the chunk's t0 + samples / rate gives its sample (so epochs and recorders put it
          there whatever the chunking), its offset from it kept, and a fast clock's chunks at most the samples
          over which it drifts half a sample (nodes/io/stamp_drift.py).
          `spec.labels` maps codes to descriptions: an annotation description that is an integer
          (e.g. "101") has that integer as code (as lsl_inlet reads such a marker live), the others are
          numbered after the largest; BrainVision markers get MNE's codes ("Stimulus/S  8" -> 8,
          "Response/R  1" -> 1001, as mne.events_from_annotations); without integers, codes are 1..k over
          the sorted descriptions. Descriptions mne.events_from_annotations leaves out (BAD_..., EDGE...)
          are numbered after all the others, so the others keep MNE's codes (marker_codes.codes_for).
          A WAV's markers (its 'cue ' points, named in LIST/adtl: a DAW's or a field recorder's marks) and an
          AIFF's (its MARK chunk) are its events, coded so too (nodes/io/wav_cues.py).
          With `stim_channel`, the steps of that trigger channel are events too (mne.find_events:
          onset of each rise, the channel's value as the code, label its decimal text); annotation
          codes then start after the largest trigger code. Without `stim_channel`, a recording that has
          no annotations gives the events of the trigger channel mne.find_events(raw) would read
          (STI101 / STI 014 / STI014, else its one channel typed stim), so epochs get them as annotations;
          one with annotations gives those, and says the steps of that channel no annotation marks (the fix:
          stim_channel), which were dropped unsaid (in a long recording's start only: nodes/io/triggers.py).

Epochs files are replayed as one continuous stream: epoch k occupies samples
[k * n_times, (k + 1) * n_times). Chunks never straddle two epochs (the last chunk of an epoch may be
shorter), and the first chunk of every epoch after the first has `gap=True`, because the samples
between epochs are missing. Each epoch's event is emitted at its time-locked sample, with the code
and label from `epochs.event_id`; the annotations inside each epoch (mne.Epochs keep their Raw's: a response
after the stimulus) at their samples in it, a description of its own numbered after the epochs' codes.

EDF/BDF units: each channel is scaled by its own physical dimension (also where MNE leaves 'UV', 'nV', a UTF-8 micro
sign or a NUL-padded 'uV' unscaled: said); a channel in no voltage (degC, BPM, %, uS, none) is typed misc with the
file's values (stim when named as mne.find_events' trigger channels, 'STI 014'), logged at INFO (nodes/io/edf_header.py);
the stream's `units` are then "" (MNE's "V" for every channel was wrong for those), not one unit for all.
HDF5 is not read: the error says what the file holds and how to load or convert it (nodes/io/not_read.py).

SSP projectors of a FIF (`proj`): replayed as stored by default, with a warning naming them; `proj: true` applies
them as raw.apply_proj() does. Broken files (empty, cut short, misnamed, missing a part, of a kind not read) are
errors or warnings that name the file and the fix: nodes/io/file_checks.py.

A discontinuity an annotation marks (MNE's zero-length "BAD boundary" / "EDGE boundary" of concatenated recordings,
which the recorder writes at a gap; EEGLAB's "boundary") flags the chunk that starts there `gap`, as it was live, and is no event.
Chunk t0 is `start_sample / sfreq`, computed from the integer sample index each time (no float
accumulation; the recorder's .npz from its `t0` (and its `<path>.chunks.csv`, kept after a gap: each chunk's time and gap flag), its .csv the `t` column: the times it recorded); in an EDF+D/BDF+D file, the record's start from its time-keeping annotation plus the
samples into it, and a jump between records flags the next chunk `gap` (MNE reads such a file as
continuous and drops the annotations past its packed length, so they are read from the records here). Spans MNE
annotates BAD_ACQ_SKIP (acquisition skips: a FIF's skipped buffers, read by MNE as zeros) are not replayed: the
chunk after one is flagged `gap` at its own time in the file (nodes/io/skips.py). The source is not live: the runner paces it from t0 (or runs it flat out). Data is
read lazily in blocks of at most ~16 MB, so a long file is never loaded whole.
State: the read position (`state_dict()['position']`). `reset()` (what a runner calls after a failed
read) drops cached data but keeps the position, so the failed chunk is skipped rather than the file
replayed from the start; rewind with `load_state_dict({"position": 0})`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.datasets import DatasetError, resolve_path
from wavegraph.pipeline.endpoints import DEFAULT_MAX_BYTES, max_frame_bytes
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..channel_names import position, spelt
from .audio_reader import AudioReader
from .file_checks import no_channels
from .nonfinite import nonfinite_in
from .not_read import not_read_hint
from .readers import BLOCK_BYTES, _Reader, is_audio, open_reader
from .stamp_drift import drift_cap, off_count

DEFAULT_CHUNK = 32
_log = logging.getLogger("wavegraph.file_source")


class ReplayParams(NodeParams):
    """What every replay source takes: the chunking, the channels and the dtype (file_source, array_source)."""

    chunk_size: int | None = Field(default=None, gt=0, description=f"samples per chunk (default {DEFAULT_CHUNK})")
    chunk_duration: float | None = Field(default=None, gt=0, description="seconds per chunk (instead of chunk_size)")
    picks: list[str | int] | None = Field(
        default=None, description="channel names or channel types, or positions from 0 as MNE's picks, in output order"
    )
    dtype: Literal["float64", "float32"] | None = Field(
        default=None,
        description="output dtype; default float64 for MNE files, float32 for audio (float64 for a float64 or 32-bit integer WAV)",
    )
    stim_channel: str | None = Field(default=None, description="a trigger channel whose steps become events")

    @model_validator(mode="after")
    def _one_chunking(self):
        if self.chunk_size is not None and self.chunk_duration is not None:
            raise ValueError(  # (was "not both; fix: `wavegraph nodes` lists its parameters": none said how)
                f"give chunk_size or chunk_duration, not both (chunk_size {self.chunk_size}, chunk_duration "
                f"{self.chunk_duration}); remove one (on the command line, over a graph file's: --set NODE.chunk_size=null "
                "or --set NODE.chunk_duration=null)"
            )
        return self


class FileSourceParams(ReplayParams):
    path: str = Field(description="a recording file, or dataset:NAME for a packaged one (see pipeline.datasets)")
    stream: str | None = Field(
        default=None, description="XDF: the name, type, source_id or number ('#2') of the signal stream to replay"
    )
    proj: bool | None = Field(
        default=None,
        description="SSP projectors of a FIF: true applies them (raw.apply_proj()); default: raw data as stored "
        "(a warning names them), epochs as mne.read_epochs gives them (applied); false: as stored, unsaid",
    )
    infer_types: bool = Field(
        default=False,
        description="EDF/BDF: type each channel by its label's first word, as MNE's read_raw_edf(infer_types=True): "
        "'EOG horizontal' is eog named 'horizontal', 'EMG submental' emg (EEG, EOG, ECG, EMG, RESP, TEMP, ...); "
        "default false: every channel EEG, as MNE reads them",
    )


class FileSource(Source[FileSourceParams]):
    """Replay a recording file; see the module docstring."""

    outputs = ("out", "events")
    Params = FileSourceParams
    # what to do with a file of a kind it does not read (.h5, .npy, .txt): the runtime asks it through the registry
    not_read_hint = staticmethod(not_read_hint)
    live = False
    what = "file_source"  # the name errors give

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.reader: _Reader | None = None
        self._block: tuple[int, np.ndarray] | None = None
        self.position = 0

    # --- graph-build time --------------------------------------------------------------------
    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        p = self.params
        self.close()
        r = self.reader = self._open()
        if not r.ch_names:  # (an XDF stream of 0 channels; MNE's formats are refused by their reader)
            raise no_channels(self.path, len(r.events), self.what)
        if len(set(r.ch_names)) < len(r.ch_names):  # an XDF's or a CSV's repeated label: as lsl_inlet names it live
            from .lsl_info import unique_names

            named = unique_names(r.ch_names)
            _log.warning(
                "%s: %s names channels alike (%s): replayed as %s, as lsl_inlet names them live and MNE's readers do",
                self.what,
                self.path,
                ", ".join(sorted({n for n in r.ch_names if r.ch_names.count(n) > 1})),
                ", ".join(b for a, b in zip(r.ch_names, named) if a != b),
            )
            r.ch_names = list(named)
        if r.n_times == 0:  # (a recording stopped at once, a data file left empty): nothing goes out, said
            _log.warning("%s: %s holds no samples: the replay ends at once", self.what, self.path)
        self.picks = self._resolve_picks(r, p.picks)
        if p.chunk_duration is not None:
            self.chunk_size = max(1, int(round(p.chunk_duration * r.sfreq)))
        else:
            self.chunk_size = p.chunk_size or DEFAULT_CHUNK
        names = tuple(r.ch_names[i] for i in self.picks)
        types = tuple(r.ch_types[i] for i in self.picks)
        self.latency_samples = 0
        date = "" if r.meas_date is None else r.meas_date  # "": undated (a recorder wrote the replay's wall clock)
        origin = {"meas_date": date, "first_time": r.first_time}  # the recorder lines its file up with ours
        bads = tuple(b for b in r.bads if b in names)  # car leaves them out, a FIF recorder marks them
        self.out_specs = {
            "out": StreamSpec(
                "signal", r.sfreq, (len(names),), self.dtype, names, types, r.units, **origin, bads=bads, band=r.band
            ).filtered(*r.passband),  # the file's filters (MNE's info['highpass'] / ['lowpass']): recorders keep them
            "events": StreamSpec("events", 0.0, (3,), "float64", labels=r.labels, **origin),
        }
        # at most a chunk an edge between processes takes (worker: max_frame_bytes, 256 MiB): a larger chunk_size (past
        # the file's length, for a replay in one chunk) failed a multi-process run at its first chunk; any chunking
        # replays the same
        most = min(max_frame_bytes(self.out_specs["out"]), DEFAULT_MAX_BYTES) // (
            np.dtype(self.dtype).itemsize * len(names)
        )
        self.chunk_size = min(self.chunk_size, max(1, most))
        end = r.time_of(r.n_times - 1) + 1 / r.sfreq if r.n_times else 0.0  # (XDF: a marker stream outlived the EEG)
        late = int(np.count_nonzero(r.events[:, 1] >= end + 0.5 / r.sfreq))  # at the end itself: 'Recording ends'
        if late and r.n_times:  # a recording cut short keeps the markers of what it lost: said, not only counted
            _log.warning(
                "%s: %d of the %d markers of %s lie after its last sample (%.6g s); they go out with the last chunk "
                "(epochs downstream count them outside_data): was the recording, or its signal stream, cut short?",
                self.what,
                late,
                len(r.events),
                self.path,
                r.time_of(r.n_times - 1),
            )
        early = int(np.count_nonzero(r.events[:, 1] < r.time_of(0) - 0.5 / r.sfreq)) if r.n_times else 0
        if early:  # (a BrainVision marker at position 0 or before, an EDF+ onset before 0): said, as the late ones
            _log.warning(
                "%s: %d of the %d markers of %s lie before its first sample (the first at %.6g s); they go out with "
                "the first chunk, at their times (epochs downstream count them outside_data)",
                self.what,
                early,
                len(r.events),
                self.path,
                float(r.events[:, 1].min()),
            )
        order = np.argsort(r.events[:, 0], kind="stable")
        self._events = r.events[order]
        self._events[:, 0] = np.clip(self._events[:, 0], 0, max(r.n_times - 1, 0))
        # a fresh stream, as configure() starts one (a sine's does): configured again by hand (a notebook's cell run
        # twice), the replay began where the last one ended and gave nothing
        self._block, self._said_nonfinite, self.position = None, False, 0
        if (cap := max(drift_cap(r), DEFAULT_CHUNK)) < self.chunk_size:  # (a clock far off: chunks no smaller)
            # the user's chunk_size (or chunk_duration) changed: a warning (was INFO: chunks of 100, 500 asked, unsaid)
            asked = "chunk_duration" if p.chunk_duration is not None else "chunk_size"
            level = logging.WARNING if p.chunk_size is not None or p.chunk_duration is not None else logging.INFO
            _log.log(level, "%s: %s is stamped off its nominal rate (its clock runs fast): replayed in chunks of %d "
                     "samples, not the %d its %s asks, so that a chunk drifts under half a sample and each marker lands "
                     "on its sample; to have chunks as asked, give chunk_size: %d or less", self.what, self.path,
                     cap, self.chunk_size, asked, cap)  # fmt: skip
            self.chunk_size = cap
        rows = max(1, BLOCK_BYTES // (8 * max(1, len(names))))
        self._block_len = max(self.chunk_size, rows)
        return self.out_specs

    def _open(self) -> _Reader:
        """The reader of this source's data; sets self.dtype and self.path (the name errors give)."""
        p = self.params
        if not p.path.strip():  # Path("") is the current folder: the error was "file_source: . is a folder"
            raise SpecError("file_source: `path` is empty", "give the recording's file, e.g. path: rec.edf")
        try:
            path = resolve_path(p.path)
        except DatasetError as e:
            raise SpecError(
                f"file_source: {e}", "use dataset:NAME with a name from `python -m wavegraph.pipeline.datasets list`"
            ) from None
        self.dtype = p.dtype or ("float32" if is_audio(path) else "float64")
        self.path = path
        reader = open_reader(path, self.dtype, p.stream, p.stim_channel, p.proj, p.infer_types)
        if p.dtype is None and isinstance(reader, AudioReader):  # a float64 or PCM_32 WAV at its own precision
            self.dtype = reader.dtype = reader.own_dtype
        return reader

    def _resolve_picks(self, r: _Reader, picks: list[str | int] | None) -> list[int]:
        try:
            return self._pick_indices(r, picks)
        except SpecError as e:
            e.param = "picks"  # said at the line of picks
            raise

    def _pick_indices(self, r: _Reader, picks: list[str | int] | None) -> list[int]:
        if picks is None:
            return list(range(len(r.ch_names)))
        if not picks:
            raise SpecError(f"{self.what}: picks is empty", "leave picks out to replay every channel")
        out: list[int] = []
        for p in picks:
            if isinstance(p, int) and not isinstance(p, bool):  # a position, as MNE's picks take
                out.append(position(p, r.ch_names, f"{self.what}: picks"))
            elif p in r.ch_names:
                out.append(r.ch_names.index(p))
            elif p in r.ch_types:
                out.extend(i for i, t in enumerate(r.ch_types) if t == p)
            else:  # the file may spell them otherwise ('O1..', 'EEG O1-REF'): then the picks in its spelling
                found = spelt([str(q) for q in picks], r.ch_names)
                fixed = [found.get(str(q), str(q)) for q in picks]
                raise SpecError(
                    f"{self.what}: no channel or channel type {p!r} in {len(r.ch_names)} channels"
                    + (f"; the file spells it {found[p]!r}" if p in found else ""),
                    (
                        f"picks: [{', '.join(fixed)}] (--set 'NODE.picks=[{', '.join(fixed)}]'); or "
                        if p in found
                        else ""
                    )
                    + f"pick from: {', '.join(r.ch_names)} (types: {', '.join(sorted(set(r.ch_types)))})",
                )
        if len(set(out)) != len(out):
            raise SpecError(f"{self.what}: picks {picks} select a channel twice", "list each channel once")
        return out

    # --- data time ---------------------------------------------------------------------------
    @property
    def n_times(self) -> int:
        return 0 if self.reader is None else self.reader.n_times

    @property
    def duration_seconds(self) -> float | None:
        """Length of the replay (the runner's progress bar reads it)."""
        return None if self.reader is None else self.reader.n_times / self.reader.sfreq

    def read(self) -> dict[str, Chunk] | None:
        r = self.reader
        if r is None:
            raise RuntimeError(f"{self.what}: call configure() before read()")
        start = self.position
        if start >= r.n_times:
            return None
        stop = min(start + self.chunk_size, r.n_times)
        gap = False
        if r.segment:
            seg_end = (start // r.segment + 1) * r.segment
            stop = min(stop, seg_end)
            gap = start > 0 and start % r.segment == 0
        if len(r.breaks):
            k = int(np.searchsorted(r.breaks, start, side="right"))
            if k < len(r.breaks):
                stop = min(stop, int(r.breaks[k]))
            gap = gap or (k > 0 and int(r.breaks[k - 1]) == start)
        self.position = stop  # advance first: a read that raises skips this chunk instead of looping on it
        data = self._get(start, stop)
        ev = self._events
        t0 = r.time_of(start)
        lo, hi = np.searchsorted(ev[:, 0], [start, stop], side="left")
        if self.position >= r.n_times:  # the last chunk (n_times may just have shrunk: the file ended early)
            hi = len(ev)  # carries every marker after it, as configure's clip to the last sample does
        out = {"out": Chunk(data, t0=t0, gap=gap)}
        if not data.shape[1]:  # nothing where the file said there was data (said by _get): the end, at a block's start
            if hi == lo:
                return None
            # the markers after it go out alone, at their times (they were dropped, said lost: markers are data)
            _log.warning(
                "%s: %s ends at sample %d, at a block's end: the %d markers after it go out alone, at their times, "
                "after the signal has ended (epochs downstream count them outside_data)",
                *(self.what, self.path, start, hi - lo),
            )
            out = {}
        if hi > lo:
            rows = np.array(ev[lo:hi, 1:4])
            rows[:, 0] -= off_count(r, ev[lo:hi, 0], start, t0)
            out["events"] = Chunk(rows, t0=t0)
            self.count("events", hi - lo)
        self.count("chunks")
        return out

    def _get(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) from the current block, reading the next block from disk if needed."""
        r = self.reader
        assert r is not None  # read() checked that configure() ran
        b = self._block
        if b is None or not (b[0] <= start and stop <= b[0] + b[1].shape[1]):
            block_stop = min(r.n_times, max(stop, start + self._block_len))
            if r.segment:
                block_stop = min(block_stop, (start // r.segment + 1) * r.segment)
            try:
                block = r.get(self.picks, start, block_stop)
            except Exception as e:
                raise OSError(
                    f"{self.what}: reading samples {start}..{block_stop} of {self.path} failed: {type(e).__name__}: {e}"
                ) from e
            b = self._block = (start, np.asarray(block, dtype=self.dtype))
            if not isinstance(r, AudioReader):  # (which says a float WAV's itself)
                names = self.out_specs["out"].channel_names
                n = nonfinite_in(b[1], start, names, self.path, r.sfreq, self.what, say=not self._said_nonfinite)
                self._said_nonfinite = self._said_nonfinite or n > 0
                if n:
                    self.count("nonfinite", n)
            if b[1].shape[1] < block_stop - start:  # the data ends before the file said (a file still being cut)
                _log.warning(
                    "%s: %s ends at sample %d, not %d as it said: the replay ends there",
                    self.what,
                    self.path,
                    start + b[1].shape[1],
                    r.n_times,
                )
                r.n_times = start + b[1].shape[1]
        return np.ascontiguousarray(b[1][:, start - b[0] : stop - b[0]])

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        self._block = None

    # --- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        self._block = None

    def state_dict(self) -> dict[str, Any]:
        return {"position": int(self.position)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        unknown = set(state) - {"position"}
        if unknown:
            raise KeyError(f"{self.what}: unknown state keys {sorted(unknown)}")
        self.position = int(state["position"])
