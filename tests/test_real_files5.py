"""Real-file round 5: a recorder's EDF/BDF trigger channel reads back as its codes (MNE reads a stim channel's digital
values)."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest
from test_real_files3 import _replay  # pyright: ignore[reportMissingImports]
from test_real_files4 import _rises  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.api import GraphBuilder

RATE = 256
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("ext", ["bdf", "edf"])
def test_a_recorded_trigger_channel_reads_back_as_its_codes(tmp_path, ext):
    """Before: the writer gave an integer channel the physical range [its minimum, minimum + digital range], so a
    trigger channel whose lowest code is not 0 was stored as code - minimum above the digital minimum; MNE reads a BDF
    stim channel's digital values (no offset), so a 'Trigger' of codes 2 and 5 read back as 0 and 3 (MNE and
    file_source alike; mne.find_events found [60, 3], [310, 3] only). Now an integer channel's physical values are its
    digital values (gain 1, no offset) where they fit: both formats read back the codes and MNE's events, and the other
    channels keep their scale (EEG within half a step, integer counts below 0 exact)."""
    n = 2 * RATE
    codes = np.full(n, 2.0)  # a trigger channel that holds its last code (the recording starts while 2 is held)
    codes[50:60] = codes[300:310] = 5
    eeg = np.random.default_rng(5).normal(0, 20e-6, n)
    counts = np.arange(n) % 7 - 3.0  # a misc channel of integers, negative ones included
    g = GraphBuilder()
    data = np.stack([eeg, codes, counts])
    types = ["eeg", "stim", "misc"]
    source = g.add("array_source", data=data, rate=float(RATE), ch_names=["Fp1", "Trigger", "count"], ch_types=types)
    path = tmp_path / f"rec.{ext}"
    g.add("recorder", source, path=path)
    g.run()
    raw = (mne.io.read_raw_bdf if ext == "bdf" else mne.io.read_raw_edf)(path, verbose="error")
    assert raw.get_channel_types() == ["eeg", "stim", "eeg"]  # (MNE: stim by its name 'Trigger', the rest EEG)
    got = np.asarray(raw.get_data(stop=n))
    np.testing.assert_array_equal(got[1], codes)
    events = mne.find_events(  # consecutive=True: every step to a nonzero code
        raw,
        stim_channel="Trigger",
        consecutive=True,  # pyright: ignore[reportArgumentType]  # (mne's stub: a str, its default 'increasing')
        initial_event=True,
        verbose="error",
    )
    assert events[:, [0, 2]].tolist() == _rises(codes.astype(np.int64))  # [0, 2], [50, 5], [60, 2], [300, 5], [310, 2]
    np.testing.assert_array_equal(got[2], counts)
    step = (eeg.max() - eeg.min()) / (2 ** (24 if ext == "bdf" else 16) - 1)
    assert np.abs(got[0] - eeg).max() <= 0.51 * step
    _, replayed = _replay(path)
    np.testing.assert_array_equal(replayed[1], codes)
    np.testing.assert_array_equal(replayed[2], counts)
    src = FileSource(path=str(path))
    src.configure({})
    assert src.reader is not None  # (its events: mne.find_events' default, steps up only)
    ups = [[i, c] for i, c in _rises(codes.astype(np.int64)) if c > (codes[i - 1] if i else 0)]
    assert src.reader.events[:, [0, 3]].astype(int).tolist() == ups
    src.close()
