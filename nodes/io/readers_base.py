"""What every file reader behind `file_source` shares (nodes/io/readers.py picks one): the `_Reader` interface, its empty
event table, MNE's channel types as a stream's, and how much of a truncated file can be read."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
from wavegraph.pipeline.spec import CHANNEL_TYPES

Dtype = Literal["float64", "float32"]

_log = logging.getLogger("wavegraph.file_source")


def spec_channel_type(mne_type: str) -> str:
    """MNE channel type -> a StreamSpec channel type (fNIRS variants -> 'fnirs', unknown -> 'misc')."""
    if mne_type in CHANNEL_TYPES:
        return mne_type
    if mne_type.startswith("fnirs") or mne_type in ("hbo", "hbr"):
        return "fnirs"
    return "misc"


class _Reader:
    """Common interface of the three back ends. All indices are stream samples."""

    sfreq: float
    n_times: int
    ch_names: list[str]
    ch_types: list[str]
    units: str
    events: np.ndarray  # (n, 4): sample index, onset s, duration s, code
    labels: tuple[tuple[int, str], ...] = ()
    segment: int = 0  # > 0: samples per epoch; chunks do not straddle segments, segments start with a gap
    breaks: np.ndarray = np.zeros(0, dtype=np.int64)  # sorted first samples of later segments (same rules)
    meas_date: str | None = None  # the recording's start (ISO 8601, UTC), when the file says
    first_time: float = 0.0  # seconds from meas_date to the first sample (MNE's first_samp / sfreq)
    bads: tuple[str, ...] = ()  # channels the file marks bad (MNE's info['bads'])
    passband: tuple[float, float | None] = (0.0, None)  # MNE's info['highpass'] / ['lowpass'] (None: the Nyquist)
    band: float | None = None  # StreamSpec.band: the Nyquist of a lower rate it came through (a recorder's NPZ)

    def time_of(self, index: int) -> float:
        """Stream time of sample `index` (t0 of a chunk that starts there)."""
        return index / self.sfreq

    def get(self, picks: list[int], start: int, stop: int) -> np.ndarray:  # (len(picks), stop - start)
        raise NotImplementedError

    def close(self) -> None:
        pass


def _no_events() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.float64)


def _readable(n: int, read_last, path: Path, what: str, lister: str = "MNE") -> int:
    """The largest k <= n for which read_last(k) (reading item k - 1) does not raise (bisection); read_last(1)'s error
    where not even the first item reads."""

    def reads(k: int) -> bool:
        try:
            read_last(k)
            return True
        except Exception:  # noqa: BLE001 — mne raises ValueError, OSError, ... for a torn buffer
            return False

    if n == 0:
        return n
    # not even the first: the reader's own error, which open_reader says with the file and the fix (a header field
    # damaged, a file cut inside its first block or frame); was 'truncated: ... 0 can be read' and an empty replay
    read_last(1)
    if reads(n):
        return n
    good, bad = 1, n
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if reads(mid) else (good, mid)
    _log.warning(
        "file_source: %s is truncated: %s lists %d %s, %d can be read; replaying those", path, lister, n, what, good
    )
    return good
