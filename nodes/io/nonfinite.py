"""NaN or inf samples in a recording file_source replays (FIF, EDF/GDF, NPZ, CSV, XDF, epochs): said once, as the
audio reader says a float WAV's (they went out without a word, and a filter downstream zeroed them, counted only)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

_log = logging.getLogger("wavegraph.file_source")


def nonfinite_in(
    block: np.ndarray, start: int, names, path: Path | str, sfreq: float, what: str = "file_source", say: bool = True
) -> int:
    """How many samples of `block` (channels, samples: samples start.. of the file) are NaN or inf; with `say`, a
    warning naming the file, how many, on which channels, where the first is, and what the nodes downstream do."""
    bad = ~np.isfinite(block)
    n = int(np.count_nonzero(bad))
    if not n or not say:
        return n
    channels = [str(names[c]) for c in np.flatnonzero(bad.any(axis=1))]
    first = start + int(np.flatnonzero(bad.any(axis=0))[0])
    _log.warning(
        "%s: %s holds %d NaN or inf samples on %d channel(s) (%s) in samples %d..%d, the first at sample %d (%.6g s): "
        "a lead off, an amplifier overrange, or a missing value written as NaN?; they go out as they are, and the "
        "nodes downstream treat them by their nan_policy (default: replaced by 0, counted nan_zeroed); the source "
        "counts them nonfinite",
        what,
        path,
        n,
        len(channels),
        ", ".join(channels[:10]) + (f", ... ({len(channels) - 10} more)" if len(channels) > 10 else ""),
        start,
        start + block.shape[1],
        first,
        first / sfreq,
    )
    return n
