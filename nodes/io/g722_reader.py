"""Raw G.722 files (.g722: the Asterisk voice prompts, a PBX's call recordings) behind `file_source`, decoded through
PyAV (FFmpeg's g722 demuxer and decoder, as models/speech_data.py decodes the prompts): 16 kHz mono, float in [-1, 1].
libsndfile reads no G.722. The file has no header: each byte is one 64 kbit/s code word of two samples, so its length
is twice its size, known without decoding it. Samples are decoded in order as they are asked for (the ADPCM decoder
carries its state from each byte to the next: a chunked replay gives the samples of the whole file's decoding); a read
before the decoded part starts the decoder again from the file's start. PyAV is optional (the `enhance` and `test`
extras); without it the file is refused with the ffmpeg line and the pip line."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError

from .readers_base import Dtype, _no_events, _Reader

RATE = 16000  # G.722's sampling rate (its 64, 56 and 48 kbit/s modes all code 16 kHz in bytes of two samples)
PIP = "pip install av (or pip install 'wavegraph[enhance]')"


def open_g722(path: Path, dtype: Dtype) -> _Reader:
    """A reader of the raw G.722 file `path`; SpecError with the ffmpeg and the pip line when PyAV is not installed."""
    try:
        import av  # noqa: F401
    except ImportError:
        raise SpecError(
            f"file_source: cannot read {path}: .g722 audio is decoded through PyAV, which is not installed",
            f"{PIP}; or convert it to WAV or FLAC first, e.g. ffmpeg -i {shlex.quote(path.name)} "
            f"{shlex.quote(path.stem + '.wav')}",
        ) from None
    return G722Reader(path, dtype)


class G722Reader(_Reader):
    """A raw G.722 file, one channel 'ch0' typed audio at 16 kHz, decoded in order (see the module's doc)."""

    def __init__(self, path: Path, dtype: Dtype):
        self.path, self.dtype = path, dtype
        self.sfreq = float(RATE)
        self.n_times = 2 * path.stat().st_size
        self.ch_names, self.ch_types, self.units = ["ch0"], ["audio"], "a.u."
        self.events = _no_events()
        self._container = None
        self._start_over()

    def _start_over(self) -> None:
        import av

        self.close()
        self._container = av.open(str(self.path), format="g722")
        stream = self._container.streams.audio[0]
        if stream.rate != RATE:  # (FFmpeg's g722 demuxer gives 16 kHz unless told otherwise)
            raise SpecError(f"file_source: {self.path}: PyAV decodes it at {stream.rate} Hz, not G.722's {RATE}")
        self._frames = self._container.decode(stream)
        self._buf = np.zeros(0, np.int16)  # decoded samples not yet passed, from stream sample self._at
        self._at = 0

    def _decode_to(self, start: int, stop: int) -> None:
        """Decode until the buffer holds the samples up to `stop` (or the file ends); those before `start` go."""
        parts: list[np.ndarray] = [self._buf]
        have = self._at + self._buf.size
        while have < stop and (frame := next(self._frames, None)) is not None:
            x = frame.to_ndarray().reshape(-1)
            if have + x.size <= start:  # (a read that skips ahead keeps none of what it passes)
                parts, self._at = [], have + x.size
            else:
                parts.append(x)
            have += x.size
        self._buf = np.concatenate(parts).astype(np.int16, copy=False) if parts else np.zeros(0, np.int16)

    def get(self, picks, start: int, stop: int) -> np.ndarray:
        if start < self._at:  # before what is decoded: the decoder's state there is gone, decode from the start
            self._start_over()
        self._decode_to(start, stop)
        x = self._buf[start - self._at : stop - self._at]
        done = min(stop - self._at, self._buf.size)  # samples up to `stop` are passed
        self._buf, self._at = self._buf[done:], self._at + done
        return (x.astype(self.dtype) * (1 / 32768))[None, :][picks]

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
