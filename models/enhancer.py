"""A causal speech enhancer: STFT-domain masking with a streaming Mamba or GLA temporal core (16 kHz mono).

ClearBuds-style option (b) of issue 9: a causal STFT mask network whose temporal model is the project's own
streaming sequence model (models/mamba.py `MambaStack` or models/gla.py `GLAStack`, run through the shared
StreamingModel API of models/streaming.py).

With front_channels > 0 (option (a), the cascade) the input samples first pass a causal sample-level conv stage
(models/enhancer_front.py `TimeFront`: no added latency, the identity when fresh); the frames below are of its output.

Per frame (n_fft = 320 samples = 20 ms, hop 160 = 10 ms, sqrt-Hann analysis and synthesis windows):
    X = rfft(window * frame)                                            (161 bins; a matmul with the DFT matrix)
    f = (|X|^2 + eps)^(compress / 2)                                    (compressed magnitude, compress = 0.3)
    p = X_t conj(X_t-1), compressed to |p|^(compress / 2)              (deep-filtered bins only: phase advance)
    s = steadiness of each bin's phase advance over the last frames     (tone_frames > 0 only: the tone feature)
    o = each bin's f against its running average (onset contrast)      (onset_frames > 0 only: the onset feature)
    e = the frame's energy share in each of its impulse_blocks blocks  (impulse_blocks > 0 only: the impulse feature)
    h = core([f, p, s, o, e])                                                  (Mamba/GLA stack: Linear(in -> d), layers)
    mask, v, C = Linear(h) split into 161 bins, 1 speech logit and the deep filter's taps (complex, bins x order)
    mask = floor + (1 - floor) sigmoid(mask); C = tanh(C)
    Y = mask * X; on the lowest df_bins bins Y += sum_k C_k X_t-k        (deep filter: k = 0 .. order - 1 frames)
    overlap-add of g * window * irfft(Y)                                (weighted OLA, as the istft node)
with g the time gate's gain over the frame's samples (gate_blocks > 0: more head outputs, models/enhancer_gate.py;
else 1).
With df_bins = 0 (the first shipped weights) there is no p and no C: a plain mask network. The deep filter
(DeepFilterNet's idea) lets the network keep a voice's harmonics inside a 50 Hz bin and remove the noise between
them, which a real mask on 50 Hz bins cannot.

As a StreamingModel the enhancer works on hop blocks of audio: x (batch, T, hop) is T consecutive blocks of 160
samples; y (batch, T, hop + 1) holds, for every block t, `y[..., :hop]` = the enhanced audio block t, which is the
enhanced input delayed by n_fft - hop samples (the overlap-add finishes a block one hop after it starts), and
`y[..., hop]` = the speech probability of frame t (the frame ending with block t). Stride 1, latency 0 frames
(causal): block t depends on input blocks <= t only. Algorithmic latency in samples, counting the wait for a full
hop block, is n_fft - 1 (19.94 ms at 16 kHz).

State (explicit, see models/streaming.py): {"prev": (B, n_fft - hop) last input samples, "tail": (B, n_fft - hop)
overlap-add tail, "dfhist": (B, max(order - 1, 1), df_bins, 2) the deep-filtered bins of the past frames (only with
a deep filter), "tonehist": (B, tone_frames + 1, bins, 2) the tone feature's history (only with it), "onsetref": (B, 1, bins) the
onset feature's running average (only with it), "pitchprev": (B, pitch_lag) the samples before the oldest one the next frame
needs (only with the pitch input, models/enhancer_pitch.py), "front.*": the past the front's kernels need (input samples,
each block's activations; only with it), "core.*": the core's state}. The features are computed in models/enhancer_features.py. `stream` never modifies the state it is given; `step` may.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.autograd.graph import increment_version

from .config import DictConfig
from .enhancer_checks import check_stream_input
from .enhancer_fast import FastGLAStep, fast_step
from .enhancer_features import (
    analyze,
    compressed_advance,
    dft_matrices,
    impulse,
    magnitude,
    nonempty,
    onset,
    phase_advance,
    steadiness,
)
from .enhancer_front import TimeFront
from .enhancer_gain import LEVEL_START, adaptive_mask
from .enhancer_gate import gate_curve, synthesize
from .enhancer_grow import grown
from .enhancer_loss import enhancer_loss, si_sdr, vad_targets
from .enhancer_numpy import NumpyFrame, numpy_frame, state_views
from .enhancer_pitch import pitch_feature, pitch_frames
from .gla import GLAConfig, GLAStack
from .mamba import MambaConfig, MambaStack
from .streaming import State, StreamingModel, check_batch, check_dtype, check_frames, inputs_trusted

__all__ = ["EnhancerConfig", "Enhancer", "si_sdr", "enhancer_loss", "vad_targets"]


@dataclass
class EnhancerConfig(DictConfig):
    core: str = "mamba"  # "mamba" or "gla"
    sample_rate: int = 16000
    n_fft: int = 320
    hop: int = 160
    compress: float = 0.3
    mask_floor: float = 0.0  # mask = floor + (1 - floor) * sigmoid: limits the attenuation to 1 / floor
    # SNR-adaptive attenuation limit (models/enhancer_gain.py; inference only): from the input SNR estimated online,
    # the floor moves from mask_floor (estimate >= snr_high dB) to low_snr_floor (<= snr_low dB), with a mask
    # post-filter of up to low_snr_postfilter there
    snr_adapt: bool = False
    snr_low: float = -6.0
    snr_high: float = 0.0
    low_snr_floor: float = 0.0
    low_snr_postfilter: float = 0.0
    snr_tau: float = 1.0  # seconds, the estimate's smoothing
    snr_from_bin: int = 0  # the estimate's first bin (shipped 2: from 100 Hz, above a rumble)
    df_bins: int = 0  # deep filter on the lowest df_bins bins (0: mask only)
    df_order: int = 5  # deep filter taps: the current frame and df_order - 1 past frames
    tone_frames: int = 0  # the tone feature: phase-advance steadiness over this many frames (0: none; else >= 2)
    onset_frames: int = 0  # the onset feature: magnitude against its running average over ~this many frames (0: none)
    impulse_blocks: int = 0  # the impulse feature: the frame's energy share per block of n_fft / this samples (0: none)
    gate_blocks: int = 0  # the time gate (models/enhancer_gate.py): a gain per block of n_fft / this samples (0: none)
    gate_split: int = 0  # with the gate: bins below this gated apart from those above (enhancer_gate.py; 0: one band)
    pitch_lag: int = 0  # the pitch input (models/enhancer_pitch.py): the longest lag searched, samples (0: none)
    pitch_min_lag: int = 32  # and the shortest
    front_channels: int = 0  # the cascade's time-domain stage (models/enhancer_front.py): its width (0: none)
    front_blocks: int = 8  # and its dilated blocks
    d_model: int = 96
    n_layers: int = 2
    d_state: int = 16  # mamba
    expand: int = 2  # mamba
    n_heads: int = 4  # gla
    mlp_ratio: float = 2.0  # gla

    def __post_init__(self):
        if self.core not in ("mamba", "gla"):
            raise ValueError(f"EnhancerConfig.core must be 'mamba' or 'gla', got {self.core!r}")
        if self.hop < 1 or self.n_fft % self.hop or self.n_fft < 2 * self.hop:
            raise ValueError(f"n_fft ({self.n_fft}) must be a multiple >= 2 of hop ({self.hop})")
        if not 0 < self.compress <= 1:
            raise ValueError(f"compress must be in (0, 1], got {self.compress}")
        if not 0 <= self.mask_floor < 1:
            raise ValueError(f"mask_floor must be in [0, 1), got {self.mask_floor}")
        if self.snr_adapt and not (
            0 <= self.low_snr_floor < 1 and self.low_snr_postfilter >= 0 and self.snr_high > self.snr_low
        ):
            raise ValueError(
                "snr_adapt needs low_snr_floor in [0, 1), low_snr_postfilter >= 0 and snr_high > snr_low, got "
                f"{self.low_snr_floor}, {self.low_snr_postfilter}, {self.snr_low} and {self.snr_high}"
            )
        if self.snr_tau <= 0:
            raise ValueError(f"snr_tau must be > 0 seconds, got {self.snr_tau}")
        if not 0 <= self.snr_from_bin < self.n_bins:
            raise ValueError(f"snr_from_bin must be in 0..{self.n_bins - 1}, got {self.snr_from_bin}")
        if not 0 <= self.df_bins <= self.n_bins or self.df_order < 1:
            raise ValueError(
                f"df_bins must be in [0, {self.n_bins}] and df_order >= 1, got {self.df_bins} and {self.df_order}"
            )
        if self.tone_frames < 0 or self.tone_frames == 1:
            raise ValueError(f"tone_frames must be 0 (no tone feature) or >= 2, got {self.tone_frames}")
        if self.onset_frames < 0:
            raise ValueError(f"onset_frames must be 0 (no onset feature) or >= 1, got {self.onset_frames}")
        if (
            self.impulse_blocks < 0
            or self.impulse_blocks == 1
            or (self.impulse_blocks and self.n_fft % self.impulse_blocks)
        ):
            raise ValueError(
                f"impulse_blocks must be 0 (no impulse feature) or a divisor >= 2 of n_fft ({self.n_fft}), "
                f"got {self.impulse_blocks}"
            )
        if self.gate_blocks < 0 or self.gate_blocks == 1 or (self.gate_blocks and self.n_fft % self.gate_blocks):
            raise ValueError(
                f"gate_blocks must be 0 (no time gate) or a divisor >= 2 of n_fft ({self.n_fft}), got {self.gate_blocks}"
            )
        if self.gate_split and not (self.gate_blocks and 0 < self.gate_split < self.n_bins):
            raise ValueError(f"gate_split needs gate_blocks and must be in 1..{self.n_bins - 1}, got {self.gate_split}")
        if self.pitch_lag and not (self.df_bins and 2 <= self.pitch_min_lag < self.pitch_lag <= 4 * self.n_fft):
            raise ValueError(
                "pitch_lag needs a deep filter (df_bins) and 2 <= pitch_min_lag < pitch_lag <= 4 n_fft "
                f"({4 * self.n_fft}), got df_bins {self.df_bins}, pitch_min_lag {self.pitch_min_lag}, "
                f"pitch_lag {self.pitch_lag}"
            )
        if self.front_channels < 0 or (self.front_channels and not 1 <= self.front_blocks <= 16):
            raise ValueError(  # 16 blocks: dilation 32,768, 4 s of the past at 16 kHz; more only costs memory
                "front_channels must be >= 0 and front_blocks in 1..16, got "
                f"{self.front_channels} and {self.front_blocks}"
            )

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def latency_samples(self) -> int:
        return self.n_fft - 1

    @property
    def n_features(self) -> int:
        """Core input per frame: the compressed magnitudes, the phase advance of every deep-filtered bin, then the
        tone feature of every bin (with tone_frames), then the onset feature of every bin (with onset_frames), then the
        impulse feature's impulse_blocks shares, then the pitch feature (with pitch_lag: df_bins + 1)."""
        return (
            self.n_bins * (1 + bool(self.tone_frames) + bool(self.onset_frames))
            + 2 * self.df_bins
            + self.impulse_blocks
            + (self.df_bins + 1 if self.pitch_lag else 0)
        )

    @property
    def n_outputs(self) -> int:
        """Head output per frame: the mask, the speech logit, the deep filter's complex taps, then the time gate's
        gate_blocks logits (twice: the low band's, then the high band's, with gate_split), then the pitch tap's complex
        gains of the deep-filtered bins (with pitch_lag)."""
        return self.pitch_offset + (2 * self.df_bins if self.pitch_lag else 0)

    @property
    def pitch_offset(self) -> int:
        """The first of the pitch tap's head outputs."""
        return self.gate_offset + self.gate_blocks * (2 if self.gate_split else 1)

    @property
    def gate_offset(self) -> int:
        """The first of the time gate's head outputs."""
        return self.n_bins + 1 + 2 * self.df_bins * self.df_order

    @property
    def df_history(self) -> int:
        """Past frames of the deep-filtered bins kept in the state (the phase feature needs one)."""
        return max(self.df_order - 1, 1) if self.df_bins else 0


