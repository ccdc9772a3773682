"""Soak: a long 64-channel 1 kHz session through filters into every recorder format, watching each process's RSS.

    nice -n 10 .venv/bin/wavegraph bench soak [--hours 2] [--formats raw.fif,npz,edf,bdf,wav,csv]
        [--out DIR] [--png docs/soak_rss.png] [--every 2]

`eeg_sim` (64 channels, 1 kHz, 100-sample chunks) -> CAR -> 1-40 Hz bandpass -> one recorder per format,
in three processes (source | filters | recorders), replayed as fast as the machine goes (`wavegraph run`
in a child). The parent samples the RSS of every process of the run (psutil) every `--every` seconds.

Judged per process after warm-up (the first 20 % of the run, at least 10 s): every sample within
+-5 % of that process's post-warm-up median ("flat"). RSS counts the pages a process holds, freed or
not: the workers keep what they free (pipeline.allocator), so after warm-up a worker's RSS is its
high-water mark and "flat" means it never needed more memory at once than it did early in the run:
no growth. (Under glibc's defaults, WAVEGRAPH_MALLOC=system, the RSS also swings by the data in
flight as the bounded queues fill and drain: -8 to -12 % in the source and filter workers.) Then every file is read back a block at a time
and compared with the same chain run again offline with the same chunks: FIF, NPZ and WAV (float64)
must be bit-identical, CSV equal to its printed digits (repr round-trips: identical), EDF/BDF within
half a quantisation step of their channel's range. Prints one line per process and per format; exits
1 if a target is missed. The RSS curves go to --png.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

CHUNK = 100
RATE = 1000.0
N_CH = 64
FORMATS = "raw.fif,npz,edf,bdf,wav,csv"


def graph_yaml(seconds: float, out: Path | None, formats: list[str]) -> str:
    lines = [
        "name: soak",
        "nodes:",
        f"  - {{id: src, type: eeg_sim, params: {{rate: {RATE:g}, channels: {N_CH}, chunk_size: {CHUNK}, "
        f"duration: {seconds:g}, seed: 3}}}}",
        "  - {id: car, type: car}",
        "  - {id: bp, type: bandpass, params: {l_freq: 1.0, h_freq: 40.0}}",
    ]
    edges = ["  - {source: src.out, target: car.in}", "  - {source: car.out, target: bp.in}"]
    recs = []
    for i, fmt in enumerate(formats if out is not None else []):
        assert out is not None
        lines.append(f"  - {{id: rec{i}, type: recorder, params: {{path: {out / ('soak.' + fmt)}}}}}")
        edges.append(f"  - {{source: bp.out, target: rec{i}.in}}")
        recs.append(f"rec{i}")
    text = "\n".join(lines + ["edges:"] + edges) + "\n"
    if recs:
        text += f"processes:\n  source: [src]\n  filters: [car, bp]\n  recorders: [{', '.join(recs)}]\n"
    return text


def sample_rss(proc: subprocess.Popen, every: float, out: Path) -> tuple[float | None, dict]:
    """RSS (MB) of the run's parent and each worker, every `every` seconds until it exits; and when the
    stream ended: the sample at which the recorders' chunk logs (<path>.chunks.csv, written per chunk
    while recording) grew for the last time. From there on the recorders finalise their files."""
    import psutil

    parent = psutil.Process(proc.pid)
    t0 = time.monotonic()
    curves: dict[str, list[tuple[float, float]]] = {}
    labels: dict[int, str] = {}
    ended, logged = None, 0
    while proc.poll() is None:
        now = time.monotonic() - t0
        size = sum(_size(p) for p in out.glob("*.chunks.csv"))
        if size > logged:
            logged, ended = size, now
        try:
            children = parent.children(recursive=True)
            for c in children:
                if c.pid not in labels:
                    labels[c.pid] = _label(c)
            for name, p in [("parent", parent)] + [(labels[c.pid], c) for c in children]:
                curves.setdefault(name, []).append((now, p.memory_info().rss / 2**20))
        except psutil.Error:
            pass  # a process ending between the listing and the reading
        try:  # the next sample in `every` s, or none once the run has ended (a sleep waited up to `every` past it)
            proc.wait(timeout=every)
        except subprocess.TimeoutExpired:
            pass
    return ended, curves


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # deleted by a clean close in between
        return 0


def _label(p) -> str:
    try:
        plan = next((a for a in p.cmdline() if a.endswith(".json")), "")
        group = json.loads(Path(plan).read_text()).get("group") if plan else None
        return f"worker {group}" if group else f"pid {p.pid}"
    except Exception:  # noqa: BLE001 — the plan file may be gone already
        return f"pid {p.pid}"


def judge(curves: dict, ended: float | None, warm_frac: float = 0.2, tol: float = 0.05) -> dict[str, dict]:
    """Per process: the streaming phase (after warm-up, until the stream ended) must stay within
    +-tol of its median; the close phase (draining, finalising files) is reported apart (its peak)."""
    out = {}
    for name, pts in curves.items():
        t = np.array([p[0] for p in pts])
        rss = np.array([p[1] for p in pts])
        end = ended if ended is not None else t[-1]
        warm = max(10.0, warm_frac * end)
        sel = (t >= warm) & (t < end)  # the sample at `end` may already be closing files
        if sel.sum() < 3:
            continue
        after = rss[sel]
        med = float(np.median(after))
        dev = float(np.max(np.abs(after - med)) / med)
        up, down = float(after.max() / med - 1), float(1 - after.min() / med)
        slope = float(np.polyfit(t[sel], after, 1)[0] * 3600)
        closing = rss[t >= end]
        out[name] = {
            "median_mb": med,
            "max_dev": dev,
            "up": up,
            "down": down,
            "flat": dev <= tol,
            "mb_per_hour": slope,
            "first_mb": float(rss[0]),
            "peak_mb": float(after.max()),
            "close_peak_mb": float(closing.max()) if closing.size else None,
            "n": int(sel.sum()),
        }
    return out


def offline_blocks(seconds: float, block_chunks: int = 100):
    """The chain again, in-process, in the run's chunks: yields (n0, data (ch, n)) blocks."""
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.node import Source

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "chain.yaml"
        p.write_text(graph_yaml(seconds, None, []))
        g = build_graph(load_config(p))
    src, car, bp = (g.nodes[k] for k in ("src", "car", "bp"))
    assert isinstance(src, Source)  # eeg_sim
    n0, pending = 0, []
    while True:
        outs = src.read()
        if outs is None:
            break
        y = bp.process({"in": car.process({"in": outs["out"]})["out"]})["out"].data
        pending.append(y)
        if len(pending) == block_chunks:
            block = np.concatenate(pending, axis=1)
            yield n0, block
            n0 += block.shape[1]
            pending = []
    if pending:
        yield n0, np.concatenate(pending, axis=1)


