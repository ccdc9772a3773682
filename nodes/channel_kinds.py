"""Trigger (stim) channels inside the signal nodes: a channel typed `stim` holds event codes, not a voltage, and MNE's
filters and resampler leave them codes (raw.filter and notch_filter pass them; raw.resample keeps their events). The
IIR filters pass them as they are (nodes/dsp/filters.py) and `resample` resamples them as MNE does (`stim_codes`):
filtered, their codes rang into values no event has (5 came out 4.9, then -6.2) and a recording after them held no
trigger. running_zscore and filterbank pass them too; bandpower, stft and eeg_tokenizer leave them out of their features
(`without_triggers`), as MNE's compute_psd picks data channels, and mix out of its default mean. Channels are on the
last axis: after a filterbank, (bands, channels), a trigger is a row of every band (`trigger_channels`).
`say_named_not_eeg`: channels typed eeg whose names say EOG, EMG, ECG, ... (a sleep EDF, all EEG as MNE reads it), said
where car averages them."""

from __future__ import annotations

import logging
import re

import numpy as np
from wavegraph.pipeline.spec import SpecError, StreamSpec

_log = logging.getLogger("wavegraph.triggers")


def trigger_positions(node, spec: StreamSpec, what: str, how: str) -> np.ndarray:
    """The positions on the channel (last) axis of a signal's channels typed stim (none for a stream without types),
    said at INFO: '<type> '<id>' <what> its trigger channel(s) <names> <how>'."""
    types = spec.channel_types
    if not spec.shape or len(types) != spec.shape[-1] or "stim" not in types:
        return np.zeros(0, dtype=np.intp)
    stim = np.flatnonzero([t == "stim" for t in types])
    _log.info(
        "%s %s its trigger channel(s) %s %s", who(node), what, ", ".join(spec.channel_names[i] for i in stim), how
    )
    return stim


def trigger_channels(node, spec: StreamSpec, what: str, how: str) -> np.ndarray:
    """The rows of the channels typed stim in the signal flattened to (signals, samples), channels on the last axis: a
    (channels,) signal's trigger_positions, a filter bank's (bands, channels) those of every band; said as there. Only
    the (channels,) layout was taken: after a filterbank, a notch, fir, resample or running_zscore processed the codes
    as data."""
    stim = trigger_positions(node, spec, what, how)
    n_lead = int(np.prod(spec.shape[:-1])) if stim.size else 0  # (1 for a (channels,) signal)
    return (np.arange(n_lead)[:, None] * spec.shape[-1] + stim[None, :]).ravel()


