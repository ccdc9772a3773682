"""What to do with a file of a kind file_source does not read: the peers' and the recorder's tables, arrays and
pickles, a spill, and HDF5, whose content says which of the many formats built on it a file is (OpenSignals, Timeflux,
g.tec, NWB, SNIRF, MATLAB 7.3) and so how to load it. file_source reads no HDF5 itself: none of these is a format MNE's
readers take but SNIRF (read under its own suffix), and each lays its signal out its own way."""

from __future__ import annotations

import math
from pathlib import Path

HDF5 = (".h5", ".hdf5", ".hdf", ".he5", ".nwb")
FORMATS_READ = (
    "file_source reads MNE's raw formats (FIF, EDF/BDF/GDF, BrainVision .vhdr, EEGLAB .set, SNIRF .snirf, CNT, ...), "
    "MNE epochs (-epo.fif), XDF, audio and the recorder's signals in .csv and .npz"
)
_TO_FIF = (
    "or convert it once to FIF (data in volts, channels x samples): mne.io.RawArray(DATA, mne.create_info(NAMES, "
    "RATE, 'eeg')).save('NAME_raw.fif'), and replay that"
)


_ARRAY_SOURCE = (
    "replay it from Python with array_source (GraphBuilder: g.add('array_source', data=X, rate=HZ, ch_names=[...]))"
)
_NOT_READ = {
    (".spill", ".spill.json"): "it is the spill of a recording whose recorder did not close (its process was killed): "
    "`wavegraph recover PATH` (this file's path, or the recording's) writes the recording; replay that",
    (".npy",): "NumPy arrays are not read by file_source (a recorder's .npz of a signal is): load it (numpy.load) "
    "and " + _ARRAY_SOURCE + ", or record signals to FIF or EDF",
    (".tsv", ".txt"): "text tables (OpenBCI's, BrainFlow's, Mind Monitor's) are not read by file_source (a "
    "recorder's .csv of a signal is): load it (numpy.loadtxt, pandas.read_csv) and " + _ARRAY_SOURCE,
    (".parquet", ".pkl", ".pickle", ".json"): "file_source reads recordings, not tables or pickles: load it and "
    + _ARRAY_SOURCE,
    (".mat",): "MATLAB files (FieldTrip's, BCI competition data sets) are not read by file_source: load it "
    "(scipy.io.loadmat; FieldTrip data: mne.io.read_raw_fieldtrip(PATH, info=None)) and " + _ARRAY_SOURCE,
}


def not_read_hint(path: Path) -> str | None:
    """What to do with a file of a kind file_source does not read (the peers' and the recorder's table formats)."""
    name = path.name.lower()
    if sidecar := bids_sidecar_hint(path):  # (was told as OpenBCI's text tables, or a pickle)
        return sidecar
    if plux := opensignals_text_hint(path):  # any suffix (.txt, .bat): its nSeq and DI columns are no channels
        return plux
    if name.endswith(HDF5):
        return hdf5_hint(path)
    if name.endswith(tuple(_ARCHIVES)) and not name.endswith((".fif.gz", ".xdfz")):  # (those MNE, pyxdf read whole)
        return archive_hint(path)
    return next((hint for suffixes, hint in _NOT_READ.items() if name.endswith(suffixes)), None)


