"""Shared helpers of the memory tests (test_long_session_session21, test_review2_session21): what a node copies per
chunk, and what it keeps after a call, measured with tracemalloc."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def chunks_copying(step: Callable[[int], object], starts: Iterable[int], held_bytes: int) -> int:
    """How many calls `step(i)` (one small chunk each, i in `starts`) allocated at their peak more than a quarter of
    the `held_bytes` the node holds: a copy of what is held, per chunk."""
    big = 0
    tracemalloc.start()
    try:
        for i in starts:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            step(i)
            big += tracemalloc.get_traced_memory()[1] - before > held_bytes / 4
    finally:
        tracemalloc.stop()
    return big


def kept_after(run: Callable[[], T]) -> tuple[T, int]:
    """`run()`'s result, and the bytes allocated while it ran that are still held once it returned (garbage
    collected; the result's own bytes included)."""
    tracemalloc.start()
    try:
        result = run()
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return result, kept
