"""Two leftovers of a review of session 22's changes: GraphBuilder.add silenced the whole process's logging while it
built a node to learn its ports, and a replay of a drifting XDF lowered the user's chunk_size saying it at INFO only."""

from __future__ import annotations

import logging

import numpy as np
import pytest

# --- a drifting XDF replayed: the chunk_size the user set, lowered, is said at WARNING ------------------------------


def _drifting_xdf(tmp_path, actual: float = 251.25):
    """2000 samples of a 250 Hz (nominal) stream stamped at `actual` Hz (0.5 % fast), one marker."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    n = 2000
    t = 500.0 + np.arange(n) / actual
    data = np.zeros((n, 2))
    marker = XdfStream("mk", "Markers", 0.0, ["1"], [t[300]], "string")
    eeg = XdfStream("amp", "EEG", 250.0, data, t, "double64", ["a", "b"], "EEG", "")
    return write_xdf(tmp_path / "drift.xdf", [eeg, marker])


@pytest.mark.parametrize("given", [{"chunk_size": 500}, {"chunk_duration": 2.0}])
def test_a_chunk_size_the_user_set_lowered_for_a_drifting_stream_is_warned(tmp_path, caplog, given):
    """A 0.5 % fast XDF stream replayed with chunk_size 500 ran in chunks of 100, said at INFO only: the user's chunks
    changed without a warning. It is a WARNING now, with the size used, why, and how to keep one's own."""
    from wavegraph.nodes.io.file_source import FileSource

    node = FileSource(path=str(_drifting_xdf(tmp_path)), **given)
    with caplog.at_level(logging.INFO, logger="wavegraph.file_source"):
        node.configure({})
    said = [r for r in caplog.records if "nominal rate" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING, [(r.levelname, r.getMessage()) for r in said]
    text = said[0].getMessage()
    assert f"chunks of {node.chunk_size} samples" in text and "500" in text, text
    assert f"chunk_size: {node.chunk_size}" in text, text  # how to have the chunks one asks for


def test_a_chunk_size_within_the_drift_cap_is_not_warned(tmp_path, caplog):
    """Asked within what the drift allows, the chunk_size is kept and nothing is said."""
    from wavegraph.nodes.io.file_source import FileSource

    node = FileSource(path=str(_drifting_xdf(tmp_path)), chunk_size=50)
    with caplog.at_level(logging.INFO, logger="wavegraph.file_source"):
        node.configure({})
    assert node.chunk_size == 50
    assert not [r for r in caplog.records if "nominal rate" in r.getMessage()]
