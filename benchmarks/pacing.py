"""Replay pacing at --speed 1: how far the stream clock drifts from the wall clock.

    .venv/bin/python benchmarks/pacing.py [--seconds 30] [--chunk-ms 10]

A synthetic 1 kHz, 8-channel sine source is replayed through a bandpass filter into a sink that
stamps every chunk on arrival (time.monotonic_ns). Reported: the drift, (wall span between the first
and the last chunk) / (stream span between their t0) - 1, and how late each chunk arrived against its
schedule (p50/p99/max). The target is |drift| < 1 % over 30 s.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, ahead of benchmarks/nodes.py

from wavegraph.benchmarks.bench_checks import prog as _prog
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Sink
from wavegraph.pipeline.runner import run_graph


class StampSink(Sink):
    """Keeps (t0, arrival time) of every chunk."""

    stamps: list = []

    def process(self, inputs):
        StampSink.stamps.append((inputs["in"].t0, time.monotonic_ns()))
        return {}


GRAPH = """\
nodes:
  - id: src
    type: sine
    params: {rate: 1000.0, channels: 8, freq: 10.0, chunk_size: CHUNK, duration: SECONDS}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 40.0}
  - id: sink
    type: wavegraph.benchmarks.pacing:StampSink
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: sink.in}
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog=_prog("pacing", argv), description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--chunk-ms", type=float, default=10.0)
    ap.add_argument("--png", help="also draw the lateness of every chunk to a PNG")
    args = ap.parse_args(argv)
    # (inf was int()'s 'OverflowError: cannot convert float infinity to integer', a traceback)
    if not (math.isfinite(args.chunk_ms) and args.chunk_ms >= 1 and args.chunk_ms == int(args.chunk_ms)):
        ap.error(f"--chunk-ms must be a whole number of ms >= 1 (the source is 1 kHz), got {args.chunk_ms:g}")
    if not (math.isfinite(args.seconds) and args.seconds * 1e3 >= 2 * args.chunk_ms):  # (inf: a run without end)
        ap.error(f"--seconds must span at least two chunks ({2 * args.chunk_ms / 1e3:g} s), got {args.seconds:g}")
    from wavegraph.benchmarks.bench_checks import check_outputs, picture

    args.png = picture(ap, "--png", args.png)  # (plot -> plot.png, the name said)
    check_outputs(ap, ("--png", args.png))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pacing.yaml"
        path.write_text(GRAPH.replace("CHUNK", str(int(args.chunk_ms))).replace("SECONDS", str(args.seconds)))
        result = run_graph(build_graph(load_config(path)), speed=1.0, in_process=True)
    assert result.exit_code == 0, result.failure
    # the graph names the installed module's class (`__main__:StampSink` only existed for `python benchmarks/pacing.py`:
    # `wavegraph bench pacing` failed with "unknown type"); run as a script, that is another copy of this class
    stamps = importlib.import_module("wavegraph.benchmarks.pacing").StampSink.stamps
    t0 = np.array([s[0] for s in stamps])
    wall = (np.array([s[1] for s in stamps]) - stamps[0][1]) / 1e9
    drift = (wall[-1] / (t0[-1] - t0[0]) - 1.0) * 100.0
    late_ms = (wall - (t0 - t0[0])) * 1e3
    print(
        f"replayed {t0[-1] - t0[0] + args.chunk_ms / 1e3:.2f} s of stream in {len(t0)} chunks of {args.chunk_ms:g} ms at --speed 1"
    )
    # the spans to the microsecond: to the ms, 0.990 s for 0.990 s sat beside a drift of +0.018 % (0.18 ms)
    print(
        f"drift: {drift:+.3f} % (first to last chunk: wall span {wall[-1]:.6f} s / stream span "
        f"{t0[-1] - t0[0]:.6f} s - 1)"
    )
    print(
        f"lateness vs schedule: p50 {np.percentile(late_ms, 50):.2f} ms, p99 {np.percentile(late_ms, 99):.2f} ms, "
        f"max {late_ms.max():.2f} ms"
    )
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from wavegraph.nodes.io.figure_file import save_figure

        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot(t0 - t0[0], late_ms, lw=0.6)
        ax.set_xlabel("stream time (s)")
        ax.set_ylabel("lateness (ms)")
        ax.set_title(f"bench pacing: drift {drift:+.3f} %, p99 {np.percentile(late_ms, 99):.2f} ms")
        fig.tight_layout()
        save_figure(fig, args.png, dpi=100)  # (whole or not at all: a full disk left a 0-byte PNG)
        plt.close(fig)
        print(f"plot: {args.png}")  # as bench bci says where its plot went
    return 0


if __name__ == "__main__":
    main()
