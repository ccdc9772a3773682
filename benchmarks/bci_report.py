"""The report of `wavegraph bench bci`: join per-process results, the text tables and the PNG."""

from __future__ import annotations

from pathlib import Path

# what must agree for cells of runs with other stage-2 settings to share one table (--merge --update)
SAME_TRIALS = ("m", "freqs", "snrs_db", "test_subjects", "eval_trials_per_subject_snr", "calib_trials_per_subject")
SAME_TRIALS += ("jitter", "trial_s", "calib_trial_s", "gaze_shift_s", "rate", "channels")


def merge(runs: list[dict], update: bool = False) -> dict:
    """One result from several `--json` files of the same code (e.g. one process per background and window
    group): their semi-synthetic cells joined (ordered by background, window, SNR), the first real part.

    update: the files are in order and a later file's cells replace an earlier file's cells of the same
    background, decoder, window and SNR (e.g. a re-run of the windows a change touches, over the last full
    run); their settings may then differ except for the trials (SAME_TRIALS); the settings are the last
    file's, and every cell records the file it came from (`run`, an index into `commands`)."""
    semis = [r["semi"] for r in runs if "semi" in r]
    if not semis:
        raise ValueError("no semi-synthetic part in these files")
    joined = ("backgrounds", "segments_s", "cells", "token_errors")  # what differs between the parts
    for k, s in enumerate(semis[1:], start=2):
        keys = SAME_TRIALS if update else sorted(set(s) | set(semis[0]))
        differ = sorted(key for key in keys if key not in joined and s.get(key) != semis[0].get(key))
        if differ:
            what = "other trials" if update else "other settings"
            raise ValueError(f"file {k} was run with {what} than file 1 ({', '.join(differ)}): not one table")
    semi = {**semis[-1 if update else 0], "backgrounds": [], "segments_s": {}, "cells": []}
    cells: dict[tuple, dict] = {}
    for i, s in enumerate(semis):
        semi["backgrounds"] += [b for b in s["backgrounds"] if b not in semi["backgrounds"]]
        semi["segments_s"].update(s["segments_s"])
        for c in s["cells"]:
            key = (c["background"], c["decoder"], c["window_s"], c["snr_db"])
            if update:
                cells[key] = {**c, "run": i}
            else:
                cells[(*key, len(cells))] = c
    semi["cells"] = list(cells.values())
    order = semi["backgrounds"]
    semi["cells"].sort(key=lambda c: (order.index(c["background"]), c["window_s"], c["snr_db"]))
    out: dict = {"commands": [r.get("command") or " && ".join(r.get("commands", [])) for r in runs], "semi": semi}
    out["seconds"] = [r.get("seconds") for r in runs]
    out["partial"] = any(r.get("partial") for r in runs)
    real = next((r["real"] for r in runs if "real" in r), None)
    if real is not None:
        out["real"] = real
    return out


