"""wavegraph's filter-chain nodes against ezmsg-sigproc's processors: per-chunk cost and output, same run.

The chain of `benchmarks/nodes.py` (`car` -> `notch` 50 Hz -> `bandpass` 1-40 Hz Butterworth order 4 ->
`resample` 1000 -> 250 Hz; 64 channels at 1 kHz) against the closest ezmsg-sigproc processors, both driven
synchronously in process (wavegraph: `node.process({"in": chunk})`; ezmsg-sigproc: `transformer(axis_array)`,
its processors' synchronous call, no ezmsg runtime), on the same chunks, each call timed, repeats alternating.

    bash benchmarks/peers_setup.sh                                        # once: .venv-peers
    .venv-peers/bin/python benchmarks/peers_sigproc.py [--sizes 10,1,100] [--repeats 5] [--json PATH]

ezmsg-sigproc's side, stage by stage:
  car       CommonRereferenceTransformer(mode="mean")                            same maths
  notch     CombFilterTransformer(50 Hz, 1 harmonic, Q 30, sos)                  same maths (scipy iirnotch)
  bandpass  ButterworthFilterTransformer(order 4, 1-40 Hz, sos)                  same maths (scipy butter)
  resample  decimate:  ChebyForDecimate + Downsample, configured as its `Decimate` collection does (Chebyshev I
                       order 8, 0.05 dB ripple, corner 0.4 x 250 Hz, transfer-function form, lfilter at 1 kHz,
                       then every 4th sample): its anti-aliased downsampler, different maths from ours
            fir+down:  FilterTransformer with our resampler's 81 FIR taps + DownsampleTransformer(factor 4):
                       the same maths as our polyphase resampler (which computes only the kept outputs)
ezmsg-sigproc's filters start from the steady state of the first sample (zi = sosfilt_zi * x[0]), ours from
zero: the input's first sample is 0 on every channel, so both start from zero state and outputs must agree
(the script exits 1 if a same-maths stage differs by more than 1e-9 of the output's peak). ezmsg-sigproc
designs its filters on the first message: the first chunk is left out of both libraries' times.

Layout: wavegraph chunks are (channels, samples); ezmsg-sigproc's convention is ("time", "ch"), time first.
ezmsg-sigproc is timed in both layouts (`--ezmsg-layout`); outputs are compared after a transpose.
Runs on one core (BLAS threads pinned to 1 before numpy is imported).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("EZMSG_PROFILE", os.devnull)  # ezmsg.baseproc opens a profiling log on import: not in ~/.ezmsg

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.registry import lookup  # noqa: E402
from wavegraph.pipeline.spec import signal_spec  # noqa: E402

FS, N_CH, OUT_RATE = 1000.0, 64, 250.0
STAGES = ("car", "notch", "bandpass", "resample")


def wg_chain() -> list:
    spec = signal_spec(FS, [f"E{i}" for i in range(N_CH)])
    nodes = [
        lookup("car")(),
        lookup("notch")(freq=50.0, quality=30.0),
        lookup("bandpass")(l_freq=1.0, h_freq=40.0, order=4),
        lookup("resample")(rate=OUT_RATE),
    ]
    for node in nodes:
        spec = node.configure({"in": spec})["out"]
    return nodes


def ez_chain(fir_taps: np.ndarray) -> list[tuple[str, list]]:
    """ezmsg-sigproc's processors as (stage, [transformers]): car, notch, bandpass, then the two resample
    variants, both fed the bandpass output (so "chain" = the first three stages + one of the two)."""
    from ezmsg.sigproc.affinetransform import (  # pyright: ignore[reportMissingImports]
        CommonRereferenceSettings,
        CommonRereferenceTransformer,
    )
    from ezmsg.sigproc.butterworthfilter import (  # pyright: ignore[reportMissingImports]
        ButterworthFilterSettings,
        ButterworthFilterTransformer,
    )
    from ezmsg.sigproc.cheby import ChebyshevFilterSettings  # pyright: ignore[reportMissingImports]
    from ezmsg.sigproc.combfilter import (  # pyright: ignore[reportMissingImports]
        CombFilterSettings,
        CombFilterTransformer,
    )
    from ezmsg.sigproc.decimate import ChebyForDecimateTransformer  # pyright: ignore[reportMissingImports]
    from ezmsg.sigproc.downsample import (  # pyright: ignore[reportMissingImports]
        DownsampleSettings,
        DownsampleTransformer,
    )
    from ezmsg.sigproc.filter import FilterSettings, FilterTransformer  # pyright: ignore[reportMissingImports]

    notch = CombFilterSettings(axis="time", fundamental_freq=50.0, num_harmonics=1, q_factor=30.0, coef_type="sos")
    butter = ButterworthFilterSettings(axis="time", order=4, cuton=1.0, cutoff=40.0, coef_type="sos")
    # as ezmsg.sigproc.decimate.Decimate.configure() sets up its two units (coef_type left at its default "ba")
    cheby = ChebyshevFilterSettings(
        order=8, ripple_tol=0.05, Wn=0.4 * OUT_RATE, btype="lowpass", axis="time", wn_hz=True
    )
    fir = FilterSettings(axis="time", coefs=(np.asarray(fir_taps, float), np.ones(1)), coef_type="ba")
    return [
        ("car", [CommonRereferenceTransformer(CommonRereferenceSettings(mode="mean", axis="ch"))]),
        ("notch", [CombFilterTransformer(notch)]),
        ("bandpass", [ButterworthFilterTransformer(butter)]),
        (
            "decimate",
            [
                ChebyForDecimateTransformer(cheby),
                DownsampleTransformer(DownsampleSettings(axis="time", target_rate=OUT_RATE)),
            ],
        ),
        (
            "fir+down",
            [FilterTransformer(fir), DownsampleTransformer(DownsampleSettings(axis="time", factor=int(FS / OUT_RATE)))],
        ),
    ]


def make_input(seconds: float) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((N_CH, int(seconds * FS))) * 1e-5
    t = np.arange(x.shape[1]) / FS
    x += 2e-5 * np.sin(2 * np.pi * 50.0 * t) + 3e-5 * np.sin(2 * np.pi * 10.0 * t)  # mains + an alpha-band tone
    x[:, 0] = 0.0  # both libraries then start their filters from zero state (see the module docstring)
    return x


def wg_chunks(x: np.ndarray, n: int) -> list:
    return [Chunk(np.ascontiguousarray(x[:, i : i + n]), t0=i / FS) for i in range(0, x.shape[1], n)]


def ez_messages(x: np.ndarray, n: int, time_first: bool) -> list:
    from ezmsg.util.messages.axisarray import AxisArray, CoordinateAxis  # pyright: ignore[reportMissingImports]

    ch = CoordinateAxis(data=np.array([f"E{i}" for i in range(N_CH)]), dims=["ch"])
    msgs = []
    for i in range(0, x.shape[1], n):
        block = x[:, i : i + n]
        data, dims = (np.ascontiguousarray(block.T), ["time", "ch"]) if time_first else (block.copy(), ["ch", "time"])
        msgs.append(
            AxisArray(data, dims=dims, axes={"time": AxisArray.TimeAxis(fs=FS, offset=i / FS), "ch": ch}, key="bench")
        )
    return msgs


def run_wg(chunks: list) -> tuple[np.ndarray, list[np.ndarray]]:
    """Seconds in each node, summed over the chunks; and the outputs of each stage (channels, samples)."""
    nodes = wg_chain()
    procs = [nd.process for nd in nodes]
    spent = np.zeros(len(procs))
    outs: list[list[np.ndarray]] = [[] for _ in procs]
    clock = time.perf_counter
    for k, c in enumerate(chunks):
        for i, proc in enumerate(procs):
            t = clock()
            res = proc({"in": c})
            spent[i] += (clock() - t) * (k > 0)  # the first chunk is not counted (see bench)
            c = res.get("out")
            if c is None:
                break
            outs[i].append(c.data)
    return spent, [np.concatenate(o, axis=1) for o in outs]


def run_ez(msgs: list, taps: np.ndarray, time_first: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Seconds in each ezmsg stage (car, notch, bandpass, decimate, fir+down), summed over the messages; the
    outputs of each stage (channels, samples)."""
    stages = ez_chain(taps)
    spent = np.zeros(len(stages))
    outs: list[list[np.ndarray]] = [[] for _ in stages]
    clock = time.perf_counter
    for k, m in enumerate(msgs):
        for i, (_, calls) in enumerate(stages):
            y = m
            t = clock()
            for call in calls:
                y = call(y)
            spent[i] += (clock() - t) * (k > 0)  # the first message is not counted (see bench)
            outs[i].append(y.data)
            if i < 3:  # car -> notch -> bandpass; the bandpass output feeds both resample variants
                m = y
    res = [np.concatenate(o, axis=0 if time_first else 1) for o in outs]
    return spent, [y.T if time_first else y for y in res]


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Max abs difference relative to the peak of a (the reference), over the samples both have."""
    n = min(a.shape[1], b.shape[1])
    return float(np.max(np.abs(a[:, :n] - b[:, :n])) / np.max(np.abs(a)))


def bench(size: int, seconds: float, repeats: int, layouts: list[str]) -> dict:
    x = make_input(seconds)
    chunks = wg_chunks(x, size)
    taps = wg_chain()[3].filter_taps
    msgs = {lay: ez_messages(x, size, lay == "time-first") for lay in layouts}
    times: dict[str, list[np.ndarray]] = {"wavegraph": []} | {lay: [] for lay in layouts}
    checks: dict[str, dict[str, float]] = {}
    for r in range(repeats):
        s_wg, y_wg = run_wg(chunks)
        times["wavegraph"].append(s_wg)
        for lay in layouts:
            s_ez, y_ez = run_ez(msgs[lay], taps, lay == "time-first")
            times[lay].append(s_ez)
            if r == 0:  # same maths except decimate: compare; decimate: the power it passes, relative to ours
                checks[lay] = {name: max_diff(y_wg[i], y_ez[i]) for i, name in enumerate(STAGES[:3])}
                checks[lay]["fir+down"] = max_diff(y_wg[3], y_ez[4])
                k = y_wg[3].shape[1] // 5
                a, b = y_wg[3][:, k:], y_ez[3][:, k:]  # past the onset transients
                checks[lay]["decimate_rms_ratio"] = float(np.sqrt(np.mean(b**2) / np.mean(a**2)))
    # ezmsg-sigproc designs its filters on the first message (wavegraph in configure(), before the loop): the
    # first chunk is left out of both libraries' times
    n = len(chunks) - 1
    us = {k: (np.median(np.array(v), axis=0) / n * 1e6).tolist() for k, v in times.items()}
    return {"chunk": size, "chunks": n, "repeats": repeats, "us_per_chunk": us, "max_rel_diff": checks}


ROWS = (  # (row, wavegraph stage indices, ezmsg stage indices)
    ("car", [0], [0]),
    ("notch 50 Hz", [1], [1]),
    ("bandpass 1-40", [2], [2]),
    ("resample: decimate", [3], [3]),
    ("resample: FIR+down", [3], [4]),
    ("chain: decimate", [0, 1, 2, 3], [0, 1, 2, 3]),
    ("chain: FIR+down", [0, 1, 2, 3], [0, 1, 2, 4]),
)
CHECK = ("car", "notch", "bandpass", "decimate_rms_ratio", "fir+down", None, "fir+down")


def print_table(res: dict) -> list[str]:
    """Print the table; return the failed output checks (same maths, relative difference above 1e-9)."""
    size, us, chk = res["chunk"], res["us_per_chunk"], res["max_rel_diff"]
    layouts = [k for k in us if k != "wavegraph"]
    print(
        f"\n{size}-sample chunks ({size / FS * 1e3:g} ms), {N_CH} ch, {res['chunks']} chunks timed x {res['repeats']} repeats (median)"
    )
    head = f"{'us per chunk':<20}{'wavegraph':>10}" + "".join(f"{'ez ' + lay:>20}{'wg/ez':>7}" for lay in layouts)
    print(head + "   max |wg - ez| / peak |wg|")
    failed = []
    for (name, iw, ie), key in zip(ROWS, CHECK):
        w = sum(us["wavegraph"][i] for i in iw)
        line = f"{name:<20}{w:>10.2f}"
        for lay in layouts:
            e = sum(us[lay][i] for i in ie)
            line += f"{e:>20.2f}{w / e:>7.2f}"
        if key == "decimate_rms_ratio":
            ratios = ", ".join(f"{chk[lay][key]:.4f}" for lay in layouts)
            line += f"   other filter: output rms ez/wg {ratios}"
        elif key is not None:
            worst = max(chk[lay][key] for lay in layouts)
            line += f"   {worst:.1e}"
            if not worst <= 1e-9:
                failed.append(f"{size}-sample chunks, {name}: {worst:.1e}")
        print(line)
    return failed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="10,1,100", help="chunk sizes in samples, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="signal length per repeat (chunk size 1: a fifth)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--ezmsg-layout", default="time-first,channel-first", help="ezmsg-sigproc's data layout(s), comma-separated"
    )
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    from wavegraph.benchmarks.bench_checks import check_outputs, peer_module

    check_outputs(ap, ("--json", args.json))
    peer_module("ezmsg.sigproc", "peers_sigproc.py", "ezmsg-sigproc 3.6.0")  # was PackageNotFoundError: ezmsg
    layouts = args.ezmsg_layout.split(",")
    vers = {p: version(p) for p in ("ezmsg", "ezmsg-sigproc", "ezmsg-baseproc", "numpy", "scipy")}
    print(", ".join(f"{k} {v}" for k, v in vers.items()) + f", Python {platform.python_version()}, 1 thread")
    load = [os.getloadavg()[0]]
    results, failed = [], []
    for size in (int(s) for s in args.sizes.split(",")):
        seconds = args.seconds / 5 if size == 1 else args.seconds
        res = bench(size, seconds, args.repeats, layouts)
        failed += print_table(res)
        results.append(res)
    load.append(os.getloadavg()[0])
    print(f"load average (1 min) at start / end: {load[0]:.2f} / {load[1]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"versions": vers, "load": load, "results": results}, indent=1))
    if failed:
        print("OUTPUTS DISAGREE (same maths, relative difference above 1e-9): " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
