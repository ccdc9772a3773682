"""Cache-aware streaming Conformer encoder (after NeMo's cache-aware FastConformer,
"Stateful Conformer with Cache-based Inference for Streaming ASR", Noroozi et al. 2023).

Shapes: input features (batch, frames, d_in); output (batch, frames // subsampling, d_model).

Pieces, all causal so that a bounded cache makes streaming exact:
  * subsampling: log2(subsampling) causal Conv1d stages (kernel 3, stride 2, one frame of left padding, ReLU)
    then a Linear to d_model. Output frame j of a stage covers input frames [2j-1, 2j+1], so T input frames give
    floor(T/2) outputs and no output needs a frame beyond the end of its own stride block.
  * blocks (macaron): x + FFN/2, x + MHSA, x + conv module, x + FFN/2, LayerNorm. Every sub-layer is pre-LN.
  * MHSA with rotary positions (the absolute sub-frame index of each frame; the stream keeps it in the cache)
    and the "chunked_limited" mask: frames are grouped in chunks of R+1; a frame attends every frame of its own
    chunk and the L frames before the chunk (L a multiple of R+1). R is the lookahead.
  * conv module: Linear d->2d, GLU, causal depthwise Conv1d (kernel k, k-1 frames of left padding), LayerNorm
    (not BatchNorm: no batch statistics, so streaming is exact), SiLU, Linear d->d.

Streaming (the StreamingModel API of models/streaming.py, option `att_context`): `init_state(batch,
att_context=...)`, then `stream(x_chunk, state) -> (y_chunk, state)` for input chunks of any length (including 0 or 1
frames) and `flush(state)` at end of stream; `forward(x, att_context=...)` is the offline run they equal. The state
is the flat dict form of a `ConformerCache`, which holds
  * per subsampling stage the frames not yet consumed (one frame of left context + an incomplete stride block),
  * sub-frames waiting for their chunk of R+1 to fill up,
  * per layer the last L attention keys and values (rotary already applied: they are what the attention reads,
    so a new chunk costs no re-projection of the left context) and the last k-1 conv-module inputs,
  * `offset` (absolute sub-frame index of the next chunk, for rotary positions) and `valid` (how many of the L
    key/value slots hold real frames; the zero-filled rest is masked).
Streaming output equals `forward` with the same att_context to fp32 rounding (stream_tolerance: max abs diff 1e-5).
A stream may only use one of cfg.att_context_sizes (the contexts the model was built and trained for).

Latency (input frames): a sub-frame waits for the rest of its chunk (R sub-frames) and for its own stride block,
so `latency_frames((L, R)) = (R + 1) * subsampling - 1`, measured from the first input frame of a sub-frame.
"""

from __future__ import annotations

import math
import numbers
import random
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .config import DictConfig
from .streaming import State, StreamingModel, check_batch, check_dtype, check_finite, check_frames

__all__ = ["ConformerConfig", "ConformerCache", "ConformerEncoder", "chunked_limited_mask"]

_SUB_KERNEL, _SUB_STRIDE = 3, 2
_SUB_CTX = _SUB_KERNEL - _SUB_STRIDE  # left context (and left padding) of each subsampling stage


