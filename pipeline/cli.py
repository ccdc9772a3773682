"""The `wavegraph` command line.

    wavegraph run CONFIG [--set node.param=value ...] [--speed 1|max|X] [--in-process] [--progress]
                  [--status|--no-status] [--log-level LEVEL] [--json PATH] [--bids ROOT] [--monitor]
    wavegraph validate CONFIG [--set ...] [--devices]
    wavegraph describe CONFIG [--set ...] [--devices]
    wavegraph nodes [TYPE]
    wavegraph devices [--all-boards]
    wavegraph batch GRAPH --inputs GLOB --out DIR [--engine local|ray] [--jobs N]
    wavegraph bench NAME ...   (transport, nodes, models, kernels, pacing, ...)
    wavegraph train NAME ...
    wavegraph --version

Graph errors print one line each (`file:line: message; fix: ...`) and exit with code 2.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import shlex
import sys
from pathlib import Path

from .cli_checks import _with_the_rest, _writable, unwritable
from .cli_run import bids_overrides, cmd_run
from .config import GraphError, load_config

__all__ = [  # `run` lives in pipeline.cli_run, the path and whole-file checks in pipeline.cli_checks; import from here
    "bids_overrides",
    "cmd_describe",
    "cmd_nodes",
    "cmd_run",
    "cmd_validate",
    "main",
    "unwritable",
]


def _count(n: int, noun: str) -> str:
    """'1 node', '2 nodes', '1 process', '3 processes'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('s') else 's'}"


