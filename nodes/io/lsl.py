"""Lab Streaming Layer (LSL) inlet, through pylsl (which ships liblsl); the outlet is in lsl_outlet.py. What the inlet
makes of a stream's description is in lsl_layout.py, its checks on what it reads in lsl_checks.py, its start in
lsl_start.py, its parameters in lsl_params.py.

lsl_inlet (live source): consumes one LSL stream, found by `name` and/or `type` (and `source_id`).
  Numeric streams become signals (channels, samples); the spec comes from the stream info: channel
  count, names/types/units from `desc/channels/channel/{label,type,unit}` when present (else ch0, ch1,
  ... and the stream type; a type that is no MNE channel type is "misc"), the nominal rate, and the
  dtype (float32 stays float32; double and integer formats become float64). Microvolt and millivolt
  channels ('uV', 'uVolts', 'micro-volts', ...) are scaled to volts (MNE's unit, as the XDF reader does; units "V"
  when all are voltages). A label that repeats becomes LABEL-0, LABEL-1, ... (MNE's rule; counted
  `duplicate_channel_labels`). `units` gives the unit of channels the stream gives none for; voltage channels without
  one (or typed EEG... by desc/channels in no voltage: ADC counts) whose values beyond 1 V are said (`unit_missing`).
  String (marker) streams (at any nominal rate: markers are sparse) become events: rows (LSL timestamp,
  marker_duration (0), code) -- the project's marker stream (see docs/nodes.md, "Marker streams"); a sample of several
  channels is one marker, its non-empty channels joined by '/' ('cue', 'left' -> 'cue/left', as the XDF reader;
  marker_codes.marker_text). A marker that is a decimal integer (ASCII digits, a sign, spaces around) is its own code;
  other markers are looked up in the outlet's `desc/events` table (what lsl_outlet writes) and then in the
  `marker_codes` param (also without the spaces and line ends around it: "7.5\n" is "7.5"); markers found in neither
  are counted (`unknown_marker`) and dropped (the first few distinct ones logged as a warning). A value that is not
  UTF-8 (pylsl passes on the bytes sent) is read with U+FFFD for its bad bytes and looked up also as Windows-1252 text,
  counted `invalid_utf8` and said once (lsl_markers.py). A one-channel numeric
  stream of irregular rate (integer markers, as many stimulus programs send them) is a marker stream too: each value
  that is an integer is its code, another's text (7.5: "7.5") is looked up as a string marker's (unless typed as a
  signal, EEG..., or its desc/channels says one: EEG, uV). With `rate`, a numeric stream published at rate 0
  (Timeflux's lsl Send) is a signal at that rate. A code beyond +-2**53 (not exact in the float64 rows) is an unknown
  marker. MNE-LSL Player's annotations (type 'annotations', one channel per description, the value its duration) are
  events too, coded as file_source codes the recording's annotations (marker_codes.codes_for).
  Time: chunk t0 is on the LSL clock (local_clock() domain, seconds), so every downstream chunk and
  every lsl_outlet with `timestamps: stream` stays on it. `clock_sync` adds the estimated offset to the
  sender's clock (liblsl's time_correction). A marker's time is its LSL timestamp. A signal chunk's t0
  is the time of its first sample on a line fitted to the stream's timestamps (lsl_time.TimestampFit:
  exponentially weighted least squares of timestamp vs sample index, `smoothing_halftime`, restarted
  at each gap): it follows the timestamps, so an amplifier whose real rate is off its nominal one
  (clock drift) stays aligned with the markers, without their jitter. The spec keeps the nominal rate:
  within a chunk samples are 1/rate apart, and a chunk's t0 + n/rate meets the next chunk's t0 to
  within n times the period's error (64 us for 32 samples of a 500 Hz stream 1000 ppm off); the
  nodes that stamp from a first t0 plus a count (epochs, join, resample, stft...) follow each chunk's t0. `dejitter` is liblsl's own smoothing
  (it also smooths over gaps). Timestamps that do not increase (markers: that go back) are counted
  (`non_monotonic`); a jump of more than `gap_tolerance` seconds beyond one sample period flags the
  chunk as a gap (`gaps`).
  A stream whose timestamps run more than 5 % off its nominal rate (5 s into a segment, or over the gaps of an app that
  declares a rate it does not send, one at every chunk pylsl back-dates at it: lsl_chunk_rate.py) is logged
  once and counted `rate_off_nominal`: the graph takes its samples at the nominal rate.
  What a misbehaving stream does is logged (naming it, with the fix) and counted: a signal silent for 5 s
  (or 3 periods of a slower one: `stalls`, and when it sends again), NaN/inf values (`nonfinite`, each channel named
  once; passed on), timestamps NaN/inf (`bad_timestamps`: given the time of the samples before them), a step back of
  over 0.25 s (`clock_back`) or a jump off the LSL clock (`clock_off`; a signal's first sample, or its first after a
  gap, also over 1 s ahead of it: in the future), the first gaps, the first non-increasing timestamps, and a backlog
  of 2 s in liblsl's buffer (`behind`: liblsl drops what exceeds `buffer_s`; not the start a worker kept of a stream
  that appeared while the graph waited: lsl_checks._start_backlog).
  End of stream: after `duration` seconds of stream time or `max_samples` samples (the last chunk is
  trimmed to the limit), or the run's duration (`wavegraph run --duration`) of a stream received from before the graph
  started (one that appeared while the graph waited: _cap_run), when nothing arrived for `idle_timeout` seconds, or when the outlet goes away
  (pylsl LostError; liblsl then drops every sample the inlet had received but not yet pulled: measured,
  all 1500 of a 6 s burst read after the outlet was gone; a graph that lags loses that much of the
  end; stopping the run before the outlet ends the recording cleanly) -- unless `recover: true`:
  then liblsl waits for an outlet of the same source id to come back and reconnects to it (an amplifier
  that drops out for a moment); the samples after it are flagged as a gap (their time stamps jump), what a restarted
  outlet sent before liblsl reconnected to it is counted `restart_lost` and said (lsl_restart.py), and
  `idle_timeout` still ends a stream that does not come back (liblsl's 5 s wait, with clock_sync, for the clock offset
  of an outlet gone before it had it is such a silence: `clock_sync_timeout`, said). An outlet back with another layout, or (while
  a signal is silent; once a marker stream's outlet is gone, 5 s after it went) one of its name and type started
  later on its host under a new source_id (liblsl never reconnects to either), is said and ends the stream
  (`outlet_changed`). `ends_with_others: true` ends it when every other source of its process has ended (the marker
  inlet of configs/bci_ssvep.yaml).
  The inlet opens its data stream in the run's process (at open(), when the graph starts; a worker, once configured,
  for a stream that appeared while the graph waited: lsl_start.appeared; else at the first read()), so an outlet that waits for consumers starts sending only once the graph is
  about to run; LSL gives it nothing sent before, so a stream that appears while the graph waits for it misses its
  start, said (`missed_start`; lsl_start.py). A read waits up to `wait` s for data; the runner reads the sources of
  one process in turn, so a sparse marker inlet beside an EEG inlet should poll (`wait: 0`), or the EEG waits behind it.

Discovery: liblsl reads the config file named by the env var LSLAPICFG when first used; the repo's
configs/lsl_api.cfg keeps everything on loopback (set LSLAPICFG before the first import of pylsl).
"""

