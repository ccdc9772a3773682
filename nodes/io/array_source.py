"""array_source: replay data already in memory (a numpy array, or an MNE Raw) as file_source replays a file.

For graphs built in Python (pipeline/api.py, a notebook): no file has to be written first.

    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=250.0, ch_names=["C3", "C4"], ch_types="eeg")
    src = g.add("array_source", data=raw)       # an mne.io.Raw: its rate, names, types, annotations
    out = g.run(capture=[g.add("bandpass", src, l_freq=1.0, h_freq=40.0)])

Params
  data:     a (channels, samples) array of real numbers (1-D: one channel), an mne.io.Raw, or mne.Epochs
            (replayed back to back as file_source replays an epochs file: each epoch after the first `gap`).
            Epochs whose bad epochs are not dropped yet (mne.Epochs(raw, events), not preloaded) get drop_bad(),
            in place, as MNE's own get_data or save would: the epochs their `reject` refuses are not replayed.
            A masked array that masks a value is refused: pass data.filled(np.nan) to send them as NaN.
  rate:     samples per second (arrays; a Raw carries its own).
  ch_names: one per channel (default ch0, ch1, ...); ch_types one MNE type for all or one per channel
            (default "misc", as mne.create_info); units the spec's units (default "SI", as MNE's arrays).
  events:   (n, 3) rows (onset s from the first sample, duration s, integer code), as file_source emits
            them; `labels` maps codes to descriptions. A Raw's annotations (and `stim_channel`) are its events.
  chunk_size / chunk_duration / picks / dtype / stim_channel: as file_source.

Outputs, chunk times, events, state (the read position) and errors are file_source's (nodes/io/file_source.py).
The array is read, never copied whole or changed. In-process only: a multi-process run sends each
process its nodes' parameters as JSON, which an array is not (the graph is refused at build time).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydantic import Field
from wavegraph.pipeline.spec import CHANNEL_TYPES, SpecError

from .file_source import FileSource, ReplayParams
from .readers import _EpochsReader, _RawReader, _Reader


class ArraySourceParams(ReplayParams):
    data: Any = Field(description="a (channels, samples) array, an mne.io.Raw or mne.Epochs")
    rate: float | None = Field(default=None, gt=0, description="samples per second (arrays; a Raw has its own)")
    ch_names: list[str] | None = Field(default=None, description="channel names (default ch0, ch1, ...)")
    ch_types: str | list[str] = Field(default="misc", description="an MNE channel type for all, or one per channel")
    units: str = Field(default="SI", description="the signal's units, as a StreamSpec states them")
    events: Any = Field(default=None, description="(n, 3) rows: onset s from the first sample, duration s, code")
    labels: dict[int, str] | None = Field(default=None, description="code -> description for the events")


class ArraySource(FileSource):
    """Replay an in-memory array or MNE Raw; see the module docstring."""

    Params = ArraySourceParams  # pyright: ignore[reportAssignmentType]  # a ReplayParams, as FileSource reads it
    what = "array_source"

    def _open(self) -> _Reader:
        p = self.params
        assert isinstance(p, ArraySourceParams)
        self.dtype = p.dtype or "float64"
        kind = _mne_kind(p.data)
        if kind:
            for key in ("rate", "ch_names", "ch_types", "units", "events", "labels"):
                if key in p.model_fields_set and getattr(p, key) is not None:  # given, not the array defaults
                    raise SpecError(
                        f"array_source: MNE {kind} carries its own {key}", f"leave {key} out, or pass an array"
                    )
            self.path = f"<{type(p.data).__name__} in memory>"
            if kind == "Epochs":
                if p.stim_channel is not None:
                    raise SpecError("array_source: Epochs have no stim channel to read", "leave stim_channel out")
                return _EpochsReader(None, epochs=p.data)
            return _RawReader(None, p.stim_channel, raw=p.data)
        if p.stim_channel is not None:
            raise SpecError("array_source: stim_channel reads an MNE Raw", "pass events=, or an mne.io.Raw")
        self.path = "<array in memory>"
        return _ArrayReader(p)


def _mne_kind(data) -> str:
    """ "Raw" or "Epochs" for MNE's objects, "" for anything else."""
    import mne

    return "Raw" if isinstance(data, mne.io.BaseRaw) else "Epochs" if isinstance(data, mne.BaseEpochs) else ""


def _not_an_array(data) -> tuple[str, str]:
    """What array_source says of `data` that is neither an array nor MNE Raw/Epochs, and the fix."""
    module = type(data).__module__
    kind = type(data).__qualname__ if module == "builtins" else f"{module}.{type(data).__qualname__}"
    said = f"array_source: data is {'None' if data is None else f'a {kind}'}, not an array, an mne.io.Raw or mne.Epochs"
    if hasattr(data, "info") and hasattr(data, "data") and hasattr(data, "times"):  # mne.Evoked, an average
        return said, "pass data=mne.io.RawArray(evoked.data, evoked.info) to replay it"
    if kind.startswith("mne."):
        return said, "pass an mne.io.Raw (mne.io.RawArray(array, info)), or a (channels, samples) array with rate="
    return said, "pass a (channels, samples) numpy array with rate="


def _unmasked(data: np.ma.MaskedArray) -> np.ndarray:
    """The array under a mask that masks nothing; a SpecError naming the first masked value otherwise (numpy's missing
    values: replayed, they went out as whatever lay under the mask, unsaid)."""
    masked = np.ma.getmaskarray(data)
    if masked.any():
        first = np.argwhere(masked)[0].tolist()
        raise SpecError(
            f"array_source: data is a masked array with {int(masked.sum())} masked values (the first at index "
            f"{tuple(first)}): replayed, they would go out as the values under the mask",
            "pass data.filled(np.nan) to send them as missing (NaN: nodes treat them by their nan_policy), or "
            "data.filled(0.0)",
        )
    return np.ma.getdata(data)