def _npz_reader(path: Path):
    zf = zipfile.ZipFile(path)
    f = zf.open("data.npy")
    version = np.lib.format.read_magic(f)
    header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}[version]
    shape, fortran, dtype = header(f)
    assert fortran and len(shape) == 2  # the recorder writes (channels, samples) sample-major

    def read(n0, n):  # sequential reads only
        return np.frombuffer(f.read(n * shape[0] * dtype.itemsize), dtype).reshape(n, shape[0]).T

    return read, shape[1]


def _edf_steps(path: Path) -> np.ndarray:
    """Each signal's quantisation step in volts, from the EDF/BDF header (the writer's own rounding)."""
    head = path.read_bytes()[: 256 * (N_CH + 2)]
    ns = int(head[252:256])
    field = lambda off, w: [head[256 + off * ns + k * w : 256 + off * ns + (k + 1) * w] for k in range(ns)]  # noqa: E731
    widths = [16, 80, 8, 8, 8, 8, 8]  # label, transducer, dimension, physical min/max, digital min/max
    offs = np.cumsum([0] + widths)
    pmin, pmax, dmin, dmax = (np.array([float(v) for v in field(offs[k], 8)]) for k in (3, 4, 5, 6))
    units = [u.strip() for u in field(offs[2], 8)]
    scale = np.array([1e-6 if u == b"uV" else 1.0 for u in units])
    return ((pmax - pmin) / (dmax - dmin) * scale)[:N_CH]


def _reader(path: Path, fmt: str):
    """read(n0, n) -> (channels, n) for sequential blocks."""
    import mne
    import soundfile as sf

    if fmt in ("raw.fif", "edf", "bdf"):
        reader = {"raw.fif": mne.io.read_raw_fif, "edf": mne.io.read_raw_edf, "bdf": mne.io.read_raw_bdf}[fmt]
        raw = reader(path, verbose="error")
        return lambda n0, n: raw.get_data(start=n0, stop=n0 + n)
    if fmt == "npz":
        return _npz_reader(path)[0]
    if fmt == "wav":
        snd = sf.SoundFile(str(path))
        return lambda n0, n: snd.read(n, dtype="float64").T
    csv = open(path)
    csv.readline()
    return lambda n0, n: np.loadtxt(csv, delimiter=",", max_rows=n, ndmin=2)[:, 1:].T