# The optional features in the order of their core input columns (the growers above append columns).
class Enhancer(StreamingModel):
    """See the module docstring. d_in = hop (audio samples per block), d_out = hop + 1 (audio block, speech prob)."""

    stream_tolerance = 1e-4
    cfg: EnhancerConfig
    core: MambaStack | GLAStack
    dft: torch.Tensor
    dft64: torch.Tensor  # dft in float64 (its float32 entries), for `analyze`; not a buffer: .float() leaves it
    idft: torch.Tensor
    gate_curve: torch.Tensor  # with gate_blocks only

    def __init__(self, cfg: EnhancerConfig):
        super().__init__()
        self.cfg = cfg
        nb, nf = cfg.n_bins, cfg.n_features
        if cfg.core == "mamba":
            self.core = MambaStack(
                MambaConfig(d_model=cfg.d_model, n_layers=cfg.n_layers, d_in=nf, d_state=cfg.d_state, expand=cfg.expand)
            )
        else:
            self.core = GLAStack(
                GLAConfig(
                    d_model=cfg.d_model, n_layers=cfg.n_layers, d_in=nf, n_heads=cfg.n_heads, mlp_ratio=cfg.mlp_ratio
                )
            )
        self.head = nn.Linear(cfg.d_model, cfg.n_outputs)
        self.front = TimeFront(cfg.front_channels, cfg.front_blocks) if cfg.front_channels else None
        with torch.no_grad():  # start close to "pass everything": mask ~ 0.88, deep filter taps 0
            self.head.bias[: nb + 1].fill_(2.0)
            self.head.bias[nb + 1 :].zero_()
            self.head.weight[nb + 1 :].zero_()
        dft, idft = dft_matrices(cfg.n_fft, cfg.hop)  # windows folded in, real/imaginary interleaved
        self.register_buffer("dft", dft, persistent=False)
        self.register_buffer("idft", idft, persistent=False)
        self.dft64 = dft.double()
        if cfg.gate_blocks:
            self.register_buffer("gate_curve", gate_curve(cfg.n_fft, cfg.gate_blocks), persistent=False)
        self.d_in, self.d_out = cfg.hop, cfg.hop + 1

    # ---------------------------------------------------------------------------------------- streaming API
    def init_state(self, batch: int = 1, device=None, dtype=torch.float32) -> State:
        batch = check_batch(batch)
        device = device if device is not None else self.head.weight.device
        keep = self.cfg.n_fft - self.cfg.hop
        state: State = {
            "prev": torch.zeros(batch, keep, device=device, dtype=dtype),
            "tail": torch.zeros(batch, keep, device=device, dtype=dtype),
        }
        if self.cfg.snr_adapt:  # the smoothed speech and noise powers of the SNR estimate (enhancer_gain.py)
            state["level"] = torch.full((batch, 2), LEVEL_START, device=device, dtype=dtype)
        if self.cfg.df_bins:
            state["dfhist"] = torch.zeros(batch, self.cfg.df_history, self.cfg.df_bins, 2, device=device, dtype=dtype)
        if self.cfg.tone_frames:
            shape = (batch, self.cfg.tone_frames + 1, self.cfg.n_bins, 2)
            state["tonehist"] = torch.zeros(shape, device=device, dtype=dtype)
        if self.cfg.onset_frames:
            state["onsetref"] = torch.zeros(batch, 1, self.cfg.n_bins, device=device, dtype=dtype)
        if self.cfg.pitch_lag:
            state["pitchprev"] = torch.zeros(batch, self.cfg.pitch_lag, device=device, dtype=dtype)
        if self.front is not None:
            state.update(self.front.init_state(batch, device, dtype))
        for k, v in self.core.init_state(batch, device).items():
            state[f"core.{k}"] = v
        return state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Offline: x (B, T, hop) audio blocks -> (B, T, hop + 1), from a fresh state."""
        return self._run(x, self.init_state(x.shape[0], x.device, x.dtype), step=False)[0]

    def stream(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        state = check_stream_input(self, x, state)  # shapes, finite samples; dtypes cast (models/enhancer_checks.py)
        return self._run(x, state, step=False)

    def step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        if x_t.dim() != 2 or x_t.shape[-1] != self.d_in:
            raise ValueError(f"x_t must be one block (batch, hop={self.d_in}), got shape {tuple(x_t.shape)}")
        if not inputs_trusted():  # inside it the check is x's shape, checked above (x_t[:, None] costs a torch op)
            state = check_stream_input(self, x_t[:, None], state)
        fast = self._fused_step(x_t.shape[0])
        if fast is None:
            return self._run(x_t[:, None], state, step=True)
        frame = numpy_frame(self, fast) if x_t.device.type == "cpu" else None
        if frame is not None and x_t.dtype == frame.torch_dtype:  # numpy: a third of torch's per-op cost
            y = self._numpy_frame_step(x_t.detach().numpy(), state, frame)
            if y is not None:
                return torch.from_numpy(y), state
        return self._fast_frame(x_t, state, fast)

    def numpy_step(self, x: np.ndarray, state: State) -> np.ndarray | None:
        """`step` for a caller that holds its samples in numpy and its state on the CPU (the enhancer node): one block
        x (B, hop) in the weights' dtype -> (B, 1, hop + 1), the state written in place, with no torch call around
        the numpy frame (each costs a few us of a ~500 us frame). None where the numpy frame does not run (training
        or grad mode, not a fused GLA model, another dtype, a state it cannot write in place): call `step` then.
        Unchecked: x must be finite and the state this model's (`step` outside trusted_inputs() checks them)."""
        fast = self._fused_step(x.shape[0])
        frame = None if fast is None else numpy_frame(self, fast)
        return None if frame is None or x.dtype != frame.dtype else self._numpy_frame_step(x, state, frame)

    def _fused_step(self, batch: int) -> FastGLAStep | None:
        """The fused inference step where this config has one (n_fft = 2 hop, no front) and the batch is not empty."""
        if self.cfg.n_fft != 2 * self.cfg.hop or not batch or self.front is not None:
            return None
        return fast_step(self)

    def _numpy_frame_step(self, x: np.ndarray, state: State, frame: NumpyFrame) -> np.ndarray | None:
        views = self._state_views(state, frame.torch_dtype)  # written in place (None: torch's step)
        if views is None:
            return None
        y = frame(x, views)
        # written behind autograd's back: the versions bumped as a torch in-place op bumps them (~1.5 us), so a tensor
        # a graph saved for backward (not requiring grad: state_views cannot tell) is refused there, not read changed
        # (a silently wrong gradient)
        increment_version(list(state.values()))
        return y

    def _state_views(self, state: State, dtype: torch.dtype) -> dict | None:
        """state_views(state, dtype) (None: strided, tracked or shared entries), kept from the last frame while `state`
        holds the same tensors under the same keys on the same memory and none requires grad: the numpy frame writes
        them in place, so a node's state between frames. Rebuilding the views costs ~6 torch calls an entry, ~7 % of a
        frame."""
        kept = self.__dict__.get("_views")
        if (
            kept is not None
            and kept[0] is state
            and len(kept[1]) == len(state)
            and all(
                k == j and v is t and p == v.data_ptr() and not v.requires_grad
                for (k, v), (j, t, p) in zip(state.items(), kept[1])
            )
        ):
            return kept[2]
        views = state_views(state, dtype)
        entries = [(k, v, v.data_ptr()) for k, v in state.items()]
        self.__dict__["_views"] = None if views is None else (state, entries, views)
        return views

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        self._forget_fast_step()  # assign=True puts new parameter objects in place
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _apply(self, fn, recurse: bool = True):
        self._forget_fast_step()  # .to(), .double(), ... may replace the parameters' data
        out = super()._apply(fn, recurse)
        self.dft64 = self.dft.double()  # on dft's device
        return out

    def _forget_fast_step(self) -> None:
        for name in ("_fast_params", "_fast_key", "_fast", "_numpy_key", "_numpy", "_views"):
            self.__dict__.pop(name, None)

    # ---------------------------------------------------------------------------------------- internals
    def _fast_frame(self, x_t: torch.Tensor, state: State, fast: FastGLAStep) -> tuple[torch.Tensor, State]:
        """`step` for inference with n_fft = 2 hop: the arithmetic of `_run` for one block in fewer ops; updates
        `state` in place (allowed for `step`) and returns it."""
        B, H, nb = x_t.shape[0], self.cfg.hop, self.cfg.n_bins
        sig = torch.cat([state["prev"], x_t], 1)  # (B, n_fft)
        spec = analyze(sig, self.dft64).view(B, 1, nb, 2)  # real, imaginary
        frames = self._df_frames(spec, state.get("dfhist"))
        power = spec.square().sum(-1)  # (B, 1, bins): for the features and the adaptive floor
        feat, hists, pspec = self._features(spec, frames, power, state, 1, sig.view(B, 1, -1), sig)
        logits = fast(feat.select(1, 0), state)  # (B, 1, outputs); narrow/select: one op each
        out, speech, hist, level = self._filter(spec, logits, frames, state.get("level"), power, 1, pspec)
        curve = getattr(self, "gate_curve", None)
        seg = synthesize(out.view(B, nb * 2), logits.view(B, -1), self.idft, self.cfg, curve)  # (B, n_fft)
        y = torch.cat([seg.narrow(1, 0, H).add_(state["tail"]), speech.select(1, 0)], 1).unsqueeze(1)
        state["prev"], state["tail"] = sig.narrow(1, H, H), seg.narrow(1, H, H)
        if hist is not None:
            state["dfhist"] = hist
        if level is not None:
            state["level"] = level
        state.update(hists)
        return y, state

    def _df_frames(self, spec: torch.Tensor, hist: torch.Tensor | None) -> torch.Tensor | None:
        """The deep-filtered bins of the kept past frames and of the new ones, as complex (B, history + T, df_bins)."""
        if hist is None:
            return None
        return torch.cat([torch.view_as_complex(hist), torch.view_as_complex(spec.narrow(2, 0, self.cfg.df_bins))], 1)

    def _features(
        self,
        spec: torch.Tensor,
        frames: torch.Tensor | None,
        power: torch.Tensor,
        state: State,
        T: int,
        wave: torch.Tensor,
        sig: torch.Tensor,
    ) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        """Core input (B, T, n_features) from the frames' spectra (B, T, bins, 2) and samples (`wave`, (B, T, n_fft),
        unwindowed) and the features' new state entries
        ("tonehist", "onsetref"; read from `state`, which is not changed): the compressed magnitudes, then for each
        deep-filtered bin the compressed phase advance X_t conj(X_t-1) (real, imaginary), which tells a harmonic's
        exact frequency inside its 50 Hz bin (the filter taps need it), then each bin's phase-advance steadiness, then
        each bin's onset contrast, then the frame's energy share per block (models/enhancer_features.py), then the pitch
        feature (models/enhancer_pitch.py; its spectra one pitch period back are returned last for the filter, else
        None, and "pitchprev" is a new state entry). `frames`: `_df_frames`; T: the number of frames, an int; sig: the
        samples (B, n_fft - hop + T hop)."""
        cfg = self.cfg
        parts = [magnitude(power, cfg.compress)]
        new: State = {}
        tonehist = state.get("tonehist")
        if tonehist is not None:  # the tone feature computes the phase advance of every bin: reused
            tone, new["tonehist"], p = steadiness(nonempty(spec, power), tonehist, cfg.tone_frames)
            if frames is not None:
                parts.append(compressed_advance(p.narrow(2, 0, cfg.df_bins), cfg.compress))
            parts.append(tone)
        elif frames is not None:
            parts.append(phase_advance(frames, cfg.df_history, T, cfg.compress))
        onsetref = state.get("onsetref")
        if onsetref is not None:
            contrast, new["onsetref"] = onset(parts[0], onsetref, cfg.onset_frames)
            parts.append(contrast)
        if cfg.impulse_blocks:
            parts.append(impulse(wave, cfg.impulse_blocks))
        pspec = None
        if cfg.pitch_lag:
            L, W = cfg.pitch_lag, cfg.n_fft
            ext = torch.cat([state["pitchprev"], sig], 1)
            pspec, corr = pitch_frames(ext, W, cfg.hop, L, cfg.pitch_min_lag, self.dft64.narrow(1, 0, 2 * cfg.df_bins))
            parts.append(pitch_feature(spec.narrow(2, 0, cfg.df_bins), pspec, corr))
            new["pitchprev"] = ext.narrow(1, ext.shape[1] - (W - cfg.hop) - L, L)
        return (parts[0] if len(parts) == 1 else torch.cat(parts, -1)), new, pspec

    def _filter(
        self,
        spec: torch.Tensor,
        logits: torch.Tensor,
        frames: torch.Tensor | None,
        level: torch.Tensor | None,
        power: torch.Tensor,
        T: int,
        pspec: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The enhanced spectra (B, T, bins, 2), the speech probabilities (B, T, 1) and the new deep-filter history:
        Y = mask X on every bin, plus on the lowest df_bins bins a complex filter over the current and past frames,
        sum_k C_k(t) X(t - k) with taps C = tanh(logits) (a residual on the mask: zero taps = mask only). In the head's
        output the taps of a bin are stored oldest frame first: (df_bins, order, re/im), k = order - 1 .. 0. With
        cfg.snr_adapt and a `level` state the floor follows the estimated SNR (enhancer_gain.py; `power` = |X|^2), and
        the new level is returned last (else None). T: the number of frames, an int (the deep filter's offsets are
        plain ints, not scalar tensor arithmetic: ~8 ops per frame). pspec: with pitch_lag, the deep-filtered bins one pitch
        period back (B, T, df_bins, 2), filtered by one more tap each (models/enhancer_pitch.py)."""
        cfg = self.cfg
        nb = cfg.n_bins
        out = torch.sigmoid(logits.narrow(-1, 0, nb + 1))
        speech, mask = out.narrow(-1, nb, 1), out.narrow(-1, 0, nb)
        if cfg.snr_adapt and level is not None:
            mask, level = adaptive_mask(mask, power, level, cfg)
        elif cfg.mask_floor:
            mask = mask * (1 - cfg.mask_floor) + cfg.mask_floor
        y = spec * mask[..., None]
        if frames is None:
            return y, speech, None, level
        df, K = cfg.df_bins, cfg.df_order
        n = cfg.df_history + T  # frames: the kept past frames, then these T
        past = frames.narrow(1, n - T - (K - 1), T + K - 1).unfold(1, K, 1)  # (B, T, df, K): frames t - K + 1 .. t
        taps = torch.view_as_complex(torch.tanh(logits.narrow(-1, nb + 1, 2 * df * K)).view(-1, T, df, K, 2))
        y.narrow(2, 0, df).add_(torch.view_as_real((taps * past).sum(-1)))
        if pspec is not None:
            ptap = torch.tanh(logits.narrow(-1, cfg.pitch_offset, 2 * df)).unflatten(-1, (df, 2))
            y.narrow(2, 0, df).add_(torch.view_as_real(torch.view_as_complex(ptap) * torch.view_as_complex(pspec)))
        return y, speech, torch.view_as_real(frames.narrow(1, n - cfg.df_history, cfg.df_history)), level

    def _run(self, x: torch.Tensor, state: State, step: bool) -> tuple[torch.Tensor, State]:
        check_frames(x, self.d_in)
        check_dtype(self, x)  # was torch's 'expected m1 and m2 to have the same dtype' for float64 x
        cfg = self.cfg
        B, T, H = x.shape
        W, keep = cfg.n_fft, cfg.n_fft - cfg.hop
        if T == 0:
            return x.new_zeros(B, 0, self.d_out), state
        flat, front = x.reshape(B, T * H), {}
        if self.front is not None:  # the cascade's time-domain stage first
            flat, front = self.front.stream(flat, state)
        sig = torch.cat([state["prev"], flat], 1)
        frames = sig[:, None] if T == 1 else sig.unfold(1, W, H)  # (B, T, W)
        spec = analyze(frames, self.dft64).unflatten(-1, (cfg.n_bins, 2))  # (B, T, bins, 2): real, imaginary
        df_frames = self._df_frames(spec, state.get("dfhist"))
        power = spec.square().sum(-1)  # (B, T, bins)
        feat, hists, pspec = self._features(spec, df_frames, power, state, T, frames, sig)
        fast = fast_step(self) if step else None
        core_state: State | None = None
        if fast is not None:
            logits = fast(feat[:, 0], state)  # updates the core state in place, as GLAStack.step does
        else:
            core_in = {k[5:]: v for k, v in state.items() if k[:5] == "core."}
            if step:
                h, core_state = self.core.step(feat[:, 0], core_in)
            else:
                h, core_state = self.core.stream(feat, core_in)
            logits = self.head(h)
        out, speech, hist, level = self._filter(spec, logits, df_frames, state.get("level"), power, T, pspec)
        seg = synthesize(out.flatten(-2), logits, self.idft, cfg, getattr(self, "gate_curve", None))  # (B, T, W)
        r = W // H
        if r == 2:  # block t = first half of frame t + second half of frame t - 1 (the tail for t = 0)
            y = seg[..., :H] + torch.cat([state["tail"][:, None], seg[:, :-1, H:]], 1)
            tail = seg[:, -1, H:]
        else:
            ext = torch.cat([state["tail"], x.new_zeros(B, (T + r - 1) * H - keep)], 1)
            for i in range(r):
                block = seg[..., i * H : (i + 1) * H].reshape(B, T * H)
                ext = ext + nn.functional.pad(block, (i * H, (r - 1 - i) * H))
            y, tail = ext[:, : T * H].reshape(B, T, H), ext[:, T * H :]
        new: State = {"prev": sig[:, -keep:], "tail": tail}
        if hist is not None:
            new["dfhist"] = hist
        if level is not None:
            new["level"] = level
        new.update(hists)
        new.update(front)
        if core_state is None:  # the fast step updated the core's entries of `state` in place
            new.update((k, v) for k, v in state.items() if k[:5] == "core.")
        else:
            new.update(("core." + k, v) for k, v in core_state.items())
        return torch.cat([y, speech], -1), new

    def with_deep_filter(self, df_bins: int, df_order: int) -> Enhancer:
        """A copy of this mask-only model with a deep filter added, computing exactly the same output: the new core
        inputs (phase features) and the new filter taps start at zero. Training starts from it (`--init` with
        `--df-bins`), so the filter is learned on top of a trained mask instead of from scratch."""
        return grown(self, "df_bins", df_bins=df_bins, df_order=df_order)

    def with_tone_feature(self, tone_frames: int) -> Enhancer:
        """This model with the tone feature added (tone_frames >= 2), computing the same output (`--tone-frames`)."""
        return grown(self, "tone_frames", tone_frames=tone_frames)

    def with_onset_feature(self, onset_frames: int) -> Enhancer:
        """This model with the onset feature added (onset_frames >= 1), computing the same output (`--onset-frames`)."""
        if onset_frames < 1:
            raise ValueError(f"onset_frames must be >= 1, got {onset_frames}")
        return grown(self, "onset_frames", onset_frames=onset_frames)

    def with_impulse_feature(self, impulse_blocks: int) -> Enhancer:
        """This model with the impulse feature added (impulse_blocks: a divisor >= 2 of n_fft), computing the same
        output (`--impulse-blocks`)."""
        return grown(self, "impulse_blocks", impulse_blocks=impulse_blocks)

    def with_time_gate(self, gate_blocks: int) -> Enhancer:
        """This model with the time gate added (gate_blocks: a divisor >= 2 of n_fft), computing the same output
        (`--gate-blocks`)."""
        return grown(self, "gate_blocks", gate_blocks=gate_blocks)

    def with_split_gate(self, gate_split: int) -> Enhancer:
        """This model's time gate in two bands split at bin gate_split, the high band's rows a copy of the gate's, so
        that it computes the same output (`--gate-split-hz`)."""
        if not self.cfg.gate_blocks:
            raise ValueError("a second band of the time gate needs a model with the time gate (--gate-blocks)")
        new = grown(self, "gate_split", gate_split=gate_split)
        gate = slice(self.cfg.gate_offset, self.cfg.n_outputs)
        with torch.no_grad():
            for p in (new.head.weight, new.head.bias):
                p[self.cfg.n_outputs :] = p[gate]
        return new

    def with_pitch_input(self, pitch_lag: int) -> Enhancer:
        """This model with the pitch input added (lags up to pitch_lag samples; models/enhancer_pitch.py), computing the
        same output (`--pitch-lag`)."""
        return grown(self, "pitch_lag", pitch_lag=pitch_lag)

    # ---------------------------------------------------------------------------------------- audio helpers
    @torch.no_grad()
    def enhance(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Offline convenience: audio (B, N) -> (enhanced (B, N) aligned with the input, speech prob (B, frames)).
        The input is zero-padded at the end so that every sample is enhanced; the n_fft - hop samples of overlap-add
        delay are removed."""
        if audio.dim() != 2:  # was 'not enough values to unpack (expected 2, got 1)'
            raise ValueError(
                f"audio must be (batch, samples), got shape {tuple(audio.shape)}: one signal is audio[None]"
            )
        cfg = self.cfg
        B, N = audio.shape
        keep = cfg.n_fft - cfg.hop
        T = -(-(N + keep) // cfg.hop)
        x = nn.functional.pad(audio, (0, T * cfg.hop - N)).reshape(B, T, cfg.hop)
        y = self.forward(x)
        return y[..., :-1].reshape(B, T * cfg.hop)[:, keep : keep + N], y[..., -1]  # -1: ambiguous for batch 0
