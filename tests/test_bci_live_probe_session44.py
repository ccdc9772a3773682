"""Probe of the live BCI session (docs/bci.md) on loopback LSL, session 44.

The stimulus program's marker stream sends its first marker mid-session: the marker inlet's first pull that returned
data waited ~0.64 s for liblsl's clock offset (clock_sync) and held the graph's loop, so the EEG waited and the
decisions of that time came late (a marker sent before the data: `behind`, 2.1 s of the EEG waiting at 2x). lsl_inlet
now asks for the offset when the graph starts, off the loop (nodes/io/lsl_clock_prime.py)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import uuid  # noqa: E402

import pytest  # noqa: E402

pylsl = pytest.importorskip("pylsl")
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402

pytestmark = pytest.mark.realtime


@pytest.mark.parametrize("kind", ["markers", "eeg"])
def test_the_clock_offset_is_had_when_the_graph_starts_not_at_the_first_pull(kind):
    """liblsl's time_correction(timeout=0) answers only once the offset was measured: after open() (and the prime
    finished) it does, with no pull made; before, the first pull that got data measured it, holding the loop."""
    name = f"probe44-{kind}-{uuid.uuid4().hex[:8]}"
    if kind == "markers":
        info = pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name)
    else:
        info = pylsl.StreamInfo(name, "EEG", 2, 256.0, pylsl.cf_float32, name)
        info.set_channel_labels(["O1", "O2"])
        info.set_channel_units(["microvolts"] * 2)
    outlet = pylsl.StreamOutlet(info)
    node = LslInlet(name=name, resolve_timeout=5.0, wait=0.0)
    node.configure({})
    try:
        node.open()
        prime = getattr(node, "_prime", None)
        if prime is not None:
            prime.wait()
        node._inlet.time_correction(timeout=0.0)  # raises pylsl's TimeoutError when not measured yet
    finally:
        node.close()
        del outlet
    assert getattr(node, "_prime", None) is None  # close() joined the thread that held the inlet


def test_clock_sync_off_asks_for_no_offset():
    name = f"probe44-nosync-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))
    node = LslInlet(name=name, resolve_timeout=5.0, wait=0.0, clock_sync=False)
    node.configure({})
    try:
        node.open()
        assert getattr(node, "_prime", None) is None
    finally:
        node.close()
        del outlet
