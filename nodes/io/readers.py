"""File readers behind `file_source` (and `wavegraph plot`): MNE raw and epochs files, XDF (nodes/io/xdf.py) and
audio, each read lazily in blocks; `open_reader` picks one from the file and says what is wrong with a file it
cannot read. The node itself, and what it replays, is described in nodes/io/file_source.py."""

from __future__ import annotations

import logging
import re
import shlex
import sys
from pathlib import Path

from wavegraph.pipeline.graph_file import RECORDING_FOLDERS
from wavegraph.pipeline.spec import SpecError

from .case_names import CaseView, needs_view
from .cnt_cut import cnt_view
from .fif_cut import fif_cut_short, fif_tag_loop
from .fif_kind import fif_not_recording
from .file_checks import (
    check_brainvision,
    check_edf,
    check_not_empty,
    check_split_part,
    content_format,
    misnamed,
    not_permitted,
    renamed_parts,
)
from .gdf_cut import gdf_view
from .gdf_header import check_gdf
from .links import broken_link
from .marker_view import marker_view
from .not_read import _ARRAY_SOURCE, not_read_hint, unfinished
from .readers_base import Dtype, _no_events, _readable, _Reader, spec_channel_type
from .readers_mne import _EpochsReader, _no_stim_in_epochs, _RawReader, readable_length
from .telephony_reader import SUFFIXES as TELEPHONY  # headerless telephony audio named by its suffix (.g722, .gsm, ...)

__all__ = [  # the shared interface lives in readers_base, the MNE readers in readers_mne; import them from here
    "AUDIO_SUFFIXES",
    "BLOCK_BYTES",
    "OTHER_AUDIO",
    "RAW_AUDIO",
    "SUPPORTED",
    "TELEPHONY",
    "Dtype",
    "_EpochsReader",
    "_RawReader",
    "_Reader",
    "_no_events",
    "_readable",
    "is_audio",
    "open_reader",
    "readable_length",
    "spec_channel_type",
]

AUDIO_SUFFIXES = (  # and AIFF-C, speech corpora's NIST SPHERE (.sph, .nist) and HTK (.htk), AU's other name (.snd)
    *(".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64", ".rf64"),
    *(".aifc", ".sph", ".nist", ".htk", ".snd"),
)
OTHER_AUDIO = (  # libsndfile reads none of these (a phone's memo or call, a browser's MediaRecorder take)
    *(".m4a", ".aac", ".mp4", ".wma", ".ape", ".wv", ".ac3", ".amr", ".3gp", ".3g2", ".webm", ".weba", ".mka"),
)
RAW_AUDIO = (".pcm", ".raw")  # headerless samples: no rate, sample format or channel count in the file
SUPPORTED = (
    "MNE raw formats via mne.io.read_raw (FIF, EDF/BDF/GDF, BrainVision .vhdr, EEGLAB .set, "
    "CNT, EGI, Nihon Kohden, ...), MNE epochs (*-epo.fif), XDF (.xdf), audio via soundfile "
    f"({', '.join(AUDIO_SUFFIXES)}), headerless telephony audio (G.722 .g722 and GSM 6.10 .gsm via PyAV, G.711 "
    ".ulaw/.ul/.pcmu and .alaw/.al/.pcma, signed linear .sln, .sln16, ...), the recorder's signals in .csv and .npz"
)
BLOCK_BYTES = 16 << 20  # read this much at a time from disk


_AUDIO_MAGIC = {
    b"RIFF": b"WAVE",
    b"RIFX": b"WAVE",
    b"RF64": b"WAVE",
    b"FORM": b"AIF",
    b"fLaC": b"",
    b"OggS": b"",
    b"caff": b"",
    b"NIST": b"",  # NIST SPHERE ("NIST_1A")
}
_log = logging.getLogger("wavegraph.file_source")


def is_audio(path: Path) -> bool:
    """An audio suffix, or audio content under another name (a WAV saved as .edf, a file without a
    suffix): the first bytes of WAV/RF64, AIFF, FLAC and Ogg files say so (RIFF alone does not: CNT is RIFF)."""
    if path.name.lower().endswith((*AUDIO_SUFFIXES, *TELEPHONY)):  # (telephony formats: telephony_reader.py)
        return True
    return audio_magic(path)


def audio_magic(path: Path) -> bool:
    """The first bytes of `path` are those of a WAV/RF64, AIFF, FLAC, Ogg, CAF or NIST SPHERE file."""
    if not path.is_file():  # a named pipe: opening it waits for a writer (and reading would eat its start)
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    form = _AUDIO_MAGIC.get(head[:4])
    return form is not None and head[8 : 8 + len(form)] == form


