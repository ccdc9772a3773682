"""Which configuration a node's state was saved under, so that a state is only loaded where it means the same.

A processing node's state is only meaningful for the configuration it was made with: the filter memory of a
bandpass at 500 Hz, the window buffer of a sliding_window of 9 samples, a model state for 6 input features.
Where the arrays happen to have the same shapes (another rate, another window length, another input width),
state_from_dict's shape checks cannot tell, and such a state was loaded silently and gave wrong output.

`Node.state_dict()` of a configured node (a source's too) therefore carries, beside its state, CONFIG_KEY: {"type": the node
type, "params": its parameters (but those that only say where or how fast it runs: `threads`, `device`, and where
its weights are read from: `checkpoint`),
"in": per input port its kind, rate, shape, dtype and channel names}, all plain JSON-able data. `Node.load_state_dict()` compares
it with its own and refuses a state saved under another configuration, naming every difference. A state without
the key (saved by hand, or before this) is loaded as before, checked by the node's own shape checks.

The wrapped load also refuses what is not a state dict (TypeError), and for a processing node that keeps its state
itself rather than as a declared dataclass (model nodes, enhancer, ssvep decoders, eeg_tokenizer), a key it does
not have or a value of the wrong kind (text or None where it keeps an array or a count), naming the key; and a
key the node reads that the state lacks is said as such (it was a bare KeyError 'zi').
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import numbers
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from .state import INT64

CONFIG_KEY = "saved_config"
_RUN_ONLY = frozenset({"threads", "device"})  # where/how fast it runs: a state moves between them unchanged
# Where the weights are read from: the same file spelt another way (./m.safetensors, an absolute path, another host's
# folder) is the same model: other weights are caught by their shapes and, for the model nodes, by the fingerprint of
# the weights their state carries (nodes/models/weights_fingerprint.py), not by a path.
_NOT_COMPARED = _RUN_ONLY | {"checkpoint"}


def _plain(value: Any) -> Any:
    """JSON-able plain data (tuples become lists, anything else its str), as a JSON round trip gives it."""
    return json.loads(json.dumps(value, default=str))


def _param(value: Any) -> Any:
    """A parameter as plain data: an array (array_source's data) by its shape, dtype and digest, not its text (which
    numpy shortens, so two different arrays could read the same); anything else as plain data."""
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return {"array": list(value.shape), "dtype": str(value.dtype), "sha256": digest}
    return _plain(value)


def node_config(node: Any) -> dict[str, Any]:
    """The configuration a state of `node` belongs to (plain data)."""
    try:
        params = node.params.model_dump(mode="json")
    except Exception:  # a parameter pydantic cannot write as JSON (an array): each such one as _param says
        params = {k: _param(v) for k, v in node.params.model_dump().items()}
    specs = {
        port: {
            "kind": s.kind,
            "rate": float(s.rate),
            "shape": list(s.shape),
            "dtype": str(s.dtype),
            "channels": list(s.channel_names),  # a filter memory belongs to its channel: another order is wrong
        }
        for port, s in sorted(node.in_specs.items())
    }
    return _plain(
        {
            "type": node.type_name or type(node).__name__,
            "params": {k: v for k, v in sorted(params.items()) if k not in _NOT_COMPARED},
            "in": specs,
        }
    )


def config_differences(saved: Any, here: dict[str, Any]) -> list[str]:
    """What differs between a saved configuration and this node's, in words ([] when nothing)."""
    if not isinstance(saved, dict) or set(saved) != set(here):
        got = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        return [f"'{CONFIG_KEY}' holds {got}, expected the keys {sorted(here)}"]

    def same(a: Any, b: Any) -> bool:
        return json.dumps(_plain(a), sort_keys=True) == json.dumps(b, sort_keys=True)

    out = []
    if not same(saved["type"], here["type"]):
        out.append(f"node type {saved['type']!r} (this node is {here['type']!r})")
    sp, hp = saved["params"], here["params"]
    if not isinstance(sp, dict):
        return [*out, f"params {sp!r} is not a mapping"]
    for k in sorted(set(sp) | set(hp)):
        if k not in hp:
            out.append(f"param {k}: {sp[k]!r} (this node has no such param)")
        elif k not in sp or not same(sp[k], hp[k]):
            out.append(f"param {k}: saved {sp.get(k, '(not set)')!r}, here {hp[k]!r}")
    si, hi = saved["in"], here["in"]
    if not isinstance(si, dict):
        return [*out, f"in {si!r} is not a mapping"]
    for port in sorted(set(si) | set(hi)):
        if port not in hi or port not in si:
            out.append(f"input '{port}' {'not on this node' if port not in hi else 'not in the saved state'}")
            continue
        a, b = si[port], hi[port]
        for field in b:
            if isinstance(a, dict) and field not in a:  # not written by an older version: not compared
                continue
            if not isinstance(a, dict) or not same(a.get(field), b[field]):
                got = a.get(field) if isinstance(a, dict) else a
                out.append(f"input '{port}' {field}: saved {got!r}, here {b[field]!r}")
    return out