def opensignals_text_hint(path: Path) -> str | None:
    """How to load an OpenSignals (PLUX) text export (its first line '# OpenSignals Text File Format', the devices'
    JSON on the second, then one row of tab-separated columns a sample): which columns are each device's channels
    (the first are its sample counter nSeq and digital I/O: DI, or I1 I2 O1 O2; several devices' columns are side by side) and its
    rate. It was told as any text table, whose numpy.loadtxt(PATH).T gives nSeq and DI as channels."""
    import json

    try:
        with open(path, "rb") as f:
            if not f.readline().startswith(b"# OpenSignals Text File Format"):  # ('. Version 1': a BITalino's)
                return None
            devices = json.loads(f.readline().decode("utf-8", "replace").lstrip("# ").strip())
    except (OSError, ValueError):
        return None
    if not isinstance(devices, dict) or not devices:
        return None
    loads, at = [], 0
    for mac, device in devices.items():
        columns, labels = _names(device, "column"), _names(device, "label")
        picks = tuple(at + columns.index(c) for c in labels if c in columns)
        rate = _rate(device)
        usecols = "(" + ", ".join(map(str, picks)) + ("," if len(picks) == 1 else "") + ")"
        load = f"numpy.loadtxt(PATH, usecols={usecols}).T" if picks else None  # (usecols=() loads nothing)
        loads.append((mac, rate, load, labels))
        at += len(columns)
    if all(load is None for _, _, load, _ in loads):
        return (
            "it is an OpenSignals (PLUX) text export, but its header names no channel columns (no 'label' that is "
            "one of its 'column's: only the sample counter and digital I/O, or a header cut short): the file holds "
            "no signal to load; export it again from OpenSignals with its channels (or as EDF, which file_source reads)"
        )
    if len(loads) == 1:
        _, rate, load, labels = loads[0]
        return (
            f"it is an OpenSignals (PLUX) text export ({_hz(rate)}; its first columns are the sample counter and "
            f"digital I/O, not signals): load its channels, X = {load} (ADC counts), and replay them from Python "
            f"with array_source (GraphBuilder: g.add('array_source', data=X, rate={f'{rate:g}' if rate else 'HZ'}, "
            f"ch_names={labels!r})); "
            f"or export EDF from OpenSignals, which file_source reads"
        )
    each = "; ".join(
        f"{mac} ({_hz(rate)}): "
        + (f"{load}, ch_names={labels!r}" if load else "no channel columns (only its counter and digital I/O)")
        for mac, rate, load, labels in loads
    )
    return (
        f"it is an OpenSignals (PLUX) text export of {len(loads)} devices, their columns side by side (each one's "
        f"first the sample counter and digital I/O, not signals): load one device's channels (ADC counts) and "
        f"replay them from Python with array_source (GraphBuilder: g.add('array_source', data=X, rate=HZ, "
        f"ch_names=[...])), one device a graph (their rates may differ): {each}"
    )


def _names(device, key: str) -> list[str]:
    """A device's `column` or `label` list from an OpenSignals header; [] where it is missing or not a list (a
    damaged header: 'column': 5 was a TypeError traceback)."""
    names = device.get(key) if isinstance(device, dict) else None
    return [str(c) for c in names] if isinstance(names, list) else []


def _hz(rate: float) -> str:
    return f"{rate:g} Hz" if rate else "its header gives no rate"


def _rate(device) -> float:
    """A device's `sampling rate`; 0 where it is missing or not a number ('fast' was a ValueError traceback)."""
    try:
        rate = float(device.get("sampling rate", 0)) if isinstance(device, dict) else 0.0
    except (TypeError, ValueError):
        return 0.0
    return rate if math.isfinite(rate) and rate > 0 else 0.0


def bids_sidecar_hint(path: Path) -> str | None:
    """A BIDS layout's metadata (sub-01_task-rest_events.tsv, _channels.tsv, _eeg.json, _scans.tsv), given where its
    recording was meant: which recording beside it to give."""
    import glob
    import re

    found = re.fullmatch(r"(sub-[^_]+(?:_[a-z]+-[^_]+)*)_([a-z]+)\.(tsv|json|tsv\.gz)", path.name)
    if found is None:
        return None
    data = (".edf", ".bdf", ".vhdr", ".set", ".fif")
    beside = sorted(
        q for q in path.parent.glob(f"{glob.escape(found[1])}*") if q.suffix.lower() in data and q.name != path.name
    )
    if not beside and path.parent.is_dir():  # a subject's _scans.tsv: its recordings are in the folders below it
        beside = sorted(q for q in path.parent.rglob(f"{glob.escape(found[1])}*") if q.suffix.lower() in data)
    what = path.name[len(found[1]) :]
    return f"it is a BIDS sidecar ({what}: metadata of a recording, not its data): give " + (
        f"the recording itself: {beside[0]}" if beside else f"its recording ({found[1]}_eeg.edf, .bdf, .vhdr or .set)"
    )


_ARCHIVES = {  # suffix -> (what, how to unpack it); the longer suffixes first
    ".tar.gz": ("a tar archive", "tar xf"),
    ".tgz": ("a tar archive", "tar xf"),
    ".tar.bz2": ("a tar archive", "tar xf"),
    ".tar.xz": ("a tar archive", "tar xf"),
    ".tar": ("a tar archive", "tar xf"),
    ".zip": ("a ZIP archive", "unzip"),
    ".7z": ("a 7-Zip archive", "7z x"),
    ".rar": ("a RAR archive", "unrar x"),
    ".gz": ("compressed (gzip)", "gunzip -k"),
    ".bz2": ("compressed (bzip2)", "bunzip2 -k"),
    ".xz": ("compressed (xz)", "unxz -k"),
    ".zst": ("compressed (zstd)", "unzstd"),
}


