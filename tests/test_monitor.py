"""The live monitor without a browser: decimation, flags, frames, the leaky paths, plots and graph pictures."""

import os
import time

import numpy as np
import pytest
import zmq
from wavegraph.pipeline import monitor as mon
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec


@pytest.fixture
def hub():
    h = mon.MonitorHub()
    mon.set_local_hub(h)
    yield h
    mon.set_local_hub(None)


def _monitor(spec, **params):
    from wavegraph.nodes.io.monitor import Monitor

    node = Monitor(name="s.out", **params)
    node.configure({"in": spec})
    return node


def _feed(node, x, chunk):
    for i in range(0, x.shape[-1], chunk):
        node.process({"in": Chunk(x[..., i : i + chunk], t0=i / node.spec.rate)})
    node.finish()


def test_min_max_decimation_keeps_every_extreme_and_time(hub):
    rate = 1000.0
    x = np.random.default_rng(0).standard_normal((4, 5000))
    x[2, 1234] = 50.0  # a spike must survive decimation
    x[1, :] = np.nan  # a dead channel
    x[3, :] = 1.0  # a flat one
    node = _monitor(signal_spec(rate, ["a", "b", "c", "d"]), points_per_s=200)
    assert node.factor == 10
    _feed(node, x, 37)
    view = hub.snapshot("s.out")
    t = np.concatenate([f[1] for f in view.traces])
    y = np.concatenate([f[2] for f in view.traces], axis=1)
    assert y.shape == (4, 1000) and np.all(np.diff(t) >= 0)
    blocks = x[0].reshape(-1, 10)
    np.testing.assert_allclose(y[0, 0::2], blocks.min(axis=1), rtol=1e-6)
    np.testing.assert_allclose(y[0, 1::2], blocks.max(axis=1), rtol=1e-6)
    assert y[2].max() == pytest.approx(50.0) and abs(t[np.argmax(y[2])] - 1.234) < 0.01
    assert view.flagged == [1, 3]
    freqs, power = view.spectrum
    assert power.shape == (4, len(freqs)) and freqs[-1] == pytest.approx(rate / 2)


def test_spectrum_peaks_at_the_signal_frequency(hub):
    rate = 250.0
    t = np.arange(int(4 * rate)) / rate
    x = np.sin(2 * np.pi * 12.0 * t)[None] + 0.01 * np.random.default_rng(1).standard_normal((1, t.size))
    node = _monitor(signal_spec(rate, ["a"]))
    _feed(node, x, 25)
    node._spectrum()
    freqs, power = hub.snapshot("s.out").spectrum
    assert abs(freqs[np.argmax(power[0])] - 12.0) < 0.6


def test_audio_gets_a_spectrogram_with_stream_times(hub):
    rate = 16000.0
    t = np.arange(int(rate)) / rate
    x = np.sin(2 * np.pi * 1000.0 * t)[None]
    node = _monitor(StreamSpec("signal", rate, (1,), channel_names=("mic",), channel_types=("audio",)))
    _feed(node, x, 160)
    frames = hub.snapshot("s.out").frames
    times = [f[1] for f in frames]
    assert len(frames) == 31 and times == sorted(times) and times[1] - times[0] == pytest.approx(512 / rate)
    peak_bin = np.argmax(frames[10][2])
    assert abs(peak_bin * rate / 512 - 1000.0) < rate / 512


def test_events_become_labelled_markers(hub):
    spec = StreamSpec("events", 0.0, (3,), labels=((1, "left"), (2, "right")))
    node = _monitor(spec)
    node.process({"in": Chunk(np.array([[1.5, 0.0, 1.0], [2.5, 0.0, 2.0], [3.0, 0.0, 7.0]]))})
    assert [(m[1], m[2]) for m in hub.snapshot("s.out").markers] == [(1.5, "left"), (2.5, "right"), (3.0, "7")]


def test_without_a_monitor_the_node_does_nothing():
    node = _monitor(signal_spec(100.0, ["a"]))
    assert not node.publisher.active
    assert node.process({"in": Chunk(np.ones((1, 10)))}) == {}


