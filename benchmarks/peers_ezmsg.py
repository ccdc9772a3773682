"""wavegraph vs ezmsg: one publisher process -> one subscriber process on one host, the same workload, one run.

    bash benchmarks/peers_setup.sh                      # once: .venv-peers with ezmsg==3.9.0 + wavegraph
    .venv-peers/bin/python benchmarks/peers_ezmsg.py    # ~1 min on 2 shared cores; --help for options

Workload, identical for both sides: (8, n) float64 arrays of 64 B, 8 KiB, 64 KiB and 1 MiB.
For each size, in one pair of processes: a warm-up (discarded), then

* latency: stop-and-wait. The publisher stamps time.monotonic_ns() into the message, sends it, and waits
  for a tiny ack from the subscriber before the next one, so no queue builds up. One-way latency =
  the subscriber's time.monotonic_ns() when its code gets the message minus the stamp (CLOCK_MONOTONIC
  is shared by the processes of one host). ezmsg: the stamp is a field of the message dataclass.
  wavegraph: the stamp is Chunk.origin_ns (the wire header also carries its own send stamp, taken at
  encode; that variant is reported as "hdr").
* throughput: the publisher sends `count` messages as fast as the runtime takes them (both runtimes
  apply back-pressure: wavegraph policy=block, ezmsg non-leaky subscriber); rate = count / (last
  receipt - stamp of the first message).

ezmsg is used the way its docs describe: a Collection of two Units (publisher, subscriber) with a
network() wiring OutputStream -> InputStream (and an ack stream back), process_components() putting
each Unit in its own process, ez.run() starting the graph server. Default stream settings (shared
memory between processes on one host, 32 buffers). wavegraph is used through its real edge API, two
ways: "wg" is EdgeSender -> EdgeReceiver over ipc://, "shm" is the shared-memory edge its multi-process
runner makes on one host (transport: auto; pipeline.shm: payloads through a ring in /dev/shm, the
messages, and small chunks whole, through the edge's lane in shared memory, pipeline.lane); policy
"block", queue 64 (the graph default), spec-checked frames.

Blocks of the runtimes alternate (order reversed each block: W S E E S W ...) so machine load hits
all; latency samples are pooled over blocks, throughput is the median over blocks, and "paired" is the
median over blocks of the per-block wavegraph/ezmsg p50 ratio. Finally `ezmsg perf hotpath` (ezmsg's
own benchmark: publisher and subscriber in ONE process, round trip per message) runs once for context.

Internal modes (started by the driver): _ez, _wg_pub, _wg_sub.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

CHANNELS = 8
SIZES = (64, 8 * 1024, 64 * 1024, 1024 * 1024)
HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))


def payload(size: int) -> np.ndarray:
    """A (8, n) float64 array of exactly `size` bytes."""
    if size % (CHANNELS * 8):
        raise ValueError(f"size {size} is not a multiple of {CHANNELS * 8}")
    return np.random.default_rng(size).standard_normal((CHANNELS, size // (CHANNELS * 8)))


def thr_count(size: int, mbytes: float) -> int:
    return int(min(5000, max(100, mbytes * 1e6 / size)))


class Recorder:
    """The subscriber side's bookkeeping, shared by both runtimes: it knows the schedule
    (per size: warm-up, latency, throughput), checks each message's size, records latencies and rates,
    and says whether to ack (every warm-up/latency message, and the last one of a throughput burst)."""

    def __init__(self, sizes, warm: int, lat_n: int, counts):
        self.plan = []
        for s, c in zip(sizes, counts):
            self.plan += [(s, "warm", warm), (s, "lat", lat_n), (s, "thr", c)]
        self.i = self.k = 0
        self.t_first = 0
        self.lat = {s: [] for s in sizes}
        self.lat_hdr = {s: [] for s in sizes}
        self.thr = {}

    def on(self, nbytes: int, stamp_ns: int, now_ns: int, hdr_ns: int | None = None) -> tuple[bool, bool]:
        size, phase, count = self.plan[self.i]
        if nbytes != size:
            raise RuntimeError(f"expected a {size}-byte message in phase {phase}, got {nbytes}")
        if phase == "lat":
            self.lat[size].append(now_ns - stamp_ns)
            if hdr_ns is not None:
                self.lat_hdr[size].append(now_ns - hdr_ns)
        elif phase == "thr" and self.k == 0:
            self.t_first = stamp_ns
        self.k += 1
        last = self.k == count
        if last:
            if phase == "thr":
                self.thr[size] = count / ((now_ns - self.t_first) / 1e9)
            self.i, self.k = self.i + 1, 0
        return (phase != "thr" or last), self.i == len(self.plan)

    def dump(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(
                {
                    "lat": {str(s): v for s, v in self.lat.items()},
                    "lat_hdr": {str(s): v for s, v in self.lat_hdr.items()},
                    "thr": {str(s): v for s, v in self.thr.items()},
                },
                f,
            )


def _plan_args(a) -> tuple[list[int], list[int]]:
    sizes = [int(s) for s in a.sizes.split(",")]
    return sizes, [thr_count(s, a.mbytes) for s in sizes]


# --- ezmsg side ----------------------------------------------------------------------------------
# Module level, so the unit processes (fork or spawn) and pickle find the classes by name.
ez: Any  # the module, or None; typed Any: ezmsg lives in .venv-peers, not in the checked environment
try:
    import ezmsg.core as ez  # pyright: ignore[reportMissingImports]
except ImportError:  # the wavegraph-only modes do not need it
    ez = None

if ez is not None:

    @dataclass
    class Stamped:
        """The message: the array and the publisher's time.monotonic_ns() just before publishing."""

        data: np.ndarray
        t_ns: int

    class BenchSettings(ez.Settings):
        sizes: tuple
        counts: tuple
        warm: int
        lat_n: int
        out: str

    class PubState(ez.State):
        ack: asyncio.Event

    class Pub(ez.Unit):
        SETTINGS = BenchSettings
        STATE = PubState
        OUTPUT = ez.OutputStream(Stamped)
        INPUT_ACK = ez.InputStream(int)

        async def initialize(self) -> None:
            self.STATE.ack = asyncio.Event()

        @ez.subscriber(INPUT_ACK)
        async def on_ack(self, msg: int) -> None:
            self.STATE.ack.set()

        @ez.publisher(OUTPUT)
        async def send(self):
            st, ack = self.SETTINGS, self.STATE.ack
            for j, (size, count) in enumerate(zip(st.sizes, st.counts)):
                x = payload(size)
                for _ in range(st.warm + st.lat_n):
                    ack.clear()
                    yield self.OUTPUT, Stamped(x, time.monotonic_ns())
                    await ack.wait()
                for i in range(count):
                    if i == count - 1:
                        ack.clear()
                    yield self.OUTPUT, Stamped(x, time.monotonic_ns())
                if j < len(st.sizes) - 1:
                    await ack.wait()
            raise ez.Complete

    class SubState(ez.State):
        rec: Recorder

    class Sub(ez.Unit):
        SETTINGS = BenchSettings
        STATE = SubState
        INPUT = ez.InputStream(Stamped)
        OUTPUT_ACK = ez.OutputStream(int)

        async def initialize(self) -> None:
            st = self.SETTINGS
            self.STATE.rec = Recorder(st.sizes, st.warm, st.lat_n, st.counts)

        @ez.subscriber(INPUT)
        @ez.publisher(OUTPUT_ACK)
        async def on_msg(self, msg: Stamped):
            now = time.monotonic_ns()
            ack, done = self.STATE.rec.on(msg.data.nbytes, msg.t_ns, now)
            if done:
                self.STATE.rec.dump(self.SETTINGS.out)
                raise ez.NormalTermination
            if ack:
                yield self.OUTPUT_ACK, 1

    class Bench(ez.Collection):
        SETTINGS = BenchSettings
        PUB = Pub()
        SUB = Sub()

        def configure(self) -> None:
            self.PUB.apply_settings(self.SETTINGS)
            self.SUB.apply_settings(self.SETTINGS)

        def network(self):  # an ez.NetworkDefinition
            return ((self.PUB.OUTPUT, self.SUB.INPUT), (self.SUB.OUTPUT_ACK, self.PUB.INPUT_ACK))

        def process_components(self):
            return (self.PUB, self.SUB)  # each Unit in its own process


