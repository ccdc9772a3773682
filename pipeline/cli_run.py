"""`wavegraph run`: builds the graph (with the live monitor and the status line when asked), runs it in processes,
in this process or on Ray, and prints the end-of-run summary (also to `--json`); `--bids` as recorder overrides."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .cli_checks import _with_the_rest, _writable
from .config import GraphError, load_config

if TYPE_CHECKING:
    from .runner import Observer


def _endless_or_live(graph) -> bool:
    """True when a source is live (hardware-paced) or has no known end: such a run prints nothing else
    until it stops, so `wavegraph run` shows the status line by default."""
    from .node import Source

    sources = [n for n in graph.nodes.values() if isinstance(n, Source)]
    return any(n.live or getattr(n, "duration_seconds", None) is None for n in sources)


def unpaced_outlets(graph, speed: float | None = None) -> str:
    """A note for a replay run flat out (no --speed) into an LSL outlet: its consumers (another graph's lsl_inlet, a
    viewer) got a 6 s recording in a few ms, stamped with the LSL clock at push, without a word (a PlayerLSL user
    expects real time): a live source paces the run, and a replay does at --speed. At another --speed than 1, an
    outlet stamping `now` stamps a 16-sample chunk of 250 Hz 64 ms apart at 0.4 (lsl_inlet: a gap at every chunk)."""
    from .node import Source

    sources = [n for n in graph.nodes.values() if isinstance(n, Source)]
    outlets = [i for i, n in graph.nodes.items() if type(n).type_name == "lsl_outlet"]
    if speed is not None:
        outlets = [i for i in outlets if speed != 1 and getattr(graph.nodes[i].params, "timestamps", "") == "now"]
    if not sources or not outlets or any(n.live for n in sources):
        return ""
    which = f"lsl_outlet {', '.join(repr(i) for i in outlets)} publish{'es' if len(outlets) == 1 else ''} a replay"
    if speed is not None:
        return (
            f"note: {which} at --speed {speed:g}, stamped with the LSL clock at push (timestamps: now): its consumers "
            f"see its samples come {speed:g} times as fast as its rate says ("
            + ("gaps between its chunks" if speed < 1 else "chunks that overlap in time")
            + "); run with --speed 1 to publish it at the pace it was recorded"
        )
    return (
        f"note: {which} run as fast as it can (no --speed): its consumers get the stream in bursts, not in real time "
        "as from an amplifier; run with --speed 1 to publish it at the pace it was recorded"
    )


def _observers(*observers: Observer | None) -> Observer | None:
    """One observer that calls each given one (None when none is given)."""
    present = [o for o in observers if o is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]

    def observe(stats: dict[str, dict]) -> None:
        for o in present:
            o(stats)

    return observe


def _write_json(path: str, args, result) -> None:
    """The end-of-run summary as JSON: per-node statistics, processes, failure, wall time."""
    import json

    summary = {
        "config": args.config,
        "exit_code": result.exit_code,
        "interrupted": result.interrupted,
        "failure": result.failure,
        "wall_s": result.wall_s,
        "processes": result.processes,
        "stats": result.stats,
        "extra": result.extra,
    }
    with open(path, "w") as f:
        json.dump(summary, f, indent=1, default=str)


def bids_overrides(config, root: str) -> list[str]:
    """`--bids ROOT` as --set overrides (so worker processes re-apply them): every recorder writing EDF or BDF (its
    path as typed, as the recorder takes it: `Interview: part 1.edf`) gets bids_root ROOT, and the graph's name as its
    task when it names none. The recorder checks the rest (a subject) and writes the layout (nodes/io/recorder.py)."""
    import json
    import re
    from pathlib import Path

    paths = {n.id: p if isinstance(p := n.params.get("path"), str) else n.set_text.get("path", p) for n in config.nodes}
    recorders = [n for n in config.nodes if n.type == "recorder"]
    chosen = [n for n in recorders if str(paths[n.id]).lower().endswith((".edf", ".bdf"))]
    if not chosen:
        found = ", ".join(f"{n.id} ({paths[n.id]})" for n in recorders) or "none"
        raise GraphError(
            [
                (
                    "--bids",
                    0,
                    f"no recorder writes EDF or BDF, the formats a BIDS-EEG layout holds (recorders: {found})",
                    "record the signal to a .bdf (24-bit) or .edf path, e.g. --set 'rec.path=\"out/rec.bdf\"'",
                )
            ]
        )
    task = re.sub(r"[^A-Za-z0-9]", "", config.name)
    sets = []
    for n in chosen:
        sets.append(f"{n.id}.bids_root={json.dumps(str(Path(root).expanduser().resolve()))}")
        if n.params.get("task") is None and task:
            sets.append(f"{n.id}.task={json.dumps(task)}")
    return sets


def _one_bids_run_each(config) -> None:
    """Two recorders copying into one BIDS run (--bids on a graph that records the raw and the filtered signal to
    .bdf: both took the graph's name as task) recorded the whole session, then the second failed at close with
    mne-bids' '..._events.tsv already exists. Please set overwrite to True'. Said before the run now."""
    import os

    seen: dict[tuple, str] = {}
    for n in config.nodes:
        p = n.params
        if n.type != "recorder" or p.get("bids_root") is None:
            continue
        run = (os.path.abspath(os.path.expanduser(str(p["bids_root"]))), *(p.get(k) for k in _ENTITIES))
        key = tuple(str(v) if v is not None else None for v in run)
        if key in seen:
            said = ", ".join(f"{k} {v}" for k, v in zip(_ENTITIES, key[1:]) if v is not None)
            raise GraphError(
                [
                    (
                        config.file,
                        0,
                        f"recorders {seen[key]} and {n.id} copy their recordings into one BIDS run ({said}): the "
                        "second would fail at close, after the whole session",
                        f"give {n.id} a task of its own (--set '{n.id}.task=\"{key[3] or 'task'}{n.id}\"'), or record "
                        f"it to _raw.fif (--bids copies every EDF/BDF recorder)",
                    )
                ]
            )
        seen[key] = n.id


_ENTITIES = ("subject", "session", "task", "run")


def cmd_run(args) -> int:
    from .graph import build_graph
    from .monitor import LiveMonitor, add_monitor_nodes, uses_monitor
    from .runner import run_graph
    from .status import StatusLine
    from .summary import format_summary, nothing_flowed

    if args.json:
        _writable("--json", args.json)
    try:
        config = load_config(args.config, args.set)
    except GraphError as e:
        raise _with_the_rest(e) from None
    if args.bids:
        config = load_config(args.config, [*args.set, *bids_overrides(config, args.bids)])
    _one_bids_run_each(config)
    monitor = None
    if args.monitor or uses_monitor(config):
        config = add_monitor_nodes(config) if args.monitor else config
        graph = build_graph(config)
        try:
            monitor = LiveMonitor(
                graph,
                args.monitor_host,
                args.monitor_port,
                multiprocess=not args.in_process,
                remote=bool(getattr(args, "ray", None)),  # workers on other hosts send over tcp (placement)
            )
        except ImportError as e:
            print(f"error: the monitor needs bokeh ({e}); pip install 'wavegraph[monitor]'", file=sys.stderr)
            return 2
        except OSError as e:  # the port taken or privileged, or an address that is not this machine's
            import errno
            import socket

            port = e.errno in (errno.EADDRINUSE, errno.EACCES) and not isinstance(e, socket.gaierror)
            print(
                f"error: the monitor cannot listen on {args.monitor_host}:{args.monitor_port} ({e.strerror}); fix: "
                + (
                    "choose another --monitor-port, or 0 for any free port"
                    if port
                    else "give an address of this machine: --monitor-host 127.0.0.1, or 0.0.0.0 for every interface"
                ),
                file=sys.stderr,
            )
            return 2
        print(f"monitor: {monitor.url}", file=sys.stderr, flush=True)
    else:
        graph = build_graph(config)
    if note := unpaced_outlets(graph, args.speed):
        print(note, file=sys.stderr, flush=True)
    if not args.in_process:  # what validate notes of the key files (an open secret key, ...), said once here
        from .key_checks import key_notes

        for note in key_notes(config):
            print(f"note: {note}", file=sys.stderr, flush=True)
    show_status = args.status if args.status is not None else (_endless_or_live(graph) and not args.progress)
    status_line = StatusLine(graph=graph) if show_status else None
    try:
        if getattr(args, "ray", None):  # multi-host: each process group a Ray actor (pipeline.placement)
            from .placement import run_on_ray

            observer = _observers(monitor.observe if monitor else None, status_line)
            result = run_on_ray(graph, args.ray, args.speed, args.progress, observer, monitor, args.duration)
        else:
            result = run_graph(
                graph,
                speed=args.speed,
                in_process=args.in_process,
                progress=args.progress,
                observer=_observers(monitor.observe if monitor else None, status_line),
                duration=args.duration,
            )
    finally:
        if monitor is not None:
            monitor.close()
        if status_line is not None:
            status_line.close()
    print(format_summary(result.stats, result.processes))
    lost = False  # the summary asked for is not written: not exit code 0 (a script would go on without it)
    if args.json:
        try:
            _write_json(args.json, args, result)
        except OSError as e:  # checked before the run; the folder can still vanish or fill up meanwhile
            print(f"error: --json {args.json}: cannot write ({e.strerror or e})", file=sys.stderr)
            lost = True
    if result.extra.get("placement") or result.extra.get("clocks"):  # hosts, clock offsets (pipeline.clock)
        from .placement import format_hosts

        print(format_hosts(result.extra))
    status = " (failed)" if result.failure else " (interrupted)" if result.interrupted else ""
    if not status and result.extra.get("stopped") == "duration":
        status = f" (stopped after --duration {args.duration:g} s)"
    print(f"wall time {result.wall_s:.2f} s{status}")
    if not result.failure and (note := nothing_flowed(result.stats, result.interrupted)):
        print(note, file=sys.stderr)
    if result.failure:
        print(f"error: {result.failure}", file=sys.stderr)
    return result.exit_code or int(lost)
