"""XDF (LabRecorder) files: replay through file_source, and a minimal writer.

Reading (`file_source` with a `.xdf` / `.xdfz` path; pyxdf does the parsing):
  * Clocks: pyxdf applies each stream's ClockOffset chunks (the LSL time_correction LabRecorder
    measured), so every stream is on the recording computer's clock, and removes the jitter of
    regular streams (a line fitted per segment). Stream time 0 is the earliest timestamp of any
    stream in the file, so several file_source nodes on the same file share one clock and a `join`
    or `epochs` node can align them.
    A file without clock offsets (not written by LabRecorder, or streams it could not query) is replayed
    with the timestamps as recorded: one wavegraph warning names its streams when they may come from
    different computers (several streams replayed, not all stamped with one `hostname`), none otherwise;
    pyxdf's own "Segments and clock-segments differ", logged once per stream (also whenever a break is
    shorter than its clock-segment threshold), is not shown.
  * `out`: the numeric regular-rate stream chosen by file_source's `stream` param (a stream name or
    type; default: the only numeric stream, else the only one of type EEG). Channel labels, types and
    units come from `desc/channels`; microvolt/millivolt units are scaled to volts (MNE's SI units).
    A dropout in its timestamps flags the next chunk `gap`: a jump of over 1.5 sample periods that the
    samples after it keep (`dropouts`: lines fitted to 0.5 s of stamps on each side put the samples after
    it that far from the line before it; a late stamp that the next ones take back is jitter). The
    timestamps are then dejittered by one line per segment, as pyxdf does; pyxdf's own rule (a jump over
    max(1 s, N samples)) fitted one line across a shorter dropout, which put markers up to half the dropout
    off their samples.
  * `events`: every string (marker) stream in the file, and every irregular numeric one whose type starts with
    Marker, Event, Trigger or Stim (codes, as PsychoPy sends them), and MNE-LSL Player's 'annotations' (one channel
    per description, its value the duration, as lsl_inlet reads them live; any other irregular numeric stream is
    said and left out), merged, each marker at its own (synchronised)
    timestamp; integer markers are their own code (as lsl_inlet reads them live), the other marker strings
    are numbered 1..k in sorted order after the largest integer (`spec.labels` maps them back).

Writing: `write_xdf(path, streams)` writes XDF 1.0 (file header, stream headers, one samples chunk
per stream, clock offsets, footers) for numeric and string streams; tests use it to build a
LabRecorder-like file from a real recording, and pyxdf reads it back.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from wavegraph.pipeline.spec import SpecError

from .case_names import CaseView, needs_view
from .lsl_info import onehot_markers
from .marker_codes import codes_for, marker_text
from .readers import _Reader, spec_channel_type
from .units import to_volts
from .xdf_cut import load_xdf

_log = logging.getLogger("wavegraph.file_source")
FIT_SECONDS = 0.5  # a dropout is judged by lines fitted to this much of the stream on each side of a jump
_DTYPES = {"float32": "<f4", "double64": "<f8", "int8": "<i1", "int16": "<i2", "int32": "<i4", "int64": "<i8"}


def _first(d: dict, key: str, default: Any = None) -> Any:
    v = d.get(key) if isinstance(d, dict) else None
    return v[0] if isinstance(v, list) and v else default


def _channels(info: dict, n: int) -> tuple[list[str], list[str], list[str]]:
    desc = _first(info, "desc") or {}
    chans = (_first(desc, "channels") or {}).get("channel", []) if isinstance(desc, dict) else []
    labels = [_first(c, "label") or f"ch{i}" for i, c in enumerate(chans[:n])] + [
        f"ch{i}" for i in range(len(chans), n)
    ]
    types = [(_first(c, "type") or "") for c in chans[:n]] + [""] * (n - len(chans[:n]))
    units = [(_first(c, "unit") or "") for c in chans[:n]] + [""] * (n - len(chans[:n]))
    return labels, types, units


def _nominal_rate(info: dict) -> float:
    """The stream's nominal_srate; NaN when it is no finite number ('nan', 'inf', '250Hz')."""
    try:
        rate = float(_first(info, "nominal_srate", 0))
    except (TypeError, ValueError):
        return float("nan")
    return rate if abs(rate) < float("inf") else float("nan")


