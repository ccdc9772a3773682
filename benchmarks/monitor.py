"""What the live monitor costs the graph, at 64 channels and 1 kHz (target: at most 10 % of one core).

    wavegraph bench monitor [--seconds 20] [--json PATH]

1. The tap alone: a `monitor` node fed 60 s of 64-channel 1 kHz signal in 10 ms chunks, with a hub in
   this process; CPU time / signal time = the share of one core it needs.
2. A live run: `eeg_sim (64 ch, 1 kHz, 10 ms chunks) -> bandpass` at --speed 1 in one process, once plain
   and once with `--monitor` and a headless chromium page open on it (the page must be watching, or the
   server has nothing to send). The difference in the run's CPU time, divided by the run's length, is
   the monitor's whole cost to the graph's process (tap, hub and web server); chromium's own CPU is the
   viewer's, reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GRAPH = """\
nodes:
  - id: src
    type: eeg_sim
    params: {{rate: 1000.0, channels: 64, chunk_size: 10, duration: {seconds}}}
  - id: bp
    type: bandpass
    params: {{l_freq: 1.0, h_freq: 40.0}}
edges:
  - {{source: src.out, target: bp.in}}
"""


def tap_cost(seconds: float = 60.0) -> float:
    from wavegraph.nodes.io.monitor import Monitor
    from wavegraph.pipeline import monitor as mon
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    hub = mon.MonitorHub()
    mon.set_local_hub(hub)
    node = Monitor(name="x")
    node.configure({"in": signal_spec(1000.0, [f"c{i}" for i in range(64)])})
    x = np.random.default_rng(0).standard_normal((64, 1000))
    chunks = [Chunk(x[:, i : i + 10].copy(), t0=0.0) for i in range(0, 1000, 10)]
    start = time.process_time()
    for s in range(int(seconds)):
        for k, c in enumerate(chunks):
            c.t0 = s + k * 0.01
            node.process({"in": c})
            if k % 3 == 0:
                time.sleep(0)  # let the 30 Hz flush clock advance as in a live run
    cpu = time.process_time() - start
    mon.set_local_hub(None)
    return cpu / seconds


def _open_page(url: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1700",
    ):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)


def _chromium_cpu() -> float:
    import psutil

    total = 0.0
    for p in psutil.process_iter(["name", "cpu_times"]):
        if p.info["name"] and "chrom" in p.info["name"]:
            total += p.info["cpu_times"].user + p.info["cpu_times"].system
    return total


def run_cost(seconds: float, monitor: bool) -> tuple[float, float]:
    """(CPU seconds of the wavegraph process, CPU seconds of chromium) over the steady part of one live run:
    from 5 s after the start (imports, the page's first load) to 2 s before the end."""
    import psutil

    folder = Path(tempfile.mkdtemp(prefix="wg-bench-monitor-"))
    graph = folder / "g.yaml"
    graph.write_text(GRAPH.format(seconds=seconds))
    cmd = [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(graph), "--speed", "1", "--in-process"]
    if monitor:
        cmd += ["--monitor", "--monitor-port", "0"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    child = psutil.Process(proc.pid)
    driver = None
    if monitor:
        assert proc.stderr is not None  # stderr=PIPE
        url = proc.stderr.readline().split(" ", 1)[1].strip()
        driver = _open_page(url)
        driver.get(url)
    time.sleep(max(0.0, started + 5.0 - time.monotonic()))
    t0, c0, g0 = time.monotonic(), sum(child.cpu_times()[:2]), _chromium_cpu()
    time.sleep(max(0.0, started + seconds - 2.0 - time.monotonic()))
    t1, c1, g1 = time.monotonic(), sum(child.cpu_times()[:2]), _chromium_cpu()
    proc.wait()
    if driver is not None:
        driver.quit()
    shutil.rmtree(folder, ignore_errors=True)
    return (c1 - c0) / (t1 - t0), (g1 - g0) / (t1 - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="wavegraph bench monitor", description=__doc__.splitlines()[0] if __doc__ else None
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each live run")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    tap = tap_cost()
    print(f"monitor tap alone: {100 * tap:.2f} % of one core at 64 ch x 1 kHz, 10 ms chunks")
    plain, _ = run_cost(args.seconds, monitor=False)
    watched, chrome = run_cost(args.seconds, monitor=True)
    extra = watched - plain
    print(
        f"live run at --speed 1, steady state: the graph's process uses {100 * plain:.1f} % of one core plain, "
        f"{100 * watched:.1f} % with the monitor and a page open -> the monitor costs {100 * extra:.1f} % of one "
        f"core (target <= 10 %)"
    )
    print(f"the headless chromium viewer itself used {100 * chrome:.0f} % of one core (not the graph's)")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "tap_core_share": tap,
                    "run_core_share_plain": plain,
                    "run_core_share_monitor": watched,
                    "monitor_core_share": extra,
                    "chromium_core_share": chrome,
                    "seconds": args.seconds,
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
