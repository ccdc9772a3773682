"""Configs probe (session 45): the shipped graphs in configs/ pointed with --set at files they were not written for,
and the file_source readers behind them. Real EEG (PhysioNet EEGMMIDB S001R02) and files written by MNE itself."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.datasets import fetch
from wavegraph.pipeline.spec import SpecError


@pytest.fixture(scope="module")
def real():
    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error").crop(0, 6.0)
    raw.pick(raw.ch_names[:6])
    mne.rename_channels(raw.info, lambda n: n.strip("."))
    return raw


def _open(path):
    src = FileSource(path=str(path))
    try:
        return src.configure({})
    finally:
        src.close()


def test_a_fif_of_mne_that_holds_no_recording_says_what_it_holds(real, tmp_path, caplog):
    """Before: an average (x-ave.fif) was said to hold epochs ('replaying them as epochs', a warning), then 'it is FIF
    but damaged ...: export it again from the recording software'; so were a covariance, events, projectors, a
    measurement info and a transform, which MNE writes as FIF beside a recording. Now each is named, with how MNE loads
    it; a raw file and an epochs file still replay."""
    events = np.array([[100, 0, 1], [400, 0, 2], [700, 0, 1]])
    epochs = mne.Epochs(
        real, events, {"a": 1, "b": 2}, tmin=-0.1, tmax=0.5, baseline=(None, 0), preload=True, verbose=False
    )
    epochs.average().save(tmp_path / "x-ave.fif", verbose=False)
    mne.write_evokeds(tmp_path / "two-ave.fif", [epochs["a"].average(), epochs["b"].average()], verbose=False)
    mne.compute_covariance(epochs, verbose=False).save(tmp_path / "x-cov.fif", verbose=False)
    mne.write_events(tmp_path / "x-eve.fif", events)
    mne.io.write_info(tmp_path / "x-info.fif", real.info)
    mne.write_proj(tmp_path / "x-proj.fif", mne.compute_proj_raw(real, n_eeg=1, verbose=False))
    mne.write_trans(tmp_path / "x-trans.fif", mne.transforms.Transform("head", "mri"))
    want = {
        "x-ave.fif": ("an MNE average of epochs (Evoked)", "mne.read_evokeds(PATH)[0], then from Python array_source"),
        "two-ave.fif": ("2 MNE averages of epochs (Evoked)", "array_source"),
        "x-cov.fif": ("an MNE covariance matrix", "mne.read_cov(PATH)"),
        "x-eve.fif": ("MNE events", "mne.read_events(PATH)"),
        "x-info.fif": ("the measurement info of a recording without its data", "mne.io.read_info(PATH)"),
        "x-proj.fif": ("SSP projectors", "mne.read_proj(PATH)"),
        "x-trans.fif": ("a coordinate transform", "mne.read_trans(PATH)"),
    }
    for name, (what, load) in want.items():
        caplog.clear()
        with pytest.raises(SpecError) as e:
            _open(tmp_path / name)
        assert f"{name} holds {what}" in e.value.message and "not a recording" in e.value.message, name
        assert load in e.value.hint and "damaged" not in str(e.value), name
        assert not [r for r in caplog.records if "replaying them as epochs" in r.getMessage()], name
    real.save(tmp_path / "x_raw.fif", verbose=False)
    epochs.save(tmp_path / "x-epo.fif", verbose=False)
    assert _open(tmp_path / "x_raw.fif")["out"].shape == (6,)
    assert _open(tmp_path / "x-epo.fif")["out"].shape == (6,)


def test_a_batch_says_a_link_whose_recording_is_gone_and_a_pipe_and_exits_1(tmp_path):
    """Before: --inputs 'in/*.edf' over a good EDF, a link to a recording on a disk not mounted and a named pipe ran
    the good one alone ('1 files ... 1 done, 0 failed', exit 0): the two were dropped unsaid (glob matched them, but
    they are no regular file). Now each is an input whose run says what it is (file_source's own words), counted
    failed, exit 1; the good one is done. configs/default.yaml as shipped, its source pointed at each file."""
    import os
    from pathlib import Path

    from conftest import wavegraph_cli

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.edf").write_bytes(Path(fetch("eegmmidb-s001r02")).read_bytes())
    (folder / "s03.edf").symlink_to(tmp_path / "unmounted" / "s03.edf")
    os.mkfifo(folder / "live.edf")
    graph = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"
    r = wavegraph_cli(
        "batch",
        str(graph),
        "--inputs",
        str(folder / "*.edf"),
        "--out",
        str(tmp_path / "out"),
        "--jobs",
        "1",
        "--set",
        "notch.freq=50",
    )
    said = r.stdout + r.stderr
    assert r.returncode == 1, said
    assert "3 files" in said and "1 done" in said and "2 failed" in said, said
    link = [line for line in said.splitlines() if line.startswith("FAILED") and "s03.edf" in line]
    assert len(link) == 1 and "is a link to" in link[0] and "which does not exist" in link[0], said
    pipe = [line for line in said.splitlines() if line.startswith("FAILED") and "live.edf" in line]
    assert len(pipe) == 1 and "is a pipe or a device, not a file" in pipe[0], said
    assert (tmp_path / "out" / "good" / "default_raw.fif").is_file()


def test_a_raw_fif_cut_between_its_info_and_its_data_is_said_cut_short(real, tmp_path, caplog):
    """Before: a _raw.fif whose copy stopped at a tag's end after its measurement info (no data yet) was announced as
    epochs ('replaying them as epochs', a warning), then 'it is FIF but damaged ...: export it again'. Now: cut short,
    at which byte and tag, with the fix of any file cut short."""
    import struct

    whole = tmp_path / "whole_raw.fif"
    real.save(whole, verbose=False)
    b, at = whole.read_bytes(), 0
    while True:  # the start of the raw data block: FIFF_BLOCK_START (104) of FIFFB_RAW_DATA (102)
        kind, _, size, _ = struct.unpack(">iiii", b[at : at + 16])
        if kind == 104 and struct.unpack(">i", b[at + 16 : at + 20])[0] == 102:
            break
        at += 16 + size
    cut = tmp_path / "cut_raw.fif"
    cut.write_bytes(b[:at])
    with pytest.raises(SpecError) as e:
        _open(cut)
    assert f"cut_raw.fif is cut short: it ends at byte {at}, after its tag" in e.value.message
    assert "before any of its data" in e.value.message and "give the whole file" in e.value.hint
    assert not [r for r in caplog.records if "replaying them as epochs" in r.getMessage()]
