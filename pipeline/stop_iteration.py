"""The fix for a node whose code let a StopIteration out: `next(it)` on an iterator that had run out. Raised inside a
generator (a comprehension's `(... for ...)`, a `yield` helper) Python turns it into `RuntimeError: generator raised
StopIteration` (PEP 479), which named nothing; raised by a source's read() it is not an end (read() returns None)."""

from __future__ import annotations


def _stop_iteration(error: BaseException | None) -> bool:
    """Whether `error` is a StopIteration, or the RuntimeError a generator made of one (its __cause__)."""
    if isinstance(error, (StopIteration, StopAsyncIteration)):
        return True
    return isinstance(error, RuntimeError) and isinstance(error.__cause__, (StopIteration, StopAsyncIteration))


def stop_iteration_fix(error: BaseException | None, method: str = "") -> str:
    """The fix line for such an error ('' for any other): what happened and what to write instead."""
    if not _stop_iteration(error):
        return ""
    said = "next() on an iterator that had run out let a StopIteration out"
    if isinstance(error, RuntimeError):
        said += " of a generator (Python then raises 'RuntimeError: generator raised StopIteration')"
    if method == "read":
        return (
            f"{said}: a source ends by returning None from read(), not by raising StopIteration; "
            "write next(it, None) and return None when it gives None"
        )
    return f"{said}: write next(it, None) (or catch StopIteration) and handle the end of the iterator"
