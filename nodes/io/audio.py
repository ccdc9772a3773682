"""Sound-card I/O through sounddevice (PortAudio): a microphone source and a speaker sink.

audio_input (live source): the PortAudio callback is the clock master. Each callback block is copied
  into a bounded queue (`queue_blocks`, by default QUEUE_S of audio: JACK hands a 480-sample period over as 240
  callbacks of `blocksize: 2`, and the 100 blocks it was dropped a third of them from a graph that kept up); read() waits (up to 0.1 s) for the next block and emits it as a signal chunk
  (channels, samples), channel type "audio", units "a.u.", names ch0, ch1, ... Chunk t0 counts
  samples since the stream started (sample index / rate), including any block the queue had to drop,
  so time stays on the audio clock. A full queue (the graph is slower than the sound card) drops the
  newest block and counts `overflow`; PortAudio's own input overflow is counted as `input_overflow`;
  either flags the next chunk as a gap. `duration` ends the stream after that many seconds of audio
  (the last chunk is trimmed). The stream opens on the first read(), so nothing queues up between
  graph build and run. Declared latency: one block (a block is complete only when its last sample is).

audio_output (sink): plays its signal input through a jitter buffer. The stream opens with the run
  (open(): silence until then), and playback starts at the first callback once `prefill` seconds and
  one block are buffered (or at end of stream), so the latency is the declared one whatever the time
  the device takes to open (tens of ms on JACK: opened at the first prefill, that time was added to
  the latency for the whole session); the callback takes what is buffered and pads a short
  block with silence, counting `underflow` (blocks short while the stream is still running; PortAudio's
  own reports are `output_underflow`). process() blocks while more than `max_buffer` seconds are
  waiting, so a faster-than-real-time upstream is paced by the device. finish() waits until the buffer
  has played out. Declared latency: prefill + one block.

Devices: `device` is an index or a (part of a) name as in `wavegraph devices`; None is PortAudio's
default. PortAudio scans devices when it is initialised; configure() re-scans when no stream is open,
so a JACK server started after sounddevice was first imported is still found. Missing pieces give a
SpecError naming them: the PortAudio library (apt-get install libportaudio2) or any audio device (on a
machine without a sound card, start the JACK dummy driver:
`jackd --no-realtime -d dummy -r 48000 -p 480 -C 2 -P 2 &`). A device that goes away while its stream runs (unplugged,
its JACK server stopped) fails the node with the next read() or process(), naming it; the stream PortAudio then cannot
release is left open after RELEASE_WAIT_S (release_stream), not waited for, and PortAudio left to the OS at exit
(audio_exit.py).
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
from collections import deque
from typing import Any, Literal

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Sink, Source, explained
from wavegraph.pipeline.spec import SpecError, StreamSpec

from .audio_exit import leave_at_exit, watch_exit
from .audio_timeline import QueuedUntil

NO_PORTAUDIO_HINT = "apt-get install libportaudio2 (or run scripts/system_deps.sh)"
NO_DEVICE_HINT = (
    "connect a sound card, or on a machine without one start the JACK dummy driver: "
    "`jackd --no-realtime -d dummy -r 48000 -p 480 -C 2 -P 2 &` (apt-get install jackd2)"
)
QUEUE_S = 1.0  # s: audio_input's queue holds this much audio, whatever its block (unless given `queue_blocks`)
RELEASE_WAIT_S = 2.0  # s: how long a stream's stop and close may take, beyond the blocks it still has to play
_log = logging.getLogger("wavegraph.audio")
_open_streams = 0  # streams of this module that are open in this process (no PortAudio re-scan then)
_lock = threading.Lock()


def import_sounddevice(rescan: bool = False):
    """sounddevice with PortAudio loaded (optionally re-scanning devices), or a SpecError."""
    try:
        import sounddevice as sd
    except ImportError as e:
        raise SpecError(f"audio is unavailable: sounddevice is not installed ({e})", "pip install sounddevice") from e
    except OSError as e:  # sounddevice raises OSError when it cannot find the PortAudio library
        raise SpecError(f"audio is unavailable: sounddevice cannot load PortAudio ({e})", NO_PORTAUDIO_HINT) from e
    watch_exit()  # (PortAudio's exit once its JACK server went away: audio_exit.py)
    with _lock:
        if rescan and _open_streams == 0:
            sd._terminate()  # PortAudio lists devices only when initialised: re-initialise to see new ones
            sd._initialize()
    return sd


def _stream_opened(delta: int) -> None:
    global _open_streams
    with _lock:
        _open_streams += delta
    if delta > 0:  # the PortAudio callbacks run Python: let them take the GIL within 1 ms, not Python's 5 ms
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))


def release_stream(stream, drain: bool = False) -> None:
    """Stop a PortAudio stream (letting the blocks already handed to PortAudio play when `drain`)
    and close it; None is a no-op. PortAudio's JACK host API never returns from stopping or closing a
    stream whose server went away while it ran (a run whose sound card went away hung in close()): the
    release runs in a thread of its own, and a stream not released within RELEASE_WAIT_S is left open
    (_abandon)."""
    if stream is None:
        return
    errors: list[BaseException] = []

    def release():
        try:
            if drain:
                stream.stop()
            else:
                stream.abort()
            stream.close()
        except BaseException as e:  # noqa: BLE001 — raised below, in the caller's thread
            errors.append(e)

    worker = threading.Thread(target=release, name="portaudio-release", daemon=True)
    worker.start()
    worker.join(RELEASE_WAIT_S + 2 * stream.blocksize / stream.samplerate)
    if worker.is_alive():
        _abandon()
        return
    _stream_opened(-1)
    if errors:
        raise errors[0]


def _abandon() -> None:
    """A stream PortAudio does not release (its JACK server went away): left open, said. It stays counted open, so
    this process re-scans no devices (PortAudio's re-initialisation would hang on it), and PortAudio is left to the
    OS at exit (Pa_Terminate would hang or abort the process on it: audio_exit.py)."""
    leave_at_exit()
    _log.warning(
        "audio: PortAudio did not release a stream within %g s (its device or JACK server went away while it "
        "ran): left open; start the program again to use the sound card once it is back",
        RELEASE_WAIT_S,
    )


def stream_gone(kind: str, stream, dev: dict) -> None:
    """RuntimeError when the stream a node started is no longer active: PortAudio stopped it (the device unplugged,
    its JACK server stopped)."""
    if stream is not None and not stream.active:
        raise explained(
            RuntimeError(
                f"audio_{kind}: the stream on device {dev['index']} '{dev['name']}' stopped while it ran (device gone: "
                "unplugged, or its JACK server stopped); fix: reconnect it (`wavegraph devices` lists what is there) "
                "and run again"
            )
        ) from None


def open_stream(kind: Literal["input", "output"], dev: dict, channels: int, rate: float, block: int, cb):
    """Open and start a float32 PortAudio stream on the device configure() found. A device gone or held by
    another program since then is a SpecError naming it (PortAudio said "Error opening InputStream:
    Insufficient memory [PaErrorCode -9992]" for a JACK server that had stopped, in a traceback), and so is
    a device that runs at another rate than `rate` (PortAudio's JACK host API takes a rate within 1 Hz of
    the server's: `rate: 48001` ran at 48000 Hz, every time stamp and the rate downstream 21 ppm off)."""
    sd = import_sounddevice()
    cls = sd.InputStream if kind == "input" else sd.OutputStream
    stream = None
    try:
        stream = cls(
            device=dev["index"], channels=channels, dtype="float32", samplerate=rate, blocksize=block, callback=cb
        )
        _stream_opened(+1)
        if abs(stream.samplerate - rate) > 1e-6 * rate:  # (JACK took 48001 for 48000: 2e-5; a host API's ratio: less)
            runs = float(stream.samplerate)
            release_stream(stream)
            raise SpecError(
                f"audio_{kind}: device {dev['index']} '{dev['name']}' runs at {runs:g} Hz, not at the {rate:g} Hz "
                f"the graph gives it (PortAudio took that as near enough)",
                f"give `rate: {runs:g}` (or leave it out: the device's rate)"
                if kind == "input"
                else f"resample to {runs:g} Hz before it (a resample node)",
            )
        stream.start()
        return stream
    except sd.PortAudioError as e:
        if stream is not None:
            release_stream(stream)
        raise SpecError(
            f"audio_{kind}: cannot open {kind} device {dev['index']} '{dev['name']}' ({e})",
            "it was there when the graph was built: check that it is still connected and not used by another "
            "program (`wavegraph devices`); with JACK, that its server still runs",
        ) from None


MAX_BLOCK_S = (
    10.0  # a callback's block: blocksize 1e8 at 48 kHz waited 35 min for its first block (a hang); 1e29 failed
)


def block_of(kind: str, blocksize: int | None, rate: float) -> int:
    """The samples of a callback's block at `rate` (default 10 ms); SpecError past MAX_BLOCK_S."""
    block = blocksize or max(1, int(round(rate / 100)))
    if block > MAX_BLOCK_S * rate:
        raise SpecError(
            f"audio_{kind}: blocksize {block} is {block / rate:.4g} s at {rate:g} Hz: "
            + ("the first block would come after that long" if kind == "input" else "each block would wait that long"),
            f"give a block of milliseconds, e.g. blocksize: {max(1, int(round(rate / 100)))} (10 ms; at most "
            f"{MAX_BLOCK_S:g} s), or leave it out",
        )
    return block


def find_device(sd, device: int | str | None, kind: Literal["input", "output"]) -> dict:
    """The device's info dict (with its index), or a SpecError listing what exists."""
    all_devices = sd.query_devices()
    key = f"max_{kind}_channels"
    usable = [d for d in all_devices if d[key] > 0]
    if not usable:
        apis = ", ".join(a["name"] for a in sd.query_hostapis()) or "none"
        raise SpecError(f"audio_{kind}: PortAudio sees no {kind} device (host APIs: {apis})", NO_DEVICE_HINT)
    listing = "; ".join(f"{d['index']}: {d['name']} ({d[key]} ch, {d['default_samplerate']:g} Hz)" for d in usable)
    try:
        info = sd.query_devices(device, kind)
    except (ValueError, OverflowError, sd.PortAudioError) as e:  # (device: 1e29 was 'int too big to convert')
        raise SpecError(
            f"audio_{kind}: no {kind} device {device!r} ({e}); {kind} devices: {listing}",
            "give `device` as one of those indices or names (see `wavegraph devices`)",
        ) from e
    return dict(info)


def _check_settings(sd, kind: str, dev: dict, channels: int, rate: float) -> None:
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=dev["index"], channels=channels, dtype="float32", samplerate=rate)
    except (ValueError, OverflowError, sd.PortAudioError) as e:  # (channels: 1e29 was 'int too big to convert')
        raise SpecError(
            f"audio_{kind}: device {dev['index']} '{dev['name']}' rejects {channels} ch at {rate:g} Hz ({e})",
            _settings_fix(kind, dev, channels, rate),
        ) from None


def _settings_fix(kind: str, dev: dict, channels: int, rate: float) -> str:
    """What to change: the channels and the rate the device takes. A microphone's rate is its own `rate` (it was told
    to insert a resample node, which cannot change what the sound card records); a speaker's is its input's."""
    most, runs = dev[f"max_{kind}_channels"], dev["default_samplerate"]
    fixes = [
        f"open at most {most} channels (`channels: {most}`)" if kind == "input" else f"play at most {most} channels"
    ]
    if kind == "input":
        fixes.append(f"give `rate: {runs:g}` (the device's rate; or leave `rate` out)")
    else:
        fixes.append(f"resample to {runs:g} Hz before it (a resample node's `rate: {runs:g}`)")
    if channels <= most:
        fixes.pop(0)
    elif abs(rate - runs) <= 1e-6 * runs:
        fixes.pop()
    return "; ".join(fixes)


class AudioInputParams(NodeParams):
    device: int | str | None = Field(None, description="index or name (default: the default input)")
    # (1e8 with `rate` built 7 GB of channel names at validate, then MemoryError; sound cards have at most hundreds)
    channels: int = Field(1, ge=1, le=65536, description="input channels to open")
    rate: float | None = Field(None, gt=0, description="sample rate (default: the device's)")
    blocksize: int | None = Field(None, ge=1, description="samples per callback (default 10 ms)")
    dtype: Literal["float32", "float64"] = Field("float32", description="output sample type (samples in [-1, 1])")
    duration: float | None = Field(None, gt=0, description="end after this many seconds of audio")
    queue_blocks: int | None = Field(
        None, ge=1, description="blocks held before `overflow` drops new ones (default: 1 s of them)"
    )


class AudioInput(Source[AudioInputParams]):
    """Microphone / line input through PortAudio, paced by the sound card's callback."""

    outputs = ("out",)
    live = True
    needs_device = True  # configure() queries the sound card; open() starts its stream
    latency_note = "the sound card's own input latency (PortAudio reports it once the stream is open)"
    Params = AudioInputParams

    def declared_specs(self, in_specs):
        """Without the sound card (`wavegraph validate` without --devices): the spec from `channels`, `rate`
        and `dtype`; None (unchecked) when `rate` is left to the device."""
        p = self.params
        if p.rate is None:
            self.latency_note = f"one block at the device's default rate, and {type(self).latency_note}"
            return None
        self.latency_samples = block_of("input", p.blocksize, float(p.rate))
        self.out_specs = {"out": self._spec(float(p.rate))}
        return self.out_specs

    def _spec(self, rate: float) -> StreamSpec:
        p = self.params
        names = tuple(f"ch{i}" for i in range(p.channels))
        return StreamSpec("signal", rate, (p.channels,), p.dtype, names, ("audio",) * p.channels, "a.u.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._stream = None
        self._q: queue.Queue = queue.Queue()  # (sized by configure(), before the callback can run)
        self.reset()

    def configure(self, in_specs):
        p = self.params
        sd = import_sounddevice(rescan=True)
        self._dev = find_device(sd, p.device, "input")
        self._rate = float(p.rate or self._dev["default_samplerate"])
        _check_settings(sd, "input", self._dev, p.channels, self._rate)
        self._block = block_of("input", p.blocksize, self._rate)
        if self._stream is None:  # (the callback's queue, QUEUE_S of blocks by default)
            self._q = queue.Queue(maxsize=p.queue_blocks or math.ceil(QUEUE_S * self._rate / self._block))
        self._limit = None if p.duration is None else int(round(p.duration * self._rate))
        self.latency_samples = self._block
        self.out_specs = {"out": self._spec(self._rate)}
        return self.out_specs

    def reset(self):
        """Forget the stream state. While the device runs, its clock (the callback's sample count,
        t0 of every chunk) goes on: a restart must not send time backwards."""
        if self._stream is None:
            self._n_cb = 0  # samples seen by the callback (audio clock)
            self._expected = 0
        self._n_out = 0  # samples emitted
        self._gap_next = False
        self._done = False

    def state_dict(self):
        return {"n_samples": self._n_out}

    def load_state_dict(self, state):
        self._n_out = int(state["n_samples"])

    def _callback(self, indata, frames, time_info, status):
        start = self._n_cb
        self._n_cb += frames
        if status.input_overflow:
            self.count("input_overflow")
        try:
            self._q.put_nowait((start, indata.T.copy(), bool(status.input_overflow)))
        except queue.Full:
            self.count("overflow")

    def open(self):
        """Start the sound card stream (configure() only queried the device): called by the runtime in
        the process that runs this node, after the start barrier; read() starts it too when used offline."""
        if self._stream is None:
            self._start()

    def _start(self):
        self._stream = open_stream(
            "input", self._dev, channels=self.params.channels, rate=self._rate, block=self._block, cb=self._callback
        )

    def read(self):
        if self._done:
            return None
        if self._stream is None:
            self._start()
        try:
            start, block, overflowed = self._q.get(timeout=0.1)
        except queue.Empty:
            stream_gone("input", self._stream, self._dev)
            return {}
        gap = self._gap_next or overflowed or start != self._expected
        self._gap_next = False
        self._expected = start + block.shape[1]
        if self._limit is not None:
            room = self._limit - start
            if room <= block.shape[1]:
                block, self._done = block[:, : max(room, 0)], True
                self._stop()
                if block.shape[1] == 0:
                    return None
        self._n_out += block.shape[1]
        data = block if self.params.dtype == "float32" else block.astype(np.float64)
        return {"out": Chunk(data, start / self._rate, gap=gap)}

    def _stop(self):
        stream, self._stream = self._stream, None
        release_stream(stream)

    def close(self):
        self._stop()


class AudioOutputParams(NodeParams):
    device: int | str | None = Field(None, description="index or name (default: the default output)")
    blocksize: int | None = Field(None, ge=1, description="samples per callback (default 10 ms)")
    prefill: float = Field(  # a live stream would never start playing past a few seconds (prefill: 1e9 did not)
        0.05, ge=0, le=10.0, description="seconds buffered before playback starts (jitter buffer; at most 10 s)"
    )
    max_buffer: float = Field(  # max_buffer 1e300: no back-pressure, a --speed max replay queued the whole file
        0.5, gt=0, le=300.0, description="seconds buffered before process() waits (back-pressure; at most 300 s)"
    )


class AudioOutput(Sink[AudioOutputParams]):
    """Speaker / line output through PortAudio with a small jitter buffer."""

    inputs = ("in",)
    needs_device = True  # configure() opens the sound card
    latency_note = "the sound card's own output latency (PortAudio reports it once the stream is open)"
    Params = AudioOutputParams

    def declared_specs(self, in_specs):
        """Without the sound card: the input is checked and the latency declared (jitter buffer and block,
        from the params and the input's rate); whether the device plays it is not (None)."""
        self._buffering(self._check_input(in_specs).rate)
        return None

    def _buffering(self, rate: float) -> None:
        """Block, prefill and the most held, in samples at `rate`, and the declared latency: prefill + one block."""
        p = self.params
        self._block = block_of("output", p.blocksize, rate)
        self._prefill = int(round(p.prefill * rate))
        self._max = max(int(round(p.max_buffer * rate)), self._prefill + self._block)
        self.latency_samples = self._prefill + self._block

    def _check_input(self, in_specs) -> StreamSpec:
        spec = self.require_input(in_specs, "in", "signal")
        if len(spec.shape) != 1:
            raise SpecError(
                f"audio_output plays (channels, samples) signals, got shape {spec.shape}", "pick or mix channels first"
            )
        return spec

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._stream = None
        self._buf_lock = threading.Lock()
        self.reset()

    def configure(self, in_specs):
        spec = self._check_input(in_specs)
        p = self.params
        sd = import_sounddevice(rescan=True)
        self._dev = find_device(sd, p.device, "output")
        self._rate = float(spec.rate)
        self._nch = spec.shape[0]
        _check_settings(sd, "output", self._dev, self._nch, self._rate)
        self._buffering(self._rate)
        self._queued = QueuedUntil(self._rate)
        return {}

    def reset(self):
        self._queued = QueuedUntil(getattr(self, "_rate", 0.0))  # (the rate is configure's)
        with self._buf_lock:
            self._buf: deque[np.ndarray] = deque()
            self._buffered = 0
            self._ending = False
            self._playing = False  # set once prefill is buffered (or at the end): the callback plays silence before
        self.played = 0  # samples handed to the device (silence padding excluded)

    def state_dict(self):
        return {"played": self.played}

    def load_state_dict(self, state):
        self.played = int(state["played"])

    def _callback(self, outdata, frames, time_info, status):
        if not self._playing:  # the stream runs ahead of the first prefill: silence, not an underflow
            outdata[:] = 0
            return
        if status.output_underflow:
            self.count("output_underflow")
        got = 0
        with self._buf_lock:
            while got < frames and self._buf:
                head = self._buf[0]
                take = min(frames - got, head.shape[0])
                outdata[got : got + take] = head[:take]
                if take == head.shape[0]:
                    self._buf.popleft()
                else:
                    self._buf[0] = head[take:]
                got += take
            self._buffered -= got
            ending = self._ending
        self.played += got
        if got < frames:
            outdata[got:] = 0
            if not ending:
                self.count("underflow")

    def open(self):
        """Start the sound card stream with the run (it plays silence until prefill and a block are buffered);
        process() starts it when used offline."""
        if self._stream is None:
            self._start()

    def _start(self):
        self._stream = open_stream(
            "output", self._dev, channels=self._nch, rate=self._rate, block=self._block, cb=self._callback
        )

    def process(self, inputs):
        c = inputs["in"]
        x, cut = self._queued.trim(c.data, float(c.t0), c.gap)  # (what a segment restarted after a gap repeats)
        if cut:
            self.count("overlap_dropped", cut)
        if x.size == 0:
            return {}
        stream_gone("output", self._stream, self._dev)  # (its blocks would pile up unplayed, without back-pressure)
        frames = np.ascontiguousarray(x.T, dtype=np.float32)  # PortAudio wants (samples, channels)
        frames = self._speaker_safe(frames)
        with self._buf_lock:
            self._buf.append(frames)
            self._buffered += frames.shape[0]
            buffered = self._buffered
        if not self._playing:
            if self._stream is None and buffered >= self._prefill:  # used without open(): opened now, playing
                self._playing = True  # from its first callback
                self._start()
            elif self._stream is not None and buffered >= self._prefill + self._block:  # the declared latency
                self._playing = True
        while self._stream is not None and self._stream.active and self._buffered > self._max:
            time.sleep(self._block / self._rate / 2)  # back-pressure: the device sets the pace
        return {}

    def _speaker_safe(self, frames: np.ndarray) -> np.ndarray:
        """NaN/inf played as silence (counted `nonfinite`: a driver turns them into full-scale noise) and samples past
        full scale clipped to +-1 (counted `clipped`), rather than left to the driver to wrap or clip unsaid."""
        bad = ~np.isfinite(frames)
        over = np.abs(np.where(bad, 0, frames)) > 1.0
        if not (bad.any() or over.any()):
            return frames
        for name, mask in (("nonfinite", bad), ("clipped", over)):
            if n := int(mask.sum()):
                self.count(name, n)
        return np.clip(np.where(bad, np.float32(0), frames), -1.0, 1.0).astype(np.float32)

    def finish(self):
        with self._buf_lock:
            self._ending = True
            left = self._buffered
        self._playing = True
        if left and self._stream is None:
            self._start()
        deadline = time.monotonic() + left / self._rate + 2.0
        while self._stream is not None and self._stream.active and self._buffered > 0 and time.monotonic() < deadline:
            time.sleep(self._block / self._rate / 2)
        if self._buffered > 0:
            self.count("not_played", self._buffered)
        self._stop(drain=True)
        return {}

    def _stop(self, drain: bool = False):
        stream, self._stream = self._stream, None
        release_stream(stream, drain)

    def close(self):
        self._stop()
