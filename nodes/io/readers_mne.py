"""The MNE back ends of `file_source` (nodes/io/readers.py picks one): `_RawReader` for raw recordings (FIF, EDF/BDF/GDF with
EDF+D records and padding, BrainVision, EEGLAB, ...: their annotations, triggers, skips and breaks as events and
gaps) and `_EpochsReader` for epochs, each read lazily; also MNE objects already in memory (array_source)."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from pathlib import Path
from typing import cast

import numpy as np
from wavegraph.pipeline.spec import SpecError, float32_rate

from .case_names import CaseView
from .cnt_cut import CntView, read_from_view
from .edf_header import edf_records, edf_start_offset, low_rate_channels, utf8_names
from .edf_start import date_not_known, say_undated, start_time
from .file_checks import brainvision_voltages, check_fdt_length, no_channels, projectors, said_by_mne
from .gdf_cut import GdfView, gdf_events
from .gdf_header import by_unit
from .logged_times import read_log
from .marker_codes import BOUNDARY, codes_for
from .marker_view import MarkerView
from .readers_base import _no_events, _readable, _Reader, spec_channel_type
from .skips import Skips, find_skips, without_padding
from .split_parts import say_unread_parts
from .triggers import default_trigger, say_unannotated, status_channel, status_codes, trigger_events

_log = logging.getLogger("wavegraph.file_source")

View = CaseView | MarkerView | GdfView | CntView  # a recording shown to MNE as it can read it (case, codepage, cut)
_FIFF_UNITS = {107: "V", 112: "T", 201: "T/m", 202: "Am", 0: "a.u.", -1: "a.u."}


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


def _passband_of(info) -> tuple[float, float | None]:
    """The filters the file says its data went through (MNE's info['highpass'] / ['lowpass']; None: the Nyquist)."""
    hp, lp = float(info["highpass"] or 0.0), info["lowpass"]
    return (hp if np.isfinite(hp) else 0.0), (float(lp) if lp and 0 < lp < info["sfreq"] / 2 else None)


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
        view: View | None = None,
        proj: bool | None = None,
        infer_types: bool = False,
    ):
        self.view = view  # the names MNE reads `path` by, when its case is not what MNE wants (case_names.py)
        self.left_out: tuple | None = None  # the annotations outside its data MNE leaves out (_notes_left_out)
        if raw is None:
            assert path is not None, "a path or a Raw"
            with warnings.catch_warnings(record=True) as said:  # MNE's warnings, to pass on the one that loses data
                warnings.simplefilter("always")
                typed = {"infer_types": True} if infer_types else {}  # (EDF/BDF only: open_reader checks)
                raw = _read_raw(path if view is None else view, typed)
            self.left_out = _notes_left_out(raw, path if view is None else view.path, said)  # (MNE's omitted: kept)
            said_by_mne(said, path)
        self.raw = raw
        self.sfreq = _file_rate(self.raw.info, path)
        self.ch_names = list(self.raw.ch_names)
        if not self.ch_names:
            raise no_channels(path, len(raw.annotations))
        utf8 = None  # an EDF/BDF's UTF-8 labels (MNE's Latin-1 names are used until the end: the header's, as MNE's)
        if path is not None and path.suffix.lower() in (".edf", ".bdf"):
            utf8 = utf8_names(path if view is None else view.path, self.ch_names)
        projectors(raw, proj, path)  # SSP projectors not yet applied: applied (proj: true) or said
        self.ch_types = [spec_channel_type(t) for t in self.raw.get_channel_types()]
        self.units = _units_of(self.raw.info)
        self.meas_date = _meas_date_of(self.raw.info)
        self.passband = _passband_of(self.raw.info)
        self.bads = tuple(self.raw.info["bads"])
        self.first_time = self.raw.first_samp / self.sfreq
        self.n_times = int(self.raw.n_times) if path is None else readable_length(self.raw, path)
        check_fdt_length(self.raw, path)  # an EEGLAB .fdt of more samples than its header gives: the rest, said
        if path is not None and path.name.lower().endswith((".fif", ".fif.gz")):  # a part cut short: the rest, said
            say_unread_parts(self.raw, path, self.n_times)
        self.starts: np.ndarray | None = None  # EDF+D/BDF+D: each data record's start (s), for time_of
        self.skips: Skips | None = None  # the runs of samples between BAD_ACQ_SKIP spans (skips.py)
        source = path if path is not None else _edf_file_of(raw)  # a Raw in memory: the EDF it was read from
        self.status = status_channel(source, self.ch_names)  # a BioSemi BDF's Status: codes in its low 16 bits
        self.low_rate: set[int] = set()  # EDF/BDF/GDF channels MNE upsamples: read from memory (low_rate_channels)
        before = self.ch_types
        self.ch_types, self.gains = _by_unit(source, raw if path is None else None, self.ch_names, self.ch_types)
        if any(t != b and t in ("misc", "stim") for t, b in zip(self.ch_types, before)):  # (EDA in uS, degC: no volts)
            self.units = ""  # not "V" (MNE's) for all: one unit would be wrong for some channels (spec.py: mixed is "")
        if source is not None and source.suffix.lower() in (".edf", ".bdf"):
            self._records(source, in_memory=path is None)  # EDF+D
            start = self.raw.info["meas_date"]  # MNE's is the header's: the first record starts when EDF+ says
            if start is not None and date_not_known(source):  # EDF+'s 'Startdate X': MNE read 01.01.85 as a date
                start = self.meas_date = None  # (an undated recording's copy: replayed undated, as it was recorded)
            elif start is not None and (mended := start_time(source, start)) != start:  # '16:15:00': MNE read midnight
                start, self.meas_date = mended, mended.isoformat()
            elif start is None and path is not None:  # (MNE's 'Invalid measurement date encountered in the header.'
                # named no field); a Raw in memory undated by its user (set_meas_date(None)) was said a file to mend
                say_undated(source)
            if start is not None and not start.microsecond and (offset := edf_start_offset(source)):
                self.meas_date = (start + timedelta(seconds=offset)).isoformat()
                if offset >= 1:
                    _log.info(
                        "file_source: %s: its first record starts %g s after the header's start time", source, offset
                    )
            if not self.raw.preload:
                self.low_rate = low_rate_channels(source, self.ch_names, self.sfreq, self.n_times)
        elif source is not None and source.suffix.lower() == ".gdf" and not self.raw.preload:  # (as an EDF's)
            self.low_rate = low_rate_channels(source, self.ch_names, self.sfreq, self.n_times)
        if type(raw).__name__ == "RawBrainVision":  # a voltage MNE does not know ('μV', 'UV'): to V, EEG
            for i, factor in brainvision_voltages(raw, path).items():
                self.gains[i], self.ch_types[i] = factor, "eeg"
        ann = self.raw.annotations
        if self.starts is None:
            self.notes = (np.asarray(ann.onset, np.float64) - self.raw.first_time, ann.duration, list(ann.description))
            if (past := self.left_out) is not None:  # (they go out with the first or last chunk, at their times)
                onset, duration, text = self.notes
                self.notes = (np.concatenate([onset, past[0]]), np.concatenate([duration, past[1]]), [*text, *past[2]])
            self._unpad()
            self._skip()  # an EDF read into memory by MNE (array_source) too: as file_source replays it
            self._breaks_at_marks()
        events, labels = [_no_events()], {}
        auto = stim_channel is None and not len(self.notes[2])  # no annotations: its trigger channel, as MNE's
        if auto:
            stim_channel = default_trigger(self.ch_names, self.ch_types, path)
        if stim_channel is not None and utf8 is not None and stim_channel in utf8 and stim_channel not in self.ch_names:
            stim_channel = self.ch_names[utf8.index(stim_channel)]  # (named as written: MNE's name for it)
        if stim_channel is not None:
            if stim_channel not in self.ch_names:
                raise SpecError(
                    f"file_source: no stim channel {stim_channel!r}",
                    f"channels: {', '.join(self.ch_names)}",
                    param="stim_channel",  # said at the line of stim_channel
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
            if stim_channel is None:  # its trigger channel's steps no annotation marks: said, not dropped unsaid
                say_unannotated(self.raw, self.ch_names, self.ch_types, path, self.status, idx)
            if self.skips is not None:
                idx = self.skips.stream_index(idx.astype(np.int64)).astype(np.float64)
            code = np.array([codes[d] for d in description], dtype=np.float64)
            events.append(np.column_stack([idx, onset, np.asarray(duration, np.float64), code]))
            labels.update({c: d for d, c in codes.items()})
        self.events = np.concatenate(events).astype(np.float64)
        self.labels = tuple(sorted(labels.items()))
        # the time each gap jumped, from the recorder's chunk log beside the file (kept where one did: the file holds the
        # samples back to back; the times after a dropout were replayed early by its length): (first sample, shift)
        self.logged: tuple[np.ndarray, np.ndarray] | None = None
        if path is not None and self.starts is None and self.skips is None:
            got = read_log(path, self.n_times, self.sfreq)
            if got is not None and len(got[2]):
                starts, t0s, gaps = got
                shift = t0s[np.searchsorted(starts, gaps)] - t0s[0] - gaps / self.sfreq
                self.logged = (np.concatenate([[0], gaps]), np.concatenate([[0.0], shift]))
                self.breaks = np.union1d(self.breaks, gaps).astype(np.int64)
                idx = self.events[:, 0]  # the markers after it with the samples
                self.events[:, 1] += [self.time_of(int(i)) - int(i) / self.sfreq for i in idx]
        if utf8 is not None:
            self.ch_names = utf8

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
        if (logged := getattr(self, "logged", None)) is not None:  # (set at the end of __init__)
            return index / self.sfreq + float(logged[1][int(np.searchsorted(logged[0], index, side="right")) - 1])
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


def _read_raw(where, typed: dict):
    """MNE's Raw of a file (a Path) or of a view of one (case_names, marker_view, gdf_cut, cnt_cut), not preloaded."""
    import mne

    if isinstance(where, GdfView):  # a GDF cut short, through a file-like (read_raw_gdf preloads one: the whole file)
        from mne.io.edf.edf import RawGDF

        return RawGDF(where, preload=False, verbose="warning")
    raw = mne.io.read_raw(where if isinstance(where, Path) else where.path, preload=False, verbose="warning", **typed)
    if isinstance(where, CntView):  # a CNT cut short: the samples, from the file itself (cnt_cut.py)
        read_from_view(where, raw)
    return raw


def _notes_left_out(raw, path: Path, said: list) -> tuple | None:
    """The annotations `path`'s recording holds outside its data, which MNE's reader leaves out (None: none): of a
    recording cut short (a copy or download that stopped: a FIF's, even at a buffer's end, without a word; a BrainVision
    .eeg under its whole .vmrk; an EDF+ whose annotations are in its first records, as EDFlib writes them) or whose
    marker list goes on past its data (an EEGLAB .set's events past EEG.pnts), and, but in a FIF, those that end before
    its first sample (a BrainVision marker at a position before 1, an EDF+ onset before 0). They were lost; read again
    (MNE's file reader, mne.read_annotations; an EDF/BDF's TALs record by record: MNE's scans the whole file, samples
    and all, for them), they go out with the last chunk or the first, at their times (configure's warnings count them),
    as markers are data.
    Read for a FIF always (MNE says nothing), for the others where MNE said 'Omitted N annotation(s)', which is then
    taken out of `said` when all N are found (they are not left out)."""
    import re

    import mne

    omitted = [w for w in said if re.match(r"Omitted \d+ annotation\(s\) that were outside", str(w.message))]
    kind, fif = type(raw).__name__, path.name.lower().endswith((".fif", ".fif.gz"))
    if not (fif or omitted):  # (MNE says the others)
        return None
    if fif and not omitted and _fif_whole(Path(raw.filenames[-1] or path)):  # (its annotations past tmax: not data)
        return None
    source = _marker_file(path) if kind == "RawBrainVision" else path
    if source is None:
        return None
    try:
        if kind == "RawGDF":  # its event table (not EDF+'s TALs), as MNE reads it: positions in samples
            table = gdf_events(source)
            if table is None:
                return None
            rate = float(raw.info["sfreq"])
            every = [(p / rate, d / rate, str(t)) for p, d, t in zip(*table)]
        elif kind in _EDF_RAWS:  # the TALs of the records it holds (mne.read_annotations scans the file's samples too)
            found = edf_records(source, continuous=True)
            if found is None:
                return None
            starts, _, notes = found
            chans = set(raw.ch_names)  # (as MNE's: from the first record's start; 'text@@channel': the text)
            every = [(o - starts[0], d, t.split("@@")[0] if t.split("@@")[-1] in chans else t) for o, d, t in notes]
        else:
            with warnings.catch_warnings():  # (MNE's words on the file, said once as it read the Raw)
                warnings.simplefilter("ignore")
                brainvision = {"sfreq": raw.info["sfreq"]} if kind == "RawBrainVision" else {}
                got = mne.read_annotations(source, **brainvision)
            every = list(zip(np.asarray(got.onset, np.float64), got.duration, got.description))
    except Exception:  # noqa: BLE001 — a file MNE read as a Raw but not for its annotations: MNE's, as before
        return None
    sfreq, start = float(raw.info["sfreq"]), float(raw.first_time)
    end = raw.n_times / sfreq - 0.5 / sfreq  # (stream seconds; MNE keeps one that starts within its last sample)
    ann = raw.annotations
    kept = set(zip(np.round((np.asarray(ann.onset, np.float64) - start) * sfreq), ann.description))

    def outside(o: float, d: float) -> bool:  # past the end; or, but in a FIF (raw.save(tmin=...) writes those of
        return o - start >= end or (not fif and o - start + d < 0)  # the samples it left out), ended before the start

    extra = [
        (o - start, d, str(t))
        for o, d, t in every
        if outside(o, d) and t != "BAD_ACQ_SKIP" and (round((o - start) * sfreq), t) not in kept
    ]
    said_n = sum(int(re.findall(r"\d+", str(w.message))[0]) for w in omitted)
    if omitted and len(extra) >= said_n:  # all found: not lost, so not said as left out (configure counts them)
        said[:] = [w for w in said if w not in omitted]
    if not extra:
        return None
    onset, duration, text = zip(*extra)
    return np.array(onset, np.float64), np.array(duration, np.float64), list(text)


def _fif_whole(path: Path) -> bool:
    """Whether a FIF (a split FIF's last part) ends as a whole file does, with the end-of-file tag (FIFF_NOP, next -1)
    MNE's end_file writes. A whole FIF may hold annotations past its data: `raw.save(fname, tmax=...)` writes every
    annotation of the Raw, and MNE's reader keeps the segment's; only a FIF cut short lacks that tag."""
    import gzip

    end = (108).to_bytes(4, "big") + bytes(8) + b"\xff" * 4
    try:
        if path.name.lower().endswith(".gz"):
            tail = b""
            with gzip.open(path, "rb") as f:
                while block := f.read(1 << 20):
                    tail = (tail + block)[-16:]
        else:
            with open(path, "rb") as f:
                f.seek(max(path.stat().st_size - 16, 0))
                tail = f.read(16)
    except (OSError, EOFError):  # a .gz cut short too
        return False
    return tail == end


def _marker_file(header: Path) -> Path | None:
    """A BrainVision header's marker file, as MNE finds it: its MarkerFile= beside it, else the header's name .vmrk."""
    from .marker_view import _names

    name = _names(header)[1]
    for found in ([header.parent / name] if name else []) + [header.with_suffix(".vmrk")]:
        if found.is_file():
            return found
    return None


def _edf_file_of(raw) -> Path | None:
    """The EDF/BDF file an MNE Raw in memory was read from, if it still exists."""
    if type(raw).__name__ not in _EDF_RAWS or not raw.filenames or raw.filenames[0] is None:
        return None
    path = Path(raw.filenames[0])
    return path if path.is_file() else None


def _by_unit(source: Path | None, raw, ch_names: list[str], ch_types: list[str]) -> tuple[list[str], np.ndarray]:
    """EDF/BDF/GDF: each channel's type and factor to volts by its unit in the file (gdf_header.by_unit), whose channels
    a Raw in memory (`raw`) may have picked or reordered: each matched to its signal in the file, MNE's read picks (by
    position, a pick of 2 of 64 channels in 'UV' lost their scaling: replayed a million times too large)."""
    picks = getattr(raw, "_read_picks", None)
    first = picks[0] if picks else None
    n_file = len((getattr(raw, "_raw_extras", None) or [{}])[0].get("ch_names") or ())
    at = [int(k) for k in first] if first is not None and len(first) == len(ch_names) else None
    if at is None or not n_file or at == list(range(n_file)) or max(at, default=0) >= n_file:
        return by_unit(source, ch_names, ch_types)
    names, kinds = [f"#{k}" for k in range(n_file)], ["misc"] * n_file  # (misc: a signal left out, as read)
    for i, k in enumerate(at):
        names[k], kinds[k] = ch_names[i], ch_types[i]
    types, gains = by_unit(source, names, kinds)
    return [types[k] for k in at], np.array([gains[k] for k in at], dtype=np.float64)


def readable_length(raw, path: Path) -> int:
    """MNE counts the data buffer torn off the end of a truncated file (a recorder killed mid-write, a
    copy cut short) and fails when a read reaches it: replay up to the last sample that reads, and say so."""
    return _readable(int(raw.n_times), lambda k: raw.get_data(start=k - 1, stop=k), path, "samples")


class _EpochsReader(_Reader):
    """MNE Epochs read from `path`, or already in memory (`epochs`, array_source: `path` is then None)."""

    def __init__(self, path: Path | None, epochs=None, view: View | None = None, proj: bool | None = None):
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
        self.passband = _passband_of(ep.info)
        self.bads = tuple(ep.info["bads"])
        zero = int(np.round(-ep.tmin * self.sfreq))  # sample of the time-locking event within an epoch
        k = np.arange(n_epochs)
        idx = k * self.segment + min(max(zero, 0), self.segment - 1)
        codes = ep.events[:n_epochs, 2]
        self.events = np.column_stack([idx, idx / self.sfreq, np.zeros(n_epochs), codes]).astype(np.float64)
        inv = {int(c): d for d, c in cast("dict[str, int]", ep.event_id).items()}
        labels = {c: inv.get(c, str(c)) for c in sorted({int(c) for c in ep.events[:, 2]})}
        inside, more = _within_epochs(ep, n_epochs, self.segment, zero, self.sfreq, labels)
        self.events = np.concatenate([self.events, inside])
        self.labels = tuple(sorted((labels | more).items()))
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


def _within_epochs(ep, n: int, segment: int, zero: int, sfreq: float, labels: dict[int, str]):
    """The annotations inside epochs (mne.Epochs keep their Raw's: a response after each stimulus; only each epoch's
    own event was replayed, the rest lost unsaid), as (idx, onset, duration, code) rows of the replay's samples, and
    the labels of their new codes. An annotation at an epoch's event with its label is that event, not repeated."""
    none = np.zeros((0, 4)), {}
    if not len(getattr(ep, "annotations", None) or ()):
        return none
    try:
        per = ep.get_annotations_per_epoch()[:n]
    except Exception:  # noqa: BLE001 — MNE's epochs of another kind: their events alone, as before
        return none
    notes = [
        (k, onset, duration, text)
        for k, within in enumerate(per)
        for onset, duration, text in within
        if not (abs(onset) < 0.5 / sfreq and text == labels.get(int(ep.events[k, 2])))
    ]
    if not notes:
        return none
    texts = {d: c for c, d in labels.items()}
    new = codes_for(sorted({t for *_, t in notes if t not in texts}))
    if set(new.values()) & set(labels):  # after the epochs' own codes
        new = {d: c + max(labels) for d, c in new.items()}
    codes = texts | new
    within = [min(max(zero + round(o * sfreq), 0), segment - 1) for _, o, _, _ in notes]
    idx = np.array([k * segment + i for (k, *_), i in zip(notes, within)])
    # An annotation that began before its epoch (the rest period before a cue, a BAD_ span) or lasts past its end
    # (into the gap and the next epoch of the replay) is the part of it the epoch holds, as MNE's crop limits one: it
    # kept its whole duration from the epoch's first sample (a 4.1 s T0 begun 3 s before the epoch ran 3 s into it).
    ends = [min(o * sfreq + d * sfreq, segment - zero) / sfreq for _, o, d, _ in notes]
    starts = [max(o, -zero / sfreq) for _, o, _, _ in notes]
    duration = np.round([max(e - b, 0.0) if d > 0 else 0.0 for e, b, (_, _, d, _) in zip(ends, starts, notes)], 6)
    cut = sorted({t for (_, o, d, t), b, e in zip(notes, starts, ends) if b > o + 0.5 / sfreq or e < o + d - 1e-9})
    if cut:
        _log.info(
            "file_source: annotations reaching outside the epoch they overlap (%s) are replayed limited to it, from its "
            "first sample and up to its last, as MNE's crop limits them",
            ", ".join(map(repr, cut)),
        )
    # (a FIF's durations are float32: 0.1 read back 0.10000002; hence the rounding)
    rows = np.column_stack([idx, idx / sfreq, duration, [codes[t] for *_, t in notes]])
    return rows.astype(np.float64), {c: d for d, c in new.items()}


def _no_stim_in_epochs(path: Path, stim_channel: str | None) -> None:
    if stim_channel is not None:  # it was silently ignored
        raise SpecError(
            f"file_source: {path} holds epochs: their events are the epochs' own (one per epoch, with its code); "
            f"stim_channel {stim_channel!r} is not read",
            "leave stim_channel out, or replay the continuous recording the epochs were cut from",
        )
