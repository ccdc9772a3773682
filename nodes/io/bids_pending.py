"""The copy of a finished recording into its BIDS layout, kept for later when it fails (recover.py, recorder.py).

`wavegraph recover` of a killed `wavegraph run --bids` run writes the EDF/BDF from its spill, deletes the spill, then
copies the recording into the layout with the entities the spill's header held (subject, session, task, run, line
frequency) and its stream's channel types and bad marks, which the EDF cannot hold. When that copy failed (the layout
holds that run now; a layout that cannot be written), the header was gone with the spill: a warning, or an error of
mne-bids' that named no fix, and a second recover said the recording was 'complete as it is': the copy could no longer
be made as the run would have made it. Now what it needs is kept in <recording>.bids-pending.json, the error says
what failed, what is kept and the fix, and `wavegraph recover <recording>` makes the copy from it (then removes it)."""

from __future__ import annotations

import errno
import json
import shlex
import sys
from pathlib import Path

from wavegraph.pipeline.spec import StreamSpec

PENDING = ".bids-pending.json"


class BidsCopyFailed(RuntimeError):
    """The recording is complete; its copy into the BIDS layout is not (what it needs: <recording>.bids-pending.json)."""


def pending_path(recording: Path) -> Path:
    return recording.with_name(recording.name + PENDING)


def copy_into_bids(out: Path, bids: dict, spec: StreamSpec, say: bool = True) -> Path:
    """Copy the finished recording `out` into the layout `bids` names (root, subject, session, task, run, line_freq,
    overwrite: the recorder's params); its path there (said on stderr with `say`: recover's). BidsCopyFailed, with what is kept and the fix, when it cannot."""
    from .bids_layout import held, write_bids
    from .record_formats import bids_path

    pending = pending_path(out)
    bp = bids_path(bids["root"], bids["subject"], bids["task"], bids.get("session"), bids.get("run"))
    bp = bp.copy().update(suffix="eeg", extension=out.suffix.lower())
    again = f"wavegraph recover {shlex.quote(str(out))}"
    there = held(bp)
    if there and not bids.get("overwrite"):  # (made since: the run's check at configure saw none)
        run = (bids.get("run") or 1) + 1
        while held(bp.copy().update(run=run)):  # the next run the layout does not hold
            run += 1
        data = [f for f in there if f.name.endswith(("_eeg.edf", "_eeg.bdf", "_eeg.vhdr", "_eeg.set"))]
        why = f"the layout holds that run already ({(data or there)[0]})"
        fix = (
            f'if that is another recording, set "run": {run} in {pending} (run {run} is free there; or move that '
            f"run's files out of the layout) and run {again} again; if it is this recording's copy, remove {pending}"
        )
    else:
        try:
            path = write_bids(out, bp, bids.get("line_freq"), bool(bids.get("overwrite")), spec, bids.get("codes"))
        except Exception as e:  # noqa: BLE001 — mne-bids raises OSError, ValueError, FileExistsError, ...
            why = f"{type(e).__name__}: {e}"
            if isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                fix = f'make {bids["root"]} writable, or set "root" in {pending} to a layout you can write'
            else:
                fix = f'mend what the error names (or set "root" in {pending} to another layout)'
            fix += f", then run {again} again"
        else:
            pending.unlink(missing_ok=True)
            if say:
                print(f"{out}: copied into the BIDS layout as {path}", file=sys.stderr)
            return path
    pending.write_text(json.dumps({"bids": bids, "spec": spec.to_dict()}, indent=1))
    raise BidsCopyFailed(
        f"{out} is complete, but its copy into the BIDS layout as {bp.fpath} was not made: {why}; what the copy "
        f"needs (subject, session, task, run, line frequency, channel types) is kept in {pending.name} beside it; "
        f"fix: {fix}"
    )


def copy_pending(out: Path) -> Path:
    """Make the copy a failed one left in <out>.bids-pending.json (copy_into_bids); `out`."""
    pending = pending_path(out)
    try:
        kept = json.loads(pending.read_text())
        bids, spec = dict(kept["bids"]), StreamSpec.from_dict(kept["spec"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f"{pending} is damaged ({e}): the copy of {out} into its BIDS layout cannot be made from it; fix: copy "
            f"it with mne_bids.write_raw_bids, then remove {pending}"
        ) from None
    copy_into_bids(out, bids, spec)
    return out