from __future__ import annotations

import logging
import math
from typing import Any, cast

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Source
from wavegraph.pipeline.result import run_duration
from wavegraph.pipeline.spec import CHANNEL_TYPES, SpecError, StreamSpec

from .lsl_checks import CLOCK_OFF_S, UNIT_CHECK_S, InletChecks
from .lsl_clock_prime import ClockPrime
from .lsl_config import discovery_note
from .lsl_info import (
    MARKER_TYPE,
    RestartWatch,
    clock_far,
    describe_streams,
    import_pylsl,
    near_misses,
    nonfinite_said,
    off_clock,
    onehot_markers,
    outlet_gone_said,
    resolve,
    stall_said,
    unrecoverable_said,
    warn_unknown,
)
from .lsl_layout import read_layout
from .lsl_markers import invalid_utf8_said, legacy_text, marker_values, with_nfc
from .lsl_params import LslInletParams, check_buffer
from .lsl_start import TwinWatch, appeared, find_stream, missed_start_said, receive, twins_error
from .lsl_time import TimestampFit
from .marker_codes import marker_code

_log = logging.getLogger("wavegraph.lsl")
AMBIGUITY_WAIT_S = 0.8  # how long configure() listens for a second stream matching the query
RECHECK_S = 1.0  # with `recover`, how often an idle inlet looks for its outlet back with another layout
STALL_S = 5.0  # s: a signal stream silent this long (its outlet still there, or `recover`) is said, once a silence