def test_worker_path_is_leaky_and_bad_frames_are_counted(monkeypatch, tmp_path):
    """Frames cross processes over PUSH/PULL; garbage is dropped and counted, never fatal to the hub."""
    ctx = zmq.Context()
    endpoint = f"ipc://{tmp_path}/m"
    h = mon.MonitorHub()
    h.listen(ctx, endpoint)
    monkeypatch.setenv(mon.ENV_ENDPOINT, endpoint)
    pub = mon.MonitorPublisher()
    raw = ctx.socket(zmq.PUSH)
    raw.connect(endpoint)
    raw.send_multipart([b"not json", b"\x00"])
    raw.send_multipart([b'{"stream": "y", "shape": [5]}', b"\x00" * 8])  # payload of the wrong size
    raw.send_multipart([b'{"stream": "z", "what": "trace", "shape": [1, 2]}', b"\x00" * 8])  # no times
    deadline = time.monotonic() + 30
    while h.snapshot("x") is None and time.monotonic() < deadline:  # frames sent before the connection are dropped
        pub.send({"stream": "x", "what": "trace", "kind": "signal", "rate": 10.0, "t": [0.0, 0.1]}, np.ones((1, 2)))
        time.sleep(0.05)
    while h.frames_bad < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert h.frames_bad == 3 and h.stream_names() == ["x", "z"]  # z's view exists, its bad frame is not in it
    sx, sz = h.snapshot("x"), h.snapshot("z")
    assert sx is not None and sz is not None
    assert len(sx.traces) >= 1 and len(sz.traces) == 0
    h.close()
    raw.close(linger=0)
    pub.close()
    ctx.term()


def test_a_publisher_nobody_reads_drops_and_counts(monkeypatch, tmp_path):
    """The real worker-side socket, connected to an endpoint where nobody reads: sends never block; what does
    not fit is dropped and counted."""
    monkeypatch.setenv(mon.ENV_ENDPOINT, f"ipc://{tmp_path}/nobody")
    pub = mon.MonitorPublisher()
    for _ in range(500):
        pub.send({"stream": "z"}, np.zeros(3))
    assert pub.dropped == 500  # no peer ever connected: every send fails at once
    pub.close()


def test_add_monitor_nodes_taps_every_port_in_its_process(tmp_path):
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph

    g = tmp_path / "g.yaml"
    g.write_text("""\
nodes:
  - {id: src, type: sine, params: {rate: 100.0, channels: 2, duration: 1.0}}
  - {id: lp, type: lowpass, params: {freq: 10.0}}
  - {id: rec, type: recorder, params: {path: out.npz}}
edges:
  - {source: src.out, target: lp.in}
  - {source: lp.out, target: rec.in}
processes:
  a: [src]
  b: [lp, rec]
""")
    config = mon.add_monitor_nodes(load_config(g))
    graph = build_graph(config)
    assert graph.group_of("monitor_src_out") == "a" and graph.group_of("monitor_lp_out") == "b"
    info = mon.graph_info(graph)
    assert [n["id"] for n in info["nodes"]] == ["src", "lp", "rec"]  # the taps are not drawn
    for node in graph.nodes.values():
        node.close()


