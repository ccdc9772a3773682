#!/usr/bin/env bash
# The peers' kernels for benchmarks/kernels.py on a CUDA machine with no network (a lent GPU machine):
#   bash benchmarks/gpu_peers.sh SRC DEST
# SRC holds fla_core-*.whl and mamba_ssm-*.tar.gz, fetched on a machine with PyPI:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 -d SRC fla-core==0.6.0
#   pip download --no-deps --no-binary=:all: -d SRC mamba-ssm==2.3.2.post1   (PyPI has only its sdist)
# DEST gets fla (its Triton kernels), mamba_ssm's Python tree (its Triton state update as shipped; its own
# __init__, which imports every model and the CUDA extensions, emptied) and build/selective_scan_cuda*.so, mamba_ssm's
# CUDA selective scan built from its sources for this GPU's architecture only (its setup.py builds ~9). Put DEST
# and DEST/build on PYTHONPATH.
set -euo pipefail
if [ $# -ne 2 ]; then # was "$1: unbound variable"
    echo "usage: bash benchmarks/gpu_peers.sh SRC DEST (SRC: the peers' wheel and sdist, see the top of this file)" >&2
    exit 2
fi
SRC=$1
DEST=$2
PY=${PY:-python3}
for pattern in "fla_core-*.whl" "mamba_ssm-*.tar.gz"; do # was pip's "not a valid wheel filename" / tar's error
    if ! compgen -G "$SRC/$pattern" >/dev/null; then
        echo "gpu_peers.sh: no $pattern in $SRC; fetch them on a machine with PyPI:" >&2
        echo "  pip download --no-deps --only-binary=:all: --python-version 3.12 -d $SRC fla-core==0.6.0" >&2
        echo "  pip download --no-deps --no-binary=:all: -d $SRC mamba-ssm==2.3.2.post1" >&2
        exit 2
    fi
done
mkdir -p "$DEST/build"
$PY -m pip install -q --no-index --no-deps --no-compile --target "$DEST" "$SRC"/fla_core-*.whl
tar xzf "$SRC"/mamba_ssm-*.tar.gz -C "$DEST/build"
M=$(ls -d "$DEST"/build/mamba_ssm-*/ | head -1)
cp -r "$M/mamba_ssm" "$DEST/"
: >"$DEST/mamba_ssm/__init__.py"
cap=$($PY -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
TORCH_CUDA_ARCH_LIST=$cap MAX_JOBS=${MAX_JOBS:-12} $PY - "$M/csrc/selective_scan" "$DEST/build" <<'EOF'
import os, sys, time
from torch.utils.cpp_extension import load

src, build = sys.argv[1], sys.argv[2]
files = ["selective_scan.cpp"] + sorted(f for f in os.listdir(src) if f.endswith(".cu"))
half = [f"-U__CUDA_NO_{t}__" for t in ("HALF_OPERATORS", "HALF_CONVERSIONS", "BFLOAT16_OPERATORS",
        "BFLOAT16_CONVERSIONS", "BFLOAT162_OPERATORS", "BFLOAT162_CONVERSIONS")]
t0 = time.time()
load("selective_scan_cuda", [os.path.join(src, f) for f in files], extra_include_paths=[src],
     extra_cflags=["-O3", "-std=c++17"], build_directory=build,
     extra_cuda_cflags=["-O3", "-std=c++17", *half, "--expt-relaxed-constexpr", "--expt-extended-lambda",
                        "--use_fast_math", "-lineinfo"])
print(f"selective_scan_cuda built in {time.time() - t0:.0f} s")
EOF
