"""`wavegraph plot RECORDING [-o out.png]`: a picture of any recording the recorder writes.

Anything file_source replays: FIF/EDF/BDF, BrainVision, epochs, XDF, ... (traces, power spectrum,
annotations as markers; the first 32 channels) and audio (waveform and spectrogram of the first channel), their
first 30 s, the title saying what is left out; NPZ (the recorder's
archive: signals as traces + spectrum, features and tokens as a heatmap, events as markers) and CSV
(features/tokens as a heatmap, events as markers). Drawn with matplotlib on the Agg backend, so it
works without a screen.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np

MAX_TRACES = 32
MAX_SECONDS = 30.0


def load(path: Path) -> dict:
    """{kind, rate, data, names, markers: [(t, label)], t0} for a recording."""
    name = path.name.lower()
    if name.endswith(".npz"):
        with np.load(path) as z:
            spec = json.loads(str(z["spec"]))
            if spec.get("kind") == "signal" and len(spec.get("shape") or ()) == 1:  # as file_source replays it: an
                return _signal(path)  # empty one 'holds no samples' (was numpy's 'cannot reshape array of size 0')
            data = np.asarray(z["data"])  # (np.load cannot map inside a zip; NPZ recordings are read whole)
        kind = spec["kind"]
        out = {
            "kind": kind,
            "rate": float(spec.get("rate", 0.0)),
            "data": data,
            "markers": [],
            "audio": False,
            "names": list(spec.get("channel_names") or []),
        }
        if kind == "events":
            labels = {int(c): d for c, d in spec.get("labels", [])}
            out["markers"] = [(float(r[0]), labels.get(int(r[2]), str(int(r[2])))) for r in data.reshape(-1, 3)]
        elif kind == "signal":
            out["data"] = data.reshape(-1, data.shape[-1])
            out["audio"] = "audio" in (spec.get("channel_types") or [])
            out["names"] = out["names"] or [f"ch{i}" for i in range(out["data"].shape[0])]
        return out
    if name.endswith(".csv"):
        header, rows = _csv_rows(path)
        if not rows:
            raise ValueError(f"{path.name} holds no rows (a recording that ended without data)")
        if header[:3] == ["onset", "duration", "code"]:
            return {
                "kind": "events",
                "rate": 0.0,
                "data": None,
                "names": [],
                "audio": False,
                "markers": [(float(r[0]), r[3] if len(r) > 3 else r[2]) for r in rows],
            }
        cell = complex if any("j" in v for v in rows[0][1:]) else float  # an stft recorded to CSV: "(1+2j)"
        try:
            table = np.array([[cell(v) for v in r] for r in rows])
        except ValueError as e:  # ('could not convert string to float: ''': which row?)
            at = next(i for i, r in enumerate(rows) if not _parses(r, cell))
            raise ValueError(f"{path.name}: row {at + 2} ({','.join(rows[at])[:60]!r}) is not numbers ({e})") from None
        t = np.real(table[:, 0])
        rate = 1.0 / float(np.median(np.diff(t))) if len(t) > 1 else 0.0
        return {
            "kind": "features",
            "rate": rate,
            "data": table[:, 1:],
            "names": header[1:],
            "markers": [],
            "audio": False,
            "t0": float(t[0]),
        }
    return _signal(path)


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a recorder's CSV, as file_source reads one: UTF-8 (a BOM too), a killed recording's torn last
    row (no line break) left out and said, every row as wide as the header (numpy's 'inhomogeneous shape' before)."""
    import csv
    import io
    import logging

    from .table_reader import csv_text

    text = csv_text(path, what="")  # binary data or not UTF-8: said as file_source says it
    if text and not text.endswith("\n") and "\n" in text:  # quoted fields: names and labels may hold commas
        last = text[text.rfind("\n") + 1 :]
        text = text[: text.rfind("\n") + 1]
        logging.getLogger("wavegraph.plot").warning(
            "plot: the last row of %s (%r) has no line break (a recorder killed mid-row?): drawn without it", path, last
        )
    header, *rows = list(csv.reader(io.StringIO(text, newline=""))) or [[]]
    rows = [r for r in rows if r]
    wrong = next((i for i, r in enumerate(rows) if len(r) != len(header)), None)
    if wrong is not None and not header[:3] == ["onset", "duration", "code"]:
        raise ValueError(
            f"{path.name}: row {wrong + 2} has {len(rows[wrong])} values, its header {len(header)} columns "
            f"({','.join(header)[:60]!r}): not a recorder's CSV, or damaged"
        )
    return header, rows


