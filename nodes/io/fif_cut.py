"""Where a FIF file that MNE could not read ends, when it is cut short (a copy or download that stopped early).

MNE's reader, given a FIF cut inside its measurement info, failed with words from deep inside it ('buffer size must
be a multiple of element size', 'can only convert an array of size 1 to a Python scalar', 'Could not find measurement
info'), told as 'damaged ...: export it again'. A FIF is a chain of tags (kind, type, size, next: 16 bytes, big-endian,
then `size` bytes); a whole file's chain ends at its last byte, a cut one inside a tag."""

from __future__ import annotations

import struct
from pathlib import Path

_NEXT_SEQ, _NEXT_NONE = 0, -1  # FIFFV_NEXT_SEQ: the next tag follows; FIFFV_NEXT_NONE: the last tag


def fif_cut_short(path: Path) -> str | None:
    """Where in its tag chain a FIF file ends before its end ('inside a FIF tag of 96 bytes that starts at byte
    252 (its 13th)', or after a whole tag that is not the last); None for a file whose chain is whole, or that is not
    a chain of tags."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            at, n = 0, 0
            while at < size:
                f.seek(at)
                head = f.read(16)
                if len(head) < 16:
                    return f"inside the 16-byte head of its tag {n + 1}, which starts at byte {at}"
                _, _, length, after = struct.unpack(">iiii", head)
                if length < 0:
                    return None  # not a FIF chain (damaged, or another format): MNE's own words stand
                if at + 16 + length > size:
                    return f"inside its tag {n + 1}, of {length} bytes from byte {at + 16}"
                n += 1
                if after == _NEXT_NONE:
                    return None
                if after != _NEXT_SEQ and not at < after < size:  # (a jump back or past the end: not a cut)
                    return None
                at = at + 16 + length if after == _NEXT_SEQ else after
            # a chain whose last tag points on (a whole FIF's points nowhere, FIFFV_NEXT_NONE): cut between two tags
            return f"after its tag {n}, without the tag that ends a whole FIF" if n else None
    except OSError:
        return None


def fif_tag_loop(path: Path) -> str | None:
    """Where the tag chain of a FIF file runs in a loop, followed as MNE's reader follows it where the file has no
    directory (MNE writes none): a tag whose size or next field was damaged (a flipped byte) back to a tag already
    passed. MNE then listed the same tags without end, filling memory (gigabytes in seconds) until the machine or the
    run gave out. None for a chain that ends (whole, cut short or past its end: MNE's own checks say those)."""
    try:
        with open(path, "rb") as f:
            seen: dict[int, int] = {}  # position -> tag number
            at: int | None = 0
            while at is not None and at >= 0 and at not in seen:
                seen[at] = len(seen) + 1
                f.seek(at)
                head = f.read(16)
                if len(head) < 16:
                    return None
                _, _, length, after = struct.unpack(">iiii", head)
                where = at
                at = at + 16 + length if after == _NEXT_SEQ else after if after > 0 else None
            if at is None or at < 0:
                return None
            field = f"size field ({length})" if after == _NEXT_SEQ else f"next field ({after})"
            return f"its tag {len(seen)} at byte {where} leads by its {field} back to byte {at}, its tag {seen[at]}"
    except OSError:
        return None
