"""The dict form shared by every model config dataclass (JSON beside a checkpoint)."""

from __future__ import annotations

import math
import numbers
import operator
import typing
from dataclasses import asdict, fields
from typing import Any, cast

MAX_LAYERS = 1000  # n_layers, dec_layers: the models here have 1 to 24


def _check_value(owner: str, name: str, hint: Any, value: Any) -> Any:
    """`value` for the field `name` annotated `hint` (int, float, bool, str, list[...]), converted where that loses
    nothing (a whole float to int, an int to float, a tuple to a list); a ValueError naming the field otherwise.
    A checkpoint's JSON or a YAML config may hold "16" or 16.5 where the model needs 16: the model's layers then
    failed deep inside torch ("empty(): argument 'size' must be tuple of ints")."""
    origin = typing.get_origin(hint) or hint

    def bad(want: str) -> ValueError:
        return ValueError(f"{owner}.{name} must be {want}, got {value!r} ({type(value).__name__})")

    if hint is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad("a whole number")
        if isinstance(value, numbers.Integral):  # int, numpy's integers
            return operator.index(value)
        if not float(value).is_integer():
            raise bad("a whole number")
        return int(float(value))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad("a number")
        if math.isnan(value):
            raise bad("a number, not NaN")
        return float(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad("a list")
        args = typing.get_args(hint)
        if args:
            return [_check_value(owner, f"{name}[{i}]", args[0], v) for i, v in enumerate(value)]
        return list(value)
    return value


class DictConfig:
    """Mixin for config dataclasses: `to_dict()` and a strict `from_dict()` that names unknown keys and checks each
    value's type against the field's annotation. A config built in Python is checked and converted the same way
    before its own __post_init__: MambaConfig(d_model=8.0) was "'float' object is not iterable" from nn.Linear,
    GLAConfig(n_heads=2.0) "ones(): argument 'size' must be tuple of ints"."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__post_init__")
        if own is None and any("__post_init__" in base.__dict__ for base in cls.__mro__[1:]):
            return  # a config's subclass: its parent's __post_init__ (checks and all) is inherited, not replaced

        def __post_init__(self) -> None:
            self._check_fields()
            if own is not None:
                own(self)

        cls.__post_init__ = __post_init__  # type: ignore[attr-defined]  # dataclass() calls it from __init__

    def _check_fields(self) -> None:
        """The int and float fields (the ones whose wrong type failed inside torch); lists and strings are each
        config's own to convert (SSVEPDNNConfig makes its channel names strings)."""
        hints = typing.get_type_hints(type(self))
        for f in fields(cast(Any, self)):
            if hints.get(f.name) in (int, float):
                value = _check_value(type(self).__name__, f.name, hints[f.name], getattr(self, f.name))
                # a layer is modules built one by one: n_layers 1e6 took 7 GB and minutes (validate hung), each small
                # enough that no allocation failed to say it does not fit
                if f.name.endswith("layers") and value > MAX_LAYERS:
                    raise ValueError(
                        f"{type(self).__name__}.{f.name} is {value}, more layers than a model here is built with "
                        f"(at most {MAX_LAYERS}: each is built in memory, one by one)"
                    )
                setattr(self, f.name, value)

    def to_dict(self) -> dict:
        return asdict(cast(Any, self))

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cast(Any, cls))}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys {unknown}; known: {sorted(known)}")
        hints = typing.get_type_hints(cls)
        return cls(**{k: _check_value(cls.__name__, k, hints.get(k), v) for k, v in d.items()})
