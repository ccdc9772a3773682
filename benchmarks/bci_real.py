"""`wavegraph bench bci`, part 1: real SSVEP (ssvepy's example recording, or any recording with `--data`) streamed
through the ``ssvep_decoder`` node (FBCCA) in sliding windows; accuracy and ITR vs window length."""

from __future__ import annotations

import time

import numpy as np
from wavegraph.models.ssvep import itr_bits_per_min

from .ssvep_recording import load_real

GAZE_S = 0.5  # gaze shift per selection in the ITR (the 40-target benchmark's cue length)
REAL_FREQS = [6.0, 6.67, 7.5, 8.57, 10.0]  # 60 Hz / 10..6: frequencies a 60 Hz monitor can show
REAL_WINDOWS = [0.5, 1.0, 2.0, 3.0, 4.0]


def _stream_decisions(
    x: np.ndarray, rate: float, channels: list[str], freqs, window: float, step: float, chunk: int = 32
) -> np.ndarray:
    """Run one continuous stream through ssvep_decoder (fbcca) in chunks; decision rows (onset, dur, code)."""
    from wavegraph.nodes.models.ssvep import SSVEPDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    node = SSVEPDecoder(method="fbcca", freqs=list(freqs), window=window, step=step)
    node.configure({"in": signal_spec(rate, channels)})
    rows = []
    for i in range(0, x.shape[1], chunk):
        out = node.process({"in": Chunk(np.ascontiguousarray(x[:, i : i + chunk]), t0=i / rate)})
        if "out" in out:
            rows.append(out["out"].data)
    return np.concatenate(rows) if rows else np.zeros((0, 3))


def real_ssvep(
    path: str | None, freqs=None, windows=REAL_WINDOWS, step: float = 0.5, line: float = 50.0, mapping=None
) -> dict:
    freqs = list(freqs) if freqs else (REAL_FREQS if path is None else [])  # --data: the markers' frequencies
    src, segments, rate, channels, how = load_real(path, freqs, line, mapping)
    freqs = sorted(set(freqs) | {f for _, f in segments})
    if len(freqs) < 2:
        raise ValueError(
            f"{src}: its markers name one frequency ({freqs[0]:g} Hz) and a decoder needs 2 or more; "
            "fix: give the other stimulus frequencies as candidates, e.g. --freqs 8 10 12 15"
        )
    longest = max(x.shape[1] for x, _ in segments) / rate
    if longest < min(windows):
        raise ValueError(
            f"{src}: its longest trial lasts {longest:.2f} s, shorter than every window ({', '.join(map(str, windows))} s); "
            f"fix: --windows {longest:.2g} or shorter"
        )
    rows = []
    for w in windows:
        hits = n = 0
        t0 = time.perf_counter()
        for x, f in segments:
            if x.shape[1] < int(w * rate):
                continue
            ev = _stream_decisions(x, rate, channels, freqs, w, min(step, w))  # a decision per window at most
            # each segment is its own stream (epochs are not contiguous): the first window starts at its onset
            hits += int(np.sum(np.isclose([freqs[int(c) - 1] for c in ev[:, 2]], f)))
            n += len(ev)
        acc = hits / n if n else float("nan")
        rows.append(
            {
                "window_s": w,
                "windows": n,
                "accuracy": acc,
                "itr_bits_min": itr_bits_per_min(len(freqs), acc, w, GAZE_S) if n else float("nan"),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    labels = {f"{f:g}": sum(1 for _, g in segments if g == f) for f in freqs}
    return {
        "recording": src,
        "rate": rate,
        "channels": channels,
        "freqs": freqs,
        "segments": len(segments),
        "labels": labels,
        "labelling": how,
        "step_s": step,
        "notch_hz": line,
        "chance": 1 / len(freqs),
        "rows": rows,
    }