def _parses(row: list[str], cell) -> bool:
    try:
        [cell(v) for v in row]
        return True
    except ValueError:
        return False


def _signal(path: Path) -> dict:
    """Anything file_source replays (MNE's formats, epochs, XDF, audio), its first MAX_SECONDS only."""
    from .readers import is_audio, open_reader

    r = open_reader(path, "float32" if is_audio(path) else "float64")
    try:
        n = min(r.n_times, int(MAX_SECONDS * r.sfreq))
        if n == 0:
            raise ValueError(f"{path.name} holds no samples (a recording that ended without data): nothing to plot")
        audio = bool(r.ch_types) and all(t == "audio" for t in r.ch_types)
        # the channels drawn only (every one was read: 1.2 GB for 256 at 20 kHz, to draw 32), and epochs one at a time:
        # a read ends at its epoch's end (one read drew the first epoch alone, under a title saying 30 s)
        picks, step = list(range(min(len(r.ch_names), 1 if audio else MAX_TRACES))), r.segment or n
        data = np.concatenate([np.asarray(r.get(picks, s, min(s + step, n))) for s in range(0, n, step)], axis=1)
        labels = dict(r.labels)
        markers = [(float(e[1]), labels.get(int(e[3]), str(int(e[3])))) for e in r.events]
    finally:
        r.close()
    return {
        "kind": "signal",
        "rate": r.sfreq,
        "data": data,  # the channels drawn: the first MAX_TRACES (audio: the first)
        "channels": len(r.ch_names),
        "names": r.ch_names,
        "markers": markers,
        "audio": audio,
        "seconds": r.n_times / r.sfreq,
    }


def plot(path: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from wavegraph.nodes.io.figure_file import save_figure

    rec = load(path)
    kind = rec["kind"]
    panels = 2 if kind == "signal" else 1
    fig, axes = plt.subplots(panels, 1, figsize=(12, 9 if panels == 2 else 5), squeeze=False)
    ax = axes[0, 0]
    if kind == "signal":
        x = rec["data"][:MAX_TRACES, : int(MAX_SECONDS * rec["rate"])]
        t = np.arange(x.shape[1]) / rec["rate"]
        if rec["audio"]:
            ax.plot(t, x[0], lw=0.5)
            ax.set_ylabel("amplitude")
            sub = axes[1, 0]
            with np.errstate(all="ignore"), warnings.catch_warnings():  # silence (log 0), a few samples (one segment)
                warnings.simplefilter("ignore")
                wave = np.nan_to_num(rec["data"][0], nan=0.0, posinf=0.0, neginf=0.0)  # a NaN blanked the whole panel
                sub.specgram(wave, Fs=rec["rate"], NFFT=512, noverlap=384, cmap="viridis")
            sub.set_ylabel("Hz")
            sub.set_xlabel("s")
            sub.set_title("spectrogram")
        else:
            x = np.where(np.isfinite(x), x, np.nan)  # a NaN or inf sample is a hole, not the whole trace
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels
                spread = np.nanpercentile(x, 99, axis=1) - np.nanpercentile(x, 1, axis=1)
                centre = np.nan_to_num(np.nanmedian(x, axis=1, keepdims=True))
            spread = np.where(spread > 0, spread, 1.0)
            offsets = np.arange(x.shape[0])[::-1]
            ax.plot(t, ((x - centre) / spread[:, None] + offsets[:, None]).T, lw=0.5)
            ax.set_yticks(offsets, rec["names"][: x.shape[0]], fontsize=6)
            _spectrum(axes[1, 0], rec["data"][:MAX_TRACES], rec["rate"])
        ax.set_xlabel("s")
    elif kind in ("features", "tokens"):
        data = np.asarray(rec["data"])
        if data.dtype.kind == "c":  # an stft: its magnitude in dB (the real part alone was drawn, with a warning)
            with np.errstate(divide="ignore", invalid="ignore"):
                data = 20 * np.log10(np.abs(data))
            top = np.nanmax(np.where(np.isfinite(data), data, np.nan)) if np.isfinite(data).any() else 0.0
            data = np.clip(data, top - 120.0, None)  # a zero bin is -inf dB: 120 dB under the peak, as a colour
            kind = "|features| dB"
        data = np.asarray(data, dtype=np.float64)
        data = data.reshape(data.shape[0], -1) if data.ndim > 1 else data[:, None]
        ax.imshow(
            data.T,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
            extent=(0, data.shape[0] / (rec["rate"] or 1.0), 0, data.shape[1]),
        )
        ax.set_xlabel("s")
        ax.set_ylabel("token" if kind == "tokens" else "feature")
    markers = rec["markers"]
    if kind == "signal":  # only the first MAX_SECONDS are drawn: markers after them would stretch the time axis
        span = x.shape[1] / rec["rate"]
        markers = [m for m in markers if m[0] <= span]
        ax.set_xlim(0, span)
    for t_mark, label in markers:
        ax.axvline(t_mark, color="tab:orange", lw=1)
        ax.text(t_mark, 1.0, label, transform=ax.get_xaxis_transform(), fontsize=7, color="tab:orange", va="bottom")
    if kind == "events":
        ax.set_xlim(0, max((m[0] for m in rec["markers"]), default=1.0) + 1)
        ax.set_xlabel("s")
    cut = f", first {MAX_SECONDS:g} s of {rec['seconds']:.0f} s" if rec.get("seconds", 0) > MAX_SECONDS else ""
    n = rec.get("channels", len(rec["data"])) if kind == "signal" else 0  # drawn: the first MAX_TRACES (audio: one)
    drawn = min(n, 1 if rec.get("audio") else MAX_TRACES)
    cut += f", first {drawn} of {n} channels" if drawn < n else ""  # (64 drew 32, unsaid)
    ax.set_title(f"{path.name} ({kind}, {rec['rate']:g} Hz{cut})" if rec["rate"] else f"{path.name} ({kind})")
    with warnings.catch_warnings():  # a label in a script DejaVu lacks (CJK) is drawn as boxes, not one warning each
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.tight_layout()
        try:  # whole or not at all: a full disk left a 0-byte PNG, said as 'cannot plot' the recording
            save_figure(fig, out, dpi=100)
        except OSError as e:
            from .record_notes import WRITE_FIXES

            fix = WRITE_FIXES.get(e.errno or 0, "check that disk")
            raise OSError(e.errno, f"writing {out} failed: {e.strerror or e} (no file left); fix: {fix}") from None
        finally:
            plt.close(fig)
    return out


def _spectrum(ax, x: np.ndarray, rate: float) -> None:
    from scipy.signal import welch

    f, p = welch(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), fs=rate, nperseg=min(x.shape[1], int(2 * rate)))
    (ax.semilogy if (p > 0).any() else ax.plot)(f, p.T, lw=0.5)  # all-zero channels: no log axis (and no warning)
    ax.set_xlabel("Hz")
    ax.set_ylabel("PSD")
    ax.set_title("power spectrum (Welch)")


