"""What `Enhancer.stream` and `Enhancer.step` check before they touch a state (models/enhancer.py is near its size
limit): a state of this model for x's batch, and samples it can take.

Unchecked, a state of another batch or config failed deep in torch ('Sizes of tensors must match except in
dimension 1', KeyError 'prev', or x 'must be (batch, frames, d_in=33)' of the core, whose input the user never gave),
a float64 state of a float32 model was 'expected m1 and m2 to have the same dtype', and a NaN, inf or 1e20 sample
(squared in float32: inf) went into the state and made every later output NaN, unsaid.
"""

from __future__ import annotations

from typing import Any

import torch

from .streaming import State, check_dtype, check_finite, check_frames, inputs_trusted

INPUT_LIMIT = 1e6  # |x| beyond this (120 dB over full scale) overflows the float32 state; the enhancer node clips to it


def _expected(model: Any, batch: int) -> dict[str, tuple[int, ...]]:
    """{key: shape} of model.init_state(batch); computed on 'meta' once per batch and config (a setting changed in
    place, e.g. cfg.snr_adapt, changes the state's entries)."""
    cache = model.__dict__.setdefault("_state_specs", {})
    key = (batch, tuple(vars(model.cfg).values()))
    if key not in cache:
        cache[key] = {k: tuple(v.shape) for k, v in model.init_state(batch, device="meta").items()}
    return cache[key]


def check_state(model: Any, state: State, batch: int) -> None:
    """ValueError unless `state` has the keys and shapes of model.init_state(batch)."""
    name = type(model).__name__
    fix = f"start the stream with this model's init_state({batch})"
    if not isinstance(state, dict):
        raise ValueError(f"the state is a {type(state).__name__}, not an {name} state (a dict); {fix}")
    want = _expected(model, batch)
    if state.keys() != want.keys():
        missing, extra = sorted(want.keys() - state.keys()), sorted(state.keys() - want.keys())
        what = f"has no '{missing[0]}'" if missing else f"has '{extra[0]}', which this model's has not"
        raise ValueError(f"not a state of this {name} (a model of another config?): it {what}; {fix}")
    for key, shape in want.items():
        got = state[key]
        if not isinstance(got, torch.Tensor):
            raise ValueError(f"the state's '{key}' is a {type(got).__name__}, not a tensor; {fix}")
        if tuple(got.shape) != shape:
            why = "a model of another config?"
            if got.dim() == len(shape) and tuple(got.shape[1:]) == shape[1:]:
                why = f"x has a batch of {batch}, the state {got.shape[0]}"
            raise ValueError(
                f"the state's '{key}' has shape {tuple(got.shape)}, this {name} expects {shape} ({why}); {fix}"
            )


def check_stream_input(model: Any, x: torch.Tensor, state: State) -> State:
    """x (batch, T, hop) in the model's dtype, the state (check_state), and x's samples: finite, within +-INPUT_LIMIT.
    Returns the state with the enhancer's own entries (not the core's) in x's dtype, a new dict when one is cast
    (a float32 init_state of a .double() model was promoted, a float64 one of a float32 model failed in torch).
    Inside trusted_inputs() (the enhancer node, which cleans its samples and owns its state) only x's shape."""
    check_frames(x, model.d_in)
    if inputs_trusted():
        return state
    check_dtype(model, x)
    check_state(model, state, x.shape[0])
    check_finite(
        model,
        x,
        limit=INPUT_LIMIT,
        fix=(
            "audio is +-1 (or +-32768 at int16 scale): replace and clip them first, e.g. "
            f"torch.nan_to_num(x, 0.0, 0.0, 0.0).clamp({-INPUT_LIMIT:g}, {INPUT_LIMIT:g}), as the enhancer node does "
            "(counted nan_zeroed, clipped_input)"
        ),
    )
    cast = {
        k: v.to(x.dtype)
        for k, v in state.items()
        if not k.startswith("core.") and v.is_floating_point() and v.dtype != x.dtype
    }
    return {**state, **cast} if cast else state
