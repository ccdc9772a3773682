"""SSVEP decoding without training: filter banks, sine/cosine references, FBCCA, and the ITR formula.

numpy/scipy only (no torch, no runtime), so the decoder node, the DNN (models/ssvep_dnn.py) and the
benchmark share one definition of the sub-bands and the references.

FBCCA (Chen, Wang, Gao, Jung, Gao, "Filter bank canonical correlation analysis for implementing a
high-speed SSVEP-based brain-computer interface", J. Neural Eng. 2015):

* sub-band n (n = 1..N, N = 5) is a band-pass [8n - 2, 90] Hz; the upper edge is clipped to 0.45 x the
  sampling rate when 90 Hz is not below Nyquist (e.g. 72 Hz at 160 Hz);
* each sub-band signal X_n (channels x samples) is correlated with the reference of every candidate
  frequency f, Y_f = [sin(2 pi h f t), cos(2 pi h f t)] for h = 1..H harmonics (harmonics at or above
  Nyquist are left out); rho_n(f) is the largest canonical correlation between X_n and Y_f;
* the score of f is sum_n w(n) rho_n(f)^2 with w(n) = n^-a + b, a = 1.25, b = 0.25; the decision is the
  arg max.

Filters: the paper filters each trial with a zero-phase Chebyshev type I filter (filtfilt). A streaming
decoder cannot look ahead, so here every sub-band is a **causal Chebyshev type I band-pass** (order 4 per
edge, i.e. 8th order, 0.5 dB ripple) run as second-order sections over the continuous stream with its
state carried across windows (``sosfilt``). ``filter_bank`` applies exactly that offline, so streaming
and offline give the same windows. CCA is insensitive to the filter's phase lag at the stimulus
frequency (the references include the cosine).

ITR (Wolpaw et al. 2002): bits per selection
``B = log2 M + P log2 P + (1 - P) log2((1 - P) / (M - 1))``, and bits/min = ``B * 60 / T`` with
T = window length + gaze shift (seconds per selection). B is taken as 0 at or below chance (P <= 1/M).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

__all__ = [
    "FBCCA",
    "fbcca_bands",
    "filter_bank",
    "design_bank",
    "references",
    "itr_bits",
    "itr_bits_per_min",
    "cca_max_corr",
]


def fbcca_bands(
    rate: float, n_bands: int = 5, step: float = 8.0, start: float = 6.0, high: float = 90.0
) -> list[tuple[float, float]]:
    """Sub-band edges [start + step*(n-1), high] for n = 1..n_bands; high clipped to 0.45 * rate."""
    hi = min(high, 0.45 * rate)
    bands = [(start + step * n, hi) for n in range(n_bands)]
    bad = [b for b in bands if b[0] >= hi]
    if bad:
        raise ValueError(
            f"sub-band low edge {bad[0][0]:g} Hz is not below the high edge {hi:g} Hz at {rate:g} Hz; "
            "use fewer sub-bands or a higher sampling rate"
        )
    return bands


def design_bank(bands, rate: float, order: int = 4, rp: float = 0.5) -> list[np.ndarray]:
    """Causal Chebyshev type I band-pass SOS per band (order per edge, ripple rp dB)."""
    return [
        np.asarray(sps.iirfilter(order, [lo, hi], rp=rp, btype="bandpass", ftype="cheby1", output="sos", fs=rate))
        for lo, hi in bands
    ]


def filter_bank(x: np.ndarray, sos_list, zi=None):
    """Offline causal filter bank: x (channels, samples) -> (bands, channels, samples), zero initial state
    (or `zi`, a list of (sections, channels, 2) states). Returns (y, final states)."""
    x = np.asarray(x, dtype=np.float64)
    ys, zf = [], []
    for k, sos in enumerate(sos_list):
        z0 = np.zeros((sos.shape[0], x.shape[0], 2)) if zi is None else zi[k]
        y, z = sps.sosfilt(sos, x, axis=-1, zi=z0)
        ys.append(y)
        zf.append(z)
    return np.stack(ys), zf


def references(freqs, rate: float, n_samples: int, n_harmonics: int = 5) -> list[np.ndarray]:
    """Per frequency, the (2h, n_samples) sin/cos reference for harmonics h = 1..H below Nyquist."""
    t = np.arange(n_samples) / rate
    out = []
    for f in freqs:
        if not f > 0:  # (0 Hz gives a constant reference, no SSVEP; with n_harmonics 1e29 the loop below hung)
            raise ValueError(f"stimulus frequency {f:g} Hz: it must be above 0 Hz")
        # (the harmonics above Nyquist are not looked at one by one: harmonics 1e29 hung validate)
        last = min(n_harmonics, math.floor(rate / 2 / f) + 1)
        hs = [h for h in range(1, last + 1) if h * f < rate / 2]
        if not hs:
            raise ValueError(f"stimulus frequency {f:g} Hz is not below Nyquist ({rate / 2:g} Hz)")
        rows = []
        for h in hs:
            rows += [np.sin(2 * np.pi * h * f * t), np.cos(2 * np.pi * h * f * t)]
        out.append(np.asarray(rows))
    return out


def _orth(a: np.ndarray) -> np.ndarray:
    """Orthonormal basis (samples x rank) of the centred rows of a (variables x samples)."""
    a = a - a.mean(axis=-1, keepdims=True)
    q, r = np.linalg.qr(a.T)
    d = np.abs(np.diag(r))
    keep = d > 1e-10 * max(d.max(initial=0.0), 1e-300)
    return q[:, keep]


def cca_max_corr(x: np.ndarray, qy: np.ndarray) -> float:
    """Largest canonical correlation between x (channels x samples) and the orthonormal basis qy."""
    qx = _orth(x)
    if qx.shape[1] == 0 or qy.shape[1] == 0:
        return 0.0
    s = np.linalg.svd(qx.T @ qy, compute_uv=False)
    return float(min(s[0], 1.0))


@dataclass
class FBCCA:
    """Training-free FBCCA scorer for windows that are already split into sub-bands.

    freqs: candidate stimulus frequencies (Hz); rate: sampling rate; n_harmonics: H;
    bands: sub-band edges (default fbcca_bands(rate)); a, b: the sub-band weights w(n) = n^-a + b.
    """

    freqs: list[float]
    rate: float
    n_harmonics: int = 5
    bands: list[tuple[float, float]] | None = None
    a: float = 1.25
    b: float = 0.25
    _qy: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        # each checked here with its name: n_harmonics 0 was said 'stimulus frequency 8 Hz is not below Nyquist',
        # a frequency of 0 Hz an IndexError at the first window, a band [10, 5] scipy's 'Wn[0] must be less than Wn[1]'
        self.freqs = [float(f) for f in self.freqs]
        if not self.freqs:
            raise ValueError("FBCCA needs at least one stimulus frequency")
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"FBCCA rate must be a sampling rate > 0 Hz, got {self.rate}")
        if (
            isinstance(self.n_harmonics, bool)
            or not isinstance(self.n_harmonics, numbers.Integral)
            or self.n_harmonics < 1
        ):
            raise ValueError(f"FBCCA n_harmonics must be a whole number >= 1, got {self.n_harmonics!r}")
        nyquist = self.rate / 2
        for f in self.freqs:
            if not 0 < f < nyquist:  # NaN too
                raise ValueError(f"stimulus frequency {f:g} Hz must be > 0 and below Nyquist ({nyquist:g} Hz)")
        bands = fbcca_bands(self.rate) if self.bands is None else self.bands
        self.bands = [(float(lo), float(hi)) for lo, hi in bands]
        for lo, hi in self.bands:
            if not 0 < lo < hi < nyquist:
                raise ValueError(
                    f"sub-band [{lo:g}, {hi:g}] Hz must be [low, high] with 0 < low < high < Nyquist ({nyquist:g} Hz)"
                )
        n = np.arange(1, len(self.bands) + 1)
        self.weights = n ** (-self.a) + self.b
        self.sos = design_bank(self.bands, self.rate)

    def _ref_bases(self, n_samples: int) -> list[np.ndarray]:
        if n_samples not in self._qy:
            self._qy[n_samples] = [_orth(y) for y in references(self.freqs, self.rate, n_samples, self.n_harmonics)]
        return self._qy[n_samples]

    def scores(self, xb: np.ndarray) -> np.ndarray:
        """xb (bands, channels, samples), already band-passed -> (n_freqs,) sum_n w(n) rho_n(f)^2."""
        xb = np.asarray(xb, dtype=np.float64)
        bands = self.bands
        assert bands is not None  # set in __post_init__
        if xb.ndim != 3 or xb.shape[0] != len(bands):
            raise ValueError(f"expected ({len(bands)} bands, channels, samples), got shape {xb.shape}")
        if xb.shape[-1] < 2:  # 1 sample: nothing left once centred, decided 0 unsaid; 0 samples: a reshape error
            raise ValueError(f"a window of {xb.shape[-1]} samples cannot be scored; give 2 or more (1 s or so)")
        if xb.shape[1] >= xb.shape[-1] - 1:  # the centred channels span the window: every reference correlates 1
            raise ValueError(
                f"a window of {xb.shape[-1]} samples for {xb.shape[1]} channels: CCA correlates 1 with every reference "
                f"(every frequency scores the same); give windows of well over {xb.shape[1] + 1} samples or fewer channels"
            )
        if not np.isfinite(xb).all():  # was scored 0 for every frequency: decided as the first one, unsaid
            k, c, t = np.argwhere(~np.isfinite(xb))[0]
            raise ValueError(
                f"the window holds {int((~np.isfinite(xb)).sum())} NaN or infinite samples (the first: band {k}, "
                f"channel {c}, sample {t}); it cannot be scored: drop it or replace them (the decoder node leaves "
                "such windows undecided, counted undecided_nonfinite)"
            )
        qys = self._ref_bases(xb.shape[-1])
        rho = np.zeros((len(bands), len(self.freqs)))
        for k in range(len(bands)):
            qx = _orth(xb[k])
            if qx.shape[1] == 0:
                continue
            for j, qy in enumerate(qys):
                rho[k, j] = min(np.linalg.svd(qx.T @ qy, compute_uv=False)[0], 1.0)
        return self.weights @ rho**2

    def filter(self, x: np.ndarray) -> np.ndarray:
        """Causal sub-band filtering of a whole (channels, samples) signal from zero state."""
        return filter_bank(x, self.sos)[0]

    def predict(self, trials: np.ndarray) -> np.ndarray:
        """Offline decisions for trials (n, channels, samples), each filtered from zero state (index into freqs)."""
        trials = np.asarray(trials)
        if trials.ndim != 3:  # one (channels, samples) trial failed in scipy ('Invalid zi shape')
            fix = "; for one trial x give x[None]" if trials.ndim == 2 else ""
            raise ValueError(f"trials must be (n, channels, samples), got shape {trials.shape}{fix}")
        if trials.shape[-1] < 2:
            raise ValueError(f"a window of {trials.shape[-1]} samples cannot be scored; give 2 or more (1 s or so)")
        return np.array([int(np.argmax(self.scores(self.filter(x)))) for x in trials], dtype=np.int64)


def itr_bits(m: int, p: float) -> float:
    """Bits per selection for m classes at accuracy p (Wolpaw); 0 at or below chance."""
    if m < 2:
        raise ValueError("ITR needs at least 2 classes")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {p}")
    if p <= 1.0 / m:
        return 0.0
    bits = math.log2(m) + p * math.log2(p)
    if p < 1.0:
        bits += (1.0 - p) * math.log2((1.0 - p) / (m - 1))
    return bits


def itr_bits_per_min(m: int, p: float, window_s: float, gaze_shift_s: float = 0.5) -> float:
    """ITR in bits/min with T = window + gaze shift seconds per selection."""
    t = window_s + gaze_shift_s
    if t <= 0:
        raise ValueError("window + gaze shift must be positive")
    return itr_bits(m, p) * 60.0 / t