def _given(value: str) -> str:
    """A path typed as '' (a shell variable unset or empty): a usage error (exit 2), not a traceback or a default."""
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty (a shell variable that was unset or empty expands to nothing)")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph plot", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("recording", type=_given)  # `plot ''`: was Path.with_name's ValueError traceback
    ap.add_argument(
        "-o",
        "--out",
        type=_given,  # `-o "$OUT"` with OUT unset: the option was dropped without a word, the PNG written elsewhere
        help="PNG path (default: the recording's name + .png beside it; in the current folder when the recording is "
        "in wavegraph's data cache or its folder cannot be written)",
    )
    args = ap.parse_args(argv)
    path = Path(args.recording)
    if args.recording.startswith("dataset:"):  # as file_source takes it (it was 'no such recording: dataset:...')
        from wavegraph.pipeline.datasets import DatasetError, resolve_path

        try:
            path = resolve_path(args.recording)
        except DatasetError as e:
            print(
                f"error: {e}; fix: use dataset:NAME with a name from `python -m wavegraph.pipeline.datasets list`",
                file=sys.stderr,
            )
            return 2
    if not path.exists():
        from .links import broken_link
        from .near_names import near_names
        from .not_read import unfinished

        killed = unfinished(path)  # a killed recorder's target: its spill beside (was 'no such recording')
        link = broken_link(path, "wavegraph plot")  # a link to nothing, or a loop of links
        print(
            f"error: {killed[0]}; fix: {killed[1]}"
            if killed
            else f"error: {link}"
            if link
            else f"error: no such recording: {path}"
            + (f"; fix: did you mean {', '.join(str(c) for c in near)}?" if (near := near_names(path)) else ""),
            file=sys.stderr,
        )
        return 2
    graph = graph_file_hint(path)  # (before -o's folder is made: a refused plot creates nothing)
    if graph:
        print(f"error: {graph}", file=sys.stderr)
        return 2
    out, why = (Path(args.out), "") if args.out else default_out(path)
    if out.exists() and not (out.is_dir() or out.is_file()):  # -o /dev/null wrote /dev/null.png (as root, into /dev)
        print(
            f"error: -o {args.out}: is a device or a pipe, not a picture file; fix: give a file name such as "
            f"{path.name}.png",
            file=sys.stderr,
        )
        return 2
    out = out / (path.name + ".png") if out.is_dir() else out  # -o pictures/: into that folder
    out = out if out.suffix else out.with_name(out.name + ".png")  # (matplotlib adds it; the name said is the file's)
    formats = ("png", "pdf", "svg", "jpg", "jpeg", "tif", "tiff", "webp", "eps", "ps", "svgz")
    if out.suffix.lower().lstrip(".") not in formats:
        print(
            f"error: -o {args.out}: {out.suffix} is not a picture format ({', '.join('.' + f for f in formats)}); "
            f"fix: give a file name such as {path.name}.png",
            file=sys.stderr,
        )
        return 2
    made: list[Path] = []  # the folders this plot made, innermost first: new/../kept was not seen, kept/ was there
    try:  # -o figs/x.png: the folder is made, as a recorder's and --json's are
        for folder in reversed([f for f in (out.parent, *out.parent.parents) if not f.exists()]):
            with contextlib.suppress(FileExistsError):  # (there, or made meanwhile by another: not this plot's)
                folder.mkdir()
                made.insert(0, folder)
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(
            f"error: -o {args.out}: cannot make its folder ({e.strerror}); fix: give a writable folder", file=sys.stderr
        )
        return 2
    try:
        plot(path, out)
    except Exception as e:  # noqa: BLE001 — mne, soundfile, numpy raise many types; all mean "cannot plot this"
        said = str(e) if type(e).__name__ == "SpecError" else f"{type(e).__name__}: {e}"  # (its own words and fix)
        said = said.removeprefix("file_source: ")  # the readers' words name their node; here it is `plot`
        print(f"error: cannot plot {path}: {said}", file=sys.stderr)
        for folder in made:  # nothing left behind by a refused plot: the folders -o made, innermost first (if empty)
            with contextlib.suppress(OSError):
                folder.rmdir()
        return 2
    print(out)
    if why:  # (the PNG is not beside the recording, where the help says: where it went, and why)
        print(f"note: wrote {out.name} in the current folder ({Path.cwd()}), not beside {path}: {why}", file=sys.stderr)
    return 0


