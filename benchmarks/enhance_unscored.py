"""Scores that `wavegraph bench enhance` (benchmarks/enhance.py) could not take, said rather than averaged unseen.

PESQ-WB raises on a mixture whose reference it finds no speech in (pesq's 'No utterances detected': a tone, music,
a whisper under its level detector); the score is then NaN. A mean over the scored mixtures alone is a figure of
fewer mixtures than its neighbours, and a mean of none was printed as 'nan' after numpy's 'Mean of empty slice'
warning, and written to --json as NaN (which is not JSON). Here: the mean of the finite values (NaN for none,
without a warning), a table cell that says it ('2.31*' over fewer mixtures, '-' over none) with a footnote, and the
result made JSON (non-finite numbers as null)."""

from __future__ import annotations

import math

import numpy as np

PARTIAL, NONE = "*", "-"
FOOTNOTE = (
    f"{PARTIAL} a mean over fewer mixtures than the others, {NONE} over none: the rest could not be scored (each is "
    "named above with why); give speech recordings (PESQ needs speech it detects)"
)


def mean_of(values) -> tuple[float, int, int]:
    """(mean of the finite values or NaN, how many were finite, how many there were)."""
    vals = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(vals)
    return (float(vals[ok].mean()) if ok.any() else math.nan), int(ok.sum()), int(vals.size)


def cell(value: float, n: int | None, of: int | None, spec: str) -> str:
    """`value` formatted; with PARTIAL when over fewer mixtures than `of`, NONE when over none."""
    if n == 0 or not math.isfinite(value):
        return NONE
    return f"{value:{spec}}" + (PARTIAL if n is not None and of is not None and n < of else "")


def cell_at(val: dict, count: dict, key: tuple, spec: str) -> str:
    """The cell of `key` (method, snr or noise, metric) of a table's values `val` and counts `count` (counts())."""
    n, of = count.get(key, (None, None))
    return cell(val[key], n, of, spec)


def counts(result: dict) -> dict:
    """(method, snr or noise, metric) -> (n, of) of the records of `result`."""
    return {
        (r["method"], r.get("noise") or r["snr"], r["metric"]): (r.get("n"), r.get("of"))
        for r in result["records"]
        if "of" in r
    }


def json_safe(obj):
    """`obj` with every non-finite float as None (json.dumps wrote NaN, which JSON readers refuse)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
