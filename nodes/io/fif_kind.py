"""What a FIF file holds when it is no recording: MNE writes averages, covariances, forward and inverse solutions,
source spaces, BEMs, ICA, events, projectors, measurement info, annotations, montages and transforms in FIF too.

Given one (x-ave.fif, x-cov.fif, x-trans.fif...), file_source said "it is FIF but damaged ...: export it again from
the recording software" (MNE's 'Could not find measurement data'), and an average was first announced as "holds epochs,
not raw data; replaying them as epochs" before that. The file's block tree says which it is (mne's fiff_open reads the
tags' directory, not the data), so the error names it and says how to load it, or what to replay instead."""

from __future__ import annotations

from pathlib import Path

from wavegraph.pipeline.spec import SpecError

from .fif_cut import fif_cut_short

_RECORDING = ("FIFFB_RAW_DATA", "FIFFB_CONTINUOUS_DATA", "FIFFB_IAS_RAW_DATA", "FIFFB_MNE_EPOCHS")
_RECORD = "replay the recording it comes from (its _raw.fif or -epo.fif) instead"
# (block, what it is, how MNE loads it), the first found wins: an average or a solution carries measurement info too
_KINDS = (
    ("FIFFB_EVOKED", "{n} MNE average{s} of epochs (Evoked)", "mne.read_evokeds(PATH)"),
    ("FIFFB_MNE_INVERSE_SOLUTION", "an MNE inverse operator", "mne.minimum_norm.read_inverse_operator(PATH)"),
    ("FIFFB_MNE_FORWARD_SOLUTION", "an MNE forward solution", "mne.read_forward_solution(PATH)"),
    ("FIFFB_MNE_SOURCE_SPACE", "an MNE source space", "mne.read_source_spaces(PATH)"),
    ("FIFFB_BEM", "an MNE BEM model or surfaces", "mne.read_bem_solution(PATH) or mne.read_bem_surfaces(PATH)"),
    ("FIFFB_MNE_ICA", "an MNE ICA decomposition", "mne.preprocessing.read_ica(PATH)"),
    ("FIFFB_MNE_COV", "an MNE covariance matrix", "mne.read_cov(PATH)"),
    ("FIFFB_MEAS_INFO", "the measurement info of a recording without its data", "mne.io.read_info(PATH)"),
    ("FIFFB_MNE_EVENTS", "MNE events (rows of sample, previous, code)", "mne.read_events(PATH)"),
    ("FIFFB_MNE_ANNOTATIONS", "MNE annotations", "mne.read_annotations(PATH)"),
    ("FIFFB_PROJ", "SSP projectors", "mne.read_proj(PATH)"),
    ("FIFFB_ISOTRAK", "digitized sensor positions (a montage)", "mne.channels.read_dig_fif(PATH)"),
)


def fif_not_recording(path: Path) -> SpecError | None:
    """The SpecError for a FIF file that holds no raw data and no epochs (an average, a covariance, a transform...),
    naming what it holds; None for a recording, or a file whose tags MNE cannot list (damaged, cut short, no FIF)."""
    try:
        from mne._fiff.constants import FIFF
        from mne._fiff.open import fiff_open

        fid, tree, _ = fiff_open(Path(path), verbose="error")
        fid.close()
    except Exception:  # noqa: BLE001 — not a FIF MNE can list: the caller's own words stand
        return None
    blocks: list[int] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        blocks.append(int(node["block"]))
        stack.extend(node["children"])
    if any(FIFF[b] in blocks for b in _RECORDING):
        return None
    cut = fif_cut_short(Path(path)) if Path(path).name.lower().endswith(".fif") else None
    if cut:  # a raw file whose copy stopped before its data: no average or info to name
        return SpecError(
            f"file_source: {path} is cut short: it ends at byte {Path(path).stat().st_size}, {cut}, before any of its "
            "data (raw data or epochs)",
            "the copy or download stopped early: give the whole file (compare its size with the original's)",
        )
    found = next(((FIFF[b], what, load) for b, what, load in _KINDS if FIFF[b] in blocks), None)
    if found is not None:
        n = blocks.count(found[0])
        what, load = found[1].format(n="an" if n == 1 else n, s="" if n == 1 else "s"), found[2]
    elif FIFF["FIFF_COORD_TRANS"] in {int(d.kind) for d in tree["directory"]}:
        what, load = "a coordinate transform (-trans.fif)", "mne.read_trans(PATH)"
    else:
        return None
    fix = f"load it with {load}; {_RECORD}"
    if load.startswith("mne.read_evokeds"):  # an average is a signal: it can be streamed
        fix = (
            f"{_RECORD}; to stream an average itself: ev = mne.read_evokeds(PATH)[0], then from Python array_source "
            "(GraphBuilder: g.add('array_source', data=ev.data, rate=ev.info['sfreq'], ch_names=ev.ch_names))"
        )
    return SpecError(f"file_source: {path} holds {what}, not a recording: file_source replays raw data and epochs", fix)
