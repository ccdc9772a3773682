"""Real files no one had replayed (biosignalsnotebooks' OpenSignals exports, pipeline/datasets.py): what went wrong
on them, each checked against MNE's or h5py's own read of the same file."""

from __future__ import annotations

import logging

import mne
import numpy as np
import pytest
from conftest import dataset
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

RECORD = """\
nodes:
  - {id: src, type: file_source, params: {path: SRC}}
  - {id: rec, type: recorder, params: {path: OUT}}
edges:
  - {source: src.out, target: rec.in}
"""


def _record(src, out, tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text(RECORD.replace("SRC", str(src)).replace("OUT", str(out)))
    r = run_graph(build_graph(load_config(g)), in_process=True)
    assert r.exit_code == 0, r.failure


@pytest.mark.parametrize(("name", "units"), [("bsn-eda-slow-edf", ["uS"]), ("bsn-eeg-acoustic-edf", ["", ""])])
def test_an_edf_channel_in_no_voltage_keeps_its_values_through_a_recorder(tmp_path, caplog, name, units):
    """Before: MNE reads an EDF channel in uS (EDA), or without a unit (OpenSignals' raw ADC counts 0-65535), as EEG
    in volts with the file's value; file_source declared it so, and the EDF recorder wrote 1.5 uS as 1500000 uV
    (counts 63367 as 6.34e10 uV), unsaid. Now such a channel is typed misc: written as its value, without a unit."""
    src = dataset(name)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        spec = FileSource(path=str(src)).configure({})["out"]
    assert spec.channel_types == ("misc",) * len(units)
    assert "no voltage" in caplog.text and ("'uS'" in caplog.text if units[0] else "without a unit" in caplog.text)
    out = tmp_path / "rec.edf"
    _record(src, out, tmp_path)
    want = np.asarray(mne.io.read_raw_edf(src, preload=True, verbose="error").get_data())
    back = mne.io.read_raw_edf(out, preload=True, verbose="error")
    assert list(back._orig_units.values()) == ["n/a"] * len(units)  # no unit, as MNE's own export writes them
    got = np.asarray(back.get_data())[:, : want.shape[1]]
    step = np.ptp(want, axis=1, keepdims=True) / 65535  # the recorder's 16-bit quantisation of each channel
    assert np.all(np.abs(got - want) <= step)
