"""The one streaming API of the sequence models (MambaStack, GLAStack, ConformerEncoder, and any model built on them).

A `StreamingModel` maps feature frames x (batch, T, d_in) to output frames y (batch, T // stride, d_out), with time
along dim 1. It can run in two ways that give the same answer:

    y = model(x, **options)                          # offline: the whole sequence at once (training, evaluation)

    state = model.init_state(batch, device, **options)  # a fresh stream; this is also the reset
    for x_chunk in chunks:                           # any chunk lengths, including 0 and 1 frames
        y_chunk, state = model.stream(x_chunk, state)
        ...
    y_tail, state = model.flush(state)               # end of stream: what was held back for lookahead

    torch.cat([*y_chunks, y_tail], 1) == model(x, **options)   within model.stream_tolerance (max abs, fp32)

and one frame at a time, `y_t, state = model.step(x[:, t], state)` with x_t (batch, d_in) and y_t
(batch, m, d_out), m >= 0 the frames that frame completed (always 1 for a causal stride-1 model such as Mamba/GLA).
Concatenating the step outputs and the flush equals `forward` too.

The contract:
  * **State is explicit.** A state is a flat `dict[str, Tensor | int]` for one batch; the model object keeps no
    stream state, so one model serves any number of streams. Keys are stable for a given config, so a state can be
    saved (`save_state`: numpy copies) and restored (`load_state(saved, like=model.init_state(...))`) as is. Treat it
    as opaque otherwise. Copy both ways: `step` updates the tensors in place, and `v.cpu().numpy()` of a CPU tensor
    (or `torch.as_tensor` of an array) shares its memory, so such a "snapshot" moved on with the stream.
  * `stream` and `flush` never modify the state passed in (they return a new one: feeding the same state twice
    gives the same answer); `step` MAY update the state's tensors in place (the decode path) and returns it.
    Always use the returned state.
  * **Non-finite frames are refused** by `stream` and `step` (ValueError, the state untouched): carried in the state,
    one NaN would make every later output NaN. `forward` computes with them (NaN out, no state kept).
  * **Options** are model-specific stream settings (the Conformer's `att_context`). The same options go to
    `forward`, `init_state` and `latency_frames`; an option the model does not take is a TypeError (models
    without options take no keyword arguments there).
  * **Latency is declared** in input frames: `latency_frames(**options)` is how many input frames after the first
    input frame of an output frame's stride block must arrive before that output frame is returned by `stream`
    (0 for a causal stride-1 model; `(R + 1) * subsampling - 1` for the Conformer with lookahead R).
    `stride` is the input frames per output frame.
  * Every model states `stream_tolerance`, the max abs difference (fp32) it guarantees between any chunking and
    `forward`; the tests check it over many chunkings.

`Chain(a, b, ...)` runs models one after another under the same API (strides multiply; its latency composes each
part's `ready_at`, the input frame that releases an output frame), e.g. a Conformer encoder, a Mamba stack and a linear head:
`Chain(enc, ssm, Frames(nn.Linear(ssm.d_out, n), ssm.d_out, n))`. docs/models.md has the whole contract.

`assert_stream_equals_forward(model, x, **options)` checks the contract for a model (tests of new models use it).

This module imports torch only (models never import the runtime). Nodes wrap a StreamingModel with
`wavegraph.nodes.models.model` (YAML `type: model`).
"""

from __future__ import annotations

import contextvars
import math
import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import nn

__all__ = [
    "State",
    "StreamingModel",
    "Chain",
    "Frames",
    "check_batch",
    "check_dtype",
    "check_finite",
    "check_frames",
    "default_chunkings",
    "assert_stream_equals_forward",
    "save_state",
    "load_state",
]

State = dict[str, Any]  # name -> Tensor (or int for counters such as a stream offset)


def check_frames(x: torch.Tensor, d_in: int, name: str = "x") -> None:
    """ValueError unless x is (batch, frames, d_in)."""
    if x.dim() != 3 or x.shape[-1] != d_in:
        raise ValueError(f"{name} must be (batch, frames, d_in={d_in}), got shape {tuple(x.shape)}")


def check_batch(batch) -> int:
    """`batch` as an int, or a ValueError saying what init_state takes: 2.5 was torch's 'zeros() takes 1 positional
    argument but 3 were given', -1 'zeros: Dimension size must be non-negative'."""
    value = batch.item() if isinstance(batch, torch.Tensor) and batch.numel() == 1 else batch
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"batch must be a whole number of streams >= 0, got {batch!r}")
    return int(value)


