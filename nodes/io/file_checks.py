"""Checks `file_source` runs on a recording before and after MNE reads it, so that a broken file gets an error
that names the file and what to do (not a message from deep inside MNE), and a cut-short file is said:

* an empty file (0 bytes: a copy or download that stopped before any data);
* an EDF/BDF cut inside its header, one that holds no data record, and one holding fewer records than its header
  lists (MNE infers the count from the file size without a word: half of a recording replayed unsaid);
* a file whose first bytes are another format than its suffix says (a FIF saved as `.edf`, an EDF as `.dat`);
* a recording without a single signal channel (an EDF+ of annotations only, such as a Sleep-EDF hypnogram);
* an EEGLAB .set whose .fdt holds more samples than its header gives (MNE leaves the rest out unsaid).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from wavegraph.pipeline.spec import SpecError

from .edf_header import edf_signals
from .edf_start import check_start_time

_log = logging.getLogger("wavegraph.file_source")

# first bytes -> (format, the suffix its readers want); FIF's first tag is FIFF_FILE_ID (kind 100, big-endian)
_MAGIC = (
    (b"\x00\x00\x00\x64\x00\x00\x00\x1f", "FIF", "_raw.fif"),
    (b"0       ", "EDF", ".edf"),
    (b"\xffBIOSEMI", "BDF", ".bdf"),
    (b"GDF", "GDF", ".gdf"),
    (b"XDF:", "XDF", ".xdf"),
    (b"Brain Vision", "BrainVision header", ".vhdr"),
    (b"BrainVision", "BrainVision header", ".vhdr"),  # Recorder 2.x writes "BrainVision Data Exchange Header File"
)


def check_not_empty(path: Path) -> None:
    if path.is_file() and path.stat().st_size == 0:
        raise SpecError(
            f"file_source: {path} is empty (0 bytes)",
            "the copy or download stopped before any data, or the recording never started: give the whole file "
            "(compare its size with the original's)",
        )


def content_format(path: Path) -> tuple[str, str] | None:
    """(format, suffix) that the first bytes of `path` say, for the formats MNE and pyxdf pick by suffix."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    return next(((fmt, suffix) for magic, fmt, suffix in _MAGIC if head.startswith(magic)), None)


def misnamed(path: Path, error: Exception, supported: str = "") -> SpecError | None:
    """For a file its reader failed on: a SpecError saying its content is another format than its name says."""
    found = content_format(path)
    name = path.name.lower()
    if found is None:
        claimed = next(((f, x) for _, f, x in _MAGIC if name.endswith(x.replace("_raw", ""))), None)
        if claimed is None:
            return None
        return SpecError(
            f"file_source: cannot read {path}: its first bytes are not those of {claimed[0]} files, as its name "
            f"says ({type(error).__name__}: {error})",
            f"it is another kind of file, or its start is damaged: `file {path}` may tell which; give the recording "
            f"as its software exported it, in a format file_source reads: {supported}",
        )
    fmt, suffix = found
    if name.endswith(suffix) or (fmt == "FIF" and name.endswith((".fif", ".fif.gz"))):
        return None  # the name fits: the file itself is damaged
    return SpecError(
        f"file_source: cannot read {path}: its first bytes say {fmt}, its name does not "
        f"({type(error).__name__}: {error})",
        f"give it the {fmt} suffix its readers go by, e.g. cp {path} {path.parent / (path.stem + suffix)}",
    )


