"""Batch replay throughput: files per second at 1, 2, ... local workers and on a simulated two-node Ray cluster.

    wavegraph bench batch [--files 8] [--json PATH]

The corpus is the real EEGMMIDB S001R02 recording (64 channels, 160 Hz, 61 s) replicated --files times;
the graph is file_source -> CAR -> 60 Hz notch -> 1-40 Hz bandpass -> FIF recorder, run at max speed.
Each configuration starts from an empty output folder, so every file is processed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

GRAPH = """\
nodes:
  - {id: src, type: file_source, params: {path: placeholder.edf, chunk_size: 16}}
  - {id: car, type: car}
  - {id: notch, type: notch, params: {freq: 60.0}}
  - {id: bp, type: bandpass, params: {l_freq: 1.0, h_freq: 40.0}}
  - {id: rec, type: recorder, params: {path: filtered_raw.fif}}
edges:
  - {source: src.out, target: car.in}
  - {source: car.out, target: notch.in}
  - {source: notch.out, target: bp.in}
  - {source: bp.out, target: rec.in}
"""


def main(argv: list[str] | None = None) -> int:
    from wavegraph.models.cli_args import positive  # --files 0: ZeroDivisionError; -2: 'files/s' below 0 (no torch)
    from wavegraph.pipeline.batch import plan, run_local, run_ray
    from wavegraph.pipeline.datasets import fetch

    ap = argparse.ArgumentParser(prog="wavegraph bench batch", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--files", type=positive(int), default=8)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    from wavegraph.benchmarks.bench_checks import check_modules, check_outputs

    check_outputs(ap, ("--json", args.json))
    if not args.no_ray:  # was an ImportError after the local runs, their figures not written to --json
        check_modules(ap, "bench batch", ("ray", "pip install 'wavegraph[ray]'; or --no-ray for the local pool only"))
    tmp = Path(tempfile.mkdtemp(prefix="wg-bench-batch-"))
    edf = fetch("eegmmidb-s001r02")
    for i in range(args.files):
        shutil.copy(edf, tmp / f"rec{i:03d}.edf")
    graph = tmp / "g.yaml"
    graph.write_text(GRAPH)
    pattern = str(tmp / "*.edf")
    results = {}
    cores = os.cpu_count() or 1
    for workers in sorted({1, 2, cores}):
        jobs = plan(str(graph), pattern, str(tmp / f"out-local-{workers}"), [])
        t = time.monotonic()
        outcomes = run_local(jobs, workers, progress=False)
        wall = time.monotonic() - t
        assert all(o.status == "done" for o in outcomes), [o.error for o in outcomes if o.error]
        results[f"local x{workers}"] = args.files / wall
        print(
            f"local pool, {workers} worker(s): {args.files} files in {wall:.1f} s = {args.files / wall:.2f} files/s",
            flush=True,
        )
    if not args.no_ray:
        import ray
        from ray._private import ray_constants
        from ray.cluster_utils import Cluster

        # as in tests/test_multihost_ray.py: keep the simulated nodes on loopback
        enable, ray_constants.ENABLE_RAY_CLUSTER = ray_constants.ENABLE_RAY_CLUSTER, False
        small = {"num_cpus": 1, "object_store_memory": 80 * 2**20, "node_ip_address": "127.0.0.1"}
        cluster = Cluster(initialize_head=True, head_node_args={**small, "include_dashboard": False})
        cluster.add_node(**small)
        try:
            ray.init(address=cluster.address, log_to_driver=False)
            cluster.wait_for_nodes(timeout=120)
            jobs = plan(str(graph), pattern, str(tmp / "out-ray"), [])
            t = time.monotonic()
            outcomes = run_ray(jobs, None, task_cpus=1, task_gpus=0, progress=False)
            wall = time.monotonic() - t
            assert all(o.status == "done" for o in outcomes)
            results["ray 2 nodes x 1 cpu"] = args.files / wall
            print(
                f"Ray, simulated 2-node cluster (1 CPU each, one machine): {args.files} files in {wall:.1f} s = "
                f"{args.files / wall:.2f} files/s (includes worker start-up)"
            )
        finally:
            ray.shutdown()
            cluster.shutdown()
            ray_constants.ENABLE_RAY_CLUSTER = enable
    base = results["local x1"]
    print("speed-up over one local worker: " + ", ".join(f"{k} {v / base:.2f}x" for k, v in results.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"files_per_s": results, "files": args.files, "cpus": cores}, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0
