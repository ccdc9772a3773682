"""A FIF with acquisition skips (MNE writes a skipped data buffer as FIFF_DATA_SKIP and reads it back as zeros
under a BAD_ACQ_SKIP annotation) replays the recorded samples only: raw.get_data(reject_by_annotation="omit"),
the chunk after each skip flagged gap at its own time in the file, the skips no events."""

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.api import GraphBuilder

mne = pytest.importorskip("mne")
RATE = 250.0
SKIPS = [(5.0, 2.0), (12.0, 1.0)]  # on 1 s buffers: written as skips, not as data


@pytest.fixture(scope="module")
def skipped_fif(tmp_path_factory):
    path = tmp_path_factory.mktemp("skip") / "skip_raw.fif"
    x = np.random.default_rng(5).standard_normal((3, int(20 * RATE))) * 1e-5
    raw = mne.io.RawArray(x, mne.create_info(["C3", "Cz", "C4"], RATE, "eeg"), verbose="error")
    marks = [(2.5, "T1"), (4.9, "T2"), (7.1, "T1"), (9.0, "T2"), (15.0, "T1")]
    raw.set_annotations(
        mne.Annotations(
            [t for t, _ in marks] + [t for t, _ in SKIPS],
            [0.0] * len(marks) + [d for _, d in SKIPS],
            [d for _, d in marks] + ["BAD_ACQ_SKIP"] * len(SKIPS),
        )
    )
    raw.save(path, buffer_size_sec=1.0, verbose="error")
    back = mne.io.read_raw(path, verbose="error")
    held = back.get_data()
    for onset, dur in SKIPS:  # MNE's reader: zeros where the file skipped
        assert not held[:, int(onset * RATE) : int((onset + dur) * RATE)].any()
    return path


def replay(path, chunk_size):
    src = FileSource(path=str(path), chunk_size=chunk_size)
    specs = src.configure({})
    reads = []
    while (out := src.read()) is not None:
        reads.append(out)
    src.close()
    return specs, reads


@pytest.mark.parametrize("chunk_size", [7, 64, 4096])
def test_skips_replay_as_gaps_not_as_zeros(skipped_fif, chunk_size):
    raw = mne.io.read_raw(skipped_fif, verbose="error")
    kept = raw.get_data(reject_by_annotation="omit", verbose="error")  # MNE: the recorded samples, skips left out
    specs, reads = replay(skipped_fif, chunk_size)
    x = np.concatenate([r["out"].data for r in reads], axis=1)
    np.testing.assert_array_equal(x, kept)
    assert x.shape[1] == int((20 - sum(d for _, d in SKIPS)) * RATE)
    # each chunk at its samples' time in the file; a gap exactly where the data resumes after a skip
    file_time = np.delete(np.arange(int(20 * RATE)) / RATE, np.concatenate(
        [np.arange(int(o * RATE), int((o + d) * RATE)) for o, d in SKIPS]))  # fmt: skip
    pos, gaps = 0, []
    for r in reads:
        c = r["out"]
        assert c.t0 == file_time[pos], (pos, c.t0)
        if c.gap:
            gaps.append(c.t0)
        pos += c.data.shape[1]
    assert gaps == [o + d for o, d in SKIPS]
    # the markers, not the skips, on the file's clock, each with the chunk that holds it
    labels = dict(specs["events"].labels)
    assert "BAD_ACQ_SKIP" not in labels.values()
    rows = [(r["out"].t0, r["out"].data.shape[1], row) for r in reads if "events" in r for row in r["events"].data]
    assert [labels[int(row[2])] for *_, row in rows] == ["T1", "T2", "T1", "T2", "T1"]
    np.testing.assert_allclose([row[0] for *_, row in rows], [2.5, 4.9, 7.1, 9.0, 15.0], atol=1e-6)
    for t0, n, row in rows:
        assert t0 - 0.5 / RATE <= row[0] < t0 + n / RATE


def test_epochs_across_a_skip_are_those_mne_keeps(skipped_fif):
    """mne.Epochs drops an epoch a skip overlaps (BAD_ACQ_SKIP is a BAD_ annotation); epochs drops it as one across
    a gap: the same epochs, the same data."""
    raw = mne.io.read_raw(skipped_fif, preload=True, verbose="error")
    events, ids = mne.events_from_annotations(raw, verbose="error")
    ref = mne.Epochs(raw, events, ids, tmin=-0.2, tmax=0.5, baseline=None, preload=True, verbose="error")
    assert len(ref) == 3  # 4.9 and 7.1 reach into a skip
    g = GraphBuilder()
    src = g.add("file_source", path=str(skipped_fif), chunk_size=32)
    ep = g.add("epochs", f"{src}.out", f"{src}.events", tmin=-0.2, tmax=0.5)
    out = g.run(capture=[f"{ep}.out", f"{ep}.events"])
    np.testing.assert_allclose(out[f"{ep}.out"].data, ref.get_data(copy=True), rtol=1e-10, atol=0)
    np.testing.assert_allclose(out[f"{ep}.events"].data[:, 0], ref.events[:, 0] / RATE, atol=0.5 / RATE)
