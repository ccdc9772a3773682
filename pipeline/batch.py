"""`wavegraph batch GRAPH --inputs GLOB --out DIR`: run a graph once per recording, as fast as possible.

Each input file becomes one run of the graph in one process (the in-process runner: deterministic,
so each file's output is bit-identical to running that file alone). The graph's file source takes the
input (`--source NODE` when the graph has several), and every recorder writes under DIR/<input stem>/
with its own file name (inputs under DIR are not taken; nor the .eeg/.vmrk of a matched BrainVision
.vhdr, the .fdt of an EEGLAB .set, the later parts x_raw-1.fif, ... of a matched split FIF, nor the .json/.tsv sidecars of
a BIDS tree, which a note names; a matched .eeg/.vmrk/.fdt whose header is beside it stands for that header). A run
that completed leaves DIR/<stem>/.wavegraph-done.json (the input's size and modification time and the
overrides); a later batch skips those, so an interrupted batch resumes (an input renamed since: its complete folder
is moved to its new name, said, not run again; pipeline/batch_renames.py).
A failing file does not stop the others: failures are listed at the end and the exit code is 1. What a run
warned of its input (a file cut short, ...) follows, one WARNING line each, and is in --json's `warnings`.

Engines: `local` (default), a process pool of --jobs workers (default: the CPU count); `ray`, one Ray task
per file (`pip install 'wavegraph[ray]'`; --ray ADDRESS joins a cluster, --task-cpus/--task-gpus set
per-task resources, e.g. --task-gpus 1 for a model graph).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import errno
import glob
import json
import logging
import math
import multiprocessing
import os
import shlex
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .batch_inputs import folders_left_out, matched_inputs, sidecars, stems
from .batch_pool import (
    new_pool,
    processes,
    run_alone,
    run_pooled,
    show_progress,
    signals_as_ctrl_c,
    started,
    stop_workers,
)
from .config import GraphError, load_config

DONE = ".wavegraph-done.json"


@dataclass(frozen=True)
class Job:
    graph: str
    input: str
    out_dir: str
    overrides: tuple[str, ...]


@dataclass
class Outcome:
    input: str
    status: str  # "done", "skipped", "failed" or "interrupted" (Ctrl-C: partial or not started)
    wall_s: float = 0.0
    error: str = ""
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the run said of its input (a file cut short, ...)


def plan(graph: str, pattern: str, out_dir: str, overrides: list[str], source: str | None = None) -> list[Job]:
    """One Job per input; GraphError when the graph cannot take inputs this way."""
    if graph == "-":  # each job reads the graph again, in its own process, and its hash marks the outputs done
        raise GraphError([("<stdin>", 0, "batch reads the graph in every job", "save it to a file and give its path")])
    config = load_config(graph, overrides)
    sources = [n.id for n in config.nodes if n.type == "file_source"]
    if source is None:
        if len(sources) != 1:
            raise GraphError(
                [
                    (
                        config.file,
                        0,
                        f"batch needs one file_source to feed, the graph has {len(sources)}"
                        + (f" ({', '.join(sources)})" if sources else ""),
                        "name it with --source NODE" if sources else "add a file_source node",
                    )
                ]
            )
        source = sources[0]
    elif source not in sources:
        raise GraphError(
            [
                (
                    config.file,
                    0,
                    f"--source {source}: not a file_source node of the graph",
                    f"use one of: {', '.join(sources) or 'none'}",
                )
            ]
        )
    mine = [o for o in overrides if o.partition("=")[0].strip() == f"{source}.path"]
    if mine:  # each input replaces it: the --set was dropped without a word
        raise GraphError(
            [
                (
                    config.file,
                    0,
                    f"--set {mine[0]}: the batch sets {source}.path to each file --inputs matches",
                    f"give that file through --inputs (e.g. --inputs {shlex.quote(mine[0].partition('=')[2])}), "
                    f"not --set {source}.path",
                )
            ]
        )
    recorders = [n for n in config.nodes if n.type == "recorder"]
    if not recorders:
        raise GraphError([(config.file, 0, "batch: the graph records nothing", "add a recorder node")])
    if bids := [r.id for r in recorders if r.params.get("bids_root") is not None]:  # every input one subject and run,
        raise GraphError(  # each replacing the last in the layout (the batch's overwrite), all said done
            [
                (
                    config.file,
                    0,
                    f"batch: recorder {bids[0]} copies its recording into a BIDS layout (bids_root), where every input "
                    "would be the same subject, session, task and run, each replacing the one before",
                    f"drop bids_root and its subject/session/task/run from {bids[0]} (the batch records each input to "
                    "OUT/<stem>/), then copy each into the layout with its own labels: mne_bids.write_raw_bids, or "
                    f"`wavegraph run GRAPH --set '{source}.path=\"FILE\"' --set '{bids[0]}.subject=\"01\"' "
                    "--bids ROOT` per recording",
                )
            ]
        )
    out_root = Path(out_dir).resolve()
    inputs = matched_inputs(pattern, out_root)
    jobs = []
    for path, stem in zip(inputs, stems(inputs)):
        target = out_root / stem
        sets = [f"{source}.path={json.dumps(str(path))}"]
        names = [Path(str(r.params["path"])).name for r in recorders]
        if len(set(names)) < len(names):  # two recorders with one file name in different folders
            names = [f"{r.id}_{name}" for r, name in zip(recorders, names)]
        # the per-input folder belongs to the batch: a re-run after an interruption replaces its partial files
        sets += [f"{r.id}.path={json.dumps(str(target / name))}" for r, name in zip(recorders, names)]
        sets += [f"{r.id}.overwrite=true" for r in recorders]
        jobs.append(Job(graph, str(path), str(target), tuple(overrides) + tuple(sets)))
    return jobs


def _signature(job: Job) -> dict:
    """What makes an output complete and current: the input file, the graph file, the overrides, the version."""
    import hashlib

    import wavegraph

    st = os.stat(job.input)
    graph = hashlib.sha256(Path(job.graph).read_bytes()).hexdigest()
    return {
        "input": job.input,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "graph_sha256": graph,
        "overrides": list(job.overrides),
        "wavegraph": wavegraph.__version__,
    }


def is_done(job: Job) -> bool:
    marker = Path(job.out_dir) / DONE
    try:
        done = json.loads(marker.read_text())
        return isinstance(done, dict) and {k: v for k, v in done.items() if k != "warnings"} == _signature(job)
    except (OSError, ValueError):
        return False


def _said_before(job: Job) -> list[str]:
    """What the run that completed `job` warned of its input (a file cut short, ...): a resumed batch skips the file
    and said none of it, its summary and --json as if the input were whole."""
    try:
        return [str(line) for line in json.loads((Path(job.out_dir) / DONE).read_text()).get("warnings", [])]
    except (OSError, ValueError, AttributeError):
        return []


def run_job(job: Job) -> Outcome:
    """Run one file in this process (the unit of work of every engine)."""
    from .graph import build_graph
    from .runner import run_graph

    if is_done(job):
        return Outcome(job.input, "skipped", outputs=_outputs(Path(job.out_dir)), warnings=_said_before(job))
    t = time.monotonic()
    out = Path(job.out_dir)
    # the run's warnings go with its outcome: said by a worker they ran into the progress bar, or were lost (ray)
    said = _Said()
    logging.getLogger().addHandler(said)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / DONE).unlink(missing_ok=True)
        graph = build_graph(load_config(job.graph, list(job.overrides)))
        result = run_graph(graph, speed=None, in_process=True)
    except GraphError as e:
        return Outcome(job.input, "failed", time.monotonic() - t, "; ".join(e.lines()), warnings=said.lines)
    except Exception as e:  # noqa: BLE001 — one file's failure must not stop the batch
        return Outcome(job.input, "failed", time.monotonic() - t, f"{type(e).__name__}: {e}", warnings=said.lines)
    finally:
        logging.getLogger().removeHandler(said)
    if result.failure or result.interrupted:
        return Outcome(job.input, "failed", time.monotonic() - t, result.failure or "interrupted", warnings=said.lines)
    (out / DONE).write_text(json.dumps(_signature(job) | {"warnings": said.lines}))
    return Outcome(job.input, "done", time.monotonic() - t, outputs=_outputs(out), warnings=said.lines)


def _outputs(out: Path) -> list[str]:
    return sorted(str(p) for p in out.iterdir() if p.name != DONE)


class _Said(logging.Handler):
    """Keeps the warnings of one run, each once, in order."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if line not in self.lines:
            self.lines.append(line)


