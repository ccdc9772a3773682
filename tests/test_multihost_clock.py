"""Clock offsets (pipeline.clock): the NTP-style estimate on known clocks, and the shifts it gives edges."""

from types import SimpleNamespace

from wavegraph.pipeline.clock import ClockSync


def test_offset_and_uncertainty_from_the_shortest_round_trip():
    sync = ClockSync(rounds=3)
    wall_ahead, mono_ahead = 2_500_000, -7_000_000_000  # the worker's clocks vs the parent's, ns
    # (parent send, one-way delay out, delay back): asymmetric queueing on the slow rounds
    for t0, out, back in ((1_000_000, 900_000, 100_000), (5_000_000, 200_000, 200_000), (9_000_000, 50_000, 700_000)):
        t1 = t0 + out + wall_ahead
        assert sync.reply("w", t0, t1, t0, t0 + out + mono_ahead, t3=t0 + out + back, m3=t0 + out + back) is (
            t0 < 9_000_000
        )
    est = sync.estimate("w")
    assert est is not None
    assert est["rtt_ms"] == 0.4 and est["uncertainty_ms"] == 0.2  # the symmetric 0.4 ms round trip
    assert est["offset_ms"] == 2.5 and est["mono_offset_ns"] == mono_ahead  # exact when the delays are equal
    assert est["rounds"] == 3


def test_shifts_take_origin_stamps_from_the_sender_clock_to_the_receiver_clock():
    sync = ClockSync(rounds=1)
    for g, mono in (("amp", 5_000), ("gpu", -3_000)):
        sync.reply(g, 0, 0, 0, mono, t3=0, m3=0)
    plans = {
        "amp": SimpleNamespace(senders=[SimpleNamespace(edge="e")], receivers=[]),
        "gpu": SimpleNamespace(senders=[], receivers=[SimpleNamespace(edge="e")]),
    }
    assert sync.complete(plans)
    # A chunk stamped 100 on amp's clock was emitted at 100 - 5_000 on the parent's, -3_000 + that on gpu's.
    assert 100 + sync.shifts("gpu", plans)["e"] == 100 - 5_000 - 3_000


def test_a_shift_within_the_uncertainty_is_zero():
    sync = ClockSync(rounds=1)
    sync.reply("a", 0, 0, 0, 30_000, t3=200_000, m3=200_000)  # offset -70 us +/- 100 us
    sync.reply("b", 0, 0, 0, 100_000, t3=200_000, m3=200_000)  # offset 0 +/- 100 us
    plans = {
        "a": SimpleNamespace(senders=[SimpleNamespace(edge="e")], receivers=[]),
        "b": SimpleNamespace(senders=[], receivers=[SimpleNamespace(edge="e")]),
    }
    assert sync.shifts("b", plans) == {"e": 0}