@dataclass
class ConformerConfig(DictConfig):
    d_in: int = 80
    d_model: int = 144
    n_layers: int = 4
    n_heads: int = 4
    ff_mult: int = 4
    conv_kernel: int = 9
    subsampling: int = 4
    sub_channels: int = 0  # 0: d_model
    att_context_sizes: list = field(default_factory=lambda: [[64, 3]])  # [[L, R], ...]; the first is the default
    dropout: float = 0.0
    rope_base: float = 10000.0

    def __post_init__(self):
        if not isinstance(self.att_context_sizes, (list, tuple)):
            raise ValueError(f"att_context_sizes must be a list of [L, R] pairs, got {self.att_context_sizes!r}")
        # each entry checked before use: [[3]] was 'not enough values to unpack', [[2.5, 1]] became [2, 1] unsaid
        self.att_context_sizes = [list(check_att_context(c, "att_context_sizes entry")) for c in self.att_context_sizes]
        for name in ("d_in", "d_model", "n_layers", "n_heads", "ff_mult", "conv_kernel"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ConformerConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.sub_channels < 0:  # was torch's 'Trying to create tensor with negative dimension -1'
            raise ValueError(f"ConformerConfig.sub_channels must be >= 0 (0: d_model), got {self.sub_channels}")
        if not (0 < self.rope_base < math.inf and 0 <= self.dropout < 1):  # rope_base 0: every output NaN
            raise ValueError(f"need rope_base > 0 and finite, dropout in [0, 1), got {self.rope_base}, {self.dropout}")
        if self.subsampling not in (2, 4, 8):
            raise ValueError(f"ConformerConfig.subsampling must be 2, 4 or 8, got {self.subsampling}")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"d_model={self.d_model} must split into n_heads={self.n_heads} heads of even size (rotary)"
            )
        if not self.att_context_sizes:
            raise ValueError("att_context_sizes must list at least one [L, R] pair")


def _whole(v) -> bool:
    """An int (numpy's too) or a whole float; not a bool."""
    if isinstance(v, bool):
        return False
    return isinstance(v, numbers.Integral) or (isinstance(v, numbers.Real) and float(v).is_integer())


def check_att_context(ctx, what: str = "att_context") -> tuple[int, int]:
    """Validate an [L, R] attention context: R >= 0 lookahead frames, L >= 0 left frames, L % (R+1) == 0. The two
    must be whole numbers (ints, whole floats or 0-d integer tensors): 2.5 is an error, not 2."""
    try:  # a list, tuple, tensor or numpy array of two
        items = None if isinstance(ctx, (str, bytes, dict)) else [getattr(v, "item", lambda v=v: v)() for v in ctx]
        if items is not None and any(getattr(v, "ndim", 0) for v in ctx):  # an array's one-element rows: nested
            items = None
    except (TypeError, ValueError, RuntimeError):  # not iterable, or an element of more than one value
        items = None
    if items is None or len(items) != 2 or not all(_whole(v) for v in items):
        raise ValueError(f"{what} must be a pair [L, R] of whole numbers, got {ctx!r}")
    left, right = (int(v) for v in items)
    if left < 0 or right < 0:
        raise ValueError(f"att_context [L, R] must be >= 0, got {[left, right]}")
    if left % (right + 1):
        raise ValueError(f"att_context L={left} must be a multiple of the chunk size R+1={right + 1}")
    return left, right


def chunked_limited_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """(Tq, Tk) bool, True where query position q may attend key position k: same chunk of R+1 frames or one of
    the L/(R+1) chunks before it. Negative key positions (empty cache slots) are never visible."""
    size = right + 1
    qc = torch.div(q_pos, size, rounding_mode="floor")[:, None]
    kc = torch.div(k_pos, size, rounding_mode="floor")[None, :]
    return (kc <= qc) & (kc >= qc - left // size) & (k_pos[None, :] >= 0)


def rotary_tables(pos: torch.Tensor, head_dim: int, base: float, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin), each (T, head_dim), for absolute positions pos (T,); angles computed in float64."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64, device=pos.device) / head_dim)
    ang = pos.to(torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], -1)
    return ang.cos().to(dtype), ang.sin().to(dtype)


