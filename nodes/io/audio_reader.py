"""The audio back end of `file_source` (nodes/io/readers.py picks it): any file libsndfile reads, lazily, and a WAV
whose writer died before it wrote the data size (arecord, sox or ffmpeg killed: libsndfile reads 0 frames)."""

from __future__ import annotations

import logging
from pathlib import Path

from .flac_file import tag_start
from .logged_times import LoggedTimes
from .readers import Dtype, _no_events, _readable
from .wav_bext import bext_start
from .wav_cues import wav_events
from .wav_layout import fmt_disagreement

_PCM_CONTAINERS = ("WAV", "WAVEX", "RF64", "W64", "AIFF", "AU", "CAF", "RAW")  # frames counted from the file's size

_log = logging.getLogger("wavegraph.file_source")


def _wav_data(path: Path, rifx: bool = False) -> tuple[int, int] | None:
    """(where the samples start, the size the header gives them) of a WAV file (`rifx`: a big-endian one too); None for
    any other file."""
    import struct

    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] not in ((b"RIFF", b"RIFX") if rifx else (b"RIFF",)) or head[8:] != b"WAVE":
            return None
        order = ">I" if head[:4] == b"RIFX" else "<I"
        while len(head := f.read(8)) == 8:
            size = struct.unpack(order, head[4:])[0]
            if head[:4] == b"data":
                return f.tell(), size
            f.seek(size + (size & 1), 1)
    return None


def _unfinished_wav(path: Path) -> int | None:
    """Where the samples start in a WAV whose data size is still 0 with samples after it (arecord, sox or
    ffmpeg killed while writing to a file: libsndfile reads 0 frames); None for any other file, and for a finished
    empty one whose data chunk is followed by other chunks (a LIST of tags: not samples)."""
    data = _wav_data(path)
    size = path.stat().st_size
    if not data or data[1] != 0 or size <= data[0]:
        return None
    return None if _chunks_to_end(path, data[0], size) else data[0]


def _past_4_gib(path: Path, frames: int, frame_bytes: int) -> int | None:
    """Where the samples start in a WAV holding more bytes of them than a 32-bit size gives (4 GiB): libsndfile caps the
    header's sizes at 0xFFFFFFFF when it writes on past it, a streaming writer leaves that 'unknown size', and it reads
    only the first 4 GiB (`frames`); None for any other file."""
    data = _wav_data(path)
    if not data or path.stat().st_size - data[0] <= 0xFFFFFFFF or frames * frame_bytes > 0xFFFFFFFF:
        return None
    return data[0]


def _chunks_to_end(path: Path, at: int, size: int) -> bool:
    """Whether the bytes from `at` are RIFF chunks (a 4-letter id, a size) that end where the file does."""
    import struct

    with open(path, "rb") as f:
        f.seek(at)
        while at < size and len(head := f.read(8)) == 8:
            if not all(0x20 <= c < 0x7F for c in head[:4]):
                return False
            step = struct.unpack("<I", head[4:])[0]
            at += 8 + step + (step & 1)
            f.seek(at)
    return at in (size, size + 1)  # (a last chunk of odd size may lack its pad byte)


def _cut_short_wav(path: Path, frames: int, rate: float) -> None:
    """Say a WAV holding fewer bytes of samples than its header gives (a copy or download cut short: libsndfile
    reads what is there without a word). 0xFFFFFFFF (ffmpeg) and 0x7FFFFFFF (arecord) are a streaming writer's
    'unknown size', not a promise. A big-endian RIFX too (a RIFX cut short was replayed unsaid)."""
    data = _wav_data(path, rifx=True)
    if data is None or data[1] in (0, 0x7FFFFFFF, 0xFFFFFFFF):
        return
    held = path.stat().st_size - data[0]
    if held < data[1]:
        _log.warning(
            "file_source: %s is truncated: its header gives %d bytes of samples, the file holds %d; replaying the %d "
            "frames (%.6g s) it holds",
            path,
            data[1],
            held,
            frames,
            frames / rate,
        )


