"""Acquisition skips: the spans of a recording MNE annotates `BAD_ACQ_SKIP` (a FIF's skipped data buffers, which MNE
reads back as zeros; the fill of an EDF/BDF's last record that mne.export.export_raw writes; EGI, MEF, NSx,
Neuralynx and EyeLink files' pauses) hold no recorded data. file_source does not replay them: the samples between
skips are replayed as runs, each chunk stamped with its samples' own time in the file (so the time jumps across a
skip) and the chunk after a skip flagged `gap`, as a discontinuous EDF+D replays; what is replayed is
`raw.get_data(reject_by_annotation="omit")` when the skips are the only BAD_ annotations. A skip at the end only
shortens the replay. The skip annotations themselves are no events.
"""

from __future__ import annotations

import numpy as np

SKIP = "BAD_ACQ_SKIP"


class Skips:
    """The replayed runs of a recording's samples: run r is file samples [first[r], first[r] + length[r])."""

    def __init__(self, first: np.ndarray, length: np.ndarray):
        self.first = first.astype(np.int64)
        self.length = length.astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.length)[:-1]]).astype(np.int64)  # stream index of each run
        self.n_times = int(self.length.sum())

    @property
    def breaks(self) -> np.ndarray:
        """The stream index where each run after the first starts (the chunk there is flagged gap)."""
        return self.starts[1:]

    def file_index(self, index: int) -> int:
        r = max(int(np.searchsorted(self.starts, index, side="right")) - 1, 0)
        return int(self.first[r] + index - self.starts[r])

    def stream_index(self, file_index: np.ndarray) -> np.ndarray:
        """The stream index of each file sample; one in a skip: the next run's first (the end if none)."""
        f = np.asarray(file_index, np.int64)
        r = np.clip(np.searchsorted(self.first, f, side="right") - 1, 0, len(self.first) - 1)
        inside = f < self.first[r] + self.length[r]
        after = np.where(r + 1 < len(self.starts), self.starts[np.minimum(r + 1, len(self.starts) - 1)], self.n_times)
        return np.where(
            inside, self.starts[r] + np.maximum(f - self.first[r], 0), np.where(f < self.first[r], 0, after)
        )

    def pieces(self, start: int, stop: int) -> list[tuple[int, int]]:
        """The file spans [a, b) that hold stream samples [start, stop), in order."""
        out = []
        for r in range(max(int(np.searchsorted(self.starts, start, side="right")) - 1, 0), len(self.starts)):
            lo, hi = max(start, int(self.starts[r])), min(stop, int(self.starts[r] + self.length[r]))
            if lo >= stop:
                break
            if hi > lo:
                out.append((int(self.first[r] + lo - self.starts[r]), int(self.first[r] + hi - self.starts[r])))
        return out


def find_skips(notes: tuple, n_times: int, sfreq: float) -> tuple[Skips | None, np.ndarray]:
    """The runs between the BAD_ACQ_SKIP annotations of (onsets, durations, texts) over n_times samples (None: no
    skip), and which annotations are skips (to leave out of the events). A span is [round(onset * sfreq),
    round((onset + duration) * sfreq)), as MNE's reject_by_annotation="omit" cuts it; spans that overlap join."""
    onset, duration, text = notes
    is_skip = np.array([t == SKIP for t in text], dtype=bool)
    if not is_skip.any():
        return None, is_skip
    a = np.clip(np.round(np.asarray(onset, np.float64)[is_skip] * sfreq), 0, n_times).astype(np.int64)
    b = np.clip(
        np.round((np.asarray(onset, np.float64) + np.asarray(duration, np.float64))[is_skip] * sfreq), 0, n_times
    )
    spans = sorted((int(x), int(y)) for x, y in zip(a, b.astype(np.int64)) if y > x)
    if not spans:
        return None, is_skip
    first, length, pos = [], [], 0
    for x, y in spans:
        if x > pos:
            first.append(pos)
            length.append(x - pos)
        pos = max(pos, y)
    if pos < n_times:
        first.append(pos)
        length.append(n_times - pos)
    if not first:  # every sample skipped
        return Skips(np.zeros(1, np.int64), np.zeros(1, np.int64)), is_skip
    return Skips(np.asarray(first), np.asarray(length)), is_skip


def without_padding(notes: tuple, n_times: int, sfreq: float) -> tuple[int, tuple]:
    """(n_times, notes) without the recorder's `padding` of an EDF/BDF (the zeros filling its last record: a span
    from the end of the data to the end of the file, the last such to start). Only that one: a user's own marker
    named `padding` (a filler trial) is a marker like any other (every `padding` was dropped before)."""
    onset, duration, text = notes
    end = n_times / sfreq
    pad = [
        i
        for i, t in enumerate(text)
        if t == "padding" and duration[i] > 0 and abs(onset[i] + duration[i] - end) < 0.5 / sfreq
    ]
    if not pad:
        return n_times, notes
    last = max(pad, key=lambda i: onset[i])  # (a user's span to the end starts inside the data, before it)
    keep = np.arange(len(text)) != last
    kept = (np.asarray(onset)[keep], np.asarray(duration)[keep], [t for t, k in zip(text, keep) if k])
    return min(n_times, int(round(onset[last] * sfreq))), kept
