"""The recorder's suggestion of a free run name when its target exists (nodes/io/recorder.py)."""

from __future__ import annotations

import re
from pathlib import Path

from .record_formats import FIF_ENDINGS


def next_run_name(path: Path) -> Path:
    """The first free numbered run name: out/default_raw.fif -> out/default_run-02_raw.fif (-03, ...). A name with a
    run entity anywhere (BIDS: sub-01_task-rest_run-01_eeg.edf) gets the next number there, not a second run entity
    (it was sub-01_task-rest_run-01_eeg_run-02.edf)."""
    lower = path.name.lower()
    ending = next((e for e in FIF_ENDINGS if lower.endswith(e)), None)
    if ending:
        cut = len(path.name) - len(ending)
        cut -= path.name[cut - 1 : cut] in ("_", "-")
    else:
        cut = len(path.name) - len(path.suffix)
    stem, suffix = path.name[:cut], path.name[cut:]
    runs = list(re.finditer(r"_run-(\d+)(?=_|$)", stem))
    if runs:  # the last run entity: its number goes up, what follows it stays
        m = runs[-1]
        base, k, rest = stem[: m.start()], int(m.group(1)) + 1, stem[m.end() :]
    else:
        base, k, rest = stem, 2, ""
    while True:
        candidate = path.with_name(f"{base}_run-{k:02d}{rest}{suffix}")
        leftovers = (candidate.with_name(candidate.name + end) for end in (".spill", ".events.csv"))
        if not any(p.exists() for p in (candidate, *leftovers)):  # (a run's log alone: the recorder refuses it too)
            return candidate
        k += 1
