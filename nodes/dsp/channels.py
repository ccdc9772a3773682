"""Re-referencing (common average, named channel, bipolar pairs), channel pick/drop/reorder, and a mix down
to one channel (stereo audio -> mono, for the enhancer).

All four are stateless (latency 0); the output of a chunk depends only on that chunk, so streaming
equals offline trivially (still checked by the harness in the tests). Channels are the axis before time:
(channels, samples), or (bands, channels, samples) after a filter bank.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..channel_kinds import say_named_not_eeg, trigger_positions
from ..channel_names import position, spelt
from ..nanpolicy import NAN_POLICY_HELP, NanPolicy, chunk_data, sanitize, signal_input
from ..signal import SignalNode
from .reference_kind import MEG_TYPES, NOT_IN_REFERENCE, REFERENCE_TYPES, reference_kind, refuse_no_eeg  # noqa: F401

_log = logging.getLogger("wavegraph.mix")

# mix says once when its channels cancel: the mix's RMS CANCEL_DB under the channels' (in-phase) level over the first
# CANCEL_S of stream. Two uncorrelated channels of one level mix 3 dB under it, one silent channel of two 6 dB; only
# channels mostly of opposite sign (R = -L, or within 10 % of it) reach 20 dB. One inverted channel of n alike takes
# the mix 20*log10(n / (n - 2)) dB under it (9.5 dB of 3, 6 dB of 4) and never 20 dB: a channel whose part of the mix
# correlates CANCEL_CORR or less with the rest of it (inverted against them; uncorrelated channels: 0), and which, flipped,
# raises the mix FLIP_DB or more, is said too (of a pair: R = -0.17 L to -5.8 L).
CANCEL_DB, CANCEL_S, CANCEL_GIVE_UP_S = 20.0, 2.0, 60.0
CANCEL_CORR, FLIP_DB = 0.8, 3.0
CANCEL_MIN_S = 0.05  # a stream that ends before CANCEL_S is decided at its end if it held this much


def channel_index(spec: StreamSpec, names, what: str, types: bool = False, param: str | None = None) -> list[int]:
    """Indices of `names` in the spec; SpecError listing the available channels for an unknown one (said at the line
    of `param`, the parameter that gave the names). With `types`, a name that is no channel's but a channel type's
    (MNE's picks: 'eeg', 'eog') stands for every channel of it."""
    try:
        return _channel_index(spec, names, what, types)
    except SpecError as e:
        e.param = e.param or param
        raise


def _channel_index(spec: StreamSpec, names, what: str, types: bool) -> list[int]:
    available = list(spec.channel_names)
    if not available:
        raise SpecError(
            f"{what}: the input stream has no channel names",
            "give the source channel names, or select channels by a node that numbers them",
        )
    out = []
    for name in names:
        if isinstance(name, int) and not isinstance(name, bool):  # a position, as MNE's picks take
            out.append(position(name, available, what))
        elif name not in available and types and (typed := _of_type(spec, str(name), what)) is not None:
            out.extend(typed)  # pick: [eeg] (as MNE's raw.pick('eeg')): was "unknown channel 'eeg'"
        elif name not in available:
            same = spelt([str(name)], available)  # 'c3', or 'C3' of PhysioNet's 'C3..' (only the case was said)
            hint = f"did you mean {same[str(name)]!r}? (names are written as the stream spells them); " if same else ""
            raise SpecError(f"{what}: unknown channel {name!r}", f"{hint}available channels: {', '.join(available)}")
        else:
            out.append(available.index(name))
    return out


_MNE_TYPES = ("eeg", "eog", "ecg", "emg", "stim", "misc", "seeg", "ecog", "dbs", "resp", "bio", "mag", "grad", "meg")


def _of_type(spec: StreamSpec, name: str, what: str) -> list[int] | None:
    """The channels of type `name` (case as MNE's: 'eeg'), or None when it is no channel type; a type of MNE's that
    no channel has is a SpecError naming the types the stream has."""
    kinds = [str(t).lower() for t in spec.channel_types or ()]
    key = name.lower()
    if key in kinds:
        return [i for i, t in enumerate(kinds) if t == key]
    if key in _MNE_TYPES and not any(str(c).casefold() == name.casefold() for c in spec.channel_names):
        # (a channel 'EOG' for `drop: [eog]`: "did you mean 'EOG'?", the caller's, not "no channel of type 'eog'")
        have = ", ".join(dict.fromkeys(kinds)) or "none declared"
        raise SpecError(f"{what}: no channel of type {name!r} in the stream (its types: {have})", "name the channels")
    return None


def _check_channels(node, spec: StreamSpec) -> StreamSpec:
    if not spec.shape:
        raise SpecError(f"{node.type_name} needs a (channels, samples) signal", "connect a multi-channel signal")
    return spec


class CARParams(NodeParams):
    ref_channels: list[str] | None = Field(
        None,
        description="channels averaged for the reference (default: the EEG channels, as MNE's set_eeg_reference, else "
        "ecog, seeg, dbs; a stream typed without them, EOG or bio only, is refused; one of misc channels: all but stim)",
    )
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class CAR(SignalNode[CARParams]):
    """Common average reference: subtract the mean over `ref_channels` from every channel. By default, as MNE's
    set_eeg_reference('average'), the mean is over the channels typed eeg (else ecog, seeg or dbs, the first
    present) and only they are re-referenced: EOG, ECG, EMG, a trigger (stim) or an accelerometer (misc) pass
    through unchanged and stay out of the average. A stream whose channels are typed, none of those types (EOG, ECG,
    bio only), is refused at build, as set_eeg_reference refuses it, unless `ref_channels` names the channels
    (nodes/dsp/reference_kind.py); one of misc (and stim) channels only, from a source that gives no types (an LSL
    stream of another type, a CSV): every channel but those typed stim. Channels the
    source marks bad (`StreamSpec.bads`, a FIF's info['bads']) are left out too, and pass through unchanged.

    NaN policy: `zero` averages with the bad samples set to 0; `propagate` averages the finite channels
    at each sample (the reference stays finite) and puts NaN back where it was.
    """

    Params = CARParams

    def setup(self, spec):
        _check_channels(self, spec)
        p = self.params
        if spec.shape[-1] == 1:
            raise SpecError(
                "car on a single channel would output zeros", "average over several channels, or remove car"
            )
        self._idx = (
            None
            if p.ref_channels is None
            else channel_index(spec, p.ref_channels, "car ref_channels", param="ref_channels")
        )
        kind = reference_kind(self, spec)
        if p.ref_channels is None:  # (an EOG pair, a belt and a pulse: averaged together, as MNE would not)
            refuse_no_eeg(self, spec)
        signals = [i for i, t in enumerate(spec.channel_types) if (t == kind if kind else t not in NOT_IN_REFERENCE)]
        if not signals:  # every channel misc (a source that gives no types) but a trigger's: all but it (its codes
            # were averaged in and re-referenced), all of an untyped stream
            types = spec.channel_types
            signals = [i for i, t in enumerate(types) if t != "stim"] if types else list(range(spec.shape[-1]))
        bad = {i for i, name in enumerate(spec.channel_names) if name in spec.bads}
        self._untouched: list[int] = []  # channels passed through as they are (by default stim and misc)
        if bad or len(signals) < spec.shape[-1]:  # (a stream of misc channels left its bads in: one broken channel
            # of 100 V offset every other by 25 V)
            referenced = [i for i in signals if i not in bad]  # EOG, ECG, a trigger, an accelerometer and the
            self._untouched = [i for i in range(spec.shape[-1]) if i not in referenced]  # bads: not re-referenced,
            # whatever the reference (as MNE's set_eeg_reference; with ref_channels named, a trigger's codes came out
            # minus the reference), and by default no part of the average
            if p.ref_channels is None:
                self._idx = referenced
            if p.ref_channels is None and len(self._idx) < 2:  # the default picked one channel (or none): zeros out
                picked = [spec.channel_names[i] for i in self._idx] if spec.channel_names else self._idx
                raise SpecError(
                    f"car: {len(self._idx)} channel(s) to re-reference by default {picked} (the {kind or 'signal'} "
                    f"channels, less those marked bad: {list(spec.bads)}); an average of one channel outputs zeros",
                    "name the channels to average in ref_channels, or remove car",
                )
        if self._idx is not None and len(self._idx) == 0:
            raise SpecError("car ref_channels is empty", "name at least one channel, or leave it unset for all")
        self._scale = 1.0 / (spec.shape[-1] if self._idx is None else len(self._idx))
        if p.ref_channels is None:  # (a sleep EDF's 'EOG horizontal', typed eeg as MNE reads it, in the average)
            say_named_not_eeg(self, spec, list(range(spec.shape[-1])) if self._idx is None else self._idx)

    def process(self, inputs):  # the reference depends on the NaN mask: not SignalNode.transform(x)
        c = inputs["in"]
        x = chunk_data(c, self.lead, self.dtype)
        if x is None:
            return {}
        x, mask = sanitize(self, x, self._policy)
        ref_src = x if self._idx is None else x[..., self._idx, :]
        if mask is None:
            y = x - np.add.reduce(ref_src, axis=-2, keepdims=True) * self._scale
        else:
            rmask = mask if self._idx is None else mask[..., self._idx, :]
            good = (~rmask).sum(axis=-2, keepdims=True, dtype=x.dtype)  # an int count would promote float32
            ref = ref_src.sum(axis=-2, keepdims=True) / np.maximum(good, 1)  # mean of the finite channels
            y = x - ref
            y[mask] = np.nan
            y[np.broadcast_to(good == 0, y.shape)] = np.nan  # no finite reference: NaN, as rereference
        if self._untouched:  # a trigger keeps its codes
            y[..., self._untouched, :] = x[..., self._untouched, :]
            if mask is not None:  # (propagate: NaN where it was, as for the other channels)
                y[mask] = np.nan
        return {"out": Chunk(y, c.t0)}


class RerefParams(NodeParams):
    channel: str | None = Field(
        None,
        description="subtract this channel from the others that car re-references (the EEG): a trigger, EOG, ECG "
        "and channels marked bad pass unchanged, as MNE's set_eeg_reference",
    )
    keep_ref: bool = Field(False, description="with `channel`: keep the (now zero) reference channel")
    pairs: list[str] | None = Field(None, description='bipolar derivations "A-B" (A minus B), output in order')
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class Rereference(SignalNode[RerefParams]):
    """Re-reference to one named channel, or to bipolar pairs ("C3-C4": C3 minus C4, named "C3-C4").

    Exactly one of `channel` and `pairs`; for the average reference use `car`. Computed by indexing and
    one subtraction per sample, so a NaN only affects the derivations that use that channel.
    """

    Params = RerefParams

    def setup(self, spec):
        _check_channels(self, spec)
        p = self.params
        names = list(spec.channel_names)
        types = list(spec.channel_types)
        if (p.channel is None) == (p.pairs is None):
            raise SpecError(
                "rereference needs exactly one of `channel` and `pairs`",
                'set channel: Cz, or pairs: ["C3-C4", ...]; use `car` for the average reference',
            )
        if p.channel is not None:
            (r,) = channel_index(spec, [p.channel], "rereference channel", param="channel")
            plus = [i for i in range(len(names)) if p.keep_ref or i != r]
            if not plus:  # a signal of no channel: validate said OK, the run failed at its first chunk
                raise SpecError(
                    f"rereference to {p.channel!r} leaves no channel: the stream has no other",
                    "give keep_ref: true to keep it (all zeros), re-reference a stream of more channels, or drop the node",
                )
            minus = [r] * len(plus)
            out_names = [names[i] for i in plus]
            # as MNE's set_eeg_reference(ref_channels=[...]) (and car): only the EEG channels (else ecog, seeg, dbs; else
            # all but stim and misc) are re-referenced; a trigger's codes, an EOG, ECG or accelerometer pass as they are
            # (a BDF's Status re-referenced to a mastoid came out as its codes minus the mastoid's volts)
            kind = reference_kind(self, spec)
            kept = [i for i in plus if types and (types[i] != kind if kind else types[i] in NOT_IN_REFERENCE)]
            if len(kept) == len(plus):  # none of a referenced type (every channel misc): all but a trigger (its
                kept = [i for i in plus if types[i] == "stim"] if types else []  # codes, as car keeps them)
            # channels the source marks bad pass too, as car leaves them and MNE's pick_types excludes them
            bad = [i for i in plus if i != r and i not in kept and names[i] in spec.bads]
            if kept or bad:
                kept = sorted([*kept, *bad])
                minus = [i if i in kept else r for i in plus]  # x - x there, put back in transform
                logging.getLogger("wavegraph.rereference").info(
                    "rereference %r re-references the %s channels only (as MNE's set_eeg_reference); %s pass unchanged",
                    self.node_id, kind or "signal", ", ".join(names[i] + (" (bad)" if i in bad else "") for i in kept),
                )  # fmt: skip
            self._kept = np.asarray([k for k, i in enumerate(plus) if i in kept], dtype=np.intp)
        else:
            assert p.pairs is not None  # exactly one of channel and pairs (checked above)
            self._kept = np.zeros(0, dtype=np.intp)
            plus, minus, out_names = [], [], []
            for pair in p.pairs:
                a, b = _split_pair(pair, names)
                ia, ib = channel_index(spec, [a, b], f"rereference pair {pair!r}", param="pairs")
                if ia == ib:  # a channel of zeros
                    raise SpecError(
                        f"rereference pair {pair!r} subtracts {a} from itself", 'give two different channels: "C3-C4"'
                    )
                if f"{a}-{b}" in out_names:  # two outputs of one name: a later pick or drop by it takes the first only
                    raise SpecError(f"rereference pair {pair!r} is given twice", "list each pair once")
                plus.append(ia)
                minus.append(ib)
                out_names.append(f"{a}-{b}")
            if not plus:
                raise SpecError("rereference pairs is empty", 'give at least one pair such as "C3-C4"')
        self._plus, self._minus = np.asarray(plus), np.asarray(minus)
        out_types = [types[i] for i in plus] if types else []
        # (named: a bad channel stays bad under its name, unchanged, as MNE's set_eeg_reference; a bad reference dropped
        # is none of the output's: it stayed in its bads)
        bads = tuple(b for b in spec.bads if b in out_names)
        if p.pairs is not None:  # a derivation of a bad channel is bad, as mne.set_bipolar_reference marks and says it
            used = {names[i] for i in (*plus, *minus)} & set(spec.bads)
            bads = tuple(o for o, a, b in zip(out_names, plus, minus) if {names[a], names[b]} & used)
            if bads:
                logging.getLogger("wavegraph.rereference").warning(
                    "rereference: %s use%s channels the source marks bad (%s): marked bad too, as "
                    "mne.set_bipolar_reference marks them (car leaves them out of its average, a FIF recorder marks "
                    "them)", ", ".join(bads), "s" if len(bads) == 1 else "", ", ".join(sorted(used)),
                )  # fmt: skip
        return spec.evolve(
            shape=(*spec.shape[:-1], len(plus)),
            dtype=self.dtype.name,
            channel_names=tuple(out_names),
            channel_types=tuple(out_types),
            bads=bads,
        )

    def transform(self, x):
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is counted by SignalNode, not warned by numpy
            y = x[..., self._plus, :] - x[..., self._minus, :]
        if self._kept.size:  # the channels not re-referenced (a trigger, an EOG): as they came
            y[..., self._kept, :] = x[..., self._plus[self._kept], :]
        return y

    def output_mask(self, mask, n):
        return None if mask is None else mask[..., self._plus, :] | mask[..., self._minus, :]


def _split_pair(pair: str, names: list[str]) -> tuple[str, str]:
    """("A", "B") from "A-B". Channel names may hold hyphens themselves (EDF's "EEG Fpz-Cz"): the split is the
    hyphen with a known channel on both sides; with none, the first hyphen (the unknown name is then reported)."""
    splits = [(pair[:i].strip(), pair[i + 1 :].strip()) for i, ch in enumerate(pair) if ch == "-"]
    splits = [(a, b) for a, b in splits if a and b]
    if not splits:
        raise SpecError(f"bipolar pair {pair!r} is not of the form A-B", 'write pairs as "C3-C4"')
    known = [(a, b) for a, b in splits if a in names and b in names]
    if len(known) > 1:
        raise SpecError(
            f"bipolar pair {pair!r} splits into channels in {len(known)} ways: {known}",
            "rename the channels so that the pair is unambiguous",
        )
    return known[0] if known else splits[0]


class PickParams(NodeParams):
    pick: list[str | int] | None = Field(
        None,
        description="keep these channels, in this order (reorders); names, types (eeg: every EEG channel) or "
        "positions from 0, as MNE's picks",
    )
    drop: list[str | int] | None = Field(
        None, description="remove these channels, keep the others in order; names, types or positions from 0"
    )


class PickChannels(Node[PickParams]):
    """Pick, drop or reorder channels by name, by channel type ('eeg', 'eog': every channel of it) or by position
    (from 0), as MNE's picks. With both, `drop` applies to the picked list."""

    Params = PickParams

    def configure(self, in_specs):
        spec = _check_channels(self, signal_input(self, in_specs))
        p = self.params
        if p.pick is None and p.drop is None:
            raise SpecError("pick_channels needs `pick` and/or `drop`", "list the channels to keep or remove")
        idx = (
            list(range(len(spec.channel_names)))
            if p.pick is None
            else channel_index(spec, p.pick, "pick_channels pick", types=True, param="pick")
        )
        if len(set(idx)) != len(idx):
            raise SpecError("pick_channels pick names a channel twice", "list each channel once")
        if p.drop is not None:
            dropped = set(channel_index(spec, p.drop, "pick_channels drop", types=True, param="drop"))
            idx = [i for i in idx if i not in dropped]
        if not idx:
            raise SpecError("pick_channels leaves no channel", "keep at least one channel")
        self._idx = np.asarray(idx)
        self._identity = idx == list(range(len(spec.channel_names)))
        self._lead = tuple(spec.shape)
        names = tuple(spec.channel_names[i] for i in idx)
        types = tuple(spec.channel_types[i] for i in idx) if spec.channel_types else ()
        bads = tuple(b for b in spec.bads if b in names)  # (a dropped bad channel stayed in them: a recorder's EDF
        # was said to read it back as good)
        self.out_specs = {
            "out": spec.evolve(shape=(*spec.shape[:-1], len(idx)), channel_names=names, channel_types=types, bads=bads)
        }
        return self.out_specs

    def process(self, inputs):
        c = inputs["in"]
        # the chunk's own dtype, kept; chunk_data says what is wrong with a chunk of no array (Chunk(list), a bare
        # array), which was "'list' object has no attribute 'dtype'"
        x = chunk_data(c, self._lead, getattr(getattr(c, "data", None), "dtype", None))  # type: ignore[arg-type]
        if x is None:
            return {}
        y = x if self._identity else x[..., self._idx, :]
        return {"out": Chunk(y, c.t0)}


class MixParams(NodeParams):
    weights: list[float] | None = Field(None, description="one weight per input channel (default: their mean)")
    name: str = Field("mix", description="the output channel's name")


class Mix(Node[MixParams]):
    """One channel: the weighted sum of the input channels (default: their mean, without the channels typed stim: a
    trigger's codes are no signal, and were averaged in), e.g. stereo audio to mono.
    A single-channel input passes through unchanged (only its name changes). Non-finite samples propagate; a
    channel holding them is said once, with the weights that leave it out (a channel of weight 0 is not in the mix).
    Channels the source marks bad are mixed in and the mix is not marked bad, as mne.channels.combine_channels does by
    default; said once at configure, with the weights that leave them out."""

    Params = MixParams

    def configure(self, in_specs):
        spec = _check_channels(self, signal_input(self, in_specs))
        n = spec.shape[-1]
        w = self.params.weights
        if w is not None and (len(w) != n or not all(np.isfinite(w))):
            raise SpecError(
                f"mix has {len(w)} weights for {n} channels" if len(w) != n else f"mix weights {w} are not finite",
                f"give {n} finite weights (one per channel: {', '.join(spec.channel_names) or n}), or leave them unset",
            )
        dtype = np.dtype(spec.dtype) if np.dtype(spec.dtype).kind == "f" else np.dtype(np.float64)
        if w is None:  # the mean of the channels but a trigger (its codes are no signal; they were averaged in)
            stim = trigger_positions(self, spec, "leaves out", "of the mean (codes are no signal; `weights` mix them)")
            if n > 1 and stim.size == n:
                raise SpecError(
                    "mix: every channel of its input is a trigger (typed stim), whose codes have no mean",
                    "connect the signal channels, or give `weights` to mix the codes anyway",
                )
            w = np.isin(np.arange(n), stim, invert=True) / (n - stim.size) if n > 1 else np.ones(1)
        self._w = np.asarray(w, np.float64).astype(dtype)[:, None]
        self._lead = tuple(spec.shape)
        self._use = np.flatnonzero(self._w[:, 0] != 0)  # the channels in the mix
        self._w_use = self._w[self._use]  # their weights
        self.reset()
        first = self._use[0] if self._use.size else 0
        types = (spec.channel_types[first],) if spec.channel_types else ()  # (the first mixed channel's: not a trigger)
        self._say_bads_mixed(spec)
        self.out_specs = {  # (bads: none, as mne.channels.combine_channels' output; the source's named channels gone)
            "out": spec.evolve(
                shape=(*spec.shape[:-1], 1),
                channel_names=(self.params.name,),
                channel_types=types,
                dtype=dtype.name,
                bads=(),
            )
        }
        return self.out_specs

    def _say_bads_mixed(self, spec: StreamSpec) -> None:
        """Channels the source marks bad (StreamSpec.bads) are mixed in, as mne.channels.combine_channels mixes them
        by default (drop_bad=False), and the mix is not marked bad (nor was combine_channels'): said once here, with
        the weights that leave them out (drop_bad=True). Before, the mix was unsaid and kept their names as bads."""
        names = spec.channel_names
        bad = [int(i) for i in self._use if int(i) < len(names) and names[int(i)] in spec.bads]
        if not bad:
            return
        said = ", ".join(f"'{names[i]}'" for i in bad)
        given = self.params.weights
        w = [0.0 if k in bad else (float(self._w[k, 0]) if given is None else given[k]) for k in range(len(self._w))]
        if given is None and sum(w):
            w = [round(v / sum(w), 6) for v in w]
        if not any(w):
            fix = "mix channels that are not bad, or clear the source's bads if these channels are good"
        else:
            weights = ", ".join(f"{v:g}" for v in w)
            fix = f"leave {'it' if len(bad) == 1 else 'them'} out with weights: [{weights}] (combine_channels' drop_bad=True)"
        _log.warning(
            "mix%s: channel%s %s marked bad by the source (its bads, a FIF's info['bads']) %s mixed in, as "
            "mne.channels.combine_channels mixes bad channels by default; the mix '%s' is not marked bad; fix: %s",
            f" '{self.node_id}'" if self.node_id else "", "s" if len(bad) > 1 else "", said,
            "are" if len(bad) > 1 else "is", self.params.name, fix,
        )  # fmt: skip

    def reset(self):
        """A fresh stream (a restart, the next stream through this node): its channels are said anew."""
        super().reset()
        self._said: set[int] = set()  # channels said to hold NaN or Inf (once each)
        w_use = self._w_use[:, 0]
        same_sign = len(w_use) > 1 and ((w_use > 0).all() or (w_use < 0).all())  # a negative weight: a difference
        # cancel check: each channel's sum of squares, the mix's, samples, each channel's sum of products with the mix;
        # None once decided
        self._level = [np.zeros(len(w_use)), 0.0, 0, np.zeros(len(w_use))] if same_sign else None

    def process(self, inputs):
        c = inputs["in"]
        x = chunk_data(c, self._lead, self._w.dtype)
        if x is None:
            return {}
        if len(self._use) < len(self._w):  # a channel of weight 0 is left out (0 * NaN would be NaN)
            x = x[..., self._use, :]
        finite = len(self._w) == 1 or bool(np.isfinite(x).all())
        if not finite:
            self._say_bad_channels(x, c.t0)
        with np.errstate(over="ignore", invalid="ignore"):  # past the dtype's range: inf there, no numpy warning
            y = np.sum(x * self._w_use, axis=-2, keepdims=True)
            if self._level is not None and finite:
                self._check_cancel(x, y)
        return {"out": Chunk(y, c.t0)}

    def _check_cancel(self, x: np.ndarray, y: np.ndarray) -> None:
        """Channels that cancel (a phase-inverted microphone pair: R = -L) mix to silence, unsaid. Over the first
        CANCEL_S of stream (finite chunks; longer while it is digital silence, up to CANCEL_GIVE_UP_S), the mix's RMS
        is compared with the level the channels would mix to in phase, sum(|w| x channel RMS) (their mean RMS with the
        default weights); CANCEL_DB or more under it is said once. Output unchanged; the check then stops."""
        level = self._level
        assert level is not None
        xs = x.reshape(-1, x.shape[-2], x.shape[-1]).astype(np.float64, copy=False)
        level[0] += np.einsum("bct,bct->c", xs, xs)
        ys = y.reshape(-1, y.shape[-1]).astype(np.float64, copy=False)
        level[1] += float(np.vdot(ys, ys))
        level[3] += np.einsum("bct,bt->c", xs, ys)
        level[2] += x.shape[-1]
        seconds = level[2] / self.in_specs["in"].rate
        ref = float(np.abs(self._w_use[:, 0]) @ np.sqrt(level[0]))  # sqrt(n) x the in-phase RMS
        if seconds < CANCEL_S or (ref == 0 and seconds < CANCEL_GIVE_UP_S):
            return
        self._say_cancel()

    def finish(self):
        """A stream that ends before CANCEL_S (a 1 s stereo prompt whose channels cancel mixed to silence unsaid) is
        decided on what it held, from CANCEL_MIN_S on. The next chunk starts a new stream (one node, many files): its
        channels checked and said anew (a second file's inverted pair mixed to silence unsaid)."""
        if self._level is not None and self._level[2] >= CANCEL_MIN_S * self.in_specs["in"].rate:
            self._say_cancel()
        self.reset()
        return {}

    def _say_cancel(self) -> None:
        """Decide the cancel check on the level summed so far: said once when the mix is CANCEL_DB under it."""
        level = self._level
        assert level is not None
        seconds = level[2] / self.in_specs["in"].rate
        ref = float(np.abs(self._w_use[:, 0]) @ np.sqrt(level[0]))  # sqrt(n) x the in-phase RMS
        self._level = None  # decided
        mono = math.sqrt(level[1])
        if ref == 0:
            return
        if mono > ref * 10 ** (-CANCEL_DB / 20):
            self._say_inverted(level, seconds, 20 * math.log10(ref / mono))
            return
        said = (
            f"'s RMS is {20 * math.log10(ref / mono):.1f} dB under the channels' "
            + ("mean RMS" if self.params.weights is None else "level in phase (sum of |weight| x RMS)")
            if mono > 0
            else " is silent"
        )
        names = self.in_specs["in"].channel_names or [str(i) for i in range(len(self._w))]
        used = [names[int(i)] for i in self._use]
        if len(used) == 2:
            w = [-v if i == int(self._use[1]) else v for i, v in enumerate(self._w[:, 0].tolist())]
            fix = f"if one channel is inverted (its wiring, a mic's polarity), weights: [{', '.join(f'{v:g}' for v in w)}]"
        else:
            fix = "give the inverted channel a negative weight (weights: one per channel)"
        _log.warning(
            "mix%s: its channels %s cancel: over the first %.3g s the mono output%s (a phase-inverted pair, R = -L, "
            "mixes to silence); the output is left as mixed; fix: %s",
            f" '{self.node_id}'" if self.node_id else "", ", ".join(f"'{n}'" for n in used), seconds, said, fix,
        )  # fmt: skip

    def _say_inverted(self, level: list, seconds: float, under: float) -> None:
        """One channel inverted against the others (their correlation CANCEL_CORR or less) and taking the mix FLIP_DB or
        more under what it gives flipped: said once, naming it, with the weights that flip it (of a pair, the second).
        Four channels alike with one inverted mixed 6 dB under their level, unsaid (never the CANCEL_DB of a pair)."""
        p, y, q = level[0], level[1], level[3]
        w = self._w_use[:, 0].astype(np.float64)
        own = w * w * p  # each channel's part of the mix: its energy, its product with the rest, the rest's energy
        cross = w * q - own
        rest = np.maximum(y - 2 * w * q + own, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.where((own > 0) & (rest > 0), cross / np.sqrt(own * rest), 0.0)
        j = 1 if len(w) == 2 else int(np.argmin(corr))
        flipped = y - 4 * w[j] * q[j] + 4 * own[j]
        if corr[j] > -CANCEL_CORR or flipped < y * 10 ** (FLIP_DB / 10):
            return
        names = self.in_specs["in"].channel_names or [str(i) for i in range(len(self._w))]
        i = int(self._use[j])
        others = [f"'{names[int(k)]}'" for k in self._use if int(k) != i]
        level_of = "the channels' mean RMS" if self.params.weights is None else "their level in phase"
        weights = [-v if k == i else v for k, v in enumerate(self._w[:, 0].tolist())]
        _log.warning(
            "mix%s: its channel '%s' is inverted against %s (correlation %.2f): over the first %.3g s the mono "
            "output's RMS is %.1f dB under %s and %.1f dB under the mix with it flipped; the output is left as mixed; "
            "fix: if it is inverted (its wiring, a mic's polarity), weights: [%s]",
            f" '{self.node_id}'" if self.node_id else "", names[i], ", ".join(others), corr[j], seconds, under,
            level_of, 10 * math.log10(flipped / y), ", ".join(f"{v:g}" for v in weights),
        )  # fmt: skip

    def _say_bad_channels(self, x: np.ndarray, t0: float) -> None:
        """A channel's NaN or Inf makes the mix NaN there, whatever the others hold: a stereo float WAV with one dead
        channel gave the enhancer nothing but NaN (zeroed: silence out). Said once per channel, with the weights
        that leave it out."""
        finite = np.asarray(np.isfinite(x).all(axis=tuple(range(x.ndim - 2))))  # (channels, samples)
        bad = ~finite.all(axis=-1)
        names = self.in_specs["in"].channel_names
        given = self.params.weights
        for i in (int(self._use[j]) for j in np.flatnonzero(bad) if int(self._use[j]) not in self._said):
            self._said.add(i)
            if given is None:  # the mean of the others, a trigger still left out (its codes were suggested into it)
                w = [0.0 if k in self._said else float(self._w[k, 0] != 0) for k in range(len(self._w))]
                w = [round(v / sum(w), 6) for v in w] if sum(w) else w
            else:
                w = [0.0 if k in self._said else v for k, v in enumerate(given)]
            name = names[i] if i < len(names) else str(i)
            first = t0 + int(np.argmin(finite[int(np.flatnonzero(self._use == i)[0])])) / self.in_specs["in"].rate
            if not any(w):  # every channel said: weights [0, 0] would mix nothing (silence)
                _log.warning(
                    "mix: channel '%s' holds NaN or Inf (from t = %.6g s on), and no channel is left whole in the "
                    "mix (weights leaving it out mix nothing); the mix is NaN there; fix: repair the "
                    "recording, or let the nodes downstream replace those samples (their nan_policy: zero, the "
                    "default, counts them nan_zeroed)",
                    name, first,
                )  # fmt: skip
                continue
            _log.warning(
                "mix: channel '%s' holds NaN or Inf (from t = %.6g s on): the mix is NaN wherever one channel is, "
                "whatever the others hold; fix: leave it out with weights: [%s]",
                name, first, ", ".join(f"{v:g}" for v in w),
            )  # fmt: skip
