"""Speech-enhancement noise synthesis (torch-free): the noise generators behind speech_data.make_noise.

Each `name(n, rng)` returns n float32 samples at SR, seeded by the numpy Generator passed in; their level is
arbitrary (speech_data.mix scales noise to the SNR). Music reads the real music-on-hold recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import signal as sps

SR = 16000
MOH = Path("/usr/share/asterisk/moh")
HELDOUT_MUSIC = "reno_project-system"


class DataError(RuntimeError):
    """A corpus is missing (install it with scripts/system_deps.sh) or cannot be decoded."""


def _music_pieces(heldout: bool) -> list[np.ndarray]:
    import soundfile as sf

    files = sorted(MOH.glob("*.wav"))
    if not files:
        raise DataError(f"no music-on-hold files in {MOH}; run scripts/system_deps.sh (asterisk-moh-opsound-wav)")
    out = []
    for f in files:
        if (f.stem == HELDOUT_MUSIC) != heldout:
            continue
        x, rate = sf.read(f, dtype="float32", always_2d=True)
        out.append(sps.resample_poly(x[:, 0], SR, rate).astype(np.float32))
    return out


_MUSIC_CACHE: dict[bool, list[np.ndarray]] = {}


def music(n: int, rng, heldout: bool = False) -> np.ndarray:
    """A random stretch of a music-on-hold piece (the held-out piece only when `heldout`, never otherwise)."""
    if heldout not in _MUSIC_CACHE:
        _MUSIC_CACHE[heldout] = _music_pieces(heldout)
    pieces = _MUSIC_CACHE[heldout]
    x = pieces[int(rng.integers(len(pieces)))]
    start = int(rng.integers(0, max(1, len(x) - n)))
    y = x[start : start + n]
    return np.pad(y, (0, n - len(y)), mode="wrap") if len(y) < n else y.copy()


def colored(n: int, exponent: float, rng) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-exponent / 2)
    spec[0] = 0
    return np.fft.irfft(spec, n).astype(np.float32)


def hum(n: int, rng) -> np.ndarray:
    t = np.arange(n) / SR
    f0 = float(rng.choice([50.0, 60.0])) * (1 + rng.uniform(-0.01, 0.01))
    drift = 1 + 0.002 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t)
    phase = 2 * np.pi * f0 * np.cumsum(drift) / SR
    y = np.zeros(n)
    n_harm = int(rng.integers(5, 40))
    tilt = rng.uniform(0.3, 1.5)
    for h in range(1, n_harm + 1):
        if h * f0 >= SR / 2:
            break
        y += rng.uniform(0.3, 1.0) / h**tilt * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:  # buzz: a clipped mains waveform
        y = np.clip(y, -0.5 * np.abs(y).max(), 0.5 * np.abs(y).max())
    return y.astype(np.float32)


def butter(order: int, freq, btype: str) -> tuple[np.ndarray, np.ndarray]:
    ba = sps.butter(order, freq, btype=btype, fs=SR)
    return np.asarray(ba[0]), np.asarray(ba[1])  # pyright: ignore[reportOptionalSubscript, reportIndexIssue]


def clicks(n: int, rng) -> np.ndarray:
    y = np.zeros(n, np.float32)
    rate = rng.uniform(2, 15)  # events per second
    n_ev = max(1, rng.poisson(rate * n / SR))
    for pos in rng.integers(0, n, n_ev):
        length = int(rng.integers(SR // 1000, SR // 40))  # 1-25 ms
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (length * rng.uniform(0.1, 0.5)))
        if rng.random() < 0.6:  # keyboard-like: band-passed burst
            lo = rng.uniform(300, 3000)
            b, a = butter(2, [lo, min(lo * rng.uniform(1.5, 4), 7800)], "band")
            burst = np.asarray(sps.lfilter(b, a, burst))
        e = min(n, pos + length)
        y[pos:e] += (burst[: e - pos] * rng.uniform(0.2, 1.0)).astype(np.float32)
    return y


def impacts(n: int, rng) -> np.ndarray:
    """Knocks, taps and thuds: each event 1-4 damped resonant modes (80-2500 Hz, decay constants 10-150 ms) after a
    1-4 ms noisy attack; 0.5-6 events per second."""
    y = np.zeros(n)
    t = np.arange(int(0.5 * SR)) / SR
    for pos in rng.integers(0, n, max(1, rng.poisson(rng.uniform(0.5, 6) * n / SR))):
        event = rng.standard_normal(t.size) * np.exp(-t / rng.uniform(0.001, 0.004)) * rng.uniform(0.1, 0.6)
        for _ in range(int(rng.integers(1, 5))):
            f, tau = np.exp(rng.uniform(np.log(80), np.log(2500))), rng.uniform(0.01, 0.15)
            event += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t / tau)
        e = min(n, pos + t.size)
        y[pos:e] += event[: e - pos] * rng.uniform(0.2, 1.0)
    return y.astype(np.float32)


def tonal(n: int, rng) -> np.ndarray:
    t = np.arange(n) / SR
    y = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        f = rng.uniform(250, 4000)
        kind = rng.integers(0, 3)
        if kind == 0:  # steady tone with vibrato
            ph = 2 * np.pi * np.cumsum(f * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(1, 6) * t))) / SR
            y += np.sin(ph)
        elif kind == 1:  # beeps
            period, duty = rng.uniform(0.2, 1.0), rng.uniform(0.2, 0.7)
            y += np.sin(2 * np.pi * f * t) * ((t % period) < duty * period)
        else:  # sweep
            f1 = rng.uniform(250, 4000)
            y += sps.chirp(t, f, t[-1] if n > 1 else 1.0, f1, method="logarithmic")
    return y.astype(np.float32)


def gusts(n: int, rng) -> np.ndarray:
    """Noise that comes and goes: colored noise (spectral slope 0-2, half of it band-passed) switched on for 40-400 ms
    at a time, with 1-10 ms attacks and 10-100 ms releases, 40-800 ms apart (a fan, a passing car, a hand brushing the
    microphone). Sudden level changes of noise, which the stationary white/pink/brown never show; every burst is
    longer than the held-out clicks (1-25 ms decaying bursts)."""
    y = colored(n, rng.uniform(0.0, 2.0), rng).astype(np.float64)
    if rng.random() < 0.5:
        lo = rng.uniform(100, 2000)
        b, a = butter(2, [lo, min(lo * rng.uniform(2, 8), 7800)], "band")
        y = np.asarray(sps.lfilter(b, a, y))
    env = np.zeros(n)
    pos = int(rng.integers(0, int(0.4 * SR)))
    while pos < n:
        attack, on, release = (int(rng.uniform(*r) * SR) for r in ((0.001, 0.01), (0.04, 0.4), (0.01, 0.1)))
        seg = np.concatenate([np.linspace(0, 1, attack, endpoint=False), np.ones(on), np.linspace(1, 0, release)])
        e = min(n, pos + seg.size)
        env[pos:e] = np.maximum(env[pos:e], seg[: e - pos] * rng.uniform(0.3, 1.0))
        pos += seg.size + int(rng.uniform(0.04, 0.8) * SR)
    return (y * env).astype(np.float32)


def alarms(n: int, rng) -> np.ndarray:
    """More tonal interference than `tonal`: 1-3 sources, each a harmonic complex (f0 200-1500 Hz, 1-8 partials up
    to 7.5 kHz), steady, beeping, amplitude-modulated (a ringer: 15-30 Hz) or frequency-modulated (a siren: a wail
    over 0.5-4 s, or two tones alternating every 0.2-0.8 s); the sources at levels up to 20 dB apart."""
    t = np.arange(n) / SR
    y = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        f0 = np.exp(rng.uniform(np.log(200), np.log(1500)))
        kind = int(rng.integers(0, 4))
        if kind == 3:  # siren: wail (sinusoidal FM) or hi-lo
            if rng.random() < 0.5:
                f = f0 * (1 + rng.uniform(0.1, 0.6) * np.sin(2 * np.pi * t / rng.uniform(0.5, 4) + rng.uniform(0, 6.3)))
            else:
                f = f0 * np.where((t % (2 * (half := rng.uniform(0.2, 0.8)))) < half, 1.0, rng.uniform(1.1, 1.6))
        else:
            f = np.full(n, f0)
        phase = 2 * np.pi * np.cumsum(f) / SR
        src = np.zeros(n)
        tilt = rng.uniform(0.0, 1.5)
        for h in range(1, int(rng.integers(1, 9)) + 1):
            if h * f.max() >= 7500:
                break
            src += rng.uniform(0.3, 1.0) / h**tilt * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
        if kind == 1:  # beeps
            period = rng.uniform(0.1, 1.0)
            src *= (t + rng.uniform(0, period)) % period < rng.uniform(0.2, 0.7) * period
        elif kind == 2:  # ringer: amplitude modulation
            src *= 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(15, 30) * t))
        y += src * 10 ** (-rng.uniform(0, 20) / 20)
    return y.astype(np.float32)


def typing(n: int, rng) -> np.ndarray:
    """Typing on a keyboard: words of 2-8 keystrokes (80-250 ms apart, 0.3-1 s between words), each a key press and
    a weaker release 40-120 ms later; a stroke is a 0.5-3 ms noisy attack, 2-4 damped keycap modes (1-6 kHz, 2-15
    ms) and a low thock (120-400 Hz, 5-20 ms). Its own generator: a rhythm of paired mechanical strokes, not the
    held-out `clicks` (random bursts of decaying noise)."""
    t = np.arange(int(0.06 * SR)) / SR

    def stroke() -> np.ndarray:
        s = rng.standard_normal(t.size) * np.exp(-t / rng.uniform(0.0005, 0.003)) * rng.uniform(0.2, 1.0)
        for _ in range(int(rng.integers(2, 5))):
            f, tau = rng.uniform(1000, 6000), rng.uniform(0.002, 0.015)
            s += rng.uniform(0.2, 0.8) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) * np.exp(-t / tau)
        f, tau = rng.uniform(120, 400), rng.uniform(0.005, 0.02)
        return s + rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * f * t) * np.exp(-t / tau)

    y = np.zeros(n + 2 * SR)
    pos = int(rng.integers(0, int(0.5 * SR)))
    while pos < n:
        for _ in range(int(rng.integers(2, 9))):
            gain = rng.uniform(0.4, 1.0)
            y[pos : pos + t.size] += gain * stroke()
            up = pos + int(rng.uniform(0.04, 0.12) * SR)
            y[up : up + t.size] += gain * rng.uniform(0.2, 0.6) * stroke()
            pos += int(rng.uniform(0.08, 0.25) * SR)
        pos += int(rng.uniform(0.3, 1.0) * SR)
    return y[:n].astype(np.float32)


# The generators make_noise dispatches to by name (music and the colored noises take extra arguments).
GENERATORS = {
    "hum": hum,
    "clicks": clicks,
    "tonal": tonal,
    "impacts": impacts,
    "gusts": gusts,
    "alarms": alarms,
    "typing": typing,
}
