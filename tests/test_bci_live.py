"""configs/bci_ssvep.yaml live on loopback LSL: the real ssvepy SSVEP recording (6 Hz) is published by an
EEG outlet with its epoch markers on a stimulus marker outlet (benchmarks/bci_live.py, at 8x real time);
the decisions arrive on the decision marker stream, the EEG and markers are recorded. And the replay
variant, configs/bci_ssvep_replay.yaml, on the whole recording."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from wavegraph.pipeline.config import load_config  # noqa: E402
from wavegraph.pipeline.graph import build_graph  # noqa: E402
from wavegraph.pipeline.runner import run_graph  # noqa: E402

mne = pytest.importorskip("mne")
pytest.importorskip("pylsl")


def read_decisions(path):
    """(onset, label) of every row of a recorder's events CSV."""
    lines = Path(path).read_text().splitlines()[1:]
    return [(float(line.split(",")[0]), line.split(",")[3]) for line in lines]


def test_live_session_decides_6hz_and_records_eeg_with_markers(tmp_path):
    from wavegraph.benchmarks.bci_live import run_session

    s = run_session(tmp_path, n_epochs=2, speed=8.0, in_process=True, overrides=["markers.marker_duration=16.0"])
    assert s.result is not None
    assert s.result.exit_code == 0, s.result.failure
    decided = read_decisions(s.decisions_csv)
    n_windows = int((s.x.shape[1] / s.rate - 2.0) / 0.5) + 1
    assert len(decided) == n_windows  # one decision per 2 s window every 0.5 s, none lost in the graph
    assert sum(label == "6" for _, label in decided) >= 0.9 * len(decided)  # real SSVEP at 6 Hz
    np.testing.assert_allclose([t for t, _ in decided], s.t_first + 0.5 * np.arange(n_windows), atol=1e-6)
    # What the stimulus program receives: the same decisions, stamped with their window start.
    # every one: the decision outlet is published when the run opens it, before its first decision
    assert len(s.decisions) == n_windows, "the stimulus program missed decisions"
    table = {round(t, 6): label for t, label in decided}
    assert all(table[round(ts, 6)] == m for m, ts, _ in s.decisions)
    lat = s.latencies_ms(2.0)
    assert len(lat) == len(s.decisions) and (lat > 0).all()  # never before the window's last sample
    # The recording: every pushed sample, bit-exact, and the stimulus markers as annotations.
    rec = mne.io.read_raw_fif(s.rec_path, preload=True, verbose="error")
    np.testing.assert_array_equal(rec.get_data(), s.x)
    assert abs(rec.first_samp - s.t_first * s.rate) <= 1.0  # on the LSL clock
    ann = [(o - rec.first_time, d) for o, d in zip(rec.annotations.onset, rec.annotations.description)]
    assert [d for _, d in ann] == [m for _, m in s.markers]
    # the trial length given to LSL markers; MNE cuts an annotation that runs past the last sample, as the last
    # trial here may by a sample or two when its marker's time stamp lands between samples (15.9921875 once in CI)
    np.testing.assert_allclose(rec.annotations.duration, [16.0, 16.0], atol=2.5 / s.rate)
    # within a sample: the markers fall exactly on sample times, and a live stream's chunk times are a fit of its
    # LSL stamps, so a marker can land on the sample either side (16.0 came out 15.99609375 once in three runs)
    np.testing.assert_allclose([o for o, _ in ann], [t - s.t_first for t, _ in s.markers], atol=1.5 / s.rate)


def test_replay_variant_on_the_whole_recording(tmp_path):
    rec_path, csv_path = tmp_path / "replay_raw.fif", tmp_path / "decisions.csv"
    graph = build_graph(
        load_config(
            ROOT / "configs" / "bci_ssvep_replay.yaml",
            [f"rec.path={rec_path}", f"rec_decisions.path={csv_path}", f"decisions.name=replay-{uuid.uuid4().hex[:8]}"],
        )
    )
    r = run_graph(graph, in_process=True)
    assert r.exit_code == 0, r.failure
    decided = read_decisions(csv_path)
    assert len(decided) == 16 * (int((16.0 - 2.0) / 0.5) + 1)  # windows restart at each epoch (a gap)
    share = sum(label == "6" for _, label in decided) / len(decided)
    assert share >= 0.9, share
    ann = mne.io.read_raw_fif(rec_path, verbose="error").annotations
    markers = [d for d in ann.description if d not in ("BAD boundary", "EDGE boundary")]  # the gaps' marks
    assert len(markers) == 16 and markers[0] == "101"


@pytest.mark.usefixtures("one_torch_thread")  # the 2-core box: OpenMP threads oversubscribe it
def test_live_session_with_a_dnn_ensemble_calibrated_on_the_user(tmp_path):
    """`bench bci-live --dnn`, small: `wavegraph train ssvep` on a calibration run (semi-synthetic on real EEGMMIDB
    background) writes a 3-model ensemble; configs/bci_ssvep_dnn.yaml then decides once per stimulus marker of a
    new live run, stamped with the marker's time, after the window's last sample."""
    from wavegraph.benchmarks.bci_live import DNN_CONFIG, DNN_FREQS, dnn_session_inputs, run_session
    from wavegraph.models import ssvep_dnn

    # one calibration block (8 trials: 6 to fit, 2 held out): what follows checks the decisions, not their accuracy
    ckpt, recording, spans = dnn_session_inputs(tmp_path, blocks=1, online_blocks=1, steps=3)
    model = ssvep_dnn.load(ckpt)[0]
    assert isinstance(model, ssvep_dnn.SSVEPEnsemble) and len(model.members) == 3
    overrides = [f"decoder.checkpoint={ckpt}", "notch.harmonics=1"]
    s = run_session(tmp_path, speed=8.0, in_process=True, overrides=overrides, recording=recording, config=DNN_CONFIG)
    assert s.result is not None
    assert s.result.exit_code == 0, s.result.failure
    decided = read_decisions(s.decisions_csv)
    assert len(decided) == len(spans) == 8  # one decision per trial marker, none lost
    np.testing.assert_allclose([t - s.t_first for t, _ in decided], [a for a, _, _ in spans], atol=1.5 / s.rate)
    assert {label for _, label in decided} <= {f"{f:g}" for f in DNN_FREQS}
    table = {round(t, 6): label for t, label in decided}  # what the stimulus program got: every decision
    assert sorted((round(ts, 6), m) for m, ts, _ in s.decisions) == sorted(table.items())
    cfg = model.cfg
    span = (round(cfg.delay * cfg.rate) + cfg.n_samples + ssvep_dnn.decision_crops(cfg)) / cfg.rate
    assert (s.latencies_ms(span) > 0).all()  # never before the window's last sample
