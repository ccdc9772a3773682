"""File readers behind `file_source` (and `wavegraph plot`): MNE raw and epochs files, XDF (nodes/io/xdf.py) and
audio, each read lazily in blocks; `open_reader` picks one from the file and says what is wrong with a file it
cannot read. The node itself, and what it replays, is described in nodes/io/file_source.py."""

from __future__ import annotations

import logging
import shlex
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Literal

import numpy as np
from wavegraph.pipeline.spec import CHANNEL_TYPES, SpecError, float32_rate

from .case_names import CaseView, needs_view
from .edf_header import edf_records, edf_start_offset, low_rate_channels
from .file_checks import (
    brainvision_voltages,
    check_brainvision,
    check_edf,
    check_not_empty,
    check_split_part,
    misnamed,
    no_channels,
    projectors,
    renamed_parts,
    said_by_mne,
)
from .gdf_header import by_unit, check_gdf
from .marker_codes import BOUNDARY, codes_for
from .marker_view import MarkerView, marker_view
from .not_read import not_read_hint
from .skips import Skips, find_skips, without_padding
from .triggers import default_trigger, status_channel, status_codes, trigger_events

Dtype = Literal["float64", "float32"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64", ".rf64")
OTHER_AUDIO = (".m4a", ".aac", ".mp4", ".wma", ".ape", ".wv", ".ac3")  # libsndfile reads none of these
SUPPORTED = (
    "MNE raw formats via mne.io.read_raw (FIF, EDF/BDF/GDF, BrainVision .vhdr, EEGLAB .set, "
    "CNT, EGI, Nihon Kohden, ...), MNE epochs (*-epo.fif), XDF (.xdf), audio via soundfile "
    f"({', '.join(AUDIO_SUFFIXES)}), the recorder's signals in .csv and .npz"
)
BLOCK_BYTES = 16 << 20  # read this much at a time from disk

_FIFF_UNITS = {107: "V", 112: "T", 201: "T/m", 202: "Am", 0: "a.u.", -1: "a.u."}


_AUDIO_MAGIC = {
    b"RIFF": b"WAVE",
    b"RIFX": b"WAVE",
    b"RF64": b"WAVE",
    b"FORM": b"AIF",
    b"fLaC": b"",
    b"OggS": b"",
    b"caff": b"",
}
_log = logging.getLogger("wavegraph.file_source")


def is_audio(path: Path) -> bool:
    """An audio suffix, or audio content under another name (a WAV saved as .edf, a file without a
    suffix): the first bytes of WAV/RF64, AIFF, FLAC and Ogg files say so (RIFF alone does not: CNT is RIFF)."""
    if path.name.lower().endswith(AUDIO_SUFFIXES):
        return True
    if not path.is_file():  # a named pipe: opening it waits for a writer (and reading would eat its start)
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    form = _AUDIO_MAGIC.get(head[:4])
    return form is not None and head[8 : 8 + len(form)] == form


def spec_channel_type(mne_type: str) -> str:
    """MNE channel type -> a StreamSpec channel type (fNIRS variants -> 'fnirs', unknown -> 'misc')."""
    if mne_type in CHANNEL_TYPES:
        return mne_type
    if mne_type.startswith("fnirs") or mne_type in ("hbo", "hbr"):
        return "fnirs"
    return "misc"


class _Reader:
    """Common interface of the three back ends. All indices are stream samples."""

    sfreq: float
    n_times: int
    ch_names: list[str]
    ch_types: list[str]
    units: str
    events: np.ndarray  # (n, 4): sample index, onset s, duration s, code
    labels: tuple[tuple[int, str], ...] = ()
    segment: int = 0  # > 0: samples per epoch; chunks do not straddle segments, segments start with a gap
    breaks: np.ndarray = np.zeros(0, dtype=np.int64)  # sorted first samples of later segments (same rules)
    meas_date: str | None = None  # the recording's start (ISO 8601, UTC), when the file says
    first_time: float = 0.0  # seconds from meas_date to the first sample (MNE's first_samp / sfreq)
    bads: tuple[str, ...] = ()  # channels the file marks bad (MNE's info['bads'])

    def time_of(self, index: int) -> float:
        """Stream time of sample `index` (t0 of a chunk that starts there)."""
        return index / self.sfreq

    def get(self, picks: list[int], start: int, stop: int) -> np.ndarray:  # (len(picks), stop - start)
        raise NotImplementedError

    def close(self) -> None:
        pass


def _no_events() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.float64)


