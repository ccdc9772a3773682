"""Time each kernel op: the torch reference always; on CUDA also the Triton kernels and, when they import, the
mamba_ssm / causal_conv1d / fla kernels. Prints, per op and implementation, the best-of-N time, tokens/s, GB/s
(a minimal-traffic model: every input read once, every output written once) and, on CUDA, the fraction of peak
memory bandwidth (--peak-gbps, default 4800 for an H200). Ratios are against the reference measured in the same run.

    .venv/bin/python benchmarks/kernels.py                 # CPU: reference forms only
    .venv/bin/python benchmarks/kernels.py --device cuda   # GPU: + Triton (+ mamba_ssm / fla when installed)

Triton kernels are not timed on CPU: there they only run in the interpreter, which measures Python, not kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from wavegraph.benchmarks.bench_checks import prog as _prog  # noqa: E402
from wavegraph.kernels import reference as R  # noqa: E402


def _bytes(*ts) -> int:
    return sum(t.numel() * t.element_size() for t in ts if isinstance(t, torch.Tensor))


def _time(fn: Callable[[], object], device: str, repeats: int, warmup: int) -> float:
    """Best (minimum) seconds per call: on a shared machine the minimum is the figure least inflated by others'
    load (as timeit advises); the spread is not reported. On CUDA a timed repeat is up to 10 calls back to back
    between two events, as many as fit in ~1 ms (so a small op's launch cost is part of its time, as for a live
    stream); an op slower than 10 ms per call gets 3 repeats of one call."""
    for _ in range(warmup):
        fn()
    if device != "cuda":
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    once = time.perf_counter() - t0
    inner = max(1, min(10, int(1e-3 / max(once, 1e-7))))
    if once > 1e-2:
        repeats = min(repeats, 3)
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3 / inner)
    return min(times)


def _flatten(out) -> list:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return []


def _optional_impls(device: str) -> dict[str, dict[str, Callable]]:
    """Third-party kernels keyed by op name, only those that import (CUDA only)."""
    extra: dict[str, dict[str, Callable]] = {}
    if device != "cuda":
        return extra
    try:
        from mamba_ssm.ops.selective_scan_interface import (  # pyright: ignore[reportMissingImports]  # CUDA-only peer, absent here
            selective_scan_fn,
        )

        extra.setdefault("selective_scan", {})["mamba_ssm"] = lambda a: selective_scan_fn(
            a["u"], a["delta"], a["A"], a["B"], a["C"], a["D"], a["z"], a["delta_bias"], True, return_last_state=True
        )
    except Exception as e:  # not installed or no build for this GPU
        print(f"# mamba_ssm selective_scan unavailable: {type(e).__name__}: {e}")
    try:
        from mamba_ssm.ops.triton.selective_state_update import (  # pyright: ignore[reportMissingImports]  # CUDA-only peer, absent here
            selective_state_update as ssu,
        )

        extra.setdefault("selective_state_update", {})["mamba_ssm"] = lambda a: ssu(
            a["state"],
            a["x"],
            a["dt"],
            a["A"],
            a["B"],
            a["C"],
            a["D"],
            a["z"],
            a["dt_bias"],
            True,
            state_batch_indices=a["state_batch_indices"],
        )
    except Exception as e:
        print(f"# mamba_ssm selective_state_update unavailable: {type(e).__name__}: {e}")
    try:
        from causal_conv1d import (  # pyright: ignore[reportMissingImports]  # CUDA-only peer, absent here
            causal_conv1d_fn,
            causal_conv1d_update,
        )

        extra.setdefault("causal_conv1d", {})["causal_conv1d"] = lambda a: causal_conv1d_fn(
            a["x"], a["weight"], a["bias"], activation="silu"
        )
        extra.setdefault("causal_conv1d_update", {})["causal_conv1d"] = lambda a: causal_conv1d_update(
            a["x"], a["conv_state"], a["weight"], a["bias"], activation="silu"
        )
    except Exception as e:
        print(f"# causal_conv1d unavailable: {type(e).__name__}: {e}")

    def native(a: dict, name: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        """A peer's own layout of an input, made once per case (on the untimed first call), not timed."""
        if name not in a:
            a[name] = make()
        return a[name]

    try:
        from fla.ops.gla import (  # pyright: ignore[reportMissingImports]  # CUDA-only peer, absent here
            chunk_gla,
            fused_recurrent_gla,
        )

        def _fla(fn, q, k, v, g, state):  # (batch, T, heads, d) layout; older fla needs head_first=False for it
            try:
                return fn(q, k, v, g, initial_state=state, output_final_state=True, head_first=False)
            except TypeError:
                return fn(q, k, v, g, initial_state=state, output_final_state=True)

        def _fla_chunk(a):
            q, k, v, g = (native(a, f"_{n}_bthd", lambda n=n: a[n].transpose(1, 2).contiguous()) for n in "qkvg")
            return _fla(chunk_gla, q, k, v, g, a["initial_state"])

        def _fla_step(a):
            q, k, v, g = (native(a, f"_{n}_b1hd", lambda n=n: a[n][:, None].contiguous()) for n in "qkvg")
            return _fla(fused_recurrent_gla, q, k, v, g, a["state"])

        extra.setdefault("gla_chunk", {})["fla"] = _fla_chunk
        extra.setdefault("gla_step", {})["fla"] = _fla_step
    except Exception as e:
        print(f"# fla gla unavailable: {type(e).__name__}: {e}")
    try:
        from fla.modules.causal_conv1d import (  # pyright: ignore[reportMissingImports]  # CUDA-only peer, absent here
            causal_conv1d as fla_conv,
        )

        def _fla_conv(a):  # fla's layout is (batch, T, d)
            x = native(a, "_x_btd", lambda: a["x"].transpose(1, 2).contiguous())
            return fla_conv(x, a["weight"], a["bias"], activation="silu")[0]

        extra.setdefault("causal_conv1d", {})["fla"] = _fla_conv
    except Exception as e:
        print(f"# fla causal_conv1d unavailable: {type(e).__name__}: {e}")
    return extra


