"""Session 43's probe of what the recorder writes, through real readers (MNE, mne-bids) and file_source's replay."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec


def _replay(path):
    src = FileSource(path=str(path))
    spec = src.configure({})["out"]
    data = []
    while (out := src.read()) is not None:
        if "out" in out:
            data.append(out["out"].data)
    src.close()
    return spec, np.concatenate(data, axis=-1)


def test_a_bool_stream_recorded_to_csv_replays_as_0_and_1(tmp_path):
    """A bool stream (a detector's on/off) to .csv was written as Python's 'True'/'False': numpy.loadtxt and
    file_source refused the recorder's own file ('column 'a' is 'False', not a number'). Now 0 and 1."""
    spec = StreamSpec("signal", 100.0, (2,), "bool", ("a", "b"), ("misc", "misc"))
    x = np.arange(600).reshape(2, 300) % 3 == 0
    rec = Recorder(path=str(tmp_path / "on.csv"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(x[:, :150], 0.0)})
    rec.process({"in": Chunk(x[:, 150:], 1.5)})
    rec.finish()
    rec.close()
    rows = list(csv.reader((tmp_path / "on.csv").open()))
    assert rows[0] == ["t", "a", "b"] and rows[1][1:] == ["1", "1"] and rows[2][1:] == ["0", "0"]
    _, y = _replay(tmp_path / "on.csv")
    np.testing.assert_array_equal(y, x.astype(np.float64))


def test_the_bids_copys_acq_time_keeps_the_fraction_of_a_second(tmp_path):
    """A recording whose first sample is at 03:04:05.5: the EDF holds 03:04:05 in its header and +0.5 in its first
    time-keeping annotation (EDF+), which MNE leaves out of meas_date; scans.tsv's acq_time, which mne-bids writes to
    the microsecond from meas_date, said 03:04:05.000000, half a second before the first sample (BIDS: acq_time is
    when the first data point was acquired)."""
    mne_bids = pytest.importorskip("mne_bids")
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), meas_date="2020-01-02T03:04:05Z")
    bids = {"bids_root": str(tmp_path / "bids"), "subject": "01", "task": "rest"}
    rec = Recorder(path=str(tmp_path / "r.edf"), events=True, **bids)
    rec.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,), labels=((1, "go"),))})
    rec.process({"in": Chunk(np.random.default_rng(0).normal(0, 1e-5, (2, 300)), 0.5)})
    rec.process({"events": Chunk(np.array([[1.5, 0.0, 1]]), 0.0)})
    rec.finish()
    rec.close()
    scans = next((tmp_path / "bids").rglob("*_scans.tsv")).read_text().splitlines()
    assert scans[1].split("\t")[1] == "2020-01-02T03:04:05.500000Z"
    bp = mne_bids.BIDSPath(subject="01", task="rest", root=tmp_path / "bids", datatype="eeg")
    raw = mne_bids.read_raw_bids(bp, verbose="error")
    assert raw.info["meas_date"] == datetime(2020, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert list(zip(raw.annotations.onset, raw.annotations.description)) == [(1.0, "go")]  # 1 s after the first sample


def _record(path, spec, data):
    """`data` recorded to `path` in one chunk at t0 0, the recorder closed; the path."""
    rec = Recorder(path=str(path))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(data, 0.0)})
    rec.finish()
    rec.close()
    return path


def _edf_reader(path):
    import mne

    return (mne.io.read_raw_bdf if path.suffix == ".bdf" else mne.io.read_raw_edf)(path, verbose="error")


def _pyedflib_opens(path) -> bool | None:
    """Whether pyedflib (edflib: EDFbrowser's reader) opens the file; None where it is not installed."""
    try:
        import pyedflib
    except ImportError:
        return None
    try:
        pyedflib.EdfReader(str(path)).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("ext", ["edf", "bdf"])
