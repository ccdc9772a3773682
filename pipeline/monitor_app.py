"""The live monitor's web page: a Bokeh server app over a MonitorHub (pipeline/monitor.py).

Bokeh serves the page, its JavaScript (BokehJS, from its own wheel: no CDN, works offline), its
widgets and plots, and a websocket for the document. Each browser session reads the hub and sends only
what is new, so the page cost does not grow with the run. Bokeh is an optional dependency
(`pip install 'wavegraph[monitor]'`).

The traces, about 30 updates a second, do not go through Bokeh's document: each Bokeh update costs the
server a copy of every column (rollover), a change event and a serialised message over a model
registry (about 1 ms of Python), which at 30 updates/s was most of the monitor's cost. They travel
instead as one binary message per update on a websocket of our own (/traces, next to Bokeh's), and a
few lines of JavaScript on the page stream them into the trace source there (BokehJS's
`stream(..., {sync: false})`, so nothing is echoed back). Everything else (spectrum, heatmap, markers,
node table, controls) is ordinary Bokeh, updated 4 times a second, one update in flight: the page acknowledges each
(PageAck) once it has drawn it, and the server skips its ticks until then.

The page: stacked scrolling traces of the selected stream (per-channel scale, global gain, time span,
NaN/flat channels in red, markers as labelled vertical lines), its power spectrum (one channel or all),
a heatmap (audio spectrogram, features, tokens), the per-node table (rates, drops, gaps, restarts,
lateness, compute and end-to-end latency p50/p99, xruns) and the graph with its processes and the
declared latency of each path.
"""

from __future__ import annotations

import functools
import html
import json
import secrets
import time
from collections import deque
from typing import Any, cast

import numpy as np

from .monitor import MonitorHub
from .monitor_status import longest_wait, status_text
from .monitor_status import trace_title as _title
from .monitor_traces import FLAGGED, GROUPS, PALETTE, TRACES_JS, _colour_groups, _empty_groups, _pack, trace_message

try:  # an optional dependency: without Bokeh, importing this module fails only when the page is served
    from bokeh.core.property.validation import without_property_validation  # (not bokeh.core.validation)
except ImportError:  # pragma: no cover - bokeh missing

    def without_property_validation(input_function):
        return input_function


TICK_MS = 33  # traces: about 30 updates a second, on their own websocket
ACK_TIMEOUT_S = 5.0  # a page that has not acknowledged its last trace message for this long gets the next anyway
PAGE_TICK_MS = 250  # the rest of the page, through Bokeh's document: 4 updates a second
SPECTRUM_TICKS, HEATMAP_TICKS, TABLE_TICKS = 4, 1, 2  # of the page tick: 1, 4 and 2 updates a second
FLAG_COLOR = "#d62728"
MAX_TRACES = 64
TABLE_FIELDS = [
    ("node", "node"),
    ("process", "process"),
    ("rate_in", "in/s"),
    ("rate_out", "out/s"),
    ("drops", "drops"),
    ("gaps", "gaps"),
    ("restarts", "restarts"),
    ("late_ms", "late ms"),
    ("compute", "compute us p50/p99"),
    ("e2e", "e2e ms p50/p99"),
    ("xruns", "xruns"),
]


# What the page says once its run's server is gone (the run ended, was stopped or its process died): the figures on
# it stay as they were, and a page left open said nothing of it, its rates still those of a running graph.
ENDED = (
    "<b>wavegraph monitor</b>: <span style='color:#d62728'>disconnected: the run has ended or its monitor stopped."
    " What is shown is its last state, no longer updated; the end-of-run summary is where `wavegraph run` was"
    " started.</span> Since "
)

# Runs in the page when the server's document update `ack.sent` arrives (the last change of each update, after its
# data), and once the document is ready: once drawn (the frame after), the page acknowledges it through Bokeh's
# document (ack.applied, synced back to the server); until then the server skips its page ticks (Session.update).
PAGE_ACK_JS = """
const n = ack.sent;
requestAnimationFrame(() => setTimeout(() => { if (ack.applied < n) ack.applied = n; }, 0));
"""