def graph_file_hint(path: Path) -> str:
    """'' unless `path` is a graph file (YAML or JSON with a `nodes` list): then what to do instead, naming the files its
    recorders write (`wavegraph plot configs/default.yaml` said 'ValueError: Unsupported file type (.yaml)')."""
    if path.suffix.lower() not in (".yaml", ".yml", ".json") or path.stat().st_size > 1 << 20:
        return ""
    try:
        import yaml

        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 — not YAML (nor JSON) text: the readers say what it is
        return ""
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        return ""
    nodes = [n for n in doc["nodes"] if isinstance(n, dict)]
    recorded = []
    for node in nodes:
        params = node.get("params")
        if node.get("type") == "recorder" and isinstance(params, dict) and params.get("path"):
            recorded.append(str(params["path"]))
    what = f"{path} is a graph file, not a recording"
    if recorded:
        return f"{what}; fix: run it (wavegraph run {path}), then plot what its recorder writes: {', '.join(recorded)}"
    return f"{what}; fix: run it (wavegraph run {path}) with a recorder, then plot the file it writes"


def default_out(path: Path) -> tuple[Path, str]:
    """Where a plot goes without -o: beside the recording, else in the current folder when the recording's folder is
    wavegraph's data cache (a dataset's file: the PNG went into the cache, where no one looks and a cache clean-up
    deletes it) or cannot be written (a read-only share: the plot failed); with why ('' beside it)."""
    import os

    from wavegraph.pipeline.datasets import data_root

    beside = path.with_name(path.name + ".png")
    folder, root = path.resolve().parent, data_root().resolve()
    here = Path(path.name + ".png")
    if folder == root or root in folder.parents:
        why = (
            f"its folder is wavegraph's data cache ({root}: $WAVEGRAPH_DATA, else ~/.cache/wavegraph); -o PATH chooses"
        )
    elif not os.access(folder, os.W_OK):
        why = f"its folder {folder} cannot be written; -o PATH chooses"
    else:
        return beside, ""
    return (here, why) if here.resolve() != beside.resolve() else (beside, "")
