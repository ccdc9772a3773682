"""Live LSL, a third round (after test_live_attack.py and test_live_attack2.py): what a BCI lab's apps publish that
the inlet took wrong, on real liblsl over loopback. A string marker stream published at a regular rate, a marker
stream found where the graph declares a signal, `recover` on an outlet without a source_id, channel descriptions
that do not match the channel count, markers stamped off the LSL clock mid-run, and float token ids for the outlet.
Each is read right or said (naming the stream and the fix). Each test failed before its fix."""

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
from test_live_lsl import read_all  # noqa: E402  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.nodes.io.lsl_outlet import LslOutlet  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.spec import SpecError, StreamSpec  # noqa: E402


def uname(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # never resolve a stream left over by another test


@pytest.fixture(autouse=True)
def one_stream_per_name(monkeypatch):
    """Each test's streams have names of their own (uname): configure()'s listen for a second stream matching its
    query (AMBIGUITY_WAIT_S, 0.8 s) finds none here, and only made each test 0.8 s longer. The test of two streams
    under one name puts it back."""
    from wavegraph.nodes.io import lsl

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)


def markers_when_connected(out, markers, ts):
    """Push one marker a sample, stamped ts, once an inlet is connected, from a thread (joined by the caller)."""

    def run():
        assert out.wait_for_consumers(10.0)
        for m, t in zip(markers, ts):
            out.push_sample([m], float(t))

    th = threading.Thread(target=run)
    th.start()
    return th


def test_string_markers_published_at_a_regular_rate_are_still_markers(caplog):
    """A stimulus program that gives its marker stream a nominal rate (the screen's 10 Hz, say). Before: every marker
    after the first was a gap ('has a gap of 0.7 s in its timestamps ... counted gaps', three warnings, each events
    chunk flagged gap); `duration` was counted in markers (rate x duration of them)."""
    name = uname("stim10hz")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 10.0, pylsl.cf_string, name))
    node = LslInlet(name=name, duration=3.0, clock_sync=False, resolve_timeout=2.0)
    assert node.configure({})["out"].kind == "events"
    t = pylsl.local_clock()
    ts = t + 0.7 * np.arange(8)  # the last three beyond `duration`
    th = markers_when_connected(out, [str(k) for k in range(1, 9)], ts)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node, limit_s=5.0)
    th.join()
    rows = np.concatenate([c.data for c in chunks])
    np.testing.assert_allclose(rows[:, 0], ts[:5], atol=1e-9)
    assert rows[:, 2].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert not any(c.gap for c in chunks) and "gaps" not in node.counters and "gap" not in caplog.text


def test_an_int64_marker_just_beyond_2_to_the_53_is_unknown_not_rounded(caplog):
    """An int64 marker stream's 2**53 + 1. Before: read through float(), 2**53 (in range), recorded as that code."""
    name = uname("int64codes")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_int64, name))
    node = LslInlet(name=name, max_samples=2, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    t = pylsl.local_clock()
    th = markers_when_connected(out, [2**53 + 1, 2**53], [t, t + 0.1])
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node, limit_s=5.0)
    th.join()
    assert np.concatenate([c.data for c in chunks])[:, 2].tolist() == [2.0**53]
    assert node.counters["unknown_marker"] == 1 and str(2**53 + 1) in caplog.text


def test_a_marker_stream_where_the_graph_declares_a_signal_is_refused_naming_both():
    """`channels: 8, rate: 250` (what `validate` checked the graph with) and `name` pointing at the stimulus
    program's marker stream. Before: taken without a word as events; the nodes after it, checked for 8 channels
    at 250 Hz, got marker rows."""
    name = uname("stimulus")
    keep = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, channels=8, rate=250.0, resolve_timeout=2.0).configure({})
    assert f"'{name}'" in e.value.message and "marker stream" in e.value.message
    assert "8 channels at 250 Hz" in e.value.message
    assert "point `name` at the signal stream" in e.value.hint and "drop `channels` and `rate`" in e.value.hint


def test_recover_on_a_stream_without_a_source_id_says_liblsl_cannot_reconnect(caplog):
    """Many apps publish without a source_id (pylsl's StreamInfo default ''), and liblsl recovers only streams that
    have one. Before: nothing at start, and at the first drop-out the stream ended saying '(`recover: true` waits for
    it)' to a graph that had `recover: true`."""
    name = uname("nosid")
    amp = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 100.0, pylsl.cf_float32, ""))
    node = LslInlet(name=name, recover=True, chunk_size=50, clock_sync=False, resolve_timeout=2.0)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        node.configure({})
    assert node.counters["unrecoverable"] == 1
    assert f"stream '{name}' has no source_id" in caplog.text and "set a source_id in the sending app" in caplog.text
    caplog.clear()

    def push(out):
        assert out.wait_for_consumers(10.0)
        out.push_chunk(np.ones((50, 2), np.float32), list(pylsl.local_clock() + np.arange(50) / 100.0))

    th = threading.Thread(target=push, args=(amp,))
    th.start()
    got = []
    while not got:
        if r := node.read():
            got.append(r["out"])
        assert r is not None, "the stream ended before its samples"
    th.join()
    del amp
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        assert read_all(node, limit_s=5.0) == []
    assert node.counters["outlet_lost"] == 1
    assert "`recover: true` waits for it" not in caplog.text
    assert "no source_id" in caplog.text


