"""Stream specs: what flows on an edge, checked when the graph is built."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

KINDS = ("signal", "features", "tokens", "events")
# Rates this close (relative) are one rate: a rate computed from time stamps (1 / median(diff(t)) of a 10 min, 16 kHz
# time vector is 15999.999996740371) is off by float rounding only (3.6 us per hour at 1e-9: below any clock's error).
RATE_RTOL = 1e-9


def same_rate(rate: float, nominal: float) -> bool:
    """Whether `rate` is `nominal` Hz within float rounding (RATE_RTOL)."""
    return abs(rate - nominal) <= RATE_RTOL * abs(nominal)


def float32_rate(rate: float) -> float:
    """A rate a file kept in float32 (a FIF's sfreq: 1000/3 Hz reads back as 333.333343506), back to the simple
    ratio (denominator up to 1000) it was rounded from, when one lies within that rounding (2**-24 relative);
    else as it is. Without it, a recording of a 1000/3 Hz stream could not be resampled to 100 Hz on replay."""
    from fractions import Fraction

    ratio = Fraction(rate).limit_denominator(1000)
    simple = ratio.numerator / ratio.denominator
    return simple if abs(simple - rate) <= abs(rate) * 2**-24 else rate


# MNE's channel types (mne.io.get_channel_type_constants) that we accept, plus "misc" and "audio".
CHANNEL_TYPES = (
    "eeg",
    "meg",
    "mag",
    "grad",
    "eog",
    "ecg",
    "emg",
    "stim",
    "misc",
    "resp",
    "bio",
    "seeg",
    "dbs",
    "ecog",
    "fnirs",
    "gsr",
    "temperature",
    "syst",
    "ref_meg",
    "chpi",
    "audio",
)


class SpecError(ValueError):
    """A stream spec does not fit what a node expects. `hint` says what to change; `port`, the input whose stream
    it is (a node with several inputs names it, so that the graph names that edge; None: the node's first input);
    `param`, the parameter whose value the stream does not fit (`channels` naming a channel the stream lacks), so
    that the graph says it at that parameter's line, where the fix goes, rather than at the edge's."""

    def __init__(self, message: str, hint: str = "", port: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.port = port
        self.param = param

    def __str__(self) -> str:
        return f"{self.message}" + (f"; fix: {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class StreamSpec:
    """Describes one edge.

    kind:   signal | features | tokens | events.
    rate:   samples (or frames) per second; 0.0 for irregular streams (events).
    shape:  the array shape without the time axis, e.g. (n_channels,) for a signal,
            (n_bands, n_channels) for a filter bank, (n_features,) for features, () for tokens.
    channel_names / channel_types: one per channel for signals (MNE's types); may be empty otherwise.
    units:  one physical unit string for the whole stream (e.g. "V", "a.u."); "" when unknown or when the channels'
            units differ (an EDF's EEG in volts beside EDA in uS: no one unit fits; each channel's type says which).
    labels: for events, the description of each integer code, as `(code, description)` pairs.
    delay:  seconds by which the content lags its time stamps (a node that delays its input, such as the
            speech enhancer, declares it on its output; the `align` node removes it). 0 when unknown.
    meas_date:  when the source recording started (MNE's info['meas_date']), as ISO 8601 text with its
            UTC offset; "" when the source is a file that gives no date (MNE's None: an undated FIF/EDF, a WAV),
            which a recorder keeps undated; None when unknown (a live stream: a recorder dates it by the wall clock).
    first_time: seconds from meas_date to stream time 0 (MNE's raw.first_time = first_samp / sfreq of
            the source recording); chunk times stay counted from 0, and a FIF recorder writes
            first_samp = round((first_time + first t0) * rate), so the recording lines up with its
            source. Seconds (not samples), so a change of rate keeps it.
    bads:   channels marked bad in the source recording (MNE's info['bads']): `car` leaves them out of its
            average and a FIF recorder marks them bad, as MNE does. Names no longer in the stream are ignored.
    framing: (n_fft, hop, window) of the `stft` that made a complex features stream, so that an `istft` checks its
            own against them (n_fft 256 and 257 give the same bins; a hop the frames do not have sets a wrong
            rate); None for any other stream.
    band:   the highest frequency (Hz) the content can hold, where that is below the stream's Nyquist: the Nyquist of
            the lowest rate it came through (a 1 kHz file resampled to 16 kHz: 500), which the speech enhancer
            checks; None when the content may fill the band up to rate / 2.
    highpass / lowpass: the edges (Hz) of the filters the content went through (MNE's info['highpass'] / ['lowpass']:
            a file's, narrowed by bandpass, highpass, lowpass and fir nodes); 0.0 / None when none is known (0 Hz and
            the Nyquist, MNE's defaults). `passband` gives the effective pair, which recorders write.
    Nodes that derive their output spec with `evolve` carry these on.
    """

    kind: str
    rate: float
    shape: tuple[int, ...]
    dtype: str = "float64"
    channel_names: tuple[str, ...] = ()
    channel_types: tuple[str, ...] = ()
    units: str = ""
    labels: tuple[tuple[int, str], ...] = field(default=())
    delay: float = 0.0
    meas_date: str | None = None
    first_time: float = 0.0
    bads: tuple[str, ...] = ()
    framing: tuple[int, int, str | tuple] | None = None
    band: float | None = None
    highpass: float = 0.0
    lowpass: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise SpecError(f"unknown stream kind {self.kind!r}", f"use one of {', '.join(KINDS)}")
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "dtype", np.dtype(self.dtype).name)
        object.__setattr__(self, "channel_names", tuple(self.channel_names))
        object.__setattr__(self, "channel_types", tuple(self.channel_types))
        object.__setattr__(self, "bads", tuple(self.bads))
        if self.framing is not None:  # (a list from the wire form)
            n_fft, hop, window = self.framing
            object.__setattr__(self, "framing", (int(n_fft), int(hop), _window(window)))
        if self.channel_names and self.kind == "signal" and len(self.channel_names) != self.n_channels:
            raise SpecError(
                f"{len(self.channel_names)} channel names for {self.n_channels} channels",
                "give one name per channel",
            )
        if self.channel_types and len(self.channel_types) != len(self.channel_names):
            raise SpecError("channel_types and channel_names differ in length", "give one type per channel")
        for t in self.channel_types:
            if t not in CHANNEL_TYPES:
                raise SpecError(f"unknown channel type {t!r}", f"use one of MNE's types: {', '.join(CHANNEL_TYPES)}")

    # --- helpers -------------------------------------------------------------------------------
    @property
    def time_axis(self) -> int:
        """Signals keep time last (MNE); features, tokens and events keep it first."""
        return -1 if self.kind == "signal" else 0

    @property
    def n_channels(self) -> int:
        if self.kind == "signal":
            return self.shape[-1] if self.shape else 1
        return self.shape[-1] if self.shape else 1

    def chunk_shape(self, n_times: int) -> tuple[int, ...]:
        """The array shape of a chunk holding n_times samples."""
        return (*self.shape, n_times) if self.kind == "signal" else (n_times, *self.shape)

    def evolve(self, **changes) -> StreamSpec:
        return replace(self, **changes)

    def filtered(self, l_freq: float | None = None, h_freq: float | None = None) -> StreamSpec:
        """This spec after a filter that passes l_freq..h_freq (None: that side open): the narrower edges, as MNE's
        filter() sets info['highpass'] / ['lowpass']."""
        hp = self.highpass if l_freq is None else max(self.highpass, float(l_freq))
        lp = self.lowpass if h_freq is None else min(self.lowpass or math.inf, float(h_freq))
        return replace(self, highpass=hp, lowpass=lp)

    def passband(self) -> tuple[float, float]:
        """(highpass, lowpass) in Hz of the content, as MNE's info holds them: the lowpass at most the Nyquist of
        this rate and of the lowest rate the content came through (`band`)."""
        nyquist = self.rate / 2 if self.rate > 0 else math.inf
        lowpass = min(self.lowpass or math.inf, self.band or math.inf, nyquist)
        if self.highpass >= lowpass:  # a chain that passes nothing (highpass 30 after lowpass 10): MNE warns on reading
            return 0.0, lowpass  # such edges and resets them; written as it would read them (passband_notes says it)
        return self.highpass, lowpass

    def describe(self) -> str:
        rate = f"{self.rate:.12g} Hz" if self.rate else "irregular"  # (:g said 160 Hz for a 160.0001 Hz stream)
        shape = "x".join(str(s) for s in self.shape) or "scalar"
        return f"{self.kind} {rate} {shape} {self.dtype}" + (f" [{self.units}]" if self.units else "")

    # --- wire form (no pickle: plain JSON-able dict) ------------------------------------------
    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "rate": self.rate,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "channel_names": list(self.channel_names),
            "channel_types": list(self.channel_types),
            "units": self.units,
            "labels": [list(x) for x in self.labels],
            "delay": self.delay,
        } | self._origin_dict()

    def _origin_dict(self) -> dict:
        """meas_date, first_time, bads, framing and band, only when set: a spec without them keeps its wire form and spec id."""
        out: dict = {"bads": list(self.bads)} if self.bads else {}
        if self.meas_date is not None:
            out["meas_date"] = self.meas_date
        if self.first_time:
            out["first_time"] = self.first_time
        if self.framing is not None:
            out["framing"] = _window(self.framing, list)  # ([kaiser, 8]: a list, as JSON gives it back)
        if self.band is not None:
            out["band"] = self.band
        if self.highpass:
            out["highpass"] = self.highpass
        if self.lowpass is not None:
            out["lowpass"] = self.lowpass
        return out

    @classmethod
    def from_dict(cls, d: dict) -> StreamSpec:
        """The spec of a wire form (to_dict's, as JSON gives it back), checked field by field: a malformed one (a text
        rate, a negative dimension, a name 'Fz' read as the channels 'F' and 'z', an unknown key) is a SpecError."""
        wrong = _wire_form_problem(d)
        if wrong:
            raise SpecError(f"malformed stream spec: {wrong}", "send the spec as StreamSpec.to_dict() writes it")
        d = dict(d)
        d["labels"] = tuple((int(c), str(s)) for c, s in d.get("labels", ()))
        d["shape"] = tuple(d["shape"])
        return cls(**d)


def _number(x, lowest: float = -math.inf) -> bool:
    """A finite int or float (not a bool) of at least `lowest`."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= lowest


def _edge(x) -> bool:
    """A filter edge or band (Hz): a number >= 0, infinity too (no edge)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0


def _texts(x) -> bool:
    return isinstance(x, list) and all(isinstance(v, str) for v in x)


_WIRE_CHECKS = {  # key of the wire form -> (whether its value is right, what it must be)
    "kind": (lambda x: x in KINDS, f"one of {', '.join(KINDS)}"),
    "rate": (lambda x: _number(x, 0.0), "a sample rate (a finite number of Hz >= 0)"),
    "shape": (
        lambda x: isinstance(x, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in x),
        "a list of whole numbers >= 0",
    ),
    "dtype": (lambda x: isinstance(x, str) and _numeric_dtype(x), "a numeric numpy dtype name"),
    "channel_names": (_texts, "a list of texts"),
    "channel_types": (_texts, "a list of texts"),
    "units": (lambda x: isinstance(x, str), "a text"),
    "labels": (
        lambda x: (
            isinstance(x, list)
            and all(
                isinstance(p, list)
                and len(p) == 2
                and isinstance(p[0], int)
                and not isinstance(p[0], bool)
                and isinstance(p[1], str)
                for p in x
            )
        ),
        "a list of [code, description] pairs",
    ),
    "delay": (_number, "a finite number"),
    "meas_date": (lambda x: x is None or isinstance(x, str), "null or a text"),
    "first_time": (_number, "a finite number"),
    "bads": (_texts, "a list of texts"),
    "framing": (
        lambda x: (
            x is None
            or (
                isinstance(x, list)
                and len(x) == 3
                and all(_number(n, 1) and int(n) == n for n in x[:2])
                and isinstance(x[2], (str, list))
            )
        ),
        "null or [n_fft, hop, window]",
    ),
    "band": (lambda x: x is None or _edge(x), "null or a number >= 0"),
    "highpass": (lambda x: _number(x, 0.0), "a finite number >= 0"),
    "lowpass": (lambda x: x is None or _edge(x), "null or a number >= 0"),
}


def _numeric_dtype(name: str) -> bool:
    try:
        return np.dtype(name).kind in "biufc"
    except TypeError:
        return False


def _wire_form_problem(d) -> str:
    """What is wrong with a spec's wire form ('' when nothing)."""
    if not isinstance(d, dict):
        return f"a {type(d).__name__}, not a mapping"
    missing = [k for k in ("kind", "rate", "shape") if k not in d]
    if missing:
        return f"no {', '.join(missing)}"
    unknown = [str(k) for k in d if k not in _WIRE_CHECKS]
    if unknown:
        return f"unknown key {', '.join(map(repr, unknown))}"
    for key, value in d.items():
        ok, must = _WIRE_CHECKS[key]
        if not ok(value):
            return f"{key} {value!r:.80} is not {must}"
    return ""


def _window(window, kind: type = tuple):
    """An stft's window as its spec holds it: a name, or a tuple (scipy.signal.get_window's, `window: [kaiser, 8]`;
    the wire form's list, lists inside as tuples): was str() of it, "('kaiser', 8)", no istft's window. `kind` list:
    the wire form (to_dict), which a worker compares with its own."""
    return kind(_window(w, kind) for w in window) if isinstance(window, (list, tuple)) else window


def signal_spec(
    rate: float, channel_names, channel_types: str | Sequence[str] = "eeg", dtype="float64", units="V"
) -> StreamSpec:
    """Convenience constructor for a (channels x samples) signal spec."""
    names = tuple(channel_names)
    types = (channel_types,) * len(names) if isinstance(channel_types, str) else tuple(channel_types)
    return StreamSpec("signal", float(rate), (len(names),), dtype, names, types, units)


def check_same(what: str, expected, got, hint: str) -> None:
    """Raise a SpecError when two spec fields differ."""
    if expected != got:
        raise SpecError(f"{what} mismatch: expected {expected}, got {got}", hint)
