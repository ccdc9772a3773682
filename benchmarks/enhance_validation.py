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

With `--bench-shaped` (and `--snrs`) the set is instead shaped like the bench's held-out set but built from the
training side only (models.speech_data.heldout_set(training_side=True): whole utterances of the real training
voices, one training noise type per mixture, dry, -25 dBFS; never Carlo, a held-out utterance or `clicks`), and
the figures are also given per noise type:

    python -m wavegraph.benchmarks.enhance_validation models/weights/enhancer.safetensors --bench-shaped \
        --snrs -5 0 5 10 15 --per-snr 21 --json docs/speech_validation_bench_shaped_stage8.json

With `--per-mixture` (SNR-stratified set) every mixture's figures go into the JSON, and `--against BASE.json` (a
`--per-mixture` record of the baseline) applies clause (1) of session 12's second keep rule (docs/speech.md,
`keep_rule`).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys

DEFAULT_NOISES = "music,babble,white,pink,brown,hum,tonal,impacts,gusts"
BENCH_NOISES = "music,babble,white,pink,brown,hum,tonal"  # the bench's noise types less the held-out `clicks`
BENCH_SHAPED_SEED = 20261130  # not the bench's seed (1234): other draws, and training-side data anyway


def _line(label: str, res: dict) -> str:
    return f"{label}: " + ", ".join(f"{k} {v:.4f}" for k, v in res.items())


def _mean(rows: list[dict]) -> dict:
    return {k: float(sum(r[k] for r in rows) / len(rows)) for k in rows[0]}


def score_mixtures(model, mixtures: list) -> list[dict]:
    """Per mixture: SI-SDR, PESQ-WB and STOI of the enhanced output (pesq, pystoi; a mixture whose PESQ fails is
    scored without it)."""
    import torch
    from pesq import pesq  # pyright: ignore[reportMissingImports]
    from pystoi import stoi  # pyright: ignore[reportMissingImports]
    from wavegraph.models.enhancer import si_sdr
    from wavegraph.models.speech_data import SR
    from wavegraph.models.train_enhancer import _enhance_list

    model.eval()
    rows = []
    for m, e in zip(mixtures, _enhance_list(model, [m.noisy for m in mixtures])):
        row = {"si_sdr_out": float(si_sdr(torch.from_numpy(e)[None], torch.from_numpy(m.clean)[None]))}
        try:
            row["pesq_out"] = float(pesq(SR, m.clean, e, "wb"))
        except Exception:  # pesq raises on a silent reference
            row["pesq_out"] = float("nan")
        row["stoi_out"] = float(stoi(m.clean, e, SR))
        rows.append(row)
    return rows


def score_rnnoise(mixtures: list) -> list[dict]:
    """Per mixture, RNNoise as the bench runs it (pyrnnoise at 48 kHz, its delay measured and removed), in the same
    keys as score_mixtures: for context beside the validation figures, never to choose by."""
    import numpy as np
    from wavegraph.benchmarks.enhance import aligned, lag_of, scores
    from wavegraph.benchmarks.enhance_methods import RNNoise

    outs = [RNNoise().run(m.noisy)[0] for m in mixtures]
    lag = int(np.bincount([lag_of(m.clean, y) for m, y in zip(mixtures, outs)]).argmax())
    rows = []
    for m, y in zip(mixtures, outs):
        r = scores(m.clean, aligned(y, lag, len(m.clean)))
        rows.append({"si_sdr_out": r["si_sdr"], "pesq_out": r["pesq_wb"], "stoi_out": r["stoi"]})
    return rows


