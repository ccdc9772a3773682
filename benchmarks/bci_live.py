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

`--dnn` runs configs/bci_ssvep_dnn.yaml (the same streams; `ssvep_trial_decoder`: one stimulus-locked decision per
marker) with the Deep-SSVEP DNN as `wavegraph train ssvep` makes it for a user: a calibration run (semi-synthetic,
benchmarks/ssvep_sim.calibration_raw: real EEGMMIDB background, 8 targets 8-15 Hz, 9 channels at 160 Hz,
`--blocks` x 8 trials of 5 s) is written as FIF and the shipped 1 s global model fine-tuned on it (at 1 s: a seed
ensemble of 3 whose mean softmax decides); then a second run of the same simulated subject on another background
segment (16 trials) is played instead of ssvepy, and each decision is scored against its trial's target. Its
latency counts from the last sample of the trial's window (marker + 0.14 s + 1 s + the decision crops).

    LSLAPICFG=configs/lsl_api.cfg wavegraph bench bci-live --epochs 4 --speed 1
    LSLAPICFG=configs/lsl_api.cfg wavegraph bench bci-live --dnn --speed 1
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
DNN_CONFIG = ROOT / "configs" / "bci_ssvep_dnn.yaml"  # --dnn: one stimulus-locked decision per marker
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

    def latencies_ms(self, span: float) -> np.ndarray:
        """LSL end to end: decision arrival minus the push of its window's last sample, `span` s after the
        decision's stamp (the window's start for ssvep_decoder; the marker, + delay + window, for the trial decoder)."""
        out = []
        for _, ts, arrival in self.decisions:
            last = int(round((ts - self.t_first) * self.rate)) + int(round(span * self.rate)) - 1
            if 0 <= last < len(self.push_clock):
                out.append((arrival - self.push_clock[last]) * 1e3)
        return np.asarray(out)


SSVEPY_EPOCHS = 16  # epochs in the ssvepy example recording (pipeline.datasets "ssvepy-epochs"), 16 s each


def load_recording(n_epochs: int):
    """The ssvepy epochs back to back: (channels, samples), names, rate, epoch markers (sample, label)."""
    import mne
    from wavegraph.pipeline.datasets import fetch

    ep = mne.read_epochs(fetch("ssvepy-epochs"), preload=True, verbose="error").pick("eeg")
    data = ep.get_data()[:n_epochs]
    inv = {v: k for k, v in ep.event_id.items()}
    markers = [(k * data.shape[2], inv[int(ep.events[k, 2])]) for k in range(len(data))]
    return np.concatenate(list(data), axis=1), list(ep.ch_names), float(ep.info["sfreq"]), markers


DNN_FREQS = (8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0)  # the shipped 8-target global model's
DNN_TRIAL_S, DNN_SNR_DB = 5.0, -10.0  # trials of the calibration and the online run; SSVEP SNR


def dnn_session_inputs(tmp: Path, blocks: int, online_blocks: int = 2, steps: int | None = None, seed: int = 0):
    """`--dnn`: train an ensemble checkpoint on a calibration run (FIF in `tmp`) as a user would, and the online
    run to play: (checkpoint, (channels x samples, names, rate, markers), stimulus spans (start s, end s, label))."""
    from wavegraph.benchmarks import ssvep_sim as sim
    from wavegraph.benchmarks.train_ssvep import main as train

    calib = sim.calibration_raw(DNN_FREQS, blocks, DNN_TRIAL_S, DNN_SNR_DB, segment="train", seed=seed)
    calib.save(tmp / "calibration_raw.fif", verbose="error")
    ckpt = tmp / "subject.safetensors"
    argv = [str(tmp / "calibration_raw.fif"), "--freqs", *map(str, DNN_FREQS), "--window", "1.0", "--out", str(ckpt)]
    if train(argv + ([] if steps is None else ["--steps", str(steps)])) != 0:
        raise RuntimeError("wavegraph train ssvep failed on the calibration run")
    online = sim.calibration_raw(DNN_FREQS, online_blocks, DNN_TRIAL_S, DNN_SNR_DB, segment="eval", seed=seed)
    rate = float(online.info["sfreq"])
    ann = online.annotations
    onsets, ends, labels = ann.onset, ann.onset + ann.duration, [str(d) for d in ann.description]
    marks = [(int(round(t * rate)), lab) for t, lab in zip(onsets, labels)]
    spans = [(float(a), float(b), lab) for a, b, lab in zip(onsets, ends, labels)]
    return ckpt, (online.get_data(), list(online.ch_names), rate, marks), spans


