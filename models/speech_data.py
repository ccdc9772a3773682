"""Speech-enhancement data: the clean corpora, the noises, seeded mixtures and the held-out split (torch-free).

Clean speech (16 kHz, see /work/shared/DATA.md; install with scripts/system_deps.sh):
  * real voices, Asterisk prompts in G.722 under /usr/share/asterisk/sounds/: en_US_f_Allison and es_MX_f_Allison
    (one speaker, "allison"), fr_CA_f_June ("june"), it_IT_m_Carlo ("carlo", male), ru_RU_f_IvrvoiceRU ("ivr_ru");
  * synthetic voices: espeak-ng (several variants) and flite (kal16, slt, rms, awb), seeded random sentences.
Noise types (NOISE_TYPES): music (the real music-on-hold recordings), babble (3-6 talkers from the same split),
  white, pink, brown, hum (50/60 Hz mains with harmonics), clicks (clicks and keyboard-like transients), tonal
  (beeps, steady tones, sweeps). Training also uses TRAIN_ONLY_NOISES: impacts (knocks, taps and thuds: damped
  resonant modes), gusts (noise switched on and off, 40-400 ms at a time) and typing (paired key strokes in words),
  sudden events other than the held-out clicks, so the model learns that they are noise without ever hearing the
  held-out type, and alarms (beeping, ringing and wailing harmonic tones: more tonal variety). The generators are in
  speech_noise.

Held-out split, never used for training (`is_heldout`):
  * speaker HELDOUT_SPEAKER ("carlo"): all his prompts;
  * about 10 % of every other voice's utterances (a fixed hash of the file name, `heldout_utterance`);
  * noise type HELDOUT_NOISE ("clicks"), and the music piece HELDOUT_MUSIC;
  * babble in held-out mixtures is made from held-out utterances only.
`heldout_set(...)` builds the seeded evaluation mixtures (held-out speech x every noise type, the held-out type
included); `TrainSampler` draws training mixtures from the training side only.

Mixing (`mix`, in speech_mix): noise scaled to the SNR against the active speech power, optional mild reverberation of the
speech (scipy-made exponential-decay impulse responses; the target stays the dry speech), then a random level.
Decoded corpora are cached as int16 .npz under the user's cache folder ($WAVEGRAPH_DATA if set)/speech/; a voice's
cache is decoded again when its prompts (names and file sizes) are not those it was made from, and the synthetic
voices' is made again when its recipe (voices, words, speed, the engines' versions) is not this code's and engines'
(a cache that kept neither, written before they were kept, is made again once where the voice or engines are).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal as sps

from wavegraph import cache_dir

from . import speech_noise as noise_gen
from .speech_mix import (
    SPEED_STEPS,
    active_power,
    mix,
    reverberate,
    room_impulse_response,
    scale_mix,
    speed_perturb,
    speed_steps,
)
from .speech_noise import HELDOUT_MUSIC, SR, DataError

__all__ = [
    "SR",
    "VOICES",
    "SYNTH_VOICES",
    "NOISE_TYPES",
    "TRAIN_NOISES",
    "TRAIN_ONLY_NOISES",
    "HELDOUT_SPEAKER",
    "HELDOUT_NOISE",
    "HELDOUT_MUSIC",
    "SNRS",
    "DataError",
    "Mixture",
    "Corpus",
    "TrainSampler",
    "MixturePool",
    "load_corpus",
    "heldout_utterance",
    "is_heldout",
    "make_noise",
    "mix",
    "scale_mix",
    "reverberate",
    "heldout_set",
    "room_impulse_response",
    "active_power",
]

SOUNDS = Path("/usr/share/asterisk/sounds")
# Asterisk voice folder -> speaker name (Allison speaks both English and Spanish).
VOICES = {
    "en_US_f_Allison": "allison",
    "es_MX_f_Allison": "allison",
    "fr_CA_f_June": "june",
    "it_IT_m_Carlo": "carlo",
    "ru_RU_f_IvrvoiceRU": "ivr_ru",
}
SYNTH_VOICES = (
    "espeak:en+m3",
    "espeak:en+f2",
    "espeak:en-us+m1",
    "espeak:de+m2",
    "espeak:fr+f3",
    "espeak:es+m4",
    "flite:kal16",
    "flite:slt",
    "flite:rms",
    "flite:awb",
)
NOISE_TYPES = ("music", "babble", "white", "pink", "brown", "hum", "clicks", "tonal")
HELDOUT_SPEAKER = "carlo"
HELDOUT_NOISE = "clicks"
TRAIN_ONLY_NOISES = ("impacts", "gusts", "alarms", "typing")  # not in the held-out set (it scores NOISE_TYPES)
TRAIN_NOISES = tuple(n for n in NOISE_TYPES if n != HELDOUT_NOISE) + TRAIN_ONLY_NOISES
SNRS = (-5, 0, 5, 10, 15)
HELDOUT_PERCENT = 10


def cache_root() -> Path:
    """Decoded corpora: under $WAVEGRAPH_DATA, else the user's cache folder (as wavegraph.pipeline.datasets)."""
    return cache_dir() / "speech"


