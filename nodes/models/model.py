"""model: any StreamingModel (models/streaming.py: Mamba, GLA, cached Conformer) over a features stream.

in:  features (frames x n_features) at rate r.
out: features (frames x d_out), float32, at rate r / stride (stride: the model's input frames per output frame, 1 for
     Mamba and GLA, the subsampling for the Conformer). Output frame j of a segment is stamped at the time of its
     first input frame (t0 of the segment + j * stride / r).
Latency: the model's `latency_frames(**options)` input frames (0 for Mamba and GLA, (R + 1) * subsampling - 1 for
     the Conformer with lookahead R); `finish()` emits what the model held back (its `flush`).
Gap: a chunk with `gap` set starts a new segment: the model state is reset (init_state), so nothing on either side
     of a gap sees the other. Before it the runtime calls end_segment(), which emits the frames the model still held
     back of the segment before (the Conformer's lookahead), as finish() does at the end of a stream: the output keeps
     every frame and its time base across a gap (they were dropped); by hand without end_segment() they are dropped
     at the gap, counted in `frames_dropped_at_gap`.
NaN/Inf: `nan_policy` (nodes/nanpolicy.py); the model never sees them (zeroed; a value beyond float32's
     range counts as Inf). Under `propagate` an output frame
     is NaN when any input frame of its stride block (frames j*stride .. j*stride + stride-1) had one. Finite values
     beyond the model's `input_limit` (the Conformer's 1e15, where its LayerNorms overflow in float32; Mamba and GLA
     have none) are clipped to it and counted (`clipped_input`), as the enhancer node clips its samples.
Weights: `checkpoint: path.safetensors` (models.checkpoint; its JSON names the kind) or `random_init: true` with
     `kind` and an inline `config` (tests and demos). Stream options (the Conformer's att_context) go in `options`.
     state_dict() carries a fingerprint of the weights: a state saved with other weights is refused at load
     (nodes/models/weights_fingerprint.py).

The YAML types `conformer_encoder`, `mamba` and `gla` are this node with the kind fixed and the inline dims as flat
parameters. torch is imported in configure(), not at module import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field
from wavegraph.nodes.models.common import (
    ModelParams,
    check_features,
    check_real,
    finite_state,
    make_model,
    native,
    refuse_own_node_checkpoint,
    resolve_device,
    to_numpy,
    to_tensor,
    torch_threads,
)
from wavegraph.nodes.models.weights_fingerprint import WEIGHTS_KEY, check_weights, node_fingerprint
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..nanpolicy import as_float32, sanitize, stream_start

if TYPE_CHECKING:
    import torch
    from wavegraph.models.streaming import State, StreamingModel


class ModelNodeParams(ModelParams):
    inline_fields: ClassVar[tuple[str, ...]] = ("config",)
    kind: str | None = Field(
        None, description="conformer, mamba or gla; needed with random_init, a check with a checkpoint"
    )
    config: dict[str, Any] = Field({}, description="random_init only: the model config (d_in comes from the input)")
    options: dict[str, Any] = Field({}, description="stream options, e.g. {att_context: [64, 3]} for a conformer")

    def inline_config(self, d_in: int) -> dict[str, Any]:
        return {**self.config, "d_in": d_in}

    def stream_options(self) -> dict[str, Any]:
        return dict(self.options)


def node_dtype(model: StreamingModel, device) -> torch.dtype:
    """The dtype the model node runs `model` in on `device`. On the CPU its `stream_dtype`, in which where a chunk
    starts does not change the output (GLA: float64, models/gla.py; the frames still come in and go out as float32).
    On a GPU fp32: the Triton kernels are fp32 (a float64 state would run the torch reference instead), within the
    model's stream_tolerance."""
    import torch

    return model.stream_dtype if torch.device(device).type == "cpu" else torch.float32


def saved_progress(state: dict, stride: int) -> tuple[float | None, int, int, list[int]]:
    """(base_t0, n_in, n_out, bad_frames) of a saved model node state, or a ValueError naming the entry a stream never
    leaves so: n_in -3 was taken (every later frame stamped 3 frames late), a bad frame 1.5 cut to 1, one not received
    yet made a NaN frame of a clean one, a base_t0 [0.0] was a TypeError at the next chunk."""
    t0, n_in, n_out = state["base_t0"], state["n_in"], state["n_out"]
    bad = np.asarray(state["bad_frames"]).reshape(-1)
    fix = "load a state as the node's state_dict() saved it"
    if t0 is not None and not (np.ndim(t0) == 0 and np.isreal(t0) and np.asarray(t0).dtype.kind in "iuf"):
        raise ValueError(f"model node state 'base_t0' must be None or a number, got {t0!r}; {fix}")
    if not 0 <= int(n_out) * stride <= int(n_in):
        raise ValueError(
            f"model node state has n_in {n_in} and n_out {n_out}: a stream keeps 0 <= n_out * stride ({stride}) <= "
            f"n_in; {fix}"
        )
    if bad.size and (
        bad.dtype.kind not in "iuf" or np.any(bad != np.round(bad)) or not 0 <= bad.min() <= bad.max() < n_in
    ):
        raise ValueError(
            f"model node state 'bad_frames' must be whole frame numbers from 0 to n_in - 1 = {int(n_in) - 1}, got "
            f"{bad.tolist()[:8]}; {fix}"
        )
    return (None if t0 is None else float(t0)), int(n_in), int(n_out), [int(i) for i in bad]


