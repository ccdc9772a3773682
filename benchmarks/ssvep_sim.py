"""Semi-synthetic SSVEP trials: real EEG backgrounds plus simulated SSVEP responses.

Background: real 64-channel EEG, PhysioNet EEGMMIDB S001R02 (160 Hz, 61 s, fetched by
pipeline.datasets), cut into disjoint segments: ``train`` 0-36 s (global training), ``calib`` 36-48 s
(per-subject calibration / fine-tuning) and ``eval`` 48-61 s (evaluation), so no background sample is
shared between training and evaluation. A second real recording, ssvepy's example epochs (another
subject, amplifier and lab), gives a cross-recording test: ``calib`` epochs 0-7, ``eval`` epochs 8-15,
never used for global training. Nine parieto-occipital channels are used, as in the Tsinghua
benchmark (Pz, PO3, PO4, PO7, PO8, POz, O1, Oz, O2).

Stimuli (JFPM, as the 40-target benchmark): target k flickers at ``f_k`` with phase ``phi_k``; the default
M = 40 uses 8.0-15.8 Hz in 0.2 Hz steps and phi_k = k * pi/2; other M: f_k = 8 + k * 8/M Hz (M = 8: 8-15 Hz).

Simulated subject (seeded): a visual latency L ~ U(0.08, 0.20) s and a build-up time constant
tau ~ U(0.03, 0.10) s; per harmonic h = 1..5 an amplitude a_h = h^-1 * U(0.6, 1.0), an occipital
topography (a Gaussian blob of width U(3, 5) cm around a centre jittered 1.5 cm about Oz, on the standard
10-20 positions) and per-channel phase jitter N(0, 0.3 rad). Response on channel c::

    s_c(t) = (1 - exp(-(t - L)/tau)) * sum_h a_h g_hc sin(2 pi h f_k (t - L) + h phi_k + theta_hc),  t >= L

scaled so that SNR = mean_c var(s_c) / mean_c var(background_c in 6-72 Hz) hits the requested dB.

A trial is 1 s of background before the stimulus onset, then the onset; the decoders see the window that
starts at onset + 0.14 s (a fixed average visual latency, as the DNN paper uses), after the **causal**
filter bank has run over the whole trial from its start (what a streaming decoder sees: the filters
have settled on the preceding second). `trials()` returns raw trials; `window()` filters and cuts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CHANNELS = ["Pz", "PO3", "PO4", "PO7", "PO8", "POz", "O1", "Oz", "O2"]
SEGMENTS = {"train": (0.0, 36.0), "calib": (36.0, 48.0), "eval": (48.0, 61.0)}
# ssvepy's 16 epochs x 16 s, resampled to 160 Hz and joined: epochs 0-7 calibrate, 8-15 evaluate
SSVEPY_SEGMENTS = {"calib": (0.0, 128.0), "eval": (128.0, 256.0)}
BACKGROUNDS = ("eegmmidb-s001r02", "ssvepy-epochs")
PRE_S = 1.0  # background before the stimulus onset
DELAY_S = 0.14  # the decoders' window starts this long after the onset
N_HARMONICS = 5
JITTER = (0.003, 0.1)  # per-trial latency (s) and harmonic phase (rad) SDs of the benchmark's test trials


def jfpm(m: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(freqs, phases) of M targets: 8 Hz + k * 8/M Hz, k = 0..M-1 (M = 40: 8.0..15.8 Hz step 0.2, the 40-target
    benchmark; M = 8: 8..15 Hz step 1, which the tokenizer's 1 s frames can resolve), phases k * pi/2."""
    if m < 2:
        raise ValueError(f"M must be at least 2 targets, got {m}")
    freqs = np.round(8.0 + (8.0 / m) * np.arange(m), 2)
    phases = (np.arange(m) * np.pi / 2) % (2 * np.pi)
    return freqs, phases


def clean_name(name: str) -> str:
    """EEGMMIDB labels ('Po3.', 'Fcz.', 'Oz..') -> 10-10 names ('PO3', 'FCz', 'Oz')."""
    n = name.rstrip(".")
    if n[:2].lower() in ("fc", "cp", "af", "ft", "tp", "po"):
        n = n[:2].upper() + n[2:]
    return n


