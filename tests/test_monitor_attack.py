"""What a user sees while and after a run, under hostile inputs: the live monitor's page (values that are not
finite, many channels, a page left open after the run), the status line and the end-of-run summary."""

import numpy as np
import pytest
from wavegraph.pipeline import monitor as mon
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

pytest.importorskip("bokeh")


@pytest.fixture
def hub():
    h = mon.MonitorHub()
    mon.set_local_hub(h)
    yield h
    mon.set_local_hub(None)


def _tap(spec):
    from wavegraph.nodes.io.monitor import Monitor

    node = Monitor(name="s.out")
    node.configure({"in": spec})
    return node


def _page(hub, stream="s.out"):
    from bokeh.document import Document
    from wavegraph.pipeline.monitor_app import Session

    session = Session(hub, Document(), {})
    session._switch(stream)
    return session


def _drawn(message: bytes) -> np.ndarray:
    """The y columns of one /traces message, (groups, rows)."""
    head = np.frombuffer(message[:56])
    rows, groups = int(head[2]), int(head[3])
    return np.frombuffer(message[56 + 8 * groups * rows :], dtype=np.float32).reshape(groups, rows)


def test_an_inf_sample_does_not_hide_its_channel_on_the_page(hub):
    # One +Inf (then a -Inf and a value float32 cannot hold) in channel b: the page drew none of b's points, before
    # or after it, for the rest of the run (its running centre became Inf); its frames carried Inf to the page.
    rate, n = 100.0, 1000
    x = np.vstack([np.sin(np.arange(n) / 5.0), np.cos(np.arange(n) / 5.0)])
    x[1, 300], x[1, 301], x[1, 302] = np.inf, -np.inf, 1e300
    tap = _tap(signal_spec(rate, ["a", "b"]))
    drawn, page = [], None
    for i in range(0, n, 10):
        tap.process({"in": Chunk(x[:, i : i + 10], t0=i / rate)})
        tap._flush(float(i), final=False)  # as the 30 per second flushes do
        page = page or _page(hub)  # a page opened once the stream is there
        if i % 100 == 90:  # the page reads about every 33 ms
            message = page._traces(hub.snapshot("s.out"))
            if message is not None:
                drawn.append(_drawn(message))
    tap.finish()
    view = hub.snapshot("s.out")
    assert all(np.isfinite(y).all() for _, _, y in view.traces), "the tap sent values that are not finite"
    # colour groups: channel a is PALETTE[0] (group 0), b group 1, or the red group while it held the Inf
    a_points = sum(int(np.isfinite(d[0]).sum()) for d in drawn)
    b_points = sum(int(np.isfinite(d[1]).sum() + np.isfinite(d[-1]).sum()) for d in drawn)
    assert a_points > 0 and b_points >= a_points, (a_points, b_points)
    last = drawn[-1]
    assert np.isfinite(last[1]).sum() > 0, "channel b still hidden at the end of the run"
    # b is drawn in its own row (stacked: a around 1, b around 0), not off the screen
    b_last = last[1][np.isfinite(last[1])]
    assert np.all(np.abs(b_last) < 1.0), b_last


ENDLESS = """
name: endless
nodes:
  - {id: src, type: eeg_sim, params: {duration: null, chunk_size: 25, channels: 4}}
  - {id: car, type: car}
  - {id: rec, type: null_sink}
edges:
  - {source: src.out, target: car.in}
  - {source: car.out, target: rec.in}
processes:
  a: [src]
  b: [car, rec]
"""


def _stats(chunks: dict[str, tuple[int, int]]) -> dict[str, dict]:
    return {n: {"chunks_in": i, "chunks_out": o, "drops": 0, "gaps": 0, "counters": {}} for n, (i, o) in chunks.items()}