class ModelNode(Node):
    """A streaming model (Mamba, GLA or cached Conformer): features in, model features out (see module docstring)."""

    Params = ModelNodeParams
    params: ModelParams
    kind: ClassVar[str | None] = None  # fixed by the alias types (conformer_encoder, mamba, gla)

    def __init__(self, **params):
        super().__init__(**params)
        self.model: StreamingModel | None = None
        self.state: State = {}
        self.options: dict[str, Any] = {}

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        name = self.type_name or "model"
        refuse_own_node_checkpoint(self.params.checkpoint, name)  # (before the input's kind: "connect features")
        spec = self.require_input(in_specs, "in", "features")
        if len(spec.shape) != 1 or not 0 < spec.rate < math.inf:  # NaN too: the output rate and times were NaN
            raise SpecError(
                f"{name} needs a regular (frames x features) stream, got {spec.describe()}",
                "feed it a feature extractor's or an encoder's output (e.g. log-mel frames)",
            )
        check_real(spec, name)
        p = self.params
        kind = type(self).kind or getattr(p, "kind", None)
        self.device = resolve_device(p.device)
        n_feat = spec.shape[0]
        self.model = model = make_model(p, kind, p.inline_config(n_feat), self.device)
        self._dtype = node_dtype(model, self.device)
        if self._dtype != next(model.parameters()).dtype:
            model.to(self._dtype)
        if model.d_in != n_feat:
            raise SpecError(
                f"the {type(model).__name__} takes {model.d_in} features per frame, the input has {n_feat}",
                f"connect a {model.d_in}-feature stream or use a checkpoint trained on {n_feat} features",
            )
        self.options = p.stream_options()
        try:
            self.latency_samples = int(model.latency_frames(**self.options))
            self._init_state(model)
        except (TypeError, ValueError) as e:
            raise SpecError(
                f"{name}: bad stream options {self.options}: {e}",
                "see the model's options (the Conformer takes att_context: [L, R])",
            ) from e
        except (RuntimeError, MemoryError) as e:  # att_context [1000000000, 0]: torch's allocator, for its cache
            first = (str(e).strip() or type(e).__name__).splitlines()[0]
            raise SpecError(
                f"{name}: the model's stream state does not fit in memory ({first})",
                "use a smaller context: fewer left frames in att_context / att_context_sizes",
            ) from e
        self.stride = int(model.stride)
        self.in_rate = spec.rate
        self.out_specs = {
            # frames are stamped on the input's clock (base_t0 + frame / frame rate): its declared delay carries over
            "out": StreamSpec(
                "features", spec.rate / self.stride, (model.d_out,), "float32", units="a.u.", delay=spec.delay
            )
        }
        self.reset()
        return self.out_specs

    @property
    def net(self) -> StreamingModel:
        """The configured model."""
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__} is not configured yet; call configure() first")
        return self.model

    # --- state -------------------------------------------------------------------------------
    def _init_state(self, model: StreamingModel) -> State:
        """A fresh state in the model's `stream_dtype` (GLA's float64: fp32 gave whole vs 1-frame chunks 9.2e-5 apart
        on silence with the default gla, over the 1e-5 stated)."""
        import torch

        extra = {} if self._dtype == torch.float32 else {"dtype": self._dtype}
        return model.init_state(1, self.device, **extra, **self.options)

    def reset(self) -> None:
        self.state = self._init_state(self.net) if self.model is not None else {}
        self.base_t0: float | None = None  # t0 of the first input frame of the current segment
        self.n_in = 0  # input frames received in the current segment
        self.n_out = 0  # output frames emitted in the current segment
        self.bad_frames: list[int] = []  # segment input-frame indices that held NaN/Inf (nan_policy: propagate)

    def state_dict(self) -> dict:
        return {
            "model": {k: to_numpy(v).copy() if hasattr(v, "detach") else int(v) for k, v in self.state.items()},
            "base_t0": self.base_t0,
            "n_in": self.n_in,
            "n_out": self.n_out,
            "bad_frames": np.asarray(self.bad_frames, dtype=np.int64),
            WEIGHTS_KEY: node_fingerprint(self, self.net),  # a state of other weights is refused at load
        }

    def load_state_dict(self, state: dict) -> None:
        import torch

        want = {"model", "base_t0", "n_in", "n_out", "bad_frames"}  # and WEIGHTS_KEY, but in a state saved before it
        if not isinstance(state, dict) or set(state) - {WEIGHTS_KEY} != want:  # a bare KeyError 'n_in' before
            got = sorted(set(state) - {WEIGHTS_KEY}) if isinstance(state, dict) else type(state).__name__
            raise KeyError(f"{type(self).__name__} state keys {got} are not {sorted(want)}: load its state_dict()")
        fresh = self._init_state(self.net)
        saved = state["model"]
        if set(saved) != set(fresh):
            raise KeyError(f"model state keys {sorted(saved)} do not match this model's {sorted(fresh)}")
        new = {}
        for k, like in fresh.items():
            if not hasattr(like, "detach"):
                new[k] = int(saved[k])
                if k in self.net.setting_state and new[k] != like:  # e.g. a Conformer state of another att_context
                    raise ValueError(f"model state '{k}' is {new[k]}, this node's is {like}: saved with other options")
                continue
            value = native(saved[k])
            want = tuple(like.shape)  # buffers (e.g. the Conformer's pending frames) grow along one axis
            grows = self.net.state_growth_axis(k)
            if value.ndim != len(want) or any(a != b for i, (a, b) in enumerate(zip(value.shape, want)) if i != grows):
                raise ValueError(  # a state of another model size failed at the next chunk, inside the model
                    f"model state '{k}' has shape {value.shape}, this model's is like {want}: saved from a model "
                    "of another config; load a state saved by this node's model"
                )
            finite_state(value, f"model state '{k}'")
            new[k] = torch.as_tensor(value, dtype=like.dtype, device=self.device)
        progress = saved_progress(state, self.stride)
        try:  # (the Conformer's buffers and counters: more pending sub-frames than a stream keeps gave extra frames)
            self.net.check_state(new)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}: the saved model state does not fit this model: {e}") from None
        p = self.params  # (after the shapes: a state of another config is said as such)
        check_weights(state, self, self.net, self.type_name or type(self).__name__, p.checkpoint or f"seed {p.seed}")
        self.state = new
        self.base_t0, self.n_in, self.n_out, self.bad_frames = progress

    # --- data --------------------------------------------------------------------------------
    def _emit(self, y) -> dict[str, Chunk]:
        if y.shape[1] == 0:
            return {}
        t0 = (self.base_t0 or 0.0) + self.n_out * self.stride / self.in_rate
        j0 = self.n_out
        self.n_out += y.shape[1]
        data = to_numpy(y[0]).astype(np.float32, copy=False)
        if self.bad_frames:
            for j in {i // self.stride for i in self.bad_frames}:
                if j0 <= j < self.n_out:
                    data[j - j0] = np.nan
            self.bad_frames = [i for i in self.bad_frames if i // self.stride >= self.n_out]
        return {"out": Chunk(data, t0=t0)}  # the executor carries gap, seq and origin

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        import torch
        from wavegraph.models.streaming import trusted_inputs

        chunk = inputs["in"]
        if chunk.gap and self.base_t0 is not None:
            with torch.inference_mode(), torch_threads(self.params.threads):
                held = self.net.flush(self.state)[0].shape[1]
            if held:
                self.count("frames_dropped_at_gap", held)
            self.reset()
        n = chunk.n_times(0)
        if n == 0:
            return {}
        # refused before anything is kept: a chunk of another width (or not 2-D, or complex) raised only in to_tensor,
        # after n_in, the NaN frames and the first t0 had counted it, so every later output was stamped late by it
        check_features(chunk.data, self.net.d_in, type(self).__name__)
        # a NaN first t0 is not latched; a chunk t0 off the grid (a drifting live clock) re-anchors, as sliding_window
        self.base_t0 = stream_start(self.base_t0, chunk, self.n_in / self.in_rate)
        data, bad = sanitize(self, as_float32(chunk.data), self.params.nan_policy)  # the model computes in float32
        limit = self.net.input_limit  # (the Conformer's: 1e15; a 1e38 frame made every later output NaN)
        if limit < math.inf and not np.vdot(data, data) <= limit * limit:  # (one vdot when all are within it)
            over = np.abs(data) > limit
            if over.any():
                self.count("clipped_input", int(np.count_nonzero(over)))
                data = np.clip(data, -limit, limit)
        if bad is not None:
            self.bad_frames += (self.n_in + np.flatnonzero(bad.reshape(n, -1).any(axis=1))).tolist()
        self.n_in += n
        x = to_tensor(data, self.net.d_in, self.device).to(self._dtype)
        with torch.inference_mode(), torch_threads(self.params.threads), trusted_inputs():  # cleaned above, own state
            y, self.state = self.net.stream(x, self.state)
        return self._emit(y)

    def end_segment(self, t_next: float | None = None) -> dict[str, Chunk]:
        """Before a gap (the runtime calls it before the chunk flagged gap): the frames the model still holds back of the
        segment, as finish() gives them at the end of a stream (stamped at their first input frame, inside the segment:
        the output's times keep increasing however short the gap); the next chunk starts a new segment. By hand without
        it, process() drops them at the gap (`frames_dropped_at_gap`)."""
        return self.finish() if self.base_t0 is not None else {}

    def finish(self) -> dict[str, Chunk]:
        import torch

        with torch.inference_mode(), torch_threads(self.params.threads):
            y, self.state = self.net.flush(self.state)
        out = self._emit(y)
        self.reset()  # the stream is over: a node given the next file starts it fresh (it went on from the flush)
        return out


# --- the alias types: one kind, its inline dims as flat parameters ----------------------------------------------


class ConformerEncoderParams(ModelParams):
    inline_fields: ClassVar[tuple[str, ...]] = (
        "d_model",
        "n_layers",
        "n_heads",
        "ff_mult",
        "conv_kernel",
        "subsampling",
        "att_context_sizes",
    )
    att_context: tuple[int, int] | None = Field(
        None, description="[L, R] left frames and lookahead (sub-frames); default: the model's first context"
    )
    d_model: int = Field(64, ge=2, description="random_init: model width")
    n_layers: int = Field(2, ge=1, description="random_init: Conformer blocks")
    n_heads: int = Field(4, ge=1, description="random_init: attention heads")
    ff_mult: int = Field(4, ge=1, description="random_init: feed-forward width / d_model")
    conv_kernel: int = Field(9, ge=1, description="random_init: depthwise conv kernel (sub-frames)")
    subsampling: int = Field(4, description="random_init: time subsampling, 2, 4 or 8")
    att_context_sizes: list[tuple[int, int]] = Field([(64, 3)], description="random_init: the [L, R] contexts")

    def stream_options(self) -> dict[str, Any]:
        return {} if self.att_context is None else {"att_context": tuple(self.att_context)}


class ConformerEncoderNode(ModelNode):
    """Cache-aware streaming Conformer (`type: model` with kind conformer): embeddings at rate / subsampling."""

    Params = ConformerEncoderParams
    kind = "conformer"


class MambaParams(ModelParams):
    inline_fields: ClassVar[tuple[str, ...]] = ("d_model", "n_layers", "d_state", "d_conv", "expand")
    d_model: int = Field(64, ge=1, description="random_init: model width")
    n_layers: int = Field(2, ge=1, description="random_init: Mamba blocks")
    d_state: int = Field(16, ge=1, description="random_init: SSM state size per channel")
    d_conv: int = Field(4, ge=1, description="random_init: causal conv width")
    expand: int = Field(2, ge=1, description="random_init: inner width / d_model")


class MambaNode(ModelNode):
    """Residual Mamba stack (`type: model` with kind mamba): embeddings at the same rate; latency 0."""

    Params = MambaParams
    kind = "mamba"


class GLAParams(ModelParams):
    inline_fields: ClassVar[tuple[str, ...]] = (
        "d_model",
        "n_layers",
        "n_heads",
        "expand_k",
        "expand_v",
        "gate_low_rank",
        "chunk_size",
    )
    d_model: int = Field(64, ge=1, description="random_init: model width")
    n_layers: int = Field(2, ge=1, description="random_init: GLA blocks")
    n_heads: int = Field(4, ge=1, description="random_init: heads")
    expand_k: float = Field(0.5, gt=0, description="random_init: key width / d_model")
    expand_v: float = Field(1.0, gt=0, description="random_init: value width / d_model")
    gate_low_rank: int = Field(16, ge=1, description="random_init: rank of the forget-gate projection")
    chunk_size: int = Field(64, ge=1, description="random_init: chunk length of the chunked form")


class GLANode(ModelNode):
    """Gated Linear Attention stack (`type: model` with kind gla): embeddings at the same rate; latency 0."""

    Params = GLAParams
    kind = "gla"