def _rotary(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotate-half rotary embedding of x (B, H, T, hd) with tables from rotary_tables."""
    cos, sin = rope
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin


class CausalSubsampling(nn.Module):
    """log2(factor) causal stride-2 Conv1d stages + Linear. `forward` is offline; `stream` carries per-stage buffers."""

    def __init__(self, d_in: int, channels: int, d_model: int, factor: int):
        super().__init__()
        n = int(round(math.log2(factor)))
        self.stages: tuple[nn.Conv1d, ...] = tuple(
            nn.Conv1d(d_in if i == 0 else channels, channels, _SUB_KERNEL, _SUB_STRIDE) for i in range(n)
        )  # typed view of `convs`
        self.convs = nn.ModuleList(self.stages)
        self.out = nn.Linear(channels, d_model)

    def in_channels(self, stage: int) -> int:
        return self.stages[stage].in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d_in) -> (B, T // factor, d_model)
        h = x.transpose(1, 2)
        for conv in self.stages:
            if h.shape[-1] < _SUB_STRIDE:
                h = h.new_zeros(h.shape[0], conv.out_channels, 0)
                continue
            h = F.relu(conv(F.pad(h, (_SUB_CTX, 0))))
        return self.out(h.transpose(1, 2))

    def stream(self, x: torch.Tensor, buffers: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Each buffer (B, C, ctx + pending) starts as ctx zeros (= the left padding)."""
        h = x.transpose(1, 2)
        new = []
        for conv, buf in zip(self.stages, buffers):
            buf = torch.cat([buf, h], dim=-1)
            n = (buf.shape[-1] - _SUB_CTX) // _SUB_STRIDE
            if n > 0:
                h = F.relu(conv(buf[..., : _SUB_CTX + _SUB_STRIDE * n]))
                buf = buf[..., _SUB_STRIDE * n :]
            else:
                h = buf.new_zeros(buf.shape[0], conv.out_channels, 0)
            new.append(buf)
        return self.out(h.transpose(1, 2)), new


class FeedForward(nn.Module):
    def __init__(self, d: int, mult: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d),
            nn.Linear(d, d * mult),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(d * mult, d),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)


class ConformerBlock(nn.Module):
    def __init__(self, cfg: ConformerConfig):
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        self.ff1 = FeedForward(d, cfg.ff_mult, cfg.dropout)
        self.att_norm = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.att_out = nn.Linear(d, d)
        self.conv_norm = nn.LayerNorm(d)
        self.pw1 = nn.Linear(d, 2 * d)
        self.dw = nn.Conv1d(d, d, cfg.conv_kernel, groups=d)
        self.dw_norm = nn.LayerNorm(d)
        self.pw2 = nn.Linear(d, d)
        self.ff2 = FeedForward(d, cfg.ff_mult, cfg.dropout)
        self.out_norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, rope, k_prev, v_prev, conv_prev, mask):
        """x (B, T, d) with rotary tables `rope` for its absolute positions; k_prev/v_prev (B, H, Lc, hd) cached
        keys/values; conv_prev (B, d, k-1) previous conv inputs; mask bool, broadcastable to (B, H, T, Lc + T).
        Returns (x, keys (B, H, Lc+T, hd), values, conv inputs (B, d, k-1+T))."""
        b, t, d = x.shape
        h = self.n_heads
        x = x + 0.5 * self.ff1(x)
        q, k, v = self.qkv(self.att_norm(x)).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k = _rotary(q, rope), _rotary(k, rope)
        k_all, v_all = torch.cat([k_prev, k], 2), torch.cat([v_prev, v], 2)
        a = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask)
        x = x + self.drop(self.att_out(a.transpose(1, 2).reshape(b, t, d)))
        c = F.glu(self.pw1(self.conv_norm(x)), dim=-1).transpose(1, 2)  # (B, d, T)
        c_all = torch.cat([conv_prev, c], -1)
        c = F.silu(self.dw_norm(self.dw(c_all).transpose(1, 2)))
        x = x + self.drop(self.pw2(c))
        x = x + 0.5 * self.ff2(x)
        return self.out_norm(x), k_all, v_all, c_all


