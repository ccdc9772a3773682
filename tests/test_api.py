"""Graphs from Python: build or load, run, get the streams back in memory; same data as a recorder."""

import numpy as np
import pytest
import scipy.signal
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.config import GraphError


def test_build_run_and_capture_equals_offline_filtering():
    g = GraphBuilder()
    src = g.add("sine", rate=200.0, channels=2, freq=[5.0, 30.0], duration=3.0, chunk_size=17)
    lp = g.add("lowpass", src, freq=10.0, order=4)
    out = g.run(capture=[src, lp])
    x, y = out[f"{src}.out"], out[f"{lp}.out"]
    assert x.data.shape == y.data.shape == (2, 600)
    np.testing.assert_allclose(x.times, np.arange(600) / 200.0)
    sos = scipy.signal.butter(4, 10.0, "lowpass", fs=200.0, output="sos")
    np.testing.assert_allclose(y.data, scipy.signal.sosfilt(sos, x.data, axis=-1), rtol=1e-10, atol=1e-12)
    assert y.spec.rate == 200.0 and y.gaps == []


def test_load_yaml_and_capture_matches_the_recording(tmp_path, edf_path):
    rec = tmp_path / "r.npz"
    g = GraphBuilder.from_yaml("configs/default.yaml", [f"src.path={edf_path}", f"rec.path={rec}"])
    out = g.run(capture=["bp.out", "src.events"])
    np.testing.assert_array_equal(out["bp.out"].data, np.load(rec)["data"])
    assert out["bp.out"].data.shape[0] == 64
    events = out["src.events"]
    assert events.spec.kind == "events" and len(events.times) > 0 and np.all(np.diff(events.times) >= 0)


def test_errors_are_graph_errors_naming_the_fix():
    g = GraphBuilder()
    src = g.add("sine", rate=100.0)
    with pytest.raises(GraphError, match="unknown type 'bandpas'.*did you mean 'bandpass'"):
        g.add("bandpas", src, l_freq=1.0)
        g.run()
    g = GraphBuilder()
    src = g.add("sine", rate=100.0)
    g.add("bandpass", src, l_freq=1.0, h_freq=80.0)  # above Nyquist
    with pytest.raises(GraphError, match="Nyquist"):
        g.run()
    with pytest.raises(ValueError, match="in_process"):
        GraphBuilder().run(capture=["x"], in_process=False)