def heldout_utterance(name: str) -> bool:
    """True for the fixed ~10 % of utterance names held out of training (a stable hash, not Python's hash())."""
    return zlib.crc32(name.encode()) % 100 < HELDOUT_PERCENT


def is_heldout(speaker: str, name: str) -> bool:
    return speaker == HELDOUT_SPEAKER or heldout_utterance(name)


# --------------------------------------------------------------------------------------------- clean speech
@dataclass
class Corpus:
    """Utterances (float32 at 16 kHz) with their speaker and a name unique across corpora."""

    audio: list[np.ndarray] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.audio)

    def extend(self, other: Corpus) -> None:
        self.audio += other.audio
        self.speakers += other.speakers
        self.names += other.names

    def subset(self, keep) -> Corpus:
        idx = [i for i in range(len(self)) if keep(self.speakers[i], self.names[i])]
        return Corpus([self.audio[i] for i in idx], [self.speakers[i] for i in idx], [self.names[i] for i in idx])

    def seconds(self) -> float:
        return sum(len(a) for a in self.audio) / SR


def _decode_g722(path: Path) -> np.ndarray:
    try:
        import av
    except ImportError as e:  # pragma: no cover - depends on the install
        raise DataError("decoding G.722 needs PyAV: pip install 'wavegraph[enhance]'") from e
    with av.open(str(path), format="g722") as c:
        st = c.streams.audio[0]
        parts = [f.to_ndarray().reshape(-1) for f in c.decode(st)]
        rate = st.rate
    x = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    x = x.astype(np.float32) / (32768.0 if x.dtype == np.int16 else 1.0)
    return x if rate == SR else sps.resample_poly(x, SR, rate).astype(np.float32)


def _save_cache(path: Path, names: list[str], audio: list[np.ndarray], **source: np.ndarray) -> list[np.ndarray]:
    """Write the decoded utterances as int16 and return them as a later `_load_cache` reads them back: a fresh
    machine's first run (decoded now) and every later one (read from the cache) see the same samples (the first
    run's differed by up to one int16 step, which moved single PESQ-WB scores of a bench run by up to 0.06)."""
    lens = np.array([len(a) for a in audio], np.int64)
    pcm = np.concatenate(audio) if audio else np.zeros(0, np.float32)
    pcm16 = np.round(np.clip(pcm, -1, 1) * 32767).astype(np.int16)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp.npz")  # one per writer (was shared)
    try:  # WAVEGRAPH_DATA naming a file, a read-only or full disk: NotADirectoryError traceback before
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"names": np.array(names), "lens": lens, "pcm": pcm16, **source}  # source: what it was made from
        np.savez(tmp, **arrays)
        tmp.replace(path)
    except OSError as e:
        with contextlib.suppress(OSError):  # what was written of it
            tmp.unlink()
        env = os.environ.get("WAVEGRAPH_DATA")
        raise DataError(
            f"cannot write the decoded speech cache {path} ({e.strerror or e}); fix: "
            + (f"set WAVEGRAPH_DATA (now {env!r}) to a writable folder" if env else "free space there")
        ) from None
    return _from_int16(pcm16, lens)


def _load_cache(path: Path) -> tuple[list[str], list[np.ndarray]]:
    with np.load(path) as z:
        names, lens, pcm16 = list(z["names"]), z["lens"], z["pcm"]
    return [str(n) for n in names], _from_int16(pcm16, lens)


