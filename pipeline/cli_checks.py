"""Checks the command line makes before it builds or runs a graph: the problems of a whole graph file in one
pass (`validate` and `run` list every one), and whether an output path (`--json`, `--png`, batch's and the
benchmarks' outputs) can be written, so that results are not lost to a traceback at the end."""

from __future__ import annotations

from wavegraph import unwritable  # one check for the whole package (models' checkpoints too)

from .config import GraphError

__all__ = ["unwritable"]  # importable from here and from pipeline.cli, as before


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


def _writable(option: str, path: str) -> None:
    why = unwritable(path)
    if why:
        raise GraphError([(option, 0, f"cannot write {path} ({why})", "choose a file in a writable folder")])