def verify(out: Path, formats: list[str], seconds: float) -> dict:
    """Every file against one offline run of the chain, a block at a time."""
    files = {fmt: out / f"soak.{fmt}" for fmt in formats}
    read = {fmt: _reader(p, fmt) for fmt, p in files.items()}
    steps = {fmt: _edf_steps(p) for fmt, p in files.items() if fmt in ("edf", "bdf")}
    worst = dict.fromkeys(formats, 0.0)
    why, n_total = {}, 0
    for n0, y in offline_blocks(seconds):
        for fmt in formats:
            if fmt in why:
                continue
            got = read[fmt](n0, y.shape[1])
            if got.shape != y.shape:
                why[fmt] = f"shape {got.shape} at sample {n0}, expected {y.shape}"
                continue
            err = np.abs(got - y).max(1)
            worst[fmt] = max(worst[fmt], float((err / steps[fmt]).max() if fmt in steps else err.max()))
        n_total += y.shape[1]
    return {
        fmt: {
            "equal": fmt not in why and (worst[fmt] <= 0.5 if fmt in steps else worst[fmt] == 0.0),
            "why": why.get(fmt, ""),
            "samples": n_total,
            "max_err": worst[fmt],
            "bound": "half step" if fmt in steps else "bit-identical",
            "mb": files[fmt].stat().st_size / 2**20,
        }
        for fmt in formats
    }


def plot(curves: dict, ended: float | None, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from wavegraph.nodes.io.figure_file import save_figure

    fig, ax = plt.subplots(figsize=(8, 4))
    for name, pts in sorted(curves.items()):
        t = np.array([p[0] for p in pts]) / 60
        ax.plot(t, [p[1] for p in pts], label=name)
    ax.set_xlabel("wall time (min)")
    ax.set_ylabel("RSS (MB)")
    ax.set_ylim(bottom=0)
    if ended is not None:
        ax.axvline(ended / 60, color="grey", lw=0.8, ls="--")
        ax.text(ended / 60, 5, " stream ended; files close", fontsize=7, color="grey")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, png, dpi=100)  # (whole or not at all: a full disk left a 0-byte PNG)
    print(f"plot: {png}")


