"""When a Broadcast WAV (BWF) file starts: its 'bext' chunk (EBU Tech 3285), read for file_source (audio_reader.py).

A field recorder or a DAW writes, in the bext chunk, OriginationDate ('yyyy-mm-dd', 10 bytes at 320), OriginationTime
('hh:mm:ss', 8 bytes at 330) and TimeReference (64 bits at 338: the first sample's count since midnight, the
timecode). libsndfile reads past it, and file_source replayed such a file undated (meas_date ""), a recorder's copy of
it dated by nothing. Here the stream's meas_date is the first sample's time: the date's midnight + TimeReference / rate
(sample-exact, as EBU defines it; an OriginationTime more than 1 s from it is said at INFO: a DAW's session
timecode), or the date at OriginationTime where TimeReference is 0 (not set, as most tools leave it). BWF keeps no time zone: the date and time are taken as UTC, as MNE takes an EDF's start (and an XDF's
datetime without an offset). A bext that is cut short or holds no date (a date or time that is not one; a
TimeReference past a day) is said, with the bytes to mend, and the file replays undated; one left blank (no date)
replays undated unsaid.

The recorder writes one (`write_bext`, through libsndfile's SFC_SET_BROADCAST_INFO before the first sample, so it
sits before the data in the header libsndfile keeps whole after each write): OriginationDate/Time of the first sample
in UTC and TimeReference, its sample count since that midnight; so a dated stream recorded to WAV replays dated, to
the sample. Its WAV is RIFF, capped at 4 GiB (recorder: wav_full), never RF64."""

from __future__ import annotations

import ctypes
import logging
import math
import re
import shlex
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

_log = logging.getLogger("wavegraph.file_source")

_DATE, _TIME, _REF = 320, 330, 338  # the fields' offsets in the chunk's body
_NEEDED = _REF + 8  # the bytes up to the end of TimeReference
_NUMBERS = re.compile(r"(\d{1,4})[-_:. /](\d{1,2})[-_:. /](\d{1,2})")  # (EBU allows any of '-_:. ' between them)


def _bext_at(path: Path) -> tuple[int, bytes, str] | None:
    """(where its body starts in the file, the body, the byte order) of the first bext chunk of a RIFF/RIFX/RF64 WAVE
    file; None for a file without one, or not a WAV."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
            return None
        order, at = (">" if head[:4] == b"RIFX" else "<"), 12
        while at + 8 <= size:
            f.seek(at)
            chunk, n = struct.unpack(order + "4sI", f.read(8))
            if chunk == b"bext":
                return at + 8, f.read(min(n, size - at - 8, 4096)), order
            if chunk == b"data" and n == 0xFFFFFFFF:  # RF64's data: its size in ds64; the bext comes before it
                return None
            at += 8 + n + (n & 1)
    return None


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("latin-1").strip()


def _mend(path: Path, what: str, example: str, at: int, count: int) -> str:
    fixed = path.with_name(f"{path.stem}_fixed{path.suffix}")
    q, f = shlex.quote(str(path)), shlex.quote(str(fixed))
    return (
        f"write {what} into bytes {at}-{at + count} of a copy: cp {q} {f} && printf {example} | dd of={f} bs=1 "
        f"seek={at} count={count} conv=notrunc; replay that"
    )


def bext_start(path: Path, rate: float) -> str | None:
    """The time of the first sample (ISO 8601, UTC) of a BWF file, from its bext chunk; None for a file without one,
    one whose date is left blank, and one whose bext is damaged (said: the file replays undated)."""
    try:
        found = _bext_at(path)
    except (OSError, struct.error):
        return None
    if found is None:
        return None
    start, body, order = found

    def undated(what: str, fix: str) -> None:
        _log.warning(
            "file_source: %s: its Broadcast WAV 'bext' chunk (at byte %d) %s: the file is replayed undated, and a "
            "recorder's copy is undated too; fix: %s",
            path,
            start - 8,
            what,
            fix,
        )

    if len(body) < _NEEDED:
        undated(
            f"holds {len(body)} bytes, fewer than the {_NEEDED} that reach its TimeReference (EBU Tech 3285; cut "
            "short, or not a bext)",
            "write the bext again with the tool that made the file (bwfmetaedit, say); replay that",
        )
        return None
    date_text, time_text = _text(body[_DATE : _DATE + 10]), _text(body[_TIME : _TIME + 8])
    reference = struct.unpack(order + "Q", body[_REF : _REF + 8])[0]
    if not date_text:  # (EBU: a field not known is left blank)
        return None
    parts = _NUMBERS.fullmatch(date_text)
    try:
        day = datetime(*(int(x) for x in parts.groups()), tzinfo=UTC) if parts and len(parts[1]) == 4 else None
    except ValueError:
        day = None
    if day is None:
        undated(
            f"gives OriginationDate {date_text!r}, not a date (yyyy-mm-dd)",
            _mend(path, "the recording's date (yyyy-mm-dd)", "2024-05-06", start + _DATE, 10),
        )
        return None
    if reference:
        if reference >= 86400 * rate:
            undated(
                f"gives TimeReference {reference} samples, {reference / rate / 3600:.6g} h at {rate:g} Hz: past a day, "
                "not a count of samples since midnight",
                _mend(
                    path, "0 (TimeReference not set: OriginationTime dates it)", r"'\0\0\0\0\0\0\0\0'", start + _REF, 8
                ),
            )
            return None
        first = day + timedelta(seconds=reference / rate)
        parts = _NUMBERS.fullmatch(time_text)
        said = 3600 * int(parts[1]) + 60 * int(parts[2]) + int(parts[3]) if parts else None
        if said is not None and min(abs(said - reference / rate), 86400 - abs(said - reference / rate)) > 1:
            _log.info(  # (a DAW's session timecode, 01:00:00:00, or a clock set apart from the timecode)
                "file_source: %s: its bext's TimeReference puts the first sample at %s, its OriginationTime says %s: "
                "dated by TimeReference (EBU Tech 3285: the first sample's count since midnight)",
                path,
                first.time().isoformat(),
                time_text,
            )
        return first.isoformat()
    parts = _NUMBERS.fullmatch(time_text)
    hms = tuple(int(x) for x in parts.groups()) if parts else ()
    if time_text and not (hms and hms[0] < 24 and hms[1] < 60 and hms[2] < 60):
        undated(
            f"gives OriginationTime {time_text!r}, not a time of day (hh:mm:ss), and no TimeReference",
            _mend(path, "the recording's start time (hh:mm:ss)", "10:00:00", start + _TIME, 8),
        )
        return None
    return day.replace(hour=hms[0], minute=hms[1], second=hms[2]).isoformat() if hms else day.isoformat()


SFC_SET_BROADCAST_INFO = 0x10F1  # libsndfile's sf_command: write a bext chunk (before any sample)


class _BroadcastInfo(ctypes.Structure):
    """libsndfile's SF_BROADCAST_INFO (sndfile.h), laid out as its C compiler lays it out (TimeReference is
    aligned to 340 in memory; libsndfile writes the chunk's fields packed, at 338 in the file)."""

    _fields_ = [  # noqa: RUF012 — ctypes reads the class attribute
        ("description", ctypes.c_char * 256),
        ("originator", ctypes.c_char * 32),
        ("originator_reference", ctypes.c_char * 32),
        ("origination_date", ctypes.c_char * 10),
        ("origination_time", ctypes.c_char * 8),
        ("time_reference_low", ctypes.c_uint32),
        ("time_reference_high", ctypes.c_uint32),
        ("version", ctypes.c_short),
        ("umid", ctypes.c_char * 64),
        ("loudness", ctypes.c_int16 * 5),
        ("reserved", ctypes.c_char * 180),
        ("coding_history_size", ctypes.c_uint32),
        ("coding_history", ctypes.c_char * 256),
    ]


