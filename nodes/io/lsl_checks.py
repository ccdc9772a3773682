"""lsl_inlet's watch over a stream as it reads it (the node is in lsl.py): what a misbehaving stream does is counted
and said, naming it, with the fix.

Timestamps that do not increase (markers: that go back) are counted (`non_monotonic`); a jump of more than
`gap_tolerance` seconds beyond one sample period flags the chunk as a gap (`gaps`), a step back of over 0.25 s as a
clock reset (`clock_back`), a jump off the LSL clock (`clock_off`); the first gaps and jumps are logged. Timestamps
NaN/inf (`bad_timestamps`) are given the time of the samples before them. A backlog of 2 s in liblsl's buffer is said
(`behind`: liblsl drops what exceeds `buffer_s`). Timestamps more than 5 % off the nominal rate (`rate_off_nominal`),
voltage channels without a unit whose values go beyond 1 V (`unit_missing`). With `recover`: an outlet back with another
layout (`outlet_changed`) ends the stream; liblsl's timeout waiting for the clock offset of an outlet gone before it had
it is a silence (`clock_sync_timeout`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from .lsl_chunk_rate import ChunkRate, chunk_rate_said
from .lsl_info import (
    JITTER_S,
    RestartWatch,
    backlog_said,
    clock_far,
    gap_said,
    import_pylsl,
    jump_said,
    rate_off_said,
    unitless_said,
    unordered_said,
)
from .lsl_params import LslInletParams
from .lsl_restart import restart_lost_said, restart_offset
from .lsl_time import TimestampFit, fill_times, off_nominal_rate

_log = logging.getLogger("wavegraph.lsl")
BACK_JUMP_S = 0.25  # s: a step back beyond it is a clock reset (a gap); less, chunks back-dated at a wrong rate
CLOCK_OFF_S = 600.0  # s: a first timestamp this far from the LSL clock is on another clock (Unix time)
RESTART_WATCH_S = 5.0  # s: with `recover`, how long after a gap the watch is asked about a restarted outlet
RESTART_POLL_S = 0.25  # s: how often, meanwhile
WARN_JUMPS = 3  # clock jumps, and gaps, an inlet logs a warning for (then it only counts them)
BEHIND_S = 2.0  # s: a backlog in liblsl's buffer beyond it (or a quarter of buffer_s) is said, once an episode
BEHIND_CHECK_S = 1.0  # s: how often the backlog is looked at
UNIT_CHECK_S = 1.0  # s of samples whose values _check_unit looks at


class InletChecks:
    """The checks LslInlet (lsl.py) runs on what it reads; they keep their state on the node (set by its reset())."""

    params: LslInletParams
    counters: dict[str, Any]
    out_specs: dict[str, Any]
    _info: Any
    _inlet: Any
    _watch: RestartWatch | None
    _rate: float
    _fit: TimestampFit | None
    _chunk_rate: ChunkRate | None  # the starts of the last segments (a rate declared wrong: lsl_chunk_rate)
    _n: int  # samples read so far
    _last_ts: float | None
    _unitless: list[int] | None
    _unit_left: int  # samples _check_unit still looks at
    _watch_until: float
    _watched_at: float
    _behind: bool
    _backlog_at: float
    _gaps_said: int
    _jumps_said: int
    _gap_ts: tuple[float, float] | None  # the timestamps either side of the last gap (_restart_lost)
    _lost_said: set[float]  # created_at of the restarted outlets whose loss was said
    _restart_checked: tuple[float, tuple[float, float]] | None  # the (restart, gap) last looked at (_restart_lost)

    if TYPE_CHECKING:

        def count(self, name: str, n: int = 1) -> None: ...  # the node's (pipeline.node.Node.count)

    def _check_unit(self, x: np.ndarray) -> None:
        """Over the first UNIT_CHECK_S s of samples that carry a value (not 0, finite) on them: voltage channels (EEG, ...)
        the stream gives no unit for whose values go beyond 1 V (no amplifier's range; microvolts or ADC counts, which a
        FIF recorder wrote as volts, 1e6 off) are said. Those samples, not the first chunk: a stream pushed a sample at a
        time was judged on its first sample alone (a filtered EEG's 0.8 uV), and said or not by how it was chunked."""
        v = np.abs(x[self._unitless])
        cols = np.flatnonzero((np.isfinite(v) & (v > 0)).any(axis=0))[: max(self._unit_left, 0)]
        if not cols.size:
            return
        self._unit_left -= cols.size
        v = v[:, cols]
        peak = float(v[np.isfinite(v)].max())
        if peak <= 1.0 and self._unit_left > 0:
            return
        unitless, self._unitless = self._unitless or [], None
        if peak > 1.0:
            self.count("unit_missing")
            spec = self.out_specs["out"]
            names = [spec.channel_names[i] for i in unitless]
            _log.warning("lsl_inlet: %s", unitless_said(self._name(), names, peak, spec.units))

    def _restart_seen(self, gap: bool) -> bool:
        """With recover: whether the outlet liblsl went on with after a gap is a restarted one with other channels
        or labels. The watch is asked without waiting (a gap with the outlet still there, lost packets, must not
        hold the process), at the gap and then every RESTART_POLL_S for RESTART_WATCH_S, the time the watch may
        take to see a new outlet."""
        now = time.monotonic()
        if gap:
            self._watch_until = now + RESTART_WATCH_S
        elif now >= self._watch_until or now - self._watched_at < RESTART_POLL_S:
            return False
        self._watched_at = now
        return self._outlet_changed(0.0)

    def _outlet_changed(self, timeout: float, silent: bool = False) -> bool:
        """With recover: whether the outlet is back changed (liblsl reconnects to none, or to relabelled channels;
        `silent`, the stream sending nothing: or back under another source_id); if so, counted and said, and the
        stream ends."""
        watch = self._watch
        changed = ((silent and watch.new_source_id()) or watch.changed(timeout)) if watch is not None else None
        if changed:
            self.count("outlet_changed")
            _log.error("lsl_inlet: %s; ended the stream: restart the run to take it as it is now", changed)
        return bool(changed)

    def _offset_timeout(self) -> None:
        """A pull liblsl ended with its timeout error: with clock_sync and `recover` it waits 5 s for the clock offset of
        the outlet (at the first samples, and again after each reconnection), then raises, when that outlet went away
        before it had it (an amplifier whose link drops, comes back and drops again; a raw pylsl TimeoutError failed
        the node). Counted `clock_sync_timeout`, said once; the read is an empty one, so the silence is checked as any
        other (idle_timeout, stalls, the outlet back changed)."""
        if "clock_sync_timeout" not in self.counters:
            _log.warning(
                "lsl_inlet: stream '%s': liblsl waited 5 s for its outlet's clock offset (clock_sync) and got none: "
                "the outlet went away before liblsl had it (just after the graph connected, or after liblsl "
                "reconnected to it: `recover`), and what it had received of it is not stamped; taken as a silence "
                "(idle_timeout ends a stream that does not come back), counted clock_sync_timeout; a stream sent "
                "from this computer needs no clock_sync: `clock_sync: false` spares the wait",
                self._name(),
            )
        self.count("clock_sync_timeout")

    def _filled(self, ts: np.ndarray, now: float) -> np.ndarray:
        """Timestamps NaN or inf (a sender's broken clock: they made every chunk time NaN from there on) replaced
        (lsl_time.fill_times), counted and said once."""
        n_bad, said = int(np.count_nonzero(~np.isfinite(ts))), "bad_timestamps" in self.counters
        self.count("bad_timestamps", n_bad)
        if not said:
            _log.warning(
                "lsl_inlet: stream '%s' sends samples stamped NaN or inf (%d in one chunk): each is given the time "
                "%s, counted bad_timestamps; fix the timestamps in the sending app (pylsl.local_clock)",
                self._name(),
                n_bad,
                "it arrived" if self._rate <= 0 else "of the samples before it at the nominal rate",
            )
        return fill_times(ts, self._last_ts, self._rate, now)

    def _start_backlog(self) -> None:
        """At open(), for a stream received from before the graph started (one that appeared while the graph waited,
        opened at configure in its worker): what waits in liblsl's buffer is its start, kept, not the graph lagging. The
        backlog is looked at again once the graph had that long to read it: `behind` ('the graph reads slower than
        real time') was said at the start of a session whose other process took 3 s to start (a model loading)."""
        if self._rate > 0 and self._inlet is not None:
            self._backlog_at = time.monotonic() + self._inlet.samples_available() / self._rate

    def _check_backlog(self) -> None:
        """Say when the samples waiting in liblsl's buffer reach BEHIND_S s (or a quarter of buffer_s): liblsl drops the
        oldest beyond buffer_s without a word, which only showed as gaps. Counted `behind`, once an episode."""
        now = time.monotonic()
        if self._rate <= 0 or self._inlet is None or now - self._backlog_at < BEHIND_CHECK_S:
            return
        self._backlog_at = now
        waiting = self._inlet.samples_available() / self._rate
        buffer_s = self.params.buffer_s
        if waiting < min(BEHIND_S, buffer_s / 4):
            self._behind = self._behind and waiting > min(BEHIND_S, buffer_s / 4) / 2
            return
        if not self._behind:
            self._behind = True
            self.count("behind")
            _log.warning("lsl_inlet: %s", backlog_said(self._name(), waiting, buffer_s))

    def _name(self) -> str:
        return self._info.name() if self._info is not None else "?"

    def _said_jump(self, before: float, after: float) -> None:
        """Say a gap whose timestamps went back more than BACK_JUMP_S (the sender's clock reset) or landed off the LSL
        clock (a sender's clock set hours off, or ahead: clock_far): counted, and logged for the first WARN_JUMPS."""
        if after < before - BACK_JUMP_S:
            self.count("clock_back")
            what = f"went back {before - after:.4g} s (the sending app's clock was reset, or it restarted)"
        elif self.params.clock_sync and clock_far(after - import_pylsl().local_clock(), False, CLOCK_OFF_S).any():
            self.count("clock_off")  # (hours off, or ahead: in the future)
            what = f"jumped {after - before:+.4g} s, off the LSL clock (the sending host's or app's clock was set?)"
        else:
            self._gaps_said += 1
            if self._gaps_said <= WARN_JUMPS:
                last, tol = self._gaps_said == WARN_JUMPS, self.params.gap_tolerance
                _log.warning("lsl_inlet: %s", gap_said(self._name(), after - before, last, tol))
            return
        self._jumps_said += 1
        if self._jumps_said <= WARN_JUMPS:
            back = BACK_JUMP_S < before - after < JITTER_S  # (a burst after a stall, stamped as it came, steps back)
            _log.warning("lsl_inlet: %s", jump_said(self._name(), what, self.params.gap_tolerance if back else None))

    def _check_rate(self) -> None:
        """Warn once a run when the timestamps run far off the nominal rate, which every node downstream
        takes the samples at (an app that declares a rate it does not send, an outlet back at another
        rate under the same source id)."""
        if self._fit is None or "rate_off_nominal" in self.counters:
            return
        true_rate = off_nominal_rate(self._fit, self._rate)
        if true_rate is not None:
            self.count("rate_off_nominal")
            _log.warning("lsl_inlet: %s", rate_off_said(self._name(), true_rate, self._rate))

    def _check_chunk_rate(self, before: float, after: float) -> None:
        """At a gap: a gap at every chunk the app sends, at a rate off the nominal one (lsl_chunk_rate), is said once,
        counted `rate_off_nominal` (the timestamp fit, restarted at each gap, never sees it)."""
        if self._chunk_rate is None:
            self._chunk_rate = ChunkRate(self._rate)
        true_rate = self._chunk_rate.gap(self._n, after, after < before)
        if true_rate is not None and "rate_off_nominal" not in self.counters:
            self.count("rate_off_nominal")
            starts = [s[0] for s in self._chunk_rate.starts]
            chunk = round((starts[-1] - starts[0]) / (len(starts) - 1))
            _log.warning("lsl_inlet: %s", chunk_rate_said(self._name(), true_rate, self._rate, chunk, after < before))

    def _check_times(self, ts: np.ndarray) -> tuple[bool, int]:
        """Count non-increasing timestamps; return (gap before ts[0], index of the first jump inside ts or 0):
        one period + gap_tolerance forward, or BACK_JUMP_S back (a clock reset) (regular streams only)."""
        full = ts if self._last_ts is None else np.concatenate([[self._last_ts], ts])
        step = np.diff(full)
        split = 0
        gap = False
        if self._rate > 0:
            tol = self.params.gap_tolerance
            jumps = np.flatnonzero((step > 1.0 / self._rate + tol) | (step < -max(tol, BACK_JUMP_S)))
            off = 0 if self._last_ts is None else 1  # step[i] leads to full[i+1] = ts[i + 1 - off]
            gap = bool(off and len(jumps) and jumps[0] == 0)
            inner = jumps[jumps + 1 - off > 0]
            if len(inner):
                split = int(inner[0] + 1 - off)
                step = step[: inner[0]]
        bad = int(np.count_nonzero(step <= 0 if self._rate > 0 else step < 0))  # markers may share a time
        if bad:  # (a clock reset, a step back at the gap, is said as such: _said_jump)
            if "non_monotonic" not in self.counters and bad > int(gap and step[0] < 0):
                _log.warning("lsl_inlet: %s", unordered_said(self._name(), self._rate > 0))
            self.count("non_monotonic", bad)
        if gap:
            self.count("gaps")
            self._said_jump(float(full[0]), float(full[1]))
            self._gap_ts = (float(full[0]), float(full[1]))
            self._check_chunk_rate(float(full[0]), float(full[1]))
        self._last_ts = float(ts[split - 1] if split else ts[-1])
        return gap, split

    def _restart_lost(self) -> None:
        """With recover, after a gap: when the outlet liblsl went on with is a restarted one (the watch saw it), what
        it sent before the first sample the inlet got from it is lost (liblsl reconnects once it finds the new outlet,
        and LSL gives an inlet nothing sent before it connects): counted `restart_lost` (samples at the nominal rate,
        from the outlet's creation) and said, once a restart. Loopback, 250 Hz: about 240 samples (0.96 s)."""
        watch, gap = self._watch, self._gap_ts
        back = watch.back_at if watch is not None else None
        if back is None or gap is None or back in self._lost_said or self._rate <= 0 or self._info is None:
            return
        if self._restart_checked == (back, gap):
            return  # (looked at already: on another host each look is a time_correction query of up to 0.1 s)
        self._restart_checked = (back, gap)
        offset = restart_offset(self._inlet, self._info, self.params.clock_sync)
        if offset is None or not gap[0] < back + offset <= gap[1]:
            return
        self._lost_said.add(back)
        lost_s = gap[1] - (back + offset)
        if (lost := int(round(lost_s * self._rate))) > 0:
            self.count("restart_lost", lost)
            _log.warning("lsl_inlet: %s", restart_lost_said(self._name(), self._info.source_id(), lost, lost_s, gap))
