"""Clock offsets and drift (pipeline.clock): the NTP-style estimate on known clocks, the shifts it gives
edges, the drift fitted over bursts, and a run whose source process has skewed, drifting clocks."""

import random
import subprocess
import threading
import time
from types import SimpleNamespace

from test_runtime_multiprocess import ramp_graph
from wavegraph.pipeline import clock
from wavegraph.pipeline.clock import ClockSync, LocalClock
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.executor import StopFlag
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.multiprocess import run_multiprocess
from wavegraph.pipeline.placement import format_hosts
from wavegraph.pipeline.plan import WorkerPlan
from wavegraph.pipeline.worker import run_worker


def test_offset_and_uncertainty_from_the_shortest_round_trip():
    sync = ClockSync(rounds=3)
    wall_ahead, mono_ahead = 2_500_000, -7_000_000_000  # the worker's clocks vs the parent's, ns
    # (parent send, one-way delay out, delay back): asymmetric queueing on the slow rounds
    for t0, out, back in ((1_000_000, 900_000, 100_000), (5_000_000, 200_000, 200_000), (9_000_000, 50_000, 700_000)):
        t1 = t0 + out + wall_ahead
        assert sync.reply("w", t0, t1, t0, t0 + out + mono_ahead, t3=t0 + out + back, m3=t0 + out + back) is (
            t0 < 9_000_000
        )
    est = sync.estimate("w")
    assert est is not None
    assert est["rtt_ms"] == 0.4 and est["uncertainty_ms"] == 0.2  # the symmetric 0.4 ms round trip
    assert est["offset_ms"] == 2.5 and est["mono_offset_ns"] == mono_ahead  # exact when the delays are equal
    assert est["rounds"] == 3


def test_shifts_take_origin_stamps_from_the_sender_clock_to_the_receiver_clock():
    sync = ClockSync(rounds=1)
    for g, mono in (("amp", 5_000), ("gpu", -3_000)):
        sync.reply(g, 0, 0, 0, mono, t3=0, m3=0)
    plans = {
        "amp": SimpleNamespace(senders=[SimpleNamespace(edge="e")], receivers=[]),
        "gpu": SimpleNamespace(senders=[], receivers=[SimpleNamespace(edge="e")]),
    }
    assert sync.complete(plans)
    # A chunk stamped 100 on amp's clock was emitted at 100 - 5_000 on the parent's, -3_000 + that on gpu's.
    assert 100 + sync.shifts("gpu", plans)["e"] == 100 - 5_000 - 3_000


def test_a_shift_within_the_uncertainty_is_zero():
    sync = ClockSync(rounds=1)
    sync.reply("a", 0, 0, 0, 30_000, t3=200_000, m3=200_000)  # offset -70 us +/- 100 us
    sync.reply("b", 0, 0, 0, 100_000, t3=200_000, m3=200_000)  # offset 0 +/- 100 us
    plans = {
        "a": SimpleNamespace(senders=[SimpleNamespace(edge="e")], receivers=[]),
        "b": SimpleNamespace(senders=[], receivers=[SimpleNamespace(edge="e")]),
    }
    assert sync.shifts("b", plans) == {"e": 0}


def test_drift_from_a_line_through_the_bursts():
    """Offsets that grow 40 us per second (40 ppm) with +/- 50 us of noise: the fitted slope is the drift."""
    sync = ClockSync(rounds=1, resync_rounds=1)
    rng = random.Random(7)
    for k in range(30):  # one exchange per second, 100 us round trips
        m0 = k * 10**9
        mono_off = 1_000_000 + 40e-6 * m0 + rng.uniform(-50_000, 50_000)
        if k:
            sync.resync("w")
        sync.reply(
            "w", m0, int(m0 + 50_000 + mono_off), m0, int(m0 + 50_000 + mono_off), t3=m0 + 100_000, m3=m0 + 100_000
        )
    est = sync.estimate("w")
    assert est is not None and est["bursts"] == 30
    assert abs(est["drift_ppm"] - 40.0) <= est["drift_uncertainty_ppm"]  # 100 us over 29 s: +/- 3.4 ppm
    assert abs(est["mono_offset_ns"] - (1_000_000 + 40e-6 * 29e9)) < 50_000


