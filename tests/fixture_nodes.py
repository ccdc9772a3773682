"""Small nodes used only by the runtime tests (loaded by dotted path: `type: fixture_nodes:Ramp`)."""

from __future__ import annotations

import json
import os
import time

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams, Sink, Source
from wavegraph.pipeline.spec import SpecError, signal_spec


class RampParams(NodeParams):
    n_channels: int = 2
    rate: float
    chunk_size: int = 10
    n_samples: int = 100


class Ramp(Source):
    """Emits sample index + channel offset, so any lost or reordered sample is visible."""

    Params = RampParams

    def configure(self, in_specs):
        p = self.params
        self.pos = 0
        self.out_specs = {"out": signal_spec(p.rate, [f"ch{i}" for i in range(p.n_channels)], "misc", units="a.u.")}
        return self.out_specs

    @property
    def duration_seconds(self):
        return self.params.n_samples / self.params.rate

    def read(self):
        p = self.params
        if self.pos >= p.n_samples:
            return None
        n = min(p.chunk_size, p.n_samples - self.pos)
        idx = np.arange(self.pos, self.pos + n, dtype=np.float64)
        data = idx[None, :] + 1000.0 * np.arange(p.n_channels)[:, None]
        chunk = Chunk(data, t0=self.pos / p.rate)
        self.pos += n
        return {"out": chunk}


class CumSumParams(NodeParams):
    crash_at: int = -1  # raise on this call number (0-based); -1 never
    expect_channels: int = 0  # 0: any
    delay_s: float = 0.0  # sleep per chunk: a slow consumer
    exit_at: int = -1  # end the whole process abruptly (os._exit, no report) on this call; -1 never
    fail_close: bool = False  # close() raises, as a recorder that cannot finalise its file would


class CumSum(Node):
    """Running sum along time (stateful)."""

    Params = CumSumParams

    def configure(self, in_specs):
        spec = self.require_input(in_specs, kind="signal")
        if self.params.expect_channels and spec.shape[0] != self.params.expect_channels:
            raise SpecError(
                f"expects {self.params.expect_channels} channels, got {spec.shape[0]}",
                "pick channels upstream or change expect_channels",
            )
        self.calls = 0
        self.total = np.zeros(spec.shape[0])
        return super().configure(in_specs)

    def process(self, inputs):
        self.calls += 1
        if self.calls - 1 == self.params.crash_at:
            raise ValueError("boom: deliberate failure")
        if self.calls - 1 == self.params.exit_at:
            os._exit(3)  # a process that dies without reporting (segfault, OOM kill)
        if self.params.delay_s:
            time.sleep(self.params.delay_s)
        x = inputs["in"].data
        y = np.cumsum(x, axis=-1) + self.total[:, None]
        self.total = y[:, -1].copy()
        return {"out": inputs["in"].with_data(y)}

    def close(self):
        if self.params.fail_close and getattr(self, "calls", 0):  # the parent's build-only copy closes fine
            raise OSError("cannot finalise: disk full")

    def reset(self):
        self.total = np.zeros_like(self.total)

    def state_dict(self):
        return {"total": self.total.copy()}

    def load_state_dict(self, state):
        self.total = np.asarray(state["total"], dtype=np.float64).copy()


class Pairs(Node):
    """Holds every other chunk back and emits it joined to the next one (a node with lookahead)."""

    def configure(self, in_specs):
        self.held = None
        return super().configure(in_specs)

    def process(self, inputs):
        c = inputs["in"]
        if self.held is None:
            self.held = c
            return {}
        out = c.with_data(np.concatenate([self.held.data, c.data], axis=-1), t0=self.held.t0)  # c's flags
        self.held = None
        return {"out": out}

    def finish(self):
        held, self.held = self.held, None
        return {} if held is None else {"out": held}


class Collect(Sink):
    """Keeps every chunk it receives (for in-process tests)."""

    def configure(self, in_specs):
        self.chunks = []
        return super().configure(in_specs)

    def process(self, inputs):
        self.chunks.append(inputs["in"])
        return {}


class OpenCountingRampParams(RampParams):
    log: str  # a file that gets one line per configure() and open(): "<what> <pid>"
    fail_open: bool = False  # open() raises, as a device that cannot be opened would


class OpenCountingRamp(Ramp):
    """A Ramp whose configure() only works out the spec (light) and whose open() stands for the heavy
    part of a real source (opening a file's data, a device); both append "<what> <pid>" to `log`."""

    Params = OpenCountingRampParams

    def _log(self, what: str) -> None:
        with open(self.params.log, "a") as f:
            f.write(f"{what} {os.getpid()}\n")

    def configure(self, in_specs):
        self._log("configure")
        self.opened = False
        return super().configure(in_specs)

    def open(self):
        self._log("open")
        if self.params.fail_open:
            raise OSError("device busy: deliberate failure")
        self.opened = True

    def read(self):
        if not self.opened:  # offline use without open(): open on the first read, like a real source
            self._log("unopened-read")
            self.open()
        return super().read()


class AffinityRampParams(RampParams):
    log: str  # a file that gets, at open(), one JSON line: {"pid": ..., "threads": {thread name: allowed CPUs}}


class AffinityRamp(Ramp):
    """A Ramp that writes down, when opened, which CPUs each thread of its process may run on (its ZeroMQ I/O
    thread included), read from /proc."""

    Params = AffinityRampParams

    def open(self):
        threads = {}
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{task}/status") as f:
                allowed = next(line.split(":", 1)[1].strip() for line in f if line.startswith("Cpus_allowed_list"))
            threads[f"{name}/{task}"] = allowed
        with open(self.params.log, "a") as f:
            f.write(json.dumps({"pid": os.getpid(), "threads": threads}) + "\n")


class ShiftyParams(NodeParams):
    bad: str = "channels"  # or a dtype


class Shifty(Source):
    """4 channels at 250 Hz, 20 chunks of 25 samples; chunk 5 breaks the spec it declared (`bad`)."""

    Params = ShiftyParams

    def configure(self, in_specs):
        self.k = 0
        self.out_specs = {"out": signal_spec(250.0, ["a", "b", "c", "d"], "eeg")}
        return self.out_specs

    def read(self):
        if self.k >= 20:
            return None
        x = np.random.default_rng(self.k).standard_normal((4, 25))
        if self.k == 5:
            x = x[:3] if self.params.bad == "channels" else x.astype(self.params.bad)
        self.k += 1
        return {"out": Chunk(x, (self.k - 1) * 0.1)}
