"""Live LSL, session 23: an EEG/BCI session's amplifier and stimulus streams on real liblsl over loopback, as real
amplifier apps send them (irregular rates, integer formats, units, marker streams, restarts). Each test failed before
its fix."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
import pytest  # noqa: E402
from wavegraph.nodes.io import lsl, lsl_start  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.pipeline.spec import SpecError  # noqa: E402


def uname(what: str) -> str:
    return f"wg-s23-{what}-{uuid.uuid4().hex[:8]}"  # never resolve a stream left over by another test


@pytest.fixture(autouse=True)
def _one_stream_per_name(monkeypatch):
    """Each test's streams have names of their own: configure()'s listen for a twin finds none here."""
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)
    monkeypatch.setenv(lsl_start.CHECKED_ENV, "{}")  # what configure() leaves for worker processes: restored after


def outlet(name, n=1, rate=0.0, fmt=pylsl.cf_float32, stype="ExG", labels=None, types=None, units=None):
    """An outlet whose desc/channels gives each channel's label, type and unit where given (None: left out)."""
    info = pylsl.StreamInfo(name, stype, n, rate, fmt, name)
    if labels or types or units:
        chs = info.desc().append_child("channels")
        for i in range(n):
            ch = chs.append_child("channel")
            for key, values in (("label", labels), ("type", types), ("unit", units)):
                if values and values[i] is not None:
                    ch.append_child_value(key, values[i])
    return pylsl.StreamOutlet(info)


def push(out: pylsl.StreamOutlet, x: np.ndarray, ts: np.ndarray) -> None:
    """Push (samples, channels) `x` stamped `ts`, one time per sample (pylsl's stub types the stamps as one float)."""
    stamps: Any = [float(t) for t in ts]
    out.push_chunk(np.ascontiguousarray(x), stamps)


def read_until(node: LslInlet, n: int, limit_s: float = 5.0) -> list:
    """The chunks the node reads until `n` samples (signals) or rows (events) came, or `limit_s` s passed."""
    chunks, got, end = [], 0, time.monotonic() + limit_s
    while got < n and time.monotonic() < end:
        r = node.read()
        if r is None:
            break
        if r:
            chunks.append(c := r["out"])
            got += c.data.shape[1] if node.out_specs["out"].kind == "signal" else len(c.data)
    return chunks


@pytest.mark.parametrize("desc", [{"units": ["microvolts"]}, {"types": ["EEG"]}])
def test_a_one_channel_irregular_stream_whose_desc_says_eeg_is_no_marker_stream(desc):
    """A one-channel EEG stream at an irregular rate (nominal 0) typed ExG (or untyped), whose desc/channels says its
    channel is EEG or in microvolts, was read as integer markers: every sample dropped as an unknown marker, ten
    warnings telling the user to give each value a code in marker_codes. It is refused now, as one typed EEG is, with
    the fix (`rate:`); with `rate` it is the signal it is."""
    name = uname("exg")
    out = outlet(name, labels=["Cz"], **desc)
    with pytest.raises(SpecError) as e:
        LslInlet(name=name, resolve_timeout=3.0).configure({})
    assert "irregular rate" in str(e.value) and "`rate: 250`" in str(e.value)
    assert "desc/channels" in str(e.value)  # what told it a signal
    node = LslInlet(name=name, resolve_timeout=3.0, rate=250.0)
    spec = node.configure({})["out"]
    assert spec.kind == "signal" and spec.channel_names == ("Cz",)
    node.open()
    assert out.wait_for_consumers(5.0)
    x = np.arange(1.0, 51.0, dtype=np.float32)[:, None]
    push(out, x, pylsl.local_clock() + np.arange(50) / 250.0)
    got = np.concatenate([c.data for c in read_until(node, 50)], axis=1)
    scale = 1e-6 if "units" in desc else 1.0
    np.testing.assert_allclose(got[0], x[:, 0] * scale, rtol=1e-6)
    node.close()


def test_a_one_channel_irregular_integer_marker_stream_stays_markers():
    """The rule above leaves a numeric marker stream (no voltage in its desc) as integer markers."""
    name = uname("codes")
    out = outlet(name, stype="Stimulus", labels=["trigger"])
    node = LslInlet(name=name, resolve_timeout=3.0)
    assert node.configure({})["out"].kind == "events"
    node.open()
    assert out.wait_for_consumers(5.0)
    out.push_sample([7.0], pylsl.local_clock())
    (chunk,) = read_until(node, 1)
    assert chunk.data[:, 2].tolist() == [7.0]
    node.close()