class SkewedClock(LocalClock):
    """Another machine's clocks: `offset_s` ahead of this one's, and running `ppm` fast."""

    def __init__(self, offset_s: float, ppm: float):
        self.offset, self.rate, self.since = int(offset_s * 1e9), ppm * 1e-6, time.monotonic_ns()

    def _skew(self, now: int) -> int:
        return self.offset + int((now - self.since) * self.rate)

    def wall_ns(self) -> int:
        return time.time_ns() + self._skew(time.monotonic_ns())

    def mono_ns(self) -> int:
        now = time.monotonic_ns()
        return now + self._skew(now)


class ThreadLauncher:
    """Runs each group's worker (pipeline.worker.run_worker, the real one) in a thread of this process,
    with the clock given for its group: a multi-process run in which one process's clocks are skewed."""

    def __init__(self, clocks: dict, folder):
        self.clocks, self.folder = clocks, folder

    def bind_control(self, router) -> str:
        router.bind(f"ipc://{self.folder}/control.ipc")
        return f"ipc://{self.folder}/control.ipc"

    def start(self, group, plan):
        return WorkerThread(WorkerPlan.from_json(plan.to_json()), self.clocks.get(group))

    def close(self) -> None:
        pass


class WorkerThread:
    def __init__(self, plan, clock):
        self.code = None
        self.thread = threading.Thread(target=lambda: setattr(self, "code", run_worker(plan, StopFlag(), clock)))
        self.thread.start()

    def poll(self):
        return None if self.thread.is_alive() else (1 if self.code is None else self.code)

    def wait(self, timeout=None):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise subprocess.TimeoutExpired("worker thread", timeout or 0)
        return self.poll()

    def kill(self):  # a thread cannot be killed; the parent's Abort has reached it by now
        pass


def test_a_skewed_drifting_worker_clock_is_followed_and_latency_stays_right(tmp_path, monkeypatch):
    """Process 'a' (the source) runs on clocks 250 s ahead that gain 2 % (20000 ppm); 'b' sleeps 10 ms per
    chunk, so every chunk's true latency at the sink 'c' is at least 10 ms. The bursts every 0.25 s give the
    drift; the sink's latency, corrected by offset + drift, stays positive (offsets from start-up alone would
    be 60 ms behind by mid-run and turn most latencies negative)."""
    monkeypatch.setattr(clock, "RESYNC_S", 0.25)
    cfg = ramp_graph(tmp_path, n=6000)
    cfg.write_text(
        cfg.read_text()
        .replace("params: {crash_at: -1}", "params: {crash_at: -1, delay_s: 0.01}")
        .replace("chunk_size: 10", "chunk_size: 20")
    )
    launcher = ThreadLauncher({"a": SkewedClock(250.0, 20_000.0)}, tmp_path)
    r = run_multiprocess(build_graph(load_config(cfg)), speed=1.0, launcher=launcher)
    assert r.exit_code == 0, r.failure
    a, b = r.extra["clocks"]["a"], r.extra["clocks"]["b"]
    assert a["bursts"] >= 5 and b["bursts"] >= 5
    assert abs(a["drift_ppm"] - 20_000) <= 3 * a["drift_uncertainty_ppm"] + 100, a
    assert abs(b["drift_ppm"]) <= 3 * b["drift_uncertainty_ppm"] + 100, b
    assert abs(a["offset_ms"] - 250_000) < 1_000  # 250 s + what 2 % of the run adds
    p50, _ = r.stats["rec"]["latency_ns"]
    assert 2.5e6 <= p50 < 60e9, p50  # at least 10 ms, less the two uncertainties; uncorrected: about -250 s
    row = next(line.split() for line in format_hosts(r.extra).splitlines() if line.startswith("a "))
    assert abs(float(row[-2]) - 20_000) <= 3 * a["drift_uncertainty_ppm"] + 100  # the summary's drift ppm
