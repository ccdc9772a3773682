"""What the live monitor costs, at 64 channels and 1 kHz (target: at most 10 % of one core).

    wavegraph bench monitor [--seconds 30] [--repeat 2] [--mode one|multi|both] [--json PATH]

1. The tap alone: a `monitor` node fed 60 s of 64-channel 1 kHz signal in 10 ms chunks, with a hub in
   this process; CPU time / signal time = the share of one core it needs.
2. Live runs: `eeg_sim (64 ch, 1 kHz, 10 ms chunks) -> bandpass` at --speed 1, in one process
   (`--in-process`) and in three (the parent, `src` and `bp` in workers), each once plain and once with
   `--monitor` and a headless chromium page open on it (the page must be watching, or the server has
   nothing to send). `--monitor` taps both streams (src.out and bp.out). The CPU time of every process of
   the run (the parent and all its workers, from psutil) over the steady part, divided by its length, is
   the run's share of one core; the difference between the two runs is the monitor's whole cost (taps,
   hub, web server). Chromium's own CPU is the viewer's, reported apart. With --repeat, plain and
   monitored runs alternate, so a change in the machine's load hits both.
"""

from __future__ import annotations

import argparse
import json
import math
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
PROCESSES = """\
processes:
  acquisition: [src]
  dsp: [bp]
"""


def tap_cost(seconds: float = 60.0) -> float:
    """CPU seconds per second of signal of one `monitor` node, fed as fast as it goes, its clock (flushes
    about 30 times a second, a spectrum twice a second) driven by the stream's time as in a live run."""
    from types import SimpleNamespace

    from wavegraph.nodes.io import monitor as tap
    from wavegraph.pipeline import monitor as mon
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    hub = mon.MonitorHub()
    mon.set_local_hub(hub)
    clock = [0.0]
    real_time, tap.time = tap.time, SimpleNamespace(monotonic=lambda: clock[0])  # pyright: ignore[reportAttributeAccessIssue]
    try:
        node = tap.Monitor(name="x")
        node.configure({"in": signal_spec(1000.0, [f"c{i}" for i in range(64)])})
        x = np.random.default_rng(0).standard_normal((64, 1000))
        chunks = [Chunk(x[:, i : i + 10].copy(), t0=0.0) for i in range(0, 1000, 10)]
        start = time.process_time()
        for s in range(int(seconds)):
            for k, c in enumerate(chunks):
                c.t0 = s + k * 0.01
                clock[0] = c.t0 + 0.01  # the chunk's last sample has just arrived
                node.process({"in": c})
        cpu = time.process_time() - start
    finally:
        tap.time = real_time  # pyright: ignore[reportAttributeAccessIssue]
        mon.set_local_hub(None)
    return cpu / seconds


BROWSER_DIRS = ("/usr/bin",)  # Debian's chromium and chromedriver when not on PATH


def _browser_path(exe: str) -> str | None:
    return shutil.which(exe) or next((f"{d}/{exe}" for d in BROWSER_DIRS if os.path.exists(f"{d}/{exe}")), None)


