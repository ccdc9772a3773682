"""Clock offsets and drift between the parent and each worker, measured over the control channel.

NTP-style: the parent sends ClockProbe(t0, m0) (its wall and monotonic clocks, ns); the worker's control
thread answers at once with ClockReply(t0, t1, m0, m1), t1/m1 its own clocks; the parent notes t3/m3 on
arrival. If the network is symmetric, the worker's clock is ahead by offset = t1 - (t0 + t3) / 2, within
+/- (m3 - m0) / 2 (half the round trip: the reply was stamped somewhere inside it). Of the exchanges of
one burst the one with the shortest round trip is kept (the least queueing). On one machine the offset
is ~0 within a small uncertainty.

A burst of ROUNDS exchanges is made at start-up (Go waits for it), then one of RESYNC_ROUNDS every
RESYNC_S seconds while the run lasts. Two clocks of different machines run at slightly different rates
(drift, typically 1-50 ppm): a straight line fitted to the bursts' offsets against the parent's
monotonic clock (weighted by 1 / uncertainty^2, over the last WINDOW bursts) gives the drift (its slope,
in ppm) and the offset now (the line at the present moment).

Two offsets come from each exchange: the wall-clock one (what the summary shows: how far apart the
machines' clocks are) and the monotonic one (the clocks chunks are stamped with: `origin_ns`). The drift
shown is the monotonic clock's, the one latency depends on. Before the sources start, and after each
burst, the parent sends each worker `Clocks`: per incoming edge, the ns that take a chunk's origin stamp
from the sender's monotonic clock to the receiver's, from the fitted lines, so that end-to-end latency
measured at a sink on another host stays right to within the two uncertainties during a long run.
"""

from __future__ import annotations

import time

from .plan import ClockProbe

ROUNDS = 8  # exchanges at start-up
RESYNC_ROUNDS = 4  # exchanges per later burst
RESYNC_S = 10.0  # seconds between bursts
WINDOW = 60  # bursts the drift is fitted over (10 min at RESYNC_S = 10 s)


class LocalClock:
    """This machine's clocks, as a worker reads them (a test gives a worker one that is skewed and drifts,
    as another machine's would be)."""

    def wall_ns(self) -> int:
        return time.time_ns()

    def mono_ns(self) -> int:
        return time.monotonic_ns()