@pytest.mark.parametrize("labels", [["C3", "C4", "Cz"], ["C3"]])
def test_channel_descriptions_that_do_not_match_the_channel_count_are_said(labels, caplog):
    """An app whose desc/channels lists a channel it does not send (a trigger channel switched off), or only the
    first. Before: the extra entries were dropped and the missing ones named ch1, ... without a word: the labels
    may be off by one channel."""
    name = uname("desc")
    info = pylsl.StreamInfo(name, "EEG", 2, 100.0, pylsl.cf_float32, name)
    channels = info.desc().append_child("channels")  # (pylsl's set_channel_labels refuses a count that differs)
    for label in labels:
        channels.append_child("channel").append_child_value("label", label)
    keep = pylsl.StreamOutlet(info)  # noqa: F841
    node = LslInlet(name=name, resolve_timeout=2.0)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        spec = node.configure({})["out"]
    assert spec.channel_names == (("C3", "C4") if len(labels) == 3 else ("C3", "ch1"))
    assert node.counters["channel_desc_mismatch"] == 1
    assert f"stream '{name}' describes {len(labels)} channel(s) in desc/channels but sends 2" in caplog.text


def test_a_marker_stamped_off_the_lsl_clock_mid_run_is_said(caplog):
    """A stimulus program that stamps one marker with another clock (time.time(), PsychoPy's core.getTime()) after
    others on the LSL clock. Before: only a first marker was checked; this one went on an hour away from the EEG
    without a word."""
    name = uname("stimclock")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))
    node = LslInlet(name=name, max_samples=3, resolve_timeout=2.0)
    node.configure({})
    t = pylsl.local_clock()
    th = markers_when_connected(out, ["1", "2", "3"], [t, t + 3600.0, t + 0.2])
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node, limit_s=5.0)
    th.join()
    assert sum(len(c.data) for c in chunks) == 3
    assert node.counters["clock_off"] == 1
    assert f"stream '{name}'" in caplog.text and "away from the LSL clock" in caplog.text


def test_the_outlet_drops_token_ids_that_are_no_integer():
    """A node of one's own whose tokens are float ids with NaN for 'no decision'. Before: 'ValueError: cannot convert
    float NaN to integer' out of lsl_outlet.process (a traceback; the run failed); 2.5 went out as '2'."""
    name = uname("tokens")
    out = LslOutlet(name=name, timestamps="stream")
    out.configure({"in": StreamSpec("tokens", 4.0, (), "float64")})
    out.open()
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, timeout=5.0)[0])
    inlet.open_stream(timeout=5.0)
    assert out._outlet is not None and out._outlet.wait_for_consumers(5.0)
    t = pylsl.local_clock()
    out.process({"in": Chunk(np.array([3.0, np.nan, 2.5, 7.0]), t0=t)})
    got, ts = [], []
    while len(got) < 2:
        m, s = inlet.pull_chunk(timeout=2.0, max_samples=10, min_samples=1)
        assert s, "the markers did not arrive"
        got += [x[0] for x in m or []]
        ts += s
    assert got == ["3", "7"] and out.counters["bad_marker"] == 2
    np.testing.assert_allclose(ts, [t, t + 0.75], atol=1e-9)
    out.close()


