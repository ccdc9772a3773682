"""Maps YAML `type:` names to node classes, importing only the node modules that are used.

Names come from the entry-point group `wavegraph.nodes`. An entry point names either one Node class
(`mytype = "mypkg.nodes:MyNode"`) or a catalogue, a dict of type name -> "module:Class" (wavegraph's
built-in nodes are the catalogue `wavegraph.nodes:BUILTIN_NODES`). A YAML file may also name a class by
path, `type: mymod:MyNode`; `mymod.py` is then looked for beside the YAML file and in the current folder
(the run passes those folders as `search_dirs`, to the workers too), then on the normal import path.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterable, Sequence

from .node import Node
from .node_class import not_a_node_reason

ENTRY_POINT_GROUP = "wavegraph.nodes"
_LOADED: dict[str, type[Node]] = {}
_CATALOGUE: dict[str, str] | None = None
_SEARCH_DIRS: list[str] = []  # the folders add_search_dirs was given, in order (a user's module is looked for there)


class UnknownNodeType(KeyError):
    """`suggestion`: a close registered name; `reason`: why a `module:Class` path did not load."""

    def __init__(self, name: str, suggestion: str | None, reason: str = ""):
        super().__init__(name)
        self.name = name
        self.suggestion = suggestion
        self.reason = reason

    def __str__(self) -> str:
        hint = (
            f"; did you mean '{self.suggestion}'?"
            if self.suggestion
            else f"; {self.reason}"
            if self.reason
            else "; run `wavegraph nodes` to list types"
        )
        return f"unknown node type '{self.name}'{hint}"


def catalogue() -> dict[str, str]:
    """Every registered type name -> "module:Class", read from the entry points. An entry point that names
    a catalogue (an UPPER_CASE dict, e.g. wavegraph.nodes:BUILTIN_NODES) is read from its light module; one
    that names a class stays a string until a graph uses it. A plugin that fails to load or clashes with
    another is left out with a warning; it never breaks the other types."""
    global _CATALOGUE
    if _CATALOGUE is None:
        found: dict[str, str] = {}
        eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        # wavegraph's own types first: a plugin cannot take over a built-in name
        for ep in sorted(eps, key=lambda ep: not ep.value.startswith("wavegraph.")):
            module_name, _, attr = ep.value.partition(":")
            attr = attr.strip()
            entries = {ep.name: ep.value}
            if attr.isupper():
                try:
                    target = getattr(importlib.import_module(module_name), attr)
                    if not isinstance(target, dict):
                        raise TypeError(f"{ep.value} is not a dict of type name -> 'module:Class'")
                    entries = {str(k): str(v) for k, v in target.items()}
                except Exception as e:  # noqa: BLE001 — a broken plugin must not break every command
                    warnings.warn(
                        f"wavegraph: node catalogue {ep.value} left out: {type(e).__name__}: {e}", stacklevel=2
                    )
                    continue
            for name, path in entries.items():
                if name in found and found[name] != path:
                    warnings.warn(
                        f"wavegraph: node type '{name}' is registered twice ({found[name]} and {path}); "
                        f"keeping {found[name]}",
                        stacklevel=2,
                    )
                    continue
                found[name] = path
        _CATALOGUE = dict(sorted(found.items()))
    return _CATALOGUE


def add_search_dirs(dirs: Iterable[str]) -> None:
    """Let `type: mymod:Class` find mymod.py in these folders (the YAML file's folder, the current folder)."""
    for d in dirs:
        d = os.path.abspath(d)
        if d not in _SEARCH_DIRS:
            _SEARCH_DIRS.append(d)
        if d not in sys.path:
            sys.path.append(d)


def _shadowed(module_name: str, attr: str) -> str:
    """Why the module imported as `module_name` is not the user's file of that name in a search folder:
    another (Python's own `signal`, an installed package, another graph's mymod.py) was found first. ""
    when no search folder holds another file of that name."""
    name = module_name.partition(".")[0]
    got = os.path.realpath(getattr(sys.modules.get(name), "__file__", "") or "")
    for d in _SEARCH_DIRS:
        for mine in (os.path.join(d, f"{name}.py"), os.path.join(d, name, "__init__.py")):
            if not os.path.isfile(mine) or os.path.realpath(mine) == got:
                continue
            if any(os.path.dirname(got) == os.path.realpath(other) for other in _SEARCH_DIRS):
                return (  # `validate a/g.yaml b/g.yaml`, each with its own mynodes.py: one module per name
                    f"the module '{name}' imported is {got}, another graph's, not {mine}: a module is imported once "
                    "per command, so check this graph in a command of its own, or give the files other names"
                )
            return (
                f"the module '{name}' Python imported is {got or 'built into Python'}, not your {mine}, which comes "
                f"after it on the import path: rename your file (e.g. my_{name}.py) and write type: my_{name}:{attr}"
            )
    return ""


def _load_path(name: str, type_name: str | None = None) -> type[Node]:
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as e:  # noqa: BLE001 — missing, failing, or a script's sys.exit() (was: exit, unsaid)
        what = f"it called sys.exit({e.code}) as it was imported (a script?)" if isinstance(e, SystemExit) else ""
        raise UnknownNodeType(
            type_name or name, None, f"cannot import module '{module_name}': {what or f'{type(e).__name__}: {e}'}"
        ) from e
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        reason = _shadowed(module_name, attr) or not_a_node_reason(cls, attr, module_name)
        raise UnknownNodeType(type_name or name, None, reason)
    return cls


def _own_module(module_name: str, graph_dirs: Sequence[str]) -> None:
    """Make `module_name` the graph's own file when another graph's module of that name was imported first in this
    process (`validate a/g.yaml b/g.yaml`, each with a mynodes.py: b's graph was checked with a's classes, silently
    where both define the class). A module of Python's or an installed one is left alone (_shadowed says so)."""
    top = module_name.partition(".")[0]
    loaded = sys.modules.get(top)
    got = os.path.realpath(getattr(loaded, "__file__", "") or "")
    mine = next(
        (
            f
            for d in graph_dirs
            for f in (os.path.join(d, f"{top}.py"), os.path.join(d, top, "__init__.py"))
            if os.path.isfile(f)
        ),
        "",
    )
    if not got or not mine or os.path.realpath(mine) == got:
        return
    home = os.path.dirname(os.path.dirname(got)) if got.endswith("__init__.py") else os.path.dirname(got)
    if home not in {os.path.realpath(d) for d in _SEARCH_DIRS}:
        return
    for key in [k for k in sys.modules if k == top or k.startswith(f"{top}.")]:
        del sys.modules[key]
    for key in [k for k in _LOADED if ":" in k and k.partition(":")[0].partition(".")[0] == top]:
        del _LOADED[key]
    package = [os.path.dirname(mine)] if mine.endswith("__init__.py") else None
    spec = importlib.util.spec_from_file_location(top, mine, submodule_search_locations=package)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[top] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # noqa: BLE001 — as _load_path says it
        del sys.modules[top]
        what = f"it called sys.exit({e.code}) as it was imported (a script?)" if isinstance(e, SystemExit) else ""
        raise UnknownNodeType(
            module_name, None, f"cannot import module '{top}' ({mine}): {what or f'{type(e).__name__}: {e}'}"
        ) from e


_TYPE_SUFFIXES = ("_source", "_node", "_filter", "_generator", "_gen", "_sink", "_wave")  # sine_source: sine


def closest_type(name: str, known: list[str]) -> str | None:
    """The registered type `name` was meant to be: in snake case (FileSource, file-source: file_source), without a
    word that says what every node is (sine_source, notch_filter: was 'did you mean file_source?'), else difflib's
    closest in lower case (BANDPASS)."""
    import re

    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower().replace("-", "_").replace(" ", "_")
    for candidate in (key, *(key.removesuffix(s) for s in _TYPE_SUFFIXES if key.endswith(s))):
        if candidate in known:
            return candidate
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.5)
    return close[0] if close else None


def lookup(name: str, graph_dirs: Sequence[str] = ()) -> type[Node]:
    """The class for a YAML type name or a `module:Class` path (`graph_dirs`: the folders a graph's own modules are
    looked for in, its file's then the current one)."""
    if ":" in name and graph_dirs:
        try:
            _own_module(name.partition(":")[0], graph_dirs)
        except UnknownNodeType as e:
            raise UnknownNodeType(name, None, e.reason) from e
    if name in _LOADED:
        return _LOADED[name]
    if ":" in name:
        cls = _load_path(name)
        if not cls.type_name:
            cls.type_name = name
    else:
        known = catalogue()
        if name not in known:
            raise UnknownNodeType(name, closest_type(name, list(known)))
        cls = _load_path(known[name], name)
        cls.type_name = name
    _LOADED[name] = cls
    return cls