def test_the_status_line_counts_the_graphs_sinks_not_the_monitors_taps(tmp_path):
    # `wavegraph run endless.yaml --monitor`: the status line said "sources 14.0 chunks/s  sinks 37.0 chunks/s",
    # the taps on src.out and car.out counted as sinks beside rec (every chunk is seen there three times).
    import io

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.status import StatusLine

    (tmp_path / "endless.yaml").write_text(ENDLESS)
    graph = build_graph(mon.add_monitor_nodes(load_config(str(tmp_path / "endless.yaml"))))
    taps = [n for n in graph.order if graph.node_config(n).type == "monitor"]
    assert len(taps) == 2
    out = io.StringIO()
    line = StatusLine(out, every_s=0.0, graph=graph)
    for k in (1, 2):  # the rates are differences between two reports; sources and sinks over the same time
        line(
            _stats({"src": (0, 50 * k), "car": (50 * k, 50 * k), "rec": (50 * k, 0), **{t: (50 * k, 0) for t in taps}})
        )
    last = out.getvalue().splitlines()[-1]
    source_rate = float(last.split("sources")[1].split("chunks/s")[0])
    sink_rate = float(last.split("sinks")[1].split("chunks/s")[0])
    assert source_rate > 0 and sink_rate == source_rate, last


