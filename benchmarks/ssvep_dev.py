"""Choose the DNN's stage-2 settings on development subjects, never on the benchmark's test subjects.

    python -m wavegraph.benchmarks.ssvep_dev --window 1.0 --subjects 3 '{}' '{"steps": 600}' '{"p1": 0.8}'

Each argument is one variant: keyword arguments of models.ssvep_dnn.fine_tune (p1, lr, weight_decay, noise,
chan_drop, freeze, l2sp) plus `steps` (optimiser steps of 100 windows), `shifts` (stimulus-locked windows per
trial beyond the first) and `ensemble` (N stage-2 runs per subject, seeds i + 1000 k, probabilities averaged).
`average` (stochastic weight averaging over that last fraction of the steps) and `mixup` are fine_tune
options too. `calib_s`: how long each calibration trial's stimulation lasts after the onset, s (default the
bench's CALIB_S, 5 s, the 40-target benchmark dataset's trials; 2.14: the evaluation trials' length, the bench
before session 9); longer trials give stage 2 more stimulus-locked windows (`shifts`); `latency_jitter` (a
fine_tune option, samples; default: the bench's, stage2_latency_jitter; 0: none) cuts those windows that much
wider, `latency_jitter_from` (a fine_tune option, a fraction of the steps; default the bench's,
FINE_TUNE_LATENCY_JITTER_FROM) delays it. So `{}` is the bench's stage 2. Each variant also prints each subject's
stage-2 training loss per epoch (a subject left on the ln(M) plateau decides as if untrained). `--crops K [K ...]`: each model is also
scored as the trial decoder decides with decision crops (the mean softmax over its window and the windows shifted
-K..K samples; models.ssvep_dnn.decision_crops), for each K; with an `ensemble` of N, also its first 1 .. N - 1
members (the first alone is the plain stage 2 with crops, so one run compares them on the same trials).
`--device cuda`: stage 2 trains (and decides) on a GPU, many times faster; its models differ from the CPU's to the
trial (other floating-point sums), so compare variants within one device's runs. `--errors` lists each DNN error (subject, true and decided frequency, the
decided class's probability, the true class's rank). `--snr` takes several levels: each fine-tuned model is scored on each
(evaluation trials are cheap, stage 2 is not); `--eval-blocks` sets the evaluation trials per subject and SNR
(M per block).
The simulated subjects are seeded 200 + i (`wavegraph bench bci` tests subjects 100 + i), with their own
trial seeds (`--first-subject K`: subjects 200 + K ..., e.g. new development subjects beside those already run);
calibration comes from the background's calib segment and evaluation from its eval segment, exactly as in the
bench (`--background`: EEGMMIDB, default, or ssvepy-epochs; so the same background EEG as the bench's test trials:
a choice made here is independent of the test subjects and trials, not of that background). Prints the DNN's accuracy per subject and
FBCCA's on the same trials, per SNR.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from . import ssvep_sim as sim
from .bci import CALIB_S, FT_MAX_EPOCHS, TRIAL_S

DEV_SUBJECT_SEED = 200


def main(argv: list[str] | None = None) -> int:
    import torch
    from wavegraph.models import ssvep_dnn as dnn
    from wavegraph.models.ssvep import FBCCA

    from .train_ssvep import global_path

    ap = argparse.ArgumentParser(
        prog="python -m wavegraph.benchmarks.ssvep_dev",
        description="the DNN's stage-2 settings on development subjects",
    )
    ap.add_argument("variants", nargs="+", help="JSON objects, e.g. '{\"steps\": 600}' ({} = the defaults)")
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--subjects", type=int, default=3)
    ap.add_argument("--snr", type=float, nargs="+", default=[-10.0], help="evaluation SNRs, dB (default -10)")
    ap.add_argument("--eval-blocks", type=int, default=3, help="evaluation blocks per subject and SNR (default 3)")
    ap.add_argument("--first-subject", type=int, default=0, help="subjects 200 + K ... (default 0)")
    ap.add_argument("--background", default="eegmmidb-s001r02", help="eegmmidb-s001r02 (default) or ssvepy-epochs")
    ap.add_argument("--m", type=int, default=40)
    ap.add_argument(
        "--crops",
        type=int,
        nargs="+",
        default=[],
        help="also score each model on its windows averaged over crops shifted -K..K samples (test-time, softmax mean)",
    )
    ap.add_argument("--errors", action="store_true", help="list every DNN error (and an ensemble's first member's)")
    ap.add_argument("--device", default="cpu", help="where stage 2 trains and decides (default cpu, as the bench)")
    args = ap.parse_args(argv)
    variants = _variants(ap, args.variants, dnn.fine_tune, dnn.fit)
    torch.set_num_threads(1)
    w = args.window
    freqs, phases = sim.jfpm(args.m)
    bg = sim.load_background(args.background)
    fb = FBCCA(list(freqs), bg.rate)
    gp = global_path(w, args.m)
    if not gp.is_file():
        print(f"no global DNN for {w:g} s ({gp}); run `wavegraph train ssvep --global --windows {w:g}`")
        return 2
    glob = dnn.first_member(dnn.load(gp)[0])
    trial_s = max(TRIAL_S, w)
    subjects = []
    for s in range(args.first_subject, args.first_subject + args.subjects):
        subj = sim.make_subject(DEV_SUBJECT_SEED + s)
        evs = {}
        for j, snr in enumerate(args.snr):  # the first SNR keeps the trial seed the script always used
            ev = sim.trials(
                bg,
                "eval",
                subj,
                freqs,
                phases,
                args.eval_blocks,
                snr,
                trial_s,
                seed=7000 + s + 100 * j,
                jitter=sim.JITTER,
            )
            eb = sim.filtered(ev[0], fb.sos)
            ref = float(np.mean([np.argmax(fb.scores(z)) for z in sim.window(eb, bg.rate, w)] == ev[1]))
            evs[snr] = (eb, ev[1], ref)  # FBCCA needs no calibration: scored once
        subjects.append((evs, subj))
    calibrations = {}  # trials' length after DELAY_S (s) -> per subject (filtered calibration trials, labels)

    def calibration(length: float) -> list[tuple[np.ndarray, np.ndarray]]:
        if length not in calibrations:
            calibrations[length] = []
            for s, (_, subj) in enumerate(subjects, start=args.first_subject):
                snrs = [-20.0, -15.0, -10.0]
                cal = sim.trials(bg, "calib", subj, freqs, phases, 5, snrs, length, seed=8000 + s, jitter=sim.JITTER)
                calibrations[length].append((sim.filtered(cal[0], fb.sos[:3]), cal[1]))
        return calibrations[length]

    start = int(round((sim.PRE_S + sim.DELAY_S) * bg.rate))
    for variant, kw in zip(args.variants, variants):
        steps, shifts, lr = kw.pop("steps", dnn.FINE_TUNE_STEPS), kw.pop("shifts", 40), kw.pop("lr", 3e-3)
        n_models = kw.pop("ensemble", 1)
        cals = calibration(max(float(kw.pop("calib_s", CALIB_S)) - sim.DELAY_S, trial_s))
        t0 = time.perf_counter()
        acc = {snr: [] for snr in args.snr}
        first = {snr: [] for snr in args.snr}  # an ensemble's first member alone
        ref = {snr: [] for snr in args.snr}
        errors = {snr: [] for snr in args.snr}
        # accuracy and errors of crop-averaged probabilities, for an ensemble's first n members (n = 1 .. N)
        cropped = {(snr, c, n): [] for snr in args.snr for c in args.crops for n in range(1, n_models + 1)}
        crop_errors = {key: [] for key in cropped}
        losses = []  # per subject, the first model's stage-2 loss after each epoch
        for i, ((evs, _), (cb, cy)) in enumerate(zip(subjects, cals), start=args.first_subject):
            n_w = int(round(w * bg.rate))
            margin = int(kw.setdefault("latency_jitter", dnn.stage2_latency_jitter(glob.cfg)))
            kw.setdefault("latency_jitter_from", dnn.FINE_TUNE_LATENCY_JITTER_FROM)
            x, y, _ = dnn.stimulus_locked_windows(cb, cy, freqs, bg.rate, start, n_w, shifts, margin=margin)
            epochs = min(FT_MAX_EPOCHS, dnn.epochs_for_steps(len(y), steps))
            losses.append([])
            models = [
                dnn.fine_tune(
                    glob,
                    x,
                    y,
                    epochs,
                    lr=lr,
                    seed=i + 1000 * k,
                    new_head=True,
                    log=_logger(losses[-1], k),
                    device=args.device,
                    **kw,
                )
                for k in range(n_models)
            ]
            for snr, (eb, ey, fbcca) in evs.items():
                win = sim.window(eb, bg.rate, w)
                probs = [dnn.predict_proba(model, win[:, :3], args.device) for model in models]
                prob = np.mean(probs, axis=0)
                acc[snr].append(float(np.mean(prob.argmax(1) == ey)))
                first[snr].append(float(np.mean(probs[0].argmax(1) == ey)))
                ref[snr].append(fbcca)
                errors[snr] += _errors(i, prob, ey, freqs)
                for c in args.crops:
                    wide = sim.window(eb[:, :3], bg.rate, w, margin=c)
                    pcs = [dnn.predict_proba(model, wide, args.device, crops=c) for model in models]
                    for n in range(1, n_models + 1):
                        pc = np.mean(pcs[:n], axis=0)
                        cropped[snr, c, n].append(float(np.mean(pc.argmax(1) == ey)))
                        crop_errors[snr, c, n] += _errors(i, pc, ey, freqs)
        print(
            f"{variant} stage-2 loss per epoch: "
            + "; ".join(
                f"s{i} {np.round(v, 2).tolist()}"
                for i, v in zip(range(args.first_subject, args.first_subject + args.subjects), losses)
            ),
            flush=True,
        )
        for snr in args.snr:
            print(
                f"{variant} {w:g} s {snr:g} dB: dnn {np.round(acc[snr], 3).tolist()} mean {np.mean(acc[snr]):.3f} "
                f"| fbcca mean {np.mean(ref[snr]):.3f} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
            if n_models > 1:
                print(f"    first member alone: {np.round(first[snr], 3).tolist()} mean {np.mean(first[snr]):.3f}")
            if args.errors:
                print("    errors: " + "; ".join(errors[snr]), flush=True)
            for c in args.crops:
                for n in range(n_models, 0, -1):  # the whole ensemble first, then its first n - 1, ..., 1 members
                    acc_c, of = cropped[snr, c, n], f" (first {n} members)" if n < n_models else ""
                    n_err = len(crop_errors[snr, c, n])
                    print(
                        f"    crops +-{c}{of}: dnn {np.round(acc_c, 3).tolist()} mean {np.mean(acc_c):.3f}, {n_err} errors"
                    )
                    if args.errors:
                        print(f"    crop +-{c}{of} errors: " + "; ".join(crop_errors[snr, c, n]), flush=True)
    return 0


OWN_KEYS = ("steps", "shifts", "lr", "ensemble", "calib_s")  # read here; the rest go to fine_tune (and on to fit)
SET_HERE = ("model", "x", "y", "epochs", "seed", "new_head", "log", "device", "kw", "augment", "penalty", "params")


def _variants(ap: argparse.ArgumentParser, texts: list[str], fine_tune, fit) -> list[dict]:
    """Each variant parsed and its keys checked before anything is built: a typo'd key was a TypeError from
    fine_tune after the backgrounds, the subjects and FBCCA's scores (seconds to minutes), bad JSON a traceback."""
    import inspect

    known = set(OWN_KEYS)
    for fn in (fine_tune, fit):
        known |= set(inspect.signature(fn).parameters) - set(SET_HERE)
    out = []
    for text in texts:
        try:
            kw = json.loads(text)
        except ValueError as e:
            ap.error(f"variant {text!r} is not JSON ({e}); give an object, e.g. '{{\"steps\": 600}}' ({{}}: defaults)")
        if not isinstance(kw, dict):
            ap.error(f"variant {text!r} is not a JSON object; e.g. '{{\"steps\": 600}}' ({{}}: the defaults)")
        if unknown := sorted(set(kw) - known):
            ap.error(f"variant {text!r}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        out.append(kw)
    return out


def _errors(i: int, prob: np.ndarray, y: np.ndarray, freqs) -> list[str]:
    """One line per misclassified window: subject, trial, true -> decided Hz, its probability, the true class's rank."""
    out = []
    for t in np.flatnonzero(prob.argmax(1) != y):
        k, d = int(y[t]), int(prob[t].argmax())
        rank = int((prob[t] > prob[t, k]).sum()) + 1
        out.append(f"s{i} trial {t}: {freqs[k]:.1f} -> {freqs[d]:.1f} Hz p={prob[t, d]:.3f} rank {rank}")
    return out


def _logger(out: list, member: int):
    """fit's log callback: the epoch losses of an ensemble's first member go to `out`."""
    return lambda ep, loss: out.append(loss) if member == 0 else None


if __name__ == "__main__":
    sys.exit(main())