@functools.cache
def page_ack_model() -> type:
    """PageAck, a Bokeh DataModel (defined once, when Bokeh is there): the count of document updates the server made
    for a page (`sent`) and how many of them the page has drawn (`applied`, set by the page)."""
    from bokeh.core.properties import Int
    from bokeh.model import DataModel

    class PageAck(DataModel):
        sent = Int(0)
        applied = Int(0)

    return PageAck


# Bokeh's DataTable redraws its cells only when its view's row indices change (CDSViewView.compute_indices
# -> view.change -> updateGrid). A table whose rows keep their number (streamed with rollover, or replaced)
# keeps drawing its first values; after each stream, this redraws it.
TABLE_REDRAW_JS = "const v = Bokeh.index.find_one(table); if (v != null) v.updateGrid();"


def _newer(items, cursor: int) -> list:
    """The items of a deque of (seq, ...) tuples with seq > cursor, scanning from the newest end only."""
    out = []
    for item in reversed(items):
        if item[0] <= cursor:
            break
        out.append(item)
    out.reverse()
    return out


def _pair(values, scale: float) -> str:
    return f"{values[0] / scale:.1f}/{values[1] / scale:.1f}" if values else "-"


def table_rows(stats: dict[str, dict], order: dict[str, str] | None = None) -> dict[str, list]:
    """One row per node; with `order` (node -> process, every node of the run) the rows are always the same
    nodes in the same order, whether or not a process has reported yet (the table never changes shape)."""
    cols: dict[str, list] = {k: [] for k, _ in TABLE_FIELDS}
    nodes = list(order) + [n for n in stats if n not in order] if order else list(stats)
    for node in nodes:
        s = stats.get(node) or {"process": (order or {}).get(node, "")}
        counters = s.get("counters", {})
        xruns = sum(v for k, v in counters.items() if "flow" in k or "xrun" in k)
        row = {
            "node": node,
            "process": s.get("process", ""),
            "rate_in": round(s.get("rate_in", 0.0), 1),
            "rate_out": round(s.get("rate_out", 0.0), 1),
            "drops": s.get("drops", 0),
            "gaps": s.get("gaps", 0),
            "restarts": s.get("restarts", 0),
            "late_ms": round(counters.get("late_us_max", 0) / 1e3, 2),
            "compute": _pair(s.get("compute_ns", []), 1e3),
            "e2e": _pair(s.get("latency_ns", []), 1e6),
            "xruns": xruns,
        }
        for k in cols:
            cols[k].append(row[k])
    return cols


def _graph_figure(info: dict):
    from bokeh.models import ColumnDataSource, LabelSet, Range1d
    from bokeh.plotting import figure

    nodes = info["nodes"]
    depth = {n["id"]: 0 for n in nodes}
    for _ in nodes:  # longest path from a source, enough passes for any DAG
        for e in info["edges"]:
            depth[e["target"]] = max(depth[e["target"]], depth[e["source"]] + 1)
    rows: dict[int, int] = {}
    pos = {}
    for n in nodes:
        d = depth[n["id"]]
        pos[n["id"]] = (d, -rows.get(d, 0))
        rows[d] = rows.get(d, 0) + 1
    processes = sorted({n["process"] for n in nodes})
    colors = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(processes)}
    src = ColumnDataSource(
        {
            "x": [pos[n["id"]][0] for n in nodes],
            "y": [pos[n["id"]][1] for n in nodes],
            "label": [f"{n['id']} ({n['type']}, {n['latency_ms']:.1f} ms)" for n in nodes],
            "process": [n["process"] for n in nodes],
            "color": [colors[n["process"]] for n in nodes],
        }
    )
    fig = figure(
        height=220,
        sizing_mode="stretch_width",
        title="graph (colour = process)",
        toolbar_location=None,
        x_range=Range1d(start=-0.5, end=max(depth.values(), default=0) + 1.5),
        y_range=Range1d(start=-max(rows.values(), default=1), end=1),
    )
    fig.axis.visible = False
    fig.grid.visible = False
    fig.segment(
        [pos[e["source"]][0] for e in info["edges"]],
        [pos[e["source"]][1] for e in info["edges"]],
        [pos[e["target"]][0] for e in info["edges"]],
        [pos[e["target"]][1] for e in info["edges"]],
        line_color="#999999",
        line_width=2,
    )
    fig.scatter("x", "y", source=src, size=18, color="color", legend_field="process")
    fig.add_layout(LabelSet(x="x", y="y", text="label", source=src, x_offset=10, y_offset=5, text_font_size="9pt"))
    fig.legend.location = "bottom_right"
    return fig


