"""A BrainVision recording whose marker file is not UTF-8, as MNE can read it.

BrainVision Recorder 1.x writes its files in the Windows code page (`Codepage=ANSI`: cp1252), and a marker's text may
hold a letter beyond ASCII (a comment 'Augen geöffnet'). MNE opens the marker file as the locale's text to find the
recording's date, so on a UTF-8 system it fails ("'utf-8' codec can't decode byte 0xf6"), and file_source called a
valid recording damaged. MarkerView shows MNE the recording in a temporary folder: the header and data file linked, the
marker file re-encoded to UTF-8 (its Codepage line says so), under the names the header gives. Same interface as
case_names.CaseView: read `self.path`, then `close()`."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .case_names import LinkFolder, _find

_log = logging.getLogger("wavegraph.file_source")


def _names(header: Path) -> tuple[str | None, str | None]:
    text = header.read_bytes()[: 1 << 20].decode("latin-1")
    found = [re.search(rf"^{key}=(.*?)\s*$", text, re.M) for key in ("DataFile", "MarkerFile")]
    data, marker = (m.group(1) if m else None for m in found)
    return data, marker


class MarkerView(LinkFolder):
    """`header` as MNE can read it: `links` (name: file) linked beside it, its marker file (named `name` by the header)
    written as `text`, in UTF-8."""

    def __init__(self, header: Path, name: str, text: str, links: dict[str, Path]):
        super().__init__("wavegraph-markers-")
        self.path = self.folder / header.name
        utf8 = re.sub(r"(?im)^Codepage=.*$", "Codepage=UTF-8", text)
        self.fill({header.name: header, **links}, {name: utf8})


def marker_view(header: Path) -> MarkerView | None:
    """A MarkerView when `header`'s marker file is beside it and not UTF-8; None otherwise (MNE reads it as it is)."""
    data_name, name = _names(header)
    name = name if name and "/" not in name and "\\" not in name else None
    marker = _find(header.parent, name) if name else None
    if marker is None:
        return None
    raw = marker.read_bytes()
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    found = re.search(r"Codepage=(.+)", raw.decode("ascii", "ignore"), re.I)
    codepage = found.group(1).strip() if found else "latin-1"
    codepage = "cp1252" if codepage.upper() == "ANSI" else codepage
    try:
        text = raw.decode(codepage)
    except (UnicodeDecodeError, LookupError):  # (as MNE falls back for the markers themselves)
        codepage, text = "latin-1", raw.decode("latin-1")
    data = _find(header.parent, data_name) if data_name and "/" not in data_name and "\\" not in data_name else None
    links = {data_name: data} if data_name and data is not None else {}
    _log.info(
        "file_source: %s: its marker file %s is %s, not UTF-8: read through a UTF-8 copy", header, marker.name, codepage
    )
    return MarkerView(header, name or marker.name, text, links)