def _from_int16(pcm16: np.ndarray, lens: np.ndarray) -> list[np.ndarray]:
    pcm = pcm16.astype(np.float32) / 32767.0
    return np.split(pcm, np.cumsum(lens)[:-1]) if len(lens) else []


def _kept(path: Path, key: str):
    """What a cache kept of its source under `key` (a list, or a str for text), None where it kept nothing."""
    with np.load(path) as z:
        return z[key].tolist() if key in z.files else None


def _cache_of(path: Path, names: list[str], sizes: list[int]) -> bool:
    """Whether the cache at `path` holds these prompts (names and the files' sizes): one made from another install of
    the voice (prompts added, removed or changed by an upgrade) was used as it was, so a machine that had a cache
    trained and scored on other speech than a fresh one with the same code and prompts. A cache that kept no sizes
    (written before they were kept) cannot say what it was made from: it is decoded again once, and kept with them."""
    if not path.is_file():
        return False
    if not names:  # the voice is not installed (any more): its cache is all there is
        return True
    with np.load(path) as z:
        held = [str(n) for n in z["names"]]
    return held == names and _kept(path, "sizes") == sizes


def _asterisk_voice(voice: str, min_seconds: float) -> Corpus:
    folder = SOUNDS / voice
    cache = cache_root() / f"{voice}.npz"
    files = sorted(folder.rglob("*.g722"))
    names = [f"{voice}/{f.relative_to(folder).with_suffix('')}" for f in files]
    sizes = [f.stat().st_size for f in files]
    if _cache_of(cache, names, sizes):
        names, audio = _load_cache(cache)
    else:
        if not files:
            raise DataError(
                f"no G.722 prompts under {folder}; run scripts/system_deps.sh as root "
                f"(apt-get install asterisk-core-sounds-{voice[:2]}-g722)"
            )
        audio = [_decode_g722(f) for f in files]
        audio = _save_cache(cache, names, audio, sizes=np.array(sizes, np.int64))
    spk = VOICES[voice]
    keep = [i for i, a in enumerate(audio) if len(a) >= min_seconds * SR]
    return Corpus([audio[i] for i in keep], [spk] * len(keep), [names[i] for i in keep])


_WORDS = (
    "the quick brown fox jumps over a lazy dog while seven bright engineers measure noise in the quiet room "
    "please call me back tomorrow morning at nine thirty our meeting moved to the second floor near the window "
    "speech signals carry energy between one hundred and four thousand hertz every filter has a delay "
    "streaming models keep their state between chunks the train leaves at noon from platform four "
    "she reads numbers slowly two five eight eleven forty sixty ninety the weather will be cold and windy "
    "turn left after the bridge and continue until you see the red house"
).split()


def _sentence(rng: np.random.Generator) -> str:
    return " ".join(rng.choice(_WORDS, size=int(rng.integers(5, 14))))


ESPEAK_WPM = 150  # espeak-ng's speed, words per minute


def _synth_recipe() -> str:
    """What the synthetic corpus is made from (voices, words, speed, the engines' versions), kept in its cache: one
    made by other code or engines was used as it was, so a machine that had it trained on other speech than a fresh
    machine with the same code and engines."""
    versions = []
    for tool in ("espeak-ng", "flite"):
        try:
            versions.append(subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=60).stdout)
        except (OSError, subprocess.SubprocessError):
            versions.append("")
    return hashlib.sha1(repr((SYNTH_VOICES, _WORDS, ESPEAK_WPM, SR, versions)).encode()).hexdigest()


