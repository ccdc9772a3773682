"""Choose the DNN's stage-2 settings on development subjects, never on the benchmark's test subjects.

    python -m wavegraph.benchmarks.ssvep_dev --window 1.0 --subjects 3 '{}' '{"steps": 600}' '{"p1": 0.8}'

Each argument is one variant: keyword arguments of models.ssvep_dnn.fine_tune (p1, lr, weight_decay) plus
`steps` (optimiser steps of 100 windows) and `shifts` (stimulus-locked windows per trial beyond the first).
The simulated subjects are seeded 200 + i (`wavegraph bench bci` tests subjects 100 + i), with their own
trial seeds; calibration comes from EEGMMIDB's calib segment and evaluation from its eval segment, at one
SNR, exactly as in the bench (so the same background EEG as the bench's test trials: a choice made here is
independent of the test subjects and trials, not of that background). Prints the DNN's accuracy per subject and FBCCA's on the same trials.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from . import ssvep_sim as sim
from .bci import FT_MAX_EPOCHS, TRIAL_S

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
    ap.add_argument("--snr", type=float, default=-10.0)
    ap.add_argument("--m", type=int, default=40)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    w = args.window
    freqs, phases = sim.jfpm(args.m)
    bg = sim.load_background("eegmmidb-s001r02")
    fb = FBCCA(list(freqs), bg.rate)
    gp = global_path(w, args.m)
    if not gp.is_file():
        print(f"no global DNN for {w:g} s ({gp}); run `wavegraph train ssvep --global --windows {w:g}`")
        return 2
    glob = dnn.load(gp)[0]
    trial_s = max(TRIAL_S, w)
    subjects = []
    for s in range(args.subjects):
        subj = sim.make_subject(DEV_SUBJECT_SEED + s)
        ev = sim.trials(bg, "eval", subj, freqs, phases, 3, args.snr, trial_s, seed=7000 + s, jitter=sim.JITTER)
        cal = sim.trials(
            bg, "calib", subj, freqs, phases, 5, [-20.0, -15.0, -10.0], trial_s, seed=8000 + s, jitter=sim.JITTER
        )
        subjects.append((sim.filtered(ev[0], fb.sos), ev[1], sim.filtered(cal[0], fb.sos[:3]), cal[1]))
    start = int(round((sim.PRE_S + sim.DELAY_S) * bg.rate))
    for variant in args.variants:
        kw = json.loads(variant)
        steps, shifts, lr = kw.pop("steps", dnn.FINE_TUNE_STEPS), kw.pop("shifts", 40), kw.pop("lr", 3e-3)
        t0, acc, ref = time.perf_counter(), [], []
        for i, (eb, ey, cb, cy) in enumerate(subjects):
            x, y, _ = dnn.stimulus_locked_windows(cb, cy, freqs, bg.rate, start, int(round(w * bg.rate)), shifts)
            epochs = min(FT_MAX_EPOCHS, dnn.epochs_for_steps(len(y), steps))
            model = dnn.fine_tune(glob, x, y, epochs, lr=lr, seed=i, new_head=True, **kw)
            win = sim.window(eb, bg.rate, w)
            acc.append(float(np.mean(dnn.predict_proba(model, win[:, :3]).argmax(1) == ey)))
            ref.append(float(np.mean([np.argmax(fb.scores(z)) for z in win] == ey)))
        print(
            f"{variant}: dnn {np.round(acc, 3).tolist()} mean {np.mean(acc):.3f} | fbcca mean {np.mean(ref):.3f} "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