@dataclass
class ConformerCache:
    """Everything a stream carries between calls (see the module docstring). Tensors are never mutated in place."""

    left: int
    right: int
    offset: int  # absolute sub-frame index of the next frame the layers will see
    valid: int  # how many of the `left` key/value slots hold real frames (the newest ones)
    sub: list  # per subsampling stage (B, C, 1 + pending)
    pending: torch.Tensor  # (B, p, d_model) sub-frames waiting for a full chunk, p <= R
    keys: list  # per layer (B, H, L, hd)
    values: list
    conv: list  # per layer (B, d_model, k-1)

    def as_state(self) -> State:
        """The flat StreamingModel state: ints left/right/offset/valid, tensors pending, sub.i, keys.i, values.i,
        conv.i."""
        out: State = {
            "left": self.left,
            "right": self.right,
            "offset": self.offset,
            "valid": self.valid,
            "pending": self.pending,
        }
        for name in ("sub", "keys", "values", "conv"):
            for i, t in enumerate(getattr(self, name)):
                out[f"{name}.{i}"] = t
        return out

    @classmethod
    def from_state(cls, state: State) -> ConformerCache:
        def seq(name):
            return [
                state[k]
                for k in sorted((k for k in state if k.startswith(name + ".")), key=lambda k: int(k.split(".")[1]))
            ]

        try:
            return cls(
                int(state["left"]),
                int(state["right"]),
                int(state["offset"]),
                int(state["valid"]),
                seq("sub"),
                state["pending"],
                seq("keys"),
                seq("values"),
                seq("conv"),
            )
        except KeyError as e:
            raise ValueError(f"not a ConformerEncoder state: no {e}") from None


