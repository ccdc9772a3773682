"""An XDF file cut short inside a chunk (LabRecorder killed while it wrote, a copy or download that stopped), read up to
the end of its last whole chunk, said.

pyxdf drops a chunk of samples cut short (most of the time: one cut inside its last sample it reads as whole, the
sample holding the one before's values where the file ended), but fails on a file cut inside a chunk's XML (a stream's
header or footer: "ParseError: no element found", "unclosed token") or between a chunk's length and its tag ("unpack
requires a buffer of 2 bytes"): file_source then called the file damaged and replayed none of it, all its samples
there."""

from __future__ import annotations

import gzip
import io
import logging
from pathlib import Path
from typing import Any

_log = logging.getLogger("wavegraph.file_source")


def _open(path: Path):
    name = path.name.lower()
    return gzip.open(path, "rb") if name.endswith((".xdfz", ".xdf.gz")) else open(path, "rb")  # (as pyxdf opens it)


def whole_end(path: Path) -> tuple[int, int | None] | None:
    """(the byte of the uncompressed stream at which the last whole chunk of `path` ends, the tag of the chunk after it
    if the file holds it) when the file ends inside that chunk; None when it ends at a chunk's end, or is no XDF this
    can read the chunks of."""
    with _open(path) as f:
        if f.read(4) != b"XDF:":
            return None
        at = 4
        while True:
            width = f.read(1)
            if not width:
                return None  # at a chunk's end: not cut
            if width[0] not in (1, 4, 8):
                return None  # (damaged, not cut: pyxdf's own scan for the next boundary chunk)
            raw = f.read(width[0])
            if len(raw) < width[0]:
                return at, None
            tag = f.read(2)
            end = at + 1 + width[0] + int.from_bytes(raw, "little")
            f.seek(end - 1)
            if not f.read(1):
                return at, int.from_bytes(tag, "little") if len(tag) == 2 else None
            at = end


_CHUNKS = {1: "the file's header", 2: "a stream's header", 3: "a chunk of samples", 4: "a clock offset"}
_CHUNKS |= {5: "a boundary chunk", 6: "a stream's footer"}


class _Upto(io.RawIOBase):
    """The first `end` bytes of an open file."""

    def __init__(self, f, end: int):
        super().__init__()
        self._f, self._end = f, end

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            offset, whence = self._end + offset, io.SEEK_SET
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, buffer) -> int:
        n = max(min(len(buffer), self._end - self._f.tell()), 0)
        got = self._f.read(n)
        buffer[: len(got)] = got
        return len(got)


def load_xdf(path: Path, shown: Path, **kwargs: Any):
    """pyxdf.load_xdf(path, **kwargs); of a file that ends inside a chunk, its whole chunks, said (naming `shown`, the
    file as the user gave it). pyxdf fails on a chunk of XML cut short, and reads a chunk of samples cut inside its last
    sample as whole, that sample holding the one before's values where the file ended (silently wrong)."""
    import pyxdf

    cut = whole_end(path)
    if cut is None:
        return pyxdf.load_xdf(str(path), **kwargs)
    end, tag = cut
    _log.warning(
        "file_source: %s is cut short: it ends inside %s (LabRecorder stopped before it closed the file, or a copy "
        "was cut); replaying its whole chunks, up to byte %d%s",
        shown,
        _CHUNKS.get(tag, "a chunk") if tag is not None else "a chunk",
        end,
        ": the samples of that chunk are left out" if tag == 3 else "",
    )
    with _open(path) as f:
        return pyxdf.load_xdf(_Upto(f, end), **kwargs)
