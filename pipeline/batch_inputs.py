"""Which paths a batch's --inputs pattern gives as recordings: one input per recording (not a header's data parts,
not a split FIF's later parts, not BIDS sidecars, not the batch's own outputs; a CTF .ds or EGI .mff recording is a
folder), and the output folder's name for each."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from .graph_file import RECORDING_FOLDERS


def stems(inputs: list[Path]) -> list[str]:
    """The input file stems, or their paths below the common folder when two stems are the same; never two
    alike, not even by case (one folder on macOS or Windows), and never empty (.x.wav)."""
    stems = [p.name.split(".")[0] or p.name for p in inputs]
    if len({s.casefold() for s in stems}) == len(stems):
        return stems
    common = Path(os.path.commonpath([str(p.parent) for p in inputs]))
    stems = ["__".join(p.relative_to(common).with_name(p.name.split(".")[0] or p.name).parts) for p in inputs]
    if len({s.casefold() for s in stems}) == len(stems):
        return stems
    stems = ["__".join(p.relative_to(common).parts).replace(".", "_") for p in inputs]  # S001.edf and S001.bdf
    taken: set[str] = set()
    for i, stem in enumerate(stems):  # a/x.wav and a__x.wav both flatten to a__x_wav: number the later ones
        n, unique = 1, stem
        while unique.casefold() in taken:
            n += 1
            unique = f"{stem}~{n}"
        taken.add(unique.casefold())
        stems[i] = unique
    return stems


_PARTS = {".eeg": ".vhdr", ".vmrk": ".vhdr", ".fdt": ".set"}  # BrainVision, EEGLAB: read through the header


def recordings(files: list[Path]) -> list[Path]:
    """One input per recording: not the data/marker parts of a header also matched (rec.eeg with rec.vhdr),
    not the later parts of a split FIF (x_raw-1.fif with x_raw.fif: MNE reads them through the first)."""
    import re

    have, out, listed = set(files), [], {}
    for p in files:
        header = _PARTS.get(p.suffix.lower()) and _header_beside(p, _PARTS[p.suffix.lower()], listed)  # (REC.VHDR too)
        split = re.fullmatch(r"(.+)-\d+(\.fif(?:\.gz)?)", p.name)
        if header and header in have or split and p.with_name(split[1] + split[2]) in have:
            continue
        if header:  # '**/*.eeg' for BrainVision: each failed 'give its header file: path: x.vhdr', a fix --inputs
            have.add(header)  # cannot take; its header is the input
            p = header
        out.append(p)
    return sorted(set(out))


def _header_beside(part: Path, suffix: str, names: dict) -> Path | None:
    """The header file beside one part of a recording (rec.eeg -> rec.vhdr; REC.EEG -> REC.VHDR, as file_source finds
    it), or None. `names`: each folder's files by their lower-case name, listed once."""
    if part.parent not in names:
        try:
            names[part.parent] = {q.name.lower(): q for q in part.parent.iterdir()}
        except OSError:
            names[part.parent] = {}
    header = names[part.parent].get((part.stem + suffix).lower())
    return header if header is not None and header.is_file() else None


_SIDECARS = (".json", ".tsv", ".tsv.gz", ".md")  # BIDS sidecars and tables (_channels.tsv, _eeg.json, ...)


def _sidecar(path: Path) -> bool:
    return path.name.lower().endswith(_SIDECARS)


def sidecars(pattern: str, out_dir: str) -> list[str]:
    """The files --inputs matches that are metadata, not recordings (a BIDS tree's): not taken, but said
    (not those in --out: the batch's own outputs)."""
    out = Path(out_dir).resolve()
    return sorted(
        p
        for p in glob.glob(pattern, recursive=True)
        if _sidecar(Path(p)) and Path(p).is_file() and not Path(p).resolve().is_relative_to(out)
    )


def _recording(path: Path) -> bool:
    """A file, or a folder that holds one recording (a CTF .ds, an EGI .mff), as file_source reads them; also what
    is neither file nor folder (a link whose target is gone, a pipe): taken, so that its run says what it is and
    counts it failed (they were left out unsaid: '1 files ... 0 failed' for a folder of two, exit 0)."""
    return not path.is_dir() or path.name.lower().endswith(RECORDING_FOLDERS)


def _path(p: str) -> Path:
    """The absolute path of a match, its links resolved; a link whose target is gone keeps its own name (resolved,
    it named the target only)."""
    return Path(p).resolve() if os.path.exists(p) else Path(os.path.abspath(p))


def _inside_recording(path: Path) -> bool:
    """A file or folder inside a recording that is a folder (an .mff's signal1.bin): a part of it, no input."""
    return any(parent.name.lower().endswith(RECORDING_FOLDERS) for parent in path.parents)


def matched_inputs(pattern: str, out_root: Path) -> list[Path]:
    """The recordings `pattern` matches, one per recording, not in `out_root` (the batch's own outputs: a re-run would
    take them as inputs), not sidecars, not the parts inside a recording that is a folder ('**/*' took an .mff's
    info.xml as an input of its own)."""
    found = (_path(p) for p in glob.glob(pattern, recursive=True))
    return recordings(
        sorted(
            q
            for q in found
            if _recording(q) and not q.is_relative_to(out_root) and not _sidecar(q) and not _inside_recording(q)
        )
    )


def folders_left_out(pattern: str, out_dir: str) -> list[str]:
    """The folders `pattern` matches that are no recording and hold none that is taken (a folder named x.edf): not
    taken, but said (an EGI .mff folder was left out too, unsaid: 'no file matches')."""
    out = Path(out_dir).resolve()
    taken = matched_inputs(pattern, out)
    return sorted(
        p
        for p in glob.glob(pattern, recursive=True)
        if (q := Path(p).resolve()).is_dir()
        and not _recording(q)
        and not _inside_recording(q)
        and not q.is_relative_to(out)
        and not any(t.is_relative_to(q) for t in taken)
    )
