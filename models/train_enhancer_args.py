"""`wavegraph train enhancer`'s command line: its options, and the usage errors for values argparse's types let by
(models/train_enhancer.py runs it)."""

from __future__ import annotations

import argparse
import math
import sys

from wavegraph import unwritable

from . import speech_data as sd
from .cli_args import SNR_LIMIT_DB, THREADS_HELP, cpu_threads, given_path, oversubscribed, positive


def parser(description: str) -> argparse.ArgumentParser:
    """`wavegraph train enhancer`'s options (description: the first paragraph of its module's text)."""
    p = argparse.ArgumentParser(prog="wavegraph train enhancer", description=description)
    p.add_argument("--core", choices=("mamba", "gla"), default="mamba")
    p.add_argument("--d-model", type=positive(int), default=96)
    p.add_argument("--n-layers", type=positive(int), default=2)
    p.add_argument("--steps", type=positive(int), default=1500)
    p.add_argument("--batch", type=positive(int), default=16)
    p.add_argument("--seconds", type=positive(float), default=2.0, help="length of a training example")
    p.add_argument("--lr", type=positive(float), default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--init",
        type=given_path,
        default=None,
        help="start from these weights (a second stage; the model config comes from their JSON)",
    )
    p.add_argument(
        "--df-bins", type=int, default=0, help="deep filter on the lowest bins (0: mask only; with --init: added)"
    )
    p.add_argument("--df-order", type=int, default=5, help="deep filter taps (current frame + past frames)")
    p.add_argument(
        "--tone-frames",
        type=int,
        default=0,
        help="add the tone feature (phase-advance steadiness over this many frames, >= 2; with --init: added with "
        "zero input weights, so training starts from the same function)",
    )
    p.add_argument(
        "--tone-lr-scale",
        type=positive(float),
        default=1.0,
        help="learning-rate multiplier for the tone feature's input columns (they start at zero: at a fine-tune's "
        "learning rate they hardly move)",
    )
    p.add_argument(
        "--onset-frames",
        type=int,
        default=0,
        help="add the onset feature (each bin's magnitude against its running average over ~this many frames, >= 1; "
        "with --init: added with zero input weights)",
    )
    p.add_argument(
        "--onset-lr-scale",
        type=positive(float),
        default=1.0,
        help="learning-rate multiplier for the onset feature's input columns (as --tone-lr-scale)",
    )
    p.add_argument(
        "--impulse-blocks",
        type=int,
        default=0,
        help="add the impulse feature (the frame's energy share in each of this many blocks: a divisor >= 2 of 320; "
        "with --init: added with zero input weights)",
    )
    p.add_argument(
        "--impulse-lr-scale",
        type=positive(float),
        default=1.0,
        help="learning-rate multiplier for the impulse feature's input columns (as --tone-lr-scale)",
    )
    p.add_argument(
        "--gate-blocks",
        type=int,
        default=0,
        help="add the time gate (a gain over time inside each frame, per block of 320 / this samples: a divisor >= 2 "
        "of 320; models/enhancer_gate.py; with --init: added with zero head rows)",
    )
    p.add_argument(
        "--gate-lr-scale",
        type=positive(float),
        default=1.0,
        help="learning-rate multiplier for the time gate's head rows (as --tone-lr-scale)",
    )
    p.add_argument(
        "--gate-split-hz",
        type=float,
        default=0.0,
        help="the time gate in two bands, split at this frequency (rounded to a 50 Hz bin; models/enhancer_gate.py; "
        "with --init: the high band's rows a copy of the gate's); 0: one band",
    )
    p.add_argument(
        "--pitch-lag",
        type=int,
        default=0,
        help="add the pitch input: the signal one pitch period back, lags up to this many samples (256: 62.5 Hz; "
        "models/enhancer_pitch.py; with --init: added with zero input weights and head rows)",
    )
    p.add_argument(
        "--pitch-lr-scale",
        type=positive(float),
        default=1.0,
        help="learning-rate multiplier for the pitch input's columns and head rows (as --tone-lr-scale)",
    )
    p.add_argument(
        "--add-layer",
        action="store_true",
        help="with --init: one more GLA block after the last, its output projections at zero (the same output at "
        "first; models/enhancer_depth.py)",
    )
    p.add_argument(
        "--layer-lr-scale",
        type=positive(float),
        default=1.0,
        help="learning-rate multiplier for the core's last block, every weight (as --tone-lr-scale): the one --add-layer "
        "grows, or, resuming from a grown model's --init (two or more blocks, no --add-layer), its last",
    )
    p.add_argument(
        "--front-channels",
        type=int,
        default=0,
        help="the cascade's time-domain stage in front of the masking one (models/enhancer_front.py): its width "
        "(0: none, the shipped model); new models only",
    )
    p.add_argument(
        "--front-blocks", type=int, choices=range(1, 17), metavar="1..16", default=8, help="and its dilated blocks"
    )
    p.add_argument("--threads", type=cpu_threads, default=1, help=THREADS_HELP)
    p.add_argument("--sisdr-weight", type=float, default=0.002, help="weight of -SI-SDR (dB) in the loss")
    p.add_argument("--vad-weight", type=float, default=0.01, help="weight of the VAD cross-entropy in the loss")
    p.add_argument(
        "--stoi-weight",
        type=float,
        default=0.0,
        help="weight of a differentiable STOI term, 1 - STOI (models/intelligibility.py); 0: none",
    )
    p.add_argument(
        "--quality-weight",
        type=float,
        default=0.0,
        help="weight of a differentiable PESQ-like term, 4.5 - the proxy score (models/perceptual_quality.py); 0: none",
    )
    p.add_argument(
        "--early-ms", type=float, default=50.0, help="reverberant examples: target = speech through the RIR's first ms"
    )
    p.add_argument(
        "--real-fraction",
        type=float,
        default=0.6,
        help="share of training examples spoken by a real (Asterisk) voice rather than espeak-ng/flite (the real "
        "training voices are all female; the male voices are synthetic)",
    )
    p.add_argument(
        "--mask-floor",
        type=float,
        default=0.0,
        help="inference only: the mask floor written into the saved config and used by the held-out check "
        "(training and its validation curve run without it)",
    )
    p.add_argument(
        "--snr-adapt",
        action="store_true",
        help="inference only: the SNR-adaptive floor with the shipped settings (the floor from --mask-floor at an "
        "estimated input SNR of 2 dB or more down to 0 at -4 dB, the estimate smoothed with a 3 s time constant, from "
        "100 Hz up) written into the saved config (training runs without it; with --init these replace the "
        "config's own); needs --mask-floor above 0",
    )
    p.add_argument(
        "--pool", type=int, default=1000, help="pre-made mixture parts held in memory (0: make every example afresh)"
    )
    p.add_argument("--pool-seconds", type=float, default=4.0, help="length of a pool part (crops are --seconds)")
    p.add_argument("--refresh", type=int, default=2, help="pool parts replaced by new ones per step")
    p.add_argument(
        "--noises",
        default=",".join(sd.TRAIN_NOISES),
        help=f"training noise types, comma-separated (default: all of {','.join(sd.TRAIN_NOISES)})",
    )
    p.add_argument(
        "--snr-range", type=float, nargs=2, default=(-5.0, 20.0), metavar=("LO", "HI"), help="training SNRs (dB)"
    )
    p.add_argument(
        "--low-snr-prob",
        type=float,
        default=0.0,
        help="share of examples whose SNR is drawn from --low-snr-range instead (0: none, the data stream unchanged)",
    )
    p.add_argument("--low-snr-range", type=float, nargs=2, default=(-5.0, 5.0), metavar=("LO", "HI"))
    p.add_argument(
        "--speed-prob",
        type=float,
        default=0.0,
        help="share of the real voices' examples played slower, pitch and formants lowered (--speed-range; the real "
        "training voices are all female; 0: none, the data stream unchanged)",
    )
    p.add_argument(
        "--speed-range", type=float, nargs=2, default=(0.75, 0.9), metavar=("LO", "HI"), help="speed factors"
    )
    p.add_argument("--synthetic", type=int, default=40, help="synthetic sentences per espeak-ng/flite voice")
    p.add_argument("--eval-every", type=positive(int), default=100)
    p.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        help="safety cap on the training wall time (0: none); the run stops early and says so",
    )
    p.add_argument(
        "--stop-after",
        type=int,
        default=0,
        help="stop after this step of the --steps schedule (0: run it all); replays a run that --max-minutes cut",
    )
    p.add_argument(
        "--heldout-per-snr", type=int, default=16, help="held-out mixtures per SNR for the final check (0: none)"
    )
    p.add_argument("--out", type=given_path, default=None, help="weights file (.safetensors; config .json beside it)")
    p.add_argument("--log", type=given_path, default=None, help="training curve CSV")
    p.add_argument("--plot", type=given_path, default=None, help="training curve PNG")
    return p


