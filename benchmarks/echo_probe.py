"""Where a ZeroMQ edge's extra echo time goes: `python -m wavegraph.benchmarks.echo_probe [--runs 5]`.

An echo over tcp loopback (round trip / 2, 8 KiB, 3,000 per run, the first 300 dropped) between this process and a
peer process, four ways, interleaved run by run so that load hits each alike:

- pair:  bare pyzmq, one PAIR socket each side (what `bench transport` compares against);
- pp:    bare pyzmq, a PUSH -> PULL pair each way (the topology of two wavegraph edges);
- work:  pp with `--work-us` (default 2.7, about a wavegraph hop's Python) of busy-waiting in C-level clock calls
         between each receive and the next send, on both sides: CPU time without Python objects;
- edge:  two wavegraph edges (EdgeSender -> EdgeReceiver each way).

If `work` costs about what `edge` does over `pp`, the extra is the time spent between receive and send (on a VM
whose idle vCPUs halt at once, ZeroMQ's I/O thread sleeps meanwhile and the send must wake it), not what the
Python does. Prints each run's p50 and p90 per way, then the medians over runs.

`--pin` pins each process to one CPU (this one to the first CPU it may use, the peer to the last), its ZeroMQ I/O
thread included (ZMQ_THREAD_AFFINITY_CPU_ADD): the hand-over between a process's thread and its I/O thread is then
a switch on one core, never a wake-up of another.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import zmq
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender

WAYS = ("pair", "pp", "work", "edge")
N, WARM, SIZE = 3000, 300, 8192


def _busy(us: float) -> None:
    end = time.perf_counter_ns() + int(us * 1000)
    while time.perf_counter_ns() < end:
        pass


ANY_PORT = "tcp://127.0.0.1:*"


def _context(pin: int | None) -> zmq.Context:
    """A context whose I/O thread (and this process) runs on CPU `pin` only, when given."""
    ctx = zmq.Context()
    if pin is not None:
        os.sched_setaffinity(0, {pin})
        ctx.set(zmq.THREAD_AFFINITY_CPU_ADD, pin)  # before the first socket starts the I/O thread
    return ctx


def _peer(way: str, there: str, back: str, work_us: float, pin: int | None) -> None:
    ctx = _context(pin)
    if way == "pair":
        s = ctx.socket(zmq.PAIR)
        s.connect(there)
        for _ in range(N):
            s.send(s.recv())
    elif way == "edge":
        rx, tx = EdgeReceiver(there, None, bind=False, context=ctx), EdgeSender(back, None, context=ctx)
        for _ in range(N):
            tx.send(rx.recv())
        tx.close()
        rx.close()
    else:
        pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
        pull.connect(there)
        push.connect(back)
        for _ in range(N):
            m = pull.recv()
            if way == "work":
                _busy(work_us)
            push.send(m)
    time.sleep(0.3)  # the last reply leaves before the context goes
    ctx.destroy(linger=1000)


def _run(way: str, work_us: float, pin: bool) -> np.ndarray:
    allowed = sorted(os.sched_getaffinity(0)) if pin else []  # restored after the run
    ctx = _context(allowed[0] if pin else None)
    x = np.zeros(SIZE // 4, np.float32)
    buf = x.tobytes()
    if way == "edge":
        tx = EdgeSender(ANY_PORT, None, bind=True, context=ctx)
        rx = EdgeReceiver(ANY_PORT, None, context=ctx)
        there, back = tx.endpoint, rx.endpoint
    else:
        first = ctx.socket(zmq.PAIR if way == "pair" else zmq.PUSH)
        first.bind(ANY_PORT)
        there, back = first.getsockopt_string(zmq.LAST_ENDPOINT), "-"
        if way != "pair":
            second = ctx.socket(zmq.PULL)
            second.bind(ANY_PORT)
            back = second.getsockopt_string(zmq.LAST_ENDPOINT)
    peer = subprocess.Popen(
        [sys.executable, "-m", __spec__.name, "_peer", way, there, back, str(work_us), str(allowed[-1]) if pin else "-"]
    )
    times, clock = [], time.perf_counter_ns
    for _ in range(N):
        t = clock()
        if way == "edge":
            tx.send(Chunk(x))  # pyright: ignore[reportPossiblyUnboundVariable]
            rx.recv()  # pyright: ignore[reportPossiblyUnboundVariable]
        elif way == "pair":
            first.send(buf)  # pyright: ignore[reportPossiblyUnboundVariable]
            first.recv()  # pyright: ignore[reportPossiblyUnboundVariable]
        else:
            if way == "work":
                _busy(work_us)
            first.send(buf)  # pyright: ignore[reportPossiblyUnboundVariable]
            second.recv()  # pyright: ignore[reportPossiblyUnboundVariable]
        times.append(clock() - t)
    peer.wait(timeout=60)
    ctx.destroy(linger=0)
    if pin:
        os.sched_setaffinity(0, allowed)
    return np.array(times[WARM:]) / 2e3  # one hop, µs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_peer"]:
        _peer(argv[1], argv[2], argv[3], float(argv[4]), None if argv[5] == "-" else int(argv[5]))
        return 0
    ap = argparse.ArgumentParser(
        prog="python -m wavegraph.benchmarks.echo_probe", description="where a ZeroMQ edge's extra echo time goes"
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work-us", type=float, default=2.7)
    ap.add_argument(
        "--pin",
        action="store_true",
        help="each process and its I/O thread on one CPU (the first allowed here, the last the peer)",
    )
    a = ap.parse_args(argv)
    p50s: dict[str, list[float]] = {w: [] for w in WAYS}
    for _ in range(a.runs):
        for way in WAYS:
            hop = _run(way, a.work_us, a.pin)
            p50s[way].append(float(np.percentile(hop, 50)))
            print(f"{way:5s} p50 {p50s[way][-1]:6.1f} µs  p90 {np.percentile(hop, 90):6.1f} µs", flush=True)
    print(f"median p50 over {a.runs} runs, tcp, 8 KiB, one hop{', pinned' if a.pin else ''}:")
    for way in WAYS:
        print(f"  {way:5s} {np.median(p50s[way]):6.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
