"""A GDF file cut short (a recorder killed mid-write, a copy or download that stopped), as MNE can read it.

A GDF's event table follows its data records, where the header's record count puts it. MNE's reader seeks there and
fails when the file ends before it ("index 0 is out of bounds" for GDF 1.x, a table cut inside its arrays for either
version: file_source called the file damaged, and lost all of it), or, for GDF 2 cut inside its data, reads the
records that are there without a word. `gdf_view` shows MNE the file through a `GdfView`: the header's record count set
to the whole records the file holds, those records, and an event table of the events the file still holds (each
whose position and type are there), said in one warning. `gdf_events` reads the event table for the markers MNE
leaves out (past the data: readers_mne._notes_left_out)."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError

from .gdf_header import _TYPES, _field, _header

_log = logging.getLogger("wavegraph.file_source")


def _layout(path: Path) -> tuple[float, int, int, int, int] | None:
    """(version, header bytes, records the header lists, bytes a record takes, file size) of a GDF; None if not one."""
    found = _header(path)
    if found is None or len(found[3]) != 256 * found[1]:
        return None  # (check_gdf says what is wrong)
    version, ns, size, var = found
    with open(path, "rb") as f:
        f.seek(236)
        n_rec = int(np.frombuffer(f.read(8), "<i8")[0])
        total = os.fstat(f.fileno()).st_size
    per = _field(var, ns, 216, 4, "<i4")
    rec = sum(n * _TYPES.get(t, 0) for n, t in zip(per, _field(var, ns, 220, 4, "<i4")))
    return version, size, n_rec, rec, total


def _table(version: float, tail: bytes) -> tuple[int, dict[str, np.ndarray], int, bytes, int] | None:
    """The event table at the start of `tail`: (mode, its arrays of the events whose position and type the bytes hold,
    the number the table lists, its rate field, how many of those lost their duration); None when not even its 8
    first bytes are there or its mode is no table's."""
    if len(tail) < 8 or tail[0] not in (1, 3):
        return None
    mode, rate = tail[0], tail[1:8]
    if version < 1.94:
        n = int(np.frombuffer(tail[4:8], "<u4")[0])
    else:
        n = int.from_bytes(tail[1:4], "little")
    fields = [("pos", "<u4"), ("typ", "<u2")] + ([("chn", "<u2"), ("dur", "<u4")] if mode == 3 else [])
    out, at, held = {}, 8, n
    for name, dtype in fields:
        width = np.dtype(dtype).itemsize
        got = np.frombuffer(tail[at : at + n * width][: (len(tail) - at) // width * width], dtype)
        out[name], at = got, at + n * width
        if name in ("pos", "typ"):
            held = min(held, len(got))
    out = {k: v[:held] for k, v in out.items()}
    missing = held - len(out["dur"]) if mode == 3 else 0
    if missing:  # a duration cut off: MNE's default for a table without them, 1 sample
        out["dur"] = np.concatenate([out["dur"], np.ones(missing, "<u4")]).astype("<u4")
        out["chn"] = np.concatenate([out["chn"], np.zeros(held - len(out["chn"]), "<u2")]).astype("<u2")
    return mode, out, n, rate, missing


def _tail(f, version: float, at: int) -> bytes:
    """The bytes of the event table at `at` of open file `f`, up to the most its count of events takes (not a recording
    appended after it)."""
    f.seek(at)
    head = f.read(8)
    n = (
        int(np.frombuffer(head[4:8], "<u4")[0])
        if version < 1.94 and len(head) == 8
        else int.from_bytes(head[1:4], "little")
    )
    return head + f.read(12 * n)


def gdf_events(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The events a GDF's table holds, as MNE reads them: (position from 0, duration, type), positions and durations in
    samples; of a file cut short, those after the records it holds whole. None when it has no table."""
    found = _layout(path)
    if found is None:
        return None
    version, size, n_rec, rec, total = found
    whole = (total - size) // rec if rec > 0 else 0
    held = whole if n_rec < 0 or whole < n_rec else n_rec
    with open(path, "rb") as f:
        table = _table(version, _tail(f, version, size + held * rec) if held == n_rec else b"")
    if table is None:
        return None
    mode, ev = table[:2]
    dur = np.maximum(ev["dur"], 1) if mode == 3 else np.ones(len(ev["pos"]))
    return ev["pos"].astype(np.int64) - 1, dur.astype(np.int64), ev["typ"].astype(np.int64)


class GdfView(io.RawIOBase):
    """A GDF file as MNE can read it: `head` (its header, the record count mended), `records` bytes of the file's records
    after it, then `table` (an event table of the events it holds). MNE reads it as a file-like (read_raw_gdf)."""

    def __init__(self, path: Path, head: bytes, records: int, table: bytes):
        super().__init__()
        self.path = path
        self._file = open(path, "rb")  # noqa: SIM115 — read lazily while the Raw lives; closed by close()
        self._head, self._end, self._table = head, len(head) + records, table
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._end + len(self._table)}[whence]
        self._at = max(base + offset, 0)
        return self._at

    def tell(self) -> int:
        return self._at

    def read(self, size: int = -1) -> bytearray:  # type: ignore[override]
        """A bytearray: MNE's GDF 2 reader writes into the arrays it reads (read-only over bytes)."""
        want = self._end + len(self._table) - self._at if size is None or size < 0 else size
        out = bytearray(max(want, 0))
        return out[: self.readinto(out)]

    def readinto(self, buffer) -> int:
        want, at, out = len(buffer), self._at, bytearray()
        if at < len(self._head):
            out += self._head[at : at + want]
        if len(out) < want and at + len(out) < self._end:
            self._file.seek(at + len(out))
            out += self._file.read(min(want - len(out), self._end - at - len(out)))
        if len(out) < want and at + len(out) >= self._end:
            k = at + len(out) - self._end
            out += self._table[k : k + want - len(out)]
        buffer[: len(out)] = out
        self._at += len(out)
        return len(out)

    def close(self) -> None:
        self._file.close()
        super().close()


def gdf_view(path: Path) -> GdfView | None:
    """A GdfView of a GDF cut short (before its last record's end, inside its event table, a GDF 1 without one) or whose
    header never got its record count (-1: the recorder did not close it), said; None when MNE reads it as it is."""
    with open(path, "rb") as f:
        first = f.read(256)
    if first.startswith(b"GDF") and len(first) < 256:  # (MNE: 'index 0 is out of bounds', said damaged)
        raise SpecError(
            f"file_source: {path} is cut short inside its header ({len(first)} bytes of at least 256)",
            "the copy or download stopped early: give the whole file",
        )
    found = _layout(path)
    if found is None or found[3] <= 0:
        return None
    version, size, n_rec, rec, total = found
    whole = (total - size) // rec
    if whole == 0 and n_rec != 0:  # (MNE: GDF 1 'index 0 is out of bounds', GDF 2 no sample, said as an EDF's)
        raise SpecError(
            f"file_source: {path} holds no data record (its header lists {n_rec}; the file ends {total - size} bytes "
            f"after the header, a record takes {rec})",
            "the recording stopped before its first record, or the copy was cut short: give the whole file",
        )
    if whole == 0:
        return None
    held = whole if n_rec < 0 or whole < n_rec else n_rec
    with open(path, "rb") as f:
        head = bytearray(f.read(size))
        tail = _tail(f, version, size + held * rec) if held == n_rec else b""
    table = _table(version, tail)
    kept, listed, no_dur = (len(table[1]["pos"]), table[2], table[4]) if table is not None else (0, 0, 0)
    cut_head = table is None and 0 < len(tail) < 8 and tail[0] in (1, 3)  # (a mode byte MNE reads as none: read)
    if held == n_rec and kept == listed and not cut_head and (tail or version >= 1.9):  # (GDF 2 without a table: read)
        return None
    head[236:244] = np.array([held], "<i8").tobytes()
    if table is None:
        out = bytes(8)  # no event: a mode (0) MNE reads as none
    else:
        ev = table[1]
        count = np.array([kept], "<u4").tobytes()
        rate = table[3][:3] + count if version < 1.94 else count[:3] + table[3][3:]
        out = bytes([table[0]]) + rate + b"".join(ev[k].tobytes() for k in ("pos", "typ", "chn", "dur") if k in ev)
    lost = []
    if held < n_rec or n_rec < 0:
        lost.append(
            f"its header lists {n_rec} data records, the file holds {held}"
            + (f" and {(total - size) % rec} bytes of the next" if (total - size) % rec else "")
            if n_rec >= 0
            else f"its header was never finished (-1 records: the recorder did not close it); it holds {held} records"
        )
        if n_rec >= 0:
            lost.append("its event table (after its last record) is lost with the cut: no markers")
    elif cut_head:
        lost.append(f"its event table is cut short inside its first 8 bytes ({len(tail)} of them): no markers")
    elif kept < listed:
        lost.append(
            f"its event table is cut short: {kept} of the {listed} events it lists are there, replayed"
            + (f" ({no_dur} of them without their duration: 1 sample, as MNE reads a table without)" if no_dur else "")
        )
    else:  # (GDF 1 without a table: MNE's IndexError)
        lost.append("it ends after its last record, without the event table GDF 1 puts there: no markers")
    _log.warning("file_source: %s is cut short: %s; replaying what it holds", path, "; ".join(lost))
    return GdfView(path, bytes(head), held * rec, out)
