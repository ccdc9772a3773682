"""The recorder's own CSV and NPZ recordings, read back for `file_source` (readers.open_reader picks this back end).

A signal stream recorded to CSV or NPZ replays with the samples, channel names and rate it was recorded with:

  NPZ  - `data` (channels, samples) and `spec` (the StreamSpec as JSON): the samples in their own dtype's values
         (file_source gives float64 or float32), names, types, units, bad channels, rate, origin (meas_date,
         first_time) and passband (highpass, lowpass, band) of the recorded stream (values no recorder writes, a
         lowpass of -1 in a spec edited by hand, are refused naming them); `t0` (the first sample's time, written
         since 2026-12-01) starts the chunk times, else they start at 0. The recorder's chunk log beside it (`<path>.chunks.csv`: seq, t0, n, gap of
         every chunk; kept after a gap, or with chunk_log: true) gives each chunk's time and flags the chunk after a
         gap `gap` (a log of another length than the data is not used: said). Read lazily: the `data` member is mapped, not loaded (a stored zip member; its CRC-32 checked at configure, in one pass over it, when it is at most 1 GiB: a changed byte was replayed unsaid; a larger one is mapped unchecked, as a pass would read all of it at each configure).
  CSV  - header `t,<name>,...`, then one row a sample: the values as written (repr digits: exact), chunk times from
         the `t` column, the rate from its steps (the ratio of whole numbers, p/q with q <= 1000, within 1 ppm of
         them, else the steps' own; times written to fewer digits (256 Hz to the ms: a median step 1.5 % or more off)
         or Unix times (floats 2.4e-7 s apart): the rate over the longest run, the simplest ratio their rounding
         allows), a step off the rate by more than half a sample and 50 ms (lsl_inlet's
         gap_tolerance: a gap the recorder received, a clock that jumped; not a live inlet's jitter) flags the chunk
         there `gap`, and so does the recorder's chunk log beside it (`<path>.chunks.csv`, kept after a gap) where a
         gap's time did not jump (an epochs file's epochs back to back). CSV keeps no channel type or unit: the channels are `misc`, in the file's values. The file is
         parsed whole at configure (text is 2-3 times the size of the samples).

`stim_channel` gives the rises of that channel as events (code = value), as on a FIF; it was refused ('a recorder's
table: no stim channel'), though a FIF recorded to NPZ keeps its trigger channel and nothing else of its events.

Feature, token and event recordings (NPZ kind other than signal; CSV `t,f0,...` of a features stream is a signal's
layout and is read as one, `t,token,...` and `onset,duration,code,label` are not) are refused with how to load them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import zipfile
import zlib
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError, StreamSpec

from .logged_times import LoggedTimes, read_log
from .readers import _no_events, _Reader

_log = logging.getLogger("wavegraph.file_source")
_LOAD = (
    "load it (numpy.load, or numpy.loadtxt / pandas.read_csv) and replay it from Python with array_source "
    "(GraphBuilder: g.add('array_source', data=X, rate=HZ, ch_names=[...]))"
)
_EDITED = (  # a stored spec that no recorder writes
    "it was edited or not written by the recorder: put the recorded values back (the JSON of its spec member), or "
    + _LOAD
)


def open_table(path: Path, stim_channel: str | None = None, proj: bool | None = None) -> _Reader:
    if proj:
        raise SpecError(f"file_source: {path} is a recorder's table: no SSP projectors (proj)", "leave proj out")
    reader = NpzReader(path) if path.name.lower().endswith(".npz") else CsvReader(path)
    if stim_channel is not None:  # (was refused, 'a recorder's table: no stim channel', though it holds the channel)
        _trigger_events(reader, stim_channel, path)
    return reader


def _trigger_events(reader: _Reader, name: str, path: Path) -> None:
    """The events of trigger channel `name`, as file_source reads a FIF's or an XDF's: each rise to a positive value
    (mne.find_events' 'increasing' steps, a first sample above 0 included), the value its code and label."""
    if name not in reader.ch_names:
        raise SpecError(
            f"file_source: no stim channel {name!r} in {path}",
            f"channels: {', '.join(reader.ch_names)}",
            param="stim_channel",
        )
    x = np.nan_to_num(np.asarray(reader.get([reader.ch_names.index(name)], 0, reader.n_times), np.float64)[0])
    if x.size and x.max() > x.min() and max(abs(x.min()), abs(x.max())) < 1:  # as triggers.check_trigger_codes
        raise SpecError(
            f"file_source: stim channel {name!r} of {path} holds no integer codes: its values span {x.min():.4g} to "
            f"{x.max():.4g} (a pulse recorded as a voltage?)",
            "give a trigger channel of integer codes (0 between events), or turn this one into codes first and "
            "replay it with array_source",
        )
    idx = np.flatnonzero((np.diff(x, prepend=0.0) > 0) & (x > 0))
    codes = np.round(x[idx])
    onset = [reader.time_of(int(i)) for i in idx]  # on the chunks' clock (a recorder downstream places them by it)
    reader.events = np.column_stack([idx, onset, np.zeros(len(idx)), codes]).astype(np.float64).reshape(-1, 4)
    reader.labels = tuple((int(c), str(int(c))) for c in sorted(set(codes.tolist())))


def _not_signal(path: Path, kind: str) -> SpecError:
    return SpecError(
        f"file_source: {path} holds a recorded {kind} stream; file_source replays signals (channels x samples)", _LOAD
    )


def nice_rate(rate: float) -> float:
    """A rate measured from written times, as the ratio of small whole numbers it is within 1 ppm of (2048, 1000/3)."""
    if not np.isfinite(rate) or rate <= 0:
        return rate
    near = Fraction(rate).limit_denominator(1000)
    return float(near) if abs(float(near) - rate) <= 1e-6 * rate else rate


# The data member's CRC-32 is checked at configure up to this size: one pass over it, at each configure (a validate,
# the run's parent and its worker). A larger member is mapped unchecked: a 20 GB recording was read whole twice
# before its first chunk (about 0.5 s a GiB from the page cache; a disk's speed, and the page cache filled, beyond).
CRC_CHECK_BYTES = 1 << 30
WRONG_RATE = 0.015  # stamps this far off the rate: a wrong rate, not a clock's drift (stamp_drift.py)
_TIME_COLUMNS = ("time", "times", "timestamp", "timestamps", "time_s", "time (s)", "seconds", "lsl_timestamp")


def _npz_head(path: Path) -> None:
    """An .npz is a zip archive (numpy.savez): one array saved as .npy under that name ('numpy.ndarray' object does not
    support the context manager protocol) or a file that is no zip (numpy then took it for a pickle: 'This file contains
    pickled (object) data ... allow_pickle=') said what they are."""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return  # (np.load says it)
    if head == b"\x93NUMPY":
        raise SpecError(
            f"file_source: {path} holds one NumPy array (.npy, as numpy.save writes it), not a recorder's .npz (an "
            "archive of keys data and spec)",
            _LOAD.replace("load it (numpy.load, or numpy.loadtxt / pandas.read_csv)", "load it (X = numpy.load(PATH))"),
        )
    if not head.startswith(b"PK"):
        from .file_checks import misnamed  # an EDF or a FIF named .npz: what it holds

        if (found := misnamed(path, ValueError("not a zip archive"))) is not None:
            raise found
        raise SpecError(
            f"file_source: cannot read {path}: its first bytes are not a zip archive's, which an .npz is "
            f"({head[:4]!r}): it is damaged, cut short at its start, or another kind of file named .npz",
            "give the recorder's .npz as it wrote it, or " + _LOAD,
        )


class NpzReader(LoggedTimes):
    """A recorder's .npz: keys `data` and `spec` (and `t0`)."""

    def __init__(self, path: Path):
        _npz_head(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                if not {"data", "spec"} <= keys:
                    raise SpecError(
                        f"file_source: {path} is a NumPy archive of keys {sorted(keys)}, not a recorder's "
                        "(keys data and spec)",
                        _LOAD,
                    )
                try:
                    spec = StreamSpec.from_dict(json.loads(str(z["spec"])))
                except SpecError as e:  # (said without the file: 'unknown channel type', '3 names for 5 channels')
                    raise SpecError(f"file_source: {path}: its spec: {e.message}", _EDITED) from e
                t0 = float(z["t0"]) if "t0" in keys else 0.0
            # (read outside this: a member cut short or of objects was 'ValueError: mmap length is greater than file
            # size; fix: supported formats: ...', a list of formats for a file of a supported one)
            self.data = _stored_array(path, "data.npy")
        except SpecError:
            raise
        except Exception as e:  # noqa: BLE001 — a damaged zip, a spec that is no StreamSpec
            raise SpecError(
                f"file_source: cannot read {path}: {type(e).__name__}: {e}",
                "it is damaged or not a recorder's .npz: record it again, or " + _LOAD,
            ) from e
        if spec.kind != "signal" or len(spec.shape) != 1:
            raise _not_signal(path, spec.kind if spec.kind != "signal" else f"multi-axis signal {spec.shape}")
        if not np.issubdtype(np.dtype(spec.dtype), np.number) or np.dtype(spec.dtype).kind == "c":
            raise SpecError(f"file_source: {path} holds {spec.dtype} samples; it replays real numbers", _LOAD)
        if self.data.dtype.kind not in "biuf":  # complex cast to float64 lost its imaginary part without a word
            raise SpecError(
                f"file_source: {path} holds {self.data.dtype} samples in its data, where its spec says {spec.dtype}; "
                "it replays real numbers",
                "it was not written by the recorder: " + _LOAD,
            )
        n_ch = spec.shape[0]
        if self.data.ndim != 2 or self.data.shape[0] != n_ch:
            raise SpecError(f"file_source: {path}: data of shape {self.data.shape} is not ({n_ch}, samples)", _LOAD)
        rate = spec.rate  # (rate 0 failed configure with a ZeroDivisionError; "fast", np.isfinite's TypeError)
        if not (isinstance(rate, int | float) and not isinstance(rate, bool) and math.isfinite(rate) and rate > 0):
            raise SpecError(
                f"file_source: {path}: its spec gives a sample rate of {rate!r}; a signal needs a number of Hz above 0",
                _EDITED,
            )
        if not np.isfinite(t0):  # every chunk time went out NaN (a CSV recorder downstream wrote a `t` of nan)
            _log.warning("file_source: %s gives its first sample's time (t0) as %s: the times start at 0", path, t0)
            t0 = 0.0
        self.sfreq, self.n_times, self.t0 = float(spec.rate), int(self.data.shape[1]), t0
        self.ch_names = list(spec.channel_names) or [f"ch{i}" for i in range(n_ch)]
        self.ch_types = list(spec.channel_types) or ["misc"] * n_ch
        self.units, self.bads = spec.units, tuple(spec.bads)
        self.meas_date, self.first_time = spec.meas_date, spec.first_time
        _check_origin(spec, path)
        self.passband = (spec.highpass, spec.lowpass)
        # a stream resampled up from a lower rate holds nothing above that rate's Nyquist (it replayed as full-band)
        self.band = float(spec.band) if spec.band is not None and spec.band < self.sfreq / 2 else None
        self.events = _no_events()
        self._chunk_log(path)  # each chunk's time and the gaps, from the log beside it (logged_times.py)

    def get(self, picks, start, stop):
        return np.asarray(self.data[picks, start:stop], dtype=np.float64)

    def close(self) -> None:
        self.data = np.zeros((0, 0))


def _check_origin(spec: StreamSpec, path: Path) -> None:
    """SpecError naming the fields of a stored spec that no recorder writes (a file edited by hand): lowpass -1 was
    replayed so and a FIF recorder after it wrote lowpass -1.0; lowpass "x" stopped configure with "could not convert
    string to float: 'x'; fix: check its params"; meas_date 5 or first_time "x" failed at a recorder downstream."""

    def number(v) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    def date(v) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return v == "" or bool(datetime.fromisoformat(v))
        except ValueError:
            return False

    bad = [
        f"{k} {v!r}"
        for k, v, ok in (
            ("highpass", spec.highpass, number(spec.highpass) and spec.highpass >= 0),
            ("lowpass", spec.lowpass, spec.lowpass is None or number(spec.lowpass) and spec.lowpass > 0),
            ("band", spec.band, spec.band is None or number(spec.band) and spec.band > 0),
            ("meas_date", spec.meas_date, spec.meas_date is None or date(spec.meas_date)),
            ("first_time", spec.first_time, number(spec.first_time)),
        )
        if not ok
    ]
    if bad:
        raise SpecError(
            f"file_source: {path}: its spec gives {', '.join(bad)}, which no recorder writes (highpass: Hz, 0 or "
            "more; lowpass and band: Hz above 0; meas_date: ISO 8601 text; first_time: seconds)",
            _EDITED,
        )


def _crc_matches(path: Path, start: int, size: int, crc: int) -> bool:
    """Whether the `size` bytes at `start` of `path` have this CRC-32 (read in blocks: the member is not loaded)."""
    value = 0
    with open(path, "rb") as f:
        f.seek(start)
        while size > 0 and (block := f.read(min(size, 16 << 20))):
            value, size = zlib.crc32(block, value), size - len(block)
    return size == 0 and value == crc


def _stored_array(path: Path, member: str) -> np.ndarray:
    """The member as a read-only map of the file when stored uncompressed (the recorder's), else loaded."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
        with zf.open(member) as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            header = f.tell()
        if info.compress_type != zipfile.ZIP_STORED or dtype.hasobject:
            return np.load(path, allow_pickle=False)[member.removesuffix(".npy")]
    with open(path, "rb") as raw:
        raw.seek(info.header_offset)
        local = raw.read(30)
        name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    if info.compress_size > CRC_CHECK_BYTES:  # (read lazily, as before the check: said, not checked)
        said = "file_source: %s: its %s (%d bytes) is not checked against its CRC-32 (a pass over all of it each time)"
        _log.info(said, path, member, info.compress_size)
    elif not _crc_matches(path, start, info.compress_size, info.CRC):  # (a flipped byte was replayed unsaid)
        raise SpecError(
            f"file_source: {path} is damaged: the bytes of its {member} are not those written (their CRC-32 differs "
            "from the one the zip archive stores for them: a disk, copy or transfer error changed samples, or where "
            "they start)",
            "give an undamaged copy (compare its checksum with the original's); numpy.load refuses it too "
            "(BadZipFile: Bad CRC-32)",
        )
    offset = start + header
    order = "F" if fortran else "C"
    if not int(np.prod(shape)):
        return np.zeros(shape, dtype=dtype, order=order)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)


def _first_bad_field(body: str, header: list[str]) -> tuple[int, str, str] | None:
    """(the file's line number, what is wrong, the fix's start) of the first row numpy.loadtxt cannot read in a CSV's
    `body` (the lines after `header`): a field that is empty or no number, named by its column, or a row of another
    width. None when every row reads (numpy's own words are said then)."""
    for n, line in enumerate(body.splitlines(), start=2):  # line 1 is the header
        text = line.split("#", 1)[0]  # loadtxt's comments and blank lines are skipped as it skips them
        if not text.strip():
            continue
        fields = next(csv.reader([text]), [])
        if len(fields) != len(header):
            return (
                n,
                f"{len(fields)} values under a header of {len(header)} columns ({','.join(header)[:80]})",
                "give every row one value a column, or ",
            )
        for name, field in zip(header, fields):
            try:
                float(field)
            except ValueError:
                what = "is empty" if not field.strip() else f"is {field.strip()[:40]!r}, not a number"
                return (
                    n,
                    f"a row is not numbers: column {name.strip()!r} {what}",
                    "write a number there (nan for a missing sample), or ",
                )
    return None


class CsvReader(_Reader):
    """A recorder's .csv of a signal (or features) stream: `t,<names>` then a row a sample."""

    def __init__(self, path: Path):
        text = csv_text(path)
        with io.StringIO(text, newline="") as f:
            first = f.readline()
            body = f.read()
        if body and not body.endswith("\n"):  # the recorder ends every row: a killed one's last is cut off
            last = body[body.rfind("\n") + 1 :]
            body = body[: body.rfind("\n") + 1]
            if path.with_name(path.name + ".chunks.csv").exists():  # a killed recording's (recover cuts it then)
                fix = f"`wavegraph recover {path}` cuts it off for good"
            else:  # recover leaves a CSV without its chunk log as it is: the fix it gave did nothing
                fix = (
                    f"if the row is whole (a file saved without a final line break), end the file with one (echo >> "
                    f"{path}); else delete it"
                )
            _log.warning(
                "file_source: the last row of %s (%r) has no line break: cut off (a recorder killed mid-row, a copy cut "
                "short) or a file saved without one; replayed without it; %s",
                path,
                last[:60],
                fix,
            )
        header = next(csv.reader([first]), [])
        if header[:4] == ["onset", "duration", "code", "label"]:
            raise _not_signal(path, "events")
        if header[:2] == ["t", "token"]:
            raise _not_signal(path, "tokens")
        if len(header) < 2 or header[0] != "t":
            timed = len(header) >= 2 and header[0].strip().lower() in _TIME_COLUMNS  # a time column under its own name
            raise SpecError(
                f"file_source: {path} is a table whose first row is {first.strip()[:80]!r}, not a recorder's "
                "(t,<channel>,...)",
                (
                    f"if its first column, {header[0].strip()!r}, is each row's time in seconds, name it t (the header "
                    f"t,{','.join(h.strip() for h in header[1:4])}{',...' if len(header) > 4 else ''}): file_source "
                    "replays such a table, its rate from the steps of t; or "
                    if timed
                    else ""
                )
                + _LOAD,
            )
        self.ch_names = header[1:]
        n_ch = len(self.ch_names)
        if not body.strip():
            raise SpecError(
                f"file_source: {path} holds no samples (its header only): there is nothing to replay, nor a rate",
                "record a stream that sends samples, or give another recording",
            )
        try:
            rows = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as e:
            if "j)" in body[:10_000]:  # Python complex text: the recorder's CSV of an stft (or other complex) stream
                raise SpecError(
                    f"file_source: {path} holds complex values (a recorded stft or other complex stream); file_source "
                    "replays real signals",
                    "read it with numpy.loadtxt(path, delimiter=',', skiprows=1, dtype=complex) and replay its real "
                    "and imaginary parts (or its magnitude) as channels with array_source",
                ) from None
            if bad := _first_bad_field(body, header):  # was numpy's 'at row 0, column 3': no line, no name
                raise SpecError(f"file_source: {path}:{bad[0]}: {bad[1]}", bad[2] + _LOAD) from None
            raise SpecError(f"file_source: cannot read {path}: {e}", "a row is not numbers: " + _LOAD) from e
        if rows.size and rows.shape[1] != n_ch + 1:
            raise SpecError(
                f"file_source: {path}: rows of {rows.shape[1]} values under a header of {n_ch + 1} columns", _LOAD
            )
        rows = rows.reshape(-1, n_ch + 1)
        self.t, self.data = rows[:, 0], np.ascontiguousarray(rows[:, 1:].T)
        self.n_times = len(self.t)
        self.ch_types, self.units, self.events = ["misc"] * n_ch, "", _no_events()
        steps = np.diff(self.t)
        if not len(steps) or not np.all(np.isfinite(self.t)):
            odd = np.flatnonzero(~np.isfinite(self.t))  # (was 'holds 20 rows with a time that is not finite', of one)
            lines = [i for i, s in enumerate(body.splitlines()) if s.strip() and not s.lstrip().startswith("#")]
            raise SpecError(
                f"file_source: {path} holds {self.n_times} row{'s' if self.n_times != 1 else ''}"
                + (
                    f", {len(odd)} of them with a time that is not finite (the first on line {lines[odd[0]] + 2}: "
                    f"{self.t[odd[0]]})"
                    if len(steps)
                    else ""
                )
                + ": its rate cannot be told from its `t` column",
                "file_source takes no `rate` (a CSV's is read from the steps of its `t` column); replay it from Python "
                "with array_source, giving the rate it was recorded at: g.add('array_source', data=numpy.loadtxt("
                f"{str(path)!r}, delimiter=',', skiprows=1, ndmin=2)[:, 1:].T, rate=HZ, ch_names={self.ch_names!r})",
            )
        regular = steps[(steps > 0) & (steps < 1.5 * np.median(steps))] if np.median(steps) > 0 else steps[:0]
        if not len(regular):
            raise SpecError(f"file_source: {path}: its `t` column does not increase: no rate", _LOAD)
        # the steps inside a chunk are 1/rate exactly but for rounding (chunk times a live inlet stamps jitter): the
        # median step's rate when it is a ratio of small whole numbers, else the rate over the longest regular run
        step = float(np.median(regular))
        a, b = _longest_run(steps, step)
        measured, span = (b - a) / (self.t[b] - self.t[a]), float(self.t[b] - self.t[a])
        self.sfreq = nice_rate(1 / step)
        # the median step is the times' rounding, not 1/rate, when they are written to fewer digits (256 Hz to the ms
        # steps 0.004 s and 0.003: read as 250 Hz, said 'stamped off its nominal rate') or are Unix times (1.7e9 s,
        # 2.4e-7 s apart as floats: 250 Hz read as 250.0032, 1000 as 1000.07): then the rate over the longest run, to
        # the simplest ratio within what that rounding allows
        coarse, spacing = abs(measured / self.sfreq - 1) > WRONG_RATE, float(np.spacing(abs(self.t[[a, b]]).max()))
        if coarse or spacing > 1e-6 * step:
            self.sfreq = _rounded_rate(
                measured, measured * (float(np.ptp(steps[a:b])) if coarse else 2 * spacing) / span
            )
        elif float(Fraction(self.sfreq).limit_denominator(1000)) != self.sfreq:  # (not snapped by nice_rate)
            self.sfreq = nice_rate(measured)
        off = np.abs(steps - 1 / self.sfreq) > max(0.5 / self.sfreq, 0.05)  # (a live inlet's chunk times jitter)
        self.breaks = np.flatnonzero(off).astype(np.int64) + 1
        back = np.flatnonzero(off & (steps < 0)) + 1  # (a recorder downstream called it 'samples missing', unsaid here)
        if len(back):
            _log.warning(
                "file_source: %s: its `t` column steps back %d time(s), first on line %d (from %.6g s to %.6g s): a "
                "clock reset, rows out of order, or two recordings joined?; replayed in the file's order, each step "
                "back a gap with its time going back",
                path,
                len(back),
                int(back[0]) + 2,
                self.t[back[0] - 1],
                self.t[back[0]],
            )
        still = np.flatnonzero(~off & (steps <= 0)) + 1  # (within the jitter tolerance: no gap, said)
        if len(still):  # a row written twice, two rows swapped: the times near it moved with the chunking, unsaid
            _log.warning(
                "file_source: %s: its `t` column repeats a time or steps back by under %.3g s %d time(s), first on "
                "line %d (from %.6g s to %.6g s): a row written twice, rows out of order, or chunk times that jitter "
                "by over a sample?; replayed in the file's order, the times near it off by up to %d sample(s) "
                "depending on where the chunks start",
                path,
                max(0.5 / self.sfreq, 0.05),
                len(still),
                int(still[0]) + 2,
                self.t[still[0] - 1],
                self.t[still[0]],
                max(1, round(float(np.max(1 / self.sfreq - steps[still - 1])) * self.sfreq)),
            )
        # a gap whose time did not jump (an epochs file's epochs back to back) shows only in the recorder's chunk log
        logged = read_log(path, self.n_times, self.sfreq, then="its gaps are those of its times")
        if logged is not None:
            self.breaks = np.union1d(self.breaks, logged[2]).astype(np.int64)

    def time_of(self, index: int) -> float:
        return (
            float(self.t[index])
            if index < self.n_times
            else float(self.t[-1]) + (index - self.n_times + 1) / self.sfreq
        )

    def get(self, picks, start, stop):
        return self.data[picks, start:stop]


def csv_text(path: Path, what: str = "file_source: ") -> str:
    """The text of a .csv, as the recorder writes it: UTF-8 (a BOM too: a copy saved by Excel starts with one). Binary
    data (a FIF, an NPZ or an Excel workbook named .csv) is refused naming what it is, not 'save it as UTF-8'; another
    encoding (a copy saved as Windows-1252) naming the byte and its line, with the fix. file_source's and plot's."""
    raw = path.read_bytes()
    refuse_binary(path, raw[:4096])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:  # ('supported formats: ...' was the fix given; plot: a bare UnicodeDecodeError)
        line = raw[: e.start].count(b"\n") + 1
        before = raw[: e.start].rsplit(b"\n", 1)[-1][-40:].decode("utf-8", "replace")
        raise SpecError(
            f"{what}{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} on line {line}, after {before!r}): "
            "the recorder writes UTF-8; a copy saved in another encoding (Windows-1252, Latin-1) is not read as one",
            f"save it as UTF-8 (Excel: 'CSV UTF-8'; or iconv -f cp1252 -t utf-8 {path.name} > utf8_{path.name})",
        ) from None


def refuse_binary(path: Path, head: bytes) -> None:
    """Refuse a .csv that holds binary data, naming what its first bytes say it is."""
    from .file_checks import misnamed
    from .readers import SUPPORTED

    found = misnamed(path, ValueError("it is not a CSV"), SUPPORTED)  # a FIF, EDF, BDF, ... by its first bytes
    if found is not None:
        raise found
    if b"\x00" not in head:
        return
    zipped = head.startswith(b"PK\x03\x04")
    raise SpecError(
        f"file_source: {path} is not text but "
        + ("a ZIP archive (a NumPy .npz, or an Excel .xlsx workbook?)" if zipped else "binary data")
        + ", not a CSV",
        ("give a NumPy archive its .npz suffix; save a workbook as CSV (Excel: Save As, CSV UTF-8)" if zipped else "")
        + ("; or " if zipped else "")
        + f"give the recording in a format file_source reads: {SUPPORTED}",
    )


def _rounded_rate(rate: float, within: float) -> float:
    """The ratio of whole numbers of the smallest denominator (up to 1000) within `within` Hz of `rate`, else `rate`:
    the rate that times written to fewer digits (ms) measure to no better than `within`."""
    for q in range(1, 1001):
        if abs(round(rate * q) / q - rate) <= within:
            return round(rate * q) / q
    return rate


def _longest_run(steps: np.ndarray, step: float) -> tuple[int, int]:
    """The first and last row of the longest run of steps within half `step` of it (its rate is measured there: times
    written to the ms step 0.004 and 0.003 s at 256 Hz)."""
    ok = np.abs(steps - step) <= 0.5 * step
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    k = int(np.argmax(ends - starts)) if len(starts) else 0
    return (int(starts[k]), int(ends[k])) if len(starts) else (0, 1)
