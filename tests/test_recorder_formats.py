"""recorder: constant memory at close, EDF/BDF with annotations, signals to CSV, MNE naming, run names, recover."""

import json
import subprocess
import sys

import mne
import numpy as np
import pytest
from wavegraph.nodes.io.recorder import Recorder, next_run_name
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

# A child process records MB megabytes of 64-channel float64 through the recorder to each format,
# reporting its peak RSS (ru_maxrss) after a small warm-up recording and after each big one.
_CHILD = r"""
import json, resource, sys
import numpy as np
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

folder, mb, formats = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
spec = StreamSpec("signal", 1000.0, (64,), "float64", tuple(f"E{i}" for i in range(64)), ("eeg",) * 64)
def chunk(k, n=1000):  # deterministic, cheap: sample index + channel offset
    return np.add.outer(np.arange(64) * 1e-6, (k * n + np.arange(n, dtype=np.float64)) * 1e-9)  # volts
def record(path, n_chunks):
    rec = Recorder(path=path)
    rec.configure({"in": spec})
    for k in range(n_chunks):
        rec.process({"in": Chunk(chunk(k), k / 1.0)})
    rec.finish()
    rec.close()
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
for fmt in formats:
    record(f"{folder}/warm.{fmt}", 3)  # imports and first allocations
report = {"warm": peak()}
n_chunks = int(mb * 2**20 / (64 * 1000 * 8))
for fmt in formats:
    record(f"{folder}/big.{fmt}", n_chunks)
    report[fmt] = peak()
report["n_chunks"] = n_chunks
print(json.dumps(report))
"""


def _record_in_child(folder, mb, fmt):
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder), str(mb), fmt], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.splitlines()[-1])
    assert r[fmt] - r["warm"] < 0.15 * mb, (fmt, r)  # the old path held the whole recording (>= 200 MB)
    (folder / f"warm.{fmt}").unlink()
    return r["n_chunks"] * 1000