def _open_page(url: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = _browser_path("chromium") or "chromium"
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
    return webdriver.Chrome(service=Service(_browser_path("chromedriver") or "chromedriver"), options=opts)


def _cpu(root) -> dict[int, float]:
    """CPU seconds (user + system) of `root` and of every process under it, by pid."""
    import psutil  # pyright: ignore[reportMissingImports]

    out = {}
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:  # ended in between
            pass
    return out


def _threads(root) -> float:
    """CPU seconds of the threads of `root` other than its main thread (web server, hub, ZeroMQ I/O)."""
    return sum(t.user_time + t.system_time for t in root.threads() if t.id != root.pid)


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def run_cost(seconds: float, monitor: bool, in_process: bool = True) -> dict[str, float]:
    """Shares of one core over the steady part of one live run, from 5 s after the start (imports, workers,
    the page's first load) to 2 s before the end: `run` (every process of the run), `parent` and `workers`
    (its parts), `threads` (the parent's threads other than its main one) and `chromium` (the page)."""
    import psutil  # pyright: ignore[reportMissingImports]

    folder = Path(tempfile.mkdtemp(prefix="wg-bench-monitor-"))
    graph = folder / "g.yaml"
    graph.write_text(GRAPH.format(seconds=seconds) + ("" if in_process else PROCESSES))
    cmd = [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(graph), "--speed", "1", "--no-status"]
    cmd += ["--in-process"] if in_process else []
    if monitor:
        cmd += ["--monitor", "--monitor-port", "0"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=folder)
    root = psutil.Process(proc.pid)
    driver = browser = None
    if monitor:
        assert proc.stderr is not None  # stderr=PIPE
        line = proc.stderr.readline()
        while line and not line.startswith("monitor: "):
            line = proc.stderr.readline()
        url = line.split(" ", 1)[1].strip()
        driver = _open_page(url)
        driver.get(url)
        browser = psutil.Process(driver.service.process.pid)  # chromedriver, with the chromium it started
    time.sleep(max(0.0, started + 5.0 - time.monotonic()))
    t0, c0, h0, g0 = time.monotonic(), _cpu(root), _threads(root), _cpu(browser) if browser else {}
    time.sleep(max(0.0, started + seconds - 2.0 - time.monotonic()))
    t1, c1, h1, g1 = time.monotonic(), _cpu(root), _threads(root), _cpu(browser) if browser else {}
    proc.wait()
    if driver is not None:
        driver.quit()
    shutil.rmtree(folder, ignore_errors=True)
    dt = t1 - t0
    parent = (c1.get(root.pid, 0.0) - c0.get(root.pid, 0.0)) / dt
    run = _spent(c0, c1) / dt
    return {
        "run": run,
        "parent": parent,
        "workers": run - parent,
        "threads": (h1 - h0) / dt,
        "chromium": _spent(g0, g1) / dt,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="wavegraph bench monitor", description=__doc__.splitlines()[0] if __doc__ else None
    )
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each live run")
    ap.add_argument("--repeat", type=int, default=1, help="pairs of live runs (plain, monitored) per mode")
    ap.add_argument("--mode", choices=("one", "multi", "both"), default="both", help="one process, several, or both")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    if not math.isfinite(args.seconds):  # (nan passed the check below, and inf ran without end)
        ap.error(f"--seconds {args.seconds:g} is no length of a run; give 10 or more (default 30)")
    if args.seconds < 10:  # the steady part of a run is from 5 s after its start to 2 s before its end
        ap.error(
            f"--seconds {args.seconds:g} leaves no steady part to measure (it runs from 5 s after the start to "
            "2 s before the end of each run; shorter runs gave negative costs); give 10 or more (default 30)"
        )
    from wavegraph.benchmarks.bench_checks import check_modules, check_outputs

    check_outputs(ap, ("--json", args.json))
    if args.repeat < 1:  # (0 or -1 measured nothing and exited 0, the tap's cost alone printed)
        ap.error(f"--repeat {args.repeat} runs no pair of live runs to compare; give 1 or more (default 1)")
    # a missing one was an ImportError or selenium's NoSuchDriverException after the first plain run, its graph left
    # running; the monitored runs need the monitor (bokeh), a page (selenium, chromium, chromedriver), psutil
    check_modules(
        ap,
        "bench monitor",
        ("psutil", "pip install 'wavegraph[soak]'"),
        ("bokeh", "pip install 'wavegraph[monitor]'"),
        ("selenium", "pip install selenium==4.51.0, in wavegraph[test]"),
    )
    for exe in ("chromium", "chromedriver"):
        if not _browser_path(exe):
            ap.error(
                f"bench monitor needs {exe} to open the page (as root: apt-get install chromium chromium-driver, "
                "or `make system-deps`, scripts/system_deps.sh)"
            )
    load = os.getloadavg()[0]
    tap = tap_cost()
    print(f"load average (1 min) at the start: {load:.2f} on {os.cpu_count()} cores")
    print(f"monitor tap alone: {100 * tap:.2f} % of one core at 64 ch x 1 kHz, 10 ms chunks")
    figures: dict = {"tap_core_share": tap, "seconds": args.seconds, "cpus": os.cpu_count(), "load_start": load}
    modes = {"one": [True], "multi": [False], "both": [True, False]}[args.mode]
    for in_process in modes:
        name = "one process" if in_process else "three processes"
        runs = []
        for _ in range(args.repeat):
            plain = run_cost(args.seconds, monitor=False, in_process=in_process)
            watched = run_cost(args.seconds, monitor=True, in_process=in_process)
            runs.append({"plain": plain, "monitor": watched, "cost": watched["run"] - plain["run"]})
            print(
                f"{name}, --speed 1, steady state: the run uses {100 * plain['run']:.1f} % of one core plain, "
                f"{100 * watched['run']:.1f} % with the monitor and a page open -> the monitor costs "
                f"{100 * runs[-1]['cost']:.1f} % of one core (target <= 10 %); the parent's other threads "
                f"(web server, hub) {100 * watched['threads']:.1f} % (plain {100 * plain['threads']:.1f} %)"
                + (
                    ""
                    if in_process
                    else f"; the parent {100 * (watched['parent'] - plain['parent']):+.1f}, the workers "
                    f"{100 * (watched['workers'] - plain['workers']):+.1f} points"
                )
                + "; "
                f"the headless chromium page {100 * watched['chromium']:.0f} % (the viewer's, not the graph's)"
            )
        figures["one_process" if in_process else "multi_process"] = runs
    figures["load_end"] = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {figures['load_end']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
