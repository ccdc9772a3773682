"""ssvep_decoder (sliding windows) and ssvep_trial_decoder (one window per stimulus marker): SSVEP decisions
from EEG, emitted as an events (marker) stream. The trial decoder is documented on its class; use it with
the DNN, whose windows must be stimulus-locked (it learns the response phase relative to the onset).

Input ``in``: an EEG signal ``(channels, samples)``. The node picks ``channels`` (by name; default all, or
the checkpoint's for the DNN), runs its own **causal** sub-band filter bank over the continuous stream
(Chebyshev type I band-passes as second-order sections, state carried across chunks: order 4 per edge,
0.5 dB ripple, bands [8n-2, 90] Hz for FBCCA; for the DNN the bands and filter stored in its checkpoint,
order 2 per edge, 1 dB ripple), cuts windows of ``window`` seconds every ``step`` seconds, and scores
every window:

* ``method: fbcca`` -- filter-bank CCA (models/ssvep.py), no training; score = sum_n w(n) rho_n(f)^2.
* ``method: dnn`` -- the Deep-SSVEP DNN (models/ssvep_dnn.py) from ``checkpoint`` (written by
  ``wavegraph train ssvep``); score = softmax probability. The window length, rate, channels, freqs and
  sub-bands come from the checkpoint (a mismatch with the stream or with a given `freqs` is a SpecError).

Outputs:

* ``out``: events ``(n, 3)`` rows ``(onset, duration, code)``, one per window: onset = window start
  (stream clock), duration = window length, code = 1 + index of the winning frequency; the spec's labels
  map each code to the frequency as text (``"6"``, ``"7.5"``), so an ``lsl_outlet`` sends the frequency
  as the marker string.
* ``scores``: features ``(windows, n_freqs)`` at ``rate / step``, stamped at the window start (column
  names ``"6Hz"``, ...).

Latency: ``window - 1`` samples (a window is scored once its last sample arrives and stamped at its
start, as ``sliding_window``). Gaps: a chunk flagged ``gap`` resets the filters and drops the partial
window (counted ``samples_dropped_at_gap``), so no window spans a gap: the windows that would have are
skipped, counted ``windows_lost_at_gap`` (in the run's summary); windows re-anchor at the chunk's
t0. So do their stamps at a chunk whose t0 is off the grid (a live amplifier's clock drifting against its nominal
rate), as sliding_window's. A stream that ends (after its start or its last gap) before one window is complete gets no decision there:
its samples are counted ``samples_short_of_window`` and it is said. NaN/Inf: ``nan_policy`` zero (default) or propagate (a window that held one has NaN scores and no
decision, counted ``undecided_nonfinite``, as a window a filter overflowed in, or one its scorer gave a NaN score). A window whose input is constant
on every picked channel or whose first sub-band is under 0.1 nV RMS (no signal: a flat or zeroed stretch, the
filters' ringing after one once under that) gets NaN scores and no decision, counted
``undecided_flat`` (nodes/models/ssvep_flat.py). Offline equivalent: ``models.ssvep.filter_bank`` on the whole signal from zero state, then the
scorer on ``y[..., k*hop : k*hop + size]`` for every k (tested, streaming == whole at rtol 1e-9).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from scipy.signal import sosfilt
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..channel_kinds import trigger_channels
from ..dsp.bad_segments import BadSegments
from ..dsp.end_drops import say_after_end
from ..dsp.marker_repeats import SameSample
from ..dsp.marker_runs import MarkerRuns, RunsState
from ..dsp.marker_select import Selection
from ..dsp.room import Room
from ..io.marker_codes import not_events
from ..marker_groups import joined
from ..nanpolicy import (
    all_finite,
    check_window_size,
    chunk_data,
    sanitize,
    signal_input,
    stream_start,
)
from .common import resolve_device, torch_threads
from .ssvep_channels import channels_problems, core, data_channels, missing_channels
from .ssvep_checks import check_bands, check_cca_window, check_freqs, saved_filter_state
from .ssvep_flat import Moved, floor_of, quiet, say_flat, say_short
from .ssvep_markers import TrialMarkers
from .ssvep_params import SSVEPDecoderParams, SSVEPTrialDecoderParams
from .ssvep_ready import Ready
from .ssvep_samples import Samples as _Samples  # (tests import it from here)
from .ssvep_trials import TrialDecisions
from .weights_fingerprint import (
    CHECKPOINT_KEY,
    WEIGHTS_KEY,
    check_weights,
    config_fingerprint,
    node_fingerprint,
    output_config,
)


def _freq_label(f: float) -> str:
    return f"{f:g}"


P = TypeVar("P", bound=SSVEPDecoderParams)


class _SSVEPBase(Node[P]):
    """Shared set-up: the scorer (FBCCA or the DNN), its causal sub-band filters and the channel pick."""

    outputs = ("out", "scores")

    def check_params(self) -> list[tuple[str, str, str]]:
        return channels_problems(self.params.channels)

    def _weights_state(self) -> dict:
        """The DNN's fingerprints, for state_dict(): a state of another checkpoint of the same shapes (other weights, or
        the same weights with other sub-band edges in its config) is refused at load."""
        if self.params.method != "dnn":
            return {}
        return {WEIGHTS_KEY: node_fingerprint(self, self.model), CHECKPOINT_KEY: config_fingerprint(self._output_cfg())}

    def _output_cfg(self) -> dict:
        """The DNN checkpoint's config but its training-only values (dropouts, the training windows' delay)."""
        return output_config(self.model.cfg, leave_out=("p1", "p2", "delay"))

    def _check_weights(self, state: dict) -> None:
        """DNN: ValueError for a state saved with another checkpoint of the same shapes (weights_fingerprint.py)."""
        if self.params.method == "dnn":
            who, where = self.type_name or type(self).__name__, str(self.params.checkpoint)
            check_weights(state, self, self.model, who, where, config=self._output_cfg())

    def _setup(self, in_specs) -> StreamSpec:
        if said := self.check_params():  # whatever the stream, as validate says it behind a device (at channels' line)
            raise SpecError(*said[0][1:])
        spec = signal_input(self, in_specs, channels=False)  # (no channel: said with the `channels` to set, below)
        p = self.params
        name = self.type_name or "ssvep decoder"
        if len(spec.shape) != 1:
            raise SpecError(
                f"{name} needs a (channels, samples) signal, got shape {spec.shape}",
                "connect the EEG before any filterbank: the decoder runs its own causal sub-bands",
            )
        if np.dtype(spec.dtype).kind == "c":  # the cast to float64 would drop the imaginary part without a word
            raise SpecError(f"{name} needs a real-valued EEG signal, got {spec.dtype}", "connect the EEG itself")
        if p.method == "fbcca":
            self._setup_fbcca(spec)
        else:
            self._setup_dnn(spec)
        self._pick = self._channel_index(spec, self._channels)
        self._nch = len(self._pick)
        if self._nch == 0:  # every window then scored as noise: a decision a second from no data
            raise SpecError(
                f"{name} has no channel to decode: the stream has {spec.shape[0]}, `channels` picks {self._nch}",
                "connect the EEG and set `channels` to the occipital ones (or null for every channel)",
            )
        self._rate = spec.rate
        types = [spec.channel_types[i] for i in self._pick] if spec.channel_types else []
        self._floor = floor_of(spec.units, types)  # a window's first sub-band under it: no signal, no decision
        self._size = int(round(min(self._window * spec.rate, 2.0**62)))  # 1e308 s: inf samples, an OverflowError
        # `window: 100000` (samples meant, seconds read) buffered every sample until the machine ran out of memory
        check_window_size(f"{name} window", self._size, len(self._sos) * self._nch, 8, spec.rate)
        if self._size < 2:  # a trial window of 0 samples was scored on its whole pre-roll (a slice [-0:]), unsaid
            raise SpecError(
                f"{name} window {self._window:g} s is under 2 samples at {spec.rate:g} Hz",
                "use a longer window (1 s or so)",
                param="window",
            )
        check_cca_window(name, p.method, self._size, self._nch, spec.rate)  # every frequency scored alike: refused
        self._labels = tuple((i + 1, _freq_label(f)) for i, f in enumerate(self._freqs))
        self._score_names = tuple(f"{_freq_label(f)}Hz" for f in self._freqs)
        return spec

    def _setup_fbcca(self, spec):
        from wavegraph.models.ssvep import FBCCA, fbcca_bands

        p = self.params
        assert p.freqs is not None  # the params validator requires freqs for fbcca
        check_bands(spec.rate, p.n_bands)
        try:
            bands = fbcca_bands(spec.rate, p.n_bands)
            self.scorer = FBCCA(list(p.freqs), spec.rate, p.harmonics, bands)
            self.scorer._ref_bases(2)  # checks every frequency is below Nyquist
        except ValueError as e:
            raise SpecError(str(e), "drop those `freqs`, or resample the stream to a higher rate first") from e
        check_freqs(p.freqs, spec.rate)  # at or above the sub-bands' top edge: filtered out, never chosen
        self._freqs = list(self.scorer.freqs)
        self._sos = self.scorer.sos
        self._window = p.window if p.window is not None else 1.0
        self._channels = p.channels
        self._score = lambda frames: np.stack([self.scorer.scores(f) for f in frames])

    def _setup_dnn(self, spec):
        from wavegraph.models import ssvep_dnn
        from wavegraph.models.checkpoint import CheckpointError

        p = self.params
        try:
            self.model, meta = ssvep_dnn.load(p.checkpoint)
        except (CheckpointError, OSError) as e:
            raise SpecError(str(e), "point `checkpoint` at weights written by `wavegraph train ssvep`") from e
        cfg = self.model.cfg
        if abs(cfg.rate - spec.rate) > 1e-9:
            raise SpecError(
                f"the DNN was trained at {cfg.rate:g} Hz, the stream is {spec.rate:g} Hz",
                f"resample the stream to {cfg.rate:g} Hz before the decoder",
            )
        if p.freqs is not None and [float(f) for f in p.freqs] != list(cfg.freqs):
            raise SpecError(
                f"freqs {p.freqs} differ from the checkpoint's {cfg.freqs}",
                "drop `freqs` (the checkpoint defines them) or train for these frequencies",
            )
        if p.window is not None and abs(p.window - cfg.n_samples / cfg.rate) > 0.5 / cfg.rate:
            raise SpecError(
                f"window {p.window:g} s differs from the checkpoint's {cfg.n_samples / cfg.rate:g} s",
                "drop `window` or train a model for this window length",
            )
        given = list(p.channels) if p.channels is not None else None
        by_core = {core(c): c for c in given or []}
        if (
            given is not None
            and len(by_core) == len(given)
            and sorted(by_core) == sorted(core(c) for c in cfg.channels)
        ):
            given = [by_core[core(c)] for c in cfg.channels]  # the checkpoint's channels in another order: its order
        spelt = given is not None and [core(c) for c in given] == [core(c) for c in cfg.channels]
        if given is not None and given != list(cfg.channels) and not spelt:
            raise SpecError(
                f"channels {p.channels} differ from the checkpoint's {cfg.channels}",
                "drop `channels` (the checkpoint defines them), or give the stream's names of the checkpoint's channels "
                "(e.g. 'O1..' for O1)",
            )
        self.device = resolve_device(p.device)
        self.model.to(self.device)
        self._freqs = list(cfg.freqs)
        self._sos = ssvep_dnn.design_dnn_bank(cfg)
        self._window = cfg.n_samples / cfg.rate
        self._channels = list(given if spelt and given else cfg.channels)  # the stream's spelling of them
        self._score = self._predict_each
        # torch sets a model up at its first call (35.8 ms for the 1 s ensemble with its crops here, 4.7 after): do it
        # now, not on the session's first decision, with as many windows as a decision with its crops takes
        n = 1 + 2 * ssvep_dnn.decision_crops(cfg)
        self._predict(np.zeros((n, len(self._sos), len(cfg.channels), cfg.n_samples), np.float32))

    def _predict(self, frames, crops: int = 0):
        """The DNN's softmax for windows `frames` (see models.ssvep_dnn.predict_proba), on `threads` torch threads."""
        from wavegraph.models.ssvep_dnn import predict_proba

        with torch_threads(self.params.threads):
            return predict_proba(self.model, frames, self.device, crops=crops)

    def _predict_each(self, frames):
        """`_predict` one window at a time, as a live stream's chunk completes them: torch's float32 layers round a
        window differently with the number of windows beside it, so a whole file's windows in one batch and the same
        windows one per chunk gave scores 9.4e-6 apart (the 40-class shipped checkpoints on a DC offset, silence then
        EEG, int16-scale noise; stated rtol 1e-5 / atol 1e-6), and a decision between two scores that close could
        flip. One window per call gives every chunking the same bits."""
        return np.concatenate([self._predict(frames[i : i + 1]) for i in range(len(frames))])

    def _channel_index(self, spec: StreamSpec, names) -> list[int]:
        if names is None:  # the data channels (no trigger, EOG, misc), as MNE's picks="data"; said at INFO
            stim = set(trigger_channels(self, spec, "leaves out", "(a trigger's codes are no EEG to decode)").tolist())
            if stim and len(stim) == spec.shape[0]:
                raise SpecError(
                    f"ssvep decoder {self.node_id!r}: every channel of its input is a trigger (typed stim): no EEG",
                    "connect the EEG (a trigger channel beside it is left out), or name them with `channels`",
                )
            return data_channels(self, spec, stim)  # (an EOG, ECG, misc left out too, said at INFO)
        if not spec.channel_names:
            raise SpecError(
                "`channels` needs a stream with channel names", "drop `channels` or name the channels", param="channels"
            )
        missing = [c for c in names if c not in spec.channel_names]
        if missing:  # PhysioNet's EDFs pad names with dots ('O1..'), others add 'EEG ', '-REF' or change the case
            raise missing_channels(spec, names, missing, self.params.method == "dnn", self.node_id)
        return [spec.channel_names.index(c) for c in names]


