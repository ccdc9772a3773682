"""The recorder's files carry when the recording started (issue 12 §1): EDF/BDF headers and FIF's
meas_date, from the stream's own date (a replayed file's) or, for a live or synthetic stream, from the
wall clock when its first chunk left the source; the same after recover()."""

import time
from datetime import UTC, datetime, timedelta

import mne
import numpy as np
import pytest
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

RATE = 200.0
DATED = "2009-08-12T16:15:00+00:00"


def _spec(**origin) -> StreamSpec:
    return StreamSpec("signal", RATE, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), **origin)


def _read(path):
    reader = {".edf": mne.io.read_raw_edf, ".bdf": mne.io.read_raw_bdf}.get(path.suffix, mne.io.read_raw_fif)
    return reader(path, verbose="error")


def _record(path, spec, t0=0.0, origin_ns=0, close=True, events=None):
    x = np.random.default_rng(5).normal(0, 1e-5, (2, 500))
    rec = Recorder(path=str(path), events=events is not None)
    rec.configure({"in": spec} | ({"events": StreamSpec("events", 0.0, (3,))} if events is not None else {}))
    for k in range(0, 500, 100):
        rec.process({"in": Chunk(x[:, k : k + 100], t0 + k / RATE, origin_ns=origin_ns if k == 0 else 0)})
    if events is not None:
        rec.process({"events": Chunk(np.array(events, dtype=np.float64), 0.0)})
    rec.finish()
    if close:
        rec.close()
    return rec


@pytest.mark.parametrize("suffix", [".edf", ".bdf", "_raw.fif"])
def test_a_replayed_streams_date_is_kept(tmp_path, suffix):
    """Stream time 2.5 s of a source whose sample 0 is 10 s after 16:15:00: the first sample is at
    16:15:12.5. FIF keeps meas_date and first_samp; EDF/BDF hold 16:15:12 in the header and +0.5 in the
    first time-keeping annotation (EDF+), which MNE reads as meas_date 16:15:12 with the markers in place."""
    path = tmp_path / f"rec{suffix}"
    _record(
        path,
        _spec(meas_date=DATED, first_time=10.0),
        t0=2.5,
        events=None if suffix.endswith("fif") else [[3.5, 0.0, 7]],
    )
    raw = _read(path)
    if suffix.endswith("fif"):
        assert raw.info["meas_date"] == datetime.fromisoformat(DATED) and raw.first_samp == 2500
        return
    assert raw.info["meas_date"] == datetime(2009, 8, 12, 16, 15, 12, tzinfo=UTC)
    head = path.read_bytes()[:256].decode("latin-1")
    assert head[88:109] == "Startdate 12-AUG-2009" and head[168:184] == "12.08.0916.15.12"
    body = path.read_bytes()
    assert b"+0.500000\x14\x14\x00" in body  # the fraction of a second, EDF+'s way
    onsets = dict(zip(raw.annotations.description, raw.annotations.onset))
    assert onsets["7"] == pytest.approx(1.0)  # the marker at stream time 3.5 s is 1 s after the first sample


@pytest.mark.parametrize("suffix", [".edf", "_raw.fif"])
def test_a_live_stream_is_dated_by_the_wall_clock_when_its_first_chunk_left_the_source(tmp_path, suffix):
    """No date in the spec (a live or synthetic stream): the first chunk left its source 3 s before the
    recorder got it, at stream time 1.0 s. Recorded without close(), then recover()ed: the date is in
    the spill's header."""
    path = tmp_path / f"live{suffix}"
    before = datetime.now(UTC) - timedelta(seconds=3)
    rec = _record(path, _spec(), t0=1.0, origin_ns=time.monotonic_ns() - 3_000_000_000, close=False)
    after = datetime.now(UTC) - timedelta(seconds=3)
    rec._file.flush()
    raw = _read(recover(path))
    first = raw.info["meas_date"] + timedelta(seconds=raw.first_samp / RATE)  # the first sample's time
    if suffix == ".edf":
        assert raw.first_samp == 0
        assert before.replace(microsecond=0) <= first <= after  # EDF's header: whole seconds
    else:
        assert raw.first_samp == 200 and before <= first <= after + timedelta(milliseconds=1)
