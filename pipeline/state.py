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
  None or a real number;
* fields declared with `field(metadata=rows("name"))` (the arrays of one buffer: samples and their times) must hold as many
  rows, along their free axis, as each other; `count()` fields (samples received, emitted) are at least 0;
  `field(metadata=at_most(k))` arrays hold at most k along their free axis. A hand-edited or mixed-up state of mismatched lengths
  was taken and failed at a later chunk inside numpy ("index 600 is out of bounds", "strides is incompatible");
* `field(metadata=finite())` arrays (a filter's memory, which the NaN policy keeps clean) hold no NaN or inf, nor
  does any array of a node of nan_policy zero: a NaN zi was taken, and the filter's next outputs were zeroed as an
  `overflow`; a NaN in a sliding_window's held samples came out in its frames, which `zero` promises never (but
  `field(metadata=may_overflow())` arrays, sums that a finite input can overflow: running_zscore's);
* an int field holds an int64 (a whole 1e300 was taken, and failed at a later chunk: "int too large to convert").
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

INT64 = (-(2**63), 2**63 - 1)  # an int field's range: a count or an index that numpy takes


def state_to_dict(state: Any) -> dict[str, Any]:
    """{field: value} with arrays copied; {} for None (a stateless node)."""
    if state is None:
        return {}
    out = {f.name: _copy(getattr(state, f.name)) for f in dataclasses.fields(state)}
    for name, value in out.items():
        _check_kind(value, f"{type(state).__qualname__} field '{name}'")
    return out


def _check_kind(value: Any, what: str) -> None:
    """TypeError unless `value` is what a state field holds: a numpy array, a number or None. A list (a buffer kept
    as a Python list, a notebook's habit) went into state_dict() uncopied, so the saved state changed with the
    node's next chunks, and loading it said "state 'buf' must be float, got [...]"."""
    if value is None or isinstance(value, (np.ndarray, numbers.Real, np.bool_)):
        return
    raise TypeError(
        f"{what} is a {type(value).__name__}: a declared state holds numpy arrays, numbers or None (pipeline/state.py); "
        "fix: keep it as a numpy array (a growing buffer: np.zeros((channels, 0)), then np.concatenate)"
    )


def state_from_dict(template: Any, saved: dict[str, Any], owner: str, clean: bool = False) -> Any:
    """A new state shaped like `template` (a fresh state) holding the values of `saved`; `clean` (a node of
    nan_policy zero, which zeroes non-finite input before its state sees it): every array is finite, as finite()'s."""
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
    _check_together(template, values, owner, clean)
    return dataclasses.replace(template, **values)


def rows(group: str) -> dict[str, Any]:
    """Field metadata, `field(metadata=rows("in"))`: an array whose length along its free axis equals that of the
    other fields of `group`."""
    return {"rows": group}


def count(default: int = 0) -> Any:
    """A dataclass field: a count (samples received or emitted), at least 0."""
    return dataclasses.field(default=default, metadata={"min": 0})


def at_most(k: int) -> dict[str, Any]:
    """Field metadata, `field(metadata=at_most(1))`: an array holding at most `k` along its free axis."""
    return {"at_most": k}


def finite() -> dict[str, Any]:
    """Field metadata, `field(metadata=finite())`: an array the node keeps free of NaN and inf."""
    return {"finite": True}


def may_overflow() -> dict[str, Any]:
    """Field metadata, `field(metadata=may_overflow())`: an array of sums that a finite input can overflow (a 1e200
    sample's square), so a state the node saved itself may hold inf or NaN there: not checked finite, even under
    nan_policy zero (`clean`)."""
    return {"finite": False}


def _free_len(like: np.ndarray, value: np.ndarray) -> int:
    free = [i for i, w in enumerate(like.shape) if w == 0]
    return int(value.shape[free[0]]) if free else int(value.shape[0])


def _check_together(template: Any, values: dict[str, Any], owner: str, clean: bool = False) -> None:
    """The rules of rows(), count(), at_most() and finite() (see the module docstring)."""
    groups: dict[str, dict[str, int]] = {}
    for f in dataclasses.fields(template):
        like, v = getattr(template, f.name), values[f.name]
        if "rows" in f.metadata:
            groups.setdefault(f.metadata["rows"], {})[f.name] = _free_len(like, v)
        if "min" in f.metadata and v < f.metadata["min"]:
            raise ValueError(
                f"{owner} state '{f.name}' is {v}, it counts samples: it cannot be below {f.metadata['min']}"
            )
        finite_here = f.metadata.get("finite", clean and isinstance(v, np.ndarray))
        if finite_here and v.dtype.kind in "fc" and not np.isfinite(v).all():
            raise ValueError(
                f"{owner} state '{f.name}' holds {np.count_nonzero(~np.isfinite(v))} NaN or infinite values; the node "
                "keeps it finite (its nan_policy zeroes non-finite input first): load the state as state_dict() saved it"
            )
        if "at_most" in f.metadata and _free_len(like, v) > f.metadata["at_most"]:
            raise ValueError(
                f"{owner} state '{f.name}' holds {_free_len(like, v)} along its free axis, at most {f.metadata['at_most']}"
            )
    for lengths in groups.values():
        if len(set(lengths.values())) > 1:
            said = ", ".join(f"'{n}' {k}" for n, k in lengths.items())
            raise ValueError(
                f"{owner} state fields of one buffer hold different lengths ({said}); they go together (one row "
                "per held sample or frame): load the state as state_dict() saved it"
            )


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def _convert(like: Any, value: Any, what: str) -> Any:
    _check_kind(like, what)
    if isinstance(like, np.ndarray):
        if value is None:
            raise ValueError(f"{what} must be an array {like.dtype}{_shape(like)}, got None")
        a = np.asarray(value)
        if not np.can_cast(a.dtype, like.dtype, "same_kind"):
            raise ValueError(f"{what} has dtype {a.dtype}, expected {like.dtype}")
        fixed = all(s == w or w == 0 for s, w in zip(a.shape, like.shape))
        if a.ndim != like.ndim or not fixed:
            raise ValueError(f"{what} has shape {a.shape}, expected {_shape(like)} (as configured)")
        # a copy (the node may modify its state in place), in C order: a Fortran-ordered zi (an npz's, a transpose) failed
        # at the next chunk inside the compiled sosfilt kernel ('ndarray is not C-contiguous')
        return np.array(a, dtype=like.dtype, order="C")
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
        if ok and not INT64[0] <= value <= INT64[1]:
            raise ValueError(f"{what} must be int, got {value!r}, beyond int64 (a count or index numpy can take)")
    if not ok:
        raise ValueError(f"{what} must be {kind.__name__}, got {value!r}")
    return kind(value)


def _shape(like: np.ndarray) -> str:
    """The template's shape with its free (empty) axes written as 'n'."""
    return "(" + ", ".join("n" if s == 0 else str(s) for s in like.shape) + ("," if like.ndim == 1 else "") + ")"
