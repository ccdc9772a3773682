"""Live LSL acquisition + a 1-40 Hz causal band-pass: wavegraph's runtime against MNE-LSL's StreamLSL, same run.

    bash benchmarks/peers_setup.sh                        # once: also builds .venv-mnelsl (mne-lsl 1.14.0)
    LSLAPICFG=configs/lsl_api.cfg .venv-mnelsl/bin/python benchmarks/peers_mnelsl.py --json out.json

One producer process plays a 64-channel 1 kHz float32 EEG stream on LSL in real time (pylsl outlet, 10-sample
chunks every 10 ms; sample i is stamped T0 + i / rate; the local_clock() just before each push goes into a side
table). The signal is known (seeded noise, a DC offset per channel, a 0.3 Hz drift, 10 and 50 Hz tones), so every
consumer's output is checked against scipy's sosfilt of the same samples offline.

Consumers, each in its own process, all on the same stream at the same time (`--apart`: one stream per consumer,
one after the other), each record per block handed to user code: the samples' indices (from their LSL times),
the local_clock() when the block became available to user code, the process's CPU time (getrusage: every thread)
and the filtered data:

  * MNE-LSL: `StreamLSL(bufsize, name).connect(acquisition_delay=D)`, `.filter(1, 40)` (its default iir_params:
    Butterworth order 4, sos), and the loop a user's app runs: poll `n_new_samples` every `--poll` s, then
    `get_data(winsize)` of the new samples plus a margin, keeping the samples newer than the last one seen
    (lossless while the ring buffer holds them). Once per acquisition delay in `--delays` (1 ms is its default).
  * wavegraph: `wavegraph run` on a YAML graph `lsl_inlet -> bandpass (1-40 Hz, butter, order 4) -> stamp`,
    where `stamp` (the Stamp sink below, a `module:Class` node) records each chunk as it arrives: the real runtime.

Per consumer over a common window of `--seconds` (after a 1 s lead, so every consumer is subscribed): latency
from the push of a sample's chunk to its availability to user code (p50/p95/p99), CPU seconds of the consumer
process per second of stream, samples lost and duplicated, and the filtered output's largest error relative to
the reference's peak. wavegraph's bandpass starts from a zero state at its first sample, so its reference is
sosfilt from there with zi = 0, compared over the whole window; MNE-LSL starts its filter from the step response
to the mean of its first acquired block, so its output is compared after `--settle` seconds (the transient of
the 1 Hz high-pass has died out there).

liblsl: both sides load pylsl's liblsl 1.18.0 (MNE-LSL through its MNE_LSL_LIB variable). The liblsl 1.17.7 that
mne-lsl 1.14.0 ships finds no stream of another process under configs/lsl_api.cfg (the loopback-only config):
with both `MachineAddresses = {127.0.0.1}` and `IPv6 = disable`, its resolve returns nothing, even for an outlet
of its own; either line alone works. Set MNE_LSL_LIB yourself to run MNE-LSL on another liblsl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from wavegraph.pipeline.node import NodeParams, Sink

ROOT = Path(__file__).resolve().parents[1]
LSLCFG = ROOT / "configs" / "lsl_api.cfg"
PUSH = 10  # samples per push
LEAD_S = 1.0  # s streamed before the measured window (every consumer subscribed and settled)
TAIL_S = 1.0  # s streamed after it
BUF_S = 5.0  # s: MNE-LSL's ring buffer


def cpu_s() -> float:
    """CPU seconds (user + system) of this process, every thread."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pylsl_liblsl() -> str:
    """pylsl's liblsl (1.18.0 in pylsl 1.18.6), which MNE-LSL loads too when MNE_LSL_LIB names it."""
    import pylsl.lib

    return str(sorted(Path(pylsl.lib.__file__).parent.glob("liblsl.so*"))[0])