def _why_not(s) -> str:
    """'' for a stream file_source can replay as a signal, else why not."""
    if _first(s["info"], "channel_format") == "string":
        return "markers"
    if _nominal_rate(s["info"]) != _nominal_rate(s["info"]):  # NaN (was 'cannot convert float NaN to integer')
        return "its nominal rate is not a number of Hz"
    if _nominal_rate(s["info"]) <= 0:
        return "irregular rate: not a signal" + (", read as markers" if _is_marker(s) else "")
    return "" if len(s["time_stamps"]) else "no samples (the file may be truncated)"


_MARKER_TYPES = ("marker", "event", "trigger", "stim")  # what a stream type of event codes starts with


def _is_marker(s) -> bool:
    """String streams, and irregular numeric streams of type Markers (integer event codes, as PsychoPy sends), or
    Events, Triggers, Stim... (was Markers alone: an 'Events' stream's codes were dropped without a word), or MNE-LSL's
    annotations (_is_onehot)."""
    info = s["info"]
    if _first(info, "channel_format") == "string":
        return True
    return _nominal_rate(info) <= 0 and (_first(info, "type") or "").lower().startswith(_MARKER_TYPES) or _is_onehot(s)


def _is_onehot(s) -> bool:
    """MNE-LSL's Player's annotations (PlayerLSL, annotations_encoding 'one-hot'): a numeric stream of type
    'annotations' at rate 0, one channel per description, the fired one holding its duration (lsl_inlet reads them
    live; an XDF of them replayed without them)."""
    info = s["info"]
    numeric = _first(info, "channel_format") != "string"
    return numeric and _nominal_rate(info) <= 0 and (_first(info, "type") or "").lower() == "annotations"


