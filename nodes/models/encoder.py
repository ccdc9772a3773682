"""conformer_encoder: a cache-aware streaming Conformer (models/conformer.py) over a features stream.

in:  features (frames x n_features) at rate r.
out: features (frames x d_model), float32, at rate r / subsampling. Output frame j is stamped at the time of its
     first input frame (t0 of the stream segment + j * subsampling / r).
Latency: (R + 1) * subsampling - 1 input frames (R = the lookahead of att_context): a frame is emitted when its
     attention chunk of R+1 sub-frames is complete. `finish()` emits the last, partial chunk.
Gap: a chunk with `gap` set starts a new segment: the cache is reset and sub-frames still waiting for their chunk
     are dropped (counted in `frames_dropped_at_gap`), so nothing on either side of a gap sees the other.
NaN/Inf: `nan_policy` (nodes/nanpolicy.py); the model never sees them (zeroed). Under `propagate` an output frame
     is NaN when any input frame of its stride block (frames j*subsampling .. j*subsampling + subsampling-1) had one.
Weights: `checkpoint: path.safetensors` (models.checkpoint) or `random_init: true` with the inline dims (tests).
torch is imported in configure(), not at module import.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from wavegraph.nodes.models.common import ModelParams, check_real, make_model, resolve_device, to_numpy, to_tensor
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..nanpolicy import NAN_POLICY_HELP, NanPolicy, sanitize


class ConformerEncoderParams(ModelParams):
    inline_fields: ClassVar[tuple[str, ...]] = (
        "d_model", "n_layers", "n_heads", "ff_mult", "conv_kernel", "subsampling", "att_context_sizes")
    att_context: tuple[int, int] | None = Field(
        None, description="[L, R] left frames and lookahead (sub-frames); default: the model's first context")
    d_model: int = Field(64, ge=2)
    n_layers: int = Field(2, ge=1)
    n_heads: int = Field(4, ge=1)
    ff_mult: int = Field(4, ge=1)
    conv_kernel: int = Field(9, ge=1)
    subsampling: int = 4
    att_context_sizes: list[tuple[int, int]] = [(64, 3)]
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class ConformerEncoderNode(Node):
    """Cache-aware streaming Conformer: features in, embeddings out at rate / subsampling (see module docstring)."""

    Params = ConformerEncoderParams

    def __init__(self, **params):
        super().__init__(**params)
        self.model = None

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        spec = self.require_input(in_specs, "in", "features")
        if len(spec.shape) != 1 or spec.rate <= 0:
            raise SpecError(f"conformer_encoder needs a regular (frames x features) stream, got {spec.describe()}",
                            "feed it a feature extractor's output (e.g. log-mel frames)")
        check_real(spec, "conformer_encoder")
        p = self.params
        self.device = resolve_device(p.device)
        n_feat = spec.shape[0]
        self.model = make_model(p, "conformer", p.inline_config(n_feat), self.device)
        cfg = self.model.cfg
        if cfg.d_in != n_feat:
            raise SpecError(f"the encoder takes {cfg.d_in} features per frame, the input has {n_feat}",
                            f"connect a {cfg.d_in}-feature stream or use a checkpoint trained on {n_feat} features")
        sizes = [tuple(c) for c in cfg.att_context_sizes]
        self.att_context = tuple(p.att_context) if p.att_context is not None else sizes[0]
        if self.att_context not in sizes:
            raise SpecError(f"att_context {list(self.att_context)} is not one the model was built/trained for",
                            f"use one of {[list(c) for c in sizes]}")
        self.sub = cfg.subsampling
        self.in_rate = spec.rate
        self.latency_samples = self.model.latency_frames(self.att_context)
        self.in_specs = dict(in_specs)
        self.out_specs = {"out": StreamSpec("features", spec.rate / self.sub, (cfg.d_model,), "float32", units="a.u.")}
        self.reset()
        return self.out_specs

    # --- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        self.cache = self.model.init_cache(1, self.att_context, self.device) if self.model is not None else None
        self.base_t0 = None  # t0 of the first input frame of the current segment
        self.n_in = 0  # input frames received in the current segment
        self.n_out = 0  # output frames emitted in the current segment
        self.bad_frames: list[int] = []  # segment input-frame indices that held NaN/Inf (nan_policy: propagate)

    def state_dict(self) -> dict:
        c = self.cache
        return {"scalars": c.scalars(), "tensors": {k: to_numpy(v) for k, v in c.tensors().items()},
                "base_t0": self.base_t0, "n_in": self.n_in, "n_out": self.n_out,
                "bad_frames": np.asarray(self.bad_frames, dtype=np.int64)}

    def load_state_dict(self, state: dict) -> None:
        import torch

        from wavegraph.models.conformer import ConformerCache

        tensors = {k: torch.as_tensor(np.asarray(v), device=self.device) for k, v in state["tensors"].items()}
        self.cache = ConformerCache.from_parts(state["scalars"], tensors)
        self.base_t0, self.n_in, self.n_out = state["base_t0"], int(state["n_in"]), int(state["n_out"])
        self.bad_frames = [int(i) for i in state["bad_frames"]]

    # --- data --------------------------------------------------------------------------------
    def _emit(self, y, like: Chunk | None) -> dict[str, Chunk]:
        if y.shape[1] == 0:
            return {}
        t0 = (self.base_t0 or 0.0) + self.n_out * self.sub / self.in_rate
        j0 = self.n_out
        self.n_out += y.shape[1]
        data = to_numpy(y[0])
        if self.bad_frames:
            for j in {i // self.sub for i in self.bad_frames}:
                if j0 <= j < self.n_out:
                    data[j - j0] = np.nan
            self.bad_frames = [i for i in self.bad_frames if i // self.sub >= self.n_out]
        return {"out": like.with_data(data, t0=t0) if like is not None else Chunk(data, t0=t0)}

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        import torch

        chunk = inputs["in"]
        if chunk.gap and (self.base_t0 is not None):
            self.count("frames_dropped_at_gap", self.cache.pending.shape[1])
            self.reset()
        n = chunk.n_times(0)
        if n == 0:
            return {}
        if self.base_t0 is None:
            self.base_t0 = chunk.t0
        data, bad = sanitize(self, np.asarray(chunk.data), self.params.nan_policy)
        if bad is not None:
            self.bad_frames += (self.n_in + np.flatnonzero(bad.reshape(n, -1).any(axis=1))).tolist()
        self.n_in += n
        x = to_tensor(data, self.model.cfg.d_in, self.device)
        with torch.inference_mode():
            y, self.cache = self.model.stream(x, self.cache)
        return self._emit(y, chunk)

    def finish(self) -> dict[str, Chunk]:
        import torch

        with torch.inference_mode():
            y, self.cache = self.model.flush(self.cache)
        return self._emit(y, None)
