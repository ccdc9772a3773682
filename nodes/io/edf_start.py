"""The start time of day in an EDF/BDF header (bytes 176-184, hh.mm.ss) where MNE misreads it, and the date it reads
none from (bytes 168-176, dd.mm.yy).

MNE (mne.io.edf) takes the start date from EDF+'s recording field ('Startdate 12-AUG-2009') or from the dd.mm.yy
field, and the time of day from the hh.mm.ss field, split at its dots. A time written with other separators
('16:15:00', as some writers do) or left blank it took as 00:00:00 without a word (a recorder's copy, BIDS' acq_time
said midnight); a time out of range ('25.00.00', '12.60.00') failed the whole file with MNE's 'hour must be in
0..23', which named no field of the file. Here a time written with other separators is read as written (and said),
one that is no time at all is said, and one out of range is refused with the bytes to mend. A date MNE reads none from
(no EDF+ 'Startdate dd-MMM-yyyy', and '10/03/21' or blank in dd.mm.yy) left the file undated with MNE's 'Invalid
measurement date encountered in the header.' alone: the field, its text and the mend are said."""

from __future__ import annotations

import logging
import re
import shlex
from datetime import datetime
from pathlib import Path

from wavegraph.pipeline.spec import SpecError

_log = logging.getLogger("wavegraph.file_source")

_AT = 176  # the time field's first byte; 8 bytes long
_OTHER_FORM = re.compile(r"\s*(\d{1,2})[:\-/ ,;_](\d{1,2})[:\-/ ,;_](\d{1,2})\s*")


def _field(head: bytes) -> str:
    return head[_AT : _AT + 8].decode("latin-1")


def _as_mne(text: str) -> tuple[int, int, int] | None:
    """The (hour, minute, second) MNE reads from the field (its parse: three integers between dots); None where it
    reads none (it then takes 00:00:00)."""
    try:
        hour, minute, second = (int(x) for x in text.split("."))
    except ValueError:
        return None
    return hour, minute, second


def _in_range(hms: tuple[int, int, int]) -> bool:
    hour, minute, second = hms
    return 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60


def _is_date(day: int, month: int, year: int) -> bool:
    try:
        datetime(year + 2000 if year < 85 else year + 1900, month, day)  # EDF's yy: 85-99 are 1985-1999
    except ValueError:
        return False
    return True


def _dated_by_mne(head: bytes) -> bool:
    """Whether MNE finds a start date in the header, and so reads (and may fail on) its time field."""
    recording = head[88:168].decode("latin-1").rstrip().split(" ")
    if len(recording) == 5:
        try:
            datetime.strptime(recording[1], "%d-%b-%Y")
            return True
        except ValueError:
            pass
    try:
        day, month, year = (int(x) for x in head[168:176].decode("latin-1").split("."))
    except ValueError:
        return False
    return _is_date(day, month, year)


def date_not_known(path: Path) -> bool:
    """Whether an EDF+/BDF+ says its start date is not known: its recording field's 'Startdate X' (EDF+'s 'unknown',
    which writers pair with 01.01.85 in the date field, as this recorder and MNE's export do). MNE reads that date
    field as 1985-01-01, so a replay of an undated recording's EDF was dated then."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    if head[192:196] not in (b"EDF+", b"BDF+"):  # a plain EDF's recording field is free text
        return False
    recording = head[88:168].decode("latin-1").split()  # (a real date beside 'Startdate X' is kept: MNE's reading)
    return recording[:2] == ["Startdate", "X"] and head[168:176] == b"01.01.85"


def say_undated(path: Path) -> None:
    """Say why MNE read no start date from an EDF/BDF (its words, 'Invalid measurement date encountered in the
    header.', named no field and no fix): which field holds what, what it means, and the command that mends a copy."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return
    text = head[168:176].decode("latin-1")
    found = _OTHER_FORM.fullmatch(text)
    numbers = (int(found[1]), int(found[2]), int(found[3])) if found else None
    example = ".".join(f"{n:02d}" for n in numbers) if numbers is not None and _is_date(*numbers) else "DD.MM.YY"
    _log.warning(
        "file_source: %s: its start date field (bytes 168-176) holds %r, not a date (dd.mm.yy), and its EDF+ recording "
        "field gives none ('Startdate dd-MMM-yyyy'): it is replayed undated, and a recorder's copy is undated too; "
        "fix: %s",
        path,
        text,
        _mend(
            path,
            "the recording's date (dd.mm.yy" + (", if these are day, month, year)" if example != "DD.MM.YY" else ")"),
            example,
            168,
        ),
    )


def _mend(path: Path, what: str, example: str, at: int = _AT) -> str:
    fixed = path.with_name(f"{path.stem}_fixed{path.suffix}")
    q, f = shlex.quote(str(path)), shlex.quote(str(fixed))
    return (
        f"write {what} into bytes {at}-{at + 8} of a copy: cp {q} {f} && printf {example} | dd of={f} bs=1 "
        f"seek={at} count=8 conv=notrunc; replay that"
    )


def check_start_time(path: Path, head: bytes) -> None:
    """Refuse an EDF/BDF whose start time field holds a time out of range where MNE fails on it (its 'hour must be in
    0..23' named no field)."""
    text = _field(head)
    hms = _as_mne(text)
    if hms is None or _in_range(hms) or not _dated_by_mne(head):
        return
    raise SpecError(
        f"file_source: {path}'s header is damaged: its start time field (bytes {_AT}-{_AT + 8}) holds {text!r}, not a "
        "time of day (hh.mm.ss, 00.00.00 to 23.59.59)",
        _mend(path, "the recording's start time (hh.mm.ss; 00.00.00 where it is not known)", "00.00.00"),
    )


def start_time(path: Path, start: datetime) -> datetime:
    """MNE's meas_date `start` of the EDF/BDF at `path`, with the time of day its header gives where MNE read
    00:00:00 for a time not written hh.mm.ss (said); a field that holds no time is said, `start` kept."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return start
    text = _field(head)
    if len(head) < _AT + 8 or _as_mne(text) is not None:
        return start  # read by MNE as written
    found = _OTHER_FORM.fullmatch(text)
    hms = (int(found[1]), int(found[2]), int(found[3])) if found else None
    if hms is not None and _in_range(hms):
        fixed = start.replace(hour=hms[0], minute=hms[1], second=hms[2])
        _log.warning(
            "file_source: %s: its start time field (bytes %d-%d) holds %r, where EDF writes hh.mm.ss: MNE read it as "
            "00:00:00; the recording starts at %s, as the field gives",
            path,
            _AT,
            _AT + 8,
            text,
            fixed.isoformat(),
        )
        return fixed
    _log.warning(
        "file_source: %s: its start time field (bytes %d-%d) holds %r, not a time of day (hh.mm.ss): MNE dates the "
        "recording %s at 00:00:00, and so does a recorder's copy; its time of day is not known; fix: %s",
        path,
        _AT,
        _AT + 8,
        text,
        start.date().isoformat(),
        _mend(path, "the start time its software logged (hh.mm.ss, say 16.15.00)", "16.15.00"),
    )
    return start
