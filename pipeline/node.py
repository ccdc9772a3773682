"""The node API: small plain classes that can be used without any runtime.

A node declares named input and output ports and typed parameters (a pydantic model, so YAML values
are validated with clear errors). The runtime calls, in order:

    node = MyNode(**params)                     # parameters validated here
    out_specs = node.configure(in_specs)        # spec checking; raise SpecError on a mismatch
    node.open()                                 # acquire the data or the device (only where it runs)
    outputs = node.process({"in": chunk})       # any number of times; may return {} (no output yet)
    outputs = node.end_segment(t_next)          # before process() of a chunk flagged gap (of no samples too):
                                                # the segment before the gap's tail, as finish() gives it, only
                                                # what is stamped before t_next (the gap chunk's t0; None: unknown)
    outputs = node.input_ended("b")             # optional: input "b" ended while others go on
    tail = node.finish()                        # once, at end of stream: flush anything held back
                                                # (the runtime calls finish_all(): finish() in a list, or
                                                # several chunks per port where the tail is not one run)
    node.close()                                # release files and devices

`configure` works out the specs and nothing more: it may read what the specs need (a file's header, a
device's description, declared params) but must not start reading the data or open the device.
`open()` does that, once, only where the node runs: the executor calls it in the process that runs the
node, so in a multi-process run the parent (which configures every node to check the graph) and
`wavegraph validate` never open a file's data or a device (the worker opens it, after the start
barrier). A `needs_device` node whose spec is declared in its params (`declared_specs()`) can check the
device against it in `open()`. The default does nothing. Offline, call
the same methods in a loop; a node whose `open()` matters opens itself on the first `read()` or
`process()` if it was not called, so `configure` then `read` still works.

The base keeps the specs `configure` was given in `node.in_specs` (a subclass's `configure` need not store them). State is explicit: `reset()`,
`state_dict()` and `load_state_dict()`; a stateful node declares its state once, as a dataclass returned
by `new_state()` (see pipeline/state.py), and those three follow from it. Latency is declared in
`latency_samples` (at the rate of the first input in `inputs` order that has one, or of the first output for sources): a positive value is a delay (the output at time t depends on inputs up to t
and is stamped late by that many samples) or a lookahead held back before output.

Sources (no inputs) implement `read()`, returning the next outputs or None at end of stream, and say
whether they are `live` (paced by hardware such as an amplifier or a sound card) or replayed (the
runner paces them from their chunk times, or runs them as fast as possible).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .chunk import Chunk
from .spec import SpecError, StreamSpec
from .state import state_from_dict, state_to_dict
from .state_config import checking_config, saving_config


class NodeParams(BaseModel):
    """Base of every node's parameter model: unknown parameters are errors; types are strict-ish."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _paths_as_text(cls, data: Any) -> Any:
        """A pathlib.Path given to a node made by hand is its text, as GraphBuilder.add takes it: FileSource(path=
        Path('rec.edf')) was pydantic's 'Input should be a valid string'."""
        if isinstance(data, dict):
            return {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in data.items()}
        return data


P = TypeVar("P", bound=NodeParams)


