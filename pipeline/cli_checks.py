"""Checks the command line makes before it builds or runs a graph: the problems of a whole graph file in one
pass (`validate` and `run` list every one), and whether an output path (`--json`, `--png`, batch's and the
benchmarks' outputs) can be written, so that results are not lost to a traceback at the end."""

from __future__ import annotations

from .config import GraphError


def _with_the_rest(e: GraphError, devices: bool = False) -> GraphError:
    """A file's structural problems, plus those of its well-formed rest (types, params, ports, topology,
    specs), so that one `validate` or `run` lists every problem."""
    from .graph import build_graph

    problems = list(e.problems)
    if hasattr(e, "config"):
        try:
            for node in build_graph(e.config, devices=devices, broken=e.broken).nodes.values():
                node.close()
        except GraphError as more:
            problems.extend(more.problems)
    return GraphError(problems)


def unwritable(path: str) -> str:
    """Why `path` cannot be written ("" when it can), its folder made. Commands check their output paths with
    it before they run, so a run's results are not lost to a traceback at the end."""
    from pathlib import Path

    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            return "it is a folder"
        existed = target.exists()
        with open(target, "a"):
            pass
        if not existed:
            target.unlink()  # no empty file left behind if the run never gets to write it
    except OSError as e:
        return str(e.strerror or e)
    return ""


def _writable(option: str, path: str) -> None:
    why = unwritable(path)
    if why:
        raise GraphError([(option, 0, f"cannot write {path} ({why})", "choose a file in a writable folder")])
