"""Mixing primitives for speech-enhancement data (torch-free): the active speech level, a mild synthetic room,
a mixture at an SNR and level, and speed perturbation. speech_data builds the corpora, samplers and the held-out set
on them; `mix` there is this module's.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from . import speech_noise as noise_gen
from .speech_noise import SR


def active_power(x: np.ndarray, frame: int = 320) -> float:
    """Mean power of the frames within 40 dB of the loudest one (so pauses do not lower the speech level)."""
    n = len(x) // frame
    if n == 0:
        return float(np.mean(x**2)) + 1e-12
    p = (x[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    act = p[p > p.max() * 1e-4]
    return float(act.mean()) + 1e-12


def room_impulse_response(rng: np.random.Generator, rt60: float | None = None) -> np.ndarray:
    """A mild synthetic room: direct path at 0, sparse early reflections, exponentially decaying filtered noise."""
    rt60 = rng.uniform(0.15, 0.5) if rt60 is None else rt60
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    b, a = noise_gen.butter(1, rng.uniform(2500, 7000), "low")
    tail = np.asarray(sps.lfilter(b, a, tail))
    tail[: int(0.002 * SR)] = 0
    h = tail * rng.uniform(0.05, 0.2) / (np.abs(tail).max() + 1e-9)
    for _ in range(6):
        h[int(rng.integers(int(0.003 * SR), int(0.03 * SR)))] += rng.uniform(-0.4, 0.4)
    h[0] = 1.0
    return h.astype(np.float32)


def mix(
    clean: np.ndarray,
    noise: np.ndarray,
    snr_db: float,
    rng: np.random.Generator | None = None,
    level_db: float | None = -25.0,
    reverb: bool = False,
    early_ms: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, target): noise scaled to `snr_db` against the active speech power; with `reverb` the speech in the
    mixture goes through a room_impulse_response and the target is the speech through the first `early_ms` of it
    (0: the dry speech); both scaled together so the mixture's RMS is `level_db` dBFS (None: unscaled) and it does
    not clip."""
    clean = np.asarray(clean, np.float32)
    speech = clean
    if reverb:
        rng = rng if rng is not None else np.random.default_rng(0)
        speech, clean = reverberate(clean, rng, early_ms)
    return scale_mix(speech, clean, noise, snr_db, level_db)


def reverberate(clean: np.ndarray, rng: np.random.Generator, early_ms: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(reverberant speech, target): `clean` through a room_impulse_response, and through its first `early_ms`
    (the direct path and early reflections, which a causal 20 ms enhancer should keep; 0: the dry speech)."""
    h = room_impulse_response(rng)
    wet = sps.fftconvolve(clean, h)[: len(clean)].astype(np.float32)
    n_early = int(early_ms * SR / 1000)
    target = sps.fftconvolve(clean, h[:n_early])[: len(clean)].astype(np.float32) if n_early > 1 else clean
    return wet, target


def scale_mix(
    speech: np.ndarray, target: np.ndarray, noise: np.ndarray, snr_db: float, level_db: float | None = -25.0
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, target) from speech as it reaches the microphone, its target and a noise: see `mix`."""
    clean = target
    if not np.any(speech):  # all zero: no frame is active (active_power's mean of none was NaN, and the mixture too)
        raise ValueError("the speech is all zeros: no SNR can be set against it (leave silent files out)")
    gain = np.sqrt(active_power(speech) / (np.mean(noise**2) + 1e-12) / 10 ** (snr_db / 10))
    noisy = speech + gain * noise.astype(np.float32)
    scale = 1.0
    if level_db is not None:
        scale = 10 ** (level_db / 20) / (np.sqrt(np.mean(noisy**2)) + 1e-12)
    peak = np.abs(noisy).max() * scale
    if peak > 0.99:
        scale *= 0.99 / peak
    return (noisy * scale).astype(np.float32), (clean * scale).astype(np.float32)


SPEED_STEPS = 40  # speed factors are multiples of 1/SPEED_STEPS (a rational resampling ratio)


def speed_perturb(x: np.ndarray, factor: float) -> np.ndarray:
    """x played `factor` times as fast (resampled by SPEED_STEPS / round(factor * SPEED_STEPS)): below 1 slower, and
    its pitch and formants lower by the same factor (Ko et al., "Audio augmentation for speech recognition", 2015)."""
    down = int(round(factor * SPEED_STEPS))
    if down < 1:
        raise ValueError(f"speed factor {factor:g}: must be at least {1 / SPEED_STEPS:g}")
    return sps.resample_poly(x, SPEED_STEPS, down).astype(np.float32)


def speed_steps(speed_range) -> tuple[int, int]:
    """The multiples of 1/SPEED_STEPS in `speed_range` (lo, hi), as (first, last) numerators; ValueError for a range
    that holds none (0.76-0.77), whose factors, rounded to the grid, would all lie outside it."""
    lo, hi = speed_range
    first, last = int(np.ceil(lo * SPEED_STEPS - 1e-9)), int(np.floor(hi * SPEED_STEPS + 1e-9))
    if first > last:
        raise ValueError(
            f"speed range {lo:g}-{hi:g} holds no multiple of 1/{SPEED_STEPS} (the factors resampled by): widen it, "
            f"e.g. {np.floor(lo * SPEED_STEPS) / SPEED_STEPS:g}-{np.ceil(hi * SPEED_STEPS) / SPEED_STEPS:g}"
        )
    return first, last