def _recorded_at(header, path: Path) -> str | None:
    """The recording's start from the file header's <datetime> (LabRecorder: local time with its UTC offset,
    '2021-03-10T12:00:00+0100'), in UTC ISO 8601, as the stream's meas_date: stream time 0, the first stamp of
    the file, is about then. None when the file gives none, or one that does not parse (said)."""
    from datetime import datetime

    text = _first((header or {}).get("info") or {}, "datetime") if isinstance(header, dict) else None
    if not text:
        return None
    for parse in (lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S%z"), datetime.fromisoformat):
        try:
            when = parse(str(text).strip())
        except ValueError:
            continue
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    _log.warning("file_source: %s: its header's datetime %r does not parse: the stream is undated", path.name, text)
    return None


def _undeclared_rates(streams: list) -> list[str]:
    """For each irregular numeric stream (not markers) whose stamps step at one rate, as an app that sends EEG without
    declaring its rate (nominal_srate 0) writes it: 'stream NAME declares no rate (0 Hz) but its stamps advance at
    R samples/s'. Such a stream was refused with 'set stream to a stream listed without a note': there was none."""
    said = []
    for s in streams:
        t = np.asarray(s["time_stamps"], dtype=np.float64)
        if _is_marker(s) or len(t) < 10 or _nominal_rate(s["info"]) > 0:
            continue
        step = np.diff(t)
        median = float(np.median(step))
        if median > 0 and np.mean(np.abs(step - median) < 0.1 * median) > 0.9:  # (events come at no one rate)
            said.append(
                f"stream {_first(s['info'], 'name')!r} declares no rate (0 Hz: irregular), but its stamps advance at "
                f"{1 / median:.6g} samples/s"
            )
    return said


def _say_left_out(path: Path, streams: list) -> None:
    """Irregular numeric streams that are neither the signal nor markers (a sensor sampled at its own times): said."""
    for s in streams:
        info = s["info"]
        if len(s["time_stamps"]) and _nominal_rate(info) <= 0 and not _is_marker(s):
            _log.warning(
                "file_source: %s: stream %r (type %r, irregular, %s) is left out: an irregular numeric stream is "
                "no signal, and its values are read as markers only when its type is Markers, Events, Triggers or "
                "Stim; if it holds event codes, load the file with pyxdf.load_xdf and replay the signal with "
                "array_source, its codes as events=[[onset s, 0, code], ...]",
                path.name,
                _first(info, "name"),
                _first(info, "type") or "",
                _first(info, "channel_format"),
            )


class _WithoutClockSegmentNotes(logging.Filter):
    """Drops pyxdf's per-stream 'Segments and clock-segments differ' (said for every stream of a file without
    clock offsets, and whenever a break is shorter than pyxdf's clock-segment threshold)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "clock-segments differ" not in record.getMessage()


def _say_missing_clock_offsets(path: Path, replayed: list) -> None:
    """One warning when streams replayed together lack clock offsets and may come from different computers."""
    missing = [_first(x["info"], "name") or "?" for x in replayed if not len(x.get("clock_times") or [])]
    hosts = {_first(x["info"], "hostname") or None for x in replayed}
    if len(replayed) < 2 or not missing or (len(hosts) == 1 and None not in hosts):
        return  # one stream needs no alignment; one computer's streams share its clock
    _log.warning(
        "file_source: %s: stream%s %s carr%s no clock offsets (LSL time_correction): replayed with the timestamps "
        "as recorded, which is right when every stream came from one computer and off by the difference of their "
        "clocks otherwise",
        path.name,
        "s" if len(missing) > 1 else "",
        ", ".join(repr(m) for m in missing),
        "y" if len(missing) > 1 else "ies",
    )


def _keys(s) -> tuple[str, ...]:
    """What `stream` may give to pick s: its name, type, source_id, or its number in the file ('2' or '#2')."""
    info = s["info"]
    n = str(info.get("stream_id", ""))
    return tuple(k for k in (_first(info, "name"), _first(info, "type"), _first(info, "source_id"), n, f"#{n}") if k)


def describe(streams) -> str:
    def one(s) -> str:
        info, note = s["info"], _why_not(s)
        source = f"source_id {_first(info, 'source_id')}, " if _first(info, "source_id") else ""
        return (
            f"#{info.get('stream_id', '?')} '{_first(info, 'name')}' (type {_first(info, 'type') or '-'}, {source}"
            f"{_first(info, 'channel_count')} ch, {_first(info, 'nominal_srate')} Hz, "
            f"{_first(info, 'channel_format')}{', ' + note if note else ''})"
        )

    return "; ".join(one(s) for s in streams) or "none"


def _fitted_steps(r: np.ndarray, ks: np.ndarray, lo: np.ndarray, hi: np.ndarray, w: int, sums) -> np.ndarray:
    """At each k of `ks`: where the least-squares line through r[max(lo, k - w):k] puts sample k, subtracted from
    where the line through r[k:min(hi, k + w)] does (NaN where a side has under 4 samples). `sums`: cumulative
    sums of r and of i * r (from 0), so every line costs O(1); j = i - k keeps the index sums exact."""
    c_r, c_ir = sums

    def at_k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        m = (b - a).astype(np.float64)
        j0, j1 = (a - ks).astype(np.float64), (b - 1 - ks).astype(np.float64)  # j runs from j0 to j1
        sj = (j0 + j1) * m / 2
        sjj = (j1 * (j1 + 1) * (2 * j1 + 1) - (j0 - 1) * j0 * (2 * j0 - 1)) / 6
        sr = c_r[b] - c_r[a]
        sjr = (c_ir[b] - c_ir[a]) - ks * sr
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (m * sjr - sj * sr) / (m * sjj - sj**2)
            return np.where(m >= 4, (sr - slope * sj) / m, np.nan)

    return at_k(ks, np.minimum(hi, ks + w)) - at_k(np.maximum(lo, ks - w), ks)


def dropouts(t: np.ndarray, rate: float) -> np.ndarray:
    """First indices of the samples after each dropout of a regular stream's timestamps `t`: a jump that the
    samples after it keep, judged by lines fitted to FIT_SECONDS of stamps on each side (a late stamp that the next
    ones take back is jitter), of over 1.5 sample periods and 6 times the stamps' jitter (so a jittery Bluetooth
    stream, stamped in late chunks, is not cut at every chunk; a dropout under that is fitted across)."""
    n, period = len(t), 1.0 / rate
    w = max(20, int(round(FIT_SECONDS * rate)))
    if n < 8:
        return np.zeros(0, dtype=np.int64)
    r = (np.asarray(t, dtype=np.float64) - t[0]) - np.arange(n) * period
    lag = np.diff(r[:: max(1, w // 2)]) if n > w else np.diff(r)  # jitter between stamps w/2 apart: chunked too
    jitter = 1.4826 * np.median(np.abs(lag - np.median(lag))) / np.sqrt(2)
    limit = max(1.5 * period, 6 * jitter)
    ks = np.flatnonzero(np.abs(np.diff(r)) > 0.5 * period) + 1  # a jump: dt off the period by over half of one
    sums = (np.concatenate([[0.0], np.cumsum(r)]), np.concatenate([[0.0], np.cumsum(np.arange(n) * r)]))
    step = np.abs(_fitted_steps(r, ks, np.zeros_like(ks), np.full_like(ks, n), w, sums))
    found: list[int] = []
    for k in ks[np.argsort(-np.nan_to_num(step))]:  # the largest step of each neighbourhood
        if step[np.searchsorted(ks, k)] > limit and all(abs(k - f) >= w for f in found):
            found.append(int(k))
    found.sort()
    edges = np.array([0, *found, n])  # again, each side's line only up to the neighbouring dropouts
    lo = edges[np.searchsorted(edges, ks, side="right") - 1]
    lo = np.where(np.isin(ks, found), edges[np.maximum(np.searchsorted(edges, ks) - 1, 0)], lo)
    hi = edges[np.searchsorted(edges, ks, side="right")]
    step = np.abs(_fitted_steps(r, ks, lo, hi, w, sums))
    return ks[np.nan_to_num(step) > limit].astype(np.int64)


def dejitter(t: np.ndarray, rate: float, what: str | None = "a stream") -> tuple[list[tuple[int, int]], np.ndarray]:
    """(segments [(first, last)] between dropouts, the timestamps on one least-squares line per segment), as pyxdf's
    jitter removal, with segments ended at every dropout (pyxdf: only at jumps over 1 s). Damaged stamps and a rate
    off the nominal one are said, naming `what`; what=None: not said (a stream that is not replayed)."""
    t = np.asarray(t, dtype=np.float64)
    bad = ~np.isfinite(t)
    if bad.any() and not bad.all():  # a damaged stamp (NaN) made every fitted time NaN: from its neighbours
        i = np.arange(len(t))
        t = t.copy()
        t[bad] = np.interp(i[bad], i[~bad], t[~bad])
        if what is not None:
            _log.warning(
                "file_source: %s: %d timestamps of %d are not finite: put between their neighbours",
                what,
                bad.sum(),
                len(t),
            )
    starts = [0, *dropouts(t, rate).tolist()]
    ends = [*starts[1:], len(t)]
    out, samples, seconds = t.copy(), 0, 0.0
    for a, b in zip(starts, ends):
        if b - a > 1:
            i = np.arange(a, b)
            out[a:b] = np.polyval(np.polyfit(i, t[a:b], 1), i)
            samples, seconds = samples + b - a - 1, seconds + out[b - 1] - out[a]
    if what is not None and seconds > 0 and abs(samples / seconds - rate) > 0.1 * rate:  # (pyxdf says so too)
        _log.warning(
            "file_source: %s: its timestamps advance at %.4g samples/s, not its nominal %g Hz: replayed as %g Hz, "
            "the rate the outlet declared (filters and windows downstream count with it); check the device's rate",
            what,
            samples / seconds,
            rate,
            rate,
        )
    return [(a, b - 1) for a, b in zip(starts, ends) if b > a], out


def _text(value) -> str:
    """A marker's text: a string as it is, a number as its integer when it is one (2.0 -> '2')."""
    if isinstance(value, str):
        return value
    v = float(value)
    return str(int(v)) if v.is_integer() else repr(v)