def _ez_main(a) -> int:
    sizes, counts = _plan_args(a)
    settings = BenchSettings(sizes=tuple(sizes), counts=tuple(counts), warm=a.warm, lat_n=a.lat_n, out=a.out)
    ez.run(BENCH=Bench(settings))  # starts its own graph server (127.0.0.1:25978 unless EZMSG_GRAPHSERVER_ADDR)
    return 0


# --- wavegraph side ------------------------------------------------------------------------------
def _wg_spec():
    from wavegraph.pipeline.spec import signal_spec

    return signal_spec(1000.0, [f"ch{i}" for i in range(CHANNELS)])


def _wg_pub(a) -> int:
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.shm import ShmEdgeSender
    from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender

    sizes, counts = _plan_args(a)
    if a.shm:
        tx = ShmEdgeSender(a.data_ep, _wg_spec(), shm=a.shm, policy="block", hwm=a.queue)
    else:
        tx = EdgeSender(a.data_ep, _wg_spec(), policy="block", hwm=a.queue)
    ack = EdgeReceiver(a.ack_ep, None, policy="block", maxlen=a.queue)  # binds

    def wait_ack():
        if ack.recv(timeout=60) is None:
            raise TimeoutError("no ack from the wavegraph subscriber")

    mono = time.monotonic_ns
    try:
        for size, count in zip(sizes, counts):
            x = payload(size)
            for _ in range(a.warm + a.lat_n):
                tx.send(Chunk(x, origin_ns=mono()))
                wait_ack()
            for _ in range(count):
                tx.send(Chunk(x, origin_ns=mono()))
            wait_ack()  # also the last one: the subscriber confirms before this process exits
    finally:
        tx.close()
        ack.close()
    return 0


