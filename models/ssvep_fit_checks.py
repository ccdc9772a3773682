"""The training data `ssvep_dnn.fit` (and so `fine_tune`) takes, checked before the first step (numpy only).

Unchecked, a NaN window made the loss NaN and every weight NaN without a word (`save` then said 'a training run
that diverged?'), a label of 0.5 was taken as 0, a label past the classes or a y of another length was an
IndexError from torch, and no windows or batch=0 a ZeroDivisionError.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_training_data"]


def check_training_data(n_classes: int, x, y, batch: int, epochs: int) -> None:
    """ValueError naming what is wrong with windows x (n, ...) and labels y (n,) in 0..n_classes-1, or batch.
    Nothing to check for epochs <= 0 (nothing is trained: fine_tune(..., 0) to start a new head)."""
    if epochs <= 0:
        return
    x, y = np.asarray(x), np.asarray(y)
    if batch < 1:
        raise ValueError(f"fit: batch must be >= 1 windows per optimiser step, got {batch}")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"fit: no training windows (x has shape {x.shape}); give (n, bands, channels, samples)")
    if y.shape != (len(x),):
        raise ValueError(f"fit: y must be one label per window, shape ({len(x)},), got shape {y.shape}")
    if y.dtype.kind not in "iuf" or not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        raise ValueError(f"fit: labels must be class indices (whole numbers), got {y[:8].tolist()}...")
    if y.min() < 0 or y.max() >= n_classes:
        bad = y[(y < 0) | (y >= n_classes)][0]
        raise ValueError(
            f"fit: label {bad:g} is not a class of this model: its {n_classes} freqs are 0..{n_classes - 1}"
        )
    finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"fit: {len(bad)} windows hold NaN or infinite samples (the first: window {bad[0]}): the loss and every "
            "weight would be NaN; drop those windows (x[mask], y[mask]) or replace the samples"
        )
