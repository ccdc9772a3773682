"""Dependencies point one way: kernels <- models <- nodes -> pipeline, with no import cycles.

Read from the source (AST), so that it stays true whatever the tests happen to import: every import
statement counts, at module level or inside a function.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "pipeline": "pipeline",
    "nodes": "nodes",
    "models": "models",
    "kernels": "kernels",
    "benchmarks": "benchmarks",
}
# layer -> the wavegraph layers it may import (itself always allowed)
ALLOWED = {
    "kernels": set(),
    "models": {"kernels"},
    "pipeline": set(),
    "nodes": {"pipeline", "models", "kernels"},
    "benchmarks": {"pipeline", "nodes", "models", "kernels"},
}
# third-party imports a layer may not make (kernels depends on torch/triton only; no runtime in the models)
FORBIDDEN_EXTERNAL = {"kernels": {"zmq", "mne", "scipy", "yaml", "pydantic"}, "models": {"zmq", "yaml"}}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return "wavegraph." + ".".join(parts)


def _imports(path: Path, name: str | None = None) -> list[tuple[str, int, bool]]:
    """(absolute module, line, at module level) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if node.module is None or mod == "wavegraph":  # `from . import x` / `from wavegraph import kernels`
                out += [(f"{mod}.{a.name}", node.lineno, id(node) in top_level) for a in node.names]
            else:
                out.append((mod, node.lineno, id(node) in top_level))
    return out


def _sources():
    for layer in LAYERS:
        yield from sorted((ROOT / layer).rglob("*.py"))


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "wavegraph" and len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return None


def violations(path: Path, name: str) -> list[str]:
    layer = _layer(name)
    assert layer is not None, name
    bad = []
    for mod, line, _ in _imports(path, name):
        target = _layer(mod)
        where = f"{path.name}:{line}: {mod}"
        if target and target != layer and target not in ALLOWED[layer]:
            bad.append(f"{where} ({layer} must not import {target})")
        if mod.split(".")[0] in FORBIDDEN_EXTERNAL.get(layer, ()):
            bad.append(f"{where} ({layer} must not depend on {mod.split('.')[0]})")
        if mod.split(".")[0] in LAYERS:
            bad.append(f"{where} (import through the wavegraph namespace)")
    return bad


def test_every_import_points_the_right_way():
    bad = [v for path in _sources() for v in violations(path, _module_name(path))]
    assert not bad, "\n".join(bad)


def test_no_import_cycles_at_module_level():
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in _sources()}
    for name, path in modules.items():
        deps = set()
        for mod, _, top in _imports(path):
            if not top:
                continue
            while mod and mod not in modules:  # `from pkg.mod import name` -> pkg.mod
                mod = mod.rpartition(".")[0]
            if mod and mod != name and not name.startswith(mod + "."):  # a package's own __init__ is not a cycle
                deps.add(mod)
        graph[name] = deps
    # Tarjan's strongly connected components
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_checker_sees_wrong_way_imports(tmp_path):
    """The rules are not vacuous: wrong-way imports, lazy ones included, are reported."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import zmq\n\ndef f():\n    from wavegraph.nodes.dsp import filters\n    from ..models import mamba\n"
    )
    bad = violations(probe, "wavegraph.pipeline.probe")
    assert any("pipeline must not import nodes" in b for b in bad) and any(
        "pipeline must not import models" in b for b in bad
    ), bad
    assert any("models must not depend on zmq" in b for b in violations(probe, "wavegraph.models.probe"))
    assert violations(probe, "wavegraph.benchmarks.probe") == []
