"""Where the EEG tokenizer loses an SSVEP's frequency: linear probes of each stage, M = 8 (8-15 Hz, 1 Hz apart).

    nice -n 15 .venv/bin/python -m wavegraph.benchmarks.token_probe      # ~1 min, one thread

Trials: benchmarks/ssvep_sim.py on the real EEGMMIDB background (1 s windows at onset + 0.14 s, default per-trial
jitter); fit: 20 simulated subjects x 3 blocks (480 trials, SNRs -10/-5/0 dB mixed) from the `train` segment;
evaluation: 4 other subjects x 3 blocks (96 trials) per SNR from the `eval` segment. For each stage of the shipped
tokenizer (models/eeg_tokenizer.py) on the full STFT frame of a window, a ridge classifier (features standardised,
one-hot targets, the best of 4 penalties by evaluation accuracy: an upper bound for a linear read-out, used only
to locate the loss, not to choose a decoder) on one channel (Oz) and on all 9 channels side by side. Chance 0.125.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import ssvep_sim as sim


def _windows(bg, which: str, n_subjects: int, seed0: int, snrs, freqs, phases) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for s in range(n_subjects):
        x, y, _ = sim.trials(bg, which, sim.make_subject(seed0 + s), freqs, phases, 3, snrs, 1.0, seed0 + s, sim.JITTER)
        xs.append(sim.window(x, bg.rate, 1.0))
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


@torch.no_grad()
def stages(tok, X: np.ndarray) -> dict[str, torch.Tensor]:
    """(trials, C, 160 samples at 160 Hz) -> each stage's features of the last (full) frame, (trials, C, dim)."""
    from wavegraph.models.eeg_tokenizer import log_spectrum
    from wavegraph.models.token_decoder import trial_windows

    w = trial_windows(tok, X, 160.0)[:, -1]  # (n, C, n_fft): the frame that holds the whole window
    n, c, k = w.shape
    flat = w.reshape(n * c, k)
    spec = log_spectrum(flat, tok.cfg)
    h = tok.freq.patch_tokens(spec)
    agg = tok.freq.aggregate(h)
    feats = tok.mix(torch.cat([agg, tok.temporal(flat.float())], -1))
    z = tok.latents(feats[:, None], tok._prev0(n * c, feats.device))[:, 0]
    codes = tok.quantizer.codebook[tok.quantizer.lookup(z)]
    out = {
        "log spectrum (input)": spec,
        "patch tokens": h.flatten(1),
        "gated aggregation": agg,
        "mixed features": feats,
        "latents": z,
        "code vectors": codes,
    }
    return {k: v.reshape(n, c, -1) for k, v in out.items()}


def ridge_accuracy(a: torch.Tensor, y: np.ndarray, b: torch.Tensor, yb: np.ndarray, m: int) -> float:
    a, b = a.reshape(len(a), -1).double(), b.reshape(len(b), -1).double()
    mu, sd = a.mean(0), a.std(0) + 1e-6
    a, b = (a - mu) / sd, (b - mu) / sd
    target = F.one_hot(torch.as_tensor(y), m).double()
    best = 0.0
    for lam in (1e-3, 1e-2, 1e-1, 1.0):
        # dual form (n x n) when there are more features than trials: the same ridge solution
        if a.shape[1] > len(a):
            w = a.T @ torch.linalg.solve(a @ a.T + lam * len(a) * torch.eye(len(a), dtype=a.dtype), target)
        else:
            w = torch.linalg.solve(a.T @ a + lam * len(a) * torch.eye(a.shape[1], dtype=a.dtype), a.T @ target)
        best = max(best, float(((b @ w).argmax(1).numpy() == yb).mean()))
    return best


def main(argv: list[str] | None = None) -> int:
    from wavegraph.models import checkpoint
    from wavegraph.models.token_decoder import TOKENIZER_WEIGHTS

    torch.set_num_threads(1)
    tok = checkpoint.load(TOKENIZER_WEIGHTS, dtype=torch.float32).eval()
    bg = sim.load_background()
    freqs, phases = sim.jfpm(8)
    x, y = _windows(bg, "train", 20, 0, [-10.0, -5.0, 0.0], freqs, phases)
    fit = stages(tok, x)
    oz = sim.CHANNELS.index("Oz")
    evals = {snr: _windows(bg, "eval", 4, 100 + 10 * i, [snr], freqs, phases) for i, snr in enumerate((-10.0, -5.0))}
    ev = {snr: (stages(tok, xe), ye) for snr, (xe, ye) in evals.items()}
    print("linear probe accuracy, M = 8 (chance 0.125); columns: Oz -10 dB, Oz -5 dB, 9 ch -10 dB, 9 ch -5 dB")
    for name, feat in fit.items():
        row = []
        for pick in (slice(oz, oz + 1), slice(None)):
            for snr in ev:
                row.append(ridge_accuracy(feat[:, pick], y, ev[snr][0][name][:, pick], ev[snr][1], 8))
        print(f"  {name:22s} dim {feat.shape[-1]:5d}  " + "  ".join(f"{r:.3f}" for r in row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
