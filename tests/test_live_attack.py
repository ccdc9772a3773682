"""Live streams as a new user's set-up brings them (an MNE-LSL, Timeflux or ezmsg lab: two amplifiers of one
model, an app that publishes at rate 0, a clock that is reset, an amplifier app restarted with other
settings), on real liblsl over loopback: each is read right or ends with an error naming the node and the
fix. Each test failed before its fix."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
import pytest  # noqa: E402
from test_live_lsl import one_stream_per_name  # noqa: E402, F401  # pyright: ignore[reportMissingImports]
from test_live_lsl import read_all as read_chunks  # noqa: E402  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.pipeline.spec import SpecError  # noqa: E402

try:  # imported here: it takes 2 s, which the test that uses it would otherwise count
    import mne_lsl.lsl as mne_lsl_lsl  # pyright: ignore[reportMissingImports]
    from mne_lsl.player import PlayerLSL  # pyright: ignore[reportMissingImports]
except ImportError:
    PlayerLSL = mne_lsl_lsl = None


def uname(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def outlet(name, n=2, rate=100.0, fmt=pylsl.cf_float32, stype="EEG", source_id=None):
    return pylsl.StreamOutlet(pylsl.StreamInfo(name, stype, n, rate, fmt, source_id or name))


def push_when_connected(out, x, ts):
    def run():
        assert out.wait_for_consumers(10.0)
        out.push_chunk(np.ascontiguousarray(x), list(ts))

    th = threading.Thread(target=run)
    th.start()
    return th


def test_two_amplifiers_of_one_name_and_type_are_told_apart_by_source_id(monkeypatch):
    """Before: "2 LSL streams match name=...; fix: give a `name` (and `type`) that only one stream has" (both
    share them: two amplifiers of one model) and the listing did not show the source ids; `source_id` was
    refused as an unknown param."""
    from wavegraph.nodes.io import lsl

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.8)  # the second discovery wave, as in a real run
    name = uname("amp")
    a, b = outlet(name, 2, source_id=f"{name}-SN1"), outlet(name, 3, source_id=f"{name}-SN2")  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, type="EEG", resolve_timeout=2.0).configure({})
    assert f"source_id {name}-SN1" in e.value.message and f"source_id {name}-SN2" in e.value.message
    assert "source_id: " in e.value.hint
    spec = LslInlet(name=name, source_id=f"{name}-SN2", resolve_timeout=2.0).configure({})["out"]
    assert spec.shape == (3,)


def test_a_signal_stream_published_at_rate_0_is_taken_at_the_declared_rate():
    """Timeflux's lsl Send publishes rate 0 (irregular) unless told otherwise. Before: a multi-channel one was
    refused with no way out ("consume regular-rate signal streams"), and a one-channel EEG stream was read as
    integer markers: every sample dropped as an unknown marker."""
    name = uname("timeflux")
    out = outlet(name, 4, pylsl.IRREGULAR_RATE)
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, resolve_timeout=2.0).configure({})
    assert "irregular rate (nominal_srate 0)" in e.value.message and "`rate: 250`" in e.value.hint
    node = LslInlet(name=name, rate=250.0, max_samples=100, clock_sync=False, resolve_timeout=2.0)
    spec = node.configure({})["out"]
    assert (spec.kind, spec.rate, spec.shape) == ("signal", 250.0, (4,))
    x = np.random.default_rng(0).standard_normal((100, 4)).astype(np.float32)
    ts = pylsl.local_clock() + np.arange(100) / 250.0
    th = push_when_connected(out, x, ts)
    chunks = read_chunks(node)
    th.join()
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks], axis=1), x.T)
    assert abs(chunks[0].t0 - ts[0]) < 1e-3 and not any(c.gap for c in chunks)
    one = uname("timeflux1")
    keep = outlet(one, 1, pylsl.IRREGULAR_RATE, stype="EEG")  # noqa: F841
    with pytest.raises(SpecError, match="1 channels and an irregular rate"):
        LslInlet(name=one, resolve_timeout=2.0).configure({})
    assert LslInlet(name=one, rate=250.0, resolve_timeout=2.0).configure({})["out"].kind == "signal"


def test_streams_of_a_format_that_does_not_fit_their_content_say_what_to_send():
    """A stimulus program's (code, value) pairs; an EEG app that publishes its 8 channels as strings. Before:
    "consume regular-rate signal streams"; "marker streams must have one channel" (nothing on the format)."""
    codes = uname("codes")
    keep = outlet(codes, 2, pylsl.IRREGULAR_RATE, pylsl.cf_int32, stype="Markers")  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=codes, resolve_timeout=2.0).configure({})
    assert "a marker stream has one channel" in e.value.hint and "rate:" not in e.value.hint
    text = uname("text-eeg")
    keep2 = outlet(text, 8, 250.0, pylsl.cf_string)  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=text, resolve_timeout=2.0).configure({})
    assert "has 8 channels (string streams are markers" in e.value.message and "numeric format" in e.value.hint


def test_timestamps_that_jump_back_flag_a_gap_and_restart_the_chunk_times():
    """An amplifier app whose clock is reset (its host re-synced, the app restarted under one source id) sends
    timestamps 10 s back. Before: no gap, and the chunk times slid from +0.8 s to -10.2 s over five chunks
    (the fit dragged across the jump): markers landed seconds off."""
    name = uname("reset")
    out = outlet(name, 2, 100.0, pylsl.cf_double64)
    node = LslInlet(name=name, max_samples=200, chunk_size=20, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    t = pylsl.local_clock()
    ts = np.r_[t + np.arange(100) / 100.0, t - 10.0 + np.arange(100) / 100.0]
    ts[50:100] -= 0.2  # a small step back (an app back-dating its chunks at a wrong rate) is no reset
    th = push_when_connected(out, np.zeros((200, 2)), ts)
    chunks = read_chunks(node)
    th.join()
    starts = np.cumsum([0] + [c.data.shape[1] for c in chunks[:-1]])
    assert [c.gap for c in chunks] == [k == 100 for k in starts]
    after = starts >= 100
    np.testing.assert_allclose(np.array([c.t0 for c in chunks])[after], ts[starts[after]], atol=1e-6)
    assert node.counters["gaps"] == 1 and node.counters["non_monotonic"] == 2


def test_a_stream_stamped_in_unix_time_is_said(caplog):
    """Timeflux's lsl Send stamps each sample with its DataFrame's time index: Unix time (1.7e9 s), not the LSL
    clock the amplifier's and the stimulus program's streams use. Before: taken without a word, so epochs found
    no marker of the other stream (1.7e9 s apart) and a FIF recorder re-dated the recording."""
    name = uname("unixtime")
    out = outlet(name, 2, 100.0, pylsl.cf_double64)
    node = LslInlet(name=name, max_samples=20, resolve_timeout=2.0)
    node.configure({})
    th = push_when_connected(out, np.zeros((20, 2)), time.time() + np.arange(20) / 100.0)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_chunks(node)
    th.join()
    assert sum(c.data.shape[1] for c in chunks) == 20 and node.counters["clock_off"] == 1
    assert f"stream '{name}' is stamped 1.7" in caplog.text and "Unix time?" in caplog.text
    assert "pylsl.local_clock" in caplog.text


def test_an_outlet_back_with_another_channel_count_ends_the_stream_said(caplog):
    """`recover: true` and the amplifier app restarted with 4 channels instead of 2 (same source id). Before:
    liblsl never reconnects to it, and the inlet waited in silence (for ever without idle_timeout)."""
    name = uname("restart")
    first = outlet(name, 2, 100.0)
    node = LslInlet(name=name, recover=True, chunk_size=50, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    push_when_connected(first, np.ones((50, 2)), pylsl.local_clock() + np.arange(50) / 100.0).join(0)
    chunks, t_end = [], time.monotonic() + 5.0
    while sum(c.data.shape[1] for c in chunks) < 50 and time.monotonic() < t_end:  # may come in parts under load
        if r := node.read():
            chunks.append(r["out"])
    assert {c.data.shape[0] for c in chunks} == {2} and sum(c.data.shape[1] for c in chunks) == 50
    del first
    again = outlet(name, 4, 100.0)  # noqa: F841
    with caplog.at_level(logging.ERROR, "wavegraph.lsl"):
        read_chunks(node)
    assert node.counters["outlet_changed"] == 1
    assert "came back with 4 ch at 100 Hz, float32, it had 2 ch at 100 Hz, float32" in caplog.text
    assert "restart the run" in caplog.text


def test_an_outlet_back_with_its_channels_relabelled_ends_the_stream_said(caplog):
    """`recover: true` and the amplifier app restarted with another montage: same count, rate and source id,
    labels O1, O2 instead of C3, C4. Before: liblsl reconnected and the graph went on calling them C3, C4."""
    name = uname("montage")

    def amp(labels):
        info = pylsl.StreamInfo(name, "EEG", 2, 100.0, pylsl.cf_float32, name)
        info.set_channel_labels(labels)
        return pylsl.StreamOutlet(info)

    first = amp(["C3", "C4"])
    node = LslInlet(name=name, recover=True, idle_timeout=4.0, chunk_size=50, clock_sync=False, resolve_timeout=2.0)
    assert node.configure({})["out"].channel_names == ("C3", "C4")
    push_when_connected(first, np.ones((50, 2)), pylsl.local_clock() + np.arange(50) / 100.0).join(0)
    chunks, t_end = [], time.monotonic() + 5.0
    while not chunks and time.monotonic() < t_end:
        if r := node.read():
            chunks.append(r["out"])
    del first
    again = amp(["O1", "O2"])
    th = push_when_connected(again, np.ones((100, 2)), pylsl.local_clock() + 0.5 + np.arange(100) / 100.0)
    with caplog.at_level(logging.ERROR, "wavegraph.lsl"):
        read_chunks(node)
    th.join()
    assert node.counters["outlet_changed"] == 1 and "idle_timeout" not in node.counters
    assert "came back with channels ['O1', 'O2'], it had ['C3', 'C4']" in caplog.text


def test_a_gap_with_the_outlet_still_there_does_not_hold_the_read():
    """`recover: true` and a gap in a stream whose outlet never went away (lost packets, a paused amplifier). Before
    (this session's first restart watch): the read at the gap waited 1 s for a restarted outlet that never came, at
    every gap. Now the watch is only asked what it has already seen."""
    name = uname("gap")
    out = outlet(name, 2, 100.0)
    node = LslInlet(name=name, recover=True, chunk_size=50, clock_sync=False, resolve_timeout=2.0, idle_timeout=1.5)
    node.configure({})
    asked: list[float] = []
    watch = node._watch
    assert watch is not None
    changed = watch.changed
    watch.changed = lambda timeout: asked.append(timeout) or changed(timeout)
    t0 = pylsl.local_clock()
    x = np.ones((50, 2))
    push_when_connected(out, np.vstack([x, x]), np.r_[t0 + np.arange(50) / 100.0, t0 + 1.5 + np.arange(50) / 100.0])
    chunks = read_chunks(node)
    assert sum(c.data.shape[1] for c in chunks) == 100 and any(c.gap for c in chunks)
    assert asked and set(asked) == {0.0}, asked  # asked at the gap (and after it), never waited on
    assert "outlet_changed" not in node.counters
    del out


def test_a_restarted_outlet_found_unchanged_is_not_read_again_at_every_gap():
    """With `recover`, every gap asks whether the outlet came back changed. Before: once it had restarted with
    the same labels (a new created_at), every later gap opened a new inlet to read its full info (3-20 ms, up to
    1 s each); now once per restarted outlet."""
    import types

    from wavegraph.nodes.io.lsl_info import RestartWatch

    name = uname("same")

    def amp():
        info = pylsl.StreamInfo(name, "EEG", 2, 100.0, pylsl.cf_float32, name)
        info.set_channel_labels(["C3", "C4"])
        return pylsl.StreamOutlet(info)

    first = amp()
    held = pylsl.StreamInlet(pylsl.resolve_bypred(f"source_id='{name}'", 1, 2.0)[0]).info(timeout=2.0)
    del first
    again = amp()  # noqa: F841
    opened = []

    def inlet(*a, **k):
        opened.append(1)
        return pylsl.StreamInlet(*a, **k)

    counting = types.SimpleNamespace(ContinuousResolver=pylsl.ContinuousResolver, StreamInlet=inlet, util=pylsl.util)
    watch = RestartWatch(counting, held)
    assert watch.changed(5.0) is None  # returns once it has seen `again`
    assert watch.changed(0.5) is None
    watch.close()
    assert len(opened) == 1


def test_a_file_source_warning_is_said_once_in_a_multi_process_run(edf_path, tmp_path, caplog, capfd):
    """Before: every configure() warning (a file cut short, ...) was printed twice, by the parent and again by
    the worker that configures the same node from the same plan."""
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    cut = tmp_path / "cut.edf"
    cut.write_bytes(edf_path.read_bytes()[: edf_path.stat().st_size // 2])
    graph = tmp_path / "g.yaml"
    graph.write_text(
        f"nodes:\n  - {{id: src, type: file_source, params: {{path: '{cut}'}}}}\n"
        f"  - {{id: rec, type: recorder, params: {{path: '{tmp_path / 'out.npz'}'}}}}\n"
        "edges:\n  - {source: src.out, target: rec.in}\nprocesses:\n  acquisition: [src]\n  storage: [rec]\n"
    )
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        result = run_graph(build_graph(load_config(graph)), in_process=False)
    assert result.exit_code == 0, result.failure
    assert caplog.text.count("is truncated: its header lists 61 data records") == 1  # the parent's
    assert "is truncated" not in capfd.readouterr().err  # the worker's (its own stderr) said nothing


def test_an_empty_set_value_says_it_is_empty(tmp_path):
    """Before: `--set src.path=` (a shell variable that expanded to nothing) said "parameter 'path' = None (from
    --set): Input should be a valid string; fix: give a str", and `path: ''` said "file_source: . is a folder"."""
    from wavegraph.pipeline.config import GraphError, load_config
    from wavegraph.pipeline.graph import build_graph

    graph = tmp_path / "g.yaml"
    graph.write_text("nodes:\n  - {id: src, type: file_source, params: {path: x.edf}}\n")
    with pytest.raises(GraphError) as e:
        load_config(graph, ["src.path="])
    assert "the value of src.path is empty" in str(e.value) and "--set src.path=VALUE" in str(e.value)
    with pytest.raises(GraphError) as e:
        build_graph(load_config(graph, ['src.path=""']))
    assert "file_source: `path` is empty" in str(e.value) and "is a folder" not in str(e.value)


