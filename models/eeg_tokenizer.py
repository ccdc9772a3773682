"""EEG tokenizer after TFM-Tokenizer ("Tokenizing Single-Channel EEG with Time-Frequency Motif Learning",
Pradeepkumar et al. 2025): one discrete token per channel every hop, any montage (channels are independent).

Input: one channel's samples at `cfg.rate` (200 Hz; resample upstream). Shapes follow models/streaming.py:
x (batch, T, 1) -> one output per hop, so the model is a StreamingModel with stride `hop` (100 samples = 0.5 s).
For a multi-channel recording, put the channels on the batch axis.

Front end (float64, no parameters, `frame_windows`):
  * frame k covers samples [k*hop - (n_fft - hop), (k+1)*hop) (zeros before the stream, like the `stft` node), so
    T samples give T // hop frames and frame k is complete when sample (k+1)*hop - 1 arrives (causal);
  * robust scaling: the window is divided by the 95th percentile of |x| over the last `scale_window` seconds up
    to the frame's end (a causal, bounded left window; an expanding one at stream start), then its mean is removed
    and it is clipped to +-`clip`.
Encoder (float32, per frame; the only context across frames is the causal `context`-frame conv):
  * STFT magnitude: Hann window of n_fft = 1 s, rfft, bins 0..n_bins-1 (0-99 Hz at 1 Hz), log1p;
  * frequency path: patches of `patch` bins -> Linear + position -> a small Transformer over the patches of a frame
    -> gated aggregation (softmax gate over patches of a sigmoid-gated value);
  * temporal path: a strided Conv1d stack on the frame's scaled raw samples (kernel 20 stride 10, then a conv
    over the 19 outputs): one vector per STFT frame, aligned with it;
  * both concatenated -> Linear -> + causal depthwise conv over the last `context` frames -> feature
    standardisation (BatchNorm without affine; frozen statistics at inference) -> l2 norm -> latent z;
  * quantiser: an EMA VQ codebook (`codebook_size` x `code_dim`, cosine: z and codes are l2-normalised), nearest
    code = token id; the code vector is the token's embedding.
Decoder (training and the reconstruction report only, not streamed): a bidirectional Transformer over the frames'
code vectors -> the log1p magnitude spectrum of every frame (masked time-frequency reconstruction).

Streaming: state = the last max(scale window, n_fft) samples (zeros before the stream start, and how many
are real) + the samples of the incomplete hop + the previous `context - 1` frame features. `stream` returns the frames a chunk completes; `flush`
returns nothing (a partial hop is dropped, as `forward` drops T % hop samples). Tokens from any chunking equal the
offline tokens (the front end is exact in float64, the encoder is per frame).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import DictConfig
from .streaming import State, StreamingModel, check_batch, check_frames

__all__ = ["TokenizerConfig", "EEGTokenizer", "frame_windows", "log_spectrum"]


@dataclass
class TokenizerConfig(DictConfig):
    rate: float = 200.0
    n_fft: int = 200  # 1 s Hann window
    hop: int = 100  # 0.5 s
    n_bins: int = 100  # 0..99 Hz
    patch: int = 5  # bins per frequency patch
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_temporal: int = 32
    context: int = 4  # frames seen by the causal temporal conv (this one and 3 before)
    codebook_size: int = 1024
    code_dim: int = 64
    dec_layers: int = 2
    scale_window: float = 10.0  # seconds of history for the robust scale
    scale_quantile: float = 0.95
    clip: float = 20.0
    ema_decay: float = 0.99
    commitment: float = 0.25

    def __post_init__(self):
        # a hand-edited checkpoint JSON: hop -1 or clip 0 tokenized without a word, hop 0 divided by zero
        if not (0 < self.rate < math.inf and 0 < self.scale_window < math.inf):
            raise ValueError(f"rate and scale_window must be > 0 and finite, got {self.rate} and {self.scale_window}")
        sizes = ("n_fft", "hop", "n_bins", "patch", "d_model", "n_heads", "n_layers", "d_temporal", "context")
        for name in (*sizes, "codebook_size", "code_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"TokenizerConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not (0 < self.scale_quantile <= 1 and self.clip > 0 and 0 <= self.ema_decay < 1 and self.commitment >= 0):
            raise ValueError(
                "need 0 < scale_quantile <= 1, clip > 0, 0 <= ema_decay < 1 and commitment >= 0, got "
                f"{self.scale_quantile}, {self.clip}, {self.ema_decay} and {self.commitment}"
            )
        if self.n_fft % self.hop or self.n_fft < self.hop:
            raise ValueError(f"hop={self.hop} must divide n_fft={self.n_fft}")
        if self.n_bins > self.n_fft // 2 + 1 or self.n_bins % self.patch:
            raise ValueError(f"n_bins={self.n_bins} must be <= n_fft//2+1 and a multiple of patch={self.patch}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")

    @property
    def history(self) -> int:
        """Samples kept before the current hop: the scale window or the STFT overlap, whichever is longer."""
        return max(int(round(self.scale_window * self.rate)), self.n_fft - self.hop)


def frame_windows(samples: torch.Tensor, cfg: TokenizerConfig, n_frames: int, valid: int) -> torch.Tensor:
    """The scaled windows of `n_frames` frames, (N, n_frames, n_fft) float64.

    `samples` (N, history + n_frames*hop + extra) float64: `history` samples before the first frame's hop block,
    then the frames' hop blocks; only the last `valid` samples are real (the ones before are the zeros before the
    stream start: they pad the STFT window but are left out of the robust scale)."""
    h, hop, n_fft = cfg.history, cfg.hop, cfg.n_fft
    w = int(round(cfg.scale_window * cfg.rate))
    if n_frames == 0 or samples.shape[0] == 0:  # no streams: was 'quantile() input tensor must be non-empty'
        return samples.new_zeros(samples.shape[0], n_frames, n_fft)
    if valid < samples.shape[1]:
        samples = samples.clone()
        samples[:, : samples.shape[1] - valid] = math.nan
    # every frame's scale window holds at most `valid` real samples, so a window of max(n_fft, min(w, valid))
    # samples back from the frame's end sees all of them (the rest would be NaN): same quantile, less sorting
    size = max(n_fft, min(w, valid))
    span = samples[:, h + hop - size : h + n_frames * hop]
    wins = span.unfold(-1, size, hop)  # (N, F, size) ending at each frame's end
    scale = torch.nanquantile(wins[..., -min(w, size) :].abs(), cfg.scale_quantile, dim=-1, keepdim=True)
    scale = torch.nan_to_num(scale, nan=0.0).clamp_min(1e-12)
    x = torch.nan_to_num(wins[..., -n_fft:], nan=0.0) / scale
    x = x - x.mean(-1, keepdim=True)
    return x.clamp(-cfg.clip, cfg.clip)


def log_spectrum(windows: torch.Tensor, cfg: TokenizerConfig) -> torch.Tensor:
    """log1p |rfft(hann * window)| over bins 0..n_bins-1, (..., n_bins) float32."""
    win = torch.hann_window(cfg.n_fft, periodic=True, dtype=windows.dtype, device=windows.device)
    spec = torch.fft.rfft(windows * win, dim=-1)[..., : cfg.n_bins].abs()
    return torch.log1p(spec).float()


class FrequencyPath(nn.Module):
    """Patches of bins -> Transformer over the patches of one frame -> gated aggregation to one vector."""

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        self.patch, n_patches, d = cfg.patch, cfg.n_bins // cfg.patch, cfg.d_model
        self.embed = nn.Linear(cfg.patch, d)
        self.pos = nn.Parameter(torch.randn(n_patches, d) * 0.02)
        self.mask_token = nn.Parameter(torch.zeros(d))
        layer = nn.TransformerEncoderLayer(d, cfg.n_heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.gate = nn.Linear(d, 1)
        self.value = nn.Linear(d, 2 * d)

    def forward(self, spec: torch.Tensor, patch_mask: torch.Tensor | None = None) -> torch.Tensor:
        """spec (M, n_bins), patch_mask (M, n_patches) bool (True = masked) -> (M, d_model)."""
        return self.aggregate(self.patch_tokens(spec, patch_mask))

    def patch_tokens(self, spec: torch.Tensor, patch_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The Transformer's output over the patches (M, n_patches, d_model)."""
        h = self.embed(spec.unflatten(-1, (-1, self.patch)))
        if patch_mask is not None:
            h = torch.where(patch_mask[..., None], self.mask_token.expand_as(h), h)
        return self.transformer(h + self.pos)

    def aggregate(self, h: torch.Tensor) -> torch.Tensor:
        """Gated aggregation of the patch tokens (M, n_patches, d_model) to one vector per frame (M, d_model)."""
        weight = torch.softmax(self.gate(h), dim=-2)  # over the patches
        value = F.glu(self.value(h), dim=-1)
        return (weight * value).sum(-2)


