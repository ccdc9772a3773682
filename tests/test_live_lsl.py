"""LSL inlet/outlet against real liblsl outlets and inlets on loopback, and configs/eeg_filter.yaml run
live from the real EEGMMIDB recording published in real time by a pylsl outlet in a thread."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
import pytest  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.nodes.io.lsl_outlet import LslOutlet  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.config import load_config  # noqa: E402
from wavegraph.pipeline.graph import build_graph  # noqa: E402
from wavegraph.pipeline.runner import run_graph  # noqa: E402
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec  # noqa: E402
from wavegraph.pipeline.testing import run_chunked  # noqa: E402


def uname(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # never resolve a stream left over by another test


@pytest.fixture(autouse=True)
def one_stream_per_name(monkeypatch):
    """Each test's streams have names of their own (uname): configure()'s listen for a second stream matching its
    query (AMBIGUITY_WAIT_S, 0.8 s) finds none here and only made each inlet 0.8 s slower (as in
    test_live_attack3.py). The test of two streams under one name puts it back."""
    from wavegraph.nodes.io import lsl

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)


def make_outlet(name, n=3, rate=100.0, fmt=pylsl.cf_double64, labels=None, stype="EEG"):
    info = pylsl.StreamInfo(name, stype, n, rate, fmt, name)
    if labels:
        info.set_channel_labels(labels)
        info.set_channel_types(["eeg"] * n)
        units: list[str | int] = ["V"] * n
        info.set_channel_units(units)
    return pylsl.StreamOutlet(info)


def read_all(node, limit_s=10.0):
    chunks, t_end = [], time.monotonic() + limit_s
    while time.monotonic() < t_end:
        r = node.read()
        if r is None:
            return chunks
        if r:
            chunks.append(r["out"])
    raise AssertionError("the inlet did not end")


def feed(outlet, x, ts, block, pace=True, then_delete=False):
    """Push (samples, channels) x with explicit timestamps, `block` samples at a time, once an inlet
    is connected; optionally in real time."""
    assert outlet.wait_for_consumers(60.0)  # a worker process on a loaded machine can take over 10 s to start
    t_start = time.monotonic()
    for k in range(0, len(x), block):
        if pace:
            wait = t_start + (ts[k] - ts[0]) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        outlet.push_chunk(np.ascontiguousarray(x[k : k + block]), list(ts[k : k + block]))


def test_inlet_spec_data_and_timestamps_are_the_outlets():
    name = uname("inlet")
    outlet = make_outlet(name, 3, 100.0, labels=["Fz", "Cz", "Pz"])
    node = LslInlet(name=name, max_samples=250, chunk_size=40, resolve_timeout=5.0)
    spec = node.configure({})["out"]
    assert spec == StreamSpec("signal", 100.0, (3,), "float64", ("Fz", "Cz", "Pz"), ("eeg",) * 3, "V")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    ts = pylsl.local_clock() + np.arange(300) / 100.0
    th = threading.Thread(target=feed, args=(outlet, x, ts, 25, False))
    th.start()
    chunks = read_all(node)
    th.join()
    data = np.concatenate([c.data for c in chunks], axis=1)
    np.testing.assert_array_equal(data, x[:250].T)  # every sample, bit-exact, trimmed at max_samples
    assert all(c.data.shape[1] <= 40 for c in chunks)
    # t0 is the LSL timestamp of each chunk's first sample; clock_sync on one machine adds ~0 offset.
    starts = np.cumsum([0] + [c.data.shape[1] for c in chunks[:-1]])
    np.testing.assert_allclose([c.t0 for c in chunks], ts[starts], atol=1e-3)
    assert not any(c.gap for c in chunks)
    assert node.counters.get("non_monotonic", 0) == 0 and node.state_dict()["n_samples"] == 250
    assert node.read() is None
    node.close()


def test_state_round_trip_resumes_the_sample_count_and_the_limit():
    name = uname("resume")
    outlet = make_outlet(name, 1, 100.0)
    node = LslInlet(name=name, max_samples=30, chunk_size=40)
    node.configure({})
    node.load_state_dict({"n_samples": 30, "first_ts": 1.0, "last_ts": 1.29})
    assert node.read() is None  # already at max_samples: the stream has ended, nothing is pulled
    state = {k: v for k, v in node.state_dict().items() if k != "saved_config"}  # (and the inlet's params)
    assert state == {"n_samples": 30, "first_ts": 1.0, "last_ts": 1.29}
    node.close()
    del outlet


def test_reset_while_running_keeps_max_samples():
    """on_error: restart calls reset() on the running inlet: the stream must still end at max_samples."""
    name = uname("restart")
    outlet = make_outlet(name, 1, 100.0)
    node = LslInlet(name=name, max_samples=30, chunk_size=10)
    node.configure({})
    x = np.arange(60.0)[:, None]
    th = threading.Thread(target=feed, args=(outlet, x, pylsl.local_clock() + np.arange(60) / 100.0, 10, False))
    th.start()
    first = []
    while sum(c.data.shape[1] for c in first) < 10:
        r = node.read()
        assert r is not None
        if r:
            first.append(r["out"])
    node.reset()
    rest = read_all(node)
    th.join()
    node.close()
    got = np.concatenate([c.data for c in first + rest], axis=1)[0]
    np.testing.assert_array_equal(got, np.arange(30.0))


def test_non_monotonic_timestamps_counted_and_jump_flags_gap():
    name = uname("jitter")
    outlet = make_outlet(name, 1, 50.0, fmt=pylsl.cf_float32)
    node = LslInlet(name=name, max_samples=40, clock_sync=False)
    assert node.configure({})["out"].dtype == "float32"
    ts = pylsl.local_clock() + np.arange(40) / 50.0
    ts[10] = ts[8]  # one step back ...
    ts[25:] += 1.0  # ... and one second missing
    x = np.arange(40, dtype=np.float32)[:, None]
    th = threading.Thread(target=feed, args=(outlet, x, ts, 5, False))
    th.start()
    chunks = read_all(node)
    th.join()
    assert node.counters["non_monotonic"] == 1
    assert node.counters["gaps"] == 1
    flagged = [c for c in chunks if c.gap]
    assert len(flagged) == 1 and flagged[0].t0 == pytest.approx(ts[25], abs=1e-6)
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks], axis=1)[0], x[:, 0])


def test_stream_ends_when_outlet_disappears_and_on_idle_timeout():
    name = uname("lost")
    holder = [make_outlet(name, 2, 100.0)]
    node = LslInlet(name=name)
    node.configure({})
    x = np.arange(100.0).reshape(50, 2)

    def run():
        feed(holder[0], x, pylsl.local_clock() + np.arange(50) / 100.0, 10, False)
        time.sleep(0.3)
        holder.clear()  # the last reference: liblsl destroys the outlet (as when its app exits)

    th = threading.Thread(target=run)
    th.start()
    chunks = read_all(node, 15.0)
    th.join()
    assert node.counters["outlet_lost"] == 1
    got = np.concatenate([c.data for c in chunks], axis=1) if chunks else np.zeros((2, 0))
    np.testing.assert_array_equal(got, x[: got.shape[1]].T)  # what arrived is the stream, in order

    name = uname("idle")
    outlet2 = make_outlet(name, 1, 10.0)  # noqa: F841 — alive but silent
    idle = LslInlet(name=name, idle_timeout=0.3)
    idle.configure({})
    t = time.monotonic()
    assert read_all(idle, 5.0) == []
    assert time.monotonic() - t >= 0.3 and idle.counters["idle_timeout"] == 1


def test_missing_or_ambiguous_stream_error_names_the_query_and_visible_streams(monkeypatch):
    from wavegraph.nodes.io import lsl

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.8)  # the second discovery wave, as in a real run
    visible = uname("visible")
    outlet = make_outlet(visible, 1, 10.0)  # noqa: F841
    twin = pylsl.StreamOutlet(pylsl.StreamInfo(visible, "EEG", 1, 10.0, pylsl.cf_double64, visible + "-2"))  # noqa: F841
    with pytest.raises(SpecError, match=f"2 LSL streams match name='{visible}'"):
        LslInlet(name=visible, resolve_timeout=1.0).configure({})
    with pytest.raises(SpecError) as e:
        LslInlet(name="no-such-stream", type="EEG", resolve_timeout=0.3).configure({})
    msg = str(e.value)
    assert "name='no-such-stream' and type='EEG'" in msg and f"'{visible}'" in msg and "LSLAPICFG" in msg
    with pytest.raises(ValueError, match="needs `name` or `type`"):
        LslInlet()


def test_outlet_publishes_signal_with_channel_description_and_stream_timestamps():
    name = uname("pub")
    spec = signal_spec(200.0, ["C3", "C4"], units="V")
    node = LslOutlet(name=name, timestamps="stream")
    node.configure({"in": spec})
    x = np.arange(2 * 400, dtype=np.float64).reshape(2, 400)
    node.process({"in": Chunk(x[:, :1], t0=1000.0)})  # creates the outlet
    info = pylsl.resolve_byprop("name", name, timeout=5.0)[0]
    inlet = pylsl.StreamInlet(info)
    full = inlet.info(timeout=5.0)
    assert (full.type(), full.channel_count(), full.nominal_srate(), full.channel_format()) == (
        "EEG",
        2,
        200.0,
        pylsl.cf_double64,
    )
    assert full.get_channel_labels() == ["C3", "C4"] and full.get_channel_types() == ["eeg", "eeg"]
    inlet.open_stream(timeout=5.0)
    time.sleep(0.2)
    for k in range(1, 400, 57):
        node.process({"in": Chunk(x[:, k : k + 57], t0=1000.0 + k / 200.0)})
    got, ts = [], []
    while sum(len(g) for g in got) < 399:
        d, t = inlet.pull_chunk(timeout=2.0, max_samples=400, min_samples=1, as_numpy=True)
        assert len(t), "samples did not arrive"
        got.append(d)
        ts.append(t)
    np.testing.assert_array_equal(np.concatenate(got).T, x[:, 1:])
    np.testing.assert_allclose(np.concatenate(ts), 1000.0 + np.arange(1, 400) / 200.0, atol=1e-9)
    node.close()


def test_events_round_trip_as_string_markers():
    name = uname("markers")
    spec = StreamSpec("events", 0.0, (3,), labels=((1, "T1"), (2, "T2")))
    out = LslOutlet(name=name, timestamps="stream")
    out.configure({"in": spec})
    out.process({"in": Chunk(np.array([[5.0, 0.0, 1.0]]), t0=5.0)})  # creates the outlet
    raw = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, timeout=5.0)[0])
    node = LslInlet(name=name, clock_sync=False, max_samples=3)
    got_spec = node.configure({})["out"]
    assert got_spec.kind == "events" and set(got_spec.labels) == {(1, "T1"), (2, "T2")}
    raw.open_stream(timeout=5.0)
    t = pylsl.local_clock()
    events = np.array([[t, 0.0, 2.0], [t + 0.5, 0.0, 1.0], [t + 0.7, 0.0, 7.0]])

    assert not node.read()  # the inlet subscribes on its first read (nothing sent yet): then the events go out
    out.process({"in": Chunk(events, t0=t)})
    chunks = read_all(node)
    rows = np.concatenate([c.data for c in chunks])
    np.testing.assert_allclose(rows, events, atol=1e-9)  # labels mapped back to codes; 7 had no label
    markers, _ = raw.pull_chunk(timeout=2.0, max_samples=3)
    assert markers is not None
    assert [m[0] for m in markers] == ["T2", "T1", "7"]  # what LabRecorder-style tools see
    out.close()


def test_token_decisions_go_out_as_markers_at_frame_times():
    name = uname("decisions")
    out = LslOutlet(name=name, timestamps="stream")
    out.configure({"in": StreamSpec("tokens", 4.0, (), "int64")})
    out.process({"in": Chunk(np.array([9]), t0=0.0)})  # creates the outlet
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, timeout=5.0)[0])
    info = inlet.info(timeout=5.0)
    assert (info.type(), info.nominal_srate(), info.channel_format()) == ("Markers", 0.0, pylsl.cf_string)
    inlet.open_stream(timeout=5.0)
    time.sleep(0.2)
    out.process({"in": Chunk(np.array([3, 1, 4]), t0=100.0)})
    markers, ts = inlet.pull_chunk(timeout=2.0, max_samples=3)
    assert markers is not None
    assert [m[0] for m in markers] == ["3", "1", "4"]
    np.testing.assert_allclose(ts, [100.0, 100.25, 100.5], atol=1e-9)
    out.close()


def test_outlet_rejects_what_lsl_cannot_carry():
    with pytest.raises(SpecError, match="no complex format"):
        LslOutlet(name="x").configure({"in": StreamSpec("features", 10.0, (4,), "complex128")})
    with pytest.raises(SpecError, match="cannot publish"):
        LslOutlet(name="x").configure({"in": StreamSpec("signal", 10.0, (2, 3))})


def publish_edf(seconds):
    """A pylsl outlet for the first `seconds` (plus a little) of the real EEGMMIDB recording."""
    mne = pytest.importorskip("mne")
    from wavegraph.pipeline.datasets import fetch

    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error")
    rate = raw.info["sfreq"]
    n = int(seconds * rate)
    x = raw.get_data()[:, : n + 64].T.copy()  # (samples, channels) in V; a little more than is read
    name = uname("eeg-raw")  # alone even if another run of these tests is on
    info = pylsl.StreamInfo(name, "EEG", x.shape[1], rate, pylsl.cf_double64, name)
    info.set_channel_labels([c.strip(".") for c in raw.ch_names])
    info.set_channel_types(["eeg"] * x.shape[1])
    info.set_channel_units(["V"] * x.shape[1])
    return pylsl.StreamOutlet(info), name, x, n, rate


def offline(graph, x):
    """The graph's DSP nodes, fresh, run once on the whole (channels, samples) signal."""
    spec = graph.specs["src.out"]
    for node_id in ("car", "notch", "bp", "rs"):
        node = type(graph.nodes[node_id])(**graph.nodes[node_id].params.model_dump())
        x = run_chunked(node, x, spec, [x.shape[1]])["out"]
        spec = node.out_specs["out"]
    return x