class SSVEPDecoder(_SSVEPBase[SSVEPDecoderParams]):
    """Sliding-window SSVEP decoder (see the module docstring)."""

    Params = SSVEPDecoderParams

    def configure(self, in_specs):
        spec = self._setup(in_specs)
        p = self.params
        self.in_specs = dict(in_specs)
        step = p.step if p.step is not None else min(0.25, self._window)
        self._hop = int(round(min(step * spec.rate, 2.0**62)))  # (as the window's)
        if self._hop < 1:
            raise SpecError(f"step {step:g} s is under 1 sample at {spec.rate:g} Hz", "use a longer step")
        if self._hop > self._size:
            raise SpecError(
                f"step {step:g} s is longer than the window {self._window:g} s", "use a step no longer than the window"
            )
        self.latency_samples = self._size - 1
        self._lag = spec.delay  # content lags stamps (a resample or fir before): decisions' onsets at content times
        self.out_specs = {
            "out": StreamSpec("events", 0.0, (3,), "float64", labels=self._labels),
            "scores": StreamSpec(
                "features",
                spec.rate / self._hop,
                (len(self._freqs),),
                "float64",
                self._score_names,
                units="a.u.",
                delay=spec.delay,  # windows of a delayed signal lag their stamps as it does (as sliding_window's)
            ),
        }
        self.reset()
        return self.out_specs

    # --- state -------------------------------------------------------------------------------
    def reset(self):
        self._zi = [np.zeros((sos.shape[0], self._nch, 2)) for sos in self._sos]  # sosfilt layout, per band
        self._buf = np.zeros((len(self._sos), self._nch, 0))  # filtered samples from the next window start on
        self._k = 0  # windows emitted since the last reset
        self._t_first = None
        self._moved = Moved()  # which buffered samples moved: a window of constant input gets no decision
        self._room = Room()  # where chunks go after _buf (a concatenate of all of it: 0.8x real time, 256 ch)

    def state_dict(self):
        return {
            "zi": np.stack(self._zi),
            "buf": self._buf.copy(),
            "k": self._k,
            "t_first": self._t_first,
            **self._moved.state(),
            **self._weights_state(),
        }

    def load_state_dict(self, state):
        # checked whole before anything is taken (a refused 'last' had replaced zi, buf and k already)
        zi, buf, moved = saved_filter_state(state, (len(self._sos), self._sos[0].shape[0], self._nch, 2), self._size)
        self._check_weights(state)
        self._zi, self._buf, self._moved, self._k = list(zi), buf, moved, int(state["k"])
        self._t_first = None if state["t_first"] is None else float(state["t_first"])

    def _windows(self, y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, int]:
        """Append filtered samples (bands, channels, n); return the complete windows (None if none), which of them
        had constant input (no signal) and the first one's index."""
        buf = self._room.append(self._buf, y, self._size + self._hop)
        n_win, k0 = (buf.shape[-1] - self._size) // self._hop + 1 if buf.shape[-1] >= self._size else 0, self._k
        frames = (
            np.stack([buf[..., j * self._hop : j * self._hop + self._size] for j in range(n_win)]) if n_win else None
        )
        flat = self._moved.flat(n_win, self._hop, self._size)
        self._buf = self._room.shrink(buf[..., n_win * self._hop :], self._size + self._hop)  # (not a big chunk's room)
        self._moved.drop(n_win * self._hop)
        self._k += n_win
        return frames, flat, k0

    # --- data --------------------------------------------------------------------------------
    def process(self, inputs):
        c = inputs["in"]
        if c.gap and self._t_first is not None:  # before the empty-chunk return: a gap on no samples still resets
            held = self._buf.shape[-1]  # from the next window's start: every window starting in it spans the gap
            self.count("samples_dropped_at_gap", held)
            self.count("windows_lost_at_gap", -(-held // self._hop))
            self.reset()
        x = chunk_data(c, (self.in_specs["in"].shape[0],), np.dtype(np.float64))
        if x is None:
            return {}
        # the first chunk's t0, and again whenever a chunk's t0 is off that grid: a live amplifier whose clock drifts
        # against its nominal rate (lsl_inlet stamps chunks from the LSL timestamps), so decisions keep its times
        self._t_first = stream_start(self._t_first, c, (self._k * self._hop + self._buf.shape[-1]) / self._rate)
        x = x[self._pick]
        x, mask = sanitize(self, x, self.params.nan_policy)
        self._moved.append(x)
        y = np.empty((len(self._sos), *x.shape))
        for b, sos in enumerate(self._sos):
            y[b], self._zi[b] = sosfilt(sos, x, axis=-1, zi=self._zi[b])
        if not all_finite(y):  # finite input near the float max overflowed a filter: its windows get no decision,
            self.count("overflow", int(np.count_nonzero(~np.isfinite(y))))  # and inf must not stay in the state
            self._zi = [np.zeros_like(z) for z in self._zi]
        if mask is not None:
            y[:, mask] = np.nan
        frames, flat, k0 = self._windows(y)
        if frames is None:
            return {}
        starts = self._t_first + (k0 + np.arange(frames.shape[0])) * self._hop / self._rate
        bad = ~np.isfinite(frames).all(axis=(1, 2, 3))
        if bad.any():  # a NaN (propagate) or an overflow in the window: NaN scores, no decision, counted
            self.count("undecided_nonfinite", int(bad.sum()))
        flat |= quiet(frames[:, 0], self._floor)
        if (flat := flat & ~bad).any():  # no signal: the scores would be 0s or the filters' ringing
            say_flat(self, int(flat.sum()), float(starts[np.argmax(flat)]) - self._lag, "window")
            bad |= flat
        scores = np.full((frames.shape[0], len(self._freqs)), np.nan)
        if (~bad).any():
            scores[~bad] = self._score(np.ascontiguousarray(frames[~bad]))
            if (unscored := ~bad & ~np.isfinite(scores).all(axis=1)).any():  # (a DNN whose weights went NaN):
                self.count("undecided_nonfinite", int(unscored.sum()))  # no argmax of NaN (code 1 from nothing)
                scores[unscored], bad = np.nan, bad | unscored
        out = {"scores": Chunk(scores, float(starts[0]), c.seq, c.gap, c.eos, c.origin_ns)}
        ok = np.flatnonzero(~bad)
        if ok.size:
            codes = 1 + np.argmax(scores[ok], axis=1)
            ev = np.column_stack([starts[ok], np.full(ok.size, self._size / self._rate), codes]).astype(np.float64)
            ev[:, 0] -= self._lag  # a marker's onset is a content time (as the markers it is compared with)
            out["out"] = Chunk(ev, float(ev[0, 0]), c.seq, c.gap, c.eos, c.origin_ns)
        return out

    def finish(self):
        held = self._buf.shape[-1]
        if self._k == 0 and held:  # a recording (or its part after the last gap) shorter than one window: no decision
            self.count("samples_short_of_window", held)
            say_short(self, held / self._rate, self._window)
        self.reset()  # the stream is over: the next chunk starts a new one (its first window took this one's samples)
        return {}


class SSVEPTrialDecoder(TrialMarkers, TrialDecisions, _SSVEPBase[SSVEPTrialDecoderParams]):
    """One decision per stimulus marker: the window [marker + delay, + window] (stimulus-locked, as the DNN
    is trained), filtered causally from zero state starting `pre` s before the marker (as
    `wavegraph train ssvep` and the benchmark filter their trials). Inputs: ``in`` (EEG signal) and
    ``events`` (marker rows); aligned by time, not arrival order (the samples are kept `max_delay` s).
    Outputs as ``ssvep_decoder``: ``out`` events (onset = marker time, duration = window, code = 1 + the
    chosen frequency's index), ``scores`` irregular features (one row per decision, t0 = marker time).
    Dropped and counted: markers whose window spans a gap (``gap_in_trial``, each said: nodes/dsp/gap_drops.py), or
    holds a NaN (nan_policy propagate) or overflows the filters (``undecided_nonfinite``), whose window has no signal
    (constant on every channel, or under 0.1 nV: ``undecided_flat``), that arrive after their
    pre-roll left the kept data (``late_marker``), whose window starts before the stream's first sample
    (``outside_data``), whose window the signal ended before (``after_end``, said at finish: nodes/dsp/end_drops.py),
    whose code is not in `codes` (``ignored_marker``), or whose
    onset or code is NaN or infinite (``bad_marker``), signal samples of chunks without a time (t0 NaN) that a gap comes
    after before any time does, or that the next chunk's t0 would stamp before the samples before that gap
    (``untimed_dropped``, as epochs and join: Samples in nodes/models/ssvep_samples.py), every held signal sample at a
    gap whose t0 is not after them (the stream went back in time: a restarted source replays from its start;
    ``time_reset``, as join's ``time_reset_<port>``; the markers still waiting, the BAD_ segments held and the newest
    marker time are forgotten, and markers of the old run that come after it are dropped, ``time_reset_marker``, as in
    epochs: nodes/dsp/marker_runs.py; a marker after it whose window starts before the new samples is ``late_marker``,
    its pre-roll only ``short_preroll``), and with `reject_by_annotation` (default true, as MNE's) those
    whose samples [marker - pre, end of the window) a BAD_... marker segment overlaps (``bad_segment``, said once:
    mne.Epochs(raw, events, -pre, delay + window - 1 / rate) drops the same; nodes/dsp/bad_segments.py, which also
    says how long a decision then waits for the marker stream); a
    marker less than `pre` after the stream start or a gap is filtered from there (``short_preroll``: an epochs file's
    trials, each after a gap; a gap inside the window itself is ``gap_in_trial``, and so is a window that starts in a
    gap's missing span, its marker before the gap or in it; a window that starts after the gap is cut at its own times
    there, its pre-roll from the gap on). Latency: (delay + window) s after the marker.
    With ``method: dnn`` at windows of 0.8-1.5 s the decision is the mean softmax over the window and the windows
    ``models.ssvep_dnn.decision_crops`` samples earlier and later (6.25 ms, one sample at 160 Hz; as the benchmark
    decides), so it waits that much longer.
    """

    Params = SSVEPTrialDecoderParams
    inputs = ("in", "events")
    holds_more = True  # one marker time per chunk: the runtime takes the others from more() at once

    def configure(self, in_specs):
        spec = self._setup(in_specs)
        ev = self.require_input(in_specs, "events", "events")
        p = self.params
        self.in_specs = dict(in_specs)
        self._n_delay = int(round(p.delay * spec.rate))
        self._n_pre = int(round(p.pre * spec.rate))
        if p.method == "dnn":  # the DNN decides on the mean softmax over windows shifted -k..k samples (k: its rule)
            from wavegraph.models.ssvep_dnn import decision_crops

            self._crops = min(decision_crops(self.model.cfg), self._n_pre + self._n_delay)  # within the pre-roll
        else:
            self._crops = 0
        self._keep = int(round((p.max_delay + p.pre + p.delay) * spec.rate)) + self._size + self._crops
        check_window_size(
            "ssvep_trial_decoder's kept signal (max_delay + pre + delay + window)", self._keep, self._nch, 8, spec.rate
        )
        self.latency_samples = self._n_delay + self._size + self._crops - 1
        self._marker_labels = dict(ev.labels)
        self._skipped = not_events(ev.labels) if p.codes is None else set()  # a BAD_ segment starts no trial
        self._bad = BadSegments(ev.labels, p.reject_by_annotation, "ssvep_trial_decoder")
        self._selection = Selection(p.codes, ev.labels)  # `codes` that match no marker: said at the end
        self._repeats = SameSample()  # two markers in one sample: both decided, said once (dsp/marker_repeats.py)
        self._keep += 2 if self._bad.active else 0  # a trial waiting max_delay for BAD_ markers: its pre-roll held
        self.out_specs = {
            "out": StreamSpec("events", 0.0, (3,), "float64", labels=self._labels),
            "scores": StreamSpec("features", 0.0, (len(self._freqs),), "float64", self._score_names, units="a.u."),
        }
        self.reset()
        return self.out_specs

    def reset(self):
        self._buf = _Samples(self._nch, self._rate)
        self._pending: list[tuple[float, float]] = []  # (marker time, code), sorted
        self._segs = np.zeros((0, 3))  # BAD_ segments (onset, end, code) a trial still to come may overlap
        self._marked = -np.inf  # the newest marker onset that arrived (any code)
        self._markers_ended = False
        self._chunk = 0  # absolute index of the newest signal chunk's first sample (its markers may follow it)
        self._ready = Ready(len(self._freqs))  # decisions to go out, one marker time per chunk
        self._runs_state = RunsState()  # which markers a time reset leaves to the old run (dsp/marker_runs.py)
        self._runs = MarkerRuns(lambda: self._runs_state, self.params.max_delay)
        self._repeats.forget()  # (a new stream's sample indices)

    def state_dict(self):
        return {
            "buf": self._buf.state(),
            "pending": np.asarray([t for t, _ in self._pending], dtype=np.float64),
            "pending_codes": np.asarray([c for _, c in self._pending], dtype=np.float64),  # (a trial dropped is said)
            "bad": self._segs.copy(),
            "marked": self._marked,
            "markers_ended": self._markers_ended,
            "chunk": self._chunk,
            "ready": self._ready.state(),
            "runs": self._runs_state.save(),  # which markers a time reset left to the old run (dsp/marker_runs.py)
            **self._weights_state(),
        }

    def load_state_dict(self, state):
        # the parts that check themselves, loaded new before anything is taken: a 'ready' refused had replaced the rest
        buf, ready = _Samples(self._nch, self._rate), Ready(len(self._freqs))
        buf.load(state["buf"])
        ready.load(state.get("ready", ()))
        self._check_weights(state)  # (its decisions held were the other weights')
        runs = RunsState.load(MarkerRuns.older_state(state) | dict(state.get("runs", {})))  # (older: none)
        self._buf, self._ready, self._runs_state = buf, ready, runs
        self._repeats.forget()
        times = [float(t) for t in state["pending"]]
        codes = [float(c) for c in np.ravel(state.get("pending_codes", ()))]  # (older: none, said as code '?')
        self._pending = list(zip(times, codes if len(codes) == len(times) else [np.nan] * len(times)))
        self._segs = np.asarray(state.get("bad", np.zeros((0, 3))), dtype=np.float64).reshape(-1, 3)  # (older: none)
        self._marked = float(state.get("marked", -np.inf))
        self._markers_ended = bool(state.get("markers_ended", False))
        self._chunk = min(int(state.get("chunk", self._buf.n_total)), self._buf.n_total)  # (older: no chunk held)

    def process(self, inputs):
        c = inputs.get("in")
        if c is not None:
            x = chunk_data(c, (self.in_specs["in"].shape[0],), np.dtype(np.float64))
            if x is not None:
                x, mask = sanitize(self, x[self._pick], self.params.nan_policy)
                if mask is not None:  # propagate: kept, so that a trial window holding one gets no decision
                    x = np.where(mask, np.nan, x)
                # a signal whose content lags its stamps (StreamSpec.delay: a resample or fir before) is kept at its
                # content times (stamp - delay), so a marker cuts the window around it (as epochs); it was `delay` late
                newest = self._buf.newest
                if back := self._buf.append(x, c.t0 - self.in_specs["in"].delay, c.gap):  # went back: starts again
                    self.count("time_reset")
                self._signal_in(back, newest, self._buf.newest)  # the old clock forgotten (ssvep_markers.py)
                if self._buf.untimed_dropped:  # samples without a time before a gap: none can ever be given one
                    self.count("untimed_dropped", self._buf.untimed_dropped)
                # lateness counts from a chunk's first sample: its markers come after it (after the append, which may
                # have dropped untimed samples before it)
                self._chunk = self._buf.n_total - x.shape[1]
            elif c.gap:  # a gap on no samples: held for the next samples (they start a new segment), not dropped
                self._buf.append(np.zeros((self._nch, 0)), c.t0, True)
        e = inputs.get("events")
        if e is not None and e.data.size:
            self._markers_in(e, self._buf.newest)  # (ssvep_markers.py)
        out = self._decide()
        # max_delay s of signal for markers still in flight, from the newest chunk's first sample: a chunk longer than
        # max_delay (chunk_duration: 60, a file in one chunk) had its own markers found late, its trials lost
        self._buf.keep_last(self._keep + self._buf.n_total - self._chunk)
        if self._buf.n_held:
            self._segs = BadSegments.prune(self._segs, self._buf.time(self._buf.start))
        return out

    def input_ended(self, port):
        if port == "events":  # no BAD_ segment can come any more: the trials waiting for one are decided
            self._markers_ended = True
        else:
            self._drop_untimed_at_end()
        return self._decide()

    def _drop_untimed_at_end(self) -> None:
        """Samples still without a time when the signal ends can never get one (Samples.drop_untimed_at_end)."""
        if n := self._buf.drop_untimed_at_end():
            self.count("untimed_dropped", n)
            self._chunk = min(self._chunk, self._buf.n_total)  # (the newest chunk's first sample may have gone)

    def more(self):
        return self._ready.take()

    def finish(self):
        """Every decision still held, in one chunk (by hand; finish_all, what the runtime calls, one per marker time)."""
        return joined(self.finish_all(), ("out", "scores"))

    def finish_all(self):
        """The trials still to decide and the decisions held, each marker time's in its own chunk (ssvep_ready.py)."""
        self._drop_untimed_at_end()
        self._drop_old(self._selected(self._runs.drop_held()))  # markers of a run whose signal never came
        out = self._decide(final=True)
        self._selection.say(self, "trial decision")
        if self._pending:  # markers whose window the signal never completed: counted and said (dsp/end_drops.py)
            self.count("after_end", len(self._pending))
            n0, n1 = self._n_delay - self._crops, self._n_delay + self._size + self._crops  # (the DNN's crops too)
            span = f"marker {n0 / self._rate:+g} s to {n1 / self._rate:+g} s"
            say_after_end(self, "after_end", "trial", self._pending, self._marker_labels, self._buf.newest, span)
            self._pending = []
        outs = [out, *iter(self._ready.take, {})]
        self.reset()  # the stream is over: the next chunk starts a new one
        return outs
