"""The liblsl config file of the LSL tests: the repo's configs/lsl_api.cfg (discovery and data on loopback only) with
liblsl's clock-offset probes 8 ms apart instead of 64 ms ([tuning] TimeProbeInterval).

An lsl_inlet with clock_sync (its default) asks liblsl for the outlet's clock offset when it opens, and close() waits
for the answer (nodes/io/lsl_clock_prime.py): liblsl sends 8 probes TimeProbeInterval apart, then waits TimeProbeMaxRTT
for the last reply, 8 x 64 ms + 128 ms = 0.64 s, which a test that opens an inlet paid once per inlet unless it waited
longer anyway (the realtime pass opens hundreds); 8 x 8 ms + 128 ms is 0.19 s. The probes are as many and as real;
only their spacing, which a loopback connection does not need, is shorter. Everything else is the file users are told
to use, read from it each time (so the two cannot drift apart).

Set it before pylsl is first used in the process (liblsl reads the file once, at its first use; worker processes
inherit the variable): `os.environ["LSLAPICFG"] = lsl_loopback.config()`."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "configs" / "lsl_api.cfg"
# liblsl measures the offset anew every TimeUpdateInterval (2 s) from the start of the measure before: 2.45 s puts each
# new estimate where liblsl's defaults put the first (2 + 0.64 s after the inlet opened), so a run shorter than that
# still reads one estimate throughout (test_live_lsl's live filter checks its published stamps to 1e-9 s)
TUNING = {"TimeProbeInterval": "0.008", "TimeUpdateInterval": "2.45"}


def text() -> str:
    """configs/lsl_api.cfg with TUNING's keys in its [tuning] section (added when it has none)."""
    lines = SHIPPED.read_text().splitlines()
    keys = [f"{k} = {v}" for k, v in TUNING.items()]
    assert not any(line.split("=")[0].strip() in TUNING for line in lines), f"{SHIPPED} sets {list(TUNING)} itself"
    if "[tuning]" in (stripped := [line.strip() for line in lines]):
        at = stripped.index("[tuning]") + 1
        lines[at:at] = keys
    else:
        lines += [
            "",
            "; tests only (tests/lsl_loopback.py): the clock-offset probes closer together",
            "[tuning]",
            *keys,
        ]
    return "\n".join(lines) + "\n"


def config() -> str:
    """The path of the tests' config file, written (once per content, atomically: xdist workers start together) in
    the temp folder."""
    body = text()
    path = Path(tempfile.gettempdir()) / f"wavegraph-tests-lsl_api-{hashlib.sha1(body.encode()).hexdigest()[:12]}.cfg"
    if not path.is_file() or path.read_text() != body:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(body)
        tmp.replace(path)
    return str(path)
