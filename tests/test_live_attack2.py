"""A new user's live EEG session against amplifiers that misbehave (a second round, after test_live_attack.py): a
stream that falls silent with its outlet still up, NaN/inf from a lead off, a clock reset or set hours off mid-run;
on real liblsl over loopback. Each is said (naming the stream and the fix) and counted, and the graph goes on as
MNE-LSL or LabRecorder would. Each test failed before its fix."""

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
from test_live_lsl import one_stream_per_name, read_all  # noqa: E402, F401  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io import lsl  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402


def uname(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # never resolve a stream left over by another test


def amplifier(name, labels=("C3", "C4"), rate=100.0):
    info = pylsl.StreamInfo(name, "EEG", len(labels), rate, pylsl.cf_float32, name)
    info.set_channel_labels(list(labels))
    return pylsl.StreamOutlet(info)


def pushed(out, x, ts):
    """Push (samples, channels) x stamped ts once an inlet is connected, from a thread (joined by the caller)."""

    def run():
        assert out.wait_for_consumers(10.0)
        out.push_chunk(np.ascontiguousarray(x, dtype=np.float32), list(ts))

    th = threading.Thread(target=run)
    th.start()
    return th


def read_until(node, n, limit_s=10.0):
    """Read chunks until n samples came (a liveness bound, not a timing assert)."""
    chunks, t_end = [], time.monotonic() + limit_s
    while sum(c.data.shape[1] for c in chunks) < n and time.monotonic() < t_end:
        if r := node.read():
            chunks.append(r["out"])
    return chunks


def test_a_stream_that_falls_silent_with_its_outlet_up_is_said_and_its_return_too(monkeypatch, caplog):
    """An amplifier app that stops sending but keeps its outlet (acquisition paused, a wireless link down, OpenBCI
    GUI's stream published before "start"): there is no LostError, so the run waited without a word for ever (no
    idle_timeout) and the status line only showed 0 chunks/s. Now said once a silence (stalls), and its return."""
    monkeypatch.setattr(lsl, "STALL_S", 0.4)
    name = uname("paused")
    amp = amplifier(name)
    node = LslInlet(name=name, chunk_size=50, clock_sync=False, wait=0.05, resolve_timeout=2.0)
    node.configure({})
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        t_end = time.monotonic() + 5.0  # connected, nothing sent yet
        while "stalls" not in node.counters and time.monotonic() < t_end:
            assert node.read() == {}
        assert f"stream '{name}' has sent no sample in" in caplog.text and "before its acquisition" in caplog.text
        assert "`idle_timeout: SECONDS` ends the stream" in caplog.text
        th = pushed(amp, np.ones((50, 2)), pylsl.local_clock() + np.arange(50) / 100.0)  # (connected by now)
        assert sum(c.data.shape[1] for c in read_until(node, 50)) == 50
        th.join()
        assert f"stream '{name}' sends again, after" in caplog.text
        t_end = time.monotonic() + 5.0  # silent again: said again
        while node.counters["stalls"] < 2 and time.monotonic() < t_end:
            assert node.read() == {}
        assert f"stream '{name}' has sent nothing for" in caplog.text
    del amp
    read_all(node)
    assert node.counters["stalls"] == 2 and node.counters["outlet_lost"] == 1


def test_an_idle_timeout_end_is_said(caplog):
    """Before: a stream ended by idle_timeout ended the run with only `idle_timeout=1` in the table."""
    name = uname("idle")
    amp = amplifier(name)
    node = LslInlet(name=name, chunk_size=50, clock_sync=False, idle_timeout=3.0, resolve_timeout=2.0)
    node.configure({})
    th = pushed(amp, np.ones((20, 2)), pylsl.local_clock() + np.arange(20) / 100.0)  # once the first read connects
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node)
    th.join()
    assert sum(c.data.shape[1] for c in chunks) == 20 and node.counters["idle_timeout"] == 1
    assert f"stream '{name}' ended: nothing arrived for 3 s (idle_timeout)" in caplog.text
    del amp


