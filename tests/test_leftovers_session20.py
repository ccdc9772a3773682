"""Defects left from the last review (session 20), each reproduced as a user meets it; each test failed before its fix."""

import os

import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.spec import SpecError, signal_spec  # noqa: E402


@pytest.mark.parametrize(
    ("type_name", "params"),
    [("resample", {"rate": 100.0}), ("fir", {"h_freq": 10.0}), ("align", {"delay": 0.1}), ("join", {})],
)
def test_finish_before_configure_says_to_configure_first(type_name, params):
    """Before: Resample(rate=100).finish() by hand, configure() skipped, was AttributeError: 'NoneType' object has no
    attribute 'n_in' (fir and align alike, join a bare KeyError: 'a'). Now it says to call configure() first; a
    configured node still finishes as before."""
    import importlib

    from wavegraph.nodes import BUILTIN_NODES

    module, name = BUILTIN_NODES[type_name].split(":")
    cls = getattr(importlib.import_module(module), name)
    with pytest.raises(RuntimeError, match=r"finish\(\) before configure\(\): call node\.configure\(in_specs\) first"):
        cls(**params).finish()
    node = cls(**params)
    spec = signal_spec(250.0, ["C3"])
    node.configure(dict.fromkeys(node.inputs, spec))
    node.process({port: Chunk(np.ones((1, 50)), 0.0) for port in node.inputs})
    assert isinstance(node.finish(), dict)


def test_an_edf_with_eda_in_microsiemens_beside_eeg_is_not_labelled_volts(tmp_path):
    """Before: an EDF with EEG in uV and EDA in uS (a wearable's export) replayed as a stream of units "V": MNE gives
    every EDF channel volts, and file_source kept that though it types the EDA channel misc with its values in uS
    (2103.7 uS labelled volts; an lsl_outlet then published unit V on the EDA channel). Now the stream's units are ""
    (one unit fits no such mix; spec.py), the values unchanged; an EDF of EEG alone is still "V"."""
    from test_real_files3 import _edf, _replay  # pyright: ignore[reportMissingImports]

    x = np.random.default_rng(0).integers(-30000, 30000, 400)
    value = (x + 32768) * (6553.5 / 65535) - 3276.8  # each sample's physical value in the file's unit
    eeg = ("Fz", "uV", x, 100, -3276.8, 3276.7)
    spec, got = _replay(_edf(tmp_path / "mixed.edf", [eeg, ("EDA", "uS", x, 100, -3276.8, 3276.7)], 4))
    assert spec.channel_types == ("eeg", "misc") and spec.units == ""
    np.testing.assert_allclose(got, [value * 1e-6, value], rtol=1e-9)
    spec, _ = _replay(_edf(tmp_path / "eeg.edf", [eeg, ("Cz", "uV", x, 100, -3276.8, 3276.7)], 4))
    assert spec.units == "V"


def test_an_lsl_inlet_buffer_liblsl_cannot_reserve_is_refused_naming_buffer_s(monkeypatch):
    """Before: lsl_inlet `buffer_s: 10000000` on a 1000 Hz stream (1e10 samples, meant as samples or a typo) configured
    fine, then liblsl failed to reserve the buffer in its receiver thread ('Stream transmission broke off', on stderr
    only) and the inlet received nothing, unsaid, for ever (an idle_timeout ended it as 'nothing arrived'). Now
    configure refuses it, naming buffer_s and the most it takes at that rate; a marker stream counts 100 a second."""
    import pylsl
    from wavegraph.nodes.io import lsl
    from wavegraph.nodes.io.lsl import LslInlet

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)
    name = f"bigbuf-{uuid.uuid4().hex[:8]}"
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 1000.0, pylsl.cf_float32, name))
    with pytest.raises(
        SpecError, match=r"buffer_s 10000000 s of stream .*\(at 1000 Hz\).*fix: set buffer_s to at most 67108 s"
    ):
        LslInlet(name=name, buffer_s=10_000_000, resolve_timeout=10.0).configure({})
    node = LslInlet(name=name, buffer_s=60, resolve_timeout=10.0)  # (an hour or so is fine)
    assert node.configure({})["out"].rate == 1000.0
    node.close()
    marks = f"bigbuf-markers-{uuid.uuid4().hex[:8]}"
    out2 = pylsl.StreamOutlet(pylsl.StreamInfo(marks, "Markers", 1, 0.0, pylsl.cf_string, marks))
    with pytest.raises(SpecError, match=r"irregular.*at most 671088 s"):
        LslInlet(name=marks, buffer_s=1_000_000, resolve_timeout=10.0).configure({})
    del out, out2


def test_a_marker_outlet_back_under_a_new_source_id_is_said_and_ends_the_stream(monkeypatch, caplog):
    """`recover: true` on the stimulus program's marker stream, and the program restarted mid-session under a source_id
    it made up anew. liblsl reconnects only to the old one. Before: the marker inlet waited in silence for ever (its
    silence, normal for markers, was never taken as the outlet gone, so the check that says it for a signal was not
    made): every later marker lost, unsaid. Now, once the old outlet no longer answers (lsl_info.FORGET_S, 5 s; 1 s
    here), the new one is said, counted outlet_changed, and the stream ends, as a signal's does."""
    import logging
    import time

    import pylsl
    from wavegraph.nodes.io import lsl, lsl_info
    from wavegraph.nodes.io.lsl import LslInlet

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)
    monkeypatch.setattr(lsl, "RECHECK_S", 0.25)
    monkeypatch.setattr(lsl_info, "FORGET_S", 1.0)
    name = f"stim-{uuid.uuid4().hex[:8]}"

    def stimulus(run):
        return pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, f"{name}-{run}"))

    first = stimulus("run1")
    node = LslInlet(name=name, recover=True, clock_sync=False, resolve_timeout=2.0, wait=0.05)
    node.configure({})
    node.read()  # (the inlet connects at its first read)
    assert first.wait_for_consumers(5.0)
    first.push_sample(["7"])
    t_end = time.monotonic() + 15.0  # an upper bound for a loaded box, not a timing: it ends at the marker
    while not (out := node.read()) and time.monotonic() < t_end:
        pass
    assert out and out["out"].data[:, 2].tolist() == [7.0]
    del first
    again = stimulus("run2")  # noqa: F841
    ended, t_end = False, time.monotonic() + 15.0  # (about 1.5 s: FORGET_S and the recheck; more on a loaded box)
    with caplog.at_level(logging.ERROR, "wavegraph.lsl"):
        while not ended and time.monotonic() < t_end:
            ended = node.read() is None
    node.close()
    assert ended and node.counters.get("outlet_changed") == 1
    assert f"(source_id {name}-run1) is gone and an outlet of its name and type" in caplog.text
    assert f"under another source_id, {name}-run2" in caplog.text
