"""Synthetic sources: sine, noise (white or 1/f), chirp and a seeded EEG simulator.

All are replayed sources (``live = False``): ``read()`` returns ``chunk_size`` samples stamped
``t0 = index/rate``, and None once ``duration`` seconds have been produced (never, with duration null).
Output is a pure function of (params, seed, sample index): random numbers come from counter-based
blocks (``default_rng([seed, stream, block])`` for fixed 4096-sample blocks; event times from 1-second
blocks), and the only recursive part, the 1/f filter, carries its state sample by sample. So any chunk
size gives the same samples, and a state round trip (``pos`` and the 1/f filter state) resumes exactly.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.state import count, finite

BLOCK = 4096


def block_normal(seed: int, stream: int, n_ch: int, n0: int, n: int, cache: dict | None = None) -> np.ndarray:
    """Standard normal samples [n0, n0+n) of a (n_ch, infinite) sequence defined by (seed, stream)."""
    out = np.empty((n_ch, n))
    i = n0
    while i < n0 + n:
        b = i // BLOCK
        key = (stream, b)
        blk = cache.get(key) if cache is not None else None
        if blk is None:
            blk = np.random.default_rng([seed, stream, b]).standard_normal((n_ch, BLOCK))
            if cache is not None:
                if len(cache) > 8:
                    cache.clear()
                cache[key] = blk
        lo = i - b * BLOCK
        take = min(BLOCK - lo, n0 + n - i)
        out[:, i - n0 : i - n0 + take] = blk[:, lo : lo + take]
        i += take
    return out


class PinkFilter:
    """1/f noise: log-spaced first-order low-passes (corner f_k, gain f_k**-0.5) summed in parallel.

    Scale invariance of that sum gives |H(f)|^2 ~ 1/f between f_min and Nyquist (flat below f_min). The
    output is scaled to unit variance for white unit-variance input (closed form, exact).
    """

    def __init__(self, rate: float, n_ch: int, f_min: float = 0.1):
        nyq = rate / 2
        k = max(2, int(np.ceil(np.log2(nyq / f_min))) + 1)
        f = np.geomspace(f_min, nyq, k)
        self.p = np.exp(-2 * np.pi * f / rate)
        g = f**-0.5
        c = g * (1 - self.p)  # y_k = c_k * x / (1 - p_k z^-1)
        var = (np.outer(c, c) / (1 - np.outer(self.p, self.p))).sum()
        self.c = c / np.sqrt(var)
        self.n_ch = n_ch

    def zeros(self) -> np.ndarray:
        """A fresh filter memory, (filters, channels, 1)."""
        return np.zeros((self.p.size, self.n_ch, 1))

    def __call__(self, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
        """Filter x (channels, n); zi, the filter memory, is updated in place."""
        from scipy.signal import lfilter

        y = np.zeros_like(x)
        for k in range(self.p.size):
            yk, zi[k] = lfilter([self.c[k]], [1.0, -self.p[k]], x, axis=-1, zi=zi[k])
            y += yk
        return y


@dataclass
class SynthState:
    pos: int = field(metadata=count().metadata)  # index of the next sample


@dataclass
class PinkState:
    pos: int = field(metadata=count().metadata)  # index of the next sample
    pink_zi: np.ndarray = field(metadata=finite())  # PinkFilter memory, (filters, channels, 1)


MAX_CHANNELS = 65536  # a bound checked at build time: 10**8 channels took minutes and gigabytes
MAX_CHUNK_BYTES = 1 << 30  # one read() at most 1 GiB: chunk_size 10**9 failed mid-run on a MemoryError


class SynthParams(NodeParams):
    rate: float = Field(250.0, gt=0, description="samples per second")
    channels: int | list[str] = Field(1, description="a count (names ch0..) or a list of names")
    chunk_size: int = Field(25, ge=1, description="samples per read()")
    duration: float | None = Field(10.0, ge=0, description="seconds; null: infinite")
    seed: int = Field(0, ge=0, description="seed of the random parts: the same params and seed give the same samples")
    dtype: Literal["float64", "float32"] = Field("float64", description="output sample type")


class SynthSource(Source):
    """Base: subclasses implement generate(n0, n) -> (channels, n) float64."""

    live = False
    Params = SynthParams
    channel_type = "misc"
    units = "a.u."

    def configure(self, in_specs):
        p = self.params
        if isinstance(p.channels, int) and p.channels > MAX_CHANNELS:
            raise SpecError(f"{self.type_name}: {p.channels} channels; at most {MAX_CHANNELS}", "e.g. channels: 64")
        names = [f"ch{i}" for i in range(p.channels)] if isinstance(p.channels, int) else list(p.channels)
        if not names:
            raise SpecError(f"{self.type_name}: channels must be a positive count or unique names", "e.g. channels: 4")
        blank = [i for i, name in enumerate(names) if not name.strip()]
        counts = Counter(names)  # names.count per name was quadratic: 65,536 channels took ~30 s to configure
        twice = list(dict.fromkeys(name for name in names if counts[name] > 1))
        if blank:  # `channels: ['', C4]` ran, and an EDF recording of it read back as '-0', '-1'
            said = ", ".join(str(i + 1) for i in blank)
            raise SpecError(
                f"{self.type_name}: channel name{'s' * (len(blank) > 1)} {said} of {len(names)} "
                f"{'are' if len(blank) > 1 else 'is'} empty",
                "give every channel a name (channels: [C3, C4]), or a count (channels: 2 names them ch0, ch1)",
            )
        if twice:  # was "channels must be a positive count or unique names", which name unsaid
            raise SpecError(
                f"{self.type_name}: channel name{'s' * (len(twice) > 1)} {', '.join(repr(n) for n in twice)} "
                f"listed more than once",
                "give each channel its own name",
            )
        self.names = names
        self.n_ch = len(names)
        self._n_total = None if p.duration is None else int(round(p.duration * p.rate))
        biggest = p.chunk_size if self._n_total is None else min(p.chunk_size, self._n_total)
        if biggest * self.n_ch * np.dtype(p.dtype).itemsize > MAX_CHUNK_BYTES:
            raise SpecError(
                f"{self.type_name}: chunks of {biggest} samples x {self.n_ch} channels exceed 1 GiB",
                f"e.g. chunk_size: {max(1, round(p.rate / 10))} (100 ms)",
            )
        self._cache: dict = {}
        self.setup()
        self.reset()
        self.out_specs = {"out": signal_spec(p.rate, names, self.channel_type, p.dtype, self.units)}
        return self.out_specs

    def setup(self) -> None:
        """Per-class preparation at configure time."""

    def new_state(self):
        return SynthState(0)

    @property
    def duration_seconds(self):
        return self.params.duration

    def read(self):
        p = self.params
        pos = self.state.pos
        n = p.chunk_size if self._n_total is None else min(p.chunk_size, self._n_total - pos)
        if n <= 0:
            return None
        data = self.generate(pos, n).astype(p.dtype, copy=False)
        self.state.pos = pos + n
        return {"out": Chunk(data, t0=pos / p.rate)}

    def generate(self, n0: int, n: int) -> np.ndarray:
        raise NotImplementedError

    def times(self, n0: int, n: int) -> np.ndarray:
        return np.arange(n0, n0 + n) / self.params.rate


def sweep_hz(method: str, f0: float, f1: float, t1: float, t: float) -> float:
    """|Instantaneous frequency| of scipy.signal.chirp(t, f0, t1, f1, method) at time t >= 0 (inf from a hyperbolic
    sweep's pole on, or past float's range)."""
    t = np.float64(t)  # (a Python float's ** raises on overflow: an endless sweep's frequency is inf there)
    with np.errstate(over="ignore"):
        if method == "linear":
            f = f0 + (f1 - f0) * (t / t1)
        elif method == "quadratic":  # (scipy's vertex_zero: the parabola's vertex at t = 0)
            f = f0 + (f1 - f0) * (t / t1) ** 2
        elif method == "logarithmic":
            e = t / t1 * math.log(f1 / f0)
            f = f0 * math.exp(e) if e < 700 else math.inf
        else:  # hyperbolic
            d = (f0 - f1) * t + f1 * t1
            f = f0 * f1 * t1 / d if d > 0 else math.inf
    return abs(float(f))


def _per_channel(v, n_ch: int, what: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(v, dtype=np.float64))
    if a.size == 1:
        return np.full(n_ch, a[0])
    if a.size != n_ch:
        raise SpecError(f"{what} has {a.size} values for {n_ch} channels", "give one value, or one per channel")
    return a


class SineParams(SynthParams):
    freq: float | list[float] = Field(10.0, description="Hz; one value or one per channel")
    amplitude: float = Field(1.0, description="peak amplitude")
    phase: float = Field(0.0, description="radians")


class Sine(SynthSource):
    """amplitude * sin(2 pi freq t + phase), t = index / rate."""

    Params = SineParams

    def setup(self):
        self._f = _per_channel(self.params.freq, self.n_ch, "sine freq")
        if np.any(self._f < 0) or np.any(self._f >= self.params.rate / 2):
            raise SpecError(
                f"sine freq {self.params.freq} not within [0, Nyquist={self.params.rate / 2:g}) Hz",
                "lower the frequency or raise the rate",
            )

    def generate(self, n0, n):
        p = self.params
        return p.amplitude * np.sin(2 * np.pi * self._f[:, None] * self.times(n0, n)[None] + p.phase)


class NoiseParams(SynthParams):
    color: Literal["white", "pink"] = Field("white", description="white, or pink (1/f power spectrum)")
    amplitude: float = Field(1.0, description="standard deviation")


class Noise(SynthSource):
    """Gaussian noise, white or 1/f (pink, see PinkFilter), standard deviation `amplitude`."""

    Params = NoiseParams

    def setup(self):
        self._pink = PinkFilter(self.params.rate, self.n_ch) if self.params.color == "pink" else None

    def new_state(self):
        return SynthState(0) if self._pink is None else PinkState(0, self._pink.zeros())

    def generate(self, n0, n):
        x = block_normal(self.params.seed, 0, self.n_ch, n0, n, self._cache)
        if self._pink is not None:
            x = self._pink(x, self.state.pink_zi)
        return self.params.amplitude * x


class ChirpParams(SynthParams):
    f0: float = Field(1.0, description="frequency at t = 0, Hz")
    f1: float = Field(40.0, description="frequency at t1, Hz")
    t1: float = Field(10.0, gt=0, description="seconds at which the frequency reaches f1")
    method: Literal["linear", "quadratic", "logarithmic", "hyperbolic"] = Field(
        "linear", description="frequency sweep, as scipy.signal.chirp's method"
    )
    amplitude: float = Field(1.0, description="peak amplitude")


class Chirp(SynthSource):
    """amplitude * scipy.signal.chirp(t, f0, t1, f1, method) on every channel; the sweep goes on past t1, and one that
    would reach Nyquist within `duration` (endless: ever) is refused at configure."""

    Params = ChirpParams

    def setup(self):
        p = self.params
        for name in ("f0", "f1"):
            f = getattr(p, name)
            if not 0 < f < p.rate / 2:
                raise SpecError(
                    f"chirp {name} {f:g} Hz not within (0, Nyquist={p.rate / 2:g}) Hz", "lower it or raise the rate"
                )
        self._check_sweep()

    def _check_sweep(self) -> None:
        """scipy's sweep goes on past t1: a chirp whose frequency reaches Nyquist within its duration (endless: ever) is
        refused, with the longest duration that stays below it. 1-40 Hz over 10 s at 250 Hz, endless, passed Nyquist
        after 32 s and was aliased without a word; a logarithmic one overflowed to NaN samples after 32 min."""
        p = self.params
        nyq = p.rate / 2

        def below(t: float) -> bool:
            """|frequency| below Nyquist all over [0, t] (each method's |frequency| is monotone there, or V-shaped)."""
            return sweep_hz(p.method, p.f0, p.f1, p.t1, t) < nyq

        end = math.inf if p.duration is None else p.duration
        if below(min(end, 1e300)):
            return
        lo, hi = 0.0, p.t1  # (not [0, duration]: 200 halvings of a duration of 1e80 s left 'Nyquist at 0 s')
        while below(hi):  # the first doubling past Nyquist (at most the duration's: below it there is not)
            lo, hi = hi, 2 * hi
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if below(mid) else (lo, mid)
        raise SpecError(
            f"chirp: its {p.method} sweep ({p.f0:g} Hz at 0 s, {p.f1:g} Hz at t1 = {p.t1:g} s) goes on past t1 and "
            f"reaches Nyquist ({nyq:g} Hz) at {lo:.6g} s, within its duration "
            f"({'endless' if p.duration is None else f'{p.duration:g} s'}): aliased from there"
            + (" (and NaN once its phase overflows)" if p.method == "logarithmic" and p.f1 > p.f0 else ""),
            f"give duration: {lo:.6g} or less, or a longer t1 (a slower sweep)",
        )

    def generate(self, n0, n):
        from scipy.signal import chirp

        p = self.params
        y = p.amplitude * chirp(self.times(n0, n), p.f0, p.t1, p.f1, method=p.method)
        return np.broadcast_to(y, (self.n_ch, n)).copy()