def test_eeg_in_microvolts_without_a_unit_is_said_and_units_scales_it(caplog):
    """OpenBCI GUI's LSL stream: EEG in microvolts, no desc/channels. Before: taken as volts without a
    word (recorded to FIF 1e6 too large: 50 uV read back as 50 V), and no parameter could give the unit."""
    name = uname("openbci")
    amp = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 100.0, pylsl.cf_float32, name))
    x = (50.0 * np.sin(np.arange(20) / 3.0)[:, None] + [[0.0, 800.0]]).astype(np.float32)  # uV, one with an offset

    def read(node):
        th = threading.Thread(target=lambda: amp.wait_for_consumers(10.0) and amp.push_chunk(x))
        th.start()
        chunks = read_all(node, limit_s=5.0)
        th.join()
        return np.concatenate([c.data for c in chunks], axis=1)

    node = LslInlet(name=name, max_samples=20, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        np.testing.assert_array_equal(read(node), x.T)
    assert node.counters["unit_missing"] == 1
    assert f"stream '{name}' gives no unit for its channel(s) ch0, ch1" in caplog.text and "`units: uV`" in caplog.text
    node.close()
    caplog.clear()
    node = LslInlet(name=name, units="uV", max_samples=20, clock_sync=False, resolve_timeout=2.0)
    assert node.configure({})["out"].units == "V"
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        np.testing.assert_allclose(read(node), x.T * 1e-6, rtol=1e-6)
    assert "unit_missing" not in node.counters and "no unit" not in caplog.text


def test_a_declared_rate_off_in_a_far_digit_shows_the_digits_that_differ():
    """An app whose nominal rate is 1000/3 Hz, declared `rate: 333.333`. Before: 'runs at 333.333 Hz, the graph declares
    333.333 Hz; fix: fix `rate`': two equal-looking numbers and nothing to write instead."""
    name = uname("third")
    keep = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 1000.0 / 3.0, pylsl.cf_float32, name))  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, rate=333.333, resolve_timeout=2.0).configure({})
    assert "runs at 333.3333333333333 Hz, the graph declares 333.333 Hz" in e.value.message
    assert "`rate: 333.3333333333333`" in e.value.hint


def test_int16_audio_at_16_khz_is_read_exactly_and_its_scale_is_said(caplog):
    """LSL's AudioCapture app publishes its microphone as int16 (type Audio), 16 kHz here. Before: its samples went on
    at +-32768 without a word, where the graph's audio is +-1 (a WAV file's int16 samples are read as +-1; the
    enhancer and audio_output take +-1): a call blasted at 90 dB over full scale."""
    name = uname("mic")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Audio", 1, 16000.0, pylsl.cf_int16, name))
    node = LslInlet(name=name, max_samples=1600, chunk_size=512, clock_sync=False, resolve_timeout=2.0)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        spec = node.configure({})["out"]
    assert (spec.rate, spec.channel_types) == (16000.0, ("audio",)) and node.counters["audio_int_scale"] == 1
    assert f"stream '{name}' sends audio as int16 samples" in caplog.text and "gain node with db: -90.31" in caplog.text
    x = (np.sin(np.arange(1600) / 5.0) * 20000).astype(np.int16)[:, None]
    ts = pylsl.local_clock() + np.arange(1600) / 16000.0
    th = threading.Thread(target=lambda: out.wait_for_consumers(10.0) and out.push_chunk(x, list(ts)))  # pyright: ignore[reportArgumentType]
    th.start()
    chunks = read_all(node, limit_s=5.0)
    th.join()
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks], axis=1), x.T)  # as sent: said, not changed
    assert abs(chunks[0].t0 - ts[0]) < 1e-6 and not any(c.gap for c in chunks)


def test_an_apps_eeg_and_markers_under_one_name_say_which_type_to_give(monkeypatch):
    """An acquisition app that publishes its EEG and its trigger markers under one name (the device's). Before: 'pick
    one by its source_id (`source_id: ...-eeg`)', the app's internal id, where `type: EEG` says it."""
    from wavegraph.nodes.io import lsl

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.8)  # the listen that finds the second stream of the name
    name = uname("device")
    eeg = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 8, 250.0, pylsl.cf_float32, f"{name}-1"))  # noqa: F841
    mk = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, f"{name}-2"))  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, resolve_timeout=2.0).configure({})
    assert "type EEG" in e.value.message and "type Markers" in e.value.message
    assert e.value.hint == "give the `type` of the one to read (`type: EEG` or `type: Markers`)"
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)  # one stream matches `type: EEG`
    assert LslInlet(name=name, type="EEG", resolve_timeout=2.0).configure({})["out"].shape == (8,)


def test_markers_of_one_chunk_stamped_now_keep_their_spacing():
    """`timestamps: now` (configs/bci_ssvep_replay.yaml's decisions): a chunk that holds several events 0.25 s apart
    (a replayed file's markers, a decoder's decisions of one chunk). Before: every one was stamped with the same
    `now`, their spacing lost; now the last is stamped now and the others as far before it as their onsets say."""
    name = uname("now")
    out = LslOutlet(name=name, timestamps="now")
    out.configure({"in": StreamSpec("events", 0.0, (3,), labels=((1, "a"), (2, "b")))})
    out.open()
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, timeout=5.0)[0])
    inlet.open_stream(timeout=5.0)
    assert out._outlet is not None and out._outlet.wait_for_consumers(5.0)
    before = pylsl.local_clock()
    out.process({"in": Chunk(np.array([[10.0, 0.0, 1.0], [10.25, 0.0, 2.0], [10.75, 0.0, 1.0]]), t0=10.0)})
    after = pylsl.local_clock()
    got, ts = [], []
    while len(got) < 3:
        m, s = inlet.pull_chunk(timeout=2.0, max_samples=10, min_samples=1)
        assert s, "the markers did not arrive"
        got += [x[0] for x in m or []]
        ts += s
    assert got == ["a", "b", "a"] and before <= ts[-1] <= after
    np.testing.assert_allclose(np.diff(ts), [0.25, 0.5], atol=1e-9)
    out.close()