@dataclass
class Background:
    """One real recording: data (channels, samples) in volts at `rate`, the 6-72 Hz power per channel."""

    name: str
    data: np.ndarray
    rate: float
    channels: list[str]
    band_power: float
    segments: dict

    def segment(self, which: str) -> np.ndarray:
        if which not in self.segments:
            raise ValueError(f"background {self.name} has no {which!r} segment; it has {sorted(self.segments)}")
        lo, hi = self.segments[which]
        return self.data[:, int(lo * self.rate) : int(hi * self.rate)]


def load_background(name: str = "eegmmidb-s001r02", channels=CHANNELS) -> Background:
    """A real recording's parieto-occipital channels at 160 Hz.

    eegmmidb-s001r02: PhysioNet EEGMMIDB S001R02 as recorded (eyes-closed baseline, 160 Hz; its 60 Hz mains
    is left in, as the global models saw it). ssvepy-epochs: another subject, amplifier and lab (ssvepy's
    example, 256 Hz), resampled to 160 Hz (resample_poly 5/8) with a causal 50 Hz notch, its 16 epochs
    joined; it holds that subject's own 6 Hz SSVEP (and 12 Hz harmonic), a real distractor."""
    import mne
    from scipy.signal import butter, iirnotch, lfilter, resample_poly, sosfiltfilt
    from wavegraph.pipeline.datasets import fetch

    if name == "eegmmidb-s001r02":
        raw = mne.io.read_raw_edf(fetch(name), verbose="error")
        names = [clean_name(c) for c in raw.ch_names]
        data = np.asarray(raw.get_data())[[names.index(c) for c in channels]]
        rate, segments = float(raw.info["sfreq"]), SEGMENTS
    elif name == "ssvepy-epochs":
        ep = mne.read_epochs(fetch(name), verbose="error")
        picked = ep.get_data(picks=list(channels))  # pyright: ignore[reportArgumentType]  # mne accepts a list of names; its annotation omits it
        x = resample_poly(picked, 5, 8, axis=-1)  # 256 -> 160 Hz
        rate, segments = 160.0, SSVEPY_SEGMENTS
        b, a = iirnotch(50.0, 30.0, fs=rate)
        data = np.concatenate(list(lfilter(b, a, x, axis=-1)), axis=-1)
    else:
        raise ValueError(f"unknown background {name!r}; use one of {BACKGROUNDS}")
    sos = butter(4, [6.0, min(90.0, 0.45 * rate)], btype="bandpass", fs=rate, output="sos")
    power = float(np.mean(np.var(sosfiltfilt(sos, data, axis=-1), axis=-1)))
    return Background(name, data, rate, list(channels), power, dict(segments))


@dataclass
class Subject:
    latency: float
    tau: float
    amps: np.ndarray  # (H,)
    topo: np.ndarray  # (H, C) gains
    theta: np.ndarray  # (H, C) phase offsets


@lru_cache(maxsize=1)
def _positions() -> dict:
    """Standard 10-05 electrode positions (m): MNE's colin27 template (the old 'standard_1005' name before 1.13)."""
    import mne

    try:
        montage = mne.channels.make_standard_montage("colin27_1005")
    except ValueError:
        montage = mne.channels.make_standard_montage("standard_1005")
    return montage.get_positions()["ch_pos"]


def make_subject(seed: int, channels=CHANNELS) -> Subject:
    rng = np.random.default_rng([7, seed])
    pos = _positions()
    xyz = np.array([pos[c] for c in channels])
    centre0 = np.asarray(pos["Oz"])
    topo = np.empty((N_HARMONICS, len(channels)))
    for h in range(N_HARMONICS):
        centre = centre0 + rng.normal(0, 0.015, 3)
        width = rng.uniform(0.03, 0.05)
        topo[h] = np.exp(-np.sum((xyz - centre) ** 2, axis=1) / (2 * width**2))
    amps = rng.uniform(0.6, 1.0, N_HARMONICS) / np.arange(1, N_HARMONICS + 1)
    return Subject(
        rng.uniform(0.08, 0.20), rng.uniform(0.03, 0.10), amps, topo, rng.normal(0, 0.3, (N_HARMONICS, len(channels)))
    )


