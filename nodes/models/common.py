"""Helpers shared by the model nodes (nodes/models/model.py and any node that runs a models/ model).

Importing this module is cheap: torch and the models are imported inside the functions, so `wavegraph nodes`
can list the model nodes without loading torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import AfterValidator, Field, model_validator
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.spec import SpecError

from ..nanpolicy import NAN_POLICY_HELP, NanPolicy

if TYPE_CHECKING:
    from wavegraph.models.streaming import StreamingModel

Device = Literal["auto", "cpu", "cuda"]
# torch's CPU threads while a model node computes. torch's own default is every core, per process: in a live
# graph each process then spreads a small model over cores that others are using, and waits for them (the
# SSVEP DNN's decision: 1.0 ms on one thread, 48 ms on two while the other core was busy; docs/bci.md).
Threads = Annotated[
    int,
    Field(
        ge=1,
        le=1024,
        description="torch CPU threads while this node computes (default 1: a live graph's processes share the "
        "cores; raise it for a big model replayed alone on an idle machine)",
    ),
]
# torch.manual_seed takes -2**63 .. 2**64 - 1; beyond, it said only "Overflow when unpacking long long" at configure
Seed = Annotated[int, Field(ge=-(2**63), lt=2**64, description="torch seed for random_init")]


def _existing_file(path: str | None) -> str | None:
    """`path` with ~ expanded, once it names a weights file with its JSON config beside it."""
    if path is None:
        return None
    p = _on_disk(Path(os.path.expanduser(path)))
    where = "" if p.is_absolute() else f" (a relative path is from {os.getcwd()})"
    try:
        if p.is_dir():
            raise ValueError(f"is a folder, not a weights file{where}; fix: give the weights file (.safetensors)")
        if p.exists() and not p.is_file():  # /dev/zero, a named pipe: was 'does not exist', of a path that does
            raise ValueError(f"is a pipe or a device, not a file{where}; fix: give the weights file (.safetensors)")
        if not p.is_file():
            from wavegraph.nodes.io.links import broken_link
            from wavegraph.nodes.io.near_names import near_names

            if link := broken_link(p, "checkpoint", "weights file"):  # was 'does not exist' of a link that is there
                raise ValueError(str(link).removeprefix(f"checkpoint: {p} "))
            named = p.with_name(p.name + ".safetensors")  # `enhancer` for enhancer.safetensors (not its .json)
            near = [named] if named.is_file() else near_names(p)  # M.safetensors for m.safetensors
            hint = f"did you mean {', '.join(str(c) for c in near)}? " if near else ""
            raise ValueError(
                f"does not exist{where}; fix: {hint}give the weights file (.safetensors, its .json beside it)"
            )
        from wavegraph.models.checkpoint_files import foreign

        if why := foreign(p):  # a .pt was 'has no config m.json beside it; fix: copy the .json along'
            raise ValueError(why.replace(f"{p} is ", "is ", 1).replace("; give", "; fix: give", 1))
        from wavegraph.models.checkpoint import config_path

        if p.suffix.lower() != ".json" and not config_path(p).is_file():
            raise ValueError(f"has no config {p.with_suffix('.json').name} beside it; fix: copy the .json along")
    except OSError as e:  # a name too long, a folder we may not read
        raise ValueError(f"cannot be read ({e.strerror}); fix: give the weights file (.safetensors)") from None
    return str(p)


def _on_disk(p: Path) -> Path:
    """`p`, or the same name in the other Unicode form when only that exists (a name copied from a Mac is NFD, one
    typed on Linux NFC: was 'does not exist' of a file the user sees; file_source finds it: datasets.resolve_path)."""
    if p.exists():
        return p
    import unicodedata

    other = [q for q in (Path(unicodedata.normalize(f, str(p))) for f in ("NFC", "NFD")) if q != p and q.exists()]
    return other[0] if other else p


def checkpoint_problem(path: str) -> str:
    """Why `path` cannot be a model node's `checkpoint` ("" when it can), as the node's parameter check says it:
    for commands that take a checkpoint outside a graph (bench enhance --checkpoint)."""
    try:
        _existing_file(path)
    except ValueError as e:
        return str(e)
    return ""


# A model node's `checkpoint`: None (the node's default, if any) or a file that exists, checked when the graph is
# built: `wavegraph validate` says so without the devices a live graph's model waits for.
CheckpointPath = Annotated[str | None, AfterValidator(_existing_file)]


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the body with torch using `n` CPU threads, then put back the count it had."""
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)


