"""`wavegraph bench bci`: SSVEP decoders on real EEG -- a table, a PNG and `--json PATH` with every figure.

Parts:

1. **Real SSVEP** (ssvepy's example recording, real SSVEP at 6 Hz, 64 ch, 256 Hz, 16 epochs x 16 s): the
   streaming ``ssvep_decoder`` (FBCCA) runs over each epoch as a stream (causal 50 Hz notch first) and
   decides in sliding windows; accuracy vs window length. ``--data FILE`` runs the same part on any
   MNE-readable recording with markers (annotations/events whose description is the frequency in Hz).
   (benchmarks/bci_real.py)
2. **Semi-synthetic** (benchmarks/ssvep_sim.py): real EEG backgrounds (EEGMMIDB S001R02, 64 ch, 160 Hz;
   separate segments for training, calibration and evaluation) plus simulated SSVEP responses (M
   frequencies with JFPM phases, harmonics, per-subject occipital topography and visual latency) at
   swept SNRs; accuracy and ITR vs window length (0.2-2 s) for FBCCA, the Deep-SSVEP DNN and the token
   decoder side by side.

Token decoder interface (implemented by the eeg-tokenizer work; the bench runs it beside FBCCA and the
DNN; ``--token-decoder module:Class`` overrides the default ``wavegraph.models.token_decoder:TokenDecoder``)::

    dec = TokenDecoder(rate=160.0, channel_names=[...], freqs=[...], seed=0)
    dec.fit(X, y)            # X: float64 (n_trials, n_channels, n_samples), raw EEG in volts, no filter
                             #    bank (the decoder does its own preprocessing, e.g. resampling to 200 Hz);
                             # y: int64 (n_trials,), index into freqs. Returns self.
    dec.fine_tune(X, y)      # optional: per-subject calibration trials (same format), after fit
    y_hat = dec.predict(X)   # -> int (n_trials,)

The bench builds one fresh instance per window length; `fit` gets the global training trials (all SNRs
mixed, from the training segment), `fine_tune` (when defined) each test subject's calibration trials,
and `predict` that subject's evaluation trials. Trials all have the same length within one call
(window length x rate: 32 to 320 samples at 160 Hz). A decoder that cannot handle a window length may
raise ValueError from fit/predict: that cell is reported as n/a.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from wavegraph.models.cli_args import finite, given_path, positive, whole
from wavegraph.models.ssvep import FBCCA, itr_bits_per_min
from wavegraph.models.ssvep_dnn import FINE_TUNE_STEPS

from . import ssvep_sim as sim
from .bci_real import GAZE_S, REAL_WINDOWS, real_ssvep
from .bci_report import merge, plot, tables
from .ssvep_recording import parse_markers

SEMI_WINDOWS = [0.2, 0.4, 0.6, 1.0, 2.0]
SEMI_SNRS = [-20.0, -15.0, -10.0]
FT_MAX_EPOCHS = 30
MAX_LISTED_ERRORS = 20  # a cell lists its errors (subject, trial, true Hz, decided Hz) when it has at most this many
# the token decoder's global training set (fit): more simulated subjects than the DNN's stage 1 and windows at
# several offsets in each trial (its spectra are phase-free; the DNN's stage 2 gets stimulus-locked windows instead)
TOKEN_SUBJECTS = 20
TOKEN_OFFSETS = (0.0, 0.5, 1.0)
TOKEN_SNRS = (-20.0, -15.0, -10.0)
TRIAL_S = (
    2.0  # simulated trials last DELAY_S + max(TRIAL_S, longest window) after the onset (any --windows: same trials)
)
# Calibration trials' stimulation, s after the onset: the 40-target benchmark dataset's 5 s trials, which the paper
# calibrates on (5 blocks). Only the DNN's stage 2 uses more of it than its first window (more stimulus-locked
# windows, `stimulus_locked_windows`); evaluation trials stay DELAY_S + TRIAL_S long; FBCCA uses no calibration.
CALIB_S = 5.0


# --- part 2: semi-synthetic, FBCCA vs the DNN vs the token decoder -------------------------------------


def _load_token_decoder(spec: str):
    mod, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as e:
        return f"{spec}: {type(e).__name__}: {e}"


def _subjects(
    bg,
    freqs,
    phases,
    snrs,
    n_subjects: int,
    wmax: float,
    fb: FBCCA,
    jitter,
    calib_blocks: int = 5,
    calib_s: float | None = CALIB_S,
) -> list[dict]:
    """Per simulated test subject: evaluation trials per SNR (raw, filtered 5 bands, labels) and calibration
    trials (raw, filtered 3 bands, labels), from the background's eval / calib segments; each evaluation trial
    lasts DELAY_S + max(TRIAL_S, wmax) s after the onset (the same trials for any set of windows up to TRIAL_S),
    each calibration trial max(calib_s, DELAY_S + wmax) s (None: as the evaluation trials)."""
    out = []
    wmax = max(TRIAL_S, wmax)
    cal_len = wmax if calib_s is None else max(calib_s - sim.DELAY_S, wmax)  # after DELAY_S
    for s in range(n_subjects):
        subj = sim.make_subject(100 + s)
        ev = {
            snr: sim.trials(bg, "eval", subj, freqs, phases, 3, snr, wmax, seed=5000 + 10 * s + i, jitter=jitter)
            for i, snr in enumerate(snrs)
        }
        cal = sim.trials(
            bg, "calib", subj, freqs, phases, calib_blocks, list(snrs), cal_len, seed=6000 + s, jitter=jitter
        )
        out.append(
            {
                "eval": {k: (v[0], sim.filtered(v[0], fb.sos), v[1]) for k, v in ev.items()},
                "calib": (cal[0], sim.filtered(cal[0], fb.sos[:3]), cal[1]),
            }
        )
    return out


def _fine_tune(glob, calib, rate: float, w: float, freqs, steps: int, shifts: int, seed: int):
    """Stage 2 for one test subject: the global conv layers, a new FC head, trained on stimulus-locked
    windows of its calibration trials (j = 0 .. shifts whole stimulus periods after onset + DELAY_S;
    models.ssvep_windows.stimulus_locked_windows) for about `steps` steps of 100 windows (at most FT_MAX_EPOCHS
    epochs: one window per trial, as at 2 s, stays at the 30 epochs used before), lr 3e-3, with the latency
    jitter of ``models.ssvep_dnn.stage2_latency_jitter`` (its windows cut that many samples wider), from
    FINE_TUNE_LATENCY_JITTER_FROM of the steps on."""
    from wavegraph.models import ssvep_dnn as dnn

    _, xb, y = calib
    start = int(round((sim.PRE_S + sim.DELAY_S) * rate))
    jitter = dnn.stage2_latency_jitter(glob.cfg)
    x, yy, _ = dnn.stimulus_locked_windows(xb, y, freqs, rate, start, int(round(w * rate)), shifts, margin=jitter)
    epochs = min(FT_MAX_EPOCHS, dnn.epochs_for_steps(len(yy), steps))
    return dnn.fine_tune(
        glob,
        x,
        yy,
        epochs,
        lr=3e-3,
        seed=seed,
        new_head=True,
        latency_jitter=jitter,
        latency_jitter_from=dnn.FINE_TUNE_LATENCY_JITTER_FROM,
    )


def _ensemble(models: list):
    """One stage-2 run as it is, several as an SSVEPEnsemble (their mean softmax)."""
    from wavegraph.models.ssvep_dnn import SSVEPEnsemble

    return models[0] if len(models) == 1 else SSVEPEnsemble(models)


def _offset_windows(x: np.ndarray, y: np.ndarray, rate: float, w: float):
    """The token decoder's calibration windows: one per TOKEN_OFFSETS offset that fits in each trial's first
    TRIAL_S s of stimulation (the window at onset + DELAY_S first); labels repeated."""
    offsets = [o for o in TOKEN_OFFSETS if o + w <= TRIAL_S + 1e-9] or [0.0]
    wins = [sim.window(x[..., int(round(o * rate)) :], rate, w) for o in offsets]
    return np.concatenate(wins), np.tile(y, len(offsets))


def semi_synthetic(
    windows=SEMI_WINDOWS,
    snrs=SEMI_SNRS,
    n_subjects: int = 3,
    m: int = 40,
    ft_steps: int = FINE_TUNE_STEPS,
    ft_shifts: int = 40,
    ft_ensemble: int | None = None,
    calib_blocks: int = 5,
    calib_s: float | None = CALIB_S,
    token_decoder: str | None = "wavegraph.models.token_decoder:TokenDecoder",
    backgrounds=sim.BACKGROUNDS,
    jitter=sim.JITTER,
    log=print,
    progress=None,
) -> dict:
    """Accuracy and ITR per (background, decoder, window, SNR). Global training (the shipped DNNs, the token
    decoder's fit) only ever sees EEGMMIDB's train segment; each test subject calibrates on its background's
    calib segment and is evaluated on its eval segment."""
    from wavegraph.models import ssvep_dnn as dnn

    from .train_ssvep import global_path, global_training_set

    freqs, phases = sim.jfpm(m)
    wmax = max(windows)
    groups = {}
    for name in backgrounds:
        bg = sim.load_background(name)
        fb = FBCCA(list(freqs), bg.rate)  # 5 sub-bands; the DNN uses the first 3 (same causal filters)
        groups[name] = (bg, fb, _subjects(bg, freqs, phases, snrs, n_subjects, wmax, fb, jitter, calib_blocks, calib_s))
    token_cls = _load_token_decoder(token_decoder) if token_decoder else "disabled (--no-token)"
    cells: list[dict] = []  # one row per (background, decoder, window, snr)
    token_errors: dict[str, str] = {}

    def score(name, decoder, w, predict, subjects, rate, filtered: bool, extra_s: float = 0.0, margin: int = 0):
        """predict(i_subject, windows) -> labels; one cell per SNR. margin: windows cut that many samples wider on
        each side (the DNN's test-time crops)."""
        for snr in snrs:
            t0 = time.perf_counter()
            c = n = 0
            errors = []  # (subject, trial, true Hz, decided Hz) of each error, listed when there are few
            for i, subj in enumerate(subjects):
                x, xb, y = subj["eval"][snr]
                pred = np.asarray(predict(i, sim.window(xb if filtered else x, rate, w, margin)))
                c, n = c + int((pred == y).sum()), n + len(y)
                errors += [[i, int(t), float(freqs[y[t]]), float(freqs[pred[t]])] for t in np.flatnonzero(pred != y)]
            acc = c / n
            cells.append(
                {
                    "background": name,
                    "decoder": decoder,
                    "window_s": w,
                    "snr_db": snr,
                    "trials": n,
                    "accuracy": acc,
                    "itr_bits_min": itr_bits_per_min(m, acc, w, GAZE_S),
                    "seconds": round(time.perf_counter() - t0 + extra_s / len(snrs), 2),
                    **({"errors": errors} if len(errors) <= MAX_LISTED_ERRORS else {}),
                }
            )

    def summary() -> dict:
        return {
            "backgrounds": list(groups),
            "rate": 160.0,
            "channels": sim.CHANNELS,
            "m": m,
            "freqs": [float(f) for f in freqs],
            "snrs_db": list(snrs),
            "test_subjects": n_subjects,
            "eval_trials_per_subject_snr": 3 * m,
            "calib_trials_per_subject": calib_blocks * m,
            "calib_trial_s": calib_s,
            "jitter": list(jitter),
            "fine_tune_steps": ft_steps,
            "fine_tune_shifts": ft_shifts,
            "fine_tune_p2": dnn.FINE_TUNE_P2,
            "fine_tune_p2_windows_s": list(dnn.FINE_TUNE_P2_WINDOWS),
            "fine_tune_latency_jitter_s": dnn.FINE_TUNE_LATENCY_JITTER_S,
            "fine_tune_latency_jitter_windows_s": list(dnn.FINE_TUNE_LATENCY_JITTER_WINDOWS),
            "fine_tune_latency_jitter_from": dnn.FINE_TUNE_LATENCY_JITTER_FROM,
            "decision_crops_s": dnn.DECISION_CROPS_S,
            "decision_crops_windows_s": list(dnn.DECISION_CROPS_WINDOWS),
            "fine_tune_ensemble": ft_ensemble,  # None: the rule below (dnn.stage2_ensemble)
            "fine_tune_ensemble_runs": dnn.FINE_TUNE_ENSEMBLE,
            "fine_tune_ensemble_windows_s": list(dnn.FINE_TUNE_ENSEMBLE_WINDOWS),
            "trial_s": TRIAL_S,
            "gaze_shift_s": GAZE_S,
            "token_decoder": token_cls if isinstance(token_cls, str) else token_decoder,
            "token_fit": {
                "subjects": TOKEN_SUBJECTS,
                "blocks": 3,
                "offsets_s": list(TOKEN_OFFSETS),
                "snrs_db": list(TOKEN_SNRS),
            },
            "token_errors": token_errors,
            "segments_s": {n: g[0].segments for n, g in groups.items()},
            "cells": cells,
        }

    for w in windows:
        gp = global_path(w, m)
        glob = dnn.first_member(dnn.load(gp)[0]) if gp.is_file() else None
        if glob is None:
            log(f"  no global DNN for {w:g} s ({gp.name}); run `wavegraph train ssvep --global --windows {w:g}`")
        base = None
        if not isinstance(token_cls, str):
            try:
                t0 = time.perf_counter()
                _, _, xr, yr = global_training_set(
                    w, n_subjects=TOKEN_SUBJECTS, m=m, raw=True, offsets=TOKEN_OFFSETS, snrs=TOKEN_SNRS
                )
                base = token_cls(rate=160.0, channel_names=list(sim.CHANNELS), freqs=list(freqs), seed=0)
                base.fit(xr, yr)
                t_fit = time.perf_counter() - t0
            except (ValueError, OSError) as e:  # a window it cannot handle, or its weights are missing
                log(f"  token decoder n/a at {w:g} s: {type(e).__name__}: {e}")
                token_errors[f"{w:g}"] = f"{type(e).__name__}: {e}"
                base = None
        for name, (bg, fb, subjects) in groups.items():
            # FBCCA: no training
            score(
                name, "fbcca", w, lambda i, win, fb=fb: [np.argmax(fb.scores(z)) for z in win], subjects, bg.rate, True
            )
            # DNN: the shipped global model (stage 1) alone, and fine-tuned per subject on its calibration (stage 2)
            if glob is not None:
                t0 = time.perf_counter()
                n_runs = dnn.stage2_ensemble(glob.cfg) if ft_ensemble is None else ft_ensemble
                tuned = [  # n_runs stage-2 runs per subject (seeds i + 1000 k), deciding on their mean softmax
                    _ensemble(
                        [
                            _fine_tune(
                                glob,
                                sj["calib"],
                                bg.rate,
                                w,
                                freqs,
                                ft_steps,
                                ft_shifts,
                                i + k * dnn.ENSEMBLE_SEED_STEP,
                            )
                            for k in range(n_runs)
                        ]
                    )
                    for i, sj in enumerate(subjects)
                ]
                t_ft = time.perf_counter() - t0
                score(
                    name,
                    "dnn-global",
                    w,
                    lambda i, win, glob=glob: dnn.predict_proba(glob, win[:, :3]).argmax(1),
                    subjects,
                    bg.rate,
                    True,
                )
                crops = dnn.decision_crops(glob.cfg)
                score(
                    name,
                    "dnn",
                    w,
                    lambda i, win, tuned=tuned, k=crops: dnn.predict_proba(tuned[i], win[:, :3], crops=k).argmax(1),
                    subjects,
                    bg.rate,
                    True,
                    t_ft,
                    crops,
                )
            # token decoder (eeg-tokenizer work): fit on the global raw trials, fine-tuned per subject
            if base is not None:
                try:
                    score(
                        name, "token-global", w, lambda i, win, base=base: base.predict(win), subjects, bg.rate, False
                    )
                    t0 = time.perf_counter()
                    decs = []
                    for sj in subjects:
                        dec = copy.deepcopy(base)
                        if hasattr(dec, "fine_tune"):
                            dec.fine_tune(*_offset_windows(sj["calib"][0], sj["calib"][2], bg.rate, w))
                        decs.append(dec)
                    score(
                        name,
                        "token",
                        w,
                        lambda i, win, decs=decs: decs[i].predict(win),
                        subjects,
                        bg.rate,
                        False,
                        t_fit / len(groups) + time.perf_counter() - t0,
                    )
                except (ValueError, OSError) as e:
                    log(f"  token decoder n/a at {w:g} s on {name}: {type(e).__name__}: {e}")
                    token_errors[f"{w:g} {name}"] = f"{type(e).__name__}: {e}"
        log(f"  window {w:g} s done")
        if progress is not None:
            progress(summary())
    return summary()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph bench bci", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--json", type=given_path, default=None, help="write every figure here")
    ap.add_argument(  # in out/ (git-ignored), as bench enhance's: the docs' runs from the repo root left it in the tree
        "--png", type=given_path, default=Path("out/bench_bci.png"), help="plot (default out/bench_bci.png)"
    )
    ap.add_argument(
        "--data",
        default=None,
        help="real-SSVEP part on this recording with markers (MNE-readable, or XDF) "
        "(marker text = frequency in Hz); default: ssvepy's example epochs",
    )
    ap.add_argument(
        "--freqs",
        nargs="+",
        type=positive(float),
        default=None,
        help="candidate frequencies for the real part (default: 6, 6.67, 7.5, 8.57, 10 for ssvepy; "
        "with --data, the frequencies its markers name)",
    )
    ap.add_argument(
        "--line", type=finite, default=50.0, help="mains frequency notched before decoding (default 50; 0: none)"
    )
    ap.add_argument("--only", choices=("real", "semi"), default=None, help="run one part")
    ap.add_argument("--subjects", type=whole(1), default=3, help="semi-synthetic test subjects (default 3)")
    ap.add_argument(
        "--m",
        type=whole(2),
        default=40,
        help="semi-synthetic targets (default 40: 8.0-15.8 Hz, 0.2 Hz apart; M: 8 + k*8/M Hz, e.g. 8: 8-15 Hz, 1 Hz apart)",
    )
    ap.add_argument(
        "--windows",
        nargs="+",
        type=positive(float),
        default=None,
        help=f"window lengths, s (default {' '.join(map(str, SEMI_WINDOWS))}; with --data: "
        f"{' '.join(map(str, REAL_WINDOWS))})",
    )
    ap.add_argument("--marker", action="append", default=[], metavar="LABEL=FREQ", help="map a marker/event code to Hz")
    ap.add_argument("--snrs", nargs="+", type=finite, default=SEMI_SNRS)
    ap.add_argument(
        "--ft-steps",
        type=whole(1),
        default=FINE_TUNE_STEPS,
        help=f"DNN fine-tuning steps per subject (default {FINE_TUNE_STEPS})",
    )
    ap.add_argument(
        "--ft-shifts",
        type=whole(0),
        default=40,
        help="DNN calibration windows per trial beyond the first, each a stimulus period later (default 40; 0: one)",
    )
    ap.add_argument(
        "--ft-ensemble",
        type=whole(1),
        default=None,
        help="stage-2 runs per subject for the `dnn` column (seeds i + 1000 k), deciding on their mean softmax "
        "(default: models.ssvep_dnn.stage2_ensemble, 3 at windows of 0.8-1.5 s, else 1)",
    )
    ap.add_argument(
        "--calib-blocks",
        type=whole(1),
        default=5,
        help="calibration blocks (M trials each) per test subject (default 5, the paper's leave-one-block-out on 6)",
    )
    ap.add_argument(
        "--calib-s",
        type=finite,
        default=CALIB_S,
        help=f"calibration trials' stimulation, s after the onset (default {CALIB_S:g}, the 40-target benchmark "
        f"dataset's trials; 0: as long as the evaluation trials, {sim.DELAY_S + TRIAL_S:g} s, the bench before)",
    )
    ap.add_argument(
        "--backgrounds",
        nargs="+",
        default=list(sim.BACKGROUNDS),
        choices=sim.BACKGROUNDS,
        help="semi-synthetic backgrounds (default both)",
    )
    ap.add_argument(
        "--jitter",
        nargs=2,
        type=finite,
        default=list(sim.JITTER),
        metavar=("LATENCY_S", "PHASE_RAD"),
        help=f"per-trial response jitter SDs of the test trials (default {sim.JITTER[0]:g} {sim.JITTER[1]:g})",
    )
    ap.add_argument("--token-decoder", default="wavegraph.models.token_decoder:TokenDecoder", help="module:Class")
    ap.add_argument("--no-token", action="store_true", help="skip the token decoder")
    ap.add_argument("--threads", type=whole(1), default=1, help="torch threads (default 1)")
    ap.add_argument(
        "--merge",
        nargs="+",
        type=given_path,
        default=None,
        metavar="JSON",
        help="join these --json results; run nothing",
    )
    ap.add_argument(
        "--update",
        action="store_true",
        help="with --merge: later files' cells replace earlier ones (same trials; other stage-2 settings allowed)",
    )
    args = ap.parse_args(argv)
    for option, value in (("--data", args.data), ("--token-decoder", args.token_decoder)):  # '': ran as not given
        if value is not None and not value.strip():
            ap.error(f"{option}: is empty (a shell variable that was unset or empty expands to nothing)")
    if args.windows is not None and min(args.windows) <= 0:
        ap.error("--windows must be above 0 s")
    if args.freqs is not None and (min(args.freqs) <= 0 or len(set(args.freqs)) != len(args.freqs)):
        ap.error("--freqs: give each candidate frequency once, in Hz above 0")
    if args.data and args.only == "semi":
        ap.error("--only semi runs no real part, which is what --data is for; drop one of them")
    if args.line < 0 or args.threads < 1:
        ap.error("--line must be >= 0 Hz (0: no notch) and --threads >= 1")
    if args.calib_s < 0 or min(args.jitter) < 0:  # a ZeroDivisionError, or trials of negative length, before
        ap.error("--calib-s must be >= 0 s (0: as long as the evaluation trials) and --jitter's SDs >= 0")
    from wavegraph.pipeline.cli import unwritable

    from .bench_checks import picture  # --png x.txt: matplotlib's ValueError once the benchmark had run

    args.png = Path(picture(ap, "--png", str(args.png)) or args.png)
    for option, path in (("--png", args.png), ("--json", args.json)):
        if path is not None and unwritable(str(path)):  # checked before the run, not after
            ap.error(f"{option} {path}: cannot write ({unwritable(str(path))})")
    try:
        mapping = parse_markers(args.marker)
    except ValueError as e:
        ap.error(str(e))
    if args.merge:
        runs = []
        for path in args.merge:  # a missing file (an unmatched glob: `*-a.json`) was a FileNotFoundError traceback
            try:
                runs.append(json.loads(path.read_text()))
            except (OSError, ValueError) as e:
                why = e.strerror if isinstance(e, OSError) else f"not JSON: {e}"
                print(f"error: --merge {path}: {why}; give the --json files of earlier runs", file=sys.stderr)
                return 2
        try:
            res = merge(runs, update=args.update)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(tables(res))
        plot(res, args.png)
        if args.json:
            args.json.write_text(json.dumps(res, indent=1, default=float) + "\n")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    res: dict = {"command": "wavegraph bench bci " + " ".join(argv if argv is not None else sys.argv[1:])}
    t0 = time.perf_counter()
    if args.only in (None, "real") or args.data:
        try:
            windows = args.windows if args.windows and args.data else REAL_WINDOWS
            res["real"] = real_ssvep(args.data, args.freqs, windows, line=args.line, mapping=mapping)
        except (ValueError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.only in (None, "semi") and not args.data:

        def progress(partial):  # a long run leaves every finished window in --json as it goes
            if args.json:
                args.json.write_text(
                    json.dumps({**res, "semi": partial, "partial": True}, indent=1, default=float) + "\n"
                )

        res["semi"] = semi_synthetic(
            args.windows or SEMI_WINDOWS,
            args.snrs,
            args.subjects,
            m=args.m,
            ft_steps=args.ft_steps,
            ft_shifts=args.ft_shifts,
            ft_ensemble=args.ft_ensemble,
            calib_blocks=args.calib_blocks,
            calib_s=args.calib_s if args.calib_s > 0 else None,
            token_decoder=None if args.no_token else args.token_decoder,
            backgrounds=args.backgrounds,
            jitter=tuple(args.jitter),
            progress=progress,
        )
    res["seconds"] = round(time.perf_counter() - t0, 1)
    print(tables(res))
    plot(res, args.png)
    print(f"\nplot: {args.png}  ({res['seconds']:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=float) + "\n")
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