class XdfReader(_Reader):
    """One numeric stream of an XDF file as file_source's signal, every marker stream as its events."""

    def __init__(self, path: Path, stream: str | None, dtype: str, stim_channel: str | None = None):
        quiet = _WithoutClockSegmentNotes()
        logging.getLogger("pyxdf.pyxdf").addFilter(quiet)
        view = CaseView(path) if needs_view(path) else None  # REC.XDFZ: pyxdf unzips only '.xdfz'
        try:
            where = path if view is None else view.path  # (a file that ends inside a chunk: its whole chunks)
            streams, header = load_xdf(where, path, synchronize_clocks=True, dejitter_timestamps=False)
        finally:
            logging.getLogger("pyxdf.pyxdf").removeFilter(quiet)
            if view is not None:
                view.close()
        numeric = [s for s in streams if not _why_not(s)]
        markers = [s for s in streams if _is_marker(s)]
        if stream is not None:
            chosen = [s for s in numeric if stream in _keys(s)]
            if not chosen:  # 'EEG' for MNE-LSL's 'eeg' (its streams are typed by MNE's channel type), 'Player'
                chosen = [s for s in numeric if stream.casefold() in {k.casefold() for k in _keys(s)}]
        else:
            eeg = [s for s in numeric if (_first(s["info"], "type") or "").casefold() == "eeg"]
            chosen = numeric if len(numeric) == 1 else eeg
        if len(chosen) != 1:
            what = f"stream {stream!r}" if stream else "a single numeric stream (or one of type EEG)"
            empty = not numeric and any(_why_not(s).startswith("no samples") for s in streams)
            # the one asked for by name (beside a regular stream: was 'set stream to a stream listed without a note')
            asked = [x for x in streams if stream is not None and stream.casefold() in {k.casefold() for k in _keys(x)}]
            undeclared = _undeclared_rates(asked or ([] if numeric else streams))
            raise SpecError(
                f"file_source: {path}: {len(chosen)} regular numeric streams match {what}; the file holds: "
                + describe(streams),
                f"{path} holds no samples of its signal streams: it was cut short (LabRecorder stopped before it "
                "wrote a chunk, or a copy was interrupted); give the whole file"
                if empty
                else f"{undeclared[0]}: load it (pyxdf.load_xdf(PATH): its time_series, samples x channels) and replay "
                "it from Python with array_source (GraphBuilder: g.add('array_source', data=X.T, rate=HZ, "
                "ch_names=[...]))"
                if undeclared
                else "set file_source's `stream` to the name or type of a stream listed without a note, or, when several "
                "share them, to its number (stream: '#2') or its source_id",
            )
        s = chosen[0]
        for x in numeric:  # pyxdf's dejittering fits one line across a dropout under 1 s: ours breaks there
            rate, name = float(_first(x["info"], "nominal_srate")), _first(x["info"], "name")
            said = f"{path.name}: stream {name!r}" if x is s else None  # only the replayed stream's troubles are said
            x["info"]["segments"], x["time_stamps"] = dejitter(x["time_stamps"], rate, said)
        _say_missing_clock_offsets(path, [s, *markers])
        _say_left_out(path, streams)
        info = s["info"]
        self.stream_name = _first(info, "name")
        self.meas_date = _recorded_at(header, path)  # (a FIF recorder of the replay was dated by the wall clock)
        stamps = [t for x in streams if len(x["time_stamps"]) for t in (x["time_stamps"][0],)]
        self.zero = float(min(stamps))
        self.times = np.asarray(s["time_stamps"], dtype=np.float64) - self.zero
        self.sfreq = float(_first(info, "nominal_srate"))
        data = np.asarray(s["time_series"], dtype=np.float64)
        self.n_times = data.shape[0]
        labels, types, units = _channels(info, data.shape[1])
        scale, self.units = to_volts(units)
        self.data = (data * scale).astype(dtype, copy=False)
        self.ch_names = labels
        stype = (_first(info, "type") or "").lower()
        self.ch_types = [spec_channel_type((t or stype).lower()) for t in types]
        self.breaks = np.array([int(a) for a, _ in info.get("segments", [])[1:]], dtype=np.int64)
        self._events(markers, self._triggers(data, stim_channel))

    def _triggers(self, data: np.ndarray, stim_channel: str | None) -> np.ndarray:
        """(n, 4) events of a trigger channel: each rise to a positive value (as mne.find_events, which
        file_source uses on MNE's formats: 'increasing' steps, a first sample above 0 included)."""
        if stim_channel is None:
            return np.zeros((0, 4))
        if stim_channel not in self.ch_names:
            raise SpecError(
                f"file_source: no stim channel {stim_channel!r} in stream {self.stream_name!r}",
                f"channels: {', '.join(self.ch_names)}",
                param="stim_channel",  # said at the line of stim_channel
            )
        x = np.nan_to_num(data[:, self.ch_names.index(stim_channel)])
        idx = np.flatnonzero((np.diff(x, prepend=0.0) > 0) & (x > 0))
        return np.column_stack([idx, self.times[idx], np.zeros(len(idx)), np.round(x[idx])]).astype(np.float64)

    def _events(self, markers, triggers: np.ndarray) -> None:
        for m in markers:  # a numeric stream's (code, value) pairs: the rule, said (was: channel 0, unsaid)
            width = len(m["time_series"][0]) if len(m["time_series"]) else 0
            if width > 1 and not isinstance(m["time_series"][0][0], str) and not _is_onehot(m):
                _log.warning(
                    "file_source: marker stream %r has %d numeric channels: channel 0 is each marker's code, the "
                    "other %d are left out",
                    _first(m["info"], "name"),
                    width,
                    width - 1,
                )
        rows = [
            (float(t) - self.zero, marker_text(v) if isinstance(v[0], str) else _text(v[0]), 0.0)
            for m in markers
            if not _is_onehot(m)
            for t, v in zip(m["time_stamps"], m["time_series"])
        ]
        for m in filter(_is_onehot, markers):  # each non-zero value: its channel's description, its duration
            if len(m["time_stamps"]):
                names = _channels(m["info"], np.shape(m["time_series"])[1])[0]
                texts, at, lasting = onehot_markers(m["time_series"], m["time_stamps"], names)
                rows += [(float(t) - self.zero, d, float(w)) for d, t, w in zip(texts, at, lasting)]
        rows.sort(key=lambda r: r[0])
        labels = {int(c): str(int(c)) for c in triggers[:, 3]}
        events = [triggers]
        if rows:
            codes = codes_for([d for _, d, _ in rows])
            if labels and set(codes.values()) & set(labels):  # marker codes after the trigger values
                codes = {d: c + max(labels) for d, c in codes.items()}
            onset = np.array([t for t, _, _ in rows])
            idx = np.clip(np.searchsorted(self.times, onset - 0.5 / self.sfreq), 0, max(self.n_times - 1, 0))
            events.append(np.column_stack([idx, onset, [w for *_, w in rows], [codes[d] for _, d, _ in rows]]))
            labels.update({c: d for d, c in codes.items()})
        self.events = np.concatenate(events).astype(np.float64)
        self.labels = tuple(sorted(labels.items()))

    def time_of(self, index: int) -> float:
        return float(self.times[index])

    def get(self, picks, start, stop):
        return self.data[start:stop, picks].T