def test_an_amplifier_stamping_its_samples_seconds_in_the_future_is_said(caplog):
    """An amplifier app whose clock runs 5 s ahead of the LSL clock (its own time base, not pylsl.local_clock) stamped
    every sample 5 s in the future: no sample can be, and the stimulus markers (on the LSL clock) land 5 s off the EEG
    in the recording and the decoders, without a word (only Unix time, 600 s off, was said). Said now, once, with the
    offset and the fix, counted clock_off; the samples and their times go on as sent."""
    name = uname("ahead")
    out = outlet(name, 2, 100.0, pylsl.cf_float32, "EEG", labels=["O1", "O2"], units=["uV", "uV"])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50)
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    ts = pylsl.local_clock() + 5.0 + np.arange(100) / 100.0
    push(out, np.ones((100, 2), np.float32), ts)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        chunks = read_until(node, 100)
    assert sum(c.data.shape[1] for c in chunks) == 100 and abs(chunks[0].t0 - ts[0]) < 1e-3
    said = [r.getMessage() for r in caplog.records if "ahead" in r.getMessage()]
    assert len(said) == 1 and name in said[0] and "pylsl.local_clock" in said[0], caplog.text
    assert node.counters.get("clock_off") == 1
    node.close()


def test_a_stream_stamped_on_the_lsl_clock_is_not_said_ahead(caplog):
    """The rule above says nothing of samples stamped as they are taken (the past, a fraction of a second)."""
    name = uname("ontime")
    out = outlet(name, 2, 100.0, pylsl.cf_float32, "EEG", labels=["O1", "O2"], units=["uV", "uV"])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50)
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    push(out, np.ones((100, 2), np.float32), pylsl.local_clock() - 1.0 + np.arange(100) / 100.0)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        assert sum(c.data.shape[1] for c in read_until(node, 100)) == 100
    assert "clock_off" not in node.counters and "ahead" not in caplog.text
    node.close()


def test_an_outlet_back_with_its_channels_in_another_unit_ends_the_stream_said(caplog):
    """`recover: true` and the amplifier app restarted sending volts where it sent microvolts (its unit setting
    changed; same labels, count, rate and source id): liblsl reconnected and the graph went on scaling the volts by
    1e-6, the EEG recorded and decoded a million times too small, unsaid (only labels were compared). It ends the
    stream now (once the watch has seen the outlet back), said with the units before and after, counted
    outlet_changed, as a relabelled outlet does."""
    name = uname("units")
    first = outlet(name, 2, 100.0, stype="EEG", labels=["O1", "O2"], units=["microvolts"] * 2)
    node = LslInlet(name=name, recover=True, idle_timeout=4.0, chunk_size=50, clock_sync=False, resolve_timeout=2.0)
    assert node.configure({})["out"].units == "V"
    node.open()
    assert first.wait_for_consumers(5.0)
    push(first, np.ones((50, 2), np.float32), pylsl.local_clock() + np.arange(50) / 100.0)
    assert read_until(node, 50)
    del first
    again = outlet(name, 2, 100.0, stype="EEG", labels=["O1", "O2"], units=["volts"] * 2)
    with caplog.at_level("ERROR", logger="wavegraph.lsl"):
        assert again.wait_for_consumers(10.0)  # liblsl reconnected
        push(again, np.full((100, 2), 1e-5, np.float32), pylsl.local_clock() + np.arange(100) / 100.0)
        read_until(node, 10**6, limit_s=8.0)  # until the stream ends (idle_timeout: 4 s after the last)
    assert node.counters.get("outlet_changed") == 1 and "idle_timeout" not in node.counters, node.counters
    assert "came back with units ['volts', 'volts'], it had ['microvolts', 'microvolts']" in caplog.text
    assert "restart the run" in caplog.text
    node.close()


@pytest.mark.parametrize(("unit", "factor"), [("uVolts", 1e-6), ("micro-volts", 1e-6), ("\u00b5Volt", 1e-6)])
def test_an_eeg_stream_in_microvolts_spelt_otherwise_is_scaled_to_volts(unit, factor):
    """An amplifier app that writes its unit 'uVolts' (or 'micro-volts', 'µVolt') in desc/channels: the unit was no
    voltage to lsl_inlet (only 'uV', 'microvolts', ... were), so its 50 uV went on as 50 V, the spec's unit 'uVolts',
    recorded and decoded a million off, unsaid (a unit was given, so unit_missing looked no further)."""
    name = uname("uvolts")
    out = outlet(name, 2, 100.0, stype="EEG", labels=["O1", "O2"], units=[unit, unit])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50)
    spec = node.configure({})["out"]
    assert spec.units == "V"
    node.open()
    assert out.wait_for_consumers(5.0)
    push(out, np.full((50, 2), 50.0, np.float32), pylsl.local_clock() + np.arange(50) / 100.0)
    got = np.concatenate([c.data for c in read_until(node, 50)], axis=1)
    np.testing.assert_allclose(got, 50.0 * factor, rtol=1e-6)
    node.close()


