"""The enhancer's input gain (`input_gain_db`), fixed or automatic: the model was trained on speech at -40 to -15 dBFS
and takes much quieter speech for noise (docs/benchmarks.md, "Input level"). The gain raises the input before the
model and the output is divided by it again, so the output keeps the input's level.

Fixed (a number of dB): exact, the model's mask and filters are applied to the raised signal and the result scaled
back.

`auto`: a gain that follows the input's level, causal, block by block (10 ms, the model's hop):
    P_b = max(L_b, P_b-1 - DECAY_DB)          the loudest recent block's level, L_b the mean square of block b in dB
    T_b = clip(TARGET_DBFS - P_b, 0, MAX_DB)  the gain that brings it to TARGET_DBFS; only ever a boost
    G_b moves towards T_b by at most UP_DB a block, down by at most DOWN_DB
and inside a block the gain goes linearly (in amplitude) from G_b-1 to G_b, so the model never sees a step. Each output
sample is divided by the gain of the input sample it answers (latency_samples earlier), so the output keeps the
input's level, exactly where the gain holds and to within the gain's change over the 20 ms frame where it moves
(within 0.5 dB, 6 %, where it climbs at UP_DB; more for the few blocks it falls at DOWN_DB). Before the first block
that is not digital silence there is no level: the gain stays. A gap keeps it (the same source goes on; the model
state starts again); a new stream (after finish()) starts at 0 dB. A speaker
at a steady level is reached within (the gain) / UP_DB blocks (40 dB: 0.8 s); a voice that comes back loud after a
quiet stretch is over-raised for at most (the gain) / DOWN_DB blocks (30 dB: 100 ms). Measured: docs/benchmarks.md,
"Input level" (python -m wavegraph.benchmarks.enhance_level).
"""

from __future__ import annotations

import math

import numpy as np

TARGET_DBFS = -20.0  # the loudest recent 10 ms block is brought here (speech at about -30 dBFS RMS)
MAX_DB = 40.0
DECAY_DB = 0.05  # per block: 5 dB/s, so a pause of some seconds in a call does not raise the noise floor much
UP_DB = 0.5  # per block: 50 dB/s
DOWN_DB = 3.0  # per block: 300 dB/s


class RunOffset:
    """A run's DC offset against the rest of its input, for the warning at its end (the enhancer's `finish`).

    The model was trained on audio without one and reads an offset as part of the signal: noisy speech at -40 dBFS
    RMS with an offset of 0.1 (-20 dBFS, 10 times its RMS) came out 3.2 dB less clean (SNR against the clean speech
    6.7 dB, without the offset 9.9), and its speech probability fell (mean 0.88 -> 0.72); an offset under 3 times the
    signal's RMS cost under 0.2 dB. A highpass before the enhancer (5 Hz, order 2) gives 9.8 dB back."""

    OVER_DB = 10.0  # said when the offset's power is this far over the rest's (its magnitude 3.2 times the RMS)
    FLOOR = 1e-4  # and the offset is above -80 dBFS (not a near-silence's rounding)
    MIN_SAMPLES = 1600  # in a run of 100 ms or more (the mean of a few samples is no offset)

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.n, self.total, self.energy = 0, 0.0, 0.0

    def add(self, x: np.ndarray, energy: float) -> None:
        """Samples x (the input as the model sees it, before the gain) and their sum of squares."""
        self.n += x.size
        self.total += float(x.sum(dtype=np.float64))
        self.energy += float(energy)

    def excess(self) -> tuple[float, float] | None:
        """(the offset, dB its power is over the rest's) when it is worth saying, else None."""
        if self.n < self.MIN_SAMPLES:
            return None
        mean = self.total / self.n
        rest = max(self.energy / self.n - mean * mean, 0.0)
        if abs(mean) < self.FLOOR or mean * mean <= rest * 10 ** (self.OVER_DB / 10):
            return None
        return mean, (10 * math.log10(mean * mean / rest) if rest > 0 else math.inf)


