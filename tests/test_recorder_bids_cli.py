"""`wavegraph run --bids ROOT` (issue 12 §1): the real EEGMMIDB EDF replayed in two processes into a BDF
recorder lands in a BIDS-EEG layout that mne-bids reads back equal to the source, with its sidecars
and the source's measurement date; a graph that cannot make one says why."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pytest
from wavegraph.pipeline.cli import main

mne_bids = pytest.importorskip("mne_bids")

GRAPH = """\
name: motor-imagery
nodes:
  - {id: src, type: file_source, params: {path: SRC, chunk_size: 64}}
  - {id: rec, type: recorder, params: {path: OUT, PARAMS}}
edges:
  - {source: src.out, target: rec.in}
processes:
  acq: [src]
  store: [rec]
"""


def _graph(tmp_path, src, out, params="subject: '01', line_freq: 60"):
    g = tmp_path / "g.yaml"
    g.write_text(GRAPH.replace("SRC", str(src)).replace("OUT", str(out)).replace("PARAMS", params))
    return str(g)


@pytest.fixture(scope="module")
def layout(tmp_path_factory, edf_path):
    """One run of the graph with --bids: (the BIDS root, the recorder's own folder)."""
    tmp = tmp_path_factory.mktemp("bids_run")
    assert main(["run", _graph(tmp, edf_path, tmp / "rec.bdf"), "--bids", str(tmp / "bids")]) == 0
    return tmp / "bids", tmp


def test_run_with_bids_root_writes_a_layout_mne_bids_reads_back(layout, edf_path):
    root, tmp = layout
    bp = mne_bids.BIDSPath(subject="01", task="motorimagery", root=root, datatype="eeg")  # task: the graph's name
    back = mne_bids.read_raw_bids(bp, verbose="error")
    ref = mne.io.read_raw_edf(edf_path, preload=True, verbose="error")
    x: np.ndarray = ref.get_data()  # pyright: ignore[reportAssignmentType]  # mne stub: get_data() is an array
    y: np.ndarray = back.get_data()  # pyright: ignore[reportAssignmentType]
    assert back.ch_names == ref.ch_names and back.info["sfreq"] == 160.0 and back.info["line_freq"] == 60
    step = (x.max(1) - x.min(1)) / (2**24 - 1)  # BDF: 24 bits over each channel's range
    assert y.shape == (64, 9760) and np.all(np.abs(y - x).max(1) <= 0.51 * step)  # 61 whole one-second records
    assert back.info["meas_date"] == ref.info["meas_date"]  # the source's start, through the BDF header
    eeg = root / "sub-01/eeg"
    for sidecar in ("dataset_description.json", "participants.tsv", "sub-01/sub-01_scans.tsv"):
        assert (root / sidecar).exists(), sidecar
    for part in ("channels.tsv", "eeg.json", "eeg.bdf"):
        assert (eeg / f"sub-01_task-motorimagery_{part}").exists(), part
    scans = next(csv.DictReader(open(root / "sub-01/sub-01_scans.tsv"), delimiter="\t"))
    assert scans["acq_time"].startswith(ref.info["meas_date"].strftime("%Y-%m-%dT%H:%M:%S"))
    assert (tmp / "rec.bdf").exists()  # the recorder's own file stays where the graph put it


VALIDATOR = Path(sys.executable).with_name("bids-validator-deno")  # pip install 'wavegraph[bids]'


@pytest.mark.skipif(not VALIDATOR.exists(), reason="the BIDS validator (bids-validator-deno) is not installed")
def test_the_bids_validator_finds_no_error(layout):
    """The official validator (the deno build, offline: its schema is bundled): warnings only (keys
    that are RECOMMENDED, such as the EEG reference and cap maker, which a stream does not know)."""
    out = subprocess.run([str(VALIDATOR), str(layout[0]), "--format", "json"], capture_output=True, timeout=120)
    issues = json.loads(out.stdout)["issues"]["issues"]
    assert issues and not [i for i in issues if i["severity"] == "error"], issues
    assert out.returncode == 0


@pytest.mark.parametrize(
    "out, params, said",
    [
        ("rec.bdf", "line_freq: 50", "needs a subject"),
        ("rec_raw.fif", "subject: '01'", "no recorder writes EDF or BDF"),
    ],
)
def test_run_with_bids_says_what_is_missing(tmp_path, edf_path, capsys, out, params, said):
    g = _graph(tmp_path, edf_path, tmp_path / out, params)
    assert main(["run", g, "--bids", str(tmp_path / "bids")]) == 2
    err = capsys.readouterr().err
    assert said in err and "fix:" in err, err
    assert not (tmp_path / "bids").exists() and not (tmp_path / out).exists()


def test_overwrite_true_replaces_a_bids_run(tmp_path):
    """`overwrite: true` replaces the run in the layout too (mne-bids was told never to overwrite)."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"))
    bids = dict(bids_root=str(tmp_path / "bids"), subject="01", task="rest", overwrite=True)
    for level in (1e-5, 3e-5):
        rec = Recorder(path=str(tmp_path / "rec.edf"), **bids)
        rec.configure({"in": spec})
        rec.process({"in": Chunk(np.full((2, 200), level), 0.0)})
        rec.close()
    bp = mne_bids.BIDSPath(subject="01", task="rest", root=tmp_path / "bids", datatype="eeg")
    y: np.ndarray = mne_bids.read_raw_bids(bp, verbose="error").get_data()  # pyright: ignore[reportAssignmentType]
    np.testing.assert_allclose(y, 3e-5, rtol=1e-4)  # the second recording (EDF: within 16-bit steps)
