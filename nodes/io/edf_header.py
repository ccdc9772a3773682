"""What file_source reads from an EDF/BDF header itself, where MNE keeps none of it or reads it otherwise than the
file says: each signal's label (UTF-8 labels as written, `utf8_names`), samples per record and physical dimension (unit), the fraction of a second EDF+
starts into, an EDF+D file's record times, channels recorded below the top rate, and the units MNE does not scale."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .triggers import _MNE_TRIGGERS as MNE_TRIGGERS  # mne.find_events reads these by name
from .units import volt_scale

_log = logging.getLogger("wavegraph.file_source")


class EdfLayout(NamedTuple):
    """An EDF/BDF header's layout, parsed once: its 256-byte main header, each signal's label and samples per data
    record, the header's size, the records it lists (-1: unknown, a recording still open), the record duration (s),
    and the bytes per sample (2 for EDF, 3 for BDF)."""

    head: bytes
    labels: list[str]
    samples_per_record: list[int]
    header_bytes: int
    n_records: int
    duration: float
    width: int


def edf_signals(path: Path) -> EdfLayout | None:
    """EDF/BDF: its EdfLayout; None when the header is cut short or its fields are not numbers (file_checks.check_edf
    says which)."""
    with open(path, "rb") as f:
        head = f.read(256)
        try:
            ns = int(head[252:256])
            header_bytes, n_records, duration = int(head[184:192]), int(head[236:244]), float(head[244:252])
        except ValueError:
            return None
        sig = f.read(ns * 256)
    labels = [sig[i * 16 : (i + 1) * 16].decode("latin-1").split("\x00")[0].strip() for i in range(ns)]  # as MNE
    at = ns * 216  # samples per record, after label, transducer, dimension, 4 ranges, prefiltering
    try:
        spr = [int(sig[at + i * 8 : at + (i + 1) * 8]) for i in range(ns)]
    except ValueError:
        return None
    return EdfLayout(head, labels, spr, header_bytes, n_records, duration, 3 if head[:1] == b"\xff" else 2)


def _as_utf8(name: str) -> str | None:
    """A name MNE decoded from an EDF/BDF label as Latin-1, decoded as UTF-8 instead (a character the field's 16 bytes
    cut short left out); None when its bytes are no UTF-8."""
    try:
        raw = name.encode("latin-1")  # MNE's decoding undone: the header's bytes
        return raw.decode("utf-8")
    except UnicodeEncodeError:
        return None
    except UnicodeDecodeError as e:
        if e.reason != "unexpected end of data":
            return None
        return raw[: e.start].decode("utf-8")  # (everything before a cut sequence is UTF-8)


def utf8_names(path: Path, ch_names: list[str]) -> list[str] | None:
    """EDF/BDF: the channel names MNE gave (`ch_names`, Latin-1 as it decodes every label) decoded as UTF-8, when every
    label field of the header is UTF-8 and one is not ASCII (EDF says ASCII, but tools write UTF-8: 'Ölabel' read
    'Ã\x96label'); said at INFO. None for any other file (a Latin-1 label, '\xd6label', is no UTF-8: kept as MNE's)."""
    signals = edf_signals(path)
    if signals is None or all(label.isascii() for label in signals.labels):
        return None
    if any(_as_utf8(label) is None for label in signals.labels):
        return None
    names = [_as_utf8(n) or n for n in ch_names]
    for i, (name, mne_name) in enumerate(zip(names, ch_names)):
        if name != mne_name and names.count(name) > 1:  # a label the 16 bytes cut short, now another's: MNE's name
            _log.info("file_source: %s: label %r cut short is %r, another channel's name: kept", path, mne_name, name)
            names[i] = mne_name
    _log.info(
        "file_source: %s: its channel labels are UTF-8 (EDF says ASCII; MNE reads them as Latin-1): replayed as "
        "written: %s", path, ", ".join(f"{n!r}" for n, m in zip(names, ch_names) if n != m),
    )  # fmt: skip
    return names


def edf_start_offset(path: Path) -> float:
    """EDF+/BDF+: the seconds after the header's start time at which the first record starts (its time-keeping
    annotation: '+0.3945312', a fraction of the header's second; '+5', a recording whose first records were left out),
    which MNE leaves out of meas_date (its annotations count from the first record); 0 for any other file."""
    signals = edf_signals(path)
    if signals is None or signals[0][192:196] not in (b"EDF+", b"BDF+"):
        return 0.0
    labels, spr, width = signals.labels, signals.samples_per_record, signals.width
    tals = [i for i, label in enumerate(labels) if label.endswith("Annotations")]
    if not tals:
        return 0.0
    with open(path, "rb") as f:
        f.seek(signals.header_bytes + sum(spr[: tals[0]]) * width)
        first = f.read(spr[tals[0]] * width).split(b"\x14", 1)[0]
    try:
        offset = float(first.decode("latin-1"))
    except ValueError:
        return 0.0
    return offset if 0 < offset < float("inf") else 0.0


def edf_records(
    path: Path, continuous: bool = False
) -> tuple[np.ndarray, float, list[tuple[float, float, str]]] | None:
    """EDF+D / BDF+D (and EDF+C / BDF+C with `continuous`): (each data record's start in seconds, the record duration,
    the annotations as (onset, duration, text) on the same clock), from the TALs of the records the file holds; None
    for any other file."""
    signals = edf_signals(path)
    kinds = (b"EDF+D", b"BDF+D") + ((b"EDF+C", b"BDF+C") if continuous else ())
    if signals is None or signals[0][192:197] not in kinds:
        return None
    _, labels, spr, header, n_rec, duration, width = signals
    rec_bytes = sum(spr) * width
    tals = [i for i, label in enumerate(labels) if label.endswith("Annotations")]
    whole = (path.stat().st_size - header) // rec_bytes  # a truncated file: the records it holds
    n_rec = whole if n_rec < 0 else min(n_rec, whole)
    starts, notes = np.empty(n_rec), []
    with open(path, "rb") as f:
        for r in range(n_rec):
            for k, tal in enumerate(tals):
                f.seek(header + r * rec_bytes + sum(spr[:tal]) * width)
                for j, entry in enumerate(f.read(spr[tal] * width).split(b"\x00")):
                    if not entry.strip(b"\x00"):
                        continue
                    when, *texts = entry.decode("utf-8", "replace").split("\x14")
                    onset, _, dur = when.partition("\x15")
                    if k == 0 and j == 0:  # the record's time-keeping TAL
                        starts[r] = float(onset)
                    notes += [(float(onset), float(dur or 0), t) for t in texts if t]
    return starts, duration, notes


def low_rate_channels(path: Path, ch_names: list[str], sfreq: float, n_times: int) -> set[int]:
    """EDF/BDF/GDF channels recorded below the file's top rate (a PSG's respiration at 10 Hz beside EEG at 100 Hz),
    which MNE upsamples to it, said. MNE upsamples each read separately (FFT resampling of that block: artifacts of
    the signal's size at every block edge, MNE issue 10635), so the reader loads the file at their first read."""
    if path.suffix.lower() == ".gdf":  # (MNE's GDF reader upsamples them so too)
        from .gdf_header import gdf_rates

        rates = gdf_rates(path) or []
    else:
        signals = edf_signals(path)
        if signals is None:
            return set()
        labels, spr, duration = signals.labels, signals.samples_per_record, signals.duration
        rates = [n / duration for n, label in zip(spr, labels) if not label.endswith("Annotations")] if duration else []
    if len(rates) != len(ch_names) or not rates or min(rates) == max(rates):
        return set()
    low = {i for i, r in enumerate(rates) if r < sfreq}
    empty = sorted(i for i in low if rates[i] == 0)  # (were said 'recorded below ... at 0 Hz: MNE upsamples them')
    if empty:
        _log.warning(
            "file_source: %s: its header gives %s 0 samples per data record: %s no samples, and MNE replays %s as "
            "zeros (a flat channel, which car would average in); leave %s out (picks: the other channels)",
            path,
            ", ".join(ch_names[i] for i in empty),
            "it holds" if len(empty) == 1 else "they hold",
            "it" if len(empty) == 1 else "them",
            "it" if len(empty) == 1 else "them",
        )
    if len(empty) == len(low):
        return low  # (read from memory all the same: MNE's zeros, not its upsampling, were read so before)
    _log.warning(
        "file_source: %s: %s recorded below the file's %g Hz (%s): MNE upsamples them to %g Hz; the recording is read "
        "into memory (%.0f MB) when they are first read, as MNE advises (block by block, its upsampling leaves "
        "artifacts at every block edge); pick the %g Hz channels only to replay it lazily",
        path,
        "channels" if len(low) - len(empty) > 1 else "channel",
        sfreq,
        ", ".join(f"{ch_names[i]} {rates[i]:g} Hz" for i in sorted(low) if rates[i] > 0),
        sfreq,
        len(ch_names) * n_times * 8 / 1e6,
        sfreq,
    )
    return low


_MNE_MICRO = ("\u03bcV", "\u00b5V", "\x83\xcaV", "uV")  # the spellings MNE scales by 1e-6 (mV: 1e-3; any other: 1)


def edf_units(path: Path) -> list[str] | None:
    """Each signal's physical dimension (its unit), the annotation signals left out, as MNE's orig_units before it
    renames them; None when the header cannot be read."""
    signals = edf_signals(path)
    if signals is None:
        return None
    labels = signals.labels
    with open(path, "rb") as f:
        f.seek(256 + 96 * len(labels))  # after the labels (16 bytes each) and transducers (80)
        dims = [f.read(8).decode("latin-1").strip() for _ in labels]
    return [d for d, label in zip(dims, labels) if not label.endswith("Annotations")]


def unit_types(
    path: Path, ch_names: list[str], ch_types: list[str], units: list[tuple[str, float | None, float]] | None
) -> tuple[list[str], dict[int, float]]:
    """The channel types file_source gives an EDF/BDF or GDF, and the factors to volts, from each channel's (unit as the
    file gives it, its factor to volts or None for no voltage, the factor MNE applies): edf_types, gdf_types.

    A voltage MNE does not scale ('UV', 'nV', a micro sign written in UTF-8, GDF 1's 'mV': MNE reads them as volts, 1e6
    or 1e9 times the value) gets the factor that makes it volts (warned). A channel in no voltage (a temperature in degC,
    a heart rate in BPM, EDA in uS, ADC counts without a unit) is misc, its values as in the file (MNE calls it EEG in
    volts, so an EDF recorder wrote 1.5 uS as 1500000 uV), or stim when named as mne.find_events' default trigger
    channels ('STI 014': its events are what find_events(raw) reads, and a recorder's EDF of a stream with one reads
    back so); logged, not warned: nothing is lost (a recorder keeps its values).
    """
    types = list(ch_types)
    if units is None or len(units) != len(ch_names):
        return types, {}
    misc, gains, unscaled = [], {}, {}
    for i, ((_, ours, mne), kind) in enumerate(zip(units, ch_types)):
        if kind in ("stim", "misc"):  # (MNE reads a stim channel unscaled, whatever its unit)
            continue
        if ours is None:
            misc.append(i)
            types[i] = "stim" if ch_names[i] in MNE_TRIGGERS else "misc"  # (find_events reads them by name)
            if mne != 1.0:  # MNE scaled it all the same (GDF 1: any unit starting 'uV', 'uVs'): back to the file's
                unscaled[i] = 1.0 / mne
        elif ours != mne:
            gains[i] = ours / mne

    def said(i: int) -> str:  # (a field padded with NULs, not spaces: MNE reads it unscaled)
        unit = units[i][0]
        return (
            f"in {unit.split(chr(0))[0]!r}" + (" (NUL-padded)" if "\x00" in unit else "") if unit else "without a unit"
        )

    if gains:
        _log.warning(
            "file_source: %s: %s scaled to volts as %s (MNE reads %s unscaled, as volts)",
            path,
            ", ".join(f"{ch_names[i]} {said(i)}" for i in gains),
            "their units say" if len(gains) > 1 else "its unit says",
            "them" if len(gains) > 1 else "it",
        )
    if misc:
        _log.info(
            "file_source: %s: typed misc or, by its name, stim (no voltage; values as in the file): %s",
            path,
            ", ".join(f"{ch_names[i]} ({types[i]}) {said(i)}" for i in misc),
        )
    return types, gains | unscaled


def edf_types(path: Path, ch_names: list[str], ch_types: list[str]) -> tuple[list[str], dict[int, float]]:
    """unit_types of an EDF/BDF, by each signal's unit (our volt_scale of it before any NUL; MNE's by its spelling)."""
    units = edf_units(path)
    if units is not None:
        mne = [1e-6 if u in _MNE_MICRO else 1e-3 if u == "mV" else 1.0 for u in units]
        units = [(u, volt_scale(u.split("\x00")[0]), m) for u, m in zip(units, mne)]
    return unit_types(path, ch_names, ch_types, units)
