"""Headerless telephony audio behind `file_source` (and `bench enhance`): the formats Asterisk and PBXs keep voice
prompts and call recordings in, each known by its suffix alone (the file says nothing of itself). Each is one channel
'ch0' typed audio, float in [-1, 1] (the decoded int16 / 32768), its length known from the file's size:

* G.722 (.g722): 16 kHz ADPCM, a byte per two samples; GSM 6.10 (.gsm, libgsm's framing): 8 kHz, 33-byte frames of
  160 samples. Decoded through PyAV (FFmpeg's g722 and gsm decoders, fed the file's whole frames) in order as the
  samples are asked for: the decoder carries its state from each frame to the next, so a chunked replay gives the
  whole file's decoding; a read before the decoded part starts the decoder again from the file's start. PyAV is
  optional (the `enhance` and `test` extras): without it the file is refused with the pip line and an ffmpeg line.
* G.711 mu-law (.ulaw, .ul, .pcmu) and A-law (.alaw, .al, .pcma): 8 kHz, a byte a sample, decoded here through the
  G.711 tables (ITU-T G.191's g711.c, as FFmpeg's pcm_mulaw and pcm_alaw: bit for bit); no PyAV.
* signed linear (.sln: 8 kHz; .sln12, .sln16, .sln24, .sln32, .sln44 (44.1 kHz), .sln48, .sln96, .sln192): int16
  little-endian, read here.

The G.711 and linear formats are read straight from any sample. A .gsm cut inside a frame (or an .sln inside a
sample) is said and its whole frames replayed; one without a whole frame, or whose first byte is not a GSM frame's, is
refused. A file under these names whose first bytes say WAV or FLAC is read for what it is (readers.py)."""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError

from .readers_base import Dtype, _no_events, _Reader

PIP = "pip install av (or pip install 'wavegraph[enhance]')"
_log = logging.getLogger("wavegraph.file_source")


@dataclass(frozen=True)
class Telephony:
    """One headerless format: `frame_bytes` of the file code `frame_samples` samples at `rate`."""

    name: str  # as messages say it
    rate: int
    frame_bytes: int
    frame_samples: int
    codec: str  # FFmpeg's decoder (through PyAV), or "ulaw", "alaw", "s16le": decoded here


_ULAW = Telephony("G.711 mu-law", 8000, 1, 1, "ulaw")
_ALAW = Telephony("G.711 A-law", 8000, 1, 1, "alaw")
FORMATS: dict[str, Telephony] = {
    ".g722": Telephony("G.722", 16000, 1, 2, "g722"),  # (its 64, 56 and 48 kbit/s modes all code bytes of 2 samples)
    ".gsm": Telephony("GSM 6.10", 8000, 33, 160, "gsm"),
    **dict.fromkeys((".ulaw", ".ul", ".pcmu"), _ULAW),
    **dict.fromkeys((".alaw", ".al", ".pcma"), _ALAW),
    ".sln": Telephony("signed linear (16-bit, 8 kHz)", 8000, 2, 1, "s16le"),
    **{
        f".sln{k}": Telephony(f"signed linear (16-bit, {rate / 1000:g} kHz)", rate, 2, 1, "s16le")
        for k, rate in ((12, 12000), (16, 16000), (24, 24000), (32, 32000), (44, 44100), (48, 48000), (96, 96000))
    },
    ".sln192": Telephony("signed linear (16-bit, 192 kHz)", 192000, 2, 1, "s16le"),
}
SUFFIXES = tuple(FORMATS)
THROUGH_PYAV = tuple(s for s, f in FORMATS.items() if f.codec in ("g722", "gsm"))  # the rest need numpy only
_GSM_MAGIC = 0xD  # the high nibble of the first byte of every libgsm frame


def telephony_format(path: Path) -> Telephony | None:
    """The format `path`'s suffix names (any case; a hidden file's whole name, '.gsm'), None for another suffix."""
    name = path.name.lower()
    return FORMATS.get(name[name.rfind(".") :]) if "." in name else None