def tables(res: dict) -> str:
    out = []
    r = res.get("real")
    if r:
        out.append(
            f"Real SSVEP: {Path(r['recording']).name}, {r['segments']} segments, {len(r['channels'])} ch at "
            f"{r['rate']:g} Hz, candidates {r['freqs']} Hz (chance {r['chance']:.2f}), streaming FBCCA, "
            f"step {r['step_s']:g} s\n  labels: {r['labels']} ({r['labelling']})"
        )
        out.append(f"  {'window s':>8} {'windows':>8} {'accuracy':>9} {'ITR b/min':>10}")
        for row in r["rows"]:
            out.append(
                f"  {row['window_s']:8.2f} {row['windows']:8d} {row['accuracy']:9.3f} {row['itr_bits_min']:10.1f}"
            )
    s = res.get("semi")
    if s:
        decs = [
            d
            for d in ("fbcca", "dnn-global", "dnn", "dnn-ens", "token-global", "token")
            if any(c["decoder"] == d for c in s["cells"])
        ]
        for bgname in s["backgrounds"]:
            out.append(
                f"\nSemi-synthetic on {bgname} background: M = {s['m']}, {s['test_subjects']} test subjects x "
                f"{s['eval_trials_per_subject_snr']} trials per SNR; accuracy / ITR (bits/min, gaze shift "
                f"{s['gaze_shift_s']:g} s); token decoder: {s['token_decoder']}"
            )
            if "fine_tune_steps" in s:
                out.append(
                    f"  DNN calibration: {s['calib_trials_per_subject']} trials per test subject"
                    + (f" of {s['calib_trial_s']:g} s" if s.get("calib_trial_s") else "")
                    + f", up to {s['fine_tune_shifts']} more stimulus-locked windows each, {s['fine_tune_steps']} steps"
                    + (
                        f", last dropout {s['fine_tune_p2']:g} at "
                        + "-".join(f"{v:g}" for v in s.get("fine_tune_p2_windows_s", []))
                        + " s"
                        if s.get("fine_tune_p2") is not None
                        else ""
                    )
                    + (
                        f", latency jitter +-{1000 * s['fine_tune_latency_jitter_s']:g} ms at "
                        + "-".join(f"{v:g}" for v in s.get("fine_tune_latency_jitter_windows_s", []))
                        + " s"
                        + (
                            f" from {100 * s['fine_tune_latency_jitter_from']:g} % of the steps"
                            if s.get("fine_tune_latency_jitter_from")
                            else ""
                        )
                        if s.get("fine_tune_latency_jitter_s")
                        else ""
                    )
                    + (
                        f", {s['fine_tune_ensemble']} runs per subject (seeds 1000 apart; mean softmax)"
                        if s.get("fine_tune_ensemble")
                        else f", a seed ensemble of {s['fine_tune_ensemble_runs']} runs at "
                        + "-".join(f"{v:g}" for v in s["fine_tune_ensemble_windows_s"])
                        + " s (mean softmax)"
                        if s.get("fine_tune_ensemble_runs", 1) > 1
                        else ""
                    )
                    + (
                        f", decisions averaged over crops +-{1000 * s['decision_crops_s']:g} ms at "
                        + "-".join(f"{v:g}" for v in s.get("decision_crops_windows_s", []))
                        + " s"
                        if s.get("decision_crops_s")
                        else ""
                    )
                )
            for snr in s["snrs_db"]:
                out.append(f"  SNR {snr:g} dB   " + " ".join(f"{d:>17}" for d in decs))
                for w in sorted({c["window_s"] for c in s["cells"]}):
                    parts = []
                    for d in decs:
                        c = next(
                            (
                                c
                                for c in s["cells"]
                                if c["background"] == bgname
                                and c["decoder"] == d
                                and c["window_s"] == w
                                and c["snr_db"] == snr
                            ),
                            None,
                        )
                        parts.append(f"{c['accuracy']:7.3f} / {c['itr_bits_min']:6.1f}" if c else f"{'n/a':>17}")
                    out.append(f"  {w:5.2f} s      " + " ".join(f"{p:>17}" for p in parts))
    return "\n".join(out)


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from wavegraph.nodes.io.figure_file import save_figure

    s, r = res.get("semi"), res.get("real")
    n_snr = len(s["snrs_db"]) if s else 0
    bgs = s["backgrounds"] if s else []
    fig, axes = plt.subplots(
        max(2, 2 * len(bgs)), n_snr + 1, figsize=(4 * (n_snr + 1), 3.3 * max(2, 2 * len(bgs))), squeeze=False
    )
    if r:
        ax = axes[0, 0]
        ax.plot([x["window_s"] for x in r["rows"]], [x["accuracy"] for x in r["rows"]], "o-", label="FBCCA (streaming)")
        ax.axhline(r["chance"], color="gray", ls=":", label="chance")
        ax.set(
            title=f"real SSVEP ({Path(r['recording']).name})", xlabel="window (s)", ylabel="accuracy", ylim=(0, 1.02)
        )
        ax.legend(fontsize=8)
        ax = axes[1, 0]
        ax.plot([x["window_s"] for x in r["rows"]], [x["itr_bits_min"] for x in r["rows"]], "o-")
        ax.set(xlabel="window (s)", ylabel="ITR (bits/min)")
    for k in range(2 if r else 0, axes.shape[0]):  # the real-SSVEP column is empty without that part
        axes[k, 0].axis("off")
    styles = {"fbcca": "o-", "dnn": "s-", "dnn-global": "s:", "dnn-ens": "D-", "token": "^-", "token-global": "^:"}
    for b, bgname in enumerate(bgs):
        assert s is not None  # bgs is empty without the semi-synthetic part
        for j, snr in enumerate(s["snrs_db"], start=1):
            acc_ax, itr_ax = axes[2 * b, j], axes[2 * b + 1, j]
            for d, st in styles.items():
                cs = sorted(
                    (c for c in s["cells"] if c["background"] == bgname and c["decoder"] == d and c["snr_db"] == snr),
                    key=lambda c: c["window_s"],
                )
                if cs:
                    acc_ax.plot([c["window_s"] for c in cs], [c["accuracy"] for c in cs], st, label=d)
                    itr_ax.plot([c["window_s"] for c in cs], [c["itr_bits_min"] for c in cs], st, label=d)
            acc_ax.axhline(1 / s["m"], color="gray", ls=":")
            acc_ax.set(
                title=f"{bgname}: M={s['m']}, SNR {snr:g} dB", xlabel="window (s)", ylabel="accuracy", ylim=(0, 1.02)
            )
            itr_ax.set(xlabel="window (s)", ylabel="ITR (bits/min)")
            acc_ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)  # (whole or not at all: a full disk left a 0-byte PNG)
    plt.close(fig)
