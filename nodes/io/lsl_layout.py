"""What lsl_inlet (lsl.py) makes of its stream's full description, at configure: a marker stream (its codes) or a
signal (channel names, types, dtype, the scale of microvolt/millivolt channels to volts), and the spec it gives."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from wavegraph.pipeline.spec import SpecError, StreamSpec

from .lsl_desc import no_volts, say_labels, signal_typed
from .lsl_info import (
    MARKER_TYPE,
    channel_info,
    check_declared,
    check_declared_markers,
    desc_count_said,
    describe_streams,
    event_table,
    int_audio_said,
    unique_names,
)
from .lsl_params import LslInletParams
from .marker_codes import codes_for
from .readers import spec_channel_type
from .units import to_volts

_log = logging.getLogger("wavegraph.lsl")


@dataclass
class Layout:
    spec: StreamSpec  # the inlet's output spec
    rate: float  # the nominal rate (`rate` for a numeric stream published at 0); a marker stream's own
    is_markers: bool  # string streams, MNE-LSL's annotations, one-channel numeric ones of irregular rate (not a signal)
    onehot: list[str] | None  # MNE-LSL Player's annotations: one channel per description, the value its duration
    codes: dict[str, int]  # markers: text -> code (the outlet's desc/events, then `marker_codes`)
    dtype: type  # signals: float32 stays float32, every other format float64
    scale: np.ndarray | None  # signals: (channels, 1) factors to volts, None when all are 1
    unitless: list[int] | None  # signals: voltage channels without a unit (their values looked at: _check_unit)


def read_layout(node, pylsl, info, p: LslInletParams) -> Layout:
    """The layout of the stream (`info`, its full description) for the inlet `node` (its counters; `p` its params);
    a SpecError for one the graph cannot take."""
    fmt, n, rate = info.channel_format(), info.channel_count(), float(info.nominal_srate())
    if n < 1:
        raise SpecError(
            f"lsl_inlet: stream {describe_streams([info])} has no channel",
            "fix the channel count in the sending app",
        )
    stream_type = info.type().lower()
    if rate <= 0 and fmt != pylsl.cf_string and p.rate is not None:
        rate = float(p.rate)  # an irregular stream that carries a signal (Timeflux's lsl Send: rate 0)
    # string streams, and one-channel numeric streams of irregular rate unless typed as a signal: markers
    signal_type, typed_by = signal_typed(info, n)
    onehot: list[str] | None = None  # MNE-LSL Player's annotations: one channel per description, the value its duration
    unitless: list[int] | None = None  # voltage channels without a unit (signals: set below)
    if stream_type == "annotations" and fmt != pylsl.cf_string and rate <= 0:
        onehot = [label or f"ch{i}" for i, label in enumerate(channel_info(info, n)[0])]
    is_markers = fmt == pylsl.cf_string or onehot is not None or (n == 1 and rate <= 0 and not signal_type)
    if is_markers:
        check_declared_markers(p, info)
        if n != 1 and onehot is None and rate > 0:  # irregular: one marker a sample (marker_text)
            raise SpecError(
                f"lsl_inlet: string stream '{info.name()}' has {n} channels (string streams are markers, at an "
                f"irregular rate; this one is at {rate:g} Hz)",
                "publish a signal in a numeric format (cf_float32); markers at an irregular rate (nominal_srate 0)",
            )
        codes = {**codes_for(onehot or []), **event_table(info), **p.marker_codes}
        labels = tuple(sorted((c, s) for s, c in codes.items()))
        spec = StreamSpec("events", 0.0, (3,), "float64", labels=labels)
    else:
        labels, types, units = channel_info(info, n)
        if said := desc_count_said(info, n):
            node.count("channel_desc_mismatch")
            _log.warning("lsl_inlet: %s", said)
        names = unique_names([lab or f"ch{i}" for i, lab in enumerate(labels)])
        say_labels(node, _log, info.name(), labels, names, short=bool(said))  # repeated (counted), or left out
        # as the XDF reader: a channel without a type takes the stream's; a type MNE lacks ("ACC") is misc
        ch_types = tuple(spec_channel_type((t or stream_type).lower()) for t in types)
        if rate <= 0:
            raise SpecError(
                f"lsl_inlet: numeric stream '{info.name()}' (type {info.type() or '-'}{typed_by}) has {n} channels "
                "and an irregular rate (nominal_srate 0), so the graph cannot know its sample rate",
                "a marker stream has one channel: send one code (or label) per marker"
                if stream_type == MARKER_TYPE.lower()
                else "give the rate it really sends, e.g. `rate: 250`, to take it as a signal at that rate "
                "(Timeflux's lsl Send publishes rate 0 unless given `rate`), or fix the rate in the sending app; "
                "one-channel irregular streams not typed as a signal are read as integer markers",
            )
        check_declared(p, info, n, rate, names)
        if set(ch_types) == {"audio"} and (said := int_audio_said(info)):  # LSL's AudioCapture: int16
            node.count("audio_int_scale")
            _log.warning("lsl_inlet: %s", said)
        dtype = np.float32 if fmt == pylsl.cf_float32 else np.float64
        scale, unit = to_volts([u or p.units or "" for u in units])  # uV and mV -> V (MNE's unit), as XDF's
        unitless = no_volts(units, types, ch_types, p.units)  # their values looked at (_check_unit)
        scale_ = None if (scale == 1.0).all() else scale[:, None].astype(dtype)
        spec = StreamSpec("signal", rate, (n,), np.dtype(dtype).name, names, ch_types, unit)

    if is_markers:
        return Layout(spec, rate, True, onehot, codes, np.float64, None, None)
    return Layout(spec, rate, False, None, {}, dtype, scale_, unitless)


__all__ = ["Layout", "read_layout"]
