"""How the worker processes' C allocator (glibc malloc) gives memory back: keep what was freed.

A worker streaming at full speed allocates and frees chunk-sized buffers all the time (node outputs,
ZeroMQ messages; a 64-channel 100-sample float64 chunk is 51 KB), and how many are alive at once
follows its bounded queues as they fill and drain (a filter process feeding five recorders: five
64-chunk queues, 16 MB). By default glibc hands the top of its heap back to the system whenever
128 KB or more of it is free, and moves its mmap threshold with the sizes it has seen, so such a
process's RSS swings by the data in flight (-8 to -12 % in `wavegraph bench soak`), and every refill
page-faults the memory back in. Workers are therefore started with

    GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432

that is: give back free memory at the top of the heap only past 1 GiB, and serve every allocation up
to 32 MiB (glibc's own ceiling for its moving threshold on 64-bit) from the heap. A worker's RSS then
follows its high-water mark, which is what bounded memory is about: it grows only if the process
needs more memory at once than it ever did. A GLIBC_TUNABLES already in the environment is left as
it is (it replaces these); WAVEGRAPH_MALLOC=system starts the workers with glibc's defaults. Other C
libraries ignore the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TUNABLES = "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432"


def worker_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment a worker process starts with: `environ` plus the allocator settings above."""
    env = dict(environ)
    if "GLIBC_TUNABLES" not in env and env.get("WAVEGRAPH_MALLOC", "") != "system":
        env["GLIBC_TUNABLES"] = TUNABLES
    return env
