"""lsl_info.resolve, lsl_inlet's polled wait for its stream, on real liblsl over loopback."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import threading  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402

import pylsl  # noqa: E402
from wavegraph.nodes.io.lsl_info import resolve  # noqa: E402


def test_the_resolver_is_torn_down_off_the_calling_thread():
    """liblsl's teardown of a resolver can block for seconds, so resolve() leaves it to a daemon thread. Before: the
    thread, given the resolver as its argument, dropped it before resolve() did, and the teardown ran in the caller
    (the main thread: Ctrl-C held) every time."""
    torn_down_in = []

    class Resolver(pylsl.ContinuousResolver):  # the real resolver, saying which thread tears it down
        def __del__(self):
            torn_down_in.append(threading.get_ident())
            super().__del__()

    fake = types.SimpleNamespace(ContinuousResolver=Resolver)
    for _ in range(5):
        assert resolve(fake, "name='wavegraph-no-such-stream'", 0.05) == []
    t_end = time.monotonic() + 30.0  # a liveness bound: the daemon threads drop theirs at once
    while len(torn_down_in) < 5 and time.monotonic() < t_end:
        time.sleep(0.01)
    assert len(torn_down_in) == 5 and threading.get_ident() not in torn_down_in