def pyav_missing(path: Path) -> str:
    """Why `path` cannot be read here ("" when it can): its format is decoded through PyAV, which is not installed."""
    fmt = telephony_format(path)
    if fmt is None or fmt.codec not in ("g722", "gsm"):
        return ""
    try:
        import av  # noqa: F401
    except ImportError:
        return f"{path.suffix} audio ({fmt.name}) is decoded through PyAV, which is not installed"
    return ""


def convert_hint(path: Path) -> str:
    """The pip line, or an ffmpeg line making a WAV of `path`."""
    return (
        f"{PIP}; or convert it to WAV or FLAC first, e.g. ffmpeg -i {shlex.quote(path.name)} "
        f"{shlex.quote(path.stem + '.wav')}"
    )


def length_of(path: Path) -> tuple[int, int]:
    """(samples, rate) of the telephony file `path`, from its size: its whole frames only."""
    fmt = telephony_format(path)
    assert fmt is not None, path
    return path.stat().st_size // fmt.frame_bytes * fmt.frame_samples, fmt.rate


def open_telephony(path: Path, dtype: Dtype) -> _Reader:
    """A reader of the headerless file `path` (one of SUFFIXES); a SpecError saying why it cannot be read."""
    fmt = telephony_format(path)
    assert fmt is not None, path
    if missing := pyav_missing(path):
        raise SpecError(f"file_source: cannot read {path}: {missing}", convert_hint(path))
    size = path.stat().st_size
    frames, left = divmod(size, fmt.frame_bytes)
    unit = "frame" if fmt.frame_samples > 1 else "sample"
    if frames == 0:
        raise SpecError(
            f"file_source: cannot read {path}: it holds {size} byte{'s' * (size != 1)}, not one whole {fmt.name} "
            f"{unit} ({fmt.frame_bytes} bytes): cut short, or not {fmt.name}",
            "give the whole file (compare its size with the original's)",
        )
    if fmt.codec == "gsm":
        with open(path, "rb") as f:
            first = f.read(1)[0]
        if first >> 4 != _GSM_MAGIC:
            raise SpecError(
                f"file_source: cannot read {path}: it does not begin with a GSM 6.10 frame as .gsm files do (each "
                f"33-byte frame's first byte is 0xD0 to 0xDF; this one's is {first:#04x})",
                "give the raw GSM recording (libgsm's, Asterisk's .gsm); a WAV holding GSM (WAV49) is read as the "
                "WAV it is",
            )
    if left:
        _log.warning(
            "file_source: %s is truncated: %d bytes are not a whole number of %d-byte %s %ss (%d bytes past the "
            "last whole one); replaying its %d whole %ss (%.6g s)",
            path, size, fmt.frame_bytes, fmt.name, unit, left, frames, unit, frames * fmt.frame_samples / fmt.rate,
        )  # fmt: skip
    if fmt.codec in ("g722", "gsm"):
        return CodecReader(path, dtype, fmt)
    return PcmReader(path, dtype, fmt)


class _Telephony(_Reader):
    """What the two readers share: one channel 'ch0' typed audio at the format's rate, its whole frames."""

    def __init__(self, path: Path, dtype: Dtype, fmt: Telephony):
        self.path, self.dtype, self.fmt = path, dtype, fmt
        self.sfreq = float(fmt.rate)
        self.n_frames = path.stat().st_size // fmt.frame_bytes
        self.n_times = self.n_frames * fmt.frame_samples
        self.ch_names, self.ch_types, self.units = ["ch0"], ["audio"], "a.u."
        self.events = _no_events()

    def _scaled(self, x: np.ndarray, picks) -> np.ndarray:
        return (x.astype(self.dtype) * (1 / 32768))[None, :][picks]  # (exact: a power of two)