def make_cases(device: str, size: str, dtype: torch.dtype = torch.float32) -> list[dict]:
    """Each case: op name, args dict, tokens per call, implementations {name: fn(args)}. Activations, weights and
    states in `dtype`; A, D and the dt bias stay fp32 (as in mamba_ssm)."""
    big = size == "large"
    gen = torch.Generator(device="cpu").manual_seed(0)

    def rn(*shape, scale=1.0, dt=None):
        return (torch.randn(*shape, generator=gen) * scale).to(device=device, dtype=dt or dtype)

    cases = []
    # Mamba-130M-like block shapes: d_inner 1536, N 16 (large); a small streaming-node shape otherwise
    b, d, L, n = (4, 1536, 2048, 16) if big else (1, 128, 512, 16)
    scan = dict(
        u=rn(b, d, L),
        delta=rn(b, d, L, scale=0.5),
        A=-torch.rand(d, n, generator=gen).to(device) - 0.1,
        B=rn(b, n, L),
        C=rn(b, n, L),
        D=rn(d, dt=torch.float32),
        z=rn(b, d, L),
        delta_bias=rn(d, scale=0.1, dt=torch.float32),
    )
    seq = lambda a: R.selective_scan_ref(**a, delta_softplus=True)  # noqa: E731
    chk = lambda a: R.selective_scan_chunked_ref(**a, delta_softplus=True)  # noqa: E731
    # "ref" is the form the dispatch uses on this device (kernels/__init__.py); the other form is timed beside it
    scan_impls = {"ref": chk, "ref-seq": seq} if device == "cuda" else {"ref": seq, "ref-chunked": chk}
    cases.append(dict(op="selective_scan", args=scan, tokens=b * L, impls=scan_impls))

    # large: 2,048 live streams in 4,096 slots (the state rows touched, 2 x 201 MB, are far beyond an H200's 50 MB L2)
    slots, bs = (4096, 2048) if big else (16, 8)
    upd = dict(
        state=rn(slots, d, n, dt=torch.float32),
        x=rn(bs, d),
        dt=rn(bs, d),
        A=scan["A"],
        B=rn(bs, n),
        C=rn(bs, n),
        D=scan["D"],
        z=rn(bs, d),
        dt_bias=scan["delta_bias"],
        state_batch_indices=torch.randperm(slots, generator=gen)[:bs].to(device),
    )
    # bytes: only the touched state rows are read and written
    cases.append(
        dict(
            op="selective_state_update",
            args=upd,
            tokens=bs,
            impls={"ref": lambda a: R.selective_state_update_ref(**a, dt_softplus=True)},
            extra_bytes=2 * bs * d * n * 4 - upd["state"].numel() * 4,
        )
    )

    w = 4
    conv = dict(x=rn(b, d, L), weight=rn(d, w), bias=rn(d))
    cases.append(
        dict(
            op="causal_conv1d",
            args=conv,
            tokens=b * L,
            impls={"ref": lambda a: R.causal_conv1d_ref(**a, activation="silu")},
        )
    )
    convu = dict(x=rn(bs, d), conv_state=rn(bs, d, w - 1), weight=conv["weight"], bias=conv["bias"])
    cases.append(
        dict(
            op="causal_conv1d_update",
            args=convu,
            tokens=bs,
            impls={"ref": lambda a: R.causal_conv1d_update_ref(**a, activation="silu")},
            extra_bytes=_bytes(convu["conv_state"]),
        )
    )  # the in-place state write

    gb, h, gl, dk, dv = (4, 8, 2048, 64, 128) if big else (1, 4, 512, 32, 64)
    gla = dict(
        q=rn(gb, h, gl, dk),
        k=rn(gb, h, gl, dk),
        v=rn(gb, h, gl, dv),
        g=F.logsigmoid(rn(gb, h, gl, dk)) / 16,
        initial_state=rn(gb, h, dk, dv, dt=torch.float32),
    )
    cases.append(
        dict(
            op="gla_chunk",
            args=gla,
            tokens=gb * gl,
            impls={"ref": lambda a: R.gla_chunk_ref(**a), "ref-seq": lambda a: R.gla_recurrent_ref(**a)},
        )
    )
    step = dict(
        q=rn(gb, h, dk),
        k=rn(gb, h, dk),
        v=rn(gb, h, dv),
        g=F.logsigmoid(rn(gb, h, dk)) / 16,
        state=rn(gb, h, dk, dv, dt=torch.float32),
    )
    cases.append(
        dict(
            op="gla_step",
            args=step,
            tokens=gb,
            impls={"ref": lambda a: R.gla_step_ref(**a)},
            extra_bytes=_bytes(step["state"]),
        )
    )  # the in-place state write

    if device == "cuda":
        from wavegraph.kernels import triton_conv, triton_gla, triton_ssm

        tri = {
            "selective_scan": lambda a: triton_ssm.selective_scan(**a, delta_softplus=True),
            "selective_state_update": lambda a: triton_ssm.selective_state_update(**a, dt_softplus=True),
            "causal_conv1d": lambda a: triton_conv.causal_conv1d(**a, activation="silu"),
            "causal_conv1d_update": lambda a: triton_conv.causal_conv1d_update(**a, activation="silu"),
            "gla_chunk": lambda a: triton_gla.gla_chunk(**a),
            "gla_step": lambda a: triton_gla.gla_step(**a),
        }
        extra = _optional_impls(device)
        for c in cases:
            c["impls"]["triton"] = tri[c["op"]]
            c["impls"].update(extra.get(c["op"], {}))
    return cases