def test_eeg_filter_config_runs_live_from_real_eeg(tmp_path):
    mne = pytest.importorskip("mne")
    seconds = 2.5
    outlet, raw_name, x, n, rate = publish_edf(seconds)
    filtered_name = uname("eeg-filtered")
    ts = pylsl.local_clock() + 0.5 + np.arange(len(x)) / rate
    rec_path = tmp_path / "filtered_raw.fif"
    config = load_config(
        ROOT / "configs" / "eeg_filter.yaml",
        [
            f"rec.path={rec_path}",
            f"src.max_samples={n}",
            "src.resolve_timeout=5.0",
            f"src.name={raw_name}",
            f"out.name={filtered_name}",
        ],
    )
    graph = build_graph(config)
    assert graph.specs["src.out"].channel_names[:3] == ("Fc5", "Fc3", "Fc1")
    assert graph.specs["rs.out"].rate == 100.0

    published: list = []

    def consume():  # an LSL consumer of the filtered stream, attached while the graph runs
        found = pylsl.resolve_byprop("name", filtered_name, timeout=10.0)
        inlet = pylsl.StreamInlet(found[0], recover=False)
        try:
            while True:
                d, t = inlet.pull_chunk(timeout=3.0, max_samples=512, min_samples=1, as_numpy=True)
                if not len(t):
                    return
                published.append((d, t))
        except pylsl.util.LostError:
            return

    feeder = threading.Thread(target=feed, args=(outlet, x, ts, 16, True))
    consumer = threading.Thread(target=consume)
    feeder.start()
    consumer.start()
    t = time.monotonic()
    result = run_graph(graph, in_process=True)
    wall = time.monotonic() - t
    feeder.join()
    consumer.join()
    assert result.exit_code == 0, result.failure
    assert wall >= 0.8 * seconds  # paced by the real-time outlet, not by the runner

    # Streaming equals offline: the same nodes run on the whole recording give the recorded file.
    rec = mne.io.read_raw_fif(rec_path, preload=True, verbose="error")
    y = offline(graph, x[:n].T)
    assert rec.get_data().shape == y.shape and y.shape[0] == 64 and y.shape[1] >= n * 100 / rate
    np.testing.assert_allclose(rec.get_data(), y, rtol=1e-9, atol=1e-15)
    # The recording sits on the LSL clock (clock_sync adds liblsl's estimated offset, ~0 on one host).
    assert abs(rec.first_samp - ts[0] * 100.0) <= 1.0

    # The LSL outlet published the samples the recorder wrote, stamped on the LSL clock.
    assert published, "the filtered stream was not seen on LSL"
    d = np.concatenate([p[0] for p in published]).T
    stamps = np.concatenate([p[1] for p in published])
    k = int(round((stamps[0] - ts[0]) * 100.0))
    assert d.shape[1] >= 20, f"only {d.shape[1]} of {y.shape[1]} samples seen"  # it attached early
    np.testing.assert_array_equal(d, rec.get_data()[:, k : k + d.shape[1]])  # bit-exact: the same chunks
    np.testing.assert_allclose(stamps, ts[0] + (k + np.arange(d.shape[1])) / 100.0, atol=2e-3)
    np.testing.assert_allclose(np.diff(stamps), 0.01, atol=1e-9)  # one clock, exact sample spacing