class ModelParams(NodeParams):
    """Where the weights come from: `checkpoint` (a models.checkpoint file) OR `random_init: true` with the inline
    dims (tests and demos only). Subclasses add the inline dims in `inline_fields`."""

    checkpoint: CheckpointPath = Field(None, description="weights written by models.checkpoint.save (config beside)")
    random_init: bool = Field(False, description="random weights from the inline dims (tests and demos only)")
    seed: Seed = 0
    device: Device = Field("auto", description="auto: cuda when torch sees one, else cpu")
    threads: Threads = 1
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)

    inline_fields: ClassVar[tuple[str, ...]] = ()  # the inline-dim field names, set by subclasses

    @model_validator(mode="after")
    def _one_source(self):
        if self.checkpoint is not None and self.random_init:  # a graph of random_init with --set NODE.checkpoint=PATH
            raise ValueError(
                "has both checkpoint and random_init: true: give exactly one of them; to load the checkpoint, drop "
                "random_init (or random_init: false) and the inline dims; for random weights, drop checkpoint"
            )
        if self.checkpoint is None and not self.random_init:
            raise ValueError(
                "has no weights: give exactly one of `checkpoint: <path>` or `random_init: true` (tests only); "
                "give checkpoint: <path> (a file of models.checkpoint.save, its .json beside it), or random_init: true"
            )
        if self.checkpoint is not None:
            clash = sorted(set(self.model_fields_set) & set(self.inline_fields))
            if clash:
                raise ValueError(f"{clash} come from the checkpoint's config; drop them or use random_init: true")
        return self

    def stream_options(self) -> dict[str, Any]:
        """Options for the model's init_state / latency_frames (the Conformer's att_context); none by default."""
        return {}

    def inline_config(self, d_in: int) -> dict[str, Any]:
        """The model config for random_init: the input width and the inline dims, in JSON-safe form."""
        config: dict[str, Any] = {"d_in": d_in}
        for name in self.inline_fields:
            value = getattr(self, name)
            config[name] = [list(v) for v in value] if isinstance(value, list) else value
        return config


def check_real(spec, node_name: str) -> None:
    """SpecError for a complex features stream: the models take float32 frames, and casting complex values to
    real would silently drop the imaginary part (e.g. an stft connected straight to a model)."""
    if np.dtype(spec.dtype).kind == "c":
        raise SpecError(
            f"{node_name} needs real-valued features, got {spec.dtype}",
            "feed it real features: the stft through magnitude (or complex_to_real), or sliding_window or bandpower",
        )


def resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SpecError("device 'cuda' requested but torch sees no CUDA device", "use device: auto or cpu")
    return torch.device(name)