def test_ctrl_c_stops_the_wait_for_a_stream_that_never_appears(tmp_path):
    """`resolve_timeout: 30` (wait for the amplifier to be switched on) and the user gives up. Before: Ctrl-C was
    held until the 30 s were over (liblsl's discovery is one C call; Python's handler runs after it)."""
    import signal
    import subprocess
    import sys

    code = (
        # Ctrl-C's handler as a terminal gives it: a harness run in the background may leave SIGINT ignored
        "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import pylsl\nfrom wavegraph.nodes.io.lsl import LslInlet\n"
        "node = LslInlet(name='never-switched-on', resolve_timeout=30)\n"
        "print('waiting', flush=True)\n"
        "try:\n    node.configure({})\nexcept KeyboardInterrupt:\n    print('stopped', flush=True)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert p.stdout is not None and p.stdout.readline() == "waiting\n"
        time.sleep(0.5)  # inside the discovery
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)  # before: 30 s
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == "stopped\n"


AUDIO_GONE = """
import os, subprocess, sys, time
server = sys.argv[1]
os.environ.update(JACK_DEFAULT_SERVER=server, JACK_NO_START_SERVER="1")
cmd = ["jackd", "-n", server, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "480", "-C", "2", "-P", "2"]
jackd = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 15
while subprocess.run(["jack_lsp", "-s", server], capture_output=True).returncode != 0:
    assert time.monotonic() < deadline and jackd.poll() is None, "jackd did not start"
    time.sleep(0.1)
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
g = GraphBuilder()
g.add("recorder", g.add("audio_input", channels=2, duration=0.2), path=sys.argv[2])
graph = build_graph(g.config())
jackd.terminate()  # the sound card goes away between the build and the run
jackd.wait()
print(run_graph(graph, in_process=True).failure, flush=True)
os._exit(0)  # PortAudio's JACK host API aborts at exit once its server is gone
"""