def stim_codes(x: np.ndarray, x_start: int, j0: int, n: int, node, n_real: int, final: bool) -> np.ndarray:
    """Outputs j0 .. j0+n-1 of trigger channels resampled as MNE's raw.resample resamples a stim channel
    (mne.filter._resample_stim_channels): output k takes the first nonzero code of input samples
    [floor(k*down/up), floor((k+1)*down/up)) (the last output's window runs to the end of the stream), else the code at
    its first sample; here delayed by the resampler's `out_delay` output samples, as its filtered channels are (0
    before). `x`: the trigger channels' input samples from stream sample `x_start`; `n_real`: the stream's samples
    (the zeros finish() flushes after them are none of its); `final`: no sample comes after them."""
    up, down = node.up, node.down
    k = np.arange(j0, j0 + n, dtype=np.int64) - node.out_delay
    out = np.zeros((x.shape[0], n), dtype=x.dtype)
    ok = (k >= 0) & (n_real > 0)
    if not ok.any():
        return out
    kk = k[ok]
    lo = np.minimum(kk * down // up, n_real - 1)
    hi = np.minimum((kk + 1) * down // up, n_real)
    if final:
        hi[kk >= int(round(n_real * up / down)) - 1] = n_real
    hi = np.maximum(hi, lo + 1)
    idx = lo[:, None] + np.arange(int((hi - lo).max()))[None, :]
    inside = idx < hi[:, None]
    vals = x[:, np.clip(idx - x_start, 0, x.shape[1] - 1)]  # (channels, outputs, window)
    nonzero = (vals != 0) & inside[None]
    first = np.take_along_axis(vals, nonzero.argmax(axis=-1)[..., None], axis=-1)[..., 0]
    out[:, ok] = np.where(nonzero.any(axis=-1), first, vals[..., 0])
    return out


def codes_at(x: np.ndarray, times: np.ndarray, at: np.ndarray, period: float) -> np.ndarray:
    """Trigger channels `x` (channels, samples at `times`) on another grid (`at`, every `period` s; join): at each
    time t the first nonzero code of the samples in (t - period, t], else the last code at or before t (held), as
    MNE's raw.resample takes a stim channel's (linearly interpolated, a code 5 next to 0 came out 2.5, 1.875, ...)."""
    i = np.clip(np.searchsorted(times, at, side="right") - 1, 0, times.size - 1)
    lo = np.minimum(np.searchsorted(times, at - period, side="right"), i)
    idx = lo[:, None] + np.arange(int((i - lo).max(initial=0)) + 1)[None, :]
    inside = idx <= i[:, None]
    vals = x[:, np.minimum(idx, times.size - 1)]  # (channels, times, window)
    nonzero = (vals != 0) & inside[None]
    first = np.take_along_axis(vals, nonzero.argmax(axis=-1)[..., None], axis=-1)[..., 0]
    return np.where(nonzero.any(axis=-1), first, x[:, i])


def without_triggers(node, spec: StreamSpec, what: str) -> tuple[np.ndarray | None, StreamSpec]:
    """A features node's input without its channels typed stim, whose codes give no `what` (a band power, a spectrum,
    a token), as MNE's compute_psd and compute_tfr pick the data channels: (the positions kept on the channel (last)
    axis, or None when there is no trigger channel; the spec of those channels: a filter bank's (bands, kept)), said
    once at INFO. A stream of trigger channels only is a SpecError."""
    stim = trigger_positions(node, spec, "leaves out", f"(a trigger's codes have no {what}; MNE's psd picks data only)")
    if not stim.size:
        return None, spec
    keep = np.setdiff1d(np.arange(spec.shape[-1]), stim)
    if not keep.size:
        raise SpecError(
            f"{who(node)}: every channel of its input is a trigger (typed stim), which gives no {what}",
            "connect the EEG (or the channels to analyse), not the trigger channel alone",
        )
    names = tuple(spec.channel_names[i] for i in keep)
    types = tuple(spec.channel_types[i] for i in keep)
    bads = tuple(b for b in spec.bads if b in names)
    return keep, spec.evolve(shape=(*spec.shape[:-1], keep.size), channel_names=names, channel_types=types, bads=bads)


# a label that says its channel holds no EEG: a sleep study's 'EOG horizontal', 'EMG submental', 'ECG', 'Resp oro-nasal',
# 'Temp rectal', 'SaO2' (an EDF/BDF's channels are all EEG as MNE reads them: read_raw_edf's infer_types is False), and
# the bipolar EOG of BrainVision/EEGLAB ('HEOG', 'VEOG') and Neuroscan ('HEO', 'VEO') files, and the outer canthus EOG
# of sleep and clinical montages ('LOC-A2', 'ROC-A1', 'EOG LOC'), and AASM's names of them, E1/E2 to a mastoid or ear
# ('E1-M2', 'E2-M1', 'E1:M2', 'E1-A2': only with that reference, as a bare 'E1'..'E256' is an EGI net's EEG); each a word
# (not the letters of 'CLOCK' or 'Proc')
_NOT_EEG = re.compile(
    r"(?<![a-z])(?:[hv]?(?:eog|emg|ecg|ekg)|[hv]eo|[lr]oc|(?<![0-9])e[12]\s*[-:]\s*[am][12](?![0-9])"
    r"|resp(?:iration)?|temp|sao2|spo2|pleth)(?![a-z])",
    re.IGNORECASE,
)
_INFERRED = ("EOG", "ECG", "EMG", "BIO", "RESP", "TEMP", "MISC", "SAO2", "STIM")  # the types MNE's infer_types gives


def who(node) -> str:
    """'car 'ref'' (its type and id), or what a node made by hand is ('car')."""
    what = node.type_name or type(node).__name__.lower()
    return f"{what} {node.node_id!r}" if node.node_id else what


def say_named_not_eeg(node, spec: StreamSpec, ref: list[int] | np.ndarray) -> None:
    """Say once (WARNING) the channels of the reference `ref` typed eeg whose names say they are no EEG, with the fix:
    file_source's infer_types for those whose label starts with a type word (as MNE's read_raw_edf(infer_types=True)
    types them), the node's ref_channels for the others."""
    names, types = spec.channel_names, spec.channel_types
    if len(names) != spec.n_channels or len(types) != len(names):
        return
    odd = [int(i) for i in ref if types[i] == "eeg" and _NOT_EEG.search(names[i])]
    if not odd:
        return
    typed = [names[i] for i in odd if " " in names[i] and names[i].split(" ")[0].upper() in _INFERRED]
    rest = [names[i] for i in odd if names[i] not in typed]
    eeg = [names[i] for i in ref if int(i) not in odd]
    fixes = []
    if typed:
        fixes.append(
            "file_source infer_types: true types "
            + ", ".join(f"'{n}'" for n in typed)
            + " by the label's first word, as MNE's read_raw_edf(infer_types=True) (renamed without it: "
            + ", ".join(f"'{n.split(' ', 1)[1]}'" for n in typed)
            + ")"
        )
    if rest or not typed:
        fixes.append(
            f"give {node.type_name or 'car'} ref_channels: [{', '.join(eeg)}]"
            if 1 < len(eeg) <= 12
            else f"name the EEG channels in {node.type_name or 'car'} ref_channels"
        )
    logging.getLogger("wavegraph.rereference").warning(
        "%s: channel(s) %s, typed eeg, are averaged into the reference and re-referenced, though their names say "
        "they are no EEG (an EDF/BDF's channels are all EEG as MNE reads them: read_raw_edf's infer_types is False); "
        "fix: %s",
        who(node), ", ".join(f"'{names[i]}'" for i in odd), "; ".join(fixes),
    )  # fmt: skip
