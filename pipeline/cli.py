"""The `wavegraph` command line.

    wavegraph run CONFIG [--set node.param=value ...] [--speed 1|max|X] [--in-process] [--progress]
    wavegraph validate CONFIG [--set ...]
    wavegraph describe CONFIG [--set ...]
    wavegraph nodes
    wavegraph devices
    wavegraph bench transport|nodes|models ...

Graph errors print one line each (`file:line: message; fix: ...`) and exit with code 2.
"""
from __future__ import annotations

import argparse
import signal
import sys

from .config import GraphError, load_config


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed takes a number or 'max', got {value!r}") from None
    if speed <= 0:
        raise argparse.ArgumentTypeError("--speed must be positive")
    return speed


def _build(args):
    from .graph import build_graph

    return build_graph(load_config(args.config, args.set))


def cmd_validate(args) -> int:
    graph = _build(args)
    for node in graph.nodes.values():
        node.close()
    print(f"{args.config}: OK ({len(graph.nodes)} nodes, {len(graph.config.edges)} edges, "
          f"{len(graph.config.processes)} processes)")
    return 0


def cmd_describe(args) -> int:
    from .graph import describe

    graph = _build(args)
    for node in graph.nodes.values():
        node.close()
    print(describe(graph))
    return 0


def cmd_nodes(args) -> int:
    from .graph import type_label
    from .registry import all_types

    for name, cls in all_types().items():
        ins = ", ".join(cls.inputs) or "-"
        outs = ", ".join(cls.outputs) or "-"
        print(f"{name}  (inputs: {ins}; outputs: {outs})  {cls.__module__}.{cls.__name__}")
        doc = (cls.__doc__ or "").strip().splitlines()
        if doc:
            print(f"    {doc[0]}")
        for pname, field in cls.Params.model_fields.items():
            default = "required" if field.is_required() else f"default {field.default!r}"
            ann = type_label(field.annotation)
            print(f"    {pname}: {ann} ({default})" + (f" — {field.description}" if field.description else ""))
    return 0


def cmd_run(args) -> int:
    from .runner import run_graph
    from .summary import format_summary

    graph = _build(args)
    result = run_graph(graph, speed=args.speed, in_process=args.in_process, progress=args.progress)
    print(format_summary(result.stats, result.processes))
    print(f"wall time {result.wall_s:.2f} s" + (" (interrupted)" if result.interrupted else ""))
    if result.failure:
        print(f"error: {result.failure}", file=sys.stderr)
    return result.exit_code


def cmd_devices(args) -> int:
    from nodes.devices import list_devices  # audio devices and visible LSL streams

    print(list_devices())
    return 0


def cmd_bench(args) -> int:
    if args.what == "transport":
        from .bench import bench_transport

        return bench_transport(args.rest)
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / f"{args.what}.py"
    sys.argv = [str(script), *args.rest]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wavegraph", description="Streaming signal-processing graphs.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (("run", "run a graph"), ("validate", "check a graph; start nothing"),
                        ("describe", "nodes, edge specs and latency per path")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("config")
        p.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE")
        if name == "run":
            p.add_argument("--speed", type=_speed, default=None, help="1 for real time, max (default) for as fast as possible")
            p.add_argument("--in-process", action="store_true", help="run every node in this process")
            p.add_argument("--progress", action="store_true", help="show a progress bar for replays")
    sub.add_parser("nodes", help="list node types and their parameters")
    sub.add_parser("devices", help="list audio devices and visible LSL streams")
    p = sub.add_parser("bench", help="benchmarks: transport, nodes, models, kernels")
    p.add_argument("what", choices=["transport", "nodes", "models", "kernels"])
    p.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _raise_interrupt)
    handlers = {"run": cmd_run, "validate": cmd_validate, "describe": cmd_describe, "nodes": cmd_nodes,
                "devices": cmd_devices, "bench": cmd_bench}
    try:
        return handlers[args.command](args)
    except GraphError as e:
        for line in e.lines():
            print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
