"""wavegraph vs Timeflux: one publisher process -> one subscriber process on one host, the same workload, one run.

    bash benchmarks/peers_setup.sh                      # once: .venv-peers with ezmsg, Timeflux + wavegraph
    .venv-peers/bin/python benchmarks/peers_timeflux.py # ~1 min on 2 shared cores; --help for options

Timeflux (0.16.1) moves data between its graphs, one process each, through its ZeroMQ nodes: `Pub` ->
`Broker` (an XSUB/XPUB proxy, a graph of its own) -> `Sub`, each message a pandas DataFrame (rows =
samples with a time index, columns = channels) and a meta dict, pickled. Each graph's Scheduler calls
`update()` on its nodes in a loop at the graph's `rate` (Hz; 0 = as fast as possible, its lowest-latency
setting, used here). This script drives Timeflux's own node classes (timeflux.nodes.zmq.Broker, Pub, Sub)
exactly that way, in three processes, over ipc:// (wavegraph's edges here use ipc:// too).

Workload, as benchmarks/peers_ezmsg.py: (8, n) float64 arrays of 64 B, 8 KiB, 64 KiB and 1 MiB (Timeflux:
the same values as an n x 8 DataFrame whose time index carries the publisher's time.monotonic_ns(), set
just before Pub.update(), as a Timeflux node stamps its rows). For each size, a warm-up (discarded), then
* latency: stop-and-wait; one-way = the subscriber's time.monotonic_ns() when its code has the message
  (after Sub.update(): Timeflux) or the chunk (after recv(): wavegraph) minus the stamp;
* throughput: `count` messages as fast as the publisher's loop sends them; rate = messages received /
  (last receipt - first stamp). Timeflux's PUB socket has no back-pressure: past its queue it drops
  messages, so the table also gives how many of the burst arrived (wavegraph's edges block instead).
wavegraph's side is peers_ezmsg.py's own (its `_wg_pub`/`_wg_sub` modes: "wg" the ipc edge, "shm" the
shared-memory edge). Blocks of the runtimes alternate (W S T T S W ...) so machine load hits all.

Internal modes (started by the driver): _tf_broker, _tf_pub, _tf_sub.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
from wavegraph.benchmarks.peers_ezmsg import (
    CHANNELS,
    Recorder,
    _common,
    _env,
    _fmt,
    _load,
    _plan_args,
    payload,
    run_blocks,
)

HERE = os.path.abspath(__file__)
HELLO_EVERY_S = 0.05  # the publisher repeats a 1-row hello until the subscriber answers (slow joiner)
QUIET_S = 3.0  # a throughput burst ends when nothing arrives for this long (messages dropped on the way)


def _frame(x: np.ndarray):
    import pandas as pd  # pyright: ignore[reportMissingImports]

    return pd.DataFrame(np.ascontiguousarray(x.T), columns=[f"ch{i}" for i in range(x.shape[0])])


def _stamped(frame, stamp_ns: int):
    import pandas as pd  # pyright: ignore[reportMissingImports]

    frame.index = pd.DatetimeIndex(stamp_ns + np.arange(len(frame)))  # Timeflux's rows carry their time
    return frame


def _tf_broker(a) -> int:
    from timeflux.nodes.zmq import Broker  # pyright: ignore[reportMissingImports]

    Broker(a.tf_in, a.tf_out).update()  # a blocking proxy, as in Timeflux's own broker graph; killed at the end
    return 0


def _tf_pub(a) -> int:
    import zmq
    from timeflux.nodes.zmq import Pub  # pyright: ignore[reportMissingImports]

    sizes, counts = _plan_args(a)
    pub = Pub("data", a.tf_in, "pickle")
    ack = zmq.Context.instance().socket(zmq.PULL)
    ack.bind(a.ack_ep)
    mono = time.monotonic_ns

    def send(frame, stamp_ns: int | None = None) -> None:
        pub.clear()
        pub.i.data, pub.i.meta = _stamped(frame, mono() if stamp_ns is None else stamp_ns), {}
        pub.update()

    hello = _frame(np.zeros((CHANNELS, 1)))
    while not ack.poll(HELLO_EVERY_S * 1000):
        send(hello, 0)  # stamp 0: a hello
    ack.recv()
    for size, count in zip(sizes, counts):
        frame = _frame(payload(size))
        for _ in range(a.warm + a.lat_n):
            send(frame)
            if not ack.poll(60_000):
                raise TimeoutError("no ack from the Timeflux subscriber")
            ack.recv()
        for _ in range(count):
            send(frame)
        if not ack.poll(60_000):
            raise TimeoutError("no ack after the throughput burst")
        ack.recv()
    return 0


def _tf_sub(a) -> int:
    import zmq
    from timeflux.nodes.zmq import Sub  # pyright: ignore[reportMissingImports]

    sizes, counts = _plan_args(a)
    rec = Recorder(sizes, a.warm, a.lat_n, counts)
    received = dict.fromkeys(sizes, 0)
    sub = Sub(["data"], a.tf_out, "pickle")
    ack = zmq.Context.instance().socket(zmq.PUSH)
    ack.connect(a.ack_ep)
    joined, last, last_ns = False, time.monotonic(), 0
    while True:
        sub.clear()  # what Timeflux's Scheduler does every cycle (rate 0: no sleep): clear the ports, update
        sub.update()
        frame = sub.o_data.data
        now = time.monotonic_ns()
        if frame is None:
            size, phase, count = rec.plan[rec.i]
            if phase == "thr" and rec.k and time.monotonic() - last > QUIET_S:  # the rest was dropped
                received[size] = rec.k
                print(f"timeflux sub: {rec.k} of {count} messages of {size} B arrived", file=sys.stderr)
                rec.thr[size] = rec.k / ((last_ns - rec.t_first) / 1e9)
                rec.i, rec.k = rec.i + 1, 0
                ack.send(b"1")
                if rec.i == len(rec.plan):
                    break
            continue
        last, last_ns = time.monotonic(), now
        stamps = frame.index.asi8
        if stamps[0] == 0:  # hellos (stamp 0), all before the first message
            if not joined:
                joined = True
                ack.send(b"1")
            stamps = stamps[stamps != 0]
            if not len(stamps):
                continue
        size = rec.plan[rec.i][0]
        rows = size // (CHANNELS * 8)
        done = False
        for k in range(len(stamps) // rows):  # several messages between two updates: concatenated by Sub
            phase = rec.plan[rec.i][1]
            reply, done = rec.on(size, int(stamps[k * rows]), now)
            if phase == "thr":
                received[size] += 1
            if reply:
                ack.send(b"1")
            if done:
                break
        if done:
            break
    rec.dump(a.out)
    with open(a.out) as f:
        result = json.load(f)
    result["received"] = {str(s): n for s, n in received.items()}
    with open(a.out, "w") as f:
        json.dump(result, f)
    return 0


def run_timeflux_block(a, tmp: str, b: int) -> dict:
    out = os.path.join(tmp, f"tf{b}.json")
    eps = {k: f"ipc://{tmp}/tf{b}-{k}" for k in ("in", "out", "ack")}
    args = ["--tf-in", eps["in"], "--tf-out", eps["out"], "--ack-ep", eps["ack"], "--out", out, *_common(a)]
    broker = subprocess.Popen([sys.executable, HERE, "_tf_broker", *args], env=_env())
    sub = subprocess.Popen([sys.executable, HERE, "_tf_sub", *args], env=_env())
    pub = subprocess.Popen([sys.executable, HERE, "_tf_pub", *args], env=_env())
    try:
        rcs = (sub.wait(timeout=a.block_timeout), pub.wait(timeout=a.block_timeout))
    finally:
        for p in (sub, pub, broker):
            if p.poll() is None:
                p.kill()
                p.wait()
    if any(rcs) or not os.path.exists(out):
        raise RuntimeError(f"Timeflux block {b} failed (sub rc {rcs[0]}, pub rc {rcs[1]})")
    return _load(out)


def driver(a) -> int:
    import timeflux  # pyright: ignore[reportMissingImports]
    import zmq

    sizes, counts = _plan_args(a)
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    print(
        f"peers_timeflux on {platform.node()}: {os.cpu_count()} cpus, load {load0[0]:.2f}; python "
        f"{platform.python_version()}, timeflux {timeflux.__version__}, pyzmq {zmq.__version__}; sizes {sizes}; "
        f"per block and size: {a.warm} warm-up + {a.lat_n} latency messages, bursts {counts}; {a.blocks} blocks",
        flush=True,
    )
    sides = ("wg", "shm", "tf")
    res = run_blocks(a, sides, {"tf": run_timeflux_block})
    load1 = os.getloadavg()
    table = {}
    for s, count in zip(sizes, counts):
        k, row = str(s), {}
        for side in sides:
            lat = np.concatenate([np.asarray(r["lat"][k], float) for r in res[side]]) / 1e3
            row[f"{side}_p50_us"], row[f"{side}_p99_us"] = (float(np.percentile(lat, q)) for q in (50, 99))
            row[f"{side}_msg_s"] = float(np.median([r["thr"][k] for r in res[side]]))
        row["tf_received"] = [r["received"][k] for r in res["tf"]]
        row["burst"] = count
        for side in ("wg", "shm"):
            row[f"{side}_lat_ratio"] = row[f"{side}_p50_us"] / row["tf_p50_us"]
            row[f"{side}_thr_ratio"] = row[f"{side}_msg_s"] / row["tf_msg_s"]
        table[s] = row
    print(
        "\none-way latency, us (pooled over blocks), stop-and-wait; ratio = wavegraph p50 / Timeflux p50 (< 1: faster)"
    )
    print(
        f"{'payload':>8} {'wg p50':>8} {'wg p99':>8} {'shm p50':>8} {'shm p99':>8} {'tf p50':>8} {'tf p99':>8} "
        f"{'wg/tf':>6} {'shm/tf':>6}"
    )
    for s, r in table.items():
        print(
            f"{_fmt(s):>8} {r['wg_p50_us']:8.1f} {r['wg_p99_us']:8.1f} {r['shm_p50_us']:8.1f} {r['shm_p99_us']:8.1f} "
            f"{r['tf_p50_us']:8.1f} {r['tf_p99_us']:8.1f} {r['wg_lat_ratio']:5.2f}x {r['shm_lat_ratio']:5.2f}x"
        )
    print("\nthroughput, messages/s received (median over blocks); ratio = wavegraph / Timeflux (> 1: faster)")
    print(
        f"{'payload':>8} {'burst':>6} {'wg msg/s':>10} {'shm msg/s':>10} {'tf msg/s':>10} {'tf received':>14} "
        f"{'wg/tf':>6} {'shm/tf':>6}"
    )
    for s, r in table.items():
        got = "/".join(str(n) for n in r["tf_received"])
        print(
            f"{_fmt(s):>8} {r['burst']:6d} {r['wg_msg_s']:10.0f} {r['shm_msg_s']:10.0f} {r['tf_msg_s']:10.0f} "
            f"{got:>14} {r['wg_thr_ratio']:5.2f}x {r['shm_thr_ratio']:5.2f}x"
        )
    print(f"\nload average before {load0[0]:.2f}, after {load1[0]:.2f}; total {time.perf_counter() - t_start:.1f} s")
    if a.json:
        with open(a.json, "w") as f:
            meta = {"host": platform.node(), "cpus": os.cpu_count(), "load_before": load0, "load_after": load1}
            json.dump({**meta, "timeflux": timeflux.__version__, "args": vars(a), "table": table}, f, indent=1)
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    modes = {"_tf_broker": _tf_broker, "_tf_pub": _tf_pub, "_tf_sub": _tf_sub}
    mode = argv[0] if argv and argv[0] in modes else None
    p = argparse.ArgumentParser(prog="peers_timeflux.py", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--sizes", default="64,8192,65536,1048576", help="payload bytes, multiples of 64")
    p.add_argument("--blocks", type=int, default=3, help="alternating blocks per runtime (default 3)")
    p.add_argument("--lat-n", type=int, default=500, help="stop-and-wait latency messages per size and block")
    p.add_argument("--warm", type=int, default=50, help="warm-up messages per size and block (discarded)")
    p.add_argument("--mbytes", type=float, default=20.0, help="MB per throughput burst (100..5000 messages)")
    p.add_argument("--queue", type=int, default=64, help="wavegraph edge queue (hwm / maxlen), graph default 64")
    p.add_argument("--block-timeout", type=float, default=180.0)
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    for hidden in ("--out", "--tf-in", "--tf-out", "--ack-ep", "--data-ep", "--shm"):
        p.add_argument(hidden, default="", help=argparse.SUPPRESS)
    a = p.parse_args(argv[1:] if mode else argv)
    if mode:
        return modes[mode](a)
    if a.blocks < 1 or a.lat_n < 1 or a.warm < 0 or a.mbytes <= 0:
        p.error("--blocks, --lat-n, --mbytes must be positive and --warm >= 0")
    from wavegraph.benchmarks.bench_checks import check_outputs, peer_module

    check_outputs(p, ("--json", a.json))
    for name, package in (("timeflux", "timeflux 0.16.1"), ("pandas", "pandas 3.1.1")):  # was ModuleNotFoundError
        peer_module(name, "peers_timeflux.py", package)
    return driver(a)


if __name__ == "__main__":
    sys.exit(main())