def _ulaw_table() -> np.ndarray:
    """G.711 mu-law code -> 16-bit linear (g711.c's ulaw2linear: 0x00 -> -32124, 0xFF -> 0)."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _alaw_table() -> np.ndarray:
    """G.711 A-law code -> 16-bit linear (g711.c's alaw2linear: the even bits inverted, 0xD5 -> 8, 0x2A -> -32256)."""
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t, seg = a & 0x0F, (a & 0x70) >> 4
    t = np.where(seg > 0, (2 * t + 33) << (seg + 2), (2 * t + 1) << 3)
    return np.where(a & 0x80, t, -t).astype(np.int16)


_TABLES = {"ulaw": _ulaw_table(), "alaw": _alaw_table()}


class PcmReader(_Telephony):
    """G.711 (mu-law, A-law) or signed linear: each sample its own bytes, read straight from where it is asked."""

    def __init__(self, path: Path, dtype: Dtype, fmt: Telephony):
        super().__init__(path, dtype, fmt)
        self._file = open(path, "rb")  # noqa: SIM115 — held while the replay runs; closed by close()

    def get(self, picks, start: int, stop: int) -> np.ndarray:
        stop = min(stop, self.n_times)
        width = self.fmt.frame_bytes
        self._file.seek(start * width)
        raw = self._file.read(max(0, stop - start) * width)
        if len(raw) < (stop - start) * width:  # (the file shrank after it was opened: not samples that were there)
            raise SpecError(f"file_source: {self.path} got shorter while it was read", "give a finished recording")
        if self.fmt.codec == "s16le":
            x = np.frombuffer(raw, "<i2")
        else:
            x = _TABLES[self.fmt.codec][np.frombuffer(raw, np.uint8)]
        return self._scaled(x, picks)

    def close(self) -> None:
        self._file.close()


class CodecReader(_Telephony):
    """G.722 or GSM 6.10, decoded through PyAV in order (see the module's doc)."""

    BLOCK = 1 << 16  # bytes read and decoded at a time (whole frames of the format)

    def __init__(self, path: Path, dtype: Dtype, fmt: Telephony):
        super().__init__(path, dtype, fmt)
        self._file = None
        self._start_over()

    def _start_over(self) -> None:
        import av

        self.close()
        self._file = open(self.path, "rb")  # noqa: SIM115 — held while the replay runs; closed by close()
        self._codec: av.AudioCodecContext = av.CodecContext.create(self.fmt.codec, "r")  # pyright: ignore[reportAttributeAccessIssue]
        self._codec.sample_rate = self.fmt.rate
        self._codec.layout = "mono"
        self._frames_read = 0  # whole frames of the file fed to the decoder
        self._buf = np.zeros(0, np.int16)  # decoded samples not yet passed, from stream sample self._at
        self._at = 0

    def _more(self) -> np.ndarray | None:
        """The samples of the file's next block of whole frames (None at its end)."""
        assert self._file is not None
        per = max(1, self.BLOCK // self.fmt.frame_bytes)
        n = min(per, self.n_frames - self._frames_read)
        if n <= 0:
            return None
        raw = self._file.read(n * self.fmt.frame_bytes)
        if len(raw) < n * self.fmt.frame_bytes:
            raise SpecError(f"file_source: {self.path} got shorter while it was read", "give a finished recording")
        self._frames_read += n
        import av

        got = [f.to_ndarray().reshape(-1) for f in self._codec.decode(av.Packet(raw))]
        x = np.concatenate(got) if got else np.zeros(0, np.int16)
        if x.dtype != np.int16 or x.size != n * self.fmt.frame_samples:
            raise SpecError(
                f"file_source: {self.path}: PyAV decoded {n} {self.fmt.name} frames into {x.size} {x.dtype} samples, "
                f"not {n * self.fmt.frame_samples} int16",
                convert_hint(self.path).split("; or ")[-1],
            )
        return x

    def _decode_to(self, start: int, stop: int) -> None:
        """Decode until the buffer holds the samples up to `stop` (or the file ends); those before `start` go."""
        parts: list[np.ndarray] = [self._buf]
        have = self._at + self._buf.size
        while have < stop and (x := self._more()) is not None:
            if have + x.size <= start:  # (a read that skips ahead keeps none of what it passes)
                parts, self._at = [], have + x.size
            else:
                parts.append(x)
            have += x.size
        self._buf = np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def get(self, picks, start: int, stop: int) -> np.ndarray:
        if start < self._at:  # before what is decoded: the decoder's state there is gone, decode from the start
            self._start_over()
        self._decode_to(start, stop)
        x = self._buf[start - self._at : stop - self._at]
        done = min(stop - self._at, self._buf.size)  # samples up to `stop` are passed
        self._buf, self._at = self._buf[done:], self._at + done
        return self._scaled(x, picks)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
