"""The dict form shared by every model config dataclass (JSON beside a checkpoint)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, cast


class DictConfig:
    """Mixin for config dataclasses: `to_dict()` and a strict `from_dict()` that names unknown keys."""

    def to_dict(self) -> dict:
        return asdict(cast(Any, self))

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cast(Any, cls))}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys {unknown}; known: {sorted(known)}")
        return cls(**d)