def test_eeg_filter_config_multiprocess_acquisition_apart(tmp_path):
    """The inlet in its own process, the DSP in another (ZeroMQ between): the same recording."""
    mne = pytest.importorskip("mne")
    outlet, raw_name, x, n, rate = publish_edf(1.5)
    config_path = tmp_path / "eeg_filter_mp.yaml"
    config_path.write_text(
        (ROOT / "configs" / "eeg_filter.yaml").read_text()
        + "processes:\n  acquisition: [src]\n  dsp: [car, notch, bp, rs, rec, out]\n"
    )
    rec_path = tmp_path / "mp_raw.fif"
    graph = build_graph(
        load_config(
            config_path,
            [f"rec.path={rec_path}", f"src.max_samples={n}", f"src.name={raw_name}", f"out.name={uname('mp-out')}"],
        )
    )
    ts = pylsl.local_clock() + 2.0 + np.arange(len(x)) / rate
    feeder = threading.Thread(target=feed, args=(outlet, x, ts, 16, True))
    feeder.start()
    result = run_graph(graph, in_process=False)
    feeder.join()
    assert result.exit_code == 0, result.failure
    assert result.processes["src"] == "acquisition" and result.processes["rs"] == "dsp"
    rec = mne.io.read_raw_fif(rec_path, preload=True, verbose="error")
    np.testing.assert_allclose(rec.get_data(), offline(graph, x[:n].T), rtol=1e-9, atol=1e-15)