def grouped(mixtures: list, rows: list[dict]) -> dict:
    """Mean figures per SNR ("per_snr"), per noise type ("per_noise") and overall ("all": the mean of the per-SNR
    means, as the bench reports); NaN PESQ values left out of their mean."""
    import numpy as np

    def mean(idx: list[int]) -> dict:
        return {k: float(np.nanmean([rows[i][k] for i in idx])) for k in rows[0]}

    snrs = sorted({m.snr_db for m in mixtures})
    noises = sorted({m.noise for m in mixtures})
    per_snr = {str(s): mean([i for i, m in enumerate(mixtures) if m.snr_db == s]) for s in snrs}
    per_noise = {k: mean([i for i, m in enumerate(mixtures) if m.noise == k]) for k in noises}
    return {"all": _mean(list(per_snr.values())), "per_snr": per_snr, "per_noise": per_noise}


def keep_rule(
    base: list[dict],
    cand: list[dict],
    jump: float = 1.0,
    max_left: int = 3,
    tol_snrs=(0.0, 5.0, 10.0),
    paired_margin: tuple[float, float] | None = None,
) -> dict:
    """Clause (1) of session 12's second keep rule (docs/speech.md) on per-mixture rows ({"name", "snr", "pesq_out",
    "stoi_out"}) of the same SNR-stratified mixtures: mixtures whose PESQ-WB moves by more than `jump` between
    baseline and candidate are left out (more than `max_left` fails); on the rest the mean of the per-SNR means of
    PESQ-WB and STOI must be above the baseline's (1a) and at `tol_snrs` lose at most 0.005 / 0.0005 (1b); over all
    mixtures (none left out), at every SNR and for both metrics, the median of the paired per-mixture differences
    (candidate - baseline) must be >= 0 (1c, paired); with `paired_margin` = (PESQ-WB, STOI), session 14's third rule,
    >= minus that margin instead (1c', paired non-inferiority). NaN PESQ values are left out of their mean, never counted as a
    jump, and a mixture with a NaN on either side is left out of that metric's paired differences."""
    import numpy as np

    b, c = {r["name"]: r for r in base}, {r["name"]: r for r in cand}
    if set(b) != set(c):
        raise ValueError("baseline and candidate were scored on different mixtures")
    left = sorted(n for n in b if abs(c[n]["pesq_out"] - b[n]["pesq_out"]) > jump)
    snrs = sorted({float(r["snr"]) for r in base})
    keys = ("pesq_out", "stoi_out")

    def per_snr(rows: dict, names: list[str], stat) -> dict:
        return {s: {k: float(stat([rows[n][k] for n in names if rows[n]["snr"] == s])) for k in keys} for s in snrs}

    def overall(per: dict) -> dict:
        return {k: float(np.mean([per[s][k] for s in snrs])) for k in keys}

    def paired(s: float, k: str) -> dict:
        d = np.array([c[n][k] - b[n][k] for n in b if b[n]["snr"] == s])
        d = d[np.isfinite(d)]
        return {"median_diff": float(np.median(d)), "wins": int((d > 0).sum()), "n": int(d.size)}

    rest = [n for n in b if n not in left]
    mean_b, mean_c = per_snr(b, rest, np.nanmean), per_snr(c, rest, np.nanmean)
    pairs = {str(s): {k: paired(s, k) for k in keys} for s in snrs}
    tol = {"pesq_out": 0.005, "stoi_out": 0.0005}
    clauses = {
        f"left_out<={max_left}": len(left) <= max_left,
        "1a_means_above": all(overall(mean_c)[k] > overall(mean_b)[k] for k in keys),
        "1b_0_5_10dB_within_tolerance": all(
            mean_c[s][k] >= mean_b[s][k] - tol[k] for s in snrs if s in tol_snrs for k in keys
        ),
    }
    if paired_margin is None:
        clauses["1c_paired_median_diff_nonnegative"] = all(
            p[k]["median_diff"] >= 0 for p in pairs.values() for k in keys
        )
    else:
        margin = dict(zip(keys, paired_margin))
        clauses["1c_paired_median_diff_within_margin"] = all(
            p[k]["median_diff"] >= -margin[k] for p in pairs.values() for k in keys
        )
    return {
        "leave_out_jump": jump,
        "left_out": {n: {"base": b[n]["pesq_out"], "candidate": c[n]["pesq_out"]} for n in left},
        "means_without_left_out": {
            "base": {"all": overall(mean_b), "per_snr": {str(s): v for s, v in mean_b.items()}},
            "candidate": {"all": overall(mean_c), "per_snr": {str(s): v for s, v in mean_c.items()}},
        },
        "paired_per_snr": pairs,
        "clauses": clauses,
        "pass": all(clauses.values()),
    }


