"""What lsl_inlet makes of a stream's description (desc/channels) beyond reading it (lsl_info.channel_info): whether a
numeric stream is a signal its type does not say (signal_typed), which voltage channels carry no voltage unit
(no_volts), and the labels it repeats or leaves out (say_labels)."""

from __future__ import annotations

from collections import Counter

from wavegraph.pipeline.spec import CHANNEL_TYPES

from .lsl_info import MARKER_TYPE, channel_info
from .units import VOLTAGE_TYPES, volt_scale


def signal_typed(info, n: int) -> tuple[bool, str]:
    """Whether a numeric stream is typed as a signal, and what said so when its type does not (ExG, none) but its
    desc/channels does: a channel typed EEG (or another voltage type) or in a voltage unit ("" when none). A
    one-channel stream at an irregular rate not typed as a signal is read as integer markers: such an EEG channel had
    its every sample dropped as an unknown marker."""
    stream_type = info.type().lower()
    if stream_type in CHANNEL_TYPES and stream_type not in ("stim", "misc"):
        return True, ""
    if stream_type == MARKER_TYPE.lower():
        return False, ""
    _, types, units = channel_info(info, n)
    for t, u in zip(types, units):
        if t and t.lower() in VOLTAGE_TYPES:
            return True, f"; its desc/channels types a channel {t}"
        if u and volt_scale(u) is not None:
            return True, f"; its desc/channels gives a channel the unit {u}"
    return False, ""


def no_volts(units: list, desc_types: list, types: tuple, given: str | None) -> list[int] | None:
    """The voltage channels (EEG, ...: `types`) whose values lsl_inlet looks at (unitless_said): those without a unit
    (their own, else the inlet's `units`), and those desc/channels itself types so (`desc_types`) in a unit that is no
    voltage (ADC counts); not a channel typed only by its stream's type in another unit (an accelerometer in g in an
    EEG stream). None when there is none."""
    found = [
        i
        for i, (u, d, t) in enumerate(zip(units, desc_types, types))
        if t in VOLTAGE_TYPES
        and (
            not (u or given) or (d is not None and d.lower() in VOLTAGE_TYPES and volt_scale(u or given or "") is None)
        )
    ]
    return found or None


def say_labels(node, log, stream: str, labels: list, names: tuple, short: bool) -> None:
    """Say (and count duplicate_channel_labels) the labels a stream gives several channels, which become LABEL-0,
    LABEL-1, ... (unique_names, MNE's rule), and the channels it leaves without one among those it labels (chK): a
    montage that sets a label twice or loses one, which the recording and a decoder's `channels` error otherwise showed
    renamed unexplained. `short`: desc/channels lists fewer channels than sent (said already: desc_count_said)."""
    given = [lab or f"ch{i}" for i, lab in enumerate(labels)]
    parts = [
        f"labels {k} channels {lab} (named {', '.join(n for n, g in zip(names, given) if g == lab)} here)"
        for lab, k in Counter(given).items()
        if k > 1
    ]
    if parts:
        node.count("duplicate_channel_labels")
    missing = [f"{i + 1} (named {names[i]})" for i, lab in enumerate(labels) if not lab]
    if missing and len(missing) < len(labels) and not short:
        parts.append(f"gives no label to channel(s) {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    if parts:
        log.warning(
            "lsl_inlet: stream '%s' %s: fix the channel labels in the sending app's montage (desc/channels), or use "
            "these names",
            stream,
            "; ".join(parts[:8]) + (" ..." if len(parts) > 8 else ""),
        )


__all__ = ["no_volts", "say_labels", "signal_typed"]