def test_without_lslapicfg_liblsl_prints_no_info_lines():
    """liblsl logs INFO lines ("Loaded default config") on every command unless configured; wavegraph
    gives it a default config that logs errors only."""
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    p = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "devices"], capture_output=True, text=True, timeout=60, env=env
    )
    assert p.returncode == 0 and "LSL streams" in p.stdout
    assert "INFO" not in p.stderr and "Loaded default config" not in p.stderr, p.stderr


def _read_rows(node, n_rows, limit_s=10.0):
    rows, t_end = [], time.monotonic() + limit_s
    while sum(len(r) for r in rows) < n_rows and time.monotonic() < t_end:
        r = node.read()
        if r:
            rows.append(r["out"].data)
    return np.concatenate(rows) if rows else np.zeros((0, 3))


def test_a_one_channel_irregular_numeric_stream_is_read_as_integer_markers():
    """Stimulus programs often send int32 markers: those are events (was a SpecError); a value that is
    no integer is an unknown marker. An irregular numeric stream of several channels stays an error."""
    name = uname("intmarkers")
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_double64, name))
    node = LslInlet(name=name, clock_sync=False, wait=0.2)
    spec = node.configure({})["out"]
    assert (spec.kind, spec.rate, spec.shape) == ("events", 0.0, (3,))
    t = pylsl.local_clock()
    values = [3.0, 2.5, float("nan"), -7.0, 2.0**60, 12.0]

    def push():
        assert outlet.wait_for_consumers(10.0)
        for k, v in enumerate(values):
            outlet.push_sample([v], t + 0.1 * k)

    th = threading.Thread(target=push)
    th.start()
    rows = _read_rows(node, 3)
    th.join()
    node.close()
    np.testing.assert_allclose(rows, [[t, 0.0, 3.0], [t + 0.3, 0.0, -7.0], [t + 0.5, 0.0, 12.0]], atol=1e-9)
    assert node.counters["unknown_marker"] == 3
    wide = uname("irregular")
    keep = pylsl.StreamOutlet(pylsl.StreamInfo(wide, "EEG", 2, pylsl.IRREGULAR_RATE, pylsl.cf_float32, wide))  # noqa: F841
    with pytest.raises(SpecError, match="2 channels and an irregular rate"):
        LslInlet(name=wide, resolve_timeout=2.0).configure({})


