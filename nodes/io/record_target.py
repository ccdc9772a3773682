"""Which format a recording's path names (target_format: from its suffix, and whether that format can hold the
stream), and whether the file system can hold the name with the sidecars the recorder writes beside it
(check_name_length). Checked when the graph is built (recorder.configure), before any file is opened.
Split out of record_formats.py, which still offers these names."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from wavegraph.pipeline.spec import SpecError, StreamSpec

from .edf_writer import MAX_RECORD_S, record_layout, whole_rate
from .record_notes import NOT_WRITTEN


def check_name_length(path: Path) -> None:
    """A recording's name the file system cannot hold with the longest of its sidecars, NAME.spill.json.tmp: the spill
    failed when the run started ('File name too long', the run's data lost), or, longer still, Path.is_dir() raised
    it at build time as a bare OSError; or a whole path longer than the system takes (PATH_MAX, 4096 bytes on Linux),
    with that sidecar: '[Errno 36] File name too long', which did not say which part was."""
    whole = len(os.fsencode(os.path.abspath(path))) + len(".spill.json.tmp")
    if whole >= 4096:  # (PC_PATH_MAX counts the NUL; os.pathconf itself fails on a folder past it)
        raise SpecError(
            f"recorder: the path {str(path)[:40]}...{path.name[-40:]} is {whole - 15} bytes long as a full path; with "
            "the NAME.spill.json.tmp the recorder writes beside it (15 more) that is past the 4095 the system takes",
            "record to a folder nearer the root, or with a shorter name",
        )
    folder = next((d for d in (path.parent, *path.parent.parents) if d.is_dir()), Path("/"))
    try:
        most = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        most = 255
    size, sidecar = len(os.fsencode(path.name)), len(".spill.json.tmp")
    if size + sidecar > most:
        raise SpecError(
            f"recorder: the file name {path.name[:40]}... is {size} bytes long; the file system holds names of up to "
            f"{most}, and the recorder writes {path.name[:8]}....spill.json.tmp ({sidecar} more) beside it",
            f"give a name of at most {most - sidecar} bytes",
        )


# --- which format ------------------------------------------------------------------------------------
FIF_ENDINGS = (
    "raw.fif",
    "raw_sss.fif",
    "raw_tsss.fif",
    "_meg.fif",
    "_eeg.fif",
    "_ieeg.fif",
    "raw.fif.gz",
    "_meg.fif.gz",
    "_eeg.fif.gz",
)
FORMATS = (
    "FIF (*_raw.fif, *_eeg.fif), EDF (.edf) or BDF (.bdf) for signals, WAV/FLAC (.wav, .flac) for "
    "signals/audio, NPZ (.npz) or CSV (.csv) for any stream"
)
SPILLED = ("fif", "npz", "edf", "bdf", "flac")  # formats written through a spill file, converted at close
SIGNAL_ONLY = ("wav", "flac", "fif", "edf", "bdf")
NO_NAN = ("edf", "bdf", "flac")  # integer formats: a NaN or inf sample cannot be written as it is


def target_format(path: Path, spec: StreamSpec) -> str:
    """The recorder's format for this path and stream (SpecError: the format cannot hold the stream)."""
    # '', '.', 'out/': was "cannot tell the format of ''" (os.path: a name too long is no folder, not an OSError)
    if not path.name or os.path.isdir(path):
        where = "`path` is empty (or the current folder)" if not path.name else f"{path} is a folder, not a file name"
        audio = bool(spec.channel_types) and all(t == "audio" for t in spec.channel_types)
        sig = path.suffix if path.name and path.suffix else ".wav" if audio else "_raw.fif"
        name = "recording" + (sig if spec.kind == "signal" else ".csv")  # a VAD's features: not .wav, FIF
        raise SpecError(f"recorder: {where}", f"give the file to write, e.g. path: {path / name}")
    name = path.name.lower()
    is_audio = bool(spec.channel_types) and all(t == "audio" for t in spec.channel_types)
    if name.endswith(".wav"):
        fmt = "wav"
    elif name.endswith(".flac"):
        fmt = "flac"
    elif name.endswith(FIF_ENDINGS):
        fmt = "fif"
    elif name.endswith((".edf", ".bdf")):
        fmt = name[-3:]
    elif name.endswith(".npz"):
        fmt = "npz"
    elif name.endswith(".csv"):
        fmt = "csv"
    else:
        other = next((how for ends, how in NOT_WRITTEN.items() if name.endswith(ends)), "")
        raise SpecError(
            f"recorder: cannot tell the format of {path.name!r}{other}", f"use a suffix for one of: {FORMATS}"
        )
    if fmt in SIGNAL_ONLY and spec.kind != "signal":
        raise SpecError(
            f"recorder: {fmt.upper()} holds signals, the input is a {spec.kind} stream",
            "record features, tokens and events to .npz or .csv",
        )
    if fmt in SIGNAL_ONLY and len(spec.shape) != 1:
        raise SpecError(
            f"recorder: {fmt.upper()} holds (channels, samples) signals, got shape {spec.shape}",
            "record multi-axis signals (e.g. filter banks) to .npz",
        )
    if fmt in SIGNAL_ONLY and np.dtype(spec.dtype).kind == "c":  # FIF/FLAC dropped the imaginary part unsaid
        raise SpecError(
            f"recorder: {fmt.upper()} holds real samples, the stream is {spec.dtype} (complex)",
            "record it to .npz (any dtype), or take its real part or magnitude first",
        )
    if fmt in SIGNAL_ONLY and spec.rate <= 0:  # irregular: EDF's fix was 'resample ... or _raw.fif (any rate)'
        raise SpecError(
            f"recorder: {fmt.upper()} needs a sample rate, the stream has {spec.rate:g} Hz", "record it to .npz"
        )
    if fmt in ("wav", "flac") and not whole_rate(spec.rate):
        raise SpecError(
            f"recorder: {fmt.upper()} needs a whole-number sample rate, the stream has {spec.rate:.12g} Hz",
            "resample to an integer rate first, or record to _raw.fif or .npz",
        )
    if fmt in ("edf", "bdf") and not record_layout(spec.rate)[0]:  # (512.5 Hz: 1025 samples in records of 2 s)
        raise SpecError(
            f"recorder: {fmt.upper()} holds a rate as whole samples per record of up to {MAX_RECORD_S} s (8 digits), "
            f"and none holds {spec.rate:.12g} Hz exactly",
            f"resample to a whole rate first (resample {{rate: {max(1, round(spec.rate))}}}), or record to _raw.fif "
            "or .npz (any rate)",
        )
    # libFLAC's, libsndfile's; EDF/BDF header fields: 4 digits of signals (with annotations), 8 of samples a record
    limits = {"flac": (8, 655350), "wav": (1024, 2**31 - 1), "edf": (9998, 99999999), "bdf": (9998, 99999999)}
    if fmt in limits and (spec.n_channels > limits[fmt][0] or spec.rate > limits[fmt][1]):
        raise SpecError(
            f"recorder: {fmt.upper()} holds at most {limits[fmt][0]} channels at up to {limits[fmt][1]} Hz, "
            f"the stream has {spec.n_channels} at {spec.rate:g} Hz",
            "record to .npz or _raw.fif" + (", or .wav (up to 1024 channels)" if fmt == "flac" else ""),
        )
    if fmt == "fif" and is_audio:
        raise SpecError("recorder: audio streams are written as WAV", "use a .wav path for audio")
    if fmt == "csv" and len(spec.shape) > 1:
        raise SpecError(f"recorder: CSV holds one row per frame, shape {spec.shape} has more than one axis", "use .npz")
    return fmt