# --- writing ----------------------------------------------------------------------------------------
@dataclass
class XdfStream:
    """One stream to write: `data` is (samples, channels) numbers, or a list of strings for markers."""

    name: str
    type: str
    rate: float  # 0 for irregular (markers)
    data: np.ndarray | Sequence[Any]
    timestamps: np.ndarray | Sequence[float]
    channel_format: str = "double64"  # float32, double64, int16, ..., or string
    labels: list[str] = field(default_factory=list)
    channel_type: str = ""
    unit: str = ""
    clock_offsets: list[tuple[float, float]] = field(default_factory=list)  # (collection time, offset)
    hostname: str = ""  # the computer the stream came from (LabRecorder writes it; "" leaves it out)


def _varlen(n: int) -> bytes:
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes) -> bytes:
    return _varlen(len(content) + 2) + struct.pack("<H", tag) + content


def _header_xml(s: XdfStream, n_ch: int) -> str:
    chans = "".join(
        f"<channel><label>{escape(lab)}</label><type>{escape(s.channel_type)}</type>"
        f"<unit>{escape(s.unit)}</unit></channel>"
        for lab in s.labels
    )
    return (
        f'<?xml version="1.0"?><info><name>{escape(s.name)}</name><type>{escape(s.type)}</type>'
        f"<channel_count>{n_ch}</channel_count><nominal_srate>{s.rate!r}</nominal_srate>"
        f"<channel_format>{s.channel_format}</channel_format><source_id>{escape(s.name)}</source_id>"
        f"<version>1.1</version><created_at>0</created_at><uid>{escape(s.name)}</uid>"
        + (f"<hostname>{escape(s.hostname)}</hostname>" if s.hostname else "")
        + f"<desc>{'<channels>' + chans + '</channels>' if chans else ''}</desc></info>"
    )


