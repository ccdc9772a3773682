"""Reading an SSVEP recording for `wavegraph bench bci --data` and `wavegraph train ssvep`: MNE's formats, MNE
epochs, or an XDF (LabRecorder, MNE-LSL) read as file_source reads it; markers whose text is a frequency (or mapped
with `--marker LABEL=FREQ`) become trials; a marker without a duration (LSL, Timeflux) lasts until the next one;
channels without an EEG type (misc) are used when none has it."""

from __future__ import annotations

import os
import re
import struct
import sys
from pathlib import Path
from typing import cast

import numpy as np

OCCIPITAL = ["O1", "Oz", "O2", "PO3", "POz", "PO4", "PO7", "PO8", "Iz", "Pz"]


def _freq_of(desc: str, mapping: dict[str, float]) -> float | None:
    if desc in mapping:
        return mapping[desc]
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:hz|Hz|HZ)?\s*", desc)
    return float(m.group(1)) if m else None


EPOCHS_SUFFIXES = ("-epo.fif", "_epo.fif", "-epo.fif.gz")


def _at_samples(r) -> np.ndarray:
    """The onsets (s from the first sample) of a file_source reader's events `r.events` on its samples back to back:
    each at its own sample, off it as on the file's clock (one in a gap: at the sample after it)."""
    at = r.events[:, 0].astype(np.int64)
    off = r.events[:, 1] - np.array([r.time_of(int(i)) for i in at], dtype=np.float64).reshape(-1)
    return at / r.sfreq + np.maximum(off, -0.5 / r.sfreq)


def _discontinuous_marks(raw, path: str) -> None:
    """An EDF+D/BDF+D (records with gaps between them), which MNE reads back to back, dropping the annotations past
    its packed length (and putting any after a gap that much late): its annotations as file_source places them, each
    at its own sample (the trials after a gap were lost without a word)."""
    import mne
    from wavegraph.nodes.io.edf_header import edf_records
    from wavegraph.nodes.io.readers_mne import _RawReader

    if edf_records(Path(path)) is None:
        return
    r = _RawReader(Path(path))
    labels = dict(r.labels)
    texts = [labels.get(int(c), str(int(c))) for c in r.events[:, 3]]
    raw.set_annotations(mne.Annotations(_at_samples(r), r.events[:, 2], texts, orig_time=None))


def read_recording(path: str):
    """(MNE Raw or Epochs, is_epochs) of `path`: MNE's formats, or an XDF file (LabRecorder, MNE-LSL) read as
    file_source reads it (its numeric stream, or the one of type EEG; every marker stream as annotations, without
    a duration but MNE-LSL Player's). A Raw without annotations but with a trigger (stim) channel gets one annotation per rise of
    it (a value at the first sample too), its code as text, as file_source reads it. ValueError/OSError for a file that cannot be read, naming it."""
    import mne

    where = f" (a relative path is from {os.getcwd()})" if not Path(path).is_absolute() else ""
    if Path(path).is_dir():  # was MNE's 'Unsupported file type ()'
        raise ValueError(f"{path} is a folder{where}; fix: give a recording file in it (a format MNE reads, or .xdf)")
    if not Path(path).exists():  # was MNE's 'fname does not exist: "..."'
        raise ValueError(f"no such file {path}{where}; fix: give the recording's path")
    if path.endswith(EPOCHS_SUFFIXES):
        return mne.read_epochs(path, verbose="error"), True
    if not path.lower().endswith((".xdf", ".xdfz")):
        try:
            raw = mne.io.read_raw(path, preload=True, verbose="error")
        except TypeError as e:  # an EEGLAB .set of trials (as file_source reads it); MNE's raw reader refuses it
            if "number of trials" not in str(e) or not path.lower().endswith(".set"):
                raise
            return mne.read_epochs_eeglab(path, verbose="error"), True
        except (ValueError, AttributeError, AssertionError, EOFError, IndexError, KeyError, struct.error) as e:
            # empty, cut off, or text MNE takes for a BOXY .txt (its bare AssertionError):
            raise ValueError(  # MNE's "'NoneType' object has no attribute 'kind'" traceback, or numpy's "buffer
                f"{path} cannot be read as a recording (MNE: {type(e).__name__}: "  # size must be a multiple"
                f"{str(e) or f'not the format MNE reads {Path(path).suffix} files as'}); "
                "fix: give a whole recording (an empty or cut-off copy cannot be read) in a format MNE reads, or .xdf"
            ) from None
        if path.lower().endswith((".edf", ".bdf")):
            _discontinuous_marks(raw, path)
        if not len(raw.annotations) and len(mne.pick_types(raw.info, stim=True)):
            events = mne.find_events(raw, shortest_event=1, initial_event=True, verbose="error")  # pyright: ignore[reportArgumentType]  # as file_source
            codes = [str(int(c)) for c in events[:, 2]]
            onsets = (events[:, 0] - raw.first_samp) / raw.info["sfreq"]
            raw.set_annotations(mne.Annotations(onsets, np.zeros(len(onsets)), codes, orig_time=None))
        return raw, False
    from wavegraph.nodes.io.xdf import XdfReader
    from wavegraph.pipeline.spec import SpecError

    try:
        r = XdfReader(Path(path), None, "float64")
    except SpecError as e:
        raise ValueError(f"{e.message}; fix: {e.hint}") from None
    kinds = {"eeg", "eog", "ecg", "emg", "misc", "stim", "seeg", "ecog", "resp", "bio"}
    types = [t if t in kinds else "misc" for t in r.ch_types]
    info = mne.create_info(r.ch_names, r.sfreq, types)  # pyright: ignore[reportArgumentType]  # a list per channel
    raw = mne.io.RawArray(r.get(list(range(len(r.ch_names))), 0, r.n_times), info, verbose="error")
    labels = dict(r.labels)
    # each marker at its own sample (the reader's nearest), off it as on the file's clock (a marker in a dropout: at the
    # sample after it): the samples go back to back, and their stamps put markers after a dropout its length late (out
    # of the data: the trials lost), and those of a stream off its nominal rate its drift off their samples
    onsets = _at_samples(r)  # (before the first sample: below 0, left out)
    keep = onsets >= 0
    raw.set_annotations(
        mne.Annotations(onsets[keep], r.events[keep, 2], [labels.get(int(c), str(int(c))) for c in r.events[keep, 3]])
    )
    return raw, False