def _file_rate(info, path: Path | None) -> float:  # a FIF's float32 sfreq: back to its simple ratio (float32_rate)
    fif = path is not None and path.name.lower().endswith((".fif", ".fif.gz"))
    return float32_rate(float(info["sfreq"])) if fif else float(info["sfreq"])


def _kept(notes: tuple, keep: np.ndarray) -> tuple:
    """The (onsets, durations, texts) annotations where `keep` is True."""
    onset, duration, text = notes
    return np.asarray(onset)[keep], np.asarray(duration)[keep], [t for t, k in zip(text, keep) if k]


def _meas_date_of(info) -> str | None:
    d = info["meas_date"]
    return None if d is None else d.isoformat()


def _units_of(info) -> str:
    units = {_FIFF_UNITS.get(int(ch["unit"]), "SI") for ch in info["chs"]}
    return units.pop() if len(units) == 1 else "SI"


_EDF_RAWS = ("RawEDF", "RawBDF", "RawGDF")  # MNE's readers of EDF/BDF/GDF files (a Raw in memory: array_source)


class _RawReader(_Reader):
    """An MNE Raw read from `path`, or one already in memory (`raw`, array_source: `path` is then None)."""

    def __init__(
        self,
        path: Path | None,
        stim_channel: str | None = None,
        raw=None,
        view: CaseView | MarkerView | None = None,
        proj: bool | None = None,
    ):
        import mne

        self.view = view  # the names MNE reads `path` by, when its case is not what MNE wants (case_names.py)
        if raw is None:
            assert path is not None, "a path or a Raw"
            with warnings.catch_warnings(record=True) as said:  # MNE's warnings, to pass on the one that loses data
                warnings.simplefilter("always")
                raw = mne.io.read_raw(path if view is None else view.path, preload=False, verbose="warning")
            said_by_mne(said, path)
        self.raw = raw
        self.sfreq = _file_rate(self.raw.info, path)
        self.ch_names = list(self.raw.ch_names)
        if not self.ch_names:
            raise no_channels(path, len(raw.annotations))
        projectors(raw, proj, path)  # SSP projectors not yet applied: applied (proj: true) or said
        self.ch_types = [spec_channel_type(t) for t in self.raw.get_channel_types()]
        self.units = _units_of(self.raw.info)
        self.meas_date = _meas_date_of(self.raw.info)
        self.bads = tuple(self.raw.info["bads"])
        self.first_time = self.raw.first_samp / self.sfreq
        self.n_times = int(self.raw.n_times) if path is None else readable_length(self.raw, path)
        self.starts: np.ndarray | None = None  # EDF+D/BDF+D: each data record's start (s), for time_of
        self.skips: Skips | None = None  # the runs of samples between BAD_ACQ_SKIP spans (skips.py)
        source = path if path is not None else _edf_file_of(raw)  # a Raw in memory: the EDF it was read from
        self.status = status_channel(source, self.ch_names)  # a BioSemi BDF's Status: codes in its low 16 bits
        self.low_rate: set[int] = set()  # EDF/BDF channels MNE upsamples: read from memory (low_rate_channels)
        self.ch_types, self.gains = by_unit(source, self.ch_names, self.ch_types)  # EDF/BDF/GDF: by each one's unit
        if source is not None and source.suffix.lower() in (".edf", ".bdf"):
            self._records(source, in_memory=path is None)  # EDF+D
            start = self.raw.info["meas_date"]  # MNE's is the header's: the first record starts when EDF+ says
            if start is not None and not start.microsecond and (offset := edf_start_offset(source)):
                self.meas_date = (start + timedelta(seconds=offset)).isoformat()
                if offset >= 1:
                    _log.info(
                        "file_source: %s: its first record starts %g s after the header's start time", source, offset
                    )
            if not self.raw.preload:
                self.low_rate = low_rate_channels(source, self.ch_names, self.sfreq, self.n_times)
        if type(raw).__name__ == "RawBrainVision":  # a voltage MNE does not know ('μV', 'UV'): to V, EEG
            for i, factor in brainvision_voltages(raw, path).items():
                self.gains[i], self.ch_types[i] = factor, "eeg"
        ann = self.raw.annotations
        if self.starts is None:
            self.notes = (np.asarray(ann.onset, np.float64) - self.raw.first_time, ann.duration, list(ann.description))
            self._unpad()
            self._skip()  # an EDF read into memory by MNE (array_source) too: as file_source replays it
            self._breaks_at_marks()
        events, labels = [_no_events()], {}
        auto = stim_channel is None and not len(self.notes[2])  # no annotations: its trigger channel, as MNE's
        if auto:
            stim_channel = default_trigger(self.ch_names, self.ch_types, path)
        if stim_channel is not None:
            if stim_channel not in self.ch_names:
                raise SpecError(
                    f"file_source: no stim channel {stim_channel!r}", f"channels: {', '.join(self.ch_names)}"
                )
            found = trigger_events(self.raw, stim_channel, auto, path, self.status)
            idx = (found[:, 0] - self.raw.first_samp).astype(np.float64)
            onset = np.array([self.time_of(int(i)) for i in idx]) if self.starts is not None else idx / self.sfreq
            if self.skips is not None:  # (a trigger in a skip reads 0: no rise there)
                idx = self.skips.stream_index(idx.astype(np.int64)).astype(np.float64)
            events.append(np.column_stack([idx, onset, np.zeros(len(idx)), found[:, 2]]))
            labels.update({int(c): str(int(c)) for c in found[:, 2]})
        onset, duration, description = self.notes
        if len(description):
            codes = codes_for(description, brainvision=type(self.raw).__name__ == "RawBrainVision")
            if labels and set(codes.values()) & set(labels):
                codes = {d: c + max(labels) for d, c in codes.items()}
            idx = np.round(onset * self.sfreq) if self.starts is None else self._index_of(onset)
            if self.skips is not None:
                idx = self.skips.stream_index(idx.astype(np.int64)).astype(np.float64)
            code = np.array([codes[d] for d in description], dtype=np.float64)
            events.append(np.column_stack([idx, onset, np.asarray(duration, np.float64), code]))
            labels.update({c: d for d, c in codes.items()})
        self.events = np.concatenate(events).astype(np.float64)
        self.labels = tuple(sorted(labels.items()))

    def _unpad(self) -> None:
        """The recorder's zeros after an EDF/BDF's data, marked `padding`: not replayed, no marker (skips.py)."""
        if type(self.raw).__name__ in _EDF_RAWS:
            self.n_times, self.notes = without_padding(self.notes, self.n_times, self.sfreq)

    def _skip(self) -> None:
        """The spans MNE annotates BAD_ACQ_SKIP hold no data (a FIF's skipped buffers read as zeros): not replayed,
        the chunk after each flagged gap, its time the file's (skips.py). They replayed as data, zeros and all."""
        self.skips, is_skip = find_skips(self.notes, self.n_times, self.sfreq)
        self.notes = _kept(self.notes, ~is_skip)
        if self.skips is not None:
            self.n_times = self.skips.n_times
            self.breaks = self.skips.breaks

    def _breaks_at_marks(self) -> None:
        """Discontinuities that annotations mark are breaks (the chunk there flagged gap, as live), not events: MNE's
        zero-length "BAD/EDGE boundary" (mne.concatenate_raws; the recorder's gap marks), EEGLAB's "boundary" (data
        cut; elsewhere a marker of that name, or "gap", is a marker); and a
        BrainVision recording paused ("New Segment", kept as an event: MNE's 99999). They replayed as continuous."""
        onset, duration, text = self.notes
        kind = type(self.raw).__name__  # elsewhere "boundary" may be a marker's own text
        cut = "boundary" if kind == "RawEEGLAB" else None
        marks = [i for i, t in enumerate(text) if (t in BOUNDARY and duration[i] == 0) or t == cut]
        resumed = [i for i, t in enumerate(text) if kind == "RawBrainVision" and t == "New Segment/"]
        if not marks + resumed:
            return
        # the sample nearest each onset (3001 / 44100 s reads back as 3001.005); EEGLAB's, between two: the later
        at = np.floor(np.asarray(onset, np.float64)[marks + resumed] * self.sfreq + 0.5 + 1e-6).astype(np.int64)
        if self.skips is not None:
            at = self.skips.stream_index(at)
        self.breaks = np.unique(np.concatenate([self.breaks, at[(at > 0) & (at < self.n_times)]]))
        keep = ~np.isin(np.arange(len(text)), marks)
        self.notes = _kept(self.notes, keep)

    def _records(self, path: Path, in_memory: bool = False) -> None:
        """A discontinuous EDF+D/BDF+D file (MNE reads it as if continuous): the records' starts give the
        chunk times, a jump between records is a break (the next chunk is flagged gap), and annotations
        go to the sample recorded at their time. `in_memory`: a Raw MNE read from it (array_source), which
        must still hold the file's samples as read (not cropped or resampled) for the records to apply."""
        found = edf_records(path)
        if found is None:
            return
        starts, duration, notes = found
        if in_memory:
            whole = len(starts) * max(1, int(round(duration * self.sfreq)))
            if self.raw.first_samp != 0 or self.n_times != whole:
                raise SpecError(
                    f"array_source: this Raw was read from {path}, a discontinuous EDF+D whose records MNE puts "
                    f"back to back, and then cut or resampled ({self.n_times} samples of {whole}): the records' "
                    "times, and so its gaps, no longer line up with its samples",
                    f"replay the file itself (file_source path: {path}: chunk times follow the records, gaps "
                    "flagged), or pass the samples as an array with their own events",
                )
        onset, dur, text = zip(*notes) if notes else ((), (), ())  # MNE drops those past the packed length
        self.notes = (np.array(onset, dtype=np.float64) - starts[0], np.array(dur, dtype=np.float64), list(text))
        self.record_len = max(1, int(round(duration * self.sfreq)))
        self.starts = kept = starts[: -(-self.n_times // self.record_len)] - starts[0]
        back = np.flatnonzero(np.diff(kept) < duration - 0.5 / self.sfreq)  # (chunk times would go back)
        if len(back):
            r = int(back[0]) + 1
            raise SpecError(
                f"file_source: {path} is EDF+D, and its data record {r + 1} starts at {kept[r]:g} s, before record {r} "
                f"ends ({kept[r - 1] + duration:g} s): its records' times are damaged (they go forward, each after the "
                "one before)",
                f"replay its samples back to back, as MNE reads them: mne.io.read_raw_edf({str(path)!r}).save("
                f"'{path.stem}_raw.fif'), and replay that",
            )
        jump = np.flatnonzero(np.diff(kept) > duration + 0.5 / self.sfreq) + 1
        self.breaks = (jump * self.record_len).astype(np.int64)

    def time_of(self, index: int) -> float:
        if self.skips is not None:
            return self.skips.file_index(index) / self.sfreq
        if self.starts is None:
            return index / self.sfreq
        r = min(index // self.record_len, len(self.starts) - 1)
        return float(self.starts[r]) + (index - r * self.record_len) / self.sfreq

    def _index_of(self, onset: np.ndarray) -> np.ndarray:
        """Sample index of stream times on a discontinuous file (a time in a gap: the next record's first)."""
        assert self.starts is not None
        r = np.clip(np.searchsorted(self.starts, onset, side="right") - 1, 0, len(self.starts) - 1)
        within = np.round((onset - self.starts[r]) * self.sfreq)
        return np.where(
            within < self.record_len, r * self.record_len + np.maximum(within, 0), (r + 1) * self.record_len
        )

    def get(self, picks, start, stop):
        if self.low_rate.intersection(picks) and not self.raw.preload:
            self.raw.load_data(verbose="error")  # MNE upsamples the whole recording at once, as it advises
        if self.skips is not None:  # the file's samples of each run the span holds
            parts = [self._data(picks, a, b) for a, b in self.skips.pieces(start, stop)]
            return np.concatenate(parts, axis=1) if parts else np.zeros((len(picks), 0))
        return self._data(picks, start, stop)

    def _data(self, picks, start: int, stop: int):
        data = self.raw.get_data(picks=picks, start=start, stop=stop)  # pyright: ignore[reportArgumentType]  # mne stub: picks may be a list
        data = status_codes(data, picks, self.status)  # a BioSemi Status channel: its trigger codes (triggers.py)
        gains = self.gains[picks]
        return data if (gains == 1).all() else data * gains[:, None]

    def close(self) -> None:
        if self.view is not None:
            self.view.close()


def _edf_file_of(raw) -> Path | None:
    """The EDF/BDF file an MNE Raw in memory was read from, if it still exists."""
    if type(raw).__name__ not in _EDF_RAWS or not raw.filenames or raw.filenames[0] is None:
        return None
    path = Path(raw.filenames[0])
    return path if path.is_file() else None


def readable_length(raw, path: Path) -> int:
    """MNE counts the data buffer torn off the end of a truncated file (a recorder killed mid-write, a
    copy cut short) and fails when a read reaches it: replay up to the last sample that reads, and say so."""
    return _readable(int(raw.n_times), lambda k: raw.get_data(start=k - 1, stop=k), path, "samples")


def _readable(n: int, read_last, path: Path, what: str, lister: str = "MNE") -> int:
    """The largest k <= n for which read_last(k) (reading item k - 1) does not raise (bisection)."""

    def reads(k: int) -> bool:
        try:
            read_last(k)
            return True
        except Exception:  # noqa: BLE001 — mne raises ValueError, OSError, ... for a torn buffer
            return False

    if n == 0 or reads(n):
        return n
    good, bad = 0, n
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if reads(mid) else (good, mid)
    _log.warning(
        "file_source: %s is truncated: %s lists %d %s, %d can be read; replaying those", path, lister, n, what, good
    )
    return good


class _EpochsReader(_Reader):
    """MNE Epochs read from `path`, or already in memory (`epochs`, array_source: `path` is then None)."""

    def __init__(
        self, path: Path | None, epochs=None, view: CaseView | MarkerView | None = None, proj: bool | None = None
    ):
        import mne

        self.view = view
        if epochs is None:
            assert path is not None, "a path or Epochs"
            where = path if view is None else view.path  # projectors applied unless proj: false, as mne.read_epochs
            epochs = mne.read_epochs(where, proj=proj is not False, preload=False, verbose="error")
        self.epochs = ep = epochs
        self.sfreq = _file_rate(ep.info, path)
        self.segment = len(ep.times)
        try:
            n_epochs = len(ep)
        except RuntimeError:  # mne.Epochs(raw, events) not preloaded: its `reject` has not been applied yet
            ep.drop_bad(verbose="error")  # as MNE's own get_data, save or average would (in place)
            n_epochs = len(ep)
        if path is not None:
            n_epochs = _readable(n_epochs, lambda k: ep.get_data(item=[k - 1], verbose="error"), path, "epochs")
        self.n_times = self.segment * n_epochs
        self.ch_names = list(ep.ch_names)
        self.ch_types = [spec_channel_type(t) for t in ep.get_channel_types()]
        self.units = _units_of(ep.info)
        self.meas_date = _meas_date_of(ep.info)
        self.bads = tuple(ep.info["bads"])
        zero = int(np.round(-ep.tmin * self.sfreq))  # sample of the time-locking event within an epoch
        k = np.arange(n_epochs)
        idx = k * self.segment + min(max(zero, 0), self.segment - 1)
        codes = ep.events[:n_epochs, 2]
        self.events = np.column_stack([idx, idx / self.sfreq, np.zeros(n_epochs), codes]).astype(np.float64)
        inv = {int(c): d for d, c in ep.event_id.items()}
        self.labels = tuple((c, inv.get(c, str(c))) for c in sorted({int(c) for c in ep.events[:, 2]}))
        self._cache: tuple[int, np.ndarray] | None = None

    def get(self, picks, start, stop):
        k = start // self.segment
        if self._cache is None or self._cache[0] != k:
            self._cache = (k, self.epochs.get_data(item=[k], verbose="error")[0])
        off = k * self.segment
        return self._cache[1][picks, start - off : stop - off]

    def close(self) -> None:
        if self.view is not None:
            self.view.close()


def _no_stim_in_epochs(path: Path, stim_channel: str | None) -> None:
    if stim_channel is not None:  # it was silently ignored
        raise SpecError(
            f"file_source: {path} holds epochs: their events are the epochs' own (one per epoch, with its code); "
            f"stim_channel {stim_channel!r} is not read",
            "leave stim_channel out, or replay the continuous recording the epochs were cut from",
        )


def _header_of(part: Path, suffix: str) -> Path | None:
    """The header file beside one part of a recording (`rec.eeg` -> `rec.vhdr`, also `REC.VHDR`), if any."""
    want = (part.stem + suffix).lower()
    return next((p for p in part.parent.iterdir() if p.name.lower() == want and p.is_file()), None)


# Suffixes of one reader each (not .dat, .cnt, .bin): when it fails on a file, the file is damaged
DAMAGED_NOT_OTHER = {
    ".edf": "EDF",
    ".bdf": "BDF",
    ".gdf": "GDF",
    ".fif": "FIF",
    ".fif.gz": "FIF",
    ".vhdr": "BrainVision",
}
DAMAGED_NOT_OTHER[".set"] = "EEGLAB"


def open_reader(
    path: Path, dtype: Dtype, stream: str | None = None, stim_channel: str | None = None, proj: bool | None = None
) -> _Reader:
    """Pick the back end from the file name; raise SpecError naming the path and the formats."""
    if not path.exists():
        import difflib
        import itertools
        import os

        where = "" if path.is_absolute() else f" (relative to the current folder: {path.absolute()})"
        if path.is_symlink():  # a link whose target is gone: "did you mean" named the link itself
            target = os.readlink(path)
            raise SpecError(
                f"file_source: {path} is a link to {target}, which does not exist",
                "mount or restore the file it points to, or give the recording's own path",
            )
        near = itertools.islice(path.parent.iterdir(), 5000) if path.parent.is_dir() else ()  # a huge folder: some
        close = difflib.get_close_matches(path.name, [p.name for p in near], n=3, cutoff=0.6)
        expanded = os.path.expandvars(str(path))  # `$HOME/rec.edf` in a YAML file: no shell expanded it
        raise SpecError(
            f"file_source: no such file: {path}{where}",
            (f"did you mean {', '.join(str(path.with_name(c)) for c in close)}? " if close else "")
            + (
                f"environment variables are not expanded in a graph file: give {expanded}, or let the shell "
                f'expand it: --set "NODE.path={path}"; '
                if expanded != str(path)
                else ""
            )
            + f"give the path of a readable recording; supported: {SUPPORTED}",
        )
    if path.is_dir() and not path.name.lower().endswith((".ds", ".mff")):  # CTF and EGI recordings are folders
        raise SpecError(f"file_source: {path} is a folder", "give the path of a recording file in it")
    # /dev/stdin, a named pipe: read once, and the format sniffing eats its start
    if not path.is_dir() and not path.is_file():
        raise SpecError(
            f"file_source: {path} is a pipe or a device, not a file",
            "save the stream to a file first and give that (e.g. ... > in.wav; --set src.path=in.wav)",
        )
    check_not_empty(path)
    name = path.name.lower()
    if name.endswith(OTHER_AUDIO):
        raise SpecError(
            f"file_source: cannot read {path}: {path.suffix} audio is not a format libsndfile reads",
            f"convert it to WAV or FLAC first, e.g. ffmpeg -i {shlex.quote(path.name)} {shlex.quote(path.stem + '.wav')}",
        )
    if stream is not None and not name.endswith((".xdf", ".xdfz")):
        raise SpecError(f"file_source: `stream` picks a stream of an XDF file; {path} is not one", "leave stream out")
    for part, header in ((".eeg", ".vhdr"), (".vmrk", ".vhdr"), (".fdt", ".set")):  # BrainVision, EEGLAB
        found = name.endswith(part) and _header_of(path, header)
        if found:
            raise SpecError(f"file_source: {path} is one part of a recording", f"give its header file: path: {found}")
    try:
        if is_audio(path):
            if stim_channel is not None or proj:
                what = "no stim channel" if stim_channel is not None else "no SSP projectors (proj)"
                raise SpecError(f"file_source: {path} is audio: {what}", "leave stim_channel and proj out")
            if not name.endswith(AUDIO_SUFFIXES):
                _log.warning("file_source: %s holds audio (by its first bytes); reading it as audio", path)
            from .audio_reader import AudioReader, other_audio

            try:
                return AudioReader(path, dtype)
            except Exception as e:  # noqa: BLE001 — libsndfile: 'file is malformed', 'Format not recognised', ...
                found = misnamed(path, e, SUPPORTED)  # a FIF or EDF saved as .wav: say what it holds, not "damaged"
                if found is not None:
                    raise found from e
                if kind := other_audio(path):  # an M4A renamed .wav
                    out = path.stem + (".wav" if not name.endswith(".wav") else "_converted.wav")
                    raise SpecError(
                        f"file_source: cannot read {path}: it holds {kind}, which libsndfile does not read",
                        f"convert it to WAV or FLAC first, e.g. ffmpeg -i {shlex.quote(path.name)} {shlex.quote(out)}",
                    ) from e
                raise SpecError(
                    f"file_source: cannot read {path}: {type(e).__name__}: {e}",
                    "the file is damaged, cut short or not audio: ffmpeg decodes what it can "
                    f"(ffmpeg -i {shlex.quote(path.name)} {shlex.quote(path.stem + '_fixed.wav')}); replay that",
                ) from e
        if name.endswith((".csv", ".npz")):  # the recorder's own (table_reader.py)
            from .table_reader import open_table

            return open_table(path, stim_channel, proj)
        if name.endswith((".xdf", ".xdfz")):
            from .xdf import XdfReader

            if proj:
                raise SpecError(f"file_source: {path} is XDF: no SSP projectors (proj)", "leave proj out")
            return XdfReader(path, stream, dtype or "float64", stim_channel)
        if name.endswith(("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")):
            _no_stim_in_epochs(path, stim_channel)
            return _EpochsReader(path, proj=proj)
        if name.endswith((".edf", ".bdf", ".gdf")):  # EDF: cut inside its header, no record, fewer records than listed
            (check_gdf if name.endswith(".gdf") else check_edf)(path)  # (MNE says nothing); GDF: a variant MNE fails on
        if name.endswith((".fif", ".fif.gz")):
            check_split_part(path)  # x_raw-1.fif given: MNE replays that part alone
        if name.endswith(".vhdr"):
            check_brainvision(path)  # its data or marker file missing, its data file cut inside a sample
        view = CaseView(path) if needs_view(path) else None  # REC.VHDR, REC.SET: MNE checks the case
        if view is None and name.endswith(".vhdr"):  # markers in Recorder's ANSI ('geöffnet'): MNE fails on them
            view = marker_view(path)
        try:
            return _RawReader(path, stim_channel, view=view, proj=proj)
        except TypeError as e:  # an epoched EEGLAB .set: MNE's raw reader refuses it, read_epochs_eeglab reads it
            if "number of trials" not in str(e) or not name.endswith(".set"):
                raise
            import mne

            _log.warning("file_source: %s holds epochs (EEGLAB trials), not raw data; replaying them as epochs", path)
            _no_stim_in_epochs(path, stim_channel)
            epochs = mne.read_epochs_eeglab(path if view is None else view.path, verbose="error")
            return _EpochsReader(path, epochs, view=view)
        except ValueError as e:  # epochs saved under another name: MNE's raw reader finds no raw data
            if "No raw data" not in str(e) or not name.endswith((".fif", ".fif.gz")):
                raise
            _log.warning("file_source: %s holds epochs, not raw data; replaying them as epochs", path)
            _no_stim_in_epochs(path, stim_channel)
            return _EpochsReader(path, proj=proj)
    except SpecError:
        raise
    except Exception as e:  # mne and soundfile raise many types; all mean "cannot read this file"
        found = misnamed(path, e, SUPPORTED)  # a FIF saved as .edf, an EDF as .dat: say what it holds
        if found is not None:
            raise found from e
        if isinstance(e, FileNotFoundError) or "Split raw file detected" in str(e):  # a companion file is not beside
            raise SpecError(
                f"file_source: cannot read {path}: a file of the recording is missing: {e}",
                renamed_parts(e)
                or "copy every file of the recording into one folder (EEGLAB: the .set and its .fdt; BrainVision: "
                ".vhdr, .vmrk and .eeg; a split FIF: NAME_raw-1.fif, -2, ... beside NAME_raw.fif), under the names "
                "its header gives",
            ) from e
        # A table, a pickle: whatever MNE's reader for its suffix said (BOXY's for .txt: an empty AssertionError),
        # it is not a recording. An assert inside a reader says nothing to a user either.
        hint = not_read_hint(path)
        said = (
            f"{type(e).__name__}: {e}" if str(e) and not isinstance(e, AssertionError) else "its contents do not parse"
        )
        raise SpecError(
            f"file_source: cannot read {path}: {'not a recording' if hint else said}",
            hint
            or (  # a supported format its reader could not parse: the list of formats was no fix
                "it is XDF but damaged, or breaks the format where pyxdf reads it (a stream's header, a channel "
                "format): record it again, or repair the header pyxdf.load_xdf(PATH) fails on"
                if name.endswith((".xdf", ".xdfz"))
                else f"it is {next(f for e, f in DAMAGED_NOT_OTHER.items() if name.endswith(e))} but damaged, or breaks "
                "the format where MNE reads it (a field of its header): export it again from the recording software"
                if name.endswith(tuple(DAMAGED_NOT_OTHER))
                else f"supported formats: {SUPPORTED}"
            ),
        ) from e