def print_rss(flat: dict, ended: float | None) -> None:
    print(f"stream ended at {ended or 0:.0f} s; judged from warm-up (20 %, >= 10 s) to then; close phase apart")
    print(
        f"{'process':>18} {'first MB':>9} {'median MB':>10} {'peak MB':>8} {'above':>6} {'below':>6} {'MB/h':>7} "
        f"{'close MB':>9}  flat (+-5 %)"
    )
    for name, r in sorted(flat.items()):
        close = "-" if r["close_peak_mb"] is None else f"{r['close_peak_mb']:.1f}"
        print(
            f"{name:>18} {r['first_mb']:9.1f} {r['median_mb']:10.1f} {r['peak_mb']:8.1f} {100 * r['up']:5.1f}% "
            f"{100 * r['down']:5.1f}% {r['mb_per_hour']:7.1f} {close:>9}  {'yes' if r['flat'] else 'NO'}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="wavegraph bench soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hours", type=float, default=2.0, help="stream length (default 2 h)")
    ap.add_argument("--formats", default=FORMATS, help=f"comma list of recorder formats (default {FORMATS})")
    ap.add_argument("--out", help="folder for the recordings (default: a temporary one, deleted)")
    ap.add_argument("--every", type=float, default=2.0, help="seconds between RSS samples")
    ap.add_argument("--png", help="draw the RSS curves here")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--no-verify", action="store_true", help="skip reading the files back")
    ap.add_argument("--rejudge", metavar="JSON", help="judge and draw a saved run (its --json) again; no run")
    args = ap.parse_args(argv)
    from wavegraph.benchmarks.bench_checks import check_modules, check_outputs, picture
    from wavegraph.pipeline.batch_pool import signals_as_ctrl_c

    args.png = picture(ap, "--png", args.png)  # (plot -> plot.png, the name said)
    check_outputs(ap, ("--png", args.png), ("--json", args.json))
    if not args.rejudge:  # it samples every process's RSS: without psutil an ImportError once the run had started
        check_modules(ap, "bench soak", ("psutil", "pip install 'wavegraph[soak]'"))
    if not (0 < args.hours < float("inf") and 0 < args.every < float("inf")):  # were a child's error about a temp
        ap.error("--hours and --every must be above 0")  # graph file (--hours -1) and a busy sampling loop (--every 0)
    # '' and an unknown format were found out only by the run: '' soaked no recorder for hours, 'foo' (or 'fif')
    # was its child's graph error ('the run failed (exit 2)', exit 1); `--out ''` was the current folder
    formats = list(dict.fromkeys(f.strip() for f in args.formats.split(",") if f.strip()))  # (edf,edf: one file)
    unknown = [f for f in formats if f not in FORMATS.split(",")]
    if not args.rejudge and (unknown or not formats):
        ap.error(f"--formats {args.formats!r}: give a comma list of {FORMATS} (one or more)")
    if args.out is not None and not args.out.strip():
        ap.error("--out: is empty (a shell variable that was unset or empty expands to nothing); give a folder")
    if args.rejudge:
        try:  # a missing or cut file was a FileNotFoundError / JSONDecodeError / KeyError traceback
            saved = json.loads(Path(args.rejudge).read_text())
        except (OSError, ValueError) as e:
            ap.error(f"--rejudge {args.rejudge}: {e.strerror if isinstance(e, OSError) else f'not JSON: {e}'}")
        if not isinstance(saved, dict) or not {"curves", "ended", "title"} <= saved.keys():
            ap.error(f"--rejudge {args.rejudge}: not a --json of bench soak (it has no curves, ended and title)")
        flat = judge(saved["curves"], saved["ended"])
        print_rss(flat, saved["ended"])
        if args.png:
            plot(saved["curves"], saved["ended"], Path(args.png), saved["title"])
        return 0 if all(r["flat"] for r in flat.values()) else 1
    tmp = None if args.out else tempfile.TemporaryDirectory()
    out = Path(args.out) if args.out else Path(tmp.name)  # pyright: ignore[reportOptionalMemberAccess]
    try:
        with signals_as_ctrl_c():  # a SIGTERM or SIGHUP left the run going for hours, and the temporary folder
            return _soak(args, formats, out)
    except KeyboardInterrupt:
        print("soak: stopped before its end (the run was stopped too; nothing judged)")
        return 130
    finally:
        if tmp is not None:
            tmp.cleanup()


def _end_with_parent() -> None:
    """In the child, before it runs: the kernel sends it SIGTERM (which stops a run as Ctrl-C does, its recorders
    finalised) when this bench dies, however it dies (`kill -9` left the run going on for the hours asked)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop_run(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """Stop the run as Ctrl-C does (its recorders finalise); killed if it has not ended in `grace` s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _soak(args, formats: list[str], out: Path) -> int:
    """The run in a child process, its RSS sampled; then judged, the files verified, drawn and saved."""
    seconds = args.hours * 3600
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / "soak.yaml"
    cfg.write_text(graph_yaml(seconds, out, formats))
    t = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_end_with_parent,
        start_new_session=True,  # a terminal's Ctrl-C reaches the run once, from _stop_run (a second one aborts it)
    )
    try:
        ended, curves = sample_rss(proc, args.every, out)
        log = proc.communicate()[0]
    except BaseException:  # Ctrl-C, SIGTERM or SIGHUP (signals_as_ctrl_c), or a failure of the sampling
        _stop_run(proc)
        raise
    wall = time.monotonic() - t
    if proc.returncode != 0:
        print(log)
        print(f"soak: the run failed (exit {proc.returncode})")
        return 1
    data_mb = seconds * RATE * N_CH * 8 / 2**20
    print(
        f"soak: {seconds / 3600:g} h of {N_CH} ch x {RATE:g} Hz float64 ({data_mb:.0f} MB per format), "
        f"{len(formats)} formats, 3 processes: {wall:.0f} s wall ({seconds / wall:.1f}x real time)"
    )
    flat = judge(curves, ended)
    print_rss(flat, ended)
    files = {}
    title = f"soak: {seconds / 3600:g} h x {N_CH} ch x {RATE:g} Hz -> {', '.join(formats)}; RSS every {args.every:g} s"
    if not args.no_verify:
        files = verify(out, formats, seconds)
        for fmt, r in files.items():
            print(
                f"{fmt:>8}: {'equal' if r['equal'] else 'DIFFERS'} ({r.get('bound', '')}, max err "
                f"{r.get('max_err', float('nan')):.3g}{' steps' if r.get('bound') == 'half step' else ''}, "
                f"{r.get('samples', 0)} samples, {r.get('mb', 0):.0f} MB) {r.get('why', '')}"
            )
    if args.png:
        plot(curves, ended, Path(args.png), title)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "seconds": seconds,
                    "wall_s": wall,
                    "formats": formats,
                    "ended": ended,
                    "title": title,
                    "rss": flat,
                    "files": files,
                    "curves": curves,
                },
                indent=1,
            )
        )
    equal = all(r["equal"] for r in files.values())
    ok = bool(flat) and all(r["flat"] for r in flat.values()) and equal
    if not flat and equal:  # an empty table above read as a failed target; a file that differs is one
        print(
            f"soak: RSS not judged: no process had 3 samples (every {args.every:g} s) between the warm-up (20 % of "
            f"the run, at least 10 s) and the stream's end ({ended or 0:.0f} s); give a longer --hours, e.g. 0.05"
        )
        return 2
    print("soak: targets", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
