"""The local batch engine's (pipeline/batch.py) processes: its pool workers end with it when it is killed; a SIGTERM or
SIGHUP stops it as Ctrl-C does; a file whose process is killed (the kernel's out-of-memory killer) fails alone.

Before: `kill -9` of a batch left its pool workers running on (they took the queued files, then waited for more
for ever: orphans that a re-run raced for the same output folders), and `kill` (SIGTERM: a scheduler's time limit,
`timeout`) or a closed terminal (SIGHUP) ended it with 'Terminated', no summary, exit 143, and the same orphans. One
worker killed broke the whole pool: every file in it failed, 'worker died: A process in the process pool was terminated
abruptly', also those running in the other workers and those not started."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

_watching = threading.Lock()
_watched = False
_orphaned = threading.Event()
_busy = threading.Event()  # a file is running in this worker
_starts = None  # the pool's queue: each file's input as a worker starts it (which files ran when a worker was killed)


def show_progress(done: int, total: int, failed: int) -> None:
    """The batch's progress bar, on stderr."""
    filled = int(30 * done / max(total, 1))
    sys.stderr.write(
        f"\r[{'#' * filled}{' ' * (30 - filled)}] {done}/{total} files" + (f", {failed} failed" if failed else "")
    )
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run_pooled(job):
    """run_job(job) in a pool worker that ends when its parent is gone: at once when idle, else after the run, which
    is stopped as by Ctrl-C (it drains: its recorders finalise, no done marker is written, so a re-run takes it again)."""
    from .batch import run_job

    _follow_parent()
    _busy.set()
    if _starts is not None:
        _starts.put(job.input)
    try:
        return run_job(job)
    finally:
        _busy.clear()
        if _orphaned.is_set():
            os._exit(1)  # nobody takes the outcome, nor sends another file


def _share_starts(starts) -> None:
    global _starts
    _starts = starts


def new_pool(workers: int, starts) -> cf.ProcessPoolExecutor:
    """A pool of `workers` spawned processes (no fork of a process that may hold threads or torch) whose workers put
    each file's input on `starts` (a spawn context's SimpleQueue) as they start it."""
    ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max(1, workers), mp_context=ctx, initializer=_share_starts, initargs=(starts,))


def processes(pool: cf.ProcessPoolExecutor) -> list:
    """A pool's worker processes (spawned by submit; shutdown() forgets them)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def started(starts) -> set[str]:
    """The inputs the pool's workers have started so far (taken off the queue)."""
    out = set()
    while not starts.empty():
        out.add(starts.get())
    return out


def stop_workers(procs: list, grace: float, terminate: bool) -> None:
    """End a pool's worker processes: `terminate` asks them to stop (a run drains: its recorders finalise); each gets
    until `grace` seconds from now, then it is killed. A broken pool's were asked already (a second signal would cut
    a finalise short), and its own shutdown(wait=True) waited without end for a worker stuck in a node."""
    if terminate:
        for proc in procs:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)


def run_alone(job):
    """run_job(job) in a process of its own: a file of a pool that broke (a worker killed: a broken pool fails every
    file in it) runs again alone, so that only the file that kills its process fails, saying how it ended."""
    from .batch import Outcome
    from .deaths import killed_by

    pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    procs = []
    try:
        future = pool.submit(run_pooled, job)
        procs = processes(pool)
        outcome = future.result()  # complete already: its worker ended it as the pool broke (its outcome was lost)
        return dataclasses.replace(outcome, status="done") if outcome.status == "skipped" else outcome
    except cf.process.BrokenProcessPool:
        for proc in procs:
            proc.join(5.0)
        deadline = time.monotonic() + 5.0  # the pool's own thread may reap it first: our join then sees no exit code
        while procs and procs[0].exitcode is None and time.monotonic() < deadline:  # until that thread has set it
            time.sleep(0.02)
        code = procs[0].exitcode if procs else None
        return Outcome(job.input, "failed", error=f"its process died{killed_by(code)}, also when it ran alone")
    except KeyboardInterrupt:  # stopped as the pool's workers are (run_local), not left running after the batch
        stop_workers(procs, 1.0, terminate=True)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _follow_parent() -> None:
    global _watched
    parent = multiprocessing.parent_process()  # (None outside a multiprocessing worker: nothing to follow)
    with _watching:
        if _watched or parent is None:
            return
        _watched = True
    threading.Thread(target=_watch, args=(parent.sentinel,), name="wavegraph-parent-watch", daemon=True).start()


def _watch(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])  # ready once the parent has exited, however it ended
    _orphaned.set()
    if not _busy.is_set():
        os._exit(1)
    os.kill(os.getpid(), signal.SIGTERM)  # the run's stop handler drains it; run_pooled then ends the worker


@contextlib.contextmanager
def signals_as_ctrl_c():
    """SIGTERM and SIGHUP raise KeyboardInterrupt, as Ctrl-C does (in the main thread; elsewhere nothing changes)."""
    sigs = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    main = threading.current_thread() is threading.main_thread()
    old = {s: signal.signal(s, signal.default_int_handler) for s in sigs} if main else {}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
