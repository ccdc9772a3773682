"""The shared shape of the recurrent StreamingModels (MambaStack, GLAStack): an optional input projection, n layers
that each carry a few state tensors, a final norm. Subclasses say how one layer starts, runs a chunk and steps.

State: {"<name>.<i>": tensor} for every name in `state_names` and layer i, e.g. Mamba's conv.0, ssm.0, conv.1, ...
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from .streaming import State, StreamingModel, check_batch, check_dtype, check_finite, check_frames

LayerState = tuple[torch.Tensor, ...]


class RecurrentStack(StreamingModel):
    """Stride 1, latency 0, no options. Subclasses set `cfg` (with d_in, d_model, n_layers), `in_proj` (a Linear or
    None), `norm_f`, `state_names`, and implement `_layer_init`, `_layer_run` and `_layer_step`."""

    state_names: ClassVar[tuple[str, ...]]
    cfg: Any
    in_proj: nn.Linear | None
    norm_f: nn.Module

    @property
    def d_in(self) -> int:
        return self.cfg.d_in or self.cfg.d_model

    @property
    def d_out(self) -> int:
        return self.cfg.d_model

    def _layer_init(self, i: int, batch: int, device, dtype) -> LayerState:
        raise NotImplementedError

    def _layer_run(self, i: int, h: torch.Tensor, s: LayerState | None) -> tuple[torch.Tensor, LayerState]:
        """Layer i on a chunk h (B, n, d_model) from state s (None: zeros) -> (output, new state); s untouched."""
        raise NotImplementedError

    def _layer_step(self, i: int, h: torch.Tensor, s: LayerState) -> torch.Tensor:
        """Layer i on one frame h (B, d_model), updating s in place."""
        raise NotImplementedError

    def init_state(self, batch: int = 1, device=None, dtype=torch.float32) -> State:
        batch = check_batch(batch)
        device = device if device is not None else next(self.parameters()).device
        state: State = {}
        for i in range(self.cfg.n_layers):
            for name, t in zip(self.state_names, self._layer_init(i, batch, device, dtype)):
                state[f"{name}.{i}"] = t
        return state

    def _layer_states(self, state: State, batch: int) -> list[LayerState]:
        """The state's tensors per layer, checked against this model's for `batch` streams: a state of a model of
        another config or batch was said by a kernel ('initial_state has shape (3, 16, 3), expected (2, 16, 3)'),
        and one of more layers was taken as it was, its extra layers dropped unsaid."""
        shapes = self.__dict__.setdefault("_state_shapes", {})  # per batch size; computed once (meta: no memory)
        if batch not in shapes:
            shapes[batch] = {k: tuple(v.shape) for k, v in self.init_state(batch, device="meta").items()}
        want: dict[str, tuple] = shapes[batch]
        extra = sorted(set(state) - set(want))
        if extra:
            raise ValueError(
                f"the state has '{extra[0]}', which this {type(self).__name__} of {self.cfg.n_layers} layers has "
                "not: a state of a model of another config; start the stream with this model's init_state"
            )
        for key, ref in want.items():
            got = state.get(key)
            if got is None:
                raise ValueError(
                    f"not a {type(self).__name__} state of {self.cfg.n_layers} layers: no '{key}'; start the stream "
                    f"with this model's init_state({batch})"
                )
            shape: tuple[int, ...] = tuple(getattr(got, "shape", ()))
            if shape != ref:
                why = "a model of another config?"
                if len(shape) == len(ref) and shape[1:] == ref[1:]:
                    why = f"x has a batch of {batch}, the state {got.shape[0]}"
                raise ValueError(
                    f"the state's '{key}' has shape {shape}, this {type(self).__name__} expects {ref} "
                    f"({why}); start the stream with this model's init_state({batch})"
                )
        return [tuple(state[f"{name}.{i}"] for name in self.state_names) for i in range(self.cfg.n_layers)]

    def _check_dtype(self, x: torch.Tensor) -> None:
        check_dtype(self, x)

    def _run(self, x: torch.Tensor, layer_states: list[LayerState | None]) -> tuple[torch.Tensor, State]:
        check_frames(x, self.d_in)
        self._check_dtype(x)
        h = self.in_proj(x) if self.in_proj is not None else x
        new: State = {}
        for i, s in enumerate(layer_states):
            h, s = self._layer_run(i, h, s)
            new.update({f"{name}.{i}": t for name, t in zip(self.state_names, s)})
        return self.norm_f(h), new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Offline: x (B, L, d_in) -> y (B, L, d_model) from a zero state."""
        return self._run(x, [None] * self.cfg.n_layers)[0]

    def stream(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x (B, n, d_in) -> (y (B, n, d_model), new state); the state passed in is not modified."""
        check_frames(x, self.d_in)
        layer_states: list[LayerState | None] = list(self._layer_states(state, x.shape[0]))
        check_finite(self, x)
        return self._run(x, layer_states)

    def step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame x_t (B, d_in) -> (y (B, 1, d_model), state), the state updated in place (a state made under
        torch.inference_mode() and stepped outside it: a copy, returned)."""
        if x_t.dim() != 2 or x_t.shape[-1] != self.d_in:
            raise ValueError(f"x_t must be (batch, d_in={self.d_in}), got shape {tuple(x_t.shape)}")
        self._check_dtype(x_t)
        check_finite(self, x_t, "x_t")
        if not torch.is_inference_mode_enabled() and any(
            isinstance(t, torch.Tensor) and t.is_inference() for t in state.values()
        ):
            # a state made under torch.inference_mode() (init_state or stream there) cannot be updated in place
            # outside it ('Inplace update to inference tensor outside InferenceMode is not allowed'): step on copies
            state = {k: v.clone() if isinstance(v, torch.Tensor) and v.is_inference() else v for k, v in state.items()}
        h = self.in_proj(x_t) if self.in_proj is not None else x_t
        for i, s in enumerate(self._layer_states(state, x_t.shape[0])):
            h = self._layer_step(i, h, s)
        return self.norm_f(h)[:, None], state
