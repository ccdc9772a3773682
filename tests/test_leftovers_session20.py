"""Defects left from the last review (session 20), each reproduced as a user meets it; each test failed before its fix."""

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec


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
