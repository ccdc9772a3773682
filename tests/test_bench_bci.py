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


def test_token_decoder_training_windows_at_offsets():
    """The token decoder's fit and calibration windows: one window per offset of each trial, cut from the same
    trial (a 1 s window at +0.5 s overlaps the one at 0 by 0.5 s sample for sample), labels repeated; the default
    offsets give the stage-1 DNNs' training set."""
    from wavegraph.benchmarks import ssvep_sim as sim
    from wavegraph.benchmarks.bci import _offset_windows
    from wavegraph.benchmarks.train_ssvep import global_training_set

    try:
        _, _, x, y = global_training_set(1.0, n_subjects=1, n_blocks=1, m=8, raw=True, offsets=(0.0, 0.5))
        _, _, x1, y1 = global_training_set(1.0, n_subjects=1, n_blocks=1, m=8, raw=True)
    except DatasetError as e:
        pytest.skip(f"data set unavailable: {e}")
    assert x.shape == (16, 9, 160) and x1.shape == (8, 9, 160)
    np.testing.assert_array_equal(y, np.tile(y1, 2))
    np.testing.assert_array_equal(x[:8, :, 80:], x[8:, :, :80])
    assert not np.array_equal(x[:8], x[8:])
    trials = np.random.default_rng(0).normal(size=(3, 2, int((sim.PRE_S + sim.DELAY_S + sim.DELAY_S + 2.0) * 160)))
    w, labels = _offset_windows(trials, np.array([0, 1, 2]), 160.0, 1.0)  # offsets 0, 0.5, 1 s fit in 2 s
    assert w.shape == (9, 2, 160)
    np.testing.assert_array_equal(labels, [0, 1, 2] * 3)
    np.testing.assert_array_equal(w[6:], sim.window(trials[..., 160:], 160.0, 1.0))
    assert _offset_windows(trials, np.array([0, 1, 2]), 160.0, 2.0)[0].shape == (3, 2, 320)  # only offset 0 fits


def test_calibration_trials_last_calib_s_and_evaluation_trials_stay_as_they_were():
    """The bench's calibration trials last CALIB_S (5 s, the 40-target benchmark dataset's trials) after the onset,
    which gives the DNN's stage 2 more stimulus-locked windows per trial; the evaluation trials (all FBCCA sees) and
    the labels do not change; calib_s=None gives the calibration trials of the bench before."""
    from wavegraph.benchmarks import ssvep_sim as sim
    from wavegraph.benchmarks.bci import CALIB_S, _subjects
    from wavegraph.models.ssvep import FBCCA
    from wavegraph.models.ssvep_dnn import stimulus_locked_windows

    try:
        bg = sim.load_background("eegmmidb-s001r02")
    except DatasetError as e:
        pytest.skip(f"data set unavailable: {e}")
    freqs, phases = sim.jfpm(8)
    fb = FBCCA(list(freqs), bg.rate)
    args = (bg, freqs, phases, [-10.0], 1, 1.0, fb, sim.JITTER, 1)
    new, old = _subjects(*args)[0], _subjects(*args, calib_s=None)[0]
    assert CALIB_S == 5.0
    n_pre = int(round(sim.PRE_S * bg.rate))
    assert new["calib"][0].shape[-1] == n_pre + int(round(CALIB_S * bg.rate))  # 1 s before + 5 s of stimulation
    assert old["calib"][0].shape[-1] == n_pre + int(round((sim.DELAY_S + 2.0) * bg.rate))  # as the evaluation trials
    np.testing.assert_array_equal(new["calib"][2], old["calib"][2])
    np.testing.assert_array_equal(new["eval"][-10.0][0], old["eval"][-10.0][0])
    assert new["eval"][-10.0][0].shape == old["eval"][-10.0][0].shape
    start = int(round((sim.PRE_S + sim.DELAY_S) * bg.rate))
    counts = [
        len(stimulus_locked_windows(c["calib"][1], c["calib"][2], freqs, bg.rate, start, 160, 40)[1])
        for c in (new, old)
    ]
    assert counts[0] > 2.5 * counts[1]  # 8-15 Hz: 31-41 windows per trial instead of 9-16


def test_ssvep_dev_inputs_carried_to_a_machine_without_mne_are_the_same(tmp_path, monkeypatch):
    """ssvep_dev_carry: the backgrounds and electrode positions exported here and installed where mne is missing
    give ssvep_sim the same data, so the same simulated subjects and trials."""
    import sys

    from wavegraph.benchmarks import ssvep_dev_carry as carry
    from wavegraph.benchmarks import ssvep_sim as sim

    try:
        want = {name: sim.load_background(name) for name in sim.BACKGROUNDS}
    except DatasetError as e:
        pytest.skip(f"data set unavailable: {e}")
    subject = sim.make_subject(200)
    carry.export(str(tmp_path / "inputs.npz"))
    monkeypatch.setattr(sim, "load_background", sim.load_background)  # restored after the test
    monkeypatch.setattr(sim, "_positions", sim._positions)
    monkeypatch.setitem(sys.modules, "mne", None)  # as on that machine: importing mne fails
    carry.install(str(tmp_path / "inputs.npz"))
    for name, bg in want.items():
        got = sim.load_background(name)
        np.testing.assert_array_equal(got.data, bg.data)
        assert (got.rate, got.channels, got.band_power) == (bg.rate, bg.channels, bg.band_power)
        assert got.segment("eval").shape == bg.segment("eval").shape
    again = sim.make_subject(200)  # the topography comes from the carried positions
    np.testing.assert_array_equal(again.topo, subject.topo)
    np.testing.assert_array_equal(again.theta, subject.theta)