class Session:
    """One browser tab: widgets, data sources, a periodic page update from the hub, and the traces on the
    tab's /traces websocket (registered in `sessions` under an unguessable key that only this page knows)."""

    def __init__(self, hub: MonitorHub, doc, sessions: dict[str, Session]):
        from bokeh.layouts import column, row
        from bokeh.models import (
            ColumnDataSource,
            CustomJS,
            DataRange1d,
            DataTable,
            Div,
            LinearColorMapper,
            Range1d,
            Select,
            Slider,
            Spinner,
            TableColumn,
        )
        from bokeh.plotting import figure

        self.hub, self.doc, self.sessions = hub, doc, sessions
        self.key = secrets.token_urlsafe(16)
        sessions[self.key] = self
        self.socket: Any = None  # the page's /traces websocket, once it is open
        self.sending: Any = None  # the future of the last trace message written (leaky: one at a time)
        self.sent = 0  # trace messages sent on the current socket ...
        self.acked = 0  # ... and how many of them the page has acknowledged (drawn)
        self.sent_at = 0.0  # time.monotonic() of the last one sent
        self.held = False  # new frames waited for an acknowledgement: the next message merges them
        self.traces_behind_s = 0.0  # the longest a trace message waited to be drawn, from BEHIND_S (monitor_status)
        # the page's document updates: one in flight (PageAck); ticks skipped while the page had not drawn the last
        # one, and updates made on ACK_TIMEOUT_S without its acknowledgement (a background tab)
        self.ack = page_ack_model()(name="page_ack")
        self.page_sent_at = 0.0
        self.page_skipped = 0
        self.page_behind_s = 0.0  # the longest a document update waited to be drawn, from BEHIND_S (monitor_status)
        self.page_ack_timeouts = 0
        self.page_tick = 0  # the tick of the last update made
        self.reset = True  # the next trace message replaces what the page holds
        self.periodic: Any = None
        self.stream = ""
        self.cursor = 0
        self.marker_cursor = 0
        self.tick = 0
        self.norm: np.ndarray | None = None
        self.unscaled = np.zeros(0, dtype=bool)  # channels not yet scaled (no spread seen)
        self.scales: dict[int, float] = {}
        self.flagged: list[int] = []
        self.title = Div(text="<b>wavegraph monitor</b>: waiting for data", name="status")
        self.select = Select(title="stream", options=[], value="", name="stream_select")
        self.gain = Slider(title="gain", start=0.1, end=10.0, value=1.0, step=0.1)
        self.span = Slider(title="time span (s)", start=1, end=30, value=10, step=1)
        self.channel = Select(title="channel (scale / spectrum)", options=["all"], value="all")
        self.scale = Spinner(title="channel scale", low=0.01, high=100.0, step=0.1, value=1.0)
        self.traces = ColumnDataSource(_empty_groups(), name="traces")
        self.markers = ColumnDataSource({"x": [], "label": [], "y": []}, name="markers")
        self.psd = ColumnDataSource(_empty_groups(), name="psd")
        self.heat = ColumnDataSource({"image": [], "x": [], "dw": [], "dh": []}, name="heatmap")
        self.table = ColumnDataSource({k: [] for k, _ in TABLE_FIELDS}, name="node_table")
        self.fig = figure(
            height=480,
            sizing_mode="stretch_width",
            title="signals",
            name="trace_figure",
            x_range=Range1d(start=0, end=10),  # moved on by TRACES_JS, in the page only
            y_range=Range1d(start=-1, end=1),
            toolbar_location="above",
            tools="xpan,xwheel_zoom,reset",
        )
        self.fig.yaxis.visible = False
        # The page follows the newest samples unless the user pans or zooms, until "reset".
        for event, value in (("panstart", "true"), ("wheel", "true"), ("reset", "false")):
            self.fig.js_on_event(event, CustomJS(args={"r": self.fig.x_range}, code=f"r.wg_hold = {value};"))
        self.fig.segment(x0="x", y0=-1, x1="x", y1="y", source=self.markers, line_color="#ff7f0e", line_width=2)
        self.fig.text(x="x", y="y", text="label", source=self.markers, text_color="#ff7f0e", text_font_size="9pt")
        # One line glyph per colour group (and one for flagged channels): each holds its channels as
        # NaN-separated runs, so an update carries 2 x GROUPS columns instead of one per channel.
        self.lines = [
            self.fig.line(
                f"x{g}",
                f"y{g}",
                source=self.traces,
                line_width=1,
                line_color=FLAG_COLOR if g == FLAGGED else PALETTE[g],
            )
            for g in range(GROUPS)
        ]
        self.n_shown = 0
        self.center: np.ndarray | None = None
        self.last: np.ndarray | None = None  # per channel: the last (t, y) sent, so runs join across updates
        self.rows: deque[tuple[float, int]] = deque()  # (newest time, rows) per update, for the rollover
        self.rows_total = 0  # their sum
        self.capacity = 0  # rows the page keeps (the rollover)
        self.first_t = 0.0  # the oldest time on the page
        self.psd_fig = figure(
            height=240,
            sizing_mode="stretch_width",
            title="power spectrum (dB)",
            x_axis_label="Hz",
            toolbar_location=None,
        )
        for g in range(GROUPS):
            self.psd_fig.line(f"x{g}", f"y{g}", source=self.psd, line_color=FLAG_COLOR if g == FLAGGED else PALETTE[g])
        self.mapper = LinearColorMapper(palette="Viridis256", low=-60, high=0)
        self.heat_fig = figure(
            height=240,
            sizing_mode="stretch_width",
            title="spectrogram / features",
            toolbar_location=None,
            x_range=DataRange1d(range_padding=0),
            y_range=DataRange1d(range_padding=0),
        )
        self.heat_fig.image(image="image", x="x", y=0, dw="dw", dh="dh", source=self.heat, color_mapper=self.mapper)  # pyright: ignore[reportCallIssue]  # Bokeh's generated glyph signature omits color_mapper
        cols = [TableColumn(field=k, title=title) for k, title in TABLE_FIELDS]
        node_table = DataTable(
            source=self.table,
            columns=cols,
            height=220,
            sizing_mode="stretch_width",
            index_position=None,
            name="node_table_widget",
        )
        self.table.js_on_change("streaming", CustomJS(args={"table": node_table}, code=TABLE_REDRAW_JS))
        doc.js_on_event(
            "document_ready",
            CustomJS(
                args={"source": self.traces, "x_range": self.fig.x_range, "key": self.key, "status": self.title},
                code=f"const ENDED = {json.dumps(ENDED)};" + TRACES_JS,
            ),
        )
        acknowledge = CustomJS(args={"ack": self.ack}, code=PAGE_ACK_JS)
        self.ack.js_on_change("sent", acknowledge)
        doc.js_on_event("document_ready", acknowledge)  # an update made before the page had the document
        self.select.on_change("value", lambda attr, old, new: self._switch(new))
        self.span.on_change("value", lambda attr, old, new: self._set_span(new))
        self.channel.on_change("value", lambda attr, old, new: self._show_scale())
        self.scale.on_change("value", lambda attr, old, new: self._set_scale(new))
        self.gain.on_change("value", lambda attr, old, new: self._restack())
        paths = "<br>".join(  # node ids are text, not HTML (a node 'x<y' lost all after its '<')
            html.escape(f"{' → '.join(p['path'])}: {p['latency_ms']:.1f} ms declared")
            for p in hub.graph_info.get("paths", [])
        )
        doc.add_root(
            column(
                self.title,
                row(self.select, self.gain, self.span, self.channel, self.scale),
                self.fig,
                row(self.psd_fig, self.heat_fig, sizing_mode="stretch_width"),
                node_table,
                _graph_figure(hub.graph_info),
                Div(text=f"<b>latency per path</b><br>{paths}"),
                sizing_mode="stretch_width",
            )
        )
        doc.add_root(self.ack)  # not drawn: a model of the document, which the page's script above reads and sets
        doc.title = "wavegraph monitor"
        doc.add_periodic_callback(self.update, PAGE_TICK_MS)
        doc.on_session_destroyed(lambda context: self.close())

    # --- the /traces websocket -----------------------------------------------------------------
    def attach(self, socket) -> None:
        from tornado.ioloop import PeriodicCallback

        self.detach()
        self.socket, self.reset, self.cursor, self.sent, self.acked = socket, True, 0, 0, 0
        self.periodic = PeriodicCallback(self.send_traces, TICK_MS)
        self.periodic.start()

    def detach(self) -> None:
        if self.periodic is not None:
            self.periodic.stop()
        self.socket = self.periodic = self.sending = None

    def acked_message(self, message) -> None:
        """The page's acknowledgement: the count of trace messages it has drawn on this socket."""
        try:
            count = int(message)
        except (TypeError, ValueError):
            return  # not an acknowledgement: ignored
        if self.acked < count <= self.sent:
            self.acked = count

    def close(self) -> None:
        self.detach()
        self.sessions.pop(self.key, None)

    # --- controls ------------------------------------------------------------------------------
    def _switch(self, name: str) -> None:
        self.stream, self.cursor, self.marker_cursor, self.norm, self.center = name, 0, 0, None, None
        self.scales.clear()
        self.markers.data = {"x": [], "label": [], "y": []}
        # the last stream's spectrum and heatmap went on showing under this one's name (a features stream's heatmap
        # below a 250 Hz signal, which has none), until this one had its own
        self.psd.data, self.heat.data = _empty_groups(), {"image": [], "x": [], "dw": [], "dh": []}
        view = self.hub.snapshot(name)
        n = min(len(view.channels), MAX_TRACES) if view else 0
        self.n_shown = n  # Bokeh property reads are slow: the page reads this count 30 times a second
        self.fig.y_range.update(start=-1, end=max(n, 1))
        self._restack()
        self.channel.options = ["all", *(view.channels[:n] if view else [])]
        self.channel.value = "all"
        # Bokeh's Figure.title accepts a str but always holds a Title
        self.fig.title.text = _title(name, view, n)  # pyright: ignore[reportAttributeAccessIssue, reportOptionalMemberAccess]

    def _set_span(self, seconds: float) -> None:
        self._restack()

    def _channel_index(self) -> int | None:
        options = cast(list[str], self.channel.options)  # always the flat list _switch sets
        return options.index(self.channel.value) - 1 if self.channel.value != "all" else None

    def _show_scale(self) -> None:
        i = self._channel_index()
        self.scale.value = self.scales.get(i, 1.0) if i is not None else 1.0

    def _set_scale(self, value: float) -> None:
        i = self._channel_index()
        if i is None:
            return
        self.scales[i] = float(value)
        self._restack()

    def _restack(self) -> None:
        """A new stream, gain or scale applies to what is on screen too: the traces are re-sent from the hub,
        replacing what the page holds."""
        self.cursor, self.reset, self.last, self.rows, self.rows_total, self.capacity = 0, True, None, deque(), 0, 0

    # --- periodic update -----------------------------------------------------------------------
    @without_property_validation  # the arrays are ours and well-formed; validating them costs most of a tick
    def update(self) -> None:
        """Every PAGE_TICK_MS: what is new for the page's Bokeh models. One update in flight: until the page has
        acknowledged (drawn) the previous one, the tick is skipped (counted in `page_skipped`), and the next update
        makes each part whose tick came meanwhile new at once (markers: all that came meanwhile; heatmap, spectrum,
        table: the newest), so a slow page jumps to the newest data instead of applying a growing backlog of patches. A page that does not
        acknowledge within ACK_TIMEOUT_S gets the next update anyway (counted in `page_ack_timeouts`)."""
        self.tick += 1
        if self.ack.applied < self.ack.sent:
            waited = time.monotonic() - self.page_sent_at
            self.page_behind_s = longest_wait(self.page_behind_s, waited, self.ack.applied > 0)
            if waited < ACK_TIMEOUT_S:
                self.page_skipped += 1
                return
            self.page_ack_timeouts += 1
        last, self.page_tick = self.page_tick, self.tick
        due = lambda every: self.tick // every > last // every  # noqa: E731  (its tick came since the last update)
        names = self.hub.stream_names()
        if names != self.select.options:
            self.select.options = [*names]
        if not self.stream and names:  # -> _switch; a signal first (features/events alone leave the traces blank)
            with self.hub.lock:
                signals = [n for n in names if n in self.hub.streams and self.hub.streams[n].kind == "signal"]
            self.select.value = (signals or names)[0]
        view = self.hub.snapshot(self.stream) if self.stream else None
        if view is not None:
            self._markers(view)
            if due(SPECTRUM_TICKS):
                self._spectrum(view)
            if due(HEATMAP_TICKS):
                self._heatmap(view)
        if due(TABLE_TICKS):
            rows = table_rows(self.hub.stats, self.hub.processes)
            self.table.stream(rows, rollover=len(rows["node"]))  # then TABLE_REDRAW_JS redraws the cells
            self.title.text = status_text(
                len(names), self.hub, self.page_skipped, self.page_behind_s, self.traces_behind_s
            )
        self.ack.sent += 1  # last: the page acknowledges it once it has drawn all of this update
        self.page_sent_at = time.monotonic()

    def send_traces(self) -> None:
        """Every TICK_MS: what is new in the selected stream, as one binary message on the page's websocket.
        One message in flight: until the page has acknowledged (drawn) the previous one, nothing is sent, and
        what is new then goes with the next message, merged (counted in the hub's `traces_merged`): a slow page
        jumps to the newest data instead of drawing a growing backlog. A page that does not acknowledge within
        ACK_TIMEOUT_S gets the next message anyway (counted in `traces_ack_timeouts`)."""
        from tornado.websocket import WebSocketClosedError

        if self.socket is None or (self.sending is not None and not self.sending.done()):
            return
        if self.acked < self.sent:
            waited = time.monotonic() - self.sent_at
            self.traces_behind_s = longest_wait(self.traces_behind_s, waited, self.acked > 0)
            if waited < ACK_TIMEOUT_S:
                self.held = True
                return
            with self.hub.lock:
                self.hub.traces_ack_timeouts += 1
            self.acked = self.sent
        view = self.hub.snapshot(self.stream) if self.stream else None
        message = self._traces(view) if view is not None else None
        if message is None and self.reset:  # nothing to show (yet): clear the page
            x, y = np.full((GROUPS, 0), np.nan), np.full((GROUPS, 0), np.nan)
            message, self.reset = trace_message(x, y, 0, True, (0.0, 0.0, self.span.value)), False
        if message is not None:
            try:
                self.sending = self.socket.write_message(message, binary=True)
                self.sent, self.sent_at = self.sent + 1, time.monotonic()
            except WebSocketClosedError:
                self.detach()

    def _traces(self, view) -> bytes | None:
        with self.hub.lock:
            new = _newer(view.traces, self.cursor)
            flagged = list(view.flagged)
        if not new:
            return None
        self.cursor = new[-1][0]
        if self.held:  # frames that waited for the page's acknowledgement, sent with the newest as one update
            self.held = False
            with self.hub.lock:
                self.hub.traces_merged += len(new) - 1
        if self.reset:  # a page being (re)filled needs only the time span it shows
            new = [f for f in new if f[1][-1] > new[-1][1][-1] - self.span.value] or new[-1:]
        n = self.n_shown
        t = np.concatenate([f[1] for f in new])
        y = np.concatenate([f[2][:n] for f in new], axis=1).astype(np.float64)
        fresh = self.norm is None or self.center is None or self.norm.shape[0] != y.shape[0]
        if fresh or self.center is None:
            self.norm, self.unscaled = np.ones(y.shape[0]), np.ones(y.shape[0], dtype=bool)
            self.center = np.nan_to_num(np.median(y, axis=1), nan=0.0, posinf=0.0, neginf=0.0)
        assert self.norm is not None
        if self.unscaled.any():  # scaled once they vary: a stream that began flat (zeros) stayed flat on the page
            rows = np.flatnonzero(self.unscaled)
            spread = np.percentile(y[rows], 99, axis=1) - np.percentile(y[rows], 1, axis=1)
            got = rows[np.isfinite(spread) & (spread > 0)]
            self.norm[got] = spread[np.isin(rows, got)]
            if not fresh:
                self.center[got] = np.nan_to_num(np.median(y[got], axis=1), nan=0.0, posinf=0.0, neginf=0.0)
            self.unscaled[got] = False
        # follows slow drifts, no jumps; the median of what is new, so that a spike (or a value that is not finite)
        # does not move the centre, which once Inf or NaN hid the channel for the rest of the run
        now = np.median(y, axis=1)
        center = self.center = np.where(np.isfinite(now), 0.98 * self.center + 0.02 * now, self.center)
        scale = np.array([self.scales.get(i, 1.0) for i in range(y.shape[0])])
        stacked = (n - 1 - np.arange(y.shape[0]))[:, None] + self.gain.value * scale[:, None] * (
            y - center[:, None]
        ) / self.norm[:, None]
        x, ys = _pack(t, stacked, _colour_groups(range(y.shape[0]), tuple(flagged)), self.last)
        self.last = np.stack([np.full(y.shape[0], t[-1]), stacked[:, -1]])
        span = self.span.value  # once: a Bokeh property read costs microseconds
        self.rows.append((float(t[-1]), x.shape[1]))
        self.rows_total += x.shape[1]
        while self.rows[0][0] <= t[-1] - span:
            self.rows_total -= self.rows.popleft()[1]
        # The page keeps `capacity` rows: enough for the time span, and never fewer than before (BokehJS's
        # rollover of typed arrays keeps a column's length when the rollover shrinks, leaving stale rows).
        self.capacity = max(self.capacity, self.rows_total)
        self.flagged = flagged
        reset, self.reset = self.reset, False
        if reset:
            self.first_t = float(t[0])
        return trace_message(x, ys, self.capacity, reset, (self.first_t, float(t[-1]), span))

    def _markers(self, view) -> None:
        """Markers of every events stream (stimulus markers, decoder decisions) over the traces shown."""
        with self.hub.lock:
            new = sorted(
                (
                    (m[0], m[1], f"{name}: {m[2]}" if name != self.stream else m[2])
                    for name, v in self.hub.streams.items()
                    if v.kind == "events" or name == self.stream
                    for m in _newer(v.markers, self.marker_cursor)
                ),
                key=lambda m: m[0],
            )
        if new:
            self.marker_cursor = max(m[0] for m in new)
            top = max(self.n_shown, 1)
            self.markers.stream(
                {"x": [m[1] for m in new], "label": [m[2] for m in new], "y": [top] * len(new)}, rollover=100
            )

    def _spectrum(self, view) -> None:
        if view.spectrum is None:
            return
        freqs, power = view.spectrum
        i = self._channel_index()
        rows = range(i, i + 1) if i is not None and i < power.shape[0] else range(min(power.shape[0], MAX_TRACES))
        x, y = _pack(freqs, power, _colour_groups(rows, tuple(self.flagged)), None)  # 18 columns, not one per channel
        self.psd.data = {**{f"x{g}": x[g] for g in range(GROUPS)}, **{f"y{g}": y[g] for g in range(GROUPS)}}

    def _heatmap(self, view) -> None:
        with self.hub.lock:
            frames = list(view.frames)[-400:]
        if not frames:
            return
        image = np.stack([f[2] for f in frames], axis=1).astype(np.float32)  # (bins, frames)
        t0, t1 = frames[0][1], frames[-1][1]
        # the colour range of the values there are: one NaN (or Inf) made it NaN, and the whole heatmap blank
        finite = image[np.isfinite(image)]
        if finite.size:
            self.mapper.low, self.mapper.high = float(np.percentile(finite, 5)), float(np.percentile(finite, 99.5))
        self.heat.data = {"image": [image], "x": [t0], "dw": [max(t1 - t0, 1e-3)], "dh": [image.shape[0]]}
