"""The 'did you mean' names for a recording that is not there: the files beside it whose name differs only in case
first (`rec.wav` asked, `rec.WAV` on disk, copied from a Windows machine or a FAT card: difflib alone ranked `rec.Flac`
above it, or nothing at all), then the closest others (file_source, `wavegraph plot`)."""

from __future__ import annotations

import difflib
import itertools
from pathlib import Path


def near_names(path: Path, n: int = 3) -> list[Path]:
    """Up to `n` files in `path`'s folder named like it (a huge folder: its first 5000 names are looked at)."""
    if not path.parent.is_dir():
        return []
    try:
        names = [p.name for p in itertools.islice(path.parent.iterdir(), 5000)]
    except OSError:  # a folder that cannot be listed
        return []
    same = sorted(m for m in names if m.casefold() == path.name.casefold() and m != path.name)
    close = [m for m in difflib.get_close_matches(path.name, names, n=n, cutoff=0.6) if m not in same]
    return [path.with_name(m) for m in (same + close)[:n]]
