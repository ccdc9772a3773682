"""Recordings under the names users give them: upper-case suffixes (REC.VHDR, REC.SET, REC.EDF: a Windows
machine or a FAT card), BrainVision companions whose case differs from the header's names. Real EEG
(PhysioNet EEGMMIDB S001R02, the first 4 s of 8 channels)."""

from __future__ import annotations

import shutil
from pathlib import Path

import mne
import numpy as np
import pytest
from test_io_hostile import replay  # pyright: ignore[reportMissingImports]
from wavegraph.pipeline.datasets import fetch

RESOLUTION_UV = 0.1


@pytest.fixture(scope="module")
def real():
    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error").crop(0, 4.0)
    return raw.pick(raw.ch_names[:8])


def brainvision(folder: Path, raw) -> Path:
    """`raw` as a BrainVision Recorder file set (INT_16 at 0.1 uV, markers at samples 100 and 400), lower case."""
    x = np.round(raw.get_data() * 1e6 / RESOLUTION_UV).astype("<i2")
    (folder / "rec.eeg").write_bytes(x.T.tobytes())
    (folder / "rec.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n[Common Infos]\nCodepage=UTF-8\nDataFile=rec.eeg\n"
        "MarkerFile=rec.vmrk\nDataFormat=BINARY\nDataOrientation=MULTIPLEXED\n"
        f"NumberOfChannels={len(raw.ch_names)}\nSamplingInterval={1e6 / raw.info['sfreq']:g}\n"
        "[Binary Infos]\nBinaryFormat=INT_16\n[Channel Infos]\n"
        + "".join(f"Ch{i + 1}={n.strip('.')},,{RESOLUTION_UV},µV\n" for i, n in enumerate(raw.ch_names))
    )
    (folder / "rec.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n[Common Infos]\nCodepage=UTF-8\nDataFile=rec.eeg\n"
        "[Marker Infos]\nMk1=New Segment,,1,1,0,20240101120000000000\nMk2=Stimulus,S  8,101,1,0\n"
        "Mk3=Stimulus,S 10,401,1,0\n"
    )
    return folder / "rec.vhdr"


def test_brainvision_copied_to_upper_case_names_replays_as_the_original(real, tmp_path):
    low = brainvision(tmp_path, real)
    want_specs, want, want_ev = replay(low)
    assert want.shape == (8, real.n_times) and [r[2] for r in want_ev] == [8, 10]
    up = tmp_path / "upper"
    up.mkdir()
    for part in ("vhdr", "vmrk", "eeg"):  # the header still says DataFile=rec.eeg, MarkerFile=rec.vmrk
        shutil.copy(tmp_path / f"rec.{part}", up / f"REC.{part.upper()}")
    specs, x, ev = replay(up / "REC.VHDR")  # MNE refused '.VHDR', then could not find rec.eeg / rec.vmrk
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(ev, want_ev)
    assert specs["out"].channel_names == want_specs["out"].channel_names
    assert specs["events"].labels == want_specs["events"].labels
    # a lower-case header whose data file is upper case on disk (renamed on a case-insensitive disk)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(low, mixed / "rec.vhdr")
    shutil.copy(tmp_path / "rec.eeg", mixed / "REC.EEG")
    shutil.copy(tmp_path / "rec.vmrk", mixed / "Rec.Vmrk")
    _, x, ev = replay(mixed / "rec.vhdr")
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(ev, want_ev)


@pytest.mark.parametrize("suffix", [".SET", ".EDF", ".Fif"])
def test_upper_case_suffixes_replay(real, tmp_path, suffix):
    pytest.importorskip("eeglabio")
    pytest.importorskip("edfio")
    low = tmp_path / {".SET": "rec.set", ".EDF": "rec.edf", ".Fif": "rec_raw.fif"}[suffix]
    if suffix == ".Fif":
        real.save(low, verbose="error")
    else:
        mne.export.export_raw(low, real, verbose="error")
    _, want, _ = replay(low)
    up = low.with_name(low.stem.upper() + suffix)
    shutil.copy(low, up)
    _, x, _ = replay(up)
    np.testing.assert_array_equal(x, want)


def test_the_data_part_of_an_upper_case_brainvision_set_points_to_its_header(real, tmp_path):
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.spec import SpecError

    brainvision(tmp_path, real)
    for part in ("vhdr", "eeg"):
        (tmp_path / f"rec.{part}").rename(tmp_path / f"REC.{part.upper()}")
    with pytest.raises(SpecError, match="one part of a recording") as e:
        FileSource(path=str(tmp_path / "REC.EEG")).configure({})
    assert str(tmp_path / "REC.VHDR") in e.value.hint


def test_a_compressed_xdf_with_an_upper_case_suffix_replays(real, tmp_path):
    import gzip

    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    x = real.get_data()
    stream = XdfStream("amp", "EEG", real.info["sfreq"], x.T * 1e6, 10 + np.arange(x.shape[1]) / real.info["sfreq"])
    low = write_xdf(tmp_path / "rec.xdf", [stream])
    (tmp_path / "REC.XDFZ").write_bytes(gzip.compress(low.read_bytes()))
    _, want, _ = replay(low)
    _, got, _ = replay(tmp_path / "REC.XDFZ")  # pyxdf unzips only '.xdfz': 'Invalid XDF file'
    np.testing.assert_array_equal(got, want)