class LslInlet(Source[LslInletParams], InletChecks):
    """Consume an LSL stream (by name/type) as a live signal or events source."""

    outputs = ("out",)
    live = True
    needs_device = True  # configure() waits for the stream
    Params = LslInletParams

    def declared_specs(self, in_specs):
        """Without the stream (`wavegraph validate` without --devices): a marker inlet (`type: Markers`) is
        an events stream; a signal inlet that declares `channels` and `rate` is a float64 signal of those
        (when the stream opens, its own dtype, channel types and units are used); otherwise None
        (unchecked)."""
        p = self.params
        if p.type == MARKER_TYPE:
            labels = tuple(sorted((c, s) for s, c in p.marker_codes.items()))
            return {"out": StreamSpec("events", 0.0, (3,), "float64", labels=labels)}
        if p.channels is None or p.rate is None:
            return None
        names = tuple(p.channels) if isinstance(p.channels, list) else tuple(f"ch{i}" for i in range(p.channels))
        stream_type = (p.type or "").lower()
        ch_type = stream_type if stream_type in CHANNEL_TYPES else "misc"
        return {"out": StreamSpec("signal", float(p.rate), (len(names),), "float64", names, (ch_type,) * len(names))}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._info = None
        self._inlet = None
        self._twins: TwinWatch | None = None  # the listen for a second matching stream still to ask (open())
        self._opened: float | None = None  # LSL clock: when the data stream was opened (in configure(), in a worker)
        self._until: float | None = None  # LSL clock: markers stamped from then on are beyond the run (_cap_run)
        self._watch: RestartWatch | None = None  # with recover: looks for the outlet back changed
        self._prime: ClockPrime | None = None  # clock_sync: the clock offset asked for at open(), off the loop
        self.ends_with_others = self.params.ends_with_others
        self.reset()

    def configure(self, in_specs):
        pylsl = import_pylsl()
        p = self.params
        query = (("name", p.name), ("type", p.type), ("source_id", p.source_id))
        pred = " and ".join(f"{k}='{v}'" for k, v in query if v)
        seen: list = []  # every stream seen meanwhile, when none matches
        # the parent's stream by its uid, else the query (lsl_start); a twin is listened for here or, for a stream
        # that appeared meanwhile, from here until open()
        search = find_stream(pylsl, resolve, pred, p.resolve_timeout, seen, AMBIGUITY_WAIT_S)
        found, self._since = search.streams, search.since
        if not found:
            # what the wait saw may be a part (a short resolve_timeout on a busy machine): one full wave more, merged
            more = {i.uid(): i for i in pylsl.resolve_streams(wait_time=1.0)}
            visible = list({**{i.uid(): i for i in seen}, **more}.values())
            near = near_misses({k: v for k, v in query if v}, visible)
            raise SpecError(
                f"lsl_inlet: no LSL stream with {pred} within {p.resolve_timeout:g} s; "
                f"visible streams: {describe_streams(visible)}",
                f"{near} (LSL matches them exactly)"
                if near
                else f"start the outlet first, fix name/type, or raise resolve_timeout; {discovery_note()}",
            )
        if len(found) > 1:
            raise twins_error(p, pred, found)
        check_buffer(p.buffer_s, float(found[0].nominal_srate()), found[0].name())
        self.close()
        self._twins = TwinWatch(pylsl, pred, AMBIGUITY_WAIT_S) if search.twins else None
        flags = (pylsl.proc_clocksync if p.clock_sync else 0) | (pylsl.proc_dejitter if p.dejitter else 0)
        # recover=False: a vanished outlet raises LostError (our end of stream) instead of a silent wait;
        # recover=True: liblsl reconnects when an outlet of the same source id comes back.
        try:
            self._inlet = pylsl.StreamInlet(found[0], max_buflen=p.buffer_s, recover=p.recover, processing_flags=flags)
        except (RuntimeError, ValueError) as e:  # liblsl refuses a description it cannot use (a rate of NaN or inf)
            raise SpecError(
                f"lsl_inlet: liblsl cannot open the stream with {pred} ({e}); it reads its description as "
                f"{describe_streams(found)}",
                "fix the stream's settings in the sending app (a nominal rate that is a number >= 0)",
            ) from e
        # the run's process (pinned) receives at once a stream that appeared while the graph waited; else at the start
        self._opened = receive(pylsl, self._inlet) if search.pinned and appeared(found[0], search.since) else None
        try:
            info = self._info = self._inlet.info(timeout=p.resolve_timeout)  # the full info, with desc
        except (pylsl.util.TimeoutError, pylsl.util.LostError) as e:
            raise SpecError(
                f"lsl_inlet: stream {pred} was found but its description did not arrive ({e})",
                "check that the outlet is still running",
            ) from e
        if self._watch is not None:  # configured again
            self._watch.close()
        self._watch = RestartWatch(pylsl, info, pinned=bool(p.source_id)) if p.recover else None
        if p.recover and not info.source_id():  # liblsl recovers only a stream that has one
            self.count("unrecoverable")
            _log.warning("lsl_inlet: %s", unrecoverable_said(info.name()))
        lay = read_layout(self, pylsl, info, p)
        self._onehot, self._codes, self._unitless = lay.onehot, with_nfc(lay.codes), lay.unitless  # (NFC: lsl_markers)
        self._unit_left = max(1, int(round(UNIT_CHECK_S * lay.rate)))  # (_check_unit)
        self._is_markers, self._dtype, self._scale = lay.is_markers, lay.dtype, lay.scale
        rate = lay.rate
        self._rate = 0.0 if self._is_markers else rate  # markers at a nominal rate are no less sparse: no gaps
        self._every_sample = self._is_markers and rate > 0  # a marker channel: "" (no marker) at every other sample
        self._limit, self._until = p.max_samples, None  # (the run's duration may lower them: open())
        if p.duration is not None and self._rate > 0:
            lim = int(round(p.duration * rate))
            self._limit = lim if self._limit is None else min(self._limit, lim)
        self.latency_samples = 0
        self.out_specs = {"out": lay.spec}
        return self.out_specs

    def open(self):
        """When the graph starts: the data stream opened at once (liblsl buffers from then), not at the first pull."""
        if self._inlet is None or self._info is None:
            return
        opened = self._opened if self._opened is not None else receive(import_pylsl(), self._inlet)
        if self.params.clock_sync:  # liblsl measures it when first asked (~0.64 s), at the first data it held the loop
            self._prime = ClockPrime(import_pylsl(), self._inlet)
        said = missed_start_said(self._info, self._since, opened)
        if self._twins is not None:  # a stream that appeared while configure() waited: a twin listened for meanwhile
            twins, self._twins = self._twins, None
            twins.check(self.params)
        if said:
            self.count("missed_start")
            _log.warning("lsl_inlet: %s", said)
        if self._opened is not None:  # received from before the graph started: its start, kept
            self._start_backlog()
            if (run_s := run_duration()) is not None:
                self._cap_run(run_s, float(import_pylsl().local_clock()) - self._opened)

    def _cap_run(self, run_s: float, early_s: float) -> None:
        """A run of `run_s` s (wavegraph run --duration) whose stream was received from `early_s` s before the graph
        started (it appeared while the graph waited: a worker opened it at configure): the run's timer counts from the
        start, so that backlog came on top (--duration 2 recorded 3.5 s); it ends after `run_s` s of the stream now
        (a signal: that many samples; markers: stamped within it of the data stream's opening)."""
        if self._rate > 0:
            lim = int(round(run_s * self._rate))
            self._limit = lim if self._limit is None else min(self._limit, lim)
        elif self._opened is not None:
            self._until = self._opened + run_s
        _log.info(
            "lsl_inlet: stream '%s' is received from %.2f s before the graph started (it appeared while the graph "
            "waited): it ends after the run's duration, %g s, of it",
            self._name(),
            early_s,
            run_s,
        )

    # --- state ---------------------------------------------------------------------------------
    def reset(self):
        """Forget the timing state (the runner flags a restart as a gap). While the inlet is open, the
        run's budget (samples so far, first timestamp: max_samples, duration) and data already
        pulled stay: a restart must not extend the stream or drop samples."""
        if self._inlet is None:
            self._n = 0
            self._first_ts: float | None = None
            self._held: tuple[np.ndarray, np.ndarray] | None = None
        self._last_ts: float | None = None
        self._fit: TimestampFit | None = None  # the chunk-time fit of the current segment (signals)
        self._chunk_rate = None  # the starts of the last segments, at gaps (lsl_checks._check_chunk_rate)
        self._idle_since, self._recheck_s = None, RECHECK_S  # idle since; idle time of `recover`'s next check
        self._watch_until = self._watched_at = -math.inf  # monotonic: the restart watch after a gap (_restart_seen)
        self._done = False
        self._warned: set[str] = set()  # unknown markers already logged
        self._stalled = False  # the current silence was said (STALL_S)
        self._nonfinite: set[int] = set()  # channels whose NaN/inf were said
        self._jumps_said = self._gaps_said = 0
        self._gap_ts, self._lost_said = None, set()  # the last gap's timestamps; restarts whose loss was said
        self._restart_checked = None  # the (restart, gap) _restart_lost last looked at (once each: a clock query)
        self._behind, self._backlog_at = False, -math.inf  # the current backlog was said; when last looked at

    def state_dict(self):
        return {"n_samples": self._n, "first_ts": self._first_ts, "last_ts": self._last_ts}

    def load_state_dict(self, state):
        self._n = int(state["n_samples"])
        self._first_ts, self._last_ts = state["first_ts"], state["last_ts"]
        self._fit = None  # the chunk-time fit starts again from the next samples

    # --- data ----------------------------------------------------------------------------------
    def read(self):
        limit = getattr(self, "_limit", None)
        if self._done or (limit is not None and self._n >= limit):  # also when resumed past the limit
            return self._end()
        pylsl = import_pylsl()
        if self._inlet is None:
            raise RuntimeError("lsl_inlet: read() before configure() (or after close())")
        p = self.params
        if self._held is not None:  # the part after a timestamp jump, kept back by the last read
            (data, ts), self._held = self._held, None
        else:
            want = p.chunk_size if self._limit is None else min(p.chunk_size, self._limit - self._n)
            asked = pylsl.local_clock()
            try:
                # pylsl has no annotations (its inferred return includes None): as_numpy gives two arrays
                data, ts = cast(
                    "tuple[np.ndarray, np.ndarray]",
                    self._inlet.pull_chunk(timeout=p.wait, max_samples=want, min_samples=1, as_numpy=True),
                )
            except pylsl.util.LostError:
                self.count("outlet_lost")
                _log.warning("lsl_inlet: %s", outlet_gone_said(self._info, p.recover))
                return self._end()
            except pylsl.util.TimeoutError:  # clock_sync: no clock offset from an outlet gone again (lsl_checks)
                self._offset_timeout()
                data, ts = np.empty((0, 0)), np.empty(0)
                self._idle_since = asked if self._idle_since is None else self._idle_since
            now = pylsl.local_clock()
            if len(ts) == 0:
                if self._idle_since is None:
                    self._idle_since = now
                if p.idle_timeout is not None and now - self._idle_since >= p.idle_timeout:
                    self.count("idle_timeout")
                    _log.warning(
                        "lsl_inlet: stream '%s' ended: nothing arrived for %g s (idle_timeout)",
                        self._name(),
                        p.idle_timeout,
                    )
                    return self._end()
                stall_s = max(STALL_S, 3.0 / self._rate) if self._rate > 0 else STALL_S  # a 0.1 Hz stream waits 10 s
                if not self._is_markers and not self._stalled and now - self._idle_since >= stall_s:
                    self._stalled = True  # markers are sparse by nature: only a signal's silence is said
                    self.count("stalls")
                    sid = self._info.source_id() if self._info is not None else ""
                    silent = now - self._idle_since
                    _log.warning("lsl_inlet: %s", stall_said(self._name(), silent, self._n == 0, p, sid))
                if p.recover and now - self._idle_since >= self._recheck_s:
                    self._recheck_s += RECHECK_S
                    # what the watch has seen (an outage must not hold it); a silent marker stream's outlet is no gone
                    # one: it is when the watch no longer sees it (a stimulus app restarted under a new source_id)
                    watch = self._watch
                    if self._outlet_changed(0.0, silent=not self._is_markers or (watch is not None and watch.gone())):
                        return self._end()
                return {}
            if self._stalled:
                self._stalled = False
                silent = now - (self._idle_since if self._idle_since is not None else now)
                _log.warning("lsl_inlet: stream '%s' sends again, after %.1f s without data", self._name(), silent)
            self._idle_since, self._recheck_s = None, RECHECK_S
            self._check_backlog()
            ts = np.asarray(ts, dtype=np.float64)
            if not np.isfinite(ts).all():
                ts = self._filled(ts, now)
        if self._first_ts is None or self._is_markers:  # a signal's first timestamp; every marker's (one may be off)
            self._first_ts = float(ts[0]) if self._first_ts is None else self._first_ts
            off = (ts if self._is_markers else ts[:1]) - pylsl.local_clock()
            if p.clock_sync and (far := clock_far(off, self._is_markers, CLOCK_OFF_S)).any():  # Unix time; ahead
                if "clock_off" not in self.counters:
                    _log.warning("lsl_inlet: %s", off_clock(self._info, float(off[far][0]), CLOCK_OFF_S))
                self.count("clock_off", int(far.sum()))
        if self._is_markers and (end := self._markers_end()) is not None:
            keep = ts < end
            if not keep.all():
                data, ts, self._done = data[keep], ts[keep], True
                if len(ts) == 0:
                    return self._end()
        gap, split = self._check_times(ts)
        if p.recover and self._restart_seen(gap):
            return self._end()
        if p.recover:
            self._restart_lost()  # a restarted outlet's first samples, sent before liblsl reconnected (lsl_restart)
        if split:
            self._held = (data[split:], ts[split:])
            data, ts = data[:split], ts[:split]
        self._n += len(ts)
        if self._limit is not None and self._n >= self._limit:
            self._done = True
        if self._is_markers:
            if self._onehot:
                out = self._events(*onehot_markers(data, ts, self._onehot))
            else:
                values, alts, broken = marker_values(data)  # (bytes that are not UTF-8: lsl_markers)
                if broken is not None:
                    self._say_invalid_utf8(broken, alts)
                out = self._events(values, ts, alts=alts)
            if out is None:
                return None if self._done else {}
            return {"out": Chunk(out, float(ts[0]), gap=gap)}
        if self._fit is None:
            self._fit = TimestampFit(self._rate, p.smoothing_halftime)
        if gap:
            self._fit.restart()
        x = np.ascontiguousarray(np.asarray(data, dtype=self._dtype).T)
        if self._scale is not None:
            x *= self._scale
        if self._unitless is not None:
            self._check_unit(x)
        bad = ~np.isfinite(x)
        if bad.any():  # an electrode off, an amplifier overrange, an app's fill value: passed on, counted, said
            self.count("nonfinite", int(np.count_nonzero(bad)))
            nonfinite_said(_log, self._nonfinite, self._name(), self.out_specs["out"].channel_names, bad)
        t0 = self._fit.add(ts)
        self._check_rate()
        return {"out": Chunk(x, t0, gap=gap)}

    def _markers_end(self) -> float | None:
        """The time a marker stream ends at: `duration` after its first marker, or the run's (_cap_run), or None."""
        ends = [] if self._until is None else [self._until]
        if self.params.duration is not None and self._first_ts is not None:
            ends.append(self._first_ts + self.params.duration)
        return min(ends, default=None)

    def _end(self):
        self._done = True
        self._held = None
        return None

    def _say_invalid_utf8(self, first: bytes, alts: list[str | None]) -> None:
        """Count the markers of a pull that are not valid UTF-8; say it once a stream (lsl_markers)."""
        if "invalid_utf8" not in self.counters:
            _log.warning("lsl_inlet: %s", invalid_utf8_said(self._name(), first, legacy_text(first)))
        self.count("invalid_utf8", sum(a is not None for a in alts))

    def _events(self, markers, ts, durations=None, alts=None) -> np.ndarray | None:
        """Event rows of `markers` at `ts` (`alts`: a marker's Windows-1252 text, looked up when it has no code)."""
        rows, p = [], self.params
        for i, (m, t) in enumerate(zip(markers, ts)):
            code = marker_code(m, self._codes)
            if code is None and alts is not None and alts[i] is not None:  # bytes that were not UTF-8
                code = marker_code(alts[i], self._codes)
            if code is None:  # (beyond 2**53 the float64 row would change it)
                if self._every_sample and isinstance(m, (str, bytes)) and not m.strip():  # "no event" in between
                    self.count("empty_marker")
                    continue
                self.count("unknown_marker")
                shown = alts[i] if alts is not None and alts[i] is not None else m  # (the text marker_codes takes)
                warn_unknown(_log, self._warned, self._name(), shown)
                continue
            rows.append((t, (durations[i] if durations is not None else 0.0) or p.marker_duration, float(code)))
        return np.asarray(rows, dtype=np.float64) if rows else None

    def finish_all(self):
        """What a stop that ended this source found held: the samples after a timestamp jump that the last read kept
        back for the next (they were dropped unsaid), each run after a jump in its own chunk, flagged gap."""
        outs = []
        while self._held is not None and not self._done and (out := self.read()):
            outs.append(out)
        return outs or [{}]

    def close(self):
        if self._twins is not None:
            self._twins.close()
            self._twins = None
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if self._prime is not None:
            self._prime, prime = None, self._prime
            prime.wait()
        if self._inlet is not None:
            try:
                self._inlet.close_stream()
            finally:
                self._inlet = None