def test_memory_stays_flat_while_recording_200_mb(tmp_path):
    """200 MB per format through the recorder; the peak RSS grows by far less than the data size,
    and the files equal the input. One format at a time, each file deleted once checked: at most ~400 MB of disk at
    once (a format's 200 MB spill and the file made from it, until the spill goes; 358 MB sampled here), was ~675 MB
    (the 200 MB FIF and NPZ kept while the BDF was made from its spill)."""
    mb = 200
    ch = np.arange(64)[:, None] * 1e-6
    n = _record_in_child(tmp_path, mb, "raw.fif")
    raw = mne.io.read_raw_fif(tmp_path / "big.raw.fif", verbose="error")
    assert raw.n_times == n and raw.first_samp == 0
    for start in (0, n // 2, n - 1000):
        want = ch + np.arange(start, start + 1000, dtype=np.float64) * 1e-9
        np.testing.assert_array_equal(raw.get_data(start=start, stop=start + 1000), want)
    del raw
    (tmp_path / "big.raw.fif").unlink()
    n = _record_in_child(tmp_path, mb, "npz")
    with np.load(tmp_path / "big.npz") as npz:
        got, want = npz["data"], ch + np.arange(n, dtype=np.float64) * 1e-9
    # exact equality, as np.testing.assert_array_equal checks it (which takes ~1.6 s on 200 MB, this ~0.2 s)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype)
    assert np.array_equal(got, want), f"first difference at {np.argwhere(got != want)[0]}"
    del got, want
    (tmp_path / "big.npz").unlink()
    n = _record_in_child(tmp_path, mb, "bdf")
    bdf = mne.io.read_raw_bdf(tmp_path / "big.bdf", verbose="error").get_data(stop=n)
    step = n * 1e-9 / (2**24 - 1)  # each channel spans n nV
    assert np.abs(bdf - (ch + np.arange(n) * 1e-9)).max() <= 0.51 * step * 1.01  # its range is rounded to 8 characters
    (tmp_path / "big.bdf").unlink()


def _eeg_spec(n_ch=3, rate=200.0, dtype="float64"):
    return StreamSpec("signal", rate, (n_ch,), dtype, tuple(f"C{i}" for i in range(n_ch)), ("eeg",) * n_ch)


def _record(rec, x, chunk=70, t0=0.0, gap_at=None, spec=None):
    rec.configure({"in": spec or _eeg_spec(x.shape[0])})
    for k in range(0, x.shape[1], chunk):
        rec.process({"in": Chunk(x[:, k : k + chunk], t0 + k / 200.0, gap=(k == gap_at))})
    rec.finish()
    return rec


@pytest.mark.parametrize("ext, bits", [("edf", 16), ("bdf", 24)])
def test_edf_bdf_equal_the_input_within_half_a_step_with_annotations(tmp_path, ext, bits):
    x = np.random.default_rng(3).normal(0, 20e-6, (3, 1234))
    ev = StreamSpec("events", 0.0, (3,), labels=((1, "left"), (2, "right")))
    rec = Recorder(path=str(tmp_path / f"s.{ext}"), events=True)
    rec.configure({"in": _eeg_spec(), "events": ev})
    for k in range(0, 1234, 100):
        rec.process({"in": Chunk(x[:, k : k + 100], 2.0 + k / 200.0, gap=(k == 600))})
    rec.process({"events": Chunk(np.array([[3.0, 0.5, 1], [4.5, 0.0, 2]]), 0.0)})
    rec.finish()
    rec.close()
    raw = (mne.io.read_raw_bdf if ext == "bdf" else mne.io.read_raw_edf)(tmp_path / f"s.{ext}", verbose="error")
    y: np.ndarray = raw.get_data()  # pyright: ignore[reportAssignmentType]  # mne stub: get_data() is an array
    assert y.shape == (3, 1400)  # 7 one-second records; the last padded
    step = (x.max(1) - x.min(1)) / (2**bits - 1)
    assert np.all(np.abs(y[:, :1234] - x).max(1) <= 0.51 * step + 1e-12)
    assert raw.ch_names == ["C0", "C1", "C2"]
    ann = {
        (d, round(o, 4), round(du, 4))
        for o, du, d in zip(raw.annotations.onset, raw.annotations.duration, raw.annotations.description)
    }
    gap = {("BAD boundary", 3.0, 0.0), ("EDGE boundary", 3.0, 0.0)}
    assert ann == gap | {("left", 1.0, 0.5), ("right", 2.5, 0.0), ("padding", 6.17, 0.83)}
    assert not list(tmp_path.glob("*.spill*"))


def test_signals_to_csv(tmp_path):
    x = np.arange(12, dtype=np.float64).reshape(2, 6)
    _record(Recorder(path=str(tmp_path / "sig.csv")), x, chunk=4, t0=1.0, spec=_eeg_spec(2)).close()
    back = np.genfromtxt(tmp_path / "sig.csv", delimiter=",", names=True)
    assert back.dtype.names == ("t", "C0", "C1")
    np.testing.assert_allclose(back["t"], 1.0 + np.arange(6) / 200.0)
    np.testing.assert_array_equal(np.stack([back["C0"], back["C1"]]), x)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sig.csv"]  # the chunk log is opt-in (chunk_log: true)


def test_fif_name_mne_wants_and_split_files(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 40000))
    rec = Recorder(path=str(tmp_path / "x.fif"), split_size="2MB")
    assert rec.path.name == "x_raw.fif"  # accepted with a warning, written under MNE's name
    _record(rec, x, chunk=1000, spec=_eeg_spec(8)).close()
    parts = sorted(p.name for p in tmp_path.glob("*.fif"))
    assert parts[-1] == "x_raw.fif" and parts[:2] == ["x_raw-1.fif", "x_raw-2.fif"], parts  # as MNE names them
    back = mne.io.read_raw_fif(tmp_path / "x_raw.fif", verbose="error").get_data()
    np.testing.assert_array_equal(back, x)