def raw_audio_problem(path: Path) -> str:
    """What is wrong with a headerless PCM file (.pcm, .raw) for file_source (and bench enhance)."""
    return (
        f"{path.suffix} is headerless audio (raw PCM samples, an AudioRecord dump or a speech corpus's): the file "
        "does not say its sample rate, sample format or channels"
    )


def raw_audio_hint(path: Path) -> str:
    """How to give a headerless PCM file a header (ffmpeg -i alone cannot guess what the file does not say)."""
    src, out = shlex.quote(path.name), shlex.quote(path.stem + ".wav")
    return (
        f"give it a header with the values it was recorded with, e.g. 16-bit little-endian mono at 16 kHz: "
        f"ffmpeg -f s16le -ar 16000 -ac 1 -i {src} {out} (or sox -t raw -r 16000 -e signed -b 16 -c 1 {src} {out}), "
        "and replay that"
        + (" (an EGI EEG .raw: mne.io.read_raw_egi(PATH).save('rec_raw.fif'))" if path.suffix.lower() == ".raw" else "")
    )


def _header_of(part: Path, suffix: str) -> Path | None:
    """The header file beside one part of a recording (`rec.eeg` -> `rec.vhdr`, also `REC.VHDR`), if any."""
    want = (part.stem + suffix).lower()
    return next((p for p in part.parent.iterdir() if p.name.lower() == want and p.is_file()), None)


# Suffixes of one reader each (not .dat, .cnt, .bin): when it fails on a file, the file is damaged
DAMAGED_NOT_OTHER = {
    ".edf": "EDF",
    ".bdf": "BDF",
    ".gdf": "GDF",
    ".fif": "FIF",
    ".fif.gz": "FIF",
    ".vhdr": "BrainVision",
}
DAMAGED_NOT_OTHER[".set"] = "EEGLAB"


