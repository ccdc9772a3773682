"""One label per column of a stream, for the sinks that label columns (an LSL outlet's channels, a CSV's header).

A spec's `channel_names` name its columns, except on an `stft`'s frames (and the nodes after it: `magnitude`,
`phase`, `apply_mask`, `gain`), which keep the framed signal's channel names for the `istft` while each row holds
`n_fft // 2 + 1` bins per channel: those columns are labelled `channel:frequency` ("O1:12.5Hz"), channel-major as
the row is. An `lsl_outlet` fed `stft -> magnitude` failed with "IndexError: tuple index out of range" at configure
(it labelled column i with channel name i), and a CSV named the columns f0..f129, channel and bin unsaid."""

from __future__ import annotations

from wavegraph.pipeline.spec import StreamSpec


def column_labels(spec: StreamSpec, width: int, fallback: str = "ch") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, types) of the `width` columns of `spec`: its channel names where there is one per column, the stft's
    `channel:frequency` where its frames hold one bin set per channel, else f"{fallback}{i}"; types where known, else
    empty."""
    names, types = tuple(spec.channel_names), tuple(spec.channel_types or ())
    per_column = types if len(types) == width else ()
    if len(names) == width:
        return names, per_column
    if spec.framing is not None and names and spec.kind == "features":
        n_fft, hop, _ = spec.framing
        bins = n_fft // 2 + 1
        if len(names) * bins == width:
            step = spec.rate * hop / n_fft  # Hz between bins: the framed signal's rate / n_fft
            labels = tuple(f"{c}:{k * step:g}Hz" for c in names for k in range(bins))
            return labels, tuple(t for t in types for _ in range(bins)) if len(types) == len(names) else ()
    return tuple(f"{fallback}{i}" for i in range(width)), per_column