def make_model(params: ModelParams, kind: str | None, inline_config: dict[str, Any], device) -> StreamingModel:
    """Load params.checkpoint (checking its kind unless kind is None) or build a seeded random model of `kind` from
    inline_config; eval mode."""
    import torch
    from wavegraph.models import checkpoint as ckpt

    if params.checkpoint is not None:
        try:
            got_kind, _ = ckpt.load_config(params.checkpoint)
            if kind is not None and got_kind != kind:
                raise ckpt.CheckpointError(f"{params.checkpoint} holds a {got_kind!r} model, this node needs {kind!r}")
            # float32, what the node feeds it (a checkpoint saved in float16 or float64 loads as saved since a78435b)
            model = ckpt.load(params.checkpoint, map_location="cpu", dtype=torch.float32)
        except ckpt.CheckpointError as e:
            raise SpecError(str(e), "point `checkpoint` at a file written by models.checkpoint.save") from e
    else:
        if kind is None:
            raise SpecError("random_init needs the model kind", f"set kind: one of {', '.join(ckpt.KINDS)}")
        if kind in ckpt.KINDS and "d_in" not in {f.name for f in dataclasses.fields(ckpt.KINDS[kind][0])}:
            # the enhancer and the tokenizer: their input is fixed (audio hops, one EEG channel); the node's own
            # d_in made "unknown EnhancerConfig keys ['d_in']", a key the user never wrote
            raise SpecError(
                f"random_init of kind {kind!r}: its input is fixed by its own config, not by the stream",
                f"use type: {kind} for it (or give its checkpoint); random_init here builds conformer, mamba or gla",
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(params.seed)
            try:
                model = ckpt.build(kind, inline_config)
            except ckpt.CheckpointError as e:  # said at the line of the field it names (was the edge's)
                field = re.search(r"Config\.(\w+) ", str(e))
                raise SpecError(str(e), "fix the inline model dims", param=field[1] if field else None) from e
    return model.to(device).eval()


def refuse_own_node_checkpoint(checkpoint: str | None, name: str) -> None:
    """SpecError when `checkpoint` holds a model that runs in a node of its own (the enhancer, the EEG tokenizer: their
    input is fixed by their config, no d_in), as random_init of such a kind is refused (make_model). Given to `type:
    model`, the tokenizer's weights on EEG were told "must be a features stream, connect a features output", and on a
    1-feature stream they ran it as one EEG channel at 200 Hz whatever its rate, embeddings without tokens, unsaid."""
    from wavegraph.models import checkpoint as ckpt

    if checkpoint is None:
        return
    try:
        kind, _ = ckpt.load_config(checkpoint)
    except ckpt.CheckpointError:
        return  # said by make_model, as before
    if kind in ckpt.KINDS and "d_in" not in {f.name for f in dataclasses.fields(ckpt.KINDS[kind][0])}:
        raise SpecError(
            f"{name}: {checkpoint} holds {'an' if kind[0] in 'aeiou' else 'a'} {kind!r} model, which runs in a node of "
            "its own (its input is fixed by its config, not by the stream)",
            f"use type: {kind} with checkpoint: {checkpoint}",
        )


def check_features(data, n_features: int, owner: str) -> None:
    """ValueError unless `data` is a real (frames, n_features) array: what a model node checks before it keeps anything
    of a chunk (its frame count, its first time), so that a refused chunk changes nothing."""
    shape, kind = np.shape(data), getattr(getattr(data, "dtype", None), "kind", "f")
    if len(shape) != 2 or shape[1] != n_features:
        raise ValueError(
            f"{owner}: expected a (frames, {n_features}) features chunk, got shape {shape}; nothing of it was kept "
            f"(pass (frames, {n_features}), time first)"
        )
    if kind == "c":
        raise ValueError(
            f"{owner}: the chunk is complex ({data.dtype}), the model takes real features; nothing of it was kept "
            "(take the magnitude or the real part upstream: magnitude, complex_to_real)"
        )


def native(value) -> np.ndarray:
    """A saved state's array as torch.as_tensor takes it: native byte order and C order (one read back from an npz
    written on a big-endian machine, or a JSON that kept its dtype '>f4', failed in torch at load: 'given numpy array
    has byte order different from the native byte order'). Always a copy: torch.as_tensor shares a native array's
    memory, so the node's state would be the caller's array (a read-only one, np.load's mmap: torch warns that writing
    to it is undefined)."""
    a = np.asarray(value)
    return np.array(a, dtype=a.dtype.newbyteorder("="), order="C", copy=True)


def finite_state(value: np.ndarray, what: str) -> np.ndarray:
    """`value` (a saved model state's array), or a ValueError when it holds NaN or inf: a model node cleans every frame
    before its model sees it, so only a damaged state file holds them, and loaded it made every later output NaN."""
    if value.dtype.kind in "fc" and not np.isfinite(value).all():
        raise ValueError(
            f"{what} holds {int(np.count_nonzero(~np.isfinite(value)))} NaN or infinite values, which a stream never "
            "keeps (a damaged state file); load a state as the node's state_dict() saved it, or reset()"
        )
    return value


def to_tensor(data: np.ndarray, n_features: int, device):
    """(frames, features) numpy -> (1, frames, features) float32 tensor, with a clear error on a wrong shape."""
    import torch

    if data.ndim != 2 or data.shape[1] != n_features:
        raise ValueError(f"expected a (frames, {n_features}) features chunk, got shape {data.shape}")
    a = np.ascontiguousarray(data, dtype=np.float32)
    if not a.flags.writeable:  # e.g. a chunk decoded from the wire: torch warns on read-only buffers
        a = a.copy()
    return torch.from_numpy(a).to(device)[None]


def to_numpy(t) -> np.ndarray:
    return t.detach().to("cpu").numpy()