def run_session(
    tmp: Path,
    n_epochs: int = 2,
    speed: float = 1.0,
    in_process: bool = True,
    overrides: list[str] | None = None,
    recording=None,
    config: Path = CONFIG,
) -> Session:
    """Publish the recording (default: `n_epochs` of ssvepy; else (x, names, rate, markers)) and its markers on
    LSL, run `config` (configs/bci_ssvep.yaml) against them, collect the decisions. LSLAPICFG must be set before pylsl is
    first imported."""
    import pylsl

    x, names, rate, marks = recording if recording is not None else load_recording(n_epochs)
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

    fed = threading.Event()  # the feeder has pushed everything (or failed)
    listening = threading.Event()  # the consumer is subscribed to the decisions (or gave up)

    def feed():
        try:
            eeg_out.wait_for_consumers(30.0)
            stim_out[0].wait_for_consumers(30.0)
            listening.wait(30.0)  # the consumer is on the decision stream: it sees the first decision too
            pending = list(zip([k for k, _ in marks], s.markers))
            while (early := t_first - pylsl.local_clock()) > 0:  # an amplifier stamps no sample in the future
                time.sleep(min(early, 0.005))  # (lsl_inlet says a first one over 1 s ahead: clock_off)
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
        finally:
            fed.set()

    def consume():
        try:
            found = pylsl.resolve_byprop("name", dec_name, timeout=30.0)
            if not found:
                return
            inlet = pylsl.StreamInlet(found[0], recover=False)
            inlet.open_stream(timeout=10.0)
        finally:
            listening.set()
        try:
            quiet = 0  # seconds without a decision since the feeder finished
            while quiet < 5:  # decisions may be many seconds apart (one per trial) while the feeder runs
                m, ts = inlet.pull_sample(timeout=1.0)
                if ts is None:
                    quiet += fed.is_set()
                    continue
                assert m is not None  # pylsl gives (None, None) only on a timeout
                s.decisions.append((m[0], ts, pylsl.local_clock()))
        except pylsl.util.LostError:
            return

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    graph = build_graph(load_config(config, sets))
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
    ap.add_argument(
        "--dnn",
        action="store_true",
        help="decode with a DNN (an ensemble of 3) fine-tuned on a calibration run first, on a semi-synthetic online run",
    )
    ap.add_argument("--blocks", type=int, default=6, help="--dnn: calibration blocks of 8 trials of 5 s (default 6)")
    ap.add_argument(
        "--set", action="append", default=[], metavar="NODE.PARAM=VALUE", help="override a graph parameter (repeatable)"
    )
    args = ap.parse_args(argv)
    from wavegraph.benchmarks.bench_checks import check_outputs

    check_outputs(ap, ("--json", args.json))
    # were: ValueError 'need at least one array to concatenate' (--epochs 0, --dnn --blocks 0); ZeroDivisionError in
    # the feeder thread, then the graph waiting on a silent stream (--speed 0); 99 epochs said while 16 were played
    if not 1 <= args.epochs <= SSVEPY_EPOCHS:
        ap.error(f"--epochs must be 1 to {SSVEPY_EPOCHS} (the ssvepy recording's epochs of 16 s), got {args.epochs}")
    if not 0 < args.speed < float("inf"):
        ap.error(f"--speed must be above 0 (1 = real time, 4 = four times faster), got {args.speed:g}")
    if args.blocks < 1:
        ap.error(f"--blocks must be at least 1 (calibration blocks of 8 trials for --dnn), got {args.blocks}")
    os.environ.setdefault("LSLAPICFG", str(ROOT / "configs" / "lsl_api.cfg"))
    with tempfile.TemporaryDirectory() as tmp:
        recording, overrides, config, span, spans = None, [], CONFIG, 2.0, []
        if args.dnn:
            from wavegraph.models import ssvep_dnn

            ckpt, recording, spans = dnn_session_inputs(Path(tmp), args.blocks)
            cfg = ssvep_dnn.load(ckpt)[0].cfg
            # the trial decoder's window ends delay + window (+ its decision crops) after the marker
            span = (round(cfg.delay * cfg.rate) + cfg.n_samples + ssvep_dnn.decision_crops(cfg)) / cfg.rate
            overrides = [f"decoder.checkpoint={ckpt}", "notch.harmonics=1"]  # 160 Hz: no 100 Hz harmonic
            config = DNN_CONFIG
        load_before = os.getloadavg()
        s = run_session(Path(tmp), args.epochs, args.speed, args.in_process, overrides + args.set, recording, config)
    load = [round(max(a, b), 2) for a, b in zip(load_before, os.getloadavg())]  # 1/5/15 min, the higher end
    assert s.result is not None  # run_session ran the graph
    if s.result.exit_code != 0:  # (printed "None" when the run was stopped rather than failed)
        print(s.result.failure or f"bci-live: the graph ended with exit code {s.result.exit_code}", file=sys.stderr)
        return 1
    graph_ms = [v / 1e6 for v in s.result.stats["decisions"].get("latency_ns", [])]  # [p50, p99]
    lat = s.latencies_ms(span)
    labels = [d[0] for d in s.decisions]
    if args.dnn:  # each decision against the target of the trial whose marker it is stamped with
        starts = np.array([a for a, _, _ in spans])  # each decision is stamped with its trial's marker
        nearest = [int(np.argmin(abs(starts - (ts - s.t_first)))) for _, ts, _ in s.decisions]
        right = [
            m == spans[i][2]
            for (m, ts, _), i in zip(s.decisions, nearest)
            if abs(ts - s.t_first - starts[i]) < 1 / s.rate
        ]
        acc = sum(right) / max(1, len(spans))
        what = f"right: {acc:.1%} of {len(spans)} trials"
        played = f"a semi-synthetic online run ({len(spans)} trials, {DNN_SNR_DB:g} dB), DNN ensemble, trial decoder"
    else:
        acc = labels.count("6") / max(1, len(labels))
        what = f"6 Hz: {acc:.1%}"
        played = f"{args.epochs} epochs of ssvepy, FBCCA, 2 s windows"
    p50, p99 = percentiles(lat)
    print(
        f"bci-live: {played} at {args.speed:g}x, graph {'in this process' if args.in_process else 'in a worker process'}"
    )
    print(f"decisions: {len(labels)} ({what}); load average {load[0]:g} / {load[1]:g} / {load[2]:g} (1/5/15 min)")
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
                    "decoder": "dnn" if args.dnn else "fbcca",
                    "window_end_s": span,
                    "set": args.set,
                    **({} if args.dnn else {"epochs": args.epochs}),
                    "speed": args.speed,
                    "decisions": len(labels),
                    "accuracy": acc,  # ssvepy: the share of 6 Hz decisions; --dnn: see "accuracy_of"
                    "accuracy_of": what,
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
