"""`wavegraph bench bci`: SSVEP decoders on real EEG -- a table, a PNG and `--json PATH` with every figure.

Parts:

1. **Real SSVEP** (ssvepy's example recording, real SSVEP at 6 Hz, 64 ch, 256 Hz, 16 epochs x 16 s): the
   streaming ``ssvep_decoder`` (FBCCA) runs over each epoch as a stream (causal 50 Hz notch first) and
   decides in sliding windows; accuracy vs window length. ``--data FILE`` runs the same part on any
   MNE-readable recording with markers (annotations/events whose description is the frequency in Hz).
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
import re
import sys
import time
from pathlib import Path

import numpy as np

from wavegraph.models.ssvep import FBCCA, design_bank, fbcca_bands, itr_bits_per_min

from . import ssvep_sim as sim

GAZE_S = 0.5  # gaze shift per selection in the ITR (the 40-target benchmark's cue length)
OCCIPITAL = ["O1", "Oz", "O2", "PO3", "POz", "PO4", "PO7", "PO8", "Iz", "Pz"]
REAL_FREQS = [6.0, 6.67, 7.5, 8.57, 10.0]  # 60 Hz / 10..6: frequencies a 60 Hz monitor can show
REAL_WINDOWS = [0.5, 1.0, 2.0, 3.0, 4.0]
SEMI_WINDOWS = [0.2, 0.4, 0.6, 1.0, 2.0]
SEMI_SNRS = [-20.0, -15.0, -10.0]


# --- part 1: real SSVEP, streamed through the ssvep_decoder node ---------------------------------------

def _notch(x: np.ndarray, rate: float, line: float) -> np.ndarray:
    """Causal notch at the line frequency and its harmonics below Nyquist (as the `notch` node, zero state)."""
    from scipy.signal import iirnotch, lfilter

    for k in range(1, 10):
        if k * line >= rate / 2 - 1:
            break
        b, a = iirnotch(k * line, 30.0, fs=rate)
        x = lfilter(b, a, x, axis=-1)
    return x


def _stream_decisions(x: np.ndarray, rate: float, channels: list[str], freqs, window: float, step: float,
                      chunk: int = 32) -> np.ndarray:
    """Run one continuous stream through ssvep_decoder (fbcca) in chunks; decision rows (onset, dur, code)."""
    from wavegraph.nodes.models.ssvep import SSVEPDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    node = SSVEPDecoder(method="fbcca", freqs=list(freqs), window=window, step=step)
    node.configure({"in": signal_spec(rate, channels)})
    rows = []
    for i in range(0, x.shape[1], chunk):
        out = node.process({"in": Chunk(np.ascontiguousarray(x[:, i:i + chunk]), t0=i / rate)})
        if "out" in out:
            rows.append(out["out"].data)
    return np.concatenate(rows) if rows else np.zeros((0, 3))


def _narrowband_snr(x: np.ndarray, rate: float, f: float) -> float:
    """Spectral power at f and 2f over the mean of the +-1 Hz neighbourhood (one long window)."""
    spec = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    fr = np.fft.rfftfreq(x.shape[-1], 1 / rate)
    p = spec.mean(axis=0)
    total = 0.0
    for h in (1, 2):
        k = int(np.argmin(np.abs(fr - h * f)))
        nb = np.r_[p[max(k - 12, 0):max(k - 2, 0)], p[k + 3:k + 13]]
        total += p[k] / nb.mean()
    return total


def load_real(path: str | None, freqs, line: float):
    """Segments [(data (C, n), rate, label freq)] and the channels, from the ssvepy epochs or --data FILE."""
    import mne

    from wavegraph.pipeline.datasets import fetch

    src = str(path) if path else str(fetch("ssvepy-epochs"))
    is_epochs = src.endswith(("-epo.fif", "_epo.fif", "-epo.fif.gz"))
    inst = mne.read_epochs(src, verbose="error") if is_epochs else mne.io.read_raw(src, preload=True, verbose="error")
    channels = [c for c in OCCIPITAL if c in inst.ch_names]
    if len(channels) < 2:
        channels = [inst.ch_names[i] for i in mne.pick_types(inst.info, eeg=True)]
    rate = float(inst.info["sfreq"])
    segments, how = [], ""
    if is_epochs and path is None:
        # ssvepy's event codes are conditions, not frequencies: label each 16 s epoch by the candidate with the
        # highest narrow-band SNR (f and 2f) over the whole epoch, a long-window reference the short windows are
        # scored against.
        for e in inst.get_data(picks=channels):
            e = _notch(e, rate, line)
            f = max(freqs, key=lambda g: _narrowband_snr(e[:, int(rate):], rate, g))
            segments.append((e, f))
        how = "epoch label = candidate with the highest 16 s narrow-band SNR (f, 2f)"
    elif is_epochs:
        inv = {v: k for k, v in inst.event_id.items()}
        for e, code in zip(inst.get_data(picks=channels), inst.events[:, 2]):
            f = _number(inv.get(code, str(code)))
            if f is not None:
                segments.append((_notch(e, rate, line), f))
        how = "epoch label = its event name as Hz"
    else:
        data = _notch(inst.get_data(picks=channels), rate, line)
        for a in inst.annotations:
            f = _number(a["description"])
            if f is not None and a["duration"] > 0:
                i0 = int(round((a["onset"] - inst.first_time) * rate))
                segments.append((data[:, i0:i0 + int(round(a["duration"] * rate))], f))
        how = "segment = marker onset to onset + duration, label = its description as Hz"
    if not segments:
        raise ValueError(f"{src}: no epochs/markers whose label is a frequency (e.g. '7.5' or '7.5Hz')")
    return src, segments, rate, channels, how


def _number(desc: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:hz|Hz|HZ)?\s*", str(desc))
    return float(m.group(1)) if m else None


def real_ssvep(path: str | None, freqs=None, windows=REAL_WINDOWS, step: float = 0.5, line: float = 50.0) -> dict:
    freqs = list(freqs) if freqs else (REAL_FREQS if path is None else [])  # --data: the markers' frequencies
    src, segments, rate, channels, how = load_real(path, freqs, line)
    freqs = sorted(set(freqs) | {f for _, f in segments})
    rows = []
    for w in windows:
        hits = n = 0
        t0 = time.perf_counter()
        for x, f in segments:
            if x.shape[1] < int(w * rate):
                continue
            ev = _stream_decisions(x, rate, channels, freqs, w, step)
            # each segment is its own stream (epochs are not contiguous): the first window starts at its onset
            hits += int(np.sum(np.isclose([freqs[int(c) - 1] for c in ev[:, 2]], f)))
            n += len(ev)
        acc = hits / n if n else float("nan")
        rows.append({"window_s": w, "windows": n, "accuracy": acc,
                     "itr_bits_min": itr_bits_per_min(len(freqs), acc, w, GAZE_S) if n else float("nan"),
                     "seconds": round(time.perf_counter() - t0, 2)})
    labels = {f"{f:g}": sum(1 for _, g in segments if g == f) for f in freqs}
    return {"recording": src, "rate": rate, "channels": channels, "freqs": freqs, "segments": len(segments),
            "labels": labels, "labelling": how, "step_s": step, "notch_hz": line, "chance": 1 / len(freqs),
            "rows": rows}


# --- part 2: semi-synthetic, FBCCA vs the DNN vs the token decoder -------------------------------------

def _load_token_decoder(spec: str):
    mod, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as e:
        return f"{spec}: {type(e).__name__}: {e}"


def semi_synthetic(windows=SEMI_WINDOWS, snrs=SEMI_SNRS, n_subjects: int = 3, m: int = 40, ft_epochs: int = 30,
                   token_decoder: str | None = "wavegraph.models.token_decoder:TokenDecoder", log=print) -> dict:
    from wavegraph.models import ssvep_dnn as dnn

    from .train_ssvep import global_path, global_training_set

    bg = sim.load_background()
    freqs, phases = sim.jfpm(m)
    fb = FBCCA(list(freqs), bg.rate)  # 5 sub-bands; the DNN uses the first 3 (same causal filters)
    wmax = max(windows)
    subjects = []
    for s in range(n_subjects):
        subj = sim.make_subject(100 + s)
        ev = {snr: sim.trials(bg, "eval", subj, freqs, phases, 3, snr, wmax, seed=5000 + 10 * s + i, jitter=True)
              for i, snr in enumerate(snrs)}
        cal = sim.trials(bg, "calib", subj, freqs, phases, 3, list(snrs), wmax, seed=6000 + s, jitter=True)
        subjects.append({"eval": {k: (v[0], sim.filtered(v[0], fb.sos), v[1]) for k, v in ev.items()},
                         "calib": (cal[0], sim.filtered(cal[0], fb.sos[:3]), cal[1]), "latency": subj.latency})
    token_cls = _load_token_decoder(token_decoder) if token_decoder else "disabled (--no-token)"
    cells = []  # one row per (decoder, window, snr)
    token_errors: dict[str, str] = {}

    def add(decoder, w, snr, correct, n, secs):
        acc = correct / n
        cells.append({"decoder": decoder, "window_s": w, "snr_db": snr, "trials": n, "accuracy": acc,
                      "itr_bits_min": itr_bits_per_min(m, acc, w, GAZE_S), "seconds": round(secs, 2)})

    for w in windows:
        # FBCCA: no training
        for snr in snrs:
            t0 = time.perf_counter()
            c = n = 0
            for subj in subjects:
                _, xb, y = subj["eval"][snr]
                win = sim.window(xb, bg.rate, w)
                pred = np.array([np.argmax(fb.scores(z)) for z in win])
                c, n = c + int((pred == y).sum()), n + len(y)
            add("fbcca", w, snr, c, n, time.perf_counter() - t0)
        # DNN: shipped global model (stage 1), fine-tuned per subject on its calibration trials (stage 2)
        gp = global_path(w, m)
        if gp.is_file():
            glob, _ = dnn.load(gp)
            t0 = time.perf_counter()
            tuned = []
            for s, subj in enumerate(subjects):
                _, xc, yc = subj["calib"]
                tuned.append(dnn.fine_tune(glob, sim.window(xc, bg.rate, w), yc, ft_epochs, lr=3e-3, seed=s))
            t_ft = time.perf_counter() - t0
            for name, models in (("dnn-global", [glob] * len(subjects)), ("dnn", tuned)):
                for snr in snrs:
                    t0 = time.perf_counter()
                    c = n = 0
                    for model, subj in zip(models, subjects):
                        _, xb, y = subj["eval"][snr]
                        pred = dnn.predict_proba(model, sim.window(xb[:, :3], bg.rate, w)).argmax(1)
                        c, n = c + int((pred == y).sum()), n + len(y)
                    add(name, w, snr, c, n, time.perf_counter() - t0 + (t_ft / len(snrs) if name == "dnn" else 0))
        else:
            log(f"  no global DNN for {w:g} s ({gp.name}); run `wavegraph train ssvep --global --windows {w:g}`")
        # token decoder (eeg-tokenizer work): fit on the global raw trials, fine-tune per subject
        if not isinstance(token_cls, str):
            t0 = time.perf_counter()
            try:
                _, _, xr, yr = global_training_set(w, raw=True)
                base = token_cls(rate=bg.rate, channel_names=list(sim.CHANNELS), freqs=list(freqs), seed=0)
                base.fit(xr, yr)
                per_subject = []
                for subj in subjects:
                    dec = copy.deepcopy(base)
                    if hasattr(dec, "fine_tune"):
                        xc, _, yc = subj["calib"]
                        dec.fine_tune(sim.window(xc, bg.rate, w), yc)
                    per_subject.append(dec)
                t_fit = time.perf_counter() - t0
                for snr in snrs:
                    t1 = time.perf_counter()
                    c = n = 0
                    for dec, subj in zip(per_subject, subjects):
                        x, _, y = subj["eval"][snr]
                        pred = np.asarray(dec.predict(sim.window(x, bg.rate, w)))
                        c, n = c + int((pred == y).sum()), n + len(y)
                    add("token", w, snr, c, n, time.perf_counter() - t1 + t_fit / len(snrs))
            except (ValueError, OSError) as e:  # a window it cannot handle, or its weights are missing
                log(f"  token decoder n/a at {w:g} s: {type(e).__name__}: {e}")
                token_errors[f"{w:g}"] = f"{type(e).__name__}: {e}"
        log(f"  window {w:g} s done")
    return {"background": bg.name, "rate": bg.rate, "channels": sim.CHANNELS, "m": m, "freqs": [float(f) for f in freqs],
            "snrs_db": list(snrs), "test_subjects": n_subjects, "eval_trials_per_subject_snr": 3 * m,
            "calib_trials_per_subject": 3 * m, "fine_tune_epochs": ft_epochs, "gaze_shift_s": GAZE_S,
            "token_decoder": token_cls if isinstance(token_cls, str) else token_decoder,
            "token_errors": token_errors, "segments_s": sim.SEGMENTS, "cells": cells}


# --- report ------------------------------------------------------------------------------------------

def tables(res: dict) -> str:
    out = []
    r = res.get("real")
    if r:
        out.append(f"Real SSVEP: {Path(r['recording']).name}, {r['segments']} segments, {len(r['channels'])} ch at "
                   f"{r['rate']:g} Hz, candidates {r['freqs']} Hz (chance {r['chance']:.2f}), streaming FBCCA, "
                   f"step {r['step_s']:g} s\n  labels: {r['labels']} ({r['labelling']})")
        out.append(f"  {'window s':>8} {'windows':>8} {'accuracy':>9} {'ITR b/min':>10}")
        for row in r["rows"]:
            out.append(f"  {row['window_s']:8.2f} {row['windows']:8d} {row['accuracy']:9.3f} {row['itr_bits_min']:10.1f}")
    s = res.get("semi")
    if s:
        decs = [d for d in ("fbcca", "dnn-global", "dnn", "token") if any(c["decoder"] == d for c in s["cells"])]
        out.append(f"\nSemi-synthetic: {s['background']} background, M = {s['m']}, {s['test_subjects']} test subjects x "
                   f"{s['eval_trials_per_subject_snr']} trials per SNR; accuracy / ITR (bits/min, gaze shift "
                   f"{s['gaze_shift_s']:g} s); token decoder: {s['token_decoder']}")
        for snr in s["snrs_db"]:
            out.append(f"  SNR {snr:g} dB   " + " ".join(f"{d:>17}" for d in decs))
            for w in sorted({c["window_s"] for c in s["cells"]}):
                parts = []
                for d in decs:
                    c = next((c for c in s["cells"] if c["decoder"] == d and c["window_s"] == w and c["snr_db"] == snr), None)
                    parts.append(f"{c['accuracy']:7.3f} / {c['itr_bits_min']:6.1f}" if c else f"{'n/a':>17}")
                out.append(f"  {w:5.2f} s      " + " ".join(f"{p:>17}" for p in parts))
    return "\n".join(out)


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, r = res.get("semi"), res.get("real")
    n_snr = len(s["snrs_db"]) if s else 0
    fig, axes = plt.subplots(2, n_snr + 1, figsize=(4 * (n_snr + 1), 7), squeeze=False)
    if r:
        ax = axes[0, 0]
        ax.plot([x["window_s"] for x in r["rows"]], [x["accuracy"] for x in r["rows"]], "o-", label="FBCCA (streaming)")
        ax.axhline(r["chance"], color="gray", ls=":", label="chance")
        ax.set(title=f"real SSVEP ({Path(r['recording']).name})", xlabel="window (s)", ylabel="accuracy", ylim=(0, 1.02))
        ax.legend(fontsize=8)
        ax = axes[1, 0]
        ax.plot([x["window_s"] for x in r["rows"]], [x["itr_bits_min"] for x in r["rows"]], "o-")
        ax.set(xlabel="window (s)", ylabel="ITR (bits/min)")
    if s:
        styles = {"fbcca": "o-", "dnn": "s-", "dnn-global": "s:", "token": "^-"}
        for j, snr in enumerate(s["snrs_db"], start=1):
            for d, st in styles.items():
                cs = sorted((c for c in s["cells"] if c["decoder"] == d and c["snr_db"] == snr), key=lambda c: c["window_s"])
                if cs:
                    axes[0, j].plot([c["window_s"] for c in cs], [c["accuracy"] for c in cs], st, label=d)
                    axes[1, j].plot([c["window_s"] for c in cs], [c["itr_bits_min"] for c in cs], st, label=d)
            axes[0, j].axhline(1 / s["m"], color="gray", ls=":")
            axes[0, j].set(title=f"semi-synthetic M={s['m']}, SNR {snr:g} dB", xlabel="window (s)", ylim=(0, 1.02))
            axes[1, j].set(xlabel="window (s)", ylabel="ITR (bits/min)")
            axes[0, j].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph bench bci", description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    ap.add_argument("--png", type=Path, default=Path("bench_bci.png"), help="plot (default bench_bci.png)")
    ap.add_argument("--data", default=None, help="real-SSVEP part on this MNE-readable recording with markers "
                                                 "(marker text = frequency in Hz); default: ssvepy's example epochs")
    ap.add_argument("--freqs", nargs="+", type=float, default=None,
                    help="candidate frequencies for the real part (default: 6, 6.67, 7.5, 8.57, 10 for ssvepy; "
                         "with --data, the frequencies its markers name)")
    ap.add_argument("--line", type=float, default=50.0, help="mains frequency notched before decoding (default 50)")
    ap.add_argument("--only", choices=("real", "semi"), default=None, help="run one part")
    ap.add_argument("--subjects", type=int, default=3, help="semi-synthetic test subjects (default 3)")
    ap.add_argument("--windows", nargs="+", type=float, default=SEMI_WINDOWS)
    ap.add_argument("--snrs", nargs="+", type=float, default=SEMI_SNRS)
    ap.add_argument("--ft-epochs", type=int, default=30, help="DNN fine-tuning epochs per subject (default 30)")
    ap.add_argument("--token-decoder", default="wavegraph.models.token_decoder:TokenDecoder", help="module:Class")
    ap.add_argument("--no-token", action="store_true", help="skip the token decoder")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    res: dict = {"command": "wavegraph bench bci " + " ".join(argv if argv is not None else sys.argv[1:])}
    t0 = time.perf_counter()
    if args.only in (None, "real") or args.data:
        try:
            res["real"] = real_ssvep(args.data, args.freqs, line=args.line)
        except (ValueError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.only in (None, "semi") and not args.data:
        res["semi"] = semi_synthetic(args.windows, args.snrs, args.subjects, ft_epochs=args.ft_epochs,
                                     token_decoder=None if args.no_token else args.token_decoder)
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