def trials(
    bg: Background,
    segment: str,
    subject: Subject,
    freqs,
    phases,
    n_blocks: int,
    snr_db,
    window_max: float,
    seed: int,
    jitter: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw trials (n, C, samples) from PRE_S before onset to DELAY_S + window_max after it, labels (n,),
    and each trial's SNR (dB). `snr_db`: one value or a list (each trial draws one). Every trial's amplitude
    varies by U(0.8, 1.2); with `jitter` = (latency s, phase rad) its latency also varies by N(0, jitter[0])
    and each harmonic's phase by N(0, jitter[1]) (the benchmark's calibration and evaluation trials: JITTER;
    the shipped global models were trained without)."""
    rng = np.random.default_rng([11, seed])
    rate = bg.rate
    seg = bg.segment(segment)
    n_pre = int(round(PRE_S * rate))
    n_total = n_pre + int(round((DELAY_S + window_max) * rate))
    if seg.shape[1] < n_total:
        raise ValueError(f"segment {segment} is shorter than one trial")
    snrs = np.atleast_1d(np.asarray(snr_db, dtype=float))
    t = (np.arange(n_total) - n_pre) / rate  # seconds from the onset
    h = np.arange(1, N_HARMONICS + 1)
    unit_power = np.mean(np.sum((subject.amps[:, None] * subject.topo) ** 2, axis=0) / 2)
    m = len(freqs)
    n = m * n_blocks
    x = np.empty((n, len(bg.channels), n_total))
    y = np.tile(np.arange(m), n_blocks)
    trial_snr = rng.choice(snrs, size=n)
    starts = rng.integers(0, seg.shape[1] - n_total + 1, size=n)
    jit = np.random.default_rng([17, seed])
    d_lat = jit.normal(0, jitter[0], n) if jitter else np.zeros(n)
    d_phase = jit.normal(0, jitter[1], (n, N_HARMONICS)) if jitter else np.zeros((n, N_HARMONICS))
    for i in range(n):
        k = y[i]
        tl = t - subject.latency - d_lat[i]
        env = np.where(tl >= 0, 1.0 - np.exp(-np.clip(tl, 0, None) / subject.tau), 0.0)
        arg = 2 * np.pi * h[:, None] * freqs[k] * tl[None] + (h * phases[k] + d_phase[i])[:, None]  # (H, T)
        waves = np.sin(arg[:, None, :] + subject.theta[:, :, None])  # (H, C, T)
        s = np.einsum("h,hc,hct->ct", subject.amps, subject.topo, waves) * env
        gain = np.sqrt(bg.band_power * 10 ** (trial_snr[i] / 10) / unit_power) * rng.uniform(0.8, 1.2)
        x[i] = seg[:, starts[i] : starts[i] + n_total] + gain * s
    return x, y, trial_snr


def window(xb: np.ndarray, rate: float, length: float, margin: int = 0) -> np.ndarray:
    """Cut the decoders' window (onset + DELAY_S, `length` s) from filtered trials (..., samples); margin: that many
    samples wider on each side."""
    a = int(round((PRE_S + DELAY_S) * rate))
    return xb[..., a - margin : a + int(round(length * rate)) + margin]


def filtered(x: np.ndarray, sos_list) -> np.ndarray:
    """Causal filter bank over whole trials from zero state: (n, C, T) -> (n, bands, C, T)."""
    from scipy.signal import sosfilt

    return np.stack([sosfilt(sos, x, axis=-1) for sos in sos_list], axis=1)


def calibration_raw(freqs, n_blocks: int, trial_s: float, snr_db: float, segment: str = "train", seed: int = 0):
    """A calibration run as a recorder would write it: a continuous mne Raw (9 channels, 160 Hz) of real
    background EEG (consecutive pieces of `segment`, each trial at a random offset) with a stimulus of
    `trial_s` seconds per trial after PRE_S of rest, and one annotation per trial (onset, duration,
    description = the frequency as text, e.g. "7.5")."""
    import mne

    bg = load_background()
    subj = make_subject(10_000 + seed)
    freqs = np.asarray(freqs, dtype=float)
    phases = np.zeros(len(freqs))
    x, y, _ = trials(bg, segment, subj, freqs, phases, n_blocks, snr_db, trial_s - DELAY_S, seed)
    rng = np.random.default_rng([13, seed])
    order = rng.permutation(len(y))
    pieces, onsets, labels = [], [], []
    t = 0.0
    for i in order:
        pieces.append(x[i])  # PRE_S of background, then the stimulus
        onsets.append(t + PRE_S)
        labels.append(f"{freqs[y[i]]:g}")
        t += x[i].shape[1] / bg.rate
    raw = mne.io.RawArray(np.concatenate(pieces, axis=1), mne.create_info(CHANNELS, bg.rate, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(onsets, [trial_s] * len(onsets), labels))
    return raw