class TemporalPath(nn.Module):
    """A strided conv stack on the scaled samples of each STFT frame: one vector per frame."""

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        k1, s1 = cfg.n_fft // 10, cfg.n_fft // 20
        n1 = (cfg.n_fft - k1) // s1 + 1
        self.conv1 = nn.Conv1d(1, 16, k1, s1)
        self.conv2 = nn.Conv1d(16, cfg.d_temporal, n1)
        self.mask_token = nn.Parameter(torch.zeros(cfg.d_temporal))

    def forward(self, windows: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """windows (M, n_fft) float32 -> (M, d_temporal); masked frames get the mask vector."""
        h = self.conv2(F.gelu(self.conv1(windows[:, None])))[..., 0]
        h = F.gelu(h)
        if frame_mask is not None:
            h = torch.where(frame_mask[:, None], self.mask_token.expand_as(h), h)
        return h


class EMAQuantizer(nn.Module):
    """Cosine VQ with an EMA codebook (van den Oord et al. 2017; l2-normalised codes as in ViT-VQGAN).
    Training mode updates the codebook and restarts dead codes from the batch's latents."""

    codebook: torch.Tensor  # buffers (declared for the type checker; registered in __init__)
    ema_count: torch.Tensor
    ema_sum: torch.Tensor
    idle: torch.Tensor

    def __init__(self, n_codes: int, dim: int, decay: float, max_idle: int = 20):
        super().__init__()
        self.decay, self.max_idle = decay, max_idle
        codes = F.normalize(torch.randn(n_codes, dim), dim=-1)
        self.register_buffer("codebook", codes)
        self.register_buffer("ema_count", torch.ones(n_codes))
        self.register_buffer("ema_sum", codes.clone())
        self.register_buffer("idle", torch.zeros(n_codes, dtype=torch.long))  # training steps since last used

    def lookup(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest code of each l2-normalised latent z (..., dim) -> token ids (...)."""
        return (z @ self.codebook.t()).argmax(-1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (M, dim), normalised -> (token ids (M,), code vectors (M, dim) with a straight-through gradient)."""
        tokens = self.lookup(z.detach())
        q = self.codebook[tokens]
        if self.training:
            self._update(z.detach(), tokens)
        return tokens, z + (q - z).detach()

    @torch.no_grad()
    def _update(self, z: torch.Tensor, tokens: torch.Tensor) -> None:
        onehot = F.one_hot(tokens, self.codebook.shape[0]).type_as(z)
        counts = onehot.sum(0)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.t() @ z, alpha=1 - self.decay)
        self.idle.add_(1).masked_fill_(counts > 0, 0)
        dead = self.idle >= self.max_idle
        n_dead = int(dead.sum())
        if n_dead:  # restart codes unused for max_idle steps at random latents of this batch
            pick = z[torch.randint(len(z), (n_dead,), device=z.device)]
            pick = F.normalize(pick + 0.01 * torch.randn_like(pick), dim=-1)
            self.ema_sum[dead] = pick * (1 - self.decay)
            self.ema_count[dead] = 1 - self.decay
            self.idle[dead] = 0
        self.codebook.copy_(F.normalize(self.ema_sum, dim=-1))


class EEGTokenizer(StreamingModel):
    """TFM-style tokenizer (see the module docstring). forward/stream return the token embeddings (code vectors),
    (batch, T // hop, code_dim); `encode` / `stream_encode` also give the token ids and the latents."""

    stream_tolerance = 1e-5

    def state_growth_axis(self, key: str) -> int | None:
        return 1 if key == "samples" else None  # the samples of the current hop block wait in it

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        self.cfg = cfg
        self.d_in, self.d_out, self.stride = 1, cfg.code_dim, cfg.hop
        self.freq = FrequencyPath(cfg)
        self.temporal = TemporalPath(cfg)
        self.mix = nn.Linear(cfg.d_model + cfg.d_temporal, cfg.code_dim)
        self.context_conv = nn.Conv1d(cfg.code_dim, cfg.code_dim, cfg.context, groups=cfg.code_dim)
        # feature standardisation across frames (batch statistics in training, frozen running ones in eval, so
        # streaming stays exact): it removes the common direction that otherwise dominates every latent and
        # squeezes all of them into a small cap of the sphere (collapsed tokens)
        self.norm = nn.BatchNorm1d(cfg.code_dim, affine=False, momentum=0.01)
        self.quantizer = EMAQuantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay)
        d = cfg.d_model
        self.dec_in = nn.Linear(cfg.code_dim, d)
        layer = nn.TransformerEncoderLayer(d, cfg.n_heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerEncoder(layer, cfg.dec_layers, enable_nested_tensor=False)
        self.dec_out = nn.Linear(d, cfg.n_bins)

    def latency_frames(self, **options) -> int:
        """A token is returned when the last sample of its hop block arrives: hop - 1 samples after its first."""
        return self.cfg.hop - 1

    # ------------------------------------------------------------------------------------ encoder
    def frame_features(self, windows: torch.Tensor, frame_mask=None, patch_mask=None) -> torch.Tensor:
        """Scaled windows (N, F, n_fft) float64 -> per-frame features before the temporal context (N, F, code_dim)."""
        n, f = windows.shape[:2]
        dtype = self.mix.weight.dtype  # float32 unless the model was converted (.double(): torch's 'mat1 and mat2
        if f == 0 or n == 0:  # must have the same dtype' when the front end's float32 met it); no streams: MKL's
            return windows.new_zeros(n, f, self.cfg.code_dim, dtype=dtype)  # rfft of no rows was a 'DFTI ERROR'
        flat = windows.reshape(n * f, windows.shape[-1])
        fm = frame_mask.reshape(-1) if frame_mask is not None else None
        pm = patch_mask.reshape(n * f, -1) if patch_mask is not None else None
        if fm is not None:
            pm = fm[:, None] if pm is None else (pm | fm[:, None])
        h = torch.cat([self.freq(log_spectrum(flat, self.cfg).to(dtype), pm), self.temporal(flat.to(dtype), fm)], -1)
        return self.mix(h).reshape(n, f, -1)

    def latents(self, feats: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """Causal context: feats (N, F, D) with the previous context-1 frames prev (N, context-1, D) -> z (N, F, D)."""
        if feats.shape[1] == 0:
            return feats
        h = torch.cat([prev.to(feats.dtype), feats], 1).transpose(1, 2)
        z = feats + self.context_conv(h).transpose(1, 2)
        return F.normalize(self.norm(z.flatten(0, 1)).view_as(z), dim=-1)

    def _prev0(self, n: int, device, dtype=torch.float32) -> torch.Tensor:
        return torch.zeros(n, self.cfg.context - 1, self.cfg.code_dim, device=device, dtype=dtype)

    def encode_windows(self, windows: torch.Tensor, frame_mask=None, patch_mask=None) -> dict[str, torch.Tensor]:
        """Offline from precomputed windows (N, F, n_fft) (a stream's first F frames)."""
        if windows.dim() != 3 or windows.shape[-1] != self.cfg.n_fft:  # was a size mismatch from inside torch
            raise ValueError(f"windows must be (N, frames, n_fft={self.cfg.n_fft}), got shape {tuple(windows.shape)}")
        feats = self.frame_features(windows, frame_mask, patch_mask)
        z = self.latents(feats, self._prev0(len(windows), windows.device))
        tokens, q = self.quantizer(z.reshape(-1, z.shape[-1]))
        return {"tokens": tokens.reshape(z.shape[:2]), "embeddings": q.reshape(z.shape), "latents": z}

    def decode(self, q: torch.Tensor) -> torch.Tensor:
        """Code vectors (N, F, code_dim) -> reconstructed log1p magnitude spectra (N, F, n_bins)."""
        if q.dim() != 3 or q.shape[-1] != self.cfg.code_dim:  # was 'mat1 and mat2 shapes cannot be multiplied'
            raise ValueError(
                f"q must be code vectors (N, frames, code_dim={self.cfg.code_dim}), got shape {tuple(q.shape)}"
            )
        f = q.shape[1]
        pos = torch.arange(f, device=q.device, dtype=torch.float32)[:, None]
        i = torch.arange(0, self.cfg.d_model, 2, device=q.device, dtype=torch.float32)
        ang = pos / 10000 ** (i / self.cfg.d_model)
        pe = torch.stack([ang.sin(), ang.cos()], -1).flatten(-2)
        return self.dec_out(self.decoder(self.dec_in(q) + pe))

    # ------------------------------------------------------------------------------------ streaming API
    def init_state(self, batch: int = 1, device=None, dtype=torch.float32, **options) -> State:
        if options:
            raise TypeError(f"EEGTokenizer takes no stream options, got {sorted(options)}")
        batch = check_batch(batch)
        device = device if device is not None else self.quantizer.codebook.device
        return {
            "samples": torch.zeros(batch, self.cfg.history, dtype=torch.float64, device=device),
            "valid": 0,
            "prev": self._prev0(batch, device),
        }

    def _check_state(self, state: State, batch: int) -> None:
        """ValueError unless `state` is one of this tokenizer's for `batch` streams: one of another scale_window was
        taken (its longer history read as frames: more tokens than samples, unsaid), one of another context or
        code_dim, or batch, failed inside torch, a dict without 'samples' was a KeyError."""
        cfg, fix = self.cfg, f"start the stream with this tokenizer's init_state({batch})"
        if not isinstance(state, dict) or set(state) != {"samples", "valid", "prev"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"not an EEGTokenizer state (keys samples, valid, prev), got {got}; {fix}")
        samples, prev = state["samples"], state["prev"]
        n = samples.shape[1] if samples.dim() == 2 else -1
        if samples.dim() != 2 or samples.shape[0] != batch or not cfg.history <= n < cfg.history + cfg.hop:
            raise ValueError(
                f"the state's 'samples' has shape {tuple(samples.shape)}, this tokenizer keeps ({batch}, "
                f"{cfg.history}..{cfg.history + cfg.hop - 1}) for x's batch of {batch} (its scale_window, n_fft and "
                f"hop); {fix}"
            )
        want = (batch, cfg.context - 1, cfg.code_dim)
        if tuple(prev.shape) != want:
            raise ValueError(f"the state's 'prev' has shape {tuple(prev.shape)}, this tokenizer's is {want}; {fix}")
        if not 0 <= int(state["valid"]) <= n:  # (-5 or 1e9 was taken: the zeros before the stream scaled as samples)
            raise ValueError(f"the state's 'valid' is {state['valid']}, a stream keeps 0 to {n} (its samples); {fix}")

    def check_state(self, state: State) -> None:
        samples = state.get("samples") if isinstance(state, dict) else None
        self._check_state(state, samples.shape[0] if isinstance(samples, torch.Tensor) and samples.dim() else 0)

    def stream_encode(self, x: torch.Tensor, state: State) -> tuple[dict[str, torch.Tensor], State]:
        """One chunk x (batch, n, 1) -> ({tokens (batch, m), embeddings (batch, m, D), latents}, new state) for the
        m frames the chunk completes."""
        if x.dim() == 3 and x.shape[-1] != 1:  # was only 'x must be (batch, frames, d_in=1)'
            raise ValueError(
                f"x has shape {tuple(x.shape)}: the tokenizer takes one channel per stream, (batch, samples, 1); "
                "put a recording's channels on the batch axis: x.transpose(1, 2).reshape(-1, x.shape[1], 1)"
            )
        check_frames(x, 1)
        if self.training:  # BatchNorm took the chunk's frames as its statistics ('Expected more than 1 value per
            raise ValueError(  # channel when training' for one frame) and updated its running ones as it streamed
                "the tokenizer streams with its frozen feature statistics: call .eval() first (a model built from "
                "its config is in training mode; models.checkpoint.load returns it in eval mode)"
            )
        self._check_state(state, x.shape[0])
        finite = torch.isfinite(x)
        if not bool(finite.all()):  # NaN was taken as a missing sample and inf as a clipped one: tokens unsaid
            row, t = (int(i) for i in (~finite[..., 0]).nonzero()[0])
            raise ValueError(
                f"x holds {int((~finite).sum())} NaN or infinite samples (the first: batch row {row}, sample {t}); "
                "the tokenizer takes finite samples: replace them first, e.g. torch.nan_to_num(x, 0.0, 0.0, 0.0), "
                "as the eeg_tokenizer node does (counted nan_zeroed)"
            )
        cfg = self.cfg
        samples = torch.cat([state["samples"], x[..., 0].to(torch.float64)], 1)
        n_frames = (samples.shape[1] - cfg.history) // cfg.hop
        valid = int(state["valid"]) + x.shape[1]
        windows = frame_windows(samples, cfg, n_frames, valid)
        # The encoder and the code lookup run one frame at a time (batch rows: the streams), whatever the chunk gave:
        # float32 matrix products round a row differently with the number of rows beside it (1-3 streams: one frame
        # vs a whole file's frames 1.9e-7 apart in the latents), and a cosine within that of the next code flipped
        # the token (3 channels of square waves: whole file vs 0.5 s chunks, one token and its code vector 0.076
        # apart). The same shapes in every call make any chunking give the same bits.
        prev = state["prev"]
        zs = [self.frame_features(windows)] if n_frames == 0 else []  # (no frame: (N, 0, D))
        for f in range(n_frames):
            feat = self.frame_features(windows[:, f : f + 1])
            zs.append(self.latents(feat, prev))
            prev = torch.cat([prev, feat], 1)[:, 1:]  # the last context - 1 frames' features
        ids = [self.quantizer.lookup(z) for z in zs]
        z, tokens = torch.cat(zs, 1), torch.cat(ids, 1)
        keep = samples.shape[1] - n_frames * cfg.hop
        new = {"samples": samples[:, samples.shape[1] - keep :], "valid": min(valid, keep), "prev": prev}
        return {"tokens": tokens, "embeddings": self.quantizer.codebook[tokens], "latents": z}, new

    def stream(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        out, state = self.stream_encode(x, state)
        return out["embeddings"], state

    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Offline: x (batch, T, 1) -> the tokens of T // hop frames (one stream_encode from a fresh state)."""
        return self.stream_encode(x, self.init_state(x.shape[0], x.device))[0]

    def forward(self, x: torch.Tensor, **options) -> torch.Tensor:
        if options:
            raise TypeError(f"EEGTokenizer takes no options, got {sorted(options)}")
        return self.encode(x)["embeddings"]