_TRUSTED = contextvars.ContextVar("wavegraph_trusted_inputs", default=False)


@contextmanager
def trusted_inputs() -> Iterator[None]:
    """For a caller that cleans its frames itself and owns the state it passes (the model nodes: nan_policy and the
    clip, their own init_state): inside it `stream` and `step` skip their checks of the samples (finite, in range)
    and of the state. Those cost the enhancer ~30 us of its ~160 us per 10 ms frame on one core, and a device sync
    per call on a GPU; a user's own calls keep them."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def inputs_trusted() -> bool:
    """Whether the caller is inside trusted_inputs()."""
    return _TRUSTED.get()


def check_finite(model: nn.Module, x: torch.Tensor, name: str = "x", limit: float = math.inf, fix: str = "") -> None:
    """ValueError when x holds NaN or inf (or, with `limit`, a value beyond +-limit), before `stream` or `step` touch
    the state: unchecked, one NaN frame went into the state and made every later output NaN, unsaid. Skipped inside
    trusted_inputs()."""
    if not x.is_floating_point() or _TRUSTED.get():
        return
    ok = torch.isfinite(x) if limit == math.inf else x.abs() <= limit  # NaN <= limit is False
    if bool(ok.all()):
        return
    bad = (~ok).nonzero()[0].tolist()
    what = "NaN or infinite values" if limit == math.inf else f"NaN, infinite or beyond +-{limit:g} values"
    raise ValueError(
        f"{name} holds {int((~ok).sum())} {what} (the first at index {tuple(bad)}, value {x[tuple(bad)].item()}); "
        f"{type(model).__name__} carries its state from chunk to chunk and would give NaN from there on: "
        + (
            fix
            or f"replace them first, e.g. torch.nan_to_num({name}, 0.0, 0.0, 0.0), as the model nodes do (nan_policy)"
        )
    )


def check_dtype(model: nn.Module, x: torch.Tensor, name: str = "x") -> None:
    """ValueError when x's dtype is not the model's weights' (outside autocast): torch's own error for that comes from
    deep inside a layer ('Input type (double) and bias type (float) should be the same', 'expected m1 and m2 to have
    the same dtype'), naming neither."""
    w = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    if w is None or x.dtype == w or _autocast_on(x.device.type):
        return
    if not x.is_floating_point():
        raise ValueError(
            f"{name} has dtype {x.dtype}; {type(model).__name__} takes floating-point frames: pass {name}.to({w})"
        )
    raise ValueError(
        f"{name} has dtype {x.dtype} but the {type(model).__name__} weights are {w}: "
        f"pass {name}.to({w}) or convert the model with .to({x.dtype})"
    )


def _autocast_on(device_type: str) -> bool:
    """Whether autocast is on for `device_type`: torch >= 2.4 is asked with it; 2.1-2.3 (pyproject takes them) answer
    for CUDA with no argument (a TypeError given one) and for the CPU with is_autocast_cpu_enabled."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


class StreamingModel(nn.Module):
    """Base of the streaming models; see the module docstring for the contract.

    Subclasses set `d_in`, `d_out` (attributes or properties), override `forward`, `init_state` and `stream`, and,
    when they have them, `stride`, `latency_frames`, `flush` (a lookahead tail) and `step` (a faster one-frame path).
    """

    stride: int = 1  # input frames per output frame
    stream_tolerance: ClassVar[float] = 1e-5  # max abs diff (fp32) between any chunking and forward
    # The dtype a streaming node runs the model in (weights, frames and init_state's `dtype`) for its output not to
    # depend on where the chunks start: float32 for most; GLAStack float64 (see there). The model node uses it on the
    # CPU; on a GPU it keeps fp32 (the Triton kernels are fp32; nodes/models/model.py node_dtype).
    stream_dtype: ClassVar[torch.dtype] = torch.float32
    # The largest |x| its float32 arithmetic takes: `stream` refuses more, the model node clips to it (clipped_input).
    # Mamba's and GLA's RMSNorms take any finite x; the Conformer's LayerNorms square it (ConformerEncoder).
    input_limit: ClassVar[float] = math.inf
    # For checking a saved state against a fresh one: the int entries that are settings, not progress (they must be
    # equal), and the axis along which a tensor entry grows with the stream (its other axes must be equal).
    setting_state: ClassVar[tuple[str, ...]] = ()

    def state_growth_axis(self, key: str) -> int | None:
        return None

    def check_state(self, state: State) -> None:
        """ValueError unless `state` is one this model's stream can reach (for a saved state, checked when it is
        loaded rather than at the next chunk); by default nothing beyond the keys and shapes the caller compares."""

    d_in: int
    d_out: int

    def latency_frames(self, **options) -> int:
        """Input frames of lookahead (see the module docstring); 0 for a causal stride-1 model."""
        return 0

    def ready_at(self, j: int, **options) -> int:
        """The input frame (0-based) whose arrival makes `stream` return output frame j. Default j * stride +
        latency_frames; a model that returns some frames sooner (the Conformer: the last frames of a chunk of R+1)
        overrides it and `ready_period`, so that a Chain composes the exact latency."""
        return j * self.stride + self.latency_frames(**options)

    def ready_period(self, **options) -> int:
        """P with ready_at(j + P) == ready_at(j) + P * stride for every j (1 by default)."""
        return 1

    def forward(self, x: torch.Tensor, **options) -> torch.Tensor:  # pragma: no cover - abstract
        """Offline: x (batch, T, d_in) -> y (batch, T // stride, d_out), from a fresh state."""
        raise NotImplementedError

    def init_state(self, batch: int = 1, device=None, dtype=torch.float32, **options) -> State:  # pragma: no cover
        """A fresh stream state for `batch` streams (this is also the reset)."""
        raise NotImplementedError

    def stream(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:  # pragma: no cover - abstract
        """One chunk x (batch, n, d_in), n >= 0 -> (the output frames it completed (batch, m, d_out), new state)."""
        raise NotImplementedError

    def step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame x_t (batch, d_in) -> (y (batch, m, d_out), state); may update the state in place."""
        if x_t.dim() != 2 or x_t.shape[-1] != self.d_in:  # was said of x (batch, 1, d_in) by stream
            raise ValueError(f"x_t must be one frame (batch, d_in={self.d_in}), got shape {tuple(x_t.shape)}")
        return self.stream(x_t[:, None], state)

    def flush(self, state: State) -> tuple[torch.Tensor, State]:
        """End of stream: (the frames held back for lookahead (batch, m, d_out), state). Default: none."""
        batch, device, dtype = _batch_of(state)
        # in the outputs' dtype, the weights': the state's (GLA's float32 state of a .half() model) made
        # torch.cat(outputs + [flush]) float32
        dtype = next((p.dtype for p in self.parameters() if p.is_floating_point()), dtype)
        return torch.zeros(batch, 0, self.d_out, device=device, dtype=dtype), state


def _batch_of(state: State) -> tuple[int, torch.device | None, torch.dtype]:
    for v in state.values():
        if isinstance(v, torch.Tensor) and v.dim() >= 1:
            return v.shape[0], v.device, (v.dtype if v.is_floating_point() else torch.float32)
    raise ValueError("the state holds no tensor to read its batch size from")


class Frames(StreamingModel):
    """A frame-wise module (e.g. a linear head or an MLP on the feature axis) as a stateless StreamingModel."""

    def __init__(self, module: nn.Module, d_in: int, d_out: int):
        super().__init__()
        self.module, self.d_in, self.d_out = module, d_in, d_out

    def forward(self, x: torch.Tensor, **options) -> torch.Tensor:
        check_frames(x, self.d_in)
        check_dtype(self, x)  # was torch's 'mat1 and mat2 must have the same dtype' from inside the module
        return self.module(x)

    def init_state(self, batch: int = 1, device=None, dtype=torch.float32, **options) -> State:
        device = device if device is not None else next(self.parameters(), torch.empty(0)).device
        return {"batch": torch.zeros(check_batch(batch), 0, device=device, dtype=dtype)}  # only carries the batch size

    def stream(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        return self.forward(x), state


class Chain(StreamingModel):
    """Models run one after another: forward, stream, step and flush compose; state keys are prefixed "i.".
    `options` given to the chain go to every part (so only one part may take a given option)."""

    def __init__(self, *parts: StreamingModel):
        super().__init__()
        if not parts:
            raise ValueError("Chain needs at least one model")
        for a, b in zip(parts, parts[1:]):
            if a.d_out != b.d_in:
                raise ValueError(f"{type(a).__name__} gives {a.d_out} features, {type(b).__name__} takes {b.d_in}")
        self.parts = nn.ModuleList(parts)  # registers the parameters
        self.seq: tuple[StreamingModel, ...] = tuple(parts)  # the same modules, typed
        self.d_in, self.d_out = parts[0].d_in, parts[-1].d_out
        self.stride = math.prod(p.stride for p in parts)
        self.stream_tolerance = max(p.stream_tolerance for p in parts)  # type: ignore[misc]

    @staticmethod
    def _accepted(part: StreamingModel) -> set[str]:
        """The stream options `part` takes (a Chain's: its parts')."""
        import inspect

        if isinstance(part, Chain):
            return set().union(*(Chain._accepted(p) for p in part.seq))
        params = inspect.signature(part.init_state).parameters.values()
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return {p.name for p in params if p.kind in named and p.name not in ("batch", "device", "dtype")}

    def _opts(self, part: StreamingModel, options: dict) -> dict:
        accepted = self._accepted(part)
        return {k: v for k, v in options.items() if k in accepted}

    def _check_options(self, options: dict) -> None:
        """TypeError for an option no part takes (as a model given an option it does not take): a misspelt
        att_context, or one given to a chain without a Conformer, was dropped and the default context run, unsaid."""
        taken = self._accepted(self)
        unknown = sorted(set(options) - taken)
        if unknown:
            import inspect

            names = ", ".join(type(p).__name__ for p in self.seq)
            name = unknown[0]
            offline = [p for p in self.seq if name in inspect.signature(p.forward).parameters]
            if offline:  # lengths: the Conformer's forward takes it, a Chain passes its parts stream options only
                raise TypeError(
                    f"{type(offline[0]).__name__}.forward takes {name!r}, but this Chain ({names}) passes its parts "
                    f"their stream options only, {sorted(taken) or 'none'}: run the parts one by one to give it"
                )
            raise TypeError(
                f"no part of this Chain ({names}) takes the option {name!r}; "
                f"the options they take: {sorted(taken) or 'none'}"
            )

    def latency_frames(self, **options) -> int:
        """The worst case over the output frames of ready_at(j) - j * stride. Not the parts' latencies added up (a
        later part's times the strides before it): that overstated a Conformer after a Conformer with lookahead (9
        frames declared, 7 measured for two of subsampling 2 and R = 1), as the frames a later part waits for are
        the last of an earlier part's chunk, which come sooner than its first."""
        self._check_options(options)
        return max(self.ready_at(j, **options) - j * self.stride for j in range(self.ready_period(**options)))

    def ready_at(self, j: int, **options) -> int:
        for p in reversed(self.seq):  # the last input frame of each part that output frame j needs, back to front
            j = p.ready_at(j, **self._opts(p, options))
        return j

    def ready_period(self, **options) -> int:
        return math.prod(p.ready_period(**self._opts(p, options)) for p in self.seq)  # a period, maybe not the least

    def forward(self, x: torch.Tensor, **options) -> torch.Tensor:
        self._check_options(options)
        for p in self.seq:
            x = p(x, **self._opts(p, options))
        return x

    def init_state(self, batch: int = 1, device=None, dtype=torch.float32, **options) -> State:
        self._check_options(options)
        state: State = {}
        for i, p in enumerate(self.seq):
            for k, v in p.init_state(batch, device, dtype, **self._opts(p, options)).items():
                state[f"{i}.{k}"] = v
        return state

    def _split(self, state: State) -> list[State]:
        out: list[State] = [{} for _ in self.seq]
        for k, v in state.items():
            i, _, name = k.partition(".")
            if not (i.isdigit() and int(i) < len(self.seq) and name):  # was 'invalid literal for int()' or IndexError
                raise ValueError(
                    f"the state has {k!r}, not a key of a Chain of {len(self.seq)} parts (its keys are "
                    "'<part>.<name>', part 0..{}): start the stream with this Chain's init_state".format(
                        len(self.seq) - 1
                    )
                )
            out[int(i)][name] = v
        return out

    def _join(self, states: list[State]) -> State:
        return {f"{i}.{k}": v for i, s in enumerate(states) for k, v in s.items()}

    def check_state(self, state: State) -> None:
        for p, s in zip(self.seq, self._split(state)):
            p.check_state(s)

    def stream(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        states = self._split(state)
        for i, p in enumerate(self.seq):
            x, states[i] = p.stream(x, states[i])
        return x, self._join(states)

    def step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        states = self._split(state)
        y, states[0] = self.seq[0].step(x_t, states[0])
        for i, p in enumerate(self.seq[1:], 1):
            y, states[i] = p.step(y[:, 0], states[i]) if y.shape[1] == 1 else p.stream(y, states[i])
        return y, self._join(states)

    def flush(self, state: State) -> tuple[torch.Tensor, State]:
        states = self._split(state)
        y, states[0] = self.seq[0].flush(states[0])
        for i, p in enumerate(self.seq[1:], 1):  # what the earlier parts released goes through this part first
            y, states[i] = p.stream(y, states[i])
            tail, states[i] = p.flush(states[i])
            y = torch.cat([y, tail], 1)
        return y, self._join(states)


def save_state(state: State) -> dict[str, Any]:
    """A snapshot of `state` as numpy arrays (ints kept as ints), never sharing memory with it; bfloat16 (which numpy
    lacks) as float32, exactly."""
    out: dict[str, Any] = {}
    for k, v in state.items():
        if isinstance(v, torch.Tensor):
            v = v.detach()
            out[k] = (v.float() if v.dtype == torch.bfloat16 else v).cpu().numpy().copy()
        else:
            out[k] = int(v)
    return out


def load_state(saved: dict[str, Any], like: State) -> State:
    """`saved` (from save_state) as a state whose tensors take the dtype and device of `like`'s (e.g. the model's
    init_state(batch, device, ...)); copies, so a `step` never writes into `saved`."""
    if set(saved) != set(like):
        raise ValueError(
            f"the saved state has keys {sorted(saved)}, this model's {sorted(like)}: a state of another model"
        )
    return {
        k: torch.tensor(saved[k], dtype=t.dtype, device=t.device) if isinstance(t, torch.Tensor) else int(saved[k])
        for k, t in like.items()
    }


def default_chunkings(n: int, seed: int = 0) -> list[list[int]]:
    """Chunk sizes that add up to n: all ones, whole, a few empty chunks, and uneven random sizes (0 allowed)."""
    g = torch.Generator().manual_seed(seed)
    out = [[1] * n, [n], [0, min(n, 3), 0] + ([n - min(n, 3)] if n > 3 else [])]
    for max_size in (5, 23):
        sizes, left = [], n
        while left:
            s = min(left, int(torch.randint(0, max_size + 1, (1,), generator=g)))
            sizes.append(s)
            left -= s
        out.append(sizes)
    return out


def assert_stream_equals_forward(
    model: StreamingModel, x: torch.Tensor, chunkings=None, steps: bool = True, **options
) -> torch.Tensor:
    """Check the contract on x (batch, T, d_in): for every chunking (default: `default_chunkings`) stream + flush
    equals forward within model.stream_tolerance, the state passed to stream is left untouched, and (steps=True)
    step over every frame + flush equals forward too. Runs under no_grad; returns forward's output."""
    tol = model.stream_tolerance
    with torch.no_grad():
        ref = model(x, **options)
        for sizes in chunkings or default_chunkings(x.shape[1]):
            state, ys, i = model.init_state(x.shape[0], x.device, **options), [], 0
            for n in sizes:
                before = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in state.items()}
                y, new = model.stream(x[:, i : i + n], state)
                for k, v in before.items():
                    same = torch.equal(v, state[k]) if isinstance(v, torch.Tensor) else v == state[k]
                    assert same, f"{type(model).__name__}.stream modified the state it was given ('{k}')"
                state = new
                ys.append(y)
                i += n
            assert i == x.shape[1], f"chunk sizes add up to {i}, x has {x.shape[1]} frames"
            ys.append(model.flush(state)[0])
            _assert_close(torch.cat(ys, 1), ref, tol, f"chunk sizes {sizes[:8]}")
        if steps:
            state, ys = model.init_state(x.shape[0], x.device, **options), []
            for t in range(x.shape[1]):
                y, state = model.step(x[:, t], state)
                ys.append(y)
            ys.append(model.flush(state)[0])
            _assert_close(torch.cat(ys, 1), ref, tol, "step by step")
    return ref


def _assert_close(got: torch.Tensor, ref: torch.Tensor, tol: float, label: str) -> None:
    assert got.shape == ref.shape, f"{label}: streamed shape {tuple(got.shape)} != forward {tuple(ref.shape)}"
    err = (got - ref).abs().max().item() if ref.numel() else 0.0
    assert err <= tol, f"{label}: streamed output differs from forward by {err:.3g} > stream_tolerance {tol:g}"