class _ArrayReader(_Reader):
    def __init__(self, p: ArraySourceParams):
        data = p.data
        if not isinstance(data, np.ndarray):
            try:
                data = np.asarray(data)
            except (TypeError, ValueError) as e:
                raise SpecError(
                    f"array_source: data is not an array ({e})", "pass a (channels, samples) array"
                ) from None
        if isinstance(data, np.ma.MaskedArray):  # (its mask was dropped: the values under it went out as samples)
            data = _unmasked(data)
        if data.dtype == object and data.ndim == 0:  # an object numpy cannot read (an mne.Evoked, a dict, None):
            raise SpecError(*_not_an_array(p.data))  # was 'data has shape () and dtype object'
        if data.ndim == 1:
            data = data[np.newaxis]
        if data.ndim != 2 or data.dtype.kind not in "biuf":
            raise SpecError(
                f"array_source: data has shape {data.shape} and dtype {data.dtype}",
                "pass real numbers as (channels, samples): for an STFT or complex signal, its real and imaginary parts "
                "as channels; for (samples, channels), pass data.T",
            )
        if p.rate is None:
            raise SpecError("array_source: an array needs its sampling rate", "pass rate= (samples per second)")
        n_ch = data.shape[0]
        if (
            p.ch_names is None and n_ch > data.shape[1] > 0
        ):  # a (samples, channels) table: pandas, Timeflux (not: empty)
            logging.getLogger("wavegraph.file_source").warning(
                "array_source: data %s is read as %d channels of %d samples (%g s at %g Hz); if its rows are samples "
                "(a table from pandas or Timeflux), pass data.T",
                data.shape,
                n_ch,
                data.shape[1],
                data.shape[1] / p.rate,
                p.rate,
            )
        names = list(p.ch_names) if p.ch_names is not None else [f"ch{i}" for i in range(n_ch)]
        if len(names) != n_ch:
            raise SpecError(
                f"array_source: {len(names)} ch_names for {n_ch} channels (data is {data.shape}, channels first)",
                "give one name per row of data; for (samples, channels), pass data.T",
            )
        if len(set(names)) < len(names):  # as mne.create_info: was kept, and a CSV got two columns of one name
            from .lsl_info import unique_names

            names = list(unique_names(names))
            logging.getLogger("wavegraph.file_source").warning(
                "array_source: ch_names repeat; renamed as MNE renames them: %s", ", ".join(names)
            )
        types = [p.ch_types] * n_ch if isinstance(p.ch_types, str) else list(p.ch_types)
        if len(types) != n_ch or any(t not in CHANNEL_TYPES for t in types):
            raise SpecError(
                f"array_source: ch_types {p.ch_types!r} for {n_ch} channels",
                f"one type for all, or one per channel, from: {', '.join(CHANNEL_TYPES)}",
            )
        self.data, self.sfreq, self.n_times = data, float(p.rate), int(data.shape[1])
        self.ch_names, self.ch_types, self.units = names, types, p.units
        self.events = self._events(p.events)
        codes = {int(c) for c in self.events[:, 3]}
        labels = dict(p.labels or {})
        self.labels = tuple(sorted({c: labels.get(c, str(c)) for c in codes | set(labels)}.items()))

    def _events(self, events) -> np.ndarray:
        if events is None:
            return np.zeros((0, 4))
        fix = "pass an (n, 3) array; from MNE events (sample, 0, code): column_stack([s / sfreq, zeros, code])"
        try:
            ev = np.asarray(events, dtype=np.float64)
        except (TypeError, ValueError) as e:  # ('could not convert string to float', fix: 'check its params')
            raise SpecError(
                f"array_source: events must be rows of 3 numbers (onset s, duration s, integer code): {e}",
                fix + "; a marker's text goes in labels={code: text}",
            ) from None
        if ev.size == 0:  # events=[] (a list a loop filled with no marker): was refused as 'events of shape (0,)'
            return np.zeros((0, 4))
        if ev.ndim != 2 or ev.shape[1] != 3:
            raise SpecError(
                f"array_source: events of shape {ev.shape} (finite rows of onset s, duration s, integer code expected)",
                fix,
            )
        for bad, what in ((~np.isfinite(ev).all(axis=1), "NaN or infinite"), (ev[:, 2] != np.round(ev[:, 2]), "")):
            if bad.any():  # (was 'events of shape (1, 3)', the shape asked for, whatever the row held)
                i = int(np.flatnonzero(bad)[0])
                raise SpecError(
                    f"array_source: event row {i} {ev[i].tolist()} holds "
                    + (f"a {what} value" if what else f"the code {ev[i, 2]:g}, which is no integer")
                    + f" ({int(bad.sum())} of the {len(ev)} rows do)",
                    "give each row a finite onset (s), duration (s) and an integer code"
                    + ("; a marker's text goes in labels={code: text}" if not what else ""),
                )
        end = self.n_times / self.sfreq
        outside = (ev[:, 0] < 0) | (ev[:, 0] > end)
        if outside.any():
            raise SpecError(
                f"array_source: {int(outside.sum())} event onsets outside the data's 0..{end:g} s "
                f"(first: {ev[outside][0, 0]:g}); onsets are seconds from the first sample",
                "for MNE events (sample, previous, code) pass column_stack([ev[:, 0] / sfreq, zeros, ev[:, 2]])",
            )
        return np.column_stack([np.round(ev[:, 0] * self.sfreq), ev])

    def get(self, picks, start, stop):
        return self.data[picks, start:stop]