def check_edf(path: Path) -> None:
    """EDF/BDF: refuse a header cut short or no data record; say a file holding fewer records than its header lists."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(256)
    if not head.startswith((b"0       ", b"\xffBIOSEMI")):
        return  # not EDF/BDF inside: MNE's error, and what its first bytes say (misnamed)
    fields = {"header bytes": (184, 192, int), "records": (236, 244, int), "record duration": (244, 252, float)}
    fields["signals"] = (252, 256, int)
    values = {}
    for what, (a, b, kind) in fields.items():
        try:
            values[what] = kind(head[a:b].decode("latin-1"))
        except ValueError:
            if len(head) < b:
                break  # cut short: said below
            raise SpecError(
                f"file_source: {path}'s header is damaged: its {what} field (bytes {a}-{b}) holds "
                f"{head[a:b].decode('latin-1')!r}, not a number",
                "the file was damaged or is not EDF/BDF: export it again from the recording software",
            ) from None
    header, n_rec, ns = values.get("header bytes", 10**9), values.get("records", 0), values.get("signals", 0)
    if len(head) < 256 or size < header:
        declares = f"the {header} it declares" if len(head) >= 256 else "at least 256"
        raise SpecError(
            f"file_source: {path} is cut short inside its header ({size} bytes of {declares})",
            "the copy or download stopped early: give the whole file",
        )
    if ns <= 0:
        raise SpecError(f"file_source: {path}'s header lists no signal ({ns})", "give an EDF/BDF file with signals")
    duration = values.get("record duration", 1.0)  # 0: an annotations-only EDF+ (MNE takes 1 s and says so)
    if header != 256 * (ns + 1) or not duration >= 0 or duration == float("inf"):
        said = (
            f"a record duration of {duration:g} s, where a record lasts a positive number of seconds"
            if header == 256 * (ns + 1)
            else f"{ns} signals in a header of {header} bytes, where {ns} signals take 256 * ({ns} + 1) bytes"
        )
        raise SpecError(  # MNE read a negative or NaN duration as a rate of -250 or NaN Hz, 9999 signals as "''"
            f"file_source: {path}'s header is damaged: it gives {said}",
            "the file was damaged or is not EDF/BDF: export it again from the recording software",
        )
    check_start_time(path, head)  # '25.00.00': MNE's 'hour must be in 0..23' named no field
    kind = "BDF" if head[:1] == b"\xff" else "EDF"
    with open(path, "rb") as f:  # each signal's numbers: ranges are numbers, samples per record a count (all 0: below)
        sig = f.read(256 * (ns + 1))[256:]
    labels = [sig[i * 16 : (i + 1) * 16].decode("latin-1").split("\x00")[0].strip() for i in range(ns)]  # as MNE
    for offset, what in _SIGNAL_NUMBERS:
        for i, label in enumerate(labels):
            text = sig[ns * offset + i * 8 : ns * offset + (i + 1) * 8].decode("latin-1").split("\x00")[0].strip()
            if not (_count(text) if offset == 216 else _finite(text.replace(",", "."))):  # (MNE reads '3,5' as 3.5)
                at = 256 + ns * offset + i * 8
                raise SpecError(  # MNE: "invalid literal for int() with base 10: '250.5   '", "could not convert ..."
                    f"file_source: {path}'s header is damaged: signal {i + 1} ({label!r}) has {text!r} as its {what} "
                    f"(bytes {at}-{at + 8}), not {'a count' if offset == 216 else 'a number'}",
                    f"it is {kind} but damaged, or its writer broke the format: export it again from the recording software",
                )
    if duration == 0 and not all(label.endswith("Annotations") for label in labels):
        _log.warning(  # (MNE's own: 'It is possible that this file only contains annotations and no signals')
            "file_source: %s's header gives its data records a duration of 0 s, so its rate is unknown: MNE takes 1 s "
            "(%s); if the recording's rate is another, write samples per record / rate into the header's record "
            "duration (bytes 244-252)",
            path,
            ", ".join(
                f"{lb} {sig[ns * 216 + i * 8 : ns * 216 + (i + 1) * 8].decode().strip()} Hz"
                for i, lb in enumerate(labels)
                if not lb.endswith("Annotations")
            ),
        )
    signals = edf_signals(path)
    if signals is None:
        return
    rec_bytes = sum(signals.samples_per_record) * signals.width
    if rec_bytes == 0:
        raise SpecError(
            f"file_source: {path}'s header is damaged: each of its signals has 0 samples per data record",
            f"it is {kind} but damaged, or its writer broke the format: export it again from the recording software",
        )
    whole = (size - header) // rec_bytes if rec_bytes > 0 else 0
    if whole == 0:
        raise SpecError(
            f"file_source: {path} holds no data record (its header lists {n_rec}; the file ends "
            f"{size - header} bytes after the header, a record takes {rec_bytes})",
            "the recording stopped before its first record, or the copy was cut short: give the whole file",
        )
    torn = (size - header) % rec_bytes
    if n_rec >= 0 and whole < n_rec:
        _log.warning(
            "file_source: %s is truncated: its header lists %d data records, the file holds %d%s; replaying those",
            path,
            n_rec,
            whole,
            f" and {torn} bytes of the next" if torn else "",
        )
    elif n_rec < 0 or torn or whole > n_rec:
        _log.warning(
            "file_source: %s: %s; replaying its %d whole records",
            path,
            "its header was never finished (-1 records: the recorder did not close it)"
            if n_rec < 0
            else f"its header lists {n_rec} data records, the file holds more (its header was not updated, or "
            "another recording was appended)"
            + (f", and {torn} bytes after the last whole one, left out" if torn else "")
            if whole > n_rec
            else f"{torn} bytes after its last whole record are left out",
            whole,
        )


_SIGNAL_NUMBERS = (  # (offset / ns in the signal headers, what the field holds)
    (104, "physical minimum"),
    (112, "physical maximum"),
    (120, "digital minimum"),
    (128, "digital maximum"),
    (216, "samples per data record"),
)


def _count(text: str) -> bool:
    try:
        return int(text) >= 0
    except ValueError:
        return False


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def check_split_part(path: Path) -> None:
    """A later part of a split FIF (x_raw-1.fif, as MNE names them) given instead of its first: MNE replays that part
    alone (a quarter of the recording, say), with only a note on its name."""
    import re

    found = re.fullmatch(r"(.+)-([1-9][0-9]*)(\.fif(?:\.gz)?)", path.name)
    if found is None:
        return
    first = path.with_name(found.group(1) + found.group(3))
    if first.is_file():
        _log.warning(
            "file_source: %s is part %d of the split recording %s: replaying this part alone; give %s to replay "
            "every part",
            path,
            int(found.group(2)) + 1,
            first.name,
            first,
        )


def renamed_parts(error: Exception) -> str | None:
    """For MNE's 'Split raw file detected but next file X does not exist': when a part numbered as X is beside it
    under another name (the parts were renamed: MNE finds each by the name written inside the one before), the fix."""
    import re

    found = re.search(r"next file (.+?-([1-9][0-9]*)\.fif(?:\.gz)?) does not exist", str(error))
    if found is None:
        return None
    want = Path(found.group(1))
    tail = f"-{found.group(2)}{want.name[want.name.rindex('.fif') :]}"
    near = sorted(p.name for p in want.parent.glob(f"*{tail}")) if want.parent.is_dir() else []
    if not near:
        return None
    return (
        f"the split parts were renamed, and MNE finds each by the name written inside the part before it: give "
        f"{near[0]} its name back (mv {near[0]} {want.name}; the later parts likewise), or rename a split recording "
        "by reading it with MNE and saving it again under the new name"
    )


def no_channels(path: Path | str | None, n_annotations: int, node: str = "file_source") -> SpecError:
    what = f"{n_annotations} annotations and no signal channel" if n_annotations else "no channel"
    return SpecError(
        f"{node}: {path or 'the recording'} holds {what}: there is no signal to replay",
        "an annotations-only file (e.g. a Sleep-EDF hypnogram) goes with its recording: attach its markers in MNE, "
        "raw.set_annotations(mne.read_annotations(PATH)), and replay that Raw with array_source"
        if n_annotations
        else "give a recording with at least one channel",
    )


def projectors(raw, proj: bool | None, path: Path | None) -> None:
    """SSP projectors a Raw carries but has not applied (an average reference, ECG/EOG or empty-room projectors saved
    with `projection=True`): `proj` true applies them as raw.apply_proj() does (lazily, on every read); None replays
    the data as stored (as raw.get_data() gives it) and says so; false says nothing."""
    waiting = [p["desc"] for p in raw.info["projs"] if not p["active"]]
    if not waiting or proj is False:
        return
    if proj:
        raw.apply_proj(verbose="error")
        _log.info("file_source: %s: applied its SSP projectors: %s", path or "the Raw", ", ".join(waiting))
        return
    _log.warning(
        "file_source: %s carries %d SSP projector%s not applied to its data (%s): replayed as stored, as "
        "raw.get_data() gives it; set proj: true to apply them as raw.apply_proj() does (MNE's Epochs and plots "
        "do by default), or proj: false to replay as stored without this warning%s. A recorder downstream does not "
        "write them into its file: with proj left out, the recording is the data without its projectors",
        path or "the Raw",
        len(waiting),
        "s" if len(waiting) > 1 else "",
        ", ".join(waiting),
        "" if path is not None else " (array_source: pass raw.copy().apply_proj())",
    )


_BV_WIDTH = {"INT_16": 2, "UINT_16": 2, "INT_32": 4, "IEEE_FLOAT_32": 4}


def check_brainvision(header: Path) -> None:
    """A BrainVision header whose data file is missing (an error naming it), whose marker file is missing (MNE replays
    it without a word and without markers) or whose data file ends inside a sample (a copy cut short)."""
    from .case_names import _find

    try:
        raw = header.read_bytes()[: 1 << 20]
    except OSError:
        return
    try:  # Codepage=UTF-8 (BrainVision Recorder 1.2x), else ANSI: read as Latin-1
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    keys = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            keys.setdefault(key.strip(), value.strip())
    interval = keys.get("SamplingInterval", "1")  # (missing: MNE's error asks for overrides={'sfreq': ...})
    try:
        rate = 1e6 / float(interval)
    except (ValueError, ZeroDivisionError):
        rate = float("nan")
    if not 0 < rate < float("inf"):  # MNE: 'float division by zero', 'cannot convert float NaN to integer', ...
        raise SpecError(
            f"file_source: {header}'s header is damaged: SamplingInterval={interval} is not a positive number of "
            "microseconds between samples",
            "edit that line to the recording's interval (1e6 / its rate: 4000 for 250 Hz), or export it again",
        )
    data, markers = keys.get("DataFile"), keys.get("MarkerFile")
    folder = header.parent
    if data and "/" not in data and "\\" not in data and _find(folder, data) is None:
        renamed = _find(folder, header.stem + Path(data).suffix)  # renamed without editing the header (BIDS)
        raise SpecError(
            f"file_source: {header} names its data file {data!r}, which is not beside it in {folder}",
            f"the recording was renamed: edit the header's DataFile= line to {renamed.name} (and MarkerFile=), or "
            "rename BrainVision sets with mne_bids.copyfiles.copyfile_brainvision, which edits them"
            if renamed is not None
            else f"copy the whole recording (the .vhdr, {data} and its .vmrk) into one folder",
        )
    if data and ("/" in data or "\\" in data) and not (folder / data).exists():  # (MNE joins it to the folder)
        base = data.replace("\\", "/").rsplit("/", 1)[-1]
        near = _find(folder, base)
        raise SpecError(  # MNE: "[Errno 2] No such file or directory: '/data/C:\\Users\\x\\rec.eeg'"
            f"file_source: cannot read {header}: a file of the recording is missing: its header names its data file by "
            f"the path {data!r}, which leads nowhere from {folder} (a header written on another machine?)",
            f"{base} is beside it: edit the header's DataFile= line to {near.name} (and MarkerFile= likewise)"
            if near is not None
            else f"copy {base} beside the header and edit its DataFile= line to {base} (and MarkerFile= likewise)",
        )
    if markers and _find(folder, header.stem + ".vmrk") is None:  # (MNE takes a .vmrk named as the header instead)
        base = markers.replace("\\", "/").rsplit("/", 1)[-1]
        pathed = base != markers  # a header written on another machine: 'C:\\Users\\lab\\rec.vmrk' (MNE joins it)
        if (_find(folder, markers) is None) if not pathed else not (folder / markers).exists():
            near = _find(folder, base) if pathed else None
            _log.warning(
                "file_source: %s names its marker file %r, which %s: replayed without its markers%s",
                header,
                markers,
                "leads nowhere from its folder" if pathed else "is not beside it",
                f"; fix: edit the header's MarkerFile= line to {near.name}" if near is not None else "",
            )
    found = _find(folder, data) if data else None
    width = _BV_WIDTH.get(keys.get("BinaryFormat", "").upper())
    try:
        frame = int(keys.get("NumberOfChannels", "0")) * (width or 0)
    except ValueError:
        return
    if found is not None and frame and keys.get("DataFormat", "BINARY").upper() == "BINARY":
        size = found.stat().st_size
        torn = size % frame
        points = keys.get("DataPoints", "")  # (BrainVision Analyzer's exports say how many samples they hold)
        want = int(points) * frame if points.isdigit() else None
        if keys.get("DataOrientation", "").upper() == "VECTORIZED" and (torn or (want and size < want)):
            raise SpecError(  # MNE splits what is there into equal channels: each one after the first starts early
                f"file_source: {header}'s data file {found.name} is cut short ({size} bytes"
                + (f" of {want}: {size // frame} of its {points} samples" if want else f", {torn} into a sample")
                + "), and its samples are stored a channel at a time (DataOrientation=VECTORIZED): read as it is, "
                "every channel after the first would start at the wrong sample",
                "give the whole file (compare its size with the original's), or export the recording again",
            )
        if want and size < want and not torn:
            _log.warning(
                "file_source: %s is cut short: it holds %d of the %s samples its header gives (DataPoints); "
                "replaying those",
                found,
                size // frame,
                points,
            )
        if torn:
            _log.warning(
                "file_source: %s ends %d bytes into a sample (a sample takes %d): the copy was cut short, or the "
                "recorder stopped mid-write; replaying the whole samples",
                found,
                torn,
                frame,
            )


_MNE_BV_VOLTS = {
    "V": 1.0,
    "µV": 1e-6,
    "uV": 1e-6,
    "mV": 1e-3,
    "nV": 1e-9,
}  # the voltages MNE's BrainVision reader knows


def brainvision_voltages(raw, path: Path | None) -> dict[int, float]:
    """BrainVision channels in a voltage MNE's reader does not know ('μV' with the Greek mu, 'UV', 'uv', ' uV'): MNE
    types them misc and reads them unscaled (1e6 times the value in volts), its orig_units 'n/a'. {channel: factor to
    volts} from the header's [Channel Infos] units, said."""
    import re

    from .units import volt_scale

    if path is None:
        return {}
    raw_text = path.read_bytes()[: 1 << 20]
    try:
        text = raw_text.decode("utf-8")
    except UnicodeDecodeError:
        text = raw_text.decode("latin-1")
    units = {}
    infos = re.split(r"^\[", text.split("[Channel Infos]", 1)[-1], maxsplit=1, flags=re.M)[0]  # up to the next
    # section: [Coordinates] has Ch1=1,-90,-90 lines too, which set every unit to the default
    for k, props in re.findall(r"^Ch([0-9]+)=(.*)$", infos, re.M):
        parts = props.split(",")  # name, reference, resolution, unit (none or empty: µV, as MNE)
        units[int(k) - 1] = parts[3].replace("\xc2", "") if len(parts) > 3 and parts[3] else "µV"
    kinds = raw.get_channel_types()
    found = {
        i: volt_scale(u) for i, u in units.items() if i < len(kinds) and kinds[i] == "misc" and u not in _MNE_BV_VOLTS
    }
    gains = {i: f for i, f in found.items() if f is not None}
    if gains:
        _log.warning(
            "file_source: %s: %s scaled to volts and typed EEG as %s (MNE reads them unscaled, typed misc)",
            path,
            ", ".join(f"{raw.ch_names[i]} in {units[i]!r}" for i in gains),
            "their units say" if len(gains) > 1 else "its unit says",
        )
    return gains


