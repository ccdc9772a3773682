"""lsl_inlet reads up to a timestamp jump and keeps the samples after it for its next read (so that they start a chunk
flagged gap). A stop (Ctrl-C, --duration, GraphBuilder.stop) that ended the source right then dropped them unsaid:
up to a chunk of EEG missing from the recording. The runtime's finish_all() now gives them."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402


def test_the_samples_after_a_jump_held_for_the_next_read_come_out_when_a_stop_ends_the_source():
    name = f"held-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, 50.0, pylsl.cf_float32, name))
    node = LslInlet(name=name, clock_sync=False, chunk_size=64)
    node.configure({})
    ts = pylsl.local_clock() + np.arange(40) / 50.0
    ts[25:] += 1.0  # one second missing after sample 25
    x = np.arange(40, dtype=np.float32)[:, None]
    deadline = time.monotonic() + 10.0
    assert not node.read()  # opens the inlet's stream: nothing sent yet
    assert outlet.wait_for_consumers(10.0)
    outlet.push_chunk(np.ascontiguousarray(x), list(ts))  # pyright: ignore[reportArgumentType]  (pylsl takes a list)
    inlet = node._inlet
    assert inlet is not None
    while inlet.samples_available() < len(x) and time.monotonic() < deadline:  # all there: the first read holds
        time.sleep(0.005)  # every sample up to the jump (it got 1 of them in 1 run in 40 when read at once)
    got = []
    while not got and time.monotonic() < deadline:
        got = [c for c in [node.read()] if c]
    first = got[0]["out"]
    assert first.data.shape[1] == 25  # up to the jump; the rest kept for the next read
    tails = [t["out"] for t in node.finish_all() if t]  # a stop ends the source now
    assert len(tails) == 1 and tails[0].gap
    np.testing.assert_array_equal(np.concatenate([first.data, tails[0].data], axis=1)[0], x[:, 0])
    node.close()