def test_refuses_to_overwrite_and_offers_the_next_run(tmp_path):
    (tmp_path / "default_raw.fif").write_bytes(b"x")
    (tmp_path / "default_run-02_raw.fif").write_bytes(b"x")
    assert next_run_name(tmp_path / "default_raw.fif").name == "default_run-03_raw.fif"
    assert next_run_name(tmp_path / "s_run-07.npz").name == "s_run-08.npz"
    assert next_run_name(tmp_path / "a.wav").name == "a_run-02.wav"
    with pytest.raises(SpecError) as e:
        Recorder(path=str(tmp_path / "default_raw.fif")).configure({"in": _eeg_spec()})
    assert "default_run-03_raw.fif" in e.value.hint


@pytest.mark.parametrize("name", ["died.edf", "died.npz", "died_raw.fif", "died.wav", "died.csv"])
def test_recover_covers_every_format(tmp_path, name):
    x = np.random.default_rng(1).normal(0, 1e-5, (3, 700))
    rec = _record(Recorder(path=str(tmp_path / name)), x, chunk=100)  # no close(): the process "died"
    rec._file.flush()
    out = recover(tmp_path / name)
    assert out == tmp_path / name and out.exists() and not list(tmp_path.glob("*.spill*"))
    if name.endswith(".npz"):
        np.testing.assert_array_equal(np.load(out)["data"], x)
    elif name.endswith(".fif"):
        np.testing.assert_array_equal(mne.io.read_raw_fif(out, verbose="error").get_data(), x)
    elif name.endswith(".edf"):
        y = mne.io.read_raw_edf(out, verbose="error").get_data()[:, :700]  # pyright: ignore[reportCallIssue, reportArgumentType]  # mne stub: get_data() is an array
        assert np.abs(y - x).max() <= (x.max() - x.min()) / 65535
    elif name.endswith(".wav"):
        import soundfile as sf

        np.testing.assert_array_equal(sf.read(out)[0].T, x)
    else:
        assert np.genfromtxt(out, delimiter=",", skip_header=1).shape == (700, 4)


def test_bids_layout_written_at_close_reads_back_with_mne_bids(tmp_path):
    mne_bids = pytest.importorskip("mne_bids")
    x = np.random.default_rng(2).normal(0, 1e-5, (3, 800))
    params = dict(bids_root=str(tmp_path / "bids"), subject="01", session="a", task="rest", run=1, line_freq=50.0)
    rec = Recorder(path=str(tmp_path / "rec.bdf"), **params)
    _record(rec, x, chunk=100, gap_at=300).close()
    bp = mne_bids.BIDSPath(subject="01", session="a", task="rest", run=1, root=tmp_path / "bids", datatype="eeg")
    assert rec.bids_file == tmp_path / "bids/sub-01/ses-a/eeg/sub-01_ses-a_task-rest_run-1_eeg.bdf"
    back = mne_bids.read_raw_bids(bp, verbose="error")
    assert back.ch_names == ["C0", "C1", "C2"] and back.info["line_freq"] == 50.0
    step = (x.max(1) - x.min(1)) / (2**24 - 1)
    assert np.all(np.abs(back.get_data()[:, :800] - x).max(1) <= 0.51 * step + 1e-15)
    assert "BAD boundary" in back.annotations.description  # events.tsv from the annotations
    for sidecar in (
        "dataset_description.json",
        "participants.tsv",
        "sub-01/ses-a/sub-01_ses-a_scans.tsv",
        "sub-01/ses-a/eeg/sub-01_ses-a_task-rest_run-1_channels.tsv",
        "sub-01/ses-a/eeg/sub-01_ses-a_task-rest_run-1_eeg.json",
        "sub-01/ses-a/eeg/sub-01_ses-a_task-rest_run-1_events.tsv",
    ):
        assert (tmp_path / "bids" / sidecar).exists(), sidecar
    again = Recorder(path=str(tmp_path / "rec2.bdf"), **params)
    with pytest.raises(SpecError, match="already exists") as e:
        again.configure({"in": _eeg_spec()})
    assert "run: 2" in e.value.hint
    for bad, hint in ((dict(subject="01"), "bids_root"), (dict(params, path=str(tmp_path / "r_raw.fif")), ".bdf")):
        with pytest.raises(SpecError) as e:
            Recorder(**{"path": str(tmp_path / "r.bdf"), **bad}).configure({"in": _eeg_spec()})
        assert hint in e.value.hint, e.value
