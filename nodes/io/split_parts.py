"""The later parts of a split FIF that MNE did not reach: it finds each part by the name stored at the end of the one
before, so a part cut short (a copy stopped, a recorder killed) ends the recording there, and the parts after it (its
x_raw-2.fif, ...) were left out without a word. Said, with the files and the fix."""

from __future__ import annotations

import glob
import logging
import re
from pathlib import Path

_log = logging.getLogger("wavegraph.file_source")


def _parts(path: Path) -> tuple[int, list[tuple[int, Path]]] | None:
    """The number of `path` among its split parts, and every part beside it by number (MNE's names, x_raw-1.fif, or
    BIDS', x_split-02_meg.fif); None for a file that is not named as a part."""
    bids = re.fullmatch(r"(.*_split-)([0-9]+)(_.*\.fif(?:\.gz)?)", path.name)
    if bids is not None:
        head, number, tail = bids.groups()
        pattern, own = glob.escape(head) + "[0-9]*" + glob.escape(tail), int(number)
        found = re.compile(re.escape(head) + "([0-9]+)" + re.escape(tail))
    else:
        mne_name = re.fullmatch(r"(.+?)(?:-([1-9][0-9]*))?(\.fif(?:\.gz)?)", path.name)
        if mne_name is None:
            return None
        head, number, tail = mne_name.groups()
        pattern, own = glob.escape(head) + "-*" + glob.escape(tail), int(number or 0)
        found = re.compile(re.escape(head) + "-([1-9][0-9]*)" + re.escape(tail))
    parts = [(int(m.group(1)), p) for p in path.parent.glob(pattern) if (m := found.fullmatch(p.name))]
    return own, sorted(parts)


def say_unread_parts(raw, path: Path, n_times: int, what: str = "file_source") -> None:
    """Warn of the parts after `path` (a split FIF's) that MNE's `raw` did not read (`n_times`: the samples replayed)."""
    got = _parts(path)
    if got is None:
        return
    own, parts = got
    read = {Path(f).resolve() for f in raw.filenames if f is not None}
    left = [p for k, p in parts if k > own and p.resolve() not in read]
    if not left:
        return
    last = Path(raw.filenames[-1]) if raw.filenames and raw.filenames[-1] is not None else path
    _log.warning(
        "%s: %s is replayed up to the end of %s (%.6g s), which does not lead on to the part(s) beside it %s "
        "(%.3g MB): %s is cut short, or they belong to another recording; fix: replay them alone (path: %s, which "
        "leads on to any after it; the samples between are lost), or copy %s whole again from where it came",
        what,
        path,
        last.name,
        n_times / raw.info["sfreq"],
        ", ".join(p.name for p in left),
        sum(p.stat().st_size for p in left) / 1e6,
        last.name,
        left[0],
        last.name,
    )
