"""`monitor`: a sink that shows its input on the live web page (`wavegraph run GRAPH --monitor`).

Put it on any edge (`{source: bp.out, target: mon.in}`); `--monitor` adds one on every output port by
itself. It decimates to what a screen can show and publishes binary frames through
wavegraph.pipeline.monitor (leaky: when the page or the parent falls behind, frames are dropped and
counted as `monitor_dropped`, never queued). Without a running monitor it does nothing.

- signals: min/max pairs per bucket of samples (so spikes stay visible), at most `points_per_s` points
  per channel and second; NaN or flat channels are flagged; a Welch spectrum of each channel over the
  last `psd_seconds` about twice a second; audio (rate >= 8 kHz) also a log-magnitude spectrogram.
- features and tokens: one heatmap column per frame (at most `points_per_s` frames/s).
- events: every marker with its label.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.monitor import MonitorPublisher
from wavegraph.pipeline.node import NodeParams, Sink
from wavegraph.pipeline.spec import StreamSpec

FLUSH_S = 1 / 30  # about 30 frames a second to the page
AUDIO_RATE = 8000.0
MAX_CHANNELS = 128
MAX_BINS = 128
F32_MAX = float(np.finfo(np.float32).max)
FLOOR_DB = 120.0  # the spectrum's range below its strongest bin


class MonitorParams(NodeParams):
    name: str = Field("", description="stream name on the page (default: the node's id; --monitor's taps: the port)")
    points_per_s: float = Field(200.0, gt=0, le=5000, description="points per channel and second sent to the page")
    psd_seconds: float = Field(2.0, gt=0, le=60, description="window of the live spectrum, seconds")


class Monitor(Sink):
    """Shows its input on the live monitor page; no output, no effect on the data."""

    Params = MonitorParams

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        spec = self.require_input(in_specs)
        self.spec = spec
        # unnamed, each its own stream: as "monitor", all of a graph's unnamed taps were one stream on the page,
        # their frames interleaved (times back and forth, channel lists swapped)
        self.stream = self.params.name or getattr(self, "node_id", "") or "monitor"
        self.publisher = MonitorPublisher()
        n_ch = int(np.prod(spec.shape)) if spec.shape else 1
        self.n_ch = min(n_ch, MAX_CHANNELS)
        names = list(spec.channel_names) or [f"ch{i}" for i in range(n_ch)]
        self.header = {"stream": self.stream, "kind": spec.kind, "rate": spec.rate, "channels": names[: self.n_ch]}
        self.header["n_channels"] = n_ch  # all of them, of which the first MAX_CHANNELS are sent (the page says so)
        # spectrum segments of about one second (a power of two), over the last psd_seconds
        self.segment = min(
            2 ** int(np.log2(max(16.0, spec.rate or 16.0))), max(16, int(self.params.psd_seconds * spec.rate))
        )
        self.factor = max(1, int(np.ceil(2 * spec.rate / self.params.points_per_s))) if spec.rate else 1
        self.reset()
        return {}

    def reset(self) -> None:
        self.arrived: list[Chunk] = []  # signal chunks since the last flush, handled together at the flush
        self.pending: list[np.ndarray] = []  # signal samples not yet in a full bucket / frames not yet sent
        self.pending_t0 = 0.0
        self.out_t: list[np.ndarray] = []
        self.out_y: list[np.ndarray] = []
        self.flat_or_nan = np.zeros(getattr(self, "n_ch", 0), dtype=bool)
        self.psd_chunks: deque[np.ndarray] = deque()  # the last psd_seconds of samples, NaN as 0
        self.psd_n = 0
        self.psd_keep = int(self.params.psd_seconds * (self.spec.rate if hasattr(self, "spec") else 0.0))
        self.sg_buf = np.zeros(0)  # audio: first-channel samples not yet in a spectrogram frame
        self.sg_t0 = 0.0
        self.last_flush = 0.0
        self.last_psd = 0.0

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        chunk = inputs["in"]
        if not self.publisher.active or chunk.data.size == 0:
            return {}
        kind = self.spec.kind
        if kind == "signal":
            self.arrived.append(chunk)
        elif kind == "events":
            self._events(chunk)
        else:
            self._frames(chunk)
        now = time.monotonic()
        if now - self.last_flush >= FLUSH_S or chunk.eos:
            self._flush(now)
        return {}

    def finish(self) -> dict[str, Chunk]:
        self._flush(time.monotonic(), final=True)
        return {}

    def close(self) -> None:
        if hasattr(self, "publisher"):
            if self.publisher.dropped:
                self.count("monitor_dropped", self.publisher.dropped)
            self.publisher.close()

    # --- per kind ------------------------------------------------------------------------------
    def _signal(self) -> None:
        """The signal chunks that arrived since the last flush, at once (about 30 times a second, whatever the
        chunk size): NaN/flat flags, min/max pairs, the spectrum's window, audio for the spectrogram."""
        t0 = self.arrived[0].t0
        parts = [np.asarray(c.data).reshape(-1, c.data.shape[-1])[: self.n_ch] for c in self.arrived]
        self.arrived = []
        raw = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        bad = ~np.isfinite(raw).all(axis=1)
        # a copy, kept (pending samples, the spectrum's window). NaN and +-Inf are drawn as 0 (the channel in red),
        # and values past float32's range at its limit: an Inf on the page hid its channel for the rest of the run
        x = np.clip(np.nan_to_num(raw.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0), -F32_MAX, F32_MAX)
        self.flat_or_nan = bad | (np.ptp(x, axis=1) == 0 if x.shape[1] > 1 else bad)
        if not self.pending:
            self.pending_t0 = t0
        self.pending.append(x)
        buf = np.concatenate(self.pending, axis=1) if len(self.pending) > 1 else x
        k = self.factor
        n_full = buf.shape[1] // k * k
        if n_full:
            blocks = buf[:, :n_full].reshape(buf.shape[0], -1, k)
            lo, hi = blocks.min(axis=2), blocks.max(axis=2)
            y = np.empty((buf.shape[0], 2 * lo.shape[1]))
            y[:, 0::2], y[:, 1::2] = lo, hi
            starts = self.pending_t0 + np.arange(lo.shape[1]) * k / self.spec.rate
            t = np.repeat(starts, 2) + np.tile([0.0, (k - 1) / self.spec.rate], lo.shape[1])
            self.out_t.append(t)
            self.out_y.append(y)
        rest = buf[:, n_full:]
        self.pending = [rest] if rest.shape[1] else []
        self.pending_t0 += n_full / self.spec.rate
        # the spectrum's window as a list of chunks, joined only when a spectrum is due (twice a second)
        self.psd_chunks.append(x)
        self.psd_n += x.shape[1]
        while len(self.psd_chunks) > 1 and self.psd_n - self.psd_chunks[0].shape[1] >= self.psd_keep:
            self.psd_n -= self.psd_chunks.popleft().shape[1]
        if self.spec.rate >= AUDIO_RATE:
            if not self.sg_buf.size:
                self.sg_t0 = t0
            self.sg_buf = np.concatenate([self.sg_buf, x[0]])

    def _frames(self, chunk: Chunk) -> None:
        data = np.asarray(chunk.data, dtype=np.float64)
        frames = data.reshape(data.shape[0], -1)[:, :MAX_BINS] if data.ndim > 1 else data[:, None]
        step = max(1, int(np.ceil(self.spec.rate / self.params.points_per_s))) if self.spec.rate else 1
        frames = frames[::step]
        t = chunk.t0 + np.arange(0, data.shape[0], step)[: len(frames)] / (self.spec.rate or 1.0)
        self.publisher.send({**self.header, "what": "frames", "t": t.tolist()}, frames)

    def _events(self, chunk: Chunk) -> None:
        rows = np.asarray(chunk.data).reshape(-1, 3)
        labels = dict(self.spec.labels)
        names = [labels.get(int(code), str(int(code))) for code in rows[:, 2]]
        self.publisher.send(
            {**self.header, "what": "markers", "t": rows[:, 0].tolist(), "labels": names},
            np.zeros((0,), dtype=np.float32),
        )

    def _flush(self, now: float, final: bool = False) -> None:
        self.last_flush = now
        if self.arrived:
            self._signal()
        if self.out_t:
            t, y = np.concatenate(self.out_t), np.concatenate(self.out_y, axis=1)
            self.out_t, self.out_y = [], []
            flagged = np.flatnonzero(self.flat_or_nan).tolist()
            self.publisher.send({**self.header, "what": "trace", "t": t.tolist(), "flagged": flagged}, y)
        if self.sg_buf.size:
            self._spectrogram()
        if self.spec.kind == "signal" and (final or now - self.last_psd >= 0.5) and self.psd_n >= self.segment:
            self.last_psd = now
            self._spectrum()

    def _spectrum(self) -> None:
        x = np.concatenate(self.psd_chunks, axis=1)[:, -self.psd_keep :]
        n = self.segment
        segs = x[:, : x.shape[1] // n * n].reshape(x.shape[0], -1, n)
        win = np.hanning(n)
        spec = np.abs(np.fft.rfft((segs - segs.mean(axis=2, keepdims=True)) * win, axis=2)) ** 2
        mean = spec.mean(axis=1)
        # at most FLOOR_DB below the strongest bin: a flat channel (a loose electrode, all zeros) was at -300 dB and
        # squeezed every other channel's spectrum into a strip at the top of the page's plot
        power = 10 * np.log10(np.maximum(mean, mean.max(initial=0.0) * 10 ** (-FLOOR_DB / 10)) + 1e-30)
        freqs = np.fft.rfftfreq(n, 1 / self.spec.rate)
        self.publisher.send({**self.header, "what": "spectrum", "freqs": freqs.tolist()}, power)

    def _spectrogram(self) -> None:
        """Log-magnitude columns of the first audio channel, 32 ms frames, for the samples gathered so far."""
        m = 512 if self.spec.rate >= 16000 else 256
        n = self.sg_buf.size // m
        if not n:
            return
        frames = self.sg_buf[: n * m].reshape(n, m)
        cols = 20 * np.log10(np.abs(np.fft.rfft(frames * np.hanning(m), axis=1))[:, :MAX_BINS] + 1e-9)
        t = self.sg_t0 + np.arange(n) * m / self.spec.rate
        self.sg_buf = self.sg_buf[n * m :]
        self.sg_t0 += n * m / self.spec.rate
        self.publisher.send({**self.header, "what": "frames", "t": t.tolist(), "bins_label": "spectrogram"}, cols)