def bext_fields(start: datetime, rate: int) -> tuple[str, str, int]:
    """(OriginationDate, OriginationTime, TimeReference) of a first sample at `start` in a file of `rate` Hz: the UTC
    date and time (to the second) and the sample count since that midnight (rounded to the sample; one that rounds to
    the next midnight is sample 0 of the next day)."""
    start = start.astimezone(UTC)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    since = start - midnight
    micros = (since.days * 86400 + since.seconds) * 1_000_000 + since.microseconds
    reference = (micros * rate + 500_000) // 1_000_000
    if reference >= 86400 * rate:  # (23:59:59.99999: rounds to the next day's first sample)
        midnight, reference = midnight + timedelta(days=1), reference - 86400 * rate
    first = midnight + timedelta(seconds=reference / rate)
    return midnight.date().isoformat(), first.strftime("%H:%M:%S"), reference


def first_sample_time(meas_date: str | None, seconds: float, wall_start: str) -> datetime | None:
    """When a recording's first sample was taken: the stream's meas_date + `seconds` (its first_time + the first t0: a
    replayed file's), the wall clock when its first chunk left the source (`wall_start`: a stream without a date, live
    or synthetic), None for a stream from an undated file (meas_date "", kept undated) or a date no one can read."""
    text = meas_date if meas_date is not None else wall_start
    try:
        when = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if when is None:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)  # (naive text: UTC, as record_formats.Origin)
    return when + timedelta(seconds=seconds) if meas_date and math.isfinite(seconds) else when


def write_bext(f, start: datetime, rate: int) -> bool:
    """Give an open soundfile.SoundFile (a WAV opened for writing, no sample written yet) a bext chunk dating its first
    sample at `start`. False where libsndfile refuses it or the soundfile in use has no handle to give (it is
    private): the WAV is then undated, as before."""
    import soundfile as sf

    date, time_, reference = bext_fields(start, rate)
    info = _BroadcastInfo()
    info.description = b"wavegraph recorder"
    info.originator = b"wavegraph"
    info.origination_date = date.encode("ascii")
    info.origination_time = time_.encode("ascii")
    info.time_reference_low, info.time_reference_high = reference & 0xFFFFFFFF, reference >> 32
    info.version = 1  # (version 2 adds loudness fields, which are not known here)
    try:
        ptr = sf._ffi.cast("void *", sf._ffi.from_buffer(info))
        return sf._snd.sf_command(f._file, SFC_SET_BROADCAST_INFO, ptr, ctypes.sizeof(info)) == 1
    except AttributeError:  # soundfile's internals moved
        return False
