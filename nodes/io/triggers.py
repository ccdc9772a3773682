"""file_source's events from a trigger channel (mne.find_events), for a recording without annotations."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError

_log = logging.getLogger("wavegraph.file_source")

_MNE_TRIGGERS = ("STI101", "STI 014", "STI014")  # mne.find_events' default trigger channels, in its order


def default_trigger(ch_names: list[str], ch_types: list[str], path: Path | None) -> str | None:
    """The trigger channel mne.find_events(raw) would read (its default names, else the one channel typed
    stim), for a recording without annotations; None when there is none, or several to choose from."""
    stim = [n for n, t in zip(ch_names, ch_types) if t == "stim"]
    chosen = next((n for n in _MNE_TRIGGERS if n in stim), stim[0] if len(stim) == 1 else None)
    if chosen is None and stim:
        _log.warning(
            "file_source: %s has no annotations and %d trigger channels (%s): no events unless stim_channel names one",
            path or "the recording",
            len(stim),
            ", ".join(stim),
        )
    return chosen


def trigger_events(raw, name: str, auto: bool, path: Path | None) -> np.ndarray:
    """mne.find_events rows (sample, previous, code) of trigger channel `name`. `auto` (the channel was not
    asked for): a channel that holds no codes gives no events and a warning instead of a SpecError."""
    import mne

    try:
        found = mne.find_events(raw, stim_channel=name, shortest_event=1, initial_event=True, verbose="error")
        if not len(found):
            check_trigger_codes(raw, name)
    except Exception as e:  # noqa: BLE001 — mne raises several types for a channel that holds no triggers
        if not auto:
            raise
        _log.warning("file_source: %s: trigger channel %r gives no events: %s", path or "the recording", name, e)
        return np.zeros((0, 3), dtype=np.int64)
    if auto and len(found):
        _log.info("file_source: %s has no annotations; its events come from trigger channel %r", path, name)
    return found


def check_trigger_codes(raw, name: str) -> None:
    """A trigger channel without events whose values vary below 1 (a pulse recorded as a voltage, e.g. an EDF
    channel in uV read in V): mne.find_events reads every value as code 0, so its steps would vanish unsaid."""
    x = np.asarray(raw.get_data(picks=[name])[0])
    x = x[np.isfinite(x)]
    if x.size and x.max() > x.min() and max(abs(x.min()), abs(x.max())) < 1:
        raise SpecError(
            f"file_source: stim channel {name!r} holds no integer codes: its values span {x.min():.4g} to "
            f"{x.max():.4g} (a pulse recorded as a voltage?), which mne.find_events reads as code 0 (no event)",
            "give a trigger channel of integer codes (0 between events), or turn this one into codes first, e.g. "
            "raw.apply_function(lambda v: (v > THRESHOLD) * 1.0, picks=[NAME]) and replay it with array_source",
        )