def saving_config(fn: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """Wraps a node's state_dict: a non-empty state of a configured node with inputs gets CONFIG_KEY."""
    if getattr(fn, "_saves_config", False):
        return fn

    @functools.wraps(fn)
    def state_dict(self: Any) -> dict[str, Any]:
        state = fn(self)
        if state and self.__dict__.get("_configured"):  # a source's too: a file position belongs to its file
            state = {**state, CONFIG_KEY: node_config(self)}
        return state

    state_dict._saves_config = True  # type: ignore[attr-defined]
    return state_dict


def checking_config(fn: Callable[[Any, dict[str, Any]], None]) -> Callable[[Any, dict[str, Any]], None]:
    """Wraps a node's load_state_dict: a state that carries CONFIG_KEY must have been saved under this node's
    configuration (ValueError naming each difference); the key is taken off before the node loads the rest."""
    if getattr(fn, "_checks_config", False):
        return fn

    @functools.wraps(fn)
    def load_state_dict(self: Any, state: dict[str, Any]) -> None:
        if self.__dict__.get("_configured") is False:  # configure() starts a fresh state: a state loaded before is lost
            raise RuntimeError(
                f"{_who(self)}: load_state_dict() before configure(): call node.configure(in_specs) first, then load "
                "the state (configure starts a fresh stream and would drop it)"
            )
        if isinstance(state, dict) and CONFIG_KEY in state:
            if self.__dict__.get("_configured"):
                diffs = config_differences(state[CONFIG_KEY], node_config(self))
                if diffs:
                    raise ValueError(
                        f"{_who(self, 'this ')} state was saved by a node configured differently: "
                        + "; ".join(diffs)
                        + ". Fix: load a state saved by a node with the same params and input streams"
                    )
            state = {k: v for k, v in state.items() if k != CONFIG_KEY}
        if not isinstance(state, dict):
            raise TypeError(
                f"{_who(self)} load_state_dict takes the dict that state_dict() returns, got {type(state).__name__}"
            )
        own = not dataclasses.is_dataclass(self.__dict__.get("state"))  # not a declared state (pipeline/state.py)
        if own and self.inputs and self.__dict__.get("_configured"):
            _check_like(self, state)
        try:
            fn(self, state)
        except KeyError as e:  # a key the node reads that the state lacks: was a bare KeyError 'zi'
            key = e.args[0] if len(e.args) == 1 else None
            if not isinstance(key, str) or key in state or " " in key:
                raise
            raise KeyError(
                f"{_who(self)} state has no '{key}' (it has {sorted(state)}): load a dict saved by this node's "
                "state_dict()"
            ) from None

    load_state_dict._checks_config = True  # type: ignore[attr-defined]
    return load_state_dict


def _who(node: Any, article: str = "") -> str:
    """'node_id: type' (or the type alone), for messages."""
    kind = f"{article}{node.type_name or type(node).__name__}"
    return f"{node.node_id}: {kind}" if node.node_id else kind


def _check_like(node: Any, state: dict[str, Any]) -> None:
    """For a processing node that keeps its state itself: each value of `state` is of the kind its own state_dict()
    holds there (a numeric array, a number, a dict of those), and no key is unknown, so that a wrong
    state is refused at load with its key named, not with numpy's words at load or at the next chunk."""
    like = {k: v for k, v in node.state_dict().items() if k != CONFIG_KEY}
    if not like:  # a stateless node: Node.load_state_dict says so
        return
    extra = sorted(set(state) - set(like))
    if extra:
        raise KeyError(f"{_who(node)} state has unexpected keys {extra}; its keys are {sorted(like)}")
    for k in like.keys() & state.keys():
        _like(like[k], state[k], f"{_who(node)} state '{k}'")


def _like(like: Any, value: Any, what: str) -> None:
    if isinstance(like, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{what} must be a dict (keys {sorted(like)}), got {_short(value)}")
        for k in like.keys() & value.keys():
            if k != CONFIG_KEY:
                _like(like[k], value[k], f"{what[:-1]}.{k}'")
        return
    if isinstance(like, np.ndarray):
        a = np.asarray(value) if isinstance(value, (np.ndarray, list, tuple, numbers.Number)) else None
        if a is None or a.dtype.kind not in "biufc":  # its shape: the node's own check, which knows what it means
            raise ValueError(f"{what} must be a numeric array ({like.dtype}), got {_short(value)}")
        return
    if isinstance(like, (bool, np.bool_, numbers.Integral)):
        # a float only where it is whole (2.0 from JSON): 2.5 was taken and cut to 2 by the node's int()
        if (
            not isinstance(value, (numbers.Real, np.bool_))
            or isinstance(value, (float, np.floating))
            and not float(value).is_integer()
            or not INT64[0]
            <= int(cast(Any, value))
            <= INT64[1]  # a whole 1e300: "int too large to convert" at a later chunk
        ):
            raise ValueError(f"{what} must be a whole number (in int64's range), got {_short(value)}")
    elif isinstance(like, numbers.Real) and value is not None and not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number (or None), got {_short(value)}")
    elif like is None and value is not None:  # not known yet (a start time): a number, or an array once known
        if not isinstance(value, (numbers.Real, np.ndarray, list)) or np.asarray(value).dtype.kind not in "biuf":
            raise ValueError(f"{what} must be None, a number or a numeric array, got {_short(value)}")


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array {value.dtype}{value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
