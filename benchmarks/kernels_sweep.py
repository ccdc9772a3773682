"""CUDA only: time the Triton selective scan and state update over their launch configs (block sizes, warps,
pipeline stages) on the large shapes of benchmarks/kernels.py, checking each config's output against the
shipped default's first. Prints one line per config as it is timed (a sweep cut short keeps what it printed), with
GB/s and the fraction of peak, then the fastest.

    python -m wavegraph.benchmarks.kernels --device cuda --sweep best.json
    python -m wavegraph.benchmarks.kernels --device cuda --tuned best.json   # the table, + "triton-tuned" rows

The defaults in kernels/triton_ssm.py came from hand-picked configs timed on an H200, not from this sweep, which
has not yet run on a GPU (docs/benchmarks.md, Kernels)."""

from __future__ import annotations

import itertools
import json

import torch

from .kernels import _bytes, _flatten, _time

# around the defaults (4, 8, 1 for the scan; 32, 2 for the update), which came from hand-picked configs timed on an
# H200 (docs/benchmarks.md, Kernels): smaller tiles and fewer warps won there
SCAN = [
    dict(block_d=bd, block_l=bl, num_warps=nw, num_stages=ns)
    for bd, bl, nw, ns in itertools.product((2, 4, 8), (8, 16, 32), (1, 2), (2, 3))
]
UPDATE = [dict(block_d=bd, num_warps=nw) for bd, nw in itertools.product((16, 32, 64), (1, 2, 4))]


def _sweep_op(name, fn, ref, args, configs, extra_bytes, peak_gbps, repeats, device):
    print(f"# sweep {name}: {len(configs)} configs, each checked against the torch reference first", flush=True)
    want = _flatten(ref(_fresh(args)))
    best_t, best = float("inf"), None
    for cfg in configs:
        try:
            got = _flatten(fn(_fresh(args), **cfg))
            err = max(
                ((g.float() - w.float()).norm() / w.float().norm().clamp_min(1e-12)).item() for g, w in zip(got, want)
            )
            if not err < 1e-4:
                print(f"{name:24s} {str(cfg):70s} wrong: relative error {err:.1e}", flush=True)
                continue
            a = _fresh(args)
            t = _time(lambda a=a, cfg=cfg: fn(a, **cfg), device, repeats, warmup=2 if device == "cuda" else 0)
        except Exception as e:  # a config that does not compile (registers, shared memory): report, keep going
            print(f"{name:24s} {str(cfg):70s} failed: {type(e).__name__}: {str(e)[:60]}", flush=True)
            continue
        nbytes = _bytes(*args.values()) + _bytes(*got) + extra_bytes
        gbps = nbytes / t / 1e9
        print(
            f"{name:24s} {str(cfg):70s} {t * 1e3:8.3f} ms {gbps:8.1f} GB/s {100 * gbps / peak_gbps:5.1f}%", flush=True
        )
        if t < best_t:
            best_t, best = t, cfg
    print(f"# sweep {name}: fastest {best}" + (f", {best_t * 1e3:.3f} ms" if best else ""), flush=True)
    return best


def _fresh(args: dict) -> dict:
    return {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in args.items()}


def _calls() -> dict:
    """{op: fn(args, **launch config)}: the Triton kernels as the table times them."""
    from wavegraph.kernels import triton_ssm

    return {
        "selective_scan": lambda a, **cfg: triton_ssm.selective_scan(**a, delta_softplus=True, **cfg),
        "selective_state_update": lambda a, **cfg: triton_ssm.selective_state_update(**a, dt_softplus=True, **cfg),
    }


def sweep(cases: list[dict], device: str, peak_gbps: float, repeats: int, out: str | None = None) -> dict:
    """Time each config of SCAN and UPDATE and return the fastest per op, written to `out` after each op (a sweep
    cut short keeps the ops it finished). On the CPU (TRITON_INTERPRET=1) only the first two configs run: a check of
    this code, not a timing."""
    configs = {"selective_scan": SCAN, "selective_state_update": UPDATE}
    by_op = {c["op"]: c for c in cases}
    best = {}
    for op, fn in _calls().items():
        case = by_op[op]
        cfgs = configs[op] if device == "cuda" else configs[op][:2]
        ref = case["impls"]["ref"]
        best[op] = _sweep_op(op, fn, ref, case["args"], cfgs, case.get("extra_bytes", 0), peak_gbps, repeats, device)
        if out:
            with open(out, "w") as f:
                json.dump(best, f)
    return best


def tuned_impls(path: str) -> dict:
    """{op: fn(args)} running the Triton kernels with the configs a sweep wrote to `path`."""
    with open(path) as f:
        best = json.load(f)
    return {op: (lambda a, fn=fn, cfg=best[op]: fn(a, **cfg)) for op, fn in _calls().items() if best.get(op)}
