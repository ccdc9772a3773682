#!/usr/bin/env bash
# Kernel checks for a CUDA machine: the kernel tests compiled for the GPU (no interpreter), a CUDA comparison of the
# GLA model between backends, the launch-config sweep of the scan and state update, then the benchmark table.
#   bash benchmarks/gpu_check.sh [args for benchmarks/kernels.py, e.g. --peak-gbps 4800]
# Environment: PY (default .venv/bin/python, else python3); PEERS_SRC, a folder with the peers' wheel and sdist
# (benchmarks/gpu_peers.sh says which), built in the background while the tests and the sweep run; OUT, a folder for
# the logs (default /tmp/wavegraph-gpu). Where wavegraph is not installed (a bare GPU machine), the repository's
# folders are linked as the package. Each step runs even if one before it failed; the exit status is the first
# failure's.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
OUT=${OUT:-/tmp/wavegraph-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
unset TRITON_INTERPRET
status=0
step() { # step NAME CMD...: run, log to $OUT/NAME.log, remember the first failure
    local name=$1
    shift
    echo "=== $name"
    "$@" 2>&1 | tee "$OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || { echo "=== $name failed (exit $rc)"; [ "$status" != 0 ] || status=$rc; }
}
if ! $PY -c "import wavegraph.kernels" 2>/dev/null; then
    mkdir -p /tmp/wavegraph-src/wavegraph
    for d in pipeline nodes models kernels benchmarks; do ln -sfn "$REPO/$d" /tmp/wavegraph-src/wavegraph/$d; done
    ln -sfn "$REPO/wavegraph/__init__.py" /tmp/wavegraph-src/wavegraph/__init__.py
    export PYTHONPATH=/tmp/wavegraph-src${PYTHONPATH:+:$PYTHONPATH}
    export PYTHONSAFEPATH=1 # else the repository's own wavegraph/ (only __init__.py) shadows the linked package
fi
if [ -n "${PEERS_SRC:-}" ]; then
    (bash benchmarks/gpu_peers.sh "$PEERS_SRC" /tmp/wavegraph-peers >"$OUT/peers.log" 2>&1; echo "exit $?" >>"$OUT/peers.log") &
    peers_pid=$!
fi
step device $PY - <<'PYEOF'
import torch
if not torch.cuda.is_available():
    raise SystemExit(f"no CUDA device visible (torch {torch.__version__}, built for CUDA {torch.version.cuda})")
import triton
p = torch.cuda.get_device_properties(0)
print(f"device: {p.name}, {p.multi_processor_count} SMs, {p.total_memory / 2**30:.0f} GiB; torch {torch.__version__}, "
      f"triton {triton.__version__}")
x = torch.empty(2**30, dtype=torch.float32, device="cuda").normal_()  # 4 GiB
y = torch.empty_like(x)
for _ in range(3):
    y.copy_(x)
ms = triton.testing.do_bench(lambda: y.copy_(x), warmup=50, rep=300, return_mode="median")
print(f"device-to-device copy: {2 * x.numel() * 4 / ms / 1e6:.0f} GB/s (bytes read + written, median)")
PYEOF
if [ "$status" != 0 ]; then # every step below needs the GPU: a traceback each (tests, gla_model, sweep, bench)
    [ -z "${peers_pid:-}" ] || kill "$peers_pid" 2>/dev/null
    echo "gpu_check.sh is for a CUDA machine (torch built with CUDA, a GPU visible); without one," \
        "'.venv/bin/python benchmarks/kernels.py' times the reference forms on the CPU (docs/benchmarks.md, Kernels)" >&2
    exit "$status"
fi
# the Triton kernels compiled for the GPU vs the reference on the same device
step tests env WAVEGRAPH_KERNEL_TEST_DEVICE=cuda $PY -m pytest -x -q -p no:cacheprovider tests/test_kernels_triton.py
# dispatch on CUDA tensors picks Triton; the GLA model agrees between backends on the GPU
step gla_model $PY - <<'PYEOF'
import os
import torch
from wavegraph.kernels.dispatch import select_backend
from wavegraph.models.gla import GLABlock, GLAConfig
assert select_backend(torch.zeros(1, device="cuda")) == "triton"
torch.manual_seed(0)
m = GLABlock(GLAConfig(d_model=256, n_heads=4)).cuda().eval()
x = torch.randn(2, 300, 256, device="cuda")
with torch.no_grad():
    y_tri, s_tri = m(x)
    os.environ["WAVEGRAPH_KERNELS"] = "ref"
    y_ref, s_ref = m(x)
err = ((y_tri - y_ref).norm() / y_ref.norm()).item()
print(f"GLA block on CUDA: triton vs reference relative error {err:.2e}")
assert err < 5e-3
PYEOF
if [ -n "${PEERS_SRC:-}" ]; then
    # the peers' build gets until PEERS_WAIT seconds after this script started
    while kill -0 "$peers_pid" 2>/dev/null && [ "$SECONDS" -lt "${PEERS_WAIT:-420}" ]; do sleep 5; done
    if kill -0 "$peers_pid" 2>/dev/null; then
        echo "=== peers: still building at ${SECONDS} s, benchmark without mamba_ssm's CUDA scan"
    else
        echo "=== peers: $(tail -2 "$OUT/peers.log" | tr '\n' ' ')"
    fi
    export PYTHONPATH=/tmp/wavegraph-peers:/tmp/wavegraph-peers/build${PYTHONPATH:+:$PYTHONPATH}
fi
# the sweep after the peers' build: a compile on every core would skew its sub-millisecond timings
rm -f "$OUT/best.json" # a sweep that fails or is cut leaves none: the table then runs without triton-tuned rows
step sweep $PY -m wavegraph.benchmarks.kernels --device cuda --sweep "$OUT/best.json" "$@"
tuned=()
[ -s "$OUT/best.json" ] && tuned=(--tuned "$OUT/best.json")
step bench $PY -m wavegraph.benchmarks.kernels --device cuda "${tuned[@]}" "$@"
# the same in bf16 activations (the peers' usual setting), while the run is young enough
if [ "$SECONDS" -lt "${BF16_UNTIL:-480}" ]; then
    step bench_bf16 $PY -m wavegraph.benchmarks.kernels --device cuda --dtype bfloat16 --skip ref-seq "$@"
fi
exit $status
