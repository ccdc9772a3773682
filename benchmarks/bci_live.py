"""`wavegraph bench bci-live`: configs/bci_ssvep.yaml run live against a real SSVEP recording replayed on LSL.

A feeder thread publishes the ssvepy recording (real SSVEP EEG, 64 ch, 256 Hz; epochs played back to back
as one continuous amplifier stream) through a pylsl EEG outlet in real time (or `--speed` times faster),
8 samples per push, and the epoch markers through a string marker outlet named `stimulus`, each at its
epoch's first sample. The graph (in its own process: `wavegraph run`, or in this one with --in-process)
decodes and publishes decisions on `wavegraph-decisions`; a consumer thread collects them.

Decision latency, two ways, p50 / p99 over every decision:
  * in the graph: from the moment the inlet returned the chunk holding the window's last sample to the
    moment the decision outlet pushed the marker (the runtime's end-to-end latency at the outlet node);
  * end to end over LSL: from the feeder's push of the window's last sample to the decision's arrival at
    the consumer (adds two LSL hops and the inlet's polling).
Both exclude the window itself (a decision cannot come before its last sample). Everything runs on
loopback (configs/lsl_api.cfg).

    LSLAPICFG=configs/lsl_api.cfg wavegraph bench bci-live --epochs 4 --speed 1
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from wavegraph.pipeline.result import RunResult

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "bci_ssvep.yaml"
PUSH = 8  # samples per push (31 ms at 256 Hz), like an amplifier's block


@dataclass
class Session:
    """What one run saw: the pushed signal, markers and timing, and the decisions that came back."""

    x: np.ndarray  # (channels, samples) pushed, V
    rate: float
    t_first: float  # LSL timestamp of sample 0
    markers: list[tuple[float, str]]  # (LSL time, marker) pushed
    push_clock: np.ndarray  # local_clock() when each sample was pushed
    decisions: list[tuple[str, float, float]] = field(default_factory=list)  # (marker, LSL timestamp, arrival)
    result: RunResult | None = None  # set by run_session
    rec_path: Path | None = None
    decisions_csv: Path | None = None

    def latencies_ms(self, window: float) -> np.ndarray:
        """LSL end to end: decision arrival minus the push of its window's last sample."""
        out = []
        for _, ts, arrival in self.decisions:
            last = int(round((ts - self.t_first) * self.rate)) + int(round(window * self.rate)) - 1
            if 0 <= last < len(self.push_clock):
                out.append((arrival - self.push_clock[last]) * 1e3)
        return np.asarray(out)


def load_recording(n_epochs: int):
    """The ssvepy epochs back to back: (channels, samples), names, rate, epoch markers (sample, label)."""
    import mne
    from wavegraph.pipeline.datasets import fetch

    ep = mne.read_epochs(fetch("ssvepy-epochs"), preload=True, verbose="error").pick("eeg")
    data = ep.get_data()[:n_epochs]
    inv = {v: k for k, v in ep.event_id.items()}
    markers = [(k * data.shape[2], inv[int(ep.events[k, 2])]) for k in range(len(data))]
    return np.concatenate(list(data), axis=1), list(ep.ch_names), float(ep.info["sfreq"]), markers


