"""mamba: a residual Mamba stack (models/mamba.py) over a features stream.

in:  features (frames x n_features) at rate r.
out: features (frames x d_model), float32, same rate and frame times. Latency 0: the model is causal and each
     output frame depends on its own and earlier input frames only.
Gap: a chunk with `gap` set resets the recurrent state (conv and SSM states) before it is processed.
NaN/Inf: `nan_policy` (nodes/nanpolicy.py); the model never sees them (zeroed). Under `propagate` an output frame is
     NaN when its own input frame had a non-finite value.
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


class MambaParams(ModelParams):
    inline_fields: ClassVar[tuple[str, ...]] = ("d_model", "n_layers", "d_state", "d_conv", "expand")
    d_model: int = Field(64, ge=1)
    n_layers: int = Field(2, ge=1)
    d_state: int = Field(16, ge=1)
    d_conv: int = Field(4, ge=1)
    expand: int = Field(2, ge=1)
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class MambaNode(Node):
    """Residual Mamba stack: features in, embeddings (d_model) out at the same rate; latency 0."""

    Params = MambaParams

    def __init__(self, **params):
        super().__init__(**params)
        self.model = None
        self.state = None

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        spec = self.require_input(in_specs, "in", "features")
        if len(spec.shape) != 1:
            raise SpecError(f"mamba needs a (frames x features) stream, got {spec.describe()}",
                            "feed it a feature extractor's or an encoder's output")
        check_real(spec, "mamba")
        p = self.params
        self.device = resolve_device(p.device)
        n_feat = spec.shape[0]
        self.model = make_model(p, "mamba", p.inline_config(n_feat), self.device)
        if self.model.d_in != n_feat:
            raise SpecError(f"the Mamba stack takes {self.model.d_in} features per frame, the input has {n_feat}",
                            f"connect a {self.model.d_in}-feature stream or use a checkpoint trained on {n_feat}")
        self.latency_samples = 0
        self.in_specs = dict(in_specs)
        self.out_specs = {"out": StreamSpec("features", spec.rate, (self.model.cfg.d_model,), "float32",
                                            units="a.u.")}
        self.reset()
        return self.out_specs

    def reset(self) -> None:
        self.state = self.model.init_state(1, self.device) if self.model is not None else None

    def state_dict(self) -> dict:
        return {"layers": [[to_numpy(c), to_numpy(s)] for c, s in self.state]}

    def load_state_dict(self, state: dict) -> None:
        import torch

        layers = state["layers"]
        if len(layers) != len(self.model.layers):
            raise KeyError(f"state has {len(layers)} layers, the model has {len(self.model.layers)}")
        self.state = [tuple(torch.as_tensor(np.asarray(t), device=self.device) for t in pair) for pair in layers]

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        import torch

        chunk = inputs["in"]
        if chunk.gap:
            self.reset()
        if chunk.n_times(0) == 0:
            return {}
        data, bad = sanitize(self, np.asarray(chunk.data), self.params.nan_policy)
        x = to_tensor(data, self.model.d_in, self.device)
        with torch.inference_mode():
            y, self.state = self.model(x, self.state)
        out = to_numpy(y[0])
        if bad is not None:
            out[bad.reshape(len(out), -1).any(axis=1)] = np.nan
        return {"out": chunk.with_data(out)}
