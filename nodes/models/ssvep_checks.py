"""FBCCA's sub-bands against the stream's rate and the stimulus frequencies, checked when ssvep_decoder and
ssvep_trial_decoder configure: each error names what cannot work and the fix that does. Also ssvep_decoder's saved
filter state, checked when it is loaded.

Sub-band n (n = 1..n_bands) is [8n - 2, top] Hz, top = min(90, 0.45 x rate) (models.ssvep.fbcca_bands)."""

from __future__ import annotations

import math

import numpy as np
from wavegraph.pipeline.spec import SpecError

from .ssvep_flat import Moved


def top_edge(rate: float) -> float:
    return min(90.0, 0.45 * rate)


def check_cca_window(name: str, method: str, size: int, n_channels: int, rate: float) -> None:
    """FBCCA on a window of no more samples than channels + 1: the centred channels then span every centred signal of
    the window, so every reference correlates 1 with them, every frequency scores the same and each window was decided
    as the first of `freqs`, unsaid (64 channels of the ssvepy recording in 0.2 s windows: 2,496 decisions "10" of
    [10, 6, 7.5]; in 2 s windows nearly all 6 Hz). models.ssvep.FBCCA.scores refuses such a window too."""
    if method != "fbcca" or size > n_channels + 1:
        return
    raise SpecError(
        f"{name} window of {size} samples ({size / rate:g} s at {rate:g} Hz) for {n_channels} channels: CCA of as many "
        "channels as samples correlates 1 with every reference, so every frequency would score the same (each window "
        "decided as the first of `freqs`)",
        f"use a window of well over {n_channels + 1} samples ({(n_channels + 2) / rate:.3g} s; 1 s or so), or fewer "
        "`channels` (the occipital ones)",
        param="window",
    )


def check_bands(rate: float, n_bands: int) -> None:
    """Too many sub-bands: the last ones would start at or above the top edge. The fix was always 'or resample to a
    higher rate', which cannot help once the top is FBCCA's 90 Hz."""
    hi = top_edge(rate)
    most = min(n_bands, max(0, math.ceil((hi - 6.0) / 8.0)))  # the n in range(n_bands) with 6 + 8n < hi (n_bands 1e30:
    # counting them one by one hung validate)
    if most >= n_bands:
        return
    low = 6.0 + 8.0 * most
    capped = hi >= 90.0
    raise SpecError(
        f"n_bands {n_bands}: sub-band {most + 1} would start at {low:g} Hz, not below the sub-bands' top edge {hi:g} Hz "
        + ("(FBCCA's)" if capped else f"(0.45 x the rate, {rate:g} Hz)"),
        f"set n_bands to {most} or fewer"
        + (
            ""
            if capped or low >= 90.0
            else f", or resample the stream to {math.floor(low / 0.45) + 1} Hz or more first"
        ),
    )


def check_freqs(freqs, rate: float) -> None:
    """Stimulus frequencies at or above the sub-bands' top edge: their SSVEP is filtered out, never chosen."""
    hi = top_edge(rate)
    if above := [f for f in freqs if f >= hi]:
        need = math.floor(max(above) / 0.45) + 1
        raise SpecError(
            f"stimulus frequencies {', '.join(f'{f:g}' for f in above)} Hz are not below the decoder's sub-bands, "
            f"which end at {hi:g} Hz ({'FBCCA' if hi >= 90 else f'0.45 x the rate, {rate:g} Hz'}): their "
            "SSVEP is filtered out before FBCCA scores it, so they would never be chosen",
            f"drop them from `freqs`, or resample the stream to {need} Hz or more before the decoder "
            f"(a `resample` node, rate: {need}; the content below {rate / 2:g} Hz is kept)"
            if max(above) < 90
            else "drop them from `freqs` (FBCCA's sub-bands end at 90 Hz)",
        )


def saved_filter_state(state: dict, want: tuple[int, ...], size: int) -> tuple[np.ndarray, np.ndarray, Moved]:
    """(zi, buf, moved) of a saved ssvep_decoder state, new, or a ValueError: zi of shape `want` (bands, sections,
    channels, 2), finite, buf (bands, channels, n) with n under a window of `size` samples, and one 'moved' flag per
    buffered sample (Moved.load). One reshaped was taken as it came; a NaN zi (no decision from there on) or a buf of a
    window or more (onsets shifted) was taken, unsaid. A NaN in buf is a stream's own (nan_policy propagate, a filter
    overflow)."""
    zi, buf = np.array(state["zi"], dtype=np.float64), np.array(state["buf"], dtype=np.float64)
    if zi.shape != want or buf.ndim != 3 or buf.shape[:2] != want[:1] + want[2:3]:
        raise ValueError(
            f"ssvep_decoder state has zi {zi.shape} and buf {buf.shape}, this node's are {want} and "
            f"{(want[0], want[2], 'n')}: saved by a decoder of other bands or channels; load one saved by this one"
        )
    moved = Moved()
    moved.load(state, buf.shape[-1], buf.shape[1])
    if buf.shape[2] >= size or not np.isfinite(zi).all():
        raise ValueError(
            f"ssvep_decoder state has a buf of {buf.shape[2]} samples (a stream keeps under a window, {size}) or "
            "NaN/inf in zi: a damaged state; load one as state_dict() saved it"
        )
    return zi, buf, moved
