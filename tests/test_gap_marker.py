"""The recorder's mark of a gap is not a user's marker named "gap": a live-like stream with a marker "gap" (and
a real gap) recorded to FIF and EDF replays with the marker as a marker and the gap as a gap."""

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

mne = pytest.importorskip("mne")
RATE = 250.0


@pytest.mark.parametrize("name", ["live_raw.fif", "live.edf"])
def test_a_marker_named_gap_stays_a_marker_and_a_gap_stays_a_gap(tmp_path, name):
    x = np.random.default_rng(3).standard_normal((2, 3000)) * 1e-5
    labels = ((1, "gap"), (2, "left"))  # a paradigm's own "gap" condition (a pause between stimuli)
    rec = Recorder(path=str(tmp_path / name), events=True)
    rec.configure({"in": signal_spec(RATE, ["C3", "C4"]), "events": StreamSpec("events", 0.0, (3,), labels=labels)})
    t0 = 100.0  # a live clock; the outlet lost for 0.6 s after sample 1500: the chunk after it is flagged gap
    for k in range(0, 3000, 50):
        t = t0 + k / RATE + (0.6 if k >= 1500 else 0.0)
        rec.process({"in": Chunk(x[:, k : k + 50], t, gap=k == 1500)})
        if k in (400, 2000):  # the user's "gap" marker, then a "left"
            rec.process({"events": Chunk(np.array([[t + 0.1, 0.0, 1.0 if k == 400 else 2.0]]), t + 0.1)})
    rec.process({"events": Chunk(np.array([[t0 + 1000 / RATE, 0.0, 1.0]]), t0 + 1000 / RATE)})  # "gap" again
    rec.finish()
    rec.close()

    src = FileSource(path=str(tmp_path / name), chunk_size=64)
    specs = src.configure({})
    chunks, rows = [], []
    while (out := src.read()) is not None:
        chunks.append(out["out"])
        if "events" in out:
            rows.append(out["events"].data)
    src.close()
    said = dict(specs["events"].labels)
    ev = np.concatenate(rows)
    assert [said[int(c)] for c in ev[:, 2]] == ["gap", "gap", "left"]  # the user's markers, all kept
    # s from the first sample; after the gap 0.6 s later, as recorded (the chunk log the recorder keeps for it)
    np.testing.assert_allclose(ev[:, 0], [1.7, 4.0, 8.7], atol=1 / RATE)
    gaps = [c.t0 for c in chunks if c.gap]
    assert gaps == [pytest.approx(1500 / RATE + 0.6, abs=1e-9)]  # the real gap, and only it
    np.testing.assert_allclose(np.concatenate([c.data for c in chunks], axis=1), x, atol=1e-8)
    # MNE reads the recorder's gap as its own mark of a discontinuity: it rejects an epoch across it
    raw = mne.io.read_raw(tmp_path / name, verbose="error")
    assert {"BAD boundary", "EDGE boundary", "gap", "left"} <= set(raw.annotations.description)