_SAID_ELSEWHERE = (  # MNE's warnings file_source says in its own words (see said_by_mne)
    "Header information is incorrect for record length",
    "Number of records from",
    "Unsupported physical dim",
    "Invalid measurement date encountered in the header",
)


def said_by_mne(said: list, path: Path | None) -> None:
    """Pass on the warnings MNE gave while it read a recording, naming the file: the one that loses data in our
    words (the annotations it leaves out because they lie outside the data: a recording cut short keeps the
    markers of what it lost), the others as MNE put them (duplicate channel names it renamed, say). Logged as the
    other file_source warnings are (one line, said once by a multi-process run's parent): a Python warning was
    printed with the line of code that gave it, once more by every worker process."""
    import re

    for w in said:
        if str(w.message).startswith(_SAID_ELSEWHERE) or re.fullmatch(
            r"MarkerFile .* not found; no annotations\.", str(w.message)
        ):
            continue  # said by check_edf (the rates MNE takes, the records it reads), check_brainvision (no marker file),
            # gdf_types (a GDF unit MNE does not know: by_unit reads each one), edf_start.say_undated (an EDF's date)
        found = re.match(r"Omitted (\d+) annotation\(s\) that were outside data range", str(w.message))
        flat = re.match(
            r"(Scaling factor will not be|Physical range is not) defined in (?:the )?following channels:\s*(.+)",
            str(w.message),
            re.S,
        )
        if flat:  # MNE's words said neither what it reads instead nor the fix (an EDF's digital or physical range 0)
            digital = flat.group(1).startswith("Scaling")
            _log.warning(
                "file_source: %s: its header gives %s the same %s minimum and maximum, so %s; leave them out (picks: "
                "the other channels), or write the channels' real range into the header",
                path,
                flat.group(2).strip(),
                "digital" if digital else "physical",
                "their samples cannot be scaled: MNE takes each digital step for the whole physical range (values far "
                "off, not in the file's unit)"
                if digital
                else "their samples cannot be scaled: MNE reads them as that value plus the signal squeezed into one "
                "unit of the file's (the shape kept, not the size)",
            )
        elif found:
            _log.warning(
                "file_source: %s: %s markers lie outside its data, and MNE leaves them out: was the recording cut short?",
                path,
                found.group(1),
            )
        else:
            _log.warning("file_source: %s: %s", path, " ".join(str(w.message).split()))  # one line, as ours


