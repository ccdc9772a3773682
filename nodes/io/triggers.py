"""file_source's events from a trigger channel (mne.find_events), for a recording without annotations.

A BioSemi BDF's 'Status' channel (https://www.biosemi.com/faq/trigger_signals.htm) holds 24 bits: the trigger codes in
the low 16, system flags in the high byte (bit 16 new epoch, bits 17-19 and 21 the speed mode, 20 CMS in range, 22
battery low, 23 MK2). An ActiveTwo sets some of them all the time (CMS in range), so read whole every sample holds a
large value. MNE's BDF reader keeps bits 0-16 of a stim channel (a new-epoch flag comes through as 65536 + code):
file_source keeps the low 16 bits, in its events (mne.find_events with mask=0xFFFF, as MNE's docs advise for BioSemi)
and in the replayed channel, and says once what the high byte held."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError

_log = logging.getLogger("wavegraph.file_source")

_MNE_TRIGGERS = ("STI101", "STI 014", "STI014")  # mne.find_events' default trigger channels, in its order


def default_trigger(ch_names: list[str], ch_types: list[str], path: Path | None) -> str | None:
    """The trigger channel mne.find_events(raw) would read (its default names, else the one channel typed
    stim), for a recording without annotations; None when there is none, or several to choose from."""
    stim = [n for n, t in zip(ch_names, ch_types) if t == "stim"]
    chosen = next((n for n in _MNE_TRIGGERS if n in stim), stim[0] if len(stim) == 1 else None)
    if chosen is None and stim:
        _log.warning(
            "file_source: %s has no annotations and %d trigger channels (%s): no events unless stim_channel names one",
            path or "the recording",
            len(stim),
            ", ".join(stim),
        )
    return chosen


def trigger_events(raw, name: str, auto: bool, path: Path | None, status: int | None = None) -> np.ndarray:
    """mne.find_events rows (sample, previous, code) of trigger channel `name`. `auto` (the channel was not
    asked for): a channel that holds no codes gives no events and a warning instead of a SpecError. `status`: the
    index of a BioSemi BDF's Status channel (status_channel): when `name` is it, its codes are its low 16 bits (mask=0xFFFF,
    as MNE's docs advise for BioSemi), its system flags make no events."""
    import mne

    low16 = status is not None and raw.ch_names[status] == name
    mask = {"mask": 0xFFFF, "mask_type": "and"} if low16 else {}
    try:
        found = mne.find_events(raw, stim_channel=name, shortest_event=1, initial_event=True, verbose="error", **mask)
        if not len(found):
            check_trigger_codes(raw, name)
    except Exception as e:  # noqa: BLE001 — mne raises several types for a channel that holds no triggers
        if not auto:
            raise
        _log.warning("file_source: %s: trigger channel %r gives no events: %s", path or "the recording", name, e)
        return np.zeros((0, 3), dtype=np.int64)
    if auto and len(found):
        _log.info(
            "file_source: %s has no annotations; its events come from trigger channel %r", path or "the recording", name
        )
    return found


# say_unannotated reads at most this many values (channels x samples): mne.find_events reads every channel of the file
# to get the trigger's (a FIF's buffers, an EDF's records), the whole of a multi-GB recording at each configure
SCAN_VALUES = 1 << 26


