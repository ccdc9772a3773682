"""The markers a WAV (or AIFF) file holds, as file_source's events (nodes/io/audio_reader.py).

A DAW or a field recorder keeps its marks in the WAV itself: a 'cue ' chunk of cue points (id, sample), named in a
LIST chunk of type 'adtl' ('labl': a cue's name; 'ltxt': a region's length in samples, and a text). libsndfile reads
past them, and file_source replayed such a file without its markers, without a word. Here they are read as events:
onset = the cue's sample / rate, duration = its region's length (0 for a mark), the name its label (a mark without a
name: its cue number), coded as file_source codes any recording's annotations (marker_codes.codes_for). An AIFF's
MARK chunk (id, frame, name: Logic's, Pro Tools') is read the same way."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .marker_codes import codes_for


def _text(b: bytes) -> str:
    b = b.split(b"\0", 1)[0]
    try:
        return b.decode("utf-8").strip()
    except UnicodeDecodeError:
        return b.decode("latin-1").strip()


def wav_cues(path: Path) -> list[tuple[int, int, str]]:
    """(sample, length in samples, name) of each cue point of a RIFF/RIFX/RF64 WAVE file, by sample; [] for a file
    without cues, or not a WAV."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
            return []
        order = ">" if head[:4] == b"RIFX" else "<"
        at, points, names, lengths, data_size = 12, {}, {}, {}, None
        while at + 8 <= size:
            f.seek(at)
            chunk, n = struct.unpack(order + "4sI", f.read(8))
            if chunk == b"ds64":  # RF64: the data chunk's real size (its own field holds 0xFFFFFFFF)
                data_size = struct.unpack(order + "Q", f.read(24)[8:16])[0]
            if chunk == b"data" and n == 0xFFFFFFFF and data_size is not None:
                n = data_size
            if chunk == b"cue " and n >= 4:
                body = f.read(min(n, size - at - 8))
                count = min(struct.unpack(order + "I", body[:4])[0], (len(body) - 4) // 24)
                for k in range(count):
                    cue, position, _, _, _, offset = struct.unpack(order + "II4sIII", body[4 + 24 * k : 28 + 24 * k])
                    points[cue] = offset or position  # (the sample: dwSampleOffset; an old writer's in dwPosition)
            elif chunk == b"LIST" and n >= 4 and f.read(4) == b"adtl":
                _adtl(f.read(min(n, size - at - 8) - 4), order, names, lengths)
            at += 8 + n + (n & 1)
    return sorted((s, lengths.get(c, 0), names.get(c, str(c))) for c, s in points.items())


def aiff_marks(path: Path) -> list[tuple[int, int, str]]:
    """(sample, 0, name) of each marker in an AIFF/AIFC file's MARK chunk (id, frame, Pascal-string name; big-endian),
    by sample; [] for a file without markers, or not an AIFF."""
    size = path.stat().st_size
    marks: list[tuple[int, int, str]] = []
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
            return []
        at = 12
        while at + 8 <= size:
            f.seek(at)
            chunk, n = struct.unpack(">4sI", f.read(8))
            if chunk == b"MARK" and n >= 2:
                body = f.read(min(n, size - at - 8))
                k, i = struct.unpack(">H", body[:2])[0], 2
                for _ in range(k):
                    if i + 7 > len(body):
                        break
                    mark, position, length = *struct.unpack(">HI", body[i : i + 6]), body[i + 6]
                    name = _text(body[i + 7 : i + 7 + length]) or str(mark)
                    marks.append((position, 0, name))
                    i += 6 + 1 + length + ((1 + length) & 1)  # (the name padded to an even length)
            at += 8 + n + (n & 1)
    return sorted(marks)


def _adtl(body: bytes, order: str, names: dict[int, str], lengths: dict[int, int]) -> None:
    at = 0
    while at + 8 <= len(body):
        sub, n = struct.unpack(order + "4sI", body[at : at + 8])
        part = body[at + 8 : at + 8 + n]
        if sub == b"labl" and len(part) >= 4:
            names[struct.unpack(order + "I", part[:4])[0]] = _text(part[4:])
        elif sub == b"ltxt" and len(part) >= 20:
            cue, length = struct.unpack(order + "II", part[:8])
            lengths[cue] = length
            if cue not in names and (text := _text(part[20:])):
                names[cue] = text
        at += 8 + n + (n & 1)


def wav_events(path: Path, rate: float, n_times: int) -> tuple[np.ndarray, tuple[tuple[int, str], ...]]:
    """The cue points of the WAV (the markers of the AIFF) at `path` as a reader's events ((n, 4): sample, onset s, duration s, code) and their
    labels. Cues past its last sample are kept: file_source sends them with the last chunk and says so, as it does
    any format's (they were left out here, the one format that lost them)."""
    try:
        cues = wav_cues(path) or aiff_marks(path)  # (each reads its own container only, by its first bytes)
    except (OSError, struct.error):  # a chunk cut short: the samples replay as before, without markers
        return np.zeros((0, 4)), ()
    if not cues:
        return np.zeros((0, 4)), ()
    codes = codes_for([name for *_, name in cues])
    rows = np.array([(s, s / rate, length / rate, codes[name]) for s, length, name in cues], dtype=np.float64)
    return rows, tuple(sorted((c, d) for d, c in codes.items()))
