"""argparse types the training and benchmark commands share; no torch import (a bench that needs none stays quick)."""

from __future__ import annotations

import argparse
import os

__all__ = ["SNR_LIMIT_DB", "cpu_threads", "finite", "positive", "snr_db", "whole"]


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


def cpu_threads(text: str) -> int:
    """An argparse type: torch threads, 1 to this machine's CPUs (those this process may run on): `train enhancer
    --threads 1000` was handed to torch, which oversubscribed the CPUs it has."""
    value = positive(int)(text)  # ('must be above 0', as before)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if value > cpus:
        raise argparse.ArgumentTypeError(
            f"{text!r} is more than this machine's {cpus} CPUs (threads beyond them only take turns); give 1..{cpus}"
        )
    return value


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