def say_unannotated(raw, ch_names: list[str], ch_types: list[str], path: Path | None, status, marked) -> None:
    """A recording with annotations replays them as its events (as mne.events_from_annotations), not the steps of
    the trigger channel mne.find_events(raw) reads: those of its steps no annotation marks (a recording whose only
    annotation is 'Recording starts', or BAD_ segments beside an MEG's STI101) were dropped without a word, and the
    epochs of the replay came out empty. Said, with the fix. `marked`: the samples (from first_samp) the annotations
    mark; a step within a sample of one (annotations made from the events) is not lost. A long recording: its start
    only (SCAN_VALUES), which shows a trigger channel left out as well as the whole does."""
    import mne

    stim = [n for n, t in zip(ch_names, ch_types) if t == "stim"]
    name = next((n for n in _MNE_TRIGGERS if n in stim), stim[0] if len(stim) == 1 else None)
    if name is None:
        return
    low16 = status is not None and raw.ch_names[status] == name
    mask = {"mask": TRIGGER_BITS, "mask_type": "and"} if low16 else {}
    limit, part = max(2, SCAN_VALUES // max(1, len(raw.ch_names))), ""
    if raw.n_times > limit:
        raw = raw.copy().crop(tmax=(limit - 1) / raw.info["sfreq"])
        part = f" in its first {limit / raw.info['sfreq']:.6g} s (the rest is not read for this note)"
    try:
        found = mne.find_events(raw, stim_channel=name, shortest_event=1, initial_event=True, verbose="error", **mask)
    except Exception:  # noqa: BLE001 — a channel that holds no triggers: nothing to lose
        return
    at = found[:, 0] - raw.first_samp
    marked = np.sort(np.asarray(marked, dtype=np.float64))
    lost = found
    if len(marked):  # the distance from each step to the nearest annotation
        pos, last = np.searchsorted(marked, at), len(marked) - 1
        near = np.minimum(np.abs(marked[np.clip(pos - 1, 0, last)] - at), np.abs(marked[np.clip(pos, 0, last)] - at))
        lost = found[near > 1]
    if len(lost):
        codes = sorted({int(c) for c in lost[:, 2]})
        _log.warning(
            "file_source: %s: its events are its annotations (as mne.events_from_annotations gives them); its trigger "
            "channel %r has %d steps%s where no annotation is (codes %s; the first at %.6g s), which are not "
            "replayed; fix: stim_channel: %r adds them as events (as mne.find_events reads them; the annotations' "
            "codes then come after the largest trigger code)",
            path or "the recording",
            name,
            len(lost),
            part,
            ", ".join(map(str, codes[:10])) + (", ..." if len(codes) > 10 else ""),
            (lost[0, 0] - raw.first_samp) / raw.info["sfreq"],
            name,
        )


def check_trigger_codes(raw, name: str) -> None:
    """A trigger channel without events whose values vary below 1 (a pulse recorded as a voltage, e.g. an EDF
    channel in uV read in V): mne.find_events reads every value as code 0, so its steps would vanish unsaid."""
    x = np.asarray(raw.get_data(picks=[name])[0])
    x = x[np.isfinite(x)]
    if x.size and x.max() > x.min() and max(abs(x.min()), abs(x.max())) < 1:
        raise SpecError(
            f"file_source: stim channel {name!r} holds no integer codes: its values span {x.min():.4g} to "
            f"{x.max():.4g} (a pulse recorded as a voltage?), which mne.find_events reads as code 0 (no event)",
            "give a trigger channel of integer codes (0 between events), or turn this one into codes first, e.g. "
            "raw.apply_function(lambda v: (v > THRESHOLD) * 1.0, picks=[NAME]) and replay it with array_source",
        )


TRIGGER_BITS = 0xFFFF
_NEW_EPOCH, _CMS_IN_RANGE, _BATTERY_LOW, _MK2 = 0x01, 0x10, 0x40, 0x80  # bits 16, 20, 22, 23: of the high byte
_SPEED = (0x02, 0x04, 0x08, 0x20)  # bits 17, 18, 19, 21: the speed mode's bits 0-3


def status_channel(source: Path | None, ch_names: list[str]) -> int | None:
    """The index of the Status channel of a BioSemi BDF (a file whose header starts '\\xffBIOSEMI', a channel named
    'Status', any case, which MNE reads as its stim channel); None for any other file or channel. Says once what its
    high byte held (status_flags)."""
    index = next((i for i, n in enumerate(ch_names) if n.lower() == "status"), None)
    if source is None or index is None or not source.is_file():
        return None
    with open(source, "rb") as f:
        if f.read(8) != b"\xffBIOSEMI":
            return None
    said = status_flags(source)
    if said is not None:
        level, text = said
        _log.log(level, "file_source: %s: %s", source, text)
    return index


def status_codes(data, picks: list[int], status: int | None):  # (data: what mne get_data returns)
    """`data` (rows `picks`) with the Status channel's row, if picked, down to its trigger codes (its low 16 bits)."""
    if status is not None and status in picks:
        row = list(picks).index(status)
        data[row] = np.bitwise_and(np.rint(data[row]).astype(np.int64), TRIGGER_BITS)
    return data


def status_flags(path: Path) -> tuple[int, str] | None:
    """(log level, text) saying what the Status channel's high byte held, read from the file's own 24-bit samples (MNE
    drops bits 17-23): None when it held no ActiveTwo's flags (CMS in range or a speed mode: a BDF written by other
    software, whose codes are as they are, or an ActiveTwo in speed mode 0 whose CMS was out of range throughout). INFO when
    the flags are what a working ActiveTwo sets; WARNING when they say the recording has a problem (CMS out of range:
    electrode contact lost, those samples are no valid EEG; battery low)."""
    from .edf_header import edf_signals  # (edf_header imports this module)

    signals = edf_signals(path)
    if signals is None:
        return None
    _, labels, spr, header, listed, duration, _ = signals
    k = next((i for i, n in enumerate(labels) if n.lower() == "status"), None)
    rec_bytes = sum(spr) * 3
    if k is None or not rec_bytes or not spr[k]:
        return None
    n_rec = (path.stat().st_size - header) // rec_bytes  # a truncated file: the records it holds
    n_rec = n_rec if listed < 0 else min(n_rec, listed)
    if n_rec <= 0:
        return None
    records = np.memmap(path, np.uint8, "r", header, (n_rec, rec_bytes))
    at = sum(spr[:k]) * 3
    seen, n, cms_out, low, first_out, first_low = 0, 0, 0, 0, -1, -1
    speed = None
    step = max(1, (1 << 20) // spr[k])  # records per block (about 3 MB of Status samples)
    for r in range(0, n_rec, step):
        b = np.asarray(records[r : r + step, at : at + spr[k] * 3]).reshape(-1, 3)
        flags = b[:, 2]  # the high byte of each little-endian 24-bit sample
        seen |= int(np.bitwise_or.reduce(flags))
        if speed is None and len(flags):
            speed = sum(1 << j for j, bit in enumerate(_SPEED) if flags[0] & bit)
        out, bad = np.flatnonzero(~flags & _CMS_IN_RANGE), np.flatnonzero(flags & _BATTERY_LOW)
        if len(out) and first_out < 0:
            first_out = n + int(out[0])
        if len(bad) and first_low < 0:
            first_low = n + int(bad[0])
        cms_out, low, n = cms_out + len(out), low + len(bad), n + len(flags)
    del records
    if not seen & (_CMS_IN_RANGE | sum(_SPEED)):  # no ActiveTwo's flags: codes (a negative one, the padding our
        return None  # recorder ends a BDF with, sets bit 23 alone), nothing to say
    rate = spr[k] / duration if duration > 0 else 0.0
    at_s = (lambda i: f", first at {i / rate:.3f} s") if rate else (lambda i: "")
    held = [
        name for bit, name in ((_NEW_EPOCH, "new epoch"), (_CMS_IN_RANGE, "CMS in range"), (_MK2, "MK2")) if seen & bit
    ]
    if seen & sum(_SPEED):
        held.append(f"speed mode {speed}")
    problems = []
    if cms_out:
        problems.append(
            f"CMS out of range at {cms_out} of {n} samples{at_s(first_out)}: electrode contact was lost, "
            "those samples are no valid EEG"
        )
    if low:
        problems.append(f"battery low at {low} of {n} samples{at_s(first_low)}")
    text = (
        f"its BioSemi Status channel's trigger codes are its low 16 bits; its high byte of system flags "
        f"({', '.join(held) or 'none set'}) is masked off the events and off the replayed Status channel"
    )
    if problems:
        return logging.WARNING, f"{'; '.join(problems)} (its Status channel's flags say so); {text}"
    return logging.INFO, text