def _wg_sub(a) -> int:
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.shm import ShmEdgeReceiver
    from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender

    sizes, counts = _plan_args(a)
    rec = Recorder(sizes, a.warm, a.lat_n, counts)
    if a.shm:  # binds
        rx = ShmEdgeReceiver(a.data_ep, _wg_spec(), shm=a.shm, policy="block", maxlen=a.queue)
    else:
        rx = EdgeReceiver(a.data_ep, _wg_spec(), policy="block", maxlen=a.queue)
    atx = EdgeSender(a.ack_ep, None, policy="block", hwm=a.queue)
    one = np.zeros(1)
    try:
        while True:
            c = rx.recv(timeout=60)
            now = time.monotonic_ns()
            if c is None:
                raise TimeoutError("no data from the wavegraph publisher")
            header = rx.last_header
            assert header is not None  # set with every chunk recv() returns
            ack, done = rec.on(c.data.nbytes, c.origin_ns, now, header.send_mono_ns)
            if ack:
                atx.send(Chunk(one))
            if done:
                break
        if rx.counters["seq_missing"] or rx.counters["rejected"]:
            raise RuntimeError(f"wavegraph edge lost frames: {rx.counters}")
        rec.dump(a.out)
    finally:
        atx.close()
        rx.close()
    return 0


# --- driver --------------------------------------------------------------------------------------
def _common(a) -> list[str]:
    return [
        "--sizes",
        a.sizes,
        "--mbytes",
        str(a.mbytes),
        "--warm",
        str(a.warm),
        "--lat-n",
        str(a.lat_n),
        "--queue",
        str(a.queue),
    ]


def _env() -> dict:
    return dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        EZMSG_LOGLEVEL=os.environ.get("EZMSG_LOGLEVEL", "WARNING"),
    )