def _synth_one(voice: str, text: str, tmp: Path) -> np.ndarray:
    import soundfile as sf

    engine, name = voice.split(":")
    out = tmp / "u.wav"
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", name, "-s", str(ESPEAK_WPM), "-w", str(out), text]
    else:
        cmd = ["flite", "-voice", name, "-t", text, "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    x, rate = sf.read(out, dtype="float32", always_2d=True)
    x = x[:, 0]
    return x if rate == SR else sps.resample_poly(x, SR, rate).astype(np.float32)


def _synthetic(n_per_voice: int, seed: int = 0) -> Corpus:
    cache = cache_root() / f"synthetic_{n_per_voice}_{seed}.npz"
    missing = [tool for tool in ("espeak-ng", "flite") if shutil.which(tool) is None]
    recipe = "" if missing else _synth_recipe()  # (no engines: the cache is all there is)
    if cache.is_file() and (missing or _kept(cache, "recipe") == recipe):  # (one that kept none: made again once)
        names, audio = _load_cache(cache)
    else:
        if missing:
            raise DataError(f"synthetic voices need {', '.join(missing)}; run scripts/system_deps.sh as root")
        rng = np.random.default_rng(seed)
        names, audio = [], []
        with tempfile.TemporaryDirectory() as d:
            for voice in SYNTH_VOICES:
                for i in range(n_per_voice):
                    names.append(f"{voice}/{i:04d}")
                    audio.append(_synth_one(voice, _sentence(rng), Path(d)))
        audio = _save_cache(cache, names, audio, recipe=np.array(recipe))
    return Corpus(audio, [n.split("/")[0] for n in names], names)


def load_corpus(real: bool = True, synthetic: int = 40, min_seconds: float = 0.4) -> Corpus:
    """Every utterance: the five Asterisk voice folders, plus `synthetic` sentences per synthetic voice."""
    c = Corpus()
    if real:
        for voice in VOICES:
            c.extend(_asterisk_voice(voice, min_seconds))
    if synthetic:
        c.extend(_synthetic(synthetic))
    return c


# --------------------------------------------------------------------------------------------- noise
def _babble(n: int, rng, corpus: Corpus) -> np.ndarray:
    y = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(3, 7))):
        y += _speech_fill(n, rng, corpus, gap=(0.0, 0.1)) * rng.uniform(0.5, 1.0)
    return y


def make_noise(
    kind: str, n: int, rng: np.random.Generator, heldout: bool = False, babble_corpus: Corpus | None = None
) -> np.ndarray:
    """n samples of noise of `kind` (NOISE_TYPES). `heldout` picks the held-out music piece; babble needs a corpus
    (the caller passes the split's own utterances)."""
    if kind == "music":
        return noise_gen.music(n, rng, heldout)
    if kind == "babble":
        if babble_corpus is None or not len(babble_corpus):
            raise ValueError("babble noise needs a corpus of utterances")
        return _babble(n, rng, babble_corpus)
    if kind in ("white", "pink", "brown"):
        e = {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind] + rng.uniform(-0.2, 0.2)
        return noise_gen.colored(n, e, rng)
    if kind in noise_gen.GENERATORS:
        return noise_gen.GENERATORS[kind](n, rng)
    raise ValueError(f"unknown noise type {kind!r}; known: {', '.join(NOISE_TYPES + TRAIN_ONLY_NOISES)}")


def _speech_fill(n: int, rng, corpus: Corpus, gap=(0.05, 0.6), speaker: str | None = None) -> np.ndarray:
    """n samples of utterances (of one speaker if given) joined with random pauses, starting at a random offset."""
    pool = [i for i, s in enumerate(corpus.speakers) if s == speaker] if speaker else range(len(corpus))
    pool = list(pool)
    parts, total = [], 0
    while total < n + SR:
        a = corpus.audio[pool[int(rng.integers(len(pool)))]]
        pause = np.zeros(int(rng.uniform(*gap) * SR), np.float32)
        parts += [a * rng.uniform(0.6, 1.4), pause]
        total += len(a) + len(pause)
    x = np.concatenate(parts)
    start = int(rng.integers(0, max(1, total - n)))
    return x[start : start + n].astype(np.float32)


@dataclass
class Mixture:
    noisy: np.ndarray
    clean: np.ndarray
    snr_db: float
    speaker: str
    noise: str
    name: str


