"""Data for `wavegraph bench enhance` (benchmarks/enhance.py): the held-out mixtures of the enhancer's data module,
or mixtures of a folder of clean speech files (WAV, FLAC, MP3, OGG, ...: what libsndfile reads) with a folder of
noise files (or generated noise types).

Files that cannot be scored (unreadable, empty, silent or constant, channels that cancel in the mono mix,
non-finite, clean ones under MIN_SECONDS, noise under MIN_NOISE_SECONDS), broken links and second names of a file
are left out, each named with the reason; a folder with none left is a BenchError (the command's exit code 2).
Linked subfolders are searched (each folder once); hidden files and folders (a name starting with '.': a sync tool's copy,
a drive's .Trash-1000) are left out, named, as the shell's `*.wav` leaves them out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from wavegraph.nodes.models.enhancer import MIN_BAND as MIN_SPEECH_BAND

SR = 16000


def heldout_mixtures(snrs, per_snr: int, seed: int):
    from wavegraph.models.speech_data import heldout_set

    return [
        (m.noisy, m.clean, m.snr_db, f"{m.speaker}/{m.noise}/{m.name}", m.noise)
        for m in heldout_set(snrs=tuple(snrs), per_snr=per_snr, seed=seed)
    ]


MIN_SECONDS = 1.0  # a clean file shorter than this is left out: PESQ-WB and STOI need about a second of speech
SILENT_PEAK = 1e-4  # a file whose peak is below this (-80 dBFS) is silent: no SNR can be set against it
NOISE_SECONDS = 600.0  # of a noise file, the first 10 minutes are read (an hour of it was all held in memory)
MIN_NOISE_SECONDS = 0.02  # a noise file shorter than one 20 ms frame, looped, is a buzz of 50 Hz or more


class BenchError(Exception):
    """A problem with the command's input: printed as `bench enhance: message; fix: hint`, exit code 2."""

    def __init__(self, message: str, hint: str):
        super().__init__(f"{message}; fix: {hint}")


