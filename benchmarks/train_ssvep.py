"""`wavegraph train ssvep`: train the Deep-SSVEP DNN (models/ssvep_dnn.py) for the ssvep_decoder node.

Two uses:

    # stage 2 / calibration: fine-tune (or train) from a recorded calibration run
    wavegraph train ssvep calib_raw.fif --freqs 8 10 12 15 --window 1.0 --out dnn.safetensors
    # stage 1: the shipped global models, on semi-synthetic trials (real EEGMMIDB background)
    nice -n 10 wavegraph train ssvep --global --threads 1

Calibration run: any MNE-readable recording (a Raw with annotations, e.g. what the recorder writes, or
an Epochs file). Markers whose description is a number (``"7.5"``, ``"7.5Hz"``) give the stimulus
frequency; ``--marker LABEL=FREQ`` maps other descriptions or event codes. As the decoder node does live,
each trial is filtered **causally** from zero state starting ``--pre`` (1 s) before its marker (the same
Chebyshev-I sub-bands) and the window of ``--window`` s starts at ``marker + --delay`` (0.14 s): stimulus-
locked, as ``ssvep_trial_decoder`` decides live. While the marker lasts, up to ``--shifts`` (40) more
windows per trial start whole periods of its stimulus frequency later: the same stimulus phase over new
background (models.ssvep_windows.stimulus_locked_windows; ``--shifts 0``: one window per trial; ``--step``
instead adds windows every STEP s, whose stimulus phase differs, which the DNN then has to learn). A
quarter of the trials (by marker, never by window) is held out and the accuracy on their first windows
printed. Training runs for about ``--steps`` (600, models.ssvep_dnn.FINE_TUNE_STEPS) optimiser steps of 100 windows. When a global model for the same rate, channels, freqs and window exists
(``--init``, default: the shipped one if it fits) it is fine-tuned (stage 2: dropouts 0.6 and, last, 0.95 at windows of 0.3-1.5 s); otherwise the
DNN is trained from scratch. Fine-tuning keeps the global conv layers and starts a new FC head (the user was
not in stage 1; ``--keep-head`` keeps the global one). At windows of 0.8-1.5 s stage 2 runs 3 times (seeds SEED + 1000 k)
and the checkpoint holds the 3 models, which decide on their mean softmax (models.ssvep_dnn.stage2_ensemble;
``--ensemble N`` sets the count). The checkpoint (safetensors + JSON) is what ``ssvep_decoder`` loads with
``method: dnn, checkpoint: PATH``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np
from wavegraph.models.cli_args import THREADS_HELP
from wavegraph.models.ssvep_dnn import FINE_TUNE_STEPS

from .ssvep_recording import (
    _freq_of,
    data_channels,
    labels_found,
    marker_spans,
    parse_markers,
    read_recording,
)

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"
GLOBAL_WINDOWS = (0.2, 0.4, 0.6, 1.0, 2.0)
DEFAULT_OUT = "ssvep_dnn.safetensors"  # a recording's model, when no --out is given
GLOBAL_SNRS = (-20.0, -15.0, -10.0)


def global_path(window: float, m: int = 40) -> Path:
    return WEIGHTS / f"ssvep_dnn_{m}f_160hz_{int(round(window * 1000))}ms.safetensors"


# --- stage 1: semi-synthetic global models -----------------------------------------------------------


def global_training_set(
    window: float,
    n_subjects: int = 10,
    n_blocks: int = 3,
    m: int = 40,
    seed: int = 0,
    raw: bool = False,
    offsets=(0.0,),
    snrs=GLOBAL_SNRS,
):
    """Filtered training windows (n, 3, C, T) and labels from the `train` background segment
    (raw: the unfiltered windows (n, C, T) of the same trials, for decoders that filter for themselves).
    `offsets` (s): one window per offset and trial, starting that long after the usual window (the trials are
    made that much longer; the default (0,) gives the stage-1 DNNs' training set)."""
    from wavegraph.models.ssvep import design_bank, fbcca_bands

    from . import ssvep_sim as sim

    bg = sim.load_background()
    freqs, phases = sim.jfpm(m)
    sos = design_bank(fbcca_bands(bg.rate, 3), bg.rate)
    xs, ys = [], []
    for s in range(n_subjects):
        x, y, _ = sim.trials(
            bg,
            "train",
            sim.make_subject(seed * 1000 + s),
            freqs,
            phases,
            n_blocks,
            list(snrs),
            window + max(offsets),
            seed=seed * 1000 + s,
        )
        xf = x if raw else sim.filtered(x, sos)
        for o in offsets:
            a = int(round(o * bg.rate))
            xs.append(sim.window(xf[..., a:], bg.rate, window))
            ys.append(y)
    return bg, freqs, np.concatenate(xs), np.concatenate(ys)


def train_global(
    window: float, epochs: int, seed: int = 0, lr: float = 3e-3, out: Path | None = None, log=print, m: int = 40
):
    import torch
    from wavegraph.models import ssvep_dnn as dnn

    from . import ssvep_sim as sim

    bg, freqs, x, y = global_training_set(window, m=m, seed=seed)
    cfg = dnn.SSVEPDNNConfig(
        bg.rate, sim.CHANNELS, list(freqs), int(round(window * bg.rate)), delay=sim.DELAY_S, p2=0.5
    )
    torch.manual_seed(seed)
    model = dnn.SSVEPDNN(cfg)
    t0 = time.time()
    losses = dnn.fit(
        model,
        x,
        y,
        epochs,
        lr=lr,
        seed=seed,
        log=lambda e, loss: (
            log(f"  window {window:g} s epoch {e + 1}/{epochs} loss {loss:.3f} ({time.time() - t0:.0f} s)")
            if (e + 1) % 10 == 0 or e == 0
            else None
        ),
    )
    out = out or global_path(window, len(freqs))
    _save_trained(
        model,
        out,
        lr,
        half=True,
        extra={
            "stage": "global",
            "data": "semi-synthetic: EEGMMIDB S001R02 0-36 s + simulated SSVEP (benchmarks/ssvep_sim.py)",
            "subjects": 10,
            "blocks": 3,
            "snr_db": list(GLOBAL_SNRS),
            "epochs": epochs,
            "lr": lr,
            "seed": seed,
            "final_loss": round(losses[-1], 4),
            "trials": int(len(y)),
            "train_seconds": round(time.time() - t0, 1),
            "command": f"wavegraph train ssvep --global --windows {window:g} --epochs {epochs} --seed {seed} --threads 1"
            + (f" --m {m}" if m != 40 else ""),
        },
    )
    log(f"wrote {out} (loss {losses[-1]:.3f}, {time.time() - t0:.0f} s)")
    return model


def _save_trained(model, out: Path, lr: float, extra: dict, half: bool = False) -> None:
    """models.ssvep_dnn.save, or SystemExit saying the training diverged: NaN weights were written (and the
    recording's run said 'held-out accuracy 0.500', exit 0); the loader refuses them."""
    from wavegraph.models import ssvep_dnn as dnn
    from wavegraph.models.checkpoint import CheckpointError

    try:
        dnn.save(model, out, extra=extra, half=half)
    except CheckpointError as e:
        raise SystemExit(f"train ssvep: the training diverged, {e}; fix: a lower --lr (now {lr:g})") from None


# --- stage 2: a recorded calibration run -------------------------------------------------------------


def recording_trials(
    path,
    freqs,
    channels,
    window: float,
    delay: float,
    step: float | None,
    rate: float | None,
    mapping: dict[str, float],
    n_bands: int = 3,
    pre: float = 1.0,
    shifts: int = 0,
):
    """From a recording: filtered windows (n, bands, C, T), labels (n,), marker id per window, rate, channels.

    As ssvep_trial_decoder does live: for a marker at sample s, the first window starts at s + delay; while
    the marker's duration lasts, more windows follow every `step` s when `step` is given, else up to `shifts`
    windows at whole periods of the marker's frequency (models.ssvep_windows.stimulus_locked_windows: the same
    stimulus phase). Each trial is filtered causally from zero state starting `pre` s before its marker
    (from the recording/epoch start when that is closer). The first window of each marker comes first."""
    import mne
    from wavegraph.models.ssvep import design_bank, fbcca_bands
    from wavegraph.models.ssvep_windows import stimulus_locked_windows as dnn_windows

    path = str(path)
    inst, is_epochs = read_recording(path)
    if rate is not None and abs(inst.info["sfreq"] - rate) > 1e-9:
        inst.resample(rate, verbose="error")  # in place (it returns the same object)
    fs = float(inst.info["sfreq"])
    if channels is None:
        channels = data_channels(inst)
    if not channels:
        raise ValueError(
            f"{path} has no EEG or data channels to decode ({', '.join(inst.ch_names)}); name them with --channels"
        )
    nyquist = [f for f in freqs if f >= fs / 2]
    if nyquist:
        raise ValueError(f"--freqs {nyquist} are at or above Nyquist ({fs / 2:g} Hz) of {path}")
    missing = [c for c in channels if c not in inst.ch_names]
    if missing:
        raise ValueError(f"channels {missing} are not in {path}; it has {', '.join(inst.ch_names)}")
    sos = design_bank(fbcca_bands(fs, n_bands), fs)
    n_win, n_delay, n_pre = int(round(window * fs)), int(round(delay * fs)), int(round(pre * fs))
    n_step = max(1, int(round(step * fs))) if step else None
    segments = []  # (data (C, n), [(marker sample, duration samples, freq)])
    found: dict[str, int] = {}
    if is_epochs:
        assert isinstance(inst, mne.BaseEpochs)
        inv = {v: k for k, v in cast("dict[str, int]", inst.event_id).items()}
        onset = int(round(-inst.tmin * fs))
        picked = inst.get_data(picks=channels)  # pyright: ignore[reportArgumentType]  # mne accepts a list of names; its annotation omits it
        for e, code in zip(picked, inst.events[:, 2]):
            desc = inv.get(code, str(code))
            f = mapping.get(desc, mapping.get(str(code), _freq_of(desc, {})))
            found[desc] = found.get(desc, 0) + 1
            if f is not None:
                segments.append((e, [(onset, e.shape[-1] - onset, f)]))
    else:
        assert isinstance(inst, mne.io.BaseRaw)
        marks, found = marker_spans(inst, mapping)
        segments.append((inst.get_data(picks=channels), marks))  # pyright: ignore[reportArgumentType]  # mne accepts a list of names; its annotation omits it
    xs, ys, trial = [], [], []
    k, short = 0, 0
    for data, marks in segments:
        for start, dur, f in marks:
            if not any(abs(f - g) < 1e-6 for g in freqs):
                continue
            label = int(np.argmin(np.abs(np.asarray(freqs) - f)))
            lo = max(0, start - n_pre)
            last = min(start + dur, data.shape[-1])  # the marker's end
            if start < 0 or start + n_delay + n_win > last:  # the window would run past the stimulus
                short += 1
                k += 1
                continue
            xb = _bank(data[:, lo:last], sos)  # causal from `pre` before the marker, as live
            a0 = start - lo + n_delay
            if n_step:  # every STEP s while the marker lasts (their stimulus phase differs)
                starts = range(a0, xb.shape[-1] - n_win + 1, n_step)
                wins = [xb[..., a : a + n_win] for a in starts]
            else:  # whole stimulus periods after the first window (the same stimulus phase), up to `shifts`
                wins = list(dnn_windows(xb[None], np.array([label]), freqs, fs, a0, n_win, shifts)[0])
            xs.extend(wins)
            ys.extend([label] * len(wins))
            trial.extend([k] * len(wins))
            k += 1
    if short:
        print(
            f"train ssvep: left out {short} marker(s) of {path} lasting less than --delay + --window "
            f"({delay + window:g} s) or outside the recording",
            file=sys.stderr,
        )
    if not xs:
        why = (
            f"every marker naming one of them lasts less than --delay + --window ({delay + window:g} s); "
            "shorten --window"
            if short
            else f"its markers: {labels_found(found)}; use markers like '7.5' or map them with --marker LABEL=FREQ"
        )
        raise ValueError(f"no marker in {path} names one of the frequencies {list(freqs)}: {why}")
    present = sorted({freqs[i] for i in set(ys)})
    if len(present) < 2:
        raise ValueError(
            f"the markers of {path} name only {present[0]:g} Hz of --freqs {list(freqs)}: a decoder needs trials "
            "of at least 2 frequencies; record a calibration run with every target"
        )
    if len(present) < len(freqs):
        absent = [f for f in freqs if f not in present]
        print(f"train ssvep: no trials of {absent} Hz in {path}: the model will not learn them", file=sys.stderr)
    return np.stack(xs), np.asarray(ys), np.asarray(trial), fs, list(channels)


def _bank(x, sos):
    from scipy.signal import sosfilt

    return np.stack([sosfilt(s, x, axis=-1) for s in sos])


def train_recording(args) -> int:
    from wavegraph.models import ssvep_dnn as dnn
    from wavegraph.models.checkpoint import CheckpointError

    mapping = parse_markers(args.marker)
    freqs = [float(f) for f in args.freqs]
    init = None
    init_path = Path(args.init).expanduser() if args.init else global_path(args.window, len(freqs))
    if not args.no_init and init_path.is_file():
        try:
            init = dnn.first_member(dnn.load(init_path)[0])  # an ensemble checkpoint: its first run
        except CheckpointError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        c = init.cfg
        if c.freqs != freqs or abs(c.n_samples / c.rate - args.window) > 0.5 / c.rate:
            if args.init:
                print(
                    f"error: {init_path} was trained for freqs {c.freqs} and a {c.n_samples / c.rate:g} s window; "
                    "train from scratch with --no-init",
                    file=sys.stderr,
                )
                return 2
            init = None
    rate = init.cfg.rate if init is not None else None
    channels = args.channels or (init.cfg.channels if init is not None else None)
    # stage 2's latency jitter (models.ssvep_dnn.stage2_latency_jitter): windows cut `jitter` samples wider on each
    # side (so `jitter` samples earlier), of which fine_tune takes a randomly shifted one at every step
    jitter = dnn.stage2_latency_jitter(init.cfg) if init is not None else 0
    # the decoder's crops (models.ssvep_dnn.decision_crops): held-out windows scored as the trial decoder decides
    crops = dnn.decision_crops(init.cfg) if init is not None else 0
    margin = max(jitter, crops)
    pad = margin / init.cfg.rate if init is not None else 0.0
    try:
        x, y, trial, fs, channels = recording_trials(
            args.recording,
            freqs,
            channels,
            args.window + 2 * pad,
            args.delay - pad,
            args.step,
            rate,
            mapping,
            pre=args.pre,
            shifts=args.shifts,
        )
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if init is not None and channels != init.cfg.channels:
        init = None
    if init is None and margin:  # trained from scratch after all: the plain windows, as before
        x, jitter, crops, margin = x[..., margin:-margin], 0, 0, 0
    seen = x[..., margin - crops : x.shape[-1] - margin + crops]  # what the decoder sees (with its crops)
    x = x[..., margin - jitter : x.shape[-1] - margin + jitter]  # what stage 2 trains on (with its jitter)
    rng = np.random.default_rng(args.seed)
    trials = np.unique(trial)
    held = set(rng.choice(trials, size=max(1, len(trials) // 4), replace=False).tolist()) if len(trials) >= 4 else set()
    test = np.array([t in held for t in trial])
    first = np.r_[True, trial[1:] != trial[:-1]]  # each marker's first window: what the live decoder decides on
    scored = test & first
    if args.epochs is None:
        args.epochs = dnn.epochs_for_steps(int((~test).sum()), args.steps)
    import torch

    torch.manual_seed(args.seed)
    runs = 1
    if init is not None:
        # stage 2, as a seed ensemble at the windows of models.ssvep_dnn.stage2_ensemble (their mean softmax decides)
        runs = dnn.stage2_ensemble(init.cfg) if args.ensemble is None else args.ensemble
        members = [
            dnn.fine_tune(
                init,
                x[~test],
                y[~test],
                args.epochs,
                lr=args.lr,
                seed=args.seed + k * dnn.ENSEMBLE_SEED_STEP,
                new_head=not args.keep_head,
                latency_jitter=jitter,
                latency_jitter_from=dnn.FINE_TUNE_LATENCY_JITTER_FROM,
            )
            for k in range(runs)
        ]
        model = members[0] if runs == 1 else dnn.SSVEPEnsemble(members)
        stage = f"fine-tuned from {init_path}" + ("" if args.keep_head else " (conv layers; new FC head)")
        stage += f", {runs} runs (seeds {args.seed} + {dnn.ENSEMBLE_SEED_STEP} k) averaged" if runs > 1 else ""
    else:
        try:  # --window 0.004 at 250 Hz (one sample): the config's ValueError traceback
            cfg = dnn.SSVEPDNNConfig(fs, channels, freqs, x.shape[-1], delay=args.delay, p2=0.5)
        except ValueError as e:
            print(f"error: {e}; fix: a longer --window (at least {2 / fs:g} s at {fs:g} Hz)", file=sys.stderr)
            return 2
        model = dnn.SSVEPDNN(cfg)
        dnn.fit(model, x[~test], y[~test], args.epochs, lr=args.lr, seed=args.seed)
        stage = "trained from scratch"
    acc = (
        float((dnn.predict_proba(model, seen[scored], crops=crops).argmax(1) == y[scored]).mean())
        if scored.any()
        else np.nan
    )
    out = Path(args.out)
    try:
        _save_trained(
            model,
            out,
            args.lr,
            extra={
                "stage": stage,
                "recording": str(args.recording),
                "windows": int((~test).sum()),
                "held_out_windows": int(scored.sum()),
                "shifts": args.shifts,
                "latency_jitter": jitter,
                "decision_crops": crops,
                "stage2_runs": runs,
                "held_out_accuracy": acc,
                "epochs": args.epochs,
            },
        )
    except SystemExit as e:  # the training diverged: nothing saved
        print(e, file=sys.stderr)
        return 1
    print(
        f"{stage} on {(~test).sum()} windows ({len(trials) - len(held)} markers) from {args.recording}; "
        + (
            f"held-out accuracy {acc:.3f} on the first window of {scored.sum()} held-out markers"
            if scored.any()
            else "no held-out accuracy (a quarter of the markers is held out from 4 on)"
        )
        + f"; wrote {out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph train ssvep", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("recording", nargs="?", help="calibration run with markers (MNE-readable, or XDF)")
    ap.add_argument("--freqs", nargs="+", type=float, help="stimulus frequencies, Hz (the model's classes, in order)")
    ap.add_argument("--window", type=float, default=1.0, help="window length, s (default 1.0)")
    ap.add_argument("--delay", type=float, default=0.14, help="window start after the marker, s (default 0.14)")
    ap.add_argument(
        "--step",
        type=float,
        default=None,
        help="more windows per marker, every STEP s while it lasts (their stimulus phase differs; default: --shifts)",
    )
    ap.add_argument(
        "--shifts",
        type=int,
        default=40,
        help="up to N more windows per marker, each a whole stimulus period later (the same stimulus phase), "
        "while the marker lasts (default 40; 0: one window per marker)",
    )
    ap.add_argument("--pre", type=float, default=1.0, help="filter pre-roll before each marker, s (default 1.0)")
    ap.add_argument(
        "--channels", nargs="+", default=None, help="channels (default: the global model's, else occipital)"
    )
    ap.add_argument("--marker", action="append", default=[], metavar="LABEL=FREQ", help="map a marker/event code to Hz")
    ap.add_argument("--init", default=None, help="global checkpoint to fine-tune (default: the shipped one if it fits)")
    ap.add_argument("--no-init", action="store_true", help="train from scratch")
    ap.add_argument(
        "--keep-head",
        action="store_true",
        help="fine-tune the global FC layer too (default: a new FC head; the user was not in stage 1)",
    )
    ap.add_argument("--epochs", type=int, default=None, help="default 25 (global); recording: from --steps")
    ap.add_argument(
        "--steps",
        type=int,
        default=FINE_TUNE_STEPS,
        help=f"recording: optimiser steps of 100 windows (default {FINE_TUNE_STEPS})",
    )
    ap.add_argument(
        "--ensemble",
        type=int,
        default=None,
        help="stage-2 runs (seeds SEED + 1000 k) whose mean softmax decides (default: 3 at windows of 0.8-1.5 s, else "
        "1; models.ssvep_dnn.stage2_ensemble); each costs one more stage 2 and one more model in the checkpoint",
    )
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument(
        "--out",
        default=None,
        help="weights file (default ssvep_dnn.safetensors; --global: the shipped models/weights/ssvep_dnn_*.safetensors)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    ap.add_argument("--global", dest="global_", action="store_true", help="train the shipped global models")
    ap.add_argument("--windows", nargs="+", type=float, default=list(GLOBAL_WINDOWS), help="--global window lengths")
    ap.add_argument("--m", type=int, default=40, help="--global targets (ssvep_sim.jfpm; default 40)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.seed < 0 or (args.ensemble is not None and args.ensemble < 1):
        ap.error("--threads and --ensemble must be >= 1 and --seed >= 0")
    if (args.epochs is not None and args.epochs < 1) or not 0 < args.lr < float("inf") or args.m < 2:
        ap.error("--epochs must be >= 1, --lr a finite number above 0 and --m >= 2")
    import torch

    torch.set_num_threads(args.threads)
    if args.global_:
        if not all(0 < w <= 30 for w in args.windows):  # ValueError from the model's config before
            ap.error(f"--windows {' '.join(f'{w:g}' for w in args.windows)}: window lengths in (0, 30] s")
        if args.out is not None:  # was ignored: the model went over the shipped one of its window
            if len(args.windows) != 1:
                ap.error(f"--out {args.out} names one model; give one --windows value with it (or no --out)")
            from wavegraph.models.checkpoint import out_problem

            if why := out_problem(args.out):
                ap.error(f"--out {args.out}: {why}")
        for w in args.windows:
            train_global(w, args.epochs or 25, seed=args.seed, m=args.m, out=Path(args.out) if args.out else None)
        return 0
    if not args.recording or not args.freqs:
        ap.error("give a RECORDING and --freqs (or --global)")
    if len(set(args.freqs)) != len(args.freqs) or min(args.freqs) <= 0:
        ap.error(f"--freqs {' '.join(f'{f:g}' for f in args.freqs)}: give each stimulus frequency once, in Hz above 0")
    if len(args.freqs) < 2:
        ap.error("--freqs: a decoder needs at least 2 stimulus frequencies")
    if not 0 < args.window <= 30 or not 0 <= args.delay <= 5 or args.pre < 0 or args.steps < 1 or args.shifts < 0:
        ap.error("--window must be in (0, 30] s, --delay in [0, 5] s, --pre >= 0, --steps >= 1, --shifts >= 0")
    # --step -1 took a window at every sample (2592 of 12 markers); nan: 'cannot convert float NaN to integer'
    if args.step is not None and not 0 < args.step < math.inf:
        ap.error(f"--step {args.step:g}: seconds between windows, above 0 (or leave it out: --shifts)")
    if not math.isfinite(args.pre):
        ap.error(f"--pre {args.pre:g}: the filter's pre-roll in seconds, >= 0")
    if args.channels and len(set(args.channels)) != len(args.channels):  # a model of O1 twice was trained
        ap.error(f"--channels {' '.join(args.channels)}: give each channel once")
    if args.init and args.no_init:
        ap.error("--init and --no-init: give one (--no-init trains from scratch)")
    if args.init and not Path(args.init).expanduser().is_file():  # was left out: the model trained from scratch
        what = "is a folder" if Path(args.init).expanduser().is_dir() else "does not exist"
        ap.error(f"--init {args.init}: {what}; give a checkpoint of `wavegraph train ssvep` (or --no-init)")
    try:
        parse_markers(args.marker)
    except ValueError as e:
        ap.error(str(e))
    from wavegraph.models.checkpoint import out_problem

    if args.out is None:  # the default: a second calibration (another subject) replaced the first one's model unsaid
        args.out = DEFAULT_OUT
        if Path(DEFAULT_OUT).exists():
            ap.error(
                f"no --out, and {DEFAULT_OUT} (the default) is already here, a model of an earlier calibration?; "
                f"give --out NAME.safetensors (e.g. subject02.safetensors), or --out {DEFAULT_OUT} to replace it"
            )
    if why := out_problem(args.out):  # checked before minutes of training, not after (`--out x.json` too)
        ap.error(f"--out {args.out}: {why}")
    return train_recording(args)


if __name__ == "__main__":
    sys.exit(main())