def test_nan_and_inf_from_the_amplifier_are_passed_on_counted_and_said_by_channel(caplog):
    """A lead off or an overrange sends NaN or inf on a channel. Before: passed on without a word; only a filter
    downstream counted nan_zeroed, with no stream nor channel named (a recorder wrote them unsaid)."""
    name = uname("leadoff")
    amp = amplifier(name, ("C3", "Cz", "C4"))
    node = LslInlet(name=name, max_samples=60, chunk_size=20, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    x = np.ones((60, 3), dtype=np.float32)
    x[5, 1] = np.nan
    x[30:, 2] = np.inf
    x[45, 1] = -np.inf
    th = pushed(amp, x, pylsl.local_clock() + np.arange(60) / 100.0)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node)
    th.join()
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks], axis=1), x.T)  # passed on as they are
    assert node.counters["nonfinite"] == 32
    said = [r.getMessage() for r in caplog.records if "NaN or inf" in r.getMessage()]
    assert len(said) == 2 and "channel(s) Cz " in said[0] and "channel(s) C4 " in said[1], said  # each channel once
    assert f"stream '{name}'" in said[0] and "check those electrodes" in said[0]


def test_a_clock_reset_and_a_clock_set_hours_ahead_mid_run_are_said(caplog):
    """The sending host's clock re-synced mid-run (timestamps 5 s back), then set two hours ahead. Before: both were
    taken as a plain gap (`gaps=2`), nothing said that markers of other streams no longer line up."""
    name = uname("clock")
    amp = amplifier(name)
    node = LslInlet(name=name, max_samples=150, chunk_size=25, resolve_timeout=2.0)  # clock_sync: on the LSL clock
    node.configure({})
    t = pylsl.local_clock()
    ts = t + np.arange(150) / 100.0
    ts[50:100] -= 5.0
    ts[100:] += 7200.0
    th = pushed(amp, np.zeros((150, 2)), ts)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node)
    th.join()
    assert sum(c.data.shape[1] for c in chunks) == 150 and sum(c.gap for c in chunks) == 2
    assert node.counters["clock_back"] == 1 and node.counters["clock_off"] == 1
    assert f"the timestamps of stream '{name}' went back 4.99 s (the sending app's clock was reset" in caplog.text
    assert "jumped +7205 s, off the LSL clock" in caplog.text and "pylsl.local_clock" in caplog.text
    assert node.counters["non_monotonic"] == 1 and "not after the one before" not in caplog.text  # one message a reset


def test_samples_stamped_nan_or_inf_get_times_from_the_samples_before_them(caplog):
    """A sending app with a broken clock stamps some samples NaN or inf. Before: one such stamp made that chunk's
    time NaN and every later one too (the timestamp fit's sums turned NaN for good), without a word: a recorder,
    epochs and markers downstream got NaN times. Markers stamped NaN take their arrival time."""
    name = uname("nanclock")
    amp = amplifier(name)
    node = LslInlet(name=name, max_samples=100, chunk_size=25, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    t = pylsl.local_clock()
    ts = t + np.arange(100) / 100.0
    bad = ts.copy()
    # not the first sample: alone in a first read (1 run in 15), it has no sample before it and takes its arrival
    bad[[1, 30, 31]] = np.nan
    bad[60] = np.inf
    bad[75:] = np.nan  # a whole chunk
    th = pushed(amp, np.zeros((100, 2)), bad)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node)
    th.join()
    starts = np.cumsum([0] + [c.data.shape[1] for c in chunks[:-1]])
    np.testing.assert_allclose([c.t0 for c in chunks], ts[starts], atol=1e-6)
    assert not any(c.gap for c in chunks) and node.counters["bad_timestamps"] == 29
    assert f"stream '{name}' sends samples stamped NaN or inf" in caplog.text and "sending app" in caplog.text
    stim_name = uname("nanmarkers")
    stim = pylsl.StreamOutlet(pylsl.StreamInfo(stim_name, "Markers", 1, 0.0, pylsl.cf_string, stim_name))
    markers = LslInlet(name=stim_name, max_samples=2, clock_sync=False, resolve_timeout=2.0)
    markers.configure({})

    def send():
        assert stim.wait_for_consumers(10.0)
        stim.push_sample(["1"], float("nan"))
        stim.push_sample(["2"], pylsl.local_clock())

    th = threading.Thread(target=send)
    th.start()
    rows = np.concatenate([c.data for c in read_all(markers)])
    th.join()
    assert rows[:, 2].tolist() == [1.0, 2.0] and np.isfinite(rows[:, 0]).all()
    assert abs(rows[0, 0] - rows[1, 0]) < 5.0  # its arrival, on the same clock as the next marker