def run_session(
    tmp: Path, n_epochs: int = 2, speed: float = 1.0, in_process: bool = True, overrides: list[str] | None = None
) -> Session:
    """Publish the recording and its markers on LSL, run configs/bci_ssvep.yaml against them, collect
    the decisions. LSLAPICFG must be set before pylsl is first imported."""
    import pylsl

    x, names, rate, marks = load_recording(n_epochs)
    tag = uuid.uuid4().hex[:8]
    eeg_name, stim_name, dec_name = f"amp-{tag}", f"stimulus-{tag}", f"decisions-{tag}"
    info = pylsl.StreamInfo(eeg_name, "EEG", x.shape[0], rate, pylsl.cf_double64, eeg_name)
    info.set_channel_labels(names)
    info.set_channel_types(["eeg"] * len(names))
    units: list[str | int] = ["V"] * len(names)
    info.set_channel_units(units)
    eeg_out = pylsl.StreamOutlet(info)
    stim_out = [pylsl.StreamOutlet(pylsl.StreamInfo(stim_name, "Markers", 1, 0.0, pylsl.cf_string, stim_name))]
    n = x.shape[1]
    rec_path, csv_path = tmp / f"bci_{tag}_raw.fif", tmp / f"bci_{tag}_decisions.csv"
    sets = [
        f"eeg.name={eeg_name}",
        f"markers.name={stim_name}",
        f"decisions.name={dec_name}",
        f"rec.path={rec_path}",
        f"rec_decisions.path={csv_path}",
        f"eeg.max_samples={n}",
        *(overrides or []),
    ]
    t_first = pylsl.local_clock() + (3.0 if in_process else 6.0)  # the graph starts meanwhile
    s = Session(
        x=x,
        rate=rate,
        t_first=t_first,
        markers=[(t_first + k / rate, m) for k, m in marks],
        push_clock=np.zeros(n),
        rec_path=rec_path,
        decisions_csv=csv_path,
    )

    def feed():
        eeg_out.wait_for_consumers(30.0)
        stim_out[0].wait_for_consumers(30.0)
        pending = list(zip([k for k, _ in marks], s.markers))
        t0_wall = time.monotonic()
        for k in range(0, n, PUSH):
            due = t0_wall + k / rate / speed
            while (wait := due - time.monotonic()) > 0:
                time.sleep(min(wait, 0.005))
            block = np.ascontiguousarray(x[:, k : k + PUSH].T)
            ts = t_first + (k + np.arange(block.shape[0])) / rate
            while pending and pending[0][0] < k + PUSH:
                _, (t, m) = pending.pop(0)
                stim_out[0].push_sample([m], t)
            s.push_clock[k : k + PUSH] = pylsl.local_clock()
            eeg_out.push_chunk(block, ts.tolist())
        time.sleep(1.0)
        stim_out.clear()  # the stimulus program exits: the marker inlet's stream ends

    def consume():
        found = pylsl.resolve_byprop("name", dec_name, timeout=30.0)
        if not found:
            return
        inlet = pylsl.StreamInlet(found[0], recover=False)
        inlet.open_stream(timeout=10.0)
        try:
            while True:
                m, ts = inlet.pull_sample(timeout=5.0)
                if ts is None:
                    return
                assert m is not None  # pylsl gives (None, None) only on a timeout
                s.decisions.append((m[0], ts, pylsl.local_clock()))
        except pylsl.util.LostError:
            return

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    graph = build_graph(load_config(CONFIG, sets))
    # The feeder and the consumer stamp the times: keep this process's startup heap (mne, scipy, pylsl...)
    # out of the cyclic GC, so that a full collection does not pause them mid-measurement (gen-2 passes
    # took 88 and 171 ms in one 64 s run at load 10 here, 16 and 76 ms with the heap frozen).
    gc.collect()
    gc.freeze()
    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=consume, daemon=True)]
    for t in threads:
        t.start()
    try:
        s.result = run_graph(graph, in_process=in_process)  # else: the nodes run in a worker process
        for t in threads:
            t.join(timeout=30.0)
    finally:
        gc.unfreeze()  # a caller (the CI test) gets its collector back
    return s


def percentiles(v) -> tuple[float, float]:
    v = np.asarray(v, dtype=float)
    return (float(np.percentile(v, 50)), float(np.percentile(v, 99))) if v.size else (float("nan"), float("nan"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph bench bci-live", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--epochs", type=int, default=4, help="ssvepy epochs to play (16 s each)")
    ap.add_argument("--speed", type=float, default=1.0, help="playback speed (1 = real time)")
    ap.add_argument(
        "--in-process", action="store_true", help="run the graph in this process (default: a worker process)"
    )
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = ap.parse_args(argv)
    os.environ.setdefault("LSLAPICFG", str(ROOT / "configs" / "lsl_api.cfg"))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        s = run_session(Path(tmp), args.epochs, args.speed, in_process=args.in_process)
    load = [round(max(a, b), 2) for a, b in zip(load_before, os.getloadavg())]  # 1/5/15 min, the higher end
    assert s.result is not None  # run_session ran the graph
    if s.result.exit_code != 0:
        print(s.result.failure, file=sys.stderr)
        return 1
    graph_ms = [v / 1e6 for v in s.result.stats["decisions"].get("latency_ns", [])]  # [p50, p99]
    lat = s.latencies_ms(2.0)
    labels = [d[0] for d in s.decisions]
    acc = labels.count("6") / max(1, len(labels))
    p50, p99 = percentiles(lat)
    print(
        f"bci-live: {args.epochs} epochs of ssvepy at {args.speed:g}x, graph {'in this process' if args.in_process else 'in a worker process'}"
    )
    print(
        f"decisions: {len(labels)} (6 Hz: {acc:.1%}); load average {load[0]:g} / {load[1]:g} / {load[2]:g} (1/5/15 min)"
    )
    print(f"LSL end to end (last sample pushed -> decision received): p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    if graph_ms:
        print(
            f"in the graph (inlet returned the chunk -> marker pushed): p50 {graph_ms[0]:.2f} ms  p99 {graph_ms[1]:.2f} ms"
        )
    dec_ms = [v / 1e6 for v in s.result.stats["decoder"].get("compute_ns", [])]
    if dec_ms:
        print(f"decoder compute per EEG chunk: p50 {dec_ms[0]:.2f} ms  p99 {dec_ms[1]:.2f} ms")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "epochs": args.epochs,
                    "speed": args.speed,
                    "decisions": len(labels),
                    "accuracy_6hz": acc,
                    "lsl_p50_ms": p50,
                    "lsl_p99_ms": p99,
                    "graph_ms": graph_ms,
                    "decoder_compute_ms": dec_ms,
                    "load_average": load,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
