"""Model checkpoints: weights in safetensors (no pickle), a small JSON config beside them.

    save(model, "enc.safetensors")      # writes enc.safetensors and enc.json
    model = load("enc.safetensors")     # builds the model from enc.json alone, then loads and checks the weights

enc.json: {"format": "wavegraph-model", "version": 1, "kind": "conformer" | "mamba" | "gla", "config": {...}}.
Every kind is a StreamingModel (models/streaming.py); a new model kind is one line in KINDS.
A missing, extra or wrongly shaped tensor is a CheckpointError that names the tensor.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from wavegraph import unwritable

from .checkpoint_files import foreign
from .conformer import ConformerConfig, ConformerEncoder
from .eeg_tokenizer import EEGTokenizer, TokenizerConfig
from .enhancer import Enhancer, EnhancerConfig
from .gla import GLAConfig, GLAStack
from .mamba import MambaConfig, MambaStack
from .streaming import StreamingModel

__all__ = [
    "CheckpointError",
    "KINDS",
    "build",
    "config_path",
    "foreign",
    "load",
    "load_config",
    "load_weights",
    "nonfinite",
    "out_problem",
    "save",
    "write_pair",
]

FORMAT, VERSION = "wavegraph-model", 1
M = TypeVar("M", bound=nn.Module)
KINDS: dict[str, tuple[type, type[StreamingModel]]] = {
    "conformer": (ConformerConfig, ConformerEncoder),
    "mamba": (MambaConfig, MambaStack),
    "gla": (GLAConfig, GLAStack),
    "enhancer": (EnhancerConfig, Enhancer),
    "eeg_tokenizer": (TokenizerConfig, EEGTokenizer),
}


class CheckpointError(ValueError):
    """A checkpoint does not fit: wrong files, unknown kind, bad config, or a tensor whose name/shape differs."""


def config_path(path) -> Path:
    """The JSON config that sits beside the weights file `path`."""
    p = Path(os.path.expanduser(path))
    if p.suffix.lower() == ".json":
        raise CheckpointError(f"{p} is the config; pass the weights file ({p.with_suffix('.safetensors')})")
    if not p.with_suffix(".json").exists() and p.with_suffix(".JSON").is_file():  # copied from a FAT card or Windows
        return p.with_suffix(".JSON")  # (ENH.SAFETENSORS, ENH.JSON: was 'has no config ENH.json beside it')
    return p.with_suffix(".json")


def out_problem(path) -> str:
    """Why a training command cannot save its weights to `path` ("" when it can; the folder is made). Checked
    before the training: `--out model.json` (the config's name) or a folder failed at the save, after the run."""
    p = Path(os.path.expanduser(path))
    if p.suffix.lower() == ".json":
        return (
            f"that is the config's name; give the weights file ({p.with_suffix('.safetensors')}), its .json beside it"
        )
    why = unwritable(p)
    if why == "it is a folder":
        return "it is a folder; give the weights file (.safetensors) in it"
    if why:
        return f"cannot write it ({why})"
    why = unwritable(config_path(p))
    return f"cannot write its config {config_path(p)} ({why})" if why else ""


def _kind_of(model: nn.Module) -> str:
    for kind, (_, cls) in KINDS.items():
        if type(model) is cls:
            return kind
    raise CheckpointError(
        f"cannot checkpoint a {type(model).__name__}; known models: "
        f"{', '.join(cls.__name__ for _, cls in KINDS.values())}"
    )


def build(kind: str, config: dict) -> StreamingModel:
    """A freshly initialised model of `kind` from a plain config dict (unknown keys are errors)."""
    if kind == "ssvep_dnn":  # was 'unknown model kind': it is known, and loaded by models.ssvep_dnn.load
        raise CheckpointError(
            "an SSVEP DNN checkpoint (`wavegraph train ssvep`), not one of the models this loads "
            f"({', '.join(KINDS)}); give it to ssvep_decoder (method: dnn)"
        )
    if kind not in KINDS:
        raise CheckpointError(f"unknown model kind {kind!r}; known: {', '.join(KINDS)}")
    cfg_cls, model_cls = KINDS[kind]
    try:  # ArithmeticError: a config check dividing by a 0 (hop: 0) or rounding an inf (scale_window: Infinity)
        cfg = cfg_cls.from_dict(dict(config))
        return model_cls(cfg)
    except (TypeError, ValueError, ArithmeticError) as e:  # also torch's layers refusing a size the checks let by
        raise CheckpointError(f"bad {kind} config: {e}") from e
    except (RuntimeError, MemoryError) as e:  # torch's allocator: "can't allocate memory: you tried to allocate ..."
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, MemoryError) or "allocate" in first:
            raise CheckpointError(
                f"a {kind} model of this config does not fit in memory ({first}); make it smaller"
            ) from e
        raise CheckpointError(f"bad {kind} config: {first}") from e


def nonfinite(tensors: dict) -> str:
    """'tensor NAME holds N NaN or infinite values' for the first such floating tensor of `tensors`, else ""."""
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return f"tensor '{name}' holds {int((~torch.isfinite(t)).sum())} NaN or infinite values"
    return ""