def _load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def run_ezmsg_block(a, tmp: str, b: int) -> dict:
    out = os.path.join(tmp, f"ez{b}.json")
    p = subprocess.run(
        [sys.executable, HERE, "_ez", "--out", out, *_common(a)],
        env=_env(),
        timeout=a.block_timeout,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"ezmsg block {b} failed (rc {p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return _load(out)


def run_wg_block(a, tmp: str, b: int, shm: bool = False) -> dict:
    from wavegraph.pipeline.shm import remove_segments, shm_prefix
    from wavegraph.pipeline.transport import ipc_endpoint

    out = os.path.join(tmp, f"{'shm' if shm else 'wg'}{b}.json")
    data_ep, ack_ep = ipc_endpoint("peers-data"), ipc_endpoint("peers-ack")
    name = shm_prefix("peers") if shm else ""
    args = ["--data-ep", data_ep, "--ack-ep", ack_ep, "--out", out, "--shm", name, *_common(a)]
    sub = subprocess.Popen([sys.executable, HERE, "_wg_sub", *args], env=_env())
    pub = subprocess.Popen([sys.executable, HERE, "_wg_pub", *args], env=_env())
    try:
        rcs = (sub.wait(timeout=a.block_timeout), pub.wait(timeout=a.block_timeout))
    finally:
        for p in (sub, pub):
            if p.poll() is None:
                p.kill()
        for ep in (data_ep, ack_ep):
            try:
                os.unlink(ep[len("ipc://") :])
            except OSError:
                pass
        if name:
            remove_segments(name)
    if any(rcs) or not os.path.exists(out):
        raise RuntimeError(f"wavegraph block {b} failed (sub rc {rcs[0]}, pub rc {rcs[1]})")
    return _load(out)


def run_blocks(a, sides: tuple[str, ...], peers: dict) -> dict[str, list]:
    """`a.blocks` blocks of every side, the order reversed each block (W S P P S W ...) so that machine load
    hits all; "wg" and "shm" are wavegraph's edges, the others `peers[side](a, tmp, block)`."""
    res: dict[str, list] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        for b in range(a.blocks):
            for side in sides if b % 2 == 0 else sides[::-1]:
                t = time.perf_counter()
                r = peers[side](a, tmp, b) if side in peers else run_wg_block(a, tmp, b, shm=side == "shm")
                res[side].append(r)
                print(f"  block {b} {side}: {time.perf_counter() - t:.1f} s", flush=True)
    return res


def _fmt(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB" if size >= 1024 else f"{size} B"


def _hotpath(a) -> str:
    cmd = [
        sys.executable,
        "-m",
        "ezmsg.core",
        "perf",
        "hotpath",
        "--count",
        "2000",
        "--warmup",
        "200",
        "--samples",
        "3",
        "--transports",
        "shm",
        "tcp",
        "--payload-sizes",
        *a.sizes.split(","),
        "--quiet",
    ]
    try:
        p = subprocess.run(cmd, env=_env(), timeout=120, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return "ezmsg perf hotpath: timed out after 120 s"
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if " - pid: " not in ln]
    head = "$ ezmsg perf hotpath " + " ".join(cmd[5:])
    return "\n".join([head, *lines] + ([f"(exit {p.returncode})"] if p.returncode else []))


def driver(a) -> int:
    import zmq

    sizes, counts = _plan_args(a)
    for s in sizes:
        payload(s)
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    print(
        f"peers_ezmsg on {platform.node()}: {os.cpu_count()} cpus, load {load0[0]:.2f} {load0[1]:.2f} "
        f"{load0[2]:.2f}; python {platform.python_version()}, ezmsg {ez.__version__}, numpy {np.__version__}, "
        f"pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()})"
    )
    print(
        f"sizes {sizes}; per block and size: {a.warm} warm-up + {a.lat_n} stop-and-wait latency messages, "
        f"throughput bursts {counts}; {a.blocks} blocks per runtime",
        flush=True,
    )
    sides = ("wg", "shm", "ez")
    res = run_blocks(a, sides, {"ez": run_ezmsg_block})
    load1 = os.getloadavg()

    table = {}
    for s in sizes:
        k = str(s)
        row = {}
        for side in sides:
            lat = np.concatenate([np.asarray(r["lat"][k], float) for r in res[side]]) / 1e3  # us
            row[f"{side}_p50_us"] = float(np.percentile(lat, 50))
            row[f"{side}_p99_us"] = float(np.percentile(lat, 99))
            row[f"{side}_n"] = int(lat.size)
            row[f"{side}_msg_s"] = float(np.median([r["thr"][k] for r in res[side]]))
            row[f"{side}_msg_s_blocks"] = [round(r["thr"][k]) for r in res[side]]
        hdr = np.concatenate([np.asarray(r["lat_hdr"][k], float) for r in res["wg"]]) / 1e3
        row["wg_hdr_p50_us"], row["wg_hdr_p99_us"] = float(np.percentile(hdr, 50)), float(np.percentile(hdr, 99))
        for side in ("wg", "shm"):
            prefix = "" if side == "wg" else "shm_"
            row[f"{prefix}lat_ratio"] = row[f"{side}_p50_us"] / row["ez_p50_us"]
            row[f"{prefix}lat_ratio_paired"] = float(
                np.median([np.median(w["lat"][k]) / np.median(e["lat"][k]) for w, e in zip(res[side], res["ez"])])
            )
            row[f"{prefix}thr_ratio"] = row[f"{side}_msg_s"] / row["ez_msg_s"]
        table[s] = row

    print(
        "\none-way latency, us (pooled over blocks), stop-and-wait; wg = ipc edge, shm = shared-memory edge; "
        "ratio = p50 / ezmsg p50 (< 1: wavegraph faster); paired = median of per-block ratios"
    )
    print(
        f"{'payload':>8} {'wg p50':>8} {'wg p99':>8} {'shm p50':>8} {'shm p99':>8} {'ez p50':>8} {'ez p99':>8} "
        f"{'wg/ez':>6} {'paired':>7} {'shm/ez':>6} {'paired':>7} {'n/side':>7}"
    )
    for s, r in table.items():
        print(
            f"{_fmt(s):>8} {r['wg_p50_us']:8.1f} {r['wg_p99_us']:8.1f} {r['shm_p50_us']:8.1f} {r['shm_p99_us']:8.1f} "
            f"{r['ez_p50_us']:8.1f} {r['ez_p99_us']:8.1f} {r['lat_ratio']:5.2f}x {r['lat_ratio_paired']:6.2f}x "
            f"{r['shm_lat_ratio']:5.2f}x {r['shm_lat_ratio_paired']:6.2f}x {r['wg_n']:7d}"
        )
    print(
        "\nthroughput, messages/s at the subscriber (median over blocks); ratio = wavegraph / ezmsg "
        "(> 1: wavegraph faster)"
    )
    print(
        f"{'payload':>8} {'burst':>6} {'wg msg/s':>10} {'wg MB/s':>9} {'shm msg/s':>10} {'shm MB/s':>9} "
        f"{'ez msg/s':>10} {'ez MB/s':>9} {'wg/ez':>6} {'shm/ez':>6}"
    )
    for (s, r), c in zip(table.items(), counts):
        print(
            f"{_fmt(s):>8} {c:6d} {r['wg_msg_s']:10.0f} {r['wg_msg_s'] * s / 1e6:9.1f} {r['shm_msg_s']:10.0f} "
            f"{r['shm_msg_s'] * s / 1e6:9.1f} {r['ez_msg_s']:10.0f} {r['ez_msg_s'] * s / 1e6:9.1f} "
            f"{r['thr_ratio']:5.2f}x {r['shm_thr_ratio']:5.2f}x"
        )
    print(
        f"\nload average before {load0[0]:.2f}, after {load1[0]:.2f}; "
        f"comparison took {time.perf_counter() - t_start:.1f} s",
        flush=True,
    )
    hp = None
    if not a.no_hotpath:
        print("\nezmsg's own benchmark, for context (pub and sub in ONE process, round trip per message):")
        hp = _hotpath(a)
        print(hp)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {
                    "host": platform.node(),
                    "cpus": os.cpu_count(),
                    "load_before": load0,
                    "load_after": load1,
                    "ezmsg": ez.__version__,
                    "args": vars(a),
                    "table": {str(k): v for k, v in table.items()},
                    "hotpath": hp,
                },
                f,
                indent=1,
            )
    print(f"total {time.perf_counter() - t_start:.1f} s")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    mode = argv[0] if argv and argv[0] in ("_ez", "_wg_pub", "_wg_sub") else None
    p = argparse.ArgumentParser(prog="peers_ezmsg.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="payload bytes, multiples of 64")
    p.add_argument("--blocks", type=int, default=3, help="alternating blocks per runtime (default 3)")
    p.add_argument("--lat-n", type=int, default=500, help="stop-and-wait latency messages per size and block")
    p.add_argument("--warm", type=int, default=50, help="warm-up messages per size and block (discarded)")
    p.add_argument("--mbytes", type=float, default=20.0, help="MB per throughput burst (100..5000 messages)")
    p.add_argument("--queue", type=int, default=64, help="wavegraph edge queue (hwm / maxlen), graph default 64")
    p.add_argument("--block-timeout", type=float, default=120.0)
    p.add_argument("--no-hotpath", action="store_true", help="skip `ezmsg perf hotpath`")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--data-ep", help=argparse.SUPPRESS)
    p.add_argument("--shm", default="", help=argparse.SUPPRESS)
    p.add_argument("--ack-ep", help=argparse.SUPPRESS)
    a = p.parse_args(argv[1:] if mode else argv)
    if mode == "_ez":
        return _ez_main(a)
    if mode == "_wg_pub":
        return _wg_pub(a)
    if mode == "_wg_sub":
        return _wg_sub(a)
    if a.blocks < 1 or a.lat_n < 1 or a.warm < 0 or a.mbytes <= 0:
        p.error("--blocks, --lat-n, --mbytes must be positive and --warm >= 0")
    from wavegraph.benchmarks.bench_checks import check_outputs, peer_module

    check_outputs(p, ("--json", a.json))
    if ez is None:  # was AttributeError: 'NoneType' object has no attribute '__version__'
        peer_module("ezmsg.core", "peers_ezmsg.py", "ezmsg 3.9.0")
    return driver(a)


if __name__ == "__main__":
    sys.exit(main())
