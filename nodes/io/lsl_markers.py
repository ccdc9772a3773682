"""lsl_inlet's reading of a marker pull (the node is in lsl.py): pylsl gives a string stream's values as the bytes sent,
which a sending app (a C or C# stimulus program in the system's code page) may not have encoded in UTF-8. Such a value
is read with U+FFFD for the bytes that are not UTF-8, and its code is looked up as that text and as Windows-1252 text
(Latin-1 where that has no character): 'été' sent in cp1252 takes the code `marker_codes` gives 'été'. The inlet counts
them (`invalid_utf8`) and says it once, with the first such value. Texts are compared in Unicode's composed form
(NFC): 'été' sent decomposed (e + U+0301, as macOS writes names) takes the code `marker_codes` gives 'été', where it
was dropped as an unknown marker that the warning showed as the very text given a code."""

from __future__ import annotations

import unicodedata

from .marker_codes import marker_text


def nfc(text: str) -> str:
    """`text` in Unicode's composed form (NFC)."""
    return unicodedata.normalize("NFC", text)


def with_nfc(codes: dict[str, int]) -> dict[str, int]:
    """`codes` with each key's composed form (NFC) too, a key given as it is winning."""
    return {**{nfc(k): v for k, v in codes.items()}, **codes}


def legacy_text(value: bytes) -> str:
    """`value` read as Windows-1252, or as Latin-1 where that leaves a byte undefined (0x81, 0x8D, ...)."""
    try:
        return value.decode("cp1252")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _read(value) -> tuple[object, str | None]:
    """(the value as marker_code takes it, its Windows-1252 text when it is bytes that are not UTF-8, else None)."""
    if not isinstance(value, bytes):
        return (nfc(value) if isinstance(value, str) else value), None
    try:
        return nfc(value.decode("utf-8")), None
    except UnicodeDecodeError:
        return nfc(value.decode("utf-8", "replace")), nfc(legacy_text(value))


def marker_values(data) -> tuple[list, list[str | None], bytes | None]:
    """The markers of one pull (`data`: samples x channels): a channel's value each (bytes read as UTF-8), or the
    text of a sample of several channels (marker_text); for each, its Windows-1252 reading when some of its bytes are
    not UTF-8 (else None); and the first value that was not (None: every one was)."""
    values: list = []
    alts: list[str | None] = []
    bad: bytes | None = None
    for row in data:
        read = [_read(v) for v in row]
        broken = [v for v, (_, alt) in zip(row, read) if alt is not None]
        bad = broken[0] if bad is None and broken else bad
        if len(read) == 1:
            values.append(read[0][0])
        else:
            values.append(marker_text([text for text, _ in read]))
        alts.append(marker_text([alt if alt is not None else text for text, alt in read]) if broken else None)
    return values, alts, bad


def invalid_utf8_said(stream: str, first: bytes, alt: str) -> str:
    """What to say, once, of a marker stream that sends values that are not UTF-8 (`first`: the first; `alt`: its
    Windows-1252 text)."""
    return (
        f"stream '{stream}' sends markers that are not valid UTF-8 (the first: {first[:40]!r}): each is read with "
        f"U+FFFD for the bytes that are not, and its code looked up as that text and as Windows-1252 text "
        f"({alt[:40]!r}; give that text a code with marker_codes), counted invalid_utf8; better, send UTF-8 from the "
        "sending app (LSL's strings are UTF-8)"
    )


__all__ = ["legacy_text", "marker_values", "invalid_utf8_said", "nfc", "with_nfc"]
