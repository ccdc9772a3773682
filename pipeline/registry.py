"""Maps YAML `type:` names to node classes.

Built-in nodes register themselves with `@register("name")` in modules of the `nodes` package, which
are discovered on first use. Third-party nodes are referenced by dotted path: `type: mypkg.nodes:MyNode`.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil

from .node import Node

_REGISTRY: dict[str, type[Node]] = {}
_DISCOVERED = False


class UnknownNodeType(KeyError):
    """`suggestion`: a close registered name; `reason`: why a `module:Class` path did not load."""

    def __init__(self, name: str, suggestion: str | None, reason: str = ""):
        super().__init__(name)
        self.name = name
        self.suggestion = suggestion
        self.reason = reason

    def __str__(self) -> str:
        hint = (f"; did you mean '{self.suggestion}'?" if self.suggestion else f"; {self.reason}" if self.reason
                else "; run `wavegraph nodes` to list types")
        return f"unknown node type '{self.name}'{hint}"


def register(name: str):
    """Class decorator: make a node class available to YAML as `type: name`."""

    def deco(cls: type[Node]) -> type[Node]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"node type '{name}' registered twice ({_REGISTRY[name].__name__}, {cls.__name__})")
        cls.type_name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def discover() -> None:
    """Import every module of the `nodes` package so their @register decorators run."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import nodes

    for mod in pkgutil.iter_modules(nodes.__path__):
        importlib.import_module(f"nodes.{mod.name}")
    _DISCOVERED = True


def lookup(name: str) -> type[Node]:
    """The class for a YAML type name or a `module:Class` dotted path."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as e:  # noqa: BLE001 — a missing module, or one that fails while importing
            raise UnknownNodeType(name, None, f"cannot import module '{module_name}': "
                                              f"{type(e).__name__}: {e}") from e
        cls = getattr(module, attr, None)
        if not (isinstance(cls, type) and issubclass(cls, Node)):
            reason = (f"module '{module_name}' has no attribute '{attr}'" if cls is None
                      else f"'{attr}' in module '{module_name}' is not a Node subclass")
            raise UnknownNodeType(name, None, reason)
        return cls
    if name not in _REGISTRY:
        discover()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1, cutoff=0.5)
        raise UnknownNodeType(name, close[0] if close else None)
    return _REGISTRY[name]


def all_types() -> dict[str, type[Node]]:
    discover()
    return dict(sorted(_REGISTRY.items()))
