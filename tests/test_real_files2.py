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
    with caplog.at_level(logging.INFO, "wavegraph.file_source"):  # (said at INFO since test_real_files3: nothing lost)
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


def test_read_opensignals_of_a_two_device_file_names_them_and_reads_the_one_asked():
    """Before: read_opensignals (what file_source's error for .h5 tells a user to use) took the file's first device
    and left the other out, unsaid: emg_1000_hz_16_bits.h5 gave the 1000 Hz EMG, and the 10 Hz device was lost."""
    import h5py
    from wavegraph.pipeline.datasets import read_opensignals

    path = dataset("bsn-emg-two-devices")
    devices = {}
    with h5py.File(path, "r") as f:
        for k in f:
            raw = f[f"{k}/raw"]
            assert isinstance(raw, h5py.Group)
            (column,) = [str(c) for c in raw if str(c).startswith("channel_")]
            devices[k] = (float(np.asarray(f[k].attrs["sampling rate"])), np.asarray(raw[column]))
    assert len(devices) == 2
    with pytest.raises(ValueError, match="holds 2 devices: .*1000 Hz, 1 channels.*10 Hz, 1 channels.*device='"):
        read_opensignals(path)
    for name, (rate, column) in devices.items():
        data, got_rate = read_opensignals(path, device=name)
        assert got_rate == rate and data.shape == (1, len(column))
        np.testing.assert_array_equal(data[0], column.reshape(-1))
    with pytest.raises(ValueError, match="no device 'nope'"):
        read_opensignals(path, device="nope")


def test_an_edf_starting_a_fraction_of_a_second_in_keeps_that_start_through_recorders(tmp_path):
    """pyedflib's test_subsecond.edf: header 04:05:56, first record's time-keeping annotation '+0.3945312' (EDF+: the
    first sample is 0.3945312 s into that second). Before: MNE's meas_date drops the fraction, file_source passed it on,
    and a FIF or EDF recorder dated the replay 0.39 s early (the recorder's own EDF, started mid-second, lost its
    fraction the same way on replay). Now the spec's meas_date holds it, to the microsecond."""
    from datetime import datetime

    src = dataset("pyedflib-subsecond")
    want = "2020-01-24T04:05:56.394531+00:00"
    assert FileSource(path=str(src)).configure({})["out"].meas_date == want
    fif, edf = tmp_path / "rec_raw.fif", tmp_path / "rec.edf"
    _record(src, fif, tmp_path)
    rec = mne.io.read_raw_fif(fif, verbose="error")
    assert rec.info["meas_date"] == datetime.fromisoformat(want) and rec.first_samp == 0
    _record(src, edf, tmp_path)
    assert FileSource(path=str(edf)).configure({})["out"].meas_date == want


def test_running_an_opensignals_file_as_a_graph_says_how_to_replay_it(capsys):
    """Before: 'wavegraph run eeg_sample_closed_open_eyes.h5' said 'replay it through a graph whose file_source reads
    it', with such a graph to write; file_source then refused the file (it reads no HDF5). Now the fix is the one
    file_source gives for it: load it with read_opensignals and replay it with array_source."""
    from wavegraph.pipeline.cli import main

    path = dataset("bsn-eeg-closed-open-eyes")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "this is a recording, not a graph file" in err and "whose file_source reads it" not in err
    assert "read_opensignals(PATH)" in err and "array_source" in err


def test_a_marker_at_the_recordings_very_end_is_not_said_to_lie_after_it(caplog):
    """pyedflib's test_generator.edf (200 Hz, 600 s) ends with the marker 'Recording ends' at 600 s: where the last
    sample's period ends. Before: 'lie after its last sample (599.995 s) ... was the recording cut short?' on a file
    that is whole. The marker still goes out (with the last chunk); one later than half a sample past it is said."""
    src = dataset("pyedflib-generator-edf")
    node = FileSource(path=str(src))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        node.configure({})
    assert "lie after its last sample" not in caplog.text
    assert node.reader is not None and sorted(node.reader.events[:, 1]) == [0.0, 600.0]


def _bdf_samples(path) -> list[np.ndarray]:
    """Each signal of a BDF in its own rate, in volts (its header's uV), decoded here from the bytes."""
    raw = path.read_bytes()
    ns, n_rec = int(raw[252:256]), int(raw[236:244])
    sig = raw[256 : 256 * (ns + 1)]

    def field(offset: int, width: int, kind=float) -> list:
        return [kind(sig[offset + i * width : offset + (i + 1) * width]) for i in range(ns)]

    pmin, pmax = field(ns * 104, 8), field(ns * 112, 8)
    dmin, dmax, spr = field(ns * 120, 8), field(ns * 128, 8), field(ns * 216, 8, int)
    b = np.frombuffer(raw[256 * (ns + 1) :], np.uint8).reshape(n_rec, sum(spr), 3).astype(np.int32)
    d = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
    d = np.where(d >= 1 << 23, d - (1 << 24), d)
    at = np.cumsum([0, *spr])
    return [
        ((d[:, at[i] : at[i + 1]].reshape(-1) - dmin[i]) * (pmax[i] - pmin[i]) / (dmax[i] - dmin[i]) + pmin[i]) * 1e-6
        for i in range(ns)
    ]


def test_a_bdf_of_mixed_rates_replays_every_channel_whole(caplog):
    """pyedflib's test_generator.bdf: 1000, 800, 500, 975 and 999 Hz channels in one file (none of the rates in a
    simple ratio to the others). Pinned: the replay is at the top rate, the slower channels are named with their rates
    in a warning, and each is the FFT interpolation of the file's own samples (decoded here from its bytes): resampled
    back to its rate it is them, so nothing is lost. (MNE read 1000 samples at a time differs from its whole read by
    up to 18 % of the square wave's range; this 1 MB file fits one of file_source's 16 MB reads.)"""
    from scipy.signal import resample
    from wavegraph.pipeline.api import GraphBuilder

    src = dataset("pyedflib-generator-bdf")
    want = _bdf_samples(src)
    g = GraphBuilder()
    node = g.add("file_source", path=str(src), chunk_size=37)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        got = g.run(capture=[node])[f"{node}.out"]
    assert "square 13Hz 800 Hz, ramp 7Hz 500 Hz, pink noise 975 Hz, white noise 999 Hz" in caplog.text
    assert got.data.shape == (5, 30000)
    for x, y in zip(got.data, want):
        back = x if len(y) == len(x) else resample(x, len(y))
        assert np.max(np.abs(back - y)) < 1e-9 * np.max(np.abs(y))