class ClockSync:
    def __init__(self, rounds: int = ROUNDS, resync_rounds: int = RESYNC_ROUNDS):
        self.rounds, self.resync_rounds = rounds, resync_rounds
        # group -> bursts, each a list of (round trip ns, wall offset ns, monotonic offset ns, parent's
        # monotonic clock at the middle of the exchange) per exchange
        self.bursts: dict[str, list[list[tuple[int, float, float, float]]]] = {}

    @staticmethod
    def probe() -> ClockProbe:
        return ClockProbe(time.time_ns(), time.monotonic_ns())

    def forget(self, group: str) -> None:
        """A restarted process (maybe on another host): its clock is measured anew."""
        self.bursts.pop(group, None)

    def resync(self, group: str) -> ClockProbe:
        """Start a new burst for `group`; its first probe."""
        bursts = self.bursts.setdefault(group, [])
        bursts.append([])
        del bursts[:-WINDOW]
        return self.probe()

    def reply(
        self, group: str, t0: int, t1: int, m0: int, m1: int, t3: int | None = None, m3: int | None = None
    ) -> bool:
        """Record one answer; True while the current burst wants more rounds."""
        t3 = time.time_ns() if t3 is None else t3
        m3 = time.monotonic_ns() if m3 is None else m3
        bursts = self.bursts.setdefault(group, [[]])
        if 0 <= m3 - m0 < 10**10:  # a reply to a probe of ours (a forged or stale stamp is ignored)
            bursts[-1].append((m3 - m0, t1 - (t0 + t3) / 2, m1 - (m0 + m3) / 2, (m0 + m3) / 2))
        return len(bursts[-1]) < (self.rounds if len(bursts) == 1 else self.resync_rounds)

    def complete(self, groups) -> bool:
        """Every group has its start-up burst."""
        return all(len(self.bursts.get(g, [[]])[0]) >= self.rounds for g in groups)

    def _points(self, group: str) -> list[tuple[int, float, float, float]]:
        """The shortest round trip of each burst."""
        return [min(b) for b in self.bursts.get(group, []) if b]

    def estimate(self, group: str, now: float | None = None) -> dict | None:
        """{offset_ms, uncertainty_ms, rtt_ms, rounds, mono_offset_ns, drift_ppm, drift_uncertainty_ppm,
        bursts}: the offsets on the fitted lines at `now` (the parent's monotonic ns; default: the latest
        exchange), the uncertainty of the latest burst, the drift from the line's slope."""
        points = self._points(group)
        if not points:
            return None
        rtt, _, _, at = points[-1]
        now = at if now is None else now
        wall, _ = _fit([(p[3], p[1], p[0]) for p in points], now)
        mono, slope = _fit([(p[3], p[2], p[0]) for p in points], now)
        span = points[-1][3] - points[0][3]
        # The slope can be off by the two end points' errors over the time between them.
        slope_err = (points[0][0] + rtt) / 2 / span if len(points) > 1 and span > 0 else 0.0
        return {
            "offset_ms": wall / 1e6,
            "uncertainty_ms": rtt / 2e6,
            "rtt_ms": rtt / 1e6,
            "rounds": sum(len(b) for b in self.bursts[group]),
            "bursts": len(points),
            "mono_offset_ns": int(mono),
            "drift_ppm": slope * 1e6,
            "drift_uncertainty_ppm": slope_err * 1e6,
        }

    def shifts(self, group: str, plans: dict, now: float | None = None) -> dict[str, int]:
        """For each edge `group` receives: ns from the sending group's monotonic clock to this one's, at
        `now` (the parent's monotonic ns; default: each group's latest exchange). A shift within the two
        measurements' uncertainties is 0: the same clock (one machine) is not made noisy by a correction
        smaller than what can be measured."""
        sender = {s.edge: g for g, p in plans.items() for s in p.senders}
        est = {g: self.estimate(g, now) for g in plans if self._points(g)}
        out = {}
        for r in plans[group].receivers:
            if r.edge not in sender or group not in est or sender[r.edge] not in est:
                continue
            a, b = est[group], est[sender[r.edge]]
            assert a is not None and b is not None  # est holds only groups with samples
            shift = a["mono_offset_ns"] - b["mono_offset_ns"]
            out[r.edge] = shift if abs(shift) > (a["uncertainty_ms"] + b["uncertainty_ms"]) * 1e6 else 0
        return out

    def rates(self, group: str, plans: dict) -> dict[str, float]:
        """For each edge `group` receives: how fast its shift changes (ns per ns: the difference of the
        two clocks' drifts). A difference within the two drift estimates' uncertainties is 0."""
        sender = {s.edge: g for g, p in plans.items() for s in p.senders}
        out = {}
        for r in plans[group].receivers:
            a, b = self.estimate(group), self.estimate(sender.get(r.edge, ""))
            if a is None or b is None or a["bursts"] < 2 or b["bursts"] < 2:
                continue
            rate = (a["drift_ppm"] - b["drift_ppm"]) / 1e6
            out[r.edge] = rate if abs(rate) * 1e6 > a["drift_uncertainty_ppm"] + b["drift_uncertainty_ppm"] else 0.0
        return out


def _fit(points: list[tuple[float, float, int]], at: float) -> tuple[float, float]:
    """(value at `at`, slope) of the weighted least-squares line through (x, y) points, each weighted
    by 1 / (its round trip)^2; one point (or all at one x): that value, slope 0."""
    w = [1.0 / max(rtt, 1) ** 2 for _, _, rtt in points]
    sw = sum(w)
    x0 = points[-1][0]  # centred on the latest point: no cancellation of large ns values
    mx = sum(wi * (x - x0) for wi, (x, _, _) in zip(w, points)) / sw
    my = sum(wi * y for wi, (_, y, _) in zip(w, points)) / sw
    sxx = sum(wi * (x - x0 - mx) ** 2 for wi, (x, _, _) in zip(w, points))
    if len(points) < 2 or sxx <= 0:
        return points[-1][1] if len(points) == 1 else my, 0.0
    slope = sum(wi * (x - x0 - mx) * (y - my) for wi, (x, y, _) in zip(w, points)) / sxx
    return my + slope * (at - x0 - mx), slope
