"""How the enhancers cope with the input's level: `wavegraph bench enhance` mixes every held-out mixture at -25 dBFS
(speech RMS), the middle of the -40 to -15 dBFS the enhancer was trained at. This runs the same held-out mixtures
(5 dB SNR by default) scaled to other levels through RNNoise and ours, all in one run, and prints each method's
PESQ-WB and STOI per level and their change from its own -25 dBFS figures measured in the same run. `ours+gain` is
ours with the input_gain_db that the enhancer's quiet-input warning advises for that mixture (the node's own
`suggested_input_gain` of its loudest 10 ms block; 0 where it warns of nothing). PESQ-WB aligns levels itself and
STOI is scale-free, so every output is scored against the clean speech as mixed (the output scaled back first).

    python -m wavegraph.benchmarks.enhance_level [--levels -65 -55 -45 -35 -25 -15] [--per-snr 16] [--snr 5]
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from .enhance import aligned, lag_of, pin_one_core, scores
from .enhance_data import heldout_mixtures
from .enhance_methods import Ours, make_method

REFERENCE_DBFS = -25.0  # the bench's level: the held-out mixtures' speech RMS


_GAINED: dict[float, Ours] = {}  # ours at each advised input_gain_db (a node per value: it is a parameter)


def _ours_with_advised_gain(x: np.ndarray, ours: Ours) -> np.ndarray:
    """Ours, at the input_gain_db its warning advises for x (its loudest 10 ms block, as the node measures it)."""
    from wavegraph.nodes.models.enhancer import QUIET_DBFS
    from wavegraph.nodes.models.enhancer_level import loudest_dbfs, suggested_input_gain

    level = loudest_dbfs(x, 160)  # (the node's 10 ms blocks)
    if not -math.inf < level < QUIET_DBFS:
        return ours.run(x)[0]
    gain = suggested_input_gain(level)
    if gain not in _GAINED:
        _GAINED[gain] = Ours(input_gain_db=gain)
    return _GAINED[gain].run(x)[0]


def run(levels: list[float], per_snr: int, snr: float, seed: int, log=print) -> dict:
    """Every method's output at every level; each method's delay is the most common cross-correlation peak of its
    outputs at REFERENCE_DBFS (a method's delay does not depend on the level; a near-silent output has no peak)."""
    mixtures = heldout_mixtures([snr], per_snr, seed)
    methods = {"rnnoise": make_method("rnnoise"), "ours": make_method("ours"), "ours auto": Ours(input_gain_db="auto")}
    outputs: dict = {}
    for level in levels:
        scale = np.float32(10 ** ((level - REFERENCE_DBFS) / 20))
        for name in (*methods, "ours+gain"):
            for noisy, *_ in mixtures:
                x = noisy.astype(np.float32) * scale
                y = _ours_with_advised_gain(x, methods["ours"]) if name == "ours+gain" else methods[name].run(x)[0]
                outputs.setdefault((name, level), []).append(y / scale)
        log(f"  {level:g} dBFS done")
    out: dict = {"snr_db": snr, "mixtures": len(mixtures), "levels": levels, "scores": {}, "lag_samples_16k": {}}
    for name in (*methods, "ours+gain"):
        lags = [lag_of(c, y) for (_, c, *_), y in zip(mixtures, outputs[(name, REFERENCE_DBFS)])]
        lag = out["lag_samples_16k"][name] = int(np.bincount(lags).argmax())
        for level in levels:
            got = [scores(c, aligned(y, lag, len(c))) for (_, c, *_), y in zip(mixtures, outputs[(name, level)])]
            mean = {k: float(np.nanmean([g[k] for g in got])) for k in ("pesq_wb", "stoi")}
            out["scores"].setdefault(name, {})[f"{level:g}"] = mean
    return out


def table(result: dict) -> str:
    ref = f"{REFERENCE_DBFS:g}"
    lines = [
        f"speech level (dBFS RMS), {result['mixtures']} held-out mixtures at {result['snr_db']:g} dB SNR; "
        f"change from the same method at {ref} dBFS in this run",
        "",
        "| level | " + " | ".join(f"{m} PESQ-WB | {m} STOI" for m in result["scores"]) + " |",
        "|---|" + "---|---|" * len(result["scores"]),
    ]
    for level in result["levels"]:
        cells = []
        for per_level in result["scores"].values():
            s, r = per_level[f"{level:g}"], per_level[ref]
            cells += [
                f"{s['pesq_wb']:.3f} ({s['pesq_wb'] - r['pesq_wb']:+.3f})",
                f"{s['stoi']:.4f} ({s['stoi'] - r['stoi']:+.4f})",
            ]
        lines.append(f"| {level:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m wavegraph.benchmarks.enhance_level", description=(__doc__ or "").split("\n\n")[0]
    )
    ap.add_argument("--levels", type=float, nargs="+", default=[-65, -55, -45, -35, -25, -15])
    ap.add_argument("--per-snr", type=int, default=16, help="held-out mixtures (two of each noise type per 16)")
    ap.add_argument("--snr", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    levels = sorted(set(args.levels) | {REFERENCE_DBFS})
    pin_one_core()
    result = run(levels, args.per_snr, args.snr, args.seed)
    print(table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