def _positive(value: str, flag: str, unit: str) -> float:
    """A finite number > 0 for `flag`; `unit` ends the messages ("a number{unit}")."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{flag} takes a number{unit}, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"{flag} must be a positive number{unit}, got {value!r}")
    return number


def _speed(value: str) -> float | None:
    return None if value == "max" else _positive(value, "--speed", " or 'max'")


def _seconds(value: str) -> float:
    return _positive(value, "--duration", " of seconds")


def _given(value: str) -> str:
    """A path or address typed as '' ("$OUT" unset): the graph was the current folder, --json '' and --bids '' were
    dropped without a word."""
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty (a shell variable that was unset or empty expands to nothing)")
    return value


def _port(value: str) -> int:
    """A TCP port, 0..65535 (99999 was taken modulo 65536 by getaddrinfo: the page came up on port 34463)."""
    if not value.strip().isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(
            f"--monitor-port takes a port from 0 to 65535 (0: any free port), got {value!r}"
        )
    return int(value)


def _build(args):
    """Build for validate/describe, reporting every problem found in one pass: when the file's structure
    has problems, the types and params of its well-formed nodes are checked too."""
    from .graph import build_graph

    try:
        config = load_config(args.config, args.set)
    except GraphError as e:
        raise _with_the_rest(e, args.devices) from None
    return build_graph(config, devices=args.devices)


def _close_all(graph) -> None:
    """Close the nodes a build configured; a node whose close() raises is a graph error, not a traceback."""
    problems = []
    for nc in graph.config.nodes:
        try:
            graph.nodes[nc.id].close()
        except Exception as e:  # noqa: BLE001
            problems.append(
                (
                    graph.config.file,
                    nc.line,
                    f"node '{nc.id}' ({nc.type}): close() failed: {type(e).__name__}: {e}",
                    "a bug in the node",
                )
            )
    if problems:
        raise GraphError(problems)


def cmd_validate(args) -> int:
    """Each graph file given (`wavegraph validate configs/*.yaml`: was 'unrecognized arguments'); 2 if any fails."""
    failed = False
    for file in [args.config] if isinstance(args.config, str) else list(args.config):
        args.config = file
        try:
            graph = _build(args)
            _close_all(graph)
        except GraphError as e:
            print("\n".join(e.lines()), file=sys.stderr, flush=True)
            failed = True
            continue
        c = graph.config
        counts = _count(len(graph.nodes), "node"), _count(len(c.edges), "edge"), _count(len(c.processes), "process")
        print(f"{c.file}: OK ({', '.join(counts)})")
        for node_id, why in graph.unchecked.items():
            print(f"  node '{node_id}' ({graph.node_config(node_id).type}): {why}", flush=True)
        from .deaths import restart_notes
        from .key_checks import key_notes
        from .passband_notes import crossed_filter_notes
        from .validate_notes import dangling_notes, in_memory_edge_notes, merge_notes, seconds_notes

        for note in (
            merge_notes(c)
            + dangling_notes(graph)
            + restart_notes(c)
            + seconds_notes(graph)
            + in_memory_edge_notes(c)
            + crossed_filter_notes(graph)
            + key_notes(c)
        ):  # restart: what docs/yaml.md says, said before a process dies
            print(f"  {note}", flush=True)
    return 2 if failed else 0


def cmd_describe(args) -> int:
    from .graph import describe

    if args.png:  # `--png graph` gets .png, as `plot -o` does; `--png x.txt` was matplotlib's traceback
        from matplotlib.figure import Figure

        if args.png.endswith(("/", os.sep)):  # `--png out/`: was 'out/.png:  is not a picture format'
            name = os.path.join(args.png.rstrip("/" + os.sep) or os.sep, "graph.png")
            raise GraphError([("--png", 0, f"{args.png} is a folder", f"name the picture in it: --png {name}")])
        if Path(args.png).exists() and not Path(args.png).is_file():  # /dev/null: wrote /dev/null.png (root: in /dev)
            if Path(args.png).is_dir():  # (it wrote NAME.png beside the folder)
                name = os.path.join(args.png, "graph.png")
                raise GraphError([("--png", 0, f"{args.png} is a folder", f"name the picture in it: --png {name}")])
            raise GraphError(
                [("--png", 0, f"{args.png} is a device or a pipe, not a picture file", "give one: --png graph.png")]
            )
        args.png = args.png if Path(args.png).suffix else args.png + ".png"
        kinds = Figure().canvas.get_supported_filetypes()
        if Path(args.png).suffix.lower().lstrip(".") not in kinds:
            what = f"{Path(args.png).suffix} is not a picture format matplotlib writes"
            raise GraphError(
                [("--png", 0, f"{args.png}: {what}", f"give a name ending in .png (or .{', .'.join(kinds)})")]
            )
        _writable("--png", args.png)
    graph = _build(args)
    _close_all(graph)
    print(describe(graph))
    if args.png:
        from .graph_png import draw_graph

        print(f"graph drawn to {draw_graph(graph, args.png)}")
    return 0


def _params_lines(cls) -> list[str]:
    from .param_problems import type_label

    lines = []
    for pname, field in cls.Params.model_fields.items():
        if field.is_required():
            default = "required"
        else:
            value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
            default = f"default {value!r}"
        help_ = f" — {field.description}" if field.description else ""
        lines.append(f"    {pname}: {type_label(field.annotation)} ({default}{_bounds(field)}){help_}")
    return lines


def _bounds(field) -> str:
    """The range the field enforces (pydantic's ge/gt/le/lt), as '; >= 1, <= 20': a user learnt it only from an error."""
    marks = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    said = [f"{marks[k]} {getattr(m, k)!r}" for m in field.metadata for k in marks if getattr(m, k, None) is not None]
    return "; " + ", ".join(said) if said else ""


def cmd_nodes(args) -> int:
    """List every type (built-in and plugins) without importing a node module; show one type in full."""
    from .peer_types import unknown_type_fix
    from .registry import UnknownNodeType, add_search_dirs, catalogue, lookup

    if not args.type:
        for name, path in catalogue().items():
            print(f"{name:<20} {path}")
        print("\n`wavegraph nodes TYPE` shows a type's ports and parameters.")
        return 0
    if ":" in args.type:  # mymod:Class: mymod.py in the current folder, as a graph's (was "No module named 'mymod'")
        add_search_dirs([os.getcwd()])
    try:
        cls = lookup(args.type)
    except UnknownNodeType as e:
        fix = unknown_type_fix(args.type, e, [os.getcwd()])  # StreamLSL: was "did you mean 'resample'?"
        print(f"error: unknown node type '{e.name}'; {fix}", file=sys.stderr)
        return 2
    ins = ", ".join(cls.inputs) or "-"
    outs = ", ".join(cls.outputs) or "-"
    print(f"{args.type}  (inputs: {ins}; outputs: {outs})  {cls.__module__}.{cls.__name__}")
    doc = (cls.__doc__ or "").strip()
    if doc:
        print("\n".join(f"    {line.strip()}" for line in doc.splitlines()))
    module_doc = (sys.modules[cls.__module__].__doc__ or "").strip()
    if module_doc and "module docstring" in doc:  # the class points at its module's text: show that text
        print("\n".join(f"    {line}" for line in module_doc.splitlines()))
    print("  params:")
    print("\n".join(_params_lines(cls)) or "    (none)")
    return 0


def cmd_keys(args) -> int:
    from .curve import keys_main

    return keys_main(list(args.rest))


def cmd_batch(args) -> int:
    from .batch import main as batch_main

    return batch_main(list(args.rest))


def _commands() -> dict:
    import importlib.metadata

    return {ep.name: ep for ep in importlib.metadata.entry_points(group="wavegraph.commands")}


def cmd_datasets(args) -> int:
    """`wavegraph datasets list|fetch NAME`: python -m wavegraph.pipeline.datasets under the command's name."""
    from .datasets import main as datasets_main

    return datasets_main(list(args.rest), prog="wavegraph datasets")


def cmd_plugin(args) -> int:
    """`devices`, `bench NAME` and `train NAME` run commands that live above the runtime (nodes, models,
    benchmarks); they are found by name in the entry-point group wavegraph.commands."""
    name = args.command if args.command in ("devices", "plot", "recover") else f"{args.command}.{args.what}"
    commands = _commands()
    if name not in commands:
        import difflib

        known = sorted(n.split(".", 1)[1] for n in commands if n.startswith(f"{args.command}."))
        what = f" command '{args.what}'" if hasattr(args, "what") else ""
        close = difflib.get_close_matches(getattr(args, "what", ""), known, n=1)
        print(
            f"error: no {args.command}{what}"
            + (f"; did you mean '{close[0]}'?" if close else " (is wavegraph installed with its entry points?)")
            + f"; known: {', '.join(known) or 'none'}",
            file=sys.stderr,
        )
        return 2
    from .datasets import DatasetError

    try:
        return commands[name].load()(list(getattr(args, "rest", []))) or 0
    except DatasetError as e:  # a data set not fetched (no network, an unwritable cache): was a traceback
        print(f"wavegraph {args.command}{' ' + args.what if hasattr(args, 'what') else ''}: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a disk that filled up while it ran (its --png, --json, --out checked writable before): was
        import errno  # PIL's traceback after the results

        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
            raise
        where = f"wavegraph {args.command}{' ' + args.what if hasattr(args, 'what') else ''}"
        what = f" {e.filename}" if e.filename else " its output"
        print(
            f"{where}: writing{what} failed: {e.strerror}; fix: free space on that disk (or write to another) and "
            "run it again",
            file=sys.stderr,
        )
        return 1
    except ModuleNotFoundError as e:  # `train ssvep` without the torch extra: was a traceback
        from .missing_package import missing_package

        if not (said := missing_package(e)):
            raise
        where = f"wavegraph {args.command}{' ' + args.what if hasattr(args, 'what') else ''}"
        print(f"{where}: {said[0]}; fix: {said[1]}", file=sys.stderr)
        return 1


PASSTHROUGH = (
    "keys",
    "batch",
    "plot",
    "recover",
    "devices",
    "datasets",
)  # commands whose own parser reads every argument


def _passthrough(argv: list[str] | None) -> argparse.Namespace | int | None:
    """Commands with their own parser get all their arguments untouched: through the top-level parser, an
    option first (`wavegraph batch --help`, `plot -o x.png rec.fif`) was 'unrecognized arguments'. `bench` and
    `train` without a NAME (or with --help) list their commands."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        return None
    if argv[0] in PASSTHROUGH:
        return argparse.Namespace(command=argv[0], rest=argv[1:])
    if argv[0] in ("bench", "train"):
        if len(argv) > 1 and not argv[1].startswith("-"):
            return argparse.Namespace(command=argv[0], what=argv[1], rest=argv[2:])
        known = sorted(n.split(".", 1)[1] for n in _commands() if n.startswith(f"{argv[0]}."))
        asked = len(argv) > 1 and argv[1] in ("-h", "--help")
        print(
            f"usage: wavegraph {argv[0]} NAME [options]   (`wavegraph {argv[0]} NAME --help` for its options)\n"
            f"NAME: {', '.join(known) or 'none installed'}",
            file=sys.stdout if asked else sys.stderr,
        )
        return 0 if asked else 2
    return None


_MEANT = {  # other tools' words for a command
    **dict.fromkeys(("check", "lint", "verify", "test"), "validate"),
    **dict.fromkeys(("plan", "show", "info", "inspect", "graph", "explain"), "describe"),
    **dict.fromkeys(("start", "exec", "execute", "play", "launch"), "run"),
    **dict.fromkeys(("list", "types", "node"), "nodes"),
}


def _not_a_command(argv: list[str], commands: list[str]) -> str:
    """The line for a first word that is no command, with the command meant: a graph file (`wavegraph g.yaml`),
    another tool's word (`check`, `plan`), a misspelling (`valdiate`). Was argparse's "invalid choice: 'g.yaml'
    (choose from ...)". "" for a command or an option."""
    if not argv or argv[0].startswith("-") or argv[0] in commands:
        return ""
    word, rest = argv[0], " ".join(shlex.quote(a) for a in argv[1:])
    if word.lower().endswith((".yaml", ".yml")) or os.path.isfile(word):
        run = f"wavegraph run {shlex.quote(word)} {rest}".rstrip()
        return f"wavegraph: '{word}' is a file, not a command; fix: {run} (or validate, describe)"
    meant = _MEANT.get(word.lower()) or next(iter(difflib.get_close_matches(word.lower(), commands, n=1)), "")
    fix = f"wavegraph {meant} {rest}".rstrip() if meant else f"use one of: {', '.join(commands)}"
    return f"wavegraph: unknown command '{word}'; fix: {fix}"


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except SystemExit as e:  # argparse's usage error: `plot -rec.edf` said only 'the following arguments are
        if e.code == 2:  # required: recording', of a file the user gave
            args = sys.argv[1:] if argv is None else list(argv)
            args = args[: args.index("--")] if "--" in args else args
            for a in (a for a in args if a.startswith("-") and a != "-" and os.path.lexists(a)):
                print(
                    f"note: {a} was read as an option; give a file whose name starts with '-' as ./{a}", file=sys.stderr
                )
        raise


def _main(argv: list[str] | None = None) -> int:
    from wavegraph import __version__

    parser = argparse.ArgumentParser(prog="wavegraph", description="Streaming signal-processing graphs.")
    parser.add_argument("--version", action="version", version=f"wavegraph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("run", "run a graph"),
        ("validate", "check a graph; start nothing"),
        ("describe", "nodes, edge specs and latency per path"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument(  # `validate configs/*.yaml`: each of them
            "config", type=_given, nargs="+" if name == "validate" else None, help="the graph file; - reads stdin"
        )
        p.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE")
        if name == "describe":
            p.add_argument(
                "--png", type=_given, help="also draw the graph (processes, edge specs, latencies) to this PNG"
            )
        if name in ("validate", "describe"):
            p.add_argument(
                "--devices",
                action="store_true",
                help="also open live devices and streams (LSL inlets, sound cards) and check them; by "
                "default their specs come from their declared params, or they are listed as unchecked",
            )
        if name == "run":
            p.add_argument(
                "--speed", type=_speed, default=None, help="1 for real time, max (default) for as fast as possible"
            )
            p.add_argument("--in-process", action="store_true", help="run every node in this process")
            p.add_argument(
                "--duration",
                type=_seconds,
                default=None,
                metavar="SECONDS",
                help="stop after this many seconds of wall time, as Ctrl-C stops (the graph drains, files are "
                "complete), with exit code 0: a live session of a set length (an LSL stream received from before the "
                "graph started, one that appeared while it waited, ends after this long of it)",
            )
            p.add_argument(
                "--ray",
                nargs="?",
                const="auto",
                metavar="ADDRESS",
                help="place each process group as a Ray actor (pipeline.placement); ADDRESS of the cluster",
            )
            p.add_argument("--progress", action="store_true", help="show a progress bar for replays")
            p.add_argument(
                "--status",
                action=argparse.BooleanOptionalAction,
                default=None,
                help="a status line about once a second (elapsed, chunk rates, lateness, drops, gaps, "
                "xruns); default: on for live and endless runs without --progress",
            )
            p.add_argument(
                "--log-level",
                default=None,
                type=str.upper,
                choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                help="level of the runtime's and nodes' log messages (default WARNING), worker processes too; "
                "DEBUG adds the run's phases (its processes; in each, the drain and the close)",
            )
            p.add_argument(
                "--json",
                type=_given,
                metavar="PATH",
                help="write the end-of-run summary (per-node statistics, "
                "processes, failure, wall time) to this JSON file",
            )
            p.add_argument(
                "--bids",
                type=_given,
                metavar="ROOT",
                help="also write each EDF/BDF recorder's file into a BIDS-EEG layout under ROOT at close "
                "(mne-bids; the recorder's subject, session, task, run params; task defaults to the graph's name)",
            )
            p.add_argument("--monitor", action="store_true", help="serve a live web page of every stream and node")
            p.add_argument(
                "--monitor-host",
                type=_given,
                default="127.0.0.1",
                help="address the page binds (anything but loopback needs the token in the URL)",
            )
            p.add_argument("--monitor-port", type=_port, default=8765, help="port of the page (0: any free port)")
    p = sub.add_parser("nodes", help="list node types; `nodes TYPE` shows one with its parameters")
    p.add_argument("type", nargs="?")
    p = sub.add_parser(
        "devices", help="list audio devices, visible LSL streams and BrainFlow boards (--all-boards)", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p = sub.add_parser(
        "keys", help="make a CURVE key pair (NAME.key, NAME.key_secret) for edges between hosts", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p = sub.add_parser("batch", help="run a graph once per input recording (local pool or Ray)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p = sub.add_parser(
        "plot", help="draw a recording (traces, spectrum, markers; audio spectrogram) to a PNG", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p = sub.add_parser("recover", help="finish recordings whose process was killed (from their .spill)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p = sub.add_parser(
        "datasets", help="the real recordings the docs use: `list`, `fetch NAME` (cached)", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    for name, help_ in (
        ("bench", "benchmarks: transport, nodes, models, kernels, pacing, ..."),
        ("train", "train a model from data"),
    ):
        p = sub.add_parser(name, help=help_, add_help=False)
        p.add_argument("what")
        p.add_argument("rest", nargs=argparse.REMAINDER)
    args = _passthrough(argv)
    if isinstance(args, int):  # `wavegraph bench` / `bench --help`: the list of commands was printed
        return args
    wrong = _not_a_command(sys.argv[1:] if argv is None else list(argv), list(sub.choices))
    if wrong:
        print(wrong, file=sys.stderr)
        return 2
    if args is None:
        args = parser.parse_args(argv)
    if getattr(args, "log_level", None):
        import logging
        import os

        logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        os.environ["WAVEGRAPH_LOG_LEVEL"] = args.log_level  # the worker processes read it
    handlers = {
        "run": cmd_run,
        "validate": cmd_validate,
        "describe": cmd_describe,
        "nodes": cmd_nodes,
        "devices": cmd_plugin,
        "plot": cmd_plugin,
        "recover": cmd_plugin,
        "batch": cmd_batch,
        "keys": cmd_keys,
        "datasets": cmd_datasets,
        "bench": cmd_plugin,
        "train": cmd_plugin,
    }
    try:
        return handlers[args.command](args)
    except GraphError as e:
        for line in e.lines():
            print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before a run starts (a run's own StopFlag handles it after)
        print("wavegraph: stopped (Ctrl-C)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `wavegraph describe g.yaml | head`: the reader left; no traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
        return 141


if __name__ == "__main__":
    sys.exit(main())
