"""Which kind of tonal interference the enhancer handles, against RNNoise, on training-side speech (diagnosis only).

    python -m wavegraph.benchmarks.enhance_tones models/weights/enhancer.safetensors [--snr -5] [--per-kind 6]

Each mixture: whole utterances of the real training voices (never Carlo or a held-out utterance) with ONE tone of one
kind of the `tonal` training generator's recipes (models/speech_noise.py): a pure steady tone, a tone with 1 %
vibrato, beeps (on/off, period 0.2-1 s) or a logarithmic sweep, 250-4000 Hz, at the bench's level (-25 dBFS).
Prints PESQ-WB and STOI of the input, ours and RNNoise (pyrnnoise, delay removed) per kind. Seeded.
"""

from __future__ import annotations

import argparse
import sys

KINDS = ("pure", "vibrato", "beeps", "sweep")


def tone(kind: str, n: int, rng):
    import numpy as np
    from scipy import signal as sps
    from wavegraph.models.speech_data import SR

    t = np.arange(n) / SR
    f = rng.uniform(250, 4000)
    if kind == "pure":
        return np.sin(2 * np.pi * f * t)
    if kind == "vibrato":
        return np.sin(2 * np.pi * np.cumsum(f * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(1, 6) * t))) / SR)
    if kind == "beeps":
        period, duty = rng.uniform(0.2, 1.0), rng.uniform(0.2, 0.7)
        return np.sin(2 * np.pi * f * t) * ((t % period) < duty * period)
    return sps.chirp(t, f, t[-1], rng.uniform(250, 4000), method="logarithmic")


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch
    from wavegraph.benchmarks.enhance import aligned, lag_of, scores
    from wavegraph.benchmarks.enhance_methods import RNNoise
    from wavegraph.models import speech_data as sd
    from wavegraph.models.checkpoint import load
    from wavegraph.models.enhancer import Enhancer

    ap = argparse.ArgumentParser(prog="python -m wavegraph.benchmarks.enhance_tones")
    ap.add_argument("weights")
    ap.add_argument("--snr", type=float, default=-5.0)
    ap.add_argument("--per-kind", type=int, default=6)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = load(args.weights, dtype=torch.float32)  # as the node runs it
    if not isinstance(model, Enhancer):
        print(f"{args.weights} holds a {type(model).__name__}, not enhancer weights")
        return 2
    model.eval()
    corpus = sd.load_corpus(synthetic=0)
    train = corpus.subset(lambda s, n: not sd.is_heldout(s, n) and ":" not in s)
    rng = np.random.default_rng(args.seed)
    for kind in KINDS:
        rows = []
        for _ in range(args.per_kind):
            clean = train.audio[int(rng.integers(len(train)))]
            while len(clean) < 2 * sd.SR:
                clean = np.concatenate(
                    [clean, np.zeros(sd.SR // 4, np.float32), train.audio[int(rng.integers(len(train)))]]
                )
            noisy, target = sd.mix(clean, tone(kind, len(clean), rng).astype(np.float32), args.snr, rng)
            with torch.no_grad():
                ours = model.enhance(torch.from_numpy(noisy)[None])[0][0].numpy()
            rn = RNNoise().run(noisy)[0]
            rn = aligned(rn, lag_of(target, rn), len(target))
            rows.append([scores(target, y)[k] for k in ("pesq_wb", "stoi") for y in (noisy, ours, rn)])
        m = np.nanmean(rows, 0)
        print(
            f"{kind:8s} PESQ-WB input / ours / RNNoise {m[0]:.2f} / {m[1]:.2f} / {m[2]:.2f}   "
            f"STOI {m[3]:.3f} / {m[4]:.3f} / {m[5]:.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
