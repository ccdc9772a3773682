"""Recordings whose file names MNE's readers refuse for their case (`REC.VHDR`, `REC.SET`: files from a
Windows machine, a FAT card or a copy made there). `mne.io.read_raw` picks its reader from the lower-cased
suffix, but several readers then check the suffix as written (BrainVision, EEGLAB, Nicolet), and BrainVision
opens its data and marker files by the names written in the header (`DataFile=rec.eeg` while the file
on disk is `REC.EEG`). `CaseView` shows such a recording to MNE under the names it expects: a private
folder of symbolic links, the file under its lower-cased suffix and each companion under the name
MNE will look for, each pointing at the file on disk. The folder lives as long as the reader (MNE reads
the data lazily through it) and is removed by `close()`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

# MNE reads these whatever their case (FIF split parts are found by the names stored inside the file:
# a view would hide them)
_READ_AS_IS = (".fif", ".fif.gz", ".edf", ".bdf", ".gdf")
_BRAINVISION = (".vhdr", ".ahdr")


def _header_names(header: Path) -> list[str]:
    """The DataFile= and MarkerFile= names of a BrainVision header (plain names only)."""
    names = []
    try:
        text = header.read_bytes()[: 1 << 20].decode("latin-1")
    except OSError:
        return []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in ("DataFile", "MarkerFile"):
            value = value.strip()
            if value and "/" not in value and "\\" not in value:
                names.append(value)
    return names


def _find(folder: Path, name: str) -> Path | None:
    """`folder/name` if it exists, else the one file in `folder` whose name matches it ignoring case."""
    exact = folder / name
    if exact.exists():
        return exact
    matches = [p for p in folder.iterdir() if p.name.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def needs_view(path: Path) -> bool:
    """True when MNE would refuse `path` (or miss its companions) only because of the case of a name."""
    name = path.name.lower()
    if path.is_dir() or name.endswith(_READ_AS_IS):
        return False
    if path.suffix != path.suffix.lower():
        return True
    if name.endswith(_BRAINVISION):  # a lower-case header naming companions whose case differs on disk
        return any(not (path.parent / n).exists() and _find(path.parent, n) for n in _header_names(path))
    return False


class LinkFolder:
    """A private temporary folder that shows a reader a recording under the names it expects: symbolic links to the
    files on disk (and files written there). Read `self.path`, then `close()` removes the folder (also when the view
    is dropped)."""

    path: Path

    def __init__(self, prefix: str):
        self._dir: str | None = None  # set first: __del__ runs even when mkdtemp fails
        self._dir = tempfile.mkdtemp(prefix=prefix)
        self.folder = Path(self._dir)

    def fill(self, links: dict[str, Path], written: dict[str, str] | None = None) -> None:
        """Link each name to its file and write each text file (UTF-8); the folder is removed if one fails."""
        try:
            for name, target in links.items():
                (self.folder / name).symlink_to(target.resolve())
            for name, text in (written or {}).items():
                (self.folder / name).write_text(text, encoding="utf-8")
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __del__(self) -> None:  # a reader dropped without close()
        self.close()


class CaseView(LinkFolder):
    """`path` as MNE wants to see it; read `self.path`, then `close()` once the reader is done."""

    def __init__(self, path: Path):
        super().__init__("wavegraph-names-")
        self.path = self.folder / (path.stem + path.suffix.lower())
        links = {self.path.name: path}
        for sibling in path.parent.iterdir():  # EEGLAB's .FDT: MNE falls back to the header's stem + ".fdt"
            if sibling != path and sibling.stem.lower() == path.stem.lower() and sibling.is_file():
                links.setdefault(path.stem + sibling.suffix.lower(), sibling)
        if path.suffix.lower() in _BRAINVISION:  # data and markers by the names the header gives
            for name in _header_names(path):
                found = _find(path.parent, name)
                if found is not None:
                    links[name] = found
        self.fill(links)