def archive_hint(path: Path) -> str:
    """How to get at a recording inside an archive or a compressed file (a data set as downloaded: rec.zip, the
    .edf.gz of a sleep study): the reader for its suffix said 'Unsupported file type (.zip)' and listed the formats."""
    import shlex

    name = path.name.lower()
    suffix = next(s for s in _ARCHIVES if name.endswith(s))
    what, how = _ARCHIVES[suffix]
    inner = path.name[: -len(suffix)]
    single = what.startswith("compressed")
    return f"it is {what}: " + (
        f"decompress it ({how} {shlex.quote(str(path))}) and give {shlex.quote(str(path.with_name(inner)))}"
        if single
        else f"extract it ({how} {shlex.quote(str(path))}) and give the recording in it (its .edf, .bdf, "
        ".vhdr, .set, .fif, .xdf, .wav, ...)"
    )


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(10)


def hdf5_hint(path: Path) -> str:
    """How to load an HDF5 file, by what is inside it (h5py): the layouts of the tools that write EEG to HDF5."""
    kind, load = "", ""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            keys = list(f.keys())
            attrs = {k: f[k].attrs for k in keys if isinstance(f[k], h5py.Group)}
            if "formatVersion" in f and any(k.startswith("nirs") for k in keys):
                snirf = path.with_suffix(".snirf")
                return f"it is SNIRF (fNIRS), which file_source reads by its own suffix, as MNE does: cp {path} {snirf}"
            elif "nwb_version" in f.attrs:
                kind, load = (
                    "NWB",
                    "load its ElectricalSeries with pynwb (NWBHDF5IO(PATH).read()), then " + _ARRAY_SOURCE,
                )
            elif any("sampling rate" in a for a in attrs.values()):
                kind = "OpenSignals (PLUX)"
                bits = next((str(a.get("resolution")) for a in attrs.values() if "resolution" in a), "")
                bits = bits.strip("[]").split()[0] if bits.strip("[]").split() else "16"
                load = (
                    "load it: data, rate = wavegraph.pipeline.datasets.read_opensignals(PATH) (device='MAC' for a file of "
                    "several devices), then "
                    + _ARRAY_SOURCE
                    + f"; it gives ADC counts ({bits} bits), not volts: for a "
                    "FIF, first convert them by the sensor's transfer function (its datasheet's; a PLUX EEG sensor's: "
                    f"volts = (data / 2**{bits} - 0.5) * 3 / 41782; saved as they are, 30000 counts read back as 30000 V)"
                )
            elif any("pandas_type" in a for a in attrs.values()):
                kind, load = (
                    "a pandas table (Timeflux)",
                    f"load it: pandas.read_hdf(PATH, KEY) (keys: {', '.join(keys[:5])}), then " + _ARRAY_SOURCE,
                )
            elif "RawData" in f and "Samples" in f["RawData"]:  # pyright: ignore[reportOperatorIssue]
                kind = "g.tec (g.Recorder)"
                load = (
                    "load it: h5py.File(PATH)['RawData/Samples'][()] is samples x channels, the rate is the "
                    "SamplingFrequency in RawData/AcquisitionTaskDescription; then, with data=X.T, " + _ARRAY_SOURCE
                )
            elif "#refs#" in f or _head(path) == b"MATLAB 7.3":
                kind = "MATLAB 7.3"
                load = (
                    "an EEGLAB dataset saved so: give it its .set name (MNE reads it); FieldTrip data: "
                    "mne.io.read_raw_fieldtrip(PATH, info=None); other: pymatreader.read_mat(PATH), then "
                    + _ARRAY_SOURCE
                )
            else:
                found: list[str] = []
                f.visititems(
                    lambda n, o: (
                        found.append(f"{n} {o.shape}") if isinstance(o, h5py.Dataset) and len(found) < 5 else None
                    )
                )
                kind = "HDF5 of no layout known here"
                load = f"its datasets: {', '.join(found) or 'none'}; load the signal with h5py, then " + _ARRAY_SOURCE
    except (ImportError, OSError) as e:  # no h5py, or not HDF5 inside
        kind = "named HDF5, but h5py cannot open it"
        load = f"({e}): it is damaged or another format; load it with the tool that wrote it, then " + _ARRAY_SOURCE
    return f"it is {kind}, which file_source does not read; {load}; {_TO_FIF}. ({FORMATS_READ}.)"


def unfinished(path: Path) -> tuple[str, str] | None:
    """(what, fix) for a recording that does not exist yet beside its recorder's spill (the process was killed before
    close() wrote it, or it still records): 'no such file ... did you mean x.edf.spill?' sent the user to a spill,
    which no reader takes."""
    spill = path.with_name(path.name + ".spill")
    if path.exists() or not spill.is_file():
        return None
    return (
        f"{path} was not written: its recorder did not close (its process was killed, or it still records); its "
        f"samples are in {spill.name}",
        f"`wavegraph recover {path}` writes it from the spill (once no recorder writes it); then replay that",
    )