def write_xdf(path, streams: list[XdfStream], datetime: str | None = None) -> Path:
    """Write an XDF 1.0 file with these streams (stream ids 1, 2, ...); every sample carries its timestamp.
    `datetime`: the recording's start in the file header, as LabRecorder writes it ('2021-03-10T12:00:00+0100')."""
    path = Path(path)
    when = f"<datetime>{escape(datetime)}</datetime>" if datetime else ""
    out = [b"XDF:", _chunk(1, f'<?xml version="1.0"?><info><version>1.0</version>{when}</info>'.encode())]
    for sid, s in enumerate(streams, start=1):
        sid_b = struct.pack("<I", sid)
        is_str = s.channel_format == "string"
        if is_str:
            values = [[v] if isinstance(v, str) else list(v) for v in s.data]
            n_ch = len(values[0]) if values else max(1, len(s.labels))
        else:
            values = np.asarray(s.data)
            n_ch = values.shape[1] if values.ndim == 2 else max(1, len(s.labels))
        out.append(_chunk(2, sid_b + _header_xml(s, n_ch).encode()))
        ts = np.asarray(s.timestamps, dtype=np.float64)
        body = bytearray(sid_b + _varlen(len(ts)))
        if is_str:
            for t, sample in zip(ts, values):
                body += b"\x08" + struct.pack("<d", t)
                for v in sample:
                    raw = v.encode()
                    body += _varlen(len(raw)) + raw
        else:
            rows = np.ascontiguousarray(values, dtype=_DTYPES[s.channel_format])
            for t, row in zip(ts, rows):
                body += b"\x08" + struct.pack("<d", t) + row.tobytes()
        out.append(_chunk(3, bytes(body)))
        for when, value in s.clock_offsets:
            out.append(_chunk(4, sid_b + struct.pack("<dd", when, value)))
        first, last = (ts[0], ts[-1]) if len(ts) else (0.0, 0.0)  # an empty stream (a device that sent nothing)
        footer = (
            f'<?xml version="1.0"?><info><first_timestamp>{first!r}</first_timestamp>'
            f"<last_timestamp>{last!r}</last_timestamp><sample_count>{len(ts)}</sample_count></info>"
        )
        out.append(_chunk(6, sid_b + footer.encode()))
    path.write_bytes(b"".join(out))
    return path