class ConformerEncoder(StreamingModel):
    """The cached Conformer as a StreamingModel: stride = subsampling, option att_context ([L, R], default the first
    of cfg.att_context_sizes), latency (R + 1) * subsampling - 1 input frames, a flush for the last partial chunk."""

    stream_tolerance = 1e-5
    setting_state = ("left", "right")  # the att_context
    # |x| beyond it overflows the LayerNorms' float32 squares (at ~1e19 after the subsampling, 1e4 to spare): one frame
    # of 1e38 gave NaN out and into the key/value cache, and every later output was NaN
    input_limit = 1e15

    def state_growth_axis(self, key: str) -> int | None:
        return 1 if key == "pending" else 2 if key.startswith("sub.") else None  # sub-frames held; conv context

    def __init__(self, cfg: ConformerConfig):
        super().__init__()
        self.cfg = cfg
        self.stride = cfg.subsampling
        self.subsampling = CausalSubsampling(cfg.d_in, cfg.sub_channels or cfg.d_model, cfg.d_model, cfg.subsampling)
        self.layers = nn.ModuleList(ConformerBlock(cfg) for _ in range(cfg.n_layers))

    @property
    def d_in(self) -> int:
        return self.cfg.d_in

    @property
    def d_out(self) -> int:
        return self.cfg.d_model

    # ------------------------------------------------------------------------------------------ contexts
    @property
    def default_att_context(self) -> tuple[int, int]:
        return tuple(self.cfg.att_context_sizes[0])

    def sample_att_context(self, rng: random.Random | None = None) -> tuple[int, int]:
        """Multi-latency training: one [L, R] drawn uniformly from cfg.att_context_sizes."""
        sizes = self.cfg.att_context_sizes
        i = rng.randrange(len(sizes)) if rng is not None else int(torch.randint(len(sizes), (1,)).item())
        return tuple(sizes[i])

    def _context(self, att_context) -> tuple[int, int]:
        if att_context is None:
            return self.sample_att_context() if self.training else self.default_att_context
        return check_att_context(att_context)

    def latency_frames(self, att_context=None) -> int:
        """Input frames between the first input frame of a sub-frame and the moment its output is available."""
        _, right = check_att_context(att_context) if att_context is not None else self.default_att_context
        return (right + 1) * self.cfg.subsampling - 1

    def ready_at(self, j: int, att_context=None) -> int:
        """Sub-frame j is returned with its chunk of R+1, when the last input frame of the chunk's last one arrives."""
        _, right = check_att_context(att_context) if att_context is not None else self.default_att_context
        return (j // (right + 1) + 1) * (right + 1) * self.cfg.subsampling - 1

    def ready_period(self, att_context=None) -> int:
        _, right = check_att_context(att_context) if att_context is not None else self.default_att_context
        return right + 1

    # ------------------------------------------------------------------------------------------ offline
    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Valid output frames for `lengths` valid input frames: lengths // subsampling."""
        return torch.div(lengths.long(), self.cfg.subsampling, rounding_mode="floor")

    @staticmethod
    def _check_lengths(lengths, b: int, t: int, device) -> torch.Tensor:
        """lengths as a (B,) long tensor of whole numbers in [0, T] (None: all T). A (1,) tensor was broadcast to
        every sequence, 6.5 truncated to 6, a list an AttributeError, a (B+1,) one torch's size mismatch."""
        if lengths is None:
            return torch.full((b,), t, dtype=torch.long, device=device)
        got = torch.as_tensor(lengths, device=device)
        if got.shape != (b,):
            raise ValueError(f"lengths must be one length per sequence, shape ({b},), got shape {tuple(got.shape)}")
        if got.is_complex() or got.dtype == torch.bool or not bool((got == got.round()).all()):
            raise ValueError(f"lengths must be whole numbers of input frames, got {got.tolist()}")
        if b and not (0 <= int(got.min()) and int(got.max()) <= t):
            raise ValueError(f"lengths must be in [0, {t}] (the frames of x), got {got.tolist()}")
        return got.long()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None, att_context=None) -> torch.Tensor:
        """x (B, T, d_in), lengths (B,) valid input frames (None: all) -> y (B, T // subsampling, d_model); frames
        past a sequence's output length (`output_lengths(lengths)`) are zero. In training mode with
        att_context=None a context is drawn from cfg.att_context_sizes (multi-latency training)."""
        check_frames(x, self.cfg.d_in)
        check_dtype(self, x)
        self._check_range(x)
        left, right = self._context(att_context)
        b = x.shape[0]
        lengths = self._check_lengths(lengths, b, x.shape[1], x.device)
        out_len = self.output_lengths(lengths)
        h = self.subsampling(x)
        t = h.shape[1]
        if t == 0:  # shorter than one stride block: nothing to encode
            return h
        pos = torch.arange(t, device=x.device)
        valid = pos[None, :] < out_len[:, None]  # (B, T')
        # a padded query always sees itself so no softmax row is empty (its output is zeroed anyway)
        mask = (chunked_limited_mask(pos, pos, left, right)[None] & valid[:, None, :]) | torch.eye(
            t, dtype=torch.bool, device=x.device
        )[None]
        mask = mask[:, None]  # (B, 1, T', T')
        hd = self.cfg.d_model // self.cfg.n_heads
        empty = h.new_zeros(b, self.cfg.n_heads, 0, hd)
        conv0 = h.new_zeros(b, self.cfg.d_model, self.cfg.conv_kernel - 1)
        rope = rotary_tables(pos, hd, self.cfg.rope_base, h.dtype)
        for layer in self.layers:
            h = layer(h, rope, empty, empty, conv0, mask)[0]
        return h.masked_fill(~valid[..., None], 0.0)

    # ------------------------------------------------------------------------------------------ streaming
    def init_state(self, batch: int = 1, device=None, dtype=torch.float32, att_context=None) -> State:
        """A fresh stream for `batch` sequences with one of cfg.att_context_sizes (default the first)."""
        batch = check_batch(batch)
        left, right = check_att_context(att_context) if att_context is not None else self.default_att_context
        sizes = [tuple(c) for c in self.cfg.att_context_sizes]
        if (left, right) not in sizes:
            raise ValueError(
                f"att_context {[left, right]} is not one the model was built/trained for; "
                f"use one of {[list(c) for c in sizes]}"
            )
        if device is None:
            device = next(self.parameters()).device
        cfg = self.cfg
        hd = cfg.d_model // cfg.n_heads
        z = lambda *s: torch.zeros(*s, device=device, dtype=dtype)  # noqa: E731
        sub = [z(batch, self.subsampling.in_channels(i), _SUB_CTX) for i in range(len(self.subsampling.convs))]
        return ConformerCache(
            left,
            right,
            0,
            0,
            sub,
            z(batch, 0, cfg.d_model),
            [z(batch, cfg.n_heads, left, hd) for _ in self.layers],
            [z(batch, cfg.n_heads, left, hd) for _ in self.layers],
            [z(batch, cfg.d_model, cfg.conv_kernel - 1) for _ in self.layers],
        ).as_state()

    def _cache(self, state: State) -> ConformerCache:
        """The state as a cache, checked against this model's config: a state of another Conformer (other heads,
        conv kernel, layers or an att_context it was not built for) failed inside torch ('The size of tensor a (4)
        must match the size of tensor b (6)')."""
        cache = ConformerCache.from_state(state)
        cfg = self.cfg
        if [cache.left, cache.right] not in cfg.att_context_sizes:
            raise ValueError(
                f"the state is for att_context {[cache.left, cache.right]}, not one this model was built for "
                f"({cfg.att_context_sizes}); start the stream with init_state(att_context=...) of this model"
            )
        b, hd = cache.pending.shape[0], cfg.d_model // cfg.n_heads
        n_sub = len(self.subsampling.stages)
        want: dict[str, tuple] = {"pending": (b, None, cfg.d_model)}
        want.update({f"sub.{i}": (b, self.subsampling.in_channels(i), None) for i in range(n_sub)})
        for i in range(cfg.n_layers):
            want[f"keys.{i}"] = want[f"values.{i}"] = (b, cfg.n_heads, cache.left, hd)
            want[f"conv.{i}"] = (b, cfg.d_model, cfg.conv_kernel - 1)
        tensors = {k: v for k, v in state.items() if k not in ("left", "right", "offset", "valid")}
        for key in sorted(set(want) | set(tensors)):
            got, shape = tensors.get(key), want.get(key)
            fits = (
                got is not None
                and shape is not None
                and got.dim() == len(shape)
                and all(w is None or g == w for g, w in zip(got.shape, shape))
            )
            if not fits:
                have = "no" if got is None else f"shape {tuple(got.shape)}"
                expect = (
                    "none" if shape is None else "(" + ", ".join("any" if w is None else str(w) for w in shape) + ")"
                )
                raise ValueError(
                    f"the state has {have} '{key}', this ConformerEncoder expects {expect}: a state of a model of "
                    "another config; start the stream with this model's init_state"
                )
        self._check_progress(cache)
        # in the weights' dtype: init_state's default float32 with a .half() model failed in the subsampling conv
        # ('Input type (float) and bias type (c10::Half) should be the same')
        w = self.subsampling.out.weight.dtype

        def cast(ts: list) -> list:
            return [t.to(w) for t in ts]

        return ConformerCache(
            cache.left,
            cache.right,
            cache.offset,
            cache.valid,
            cast(cache.sub),
            cache.pending.to(w),
            cast(cache.keys),
            cast(cache.values),
            cast(cache.conv),
        )

    def check_state(self, state: State) -> None:
        self._cache(state)

    @staticmethod
    def _check_progress(cache: ConformerCache) -> None:
        """ValueError unless the cache's buffers and counters are ones a stream leaves: a state file edited or mixed up
        with more pending sub-frames (or a longer subsampling buffer) was taken and gave extra output frames, unsaid."""
        fix = "load a state as the stream saved it, or start the stream with this model's init_state"
        if cache.offset < 0 or cache.valid != min(cache.left, cache.offset):
            raise ValueError(
                f"the state has offset {cache.offset} and valid {cache.valid}; a stream keeps offset >= 0 and valid = "
                f"min(L={cache.left}, offset); {fix}"
            )
        if cache.pending.shape[1] > cache.right:
            raise ValueError(
                f"the state's 'pending' holds {cache.pending.shape[1]} sub-frames, a stream with lookahead "
                f"R={cache.right} keeps at most {cache.right} (an incomplete chunk); {fix}"
            )
        for i, buf in enumerate(cache.sub):
            if not _SUB_CTX <= buf.shape[-1] < _SUB_CTX + _SUB_STRIDE:
                raise ValueError(
                    f"the state's 'sub.{i}' holds {buf.shape[-1]} frames, a stream keeps {_SUB_CTX} to "
                    f"{_SUB_CTX + _SUB_STRIDE - 1} (its left context and an incomplete stride block); {fix}"
                )

    def _check_range(self, x: torch.Tensor) -> None:
        lim = self.input_limit
        fix = f"clip them first, e.g. x.clamp({-lim:g}, {lim:g}), as the model node does (counted clipped_input)"
        check_finite(self, x, limit=lim, fix=f"its LayerNorms overflow in float32 beyond +-{lim:g}; {fix}")

    def stream(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Feed x (B, n, d_in) input frames, any n >= 0. Returns the sub-frames whose chunk is complete
        (B, m, d_model), m a multiple of R+1 (possibly 0), and the new state."""
        check_frames(x, self.cfg.d_in)
        check_dtype(self, x)
        self._check_range(x)
        cache = self._cache(state)
        if x.shape[0] != cache.pending.shape[0]:
            raise ValueError(  # was only 'batch 3 does not match the cache's batch 2'
                f"x has a batch of {x.shape[0]}, the state {cache.pending.shape[0]}: start the stream with this "
                f"model's init_state({x.shape[0]})"
            )
        h, sub = self.subsampling.stream(x, cache.sub)
        pending = torch.cat([cache.pending, h], 1)
        size = cache.right + 1
        ready = (pending.shape[1] // size) * size
        cache = ConformerCache(
            cache.left,
            cache.right,
            cache.offset,
            cache.valid,
            sub,
            pending[:, ready:],
            cache.keys,
            cache.values,
            cache.conv,
        )
        return self._run_layers(pending[:, :ready], cache)

    def flush(self, state: State) -> tuple[torch.Tensor, State]:
        """End of stream: run the last, partial chunk (frames still in the subsampling buffers are dropped, as
        `forward` drops the T % subsampling trailing frames)."""
        cache = self._cache(state)
        pending = cache.pending
        cache = ConformerCache(
            cache.left,
            cache.right,
            cache.offset,
            cache.valid,
            cache.sub,
            pending[:, :0],
            cache.keys,
            cache.values,
            cache.conv,
        )
        return self._run_layers(pending, cache)

    def _run_layers(self, h: torch.Tensor, cache: ConformerCache) -> tuple[torch.Tensor, State]:
        n = h.shape[1]
        if n == 0:
            return h, cache.as_state()
        left, right = cache.left, cache.right
        pos = torch.arange(cache.offset, cache.offset + n, device=h.device)
        k_pos = torch.arange(cache.offset - left, cache.offset + n, device=h.device)
        k_pos = torch.where(torch.arange(left + n, device=h.device) < left - cache.valid, -1, k_pos)
        mask = chunked_limited_mask(pos, k_pos, left, right)
        rope = rotary_tables(pos, self.cfg.d_model // self.cfg.n_heads, self.cfg.rope_base, h.dtype)
        keys, values, conv = [], [], []
        for layer, kc, vc, cc in zip(self.layers, cache.keys, cache.values, cache.conv):
            h, k_all, v_all, c_all = layer(h, rope, kc, vc, cc, mask)
            keys.append(k_all[:, :, k_all.shape[2] - left :])
            values.append(v_all[:, :, v_all.shape[2] - left :])
            conv.append(c_all[..., c_all.shape[-1] - cc.shape[-1] :])
        cache = ConformerCache(
            left, right, cache.offset + n, min(left, cache.valid + n), cache.sub, cache.pending, keys, values, conv
        )
        return h, cache.as_state()
