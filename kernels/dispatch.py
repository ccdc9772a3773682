"""Backend choice for the kernel ops: Triton for CUDA tensors when triton imports, the torch reference otherwise.

`WAVEGRAPH_KERNELS=ref|triton` forces one. `triton` with CPU tensors runs the Triton kernels anyway, which only
works under `TRITON_INTERPRET=1` (set before triton is imported); that is how the CPU tests exercise the kernels.

The Triton kernels are forward-only (no backward). When autograd is recording and an input requires grad, the
automatic choice is the reference (differentiable pure torch, also on CUDA); forcing `triton` then is an error
rather than silently cutting the graph.

The Triton kernels take a key dim (GLA) or state size (the scan) up to TRITON_MAX_DIM; above it the automatic choice
is the reference too (`within_triton_limit`), and forcing `triton` is an error naming the limit.
"""

from __future__ import annotations

import functools
import os

import torch

ENV_VAR = "WAVEGRAPH_KERNELS"
BACKENDS = ("ref", "triton")
# The Triton kernels hold a whole key dim (GLA) or state size (the scan) in registers: above this the automatic choice
# is the reference, which has no limit, and a forced `triton` is an error saying so.
TRITON_MAX_DIM = 256


@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """True when triton imports (checked once)."""
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except Exception:  # a broken or missing triton install means: use the reference
        return False
    return True


@functools.lru_cache(maxsize=1)
def triton_interpreted() -> bool:
    """True when the Triton kernels run on triton's CPU interpreter: TRITON_INTERPRET=1 when triton was imported (it
    decides when a kernel is defined). Imports the kernels; only asked when `triton` is forced for CPU tensors."""
    from . import triton_conv

    return type(triton_conv._conv_kernel).__name__ == "InterpretedFunction"


def forced_backend() -> str | None:
    """The backend forced by WAVEGRAPH_KERNELS, or None when unset; a bad value is an error, not a silent default."""
    val = os.environ.get(ENV_VAR, "").strip().lower()
    if not val:
        return None
    if val not in BACKENDS:
        raise ValueError(f"{ENV_VAR}={val!r} is not one of {BACKENDS}")
    return val


def select_backend(*tensors: torch.Tensor | None, **named: torch.Tensor | None) -> str:
    """'triton' or 'ref' for an op whose tensor arguments are `tensors` and `named` (None entries are ignored).
    An argument that is not a tensor (a list, a numpy array) is a TypeError naming it."""
    forced = forced_backend()
    items = [(f"argument {i}", t) for i, t in enumerate(tensors)] + list(named.items())
    for name, t in items:
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(
                f"{name} is a {type(t).__module__}.{type(t).__qualname__}, expected a torch.Tensor "
                "(convert it with torch.as_tensor)"
            )
    ts = [t for _, t in items if t is not None]
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in ts)
    if forced == "triton":
        if not triton_available():
            raise RuntimeError(f"{ENV_VAR}=triton but triton does not import in this environment")
        if not all(t.is_cuda for t in ts) and not triton_interpreted():  # was triton's "0 active drivers ([])"
            raise RuntimeError(
                f"{ENV_VAR}=triton with CPU tensors, but the Triton kernels run on the CPU only in triton's "
                "interpreter: set TRITON_INTERPRET=1 before triton is imported, or unset "
                f"{ENV_VAR} (or set {ENV_VAR}=ref) to run the torch reference"
            )
        if needs_grad:
            raise RuntimeError(
                f"{ENV_VAR}=triton but an input requires grad and the Triton kernels are forward-only; "
                "run under torch.no_grad() or use the reference"
            )
        return "triton"
    if forced == "ref":
        return "ref"
    if needs_grad:
        return "ref"
    if ts and all(t.is_cuda for t in ts) and triton_available():
        return "triton"
    return "ref"


def within_triton_limit(backend: str, dim: int) -> str:
    """`backend`, or 'ref' when it is an automatic 'triton' for a key dim / state size above TRITON_MAX_DIM (a forced
    one stays, and the kernel says its limit): on CUDA, GLA with dk=512 was a ValueError where the reference runs."""
    if backend == "triton" and dim > TRITON_MAX_DIM and forced_backend() != "triton":
        return "ref"
    return backend
