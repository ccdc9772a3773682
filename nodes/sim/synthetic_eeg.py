"""`eeg_sim`: a seeded EEG simulator (1/f background, alpha, SSVEP with harmonics, blinks, EMG bursts).

Every component is a function of the sample index (see nodes/sim/synthetic.py for the counter-based
randomness), so output is reproducible and independent of the chunk size. Amplitudes are given in µV and
the stream is in volts. Spatial weights come from the 10-20 name prefix of each channel:

* background: independent 1/f noise per channel (std `background_uv`), plus line noise if `line_uv` > 0;
* alpha: `alpha_freq` sine, amplitude `alpha_uv` slowly modulated (period 10 s), weight O 1, P .7,
  C .3, F .1, other .3;
* SSVEP: for each frequency f in `ssvep_freqs`, harmonics h = 1..`ssvep_harmonics` with amplitude
  `ssvep_uv`/h; all at once, or with `ssvep_trial` seconds one frequency at a time, cycling in order
  (trial k shows ssvep_freqs[k % n]); occipital weights as alpha;
* blinks: Poisson times at `blink_rate` per second, a 0.3 s sin^2 bump of `blink_uv`, weight Fp 1,
  F .5, C .15, other .05;
* EMG: Poisson bursts at `emg_rate` per second lasting 0.2-0.8 s, differentiated white noise of
  `emg_uv` std under a Hann envelope, weight T 1, F .6, other .2.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field
from wavegraph.pipeline.spec import SpecError

from .synthetic import PinkFilter, PinkState, SynthParams, SynthSource, block_normal

DEFAULT_CHANNELS = ["Fp1", "Fp2", "F3", "F4", "C3", "Cz", "C4", "P3", "P4", "O1", "Oz", "O2"]
BLINK_S = 0.3
EMG_MAX_S = 0.8


def _weights(names, table: dict[str, float], other: float) -> np.ndarray:
    out = []
    for name in names:
        n = name.upper()
        w = other
        for prefix in sorted(table, key=len, reverse=True):
            if n.startswith(prefix.upper()):
                w = table[prefix]
                break
        out.append(w)
    return np.asarray(out)


class EEGSimParams(SynthParams):
    channels: int | list[str] = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS),
        description="a count (names ch0..) or 10-20 names, whose prefixes give each component's spatial weight",
    )
    background_uv: float = Field(10.0, ge=0, description="std of the 1/f background per channel, uV")
    alpha_uv: float = Field(8.0, ge=0, description="alpha amplitude, uV (modulated with a 10 s period)")
    alpha_freq: float = Field(10.0, gt=0, description="alpha frequency, Hz")
    ssvep_freqs: list[float] = Field(
        default_factory=list, description="SSVEP stimulus frequencies, Hz (none: no SSVEP)"
    )
    ssvep_uv: float = Field(3.0, ge=0, description="SSVEP amplitude, uV (harmonic h: ssvep_uv / h)")
    ssvep_harmonics: int = Field(2, ge=1, description="harmonics per SSVEP frequency (1: the fundamental only)")
    ssvep_trial: float | None = Field(None, gt=0, description="seconds per target; null: all targets at once")
    blink_rate: float = Field(0.2, ge=0, description="blinks per second")
    blink_uv: float = Field(100.0, ge=0, description="blink amplitude, uV (frontal)")
    emg_rate: float = Field(0.1, ge=0, description="EMG bursts per second")
    emg_uv: float = Field(20.0, ge=0, description="std of an EMG burst, uV")
    line_freq: float = Field(50.0, gt=0, description="line noise frequency, Hz (with line_uv > 0)")
    line_uv: float = Field(0.0, ge=0, description="line noise amplitude, uV (0: none)")


class EEGSim(SynthSource):
    """Seeded EEG simulator; see the module docstring for the model."""

    Params = EEGSimParams
    channel_type = "eeg"
    units = "V"

    def setup(self):
        p = self.params
        nyq = p.rate / 2
        for f in [p.alpha_freq] + list(p.ssvep_freqs):
            if not f > 0:  # (0 Hz was a constant per harmonic; -10 Hz the 10 Hz one)
                raise SpecError(f"eeg_sim ssvep_freqs holds {f:g} Hz", "give stimulus frequencies above 0 Hz")
            if f >= nyq:
                raise SpecError(
                    f"eeg_sim frequency {f:g} Hz is at/above Nyquist ({nyq:g} Hz)", "raise the rate or lower it"
                )
        if p.line_uv > 0 and p.line_freq >= nyq:
            raise SpecError(f"eeg_sim line_freq {p.line_freq:g} Hz is at/above Nyquist ({nyq:g} Hz)", "raise the rate")
        for name in ("blink_rate", "emg_rate"):  # 1e308: numpy's 'lam value too large' at the first chunk
            if getattr(p, name) > p.rate:
                raise SpecError(
                    f"eeg_sim {name} {getattr(p, name):g} per second is above one per sample ({p.rate:g} Hz)",
                    f"a few a minute are lifelike: e.g. {name}: 0.2",
                )
        self._pink = PinkFilter(p.rate, self.n_ch)
        self._w_occ = _weights(self.names, {"O": 1.0, "P": 0.7, "C": 0.3, "F": 0.1}, 0.3)
        self._w_blink = _weights(self.names, {"Fp": 1.0, "AF": 0.7, "F": 0.5, "C": 0.15}, 0.05)
        self._w_emg = _weights(self.names, {"T": 1.0, "F": 0.6}, 0.2)
        rng = np.random.default_rng([p.seed, 7])
        self._alpha_phase = rng.uniform(0, 0.3, self.n_ch)  # small phase lags between channels
        self._mod_phase = rng.uniform(0, 2 * np.pi)
        # harmonics at or above Nyquist are left out, as an amplifier's anti-alias filter leaves them (and FBCCA's
        # references): 40 Hz x 4 at 250 Hz came out as a 90 Hz line, and harmonics 1e29 was 'Maximum allowed
        # dimension exceeded; fix: check its params' (1e6: 33 s for 1 s of signal)
        self._ssvep_h = [min(p.ssvep_harmonics, math.ceil(nyq / f) - 1) for f in p.ssvep_freqs]
        self._ssvep_phase = rng.uniform(0, 2 * np.pi, (max(1, len(p.ssvep_freqs)), max(self._ssvep_h, default=1)))

    def new_state(self):
        return PinkState(0, self._pink.zeros())

    def _events(self, stream: int, rate: float, t_lo: float, t_hi: float) -> list[tuple[float, float]]:
        """(onset s, rng draw in [0, 1)) of Poisson events with onset in [t_lo, t_hi), from 1-second blocks."""
        out = []
        if rate <= 0:
            return out
        for b in range(max(0, int(np.floor(t_lo))), int(np.floor(t_hi)) + 1):
            rng = np.random.default_rng([self.params.seed, stream, b])
            k = rng.poisson(rate)
            onsets = b + rng.uniform(0, 1, k)
            extra = rng.uniform(0, 1, k)
            out += [(o, e) for o, e in zip(onsets, extra) if t_lo <= o < t_hi]
        return out

    def generate(self, n0, n):
        p = self.params
        t = self.times(n0, n)
        uv = 1e-6
        x = p.background_uv * self._pink(block_normal(p.seed, 1, self.n_ch, n0, n, self._cache), self.state.pink_zi)
        if p.line_uv:
            x += p.line_uv * np.sin(2 * np.pi * p.line_freq * t)
        if p.alpha_uv:
            env = 1 + 0.5 * np.sin(2 * np.pi * 0.1 * t + self._mod_phase)
            x += (
                p.alpha_uv
                * self._w_occ[:, None]
                * env
                * np.sin(2 * np.pi * p.alpha_freq * (t[None] - self._alpha_phase[:, None] / (2 * np.pi * p.alpha_freq)))
            )
        if p.ssvep_freqs and p.ssvep_uv:
            s = np.zeros(n)
            target = None if p.ssvep_trial is None else (np.floor(t / p.ssvep_trial).astype(int) % len(p.ssvep_freqs))
            for i, f in enumerate(p.ssvep_freqs):
                on = 1.0 if target is None else (target == i)
                for h in range(1, self._ssvep_h[i] + 1):
                    s += on * (p.ssvep_uv / h) * np.sin(2 * np.pi * h * f * t + self._ssvep_phase[i, h - 1])
            x += self._w_occ[:, None] * s
        t_end = (n0 + n) / p.rate
        if p.blink_uv:
            b = np.zeros(n)
            for onset, _ in self._events(101, p.blink_rate, t[0] - BLINK_S, t_end):
                tau = t - onset
                on = (tau >= 0) & (tau < BLINK_S)
                b[on] += p.blink_uv * np.sin(np.pi * tau[on] / BLINK_S) ** 2
            x += self._w_blink[:, None] * b
        if p.emg_uv:
            events = self._events(102, p.emg_rate, t[0] - EMG_MAX_S, t_end)
            if events:
                w = block_normal(p.seed, 2, self.n_ch, max(0, n0 - 1), n + min(n0, 1), self._cache)
                if n0 == 0:
                    w = np.concatenate([np.zeros((self.n_ch, 1)), w], axis=1)
                hf = np.diff(w, axis=1) / np.sqrt(2)  # differentiated white noise: EMG-like high-frequency
                env = np.zeros(n)
                for onset, e in events:
                    dur = 0.2 + 0.6 * e
                    tau = t - onset
                    on = (tau >= 0) & (tau < dur)
                    env[on] += np.sin(np.pi * tau[on] / dur) ** 2
                x += p.emg_uv * self._w_emg[:, None] * env * hf
        return x * uv