def test_voltage_units_in_their_usual_spellings():
    """What volt_scale reads as a voltage (shared by lsl_inlet, the EDF/GDF/BrainVision readers, the EDF writer): the
    SI prefixes as letters or words, with or without a hyphen, singular or plural; not a bare '-v' or other units."""
    from wavegraph.nodes.io.units import volt_scale

    for unit, factor in {
        "uV": 1e-6,
        "uVolt": 1e-6,
        "uvolts": 1e-6,
        "\u00b5Volts": 1e-6,
        "\u03bcV": 1e-6,
        "micro-volts": 1e-6,
        "microvolt": 1e-6,
        "mVolts": 1e-3,
        "milli-volt": 1e-3,
        "nanovolt": 1e-9,
        "nVolt": 1e-9,
        "Volts": 1.0,
        "V": 1.0,
        "-6": 1e-6,
    }.items():
        assert volt_scale(unit) == factor, unit
    for unit in ("-v", "counts", "a.u.", "uA", "volume", "mmHg", ""):
        assert volt_scale(unit) is None, unit


def test_eeg_channels_in_a_unit_that_is_no_voltage_are_said_when_beyond_a_volt(caplog):
    """Channels desc/channels types EEG in a unit that is no voltage (ADC 'counts'), with values of 50: taken as 50 V
    (MNE's unit) by the recorders and decoders, unsaid (unit_missing looked only at channels without a unit). Said
    now, naming the unit, counted unit_missing, as channels without one are."""
    name = uname("counts")
    out = outlet(name, 2, 100.0, stype="EEG", labels=["O1", "O2"], types=["EEG", "EEG"], units=["counts", "counts"])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50)
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    push(out, np.full((50, 2), 50.0, np.float32), pylsl.local_clock() + np.arange(50) / 100.0)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        assert read_until(node, 50)
    assert node.counters.get("unit_missing") == 1
    assert "'counts'" in caplog.text and "O1, O2" in caplog.text and "50 V" in caplog.text, caplog.text
    node.close()


def test_channel_labels_repeated_or_left_out_are_said_at_configure(caplog):
    """An amplifier app whose montage labels two channels Cz (one of them another electrode) and leaves one without a
    label: the inlet renamed them Cz-0, Cz-1 and ch3 (MNE's rule) with only a counter in the end-of-run table, so the
    recording and a decoder's `channels` error named channels the user never set, unexplained. Said now at configure,
    naming the labels and what they became, with the fix; the names stay as before."""
    name = uname("montage")
    out = outlet(name, 4, 100.0, stype="EEG", labels=["Cz", "Cz", "O1", None], units=["uV"] * 4)  # noqa: F841
    node = LslInlet(name=name, resolve_timeout=3.0)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        spec = node.configure({})["out"]
    assert spec.channel_names == ("Cz-0", "Cz-1", "O1", "ch3")
    said = [r.getMessage() for r in caplog.records if "Cz-0" in r.getMessage()]
    assert len(said) == 1 and name in said[0] and "ch3" in said[0] and "sending app" in said[0], caplog.text
    assert node.counters.get("duplicate_channel_labels") == 1
    node.close()


def test_a_stream_without_any_channel_label_is_not_said(caplog):
    """A stream without desc/channels (many apps send none): named ch0, ch1, ... as before, without a word."""
    name = uname("nolabels")
    out = outlet(name, 2, 100.0, stype="EEG")  # noqa: F841
    node = LslInlet(name=name, resolve_timeout=3.0)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        assert node.configure({})["out"].channel_names == ("ch0", "ch1")
    assert "label" not in caplog.text
    node.close()


