"""argparse types the training and benchmark commands share; no torch import (a bench that needs none stays quick)."""

from __future__ import annotations

import argparse
import os

__all__ = [
    "MAX_THREADS",
    "SNR_LIMIT_DB",
    "cpu_threads",
    "finite",
    "given_path",
    "oversubscribed",
    "positive",
    "snr_db",
    "whole",
    "usable_cpus",
]


def positive(kind):
    """An argparse type: a finite number above 0 (`--batch 0` failed after the 20 s of data preparation with
    numpy's 'need at least one array to stack' traceback)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        if not (0 < value < float("inf")):
            raise argparse.ArgumentTypeError(f"must be above 0, got {text!r}")
        return value

    return parse


def given_path(text: str):
    """An argparse type: a path that is not '' (`--init "$W"` with W unset was Path('.'): a ValueError traceback;
    `--out ''` was said as `--out .: it is a folder`, a name the user never typed)."""
    from pathlib import Path

    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (a shell variable that was unset or empty expands to nothing)")
    return Path(text)


def whole(least: int):
    """An argparse type: a whole number >= `least` (`bench bci --subjects 0` was a ZeroDivisionError traceback)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be {least} or more, got {text!r}")
        return value

    return parse


MAX_THREADS = 1024  # torch threads past which a count is a typo, whatever the machine (each is an OS thread)
# the trainers' --threads: a seeded training is reproducible at its thread count (measured: train tokenizer and ssvep
# wrote other weights at --threads 2 than at 1, the same at 1 run after run, whatever PYTHONHASHSEED)
THREADS_HELP = (
    "torch threads (default 1); the same seed and count give the same weights, byte for byte, another count may not "
    "(torch splits its sums among threads)"
)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the OS says it), else the machine's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_threads(text: str) -> int:
    """An argparse type: torch threads, as torch.set_num_threads takes them: any count above 0 (more than the CPUs
    here only takes turns, as torch runs it: a count meant for another machine, or a container whose CPU quota its
    affinity does not show, runs; `oversubscribed` says it), up to MAX_THREADS or the CPUs if more (`--threads
    100000`: an OS thread each, a typo)."""
    value = positive(int)(text)  # ('must be above 0', as before)
    most = max(MAX_THREADS, usable_cpus())
    if value > most:
        raise argparse.ArgumentTypeError(
            f"{text!r} threads: more than any count torch can use here (an OS thread each; this machine has "
            f"{usable_cpus()} CPUs); give 1..{most}"
        )
    return value


def oversubscribed(flag: str, threads: int) -> str | None:
    """The line to say when `threads` are more than the CPUs this process may run on (they take turns), else None."""
    cpus = usable_cpus()
    if threads <= cpus:
        return None
    return (
        f"note: {flag} {threads} is more than the {cpus} CPUs this process may run on here: torch runs them, taking "
        f"turns (slower than {flag} {cpus} here)"
    )


def finite(text: str) -> float:
    """An argparse type: a finite number (`--snrs nan` ran a benchmark of NaN mixtures)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


SNR_LIMIT_DB = 100.0  # beyond, the quieter of speech and noise is under float32's resolution of the other, and
# 10 ** (snr / 10) overflows (or is 0) past about 3000 dB: `bench enhance --snrs 1e6` was an OverflowError traceback


def snr_db(text: str) -> float:
    """An argparse type: a signal-to-noise ratio in dB, finite and within +-SNR_LIMIT_DB."""
    value = finite(text)
    if abs(value) > SNR_LIMIT_DB:
        raise argparse.ArgumentTypeError(
            f"an SNR in dB from {-SNR_LIMIT_DB:g} to {SNR_LIMIT_DB:g}, got {text!r} (beyond, one of speech and noise "
            "is below float32's resolution of the other; speech benchmarks use -5 to 20 dB)"
        )
    return value