def test_a_stream_of_no_channel_or_of_a_rate_liblsl_cannot_take_is_refused_naming_it():
    """Before: an outlet of 0 channels was taken as a signal of shape (0,), and one of nominal rate NaN failed in `wavegraph run` with "configure() failed: RuntimeError: could
    not create stream inlet.; fix: ... this is a bug in the node"."""
    from wavegraph.pipeline.spec import SpecError

    empty, nan_rate = uname("nochannel"), uname("nanrate")
    keep = [
        pylsl.StreamOutlet(pylsl.StreamInfo(empty, "EEG", 0, 100.0, pylsl.cf_float32, empty)),
        pylsl.StreamOutlet(pylsl.StreamInfo(nan_rate, "EEG", 2, float("nan"), pylsl.cf_float32, nan_rate)),
    ]
    with pytest.raises(SpecError) as e:
        LslInlet(name=empty, resolve_timeout=2.0).configure({})
    assert f"stream '{empty}' (type EEG, 0 ch" in e.value.message and "has no channel" in e.value.message
    with pytest.raises(SpecError) as e:
        LslInlet(name=nan_rate, resolve_timeout=2.0).configure({})
    assert f"liblsl cannot open the stream with name='{nan_rate}' (could not create" in e.value.message
    assert "nominal rate" in e.value.hint
    del keep


def test_a_graph_that_reads_slower_than_the_amplifier_sends_is_said_before_liblsl_drops_samples(caplog):
    """A graph that falls behind real time (a heavy decoder on a loaded machine; here one read held up 1.5 s):
    liblsl keeps `buffer_s` s of samples and drops the oldest beyond it. Before: the samples dropped showed only as
    `gaps` in the table (1600 of 4000 with a graph 3x too slow); now the backlog is said (counted behind), and the
    first gaps too."""
    name = uname("slowgraph")
    amp = amplifier(name, rate=1000.0)
    node = LslInlet(name=name, chunk_size=100, buffer_s=1, clock_sync=False, idle_timeout=2.0, resolve_timeout=2.0)
    node.configure({})

    def send():
        assert amp.wait_for_consumers(10.0)
        t = pylsl.local_clock()
        for k in range(0, 2000, 100):
            amp.push_chunk(np.ones((100, 2), np.float32), list(t + (k + np.arange(100)) / 1000.0))  # pyright: ignore[reportArgumentType]
            time.sleep(0.1)

    th = threading.Thread(target=send)
    th.start()
    got = 0
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        while (r := node.read()) is not None:
            if r:
                time.sleep(1.5 if got == 0 else 0.0)  # held up once: 1.5 s of samples arrive meanwhile
                got += r["out"].data.shape[1]
    th.join()
    assert got < 2000 and node.counters["gaps"] >= 1 and node.counters["behind"] >= 1  # (a second backlog under load)
    assert f"of stream '{name}' wait to be read (the graph reads slower than real time" in caplog.text
    assert "raise buffer_s" in caplog.text
    assert f"stream '{name}' has a gap of" in caplog.text and "dropped from liblsl's full buffer" in caplog.text


