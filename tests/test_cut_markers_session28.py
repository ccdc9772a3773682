"""Session 28: the markers past the data of a recording cut short (or whose marker list goes on past its data), in the
formats file_source reads through MNE besides FIF (tests/test_leftovers2_session28.py): MNE's readers leave them
out ('Omitted N annotation(s) that were outside data range'); they go out after the last sample, at their times."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]
from test_leftovers2_session28 import _replay as _replay_chunks  # pyright: ignore[reportMissingImports]
from test_real_files3 import _edf  # pyright: ignore[reportMissingImports]

mne = pytest.importorskip("mne")


NOTES = ([1, 5, 15, 25, 35], [0, 0, 0, 0.5, 0], ["a", "b", "c", "d", "e"])  # a 40 s recording's, cut at 12 s


def _replay(path, chunk_size=100):
    """(samples, [(onset, duration, label)]) of a whole replay (test_leftovers2_session28's, with the labels)."""
    src, samples, events = _replay_chunks(path, chunk_size)
    labels = dict(src.out_specs["events"].labels)
    return samples, [(e[0], e[1], labels[int(e[2])]) for e in events]


def _said_once(caplog, n: int, of: int) -> None:
    """configure's warning counts them; MNE's 'left out' is not said (they are not)."""
    assert f"{n} of the {of} markers" in caplog.text and "lie after its last sample" in caplog.text
    assert "MNE leaves them out" not in caplog.text


def test_a_brainvision_data_file_cut_short_keeps_the_markers_of_its_whole_marker_file(tmp_path, caplog):
    """Before: an .eeg cut at 200 of its 500 samples beside its whole .vmrk replayed S 1 and S 2 alone; S 3 and S 4
    (samples 300, 450) were said 'MNE leaves them out' and lost."""
    header = _brainvision(tmp_path, [("S  1", 50), ("S  2", 150), ("S  3", 300), ("S  4", 450)])
    eeg = tmp_path / "rec.eeg"
    eeg.write_bytes(eeg.read_bytes()[: 200 * 6])  # 3 channels of INT_16
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        samples, events = _replay(header)
    assert samples == 200
    assert [(round(o * 250), t) for o, _, t in events] == [
        (50, "Stimulus/S  1"),
        (150, "Stimulus/S  2"),
        (300, "Stimulus/S  3"),
        (450, "Stimulus/S  4"),
    ]
    _said_once(caplog, 2, 4)


def test_a_whole_brainvision_recording_replays_its_markers_once(tmp_path, caplog):
    header = _brainvision(tmp_path, [("S  1", 50), ("S  2", 499)])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        samples, events = _replay(header, chunk_size=32)
    assert samples == 500 and [(round(o * 250), t) for o, _, t in events] == [
        (50, "Stimulus/S  1"),
        (499, "Stimulus/S  2"),
    ]
    assert not caplog.text


def test_brainvision_markers_before_its_first_sample_are_kept_and_said(tmp_path, caplog):
    """Session 42: a .vmrk position before 1 (a marker sent before the amplifier started). MNE leaves out the one that
    ends before the data (it clips one that overlaps it to 0); before, it was lost, 'MNE leaves them out: was the
    recording cut short?' miscounted it with the one past the end, and file_source's docstring said such markers go
    out with the first chunk."""
    header = _brainvision(tmp_path, [("S  1", -6), ("S  2", 50), ("S  3", 600)])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        samples, events = _replay(header, chunk_size=7)
    assert samples == 500
    assert [(round(o * 250), t) for o, _, t in events] == [
        (-6, "Stimulus/S  1"),
        (50, "Stimulus/S  2"),
        (600, "Stimulus/S  3"),
    ]
    assert "1 of the 3 markers" in caplog.text and "lie before its first sample (the first at -0.024 s)" in caplog.text
    _said_once(caplog, 1, 3)


def _raw40():
    info = mne.create_info(["C3", "C4", "Cz"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, 4000)) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations(*NOTES))
    return raw


