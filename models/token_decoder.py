"""Token decoder: EEG tokenizer embeddings -> channel mix -> cached Conformer -> Mamba -> linear head.

The whole stack goes through the shared streaming API (models/streaming.py). The tokenizer (models/eeg_tokenizer.py,
shipped weights) runs on every channel separately, as always, and gives one embedding per channel every 0.5 s hop;
`TokenDecoderNet` is `Chain(Frames(Linear), ConformerEncoder, MambaStack, Frames(Linear))` over frames that hold the
channels' embeddings side by side (C x 64 features per hop): the first linear layer is a learned spatial filter (it
combines the channels, as CCA and the DNN's spatial conv do), the Conformer (causal, subsampling 2, attention over the
last 32 sub-frames) and the Mamba stack model time, and the head's logits are averaged over the frames (a running mean
when streaming) to give the decision. The same weights run offline (`forward`) or hop by hop (`stream` / `step`):
stream each channel through the decoder's tokenizer (`EEGTokenizer.stream_encode`, its "latents"), put the channels
side by side, and stream the frames through the Chain (tests/test_models_tokenizer.py checks it equals offline).

`TokenDecoder` is the sklearn-like wrapper the BCI benchmark calls (benchmarks/bci.py):
    dec = TokenDecoder(rate=160.0, channel_names=[...], freqs=[...], seed=0)
    dec.fit(X, y); dec.fine_tune(X, y); y_hat = dec.predict(X)      # X (trials, channels, samples) in volts
Each trial is resampled to 200 Hz (resample_poly) and zero-padded at its end to a whole number of hops (at least
two: one Conformer sub-frame; a 0.2 s window becomes two 0.5 s frames), then tokenized per channel.

What the network reads (measured, docs/benchmarks.md, BCI section, M = 8): the tokenizer's frozen outputs do not
carry the position of a narrow spectral peak well enough to tell 8 targets 1 Hz apart. A linear read-out of the
tokenizer's own input (one channel's log spectrum, Oz) scores 1.00 at -10 dB, of its frequency path's patch tokens
1.00, of the gated aggregation over patches 0.79, of the latents 0.50 and of the code vectors 0.23 (chance 0.125;
benchmarks/token_probe.py): the per-frame aggregation to one 64-d vector, the mixing layer and the quantiser,
trained for masked reconstruction of broad spectral shape, drop it. So by default (`tune_tokenizer=True`) the decoder fine-tunes its own copy of the tokenizer's encoder
(frequency path, temporal path, mixing layer and causal context conv; the normalisation keeps its frozen statistics)
together with the rest, at a third of the learning rate, and reads the latents the tokens are quantised from. The
shipped tokenizer is not changed; the tokens stay per channel. `FrozenTokenDecoder` reads the frozen tokenizer's
latents, `CodeTokenDecoder` the frozen tokens' code vectors (what the token ids alone carry).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .conformer import ConformerConfig, ConformerEncoder
from .eeg_tokenizer import EEGTokenizer, frame_windows
from .mamba import MambaConfig, MambaStack
from .streaming import Chain, Frames

__all__ = [
    "TokenDecoder",
    "FrozenTokenDecoder",
    "CodeTokenDecoder",
    "TokenDecoderNet",
    "trial_windows",
    "tokenize_trials",
    "DEFAULT_CHANNELS",
    "TOKENIZER_WEIGHTS",
]

TOKENIZER_WEIGHTS = Path(__file__).resolve().parent / "weights" / "eeg_tokenizer.safetensors"
# occipito-parietal channels (where SSVEP is), by their 10-20 names without dots/case
DEFAULT_CHANNELS = ("O1", "OZ", "O2", "PO7", "PO3", "POZ", "PO4", "PO8", "PZ")
MIN_FRAMES = 2  # one Conformer sub-frame (subsampling 2)


def TokenDecoderNet(n_channels: int, n_classes: int, code_dim: int = 64, d_model: int = 64) -> Chain:
    """Chain(channel mix, Conformer, Mamba, linear head) over frames of n_channels * code_dim features."""
    d_in = n_channels * code_dim
    enc = ConformerEncoder(
        ConformerConfig(
            d_in=d_model,
            d_model=d_model,
            n_layers=2,
            n_heads=4,
            ff_mult=2,
            conv_kernel=5,
            subsampling=2,
            att_context_sizes=[[32, 0]],
        )
    )
    ssm = MambaStack(MambaConfig(d_model=d_model, n_layers=1, d_state=8))
    return Chain(
        Frames(nn.Linear(d_in, d_model), d_in, d_model),
        enc,
        ssm,
        Frames(nn.Linear(d_model, n_classes), d_model, n_classes),
    )


def _norm_name(name: str) -> str:
    return name.strip(". ").upper()


def _picks(channel_names: list, channels) -> list[int]:
    """The positions of `channels` in channel_names, names compared without dots/case ('Oz' is EEGMMIDB's 'Oz..').
    The default (DEFAULT_CHANNELS): those of them present, else every channel. Channels given by hand must all be
    there: 'Oz' was compared with the upper-cased names and left out, and so was a name not in the recording (or each
    letter of channels='Oz'), unsaid; none found took every channel."""
    names = [_norm_name(str(n)) for n in channel_names]
    if channels is DEFAULT_CHANNELS:
        return [names.index(c) for c in channels if c in names] or list(range(len(names)))
    wanted = [channels] if isinstance(channels, str) else list(channels)
    missing = [c for c in wanted if _norm_name(str(c)) not in names]
    if missing or not wanted:
        raise ValueError(
            f"channels {missing or wanted} {'are not among' if missing else 'name none of'} the channel_names "
            f"{list(channel_names)}; give names of those (case and dots do not matter), or leave channels out for the "
            f"occipito-parietal default {list(DEFAULT_CHANNELS)}"
        )
    return [names.index(_norm_name(str(c))) for c in wanted]


def trial_windows(tokenizer: EEGTokenizer, X: np.ndarray, rate: float) -> torch.Tensor:
    """(trials, channels, samples) at `rate` -> the tokenizer's scaled STFT windows (trials, frames, channels, n_fft)
    float64: each trial resampled to the tokenizer's rate, zero-padded at its end to a whole number of hops (at least
    MIN_FRAMES) and framed as one stream per channel (what `EEGTokenizer.encode` does before its encoder)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    cfg = tokenizer.cfg
    frac = Fraction(cfg.rate / rate).limit_denominator(1000)
    x = resample_poly(np.asarray(X, dtype=np.float64), frac.numerator, frac.denominator, axis=-1)
    n_frames = max(MIN_FRAMES, -(-x.shape[-1] // cfg.hop))
    x = np.pad(x, [(0, 0), (0, 0), (0, n_frames * cfg.hop - x.shape[-1])])
    n, c, t = x.shape
    samples = torch.cat(
        [torch.zeros(n * c, cfg.history, dtype=torch.float64), torch.from_numpy(x.reshape(n * c, t))], 1
    )
    return frame_windows(samples, cfg, n_frames, t).reshape(n, c, n_frames, -1).transpose(1, 2)


def encode_windows(tokenizer: EEGTokenizer, windows: torch.Tensor, embeddings: str = "latents") -> torch.Tensor:
    """trial_windows' output (trials, frames, channels, n_fft) -> frames of the channels' embeddings side by side
    (trials, frames, channels * code_dim): the latents (differentiable) or the code vectors of the tokens."""
    n, f, c, k = windows.shape
    flat = windows.transpose(1, 2).reshape(n * c, f, k)
    z = tokenizer.latents(tokenizer.frame_features(flat), tokenizer._prev0(n * c, flat.device))
    if embeddings == "codes":
        z = tokenizer.quantizer.codebook[tokenizer.quantizer.lookup(z)]
    return z.reshape(n, c, f, -1).transpose(1, 2).reshape(n, f, -1)


@torch.no_grad()
def tokenize_trials(tokenizer: EEGTokenizer, X: np.ndarray, rate: float, embeddings: str = "codes") -> torch.Tensor:
    """(trials, channels, samples) at `rate` -> (trials, frames, channels, code_dim) float32 embeddings."""
    w = trial_windows(tokenizer, X, rate)
    out = [encode_windows(tokenizer, w[i : i + 64], embeddings) for i in range(0, len(w), 64)]
    return torch.cat(out).unflatten(-1, (w.shape[2], -1)).float()


def warmup_share(steps: int) -> float:
    """The one-cycle schedule's warm-up share: 0.1, but 0.15 at 10 steps, where torch's OneCycleLR divides by a
    warm-up phase of length 0.1 * 10 - 1 = 0 (ZeroDivisionError: a `steps: 10` decoder crashed in fit)."""
    return 0.15 if steps == 10 else 0.1


class TokenDecoder:
    """The benchmark's fit / fine_tune / predict interface around TokenDecoderNet (see the module docstring).

    Training: AdamW (weight decay 1e-2) with a one-cycle schedule for `steps` steps of `batch` trials, cross-entropy
    with label smoothing 0.1; the tokenizer's encoder (tune_tokenizer) at lr / 3. fine_tune: `fine_tune_steps` more
    steps at lr / 3 (encoder lr / 9) on one subject's calibration trials."""

    def __init__(
        self,
        rate: float,
        channel_names,
        freqs,
        seed: int = 0,
        tokenizer: str | Path = TOKENIZER_WEIGHTS,
        channels=DEFAULT_CHANNELS,
        embeddings: str = "latents",
        tune_tokenizer: bool = True,
        steps: int = 800,
        batch: int = 64,
        lr: float = 3e-3,
        fine_tune_steps: int = 60,
        threads: int = 1,
    ):
        from . import checkpoint

        if embeddings not in ("codes", "latents"):
            raise ValueError(f"embeddings must be 'codes' or 'latents', got {embeddings!r}")
        if embeddings == "codes" and tune_tokenizer:
            raise ValueError("the code vectors are looked up, not differentiable: use tune_tokenizer=False with them")
        self.channel_names = list(channel_names)
        self.picks = _picks(self.channel_names, channels)
        self.rate, self.freqs, self.seed = float(rate), list(freqs), seed
        self.embeddings, self.tune_tokenizer = embeddings, tune_tokenizer
        self.steps, self.batch, self.lr = steps, batch, lr
        self.fine_tune_steps, self.threads = fine_tune_steps, threads
        model = checkpoint.load(tokenizer, dtype=torch.float32)  # as the tokenizer node runs it
        if not isinstance(model, EEGTokenizer):
            raise ValueError(f"{tokenizer} holds a {type(model).__name__}, not an EEGTokenizer")
        self.tokenizer = model.eval()  # the decoder's own copy (fine-tuned when tune_tokenizer); eval: frozen norm
        self.net: Chain | None = None

    def _windows(self, X: np.ndarray, y=None) -> torch.Tensor:
        """X's tokenizer windows, after checking X (and the labels y, when training): another channel count than
        channel_names' was an IndexError (fewer) or the first channels by position (more); a NaN sample was read as a
        missing one, unsaid; no trials was 'quantile() input tensor must be non-empty'; a y of another length or a
        label past the classes an IndexError from torch."""
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"X must be (trials, channels, samples), got shape {X.shape}")
        if X.shape[1] != len(self.channel_names):
            raise ValueError(
                f"X has {X.shape[1]} channels; this decoder was made for the {len(self.channel_names)} of its "
                f"channel_names {self.channel_names}: pass X's channels in that order (or make one for X's)"
            )
        bad = ~np.isfinite(X)
        if bad.any():
            i, c, t = np.argwhere(bad)[0]
            raise ValueError(
                f"X holds {int(bad.sum())} NaN or infinite samples (the first: trial {i}, channel {c}, sample {t}); "
                "drop those trials or replace the samples first"
            )
        if y is not None:
            y, m = np.asarray(y), len(self.freqs)
            if len(X) == 0 or y.shape != (len(X),):
                raise ValueError(f"y must be one label per trial of X, shape ({len(X)},) with trials, got {y.shape}")
            if y.dtype.kind not in "iuf" or not np.all((y == np.round(y)) & (y >= 0) & (y < m)):
                raise ValueError(f"y must hold class indices 0..{m - 1} (one per freq), got {y[:8].tolist()}")
        if len(X) == 0:  # no trials: no windows (predict gives no scores)
            return torch.zeros(0, MIN_FRAMES, len(self.picks), self.tokenizer.cfg.n_fft, dtype=torch.float64)
        return trial_windows(self.tokenizer, X[:, self.picks], self.rate)

    def _encoder_params(self) -> list[nn.Parameter]:
        tok = self.tokenizer
        mods = (tok.freq, tok.temporal, tok.mix, tok.context_conv) if self.tune_tokenizer else ()
        return [p for m in mods for p in m.parameters()]

    def _frames(self, windows: torch.Tensor) -> torch.Tensor:
        """Windows -> the network's input frames; with gradients into the tokenizer only when it is tuned."""
        if self.tune_tokenizer and torch.is_grad_enabled():
            return encode_windows(self.tokenizer, windows, self.embeddings)
        with torch.no_grad():
            return torch.cat(
                [
                    encode_windows(self.tokenizer, windows[i : i + 64], self.embeddings)
                    for i in range(0, len(windows), 64)
                ]
            )

    def _train(self, windows: torch.Tensor, y: np.ndarray, steps: int, lr: float) -> None:
        net = self.net
        assert net is not None  # fit() builds it first
        gen = torch.Generator().manual_seed(self.seed)
        target = torch.as_tensor(np.asarray(y), dtype=torch.long)
        enc = self._encoder_params()
        groups = [{"params": list(net.parameters()), "lr": lr}] + ([{"params": enc, "lr": lr / 3}] if enc else [])
        opt = torch.optim.AdamW(groups, weight_decay=1e-2)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, [g["lr"] for g in groups], total_steps=steps, pct_start=warmup_share(steps)
        )
        frozen = None if enc else self._frames(windows)  # a frozen tokenizer is run once
        net.train()
        step = 0
        while step < steps:
            order = torch.randperm(len(windows), generator=gen)
            for i in range(0, len(windows), self.batch):
                if step == steps:
                    break
                idx = order[i : i + self.batch]
                frames = self._frames(windows[idx]) if frozen is None else frozen[idx]
                loss = F.cross_entropy(net(frames).mean(1), target[idx], label_smoothing=0.1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                step += 1
        net.eval()

    def _threads(self):
        n = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        return n

    def fit(self, X, y) -> TokenDecoder:
        n_threads = self._threads()
        try:
            windows = self._windows(X, y)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                self.net = TokenDecoderNet(len(self.picks), len(self.freqs), self.tokenizer.cfg.code_dim)
            self._train(windows, y, self.steps, self.lr)
        finally:
            torch.set_num_threads(n_threads)
        return self

    def fine_tune(self, X, y) -> TokenDecoder:
        if self.net is None:
            raise RuntimeError("fit() before fine_tune()")
        if self.fine_tune_steps <= 0:
            return self
        n_threads = self._threads()
        try:
            self._train(self._windows(X, y), y, self.fine_tune_steps, self.lr / 3)
        finally:
            torch.set_num_threads(n_threads)
        return self

    @torch.no_grad()
    def decision_function(self, X) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("fit() before predict()")
        windows = self._windows(X)
        if len(windows) == 0:  # no trials: no scores
            return np.zeros((0, len(self.freqs)), dtype=np.float32)
        return self.net(self._frames(windows)).mean(1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.decision_function(X).argmax(1).astype(np.int64)


class FrozenTokenDecoder(TokenDecoder):
    """TokenDecoder on the frozen tokenizer's latents (`--token-decoder wavegraph.models.token_decoder:FrozenTokenDecoder`)."""

    def __init__(self, rate: float, channel_names, freqs, seed: int = 0, **kwargs):
        kwargs.setdefault("tune_tokenizer", False)
        super().__init__(rate, channel_names, freqs, seed, **kwargs)


class CodeTokenDecoder(TokenDecoder):
    """TokenDecoder on the frozen tokens' code vectors only (`--token-decoder wavegraph.models.token_decoder:CodeTokenDecoder`)."""

    def __init__(self, rate: float, channel_names, freqs, seed: int = 0, **kwargs):
        kwargs.setdefault("embeddings", "codes")
        kwargs.setdefault("tune_tokenizer", False)
        super().__init__(rate, channel_names, freqs, seed, **kwargs)
