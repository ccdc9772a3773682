"""Score enhancer weights on the trainer's training-side validation set, at several mask floors.

    python -m wavegraph.benchmarks.enhance_validation models/weights/enhancer.safetensors --floors 0.03 0.02 \
        --json docs/speech_validation_stage8.json
    python -m wavegraph.benchmarks.enhance_validation models/weights/enhancer.safetensors --floors 0.03 \
        --snrs -5 0 5 10 15 --per-snr 24 --json docs/speech_validation_snr_stage8.json

The set is the one `wavegraph train enhancer` checks every --eval-every steps (models.train_enhancer.
validation_set: 24 seeded 3 s mixtures of the training speakers and noises with the trainer's default
sampler, never the held-out set of `wavegraph bench enhance`). With `--snrs`, it is instead
models.train_enhancer.snr_validation_set: `--per-snr` seeded 3 s training-side mixtures at each of those SNRs,
scored per SNR (and over all of them). Shipping choices (keep a stage, the mask floor) are made on these figures:
PESQ-WB and STOI of the output (pesq, pystoi), and SI-SDR.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys

DEFAULT_NOISES = "music,babble,white,pink,brown,hum,tonal,impacts,gusts"


def _line(label: str, res: dict) -> str:
    return f"{label}: " + ", ".join(f"{k} {v:.4f}" for k, v in res.items())


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch
    from wavegraph.models import speech_data as sd
    from wavegraph.models.checkpoint import load
    from wavegraph.models.enhancer import Enhancer
    from wavegraph.models.train_enhancer import evaluate, snr_validation_set, validation_set

    ap = argparse.ArgumentParser(prog="python -m wavegraph.benchmarks.enhance_validation")
    ap.add_argument("weights", help="enhancer .safetensors (config .json beside it)")
    ap.add_argument("--floors", type=float, nargs="+", default=[0.03], help="mask floors to score (default 0.03)")
    ap.add_argument("--noises", default=DEFAULT_NOISES, help=f"the training noise types (default {DEFAULT_NOISES})")
    ap.add_argument("--snrs", type=float, nargs="+", default=None, help="score per SNR on snr_validation_set")
    ap.add_argument("--per-snr", type=int, default=24, help="mixtures per SNR with --snrs")
    ap.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an inference config field (e.g. low_snr_floor=0.01) on every scored model; repeatable",
    )
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    sampler = sd.TrainSampler(
        sd.load_corpus(synthetic=40), early_ms=50.0, real_fraction=0.6, noises=tuple(args.noises.split(","))
    )
    if args.snrs:
        mixtures = snr_validation_set(sampler, tuple(args.snrs), args.per_snr)
    else:
        mixtures = validation_set(sampler)
    base = load(args.weights)
    if not isinstance(base, Enhancer):
        print(f"{args.weights} holds a {type(base).__name__}, not enhancer weights")
        return 2
    for item in args.config:
        key, _, value = item.partition("=")
        if not hasattr(base.cfg, key):
            print(f"--config {item}: the enhancer config has no field {key!r}")
            return 2
        kind = type(getattr(base.cfg, key))
        setattr(base.cfg, key, value.lower() in ("1", "true") if kind is bool else kind(value))
    out = {}
    for floor in args.floors:
        model = copy.deepcopy(base)
        model.cfg.mask_floor = floor
        if args.snrs:  # equal counts per SNR: the overall figure is the mean of the per-SNR ones
            per = {}
            for s in args.snrs:
                per[str(s)] = evaluate(model, [m for m in mixtures if m.snr_db == s], quality=True)
                print(_line(f"floor {floor:g} {s:+g} dB", per[str(s)]), flush=True)
            res = {"all": {k: float(np.mean([r[k] for r in per.values()])) for k in per[str(args.snrs[0])]}}
            res["per_snr"] = per
            print(_line(f"floor {floor:g} all", res["all"]), flush=True)
        else:
            res = evaluate(model, mixtures, quality=True)
            print(_line(f"floor {floor:g}", res), flush=True)
        out[str(floor)] = res
    if args.json:
        with open(args.json, "w") as f:
            record = {"weights": args.weights, "mixtures": len(mixtures), "config": args.config, "floors": out}
            if args.snrs:
                record.update(snrs=args.snrs, per_snr=args.per_snr)
            json.dump(record, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
