"""Per-chunk cost of the processing nodes against bare scipy/numpy doing the same maths.

Chain: car -> notch 50 Hz -> bandpass 1-40 Hz -> resample 1000 -> 250 Hz, 64 channels at 1 kHz in 10 ms
(10-sample) chunks, in process (node.process() in a loop, no runtime). The reference, timed in the same
run on the same chunks, is the bare maths: mean subtraction, sosfilt with carried zi (twice), and the
polyphase step (history concat, strided windows, matmul with the reversed taps).

    .venv/bin/python benchmarks/nodes.py [--seconds 20] [--repeats 5]

Prints microseconds per chunk per node, the real-time factor (chunk duration / processing time) and the
ratios node / plain and node / tuned. Runs on one core (BLAS threads pinned to 1 before numpy is imported).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wavegraph.benchmarks.bench_checks import prog as _prog  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.registry import lookup  # noqa: E402
from wavegraph.pipeline.spec import signal_spec  # noqa: E402

FS, N_CH, CHUNK = 1000.0, 64, 10


def build_chain():
    spec = signal_spec(FS, [f"E{i}" for i in range(N_CH)])
    nodes = [
        ("car", lookup("car")()),
        ("notch50", lookup("notch")(freq=50.0)),
        ("bandpass1-40", lookup("bandpass")(l_freq=1.0, h_freq=40.0)),
        ("resample250", lookup("resample")(rate=250.0)),
    ]
    for _, node in nodes:
        spec = node.configure({"in": spec})["out"]
    return nodes


def run_chain(chunks, nodes) -> tuple[np.ndarray, list[np.ndarray]]:
    """Seconds spent in each node, summed over the chunks; and the final outputs."""
    spent = np.zeros(len(nodes))
    outs = []
    clock = time.perf_counter
    procs = [n.process for _, n in nodes]
    for c in chunks:
        for i, proc in enumerate(procs):
            t = clock()
            res = proc({"in": c})
            spent[i] += clock() - t
            c = res.get("out")
            if c is None:
                break
        else:
            outs.append(c.data)
    return spent, outs


def run_bare(chunks, nodes, tuned: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """The same maths without the nodes, on the same arrays.

    tuned=False: the plain public calls (x.mean, scipy.signal.sosfilt, sliding_window_view + matmul).
    tuned=True: the cheapest calls we know (np.add.reduce, scipy's compiled sosfilt kernel, strided view),
    i.e. what the nodes call, with no node around them (and no NaN check).
    """
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.signal import sosfilt
    from scipy.signal._sosfilt import _sosfilt

    sos_n, sos_b = nodes[1][1].sos, nodes[2][1].sos
    rs = nodes[3][1]
    if tuned:
        zi_n = np.zeros((N_CH, sos_n.shape[0], 2))
        zi_b = np.zeros((N_CH, sos_b.shape[0], 2))
    else:
        zi_n = np.zeros((sos_n.shape[0], N_CH, 2))
        zi_b = np.zeros((sos_b.shape[0], N_CH, 2))
    L, down = rs.L, rs.down
    hrev = rs._trev[0]  # up == 1: one phase
    hist = np.zeros((N_CH, L - 1))
    n_in = n_out = 0
    spent = np.zeros(4)
    outs = []
    clock = time.perf_counter
    scale = 1.0 / N_CH
    for c in chunks:
        x = c.data
        t0 = clock()
        if tuned:
            x = x - np.add.reduce(x, axis=0, keepdims=True) * scale
        else:
            x = x - x.mean(axis=0, keepdims=True)
        t1 = clock()
        if tuned:
            x = np.array(x, order="C")
            _sosfilt(sos_n, x, zi_n)
        else:
            x, zi_n = sosfilt(sos_n, x, axis=-1, zi=zi_n)
        t2 = clock()
        if tuned:
            _sosfilt(sos_b, x, zi_b)
        else:
            x, zi_b = sosfilt(sos_b, x, axis=-1, zi=zi_b)
        t3 = clock()
        ext = np.concatenate([hist, x], axis=1)
        start = n_in - (L - 1)
        n_in += x.shape[1]
        hist = ext[:, -(L - 1) :].copy()
        j_end = (n_in - 1) // down + 1
        if j_end > n_out:
            a = n_out * down - start - (L - 1)
            J = j_end - n_out
            if tuned:
                s0, s1 = ext.strides
                y = (np.ndarray((J, N_CH, L), ext.dtype, ext, a * s1, (down * s1, s0, s1)) @ hrev).T
            else:
                y = sliding_window_view(ext, L, axis=1)[:, a : a + (J - 1) * down + 1 : down] @ hrev
            n_out = j_end
            outs.append(y)
        t4 = clock()
        spent += (t1 - t0, t2 - t1, t3 - t2, t4 - t3)
    return spent, outs


def main(argv=None):
    ap = argparse.ArgumentParser(prog=_prog("nodes", argv), description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=20.0, help="signal length per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--png", help="also draw the table (us per chunk, node vs bare) to a PNG")
    args = ap.parse_args(argv)
    if not args.seconds * FS >= CHUNK or args.repeats < 1:  # `not >=`: a NaN too
        ap.error(f"--seconds must be at least one chunk ({CHUNK / FS:g} s) and --repeats at least 1")
    from wavegraph.benchmarks.bench_checks import check_outputs, picture

    args.png = picture(ap, "--png", args.png)  # (plot -> plot.png, the name said)
    check_outputs(ap, ("--png", args.png))
    n = int(args.seconds * FS)
    x = np.random.default_rng(0).standard_normal((N_CH, n)) * 1e-5
    chunks = [Chunk(np.ascontiguousarray(x[:, i : i + CHUNK]), t0=i / FS) for i in range(0, n, CHUNK)]
    times = {"node": [], "plain": [], "tuned": []}
    for r in range(args.repeats):
        nodes = build_chain()
        s_node, y_node = run_chain(chunks, nodes)
        s_plain, y_plain = run_bare(chunks, nodes, tuned=False)
        s_tuned, y_tuned = run_bare(chunks, nodes, tuned=True)
        if r == 0:  # same maths: the outputs must agree
            ref = np.concatenate(y_node, 1)
            np.testing.assert_allclose(np.concatenate(y_plain, 1), ref, rtol=1e-9, atol=1e-15)
            np.testing.assert_allclose(np.concatenate(y_tuned, 1), ref, rtol=1e-9, atol=1e-15)
        times["node"].append(s_node)
        times["plain"].append(s_plain)
        times["tuned"].append(s_tuned)
    us = {k: np.median(v, axis=0) / len(chunks) * 1e6 for k, v in times.items()}  # us per chunk
    names = [name for name, _ in build_chain()]
    chunk_us = CHUNK / FS * 1e6
    print(
        f"{N_CH} channels, {FS:g} Hz, {CHUNK}-sample chunks, {len(chunks)} chunks x {args.repeats} repeats (median), 1 thread"
    )
    print(f"{'us per chunk':<14}{'node':>9}{'bare plain':>12}{'bare tuned':>12}{'node/plain':>12}{'node/tuned':>12}")
    rows = [(n, us["node"][i], us["plain"][i], us["tuned"][i]) for i, n in enumerate(names)]
    rows.append(("chain", us["node"].sum(), us["plain"].sum(), us["tuned"].sum()))
    for name, a, b, c in rows:
        print(f"{name:<14}{a:>9.1f}{b:>12.1f}{c:>12.1f}{a / b:>12.2f}{a / c:>12.2f}")
    tot = us["node"].sum()
    print(
        f"real-time factor: chain {chunk_us / tot:.0f}x, bare plain {chunk_us / us['plain'].sum():.0f}x, "
        f"bare tuned {chunk_us / us['tuned'].sum():.0f}x (chunk = {chunk_us:.0f} us)"
    )
    if args.png:
        from wavegraph.benchmarks.figures import bars

        bars(
            args.png,
            [r[0] for r in rows],
            {"node": [r[1] for r in rows], "bare plain": [r[2] for r in rows], "bare tuned": [r[3] for r in rows]},
            "us per chunk",
            "bench nodes",
        )
        print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    main()