def parse_markers(items: list[str]) -> dict[str, float]:
    """`--marker LABEL=FREQ` items as {label: Hz}; ValueError naming the item that is not one."""
    mapping = {}
    for item in items:
        key, eq, val = item.partition("=")
        try:
            hz = float(val)
        except ValueError:
            hz = float("nan")
        if not eq or not key or not np.isfinite(hz) or hz <= 0:
            raise ValueError(f"--marker {item!r}: write LABEL=FREQ with FREQ in Hz, e.g. --marker stim_1=7.5")
        mapping[key] = hz
    return mapping


def data_channels(inst) -> list[str]:
    """The channels to decode when none are named: the occipital ones of the simulated montage, else every EEG
    channel, else every data channel (a recording whose channels carry no type, e.g. `misc` from an LSL stream)."""
    import mne

    from .ssvep_sim import CHANNELS

    eeg = [inst.ch_names[i] for i in mne.pick_types(inst.info, eeg=True)]
    if not eeg:
        eeg = [inst.ch_names[i] for i in mne.pick_types(inst.info, eeg=True, misc=True, seeg=True, ecog=True)]
    return [c for c in CHANNELS if c in eeg] or eeg


def marker_spans(raw, mapping: dict[str, float]) -> tuple[list[tuple[int, int, float]], dict[str, int]]:
    """The markers of a Raw whose description is a frequency (or mapped to one): (start sample, duration in samples,
    Hz), start from the first sample. A marker without a duration (LSL and Timeflux markers carry none) lasts until
    the next marker, or the end of the recording. Also {description: count} of every marker, for messages."""
    fs = float(raw.info["sfreq"])
    anns = sorted(raw.annotations, key=lambda a: a["onset"])  # pyright: ignore[reportArgumentType, reportCallIssue]
    starts = [int(round((a["onset"] - raw.first_time) * fs)) for a in anns]  # pyright: ignore[reportIndexIssue, reportCallIssue, reportArgumentType]
    spans, found = [], {}
    for k, ann in enumerate(anns):
        desc = str(ann["description"])  # pyright: ignore[reportIndexIssue, reportCallIssue, reportArgumentType]
        found[desc] = found.get(desc, 0) + 1
        f = _freq_of(desc, mapping)
        if f is None:
            continue
        dur = int(round(ann["duration"] * fs))  # pyright: ignore[reportIndexIssue, reportCallIssue, reportArgumentType]
        if dur <= 0:
            later = [s for s in starts[k + 1 :] if s > starts[k]]
            dur = (later[0] if later else raw.n_times) - starts[k]
        spans.append((starts[k], dur, f))
    return spans, found


def labels_found(found: dict[str, int], limit: int = 8) -> str:
    """`'stim/left' (4), 'stim/right' (4)` for an error message."""
    items = [f"{d!r} ({n})" for d, n in list(found.items())[:limit]]
    return ", ".join(items) + (", ..." if len(found) > limit else "") if items else "none"


def _notch(x: np.ndarray, rate: float, line: float) -> np.ndarray:
    """Causal notch at the line frequency and its harmonics below Nyquist (as the `notch` node, zero state);
    none for line 0."""
    from scipy.signal import iirnotch, lfilter

    if line <= 0:
        return x
    for k in range(1, 10):
        if k * line >= rate / 2 - 1:
            break
        b, a = iirnotch(k * line, 30.0, fs=rate)
        x = np.asarray(lfilter(b, a, x, axis=-1))
    return x


