"""Token decoder: EEG tokenizer embeddings -> cached Conformer -> Mamba -> linear head, one streaming model.

The whole stack goes through the shared streaming API (models/streaming.py): `TokenDecoderNet` is
`Chain(ConformerEncoder, MambaStack, Frames(Linear))`, so the same weights run offline (`forward`) or token by token
(`stream` / `step` / `flush`).

Sequence: the tokenizer (models/eeg_tokenizer.py, frozen, shipped weights) gives one token per channel every 0.5 s.
The tokens are laid out frame by frame and, within a frame, channel by channel (sequence item f*C + c = the code
vector of channel c at frame f, concatenated with a one-hot of c), so a window of F frames is a sequence of F*C
items, and a live stream adds C items every hop. The Conformer (causal, subsampling 2, attention over the last 32
sub-items) mixes channels and frames, the Mamba stack summarises causally, and the head's logits are averaged over
the sequence (a running mean when streaming) to give the decision.

`TokenDecoder` is the sklearn-like wrapper the BCI benchmark calls (benchmarks/bci.py):
    dec = TokenDecoder(rate=160.0, channel_names=[...], freqs=[...], seed=0)
    dec.fit(X, y); dec.fine_tune(X, y); y_hat = dec.predict(X)      # X (trials, channels, samples) in volts
Each trial is resampled to 200 Hz (resample_poly) and zero-padded at its end to a whole number of hops (at least
one: a 0.2 s window becomes one 0.5 s frame), then tokenized per channel. The network reads the tokenizer's
embeddings: by default the encoder latents the tokens are quantised from (`embeddings="latents"`); with
`embeddings="codes"` (`CodeTokenDecoder`) only the tokens' code vectors, i.e. what the token ids alone carry.
Measured (tests/test_models_tokenizer.py, 9 vs 13 Hz on real EEG): the code vectors lose most of a narrow
spectral peak's position, the latents keep it (docs/benchmarks.md, EEG tokenizer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .conformer import ConformerConfig, ConformerEncoder
from .eeg_tokenizer import EEGTokenizer
from .mamba import MambaConfig, MambaStack
from .streaming import Chain, Frames

__all__ = [
    "TokenDecoder",
    "CodeTokenDecoder",
    "TokenDecoderNet",
    "tokenize_trials",
    "DEFAULT_CHANNELS",
    "TOKENIZER_WEIGHTS",
]

TOKENIZER_WEIGHTS = Path(__file__).resolve().parent / "weights" / "eeg_tokenizer.safetensors"
# occipito-parietal channels (where SSVEP is), by their 10-20 names without dots/case
DEFAULT_CHANNELS = ("O1", "OZ", "O2", "PO7", "PO3", "POZ", "PO4", "PO8", "PZ")


def TokenDecoderNet(n_channels: int, n_classes: int, code_dim: int = 64, d_model: int = 64) -> Chain:
    """Chain(Conformer, Mamba, linear head) over items of code_dim + n_channels features."""
    enc = ConformerEncoder(
        ConformerConfig(
            d_in=code_dim + n_channels,
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
    return Chain(enc, ssm, Frames(nn.Linear(d_model, n_classes), d_model, n_classes))


def _norm_name(name: str) -> str:
    return name.strip(". ").upper()


@torch.no_grad()
def tokenize_trials(tokenizer: EEGTokenizer, X: np.ndarray, rate: float, embeddings: str = "codes") -> torch.Tensor:
    """(trials, channels, samples) at `rate` -> (trials, frames, channels, code_dim) float32 embeddings."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    cfg = tokenizer.cfg
    frac = Fraction(cfg.rate / rate).limit_denominator(1000)
    x = resample_poly(np.asarray(X, dtype=np.float64), frac.numerator, frac.denominator, axis=-1)
    n_frames = max(1, -(-x.shape[-1] // cfg.hop))
    x = np.pad(x, [(0, 0), (0, 0), (0, n_frames * cfg.hop - x.shape[-1])])
    n, c, t = x.shape
    out = []
    for i in range(0, n * c, 512):
        flat = torch.from_numpy(x.reshape(n * c, t)[i : i + 512, :, None])
        enc = tokenizer.encode(flat)
        out.append(enc["embeddings"] if embeddings == "codes" else enc["latents"])
    return torch.cat(out).reshape(n, c, n_frames, -1).transpose(1, 2).float()


def _items(emb: torch.Tensor) -> torch.Tensor:
    """(trials, frames, channels, D) -> sequence items (trials, frames*channels, D + channels)."""
    n, f, c, _ = emb.shape
    onehot = torch.eye(c, dtype=emb.dtype).expand(n, f, c, c)
    return torch.cat([emb, onehot], -1).reshape(n, f * c, -1)


class TokenDecoder:
    """The benchmark's fit / fine_tune / predict interface around TokenDecoderNet (see the module docstring)."""

    def __init__(
        self,
        rate: float,
        channel_names,
        freqs,
        seed: int = 0,
        tokenizer: str | Path = TOKENIZER_WEIGHTS,
        channels=DEFAULT_CHANNELS,
        embeddings: str = "latents",
        epochs: int = 20,
        batch: int = 64,
        lr: float = 3e-3,
        fine_tune_epochs: int = 10,
        min_steps: int = 300,
        threads: int = 1,
    ):
        from . import checkpoint

        if embeddings not in ("codes", "latents"):
            raise ValueError(f"embeddings must be 'codes' or 'latents', got {embeddings!r}")
        names = [_norm_name(n) for n in channel_names]
        self.picks = [names.index(c) for c in channels if c in names] or list(range(len(names)))
        self.rate, self.freqs, self.seed = float(rate), list(freqs), seed
        self.embeddings, self.epochs, self.batch, self.lr = embeddings, epochs, batch, lr
        self.fine_tune_epochs, self.min_steps, self.threads = fine_tune_epochs, min_steps, threads
        model = checkpoint.load(tokenizer)
        if not isinstance(model, EEGTokenizer):
            raise ValueError(f"{tokenizer} holds a {type(model).__name__}, not an EEGTokenizer")
        self.tokenizer = model
        self.net: Chain | None = None

    def _features(self, X: np.ndarray) -> torch.Tensor:
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"X must be (trials, channels, samples), got shape {X.shape}")
        return _items(tokenize_trials(self.tokenizer, X[:, self.picks], self.rate, self.embeddings))

    def _train(self, items: torch.Tensor, y: np.ndarray, epochs: int, lr: float, min_steps: int) -> None:
        """AdamW + one-cycle over `epochs` passes, or more passes until `min_steps` steps (small sets)."""
        net = self.net
        assert net is not None  # fit() builds it first
        gen = torch.Generator().manual_seed(self.seed)
        target = torch.as_tensor(np.asarray(y), dtype=torch.long)
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
        per_epoch = -(-len(items) // self.batch)
        epochs = max(epochs, -(-min_steps // per_epoch))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * per_epoch, pct_start=0.1)
        net.train()
        for _ in range(epochs):
            order = torch.randperm(len(items), generator=gen)
            for i in range(0, len(items), self.batch):
                idx = order[i : i + self.batch]
                logits = net(items[idx]).mean(1)
                loss = F.cross_entropy(logits, target[idx], label_smoothing=0.1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        net.eval()

    def fit(self, X, y) -> TokenDecoder:
        n_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            items = self._features(X)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                self.net = TokenDecoderNet(len(self.picks), len(self.freqs), self.tokenizer.cfg.code_dim)
            self._train(items, y, self.epochs, self.lr, self.min_steps)
        finally:
            torch.set_num_threads(n_threads)
        return self

    def fine_tune(self, X, y) -> TokenDecoder:
        if self.net is None:
            raise RuntimeError("fit() before fine_tune()")
        n_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            self._train(self._features(X), y, self.fine_tune_epochs, self.lr / 3, 30)
        finally:
            torch.set_num_threads(n_threads)
        return self

    @torch.no_grad()
    def decision_function(self, X) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("fit() before predict()")
        return self.net(self._features(X)).mean(1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.decision_function(X).argmax(1).astype(np.int64)


class CodeTokenDecoder(TokenDecoder):
    """TokenDecoder on the tokens' code vectors only (`--token-decoder wavegraph.models.token_decoder:CodeTokenDecoder`)."""

    def __init__(self, rate: float, channel_names, freqs, seed: int = 0, **kwargs):
        kwargs.setdefault("embeddings", "codes")
        super().__init__(rate, channel_names, freqs, seed, **kwargs)