def test_a_slow_regular_stream_is_not_said_stalled_between_its_samples(monkeypatch, caplog):
    """A regular stream slower than the stall time (a device's 0.1 Hz battery or status stream beside the EEG; here 10
    Hz against a stall time of 0.05 s). Before: each wait for its next sample was 'has sent nothing for ... s', then
    'sends again', counted stalls, at every sample; now a silence is said after 3 of its periods at least."""
    from wavegraph.nodes.io import lsl

    monkeypatch.setattr(lsl, "STALL_S", 0.05)
    name = uname("status")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Misc", 1, 10.0, pylsl.cf_float32, name))
    node = LslInlet(name=name, wait=0.01, clock_sync=False, resolve_timeout=2.0)
    node.configure({})

    def paced():
        assert out.wait_for_consumers(10.0)
        for k in range(4):
            out.push_sample([float(k)])
            time.sleep(0.1)  # the stream's own pace (the test waits on its samples, not on time)

    th = threading.Thread(target=paced)
    th.start()
    n = 0
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        while n < 4:
            if r := node.read():
                n += r["out"].data.shape[1]
        th.join()
        assert "stalls" not in node.counters and "sent nothing" not in caplog.text
        while "stalls" not in node.counters:  # a real silence (3 periods, 0.3 s) is still said
            assert node.read() == {}
    assert f"stream '{name}' has sent nothing for" in caplog.text
    node.close()


def test_two_outlets_of_one_graph_with_one_name_are_said_as_such(caplog):
    """A graph that publishes its raw and its filtered EEG under one `name` (copied node). Before: the second said 'is
    already published by ... (an earlier run still going?) ... stop the other one', which is this run."""
    from wavegraph.pipeline.api import GraphBuilder

    name = uname("twice")
    g = GraphBuilder()
    src = g.add("eeg_sim", duration=0.1)
    first = g.add("lsl_outlet", src, name=name)
    second = g.add("lsl_outlet", g.add("bandpass", src, l_freq=1.0, h_freq=30.0), name=name)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        g.run()
    said = [r.getMessage() for r in caplog.records if "source_id" in r.getMessage()]
    assert len(said) == 1 and "earlier run" not in said[0]
    pair = [
        f"lsl_outlet '{a}' publishes source_id 'wavegraph-{name}', as '{b}' of this graph does"
        for a, b in [(second, first), (first, second)]
    ]
    assert any(p in said[0] for p in pair), said[0]
    assert "give each its own `name` (or `source_id`)" in said[0]


def test_declared_labels_for_a_stream_that_gives_none_say_so():
    """`channels: [C3, C4]` for a stream without desc/channels (OpenBCI GUI, Timeflux). Before: "has channels ['ch0',
    'ch1'], the graph declares ['C3', 'C4']; fix: fix `channels`", as if the stream had other labels."""
    name = uname("nolabels")
    keep = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 250.0, pylsl.cf_float32, name))  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, channels=["C3", "C4"], resolve_timeout=2.0).configure({})
    assert f"stream '{name}' gives no channel labels (desc/channels)" in e.value.message
    assert "`channels: 2`" in e.value.hint


def test_a_marker_channel_that_sends_empty_strings_between_markers(caplog):
    """A string marker stream sent every sample, "" between events (a recorder app's marker channel at 50 Hz). Before:
    each "" was an unknown marker: 'marker '' ... has no code ...; give it a code with marker_codes' (which would
    have made an event of every sample), counted unknown_marker at 50 a second. (An irregular stream's "", pushed on
    purpose, is still an unknown marker: test_live_lsl.)"""
    name = uname("markerchannel")
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 50.0, pylsl.cf_string, name))
    node = LslInlet(name=name, max_samples=10, clock_sync=False, resolve_timeout=2.0)
    node.configure({})
    t = pylsl.local_clock()
    values = ["", "", "7", "", "", "", "", " ", "12", ""]
    th = markers_when_connected(out, values, t + np.arange(10) / 50.0)
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        chunks = read_all(node, limit_s=5.0)
    th.join()
    rows = np.concatenate([c.data for c in chunks])
    assert rows[:, 2].tolist() == [7.0, 12.0] and node.counters == {"empty_marker": 8}
    np.testing.assert_allclose(rows[:, 0], t + np.array([2, 8]) / 50.0, atol=1e-9)
    assert "has no code" not in caplog.text