def test_a_signal_typed_markers_is_refused_where_markers_were_declared():
    """`type: Markers` (validate took the inlet as events) resolving a 4-channel 100 Hz stream typed Markers (an
    app's status channels, a mislabelled stream). Before: the inlet became a signal, and `wavegraph run` then blamed
    the EEG edge: "edge eeg.out -> rec.in ...: node 'rec' (recorder) rejects the stream from 'eeg': input 'events'
    must be a events stream, got signal"."""
    from wavegraph.pipeline.spec import SpecError

    name = uname("typedmarkers")
    keep = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 4, 100.0, pylsl.cf_float32, name))
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, type="Markers", resolve_timeout=2.0).configure({})
    assert (
        f"stream '{name}' (type Markers, 4 ch, 100 Hz" in e.value.message
        and "is a signal, not markers" in e.value.message
    )
    assert "point `name` at the marker stream" in e.value.hint
    assert LslInlet(name=name, resolve_timeout=2.0).configure({})["out"].kind == "signal"  # not declared: taken as is
    del keep


def test_an_integer_marker_beyond_2_to_the_53_is_said_as_such(caplog):
    """An int64 marker stream sending 2**62 (a stimulus program's bit field). The code cannot be held exactly by the
    float64 event row, so it is dropped; before, the warning said "has no code (not an integer ...)", of an integer."""
    name = uname("int64markers")
    stim = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_int64, name))
    node = LslInlet(name=name, max_samples=2, clock_sync=False, resolve_timeout=2.0)
    node.configure({})

    def send():
        assert stim.wait_for_consumers(10.0)
        stim.push_sample([2**62])
        stim.push_sample([7])

    th = threading.Thread(target=send)
    th.start()
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        rows = np.concatenate([c.data for c in read_all(node)])
    th.join()
    assert rows[:, 2].tolist() == [7.0] and node.counters["unknown_marker"] == 1
    assert f"marker '{2**62}' of stream '{name}' is an integer beyond +-2**53" in caplog.text
    assert "not an integer" not in caplog.text


def test_with_recover_a_silence_says_that_its_outlet_may_be_gone(monkeypatch, caplog):
    """`recover: true` and the amplifier's outlet gone (an app closed, a wireless dongle pulled): liblsl raises no
    LostError and waits. Before: nothing said for as long as it lasted (no idle_timeout: for ever)."""
    monkeypatch.setattr(lsl, "STALL_S", 0.4)
    name = uname("gone")
    amp = amplifier(name)
    node = LslInlet(name=name, recover=True, chunk_size=50, clock_sync=False, wait=0.05, resolve_timeout=2.0)
    node.configure({})
    th = pushed(amp, np.ones((20, 2)), pylsl.local_clock() + np.arange(20) / 100.0)
    assert sum(c.data.shape[1] for c in read_until(node, 20)) == 20
    th.join()
    del amp
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        t_end = time.monotonic() + 5.0  # a liveness bound
        while "stalls" not in node.counters and time.monotonic() < t_end:
            assert node.read() == {}
    assert f"stream '{name}' has sent nothing for" in caplog.text and "or its outlet is gone" in caplog.text
    assert f"`recover: true` waits for an outlet of source_id {name} to come back" in caplog.text
    node.close()