def _narrowband_snr(x: np.ndarray, rate: float, f: float) -> float:
    """Spectral power at f and 2f over the mean of the +-1 Hz neighbourhood (one long window)."""
    spec = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    fr = np.fft.rfftfreq(x.shape[-1], 1 / rate)
    p = spec.mean(axis=0)
    total = 0.0
    for h in (1, 2):
        k = int(np.argmin(np.abs(fr - h * f)))
        nb = np.r_[p[max(k - 12, 0) : max(k - 2, 0)], p[k + 3 : k + 13]]
        total += p[k] / nb.mean()
    return total


MIN_MARKER_HZ = 3.0  # a marker read as a lower frequency is an event code (1, 2, 3...), not a stimulus


def load_real(path: str | None, freqs, line: float, mapping: dict[str, float] | None = None):
    """Segments [(data (C, n), rate, label freq)] and the channels, from the ssvepy epochs or --data FILE.
    `mapping`: marker description or event code -> Hz (`--marker`), for markers that are not a number."""
    import mne
    from wavegraph.pipeline.datasets import fetch

    mapping = mapping or {}
    src = str(path) if path else str(fetch("ssvepy-epochs"))
    inst, is_epochs = read_recording(src)
    channels = [c for c in OCCIPITAL if c in inst.ch_names]
    if len(channels) < 2:
        channels = [inst.ch_names[i] for i in mne.pick_types(inst.info, eeg=True)] or [
            inst.ch_names[i] for i in mne.pick_types(inst.info, eeg=True, misc=True, seeg=True, ecog=True)
        ]  # channels without a type (misc, e.g. from an LSL stream): every data channel
    if not channels:
        raise ValueError(f"{src}: no EEG or data channels to decode ({', '.join(inst.ch_names)})")
    found: dict[str, int] = {}
    rate = float(inst.info["sfreq"])
    segments, how = [], ""
    if is_epochs and path is None:
        # ssvepy's event codes are conditions, not frequencies: label each 16 s epoch by the candidate with the
        # highest narrow-band SNR (f and 2f) over the whole epoch, a long-window reference the short windows are
        # scored against.
        for e in inst.get_data(picks=channels):  # pyright: ignore[reportArgumentType]  # mne accepts a list of names; its annotation omits it
            e = _notch(e, rate, line)
            f = max(freqs, key=lambda g: _narrowband_snr(e[:, int(rate) :], rate, g))
            segments.append((e, f))
        how = "epoch label = candidate with the highest 16 s narrow-band SNR (f, 2f)"
    elif is_epochs:
        assert isinstance(inst, mne.BaseEpochs)
        inv = {v: k for k, v in cast("dict[str, int]", inst.event_id).items()}
        onset = max(0, int(round(-inst.tmin * rate)))  # an epoch that starts before its event: the pre-roll
        picked = inst.get_data(picks=channels)  # pyright: ignore[reportArgumentType]  # mne accepts a list of names; its annotation omits it
        for e, code in zip(picked, inst.events[:, 2]):
            desc = inv.get(code, str(code))
            found[desc] = found.get(desc, 0) + 1
            f = mapping.get(desc, mapping.get(str(code), _freq_of(desc, {})))
            if f is not None:
                segments.append((_notch(e, rate, line)[:, onset:], f))  # from the stimulus onset (t = 0)
        how = "epoch label = its event name as Hz"
    else:
        assert isinstance(inst, mne.io.BaseRaw)
        data = _notch(np.asarray(inst.get_data(picks=channels)), rate, line)  # pyright: ignore[reportArgumentType]  # mne accepts a list of names; its annotation omits it
        spans, found = marker_spans(inst, mapping)
        inside = [(i0, n, f) for i0, n, f in spans if i0 + n > 0 and i0 < data.shape[1]]
        if len(inside) < len(spans):  # e.g. an EDF's "Recording ends" mapped to a frequency: no sample is its
            print(
                f"{src}: left out {len(spans) - len(inside)} marker(s) outside the recording (0 to "
                f"{data.shape[1] / rate:.3f} s)",
                file=sys.stderr,
            )
        segments = [(data[:, max(0, i0) : i0 + n], f) for i0, n, f in inside]
        how = (
            "segment = marker onset to onset + duration (a marker without one: to the next marker), "
            "label = its description as Hz"
        )
    if not segments:
        raise ValueError(
            f"{src}: no epochs/markers whose label is a frequency (its markers: {labels_found(found)}); "
            "fix: markers like '7.5' or '7.5Hz', or map them with --marker LABEL=FREQ"
        )
    low = sorted({f for _, f in segments if f < MIN_MARKER_HZ})
    if low and not mapping:
        raise ValueError(
            f"{src}: markers read as {', '.join(f'{f:g}' for f in sorted({f for _, f in segments}))} Hz, "
            f"{', '.join(f'{f:g}' for f in low)} below {MIN_MARKER_HZ:g} Hz: event codes "
            "rather than stimulus frequencies; fix: map them, e.g. --marker 1=8 --marker 2=10"
        )
    return src, segments, rate, channels, how