def check_fdt_length(raw, path: Path | None) -> None:
    """An EEGLAB .set whose data file (.fdt: float32, a sample of every channel after another) holds more samples than
    the header's EEG.pnts: MNE reads pnts and leaves the rest out without a word (the fewer case: a file cut short, is
    said by readable_length). Said, with how many samples (and seconds) are left out and the fix."""
    extras = getattr(raw, "_raw_extras", None) or [{}]
    if path is None or type(raw).__name__ != "RawEEGLAB" or extras[0].get("is_embedded", True):
        return
    fdt = Path(raw.filenames[0])
    n_ch = int(extras[0].get("orig_nchan") or len(raw.ch_names))
    try:
        held = fdt.stat().st_size // (4 * n_ch)
    except OSError:
        return
    if held > raw.n_times:
        _log.warning(
            "file_source: %s: its data file %s holds %d samples of its %d channels, its header (EEG.pnts) gives %d: "
            "the %d after them (%.6g s) are left out; if the data file is this recording's, its header should give "
            "EEG.pnts = %d (set it and save the .set again), else put the recording's own .fdt beside it",
            path,
            fdt.name,
            held,
            n_ch,
            raw.n_times,
            held - raw.n_times,
            (held - raw.n_times) / raw.info["sfreq"],
            held,
        )


def not_permitted(path: Path, e: PermissionError | None = None) -> SpecError | None:
    """A recording (or one of its files: `e.filename`) this user may not read: said as that, with the fix. It was
    'its first bytes are not those of EDF files ... damaged', 'the file is damaged, cut short or not audio' (WAV:
    libsndfile's 'System error'), 'damaged or not a recorder's .npz: record it again'."""
    import os
    import stat

    where = Path(e.filename) if e is not None and isinstance(e.filename, str) else path
    if e is None:
        if path.is_dir():
            return None
        try:
            with open(path, "rb") as f:
                f.read(1)
            return None
        except PermissionError:
            pass
    try:
        st = where.stat()
        mode = f" (mode {stat.filemode(st.st_mode)}, owner uid {st.st_uid}; you are uid {os.geteuid()})"
    except OSError:
        mode = ""
    return SpecError(
        f"file_source: cannot read {where}: permission denied{mode}"
        + (f" (a file of the recording {path})" if where != path else ""),
        f"give your user read access (chmod a+r {where}, or ask its owner), or copy it where you can read it and give "
        "that path",
    )