def make_signal(channels: int, n: int, rate: float, seed: int = 0) -> np.ndarray:
    """(channels, n) float32: noise (sd 10), a DC offset per channel, a 0.3 Hz drift and 10 and 50 Hz tones."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    ch = np.arange(channels)[:, None]
    x = 10.0 * rng.standard_normal((channels, n))
    x += 100.0 + 5.0 * ch + 50.0 * np.sin(2 * np.pi * 0.3 * t + ch)
    x += 20.0 * np.sin(2 * np.pi * 10.0 * t + 0.1 * ch) + 10.0 * np.sin(2 * np.pi * 50.0 * t)
    return x.astype(np.float32)


def design(rate: float) -> np.ndarray:
    """The band-pass both sides use: Butterworth order 4 (8 poles), 1-40 Hz, as sos."""
    from scipy.signal import iirfilter

    return np.asarray(iirfilter(4, [1.0, 40.0], btype="bandpass", ftype="butter", output="sos", fs=rate))


# --- producer ------------------------------------------------------------------------------------------
def produce(a) -> None:
    import pylsl

    tmp = Path(a.tmp)
    n_total = int(round((LEAD_S + a.seconds + TAIL_S) * a.rate))
    x = make_signal(a.channels, n_total, a.rate)
    info = pylsl.StreamInfo(a.name, "EEG", a.channels, a.rate, pylsl.cf_float32, a.name)
    chans = info.desc().append_child("channels")
    for i in range(a.channels):
        c = chans.append_child("channel")
        c.append_child_value("label", f"ch{i}")
        c.append_child_value("type", "EEG")
    outlet = pylsl.StreamOutlet(info, chunk_size=PUSH)
    (tmp / "outlet").touch()
    end = time.monotonic() + 60
    while len(list(tmp.glob("ready-*"))) < a.consumers:
        if time.monotonic() > end:
            raise SystemExit(f"producer: only {len(list(tmp.glob('ready-*')))} of {a.consumers} consumers ready")
        time.sleep(0.05)
    time.sleep(1.0)  # the last consumer's inlet subscribes
    t0 = pylsl.local_clock() + 0.05
    n_chunks = n_total // PUSH
    pushed = np.zeros(n_chunks)
    for k in range(n_chunks):
        due = t0 + (k + 1) * PUSH / a.rate  # the chunk's last sample has been acquired
        while (wait := due - pylsl.local_clock()) > 0:
            time.sleep(wait)
        block = np.ascontiguousarray(x[:, k * PUSH : (k + 1) * PUSH].T)
        stamps = (t0 + np.arange(k * PUSH, (k + 1) * PUSH) / a.rate).tolist()
        pushed[k] = pylsl.local_clock()
        outlet.push_chunk(block, stamps)
    np.savez(tmp / "producer.npz", t0=t0, pushed=pushed)
    (tmp / "done").touch()
    time.sleep(2.0)  # consumers pull the end before the outlet goes
    del outlet


# --- consumers -----------------------------------------------------------------------------------------
class Recorder:
    """Per block handed to user code: its samples' LSL times, arrival local_clock(), CPU time, data."""

    def __init__(self):
        self.ts: list[np.ndarray] = []
        self.arrival: list[float] = []
        self.cpu: list[float] = []
        self.data: list[np.ndarray] = []

    def add(self, ts: np.ndarray, data: np.ndarray, now: float) -> None:
        self.cpu.append(cpu_s())
        self.arrival.append(now)
        self.ts.append(np.asarray(ts, dtype=np.float64))
        self.data.append(np.asarray(data, dtype=np.float32))

    def save(self, path: str | Path, **extra) -> None:
        n = np.array([len(t) for t in self.ts], dtype=np.int64)
        empty = np.zeros((0, 0), np.float32)
        np.savez(
            path,
            ts=np.concatenate(self.ts) if self.ts else np.zeros(0),
            n=n,
            arrival=np.array(self.arrival),
            cpu=np.array(self.cpu),
            data=np.concatenate(self.data, axis=1) if self.data else empty,
            **extra,
        )


def consume_mne(a) -> None:
    import pylsl
    from mne_lsl.stream import StreamLSL

    tmp = Path(a.tmp)
    stream = StreamLSL(bufsize=BUF_S, name=a.name).connect(acquisition_delay=a.delay)
    stream.filter(1.0, 40.0)  # default iir_params: Butterworth order 4, sos
    sos = np.asarray(stream.filters[0]["sos"])
    sfreq = stream.info["sfreq"]
    rec, last, margin, idle = Recorder(), 0.0, 50, 0.0  # the empty buffer's timestamps are 0
    (tmp / f"ready-{a.label}").touch()
    done = tmp / "done"
    while True:
        n = stream.n_new_samples
        if n:
            data, ts = stream.get_data(winsize=min(n + margin, int(BUF_S * sfreq)) / sfreq)
            now = pylsl.local_clock()
            keep = ts > last
            if keep.any():
                rec.add(ts[keep], data[:, keep], now)
                last = ts[keep][-1]
            idle = 0.0
        else:
            if idle > 0.5 and done.exists():
                break
            time.sleep(a.poll)
            idle += a.poll
    stream.disconnect()
    rec.save(tmp / f"{a.label}.npz", sos=sos)