def test_a_sound_card_gone_before_the_run_is_said_without_a_portaudio_traceback(tmp_path):
    """Before: "node 'audio_input0' failed: Traceback ... sounddevice.PortAudioError: Error opening InputStream:
    Insufficient memory [PaErrorCode -9992]"."""
    import ctypes.util
    import shutil
    import subprocess
    import sys

    from conftest import need  # pyright: ignore[reportMissingImports]

    need(
        ctypes.util.find_library("portaudio") and shutil.which("jackd") and shutil.which("jack_lsp"),
        "libportaudio2 and jackd2 missing (scripts/system_deps.sh)",
    )
    args = [sys.executable, "-c", AUDIO_GONE, f"wavegraph-gone-{os.getpid()}", str(tmp_path / "mic.wav")]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    failure = p.stdout
    assert "node 'audio_input0' (audio_input)" in failure and "cannot open input device 0 'system'" in failure
    assert "not used by another program" in failure and "its server still runs" in failure
    assert "Traceback" not in failure


def test_an_outlet_that_goes_away_is_said(caplog):
    """An amplifier that drops out ends the stream (without `recover`). Before: the run ended with only a counter
    (outlet_lost=1) in the end-of-run table: nothing said why the recording stopped, nor what keeps it going."""
    name = uname("dropout")
    amp = outlet(name, 2, 100.0)
    node = LslInlet(name=name, chunk_size=50, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    push_when_connected(amp, np.ones((50, 2)), pylsl.local_clock() + np.arange(50) / 100.0).join(0)
    chunks, t_end = [], time.monotonic() + 5.0
    while not chunks and time.monotonic() < t_end:
        if r := node.read():
            chunks.append(r["out"])
    del amp
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        read_chunks(node)
    assert node.counters["outlet_lost"] == 1
    assert f"stream '{name}' ended: its outlet went away (`recover: true` waits for it)" in caplog.text


def test_an_outlet_whose_source_id_is_already_published_is_said(caplog):
    """A second run of a graph while the first still publishes (or another app with the same source_id). Before:
    two streams of one source_id went out without a word; consumers that pick by source_id, or recover, take
    either."""
    from wavegraph.nodes.io.lsl_outlet import LslOutlet
    from wavegraph.pipeline.spec import signal_spec

    name = uname("republish")
    earlier = outlet(name, 2, 100.0, source_id=f"wavegraph-{name}")  # noqa: F841
    node = LslOutlet(name=name)
    node.configure({"in": signal_spec(100.0, ["C3", "C4"])})
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        node.open()
    assert node.counters["source_id_taken"] == 1
    assert f"source_id 'wavegraph-{name}' is already published by '{name}'" in caplog.text
    assert "its own `source_id`" in caplog.text
    caplog.clear()
    alone = LslOutlet(name=uname("alone"))
    alone.configure({"in": signal_spec(100.0, ["C3", "C4"])})
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        alone.open()
    assert "already published" not in caplog.text


def test_the_annotations_of_an_mne_lsl_player_are_markers_with_mne_codes_and_durations():
    """`mne_lsl.player.PlayerLSL(raw, annotations=True)` (an MNE-LSL user's replay) publishes the annotations on
    '{name}-annotations': type 'annotations', rate 0, one float channel per description, the value the duration
    (-1: none). Before: refused with "give `rate: 250`" (two descriptions or more), or one description read as
    integer markers: every annotation code -1 (the zero duration's -1) or dropped (a duration of 0.5)."""
    import mne
    from conftest import need  # pyright: ignore[reportMissingImports]

    need(PlayerLSL is not None, "mne-lsl missing (pip install -e '.[test]')")
    assert PlayerLSL is not None
    raw = mne.io.RawArray(np.zeros((2, 150)), mne.create_info(["C3", "C4"], 100.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.2, 0.6, 1.0], [0.5, 0.0, 0.25], ["T1", "T2", "T1"]))
    name = uname("player")
    player = PlayerLSL(raw, chunk_size=10, name=name, annotations=True, source_id=name).start()
    try:
        node = LslInlet(name=f"{name}-annotations", clock_sync=False, wait=0.05, resolve_timeout=5.0)
        spec = node.configure({})["out"]
        assert spec.kind == "events" and spec.labels == ((1.0, "T1"), (2.0, "T2"))  # events_from_annotations' codes
        rows, t_end = [], time.monotonic() + 3.0  # the player loops the recording: the inlet joins anywhere
        while len(rows) < 3 and time.monotonic() < t_end:
            if r := node.read():
                rows += r["out"].data.tolist()
        node.close()
    finally:
        player.stop()
    assert sorted((d, c) for _, d, c in rows[:3]) == [(0.0, 2.0), (0.25, 1.0), (0.5, 1.0)]


