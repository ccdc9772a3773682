"""argparse types the training and benchmark commands share; no torch import (a bench that needs none stays quick)."""

from __future__ import annotations

import argparse

__all__ = ["positive"]


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