def run_local(jobs: list[Job], workers: int, progress: bool = True) -> list[Outcome]:
    """The jobs on a pool of `workers` processes. A worker killed (the out-of-memory killer) breaks its pool and every
    file in it: the files that had started run again each alone, so that only the one that kills its process fails
    (saying the signal); those not started go on a fresh pool together (run alone too, a batch of 1,000 files ran one
    at a time after one kill)."""
    outcomes: list[Outcome] = []
    if progress:
        show_progress(0, len(jobs), 0)
    starts = multiprocessing.get_context("spawn").SimpleQueue()
    pending, procs, ran, pool = list(jobs), [], set(), None

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if progress:
            show_progress(len(outcomes), len(jobs), sum(o.status == "failed" for o in outcomes))

    try:
        while pending:
            pool = new_pool(workers, starts)
            futures = {pool.submit(run_pooled, job): job for job in pending}  # (workers that end with this process)
            procs, broken = processes(pool), []
            for fut in cf.as_completed(futures):
                ran |= started(starts)  # (taken as they come: a pipe holds some hundreds, then a worker's put waits)
                try:
                    done(fut.result())
                except cf.process.BrokenProcessPool:
                    broken.append(futures[fut])
                except Exception as e:  # noqa: BLE001 — a worker process that died
                    done(Outcome(futures[fut].input, "failed", error=f"worker died: {e}"))
            if not broken:
                pool.shutdown(wait=True)
                break
            pool.shutdown(wait=False, cancel_futures=True)  # (its other workers gone first: one still finalising a
            stop_workers(procs, 10.0, terminate=False)  # file held its spill's lock, and the rerun of it failed)
            ran |= started(starts)
            pending = [job for job in broken if job.input not in ran]
            for job in (job for job in broken if job.input in ran):
                done(run_alone(job))
    except KeyboardInterrupt:  # Ctrl-C: start nothing more, stop the running files (their markers stay unwritten)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        stop_workers(procs, 1.0, terminate=True)  # a worker that finalises its file gets 1 s, then it is killed
        ended = {o.input for o in outcomes}
        late = [j for j in jobs if j.input not in ended]  # one may have completed (marker written) meanwhile
        outcomes += [Outcome(j.input, "done", outputs=_outputs(Path(j.out_dir))) for j in late if is_done(j)]
        raise Interrupted(outcomes, [j.input for j in late if not is_done(j)]) from None
    return outcomes


