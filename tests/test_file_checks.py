"""file_source's broken-file checks (nodes/io/file_checks.py) on files that are what their names say."""

from __future__ import annotations

import re

import pytest
from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError

V2 = "BrainVision Data Exchange Header File Version 2.0"  # BrainVision Recorder 2.x: no space in 'BrainVision'


def test_a_brainvision_2_header_is_not_called_misnamed(tmp_path):
    """A Recorder 2.x header ('BrainVision Data Exchange ...') that MNE fails on was said to be 'not those of
    BrainVision header files, as its name says' (the format check knew only 'Brain Vision'): a data file in a
    subfolder that is missing got that instead of 'a file of the recording is missing'."""
    header = _brainvision(tmp_path, [("S  8", 100)])
    text = header.read_text().replace("Brain Vision Data Exchange Header File Version 1.0", V2)
    header.write_text(text)
    src = FileSource(path=str(header))
    src.configure({})  # MNE reads a 2.0 header
    assert src.n_times == 500
    src.close()
    header.write_text(text.replace("DataFile=rec.eeg", "DataFile=raw/rec.eeg"))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(header)).configure({})
    assert "a file of the recording is missing" in e.value.message and "not those of" not in e.value.message


def test_mne_warnings_while_reading_are_passed_on_with_the_file(tmp_path, caplog):
    """Before: every MNE warning but one was swallowed: two channels both labelled Fz became Fz-0 and Fz-1
    without a word."""
    import numpy as np
    from test_inputs_attack import _edf  # pyright: ignore[reportMissingImports]

    path = _edf(tmp_path / "dup.edf", [("Fz", np.arange(200) % 50, 100), ("Fz", np.arange(200) % 30, 100)], 2)
    spec = FileSource(path=str(path)).configure({})
    assert re.search(r"dup\.edf: Channel names are not unique.*Fz", caplog.text)
    assert spec["out"].channel_names == ("Fz-0", "Fz-1")
