"""The processing nodes from YAML through the in-process runner equal offline scipy on the whole signal,
and bad parameters are caught by `wavegraph validate` (configure-time SpecError)."""

import fixture_nodes  # the Collect sink
import numpy as np
from scipy import signal as ss
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.runner import run_graph

GRAPH = """\
nodes:
  - id: src
    type: eeg_sim
    params: {rate: 1000.0, duration: 2.0, chunk_size: 10, seed: 4, line_uv: 20.0}
  - id: car
    type: car
  - id: notch
    type: notch
    params: {freq: 50.0}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 40.0}
  - id: rs
    type: resample
    params: {rate: 250.0}
  - id: sink
    type: fixture_nodes:Collect
  - id: raw
    type: fixture_nodes:Collect
edges:
  - {source: src.out, target: car.in}
  - {source: car.out, target: notch.in}
  - {source: notch.out, target: bp.in}
  - {source: bp.out, target: rs.in}
  - {source: rs.out, target: sink.in}
  - {source: src.out, target: raw.in}
"""


def test_yaml_chain_equals_offline_scipy(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH)
    g = build_graph(load_config(p))
    assert run_graph(g, in_process=True).exit_code == 0
    raw, sink = g.nodes["raw"], g.nodes["sink"]
    assert isinstance(raw, fixture_nodes.Collect) and isinstance(sink, fixture_nodes.Collect)
    x = np.concatenate([c.data for c in raw.chunks if c.data.size], axis=-1)
    y = np.concatenate([c.data for c in sink.chunks if c.data.size], axis=-1)
    assert x.shape == (12, 2000)
    ref = x - x.mean(axis=0)
    ref = ss.sosfilt(np.concatenate([ss.tf2sos(*ss.iirnotch(50.0, 30.0, fs=1000.0))]), ref, axis=-1)
    ref = ss.sosfilt(ss.butter(4, [1.0, 40.0], "bandpass", output="sos", fs=1000.0), ref, axis=-1)
    rs = lookup("resample")(rate=250.0)
    assert isinstance(rs, Resample)
    rs.configure({"in": g.nodes["bp"].out_specs["out"]})
    ref = ss.upfirdn(rs.filter_taps, ref, 1, 4, axis=-1)
    np.testing.assert_allclose(y, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_validate_reports_spec_errors(tmp_path, capsys):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("{l_freq: 1.0, h_freq: 40.0}", "{l_freq: 1.0, h_freq: 600.0}"))
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "h_freq 600 Hz is outside (0, Nyquist=500 Hz)" in err and "fix:" in err
    p.write_text(GRAPH.replace("type: car", "type: pick_channels\n    params: {pick: [Cz, T9]}"))
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "unknown channel 'T9'" in err and "Fp1, Fp2, F3" in err