def test_an_mne_lsl_outlet_in_microvolts_is_read_in_volts():
    """MNE-LSL writes a channel's unit as the power of ten of volts (`set_channel_units([-6, ...])`: microvolts; its
    Player writes '0'). Before: '-6' was no unit lsl_inlet knew, so microvolts went on as volts (10**6 too
    large), and a Player's stream had units '0'."""
    from conftest import need  # pyright: ignore[reportMissingImports]

    need(mne_lsl_lsl is not None, "mne-lsl missing (pip install -e '.[test]')")
    assert mne_lsl_lsl is not None
    name = uname("mne-lsl-uv")
    info = mne_lsl_lsl.StreamInfo(name, "EEG", 2, 100.0, "float32", name)
    info.set_channel_names(["C3", "C4"])
    info.set_channel_units([-6, -6])  # written as "-6"
    out = mne_lsl_lsl.StreamOutlet(info)
    node = LslInlet(name=name, max_samples=10, clock_sync=False, resolve_timeout=2.0)
    spec = node.configure({})["out"]
    assert spec.units == "V"
    x = np.array([[10.0, -20.0]] * 10, dtype=np.float32)  # microvolts

    def push():
        assert out.wait_for_consumers(10.0)
        out.push_chunk(x)  # pyright: ignore[reportArgumentType]

    th = threading.Thread(target=push)
    th.start()
    chunks = read_chunks(node)
    th.join()
    np.testing.assert_allclose(np.concatenate([c.data for c in chunks], axis=1), x.T * 1e-6, rtol=1e-6)