class TrainSampler:
    """Seeded training mixtures from the training side of the split only (no held-out speaker, utterance or
    noise type). `batch(rng, n, seconds)` -> (noisy, clean) float32 arrays (n, seconds * SR)."""

    def __init__(
        self,
        corpus: Corpus | None = None,
        snr_range=(-5.0, 20.0),
        reverb_prob: float = 0.3,
        level_range=(-40.0, -15.0),
        speech_free_prob: float = 0.05,
        early_ms: float = 0.0,
        real_fraction: float | None = None,
        noises: tuple[str, ...] = TRAIN_NOISES,
        low_snr_prob: float = 0.0,
        low_snr_range=(-5.0, 5.0),
        speed_prob: float = 0.0,
        speed_range=(0.75, 0.9),
    ):
        bad = [k for k in noises if k not in TRAIN_NOISES]
        if bad or not noises:
            raise ValueError(
                f"training noises must be among {', '.join(TRAIN_NOISES)} (held out: {HELDOUT_NOISE}), got {bad or 'none'}"
            )
        self.noises = tuple(noises)
        corpus = corpus if corpus is not None else load_corpus()
        self.corpus = corpus.subset(lambda s, n: not is_heldout(s, n))
        self.speakers = sorted(set(self.corpus.speakers))
        self.snr_range, self.reverb_prob = snr_range, reverb_prob
        # share of examples whose SNR is drawn from low_snr_range instead (0: none, and the rng stream is unchanged)
        self.low_snr_prob, self.low_snr_range = low_snr_prob, low_snr_range
        # share of the real voices' examples played slower (speed_perturb, a factor in speed_range): lower voices
        # than the real training ones, which are all female (0: none, and the rng stream is unchanged)
        self.speed_prob, self.speed_range = speed_prob, speed_range
        self.level_range, self.speech_free_prob, self.early_ms = level_range, speech_free_prob, early_ms
        # share of examples spoken by a real voice (None: every speaker equally often, so 3 real voices of 13)
        n_real = sum(":" not in s for s in self.speakers)
        self.real_fraction = n_real / max(1, len(self.speakers)) if real_fraction is None else real_fraction

    def parts(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(speech at the microphone, target, noise), n samples each, unscaled (speech-free: zero speech)."""
        real = [s for s in self.speakers if ":" not in s]  # synthetic voices are named "engine:voice"
        synth = [s for s in self.speakers if ":" in s]
        pick = real if real and (not synth or rng.random() < self.real_fraction) else synth
        spk = pick[int(rng.integers(len(pick)))]
        if self.speed_prob and pick is real and rng.random() < self.speed_prob:
            first, last = speed_steps(self.speed_range)  # the factor resampled by, on the grid and in the range
            factor = min(max(round(rng.uniform(*self.speed_range) * SPEED_STEPS), first), last) / SPEED_STEPS
            slow = _speech_fill(int(np.ceil(n * factor)) + SPEED_STEPS, rng, self.corpus, speaker=spk)
            clean = speed_perturb(slow, factor)[:n]
        else:
            clean = _speech_fill(n, rng, self.corpus, speaker=spk)
        if rng.random() < self.speech_free_prob:
            clean = np.zeros(n, np.float32)
        kind = self.noises[int(rng.integers(len(self.noises)))]
        noise = make_noise(kind, n, rng, heldout=False, babble_corpus=self.corpus)
        if rng.random() < 0.3:  # a second, weaker noise on top
            other = self.noises[int(rng.integers(len(self.noises)))]
            extra = make_noise(other, n, rng, heldout=False, babble_corpus=self.corpus)
            noise = noise + extra * np.sqrt(np.mean(noise**2) / (np.mean(extra**2) + 1e-12)) * rng.uniform(0.1, 0.5)
        speech, target = clean, clean
        if clean.any() and rng.random() < self.reverb_prob:
            speech, target = reverberate(clean, rng, self.early_ms)
        return speech, target, noise.astype(np.float32)

    def remix(
        self, rng: np.random.Generator, speech: np.ndarray, target: np.ndarray, noise: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(noisy, target) at a random SNR and level; speech-free parts: the noise at a plausible level, target 0."""
        level = rng.uniform(*self.level_range)
        if not speech.any():
            noisy = noise / (np.sqrt(np.mean(noise**2)) + 1e-12) * 10 ** (level / 20)
            return noisy.astype(np.float32), np.zeros_like(target)
        return scale_mix(speech, target, noise, self.snr(rng), level)

    def snr(self, rng: np.random.Generator) -> float:
        """A training SNR (dB): uniform in snr_range, or with probability low_snr_prob uniform in low_snr_range."""
        if self.low_snr_prob and rng.random() < self.low_snr_prob:
            return float(rng.uniform(*self.low_snr_range))
        return float(rng.uniform(*self.snr_range))

    def example(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.remix(rng, *self.parts(rng, n))

    def batch(self, rng: np.random.Generator, n: int, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.example(rng, int(seconds * SR)) for _ in range(n)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


class MixturePool:
    """Training mixtures from a pool of pre-made (speech, target, noise) parts held in memory: a batch takes random
    crops of random parts and mixes them at a fresh random SNR and level (cheap: no noise synthesis, babble or
    reverberation per example), and `refresh` parts of the pool are replaced by new ones per batch. Seeded by the
    rng passed in. Profiled on this box: making 16 x 2 s examples from scratch costs about 0.09 s, a third of a
    training step; from the pool it costs a few ms plus the refresh."""

    def __init__(self, sampler: TrainSampler, rng: np.random.Generator, size: int, seconds: float, refresh: int = 2):
        self.sampler, self.n, self.refresh = sampler, int(seconds * SR), refresh
        self.items = [sampler.parts(rng, self.n) for _ in range(size)]
        self.next = 0

    def batch(self, rng: np.random.Generator, n: int, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        for _ in range(self.refresh):
            self.items[self.next] = self.sampler.parts(rng, self.n)
            self.next = (self.next + 1) % len(self.items)
        m = int(seconds * SR)
        if m > self.n:
            raise ValueError(f"pool parts are {self.n / SR:g} s, a batch asked for {seconds:g} s")
        pairs = []
        for i in rng.integers(0, len(self.items), n):
            start = int(rng.integers(0, self.n - m + 1))
            speech, target, noise = (a[start : start + m] for a in self.items[int(i)])
            pairs.append(self.sampler.remix(rng, speech, target, noise))
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def heldout_set(
    snrs=SNRS,
    per_snr: int = 16,
    seed: int = 1234,
    noises=NOISE_TYPES,
    seconds: float | None = None,
    corpus: Corpus | None = None,
    speakers: tuple[str, ...] | None = None,
    level_db: float = -25.0,
    training_side: bool = False,
) -> list[Mixture]:
    """Seeded evaluation mixtures from the held-out side only: held-out utterances (Carlo's and ~10 % of every
    other voice's, synthetic voices excluded unless in `speakers`), each noise type in turn (the held-out type
    HELDOUT_NOISE included, music from HELDOUT_MUSIC, babble from held-out utterances), at every SNR in `snrs`.
    `seconds` None: one whole utterance per mixture (joined with a second one when shorter than 2 s).

    `training_side`: the same recipe (single noise, dry, one level) from the training side only, for validation
    shaped like the bench: training utterances of the real training voices, training noise types (HELDOUT_NOISE
    refused) and music pieces, babble from training utterances. Never mixes held-out data."""
    corpus = corpus if corpus is not None else load_corpus(synthetic=0)
    if training_side and (bad := [k for k in noises if k not in TRAIN_NOISES]):
        raise ValueError(f"a training-side set takes training noises only, got {bad}")
    held = corpus.subset(
        lambda s, n: is_heldout(s, n) != training_side and (s in speakers if speakers else ":" not in s)
    )
    if not len(held):
        raise DataError("no held-out utterances found; install the Asterisk voices (scripts/system_deps.sh)")
    rng = np.random.default_rng(seed)
    spk_list = sorted(set(held.speakers))
    by_spk = {s: [i for i, t in enumerate(held.speakers) if t == s] for s in spk_list}
    out = []
    for snr in snrs:
        for i in range(per_snr):
            spk = spk_list[(i + i // len(noises)) % len(spk_list)]  # every speaker meets every noise type
            j = by_spk[spk][int(rng.integers(len(by_spk[spk])))]
            name, clean = held.names[j], held.audio[j]
            if seconds is not None:
                clean = _speech_fill(int(seconds * SR), rng, held, speaker=spk)
            while len(clean) < 2 * SR:  # short prompts: join another of the same speaker after a pause
                k = by_spk[spk][int(rng.integers(len(by_spk[spk])))]
                clean = np.concatenate([clean, np.zeros(SR // 4, np.float32), held.audio[k]])
            kind = noises[i % len(noises)]
            babble_src = held.subset(lambda s, n, spk=spk: s != spk) if kind == "babble" else None
            noise = make_noise(kind, len(clean), rng, heldout=not training_side, babble_corpus=babble_src)
            noisy, target = mix(clean, noise, float(snr), rng, level_db=level_db)
            out.append(Mixture(noisy, target, float(snr), spk, kind, name))
    return out


def corpus_digest(corpus: Corpus) -> str:
    """A short hash of the utterance names (to record which data a model was trained on)."""
    return hashlib.sha1("\n".join(corpus.names).encode()).hexdigest()[:12]
