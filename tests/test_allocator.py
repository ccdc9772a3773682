"""Worker processes keep freed memory (pipeline.allocator, issue 12 §1 soak): a process that frees 20 MB
of chunk-sized buffers, as a draining queue does, keeps its RSS under the workers' environment and gives
it back under glibc's defaults (the -8 to -12 % swings of the soak)."""

import json
import os
import subprocess
import sys

import pytest
from wavegraph.pipeline.allocator import TUNABLES, worker_env

_CHILD = r"""
import json, os
import numpy as np
page = os.sysconf("SC_PAGE_SIZE")
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * page / 2**20
queue = [np.ones(6400) for _ in range(400)]  # 400 chunks of 64 ch x 100 samples float64 (51 KB each)
full = rss()
del queue
print(json.dumps({"full": full, "drained": rss()}))
"""


def _drained_drop(env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    return r["full"] - r["drained"]


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc")
def test_workers_keep_freed_chunk_buffers_and_glibc_defaults_do_not():
    plain = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "WAVEGRAPH_MALLOC")}
    assert _drained_drop(plain) > 15  # MB: glibc trims the freed top of its heap
    assert abs(_drained_drop(worker_env(plain))) < 1  # the workers' settings keep it


def test_a_users_own_settings_win():
    assert worker_env({})["GLIBC_TUNABLES"] == TUNABLES
    assert worker_env({"GLIBC_TUNABLES": "glibc.malloc.arena_max=1"})["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=1"
    assert "GLIBC_TUNABLES" not in worker_env({"WAVEGRAPH_MALLOC": "system"})
