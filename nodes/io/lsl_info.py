"""What an LSL stream's info says, read for lsl_inlet and `wavegraph devices`: one line per stream, the
channel labels/types/units of desc/channels (repeated labels made unique), the desc/events code table."""

from __future__ import annotations

import time

RESOLVE_SLICE_S = 0.5  # longest liblsl call of a discovery (Python runs its Ctrl-C handler between them)


def resolve(pylsl, pred: str, timeout: float) -> list:
    """pylsl.resolve_bypred(pred, minimum=1, timeout) in slices of RESOLVE_SLICE_S: Python's signal handler
    runs only when the C call returns, so a long `resolve_timeout` held Ctrl-C until it was over."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        found = pylsl.resolve_bypred(pred, minimum=1, timeout=min(RESOLVE_SLICE_S, left))
        if found:
            return found
    return []


def stream_lines(infos) -> list[str]:
    """One line per stream: name, type, channels, rate, format, host, source_id."""
    return [
        f"'{i.name()}' (type {i.type() or '-'}, {i.channel_count()} ch, {i.nominal_srate():g} Hz, "
        f"{_FORMAT_NAMES.get(i.channel_format(), '?')}, host {i.hostname()}, source_id {i.source_id() or '-'})"
        for i in infos
    ]


def _layout(info) -> str:
    return f"{info.channel_count()} ch at {info.nominal_srate():g} Hz, {_FORMAT_NAMES.get(info.channel_format(), '?')}"


def came_back_changed(pylsl, info) -> str | None:
    """What changed when the outlet of `info`'s source_id is back with another channel count, rate or
    format (an amplifier app restarted with other settings: liblsl's `recover` then never reconnects, and
    the inlet would wait in silence), else None. Looks for 0.2 s."""
    if info is None or not info.source_id() or "'" in info.source_id():
        return None
    sid = info.source_id()
    for new in pylsl.resolve_bypred(f"source_id='{sid}'", minimum=1, timeout=0.2):
        if _layout(new) != _layout(info):
            return (
                f"stream '{info.name()}' (source_id {sid}) came back with {_layout(new)}, "
                f"it had {_layout(info)} when the graph started"
            )
    return None


def describe_streams(infos) -> str:
    return "; ".join(stream_lines(infos)) or "none"


_FORMAT_NAMES = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}


def channel_info(info, n: int) -> tuple[list[str | None], list[str | None], list[str | None]]:
    """Labels, types and units from desc/channels/channel (None where absent)."""
    labels, types, units = [], [], []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(labels) < n:
        labels.append(ch.child_value("label") or None)
        types.append(ch.child_value("type") or None)
        units.append(ch.child_value("unit") or None)
        ch = ch.next_sibling("channel")
    pad = [None] * (n - len(labels))
    return labels + pad, types + pad, units + pad


def unique_names(names: list[str]) -> tuple[str, ...]:
    """Every label that repeats becomes LABEL-0, LABEL-1, ... (MNE's rule), skipping names already
    taken; the others keep theirs."""
    taken, out = set(names), []
    for name in names:
        if names.count(name) > 1:
            k = 0
            while f"{name}-{k}" in taken:
                k += 1
            taken.add(f"{name}-{k}")
            name = f"{name}-{k}"
        out.append(name)
    return tuple(out)


def event_table(info) -> dict[str, int]:
    """The desc/events/event {code, label} table written by lsl_outlet: label -> code."""
    table = {}
    ev = info.desc().child("events").child("event")
    while not ev.empty():
        try:
            table[ev.child_value("label")] = int(ev.child_value("code"))
        except ValueError:
            pass
        ev = ev.next_sibling("event")
    return table


__all__ = [
    "came_back_changed",
    "channel_info",
    "resolve",
    "describe_streams",
    "event_table",
    "stream_lines",
    "unique_names",
]
