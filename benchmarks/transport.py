"""Benchmarks. `python -m wavegraph.benchmarks.transport transport [options]` (the CLI's `wavegraph bench transport`).

bench_transport(argv) measures one hop of a wavegraph edge (EdgeSender -> EdgeReceiver: header encode,
send, receive, header decode and checks, Chunk construction, seq check) against bare pyzmq, in the
same run, over ipc:// and tcp:// loopback and the shared-memory edge (`shm`: pipeline.shm as the runner's
`transport: auto` makes it on one host: payloads from 64 KiB, and smaller ones too large for a lane
entry, through a ring in /dev/shm, the messages through the edge's lane, pipeline.lane; the reference for
its rows is bare pyzmq over ipc://), for 64 B, 8 KiB, 64 KiB and 1 MiB payloads.

Latency, the ratio's basis: an echo between this process and a peer process. Bare pyzmq: a PAIR
socket pair, the peer receives and sends the message back. wavegraph: two edges (there and back); the
peer recv()s the Chunk and send()s it back. One hop = round trip / 2, timed with perf_counter_ns, the
same way for both, so the ratio compares like with like. Both use the same copy rule (zero-copy at
and above 64 KiB). Blocks of ref and wavegraph round trips alternate, so load from other processes
hits both alike; "paired" is the median over blocks of the per-block p50 ratio, steadier than the
ratio of overall p50s on a busy machine. The target (wavegraph p50 <= 1.3x bare at 8 KiB) is judged
on the ratio of overall p50s. A second wavegraph column gives the true one-way latency of the return hop: the
receiver's time.monotonic_ns() minus the send stamp in the frame header (CLOCK_MONOTONIC is shared by
the processes of one host).

Throughput: on a 'go' from this process the peer streams N messages as fast as the socket takes
them (bare PUSH/PULL vs a block-policy wavegraph edge, same high-water marks), timed here from the
go to the last message; best of --rounds alternating rounds.

Peers are started with subprocess (`python -m wavegraph.benchmarks.transport _peer ...`, arguments on the command
line; nothing is pickled).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time

import numpy as np
import zmq
from wavegraph.benchmarks.bench_checks import check_outputs, picture
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.shm import ShmEdgeReceiver, ShmEdgeSender, shm_prefix
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import COPY_THRESHOLD, EdgeReceiver, EdgeSender, ipc_endpoint, tcp_endpoint

SIZES = (64, 8 * 1024, 64 * 1024, 1024 * 1024)
MAX_SIZE = 256 * 1024 * 1024  # bytes: the largest payload --sizes takes (a chunk that large is no stream's)
CHANNELS = 8
HWM = 64
BLOCK = 100  # round trips per alternating block
TARGET_SIZE, TARGET_RATIO = 8 * 1024, 1.3  # issue 12: 8 KiB p50 <= 1.3x bare
THR_SIZE, THR_RATIO = 64, 0.5  # and 64 B throughput >= 0.5x bare
SPEC = signal_spec(1000.0, [f"ch{i}" for i in range(CHANNELS)])


def _payload(size: int) -> np.ndarray:
    """A (channels, samples) float64 signal of exactly `size` bytes."""
    if size <= 0 or size % (CHANNELS * 8):
        raise ValueError(f"payload size {size} is not a positive multiple of {CHANNELS * 8} bytes")
    return np.random.default_rng(size).standard_normal((CHANNELS, size // (CHANNELS * 8)))


def _lat_iters(size: int, iters: int) -> int:
    return max(BLOCK, iters // 10) if size >= 1024 * 1024 else iters


def _thr_count(size: int, mbytes: float) -> int:
    return int(min(20000, max(100, mbytes * 1e6 / size)))


def _schedule(size: int, iters: int) -> list[int]:
    n = _lat_iters(size, iters)
    return [BLOCK] * (1 + math.ceil(n / BLOCK))  # the first block of each is a warm-up


def _copy(size: int) -> bool:
    return size < COPY_THRESHOLD


def _sender(endpoint: str, shm: str, **kw) -> EdgeSender:
    """The edge's sending end as the multi-process runner makes it: batch=True (it may hold small chunks
    while the pipe is full; the streams here end with end-of-stream, which sends them). The echo loops
    flush() after each send, as the worker does every turn: a NOBLOCK send can find the pipe full for a
    moment (ZeroMQ has not yet taken in the reader's room notice), and a chunk held then would wait
    forever for the reply that needs it."""
    kw["batch"] = True
    return ShmEdgeSender(endpoint, SPEC, shm=shm, **kw) if shm else EdgeSender(endpoint, SPEC, **kw)


def _receiver(endpoint: str, shm: str, **kw) -> EdgeReceiver:
    return ShmEdgeReceiver(endpoint, SPEC, shm=shm, **kw) if shm else EdgeReceiver(endpoint, SPEC, **kw)


def _names(transport: str) -> tuple[str, str]:
    """Segment prefixes of the two edges (there, back) of a shm run; empty for ipc and tcp."""
    return (shm_prefix("bench-fwd"), shm_prefix("bench-back")) if transport == "shm" else ("", "")


# --- peer processes ------------------------------------------------------------------------------
def _context(cpu: int | None) -> zmq.Context:
    """A context whose I/O thread runs on `cpu` only, when given (--pin); the process pins itself in main/_peer."""
    ctx = zmq.Context()
    if cpu is not None:
        ctx.set(zmq.THREAD_AFFINITY_CPU_ADD, cpu)  # before the first socket starts the I/O thread
    return ctx


def _pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def _peer(argv: list[str]) -> int:
    """The other process. lat: echo everything back. thr: on each 'go', stream one batch."""
    mode, pair_ep, fwd_ep, back_ep = argv[:4]
    sizes = [int(s) for s in argv[4].split(",")]
    n, rounds = float(argv[5]), int(argv[6])
    fwd_shm, back_shm = argv[7].split(",")
    cpu = None if argv[8] == "-" else int(argv[8])
    _pin(cpu)
    ctx = _context(cpu)
    if mode == "lat":
        pair = ctx.socket(zmq.PAIR)
        pair.connect(pair_ep)
        rx = _receiver(fwd_ep, fwd_shm, bind=False, maxlen=HWM, context=ctx)
        tx = _sender(back_ep, back_shm, hwm=HWM, context=ctx)
        for size in sizes:
            copy = _copy(size)
            for k in _schedule(size, int(n)):
                for _ in range(k):
                    pair.send(pair.recv(copy=copy), copy=copy)
                for _ in range(k):
                    tx.send(rx.recv())
                    tx.flush()  # a request/response loop: a chunk held by a spuriously full pipe must go now
        pair.close(linger=1000)
        rx.close()
    else:
        ctl = ctx.socket(zmq.PULL)
        ctl.connect(back_ep)
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, HWM)
        push.connect(pair_ep)
        tx = _sender(fwd_ep, fwd_shm, hwm=HWM, context=ctx)
        for size in sizes:
            x, copy, count = _payload(size), _copy(size), _thr_count(size, n)
            # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
            buf = memoryview(x).cast("B")  # flat bytes, as wire.encode gives  # pyright: ignore[reportArgumentType]
            for _ in range(rounds):
                ctl.recv()
                for _ in range(count):
                    push.send(buf, copy=copy)
                ctl.recv()
                for _ in range(count - 1):
                    tx.send(Chunk(x))
                tx.send(Chunk(x, eos=True))
        # Closed only once everything was received: a PULL that is behind (at its high-water mark) when
        # its peer hangs up loses what was still in the OS socket buffer (libzmq stops reading on the
        # hang-up), and the last stream's end-of-stream with it. The runner's senders wait likewise.
        ctl.recv()
        push.close(linger=10000)
        ctl.close()
    tx.close(linger_ms=10000)
    ctx.term()
    return 0


def _spawn(args: list[str]) -> subprocess.Popen:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "wavegraph.benchmarks.transport", "_peer", *args], env=env)


def _endpoint(transport: str, name: str) -> str:
    return tcp_endpoint("*") if transport == "tcp" else ipc_endpoint(f"bench-{name}")


def _bind(ctx: zmq.Context, kind: int, transport: str, name: str, hwm: int | None = None) -> zmq.Socket:
    sock = ctx.socket(kind)
    if hwm is not None:
        sock.setsockopt(zmq.SNDHWM if kind == zmq.PUSH else zmq.RCVHWM, hwm)
    try:
        sock.bind(_endpoint(transport, name))
    except zmq.ZMQError:
        sock.close(linger=0)  # left open, it would keep its context from terminating
        raise
    return sock


def _ep(sock: zmq.Socket) -> str:
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


def _close_bound(sock: zmq.Socket) -> None:
    """Close a socket _bind() made, removing its ipc:// file (libzmq leaves it behind)."""
    ep = _ep(sock)
    sock.close(linger=0)
    if ep.startswith("ipc://"):
        try:
            os.unlink(ep[len("ipc://") :])
        except OSError:
            pass


def _finish(peer: subprocess.Popen, what: str) -> None:
    if peer.wait(timeout=60) != 0:
        raise RuntimeError(f"{what} peer exited with {peer.returncode}")


# --- the measuring side --------------------------------------------------------------------------
def _latency(transport: str, sizes, iters: int, cpus: tuple) -> dict:
    ctx = _context(cpus[0])
    pair = _bind(ctx, zmq.PAIR, transport, "pair")
    names = _names(transport)
    tx = _sender(_endpoint(transport, "fwd"), names[0], bind=True, hwm=HWM, context=ctx)
    rx = _receiver(_endpoint(transport, "back"), names[1], maxlen=HWM, context=ctx)
    args = [_ep(pair), tx.endpoint, rx.endpoint, ",".join(map(str, sizes)), str(iters), "1", ",".join(names)]
    args.append("-" if cpus[1] is None else str(cpus[1]))
    peer = _spawn(["lat", *args])
    out = {}
    clock, mono = time.perf_counter_ns, time.monotonic_ns
    try:
        for size in sizes:
            x, copy = _payload(size), _copy(size)
            # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
            buf = memoryview(x).cast("B")  # flat bytes, as wire.encode gives  # pyright: ignore[reportArgumentType]
            ref, wg, oneway, paired = [], [], [], []
            for b, k in enumerate(_schedule(size, iters)):
                r, w = [], []
                for _ in range(k):
                    t = clock()
                    pair.send(buf, copy=copy)
                    pair.recv(copy=copy)
                    r.append(clock() - t)
                for _ in range(k):
                    t = clock()
                    tx.send(Chunk(x))
                    tx.flush()  # as the worker does each turn: a held chunk (see _sender) would never be echoed
                    rx.recv()
                    w.append(clock() - t)
                    now, header = mono(), rx.last_header
                    assert header is not None  # set by the recv() above
                    oneway.append(now - header.send_mono_ns)
                if b == 0:  # the warm-up block
                    oneway.clear()
                    continue
                ref += r
                wg += w
                paired.append(float(np.median(w) / np.median(r)))
            ref_hop, wg_hop = np.array(ref) / 2e3, np.array(wg) / 2e3  # round trip / 2, microseconds
            out[size] = {
                "n": len(ref),
                "ref_p50_us": float(np.percentile(ref_hop, 50)),
                "ref_p99_us": float(np.percentile(ref_hop, 99)),
                "wg_p50_us": float(np.percentile(wg_hop, 50)),
                "wg_p99_us": float(np.percentile(wg_hop, 99)),
                "wg_oneway_p50_us": float(np.percentile(oneway, 50) / 1e3),
                "wg_oneway_p99_us": float(np.percentile(oneway, 99) / 1e3),
                "ratio_p50": float(np.percentile(wg_hop, 50) / np.percentile(ref_hop, 50)),
                "ratio_paired": float(np.median(paired)),
            }
        _finish(peer, "latency")
    finally:
        if peer.poll() is None:
            peer.kill()
        tx.close(linger_ms=0)
        rx.close()
        _close_bound(pair)
        ctx.term()
    return out


def _throughput(transport: str, sizes, mbytes: float, rounds: int, cpus: tuple) -> dict:
    """Each stream starts on a 'go' from here and is timed from the go to its last message."""
    ctx = _context(cpus[0])
    pull = _bind(ctx, zmq.PULL, transport, "pull", HWM)
    ctl = _bind(ctx, zmq.PUSH, transport, "ctl")
    names = _names(transport)
    rx = _receiver(_endpoint(transport, "edge"), names[0], maxlen=HWM, context=ctx)
    sizes_arg = ",".join(map(str, sizes))
    peer_cpu = "-" if cpus[1] is None else str(cpus[1])
    peer = _spawn(
        ["thr", _ep(pull), rx.endpoint, _ep(ctl), sizes_arg, str(mbytes), str(rounds), ",".join(names), peer_cpu]
    )
    clock = time.perf_counter_ns
    out = {}
    try:
        for size in sizes:
            copy, count = _copy(size), _thr_count(size, mbytes)
            ref_best = wg_best = 0.0
            for _ in range(rounds):
                ctl.send(b"go")
                t = clock()
                for _ in range(count):
                    pull.recv(copy=copy)
                ref_best = max(ref_best, count / ((clock() - t) / 1e9))
                ctl.send(b"go")
                t = clock()
                got = 1
                while not rx.recv().eos:
                    got += 1
                wg_best = max(wg_best, count / ((clock() - t) / 1e9))
                if got != count:
                    raise RuntimeError(f"wavegraph edge delivered {got} of {count} chunks")
            out[size] = {
                "n": count,
                "ref_msg_s": ref_best,
                "wg_msg_s": wg_best,
                "ref_MB_s": ref_best * size / 1e6,
                "wg_MB_s": wg_best * size / 1e6,
                "ratio": wg_best / ref_best,
            }
        ctl.send(b"bye")  # all received: the peer may close (see _peer)
        _finish(peer, "throughput")
        if rx.counters["seq_missing"] or rx.counters["rejected"]:
            raise RuntimeError(f"the block-policy edge lost frames: {rx.counters}")
    finally:
        if peer.poll() is None:
            peer.kill()
        rx.close()
        _close_bound(pull)
        _close_bound(ctl)
        ctx.term()
    return out


def _cpu_costs(size: int = TARGET_SIZE, number: int = 5000) -> dict:
    """Where a hop's CPU time goes, in one thread with warm caches (best of 5 timeit runs of CPU time,
    time.process_time, so that other processes on a shared machine do not count; us/message):
    the codec alone (the one-frame form the edge uses below 16 KiB, else header + payload), and a
    send+recv over inproc:// for bare pyzmq (one frame) and a wavegraph edge."""
    import timeit

    from wavegraph.pipeline import wire
    from wavegraph.pipeline.transport import ONE_FRAME_MAX

    x = _payload(size)
    chunk = Chunk(x)
    head, body = wire.encode(chunk, 0, 1)
    frames = [wire.encode_one(chunk, 0, 1)] if size < ONE_FRAME_MAX else [head, bytes(body)]
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    pull.bind("inproc://bench-raw")
    push.connect("inproc://bench-raw")
    rx = EdgeReceiver("inproc://bench-edge", SPEC, maxlen=number, context=ctx)  # room for `number` queued
    tx = EdgeSender("inproc://bench-edge", SPEC, hwm=number, context=ctx)
    # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
    buf = memoryview(x).cast("B")  # pyright: ignore[reportArgumentType]

    def best(fn) -> float:
        return min(timeit.repeat(fn, number=number, repeat=5, timer=time.process_time)) / number * 1e6

    def split() -> tuple[float, float]:
        """CPU per message of `number` sends (each with a new Chunk), then of as many receives."""
        sends, recvs = [], []
        for _ in range(5):
            t = time.process_time()
            for _ in range(number):
                tx.send(Chunk(x))
            sends.append(time.process_time() - t)
            t = time.process_time()
            for _ in range(number):
                rx.recv()
            recvs.append(time.process_time() - t)
        return min(sends) / number * 1e6, min(recvs) / number * 1e6

    try:
        return {
            "encode_us": best(
                lambda: wire.encode(chunk, 0, 1) if size >= ONE_FRAME_MAX else wire.encode_one(chunk, 0, 1)
            ),
            "decode_us": best(lambda: wire.decode(frames, None, 1)),
            "bare_inproc_us": best(lambda: (push.send(buf), pull.recv())),
            "wg_inproc_us": best(lambda: (tx.send(chunk), rx.recv())),
            **dict(zip(("wg_send_us", "wg_recv_us"), split())),
        }
    finally:
        tx.close(linger_ms=0)
        rx.close()
        push.close(linger=0)
        pull.close(linger=0)
        ctx.term()


def _fmt_size(size: int) -> str:
    return (
        f"{size // (1024 * 1024)} MiB"
        if size >= 1024 * 1024
        else f"{size // 1024} KiB"
        if size >= 1024
        else f"{size} B"
    )


def bench_transport(argv: list[str] | None = None) -> int:
    """`wavegraph bench transport`: print latency and throughput tables; 0 on success.

    With --check, returns 1 when wavegraph's p50 hop at 8 KiB exceeds 1.3x bare pyzmq's.
    """
    p = argparse.ArgumentParser(
        prog="wavegraph bench transport", description=__doc__.split("\n\n")[1] if __doc__ else None
    )
    p.add_argument("--transports", default="ipc,shm,tcp", help="comma list of ipc, shm, tcp (default all)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="payload bytes, multiples of 64")
    p.add_argument("--iters", type=int, default=5000, help="round trips per size (1 MiB: a tenth)")
    p.add_argument("--mbytes", type=float, default=100.0, help="MB streamed per size and round for throughput")
    p.add_argument("--rounds", type=int, default=3, help="throughput rounds (best of)")
    p.add_argument("--no-throughput", action="store_true")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--png", metavar="PATH", help="also draw the p50 latency per payload (wavegraph vs bare) to a PNG")
    p.add_argument(
        "--pin",
        action="store_true",
        help="this process and its ZeroMQ I/O thread on one CPU, the peer's on another (bare and wavegraph alike), "
        "as a graph's `cpus:` does",
    )
    p.add_argument("--check", action="store_true", help=f"exit 1 if the p50 ratio at 8 KiB > {TARGET_RATIO}")
    a = p.parse_args(argv)
    transports = [t.strip() for t in a.transports.split(",") if t.strip()]
    if not transports or any(t not in ("ipc", "shm", "tcp") for t in transports):  # '': measured none, exit 0
        p.error(f"--transports: use ipc, shm and/or tcp, got {a.transports!r}")
    sizes = []
    example = f"e.g. --sizes {','.join(map(str, SIZES))}"
    for s in a.sizes.split(","):  # --sizes nan was "invalid literal for int() with base 10: 'nan'", no fix
        if not (s.strip().isascii() and s.strip().isdigit()):
            p.error(
                f"--sizes: {s.strip()!r} is not a whole number of bytes; give payload sizes in bytes, "
                f"multiples of {CHANNELS * 8}, comma-separated ({example})"
            )
        if int(s) > MAX_SIZE:  # --sizes 64000000000000 made (or failed to make) a 64 TB payload
            p.error(f"--sizes: {int(s)} bytes is more than {MAX_SIZE // 2**20} MiB a payload; {example}")
        sizes.append(int(s))
    try:
        for s in sizes:
            _payload(s)
    except ValueError as e:
        p.error(f"--sizes: {e}; {example}")
    if a.iters < 1 or a.rounds < 1 or not 0 < a.mbytes < math.inf:  # (nan: was taken, the throughput of nothing)
        p.error("--iters, --rounds and --mbytes must be positive (finite) numbers")
    a.png = picture(p, "--png", a.png)  # (plot -> plot.png, the name said)
    check_outputs(p, ("--json", a.json), ("--png", a.png))

    here = sorted(os.sched_getaffinity(0))
    cpus = (here[0], here[-1]) if a.pin else (None, None)
    _pin(cpus[0])
    # A dead peer must not hang the run: an alarm, unless one is already set (pytest-timeout's per-test one)
    guard = signal.getitimer(signal.ITIMER_REAL)[0] == 0
    old = signal.signal(signal.SIGALRM, _timeout_handler) if guard else None
    if guard:
        signal.alarm(600)
    started = time.perf_counter()
    try:
        results = {
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "load_1min": os.getloadavg()[0],
            "pinned_cpus": list(cpus) if a.pin else None,
            "python": platform.python_version(),
            "pyzmq": zmq.__version__,
            "libzmq": zmq.zmq_version(),
            "latency": {},
            "throughput": {},
        }
        print(
            f"wavegraph bench transport on {results['host']} ({results['cpus']} cpus, load "
            f"{results['load_1min']:.1f}), python {results['python']}, pyzmq {results['pyzmq']}, "
            f"libzmq {results['libzmq']}"
            + (f"; pinned: this process CPU {cpus[0]}, the peer CPU {cpus[1]}" if a.pin else "")
        )
        print(
            "latency per hop, microseconds: round trip / 2 of an echo, the same method for both; "
            "ratio = wavegraph p50 / bare p50; paired = median over alternating blocks of the same ratio; "
            "1way = header stamp to receipt (CLOCK_MONOTONIC)"
        )
        print(
            f"{'':4} {'payload':>8} {'bare p50':>9} {'bare p99':>9} {'wg p50':>8} {'wg p99':>8} "
            f"{'ratio':>6} {'paired':>7} {'1way p50':>9} {'1way p99':>9} {'n':>6}"
        )
        for t in transports:
            lat = _latency(t, sizes, a.iters, cpus)
            results["latency"][t] = lat
            for s, r in lat.items():
                print(
                    f"{t:4} {_fmt_size(s):>8} {r['ref_p50_us']:9.1f} {r['ref_p99_us']:9.1f} {r['wg_p50_us']:8.1f} "
                    f"{r['wg_p99_us']:8.1f} {r['ratio_p50']:5.2f}x {r['ratio_paired']:6.2f}x "
                    f"{r['wg_oneway_p50_us']:9.1f} "
                    f"{r['wg_oneway_p99_us']:9.1f} {r['n']:6d}"
                )
        if not a.no_throughput:
            print(f"throughput, messages/s and MB/s at the receiver (best of {a.rounds}); ratio = wavegraph / bare")
            print(
                f"{'':4} {'payload':>8} {'bare msg/s':>11} {'bare MB/s':>10} {'wg msg/s':>10} {'wg MB/s':>9} {'ratio':>6}"
            )
            for t in transports:
                thr = _throughput(t, sizes, a.mbytes, a.rounds, cpus)
                results["throughput"][t] = thr
                for s, r in thr.items():
                    print(
                        f"{t:4} {_fmt_size(s):>8} {r['ref_msg_s']:11.0f} {r['ref_MB_s']:10.1f} "
                        f"{r['wg_msg_s']:10.0f} {r['wg_MB_s']:9.1f} {r['ratio']:5.2f}x"
                    )
        for size in (64, TARGET_SIZE):
            cpu = results[f"cpu_{_fmt_size(size).replace(' ', '')}"] = _cpu_costs(size)
            print(
                f"CPU per {_fmt_size(size)} message, one thread, warm caches (us): encode {cpu['encode_us']:.2f}, "
                f"decode {cpu['decode_us']:.2f}; inproc send+recv: bare {cpu['bare_inproc_us']:.2f}, "
                f"wavegraph edge {cpu['wg_inproc_us']:.2f} (send alone {cpu['wg_send_us']:.2f}, "
                f"recv alone {cpu['wg_recv_us']:.2f})"
            )
    finally:
        if guard:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    ok = True
    for t in transports:
        r = results["latency"][t].get(TARGET_SIZE)
        if r is not None:
            verdict = "meets" if r["ratio_p50"] <= TARGET_RATIO else "MISSES"
            ok &= r["ratio_p50"] <= TARGET_RATIO
            print(
                f"target {t}: wavegraph p50 at 8 KiB is {r['ratio_p50']:.2f}x bare pyzmq ({verdict} <= {TARGET_RATIO}x)"
            )
        r = results["throughput"].get(t, {}).get(THR_SIZE)
        if r is not None:
            verdict = "meets" if r["ratio"] >= THR_RATIO else "MISSES"
            print(f"target {t}: wavegraph 64 B throughput is {r['ratio']:.2f}x bare pyzmq ({verdict} >= {THR_RATIO}x)")
    print(f"total {time.perf_counter() - started:.1f} s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
        print(f"json: {a.json}")
    if a.png:
        from wavegraph.benchmarks.figures import bars

        series = {}
        for t in transports:
            lat = results["latency"][t]
            series[f"bare {t}"] = [lat[s]["ref_p50_us"] for s in sizes]
            series[f"wavegraph {t}"] = [lat[s]["wg_p50_us"] for s in sizes]
        bars(a.png, [_fmt_size(s) for s in sizes], series, "p50 latency per hop (us)", "bench transport", log=True)
        print(f"plot: {a.png}")
    return 1 if a.check and not ok else 0


def _timeout_handler(signum, frame):
    raise TimeoutError("bench transport took over 600 s (is a peer process stuck?)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "transport":
        return bench_transport(argv[1:])
    if argv and argv[0] == "_peer":
        return _peer(argv[1:])
    print("usage: python -m wavegraph.benchmarks.transport transport [--help]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