def _against(ap: argparse.ArgumentParser, path: str, args: argparse.Namespace) -> dict[float, list]:
    """--against's per-mixture rows for each floor to score, read before the scoring (a missing file, a floor it was
    not scored at, or other mixtures were tracebacks after it)."""
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        ap.error(f"--against {path}: {e.strerror if isinstance(e, OSError) else f'not JSON: {e}'}")
    mine = {"snrs": [float(x) for x in args.snrs], "per_snr": args.per_snr}
    theirs = {k: saved.get(k) for k in mine} if isinstance(saved, dict) else {}
    if isinstance(saved, dict) and "snrs" in saved and theirs != mine:  # keep_rule: "scored on different mixtures"
        ap.error(
            f"--against {path}: scored on other mixtures (--snrs {theirs['snrs']} --per-snr {theirs['per_snr']}); "
            f"score the candidate with the same --snrs and --per-snr"
        )
    rows = {}
    for floor in args.floors:
        entry = saved.get("floors", {}).get(str(floor)) if isinstance(saved, dict) else None
        if not isinstance(entry, dict) or "mixtures" not in entry:
            ap.error(
                f"--against {path}: no per-mixture figures at floor {floor:g}; give a --per-mixture --json of the "
                f"baseline scored with --floors {floor:g} and the same --snrs / --per-snr"
            )
        rows[floor] = entry["mixtures"]
    return rows


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch
    from wavegraph.models import speech_data as sd
    from wavegraph.models.checkpoint import CheckpointError, load
    from wavegraph.models.cli_args import positive, snr_db  # --snrs nan, 1e6, --per-snr 0: were taken
    from wavegraph.models.enhancer import Enhancer
    from wavegraph.models.train_enhancer import evaluate, snr_validation_set, validation_set

    ap = argparse.ArgumentParser(prog="python -m wavegraph.benchmarks.enhance_validation")
    ap.add_argument("weights", help="enhancer .safetensors (config .json beside it)")
    ap.add_argument("--floors", type=float, nargs="+", default=[0.03], help="mask floors to score (default 0.03)")
    ap.add_argument("--noises", default=DEFAULT_NOISES, help=f"the training noise types (default {DEFAULT_NOISES})")
    ap.add_argument("--snrs", type=snr_db, nargs="+", default=None, help="score per SNR on snr_validation_set")
    ap.add_argument("--per-snr", type=positive(int), default=24, help="mixtures per SNR with --snrs")
    ap.add_argument(
        "--bench-shaped",
        action="store_true",
        help="with --snrs: the training-side set shaped like the bench (whole utterances of the real training voices, "
        f"one noise per mixture of {BENCH_NOISES}, dry, -25 dBFS), scored per SNR and per noise type",
    )
    ap.add_argument("--rnnoise", action="store_true", help="with --bench-shaped: also score RNNoise (context only)")
    ap.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an inference config field (e.g. low_snr_floor=0.01) on every scored model; repeatable",
    )
    ap.add_argument("--per-mixture", action="store_true", help="with --snrs: keep every mixture's figures in the JSON")
    ap.add_argument("--against", help="with --per-mixture: a baseline's --per-mixture JSON; apply keep_rule (clause 1)")
    ap.add_argument(
        "--paired-margin",
        type=float,
        nargs=2,
        metavar=("PESQ", "STOI"),
        help="with --against: session 14's third rule, whose (1c) lets each paired median fall this far below 0",
    )
    ap.add_argument(
        "--leave-out-jump",
        type=float,
        default=1.0,
        metavar="PESQ",
        help="with --against: leave out mixtures whose PESQ-WB moves by more than this (session 21's fourth rule: 0.5)",
    )
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.bench_shaped and not args.snrs:
        ap.error("--bench-shaped needs --snrs")
    if args.per_mixture and (not args.snrs or args.bench_shaped):
        ap.error("--per-mixture needs --snrs (the SNR-stratified set)")
    if args.against and not args.per_mixture:
        ap.error("--against needs --per-mixture")
    if args.leave_out_jump != 1.0 and not args.against:
        ap.error("--leave-out-jump needs --against (it is a clause of the keep rule against a baseline)")
    if not args.leave_out_jump > 0:
        ap.error(f"--leave-out-jump must be a PESQ-WB difference above 0, got {args.leave_out_jump:g}")
    from wavegraph.benchmarks.bench_checks import check_outputs

    check_outputs(ap, ("--json", args.json))
    against = _against(ap, args.against, args) if args.against else {}
    try:  # before the data set is built (seconds), not after
        base = load(args.weights, dtype=torch.float32)  # as the node runs it, whatever it was saved in
    except CheckpointError as e:
        ap.error(f"{args.weights}: {e}")
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
    sampler = sd.TrainSampler(
        sd.load_corpus(synthetic=40), early_ms=50.0, real_fraction=0.6, noises=tuple(args.noises.split(","))
    )
    if args.bench_shaped:
        noises = tuple((args.noises if args.noises != DEFAULT_NOISES else BENCH_NOISES).split(","))
        mixtures = sd.heldout_set(
            tuple(args.snrs), args.per_snr, BENCH_SHAPED_SEED, noises, corpus=sampler.corpus, training_side=True
        )
    elif args.snrs:
        mixtures = snr_validation_set(sampler, tuple(args.snrs), args.per_snr)
    else:
        mixtures = validation_set(sampler)
    out, ref = {}, None
    if args.bench_shaped and args.rnnoise:
        ref = grouped(mixtures, score_rnnoise(mixtures))
        for key in ("per_snr", "per_noise"):
            for name, r in ref[key].items():
                print(_line(f"RNNoise {name}", r), flush=True)
        print(_line("RNNoise all", ref["all"]), flush=True)
    for floor in args.floors:
        model = copy.deepcopy(base)
        model.cfg.mask_floor = floor
        if args.bench_shaped:
            res = grouped(mixtures, score_mixtures(model, mixtures))
            for key in ("per_snr", "per_noise"):
                for name, r in res[key].items():
                    print(_line(f"floor {floor:g} {name}", r), flush=True)
            print(_line(f"floor {floor:g} all", res["all"]), flush=True)
        elif args.per_mixture:
            rows = score_mixtures(model, mixtures)
            res = grouped(mixtures, rows)
            del res["per_noise"]
            res["mixtures"] = [{"name": m.name, "snr": m.snr_db, **r} for m, r in zip(mixtures, rows)]
            for name, r in res["per_snr"].items():
                print(_line(f"floor {floor:g} {name} dB", r), flush=True)
            print(_line(f"floor {floor:g} all", res["all"]), flush=True)
            if args.against:
                base_rows = against[floor]
                res["keep_rule"] = keep_rule(
                    base_rows, res["mixtures"], jump=args.leave_out_jump, paired_margin=args.paired_margin
                )
                print(f"keep rule (1) against {args.against}: " + json.dumps(res["keep_rule"], indent=1), flush=True)
        elif args.snrs:  # equal counts per SNR: the overall figure is the mean of the per-SNR ones
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
                record.update(snrs=args.snrs, per_snr=args.per_snr, bench_shaped=args.bench_shaped)
            if ref is not None:
                record["rnnoise"] = ref
            json.dump(record, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