def save(model: nn.Module, path, training: dict | None = None) -> Path:
    """Write the weights to `path` (safetensors) and the config to `path` with a .json suffix. Returns the json path.
    Weights holding NaN or inf (a training run that diverged) are a CheckpointError, nothing written: load refuses
    them, and they went over the file there. `training` (a trainer's {"step", "steps", "final"}) goes into the JSON
    as is: a save made during a run says so (`final: false`), which average_weights checks."""
    kind = _kind_of(model)
    p = Path(os.path.expanduser(path))  # '~/m.safetensors' made a folder named '~' in the working directory
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    if why := nonfinite(tensors):
        raise CheckpointError(f"not saving {p}: {why} (a training run that diverged?)")
    meta = {"format": FORMAT, "version": VERSION, "kind": kind, "config": getattr(model, "cfg").to_dict()}  # noqa: B009
    if training is not None:
        meta["training"] = training
    return write_pair(p, tensors, meta)


def write_pair(path: Path, tensors: dict, meta: dict) -> Path:
    """The weights file `path` and its JSON config, each written beside its place and then moved there: a save that
    fails half way (a full disk, a training stopped while it saves) leaves the files that were there as they were
    (they were written in place: the last good weights were lost to a cut-short file). Returns the json path."""
    from safetensors.torch import save as to_bytes

    path = Path(os.path.expanduser(path))
    if path.is_dir():  # was IsADirectoryError: [Errno 21] Is a directory: '.sub.tmp' -> 'sub', from os.replace
        raise CheckpointError(f"not saving to {path}: it is a folder; give the weights file (.safetensors) in it")
    cpath = config_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, ctmp = path.with_name(f".{path.name}.tmp"), cpath.with_name(f".{cpath.name}.tmp")
    try:
        tmp.write_bytes(same_bytes(to_bytes(tensors, metadata={"format": FORMAT, "kind": str(meta["kind"])})))
        ctmp.write_text(json.dumps(meta, indent=2) + "\n")
        try:  # safetensors writes 0600 whatever the umask: as the JSON
            os.chmod(tmp, stat.S_IMODE(ctmp.stat().st_mode))
        except OSError:  # a file system that takes no chmod (FAT, an SMB share): saved with the mode it has
            pass
        os.replace(tmp, path)
        os.replace(ctmp, cpath)
    finally:
        tmp.unlink(missing_ok=True)
        ctmp.unlink(missing_ok=True)
    return cpath


def same_bytes(blob: bytes) -> bytes:
    """A safetensors file with its metadata's keys in sorted order: safetensors writes them in its hash map's order,
    which changes from one save to the next, so one model saved twice (a seeded training run again) gave files whose
    sha256 differed. The header keeps its length (the same keys and values, padded as written)."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    if len(text) > n:  # (not expected: the same JSON, reordered) the file as written
        return blob
    return blob[:8] + text.ljust(n, b" ") + blob[8 + n :]


def load_config(path) -> tuple[str, dict]:
    """(kind, config dict) from the JSON beside the weights file `path`."""
    path = Path(os.path.expanduser(path))
    cpath = config_path(path)
    if Path(path).is_dir():
        raise CheckpointError(f"{path} is a folder; give the weights file (.safetensors) in it")
    if why := foreign(path):
        raise CheckpointError(why)
    if not cpath.is_file():
        fix = (
            "save checkpoints with models.checkpoint.save" if Path(path).exists() else "neither exists; check the path"
        )
        raise CheckpointError(f"no model config {cpath} beside {path}; {fix}")
    try:
        meta = json.loads(cpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{cpath} is not valid JSON: {e}") from e
    except OSError as e:  # a config we may not read
        raise CheckpointError(f"cannot read {cpath}: {e.strerror}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{cpath} is not a {FORMAT} config (format={got!r})")
    if meta.get("version") != VERSION:
        got = meta.get("version")
        newer = isinstance(got, int) and not isinstance(got, bool) and got > VERSION
        raise CheckpointError(
            f"{cpath} has version {got!r}; this code reads version {VERSION}: "
            + (
                "it was written by a newer wavegraph; upgrade wavegraph to load it"
                if newer
                else "not a version wavegraph writes; save the model again with models.checkpoint.save"
            )
        )
    if "kind" not in meta or not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{cpath} needs a 'kind' and a 'config' object")
    if not isinstance(meta["kind"], str):  # ["conformer"] was 'TypeError: unhashable type: list' from the KINDS lookup
        raise CheckpointError(
            f"{cpath}: 'kind' must be a string, one of {', '.join([*KINDS, 'ssvep_dnn'])}; got {meta['kind']!r}"
        )
    return meta["kind"], meta["config"]


def _device(map_location) -> torch.device:
    """map_location as a torch.device that this machine has: 'gpu' was said as the weights file 'cut short or
    damaged' (safetensors' 'device gpu is invalid'), 'cuda' without a GPU as torch's pin_memory error."""
    try:
        device = torch.device(map_location)
    except (RuntimeError, TypeError) as e:
        raise CheckpointError(f"map_location {map_location!r} is not a torch device ({e}); give 'cpu' or 'cuda'") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CheckpointError(f"map_location {map_location!r}, but torch sees no CUDA GPU here; give 'cpu'")
    return device