def test_an_eeglab_set_whose_events_go_past_its_data_keeps_them(tmp_path, caplog):
    """Before: a .set of 12 s (EEG.pnts 1200) whose event list goes on to 35 s (its data cut, its events not) replayed
    a and b; c, d, e were said 'MNE leaves them out' and lost. (A .fdt cut short kept them already: MNE reads
    EEG.pnts samples' worth of events, and the replay stops where the .fdt does.)"""
    pytest.importorskip("eeglabio")
    import scipy.io

    whole = tmp_path / "whole.set"
    mne.export.export_raw(whole, _raw40(), fmt="eeglab", overwrite=True, verbose="error")
    mat = {k: v for k, v in scipy.io.loadmat(whole, appendmat=False).items() if not k.startswith("__")}
    mat["data"], mat["pnts"], mat["xmax"] = mat["data"][:, :1200], np.array([[1200.0]]), np.array([[11.99]])
    scipy.io.savemat(tmp_path / "rec.set", mat, appendmat=False)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        samples, events = _replay(tmp_path / "rec.set")
    assert samples == 1200
    assert events == [(1.0, 0.0, "a"), (5.0, 0.0, "b"), (15.0, 0.0, "c"), (25.0, 0.5, "d"), (35.0, 0.0, "e")]
    _said_once(caplog, 3, 5)


def _tal_record(start: int, note: str, bdf: bool) -> np.ndarray:
    """One record's annotation signal (120 bytes): its time-keeping TAL and `note`, as digital samples."""
    raw = (f"+{start}\x14\x14\x00" + note).encode().ljust(120, b"\x00")
    if not bdf:
        return np.frombuffer(raw, "<i2").astype(np.int64)
    return np.array([int.from_bytes(raw[i : i + 3], "little", signed=True) for i in range(0, 120, 3)])


@pytest.mark.parametrize("bdf", [False, True], ids=["EDF+", "BDF+"])
def test_an_edf_plus_cut_short_keeps_the_annotations_its_first_records_hold(tmp_path, caplog, bdf):
    """EDF+ lets any record hold any annotation: EDFlib (pyedflib, EDFbrowser) writes them all into the first records,
    whatever their time. Before: such a file cut at 12 of its 40 records replayed a alone; c, d, e, which the file
    still holds, were said 'MNE leaves them out' and lost. (mne.export, by edfio, writes each in the record of its
    time: cut off with it, they are not in the file.)"""
    notes = ["+1\x150\x14a\x14\x00", "+15\x150\x14c\x14\x00", "+25\x150.5\x14d\x14\x00", "+35\x14e\x14\x00"]
    tals = np.concatenate([_tal_record(r, notes[r] if r < len(notes) else "", bdf) for r in range(40)])
    x = np.arange(4000) % 200 - 100
    label = "BDF Annotations" if bdf else "EDF Annotations"
    spr = 40 if bdf else 60
    path = _edf(
        tmp_path / ("w.bdf" if bdf else "w.edf"),
        [("C3", "uV", x, 100, -3276.8, 3276.7), (label, "", tals, spr, -1, 1)],
        40,
        bdf=bdf,
    )
    data = bytearray(path.read_bytes())
    data[192:197] = b"BDF+C" if bdf else b"EDF+C"
    head = int(data[184:192])
    cut = tmp_path / ("rec.bdf" if bdf else "rec.edf")
    cut.write_bytes(bytes(data[: head + 12 * (len(data) - head) // 40]))
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        samples, events = _replay(cut)
    assert samples == 1200
    assert events == [(1.0, 0.0, "a"), (15.0, 0.0, "c"), (25.0, 0.5, "d"), (35.0, 0.0, "e")]
    _said_once(caplog, 3, 4)


def test_a_whole_edf_plus_replays_its_annotations_once(tmp_path):
    pytest.importorskip("edfio")
    mne.export.export_raw(tmp_path / "rec.edf", _raw40(), overwrite=True, verbose="error")
    samples, events = _replay(tmp_path / "rec.edf", chunk_size=32)
    assert samples == 4000 and [(o, t) for o, _, t in events] == [
        (1.0, "a"),
        (5.0, "b"),
        (15.0, "c"),
        (25.0, "d"),
        (35.0, "e"),
    ]
