"""Where an enhancer's error is, frame by frame, on the held-out bench's mixtures: speech frames and pauses, and the
frames an impulsive noise dominates. A diagnostic behind docs/speech.md's stage notes, not a score.

    python -m wavegraph.benchmarks.enhance_frames [--methods ours rnnoise] [--snrs -5 5 15] [--noise clicks]

Per mixture and method, on 20 ms frames (hop 10 ms) of the output aligned to the clean speech as the bench aligns it:
- pause: frames whose clean energy is more than 35 dB under the utterance's loudest frame; `pause err/N` is the
  output's error energy there against the noise's (how far the noise is brought down, dB);
- speech: the other frames; `speech err/S` is the error energy against the clean speech's (dB);
- burst: frames whose noise energy is above the speech's minus 10 dB, split the same way (with --noise clicks, the
  frames a click dominates).
Lower is better in every column."""

from __future__ import annotations

import argparse
import json

import numpy as np
import scipy.signal as sps

SR = 16000


def _power(x: np.ndarray) -> np.ndarray:
    return np.abs(sps.stft(x, SR, nperseg=320, noverlap=160, boundary=None)[2]) ** 2  # pyright: ignore[reportArgumentType, reportIndexIssue]


def _db(num: np.ndarray, den: np.ndarray, frames: np.ndarray) -> float | None:
    if not frames.any():
        return None
    return float(10 * np.log10(num[:, frames].sum() / max(den[:, frames].sum(), 1e-20) + 1e-20))


def frame_errors(noisy: np.ndarray, clean: np.ndarray, out: np.ndarray) -> dict[str, float | None]:
    """The columns above for one aligned output (all three the clean speech's length)."""
    S, N, E = _power(clean), _power(noisy - clean), _power(out - clean)
    speech_energy = S.sum(0)
    speech = 10 * np.log10(speech_energy / max(speech_energy.max(), 1e-20) + 1e-12) > -35
    burst = 10 * np.log10(N.sum(0) / (speech_energy + 1e-12) + 1e-12) > -10
    return {
        "pause err/N": _db(E, N, ~speech),
        "speech err/S": _db(E, S, speech),
        "burst-pause err/N": _db(E, N, burst & ~speech),
        "burst-speech err/S": _db(E, S, burst & speech),
    }


def main(argv=None) -> None:
    from .enhance import aligned, lag_of
    from .enhance_data import heldout_mixtures
    from .enhance_methods import make_method

    p = argparse.ArgumentParser(prog="python -m wavegraph.benchmarks.enhance_frames", description=__doc__)
    p.add_argument("--methods", nargs="+", default=["ours", "rnnoise"])
    p.add_argument("--snrs", nargs="+", type=float, default=[-5.0, 5.0, 15.0])
    p.add_argument("--noise", default=None, help="only the mixtures of this noise type (e.g. clicks)")
    p.add_argument("--json", default=None, help="write every figure here")
    a = p.parse_args(argv)
    methods = {name: make_method(name) for name in a.methods}
    rows = []
    for noisy, clean, snr, name, noise in heldout_mixtures(a.snrs, 8, 1234):  # the bench's held-out set and seed
        if a.noise and noise != a.noise:
            continue
        for method, m in methods.items():
            y = m.run(noisy)[0]
            y = aligned(y, lag_of(clean, y), len(clean))
            rows.append({"snr": snr, "noise": noise, "name": name, "method": method, **frame_errors(noisy, clean, y)})
            cols = " ".join(f"{k} {'   -' if v is None else f'{v:6.1f}'}" for k, v in rows[-1].items() if "err" in k)
            print(f"{snr:5.0f} {noise:7s} {method:8s} {cols}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