class StampParams(NodeParams):
    path: str = Field(..., description="where the record goes (.npz) at close")
    ready: str = Field(..., description="file touched when the graph opens")


class Stamp(Sink[StampParams]):
    """Records every chunk as the runtime delivers it: sample times, arrival local_clock(), CPU, data."""

    inputs = ("in",)
    Params = StampParams

    def configure(self, in_specs):
        import pylsl

        self._clock = pylsl.local_clock
        self._rate = in_specs["in"].rate
        self._rec = Recorder()
        return {}

    def open(self) -> None:
        Path(self.params.ready).touch()

    def process(self, inputs):
        c = inputs["in"]
        now = self._clock()
        self._rec.add(c.t0 + np.arange(c.data.shape[-1]) / self._rate, c.data, now)
        return {}

    def close(self) -> None:
        if hasattr(self, "_rec"):
            self._rec.save(self.params.path, sos=design(self._rate))


def graph_yaml(name: str, tmp: Path, label: str) -> str:
    stamp = "wavegraph.benchmarks.peers_mnelsl:Stamp"
    return f"""name: peers-mnelsl
nodes:
  - {{id: eeg, type: lsl_inlet, params: {{name: {name}, resolve_timeout: 10.0}}}}
  - {{id: bp, type: bandpass, params: {{l_freq: 1.0, h_freq: 40.0, order: 4, design: butter}}}}
  - {{id: stamp, type: "{stamp}", params: {{path: "{tmp / (label + ".npz")}", ready: "{tmp / ("ready-" + label)}"}}}}
edges:
  - {{source: eeg.out, target: bp.in}}
  - {{source: bp.out, target: stamp.in}}
"""


