"""join: align several signal streams by their timestamps (not their arrival order) into one signal.

Inputs: the ports named in `inputs` (default `a`, `b`), each a (channels, samples) signal with its own
rate and clock. Sample i of a chunk is at `t0 + i/rate + offsets[port]` seconds: `offsets` corrects a
known clock offset (streams from lsl_inlet with `clock_sync` are already on this machine's LSL clock,
liblsl's time_correction; XDF replay applies the file's clock offsets).

Output: a signal on the sample grid of the `reference` input (default the first), its channels
followed by every other input's, in `inputs` order (names prefixed `port:` when they collide). The
value of another input at a reference time t is linearly interpolated between its two samples around
t (exact when a sample sits at t, e.g. same rate and clock). Output sample t is emitted once every
input has a sample at or after t, so the output does not depend on how the inputs interleave: the
same in one process as across processes. Reference samples before an input's first sample are
dropped (`before_start`); reference samples after an input's last sample are dropped (`after_end`)
once that input has ended: the runtime says so (`input_ended`) as soon as its end-of-stream arrives
(an LSL outlet lost, a file that ends first), so the node stops waiting for it then, not at the end
of the run (it held the other inputs until then). With `max_wait`, those samples go out at once as
late ones (below) instead.

An input whose content lags its stamps (`StreamSpec.delay`, declared by a resample, fir or istft before it) by
more or less than the reference's is shifted by the difference (on top of `offsets`), so the join lines up
content, not stamps; the output declares the reference's delay (an `align` after it removes it).
The output's passband is honest for every input (the highest highpass, the lowest lowpass, the Nyquist of the
lowest rate as `band`, as MNE's EDF reader stores channels filtered apart), and every input's bad channels stay bad.

`max_wait` (seconds of reference-stream time, default none: wait for ever): once the reference has run
`max_wait` past a sample that some input has not reached yet, the sample goes out with that input's
last value held (NaN before it has any), the output chunk is flagged `gap`, and `late_<port>` counts
the samples. The reference counts as having run as far as the first sample of its newest chunk: the other inputs
fed from the same chunk (the source through a filter and a resample) come after it, and a replay in chunks longer
than `max_wait` held their values (NaN) as late. After an input has ended, only the first chunk that holds its last value is flagged: the
held value does not change after that, and a flag on every chunk would reset every stateful node
downstream for the rest of the run. Gaps: the node flags its outputs itself (`propagates_gaps = False`: the runtime
does not OR an input's gap into whatever the node emits next): a chunk that starts after a gap of the
reference, one whose samples were interpolated across a gap of another input, and late samples. Each
output chunk is one contiguous run of the reference (further runs a chunk completes come from more() at once,
which the runtime calls: holds_more; by hand, call it until {}); runs still pending at the very end after a
reference gap go out one chunk each (`finish_all`, what the runtime calls; `finish()` alone returns the
first and counts the rest `after_break_at_end`). A gap that goes back in time (a restarted source replays
from its start) drops what the node held of that input and starts it again (`time_reset_<port>`). Samples of chunks
without a time (t0 NaN) wait for a later chunk of their segment to stamp them; a gap or the input's end before that drops them, and so
does a chunk whose t0 would stamp them before the samples before their gap (`untimed_dropped_<port>`, TimedBuffer).
Replaying files as fast as possible, sources are read one chunk each in turn: give them
the same `chunk_duration` (or no max_wait) so that none looks late.
Latency: 0 declared (the wait for the slowest input is not a fixed number of samples).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import field, make_dataclass
from typing import Any

import numpy as np
from pydantic import Field, model_validator
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import RATE_RTOL, SpecError, StreamSpec
from wavegraph.pipeline.state import rows

from ..channel_kinds import codes_at, trigger_channels
from .timebuffer import TimedBuffer

_log = logging.getLogger("wavegraph.join")
MAX_CHANNELS = 65536  # as the simulated sources: far above the channels of any recording system


class JoinParams(NodeParams):
    inputs: list[str] = Field(default_factory=lambda: ["a", "b"], description="input port names (2 or more)")
    reference: str | None = Field(None, description="the input whose sample grid the output follows (default first)")
    offsets: dict[str, float] = Field(default_factory=dict, description="seconds added to an input's timestamps")
    max_wait: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="s of reference time to wait for a late input"
    )

    @model_validator(mode="after")
    def _ports(self):
        if len(self.inputs) < 2 or len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"join needs two or more distinct input names, got {self.inputs}")
        for name in self.inputs:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"join input name {name!r} must be an identifier")
        for name in [self.reference, *self.offsets]:
            if name is not None and name not in self.inputs:
                raise ValueError(f"{name!r} is not one of the join's inputs {self.inputs}")
        return self


def _band(specs, rate: float) -> float | None:
    """The highest frequency every input's content can hold (StreamSpec.band): an input at 100 Hz interpolated onto a
    1 kHz grid holds nothing above 50 Hz, as a resample up from 100 Hz would declare; None when all reach rate / 2.
    (The lowest lowpass of channels filtered apart, as MNE's EDF reader stores them.)"""
    band = min(min(s.band or math.inf, s.rate / 2) for s in specs)
    return band if band < rate / 2 * (1 - RATE_RTOL) else None


class Join(Node[JoinParams]):
    """Time-aligned join of several signals onto the reference input's sample grid."""

    inputs = ("a", "b")  # the default; each node takes its ports from `inputs`
    outputs = ("out",)
    Params = JoinParams
    propagates_gaps = False  # the node flags its own outputs (below), not whatever follows an input's gap
    # A chunk holds one run of the reference: the runs after a reference gap that are complete go out at once from
    # more(), not with the next input's chunk (a gap back in time on that chunk dropped them unsaid: b in one chunk lost
    # the run that b in two gave out)
    holds_more = True

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.inputs = tuple(self.params.inputs)
        self.ref = self.params.reference or self.inputs[0]
        self.others = [p for p in self.inputs if p != self.ref]
        self.bufs: dict[str, TimedBuffer] = {}
        self.ended: set[str] = set()  # inputs whose stream has ended (not stream state: a restart keeps it)
        self.held_after_end: set[str] = set()  # ended inputs whose last value went out held (gap flagged once)

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        specs = {p: self.require_input(in_specs, p, "signal") for p in self.inputs}
        for p, s in specs.items():
            if len(s.shape) != 1 or s.rate <= 0:
                raise SpecError(
                    f"join: input '{p}' is a {s.describe()} stream", "join regular (channels, samples) signals", p
                )
        total = sum(specs[p].shape[0] for p in self.inputs)
        if total > MAX_CHANNELS:  # joins of joins double it each time: 24 gave 16 M channels and a 46 s validate
            raise SpecError(
                f"join: the output would have {total} channels ("
                + " + ".join(f"{p}: {specs[p].shape[0]}" for p in self.inputs)
                + f"); at most {MAX_CHANNELS}",
                "join each stream once (a join of joins doubles the channels each time), or pick channels first",
            )
        names = [
            (p, n)
            for p in self.inputs
            for n in (specs[p].channel_names or [f"ch{i}" for i in range(specs[p].shape[0])])
        ]
        plain = [n for _, n in names]
        if len(set(plain)) != len(plain):
            plain = [f"{p}:{n}" for p, n in names]
        # each input's bad channels, under the names they get here (MNE's add_channels keeps every input's bads)
        bads = tuple(o for (p, n), o in zip(names, plain) if n in specs[p].bads)
        types = [t for p in self.inputs for t in (specs[p].channel_types or ("misc",) * specs[p].shape[0])]
        units = {specs[p].units for p in self.inputs}
        self.dtype = np.result_type(*[np.dtype(specs[p].dtype) for p in self.inputs], np.float32)
        lag = specs[self.ref].delay  # an input whose content lags its stamps more or less than the reference's
        self.bufs = {  # (StreamSpec.delay: a resample or fir before it) is shifted by the difference
            p: TimedBuffer(
                specs[p].shape,
                self.dtype,
                specs[p].rate,
                lambda: self.state,
                self.params.offsets.get(p, 0.0) + lag - specs[p].delay,
                prefix=f"{p}_",
            )
            for p in self.inputs
        }
        self._say_other_starts(specs)
        how = "by their codes (each time the first code since the one before, else the last), not interpolated"
        self._stim = {p: trigger_channels(self, specs[p], f"puts input '{p}'", how) for p in self.others}
        fields = self._fresh()
        # One state field per buffer field of every input (a_data, a_times, ..., b_data, ...), plus the
        # time of each other input's first sample (first_b: None until it arrives).
        # An input's held samples and their stamps go together (state.rows: a state of mismatched lengths is refused).
        together = {f"{p}_{k}": p for p in self.inputs for k in ("data", "times")}
        self._state_type = make_dataclass(
            "JoinState", [(k, Any, field(metadata=rows(together[k]))) if k in together else (k, Any) for k in fields]
        )
        self.reset()
        ref = specs[self.ref]
        self.latency_samples = 0
        self.out_specs = {
            "out": StreamSpec(
                "signal",
                ref.rate,
                (len(plain),),
                self.dtype.name,
                tuple(plain),
                tuple(types),
                units.pop() if len(units) == 1 else "",
                meas_date=ref.meas_date,  # the reference's grid and time: a FIF recorder keeps its date (was today's)
                first_time=ref.first_time,
                delay=ref.delay,  # and its content's lag, which the other inputs now share: an align after removes it
                highpass=max(specs[p].highpass for p in self.inputs),  # the narrowest filters any input had, as
                lowpass=min((lp for p in self.inputs if (lp := specs[p].lowpass)), default=None),  # MNE's info
                band=_band(specs.values(), ref.rate),  # and the Nyquist of the lowest rate any input came through
                bads=bads,
            )
        }
        return self.out_specs

    def _say_other_starts(self, specs: dict[str, StreamSpec]) -> None:
        """Two recordings replay each from stream time 0: when their files say they started apart (meas_date plus
        the first sample's time), an input without an offset would be joined that far off its time, unsaid."""
        from datetime import datetime

        start = {}
        for p, s in specs.items():
            try:
                start[p] = datetime.fromisoformat(s.meas_date).timestamp() + s.first_time if s.meas_date else None
            except ValueError:  # a date no file of ours writes: nothing to say
                start[p] = None
        for p in self.others:
            if start[p] is not None and start[self.ref] is not None and p not in self.params.offsets:
                apart = start[p] - start[self.ref]
                if abs(apart) >= 0.5 / specs[self.ref].rate:
                    _log.warning(
                        "join: input '%s' started %.6g s %s input '%s' (their recordings' start times), but each "
                        "replays from time 0, so join lines their first samples up: give offsets: {%s: %.6g} to "
                        "line them up in time",
                        p, abs(apart), "after" if apart > 0 else "before", self.ref, p, apart,
                    )  # fmt: skip

    # --- data -------------------------------------------------------------------------------------
    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        for p, c in inputs.items():
            x = np.asarray(c.data)
            if self.bufs[p].append(x, c.t0, c.gap):  # went back in time: starts again
                self.count(f"time_reset_{p}")
                if p != self.ref:
                    setattr(self.state, f"first_{p}", None)
            if self.bufs[p].untimed_dropped:  # samples without a time before a gap: none can ever be given one
                self.count(f"untimed_dropped_{p}", self.bufs[p].untimed_dropped)
            if p == self.ref and x.shape[-1]:  # how far the reference has run, for max_wait: its newest chunk's start
                self.state.ref_from = float(self.bufs[p].times[-x.shape[-1]])
            if p != self.ref and self.bufs[p].times.size and not _known(self._first(p)):
                setattr(self.state, f"first_{p}", float(self.bufs[p].times[0]))  # (NaN until a chunk has a time)
        return self._emit(final=False)

    def more(self) -> dict[str, Chunk]:
        """The next run of the reference that every input has reached ({} when none is)."""
        ref = self.bufs[self.ref]
        while ref.times.size:
            held = ref.times.size
            if out := self._emit(final=False):
                return out
            if ref.times.size == held:  # (a run of only before_start samples goes on to the next)
                break
        return {}

    def input_ended(self, port: str) -> dict[str, Chunk]:
        self.ended.add(port)
        self._drop_untimed_at_end((port,))
        return self._emit(final=False)

    def _drop_untimed_at_end(self, ports) -> None:
        """Samples of an ended input still without a time can never get one (TimedBuffer.drop_untimed_at_end): kept,
        another input's last timed value was held over the reference after its end, unflagged, not after_end."""
        for p in ports:
            if n := self.bufs[p].drop_untimed_at_end():
                self.count(f"untimed_dropped_{p}", n)

    def finish(self) -> dict[str, Chunk]:
        self._drop_untimed_at_end(self.inputs)
        out = self._emit(final=True)
        self._new_stream()
        return out

    def finish_all(self) -> list[dict[str, Chunk]]:
        """Every run of the reference still held, one chunk each (the runtime calls this at end of stream)."""
        ref, parts = self.bufs[self.ref], []
        self._drop_untimed_at_end(self.inputs)
        while ref.times.size:
            held = ref.times.size
            if out := self._emit(final=True, keep_later=True):
                parts.append(out)
            if ref.times.size == held:
                break
        self._new_stream()
        return parts

    def _new_stream(self) -> None:
        """The stream is over: the next chunk starts a new one, every input open again (one node, many files: the
        second file's samples went on after the first's, stamped after them)."""
        self.reset()
        self.ended.clear()
        self.held_after_end.clear()

    def _emit(self, final: bool, keep_later: bool = False) -> dict[str, Chunk]:
        ref = self.bufs[self.ref]
        t = ref.times
        if not t.size:
            return {}
        if not final and any(np.isnan(self.bufs[p].end_time) for p in self.inputs if p not in self.ended):
            return {}  # an input whose chunks so far came without a time (t0 NaN): wait for one that has it
        ends = {p: np.inf if p in self.ended else self.bufs[p].end_time for p in self.others}
        n_ready = int(np.searchsorted(t, min(ends.values()), side="right"))
        n_late = 0
        if final:
            n_late = t.size  # every input has ended: what is still waiting for one is after its end
        elif self.params.max_wait is not None:
            ran = min(ref.end_time, self.state.ref_from)  # (the others from that chunk come after it)
            n_late = int(np.searchsorted(t, ran - self.params.max_wait, side="right"))
        n = max(n_ready, n_late)
        # A chunk holds one contiguous run: stop at the reference's next break (the rest waits for the
        # next call; at the very end it is dropped and counted), and flag the run that starts one.
        starts_segment = ref.start in ref.breaks
        later = [b - ref.start for b in ref.breaks if b > ref.start]
        if later and later[0] < n:
            if final and not keep_later:  # finish() alone returns one chunk; finish_all() emits the rest
                self.count("after_break_at_end", int(n - later[0]))
            n = later[0]
        if n == 0:
            return {}
        times, keep = t[:n], np.ones(n, dtype=bool)
        for p in self.others:
            if self._first(p) is not None:  # (the oldest held sample, when the reference went back in time)
                held = self.bufs[p].times
                keep &= times >= max(self._first(p), held[0] if held.size else -np.inf)
            elif final or (p in self.ended and self.params.max_wait is None):
                keep[:] = False  # an input that sent nothing: there is nothing to join (with max_wait: NaN, late)
        if not keep.all():
            self.count("before_start", int(np.count_nonzero(~keep)))
        parts = [ref.data[..., :n]]
        gap = starts_segment
        for p in self.others:
            vals, late, straddles = self._values(p, times)
            gap |= bool(np.any(straddles & keep))  # interpolated across samples lost in input p
            late &= keep
            if late.any():
                if final or (p in self.ended and self.params.max_wait is None):
                    self.count("after_end", int(np.count_nonzero(late)))
                    keep &= ~late
                else:
                    self.count(f"late_{p}", int(np.count_nonzero(late)))
                    if p not in self.ended:
                        gap = True
                    elif p not in self.held_after_end:  # an ended input: only its first held chunk is flagged
                        self.held_after_end.add(p)
                        gap = True
            parts.append(vals)
        out = np.concatenate(parts, axis=0)[:, keep]
        t_out = times[keep]
        ref.prune(t[n - 1] + 0.5 / ref.rate)  # drop what went out
        self._prune()
        if not t_out.size:
            return {}
        return {"out": Chunk(np.ascontiguousarray(out), t0=float(t_out[0]), gap=gap)}

    def _values(self, p: str, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input p at `times`: linear interpolation where it has samples on both sides (or at t), else the
        last value held (NaN before any); which times it has not reached; which times fall between two
        of its samples that a gap separates."""
        b = self.bufs[p]
        late = times > b.end_time
        nch = b.shape[0]
        if not b.times.size:
            none = np.ones(times.size, dtype=bool)
            return np.full((nch, times.size), np.nan, dtype=self.dtype), none, ~none
        i = np.clip(np.searchsorted(b.times, times, side="right") - 1, 0, b.times.size - 1)
        j = np.minimum(i + 1, b.times.size - 1)
        span = b.times[j] - b.times[i]
        w = np.where(span > 0, (times - b.times[i]) / np.where(span > 0, span, 1.0), 0.0)
        w = np.clip(w, 0.0, 1.0)  # before the first held sample (dropped anyway) / after the last (held)
        x0, x1 = b.data[:, i], b.data[:, j]
        straddles = np.isin(b.start + j, b.breaks) & (j > i) & (w > 0)
        vals = (x0 + w * (x1 - x0)).astype(self.dtype, copy=False)
        if self._stim[p].size:  # a trigger's codes, not values between two of them
            vals[self._stim[p]] = codes_at(b.data[self._stim[p]], b.times, times, 1.0 / self.bufs[self.ref].rate)
        return vals, late, straddles

    def _prune(self) -> None:
        """Keep, per input, the last sample at or before the next reference time (for interpolation; a trigger input's
        from the time before it, whose codes since then it takes). When
        every reference sample has gone out, the next one comes after the newest (it used to be -inf then:
        nothing was pruned, and the other inputs grew for as long as the run lasted)."""
        ref = self.bufs[self.ref]
        nxt = ref.times[0] if ref.times.size else ref.newest
        for p in self.others:
            b = self.bufs[p]
            # a trigger's code at the next time is the first since the time before it (codes_at): its samples after
            # that are kept (a pulse between two reference times was pruned when its chunk ended before the next one)
            before = nxt - 1.0 / ref.rate if ref.times.size and self._stim[p].size else nxt
            if b.times.size and np.isfinite(before):
                k = int(np.searchsorted(b.times, before, side="right")) - 1
                if k > 0:
                    b.prune(float(b.times[k]))

    # --- state ------------------------------------------------------------------------------------
    def _fresh(self) -> dict[str, Any]:
        fields = {k: v for b in self.bufs.values() for k, v in b.fresh().items()}
        return {**fields, **{f"first_{p}": None for p in self.others}, "ref_from": -np.inf}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """As saved; a state saved before `ref_from` (the start of the reference's newest chunk) as if no chunk had
        come yet (the next one sets it), one saved before `<port>_gap_held` with no gap held."""
        older = {k: v for b in self.bufs.values() for k, v in b.older_state_defaults().items()}
        super().load_state_dict({"ref_from": -np.inf, **older} | dict(state))

    def new_state(self):
        return self._state_type(**self._fresh())

    def _first(self, p: str) -> float | None:
        return getattr(self.state, f"first_{p}")


def _known(t: float | None) -> bool:
    return t is not None and math.isfinite(t)
