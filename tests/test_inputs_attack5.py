"""Broken and unusual inputs, a fifth sweep: what a recording keeps of a live session (gaps, marker codes) and
MNE's own marks (BAD_ annotations, concatenation boundaries) when it is replayed. Each test failed before its fix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from wavegraph.nodes.io.xdf import XdfStream, write_xdf
from wavegraph.pipeline.api import GraphBuilder


def _events(path, **params) -> tuple[np.ndarray, dict[int, str]]:
    """(event rows, code -> label) file_source gives for a file."""
    from wavegraph.nodes.io.file_source import FileSource

    src = FileSource(path=str(path), **params)
    spec = src.configure({})["events"]
    rows = [c["events"].data for c in iter(src.read, None) if "events" in c]
    return (np.concatenate(rows) if rows else np.zeros((0, 3))), {int(c): t for c, t in spec.labels}


def test_bad_annotations_shift_no_code_of_the_others(tmp_path):
    """A BAD_ annotation (a segment marked in MNE's browser), which mne.events_from_annotations leaves out, took code
    1 in the replay, so 'T1' was code 2 there and 1 in MNE: an epochs node given MNE's codes cut the wrong trials."""
    import mne

    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(1).standard_normal((2, 1000)) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations([1, 2, 3, 4], [0, 0.5, 0, 0], ["T1", "BAD_muscle", "T2", "T1"]))
    raw.save(tmp_path / "marked_raw.fif", verbose="error")
    mne_events, ids = mne.events_from_annotations(raw, verbose="error")
    rows, labels = _events(tmp_path / "marked_raw.fif", chunk_size=64)
    assert [labels[int(c)] for c in rows[:, 2]] == ["T1", "BAD_muscle", "T2", "T1"]  # still replayed, after the rest
    np.testing.assert_array_equal(rows[[0, 2, 3], 2], mne_events[:, 2])
    assert all(labels[c] == d for d, c in ids.items())


def test_integer_markers_keep_their_code_beside_word_markers_as_live(tmp_path):
    """lsl_inlet reads a marker '11' as code 11 live; the XDF LabRecorder wrote of the same session numbered the
    sorted texts 1..k once a word marker ('start') was among them, so '11' replayed as code 1 and an epochs node
    with codes [11, 12] cut no trial of the replay."""
    fs, n = 250.0, 2500
    eeg = XdfStream("amp", "EEG", fs, np.zeros((n, 2), np.float32), 10 + np.arange(n) / fs, "float32", ["O1", "O2"])
    texts = ["start", "11", "12", "11", "stop"]
    mk = XdfStream("stim", "Markers", 0.0, texts, [10.5, 11, 12, 13, 19], "string")
    rows, labels = _events(write_xdf(tmp_path / "session.xdf", [eeg, mk]))
    assert [labels[int(c)] for c in rows[:, 2]] == texts
    assert rows[1:4, 2].tolist() == [11, 12, 11]
    assert {labels[int(rows[0, 2])], labels[int(rows[4, 2])]} == {"start", "stop"} and min(rows[[0, 4], 2]) > 12


@pytest.mark.parametrize(
    ("texts", "codes"),
    [
        (["2", "1", "2"], [2, 1, 2]),  # every text an integer: its value (unchanged)
        (["b", "a"], [2, 1]),  # none: 1..k over the sorted texts (unchanged, MNE's)
        (["1", "01", "x"], [2, 1, 3]),  # two texts of one value: numbered, as before
    ],
)
def test_marker_codes_unchanged_where_nothing_is_mixed(texts, codes):
    from wavegraph.nodes.io.marker_codes import codes_for

    c = codes_for(texts)
    assert [c[t] for t in texts] == codes
