"""WAV files whose chunks libsndfile cannot follow, read from their data chunk (nodes/io/audio_reader.py).

RIFF pads a chunk of odd size with one byte; a writer that leaves it out (a tagging tool's LIST of 21 bytes before
the samples) puts every later chunk one byte early, and libsndfile (ffmpeg too) then finds no data chunk: "Error in
WAV file. No 'data' chunk marker". A data chunk before the fmt chunk is refused the same way. Here the chunks are
followed as written (with the pad byte or without it, whichever lands on a chunk id) and the samples are read from
the data chunk as raw PCM or float in the fmt chunk's format."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_PCM = {8: "PCM_U8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32"}
_FLOAT = {32: "FLOAT", 64: "DOUBLE"}
_LAW = {6: "ALAW", 7: "ULAW"}


@dataclass(frozen=True)
class WavLayout:
    start: int  # where the samples start
    size: int  # their bytes (as many as the file holds of what the data chunk gives)
    rate: int
    channels: int
    subtype: str  # soundfile's
    why: str  # what libsndfile could not follow


def _is_id(b: bytes) -> bool:
    return len(b) == 4 and all(0x20 <= c < 0x7F for c in b)


def _subtype(fmt: bytes) -> tuple[int, int, str] | None:
    """(rate, channels, subtype) of a fmt chunk in a format read as raw samples; None for another (ADPCM, GSM)."""
    if len(fmt) < 16:
        return None
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the format is its sub-format GUID's first two bytes
        tag = struct.unpack("<H", fmt[24:26])[0]
    subtype = {1: _PCM.get(bits), 3: _FLOAT.get(bits)}.get(tag) or (_LAW.get(tag) if bits == 8 else None)
    return (rate, channels, subtype) if subtype and channels and rate else None


def misaligned_wav(path: Path) -> WavLayout | None:
    """The layout of a RIFF/WAVE file libsndfile cannot follow (an odd-sized chunk without its pad byte, or the data
    chunk before fmt) and whose samples can be read raw; None for any other file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(12)[8:] != b"WAVE":
            return None
        at, fmt, data, unpadded, data_first = 12, None, None, "", False
        while at + 8 <= size and (fmt is None or data is None):
            f.seek(at)
            head = f.read(8)
            if not _is_id(head[:4]):
                return None
            n = struct.unpack("<I", head[4:])[0]
            if head[:4] == b"fmt ":
                fmt = f.read(min(n, 64))
            elif head[:4] == b"data":
                data, data_first = (at + 8, min(n, size - at - 8)), fmt is None
            at += 8 + n
            if n & 1:  # the pad byte, unless the next id starts without it
                f.seek(at)
                if _is_id(f.read(4)) and data is None:
                    unpadded = unpadded or f"its {head[:4].decode()!r} chunk of {n} bytes (at byte {at - n - 8})"
                else:
                    at += 1
    form = _subtype(fmt) if fmt is not None else None
    if form is None or data is None or not (unpadded or data_first):  # (a layout libsndfile reads: another fault)
        return None
    why = f"{unpadded} lacks the pad byte RIFF puts after an odd size" if unpadded else "its data chunk is before fmt"
    return WavLayout(data[0], data[1], *form, why=why)


def _wave_head(path: Path) -> bytes | None:
    """The first 4 KiB of a WAV (RIFF, RIFX or RF64 WAVE); None for another file or one that cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    return head if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE" else None


def wide_pcm_bits(path: Path) -> int | None:
    """The bits per sample of a WAV (RIFF, RIFX, RF64) of integer PCM wider than 32 bits, which libsndfile does not
    read ('File contains data in an unimplemented format': said as a damaged file before); None for any other file."""
    head = _wave_head(path)
    if head is None:
        return None
    at = head.find(b"fmt ", 12)
    fmt = head[at + 8 : at + 8 + 40] if at >= 0 else b""
    if len(fmt) < 16:
        return None
    order = ">" if head[:4] == b"RIFX" else "<"
    tag, bits = struct.unpack(order + "H", fmt[:2])[0], struct.unpack(order + "H", fmt[14:16])[0]
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: its sub-format GUID's first two bytes
        tag = struct.unpack(order + "H", fmt[24:26])[0]
    return bits if tag == 1 and bits > 32 else None


def fmt_disagreement(path: Path) -> str | None:
    """What a PCM or float WAV's fmt chunk says against itself, where its samples may be misread: its channels and
    bits make frames of other bytes than its block align gives, and its data chunk's bytes are whole frames of the
    block align's (a writer's bug: libsndfile goes by the channel count and bits, and read a mono file claiming 3
    channels as its samples dealt out to 3 at a third of the rate, without a word). None for a consistent header,
    one whose block align alone is wrong (its data whole frames of the channels' and bits', as libsndfile reads it),
    or another format."""
    head = _wave_head(path)
    if head is None:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    order = ">" if head[:4] == b"RIFX" else "<"
    at, fmt, data = 12, None, None
    while at + 8 <= len(head) and data is None:
        n = struct.unpack(order + "I", head[at + 4 : at + 8])[0]
        if head[at : at + 4] == b"fmt ":
            fmt = (at, head[at + 8 : at + 8 + min(n, 40)])
        elif head[at : at + 4] == b"data":
            data = min(n, size - at - 8)  # (RF64's 0xFFFFFFFF, a file cut short: what it holds)
        at += 8 + n + (n & 1)
    if fmt is None or len(fmt[1]) < 16 or data is None:
        return None
    tag, channels, _, _, align, bits = struct.unpack(order + "HHIIHH", fmt[1][:16])
    if tag == 0xFFFE and len(fmt[1]) >= 26:
        tag = struct.unpack(order + "H", fmt[1][24:26])[0]
    frame = channels * ((bits + 7) // 8)
    if tag not in (1, 3) or frame == align or (frame and data % frame == 0 and not (align and data % align == 0)):
        return None
    return (
        f"its fmt chunk gives {channels} channel{'s' if channels != 1 else ''} of {bits} bits ({frame} bytes a frame) "
        f"but frames (block align) of {align} bytes, and its {data} bytes of samples are whole frames of {align}"
        + (f" (not of {frame})" if not frame or data % frame else "")
        + f"; the channel count is the 2 bytes at byte {fmt[0] + 10}, the bits the 2 at byte {fmt[0] + 22}"
    )
