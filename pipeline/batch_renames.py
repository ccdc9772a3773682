"""A batch resumed after its inputs were renamed (pipeline/batch.py).

The batch writes each input's outputs to OUT/<stem>/ and marks them complete there with the input's path, size and
modification time. An input renamed between a run and its resume (`mv rec1.wav s01_rec1.wav`; or a file added
whose stem is another's, which turns every stem into its path below the common folder) was a new input: run again
under its new name, and the old OUT/<stem>/ stayed, complete, beside the new one: the recording's outputs twice,
unsaid (a loop over OUT/*/ counted it twice). Here a folder marked complete for an input that is no longer there (or
for this same input under another stem) follows it when exactly one input is it renamed: the same size and
modification time (which `mv` keeps), graph and settings; the folder is moved to the new name, its marker updated,
said, and the input is not run again. A complete folder of an input no longer there that no input matches is said
and left as it is, and so is a folder of partial outputs (no marker: a run stopped, then its input renamed) that no
input writes to."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from .batch import DONE, Job, _signature, is_done

_SAME = ("size", "mtime_ns", "graph_sha256", "wavegraph")  # what tells the same input, run the same way


def _placed(overrides: list[str], input: str, folder: Path) -> list[str]:
    """The overrides with the input's path and the paths into its output folder written as placeholders: two runs
    of the same input under two names then compare equal."""
    out = []
    for o in overrides:
        key, _, value = o.partition("=")
        try:
            v = json.loads(value)
        except ValueError:
            v = None
        if isinstance(v, str) and v == input:
            o = f"{key}=<input>"
        elif isinstance(v, str) and key.strip().endswith(".path") and Path(v).parent == folder:
            o = f"{key}=<out>/{Path(v).name}"
        out.append(o)
    return out


def _complete_folders(out_root: Path, claimed: set[Path]) -> dict[Path, dict]:
    """The folders under `out_root` marked complete that no input of this batch writes to, with their markers."""
    found: dict[Path, dict] = {}
    try:
        folders = [f for f in out_root.iterdir() if f.is_dir() and f not in claimed]
    except OSError:
        return found
    for folder in folders:
        try:
            marker = json.loads((folder / DONE).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(marker, dict) and isinstance(marker.get("input"), str):
            found[folder] = marker
    return found


def _is_renamed(job: Job, folder: Path, marker: dict) -> bool:
    if marker["input"] != job.input and os.path.exists(marker["input"]):
        return False  # (its input is still there: a copy of it is another input)
    try:
        now = _signature(job)
    except OSError:
        return False
    overrides = marker.get("overrides")
    return (
        all(marker.get(k) == now[k] for k in _SAME)
        and isinstance(overrides, list)
        and _placed([str(o) for o in overrides], marker["input"], folder)
        == _placed(list(job.overrides), job.input, Path(job.out_dir))
    )


def _size_and_time(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return st.st_size, st.st_mtime_ns


def follow_renames(jobs: list[Job], out_dir: str) -> list[str]:
    """Move the complete outputs of each renamed input to its new folder (see the module's text); the lines to say."""
    out_root = Path(out_dir).resolve()
    folders = _complete_folders(out_root, {Path(j.out_dir) for j in jobs})
    if not folders:
        return _partial_folders(jobs, out_root)
    todo = [j for j in jobs if not Path(j.out_dir).exists() and not is_done(j)]
    # each input against the folders of its size and modification time only: every input against every folder
    # (a signature each, the graph hashed) took 46 s for 1,000 renamed inputs before the batch said a word
    by_file: dict[tuple, list[Path]] = {}
    for f, m in folders.items():
        by_file.setdefault((m.get("size"), m.get("mtime_ns")), []).append(f)
    pairs = [(j, f) for j in todo for f in by_file.get(_size_and_time(j.input), []) if _is_renamed(j, f, folders[f])]
    jobs_seen, folders_seen = Counter(id(j) for j, _ in pairs), Counter(f for _, f in pairs)
    said = []
    for job, folder in pairs:
        if jobs_seen[id(job)] > 1 or folders_seen[folder] > 1:
            continue  # two inputs alike (copies that kept their times), or two folders: run it again
        marker = folders.pop(folder)
        try:
            folder.rename(job.out_dir)
            new = Path(job.out_dir) / (DONE + ".new")
            new.write_text(json.dumps(_signature(job) | {"warnings": marker.get("warnings", [])}))
            new.replace(Path(job.out_dir) / DONE)
        except OSError as e:
            said.append(
                f"note: {job.input} was done as {marker['input']}, but its outputs could not be moved from {folder} to "
                f"{job.out_dir} ({e.strerror or e}): it is run again"
            )
            continue
        said.append(
            f"note: {job.input} was done as {marker['input']} (renamed since: the same size, modification time, graph "
            f"and settings): its outputs moved from {folder} to {job.out_dir}; not run again"
        )
    for folder, marker in sorted(folders.items()):
        if not os.path.exists(marker["input"]):
            said.append(
                f"note: {folder} holds the complete outputs of {marker['input']}, which is no longer there (renamed "
                "or removed), and no input is it renamed (none has its size, modification time and settings): left as it is; "
                "remove the folder if they are not wanted"
            )
    return said + _partial_folders(jobs, out_root)


def _partial_folders(jobs: list[Job], out_root: Path) -> list[str]:
    """A line for each folder under `out_root` that no input writes to, without a completion marker, holding what
    this graph's recorders write: a run stopped (Ctrl-C, a crash) before its input was renamed or removed, whose
    partial outputs a resume left beside the new ones unsaid."""
    if not jobs:
        return []
    job = jobs[0]
    names = set()
    for o in job.overrides:  # the recorders' files: their paths in the job's folder
        key, _, value = o.partition("=")
        try:
            v = json.loads(value)
        except ValueError:
            continue
        if isinstance(v, str) and key.strip().endswith(".path") and Path(v).parent == Path(job.out_dir):
            names.add(Path(v).name)
    claimed = {Path(j.out_dir) for j in jobs}
    said = []
    try:
        folders = sorted(f for f in out_root.iterdir() if f.is_dir() and f not in claimed and not (f / DONE).exists())
    except OSError:
        return []
    for folder in folders:
        left = sorted(p.name for p in folder.iterdir() if any(p.name.startswith(n) for n in names))
        if left:
            said.append(
                f"note: {folder} holds partial outputs of this graph ({', '.join(left[:3])}"
                f"{', ...' if len(left) > 3 else ''}; no completion marker), and no input of this batch writes there: a "
                "run stopped before its input was renamed or removed; left as it is: remove the folder if they are not "
                "wanted (the input, under its new name, is run anew)"
            )
    return said