def test_string_markers_whose_code_does_not_fit_a_float64_row_are_unknown():
    name = uname("bigcode")
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, name))
    node = LslInlet(name=name, clock_sync=False, wait=0.2)
    node.configure({})

    def push():
        assert outlet.wait_for_consumers(10.0)
        for m in ["99999999999999999999999", "", "1.5", " 4 "]:
            outlet.push_sample([m])

    th = threading.Thread(target=push)
    th.start()
    rows = _read_rows(node, 1)
    th.join()
    node.close()
    assert rows[:, 2].tolist() == [4.0] and node.counters["unknown_marker"] == 3
    with pytest.raises(SpecError, match="must be a signal stream, got events"):
        from wavegraph.nodes.dsp.filters import Bandpass

        Bandpass(l_freq=1.0, h_freq=10.0).configure({"in": node.out_specs["out"]})


def test_outlet_drops_event_rows_without_a_finite_time_or_code():
    """A NaN onset went out as a NaN LSL time stamp, a NaN or 1e30 code as the marker
    "-9223372036854775808"; now dropped and counted bad_marker."""
    name = uname("badrows")
    out = LslOutlet(name=name, timestamps="stream")
    out.configure({"in": StreamSpec("events", 0.0, (3,), labels=((1, "T1"),))})
    out.process({"in": Chunk(np.array([[5.0, 0.0, 1.0]]), t0=5.0)})  # creates the outlet
    raw = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, timeout=5.0)[0])
    raw.open_stream(timeout=5.0)
    time.sleep(0.3)
    rows = np.array([[np.nan, 0.0, 1.0], [6.0, 0.0, np.nan], [7.0, 0.0, 1e30], [8.0, 0.0, 1.0], [9.0, 0.0, 2.0]])
    out.process({"in": Chunk(rows, t0=6.0)})
    markers, ts = raw.pull_chunk(timeout=2.0, max_samples=10)
    assert markers is not None
    assert [m[0] for m in markers] == ["T1", "2"] and list(ts) == [8.0, 9.0]
    assert out.counters["bad_marker"] == 3
    out.close()


