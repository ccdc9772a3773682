"""The rules for the integer codes of marker texts, shared by the LSL inlet and the file readers: a text that is its
own code (integer_code), the code of an LSL marker value (marker_code), the codes of a set of texts (codes_for, as file_source codes a recording's annotations), and
the text of a marker sample of several channels (marker_text)."""

from __future__ import annotations

import re

import numpy as np

_INTEGER = re.compile(r"[+-]?[0-9]+")

# MNE's marks of a discontinuity (mne.concatenate_raws: zero-length, at the first sample after it). The recorder marks
# a chunk flagged gap with them (until 2026-12 it wrote "gap", which a user's marker of that name could not be told
# from); the readers read them back as a gap, not as markers. MNE rejects an epoch across one and filters each side
# on its own (skip_by_annotation 'edge').
BOUNDARY = ("BAD boundary", "EDGE boundary")


def integer_code(text: str) -> int | None:
    """The integer a marker text spells in plain decimal (ASCII digits, an optional sign, spaces around), else
    None. Not int(): it also reads "1_2" as 12 and non-ASCII digits ("\\u0663" as 3)."""
    s = text.strip()
    return int(s) if _INTEGER.fullmatch(s) else None


def marker_code(marker, codes: dict[str, int]) -> int | None:
    """The code of one LSL marker value: a text's from `codes` (as it is, else without the spaces and line ends around
    it, as integer_code reads an integer: a stimulus program's "7.5\n"), else the integer it spells (integer_code); a
    number's value when it is an integer, else its text's code (7.5: "7.5"); else None, and None beyond +-2**53 (a float64 event row would change it)."""
    if isinstance(marker, (str, bytes)):
        s = marker.decode("utf-8", "replace") if isinstance(marker, bytes) else marker
        code = codes.get(s)
        code = codes.get(s.strip()) if code is None else code
        code = integer_code(s) if code is None else code
        code = _same_number(s, codes, np.float64) if code is None else code
    elif isinstance(marker, (int, np.integer)):  # exact: an int64 marker 2**53 + 1 is not rounded into range
        code = int(marker)
    else:  # a number that is no integer (a float32 stream's 7.5 Hz): its shortest text ("7.5", "8.57") from `codes`
        v = float(marker)
        code = int(v) if v.is_integer() else codes.get(str(marker))  # (is_integer: False for NaN and inf)
        code = _same_number(marker, codes, np.asarray(marker).dtype) if code is None else code
    return None if code is None or abs(code) > 2**53 else code


def _same_number(value, codes: dict[str, int], dtype) -> int | None:
    """The code of the one `codes` key that spells the same finite number at the marker's precision ("7.50" and
    "7.5", "10.00" and "10": a stimulus program's formatting), else None."""
    try:
        v = dtype.type(value) if hasattr(dtype, "type") else dtype(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(v):
        return None
    found = set()
    for key, code in codes.items():
        try:
            k = np.asarray(float(key)).astype(v.dtype)
        except (TypeError, ValueError, OverflowError):
            continue
        if k == v:
            found.add(code)
    return found.pop() if len(found) == 1 else None


def marker_text(values) -> str:
    """The text of one sample of a string marker stream (LSL, XDF) of any channel count: one channel's text as it
    is; several channels' non-empty texts joined by '/' (MNE's tags: epochs['left'] selects 'cue/left'), so a
    sender's (event, condition) pair loses nothing. Bytes (pylsl's) are read as UTF-8."""
    texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
    return texts[0] if len(texts) == 1 else "/".join(t for t in texts if t)


_BV_KINDS = {"Event/": 0, "Stimulus/S": 0, "Response/R": 1000, "Optic/O": 2000}  # MNE's BrainVision event codes
_BV_OTHER = {"New Segment/": 99999, "SyncStatus/Sync On": 99998}
_BV_REST = 10001  # MNE's first code for the other descriptions of a BrainVision file


def _bv_code(description: str) -> int | None:
    """MNE's code of a BrainVision marker ('Stimulus/S  8' -> 8, 'Response/R  1' -> 1001), else None."""
    digits, kind = description[-3:].strip(), description[:-3]
    if digits.isdigit() and kind in _BV_KINDS:
        return int(digits) + _BV_KINDS[kind]
    return _BV_OTHER.get(description)


# the descriptions mne.events_from_annotations' default regexp leaves out
_MNE_SKIPPED = re.compile(r"^(?:[Bb][Aa][Dd]|[Ee][Dd][Gg][Ee])")


def not_events(labels) -> set[int]:
    """The codes of a marker stream's labels ((code, text) pairs) that mne.events_from_annotations leaves out
    (BAD_..., EDGE...: marked segments, not events); epochs and trial decoders skip them unless `codes` asks."""
    return {int(c) for c, text in labels if _MNE_SKIPPED.match(str(text))}


def bad_codes(labels) -> set[int]:
    """The codes of a marker stream's labels that mark a bad segment: a text that starts with "bad" in any case
    (BAD_muscle, bad_blink), the rule mne.Epochs(reject_by_annotation=True) drops an epoch by."""
    return {int(c) for c, text in labels if str(text).lower().startswith("bad")}


def codes_for(descriptions, brainvision: bool = False) -> dict[str, int]:
    """The code of each description. Those mne.events_from_annotations leaves out by default (BAD_..., EDGE...) are
    numbered after all the others, so they shift none of them. Of the others: integer descriptions (plain decimal,
    marker_codes.integer_code) keep their value, as lsl_inlet reads such a marker live, and any other description
    is numbered after the largest of them; BrainVision markers get MNE's codes (mne.events_from_annotations:
    'Stimulus/S  8' -> 8, 'Response/R  1' -> 1001, other descriptions of a BrainVision file from 10001), in a
    BrainVision file or when every description is one; otherwise 1..k over the sorted set."""
    uniq = sorted(set(descriptions))
    skipped = [d for d in uniq if _MNE_SKIPPED.match(str(d))]
    kept = [d for d in uniq if d not in skipped]
    codes = _event_codes(kept, brainvision)
    after = max([0, *codes.values()])
    return codes | {d: after + 1 + i for i, d in enumerate(skipped)}


def _event_codes(uniq: list, brainvision: bool) -> dict[str, int]:
    codes = {d: c for d in uniq if (c := integer_code(str(d))) is not None}
    if len(set(codes.values())) != len(codes):  # "1" and "01": one code for two texts; numbered instead
        codes = {}
    if len(codes) == len(uniq):
        return codes
    bv = {d: c for d in uniq if (c := _bv_code(str(d))) is not None}
    if bv and (brainvision or len(bv) == len(uniq)) and len(set(bv.values())) == len(bv):
        return bv | {d: _BV_REST + i for i, d in enumerate(d for d in uniq if d not in bv)}
    after = max([0, *codes.values()])  # words after the integer markers, which keep their value (live, lsl_inlet)
    return codes | {d: after + 1 + i for i, d in enumerate(d for d in uniq if d not in codes)}
