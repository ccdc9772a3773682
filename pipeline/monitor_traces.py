"""The live monitor's traces channel (pipeline/monitor_app.py): the binary message of one traces update, how the
channels are grouped by line colour, and the page script that streams the messages into the trace plot and
acknowledges each one it has drawn (the server sends the next only then)."""

from __future__ import annotations

import functools

import numpy as np

PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
GROUPS = len(PALETTE) + 1  # colour groups of channels, plus the flagged channels drawn in red
FLAGGED = GROUPS - 1


def _empty_groups() -> dict[str, list]:
    return {f"{axis}{g}": [] for g in range(GROUPS) for axis in ("x", "y")}


def _pack(t: np.ndarray, stacked: np.ndarray, groups: list[list[int]], last: np.ndarray | None):
    """Columns x<g>, y<g> of one update as two (GROUPS, rows) arrays: each channel of group g as a run (its
    previous last point, its new points, a NaN break), the groups padded with NaN to one length."""
    n, channels = len(t), stacked.shape[0]
    width = max(max((len(m) for m in groups), default=0), 1)
    idx = np.full((len(groups), width), channels)  # channel per (group, slot); `channels`: padding, all NaN
    for g, members in enumerate(groups):
        idx[g, : len(members)] = members
    x = np.full((len(groups), width, n + 2), np.nan)
    y = np.full((len(groups), width, n + 2), np.nan, dtype=np.float32)
    x[:, :, 1 : n + 1] = np.where((idx < channels)[..., None], t, np.nan)
    y[:, :, 1 : n + 1] = np.vstack([stacked, np.full((1, n), np.nan)])[idx]
    if last is not None:
        x[:, :, 0], y[:, :, 0] = np.append(last[0], np.nan)[idx], np.append(last[1], np.nan)[idx]
    return x.reshape(len(groups), -1), y.reshape(len(groups), -1)


@functools.lru_cache(maxsize=64)
def _colour_groups(channels: range, flagged: tuple[int, ...]) -> list[list[int]]:
    """The channels of each line colour (channel i: PALETTE[i % 8]), then the flagged ones (in red)."""
    groups = [[i for i in channels if i not in flagged and i % len(PALETTE) == g] for g in range(GROUPS - 1)]
    return [*groups, [i for i in channels if i in flagged]]


def trace_message(x: np.ndarray, y: np.ndarray, rollover: int, reset: bool, times: tuple[float, float, float]) -> bytes:
    """One binary message of the /traces websocket: a float64 header (reset, rollover, rows, groups, then
    `times`: the first time on the page, the newest, the time span), then x as float64 (groups, rows), then
    y as float32 (groups, rows). TRACES_JS reads it."""
    head = np.array([float(reset), rollover, x.shape[1], x.shape[0], *times], dtype=np.float64)
    return (
        head.tobytes() + np.ascontiguousarray(x, np.float64).tobytes() + np.ascontiguousarray(y, np.float32).tobytes()
    )


# Runs in the page once its document is ready: opens /traces for this session, streams each message into the
# trace source and moves the time axis to the newest samples, in the page only ({sync: false}: nothing goes
# back to the server; a DataRange1d following the data would send its new bounds back 30 times a second).
# Once the page has drawn a message it acknowledges it with its count on the same socket (Session.acked_message): the
# server sends the next one only then, so a slow page gets fewer, larger updates instead of a growing backlog.
TRACES_JS = """
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/traces?key=" + key);
ws.binaryType = "arraybuffer";
let applied = 0;  // the messages of this socket drawn so far, sent back as the acknowledgement
ws.onmessage = (event) => {
  const buf = event.data;
  const [reset, rollover, rows, groups, first, newest, span] = new Float64Array(buf, 0, 7);
  const xs = new Float64Array(buf, 56, groups * rows);
  const ys = new Float32Array(buf, 56 + 8 * groups * rows, groups * rows);
  const data = {};
  for (let g = 0; g < groups; g++) {
    data["x" + g] = xs.slice(g * rows, (g + 1) * rows);
    data["y" + g] = ys.slice(g * rows, (g + 1) * rows);
  }
  if (reset) source.setv({data: data}, {sync: false});
  else source.stream(data, rollover, {sync: false});
  const start = Math.max(newest - span, Math.min(first, newest - 1));
  if (rows > 0 && !x_range.wg_hold) x_range.setv({start: start, end: newest}, {sync: false});
  // the acknowledgement, once drawn (the frame after this change): the server sends the next message only then
  const n = ++applied;
  requestAnimationFrame(() => setTimeout(() => { if (ws.readyState === 1) ws.send(String(n)); }, 0));
};
ws.onclose = () => status.setv({text: ENDED + new Date().toLocaleTimeString()}, {sync: false});
"""
