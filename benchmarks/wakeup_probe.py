"""Where an idle host's hop goes: `python -m wavegraph.benchmarks.wakeup_probe [--n 3000] [--rounds 2]`.

One process sends an 8-byte monotonic stamp every 2 ms to another, which blocks waiting for it and
records receipt minus stamp: over ZeroMQ ipc:// (PUSH -> PULL: the sender's thread, its I/O thread,
the receiver's I/O thread, the receiver's thread) and over a named pipe (one hand-over). Prints the
one-way p50 / p90 / p99 of each and the ratio pipe / ZeroMQ, alternating rounds. This is why
shared-memory edges ring a FIFO doorbell (pipeline/lane.py) instead of sending their messages over
ZeroMQ. Run it on an idle machine: on a busy one no core is halted and the difference shrinks."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from multiprocessing import Process

import numpy as np
import zmq


def _zmq_sender(endpoint: str, n: int) -> None:
    sock = zmq.Context().socket(zmq.PUSH)
    sock.connect(endpoint)
    time.sleep(0.3)
    for _ in range(n):
        sock.send(time.monotonic_ns().to_bytes(8, "little"))
        time.sleep(0.002)
    time.sleep(0.5)


def _fifo_sender(path: str, n: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    time.sleep(0.3)
    for _ in range(n):
        os.write(fd, time.monotonic_ns().to_bytes(8, "little"))
        time.sleep(0.002)


def _one_way(kind: str, folder: str, n: int) -> np.ndarray:
    got = []
    if kind == "zmq":
        sock = zmq.Context().socket(zmq.PULL)
        endpoint = f"ipc://{folder}/probe.ipc"
        sock.bind(endpoint)
        peer = Process(target=_zmq_sender, args=(endpoint, n))
        peer.start()
        for _ in range(n):
            stamp = int.from_bytes(sock.recv(), "little")  # before the clock is read
            got.append(time.monotonic_ns() - stamp)
        sock.close(linger=0)
    else:
        path = os.path.join(folder, "probe.fifo")
        if os.path.exists(path):
            os.unlink(path)
        os.mkfifo(path)
        peer = Process(target=_fifo_sender, args=(path, n))
        peer.start()
        fd = os.open(path, os.O_RDONLY)
        for _ in range(n):
            stamp = int.from_bytes(os.read(fd, 8), "little")
            got.append(time.monotonic_ns() - stamp)
        os.close(fd)
    peer.join()
    return np.array(got[n // 30 :]) / 1e3  # microseconds, the first few dropped


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wakeup_probe", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=3000, help="messages per round")
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; one-way, microseconds")
    with tempfile.TemporaryDirectory() as folder:
        for r in range(a.rounds):
            p50 = {}
            for kind in ("zmq", "fifo") if r % 2 == 0 else ("fifo", "zmq"):
                us = _one_way(kind, folder, a.n)
                p50[kind] = float(np.percentile(us, 50))
                q = np.percentile(us, [50, 90, 99])
                print(f"round {r} {kind:>4}: p50 {q[0]:6.1f}  p90 {q[1]:6.1f}  p99 {q[2]:6.1f}")
            print(f"round {r} ratio pipe / ZeroMQ p50: {p50['fifo'] / p50['zmq']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