def test_the_summary_keeps_each_figure_under_its_heading_whatever_the_names():
    # --monitor names its taps monitor_<node>_<port> (monitor_notch_out: 17 characters) and a node may be named
    # in any script: the fixed 16-character node column (10 for the process, 12 in the hosts table) moved every
    # figure of such a row right, under the next heading; a wide (CJK) name took twice the columns it was given.
    import unicodedata

    from wavegraph.pipeline.placement import format_hosts
    from wavegraph.pipeline.summary import format_summary

    def columns(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    row = {"chunks_in": 611, "chunks_out": 610, "drops": 0, "gaps": 0, "restarts": 0, "counters": {}}
    row |= {"compute_ns": [5300.0, 37400.0], "latency_ns": [1.1e7, 1.9e7]}
    names = ["src", "monitor_notch_out", "フィルター", "источник_сигнала_очень_длинное_имя"]
    processes = {
        "src": "acquisition",
        "monitor_notch_out": "dsp",
        "フィルター": "処理",
        names[3]: "a_long_process_name",
    }
    table = format_summary({n: dict(row) for n in names}, processes).splitlines()
    end = columns(table[0][: table[0].index("  counters")])  # the e2e column, right-aligned, ends here
    assert [columns(line.rstrip()) for line in table[2:]] == [end] * len(names), "\n".join(table)
    hosts = format_hosts({"clocks": {p: {"offset_ms": 0.01, "uncertainty_ms": 0.05} for p in processes.values()}})
    hosts_lines = hosts.splitlines()
    assert {columns(line) for line in hosts_lines} == {columns(hosts_lines[0])}, hosts


def test_a_page_left_open_says_when_its_run_has_ended():
    # The run ended (its monitor's server stopped): a page left open went on showing the last rates, streams and
    # frame counts as a running graph's, with nothing to say they were stale; in a process that lives on (a
    # notebook) even its connections stayed open. It now says it is disconnected and since when.
    import os
    import shutil
    import time

    from conftest import need

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    need(chromium and driver_path, "Debian's chromium and chromium-driver are not installed (scripts/system_deps.sh)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from wavegraph.pipeline.monitor_server import start_server

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
        opts.add_argument(arg)
    opts.add_argument("--disable-background-networking")
    browser = webdriver.Chrome(service=Service(driver_path), options=opts)
    hub = mon.MonitorHub()
    url, stop = start_server(hub)
    stopped = False
    drawn = """const d = (window.Bokeh && Bokeh.documents.length) ? Bokeh.documents[0] : null;
        const m = d && d.get_model_by_name('status'); const v = m && Bokeh.index.find_one(m);
        return v ? (v.shadow_el || v.el).textContent.split("}").pop() : null;"""

    def wait(condition, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = browser.execute_script(drawn)
            if text and condition(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"the page shows: {browser.execute_script(drawn)!r}")

    try:
        browser.set_page_load_timeout(30)
        browser.get(url)
        wait(lambda text: "0 streams" in text)  # the page is live (its table and title are updated)
        stop()
        stopped = True
        text = wait(lambda text: "disconnected" in text)
        assert "the run has ended" in text and "no longer updated" in text, text
    finally:
        if not stopped:
            stop()
        browser.quit()
        os.environ.pop("WAVEGRAPH_MONITOR", None)


def test_a_stream_of_more_channels_than_the_page_draws_says_which_are_shown(hub):
    # 300 channels: the page drew the first 64 (the tap sends the first 128) under the title "s.out (signal,
    # 100 Hz)", nothing saying that 236 channels were left out, nor which.
    names = [f"ch_{i:03d}_électrode" for i in range(300)]
    tap = _tap(signal_spec(100.0, names))
    x = np.random.default_rng(0).standard_normal((300, 100))
    for i in range(0, 100, 10):
        tap.process({"in": Chunk(x[:, i : i + 10], t0=i / 100.0)})
    tap.finish()
    page = _page(hub)
    title = str(getattr(page.fig.title, "text", ""))
    assert "1-64 of 300" in title, title
    assert list(page.channel.options)[1:] == names[:64]
    small = mon.MonitorHub()  # a stream the page draws whole keeps its plain title
    mon.set_local_hub(small)
    tap = _tap(signal_spec(100.0, names[:3]))
    tap.process({"in": Chunk(x[:3, :10], t0=0.0)})
    tap.finish()
    assert getattr(_page(small).fig.title, "text", "") == "s.out (signal, 100 Hz)"


def test_a_nan_in_a_feature_stream_does_not_blank_the_heatmap(hub):
    # One NaN (or Inf) among 400 feature frames made the heatmap's colour range NaN (np.percentile of all values):
    # the page drew the whole heatmap blank for as long as that frame was among the last 400.
    from wavegraph.pipeline.spec import StreamSpec

    x = np.random.default_rng(0).standard_normal((50, 8))
    x[5, 3], x[7, 2] = np.nan, np.inf
    tap = _tap(StreamSpec("features", 10.0, (8,), "float32"))
    for i in range(0, 50, 5):
        tap.process({"in": Chunk(x[i : i + 5], t0=i / 10.0)})
    tap.finish()
    page = _page(hub)
    page._heatmap(hub.snapshot("s.out"))
    finite = x[np.isfinite(x)]
    assert page.mapper.low == pytest.approx(np.percentile(finite, 5), rel=1e-5)
    assert page.mapper.high == pytest.approx(np.percentile(finite, 99.5), rel=1e-5)


def test_the_graph_picture_labels_each_of_two_edges_between_the_same_nodes(tmp_path, monkeypatch):
    # describe --png of configs/bci_ssvep_replay.yaml (eeg.out -> rec.in and eeg.events -> rec.events) drew the two
    # edges' specs at one spot, one over the other ("evgnts 64@ 256 Hz"), and nothing said there were two.
    from matplotlib.axes import Axes
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.graph_png import draw_graph

    (tmp_path / "g.yaml").write_text(
        "name: g\nnodes:\n"
        "  - {id: s, type: sine, params: {rate: 100, duration: 1, channels: 2}}\n"
        "  - {id: j, type: join}\n  - {id: k, type: null_sink}\n"
        "edges:\n  - {source: s.out, target: j.a}\n  - {source: s.out, target: j.b}\n  - {source: j.out, target: k.in}\n"
    )
    graph = build_graph(load_config(str(tmp_path / "g.yaml")))
    drawn: list[tuple[float, float, str]] = []
    text = Axes.text

    def record(self, x, y, s, *args, **kwargs):
        drawn.append((round(float(x), 3), round(float(y), 3), str(s)))
        return text(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(Axes, "text", record)
    draw_graph(graph, tmp_path / "g.png")
    labels = [d for d in drawn if " @ " in d[2]]  # the edges' labels (a spec is "kind shape @ rate")
    assert len({(x, y) for x, y, _ in labels}) == len(labels), labels  # no two labels at one spot
    spec = f"signal 2 @ {graph.specs['s.out'].rate:g} Hz"
    assert sorted(t for _, _, t in labels) == [f"out → a: {spec}", f"out → b: {spec}", "signal 4 @ 100 Hz"], labels


def test_rates_of_a_steady_worker_are_steady_on_the_status_line_and_the_page(monkeypatch):
    # A worker reports its counts every 0.5 s and the status line reads them once a second: what it read held
    # one, two or three reports' worth, and a steady 10 chunks/s showed "5.7 chunks/s", then "10.5" (the page's
    # rates, over 2 s, swung the same way). Each count now goes with the time of its report ("at").
    import io

    from wavegraph.pipeline import status
    from wavegraph.pipeline.monitor import MonitorHub

    clock = [1000.0]
    monkeypatch.setattr(status.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    line = status.StatusLine(out, every_s=1.0)
    page = MonitorHub()
    page_rates = []
    jitter = np.random.default_rng(1).uniform(0.0, 0.45, 40)
    for j in range(40):  # the observer about every 0.5 s (the parent's loop), the reports every 0.5 s exactly
        clock[0] = 1000.0 + 0.5 * j + jitter[j]
        k = int((clock[0] - 1000.0) / 0.5)  # the latest report: at 1000 + 0.5 k, 10 chunks/s since 1000
        at = 1000.0 + 0.5 * k
        stats = {
            "src": {"chunks_in": 0, "chunks_out": 5 * k, "drops": 0, "gaps": 0, "counters": {}, "at": at},
            "sink": {"chunks_in": 5 * k, "chunks_out": 0, "drops": 0, "gaps": 0, "counters": {}, "at": at},
        }
        line(stats)
        page.update_stats(stats, {})
        if j >= 6:
            page_rates.append(page.stats["src"]["rate_out"])
    lines = out.getvalue().splitlines()[3:]  # after the first seconds
    rates = [float(x.split("sources")[1].split("chunks/s")[0]) for x in lines]
    assert rates and all(r == 10.0 for r in rates), lines
    assert page_rates == pytest.approx([10.0] * len(page_rates)), page_rates


def test_the_page_opens_on_a_signal_when_a_features_stream_sorts_first(hub):
    # --monitor on configs/eeg_tokens.yaml: its streams sort as enc.out (features), hp.out, ... and the page opened
    # on enc.out, its trace plot blank (features go to the heatmap) though the graph has signals to show.
    from bokeh.document import Document
    from wavegraph.pipeline.monitor_app import Session
    from wavegraph.pipeline.spec import StreamSpec

    feats = _tap(StreamSpec("features", 2.0, (8,), "float32"))
    feats.header["stream"] = "enc.out"
    feats.process({"in": Chunk(np.ones((4, 8)), t0=0.0)})
    sig = _tap(signal_spec(160.0, ["C3", "C4"]))
    sig.header["stream"] = "hp.out"
    sig.process({"in": Chunk(np.ones((2, 16)), t0=0.0)})
    sig.finish()
    page = Session(hub, Document(), {})
    page.update()
    assert page.select.value == "hp.out" and page.stream == "hp.out" and page.n_shown == 2


def test_the_graph_pictures_legend_lies_over_no_node(tmp_path, monkeypatch):
    # describe --png of configs/default.yaml (five nodes in a row, three processes): the legend at the upper right
    # lay over the last node's box (rec), its name and its type hidden under "process dsp / process storage".
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.graph_png import draw_graph

    nodes = "".join(
        f"  - {{id: {n}, type: {t}}}\n" for n, t in (("car", "car"), ("notch", "gain"), ("rec", "null_sink"))
    )
    (tmp_path / "g.yaml").write_text(
        "name: default\nnodes:\n  - {id: src, type: sine, params: {rate: 160, duration: 1, channels: 4}}\n"
        + nodes
        + "edges:\n  - {source: src.out, target: car.in}\n  - {source: car.out, target: notch.in}\n"
        "  - {source: notch.out, target: rec.in}\nprocesses:\n  acquisition: [src]\n  dsp: [car, notch]\n  storage: [rec]\n"
    )
    kept = []
    monkeypatch.setattr(plt, "close", kept.append)  # the figure, to measure what it drew
    draw_graph(build_graph(load_config(str(tmp_path / "g.yaml"))), tmp_path / "g.png")
    (fig,) = kept
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 4
    assert not any(legend.overlaps(b) for b in boxes), (legend, boxes)
    plt.close(fig)


def test_node_ids_are_shown_as_text_in_the_pages_path_latencies():
    # A node id is any text: 'x<y' (or '<i>src</i>') went into the page's "latency per path" as HTML, so the
    # browser swallowed everything after its '<' (or drew the id in italics, its tags gone).
    from bokeh.document import Document
    from bokeh.models import Div
    from wavegraph.pipeline.monitor_app import Session

    hub = mon.MonitorHub({"nodes": [], "edges": [], "paths": [{"path": ["x<y", "a&b"], "latency_ms": 12.5}]})
    doc = Document()
    Session(hub, doc, {})
    texts = [str(getattr(d, "text", "")) for root in doc.roots for d in root.select({"type": Div})]
    (paths,) = [t for t in texts if "latency per path" in t]
    assert "x&lt;y → a&amp;b: 12.5 ms declared" in paths, paths


def test_what_the_monitors_taps_drop_is_not_said_as_the_graphs_drops(tmp_path):
    # --monitor's taps take their copy through drop_oldest edges: when the page's process fell behind, the status
    # line said "drops 7  gaps 7" though every chunk of the graph arrived; they are now said as monitor drops.
    import io

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.status import StatusLine

    (tmp_path / "endless.yaml").write_text(ENDLESS)
    graph = build_graph(mon.add_monitor_nodes(load_config(str(tmp_path / "endless.yaml"))))
    stats = _stats({"src": (0, 50), "car": (50, 50), "rec": (50, 0), "monitor_src_out": (43, 0)})
    stats["monitor_src_out"].update(drops=7, gaps=7)
    out = io.StringIO()
    StatusLine(out, every_s=0.0, graph=graph)(stats)
    line = out.getvalue()
    assert "drops 0  gaps 0" in line and "monitor drops 7" in line, line


def test_a_flat_channel_does_not_squeeze_the_other_spectra(hub):
    # A flat channel (a loose electrode: zeros) had a power of 1e-30, -300 dB, in the page's spectrum, while EEG in
    # volts sits near -120 dB: the plot spanned 180 dB more than the signals, their spectra a strip at its top.
    rate, n = 160.0, 800
    t = np.arange(n) / rate
    x = np.vstack([20e-6 * np.sin(2 * np.pi * 10 * t), np.zeros(n), 5e-6 * np.cos(2 * np.pi * 20 * t)])
    tap = _tap(signal_spec(rate, ["C3", "Cz", "C4"]))
    for i in range(0, n, 16):
        tap.process({"in": Chunk(x[:, i : i + 16], t0=i / rate)})
    tap.finish()
    freqs, power = hub.snapshot("s.out").spectrum
    strongest = power.max()
    assert power[1].max() >= strongest - 120.5, (power[1].max(), strongest)  # the flat one, at the floor
    peak = power[0][np.argmin(np.abs(freqs - 10))]
    assert peak == pytest.approx(strongest)  # the signals' own spectra are as they were
    assert power[2][np.argmin(np.abs(freqs - 20))] == pytest.approx(strongest - 20 * np.log10(4), abs=0.5)


def test_a_stream_that_begins_flat_is_drawn_to_scale_once_it_varies(hub):
    # The page took each channel's scale once, from the first samples it drew: a stream that began with zeros (an
    # amplifier before it streams, a recording padded at its start) got a scale of 1 (volts for EEG), and its
    # 20 µV signal was then drawn as a flat line for the rest of the run.
    rate = 160.0
    t = np.arange(int(4 * rate)) / rate
    x = np.vstack([20e-6 * np.sin(2 * np.pi * 10 * t), 10e-6 * np.cos(2 * np.pi * 7 * t)])
    x[:, : int(rate)] = 0.0  # the first second flat
    tap = _tap(signal_spec(rate, ["C3", "C4"]))
    page, last = None, None
    for i in range(0, x.shape[1], 16):
        tap.process({"in": Chunk(x[:, i : i + 16], t0=i / rate)})
        tap._flush(float(i), final=False)
        page = page or _page(hub)
        message = page._traces(hub.snapshot("s.out"))
        last = message if message is not None else last
    assert last is not None
    drawn = _drawn(last)  # C3 is colour group 0 around row 1, C4 group 1 around row 0
    c3, c4 = drawn[0][np.isfinite(drawn[0])], drawn[1][np.isfinite(drawn[1])]
    assert np.ptp(c3) > 0.5 and np.ptp(c4) > 0.5, (np.ptp(c3), np.ptp(c4))
    assert np.all(np.abs(c3 - 1.0) < 1.0) and np.all(np.abs(c4) < 1.0)  # each in its own row


def test_two_unnamed_monitor_nodes_are_two_streams_on_the_page(tmp_path, hub):
    # A graph's own monitor nodes without `name` all published as the stream "monitor": the raw 4-channel signal
    # and its 2-channel average were one stream on the page, their frames interleaved (channel lists swapped).
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    (tmp_path / "g.yaml").write_text(
        "name: g\nnodes:\n  - {id: s, type: sine, params: {rate: 100, duration: 1, channels: 4}}\n"
        "  - {id: pick, type: pick_channels, params: {pick: [0, 1]}}\n"
        "  - {id: scope_raw, type: monitor}\n  - {id: scope_pick, type: monitor}\n"
        "edges:\n  - {source: s.out, target: pick.in}\n  - {source: s.out, target: scope_raw.in}\n"
        "  - {source: pick.out, target: scope_pick.in}\n"
    )
    result = run_graph(build_graph(load_config(str(tmp_path / "g.yaml"))), in_process=True)
    assert result.failure is None
    assert hub.stream_names() == ["scope_pick", "scope_raw"]
    assert len(hub.snapshot("scope_raw").channels) == 4 and len(hub.snapshot("scope_pick").channels) == 2
    for name in ("scope_raw", "scope_pick"):
        t = np.concatenate([f[1] for f in hub.snapshot(name).traces])
        assert np.all(np.diff(t) >= 0) and t[-1] > 0.9, name  # one stream's times, in order, to its end


def test_two_monitor_nodes_of_one_name_are_refused_with_the_names_to_give(tmp_path, capsys):
    # Two monitor nodes named alike (a copied scope) published one stream on the page, their frames interleaved;
    # the run went on as if nothing were wrong. It now stops before it starts, naming the nodes, line and fix.
    from wavegraph.pipeline.cli import main

    (tmp_path / "dup.yaml").write_text(
        "name: dup\nnodes:\n  - {id: s, type: sine, params: {rate: 100, duration: 0.2, channels: 2}}\n"
        "  - {id: scope1, type: monitor, params: {name: eeg}}\n  - {id: scope2, type: monitor, params: {name: eeg}}\n"
        "edges:\n  - {source: s.out, target: scope1.in}\n  - {source: s.out, target: scope2.in}\n"
    )
    rc = main(["run", str(tmp_path / "dup.yaml"), "--in-process", "--monitor-port", "0", "--no-status"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "dup.yaml:5: monitor nodes 'scope1', 'scope2' all show the stream 'eeg'" in err, err
    assert "fix: give each its own name, e.g. params: {name: scope2}" in err, err
