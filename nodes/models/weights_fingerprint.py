"""Which weights a model node's state was saved with: a short fingerprint of the model's parameters and buffers.

A stream state (a Conformer's key/value cache, a tokenizer's scaling history and frame context) only means something
to the weights that made it. The configuration check (pipeline/state_config.py) leaves out where the weights are
read from (the same file spelt as another path is the same model), and another checkpoint of the same config has
the same shapes: such a state loaded without a word and the continuation was silently wrong (a tokenizer node
given another tokenizer's state gave other tokens from there on). So a model node's `state_dict()` carries
WEIGHTS_KEY: "sha256:<16 hex digits>" of its weights, and `load_state_dict()` refuses a state of other weights,
naming both fingerprints. The weights are hashed as float32 (names, shapes and bytes), so the same checkpoint gives
the same fingerprint whether the node runs it in float32 or float64 (GLA on the CPU), on the CPU or a GPU.

A state without the key (saved before it was kept) still loads, with a warning that its weights cannot be checked:
its shapes are checked as before.

What decides a model's output besides its weights may sit in its checkpoint's JSON config: the DNN SSVEP decoder's
sub-band edges (its filter memory is of those filters), its frequencies (what a code means), channels, rate and window;
the enhancer's mask floor, compression and SNR-adaptive settings.
Two checkpoints of equal weights and edited bands had the same fingerprint, so a state of one went on in the other's
filters unsaid. Such a node passes that config (`check_weights(..., config=)`) and its state carries CHECKPOINT_KEY:
"sha256:<16 hex>" of it (`config_fingerprint`) beside WEIGHTS_KEY, whose value is unchanged (a state of the other
model nodes is as before); a state with the weights' fingerprint but not the config's loads with a warning.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import numbers
from typing import Any

import numpy as np

__all__ = [
    "CHECKPOINT_KEY",
    "WEIGHTS_KEY",
    "check_weights",
    "config_fingerprint",
    "node_fingerprint",
    "output_config",
    "weights_fingerprint",
]

WEIGHTS_KEY = "weights"
CHECKPOINT_KEY = "checkpoint_config"
_log = logging.getLogger("wavegraph.models")


def weights_fingerprint(model: Any) -> str:
    """'sha256:<16 hex>' of `model`'s state_dict (parameters and buffers), floating tensors as float32."""
    import torch

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach()
        if t.is_floating_point():
            t = t.to(torch.float32)
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(np.ascontiguousarray(t.to("cpu").numpy()).tobytes())
    return "sha256:" + h.hexdigest()[:16]


def _numbers_as_floats(value: Any) -> Any:
    """A JSON config with every number a float (a hand-edited band [6, 72] is the band [6.0, 72.0])."""
    if isinstance(value, dict):
        return {str(k): _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers_as_floats(v) for v in value]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def output_config(cfg: Any, leave_out: tuple[str, ...] = ()) -> dict:
    """The fields of a model's config dataclass that differ from their defaults, but `leave_out` (training-only
    values): what the config print covers, so that a field added by a later version, at a default that keeps the
    old behaviour, leaves the print of every earlier checkpoint (and the states saved with it) as it was."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name in leave_out:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if default is dataclasses.MISSING or _numbers_as_floats(value) != _numbers_as_floats(default):
            out[f.name] = value
    return out


def config_fingerprint(config: dict) -> str:
    """'sha256:<16 hex>' of a checkpoint's config (the parts of it that decide the output), as canonical JSON."""
    text = json.dumps(_numbers_as_floats(config), sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def node_fingerprint(node: Any, model: Any) -> str:
    """The fingerprint of `model`, computed once per model the node holds (configure() makes a new one)."""
    held = node.__dict__.get("_weights_fingerprint")
    if held is None or held[0] is not model:
        held = (model, weights_fingerprint(model))
        node.__dict__["_weights_fingerprint"] = held
    return held[1]


def check_weights(state: dict, node: Any, model: Any, who: str, where: str, config: dict | None = None) -> None:
    """ValueError when `state` was saved with weights other than `model`'s (`where`: the node's checkpoint, for the
    message), or, given the `config` that decides the output with them, with another config (CHECKPOINT_KEY); a state
    without the fingerprint (or without the config's) is loaded with a warning."""
    saved = state.get(WEIGHTS_KEY)
    if saved is None:
        _log.warning(
            "%s: the state carries no fingerprint of the weights it was saved with (saved before it was kept): "
            "loaded unchecked; a state of other weights of the same shapes would continue the stream wrongly",
            who,
        )
        return
    here = node_fingerprint(node, model)
    saved = str(np.asarray(saved).item()) if isinstance(saved, np.ndarray) else str(saved)  # (an npz's 0-d array)
    if saved != here:
        raise ValueError(
            f"{who} state was saved with other weights ({saved}) than this node's ({here}, {where}): its stream would "
            "continue wrongly, unsaid. Fix: load a state saved by a node with the same weights (checkpoint), or reset()"
        )
    if config is None:
        return
    saved = state.get(CHECKPOINT_KEY)
    if saved is None:
        _log.warning(
            "%s: the state carries the fingerprint of its weights but not of its checkpoint's config (saved before it "
            "was kept): loaded with the weights checked only",
            who,
        )
        return
    here = config_fingerprint(config)
    saved = str(np.asarray(saved).item()) if isinstance(saved, np.ndarray) else str(saved)
    if saved != here:
        raise ValueError(
            f"{who} state was saved with the same weights but another checkpoint config ({saved}) than this node's "
            f"({here}, {where}): values beside the weights that decide the output differ (an SSVEP DNN's sub-band "
            "edges, frequencies or channels; an enhancer's mask floor, compression or SNR settings), so its state "
            "belongs to another model and its stream would continue wrongly. Fix: "
            "load a state saved by a node with the same checkpoint, or reset()"
        )
