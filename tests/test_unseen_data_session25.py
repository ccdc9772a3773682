"""Real recordings and real-world variants no earlier test replayed (session 25's unseen-data pass): epochs cut around
cues whose Raw held annotations spanning them (EEGMMIDB's T0 rest periods), ..."""

from __future__ import annotations

import logging

import numpy as np
from wavegraph.nodes.io.file_source import FileSource


def _events_of(path, **params) -> tuple[list[list[float]], dict[int, str]]:
    src = FileSource(path=str(path), chunk_size=50, **params)
    labels = dict(src.configure({})["events"].labels)
    rows = []
    while (out := src.read()) is not None:
        if "events" in out:
            rows.extend(out["events"].data.tolist())
    src.close()
    return rows, labels


def test_an_annotation_reaching_outside_its_epoch_is_replayed_limited_to_it(tmp_path, caplog):
    """Before: epochs cut around each cue of a motor-imagery run (EEGMMIDB's T0 rest, then a T1/T2 cue, 4.1 s each)
    with tmin=-1 overlap the rest period before the cue; the epochs file replayed that rest annotation at the epoch's
    first sample with its whole duration (4 s of 'rest' running 3 s into the cue's data), and a BAD_ span begun near
    an epoch's end ran on across the gap into the next epoch. Each is now the part the epoch holds, as MNE's crop
    limits an annotation: from the epoch's first sample, up to its last; said once."""
    import mne

    raw = mne.io.RawArray(np.zeros((2, 1500)), mne.create_info(["C3", "C4"], 100.0, "eeg"), verbose="error")
    raw.set_annotations(
        mne.Annotations([0.0, 4.0, 6.0, 10.0, 11.5], [4.0, 0.0, 4.0, 0.0, 2.0], ["T0", "T1", "T0", "T1", "BAD_move"])
    )
    events = np.array([[400, 0, 2], [1000, 0, 2]])  # the T1 cues
    epochs = mne.Epochs(
        raw, events, {"T1": 2}, tmin=-1.0, tmax=2.0, baseline=None, reject_by_annotation=False, verbose="error"
    )
    path = tmp_path / "mi-epo.fif"
    epochs.save(path, verbose="error")
    with caplog.at_level(logging.INFO, "wavegraph.file_source"):
        rows, labels = _events_of(path)
    got = sorted((round(onset * 100), labels[int(code)], round(duration, 3)) for onset, duration, code in rows)
    # epoch 1 holds 3..6 s of the raw, samples 0..300 of the replay; epoch 2 holds 9..12 s, samples 301..601
    assert got == [(0, "T0", 1.0), (100, "T1", 0.0), (301, "T0", 1.0), (401, "T1", 0.0), (551, "BAD_move", 0.51)]
    assert "'BAD_move', 'T0'" in caplog.text and "limited to it" in caplog.text
