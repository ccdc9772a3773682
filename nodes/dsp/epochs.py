"""Online epoching: cut a window (tmin, tmax) of a signal around each marker, as mne.Epochs does.

Inputs: `in` (a signal, (channels, samples) or (bands, channels, samples)) and `events` (marker rows
(onset s, duration s, code) on the same stream clock, e.g. from lsl_inlet, file_source or an XDF file).
The two inputs are aligned by their timestamps, never by arrival order: a marker may arrive before
or after the samples it refers to (up to `max_delay` seconds of stream time after them).

For a marker at time t, the event sample s is the signal sample nearest to t (a tie goes to the even sample, as
MNE's events_from_annotations rounds),
and the epoch is samples [s + round(tmin*rate), s + round(tmax*rate)] inclusive, exactly as
mne.Epochs(raw, events, tmin=tmin, tmax=tmax, baseline=baseline) cuts it (a gap between the marker and the window: the
window's first sample is the one at its time past the gap, TimedBuffer.after; it was counted in samples across the
gap, cut late or early by the gap's length); with `baseline` (a, b), the
mean over the epoch samples whose times lie in [a, b] (None: the epoch's start / end) is subtracted
per channel of the types mne.Epochs corrects (MNE's `mode="mean"`; a trigger's codes, misc, resp, gsr,
temperature are left). A signal whose content lags its stamps (`StreamSpec.delay`, declared by a
resample or fir before this node) is read at its content times (stamp - delay), so the window is the one around
the marker, as mne.Epochs cuts it on a recording resampled or filtered without delay.

Outputs
  out:    features, irregular (rate 0), shape (*signal shape, n_times); a chunk holds the epochs of one marker
          time, (n_epochs, *signal shape, n_times), with t0 = that time (the rows of a chunk share its t0: epochs
          cut at once around several markers go out in turn, the rest at the end by `finish_all`; they all went in
          one chunk at the first one's time, so a recorder's chunk log or a capture put them there).
  events: the marker row (onset, duration, code) of each epoch in `out`, in the same order, with the
          marker stream's labels: the label of each epoch.

Two markers in one sample each get their epoch (mne.Epochs refuses them by default): the first pair is said
(nodes/dsp/marker_repeats.py).
Dropped (counted, never emitted): markers whose window reaches outside the recorded data or before
the stream start (`outside_data`, MNE drops them too; those the signal ended before are said at finish:
nodes/dsp/end_drops.py), windows that contain a gap or start in its missing span, and
markers in that span (`gap_in_epoch`, each said: nodes/dsp/gap_drops.py),
markers that arrive more than `max_delay` s of signal after the start of the signal chunk that holds them
(`late_marker`: live, LSL delivers markers within milliseconds; file_source sends a chunk's markers just after
the chunk, whatever its length; a replay run flat out across processes can deliver the signal a queue
(64 chunks per edge) ahead of the markers: keep max_delay above that),
markers whose code is not in `codes` (`ignored_marker`), markers with a NaN or infinite onset or code
(`bad_marker`), signal samples of chunks without a time (t0 NaN) that a gap or the stream's end comes after before any time does, or
that the next chunk's t0 would stamp before the samples before that gap (`untimed_dropped`, TimedBuffer; a marker waits while the newest samples have no time), and with
`reject_by_annotation` (default true, as MNE's) windows that a marker segment labelled BAD_... overlaps
(`bad_segment`, said once; mne.Epochs' drop_log names it): nodes/dsp/bad_segments.py. A gap whose t0 is not after the
newest sample (a restarted source replays from its start) drops the samples held (`time_reset`) and what was learnt on
the old clock: the markers still waiting, the BAD_ segments held, the newest marker time; markers of the old run that
come after it, and those of a run whose signal never came, are dropped (`time_reset_marker`): nodes/dsp/marker_runs.py.
Latency: round(tmax*rate) samples (the epoch waits for its last sample); where the marker stream has BAD_ labels,
an epoch also waits for a marker at or after its end (or the end of the marker stream, or max_delay s of signal),
since a BAD_ segment that starts inside the window comes after the epoch's own marker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import Field, model_validator
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec
from wavegraph.pipeline.state import rows

from ..io.marker_codes import not_events
from ..marker_groups import first_group, joined
from ..nanpolicy import MAX_STATE_BYTES
from .bad_segments import BadSegments
from .end_drops import say_after_end
from .gap_drops import gap_times, say_gap_drop
from .marker_repeats import SameSample
from .marker_runs import MarkerRuns, fresh
from .marker_select import Selection
from .timebuffer import TimedBuffer


class EpochsParams(NodeParams):
    tmin: float = Field(-0.2, allow_inf_nan=False, description="epoch start relative to the marker (s)")
    tmax: float = Field(0.5, allow_inf_nan=False, description="epoch end relative to the marker (s), inclusive")
    baseline: tuple[float | None, float | None] | None = Field(
        None,
        description="[a, b] seconds whose mean is subtracted per channel (None ends: epoch start/end), of the types "
        "mne.Epochs corrects (data channels, EOG, ECG, EMG, bio; a trigger, misc, resp, temperature left as they are)",
    )
    codes: list[int] | None = Field(
        None, description="marker codes to epoch (default: every marker but BAD_/EDGE segments, as MNE's events)"
    )
    max_delay: float = Field(10.0, ge=0, allow_inf_nan=False, description="how late (s of signal) a marker may arrive")
    reject_by_annotation: bool = Field(
        True, description="drop an epoch a BAD_... marker segment overlaps, as mne.Epochs (counted bad_segment)"
    )

    @model_validator(mode="after")
    def _order(self):
        if self.tmax < self.tmin:
            raise ValueError(f"tmax ({self.tmax}) is before tmin ({self.tmin})")
        return self


@dataclass
class EpochsState:
    """The signal still needed (TimedBuffer fields) and the markers waiting for their window."""

    data: np.ndarray = field(metadata=rows("buffer"))
    times: np.ndarray = field(metadata=rows("buffer"))
    breaks: np.ndarray
    pending: np.ndarray  # (n, 3) marker rows (onset, duration, code), by onset
    bad: np.ndarray  # (n, 3) BAD_ segments (onset, end, code) a window still to come may overlap
    ready: np.ndarray = field(metadata=rows("ready"))  # (n, *signal shape, n_times) epochs cut, not yet out
    ready_rows: np.ndarray = field(metadata=rows("ready"))  # (n, 3) their marker rows
    start: int = 0
    seen: bool = False
    anchor_t0: float = 0.0
    anchor_n: int = 0
    anchors: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # the grids before anchor_n (TimedBuffer)
    newest: float = -np.inf
    gap_held: bool = False  # a gap came on a chunk of no samples: the next samples start a segment (TimedBuffer)
    marked: float = -np.inf  # the newest marker onset that arrived (any code)
    markers_ended: bool = False  # the marker stream ended (input_ended): no segment can still come
    chunk_from: float = -np.inf  # time of the first sample of the newest signal chunk (markers for it may follow)
    markers_newest: float = -np.inf  # the marker stream's newest onset, on its own clock (marker_runs.py)
    old_end: float = np.nan  # the signal reset ahead of the markers: its newest time before (NaN: it did not)
    held: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # markers of a run the signal has not started
    held_until: float = np.nan  # ... taken as they are once the signal reaches it without a reset


class Epochs(Node[EpochsParams]):
    """Cut (tmin, tmax) around each marker; see the module docstring."""

    inputs = ("in", "events")
    outputs = ("out", "events")
    Params = EpochsParams
    propagates_gaps = False  # an epoch is whole or dropped (gap_in_epoch); a gap elsewhere does not flag it
    holds_more = True  # one marker time per chunk: the runtime takes the others from more() at once

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        sig = self.require_input(in_specs, "in", "signal")
        ev = self.require_input(in_specs, "events", "events")
        p = self.params
        if sig.rate <= 0:
            raise SpecError("epochs: the signal has no sample rate", "connect a regular signal to 'in'")
        self.rate = sig.rate
        self.i0, self.i1 = int(round(p.tmin * sig.rate)), int(round(p.tmax * sig.rate))
        n_times = self.i1 - self.i0 + 1
        self.mask = slice(0, n_times)
        if p.baseline is not None:
            self.mask = self._baseline_samples(sig.rate, p.baseline)
        self._base = _baselined(sig)
        dtype = sig.dtype if np.dtype(sig.dtype).kind in "fc" else "float64"  # (complex: was cast to real, unsaid)
        self._check_buffer(sig, np.dtype(dtype).itemsize)
        # a signal whose content lags its stamps (a resample or fir before: StreamSpec.delay) is read at its content
        # times, so the window is the one around the marker, as mne.Epochs cuts it (it was `delay` late)
        self.buf = TimedBuffer(sig.shape, dtype, sig.rate, lambda: self.state, -sig.delay)
        self._epoch = np.zeros((0, *sig.shape, n_times), dtype)  # (an empty `ready`)
        self.bad = BadSegments(ev.labels, p.reject_by_annotation, "epochs")
        self._labels = dict(ev.labels)  # a marker's label, said with an epoch dropped at a gap
        self._repeats = SameSample()  # two markers in one sample: both epoched, said once (marker_repeats.py)
        self.runs = MarkerRuns(lambda: self.state, p.max_delay)  # which markers a time reset leaves to the old run
        # the markers to epoch, as (codes, keep those): those in `codes`, or all but BAD_/EDGE segments' (None: all)
        self._selection = Selection(p.codes, ev.labels)
        if p.codes is not None:
            self._select = (np.asarray(p.codes, np.int64), True)
        elif skipped := not_events(ev.labels):
            self._select = (np.asarray(sorted(skipped), np.int64), False)
        else:
            self._select = None
        self.reset()
        self.latency_samples = max(self.i1, 0)
        self.out_specs = {
            "out": StreamSpec(
                "features", 0.0, (*sig.shape, n_times), dtype, sig.channel_names, sig.channel_types, sig.units
            ),
            "events": ev,
        }
        return self.out_specs

    def _baseline_samples(self, rate: float, baseline: tuple[float | None, float | None]) -> slice:
        """The epoch samples whose times lie in the baseline [a, b], as mne.Epochs' rescale picks them (times >= a and
        <= b; an end one sample past the epoch allowed, as its _check_baseline). a and b were rounded to the nearest
        sample, which could be outside them: (-0.103, 0) at 250 Hz took the sample at -0.104 into the mean."""
        times = np.arange(self.i0, self.i1 + 1) / rate  # the epoch's sample times, as mne.Epochs' times
        a = times[0] if baseline[0] is None else baseline[0]
        b = times[-1] if baseline[1] is None else baseline[1]
        inside = np.flatnonzero((times >= a) & (times <= b))
        if not inside.size or a < times[0] - 1 / rate or b > times[-1] + 1 / rate:
            raise SpecError(
                f"epochs: baseline {baseline} is not inside the epoch [{self.params.tmin}, {self.params.tmax}] s",
                f"give a baseline [a, b] with tmin <= a <= b <= tmax that holds a sample (the epoch's samples are at "
                f"{times[0]:.6g} s and every {1 / rate:.6g} s to {times[-1]:.6g} s)",
            )
        return slice(int(inside[0]), int(inside[-1]) + 1)

    def _check_buffer(self, sig: StreamSpec, itemsize: int) -> None:
        """SpecError when the samples held for an epoch and a late marker (max(tmax, 0) - min(tmin, 0) + max_delay
        seconds, see _prune) need over 1 GiB: `tmax: 1e7` buffered every sample until the machine ran out of memory."""
        p = self.params
        seconds = max(p.tmax, 0.0) + max(-p.tmin, 0.0) + p.max_delay
        per_sample = int(np.prod(sig.shape)) * itemsize + 8  # + its time stamp
        need = (seconds * sig.rate + 2) * per_sample
        if need > MAX_STATE_BYTES:
            longest = (MAX_STATE_BYTES / per_sample - 2) / sig.rate
            # the terms of `seconds` that count (tmin: 1e9, tmax: 1e9 was said as "tmax - tmin + max_delay = 1e9 s")
            span = "tmax - tmin" if p.tmin < 0 < p.tmax else "tmax" if p.tmax > 0 else "-tmin" if p.tmin < 0 else ""
            held = f"{span} + max_delay" if span else "max_delay"
            raise SpecError(
                f"epochs holds {held} = {seconds:g} s of the signal ({int(np.prod(sig.shape))} "
                f"channels at {sig.rate:g} Hz): {need / 2**30:.3g} GiB of buffer; at most 1 GiB",
                f"keep {held} at most {longest:.6g} s here (times are in seconds)",
            )

    # --- data -------------------------------------------------------------------------------------
    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        if "events" in inputs:
            rows = np.asarray(inputs["events"].data, dtype=np.float64).reshape(-1, 3)
            ok = np.isfinite(rows[:, 0]) & np.isfinite(rows[:, 2])  # no time to cut at, or no code
            if not ok.all():
                self.count("bad_marker", int(np.count_nonzero(~ok)))
                rows = rows[ok]
            rows, old, forget = self.runs.markers(rows, inputs["events"].gap, self.state.newest)
            if len(old):  # markers of the run before a time reset of the signal: its samples are gone
                self._drop_old(self._selected(old))
            self._take_markers(rows, forget)
        if "in" in inputs:
            c = inputs["in"]
            x = np.asarray(c.data)
            newest = self.state.newest
            if back := self.buf.append(x, c.t0, c.gap):  # a gap back in time (a restarted source): held samples dropped
                self.count("time_reset")
            if (reset := self.runs.signal(back, newest, self.state.newest)) is not None:  # the old clock forgotten
                drop_to, rows = reset
                st = self.state
                old = st.pending[:, 0] <= drop_to
                self._drop_old(st.pending[old])
                st.pending, st.bad = st.pending[~old], st.bad[st.bad[:, 0] > drop_to]
                self._take_markers(rows, True)
            if self.buf.untimed_dropped:  # samples without a time before a gap: none can ever be given one
                self.count("untimed_dropped", self.buf.untimed_dropped)
            if x.shape[-1]:  # a chunk's markers come after it (file_source): lateness counts from its first sample
                self.state.chunk_from = float(self.buf.times[-x.shape[-1]])
        return self._cut(final=False)

    def _take_markers(self, rows: np.ndarray, forget: bool) -> None:
        """Marker rows of the signal's run (after forgetting the newest marker time of an old clock, `forget`): the
        BAD_ segments and the newest time noted, the markers to epoch waiting."""
        st = self.state
        if forget:
            st.marked = -np.inf
        if not len(rows):
            return
        st.bad, st.marked = self.bad.note(rows, st.bad, st.marked)
        pending = np.concatenate([st.pending, self._selected(rows)])
        st.pending = pending[np.argsort(pending[:, 0], kind="stable")]

    def _selected(self, rows: np.ndarray) -> np.ndarray:
        """The rows to epoch (`codes`), the others counted ignored_marker."""
        if self._select is None:
            return rows
        codes, listed_ones = self._select
        keep = np.isin(rows[:, 2], codes) == listed_ones  # (2.5 is no code 2: it was cast to int and matched it)
        self._selection.note(rows[:, 2], keep, self)
        if not keep.all():
            self.count("ignored_marker", int(np.count_nonzero(~keep)))
        return rows[keep]

    def _drop_old(self, rows: np.ndarray) -> None:
        if len(rows):
            self.count("time_reset_marker", len(rows))

    def input_ended(self, port: str) -> dict[str, Chunk]:
        if port == "events":  # no BAD_ segment can come any more: the epochs waiting for one are decided
            self.state.markers_ended = True
        else:
            self._drop_untimed_at_end()
        return self._cut(final=False)

    def _drop_untimed_at_end(self) -> None:
        """Samples still without a time when the signal ends can never get one (TimedBuffer.drop_untimed_at_end):
        kept, finish cut a marker after the timed samples from them."""
        if n := self.buf.drop_untimed_at_end():
            self.count("untimed_dropped", n)

    def finish(self) -> dict[str, Chunk]:
        """Every epoch still held, in one chunk at the first one's marker time (each row's own in `events`): by hand,
        finish() after the last process() gave the first marker time's and lost the rest unsaid. The runtime calls
        finish_all(), one marker time per chunk."""
        return joined(self.finish_all(), ("out", "events"))

    def _gap(self, lo: int, hi: int, at: float | None = None) -> tuple[float, float] | None:
        """The times around the gap inside samples (lo, hi), or whose missing span holds `at` (gap_drops.py)."""
        buf = self.buf
        return gap_times(buf.breaks.tolist(), lambda i: float(buf.times[i - buf.start]), buf.start, lo, hi, at)

    def _cut(self, final: bool) -> dict[str, Chunk]:
        buf, half, st = self.buf, 0.5 / self.rate, self.state
        epochs, rows, ended = [], [], []  # ended: markers whose window the signal never completed (said at finish)
        while len(st.pending):
            onset = st.pending[0, 0]
            if not final and not buf.end_time >= onset - half:  # (NaN: the newest samples have no time yet)
                break  # the event sample has not arrived yet, or may be among samples a later t0 stamps
            s = buf.nearest(onset) if buf.times.size else -1
            if s >= buf.n_total and not final:  # half a sample past the newest: the tie rounds to the next sample
                break
            if s < 0 or s >= buf.n_total or abs(buf.times[s - buf.start] - onset) > half + 1e-9:  # not on a held sample
                row, st.pending = st.pending[0], st.pending[1:]
                if (gap := self._gap(0, 0, onset)) is not None:  # in a gap's missing span: was said outside_data
                    say_gap_drop(self, "gap_in_epoch", "epoch", onset, row[2], self._labels, gap)
                    continue
                late = buf.start > 0 and buf.times.size and onset < buf.times[0]
                self.count("late_marker" if late else "outside_data")
                if final and not late and (not buf.times.size or onset > buf.end_time):  # after the last sample
                    ended.append(row[[0, 2]])
                continue
            lo = buf.after(s, self.i0)  # the window's first sample; past a gap from the marker, the one at its time
            if lo is None:  # the window starts in a gap's missing span: no sample has its time
                row, st.pending = st.pending[0], st.pending[1:]
                gap = self._gap(0, 0, float(buf.times[s - buf.start]) + self.i0 / self.rate)
                say_gap_drop(self, "gap_in_epoch", "epoch", onset, row[2], self._labels, gap)
                continue
            hi = lo + self.i1 - self.i0 + 1
            if not final and hi > buf.n_total:
                break  # wait for the end of the window
            span = self._span(lo, hi) if 0 <= buf.start <= lo and hi <= buf.n_total else None
            if (
                not final
                and span
                and not self.bad.known(span[1], st.marked, self._ended, st.chunk_from, self.params.max_delay)
            ):
                break  # a BAD_ segment starting inside the window may still come
            row, st.pending = st.pending[0], st.pending[1:]
            self._repeats.note(self, s, float(row[0]), float(row[2]), self._labels, "epoch")
            hit = self.bad.hit(st.bad, *span) if span and not buf.has_break(lo, hi) else None
            if lo < 0 or hi > buf.n_total:
                self.count("outside_data")
                if lo >= 0:  # the signal ended before the window did (MNE: TOO_SHORT)
                    ended.append(row[[0, 2]])
            elif lo < buf.start:
                self.count("late_marker")
            elif buf.has_break(lo, hi):
                say_gap_drop(self, "gap_in_epoch", "epoch", float(row[0]), row[2], self._labels, self._gap(lo, hi))
            elif hit is not None:
                self.count("bad_segment")
                self.bad.say(st.bad, hit, float(row[0]), "epoch")
            else:
                x = buf.take(lo, hi)
                if self.params.baseline is not None and self._base is None:
                    x = x - x[..., self.mask].mean(axis=-1, keepdims=True)
                elif self.params.baseline is not None:  # not a trigger's codes, a temperature (as mne.Epochs)
                    x = np.array(x, copy=True)
                    x[..., self._base, :] -= x[..., self._base, self.mask].mean(axis=-1, keepdims=True)
                epochs.append(np.array(x, copy=True))
                rows.append(row)
        self._prune()
        span = f"marker {self.params.tmin:+g} s to {self.params.tmax:+g} s"
        say_after_end(self, "outside_data", "epoch", ended, self._labels, buf.newest, span)
        if epochs:
            st.ready = np.concatenate([st.ready, np.stack(epochs)])
            st.ready_rows = np.concatenate([st.ready_rows, np.asarray(rows, dtype=np.float64)])
        return self._take()

    @property
    def _ended(self) -> bool:
        """No BAD_ segment of the markers' current run can come: the stream ended, or it went back in time."""
        return self.state.markers_ended or self.runs.holding

    def reset(self) -> None:
        super().reset()
        self._repeats.forget()  # a new stream: its sample indices start again

    def _take(self) -> dict[str, Chunk]:
        """The epochs of the oldest marker time cut and not yet out, one chunk per port ({} when none is)."""
        st = self.state
        if not len(st.ready_rows):
            return {}
        t0 = float(st.ready_rows[0, 0])
        k = first_group(st.ready_rows[:, 0])
        out = {"out": Chunk(st.ready[:k].copy(), t0=t0), "events": Chunk(st.ready_rows[:k].copy(), t0=t0)}
        st.ready, st.ready_rows = st.ready[k:], st.ready_rows[k:]
        return out

    def more(self) -> dict[str, Chunk]:
        return self._take()

    def finish_all(self) -> list[dict[str, Chunk]]:
        """The epochs still to cut and those held, each marker time's in its own chunk."""
        self._drop_untimed_at_end()
        self._drop_old(self._selected(self.runs.drop_held()))  # markers of a run whose signal never came
        first = self._cut(final=True)
        self._selection.say(self, "epoch")  # `codes` that matched no marker: said, with the codes they had
        out = [first, *iter(self._take, {})]
        self.reset()  # the stream is over: the next chunk starts a new one (its epochs were cut from this one's samples)
        return out

    def _prune(self) -> None:
        """Keep what a marker up to max_delay late, or a pending one, still needs. Late from the newest chunk's first
        sample, not its last: the markers of a chunk longer than max_delay (a replay at chunk_duration: 60, or one
        chunk of the whole file) come after it and were found late, their epochs lost to that chunking."""
        buf = self.buf
        if not buf.times.size or np.isnan(buf.end_time):  # the newest samples have no time yet: what is needed neither
            return
        before = max(-self.params.tmin, 0.0) + 1.0 / self.rate  # the window start and the event sample
        keep_from = min(buf.end_time, self.state.chunk_from) - self.params.max_delay - before
        if len(self.state.pending):
            keep_from = min(keep_from, self.state.pending[0, 0] - before)
        k = int(np.searchsorted(buf.times, keep_from))
        if 0 < k < buf.times.size and buf.start + k in buf.breaks:  # the last sample before a gap the rest starts
            keep_from = float(buf.times[k - 1])  # after is kept, so a window starting in the gap is one (gap_in_epoch;
        buf.prune(keep_from)  # with none of that segment held, an on-time marker's was counted late_marker)
        if buf.times.size:
            self.state.bad = self.bad.prune(self.state.bad, float(buf.times[0]))

    def _span(self, lo: int, hi: int) -> tuple[float, float]:
        """The times of samples lo and hi (held: lo; hi on lo's grid, as MNE's start / sfreq and stop / sfreq)."""
        st, buf = self.state, self.buf
        if lo >= st.anchor_n:  # the grid the buffer stamps the segment with, so a replay's k / rate exactly
            return float(buf.times[lo - buf.start]), st.anchor_t0 + buf.offset + (hi - st.anchor_n) / self.rate
        t_lo = float(buf.times[lo - buf.start])
        return t_lo, t_lo + (hi - lo) / self.rate

    # --- state ------------------------------------------------------------------------------------
    def new_state(self) -> EpochsState:
        empty = {"ready": self._epoch.copy(), "ready_rows": np.zeros((0, 3))}
        return EpochsState(**self.buf.fresh(), pending=np.zeros((0, 3)), bad=np.zeros((0, 3)), **empty, **fresh())

    def load_state_dict(self, state: dict) -> None:
        """As saved; a state saved before reject_by_annotation (no `bad`, `marked`, `markers_ended`) resumes with
        no segment held, one saved before `chunk_from` as if no chunk had come yet (the next one sets it), one saved before
        `ready` with no epoch waiting to go out, one saved before `gap_held` with no gap held, one saved before
        `markers_newest` (marker_runs.py) with no time reset under way."""
        old = {"bad": np.zeros((0, 3)), "marked": -np.inf, "markers_ended": False, "chunk_from": -np.inf}
        old |= MarkerRuns.older_state(state)
        old |= self.buf.older_state_defaults()
        old |= {"ready": self._epoch.copy(), "ready_rows": np.zeros((0, 3))}
        super().load_state_dict(old | dict(state))
        self._repeats.forget()


# the channel types mne.Epochs baseline-corrects (its data channels and EOG, ECG, EMG, bio: _detrend_picks); a stim
# channel's codes, misc, resp, gsr, temperature, syst and chpi channels are left as they are
BASELINED = ("eeg", "meg", "mag", "grad", "ref_meg", "seeg", "dbs", "ecog", "fnirs", "eog", "ecg", "emg", "bio")


def _baselined(sig: StreamSpec) -> np.ndarray | None:
    """The channels (last axis of the signal's shape) `baseline` corrects, as mne.Epochs does; None: all of them (a
    stream of no types, or of none mne.Epochs corrects: every channel misc, as an LSL stream that gives no types)."""
    types = sig.channel_types
    if not sig.shape or len(types) != sig.shape[-1] or all(t in BASELINED for t in types):
        return None
    base = np.array([t in BASELINED for t in types])
    return base if base.any() else None
