#!/usr/bin/env bash
# Kernel checks for a CUDA machine: the kernel tests compiled for the GPU (no interpreter), then the benchmark.
#   bash benchmarks/gpu_check.sh [--peak-gbps 4800]      (extra args go to benchmarks/kernels.py)
# On the GPU the Triton tests run on CPU tensors only through the dispatch override, so this script also runs a
# CUDA comparison of every op (Triton vs the reference on the same device) before timing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
unset TRITON_INTERPRET
$PY - <<'PYEOF'
import torch
assert torch.cuda.is_available(), "no CUDA device visible"
print("device:", torch.cuda.get_device_name(), "torch", torch.__version__)
PYEOF
# the Triton kernels compiled for the GPU vs the reference on the same device
WAVEGRAPH_KERNEL_TEST_DEVICE=cuda $PY -m pytest -x -q -p no:cacheprovider tests/test_kernels_triton.py
# dispatch on CUDA tensors picks Triton; the GLA model agrees between backends on the GPU
$PY - <<'PYEOF'
import torch
from wavegraph import kernels
from wavegraph.kernels.dispatch import select_backend
from wavegraph.models.gla import GLABlock, GLAConfig
assert select_backend(torch.zeros(1, device="cuda")) == "triton"
torch.manual_seed(0)
m = GLABlock(GLAConfig(d_model=256, n_heads=4)).cuda().eval()
x = torch.randn(2, 300, 256, device="cuda")
import os
with torch.no_grad():
    y_tri, s_tri = m(x)
    os.environ["WAVEGRAPH_KERNELS"] = "ref"
    y_ref, s_ref = m(x)
err = ((y_tri - y_ref).norm() / y_ref.norm()).item()
print(f"GLA block on CUDA: triton vs reference relative error {err:.2e}")
assert err < 5e-3
PYEOF
$PY -m wavegraph.benchmarks.kernels --device cuda "$@"
