#!/usr/bin/env bash
# Set up .venv-peers: ezmsg 3.9.0, ezmsg-sigproc 3.6.0, Timeflux 0.16.1 and wavegraph's transport and dsp
# nodes in ONE interpreter, for benchmarks/peers_ezmsg.py, peers_timeflux.py and peers_sigproc.py.
#
#   bash benchmarks/peers_setup.sh            # from the repo root (or anywhere: it cds there)
#   .venv-peers/bin/python benchmarks/peers_ezmsg.py
#   .venv-peers/bin/python benchmarks/peers_timeflux.py
#   .venv-peers/bin/python benchmarks/peers_sigproc.py
#
# A venv of its own, apart from the project's .venv (peers never go into the product's environment).
# Only what the comparison imports: ezmsg plus wavegraph's runtime deps for pipeline.transport
# (numpy, scipy, pyyaml, pydantic, pyzmq; no torch, mne, audio or LSL packages), then wavegraph itself
# with --no-deps. Versions are pinned to the set that resolved together on 2026-11-29 (ezmsg 3.9.0 needs
# numpy >= 1.26 and pydantic 2; no conflict with wavegraph's pins), so a re-run installs the same thing.
# `pip check` then lists wavegraph's other deps (mne, h5py, ...) as missing: expected, they are not used.
# wavegraph's car/notch/bandpass/resample nodes need nothing more (numpy, scipy, pydantic).
# ezmsg-sigproc 3.6.0 is the newest that resolves with ezmsg 3.9.0 (3.7.0 and later require
# ezmsg[axisarray] >= 3.10.0b2, a pre-release); it brings ezmsg-baseproc, numba/llvmlite, sparse, PyWavelets
# and array-api-compat, pinned here at the versions pip resolved on 2026-11-30.
#
# .venv-mnelsl: MNE-LSL 1.14.0 for benchmarks/peers_mnelsl.py (live LSL acquisition + filtering), with pylsl
# 1.18.6 and psutil for wavegraph's lsl_inlet, then wavegraph --no-deps. A second venv because it cannot share
# .venv-peers: mne-lsl needs mne >= 1.10, whose 1.13.2 needs decorator >= 5.1, while timeflux 0.16.1 pins
# networkx==2.5.1, which needs decorator < 5 (pip: ResolutionImpossible). Its other pins resolved with the ones
# above on 2026-11-30 (numpy, scipy, pyzmq, PyYAML, pydantic: the same versions).
#
#   LSLAPICFG=configs/lsl_api.cfg .venv-mnelsl/bin/python benchmarks/peers_mnelsl.py --json out.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$(command -v python3.11 || command -v python3)}
VENV=.venv-peers
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q \
    ezmsg==3.9.0 timeflux==0.16.1 pandas==3.1.1 \
    numpy==2.4.6 scipy==1.17.1 pyzmq==27.3.0 PyYAML==6.0.4 pydantic==2.14.4 \
    ezmsg-sigproc==3.6.0 ezmsg-baseproc==1.11.0 numba==0.68.1 llvmlite==0.50.0 sparse==0.19.3 \
    PyWavelets==1.9.0 array-api-compat==1.16.0
"$VENV/bin/pip" install -q --no-deps -e .
"$VENV/bin/python" - <<'PY'
import os
os.environ.setdefault("EZMSG_PROFILE", os.devnull)  # ezmsg.baseproc opens a profiling log on import
import ezmsg.core as ez, ezmsg.sigproc.butterworthfilter, numpy, timeflux, zmq
from importlib.metadata import version
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender  # wavegraph's edge API imports without its extras
for name in ("car", "notch", "bandpass", "resample"):  # the dsp nodes peers_sigproc.py times
    lookup(name)
print(f"ok: ezmsg {ez.__version__}, ezmsg-sigproc {version('ezmsg-sigproc')}, timeflux {timeflux.__version__}, numpy {numpy.__version__}, pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()})")
PY

VENV2=.venv-mnelsl
"$PY" -m venv "$VENV2"
"$VENV2/bin/pip" install -q \
    mne-lsl==1.14.0 mne==1.13.2 pylsl==1.18.6 psutil==7.2.2 \
    numpy==2.4.6 scipy==1.17.1 pyzmq==27.3.0 PyYAML==6.0.4 pydantic==2.14.4 \
    decorator==5.3.1 matplotlib==3.11.2 pooch==1.9.0 pyqtgraph==0.14.0 QtPy==2.4.3 click==8.5.1 \
    lazy-loader==0.6 tqdm==4.70.1 Jinja2==3.1.6 packaging==26.4
"$VENV2/bin/pip" install -q --no-deps -e .
LSLAPICFG=configs/lsl_api.cfg "$VENV2/bin/python" - <<'PY'
import mne_lsl, pylsl
from mne_lsl.stream import StreamLSL
from wavegraph.pipeline.registry import lookup
for name in ("lsl_inlet", "bandpass"):
    lookup(name)
print(f"ok: mne-lsl {mne_lsl.__version__}, pylsl {pylsl.__version__} (liblsl {pylsl.library_version()})")
PY