def check_args(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors for values argparse's types let by: they failed after the corpus was read (--snr-range 10 -10:
    numpy's 'high - low < 0'; --noises bogus: a traceback) or were taken (--real-fraction 2)."""
    for name in ("snr_range", "low_snr_range"):
        lo, hi = getattr(args, name)
        if not -math.inf < lo <= hi < math.inf:
            ap.error(f"--{name.replace('_', '-')} {lo:g} {hi:g}: give LO <= HI, in dB")
        if max(abs(lo), abs(hi)) > SNR_LIMIT_DB:  # an OverflowError traceback once the corpus was read
            ap.error(f"--{name.replace('_', '-')} {lo:g} {hi:g}: SNRs in dB from {-SNR_LIMIT_DB:g} to {SNR_LIMIT_DB:g}")
    for name in ("real_fraction", "low_snr_prob", "speed_prob"):
        if not 0 <= getattr(args, name) <= 1:
            ap.error(f"--{name.replace('_', '-')} {getattr(args, name):g}: a share, in [0, 1]")
    lo, hi = args.speed_range
    if not 0.5 <= lo <= hi <= 2:
        ap.error(f"--speed-range {lo:g} {hi:g}: give 0.5 <= LO <= HI <= 2 (speed factors)")
    try:
        sd.speed_steps((lo, hi))
    except ValueError as e:  # every factor, rounded to the resampling grid, would lie outside the range
        ap.error(f"--speed-range {lo:g} {hi:g}: {e}")
    if args.layer_lr_scale != 1 and not args.add_layer and not args.init:  # would scale a fresh model's last block
        ap.error(
            f"--layer-lr-scale {args.layer_lr_scale:g} scales a grown block; give --init W with --add-layer, or "
            "--init of a model already grown"
        )
    if args.seed < 0:  # numpy's 'expected non-negative integer' traceback once the model was built
        ap.error(f"--seed {args.seed}: must be >= 0")
    if not 0 <= args.mask_floor < 1:
        ap.error(f"--mask-floor {args.mask_floor:g}: in [0, 1)")
    if args.snr_adapt and args.mask_floor == 0:  # a floor moved from 0 to 0: the flag would do nothing
        ap.error("--snr-adapt moves the mask floor with the input SNR: give --mask-floor above 0 (shipped: 0.03)")
    bad = [n for n in args.noises.split(",") if n not in sd.TRAIN_NOISES]
    if bad:
        ap.error(f"--noises: {', '.join(bad)} not among {','.join(sd.TRAIN_NOISES)}")
    weights = ("sisdr_weight", "vad_weight", "stoi_weight", "quality_weight")
    scales = ("tone_lr_scale", "onset_lr_scale", "impulse_lr_scale", "gate_lr_scale")
    for name in (*weights, *scales):  # nan: NaN weights saved
        if not 0 <= getattr(args, name) < math.inf:
            ap.error(f"--{name.replace('_', '-')} {getattr(args, name):g}: a finite number >= 0")
    for name in ("pool", "refresh", "synthetic", "heldout_per_snr", "stop_after", "early_ms", "max_minutes"):
        if not 0 <= getattr(args, name) < math.inf:
            ap.error(f"--{name.replace('_', '-')} {getattr(args, name)}: must be >= 0")
    if args.stop_after > args.steps:  # was taken and never reached: the whole schedule ran, unsaid
        ap.error(
            f"--stop-after {args.stop_after} is past --steps {args.steps}, so it would never stop the run; give 0..{args.steps}"
        )
    if args.pool and not 0 < args.pool_seconds < math.inf:
        ap.error(f"--pool-seconds {args.pool_seconds:g}: must be above 0")
    if args.pool and args.refresh > args.pool:  # each step remade parts twice or more (--pool 0's cost), unsaid
        ap.error(f"--refresh {args.refresh} is more than --pool {args.pool} parts; give --refresh 0..{args.pool}")
    if args.plot and not args.log:  # was left out without a word
        ap.error(f"--plot {args.plot} draws the training curve of --log; give --log CURVE.csv too")
    if args.log and args.log.suffix.lower() == ".json":  # the summary JSON beside it would overwrite it
        ap.error(f"--log {args.log}: the curve is a CSV and its summary goes beside it as .json; give --log NAME.csv")
    for option, path in (("--log", args.log), ("--plot", args.plot)):  # tracebacks after the corpus or the training
        if path and (why := unwritable(path)):
            ap.error(f"{option} {path}: cannot write it ({why})")
    if args.log and (why := unwritable(args.log.with_suffix(".json"))):
        ap.error(f"--log {args.log}: cannot write its summary {args.log.with_suffix('.json')} ({why})")
    if note := oversubscribed("--threads", args.threads):  # taken, as torch.set_num_threads takes it
        print(f"train enhancer: {note}", file=sys.stderr, flush=True)