def test_plot_and_describe_png(tmp_path, edf_path):
    from conftest import wavegraph_cli
    from wavegraph.nodes.io.plot import load

    out = tmp_path / "rec.png"
    # `wavegraph plot`/`describe` in this process (conftest.wavegraph_cli): a new interpreter imported them again
    r = wavegraph_cli("plot", str(edf_path), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 20_000 and out.read_bytes()[:4] == b"\x89PNG"
    rec = load(edf_path)
    assert rec["rate"] == 160.0 and len(rec["names"]) == 64 and len(rec["markers"]) > 0
    r = wavegraph_cli("plot", str(tmp_path / "nope.xyz"))
    assert r.returncode == 2 and "no such recording" in r.stderr
    from pathlib import Path

    png = tmp_path / "graph.png"
    default = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
    # from tmp_path: the graph's recorder path is relative: not the repository's out/, which may hold a run
    r = wavegraph_cli("describe", str(default), "--png", str(png), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_trace_message_carries_each_colour_group_as_joined_nan_separated_runs():
    """The page's trace update: channels by colour (flagged ones apart), each run starting at the channel's
    last point of the previous update (so lines join) and ending in a NaN break; the binary layout TRACES_JS
    reads (float64 header, float64 times, float32 values)."""
    from wavegraph.pipeline.monitor_app import GROUPS, _colour_groups, _pack, trace_message

    t = np.array([1.0, 1.1])
    stacked = np.arange(20, dtype=np.float64).reshape(10, 2)  # channel i: values 2i, 2i + 1
    last = np.stack([np.full(10, 0.9), -np.arange(10.0)])  # previous update ended at t 0.9, value -i
    groups = _colour_groups(range(10), (3,))
    assert groups[0] == [0, 8] and groups[3] == [] and groups[-1] == [3]
    x, y = _pack(t, stacked, groups, last)
    message = trace_message(x, y, 500, True, (0.2, 1.1, 10.0))
    head = np.frombuffer(message, np.float64, 7)
    assert list(head) == [1.0, 500, 8, GROUPS, 0.2, 1.1, 10.0]  # 2 channels x (last, 2 points, NaN) per group
    xs = np.frombuffer(message, np.float64, GROUPS * 8, 56).reshape(GROUPS, 8)
    ys = np.frombuffer(message, np.float32, GROUPS * 8, 56 + 8 * GROUPS * 8).reshape(GROUPS, 8)
    nan = np.nan
    np.testing.assert_array_equal(xs[0], [0.9, 1.0, 1.1, nan, 0.9, 1.0, 1.1, nan])
    np.testing.assert_array_equal(ys[0], [0, 0, 1, nan, -8, 16, 17, nan])
    np.testing.assert_array_equal(ys[-1], [-3, 6, 7, nan, nan, nan, nan, nan])  # the flagged channel, padded
    assert np.isnan(xs[3]).all() and np.isnan(ys[3]).all()  # channel 3's colour holds nothing: it is flagged
    assert len(message) == 56 + GROUPS * 8 * (8 + 4)


def test_a_long_tmpdir_gives_the_multiprocess_monitor_a_socket_that_binds(tmp_path, long_tmpdir):
    """The page's hub listens on an ipc:// socket in a folder of the temp dir; under a TMPDIR too long for
    a unix socket path it goes to /tmp, as the run folder does (before: zmq refused the address)."""
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.endpoints import MAX_IPC_PATH
    from wavegraph.pipeline.graph import build_graph

    g = tmp_path / "g.yaml"
    g.write_text("""\
nodes:
  - {id: src, type: sine, params: {rate: 100.0, channels: 1, duration: 1.0}}
  - {id: rec, type: recorder, params: {path: out.npz}}
edges:
  - {source: src.out, target: rec.in}
processes:
  a: [src]
  b: [rec]
""")
    graph = build_graph(mon.add_monitor_nodes(load_config(g)))
    monitor = mon.LiveMonitor(graph, "127.0.0.1", 0, multiprocess=True)
    try:
        path = os.environ[mon.ENV_ENDPOINT].removeprefix("ipc://")
        assert len(path) <= MAX_IPC_PATH and path.startswith("/tmp/wgmon-") and os.path.exists(path)
    finally:
        monitor.close()
        for node in graph.nodes.values():
            node.close()
    assert not os.path.exists(os.path.dirname(path))  # its folder removed on close


def test_a_hub_that_cannot_bind_raises_and_leaves_its_context_free_to_end(hub):
    """A bind that fails (a folder that does not exist, a port in use) is an error, and the socket made for it
    is closed: before, it stayed open and the run's clean-up hung for ever in the context's term()."""
    import threading

    ctx = zmq.Context()
    with pytest.raises(zmq.ZMQError) as caught:
        hub.listen(ctx, "ipc:///nonexistent-wavegraph-folder/monitor")
    # `caught` keeps the traceback alive, as LiveMonitor's clean-up does while it handles the error
    ended = threading.Thread(target=ctx.term, daemon=True)
    ended.start()
    ended.join(30)  # a hang detector: term() returns at once when no socket is open
    assert not ended.is_alive(), caught.value