def _read_audio(path: Path, seconds: float | None) -> tuple[np.ndarray, str, int]:
    """(16 kHz mono samples, why the file cannot be used or "", the file's rate): a stereo file is the mean of its
    channels. Read as
    file_source reads it (nodes/io/audio_reader.py: a WAV whose writer died before it wrote the data size was
    'empty (0 samples)' here; a cut-short one is said)."""
    from scipy.signal import resample_poly
    from wavegraph.nodes.io.audio_reader import AudioReader
    from wavegraph.nodes.io.telephony_reader import open_telephony, telephony_format

    if telephony_format(path):  # headerless telephony audio (.g722, .gsm, .ulaw, .sln ...), as file_source reads it
        f = open_telephony(path, "float32")
    else:
        f = AudioReader(path, "float32")
        f.said_scale = f.said_nonfinite = (
            True  # said here, in the bench's terms: non-finite left out, mix sets the level
        )
    try:
        rate = int(f.sfreq)
        frames = min(f.n_times, int(seconds * rate) + 1) if seconds else f.n_times  # an hour-long file: what is used
        x = f.get(list(range(len(f.ch_names))), 0, frames).T
        part = f" in its first {seconds:g} s (what is read of it)" if seconds and f.n_times > len(x) else ""
    finally:
        f.close()
    if not len(x):
        return x[:, 0], "it is empty (0 samples)", rate
    if not np.isfinite(x).all():
        return x[:, 0], "it holds non-finite samples (NaN or inf)", rate
    mono = x.mean(axis=1)
    # a DC offset is not a signal: a constant file is silent (one sample cannot tell them apart: its length is said)
    peak = float(np.max(np.abs(mono - mono.mean() if len(mono) > 1 else mono)))
    if peak < SILENT_PEAK:
        each = float(np.max(np.abs(x - x.mean(axis=0))))
        why = (
            f"its channels cancel in the mono mix (peak {peak:.1e}; one channel is the other inverted): "
            "give one channel (sox in.wav out.wav remix 1)"
            if each >= SILENT_PEAK
            else f"it is silent{part} (peak {peak:.1e}{' apart from a DC offset' if np.abs(x).max() >= SILENT_PEAK else ''})"
        )
        return mono, why, rate
    # a DC offset is not sound (PESQ, STOI and SI-SDR ignore it), but counted as power it set the SNR: noise at
    # std 0.1 with a 0.5 offset made the '0 dB' mixture a 14 dB one (a clean file's offset, one of -6 dB)
    x = (mono - mono.mean(dtype=np.float64)).astype(np.float32)
    if rate != SR:
        g = np.gcd(int(rate), SR)
        x = resample_poly(x, SR // g, int(rate) // g).astype(np.float32)
    return (x[: int(seconds * SR)] if seconds else x), "", rate


def _audio_files(folder: str, option: str, log) -> list[Path]:
    """The files under `folder` (or `folder`, a file) whose suffix is one that file_source reads as audio
    (WAV, FLAC, OGG/Opus, MP3, AIFF, ...: libsndfile's), any case, in linked subfolders too (each folder once).
    A broken link, a second name of a file already listed, or audio that libsndfile cannot read (.m4a) is
    named on `log` and left out."""
    import os

    from wavegraph.nodes.io.readers import AUDIO_SUFFIXES, OTHER_AUDIO, RAW_AUDIO, TELEPHONY, raw_audio_hint
    from wavegraph.nodes.io.telephony_reader import THROUGH_PYAV, convert_hint, pyav_missing

    # headerless telephony audio (Asterisk's prompts) is read as file_source reads it; .g722 and .gsm through PyAV
    no_pyav = THROUGH_PYAV if pyav_missing(Path("x.gsm")) else ()
    suffixes = (*AUDIO_SUFFIXES, *(s for s in TELEPHONY if s not in no_pyav))
    root = Path(os.path.expanduser(folder))  # ('~takes', no such user: that folder; pathlib's raised RuntimeError)
    if root.is_file():
        if root.suffix.lower() in no_pyav:  # (was 'not an audio file', without the pip line)
            raise BenchError(f"{option} {folder}: {pyav_missing(root)}", convert_hint(root))
        if root.suffix.lower() not in suffixes:
            raise BenchError(
                f"{option} {folder}: not an audio file ({', '.join(suffixes)})",
                "give a folder of audio files, or one (convert others first, e.g. ffmpeg -i in.m4a out.wav)",
            )
        return [root]
    if not root.is_dir():
        what = f"a broken link (to {os.readlink(root)})" if root.is_symlink() else "no such file or folder"
        raise BenchError(f"{option} {folder}: {what}", "give a folder of audio files (.wav, .flac)")
    files, seen, folders = [], {}, set()
    for top, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(top)
        if real in folders:  # a link back to a folder already walked (a loop, or two links to one folder)
            dirs[:] = []
            continue
        folders.add(real)
        for name in sorted(d for d in dirs if d.startswith(".")):  # as the shell's *.wav, glob and librosa skip them
            log(f"bench enhance: leaving out {Path(top) / name}: a hidden folder (give it as {option} to use it)")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            p = Path(top) / name
            suffix = p.suffix.lower()
            if name.startswith(".") and not name.startswith("._") and suffix in suffixes:
                log(f"bench enhance: leaving out {p}: a hidden file (its name starts with '.'; rename it to use it)")
            elif suffix in no_pyav:
                log(f"bench enhance: leaving out {p}: {pyav_missing(p)} ({convert_hint(p).split('; or ')[0]})")
            elif suffix in OTHER_AUDIO:
                log(
                    f"bench enhance: leaving out {p}: libsndfile cannot read {suffix} (convert it: ffmpeg -i in{suffix} out.wav)"
                )
            elif suffix in RAW_AUDIO:  # (left out unsaid before, as a .txt)
                log(f"bench enhance: leaving out {p}: headerless audio (no rate in it): {raw_audio_hint(p)}")
            elif suffix not in suffixes:
                continue
            elif name.startswith("._"):
                log(
                    f"bench enhance: leaving out {p}: macOS metadata beside {name[2:]} (an AppleDouble file), not audio"
                )
            elif p.is_symlink() and not p.exists():
                log(f"bench enhance: leaving out {p}: a broken link (to {os.readlink(p)}, which does not exist)")
            elif not p.is_file():
                continue
            elif os.path.realpath(p) in seen:
                log(f"bench enhance: leaving out {p}: the same file as {seen[os.path.realpath(p)]} (a link)")
            else:
                seen[os.path.realpath(p)] = p
                files.append(p)
    if not files:
        raise BenchError(
            f"{option} {folder}: no audio files in it ({', '.join(suffixes)}; searched its subfolders too)",
            "give a folder of audio files (convert others first, e.g. ffmpeg -i in.m4a out.wav)",
        )
    return files


def free_memory() -> float | None:
    """Bytes of memory this machine has available (Linux: MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        import os

        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(files: list[Path], seconds: float, bytes_per_second: float, option: str, folder: str) -> None:
    """BenchError when the audio of `files` (each cut to `seconds`) times `bytes_per_second` (what the run holds
    per second of clean audio: its mixtures and every method's output) is over 80 % of the free memory: a corpus
    of 65k files was read until the machine ran out. Headers are read only when the upper bound is over."""
    import soundfile as sf
    from wavegraph.nodes.io.telephony_reader import length_of, telephony_format

    free = free_memory()
    if free is None or len(files) * seconds * bytes_per_second <= 0.8 * free:
        return
    total = 0.0
    for p in files:
        try:
            if telephony_format(p):  # no header libsndfile reads (.g722 counted 0 s): known from the file's size
                n, rate = length_of(p)
                total += min(n / rate, seconds)
                continue
            with open(p, "rb") as fh, sf.SoundFile(fh) as f:
                total += min(f.frames / f.samplerate, seconds)
        except Exception:  # noqa: BLE001 — an unreadable file is named when it is read
            continue
    if total * bytes_per_second > 0.8 * free:
        fit = max(1, int(0.8 * free / bytes_per_second / (total / len(files))))
        raise BenchError(
            f"{option} {folder}: its {len(files)} files ({total / 3600:.1f} h within --seconds) would need about "
            f"{total * bytes_per_second / 1e9:.0f} GB held in memory (mixtures at every SNR and every method's "
            f"output); {free / 1e9:.0f} GB is free",
            f"--max-files {fit} (spread over the folder), or fewer --snrs or --methods",
        )


def load_folder(
    folder: str, seconds: float | None, option: str, log=print, max_files: int = 0, bytes_per_second: float = 0.0
) -> list[tuple[Path, np.ndarray]]:
    """Every readable, non-silent audio file under `folder` (or `folder` itself, a file) at 16 kHz mono; a clean
    file (`--clean`) shorter than MIN_SECONDS, or a noise file shorter than MIN_NOISE_SECONDS, is left out too.
    Each file left out is named with the reason; BenchError when none is left. `max_files` > 0: that many, spread
    evenly over the sorted list (one left out is replaced by the next one not picked), and only those are read.
    `bytes_per_second` > 0: BenchError first when their audio would not fit in memory (_check_memory)."""
    from wavegraph.nodes.io.audio_reader import SHORTEN_PROBLEM, other_audio, shorten_hint, shortened_sphere

    out, skipped, low = [], 0, []
    files = _audio_files(folder, option, log)
    order = list(range(len(files)))
    if 0 < max_files < len(files):
        why = "--max-files" if option == "--clean" else "one per clean file"
        log(f"bench enhance: {option} {folder}: {max_files} of its {len(files)} files ({why}), spread over them")
        picks = [int(i * len(files) / max_files) for i in range(max_files)]
        order = picks + sorted(set(order) - set(picks))
    if bytes_per_second and seconds:
        _check_memory([files[i] for i in order[: max_files or None]], seconds, bytes_per_second, option, folder)
    least = MIN_SECONDS if option == "--clean" else MIN_NOISE_SECONDS
    for i in order:
        if 0 < max_files == len(out):
            break
        p = files[i]
        try:
            x, why, rate = _read_audio(p, seconds)
        except Exception as e:  # noqa: BLE001 — a .wav that is not audio, or a truncated file: name it, go on
            kind = other_audio(p)  # (an M4A renamed .wav)
            why = (
                f"it holds {kind}, which libsndfile does not read (convert it: ffmpeg -i in.m4a out.wav)"
                if kind
                else ""
            )
            if shortened_sphere(p):  # (LDC's corpora)
                why = f"{SHORTEN_PROBLEM.removeprefix('it is ')} ({shorten_hint(p)})"
            why = why or f"cannot read it ({type(e).__name__}: {e})"
        else:
            if not why and option == "--clean" and rate < 2 * MIN_SPEECH_BAND:  # (as the enhancer node refuses it)
                why = (
                    f"it is sampled at {rate:g} Hz: it holds nothing above {rate / 2:g} Hz, no speech band (the "
                    f"enhancer refuses it in a graph; give speech sampled at {2 * MIN_SPEECH_BAND:g} Hz or more)"
                )
            if not why and len(x) < least * SR:
                why = (
                    f"it is {len(x) / SR:.2f} s long, under {MIN_SECONDS:g} s (PESQ and STOI need about a second)"
                    if option == "--clean"
                    else f"it is {len(x) / SR * 1e3:.3g} ms long: looped, it would be a {SR / len(x):.0f} Hz buzz, "
                    f"not a noise (give at least {MIN_NOISE_SECONDS * 1e3:g} ms)"
                )
        if why:
            skipped += 1
            log(f"bench enhance: leaving out {p}: {why}")
        else:
            out.append((i, p, x))
            if rate < SR:
                low.append((i, f"{p} ({rate / 1000:g} kHz)"))
    if low and option == "--clean":  # (its scores stood beside the others' as if full-band)
        names = [n for _, n in sorted(low)]
        log(
            f"bench enhance: --clean {folder}: {len(names)} file(s) below 16 kHz, upsampled to 16 kHz: "
            f"{', '.join(names[:5])}{f' and {len(names) - 5} more' if len(names) > 5 else ''}; their scores are of "
            "band-limited speech (nothing above half the file's rate), not comparable with full-band files'"
        )
    if not out:
        raise BenchError(
            f"{option} {folder}: none of its {skipped} audio file(s) can be used (reasons above)",
            "give speech files of at least 1 s"
            if option == "--clean"
            else f"give non-silent noise files of at least {MIN_NOISE_SECONDS * 1e3:g} ms",
        )
    return [(p, x) for _, p, x in sorted(out, key=lambda item: item[0])]


def _labels(folder: str, paths: list[Path]) -> list[str]:
    """A name per file for the tables: its file name, or its path under `folder` where two share a name (the
    per-noise table merged noise/street/1.wav with noise/babble/1.wav)."""
    import os

    root = Path(os.path.expanduser(folder))
    names = [p.name for p in paths]
    return [p.relative_to(root).as_posix() if names.count(p.name) > 1 and root in p.parents else p.name for p in paths]


QUIET_EXCERPT = 0.01  # a noise excerpt 20 dB below its file's power is a pause in it: no SNR can be set on it


def _excerpt(src: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of the looped noise `src` from a random start; a start whose excerpt is a pause of the file
    (QUIET_EXCERPT: all zeros mixed at "5 dB" left the clean speech as it was) is drawn again among the others."""
    reps = -(-n // len(src))
    looped = np.tile(src, reps + 1)
    span = max(1, len(src) * reps - n)
    start = int(rng.integers(0, span))
    floor = QUIET_EXCERPT * float(np.mean(np.square(src, dtype=np.float64)))
    if np.mean(np.square(looped[start : start + n], dtype=np.float64)) < floor:
        energy = np.concatenate([[0.0], np.cumsum(np.square(looped, dtype=np.float64))])
        power = (energy[n : n + span] - energy[:span]) / n  # of the excerpt at each start
        loud = np.flatnonzero(power >= floor)
        start = int(rng.choice(loud)) if loud.size else int(np.argmax(power))
    return looped[start : start + n]


def _refuse_shared(cleans: list[Path], noises: list[Path], clean_dir: str, noise_dir: str) -> None:
    """BenchError when a noise file is also a clean file (--noise the --clean folder, or a folder in it): the speech
    was mixed with itself, a '0 dB' mixture of a file with its own copy that every method scored as perfect."""
    import os

    speech = {os.path.realpath(p) for p in cleans}
    shared = [p for p in noises if os.path.realpath(p) in speech]
    if shared:
        raise BenchError(
            f"--noise {noise_dir}: {len(shared)} of the noise files it gave are --clean files too ({shared[0]}, under "
            f"--clean {clean_dir}): the same recordings would be both the speech and its noise",
            "give noise recordings in a folder of their own, outside the --clean folder",
        )


def folder_mixtures(
    clean_dir: str,
    noise_dir: str | None,
    snrs,
    seconds: float,
    seed: int,
    log=print,
    max_files: int = 0,
    methods: int = 5,
):
    """(noisy, clean target, snr, "clean/noise", noise) per clean file and SNR: each clean file is mixed with the
    next noise file (one per clean file, spread over the noise folder; cycled when there are fewer), looped to its
    length from a random start, or with a generated noise type. `methods`:
    how many methods will run on them (for the memory check)."""
    from wavegraph.models.speech_data import make_noise, mix

    rng = np.random.default_rng(seed)
    held = SR * 4 * (1 + len(snrs) * (2 + methods))  # bytes per clean second: it, and per SNR a mixture, its
    # target and every method's output (float32)
    cleans = load_folder(clean_dir, seconds, "--clean", log, max_files, bytes_per_second=held)
    clean_names = _labels(clean_dir, [p for p, _ in cleans])
    noises = None
    if noise_dir:
        loaded = load_folder(noise_dir, NOISE_SECONDS, "--noise", log, max_files=len(cleans))
        _refuse_shared([p for p, _ in cleans], [p for p, _ in loaded], clean_dir, noise_dir)
        noises = list(zip(_labels(noise_dir, [p for p, _ in loaded]), [x for _, x in loaded]))
    kinds = ("white", "pink", "brown", "hum", "clicks", "tonal")
    out = []
    for snr in snrs:
        for i, ((_, clean), clean_name) in enumerate(zip(cleans, clean_names)):
            if noises:
                name, src = noises[i % len(noises)]
                noise = _excerpt(src, len(clean), rng)
            else:
                name = kinds[i % len(kinds)]
                noise = make_noise(name, len(clean), rng)
            noisy, target = mix(clean, noise, float(snr), rng)
            out.append((noisy, target, float(snr), f"{clean_name}/{name}", name))
    return out