def test_a_short_gap_names_gap_tolerance_for_timestamps_that_jitter(caplog):
    """A wireless amplifier whose app stamps each packet on arrival (pylsl back-dating its samples): a packet 70 ms
    late then the next on time is no sample lost, but a jump beyond one period + gap_tolerance (0.05 s): a gap,
    said as 'samples lost on the way, dropped from liblsl's full buffer, or the amplifier paused', with no word of
    the parameter that absorbs such jitter, while the decoder dropped its windows at each. The warning of a gap under
    a second now names gap_tolerance and its value as the fix when no sample was lost."""
    name = uname("jitter")
    out = outlet(name, 2, 250.0, stype="EEG", labels=["O1", "O2"], units=["uV", "uV"])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=100)
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    ts = pylsl.local_clock() - 1.0 + np.arange(200) / 250.0
    ts[100:106] += 0.07  # one packet of 6 samples stamped 70 ms late
    push(out, np.ones((200, 2), np.float32), ts)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        read_until(node, 200)
    assert node.counters.get("gaps") == 1
    said = [r.getMessage() for r in caplog.records if "has a gap of" in r.getMessage()]
    assert len(said) == 1 and "gap_tolerance" in said[0] and "0.05" in said[0], caplog.text
    node.close()


def test_timestamps_that_step_back_half_a_second_restart_the_chunk_times():
    """An amplifier app whose clock steps back 0.5 s (a device clock re-synced to the host's), its samples contiguous:
    a step back was a clock reset only beyond 1 s, so the chunk-time fit took this one as a rate change: the chunks
    after it were stamped up to 0.39 s off their timestamps, then 0.13 s the other way for over 40 s (the fitted rate
    256 Hz for a 250 Hz stream), every marker that far off the EEG. A step back beyond 0.25 s (or gap_tolerance) is a
    clock reset now (gap, clock_back): the chunk times follow the timestamps again at once; 0.2 s steps back (an app
    back-dating its chunks) stay none (tests/test_live_attack.py)."""
    name = uname("stepback")
    out = outlet(name, 1, 250.0, stype="EEG", labels=["Oz"], units=["uV"])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50, clock_sync=False)
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    ts = pylsl.local_clock() - 10.0 + np.arange(1000) / 250.0
    ts[500:] -= 0.5
    push(out, np.arange(1000, dtype=np.float32)[:, None], ts)
    chunks = read_until(node, 1000)
    first = [int(round(c.data[0, 0] * 1e6)) for c in chunks]  # each chunk's first sample index (values 0..999 uV)
    assert [k for k, c in zip(first, chunks) if c.gap] == [500]
    np.testing.assert_allclose([c.t0 for c in chunks], ts[first], atol=2e-3)
    assert node.counters.get("clock_back") == 1
    node.close()


def test_timestamps_that_jump_into_the_future_are_said_as_a_clock_jump(caplog):
    """An amplifier app whose clock jumps 8 s ahead mid-run (set forward; its own clock re-based): a gap, said as
    'samples lost on the way, dropped from liblsl's full buffer, or the amplifier paused', though the samples after it
    are stamped 8 s in the future, which no lost sample explains; the markers that far off the EEG from there, unsaid.
    Said now as the clock jump it is (off the LSL clock, ahead of it), counted clock_off, as a first sample ahead is."""
    name = uname("future")
    out = outlet(name, 1, 250.0, stype="EEG", labels=["Oz"], units=["uV"])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50)
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    ts = pylsl.local_clock() - 0.5 + np.arange(200) / 250.0
    ts[100:] += 8.0
    push(out, np.ones((200, 1), np.float32), ts)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        read_until(node, 200)
    assert node.counters.get("gaps") == 1 and node.counters.get("clock_off") == 1, node.counters
    assert "off the LSL clock" in caplog.text and "samples lost on the way" not in caplog.text, caplog.text
    node.close()


def test_an_accelerometer_in_g_inside_an_eeg_stream_is_not_said_unitless(caplog):
    """An EEG-typed stream whose desc/channels gives units but no types (Unicorn-like: EEG in uV, an accelerometer in
    g): the accelerometer takes the stream's type, EEG, but its unit says it is none; the check of EEG channels in no
    voltage unit leaves it alone (only a channel that desc/channels itself types EEG, or one without a unit, is looked
    at)."""
    name = uname("acc")
    out = outlet(name, 2, 100.0, stype="EEG", labels=["Cz", "AccX"], units=["microvolts", "g"])
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50)
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    push(out, np.full((50, 2), 9.8, np.float32), pylsl.local_clock() + np.arange(50) / 100.0)
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        assert read_until(node, 50)
    assert "unit_missing" not in node.counters and "AccX" not in caplog.text, caplog.text
    node.close()
