"""`wavegraph bench bci --data FILE`: the real-SSVEP part on a recording with frequency markers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from wavegraph.pipeline.datasets import DatasetError


def test_bench_bci_data_file_gives_table_png_and_json(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from wavegraph.benchmarks import ssvep_sim as sim
    from wavegraph.benchmarks.bci import main

    try:  # a recording with markers: real EEGMMIDB background, simulated 8/10/12/15 Hz trials, annotations in Hz
        raw = sim.calibration_raw([8.0, 10.0, 12.0, 15.0], 2, 4.0, -12.0, segment="eval", seed=3)
    except DatasetError as e:
        pytest.skip(f"data set unavailable: {e}")
    raw.save(tmp_path / "run_raw.fif", verbose="error")
    rc = main(
        ["--data", str(tmp_path / "run_raw.fif"), "--json", str(tmp_path / "r.json"), "--png", str(tmp_path / "r.png")]
    )
    assert rc == 0 and (tmp_path / "r.png").stat().st_size > 1000
    res = json.loads((tmp_path / "r.json").read_text())
    real = res["real"]
    assert real["freqs"] == [8.0, 10.0, 12.0, 15.0] and real["segments"] == 8
    rows = {r["window_s"]: r for r in real["rows"]}
    assert rows[1.0]["windows"] > 0 and rows[2.0]["accuracy"] > 0.8  # chance 0.25
    assert np.isfinite(rows[2.0]["itr_bits_min"]) and "Real SSVEP" in capsys.readouterr().out
    assert "semi" not in res


def test_bench_bci_refuses_a_recording_without_frequency_markers(tmp_path):
    import mne
    from wavegraph.benchmarks.bci import main

    raw = mne.io.RawArray(np.zeros((2, 1000)), mne.create_info(["O1", "O2"], 250.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([1.0], [1.0], ["start"]))
    raw.save(tmp_path / "x_raw.fif", verbose="error")
    assert main(["--data", str(tmp_path / "x_raw.fif"), "--png", str(tmp_path / "x.png")]) == 2


def test_jfpm_target_sets():
    from wavegraph.benchmarks import ssvep_sim as sim

    f40, p40 = sim.jfpm()  # the 40-target benchmark: 8.0..15.8 Hz in 0.2 Hz steps, phases k*pi/2
    assert np.allclose(f40, 8.0 + 0.2 * np.arange(40)) and np.allclose(p40, (np.arange(40) * np.pi / 2) % (2 * np.pi))
    f8, p8 = sim.jfpm(8)  # `bench bci --m 8`: 8..15 Hz, 1 Hz apart (resolvable by 1 s token frames)
    assert np.allclose(f8, np.arange(8.0, 16.0)) and len(set(f8.tolist())) == 8
    assert np.allclose(np.diff(f8), 1.0) and np.allclose(p8, p40[:8])
    with pytest.raises(ValueError):
        sim.jfpm(1)
