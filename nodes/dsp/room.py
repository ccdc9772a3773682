"""Room kept after a stream buffer's held samples, so that appending a chunk costs the chunk, not what is held.

A buffer that keeps the newest samples of a stream (epochs' and join's TimedBuffer, the framing nodes' samples not yet
in a frame) appended each chunk with a concatenate of all it held: the cost of a chunk grew with what was held, and a
long window of many channels in small chunks fell behind real time for as long as the session lasted (epochs of 256
channels at 2048 Hz: 0.75x). `Room` writes the chunk after the held samples in an array with room to spare; when the
held samples are not at its end (a fresh or loaded state: another array) or it is full, they move to a new one with
`spare` more, so each held sample is copied a bounded number of times. Nothing is ever written where a view it handed
out can see (only after the last sample it handed out), so chunks emitted as views of it stay as they were.
"""

from __future__ import annotations

import numpy as np


def view_end(held: np.ndarray, array: np.ndarray) -> int | None:
    """Where, along its last axis, the view `held` of `array` ends (held is array[..., a:end]); None when it is no such
    view."""
    if held.base is not array or held.shape[:-1] != array.shape[:-1] or held.strides != array.strides:
        return None
    step = array.strides[-1]
    offset = held.__array_interface__["data"][0] - array.__array_interface__["data"][0]
    if step <= 0 or offset % step or not 0 <= offset // step <= array.shape[-1]:
        return None
    return offset // step + held.shape[-1]


class Room:
    """The array one buffer's samples are appended into (time on the last axis)."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None
        self.fill = 0  # the end of what was written (and handed out) in `array`

    def append(self, held: np.ndarray, new: np.ndarray, spare: int) -> np.ndarray:
        """held + new along the last axis (new cast to held's dtype), a view of the room. `spare`: the room a new array
        gets beyond them (at least what is held keeps the copies amortised)."""
        a, n = self.array, new.shape[-1]
        if a is not None and self.fill + n <= a.shape[-1] and view_end(held, a) == self.fill:
            a[..., self.fill : self.fill + n] = new
            self.fill += n
            return a[..., self.fill - n - held.shape[-1] : self.fill]
        size = held.shape[-1] + n
        a = self.array = np.empty((*held.shape[:-1], size + max(spare, 0)), dtype=held.dtype)
        a[..., : held.shape[-1]] = held
        a[..., held.shape[-1] : size] = new
        self.fill = size
        return a[..., :size]

    def shrink(self, held: np.ndarray, spare: int) -> np.ndarray:
        """`held` (the view `append` handed out, or its end), moved to a new array of `spare` more when the room is over
        four times that: a big chunk (a whole recording in one call) is not kept behind the few samples held. An stft
        given 256 MB in one call kept a copy of it (its 0 samples held were a view of it) until as many samples again
        came, where it kept none before. A move copies only what is held, and follows only a chunk that large."""
        a, m = self.array, held.shape[-1]
        if a is None or held.base is not a or a.shape[-1] <= 4 * (m + max(spare, 0)):
            return held  # (not view_end: numpy puts an empty view's data at its base's start, wherever it was cut)
        a = self.array = np.empty((*held.shape[:-1], m + max(spare, 0)), dtype=held.dtype)
        a[..., :m] = held
        self.fill = m
        return a[..., :m]
