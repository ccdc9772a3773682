"""Data for `wavegraph bench enhance` (benchmarks/enhance.py): the held-out mixtures of the enhancer's data module,
or mixtures of a folder of clean speech files (WAV, FLAC, MP3, OGG, ...: what libsndfile reads) with a folder of
noise files (or generated noise types).

Files that cannot be scored (unreadable, silent, non-finite, or clean ones under MIN_SECONDS) are left out, each
named with the reason; a folder with none left is a BenchError (the command's exit code 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 16000


def heldout_mixtures(snrs, per_snr: int, seed: int):
    from wavegraph.models.speech_data import heldout_set

    return [
        (m.noisy, m.clean, m.snr_db, f"{m.speaker}/{m.noise}/{m.name}")
        for m in heldout_set(snrs=tuple(snrs), per_snr=per_snr, seed=seed)
    ]


MIN_SECONDS = 1.0  # a clean file shorter than this is left out: PESQ-WB and STOI need about a second of speech
SILENT_PEAK = 1e-4  # a file whose peak is below this (-80 dBFS) is silent: no SNR can be set against it


class BenchError(Exception):
    """A problem with the command's input: printed as `bench enhance: message; fix: hint`, exit code 2."""

    def __init__(self, message: str, hint: str):
        super().__init__(f"{message}; fix: {hint}")


def _read_audio(path: Path, seconds: float | None) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    with open(path, "rb") as fh, sf.SoundFile(fh) as f:  # a file object: libsndfile cannot open a non-UTF-8 name
        rate = f.samplerate
        frames = int(seconds * rate) + 1 if seconds else -1  # an hour-long file: read only what is used
        x = f.read(frames, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if rate != SR and len(x):
        g = np.gcd(int(rate), SR)
        x = resample_poly(x, SR // g, int(rate) // g).astype(np.float32)
    return x[: int(seconds * SR)] if seconds else x


def _audio_files(folder: str, option: str = "--clean") -> list[Path]:
    """The files under `folder` (or `folder`, a file) whose suffix is one that file_source reads as audio
    (WAV, FLAC, OGG/Opus, MP3, AIFF, ...: libsndfile's)."""
    from wavegraph.nodes.io.readers import AUDIO_SUFFIXES

    root = Path(folder).expanduser()
    if root.is_file():
        files = [root] if root.suffix.lower() in AUDIO_SUFFIXES else []
    elif root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    else:
        raise BenchError(f"{option} {folder}: no such file or folder", "give a folder of audio files (.wav, .flac)")
    if not files:
        raise BenchError(
            f"{option} {folder}: no audio files in it ({', '.join(AUDIO_SUFFIXES)}; searched its subfolders too)",
            "give a folder of audio files (convert others first, e.g. ffmpeg -i in.m4a out.wav)",
        )
    return files


def load_folder(
    folder: str, seconds: float | None, option: str, log=print, max_files: int = 0
) -> list[tuple[Path, np.ndarray]]:
    """Every readable, non-silent audio file under `folder` (or `folder` itself, a file) at 16 kHz mono; a clean
    file (`--clean`) shorter than MIN_SECONDS is left out too. Each file left out is named with the reason;
    BenchError when none is left. `max_files` > 0: that many, spread evenly over the sorted list."""
    out, skipped = [], 0
    files = _audio_files(folder, option)
    if 0 < max_files < len(files):
        log(f"bench enhance: {option} {folder}: {max_files} of its {len(files)} files (--max-files)")
        files = [files[int(i * len(files) / max_files)] for i in range(max_files)]
    for p in files:
        try:
            x = _read_audio(p, seconds)
        except Exception as e:  # noqa: BLE001 — a .wav that is not audio, or a truncated file: name it, go on
            why = f"cannot read it ({type(e).__name__}: {e})"
        else:
            peak = float(np.max(np.abs(x))) if len(x) else 0.0
            why = (
                "it holds non-finite samples"
                if not np.isfinite(peak)
                else f"it is silent (peak {peak:.1e})"
                if peak < SILENT_PEAK
                else f"it is {len(x) / SR:.2f} s long, under {MIN_SECONDS:g} s (PESQ and STOI need about a second)"
                if option == "--clean" and len(x) < MIN_SECONDS * SR
                else ""
            )
        if why:
            skipped += 1
            log(f"bench enhance: leaving out {p}: {why}")
        else:
            out.append((p, x))
    if not out:
        raise BenchError(
            f"{option} {folder}: none of its {skipped} audio file(s) can be used (reasons above)",
            f"give {'speech files of at least 1 s' if option == '--clean' else 'non-silent noise files'}",
        )
    return out


def folder_mixtures(
    clean_dir: str, noise_dir: str | None, snrs, seconds: float, seed: int, log=print, max_files: int = 0
):
    from wavegraph.models.speech_data import make_noise, mix

    rng = np.random.default_rng(seed)
    cleans = load_folder(clean_dir, seconds, "--clean", log, max_files)
    noises = [(p.name, x) for p, x in load_folder(noise_dir, None, "--noise", log)] if noise_dir else None
    kinds = ("white", "pink", "brown", "hum", "clicks", "tonal")
    out = []
    for snr in snrs:
        for i, (p, clean) in enumerate(cleans):
            if noises:
                name, src = noises[i % len(noises)]
                reps = -(-len(clean) // len(src))
                start = int(rng.integers(0, max(1, len(src) * reps - len(clean))))
                noise = np.tile(src, reps + 1)[start : start + len(clean)]
            else:
                name = kinds[i % len(kinds)]
                noise = make_noise(name, len(clean), rng)
            noisy, target = mix(clean, noise, float(snr), rng)
            out.append((noisy, target, float(snr), f"{p.name}/{name}"))
    return out