class Interrupted(Exception):
    """Ctrl-C during a batch; `outcomes` holds the files that ended before it."""

    def __init__(self, outcomes: list[Outcome], unfinished: list[str] | None = None):
        super().__init__("interrupted")
        self.outcomes = outcomes
        self.unfinished = unfinished or []  # the inputs that did not end: partial or not started


def run_ray(
    jobs: list[Job], address: str | None, task_cpus: float, task_gpus: float, progress: bool = True
) -> list[Outcome]:
    try:
        import ray
    except ImportError as e:
        raise SystemExit(f"--engine ray needs Ray: pip install 'wavegraph[ray]' ({e})") from None
    started_here = not ray.is_initialized()
    if started_here:
        # no address: a new Ray instance on this machine ("local"), never one some other program left running
        local: dict[str, Any] = {} if address else {"_node_ip_address": "127.0.0.1"}
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False, **local)
    try:
        task = ray.remote(num_cpus=task_cpus, num_gpus=task_gpus, max_retries=0)(run_job)
        pending = {task.remote(job): job for job in jobs}
        outcomes: list[Outcome] = []
        while pending:
            try:
                ready, _ = ray.wait(list(pending), num_returns=1)
            except KeyboardInterrupt:  # Ctrl-C: stop the tasks, say which files did not finish (as run_local)
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise Interrupted(outcomes, sorted(j.input for j in pending.values())) from None
            job = pending.pop(ready[0])
            try:
                outcomes.append(ray.get(ready[0]))
            except Exception as e:  # noqa: BLE001 — a task or node that died
                outcomes.append(Outcome(job.input, "failed", error=f"ray task failed: {e}"))
            if progress:
                show_progress(len(outcomes), len(jobs), sum(o.status == "failed" for o in outcomes))
        return outcomes
    finally:
        if started_here:
            ray.shutdown()


