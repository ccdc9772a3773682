"""Score enhancer weights on the trainer's training-side validation set, at several mask floors.

    python -m wavegraph.benchmarks.enhance_validation models/weights/enhancer.safetensors --floors 0.03 0.02 \
        --json docs/speech_validation_stage8.json

The set is the one `wavegraph train enhancer` checks every --eval-every steps (models.train_enhancer.
validation_set: 24 seeded 3 s mixtures of the training speakers and noises with the trainer's default
sampler, never the held-out set of `wavegraph bench enhance`). Shipping choices (keep a stage, the mask floor)
are made on these figures: PESQ-WB and STOI of the output (pesq, pystoi), and SI-SDR.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys

DEFAULT_NOISES = "music,babble,white,pink,brown,hum,tonal,impacts,gusts"


def main(argv: list[str] | None = None) -> int:
    import torch
    from wavegraph.models import speech_data as sd
    from wavegraph.models.checkpoint import load
    from wavegraph.models.enhancer import Enhancer
    from wavegraph.models.train_enhancer import evaluate, validation_set

    ap = argparse.ArgumentParser(prog="python -m wavegraph.benchmarks.enhance_validation")
    ap.add_argument("weights", help="enhancer .safetensors (config .json beside it)")
    ap.add_argument("--floors", type=float, nargs="+", default=[0.03], help="mask floors to score (default 0.03)")
    ap.add_argument("--noises", default=DEFAULT_NOISES, help=f"the training noise types (default {DEFAULT_NOISES})")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    sampler = sd.TrainSampler(
        sd.load_corpus(synthetic=40), early_ms=50.0, real_fraction=0.6, noises=tuple(args.noises.split(","))
    )
    mixtures = validation_set(sampler)
    base = load(args.weights)
    if not isinstance(base, Enhancer):
        print(f"{args.weights} holds a {type(base).__name__}, not enhancer weights")
        return 2
    out = {}
    for floor in args.floors:
        model = copy.deepcopy(base)
        model.cfg.mask_floor = floor
        out[str(floor)] = evaluate(model, mixtures, quality=True)
        print(f"floor {floor:g}: " + ", ".join(f"{k} {v:.4f}" for k, v in out[str(floor)].items()), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"weights": args.weights, "mixtures": len(mixtures), "floors": out}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