@pytest.mark.parametrize("year", [1980, 1924])
def test_an_edf_dated_before_1985_keeps_digits_in_its_header_date(tmp_path, ext, year):
    """A recording dated before 1985 (an old recording replayed; mne-bids' anonymised dates, shifted to the 1920s):
    the header's dd.mm.yy held 'yy', which EDF+ gives only to years after 2084; edflib (pyedflib, EDFbrowser) refused
    the whole file ('the startdate is incorrect'). Now the year's last two digits: EDF+
    readers (MNE, edflib, file_source) take the four-digit year from the recording field's Startdate."""
    spec = StreamSpec(
        "signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"), meas_date=f"{year}-03-04T05:06:07+00:00"
    )
    path = _record(tmp_path / f"old.{ext}", spec, np.random.default_rng(1).normal(0, 1e-5, (2, 300)))
    head = path.read_bytes()[:256].decode("latin-1")  # (a BDF starts with 0xFF)
    assert head[88:109] == f"Startdate 04-MAR-{year}" and head[168:184] == f"04.03.{year % 100:02d}05.06.07"
    when = datetime(year, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert _edf_reader(path).info["meas_date"] == when
    spec_back, _ = _replay(path)
    assert datetime.fromisoformat(spec_back.meas_date) == when
    if year >= 1970:  # (edflib refuses an EDF+ Startdate before 1970 whatever the header holds)
        assert _pyedflib_opens(path) in (None, True)


@pytest.mark.parametrize("ext", ["edf", "bdf"])
def test_edf_channel_names_are_written_in_ascii(tmp_path, ext, caplog):
    """EDF's header is US-ASCII (bytes 32..126); a name such as 'Fp1ü' was written in Latin-1 (byte 0xFC), and edflib
    (pyedflib, EDFbrowser) refused the whole file ('not EDF(+) or BDF(+) compliant (label)'). Now its letter without
    the accent (Fp1u), '?' for a character with no ASCII letter (脑电1 as ??1, as before), said at configure."""
    spec = StreamSpec("signal", 100.0, (3,), "float64", ("Fp1ü", "Øz", "脑电1"), ("eeg",) * 3)
    path = _record(tmp_path / f"u.{ext}", spec, np.random.default_rng(2).normal(0, 1e-5, (3, 300)))
    n_header = 256 * 5  # 3 channels and the annotations'
    assert all(32 <= b <= 126 for b in path.read_bytes()[1 if ext == "bdf" else 0 : n_header])
    assert _edf_reader(path).ch_names == ["Fp1u", "?z", "??1"]
    assert "'Fp1ü' -> 'Fp1u'" in caplog.text and "'Øz' -> '?z'" in caplog.text
    assert _pyedflib_opens(path) in (None, True)


def test_an_edf_whose_one_second_record_is_too_large_for_edflib_takes_shorter_records(tmp_path):
    """128 channels at 44100 Hz: a one-second EDF record is 11.3 MB, past edflib's 10 MiB (pyedflib, EDFbrowser),
    which refused the whole file ('not EDF(+) or BDF(+) compliant (Sample in Datarecord)'). Now records of 0.5 s
    (22050 samples), which MNE reads as it did: the rate, the samples, the padding to the record's end."""
    n_ch, rate = 128, 44100.0
    spec = StreamSpec("signal", rate, (n_ch,), "float64", tuple(f"E{i}" for i in range(n_ch)), ("eeg",) * n_ch)
    x = np.random.default_rng(4).normal(0, 1e-5, (n_ch, 100))
    rec = Recorder(path=str(tmp_path / "big.edf"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(x, 0.0)})
    rec.finish()
    rec.close()
    path = tmp_path / "big.edf"
    head = path.read_bytes()[: 256 * (n_ch + 2)]
    assert head[236:252] == b"1       0.5     "  # one record of 0.5 s
    spr = int(head[256 + (n_ch + 1) * 216 : 256 + (n_ch + 1) * 216 + 8])
    assert spr == 22050 and spr * n_ch * 2 <= 10 << 20
    raw = _edf_reader(path)
    assert raw.info["sfreq"] == rate and raw.n_times == 22050
    step = (x.max(1) - x.min(1)) / 65535
    assert np.all(np.abs(raw.get_data()[:, :100] - x).max(1) <= 0.51 * step + 1e-12)
    assert [(round(o, 6), d) for o, d in zip(raw.annotations.onset, raw.annotations.description)] == [
        (round(100 / rate, 6), "padding")
    ]
    assert _pyedflib_opens(path) in (None, True)