class Node(Generic[P]):
    """Base class of all nodes. Subclasses override the class attributes and the methods they need.

    `self.params` is an instance of the class's `Params`; a subclass may say which for the type checker
    with `class MyNode(Node[MyParams])` (left out, the checker does not check attribute names on it)."""

    type_name: ClassVar[str] = ""  # the YAML `type:`; set by @register
    node_id: str = ""  # the graph's id for it (set by graph.make_node; "" for a node made by hand), for its messages
    inputs: tuple[str, ...] = ("in",)  # a class default; a node may set its own ports in __init__ (join)
    outputs: tuple[str, ...] = ("out",)
    Params: ClassVar[type[NodeParams]] = NodeParams
    # True: the runtime ORs an input chunk's `gap` flag into the node's next output (right for one input).
    # False: the node sets `gap` on its outputs itself (nodes that align several inputs by time, such as
    # join and epochs, whose next output need not be the data that follows the gap).
    propagates_gaps: ClassVar[bool] = True
    # True: process() and input_ended() may hold outputs back for more() (epochs, ssvep_trial_decoder, join), which the
    # runtime then drains.
    holds_more: ClassVar[bool] = False
    # True: configure() opens hardware or waits for a network stream (an amplifier, a sound card, an LSL
    # outlet). `wavegraph validate`/`describe` then use declared_specs() instead, unless --devices.
    needs_device: ClassVar[bool] = False
    # What `latency_samples` leaves out because only the device knows it (a sound card's own buffering):
    # `wavegraph describe` prints it beside the node's latency and the paths through it. "" when nothing is.
    latency_note: str = ""

    def __init__(self, **params: Any):
        if not (
            isinstance(self.Params, type) and issubclass(self.Params, NodeParams)
        ):  # as a graph refuses it: by hand,
            from .node_class import params_class_problem  # a BaseModel of one's own ignored a misspelt parameter

            said, fix = params_class_problem(type(self)) or ("", "")
            raise TypeError(f"{said}; fix: {fix}")
        try:
            self.params: P = cast(P, self.Params(**params))
        except ValidationError as e:  # by hand, pydantic's lines alone ("window  Extra inputs are not permitted"): the
            _say_params(type(self), params, e)  # graph's too (unknown parameter 'lfreq'; fix: did you mean 'l_freq'?)
            raise
        self.in_specs: dict[str, StreamSpec] = {}
        self.out_specs: dict[str, StreamSpec] = {}
        self.latency_samples: int = 0
        # Named event counters shown in the end-of-run summary (NaNs zeroed, overflows, ...).
        self.counters: dict[str, int] = {}
        self.state: Any = None  # the declared stream state (new_state()); None for a stateless node
        self._configured = False  # set once configure() returned: what __getattr__ says of an attribute not set yet

    def __getattr__(self, name: str) -> Any:
        """Only for an attribute not found: one that configure() sets, asked for before it ran (process() or reset()
        of a node made by hand) was "'Bandpass' object has no attribute 'lead'"."""
        if not name.startswith("__") and self.__dict__.get("_configured") is False:
            raise AttributeError(
                f"{type(self).__name__}.{name} is not set yet: call node.configure(in_specs) first (then process(), "
                "read(), reset() or load_state_dict(); the runtime does this itself)",
                name=name,
                obj=self,
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self)

    def __init_subclass__(cls, **kwargs: Any):
        """Every `configure` stores its input specs in `self.in_specs` before it runs."""
        super().__init_subclass__(**kwargs)
        configure = cls.__dict__.get("configure")
        if configure is not None and not getattr(configure, "_stores_in_specs", False):

            @functools.wraps(configure)
            def stores_in_specs(self: Node, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
                _check_in_specs(self, in_specs)
                self.in_specs = dict(in_specs)
                out = configure(self, in_specs)
                self._configured = True
                if self.state is None:  # a declared state its configure() did not start (it did not call reset())
                    self.state = self.new_state()
                return out

            stores_in_specs._stores_in_specs = True  # type: ignore[attr-defined]
            cls.configure = stores_in_specs  # type: ignore[method-assign]
        # the end-of-stream calls need what configure() sets up: by hand before it, Resample().finish() was
        # "'NoneType' object has no attribute 'n_in'" (fir, align, apply_mask alike; join a KeyError)
        for name in ("input_ended", "end_segment", "finish", "finish_all"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_needs_configure", False):
                setattr(cls, name, _configured_first(method))
        # A state says which configuration it belongs to, and is refused by a node configured otherwise
        # (pipeline/state_config.py), whichever way the subclass saves and loads it.
        if "state_dict" in cls.__dict__:
            cls.state_dict = saving_config(cls.__dict__["state_dict"])  # type: ignore[method-assign]
        if "load_state_dict" in cls.__dict__:
            cls.load_state_dict = checking_config(cls.__dict__["load_state_dict"])  # type: ignore[method-assign]

    # --- graph-build time --------------------------------------------------------------------
    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        """Check the input specs and return the output specs. The default passes 'in' through."""
        _check_in_specs(self, in_specs)
        self.in_specs = dict(in_specs)
        self.out_specs = {name: in_specs["in"] for name in self.outputs}
        self._configured = True
        # a node of one's own declaring its state (new_state(), docs/architecture.md) with no configure of its own: its
        # process() found self.state None ("'NoneType' object has no attribute 'total'"), by hand as in a graph
        self.state = self.new_state()
        return self.out_specs

    def declared_specs(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec] | None:
        """For a `needs_device` node: its output specs from its params alone (what configure() will then
        check against the device), or None when they cannot be known without the device."""
        return None

    def check_params(self) -> list[tuple[str, str, str]]:
        """Problems configure() finds whatever the input stream, as (parameter, message, fix): what `validate` and
        `describe` say of a node they cannot configure (its input comes from a device, not opened offline), which
        configure() would otherwise say only once the run has the device. Default: none."""
        return []

    def open(self) -> None:
        """Acquire what running needs (open the data for reading, the device, the network stream), after
        configure() and before the first process()/read(). Called once, only in the process that runs
        the node; never by validate/describe or by the parent of a multi-process run. Default: nothing."""

    # --- data time ---------------------------------------------------------------------------
    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        """Consume the chunks that arrived (one entry per port that has data) and return outputs."""
        raise NotImplementedError

    def more(self) -> dict[str, Chunk]:
        """Outputs still held after process(), one more chunk per port ({} when none is): for a node that can make
        several chunks' worth in one call whose rows must not share one t0 (epochs, ssvep_trial_decoder: one marker
        time per chunk of irregular features). The runtime calls it after each process() and input_ended() until it
        returns {}, when the class sets `holds_more`; by hand, the rest comes with the next process() calls, or from
        finish()."""
        return {}

    def input_ended(self, port: str) -> dict[str, Chunk]:
        """Called when input `port` reaches end-of-stream while other inputs are still open (its outlet
        was lost, its file ended first); nothing more arrives on it. The node may stop waiting for it and
        return outputs (join releases or drops what it held for it). Called once per port, in one
        process as across processes, in the order of the port's data; `finish()` follows once the last
        input ends (it is not preceded by input_ended for that one). Default: nothing."""
        return {}

    def end_segment(self, t_next: float | None = None) -> dict[str, Chunk]:
        """Called by the runtime when a chunk flagged gap arrives, before its process() (and for one of no samples):
        what the segment before the gap still holds back, as finish() gives it at the end of a stream (the
        enhancer's last 319 samples; resample's and fir's flushed filter tail), sent before the gap and not flagged;
        the node then starts the next segment fresh. `t_next`: the gap chunk's t0 (None for a chunk of no samples):
        a tail stamped past the segment's end (resample, fir, stft) keeps only what is stamped before it, so the
        output's times keep increasing after a gap shorter than its delay. Default: nothing (a node that holds
        nothing back, or drops it at the gap in process())."""
        return {}

    def finish(self) -> dict[str, Chunk]:
        """Called once at end of stream; returns anything still held back (e.g. a lookahead tail)."""
        return {}

    def finish_all(self) -> list[dict[str, Chunk]]:
        """What the runtime calls at end of stream instead of finish(): its outputs, in order. A node whose
        tail is more than one chunk per port (join, apply_mask: contiguous runs separated by a hole, one
        chunk each) overrides it; finish() then returns the first run. Default: [finish()]."""
        return [self.finish()]

    def close(self) -> None:
        """Release files, devices and sockets. Must be safe to call twice."""

    # --- state -------------------------------------------------------------------------------
    def new_state(self) -> Any:
        """The stream state of a fresh stream, for a stateful node: a dataclass instance whose fields are
        numpy arrays, numbers or None (rules in pipeline/state.py). Called after configure(); the node keeps
        it in `self.state`. None (the default): the node has no stream state."""
        return None

    def reset(self) -> None:
        """Forget all stream state (as after a gap or a restart): a fresh `new_state()`."""
        self.state = self.new_state()

    @saving_config
    def state_dict(self) -> dict[str, Any]:
        """The state as {field: copy of its value}; {} for a stateless node. A node with inputs adds the
        configuration it was saved under (state_config.CONFIG_KEY), which load_state_dict checks."""
        return state_to_dict(self.state)

    @checking_config
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from a state_dict(); a KeyError/ValueError names any key, shape or dtype that does not fit,
        or what differs in the configuration it was saved under (another rate, channel count or params)."""
        clean = getattr(getattr(self, "params", None), "nan_policy", None) == "zero"  # (nodes/nanpolicy.py)
        self.state = state_from_dict(self.new_state(), state, type(self).__name__, clean)

    # --- helpers -----------------------------------------------------------------------------
    @property
    def latency_seconds(self) -> float:
        """latency_samples at the rate of the first input in the node's port order (`inputs`) that has a rate, not in
        the order configure() was given them: a graph gives them in its edges' order, and epochs with its events edge
        written first divided by the events' rate (0) and said 0 ms. Sources: the first output's rate."""
        specs = [self.in_specs[p] for p in self.inputs if p in self.in_specs] + list(self.in_specs.values())
        spec = next((s for s in specs if s.rate), None)
        if spec is None and not self.in_specs:
            spec = next(iter(self.out_specs.values()), None)
        if spec is None or not spec.rate:
            return 0.0
        return self.latency_samples / spec.rate

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + int(n)

    def require_input(self, in_specs: dict[str, StreamSpec], port: str = "in", kind: str | None = None) -> StreamSpec:
        """Fetch one input spec and check its kind, with an error that says what to connect instead."""
        spec = in_specs[port]
        if kind is not None and spec.kind != kind:
            a = "an" if kind[0] in "aeiou" else "a"
            raise SpecError(
                f"input '{port}' must be {a} {kind} stream, got {spec.kind}",
                f"connect {a} {kind} output to '{port}'",
                port,
            )
        return spec


E = TypeVar("E", bound=BaseException)


def explained(error: E) -> E:
    """`error`, marked as one whose message says what happened, what was kept and the fix (a recorder's full disk, a
    sound card gone): the runtime says it as it is, without its own frames and generic 'fix: correct the node'."""
    error.explained = True  # type: ignore[attr-defined]
    return error


def _configured_first(fn):
    """`fn` (finish, finish_all, input_ended) of a node made by hand and not configured yet: where it needs what
    configure() sets up, an error that says so and what to do (one that needs nothing still returns its {})."""

    @functools.wraps(fn)
    def wrapper(self: Node, *args: Any, **kwargs: Any):
        if self.__dict__.get("_configured") is not False or "_ending" in self.__dict__:  # (finish in finish_all)
            return fn(self, *args, **kwargs)
        self.__dict__["_ending"] = True
        try:
            return fn(self, *args, **kwargs)
        except (AttributeError, KeyError, TypeError) as e:
            raise RuntimeError(
                f"{type(self).__name__}.{fn.__name__}() before configure(): call node.configure(in_specs) first, "
                f"then process() the chunks; {fn.__name__}() gives what the node holds at the end of the stream"
            ) from e
        finally:
            del self.__dict__["_ending"]

    wrapper._needs_configure = True  # type: ignore[attr-defined]
    return wrapper


def _say_params(cls: type[Node], params: dict[str, Any], e: ValidationError) -> None:
    """Add to a parameter error, as notes (shown under its traceback), what a graph says of the same mistake; the
    error stays a ValidationError (the graph catches it as one)."""
    from .config import NodeConfig
    from .param_problems import PYTHON, _param_problems

    name = cls.type_name or cls.__name__
    try:
        problems = _param_problems(NodeConfig("", name, dict(params), "stop", 0), cls, e.errors(), PYTHON)
    except Exception:  # noqa: BLE001 — a note must never hide the error itself
        return
    for _, _, said, fix in problems:
        prefix = f"node '' ({name}): "
        e.add_note(f"{cls.__name__}: {said.removeprefix(prefix)}; fix: {fix}")


def _check_in_specs(node: Node, in_specs) -> None:
    """configure()'s argument as the runtime gives it, {input port: StreamSpec} for every input, or an error saying
    what to pass: by hand, configure(spec), configure({"in": 250.0}) or configure({"input": spec}) were
    "'StreamSpec' object is not iterable", "'float' object has no attribute 'kind'" or a bare KeyError: 'in'."""
    name = type(node).__name__
    ports = ", ".join(f"{p!r}: spec" for p in node.inputs)
    if not isinstance(in_specs, Mapping):
        raise TypeError(
            f"{name}.configure() takes a dict of its inputs' specs, got {type(in_specs).__name__}; "
            f"pass {{{ports}}} (from wavegraph.pipeline.spec import signal_spec)"
        )
    if set(in_specs) != set(node.inputs):
        have = ", ".join(map(repr, in_specs)) or "none"
        raise SpecError(
            f"{name}.configure() was given the inputs {have}; its inputs are {', '.join(map(repr, node.inputs)) or 'none'}",
            f"pass {{{ports}}}" if node.inputs else "pass {} (a source has no inputs)",
        )
    for port, spec in in_specs.items():
        if not isinstance(spec, StreamSpec):
            raise TypeError(
                f"{name}.configure(): input {port!r} is {type(spec).__name__}, not a StreamSpec; "
                "pass e.g. signal_spec(rate, channel_names) (from wavegraph.pipeline.spec import signal_spec)"
            )


class Source(Node[P]):
    """A node with no inputs. `read()` returns the next outputs, or None at end of stream."""

    inputs: ClassVar[tuple[str, ...]] = ()
    live: ClassVar[bool] = False  # True: hardware paces read(); False: the runner paces by chunk time
    # True (a node may set it per instance): the runner ends this source once every other source of its
    # process has ended, e.g. a marker stream that would otherwise keep the run going after the signal
    ends_with_others: bool = False

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        raise NotImplementedError

    def read(self) -> dict[str, Chunk] | None:
        raise NotImplementedError

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        out = self.read()
        return {} if out is None else out


class Sink(Node[P]):
    """A node with no outputs (recorders, outlets, speakers)."""

    outputs: ClassVar[tuple[str, ...]] = ()

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        return {}