def open_reader(
    path: Path,
    dtype: Dtype,
    stream: str | None = None,
    stim_channel: str | None = None,
    proj: bool | None = None,
    infer_types: bool = False,
) -> _Reader:
    """Pick the back end from the file name; raise SpecError naming the path and the formats. `infer_types`: an
    EDF/BDF's channels typed by their labels, as MNE's read_raw_edf(infer_types=True) (refused for another format)."""
    if infer_types and not path.name.lower().endswith((".edf", ".bdf")):
        raise SpecError(
            f"file_source: infer_types is for EDF/BDF files (MNE's read_raw_edf/read_raw_bdf), {path} is not one",
            "leave infer_types out (pick_channels or car ref_channels choose channels of other files)",
        )
    if (killed := unfinished(path)) is not None:  # (was 'no such file ... did you mean x.edf.spill?')
        raise SpecError(f"file_source: {killed[0]}", killed[1])
    if not path.exists():
        import glob
        import os

        from .near_names import near_names

        where = "" if path.is_absolute() else f" (relative to the current folder: {path.absolute()})"
        if (link := broken_link(path)) is not None:  # its target gone, or a loop: "did you mean" named the link itself
            raise link
        if any(c in str(path) for c in "*?[") and (matched := sorted(glob.glob(str(path)))):  # ('did you mean' some)
            raise SpecError(
                f"file_source: {path} is a pattern, which matches {len(matched)} files ({matched[0]}"
                f"{', ...' if len(matched) > 1 else ''}); a graph replays one file",
                f"run the graph once per file: wavegraph batch GRAPH --inputs {shlex.quote(str(path))} --out FOLDER "
                "(each file's outputs in FOLDER/<name>/), or a shell loop (docs/speech.md, 'Enhancing a recording, and "
                "a folder')",
            )
        if path.name.strip() != path.name and (bare := path.with_name(path.name.strip())).exists():
            raise SpecError(  # a line of a list of files kept its '\n': was 'did you mean' the same path, as printed
                f"file_source: no such file: {str(path)!r}{where}: its name has spaces or a line end around it",
                f"give {bare} (a name read from a list of files: line.strip())",
            )
        close = near_names(path)  # (rec.WAV for rec.wav first)
        expanded = os.path.expandvars(str(path))  # `$HOME/rec.edf` in a YAML file: no shell expanded it
        raise SpecError(
            f"file_source: no such file: {path}{where}",
            (f"did you mean {', '.join(str(c) for c in close)}? " if close else "")
            + (
                f"environment variables are not expanded in a graph file: give {expanded}, or let the shell "
                f'expand it: --set "NODE.path={path}"; '
                if expanded != str(path)
                else ""
            )
            + f"give the path of a readable recording; supported: {SUPPORTED}",
        )
    if path.is_dir() and not path.name.lower().endswith(RECORDING_FOLDERS):  # CTF and EGI recordings are folders
        raise SpecError(f"file_source: {path} is a folder", "give the path of a recording file in it")
    # /dev/stdin, a named pipe: read once, and the format sniffing eats its start
    if not path.is_dir() and not path.is_file():
        raise SpecError(
            f"file_source: {path} is a pipe or a device, not a file",
            "save the stream to a file first and give that (e.g. ... > in.wav; --set src.path=in.wav)",
        )
    check_not_empty(path)
    if (denied := not_permitted(path)) is not None:  # (each reader took it for a damaged file of another kind)
        raise denied
    name = path.name.lower()
    if name.endswith(TELEPHONY):  # headerless telephony audio (Asterisk's prompts): telephony_reader.py
        from .audio_reader import other_audio
        from .telephony_reader import open_telephony, telephony_format

        if stim_channel is not None or proj or stream is not None:
            what = "stim_channel" if stim_channel is not None else "proj" if proj else "stream"
            kind = getattr(telephony_format(path), "name", "")
            raise SpecError(f"file_source: {path} is audio ({kind}): no {what}", f"leave {what} out")
        # a WAV (or FLAC, M4A, FIF ...) saved under a telephony name was decoded as noise: read below for what it is
        if not (audio_magic(path) or other_audio(path) or content_format(path)):
            return open_telephony(path, dtype)
    if name.endswith(OTHER_AUDIO):
        raise SpecError(
            f"file_source: cannot read {path}: {path.suffix} audio is not a format libsndfile reads",
            f"convert it to WAV or FLAC first, e.g. ffmpeg -i {shlex.quote(path.name)} {shlex.quote(path.stem + '.wav')}",
        )
    if name.endswith(RAW_AUDIO):  # (MNE's 'Unsupported file type (.pcm)', and a list of formats, before)
        raise SpecError(f"file_source: cannot read {path}: {raw_audio_problem(path)}", raw_audio_hint(path))
    if not name.endswith(AUDIO_SUFFIXES):  # an .amr, .3gp or .webm under its own name: AudioReader's check below
        from .audio_reader import other_audio  # (for audio names) never saw it, MNE said 'Unsupported file type'

        if kind := other_audio(path):
            raise SpecError(
                f"file_source: cannot read {path}: it holds {kind}, which libsndfile does not read",
                f"convert it to WAV or FLAC first, e.g. ffmpeg -i {shlex.quote(path.name)} "
                f"{shlex.quote(path.stem + '.wav')}",
            )
    if stream is not None and not name.endswith((".xdf", ".xdfz")):
        raise SpecError(f"file_source: `stream` picks a stream of an XDF file; {path} is not one", "leave stream out")
    for part, header in ((".eeg", ".vhdr"), (".vmrk", ".vhdr"), (".fdt", ".set")):  # BrainVision, EEGLAB
        found = name.endswith(part) and _header_of(path, header)
        if found:
            raise SpecError(f"file_source: {path} is one part of a recording", f"give its header file: path: {found}")
    try:
        if is_audio(path):
            if stim_channel is not None or proj:
                what = "no stim channel" if stim_channel is not None else "no SSP projectors (proj)"
                raise SpecError(f"file_source: {path} is audio: {what}", "leave stim_channel and proj out")
            if not name.endswith(AUDIO_SUFFIXES):
                _log.warning("file_source: %s holds audio (by its first bytes); reading it as audio", path)
            from .audio_reader import SHORTEN_PROBLEM, AudioReader, other_audio, shorten_hint, shortened_sphere
            from .wav_layout import wide_pcm_bits

            try:
                return AudioReader(path, dtype)
            except Exception as e:  # noqa: BLE001 — libsndfile: 'file is malformed', 'Format not recognised', ...
                found = misnamed(path, e, SUPPORTED)  # a FIF or EDF saved as .wav: say what it holds, not "damaged"
                if found is not None:
                    raise found from e
                if "Too many channels" in str(e):  # a WAV of more than libsndfile's 1024 (a microphone or probe array)
                    raise SpecError(
                        f"file_source: cannot read {path}: its header gives more channels than libsndfile reads (1024)",
                        "load it with scipy.io.wavfile.read(PATH) (its rate, and samples x channels: give data=X.T) "
                        "and " + _ARRAY_SOURCE,
                    ) from e
                if bits := wide_pcm_bits(path):  # a valid WAV: 'unimplemented format' was said 'damaged'
                    raise SpecError(
                        f"file_source: cannot read {path}: its samples are {bits}-bit integers, and libsndfile reads "
                        "integer PCM up to 32 bits",
                        "load it with scipy.io.wavfile.read(PATH) (its rate, and samples x channels as int64 at full "
                        "scale: give data=X.T / 2.0**63) and " + _ARRAY_SOURCE,
                    ) from e
                if shortened_sphere(path):  # LDC's corpora: 'unimplemented format' was 'damaged', with an ffmpeg line
                    raise SpecError(f"file_source: cannot read {path}: {SHORTEN_PROBLEM}", shorten_hint(path)) from e
                if kind := other_audio(path):  # an M4A renamed .wav
                    out = path.stem + (".wav" if not name.endswith(".wav") else "_converted.wav")
                    raise SpecError(
                        f"file_source: cannot read {path}: it holds {kind}, which libsndfile does not read",
                        f"convert it to WAV or FLAC first, e.g. ffmpeg -i {shlex.quote(path.name)} {shlex.quote(out)}",
                    ) from e
                raise SpecError(
                    f"file_source: cannot read {path}: {type(e).__name__}: {e}",
                    "the file is damaged, cut short or not audio: ffmpeg decodes what it can "
                    f"(ffmpeg -i {shlex.quote(path.name)} {shlex.quote(path.stem + '_fixed.wav')}); replay that",
                ) from e
        if name.endswith((".csv", ".npz")):  # the recorder's own (table_reader.py)
            from .table_reader import open_table

            return open_table(path, stim_channel, proj)
        if name.endswith((".xdf", ".xdfz")):
            from .xdf import XdfReader

            if proj:
                raise SpecError(f"file_source: {path} is XDF: no SSP projectors (proj)", "leave proj out")
            return XdfReader(path, stream, dtype or "float64", stim_channel)
        if name.endswith(".fif") and (loop := fif_tag_loop(path)):  # MNE listed its tags without end, memory filling
            raise SpecError(
                f"file_source: {path} is damaged: {loop}, a loop MNE's reader follows without end",
                "a byte of the file was changed (a disk, copy or transfer error): give an undamaged copy (compare its "
                "checksum with the original's)",
            )
        if name.endswith(("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")):
            _no_stim_in_epochs(path, stim_channel)
            return _EpochsReader(path, proj=proj)
        if name.endswith((".edf", ".bdf", ".gdf")):  # EDF: cut inside its header, no record, fewer records than listed
            (check_gdf if name.endswith(".gdf") else check_edf)(path)  # (MNE says nothing); GDF: a variant MNE fails on
        if name.endswith((".fif", ".fif.gz")):
            check_split_part(path)  # x_raw-1.fif given: MNE replays that part alone
        if name.endswith(".vhdr"):
            check_brainvision(path)  # its data or marker file missing, its data file cut inside a sample
        view = CaseView(path) if needs_view(path) else None  # REC.VHDR, REC.SET: MNE checks the case
        if view is None and name.endswith((".gdf", ".cnt")):  # cut short: its whole records or samples and events
            view = gdf_view(path) if name.endswith(".gdf") else cnt_view(path)
        if view is None and name.endswith(".vhdr"):  # markers in Recorder's ANSI ('geöffnet'): MNE fails on them
            view = marker_view(path)
        try:
            return _RawReader(path, stim_channel, view=view, proj=proj, infer_types=infer_types)
        except TypeError as e:  # an epoched EEGLAB .set: MNE's raw reader refuses it, read_epochs_eeglab reads it
            if "number of trials" not in str(e) or not name.endswith(".set"):
                raise
            import mne

            _log.warning("file_source: %s holds epochs (EEGLAB trials), not raw data; replaying them as epochs", path)
            _no_stim_in_epochs(path, stim_channel)
            epochs = mne.read_epochs_eeglab(path if view is None else view.path, verbose="error")
            return _EpochsReader(path, epochs, view=view)
        except ValueError as e:  # epochs saved under another name: MNE's raw reader finds no raw data
            if "No raw data" not in str(e) or not name.endswith((".fif", ".fif.gz")):
                raise
            if (other := fif_not_recording(path)) is not None:  # an average, info alone: no epochs either
                raise other from e
            _log.warning("file_source: %s holds epochs, not raw data; replaying them as epochs", path)
            _no_stim_in_epochs(path, stim_channel)
            return _EpochsReader(path, proj=proj)
    except SpecError:
        raise
    except Exception as e:  # mne and soundfile raise many types; all mean "cannot read this file"
        if isinstance(e, PermissionError):  # a file of the recording (BrainVision's .eeg, EEGLAB's .fdt) not readable
            raise not_permitted(path, e) or e from e
        if isinstance(e, EOFError) and name.endswith((".gz", ".xdfz")):  # gzip's 'Compressed file ended before ...'
            out = path.with_name(path.name[: -len(".gz")] if name.endswith(".gz") else path.stem + ".xdf")
            raise SpecError(  # (was 'it is FIF but damaged ...: export it again')
                f"file_source: {path} is cut short: the compressed file ends before its end ({e})",
                f"decompress what it holds: zcat {shlex.quote(str(path))} > {shlex.quote(str(out))} (zcat says "
                "'unexpected end of file' and writes it all), and replay that: file_source replays a recording cut "
                "short up to its last whole part",
            ) from e
        found = misnamed(path, e, SUPPORTED)  # a FIF saved as .edf, an EDF as .dat: say what it holds
        if found is not None:
            raise found from e
        if needed := re.search(r"For (.+?) to work, the module (\S+) is needed.*?pip install (\S+)", str(e), re.S):
            raise SpecError(  # (EGI .mff: mffpy; was MNE's lines, then 'fix: supported formats: ...')
                f"file_source: cannot read {path}: MNE reads it with the package {needed.group(2)}, which is not "
                f"installed here (MNE: for {needed.group(1)} to work)",
                f"install it where wavegraph runs: {shlex.quote(sys.executable)} -m pip install {needed.group(3)}",
            ) from e
        if name.endswith(".fif") and (cut := fif_cut_short(path)):  # (was 'damaged ...: export it again')
            raise SpecError(
                f"file_source: {path} is cut short: it ends at byte {path.stat().st_size}, {cut}, before MNE found "
                f"what it needs to read it ({type(e).__name__}: {e})",
                "the copy or download stopped early: give the whole file (compare its size with the original's)",
            ) from e
        if name.endswith((".fif", ".fif.gz")) and (other := fif_not_recording(path)) is not None:
            raise other from e  # a covariance, a transform...: was 'it is FIF but damaged ...: export it again'
        folder = path.is_dir() and "not found" in str(e)  # a CTF .ds without its .res4: MNE's OSError, not said so
        if isinstance(e, FileNotFoundError) or "Split raw file detected" in str(e) or folder:  # a companion is missing
            raise SpecError(
                f"file_source: cannot read {path}: a file of the recording is missing: {e}",
                renamed_parts(e)
                or (
                    (
                        f"the folder was renamed (it holds {own[0].name}; MNE finds the files by the folder's name): "
                        f"give it its name back, {own[0].stem}{path.suffix}, or rename it with CTF's newDs"
                        if (own := sorted(path.glob("*.res4")))
                        else "copy the whole recording folder (a CTF .ds: its .res4, .meg4, .infods, ... as the system "
                        "wrote them, named as the folder)"
                    )
                    if folder
                    else "copy every file of the recording into one folder (EEGLAB: the .set and its .fdt; BrainVision: "
                    ".vhdr, .vmrk and .eeg; a split FIF: NAME_raw-1.fif, -2, ... beside NAME_raw.fif), under the names "
                    "its header gives"
                ),
            ) from e
        # A table, a pickle: whatever MNE's reader for its suffix said (BOXY's for .txt: an empty AssertionError),
        # it is not a recording. An assert inside a reader says nothing to a user either.
        hint = not_read_hint(path)
        said = (
            f"{type(e).__name__}: {e}" if str(e) and not isinstance(e, AssertionError) else "its contents do not parse"
        )
        raise SpecError(
            f"file_source: cannot read {path}: {'not a recording' if hint else said}",
            hint
            or (  # a supported format its reader could not parse: the list of formats was no fix
                "it is XDF but damaged, or breaks the format where pyxdf reads it (a stream's header, a channel "
                "format): record it again, or repair the header pyxdf.load_xdf(PATH) fails on"
                if name.endswith((".xdf", ".xdfz"))
                else f"it is {next(f for e, f in DAMAGED_NOT_OTHER.items() if name.endswith(e))} but damaged, or breaks "
                "the format where MNE reads it (a field of its header): export it again from the recording software"
                if name.endswith(tuple(DAMAGED_NOT_OTHER))
                else f"supported formats: {SUPPORTED}"
            ),
        ) from e