def _declared_size(path: Path) -> int | None:
    """The whole file's size as the header of an AIFF, AU, W64, RF64 or SPHERE file gives it (None: another kind, or
    unknown)."""
    import struct

    with open(path, "rb") as f:
        head = f.read(28)
    if head[:8] == b"NIST_1A\n":  # SPHERE: its header's size, then sample_count x sample_n_bytes x channel_count
        return _sphere_size(path)
    if head[:4] == b"FORM" and head[8:11] == b"AIF" and head[4:8] not in (b"\x00" * 4, b"\xff" * 4):  # (unknown)
        return struct.unpack(">I", head[4:8])[0] + 8
    if head[:4] == b".snd" and len(head) >= 12 and head[8:12] != b"\xff\xff\xff\xff":
        return sum(struct.unpack(">II", head[4:12]))
    if head[:4] == b"riff" and len(head) >= 24:  # Sony Wave64: a 16-byte GUID, then the size of the whole file
        size = struct.unpack("<Q", head[16:24])[0]
        return size if 0 < size < 2**63 else None
    if head[:4] == b"RF64" and head[12:16] == b"ds64" and len(head) >= 28:
        size = struct.unpack("<Q", head[20:28])[0]
        return size + 8 if 0 < size < 2**63 else None
    return None


def _sphere_size(path: Path) -> int | None:
    """The size a NIST SPHERE header gives the file: its own (the line after NIST_1A) and its samples'."""
    import re

    with open(path, "rb") as f:
        text = f.read(4096)
    size = re.match(rb"NIST_1A\n *(\d+)\n", text)
    keys = (b"sample_count", b"sample_n_bytes", b"channel_count")
    fields = [re.search(rb"\n" + key + rb" -i (\d+)", text) for key in keys]
    if size is None or None in fields:
        return None
    n, width, channels = (int(m.group(1)) for m in fields if m is not None)
    return int(size.group(1)) + n * width * channels


def _cut_short_container(path: Path, frames: int, rate: float) -> None:
    """Say an AIFF, AU, W64 or RF64 file holding fewer bytes than its header gives (a copy cut short): libsndfile
    reads what is there without a word, as it does a WAV's (_cut_short_wav)."""
    declared, held = _declared_size(path), path.stat().st_size
    if declared is not None and held < declared:
        _log.warning(
            "file_source: %s is truncated: its header gives %d bytes, the file holds %d; replaying the %d frames "
            "(%.6g s) it holds",
            path,
            declared,
            held,
            frames,
            frames / rate,
        )


def _ogg_cut_short(path: Path) -> bool:
    """An Ogg file (Vorbis, Opus) cut short (a copy or download stopped, a recorder killed): its last page runs past
    the end of the file (cut inside it), or lacks the end-of-stream flag (cut between pages). libsndfile counts the
    frames up to the last whole page, so its header raised no doubt. The pages of the file's last 64 KiB (a page is
    at most 65,307 bytes) are followed from one to the next; a capture pattern inside a page's data is passed over."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 65536))
        tail = f.read()
    at, synced = tail.find(b"OggS"), size <= 65536  # (a whole file read: its first page is a real one)
    while at >= 0:
        if len(tail) < at + 27 or len(tail) < at + 27 + tail[at + 26]:  # the page header itself is cut
            return synced
        segments = tail[at + 27 : at + 27 + tail[at + 26]]
        end = at + 27 + len(segments) + sum(segments)
        if end == len(tail):  # the last page, whole: its flag says whether the stream ended
            return not tail[at + 5] & 0x04
        if end > len(tail) and synced:  # a page reached from the one before that the file cuts
            return True
        synced = tail[end : end + 4] == b"OggS"
        at = end if synced else tail.find(b"OggS", at + 1)
    return False


_OTHER_KINDS = (  # (offset, first bytes, what): audio containers libsndfile does not read, under any name
    (4, b"ftyp", "MP4/M4A audio (AAC or ALAC: a phone's voice memo)"),
    (0, bytes.fromhex("3026b2758e66cf11"), "WMA (an ASF container)"),
    (0, b"#!AMR", "AMR (a phone's voice recording)"),
    (0, b"wvpk", "WavPack"),
    (0, b"MAC ", "Monkey's Audio (APE)"),
    (0, bytes.fromhex("1a45dfa3"), "WebM/Matroska audio (a browser's MediaRecorder take: Opus or Vorbis)"),
)


SHORTEN_PROBLEM = (
    "it is NIST SPHERE whose samples are shorten-compressed (as LDC ships WSJ, Switchboard, Fisher), which neither "
    "libsndfile nor ffmpeg decodes"
)


def shortened_sphere(path: Path) -> bool:
    """A NIST SPHERE file whose header gives a shorten sample coding (libsndfile: 'unimplemented format')."""
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError:
        return False
    return head.startswith(b"NIST_1A") and b"shorten" in head


def shorten_hint(path: Path) -> str:
    import shlex

    out = path.stem + (".wav" if path.suffix.lower() != ".wav" else "_pcm.wav")
    return (
        f"decompress it with LDC's sph2pipe: sph2pipe -f wav {shlex.quote(path.name)} {shlex.quote(out)}; replay that"
    )


def other_audio(path: Path) -> str | None:
    """What a file holds, by its first bytes, when it is audio of a kind libsndfile does not read (an M4A renamed
    .wav was 'damaged, cut short or not audio'); None otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    return next((what for at, magic, what in _OTHER_KINDS if head[at : at + len(magic)] == magic), None)