def load_weights(model: M, path, map_location="cpu", as_saved: bool = False) -> M:
    """Load safetensors weights into `model`, checking every name and shape first; `map_location` is checked to be
    a device of this machine (the tensors are read on the CPU and copied into the model where it is). The weights
    take the model's dtype (load_state_dict's copy), or with `as_saved` the model takes each saved tensor's dtype."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    _device(map_location)
    path = Path(os.path.expanduser(path))
    try:
        tensors = load_file(str(path), device="cpu")
    except SafetensorError as e:  # said only safetensors' 'Error while deserializing header: header too small'
        size = Path(path).stat().st_size
        what = "it is empty (0 bytes)" if size == 0 else f"it is cut short or damaged ({size} bytes; safetensors: {e})"
        raise CheckpointError(
            foreign(path)
            or f"cannot read weights {path}: {what}; copy it again (a copy or a save that did not "
            "finish?), or train it again"
        ) from e
    except OSError as e:
        raise CheckpointError(foreign(path) or f"cannot read weights {path}: {e}") from e
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    fix = "the config and weights disagree; keep the .json saved with these weights beside them (save writes both)"
    if (missing or extra) and (other := _saved_kind(path)) and other != _kind_name(model):
        raise CheckpointError(  # was "lacks tensor 'layers.0.att_norm.bias'" of a Mamba's weights beside a conformer.json
            f"{path} holds the weights of {'an' if other[:1] in 'aeiou' else 'a'} {other!r} model, but the config beside "
            f"it builds a {type(model).__name__}; {fix}"
        )
    if missing:
        raise CheckpointError(
            f"{path} lacks tensor '{missing[0]}' ({len(missing)} missing in all) that the "
            f"{type(model).__name__} built from its config expects; {fix}"
        )
    if extra:
        raise CheckpointError(
            f"{path} has tensor '{extra[0]}' ({len(extra)} unexpected in all) that the "
            f"{type(model).__name__} built from its config does not have; {fix}"
        )
    for name, ref in expected.items():
        got = tensors[name]
        if tuple(got.shape) != tuple(ref.shape):
            raise CheckpointError(
                f"tensor '{name}' has shape {tuple(got.shape)} in {path} but the model built from "
                f"its config expects {tuple(ref.shape)}; {fix}"
            )
        if got.is_floating_point() != ref.is_floating_point():  # copied in silently: 0.7 -> 0, or ints as weights
            raise CheckpointError(f"tensor '{name}' is {got.dtype} in {path}, the model's is {ref.dtype}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):  # e.g. a training run that diverged
            n = int((~torch.isfinite(got)).sum())
            raise CheckpointError(
                f"tensor '{name}' in {path} holds {n} NaN or infinite values: the model would output NaN; "
                "retrain (a lower learning rate) or use an earlier checkpoint"
            )
    if as_saved:
        _as_saved(model, tensors)
    model.load_state_dict(tensors, strict=True)
    return model


def _saved_kind(path: Path) -> str:
    """The model kind that save() wrote into the safetensors metadata of `path` ("" when none)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except Exception:  # (read once already: a file changed since is said by the checks that follow)
        return ""
    return str(meta.get("kind", "")) if meta.get("format") == FORMAT else ""


def _kind_name(model: nn.Module) -> str:
    return next((kind for kind, (_, cls) in KINDS.items() if type(model) is cls), "")


def _as_saved(model: nn.Module, tensors: dict) -> None:
    """Each floating parameter and buffer of `model` in the dtype of its saved tensor: a model saved in float64 (or
    float16, bfloat16) came back float32 (built so, and load_state_dict copies into what is there)."""
    dtypes = {t.dtype for t in tensors.values() if t.is_floating_point()}
    if len(dtypes) == 1:  # the whole model, as model.double() made it (the buffers not saved too)
        model.to(dtypes.pop())
        return
    for name, t in tensors.items():  # several (a half model with float32 norms): tensor by tensor
        owner, _, leaf = name.rpartition(".")
        held = getattr(model.get_submodule(owner), leaf)
        if t.is_floating_point() and held.dtype != t.dtype:
            held.data = held.data.to(t.dtype)


def load(path, map_location="cpu", dtype: torch.dtype | None = None) -> StreamingModel:
    """Build the model from the JSON config beside `path`, load its weights, and return it in eval mode. Its weights
    keep the dtype they were saved in (float64, float16, bfloat16: a model saved so comes back so), or with `dtype`
    (a floating torch dtype, e.g. torch.float32) are cast to it."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise CheckpointError(
            f"dtype must be a floating torch dtype (torch.float32, ...) or None (as saved), got {dtype!r}"
        )
    kind, config = load_config(path)
    try:
        model = build(kind, config)
    except CheckpointError as e:
        raise CheckpointError(f"{config_path(path)}: {e}") from e
    model = load_weights(model, path, map_location, as_saved=True)
    return (model if dtype is None else model.to(dtype)).to(_device(map_location)).eval()
