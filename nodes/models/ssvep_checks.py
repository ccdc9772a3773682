"""FBCCA's sub-bands against the stream's rate and the stimulus frequencies, checked when ssvep_decoder and
ssvep_trial_decoder configure: each error names what cannot work and the fix that does.

Sub-band n (n = 1..n_bands) is [8n - 2, top] Hz, top = min(90, 0.45 x rate) (models.ssvep.fbcca_bands)."""

from __future__ import annotations

import math

from wavegraph.pipeline.spec import SpecError


def top_edge(rate: float) -> float:
    return min(90.0, 0.45 * rate)


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