def _raw_opener(raw: _From, form: tuple):
    """A function that opens `raw` (little-endian samples, no header) as soundfile reads a file of the format
    (rate, channels, subtype), from its start."""
    import soundfile as sf

    def open_raw():
        raw.seek(0)
        rate, channels, subtype = form
        return sf.SoundFile(raw, "r", rate, channels, subtype, "LITTLE", "RAW")  # pyright: ignore[reportArgumentType]

    return open_raw


class _From:
    """A file seen from `offset` on (for soundfile's virtual I/O)."""

    def __init__(self, path: Path, offset: int, size: int | None = None):
        self.f, self.offset, self.end = open(path, "rb"), offset, None if size is None else offset + size

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 2 and self.end is not None:  # (its length: a chunk after the samples is not read as samples)
            return self.f.seek(self.end + pos) - self.offset
        return self.f.seek(pos + self.offset if whence == 0 else pos, whence) - self.offset

    def tell(self) -> int:
        return self.f.tell() - self.offset

    def read(self, n: int = -1) -> bytes:
        if self.end is not None:
            left = max(0, self.end - self.f.tell())
            n = left if n < 0 else min(n, left)
        return self.f.read(n)

    def close(self) -> None:
        self.f.close()


class AudioReader(LoggedTimes):
    """An audio file soundfile reads, float32 (or float64) in [-1, 1], channels ch0, ch1, ..."""

    def __init__(self, path: Path, dtype: Dtype):
        import soundfile as sf

        from .record_formats import sf_name

        self.path, self.name = path, sf_name(path)
        self.open = lambda: sf.SoundFile(self.name)  # (a name that is not UTF-8 too)
        self.raw: _From | None = None
        try:
            self.file = self.open()
        except RuntimeError:  # "No 'data' chunk marker": a WAV whose chunks libsndfile cannot follow (wav_layout.py)
            from .wav_layout import misaligned_wav

            if (layout := misaligned_wav(path)) is None:
                raise
            raw = _From(path, layout.start, layout.size)
            self.raw, self.open = raw, _raw_opener(raw, (layout.rate, layout.channels, layout.subtype))
            self.file = self.open()
            _log.warning(
                "file_source: %s is a WAV whose chunks are not laid out as RIFF asks (%s), which libsndfile and "
                "ffmpeg do not read; reading its %d frames from its data chunk",
                path,
                layout.why,
                self.file.frames,
            )
        frame_bytes = self.file.channels * {
            "FLOAT": 4,
            "DOUBLE": 8,
            "PCM_U8": 1,
            "PCM_16": 2,
            "PCM_24": 3,
            "PCM_32": 4,
        }.get(self.file.subtype, 0)
        past = _past_4_gib(path, self.file.frames, frame_bytes) if frame_bytes and self.file.frames else None
        offset = _unfinished_wav(path) if self.file.frames == 0 else past
        if (
            offset is not None and self.raw is None
        ):  # read what follows the header as raw samples in the header's format
            f, raw = self.file, _From(path, offset)
            self.raw, self.open = raw, _raw_opener(raw, (f.samplerate, f.channels, f.subtype))
            self.file = self.open()
            f.close()
            if past is None:
                _log.warning(
                    "file_source: %s says it holds no samples (its writer never finished it); reading the %d frames "
                    "that follow its header",
                    path,
                    self.file.frames,
                )
            else:  # (replayed up to 4 GiB before, the rest of a long session lost unsaid)
                _log.warning(
                    "file_source: %s holds more than the 4 GiB of samples a WAV header can give (%d frames read as "
                    "its header says); reading all %d frames that follow it",
                    path,
                    f.frames,
                    self.file.frames,
                )
        self.dtype: Dtype = dtype
        # the file's own precision: a DOUBLE WAV (the recorder's float64 stream) and 32-bit integer PCM (31 bits and a
        # sign: a DAW's or an ADC's 32-bit export) hold what float32's 24 bits cannot (PCM_32 read 7 bits short, unsaid)
        self.own_dtype: Dtype = "float64" if self.file.subtype in ("DOUBLE", "PCM_32") else "float32"
        self.at = 0  # the frame the file is at (a file libsndfile cannot seek in is read on from there)
        self.said_scale = self.said_nonfinite = False
        self.sfreq = float(self.file.samplerate)
        self.n_times = int(self.file.frames)
        if self.file.format in ("WAV", "WAVEX", "RF64") and (lie := fmt_disagreement(path)):
            _log.warning(  # (read as libsndfile reads it, unsaid: a mono file claiming 3 channels, dealt out to 3)
                "file_source: %s: %s; it is read as %d channel(s) of %s at %g Hz, as libsndfile reads it, which is "
                "garbage if the header's channels or bits are the wrong ones; fix: write the right ones there in a copy "
                "(little-endian; RIFX: big), or export it again from the tool that wrote it",
                path,
                lie,
                self.file.channels,
                self.file.subtype,
                self.file.samplerate,
            )
        if offset is None:
            _cut_short_wav(path, self.n_times, self.sfreq)
            _cut_short_container(path, self.n_times, self.sfreq)  # AIFF, AU, W64, RF64 (they were replayed unsaid)
        if self.file.format not in _PCM_CONTAINERS:  # FLAC, MP3, Ogg cut short: the header's count outruns the data
            self.n_times = _readable(self.n_times, self._read_frame, path, "frames", "its header")  # FLAC: 'lost sync'
        if self.file.format == "OGG" and _ogg_cut_short(path):  # (its count is the last whole page's: replayed unsaid)
            _log.warning(
                "file_source: %s is truncated: it ends without its end-of-stream page (a copy or download stopped, or "
                "its recorder was killed); replaying the %d frames (%.6g s) it holds",
                path,
                self.n_times,
                self.n_times / self.sfreq,
            )
        self.ch_names = [f"ch{i}" for i in range(self.file.channels)]
        self.ch_types = ["audio"] * self.file.channels
        self.units = "a.u."
        self.events = _no_events()
        self._chunk_log(path)  # the recorder's WAV / FLAC of a stream with gaps: its chunk times (logged_times.py)
        if self.file.format in ("WAV", "WAVEX", "RF64"):  # a Broadcast WAV's start (bext): replayed undated before
            self.meas_date = bext_start(path, self.sfreq)
        elif self.file.format == "FLAC":  # the recorder's FLAC: its first sample's time in a DATE (flac_file.py)
            self.meas_date = tag_start(self.file.date)
        if self.file.format in ("WAV", "WAVEX", "RF64", "AIFF"):  # a DAW's markers: 'cue ', MARK (lost unsaid before)
            self.events, self.labels = wav_events(path, self.sfreq, self.n_times)
            self.events[:, 1] = [self.time_of(int(i)) for i in self.events[:, 0]]  # (on the chunk times, if logged)

    def _read_frame(self, k: int) -> None:
        """Decode frame k - 1 (raises where the data ends or breaks)."""
        try:
            self._seek(k - 1)
            if len(self.file.read(1, dtype=self.dtype)) != 1:
                raise EOFError(f"no frame {k - 1}")
            self.at = k
        except Exception:
            self._reopen()  # a FLAC decoder that lost sync stays lost: open the file again for the next try
            raise

    def get(self, picks, start, stop):
        self._seek(start)
        try:
            x = self.file.read(stop - start, dtype=self.dtype, always_2d=True)
        except RuntimeError as e:  # (LibsndfileError) a FLAC damaged inside: 'flac decoder lost sync' failed the run
            x = self._read_to_damage(start, stop, e)
        self.at = start + len(x)
        if self.file.subtype in ("FLOAT", "DOUBLE"):
            self._say_float(x, start)
        return x.T[picks]

    def _read_to_damage(self, start: int, stop: int, error: Exception):
        """Frames [start, stop) up to where decoding breaks (said, with the fix); file_source ends the replay there,
        as where an Ogg or MP3 damaged inside ends. Read on in smaller steps, the decoder opened again at each failure."""
        import shlex

        import numpy as np

        parts, at = [], start
        for step in (4096, 64, 1):
            self._reopen()
            self._seek(at)
            try:
                while at < stop and len(y := self.file.read(min(step, stop - at), dtype=self.dtype, always_2d=True)):
                    parts.append(y)
                    at += len(y)
                break
            except RuntimeError:
                continue
        if at < stop:
            self._reopen()  # (a decoder that lost sync stays lost)
            _log.warning(
                "file_source: %s is damaged at sample %d (%.6g s): %s; the replay ends there; fix: ffmpeg decodes "
                "past the damage (ffmpeg -i %s %s), replay that",
                self.path,
                at,
                at / self.sfreq,
                str(error).rstrip("."),
                shlex.quote(self.path.name),
                shlex.quote(self.path.stem + "_fixed.wav"),
            )
        return np.concatenate(parts) if parts else np.zeros((0, self.file.channels), self.dtype)

    def _say_float(self, x, start: int) -> None:
        """Say, once each, what float samples hold that audio does not: NaN or inf (a failed computation saved as
        audio; the enhancer graph turned an all-NaN file into silence, unsaid), and samples far beyond +-1: integer
        sample values saved as float (scipy's wavfile.write of a float copy of int16 data), which an enhancer takes
        for a signal 90 dB too loud, or a float mix louder than full scale (its gain: the one that fits it)."""
        import numpy as np

        finite = np.isfinite(x)
        if not self.said_nonfinite and not finite.all():
            self.said_nonfinite = True
            first = start + int(np.argmin(finite.all(axis=1)))
            _log.warning(
                "file_source: %s holds %d NaN or inf samples in samples %d..%d, the first at sample %d (%.6g s): a "
                "damaged file, or a failed computation saved as audio?; they go out as they are, and the nodes "
                "downstream treat them by their nan_policy (default: replaced by 0, counted nan_zeroed)",
                self.path,
                x.size - int(np.count_nonzero(finite)),
                start,
                start + len(x),
                first,
                first / self.sfreq,
            )
        peak = float(np.max(np.abs(x), initial=0.0, where=finite))
        if peak > 2.0 and not self.said_scale:
            self.said_scale = True
            # integers, or a level no float mix reaches (48 dB over full scale): int16 / int32 values
            whole = peak > 256 or bool(np.all(x[finite] == np.round(x[finite])))
            full = 32768 if peak <= 32768 * 1.01 else 2**31 if peak <= 2**31 * 1.01 else 0
            if whole and full:
                why, fix = "integer sample values saved as float?", f"{-20 * np.log10(full):.2f} (1/{full})"
            elif whole:
                why, fix = "a damaged file?", ""
            else:  # the gain, in hundredths of a dB, that brings the peak within +-1
                why, fix = "a float mix louder than full scale?", f"{-np.ceil(2000 * np.log10(peak)) / 100:.2f}"
            _log.warning(
                "file_source: %s holds float samples up to %.6g, beyond audio's +-1 (%s); they go out as they are%s",
                self.path,
                peak,
                why,
                f": scale them, e.g. a gain node with db: {fix} after the source" if fix else "",
            )

    def _seek(self, start: int) -> None:
        """Go to frame `start`; a file libsndfile cannot seek in (GSM 6.10, G.721/G.723 ADPCM: a telephone
        recording) is read on from where it is, or from its start again."""
        if start == self.at:
            return
        if self.file.seekable():
            self.file.seek(start)
        else:
            if start < self.at:
                self._reopen()
            self.file.read(start - self.at, dtype=self.dtype)
        self.at = start

    def _reopen(self) -> None:
        self.file.close()
        self.file, self.at = self.open(), 0

    def close(self):
        self.file.close()
        if self.raw is not None:
            self.raw.close()
