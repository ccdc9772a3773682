"""A replayed FIF/EDF recorded to FIF keeps its source's meas_date and first_samp (issue 11 §5), in
one process and in three, without changing a sample or a chunk time."""

import json

import mne
import numpy as np
import pytest
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import StreamSpec, signal_spec
from wavegraph.pipeline.wire import spec_id

GRAPH = """\
nodes:
  - id: src
    type: file_source
    params: {path: SRC, chunk_size: 37}
  - id: car
    type: car
  - id: rec
    type: recorder
    params: {path: OUT}
edges:
  - {source: src.out, target: car.in}
  - {source: car.out, target: rec.in}
processes:
  acq: [src]
  dsp: [car]
  store: [rec]
"""


def _source(kind, edf_path, tmp_path):
    """The real EEGMMIDB EDF (first_samp 0), or a FIF cut from it 10 s in (first_samp 1600)."""
    if kind == "edf":
        return edf_path
    raw = mne.io.read_raw(edf_path, preload=True, verbose="error").crop(tmin=10.0)
    path = tmp_path / "cut_raw.fif"
    raw.save(path, fmt="double", verbose="error")
    return path


@pytest.mark.parametrize("in_process", [True, False], ids=["one-process", "three-processes"])
@pytest.mark.parametrize("kind", ["edf", "fif"])
def test_recorded_fif_keeps_source_meas_date_and_first_samp(tmp_path, edf_path, kind, in_process):
    src_path = _source(kind, edf_path, tmp_path)
    src = mne.io.read_raw(src_path, preload=True, verbose="error")
    assert src.info["meas_date"] is not None and src.first_samp == (0 if kind == "edf" else 1600)
    out = tmp_path / "rec_raw.fif"
    g = tmp_path / "g.yaml"
    g.write_text(GRAPH.replace("SRC", str(src_path)).replace("OUT", str(out)))
    r = run_graph(build_graph(load_config(g)), in_process=in_process)
    assert r.exit_code == 0, r.failure
    rec = mne.io.read_raw_fif(out, preload=True, verbose="error")
    assert rec.info["meas_date"] == src.info["meas_date"]
    assert rec.first_samp == src.first_samp and rec.n_times == src.n_times
    np.testing.assert_array_equal(rec.times, src.times)
    # the samples are the offline CAR of the source's, bit for bit (nothing changed but the time origin)
    x: np.ndarray = src.get_data()  # pyright: ignore[reportAssignmentType]  # mne stub: get_data() is an array
    np.testing.assert_array_equal(rec.get_data(), x - x.mean(axis=0, keepdims=True))


def test_stream_origin_crosses_the_wire_and_leaves_other_specs_as_they_were():
    plain = signal_spec(160.0, ["C3", "C4"])
    assert "meas_date" not in plain.to_dict() and "first_time" not in plain.to_dict()  # same wire form, same id
    assert spec_id(plain) == spec_id(StreamSpec.from_dict(plain.to_dict()))
    dated = plain.evolve(meas_date="2009-08-12T16:15:00+00:00", first_time=10.0)
    back = StreamSpec.from_dict(json.loads(json.dumps(dated.to_dict())))
    assert back == dated and back.evolve(rate=80.0).first_time == 10.0  # evolve (resample) keeps it
    assert spec_id(back) != spec_id(plain)
