"""Session 44's probe of live acquisition over LSL: what real amplifier apps send that the inlet read wrong (realtime by
its name's prefix: tests/conftest.py). Each case failed before its fix."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pylsl = pytest.importorskip("pylsl")

from wavegraph.nodes.io import lsl  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.nodes.io.lsl_chunk_rate import ChunkRate  # noqa: E402


@pytest.fixture(autouse=True)
def _short_twin_listen(monkeypatch):
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)  # every stream here has a name of its own: no twin


def _amp(n=1, rate=250.0, units=None):
    name = f"probe44-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "EEG", n, rate, pylsl.cf_float32, name)
    if units is not None:
        chs = info.desc().append_child("channels")
        for i in range(n):
            ch = chs.append_child("channel")
            ch.append_child_value("label", f"E{i}")
            ch.append_child_value("unit", units)
    return name, pylsl.StreamOutlet(info)


def _read_all(node, n_samples, limit_s=15.0):
    """Read until `n_samples` came (a bound against a hang, not a timed assert)."""
    outs, got, end = [], 0, time.monotonic() + limit_s
    while got < n_samples and time.monotonic() < end:
        out = node.read()
        if out is None:
            break
        if out:
            outs.append(out["out"])
            got += out["out"].data.shape[1]
    return outs


def _open(name, **params):
    node = LslInlet(name=name, resolve_timeout=5.0, clock_sync=False, **params)
    node.configure({})
    node.open()
    return node


@pytest.mark.parametrize("sent", [125.0, 500.0])
def test_an_app_that_declares_a_rate_it_does_not_send_is_said_not_only_gaps_at_every_chunk(caplog, sent):
    """An app that declares 250 Hz and sends 125 Hz (or 500 Hz) in chunks of 25 with pylsl's push_chunk, which stamps a
    chunk's last sample at the push and back-dates the others at the nominal rate. Before: a gap at every chunk (0.1 s
    holes said as samples lost; at 500 Hz chunks of 250, steps back said as a clock reset), the fit restarted at each,
    and rate_off_nominal never said: the real cause, and its fix, unsaid."""
    chunk = 25 if sent < 250 else 250
    name, amp = _amp()
    node = _open(name, chunk_size=chunk)
    try:
        assert amp.wait_for_consumers(10.0)
        t0, x = pylsl.local_clock(), np.ones((chunk, 1), np.float32) * 1e-6
        for k in range(8):  # as pylsl stamps them: the last at its push, k + 1 chunks at the rate sent
            last = t0 + (k + 1) * chunk / sent
            amp.push_chunk(x, (last - np.arange(chunk)[::-1] / 250.0).tolist())
        with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
            outs = _read_all(node, 8 * chunk)
    finally:
        node.close()
    assert sum(c.data.shape[1] for c in outs) == 8 * chunk  # nothing lost
    assert node.counters.get("rate_off_nominal") == 1, node.counters
    said = [r.getMessage() for r in caplog.records if "declares a rate it does not send" in r.getMessage()]
    assert len(said) == 1 and f"about {sent:.3g} Hz" in said[0] and f"chunks of {chunk} samples" in said[0], said


def test_gaps_of_lost_packets_or_one_clock_reset_are_no_wrong_rate():
    """What ChunkRate must not take for a mis-declared rate: a wireless amplifier losing packets at random (segments of
    varied lengths, forward), one clock reset, long segments."""
    rate, rng = 250.0, np.random.default_rng(0)
    lossy, i, t = ChunkRate(rate), 0, 100.0
    said = []
    for _ in range(40):
        seg, lost = int(rng.integers(5, 200)), int(rng.integers(1, 30))
        i, t = i + seg, t + (seg + lost) / rate
        said.append(lossy.gap(i, t, back=False))
    assert said == [None] * 40
    reset = ChunkRate(rate)
    assert reset.gap(1000, 5.0, back=True) is None
    long_ = ChunkRate(rate)  # a gap every 10 s of samples, each 0.2 s: no chunk of an app
    assert [long_.gap(k * 2500, k * 10.2, back=False) for k in range(1, 6)] == [None] * 5
    chunks = ChunkRate(rate)  # and what it is for: chunks of 25 every 0.2 s (125 Hz)
    assert [chunks.gap(k * 25, k * 0.2, back=False) for k in range(1, 5)][-1] == pytest.approx(125.0)


def test_microvolts_without_a_unit_pushed_a_sample_at_a_time_are_said_whatever_the_first_sample(caplog):
    """An app that sends EEG in microvolts without a unit (OpenBCI GUI's filtered stream), one sample per push, whose
    first sample is 0.4 uV. Before: the check looked at the first chunk only, here that one sample, found it under 1 V
    and never looked again: 50 uV taken as 50 V unsaid, though the same samples pulled 32 at a time were said."""
    name, amp = _amp()
    node = _open(name, chunk_size=1)
    x = np.r_[0.4, 50.0 * np.sin(np.arange(1, 100))].astype(np.float32)
    try:
        assert amp.wait_for_consumers(10.0)
        t0 = pylsl.local_clock()
        for k, v in enumerate(x):
            amp.push_sample([v], t0 + k / 250.0)
        with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
            outs = _read_all(node, len(x))
    finally:
        node.close()
    assert np.array_equal(np.concatenate([c.data for c in outs], axis=1)[0], x)
    assert node.counters.get("unit_missing") == 1, node.counters
    assert any("gives no unit for its channel(s) ch0" in r.getMessage() for r in caplog.records)


def test_volts_without_a_unit_are_not_said_after_a_second_of_them():
    """The other side: EEG in volts without a unit (all under 1 V) is looked at for its first second only, not said."""
    name, amp = _amp()
    node = _open(name, chunk_size=8)
    try:
        assert amp.wait_for_consumers(10.0)
        t0 = pylsl.local_clock()
        x = (50e-6 * np.sin(np.arange(400))).astype(np.float32)[:, None]
        amp.push_chunk(x, (t0 + np.arange(400) / 250.0).tolist())
        _read_all(node, 400)
    finally:
        node.close()
    assert "unit_missing" not in node.counters and node._unitless is None  # (done looking)


def test_a_marker_sent_decomposed_takes_the_code_its_composed_text_has(caplog):
    """A stimulus program that sends 'été' decomposed (e + U+0301, as macOS writes names and some text files hold it),
    and marker_codes that give 'été' (composed, as typed) a code; and the other way round. Before: dropped as unknown
    markers, the warning showing 'été' has no code, the very text given one: the trial markers lost from a recording."""
    import unicodedata

    name = f"probe44-stim-{uuid.uuid4().hex[:8]}"
    amp = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))
    codes = {"été": 5, unicodedata.normalize("NFD", "à gauche"): 6}
    node = _open(name, marker_codes=codes, wait=0.05)
    try:
        assert amp.wait_for_consumers(10.0)
        t0 = pylsl.local_clock()
        for k, m in enumerate([unicodedata.normalize("NFD", "été"), "été", "à gauche", "nope"]):
            amp.push_sample([m], t0 + k * 0.01)
        rows, end = [], time.monotonic() + 10.0
        with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
            while len(rows) < 3 and time.monotonic() < end:
                out = node.read()
                rows += list(out["out"].data) if out else []
            for _ in range(5):  # the unknown one, after them
                node.read()
    finally:
        node.close()
    assert [r[2] for r in rows] == [5.0, 5.0, 6.0]
    assert node.counters.get("unknown_marker") == 1, node.counters
    assert [r.getMessage() for r in caplog.records if "has no code" in r.getMessage()][0].startswith(
        "lsl_inlet: marker 'nope'"
    )
