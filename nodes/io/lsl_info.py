"""What an LSL stream's info says, read for lsl_inlet and `wavegraph devices`: one line per stream, the
channel labels/types/units of desc/channels (repeated labels made unique), the desc/events code table."""

from __future__ import annotations


def stream_lines(infos) -> list[str]:
    """One line per stream: name, type, channels, rate, format, host."""
    return [
        f"'{i.name()}' (type {i.type() or '-'}, {i.channel_count()} ch, {i.nominal_srate():g} Hz, "
        f"{_FORMAT_NAMES.get(i.channel_format(), '?')}, host {i.hostname()})"
        for i in infos
    ]


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


__all__ = ["channel_info", "describe_streams", "event_table", "stream_lines", "unique_names"]