# --- analysis ------------------------------------------------------------------------------------------
def analyse(rec: dict, prod: dict, x: np.ndarray, rate: float, seconds: float, settle: float, mne: bool) -> dict:
    """Latency, CPU, loss and output error of one consumer over the window [LEAD_S, LEAD_S + seconds)."""
    from scipy.signal import sosfilt

    idx = np.rint((rec["ts"] - prod["t0"]) * rate).astype(np.int64)
    lo, hi = int(LEAD_S * rate), int((LEAD_S + seconds) * rate)
    arrival = np.repeat(rec["arrival"], rec["n"])
    cpu = np.repeat(rec["cpu"], rec["n"])
    inwin = (idx >= lo) & (idx < hi)
    seen = np.bincount(idx[inwin] - lo, minlength=hi - lo)
    lat = (arrival[inwin] - prod["pushed"][idx[inwin] // PUSH]) * 1e3
    out: dict[str, Any] = {
        "samples": int(inwin.sum()),
        "lost": int(np.count_nonzero(seen == 0)),
        "duplicated": int(np.sum(np.maximum(seen - 1, 0))),
        "out_of_order": int(np.count_nonzero(np.diff(idx) <= 0)),
        "blocks": int(len(rec["n"])),
        "samples_per_block": float(np.mean(rec["n"])) if len(rec["n"]) else 0.0,
        "latency_ms": {q: float(np.percentile(lat, int(q[1:]))) for q in ("p50", "p95", "p99")},
        "latency_max_ms": float(lat.max()),
    }
    w = np.flatnonzero(inwin)
    out["cpu_s_per_stream_s"] = float((cpu[w[-1]] - cpu[w[0]]) / ((idx[w[-1]] - idx[w[0]]) / rate))
    # the output against sosfilt of the same samples from the consumer's first one, zero initial state
    first = int(idx.min())
    ref = np.asarray(sosfilt(design(rate), x[:, first:].astype(np.float64), axis=-1))
    start = first + (int(settle * rate) if mne else 0)
    ok = (idx >= max(start, lo)) & (idx < hi)
    y, r = rec["data"][:, ok].astype(np.float64), ref[:, idx[ok] - first]
    out["first_sample"] = first - lo
    out["checked_from_s"] = (max(start, lo) - lo) / rate
    if not ok.any():  # --settle reaches past the window (was: ValueError from max() of an empty array)
        out.update(max_err_rel=float("nan"), max_err_rel_f32=float("nan"), sos_diff=float("nan"))
        return out
    out["max_err_rel"] = float(np.abs(y - r).max() / np.abs(r).max())
    # the same filter run in float32 arithmetic (what scipy's kernel does with float32 sos and data)
    ref32 = np.asarray(sosfilt(design(rate).astype(np.float32), x[:, first:], axis=-1))
    out["max_err_rel_f32"] = float(np.abs(y - ref32[:, idx[ok] - first]).max() / np.abs(r).max())
    out["sos_diff"] = float(np.abs(rec["sos"] - design(rate)).max())
    return out


def run_session(a, consumers: list[tuple[str, float | None]]) -> dict:
    """One stream, the given consumers on it at once; returns {label: record} and the producer's table."""
    env = {**os.environ, "LSLAPICFG": str(LSLCFG), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.setdefault("MNE_LSL_LIB", pylsl_liblsl())  # see the module docstring: its own liblsl 1.17.7 resolves nothing
    with tempfile.TemporaryDirectory(prefix="peers_mnelsl_") as d:
        tmp = Path(d)
        name = f"wg-mnelsl-{uuid.uuid4().hex[:8]}"
        common = ["--tmp", d, "--name", name, "--rate", str(a.rate), "--channels", str(a.channels)]
        me = [sys.executable, __file__]
        prod = subprocess.Popen(
            [*me, "--role", "producer", *common, "--seconds", str(a.seconds), "--consumers", str(len(consumers))],
            env=env,
        )
        while not (tmp / "outlet").exists():
            if prod.poll() is not None:
                raise SystemExit("producer failed")
            time.sleep(0.05)
        procs = [prod]
        try:  # a failure (a timeout, Ctrl-C) ends every child: an MNE-LSL consumer polls until the producer's "done"
            for label, delay in consumers:
                if delay is None:
                    (tmp / "graph.yaml").write_text(graph_yaml(name, tmp, label))
                    wg = Path(sys.executable).with_name("wavegraph")
                    cmd = [str(wg), "run", str(tmp / "graph.yaml"), "--in-process", "--no-status"]
                else:
                    poll = delay if a.poll is None else a.poll
                    cmd = [*me, "--role", "mne", *common, "--label", label, "--delay", str(delay), "--poll", str(poll)]
                procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT))
            rcs = [p.wait(timeout=a.seconds + 120) for p in procs[1:]]
            if prod.wait(timeout=30) or any(rcs):
                raise SystemExit(f"a process failed: producer {prod.returncode}, consumers {rcs}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        if a.keep:
            shutil.copytree(tmp, Path(a.keep) / tmp.name)
        p = dict(np.load(tmp / "producer.npz"))
        return {"producer": p, **{label: dict(np.load(tmp / f"{label}.npz")) for label, _ in consumers}}


def fmt_row(label: str, r: dict) -> str:
    lat = r["latency_ms"]
    return (
        f"| {label} | {lat['p50']:.2f} | {lat['p95']:.2f} | {lat['p99']:.2f} | {r['cpu_s_per_stream_s']:.4f} | "
        f"{r['lost']} | {r['duplicated']} | {r['samples_per_block']:.1f} | {r['max_err_rel']:.1e} / "
        f"{r['max_err_rel_f32']:.1e} (from {r['checked_from_s']:g} s) |"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured window of stream (s)")
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--delays", default="0.001,0.01", help="MNE-LSL acquisition_delay values (s), comma-separated")
    ap.add_argument(
        "--poll",
        type=float,
        default=None,
        help="MNE-LSL user loop: sleep between polls (s); default its acquisition delay",
    )
    ap.add_argument("--settle", type=float, default=8.0, help="MNE-LSL output checked from this many s on")
    ap.add_argument("--apart", action="store_true", help="one stream per consumer, one after the other")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep", help="copy each session's raw records (.npz) into this folder")
    # internal: the roles of the child processes
    ap.add_argument("--role", choices=("producer", "mne"), help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    ap.add_argument("--name", help=argparse.SUPPRESS)
    ap.add_argument("--consumers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--label", help=argparse.SUPPRESS)
    ap.add_argument("--delay", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.role == "producer":
        produce(a)
        return 0
    if a.role == "mne":
        consume_mne(a)
        return 0
    if not 0 <= a.settle < a.seconds + LEAD_S:  # MNE-LSL's first sample comes about LEAD_S before the window
        ap.error(
            f"--settle {a.settle:g}: MNE-LSL's output is checked from --settle s after its first sample, which "
            f"comes about {LEAD_S:g} s before the --seconds {a.seconds:g} measured; give --settle from 0 to under "
            f"{a.seconds + LEAD_S:g}, or more --seconds (the default --settle 8 needs --seconds above {8 - LEAD_S:g})"
        )
    from wavegraph.benchmarks.bench_checks import check_outputs, peer_module

    check_outputs(ap, ("--json", a.json))
    # was ModuleNotFoundError outside .venv-mnelsl
    mne_lsl = peer_module("mne_lsl", "peers_mnelsl.py", "mne-lsl 1.14.0", ".venv-mnelsl")
    pylsl = peer_module("pylsl", "peers_mnelsl.py", "pylsl 1.18.6", ".venv-mnelsl")
    import scipy

    consumers: list[tuple[str, float | None]] = [("wavegraph", None)]
    consumers += [(f"mne-lsl@{float(d) * 1e3:g}ms", float(d)) for d in a.delays.split(",")]
    load0 = os.getloadavg()
    print(
        f"peers_mnelsl on {platform.node()}: {os.cpu_count()} cpus, load {load0[0]:.2f}; python "
        f"{platform.python_version()}, mne-lsl {mne_lsl.__version__}, pylsl {pylsl.__version__}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}; {a.channels} ch at {a.rate:g} Hz, {PUSH}-sample pushes, "
        f"{a.seconds:g} s measured; consumers {'apart' if a.apart else 'together'}",
        flush=True,
    )
    sessions = [[c] for c in consumers] if a.apart else [consumers]
    x = make_signal(a.channels, int(round((LEAD_S + a.seconds + TAIL_S) * a.rate)), a.rate)
    results: dict[str, dict] = {}
    for group in sessions:
        got = run_session(a, group)
        for label, delay in group:
            results[label] = analyse(got[label], got["producer"], x, a.rate, a.seconds, a.settle, delay is not None)
    load1 = os.getloadavg()
    print(f"load average {load0[0]:.2f} -> {load1[0]:.2f}")
    print(
        "| consumer | p50 ms | p95 ms | p99 ms | CPU s / stream s | lost | dup | samples/block | max err / peak: f64 / f32 ref |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, r in results.items():
        print(fmt_row(label, r))
    wg = results["wavegraph"]
    ratios = {}
    for label, r in results.items():
        if label == "wavegraph":
            continue
        ratios[label] = {q: wg["latency_ms"][q] / r["latency_ms"][q] for q in ("p50", "p95", "p99")}
        ratios[label]["cpu"] = wg["cpu_s_per_stream_s"] / r["cpu_s_per_stream_s"]
        q = ratios[label]
        print(
            f"wavegraph / {label}: latency p50 {q['p50']:.2f}x, p95 {q['p95']:.2f}x, p99 {q['p99']:.2f}x; "
            f"CPU {q['cpu']:.2f}x"
        )
    if a.json:
        Path(a.json).write_text(
            json.dumps(
                {
                    "versions": {"mne_lsl": mne_lsl.__version__, "pylsl": pylsl.__version__, "numpy": np.__version__},
                    "load": [load0, load1],
                    "args": vars(a),
                    "results": results,
                    "ratios": ratios,
                },
                indent=1,
            )
        )
    # a wrong filter (design, order, state) is off by O(1); float32 arithmetic by ~1e-3 here (docs/benchmarks.md)
    bad = [k for k, r in results.items() if r["lost"] or r["duplicated"] or not r["max_err_rel"] <= 1e-2]
    unchecked = [k for k, r in results.items() if np.isnan(r["max_err_rel"])]
    if unchecked:
        print(f"no output compared for {unchecked}: --settle {a.settle:g} s reaches past the window", file=sys.stderr)
    if bad:
        print(f"CHECK FAILED: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
