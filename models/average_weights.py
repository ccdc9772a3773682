"""The uniform average of checkpoints of one model (a "model soup": Wortsman et al., 2022), tensor by tensor.

    python -m wavegraph.models.average_weights a.safetensors b.safetensors --out soup.safetensors

Every input must be the same kind of model with the same config (their JSONs beside them); the output gets that
config and each tensor its first input's dtype. Fine-tunes of one set of weights on one recipe (different seeds)
usually lie in one basin of the loss, where the mean of their weights is often better than each. Checkpoints of
different configs are refused; whether they share their starting weights cannot be checked here, and the average of
unrelated ones is a broken model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from .checkpoint import CheckpointError, config_path, load_config, nonfinite, out_problem, write_pair


def average(paths: list[str | Path], allow_unfinished: bool = False) -> tuple[dict[str, torch.Tensor], dict]:
    """The mean of the checkpoints' tensors (summed in float32), and their shared JSON (CheckpointError when their kinds,
    configs, tensor names or shapes differ, naming the first that does, or when one is a save made during a training
    run that had not ended, unless allow_unfinished)."""
    if len(paths) < 2:
        raise CheckpointError("give at least two checkpoints to average")
    first = Path(paths[0])
    # checked first: a config that is not JSON was a traceback, a missing one (a .pt) '[Errno 2] No such file'
    kind, config = load_config(first)
    meta = json.loads(config_path(first).read_text(encoding="utf-8"))
    if not allow_unfinished:
        for path in paths:
            _check_finished(Path(path))
    meta.pop("training", None)  # an average is no run's state
    firsts = _tensors(first)
    total = {name: t.to(torch.float32) for name, t in firsts.items()}
    for path in paths[1:]:
        other_kind, other_config = load_config(path)
        if (other_kind, other_config) != (kind, config):
            differ = sorted(k for k in set(config) | set(other_config) if config.get(k) != other_config.get(k))
            raise CheckpointError(
                f"{path}: not the same model as {first} ({'kind ' + other_kind if other_kind != kind else ''}"
                f"{'config keys ' + ', '.join(differ) if differ else ''}); only checkpoints of one config average"
            )
        tensors = _tensors(path)
        if tensors.keys() != total.keys():
            odd = sorted(tensors.keys() ^ total.keys())
            raise CheckpointError(f"{path}: tensors differ from {first}'s: {', '.join(odd[:5])}")
        for name, t in tensors.items():
            if t.shape != total[name].shape:
                raise CheckpointError(
                    f"{path}: tensor {name} is {tuple(t.shape)}, {tuple(total[name].shape)} in {first}"
                )
            total[name] += t.to(torch.float32)
    mean = {name: (t / len(paths)).to(firsts[name].dtype).contiguous() for name, t in total.items()}
    bad = nonfinite(mean)
    if bad:
        raise CheckpointError(f"the average has non-finite values ({bad})")
    return mean, meta


def _check_finished(path: Path) -> None:
    """A trainer saves --out at every evaluation (session 36 averaged two runs' step-1,000 files, taken for their ends):
    a checkpoint whose JSON says `training.final: false` is refused, naming its step. Checkpoints saved before the
    trainers wrote `training`, or by hand, say nothing and pass."""
    try:
        training = json.loads(config_path(path).read_text(encoding="utf-8")).get("training")
    except (OSError, ValueError, AttributeError):
        return  # load_config says what is wrong with it
    if isinstance(training, dict) and training.get("final") is False:
        raise CheckpointError(
            f"{path} holds step {training.get('step')} of {training.get('steps')} of a training run that had not ended "
            "(the trainer saves --out at every evaluation); wait for the run to end, or pass --allow-unfinished"
        )


def _tensors(path: str | Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(Path(path).expanduser()))
    except OSError:
        raise
    except Exception as e:  # safetensors' own error for a file that is not one
        raise CheckpointError(f"{path}: not a safetensors file ({e})") from e


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m wavegraph.models.average_weights",
        description="the uniform average of checkpoints of one model config",
    )
    ap.add_argument("checkpoints", nargs="+", help="two or more .safetensors of one model config (their .json beside)")
    ap.add_argument("--out", required=True, help="the averaged weights (.safetensors; its .json is written beside)")
    ap.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="also average saves made during a training run (its JSON's training.final is false)",
    )
    args = ap.parse_args(argv)
    why = out_problem(args.out)
    if why:
        ap.error(f"--out {args.out}: {why}")
    try:
        tensors, meta = average(args.checkpoints, allow_unfinished=args.allow_unfinished)
    except (CheckpointError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out).expanduser()
    write_pair(out, tensors, meta)
    print(f"averaged {len(args.checkpoints)} checkpoints into {out} (its config {config_path(out)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
