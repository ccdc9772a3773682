"""Paired differences between two methods of one `wavegraph bench enhance` run: is a cell won or lost by more
than the mixtures' spread?

The bench's cells are means over a few mixtures (40 per SNR by default, 5 of each noise type; 8 before session
26), and both methods enhance the same mixtures, so the comparison is paired: per SNR and metric, the per-mixture differences
d_i = a_i - b_i, their mean, a 95 % Student-t interval for it (mean +- t(0.975, n-1) * sd / sqrt(n)), and how many
mixtures `a` wins. An interval that holds 0 says that this many mixtures do not tell the two methods apart at that
SNR; it is no claim that they are equal. Mixtures a metric cannot score for either method are left out (their n
says so).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

METRICS = ("pesq_wb", "stoi", "si_sdr")


def paired(result: dict, a: str = "ours", b: str = "rnnoise", by: str = "snr") -> list[dict]:
    """One record per SNR (`by` "snr"), or per noise type or speaker over every SNR (`by` "noise", "speaker": a key
    every mixture has), and metric: {a, b, the key, metric, n, mean, ci_low, ci_high, wins}. [] when either method is
    not in the run."""
    if a not in result["methods"] or b not in result["methods"]:
        return []
    out = []
    for key in sorted({e[by] for e in result["mixtures"]}):
        rows = [e["scores"] for e in result["mixtures"] if e[by] == key]
        for metric in METRICS:
            d = np.array([r[a][metric] - r[b][metric] for r in rows], dtype=np.float64)
            d = d[np.isfinite(d)]
            mean, low, high = _interval(d)
            out.append(
                {
                    "a": a,
                    "b": b,
                    by: key,
                    "metric": metric,
                    "n": int(d.size),
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "wins": int((d > 0).sum()),
                }
            )
    return out


def _interval(d: np.ndarray) -> tuple[float, float, float]:
    """(mean, 95 % t-interval low, high); NaN where too few differences (none, or one: no spread)."""
    if d.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(d.mean())
    if d.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return mean, mean - half, mean + half


def verdict(rec: dict) -> str:
    """'ahead' / 'behind' when the interval excludes 0, else 'not resolved'."""
    if not math.isfinite(rec["ci_low"]):
        return "not resolved"
    if rec["ci_low"] > 0:
        return "ahead"
    if rec["ci_high"] < 0:
        return "behind"
    return "not resolved"


def lines(records: list[dict], labels: dict[str, str]) -> list[str]:
    """Text for the run's output: one line per SNR (or noise type, or speaker), PESQ-WB and STOI."""
    if not records:
        return []
    a, b = records[0]["a"], records[0]["b"]
    by = next(k for k in ("snr", "noise", "speaker") if k in records[0])
    per = {"snr": "SNR", "noise": "noise type, over every SNR", "speaker": "speaker, over every SNR"}[by]
    out = [f"paired, {labels[a]} - {labels[b]} per {per} (mean [95 % t-interval], mixtures won of n):"]
    fmt = {"pesq_wb": "+.3f", "stoi": "+.4f"}
    for key in sorted({r[by] for r in records}):
        parts = []
        for r in records:
            if r[by] != key or r["metric"] not in fmt:
                continue
            f = fmt[r["metric"]]
            span = f"[{r['ci_low']:{f}}, {r['ci_high']:{f}}]" if math.isfinite(r["ci_low"]) else "[no interval]"
            name = "PESQ-WB" if r["metric"] == "pesq_wb" else "STOI"
            mean = f"{r['mean']:{f}}" if math.isfinite(r["mean"]) else "-"
            parts.append(f"{name} {mean} {span} {r['wins']}/{r['n']} {verdict(r)}")
        out.append((f"  {key:g} dB: " if by == "snr" else f"  {key}: ") + "; ".join(parts))
    return out