def test_an_outlet_stamped_with_a_replayed_files_times_is_said(caplog):
    """configs/bci_ssvep_replay.yaml's decisions go out with `timestamps: stream`: a file's chunk times (0 s on), not
    the LSL clock. Before: published without a word, so a stimulus program's "arrival minus stamp" was hours off."""
    from wavegraph.nodes.io.lsl_outlet import LslOutlet
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    node = LslOutlet(name=uname("replayed"), timestamps="stream")
    node.configure({"in": StreamSpec("events", 0.0, (3,), "float64", labels=((6, "6"),))})
    node.open()
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        node.process({"in": Chunk(np.array([[2.0, 0.0, 6.0]]), t0=2.0)})
        node.process({"in": Chunk(np.array([[2.5, 0.0, 6.0]]), t0=2.5)})
    assert node.counters["stamps_off_clock"] == 1 and node.pushed == 2
    assert "is stamped with its chunk times (`timestamps: stream`)" in caplog.text
    assert "`timestamps: now`" in caplog.text and caplog.text.count("lsl_outlet: stream") == 1
    live = LslOutlet(name=uname("live"), timestamps="stream")
    live.configure({"in": StreamSpec("events", 0.0, (3,), "float64", labels=((6, "6"),))})
    live.open()
    t = pylsl.local_clock()
    live.process({"in": Chunk(np.array([[t, 0.0, 6.0]]), t0=t)})
    assert "stamps_off_clock" not in live.counters
    node.close()
    live.close()


def test_a_stream_missed_by_its_type_or_by_case_says_what_to_set():
    """A stimulus program that publishes type 'Marker' (not 'Markers'), an amplifier app that publishes type 'eeg':
    LSL matches exactly, so configs/bci_ssvep.yaml found neither. Before: the fix said only "start the outlet first,
    fix name/type, or raise resolve_timeout" beside the list of visible streams."""
    from wavegraph.pipeline.spec import SpecError

    stim, amp_name, amp_type = uname("stimulus"), uname("amp"), uname("eeg")
    keep = [
        pylsl.StreamOutlet(pylsl.StreamInfo(stim, "Marker", 1, 0.0, pylsl.cf_string, stim)),
        pylsl.StreamOutlet(pylsl.StreamInfo(amp_name, amp_type, 2, 100.0, pylsl.cf_float32, amp_name)),
    ]
    for name in (stim, amp_name):  # discovered (by this process) before the inlets look for them
        assert pylsl.resolve_bypred(f"name='{name}'", 1, 10.0)
    with pytest.raises(SpecError) as e:
        # 1 s: two of liblsl's discovery waves (0.5 s apart), so a loaded machine still lists the stream (flaky at 0.5)
        LslInlet(name=stim, type="Markers", resolve_timeout=1.0).configure({})
    assert e.value.hint == f"stream '{stim}' has type 'Marker': set `type: Marker` (LSL matches them exactly)"
    with pytest.raises(SpecError) as e:
        LslInlet(type=amp_type.upper(), resolve_timeout=1.0).configure({})
    assert f"stream '{amp_name}' has type '{amp_type}': set `type: {amp_type}`" in e.value.hint
    with pytest.raises(SpecError) as e:  # nothing close: the general fix
        LslInlet(name=uname("absent"), resolve_timeout=0.3).configure({})
    assert "start the outlet first" in e.value.hint
    del keep


def test_samples_stamped_with_one_time_a_chunk_are_said_once(caplog):
    """An app that stamps every sample of a chunk with the chunk's time (push_sample in a loop with one timestamp).
    Before: counted non_monotonic (1350 of 1500 samples) and never said, so the table's figure had no explanation."""
    name = uname("onestamp")
    amp = amplifier(name, rate=250.0)
    node = LslInlet(name=name, max_samples=100, chunk_size=32, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    t = pylsl.local_clock()
    ts = t + (np.arange(100) // 10 + 1) * 10 / 250.0  # each burst of 10 stamped with its last sample's time
    th = pushed(amp, np.zeros((100, 2)), ts)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node)
    th.join()
    assert sum(c.data.shape[1] for c in chunks) == 100 and node.counters["non_monotonic"] == 90
    said = [r.getMessage() for r in caplog.records if "not after the one before" in r.getMessage()]
    assert len(said) == 1 and f"stream '{name}' stamps samples" in said[0] and "stamps a whole chunk" in said[0]