def test_with_recover_a_stream_that_drops_out_and_comes_back_goes_on_after_a_gap():
    """An outlet that goes away and comes back (same source id: an amplifier that reconnects): without
    `recover` the stream ends (outlet_lost, above); with it the inlet waits, takes the samples that
    follow and flags them as a gap."""
    name = uname("recover")
    holder = [make_outlet(name, 2, 100.0)]
    node = LslInlet(name=name, recover=True, max_samples=40, idle_timeout=15.0, clock_sync=False)
    node.configure({})

    def run():
        x = np.arange(40.0).reshape(20, 2)
        feed(holder[0], x, pylsl.local_clock() + np.arange(20) / 100.0, 10, False)
        time.sleep(0.3)
        holder.clear()  # the outlet goes away ...
        time.sleep(0.6)
        holder.append(make_outlet(name, 2, 100.0))  # ... and comes back
        feed(holder[0], x + 100.0, pylsl.local_clock() + np.arange(20) / 100.0, 10, False)

    th = threading.Thread(target=run)
    th.start()
    chunks = read_all(node, 20.0)
    th.join()
    got = np.concatenate([c.data for c in chunks], axis=1)
    np.testing.assert_array_equal(got[0], np.r_[np.arange(0.0, 40.0, 2.0), np.arange(100.0, 140.0, 2.0)])
    assert [c.gap for c in chunks].count(True) == 1 and chunks[0].gap is False
    assert "outlet_lost" not in node.counters and "idle_timeout" not in node.counters


@pytest.mark.parametrize("field", ["duration", "marker_duration", "rate"])
def test_inlet_refuses_non_finite_durations_and_rates(field):
    # duration inf raised OverflowError in configure(); marker_duration inf reached a recorder, which
    # could not write the annotation; rate inf made a declared spec no signal node can take
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="finite number"):
        LslInlet(name="x", **{field: float("inf")})
