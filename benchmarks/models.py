"""Streaming cost of the models vs recomputing, measured in the same run (CPU, one thread, fp32).

    .venv/bin/python benchmarks/models.py [--quick]

Conformer (d_model 144, 4 layers, x4 subsampling, 100 frames/s in, att_context [250, 4] = 10 s of left context,
chunks of 5 sub-frames = 200 ms):
  * per-chunk streaming cost after 10 / 30 / 60 s of stream (should be flat: the cache is bounded),
  * full recompute of the whole prefix with the same mask (grows with the stream),
  * recompute of just the window a chunk can see (10 s + the chunk): the fair reference; target ratio >= 5x.
Mamba stack (d_model 128, 4 layers): per-chunk streaming cost at the same positions vs full recompute, and the
  single-step latency at batch 1 vs 16.
Every figure is a median of repeats; ratios compare numbers measured here, in this run.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from wavegraph.models.conformer import ConformerConfig, ConformerEncoder  # noqa: E402
from wavegraph.models.mamba import MambaConfig, MambaStack  # noqa: E402

RATE = 100  # input frames per second
CHUNK = 20  # input frames per streamed chunk (5 sub-frames at x4)


def timeit(fn, repeats: int) -> float:
    """Median wall time of fn() in seconds (one warm-up call first)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def conformer_bench(positions_s, repeats):
    torch.manual_seed(0)
    cfg = ConformerConfig(d_in=80, d_model=144, n_layers=4, n_heads=4, conv_kernel=9, subsampling=4,
                          att_context_sizes=[[250, 4]])
    model = ConformerEncoder(cfg).eval()
    ctx = (250, 4)
    left_s = 250 * cfg.subsampling / RATE
    x = torch.randn(1, max(positions_s) * RATE + CHUNK * (repeats + 2), cfg.d_in)
    rows = []
    with torch.inference_mode():
        cache = model.init_cache(1, ctx)
        fed = 0
        for pos in positions_s:
            start = pos * RATE
            while fed < start:  # advance the stream to `pos` seconds in 1 s pieces
                n = min(RATE, start - fed)
                _, cache = model.stream(x[:, fed:fed + n], cache)
                fed += n
            times = []
            for i in range(repeats):
                piece = x[:, fed + i * CHUNK: fed + (i + 1) * CHUNK]
                t = time.perf_counter()
                y, c2 = model.stream(piece, cache)
                times.append(time.perf_counter() - t)
                assert y.shape[1] == CHUNK // cfg.subsampling
            t_stream = statistics.median(times)
            # recomputing the window this chunk can see: L sub-frames of left context + the chunk
            window = x[:, start + CHUNK - 250 * cfg.subsampling - CHUNK: start + CHUNK]
            t_window = timeit(lambda: model(window, att_context=ctx), max(3, repeats // 4))
            prefix = x[:, : start + CHUNK]
            t_full = timeit(lambda: model(prefix, att_context=ctx), max(1, repeats // 10))
            rows.append((pos, t_stream, t_window, t_full))
    return left_s, rows


def mamba_bench(positions_s, repeats):
    torch.manual_seed(0)
    model = MambaStack(MambaConfig(d_model=128, n_layers=4, d_in=80, d_state=16)).eval()
    x = torch.randn(1, max(positions_s) * RATE + CHUNK * (repeats + 2), 80)
    rows = []
    with torch.inference_mode():
        state, fed = None, 0
        for pos in positions_s:
            start = pos * RATE
            while fed < start:
                n = min(RATE * 5, start - fed)
                _, state = model(x[:, fed:fed + n], state)
                fed += n
            times = []
            for i in range(repeats):
                piece = x[:, fed + i * CHUNK: fed + (i + 1) * CHUNK]
                t = time.perf_counter()
                model(piece, state)
                times.append(time.perf_counter() - t)
            prefix = x[:, : start + CHUNK]
            t_full = timeit(lambda: model(prefix), max(1, repeats // 10))
            rows.append((pos, statistics.median(times), t_full))
        steps = {}
        for b in (1, 16):
            st = model.init_state(b)
            xt = torch.randn(b, 80)
            steps[b] = timeit(lambda: model.step(xt, st), repeats * 5)
    return rows, steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter streams and fewer repeats (smoke run)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    positions = [10, 20] if args.quick else [10, 30, 60]
    repeats = 5 if args.quick else 20
    print(f"# models benchmark: torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"1 thread, fp32, chunk {CHUNK} input frames ({CHUNK * 1000 // RATE} ms)")
    left_s, rows = conformer_bench(positions, repeats)
    print(f"\nConformer 144x4, x4, att_context [250, 4] ({left_s:g} s left context)")
    print(f"| stream position | streamed chunk | recompute window ({left_s:g} s + chunk) | recompute whole prefix "
          "| window / chunk | prefix / chunk |")
    print("|---|---|---|---|---|---|")
    for pos, ts, tw, tf in rows:
        print(f"| {pos} s | {ts * 1e3:.2f} ms | {tw * 1e3:.1f} ms | {tf * 1e3:.1f} ms | {tw / ts:.1f}x | {tf / ts:.1f}x |")
    mrows, steps = mamba_bench(positions, repeats)
    print("\nMamba stack 128x4 (d_state 16)")
    print("| stream position | streamed chunk | full recompute of prefix | prefix / chunk |")
    print("|---|---|---|---|")
    for pos, ts, tf in mrows:
        print(f"| {pos} s | {ts * 1e3:.2f} ms | {tf * 1e3:.1f} ms | {tf / ts:.1f}x |")
    print(f"step latency: batch 1 {steps[1] * 1e3:.2f} ms, batch 16 {steps[16] * 1e3:.2f} ms "
          f"({steps[16] / steps[1]:.2f}x the time for 16x the streams; "
          f"{steps[1] * 16 / steps[16]:.1f}x throughput per stream)")


if __name__ == "__main__":
    main()
