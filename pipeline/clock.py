"""Clock offsets between the parent and each worker, measured at start-up over the control channel.

NTP-style: the parent sends ClockProbe(t0, m0) (its wall and monotonic clocks, ns); the worker's control
thread answers at once with ClockReply(t0, t1, m0, m1), t1/m1 its own clocks; the parent notes t3/m3 on
arrival. If the network is symmetric, the worker's clock is ahead by offset = t1 - (t0 + t3) / 2, within
+/- (m3 - m0) / 2 (half the round trip: the reply was stamped somewhere inside it). Of ROUNDS exchanges
the one with the shortest round trip is kept (the least queueing). On one machine the offset is ~0
within a small uncertainty.

Two offsets come from each exchange: the wall-clock one (what the summary shows: how far apart the
machines' clocks are) and the monotonic one (the clocks chunks are stamped with: `origin_ns`). Before the
sources start, the parent sends each worker `Clocks`: per incoming edge, the ns that take a chunk's
origin stamp from the sender's monotonic clock to the receiver's, so that end-to-end latency measured at
a sink on another host is right to within the two uncertainties.
"""

from __future__ import annotations

import time

from .plan import ClockProbe

ROUNDS = 8


class ClockSync:
    def __init__(self, rounds: int = ROUNDS):
        self.rounds = rounds
        # group -> (round trip ns, wall offset ns, monotonic offset ns) per exchange
        self.samples: dict[str, list[tuple[int, float, float]]] = {}

    @staticmethod
    def probe() -> ClockProbe:
        return ClockProbe(time.time_ns(), time.monotonic_ns())

    def reply(
        self, group: str, t0: int, t1: int, m0: int, m1: int, t3: int | None = None, m3: int | None = None
    ) -> bool:
        """Record one answer; True while more rounds are wanted."""
        t3 = time.time_ns() if t3 is None else t3
        m3 = time.monotonic_ns() if m3 is None else m3
        if 0 <= m3 - m0 < 10**10:  # a reply to a probe of ours (a forged or stale stamp is ignored)
            self.samples.setdefault(group, []).append((m3 - m0, t1 - (t0 + t3) / 2, m1 - (m0 + m3) / 2))
        return len(self.samples.get(group, [])) < self.rounds

    def complete(self, groups) -> bool:
        return all(len(self.samples.get(g, [])) >= self.rounds for g in groups)

    def estimate(self, group: str) -> dict | None:
        """{offset_ms, uncertainty_ms, rtt_ms, rounds, mono_offset_ns} from the shortest round trip."""
        s = self.samples.get(group)
        if not s:
            return None
        rtt, offset, mono = min(s)
        return {
            "offset_ms": offset / 1e6,
            "uncertainty_ms": rtt / 2e6,
            "rtt_ms": rtt / 1e6,
            "rounds": len(s),
            "mono_offset_ns": int(mono),
        }

    def shifts(self, group: str, plans: dict) -> dict[str, int]:
        """For each edge `group` receives: ns from the sending group's monotonic clock to this one's.
        A shift within the two measurements' uncertainties is 0: the same clock (one machine) is not
        made noisy by a correction smaller than what can be measured."""
        sender = {s.edge: g for g, p in plans.items() for s in p.senders}
        est = {g: self.estimate(g) for g in plans if self.samples.get(g)}
        out = {}
        for r in plans[group].receivers:
            if r.edge not in sender or group not in est or sender[r.edge] not in est:
                continue
            a, b = est[group], est[sender[r.edge]]
            assert a is not None and b is not None  # est holds only groups with samples
            shift = a["mono_offset_ns"] - b["mono_offset_ns"]
            out[r.edge] = shift if abs(shift) > (a["uncertainty_ms"] + b["uncertainty_ms"]) * 1e6 else 0
        return out
