"""The recorder's BIDS layout: its checks at configure (bids_root, subject, session, task, run: what mne-bids lets
through and BIDS does not, and a run the layout already holds, said before anything is recorded; mne-bids found it at
close, after the whole session, when the run held was in another format: its sidecars 'already exist'), and the copy
of the finished EDF/BDF into the layout at close (write_bids)."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from wavegraph.pipeline.spec import SpecError, StreamSpec

_PREFIX = {"subject": "sub", "session": "ses", "task": "task", "run": "run"}  # what the layout adds (sub-01)


def check_bids(root: Path, **entities) -> None:
    """Labels of letters and digits only ('sub 01', 'ü'; 'sub-01', whose 'sub-' the layout adds again: sub-sub01),
    and a root no recording can be copied into (it failed at close: '[Errno 2] No such file or directory', exit 1)."""
    for key, value in entities.items():
        if value is not None and not (str(value).isascii() and str(value).isalnum()):
            text = str(value).strip()
            stem = _PREFIX.get(key, "")
            typed = re.match(rf"{stem}[^a-z0-9]+(?=[a-z0-9])", text, re.IGNORECASE) if stem else None  # sub-01, sub 01
            bare = text[typed.end() :] if typed else text
            fix = "".join(c for c in bare if c.isascii() and c.isalnum()) or "01"
            said = f" without the '{typed[0]}': the layout names it {stem}-{fix}" if typed else ""
            raise SpecError(
                f"recorder: BIDS {key} {value!r} is not a BIDS label (letters and digits only)",
                f"give {key}: '{fix}'{said}",
            )
    folder = next(d for d in (root, *root.parents) if d.exists())
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        raise SpecError(
            f"recorder: cannot make the BIDS layout in {root} ({folder} is not a writable folder)",
            "change bids_root (--bids)",
        ) from None


def held(bp) -> list[Path]:
    """The files of the layout that are the run `bp` names, in any format: its data (.edf, .bdf, .vhdr, ...) and
    sidecars (_eeg.json, _channels.tsv, _events.tsv); not those of another run, session or task."""
    base = bp.copy().update(suffix=None, extension=None).basename
    folder = Path(bp.directory)
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        rest = p.name[len(base) + 1 :] if p.name.startswith(base + "_") else None
        if rest and "_" not in rest and "-" not in rest.split(".")[0]:  # (run-2_eeg.edf: another run)
            out.append(p)
    return sorted(out)


def check_recorder_bids(p: Any, fmt: str, path: Path, node_id: str | None):
    """The BIDSPath the recorder (params `p`, target `path` in format `fmt`) copies its recording to at close, or None
    without bids_root; SpecError for what cannot be (a label BIDS forbids, a run the layout holds, ...)."""
    node = node_id or "NODE"
    if p.bids_root is None:
        if any(v is not None for v in (p.subject, p.session, p.task, p.run)):
            raise SpecError(
                "recorder: subject/session/task/run are BIDS entities, and bids_root is not set",
                "add bids_root: <folder> (the BIDS dataset's root)",
            )
        return None
    if not p.subject:
        raise SpecError(
            "recorder: a BIDS recording needs a subject (bids_root, or --bids, says only where the layout goes)",
            f"add subject: '01' to the recorder's params, or --set '{node}.subject=\"01\"' (quoted: a label)",
        )
    if not p.task:
        raise SpecError("recorder: a BIDS recording needs a task", "add task: rest (--bids takes the graph's name)")
    if fmt not in ("edf", "bdf"):
        raise SpecError(
            f"recorder: BIDS-EEG stores EDF, BDF or BrainVision, the target is {fmt.upper()}",
            "record to a .bdf (24-bit) or .edf path; the recorder copies it into the BIDS layout",
        )
    root = Path(os.path.expanduser(p.bids_root))
    check_bids(root, subject=p.subject, session=p.session, task=p.task)
    try:
        from .record_formats import bids_path

        bp = bids_path(root, p.subject, p.task, p.session, p.run)
    except ImportError:
        raise SpecError("recorder: BIDS needs mne-bids", "pip install 'wavegraph[bids]'") from None
    except ValueError as e:
        raise SpecError(f"recorder: bad BIDS entity: {e}", "use letters and digits only (subject: '01')") from None
    bp = bp.copy().update(suffix="eeg", extension="." + fmt)
    here, top = (os.path.abspath(x) for x in (path, root))
    if here in (top, os.path.abspath(bp.fpath)):  # (mne-bids failed at close: 'Not a directory', 'is the source')
        raise SpecError(
            f"recorder: path {path} is {'bids_root' if here == top else 'the BIDS copy it makes'} itself",
            "give bids_root (--bids) a folder for the layout, e.g. --bids bids"
            if here == top
            else f"record to a path outside {p.bids_root} (e.g. path: out/{path.name}); the recorder copies "
            "it into the BIDS layout at close",
        )
    there = held(bp)
    if there and not p.overwrite:
        run = (p.run or 1) + 1
        while held(bp.copy().update(run=run)):  # the next run the layout does not hold (run 2 may be there too)
            run += 1
        data = [f for f in there if f.name.split("_")[-1].split(".")[0] == "eeg" and f.suffix != ".json"]
        raise SpecError(
            f"recorder: {(data or there)[0]} already exists (this subject, session, task and run, in the layout)",
            f"record a new run (run: {run}; --set {node}.run={run}), or set overwrite: true to replace it",
        )
    return bp


def write_bids(
    recording: Path,
    bp,
    line_freq: float | None = None,
    overwrite: bool = False,
    spec: StreamSpec | None = None,
    codes: dict[str, int] | None = None,
) -> Path:
    """Copy a finished EDF/BDF recording into a BIDS-EEG layout with mne-bids (its sidecars:
    dataset_description, participants, scans, channels.tsv, _eeg.json, events.tsv from the annotations).
    mne-bids copies an EDF/BDF file as it is: memory stays flat. `spec`: the stream's channel types and bad marks,
    which the EDF cannot hold, go to channels.tsv. `codes`: the markers' labels -> their codes (the source's), the
    `value` column of events.tsv (event_values)."""
    import mne
    import mne_bids

    from .edf_header import edf_start_offset
    from .record_formats import _MNE_TYPES

    reader = mne.io.read_raw_bdf if recording.suffix.lower() == ".bdf" else mne.io.read_raw_edf
    raw = reader(recording, verbose="error")
    raw.info["line_freq"] = line_freq
    if spec is not None and spec.meas_date == "":  # an undated source: the EDF's 01.01.85 is EDF+'s 'unknown', which
        raw.set_meas_date(None)  # MNE reads as 1985; scans.tsv's acq_time is then n/a (it gave 1985-01-01)
    elif raw.info["meas_date"] is not None and (offset := edf_start_offset(recording)):  # the first sample's fraction
        # of a second, which EDF+ holds in the first time-keeping annotation and MNE's meas_date leaves out: scans.tsv's
        # acq_time (the first sample's time, to the microsecond) said 03:04:05.000000 for a start at 03:04:05.5
        raw.set_meas_date(raw.info["meas_date"] + timedelta(seconds=offset))
    _padding_is_bad(raw)
    event_id = event_values(raw.annotations.description, codes)
    if spec is not None and len(spec.channel_types) == len(raw.ch_names):  # channel i of the file is the stream's
        types = {n: _MNE_TYPES.get(t, t) for n, t in zip(raw.ch_names, spec.channel_types) if t != "eeg"}
        if "eeg" in spec.channel_types:  # (BIDS-EEG needs an EEG channel: a stream of none, a sine's, stays as read)
            raw.set_channel_types(types, on_unit_change="ignore", verbose="error")  # pyright: ignore[reportArgumentType]
        raw.info["bads"] = [n for n, orig in zip(raw.ch_names, spec.channel_names) if orig in spec.bads]
    if overwrite:  # the run held in another format (x.edf for this x.bdf) was left beside it, in scans.tsv too
        for old in held(bp):
            if old.name.endswith(_DATA) and old.name != bp.fpath.name:
                bp.copy().update(extension=old.suffix).rm(safe_remove=False, verbose="error")
    mne_bids.write_raw_bids(raw, bp, event_id=event_id, overwrite=overwrite, verbose="error")
    return bp.fpath


_DATA = ("_eeg.edf", "_eeg.bdf", "_eeg.vhdr", "_eeg.set")  # a run's data file in BIDS-EEG


def _padding_is_bad(raw) -> None:
    """The zeros the EDF/BDF writer fills its last record with are marked `padding` (file_source leaves them out): in
    the layout's events.tsv that was an event like the markers (trial_type padding, a value of its own), which
    mne_bids.read_raw_bids gave events_from_annotations and epochs. BAD_padding there: MNE's bad span, no event."""
    import mne

    ann, sfreq = raw.annotations, raw.info["sfreq"]
    end = raw.n_times / sfreq
    pad = [
        i
        for i, (onset, duration, text) in enumerate(zip(ann.onset - raw.first_time, ann.duration, ann.description))
        if text == "padding" and duration > 0 and abs(onset + duration - end) < 0.5 / sfreq
    ]
    if not pad:
        return
    texts = list(ann.description)
    texts[max(pad, key=lambda i: ann.onset[i])] = "BAD_padding"  # the last: a user's span to the end starts before it
    raw.set_annotations(mne.Annotations(ann.onset, ann.duration, texts, ann.orig_time, ann.ch_names))


def event_values(descriptions, codes: dict[str, int] | None = None) -> dict[str, int] | None:
    """events.tsv's `value` of each annotation text: the marker's code (a label's from `codes`, the recorder's; an
    unlabeled marker's text is its code), the others (a label of unknown code, BAD boundary, BAD_padding) numbered
    after the largest code, the markers' first. mne-bids' own numbering (1..k in sorted order) made the value column,
    BIDS' 'event code', disagree with the source's codes: codes 7 and 3 labelled left and right, and an unlabeled 5,
    went in as left 2, right 3, '5' 1. None: no annotation."""
    texts = sorted(set(descriptions))
    if not texts:
        return None
    codes = codes or {}
    ids = {t: int(codes[t]) if t in codes else int(t) for t in texts if t in codes or re.fullmatch(r"-?\d+", t)}
    rest = sorted((t for t in texts if t not in ids), key=lambda t: (t.upper().startswith(("BAD", "EDGE")), t))
    start = max(ids.values(), default=0) + 1
    return ids | {t: start + k for k, t in enumerate(rest)}
