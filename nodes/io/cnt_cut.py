"""A Neuroscan CNT file cut short (a recording stopped by a crash, a copy or download that stopped), as MNE can read it.

A CNT's header gives its sample count and where its event table starts, after the samples. MNE's reader refuses a file
shorter than that ("Event table offset from header ... is larger than file size"; cut inside the event table: "unpack
requires a buffer of 9 bytes"), and `mne.io.read_raw` then said only that no reader could read the file: file_source
called it no recording it knows and lost all of it. `cnt_view` shows MNE a copy of its header and event table in a
private folder, the sample count and the table's place set to the whole samples the file holds, and the event table
the events it holds whole; the samples stay where they are (the copy is sparse: nothing is written where they go), and
the Raw reads them from the file itself (`raw.filenames`)."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

from wavegraph.pipeline.spec import SpecError

from .case_names import LinkFolder

_log = logging.getLogger("wavegraph.file_source")

_SETUP, _CHANNEL = 900, 75  # MNE's _DATA_OFFSET and _CH_SIZE: the setup header, then 75 bytes per channel
_EVENT_BYTES = {1: 8, 2: 19, 3: 19}  # an event of each TEEG type ("<HBcl", "<HBclhhfccc")


class CntView(LinkFolder):
    """The header and events of a CNT cut short, as MNE can read them: read `self.path`, then point the Raw at the file
    (`raw.filenames = [view.source]`) and `close()`."""

    def __init__(self, source: Path, header: bytes, table_at: int, table: bytes):
        super().__init__("wavegraph-cnt-")
        self.source = source
        self.path = self.folder / source.name.lower()
        try:
            with open(self.path, "wb") as f:
                f.write(header)
                f.seek(table_at)  # (a hole where the samples are)
                f.write(table)
        except OSError:
            self.close()
            raise


def cnt_view(path: Path) -> CntView | None:
    """A CntView of a Neuroscan CNT shorter than its header says (said), None when MNE reads it as it is (or it is no CNT
    this can mend: a header cut short, one MNE does not take the sample count from, a file of 2 GB or more)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(_SETUP)
        neuroscan = head.startswith(b"Version ")  # (its 'rev' field, "Version 3.0"; an ANT Neuro CNT is RIFF)
        n_ch = struct.unpack_from("<H", head, 370)[0] if len(head) >= 372 else 0
        first = _SETUP + _CHANNEL * n_ch
        if neuroscan and size < first:  # (MNE: 'Could not read file using any of the possible readers')
            raise SpecError(
                f"file_source: {path} is cut short inside its header ({size} bytes of "
                + (f"the {first} it takes with its {n_ch} channels)" if len(head) >= 372 else "at least 900)"),
                "the copy or download stopped early: give the whole file",
            )
        if len(head) < _SETUP or not neuroscan:  # (an ANT Neuro CNT, RIFF: MNE's other reader)
            return None
        n_samples, table_at = struct.unpack_from("<i", head, 864)[0], struct.unpack_from("<i", head, 886)[0]
        if not n_ch or n_samples <= 0 or size >= 2e9 or size < first:
            return None
        width, rem = divmod(table_at - first, n_ch * n_samples)
        if rem or width not in (2, 4):
            return None  # (MNE says it cannot tell the sample width)
        f.seek(table_at)
        teeg = f.read(9)
        kind, length = (teeg[0], struct.unpack_from("<l", teeg, 1)[0]) if len(teeg) == 9 else (0, 0)
        events = f.read(max(length, 0)) if kind in _EVENT_BYTES else b""
        f.seek(0)
        header = f.read(first)
    block = struct.unpack_from("<i", head, 894)[0]  # samples of a channel stored together (bytes; <= 1: one)
    block = max(block // width, 1) if block > 1 else 1
    held = min(n_samples, (size - first) // (n_ch * width) // block * block)
    whole = len(events) // _EVENT_BYTES.get(kind, 1) * _EVENT_BYTES.get(kind, 1)
    if held == n_samples and len(teeg) == 9 and (kind not in _EVENT_BYTES or whole == length):
        return None  # whole (or an event table MNE reads as it is)
    if held <= 0:  # (MNE: 'Could not read file using any of the possible readers')
        raise SpecError(
            f"file_source: {path} holds no sample (its header gives {n_samples}; the file ends {size - first} bytes "
            f"after its header, a sample of its {n_ch} channels takes {n_ch * width * block})",
            "the recording stopped before its first sample, or the copy was cut short: give the whole file",
        )
    header = bytearray(header)
    new_at = first + held * n_ch * width
    struct.pack_into("<i", header, 864, held)
    struct.pack_into("<i", header, 886, new_at)
    table = (
        struct.pack("<Bll", kind or 1, whole, 0) + events[:whole] if held == n_samples else struct.pack("<Bll", 1, 0, 0)
    )
    if held < n_samples:
        said = (
            f"its header gives {n_samples} samples, the file holds {held} ({held / n_samples:.0%}); its event table "
            "(after its samples) is lost with the cut: no markers"
        )
    else:
        n_whole, listed = whole // _EVENT_BYTES.get(kind, 1), max(length, 0) // _EVENT_BYTES.get(kind, 1)
        said = (
            f"its event table is cut short: {n_whole} of the {listed} events it lists are whole, replayed"
            if len(teeg) == 9
            else f"its event table is cut short inside its first 9 bytes ({len(teeg)} of them): no markers"
        )
    _log.warning("file_source: %s is cut short: %s; replaying what it holds", path, said)
    return CntView(path, bytes(header), new_at, table)


def read_from_view(view: CntView, raw) -> None:
    """Point a Raw MNE read from `view` at the samples in the file itself (the view's copy has none)."""
    raw.filenames = [os.fspath(view.source)]
