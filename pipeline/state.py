"""Declared node state: a dataclass of arrays and numbers from which reset/state_dict/load_state_dict follow.

A stateful node returns its fresh-stream state from `new_state()`, for example::

    @dataclass
    class State:
        zi: np.ndarray          # filter memory, fixed shape
        hist: np.ndarray        # a buffer: created with length 0 along the axis it grows on
        t_first: float | None = None
        n_in: int = 0

`state_to_dict` turns such an instance into a plain dict of copies (arrays copied, so that later processing
cannot change a saved state). `state_from_dict` checks a dict against a fresh instance (the template) and
builds a new state from it, with an error that names the field on any mismatch:

* the keys must be exactly the dataclass fields;
* an array field is cast to the template's dtype (a cast that would lose the kind, such as complex to
  float, is refused) and must have its number of dimensions and its shape, except along the axes that are
  empty in the template (a buffer's growing axis);
* a bool, int or float field takes a number of that kind (an int field refuses 2.5);
* a field that is None in the template (a number not known yet, such as a stream's start time) takes
  None or a real number.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np


def state_to_dict(state: Any) -> dict[str, Any]:
    """{field: value} with arrays copied; {} for None (a stateless node)."""
    if state is None:
        return {}
    return {f.name: _copy(getattr(state, f.name)) for f in dataclasses.fields(state)}


def state_from_dict(template: Any, saved: dict[str, Any], owner: str) -> Any:
    """A new state shaped like `template` (a fresh state) holding the values of `saved`."""
    if template is None:
        if saved:
            raise KeyError(f"{owner} has no state, got keys {sorted(saved)}")
        return None
    names = [f.name for f in dataclasses.fields(template)]
    missing, extra = [n for n in names if n not in saved], sorted(set(saved) - set(names))
    if missing or extra:
        raise KeyError(
            f"{owner} state keys do not match: missing {missing}, unexpected {extra}; expected exactly {names}"
        )
    values = {n: _convert(getattr(template, n), saved[n], f"{owner} state '{n}'") for n in names}
    return dataclasses.replace(template, **values)


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def _convert(like: Any, value: Any, what: str) -> Any:
    if isinstance(like, np.ndarray):
        if value is None:
            raise ValueError(f"{what} must be an array {like.dtype}{_shape(like)}, got None")
        a = np.asarray(value)
        if not np.can_cast(a.dtype, like.dtype, "same_kind"):
            raise ValueError(f"{what} has dtype {a.dtype}, expected {like.dtype}")
        fixed = all(s == w or w == 0 for s, w in zip(a.shape, like.shape))
        if a.ndim != like.ndim or not fixed:
            raise ValueError(f"{what} has shape {a.shape}, expected {_shape(like)} (as configured)")
        return np.array(a, dtype=like.dtype)  # a copy: the node may modify its state in place
    if like is None:
        if value is None:
            return None
        like = 0.0
    kind = bool if isinstance(like, (bool, np.bool_)) else int if isinstance(like, numbers.Integral) else float
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    ok = isinstance(value, (numbers.Real, np.bool_))
    if ok and kind is bool:
        ok = value in (0, 1)
    elif ok and kind is int:
        ok = float(value).is_integer()
    if not ok:
        raise ValueError(f"{what} must be {kind.__name__}, got {value!r}")
    return kind(value)


def _shape(like: np.ndarray) -> str:
    """The template's shape with its free (empty) axes written as 'n'."""
    return "(" + ", ".join("n" if s == 0 else str(s) for s in like.shape) + ("," if like.ndim == 1 else "") + ")"