@torch.no_grad()  # (not torch.set_grad_enabled(False): a caller in the same process, a test, kept it off)
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog=_prog("kernels", argv), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--size", choices=["small", "large"], default=None, help="default: large on CUDA, small on CPU")
    ap.add_argument("--peak-gbps", type=float, default=4800.0, help="peak memory bandwidth for the fraction column")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--skip", nargs="*", default=[], help="implementation names to skip, e.g. ref-seq")
    ap.add_argument("--png", help="also draw the time per op and implementation to a PNG")
    ap.add_argument(
        "--sweep",
        metavar="JSON",
        help="CUDA: time the Triton scan and state update over launch configs, write the best",
    )
    ap.add_argument("--tuned", metavar="JSON", help="add the configs a --sweep wrote as 'triton-tuned' rows")
    args = ap.parse_args(argv)
    from wavegraph.benchmarks.bench_checks import check_outputs, picture

    args.png = picture(ap, "--png", args.png)  # (plot -> plot.png, the name said)
    check_outputs(ap, ("--png", args.png), ("--sweep", args.sweep))
    timings: dict[str, dict[str, float]] = {}
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda but torch.cuda.is_available() is False")
    if os.environ.get("TRITON_INTERPRET") == "1" and device == "cuda":
        ap.error("unset TRITON_INTERPRET for GPU timings")
    if (args.sweep or args.tuned) and device != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        # were "RuntimeError: 0 active drivers" per config, and a best.json of nulls
        ap.error(
            f"{'--sweep' if args.sweep else '--tuned'} times the Triton kernels, which need a CUDA device (--device "
            "cuda on a GPU machine); on the CPU they run only in the interpreter, TRITON_INTERPRET=1: a check of "
            "the code taking minutes per config, not a timing"
        )
    if args.tuned:  # read now: a missing file was a FileNotFoundError traceback
        try:
            with open(args.tuned) as f:
                saved = json.load(f)
        except (OSError, ValueError) as e:
            ap.error(f"--tuned {args.tuned}: {e.strerror if isinstance(e, OSError) else f'not JSON: {e}'}")
        if not isinstance(saved, dict):
            ap.error(f"--tuned {args.tuned}: not what --sweep writes ({{op: launch config}})")
    size = args.size or ("large" if device == "cuda" else "small")
    repeats = args.repeats or (20 if device == "cuda" else 3)
    name = torch.cuda.get_device_name() if device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"# device={name} size={size} dtype={args.dtype} repeats={repeats} torch={torch.__version__}")
    print(f"{'op':24s} {'impl':14s} {'ms':>10s} {'Mtok/s':>10s} {'GB/s':>9s} {'%peak':>7s} {'x ref':>8s}")
    cases = make_cases(device, size, getattr(torch, args.dtype))
    if args.sweep:
        from wavegraph.benchmarks.kernels_sweep import sweep

        sweep(cases, device, args.peak_gbps, repeats, args.sweep)
        return 0
    if args.tuned:
        from wavegraph.benchmarks.kernels_sweep import tuned_impls

        for op, fn in tuned_impls(args.tuned).items():
            next(c for c in cases if c["op"] == op)["impls"]["triton-tuned"] = fn
    for case in cases:
        ref_t = None
        for impl, fn in case["impls"].items():
            if impl in args.skip:
                continue
            a = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in case["args"].items()}
            try:
                out = fn(a)
                t = _time(lambda fn=fn, a=a: fn(a), device, repeats, warmup=2 if device == "cuda" else 1)
            except Exception as e:  # a third-party kernel with another API version: report, keep going
                print(f"{case['op']:24s} {impl:14s} failed: {type(e).__name__}: {str(e)[:80]}")
                continue
            nbytes = _bytes(*case["args"].values()) + _bytes(*_flatten(out)) + case.get("extra_bytes", 0)
            gbps = nbytes / t / 1e9
            if impl == "ref":
                ref_t = t
            timings.setdefault(impl, {})[case["op"]] = t * 1e3
            frac = f"{100 * gbps / args.peak_gbps:6.1f}%" if device == "cuda" else "    n/a"
            ratio = f"{ref_t / t:7.2f}x" if ref_t else "      -"
            print(
                f"{case['op']:24s} {impl:14s} {t * 1e3:10.3f} {case['tokens'] / t / 1e6:10.3f} {gbps:9.2f} "
                f"{frac} {ratio}"
            )
    if args.png:
        from wavegraph.benchmarks.figures import bars

        ops = list(dict.fromkeys(op for per in timings.values() for op in per))
        bars(
            args.png,
            ops,
            {impl: [per.get(op, np.nan) for op in ops] for impl, per in timings.items()},
            "ms",
            f"bench kernels ({name}, {size})",
            log=True,
        )
        print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