def _reason(error: str) -> str:
    """One line: a runtime failure's first line names the node, its last line (the exception) says why."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    return "" if not lines else lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"


def _say_outcomes(outcomes: list[Outcome], each: int = 3) -> None:
    """FAILED and WARNING lines, by input. A reason that more than `each` files share (a graph error: every file
    fails alike) is said once with the count and the first files, not once per file."""
    ordered = sorted(outcomes, key=lambda o: o.input)
    failed = [(_reason(o.error), o.input) for o in ordered if o.status == "failed"]
    _say_grouped("FAILED", failed, each)
    _say_grouped("WARNING", [(line, o.input) for o in ordered for line in o.warnings], each)


def _say_grouped(label: str, said: list[tuple[str, str]], each: int) -> None:
    """One line per (text, input), or one per text that more than `each` inputs share."""
    by_text: dict[str, list[str]] = {}
    for text, name in said:
        by_text.setdefault(text, []).append(name)
    for text, inputs in by_text.items():
        if len(inputs) <= each:
            for name in inputs:
                print(f"{label} {name}: {text}")
        else:
            shown = ", ".join(inputs[:each])
            print(f"{label} {len(inputs)} files ({shown}, ... and {len(inputs) - each} more): {text}")


def _unwritable_outputs(out: str, json_path: str | None) -> str:
    """Why --out or --json cannot be written ("" when both can)."""
    from .cli import unwritable

    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = "it is a file" if Path(out).is_file() else e.strerror or e
        if Path(out).is_file() or e.errno == errno.EEXIST:
            return f"--out {out}: cannot make the output folder ({why}); fix: give a folder, e.g. --out {Path(out).with_name(Path(out).stem + '_out')}"
        return f"--out {out}: cannot make the output folder ({why}); fix: give a folder you can write"
    try:  # an existing folder on a read-only disk, or not ours: every file failed alike, '[Errno 30] ...' each
        os.rmdir(tempfile.mkdtemp(prefix=".wavegraph-check-", dir=out))
    except OSError as e:
        return f"--out {out}: cannot write in that folder ({e.strerror or e}); fix: give a folder you can write"
    why = unwritable(json_path) if json_path else ""
    return f"--json {json_path}: cannot write it ({why}); fix: choose a file in a writable folder" if why else ""


def _checked(kind, least: float, what: str):
    """An argparse type: a finite number of `kind` >= `least` (--jobs -1, joblib's 'every CPU', ran 1 worker, and
    --jobs 0 as well, without a word; --task-gpus nan was taken)."""

    def check(value: str):
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not math.isfinite(number) or number < least:
            raise argparse.ArgumentTypeError(f"takes {what}, got {value!r}")
        return number

    return check


def _text(value: str) -> str:
    if not value.strip():  # --out "$OUT" with OUT unset: the current folder, said as '--out  is ...'
        raise argparse.ArgumentTypeError("is empty (a shell variable that was unset or empty expands to nothing)")
    return value


def _why_none(pattern: str) -> str:
    """Why a pattern matched no file, and the fix: names in another case ('*.edf' for S001.EDF: a glob tells case
    here), files one folder or more down ('recs/*.edf' for recs/s01/x.edf: ** takes sub-folders), no such folder."""
    files = [p for p in glob.glob(pattern, recursive=True) if Path(p).is_file()]
    if not files and "[" not in pattern:
        anycase = "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in pattern)
        if found := sorted(p for p in glob.glob(anycase, recursive=True) if Path(p).is_file()):
            suffix = Path(found[0]).suffix
            fix = pattern[: len(pattern) - len(suffix)] + suffix if pattern.lower().endswith(suffix.lower()) else ""
            return (
                f": names are case-sensitive here, and {len(found)} files match it in another case ({found[0]}"
                f"{', ...' if len(found) > 1 else ''}); fix: "
                + (f"--inputs {shlex.quote(fix)}" if fix else "write the pattern in their case")
            )
    head, tail = os.path.split(pattern)
    if not any(c in pattern for c in "*?["):  # one file named: a typo, or the shell expanded a pattern left unquoted
        return f": there is no such file (from {Path.cwd()}); fix: give the path of a recording, or a quoted pattern"
    if "**" not in pattern and tail and not any(c in head for c in "*?["):
        deeper = os.path.join(head, "**", tail)
        if found := sorted(p for p in glob.glob(deeper, recursive=True) if Path(p).is_file()):
            return (
                f": {len(found)} files in its sub-folders do ({found[0]}{', ...' if len(found) > 1 else ''}); fix: "
                f"--inputs {shlex.quote(deeper)} (** takes every sub-folder)"
            )
        if head and not Path(head).is_dir():
            return f": there is no folder {head} (from {Path.cwd()}); fix: give the path of the recordings' folder"
    return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph batch", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("graph")
    ap.add_argument("--inputs", required=True, type=_text, help="glob of input recordings, e.g. 'recordings/**/*.edf'")
    ap.add_argument("--out", required=True, type=_text, help="output folder; each input's recordings go to OUT/<stem>/")
    ap.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE")
    ap.add_argument("--source", help="the file_source node that takes the input (when there are several)")
    ap.add_argument("--engine", choices=["local", "ray"], default="local")
    ap.add_argument(
        "--jobs",
        type=_checked(int, 1, "a count of 1 or more (left out: the CPU count)"),
        default=os.cpu_count() or 1,
        help="local engine: parallel files",
    )
    ap.add_argument("--ray", metavar="ADDRESS", help="ray engine: a cluster to join (default: start one here)")
    ap.add_argument("--task-cpus", type=_checked(float, 0, "a number >= 0"), default=1.0)
    ap.add_argument("--task-gpus", type=_checked(float, 0, "a number >= 0"), default=0.0)
    ap.add_argument("--json", metavar="PATH", help="write every file's outcome here")
    args, extra = ap.parse_known_args(argv)
    if extra and all(os.path.exists(x) for x in extra):  # --inputs recs/*.edf unquoted: the shell gave it the first
        taken = [args.inputs, *extra]  # file and the rest as words argparse said 'unrecognized arguments' of
        suffixes = {Path(t).suffix for t in taken}
        guess = os.path.join(os.path.commonpath(taken), "*" + (suffixes.pop() if len(suffixes) == 1 else ""))
        ap.error(
            f"--inputs took {args.inputs} alone, and {len(extra)} more files followed it ({extra[0]}"
            f"{', ...' if len(extra) > 1 else ''}): the shell expanded a pattern left unquoted; fix: quote it, so "
            f"that the batch expands it (** too), e.g. --inputs {shlex.quote(guess)}"
        )
    if extra:
        ap.error(f"unrecognized arguments: {' '.join(extra)}")
    if problem := _unwritable_outputs(args.out, args.json):  # before any file runs, not a traceback at the end
        print(f"error: {problem}", file=sys.stderr)
        return 2
    jobs = plan(args.graph, args.inputs, args.out, args.set, args.source)
    if meta := sidecars(args.inputs, args.out):
        print(
            f"{'error' if not jobs else 'note'}: --inputs {args.inputs!r} matches {len(meta)} sidecar or table files "
            f"(.json, .tsv, .md: metadata, not recordings), not taken: {', '.join(meta[:3])}"
            + (", ..." if len(meta) > 3 else "")
            + ("; fix: give a pattern of the recordings, e.g. 'bids/**/*_eeg.edf'" if not jobs else ""),
            file=sys.stderr,
        )
        if not jobs:
            return 2
    if jobs and (folders := folders_left_out(args.inputs, args.out)):  # (with no job: said below, with the fix)
        print(
            f"note: --inputs {args.inputs!r} matches {len(folders)} folder(s) that hold no recording of their own, not "
            f"taken: {', '.join(folders[:3])}" + (", ..." if len(folders) > 3 else ""),
            file=sys.stderr,
        )
    if not jobs:
        out = Path(args.out).resolve()
        inside = [p for p in glob.glob(args.inputs, recursive=True) if Path(p).resolve().is_relative_to(out)]
        if any(Path(p).is_file() for p in inside):  # --out recs with --inputs 'recs/*.wav': all taken for outputs
            print(
                f"error: every file --inputs {args.inputs!r} matches lies in --out {args.out}, where the batch writes "
                f"(files there are taken for its outputs, not inputs); fix: give --out a folder outside the inputs, "
                f"e.g. --out {shlex.quote(str(out.with_name(out.name + '_out')))}",
                file=sys.stderr,
            )
            return 2
        if Path(args.inputs).is_dir():  # `--inputs recordings`: a folder, where a pattern of its files is wanted
            from collections import Counter

            suffixes = Counter(p.suffix for p in Path(args.inputs).rglob("*") if p.is_file() and p.suffix)
            pattern = str(Path(args.inputs) / "**" / f"*{suffixes.most_common(1)[0][0] if suffixes else ''}")
            print(
                f"error: --inputs {args.inputs} is a folder; fix: give a pattern of the files in it (quoted, so that "
                f"the batch expands it, ** for its sub-folders too), e.g. --inputs {shlex.quote(pattern)}",
                file=sys.stderr,
            )
            return 2
        if folders := sorted(p for p in glob.glob(args.inputs, recursive=True) if Path(p).is_dir()):
            print(  # --inputs 'recs/*' with recs/s1/, recs/s2/: folders, where their files are wanted
                f"error: --inputs {args.inputs!r} matches only folders ({', '.join(folders[:3])}"
                f"{', ...' if len(folders) > 3 else ''}), no file; fix: a pattern of the files in them, e.g. "
                f"--inputs {shlex.quote(str(Path(args.inputs) / '**' / '*'))} (** for their sub-folders too)",
                file=sys.stderr,
            )
            return 2
        print(f"error: no file matches --inputs {args.inputs!r}{_why_none(args.inputs)}", file=sys.stderr)
        return 2
    from .batch_renames import follow_renames  # an input renamed since it was done: its outputs follow it

    for line in follow_renames(jobs, args.out):
        print(line, file=sys.stderr)
    t = time.monotonic()
    # complete: no worker needed (their outputs still named, for --json's reader)
    skipped = [
        Outcome(j.input, "skipped", outputs=_outputs(Path(j.out_dir)), warnings=_said_before(j))
        for j in jobs
        if is_done(j)
    ]
    todo = [j for j in jobs if not is_done(j)]
    interrupted = False
    try:
        with signals_as_ctrl_c():  # kill, a scheduler's time limit, a closed terminal: stopped as Ctrl-C
            if not todo:
                outcomes = []
            elif args.engine == "ray":
                outcomes = run_ray(todo, args.ray, args.task_cpus, args.task_gpus)
            else:
                outcomes = run_local(todo, min(args.jobs, len(todo)))
    except Interrupted as e:
        outcomes, interrupted = e.outcomes, True
        # a file whose run saw the Ctrl-C itself ended "interrupted": partial too, not failed
        cut = sorted(e.unfinished + [o.input for o in outcomes if o.status == "failed" and o.error == "interrupted"])
        outcomes = [o for o in outcomes if o.input not in cut] + [Outcome(i, "interrupted") for i in cut]
        print(
            f"\ninterrupted: {len(cut)} files did not finish (their outputs, if any, are partial and not marked "
            f"complete): {', '.join(cut)}; fix: run the same command again to resume",
            file=sys.stderr,
        )
    outcomes += skipped
    wall = time.monotonic() - t
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed", "interrupted")}
    print(
        f"{len(jobs)} files in {wall:.1f} s ({counts['done'] / wall if wall else 0:.2f} files/s): "
        f"{counts['done']} done, {counts['skipped']} skipped (complete), {counts['failed']} failed"
        + (f", {counts['interrupted']} interrupted" if interrupted else "")
    )
    _say_outcomes(outcomes)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 130 if interrupted else 1 if counts["failed"] else 0
