"""Clock offsets between the parent and each worker, measured at start-up over the control channel.

NTP-style: the parent sends ClockProbe(t0) (its wall clock, ns); the worker's control thread answers at
once with ClockReply(group, t0, t1), t1 its own wall clock; the parent notes t3 on arrival. If the
network is symmetric, the worker's clock is ahead by offset = t1 - (t0 + t3) / 2, within +/- (t3 - t0) / 2
(half the round trip: the reply was stamped somewhere inside it). Of ROUNDS exchanges the one with the
shortest round trip is kept (the least queueing). On one machine the offset is ~0 within a small
uncertainty; across hosts it is what end-to-end latencies between them must be corrected by.
"""
from __future__ import annotations

import time

from .plan import ClockProbe

ROUNDS = 8


class ClockSync:
    def __init__(self, rounds: int = ROUNDS):
        self.rounds = rounds
        self.samples: dict[str, list[tuple[int, float]]] = {}  # group -> (round trip ns, offset ns)

    @staticmethod
    def probe() -> ClockProbe:
        return ClockProbe(time.time_ns())

    def reply(self, group: str, t0: int, t1: int, t3: int | None = None) -> bool:
        """Record one answer; True while more rounds are wanted."""
        t3 = time.time_ns() if t3 is None else t3
        if t3 >= t0:  # a reply to a probe we sent (a forged t0 from the future is ignored)
            self.samples.setdefault(group, []).append((t3 - t0, t1 - (t0 + t3) / 2))
        return len(self.samples.get(group, [])) < self.rounds

    def estimate(self, group: str) -> dict | None:
        """{offset_ms, uncertainty_ms, rtt_ms, rounds} from the shortest round trip, or None."""
        s = self.samples.get(group)
        if not s:
            return None
        rtt, offset = min(s)
        return {"offset_ms": offset / 1e6, "uncertainty_ms": rtt / 2e6, "rtt_ms": rtt / 1e6, "rounds": len(s)}