def loudest_dbfs(x: np.ndarray, hop: int) -> float:
    """The level of the loudest block of `hop` samples of x (dBFS, mean square; -inf for digital silence)."""
    blocks = x[: len(x) // hop * hop].reshape(-1, hop)
    loudest = float(np.einsum("ij,ij->i", blocks, blocks).max()) / hop if len(blocks) else 0.0
    return 10 * math.log10(loudest) if loudest > 0 else -math.inf


def suggested_input_gain(loudest: float, now: float = 0.0) -> float:
    """The input_gain_db that brings a run's loudest 10 ms block (dBFS, at `now` dB of gain) to TARGET_DBFS or up to
    5 dB above (5 dB steps), at most MAX_DB: what the quiet-input warning advises."""
    return min(MAX_DB, now + 5 * math.ceil((TARGET_DBFS - loudest) / 5))


class InputGain:
    """The per-sample gains of an enhancer's input (`gains`), and the divisors of its output (`divisors`)."""

    def __init__(self, setting: float | str, hop: int, latency: int):
        self.auto = setting == "auto"
        self.fixed_db = 0.0 if self.auto else float(setting)
        self.hop, self.latency = hop, latency
        self._ramp = np.arange(1, hop + 1, dtype=np.float32) / np.float32(hop)
        self.reset()

    def reset(self, keep_level: bool = False) -> None:
        """A new stream; `keep_level` (after a gap: the same source, at the same level) keeps the auto gain's."""
        if not keep_level:
            self.gain_db = self.fixed_db  # at the end of the last block
            self.peak_db = -math.inf
        # the gains of the last `latency` input samples, whose output has not come out of the model yet (for the
        # samples before the stream's start: the first gain)
        self.pending = np.full(self.latency, np.float32(10 ** (self.gain_db / 20)), np.float32)

    @property
    def identity(self) -> bool:
        return not self.auto and self.fixed_db == 0.0

    def gains(self, blocks: np.ndarray) -> np.ndarray:
        """Per-sample linear gains for `blocks` (n_blocks, hop) of input, the state moved on by them."""
        if not self.auto:
            return np.full(blocks.shape, np.float32(10 ** (self.fixed_db / 20)), np.float32)
        power = np.einsum("ij,ij->i", blocks, blocks) / self.hop
        gains = np.empty(blocks.shape, np.float32)
        for b, p in enumerate(power.tolist()):
            start = 10 ** (self.gain_db / 20)
            level = 10 * math.log10(p) if p > 0 else -math.inf
            self.peak_db = max(level, self.peak_db - DECAY_DB)
            if self.peak_db > -math.inf:
                step = min(MAX_DB, max(0.0, TARGET_DBFS - self.peak_db)) - self.gain_db
                self.gain_db += min(UP_DB, step) if step > 0 else max(-DOWN_DB, step)
            end = 10 ** (self.gain_db / 20)
            gains[b] = start + (end - start) * self._ramp if end != start else start
        return gains

    def divisors(self, gains: np.ndarray) -> np.ndarray:
        """The gains to divide as many output samples by: those of the input samples `latency` earlier. `gains`: the
        input's, just computed (they go behind the ones still pending)."""
        both = np.concatenate([self.pending, gains.reshape(-1)])
        self.pending = both[gains.size :]
        return both[: gains.size]

    def state_dict(self) -> dict:
        return {
            "gain_db": self.gain_db,
            "peak_db": self.peak_db if self.peak_db > -math.inf else None,
            "pending": self.pending.copy(),
        }

    def load_state_dict(self, state: dict | None) -> None:
        if state is None:  # a state saved before the gain existed: as configured
            self.reset()
            return
        # checked whole before anything is taken: a gain_db of NaN (or pending gains of 0) made every later output NaN
        # (inf), one of -500 dB outputs of 1e20, 1e6 an OverflowError at the next chunk
        gain_db = float(state["gain_db"])
        peak_db = -math.inf if state["peak_db"] is None else float(state["peak_db"])
        pending = np.array(state["pending"], np.float32).reshape(-1)
        lo, hi = (0.0, MAX_DB) if self.auto else (self.fixed_db, self.fixed_db)  # a fixed gain never moves
        fix = "load a state as the enhancer's state_dict() saved it, with the same input_gain_db"
        if not lo - 1e-9 <= gain_db <= hi + 1e-9:  # (a step that lands on its target may round past it)
            raise ValueError(
                f"enhancer state 'gain.gain_db' is {gain_db}, this gain stays in [{lo:g}, {hi:g}] dB; {fix}"
            )
        if math.isnan(peak_db) or peak_db == math.inf:
            raise ValueError(f"enhancer state 'gain.peak_db' is {peak_db}: a level in dB, or None before any; {fix}")
        if pending.size != self.latency:
            raise ValueError(f"enhancer state 'gain.pending' holds {pending.size} gains, not {self.latency}; {fix}")
        slack = 1 + 1e-6  # (float32 gains)
        if not np.all((10 ** (lo / 20) / slack <= pending) & (pending <= 10 ** (hi / 20) * slack)):
            raise ValueError(
                f"enhancer state 'gain.pending' holds gains outside [{lo:g}, {hi:g}] dB (or NaN); this gain's stay "
                f"within them; {fix}"
            )
        self.gain_db, self.peak_db, self.pending = gain_db, peak_db, pending
