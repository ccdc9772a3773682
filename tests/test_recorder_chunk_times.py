"""recorder: markers land on the samples they mark when the chunk times are not first t0 + index / rate
(a live amplifier's clock drifts against the marker stream's; a gap jumps), in FIF and EDF+, live and
after recover(); a file replay keeps its positions (one breakpoint); the map stays small for hours."""

import os
import signal
import subprocess
import sys

import mne
import numpy as np
import pytest
from fixture_drift import DriftingAmplifierParams, sample_time
from wavegraph.nodes.io.chunk_times import ChunkTimes
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

RATE = 250.0
MARKERS = [0, 1, 30, 2499, 7777, 14999, 15000, 15013, 22222, 29998]  # up to two minutes in


def record(tmp_path, name, **source) -> tuple:
    """Run drifting amplifier -> recorder (events: true) in process; (path, the recorder)."""
    params = ", ".join(f"{k}: {v}" for k, v in source.items())
    path = tmp_path / name
    graph = tmp_path / "g.yaml"
    graph.write_text(
        f"""nodes:
  - {{id: amp, type: "fixture_drift:DriftingAmplifier", params: {{markers: {MARKERS}, {params}}}}}
  - {{id: rec, type: recorder, params: {{path: "{path}", events: true}}}}
edges:
  - {{source: amp.out, target: rec.in}}
  - {{source: amp.events, target: rec.events}}
"""
    )
    g = build_graph(load_config(graph))
    assert run_graph(g, in_process=True).exit_code == 0
    return path, g.nodes["rec"]


def positions(path) -> dict[str, float]:
    """Each annotation's position in samples from the first sample (the last of a repeated label)."""
    raw = (mne.io.read_raw_edf if path.suffix == ".edf" else mne.io.read_raw_fif)(path, verbose="error")
    return {d: (o - raw.first_time) * RATE for o, d in zip(raw.annotations.onset, raw.annotations.description)}


@pytest.mark.parametrize("name", ["drift_raw.fif", "drift.edf"])
def test_markers_of_a_drifting_amplifier_land_on_their_samples(tmp_path, name):
    path, rec = record(tmp_path, name, drift=500e-6)
    pos = positions(path)
    for m in MARKERS:  # were m * (1 + 500e-6): 15 samples late two minutes in
        assert abs(pos[f"s{m}"] - m) < 0.2, (m, pos[f"s{m}"])
    raw = mne.io.read_raw_fif(path, verbose="error") if name.endswith("fif") else None
    if raw is not None:  # what a decoder's training reads: the event samples
        events, ids = mne.events_from_annotations(raw, verbose="error")
        got = {d: int(events[events[:, 2] == i, 0][0]) - raw.first_samp for d, i in ids.items()}
        assert got == {f"s{m}": m for m in MARKERS}
    assert len(rec._times.breakpoints()) == 2  # one straight line, however long


@pytest.mark.parametrize("name", ["gap_raw.fif", "gap.edf"])
def test_markers_after_a_gap_land_on_their_samples(tmp_path, name):
    gap_markers = [0.5, 0.999]  # during the 1 s the outlet paused
    path, rec = record(tmp_path, name, drift=0.0, gap_at=15000, gap_s=1.0, gap_markers=gap_markers)
    pos = positions(path)
    for m in MARKERS:  # were 250 samples late from the gap on
        assert abs(pos[f"s{m}"] - m) < 0.2, (m, pos[f"s{m}"])
    assert pos["BAD boundary"] == pos["EDGE boundary"] == 15000  # the gap's marks (MNE's)
    for s in gap_markers:  # a marker in the gap goes to the first sample after it
        assert pos[f"in gap {s}"] == pytest.approx(15000)
    assert len(rec._times.breakpoints()) == 3  # (0, t0), the last sample before the gap, the first after it


KILLED = """
import sys, time
import numpy as np
sys.path.insert(0, {tests!r})
from fixture_drift import DriftingAmplifier
from wavegraph.nodes.io.recorder import Recorder
amp = DriftingAmplifier(markers={markers}, drift=500e-6, gap_at=15000)
rec = Recorder(path={path!r}, events=True)
specs = amp.configure({{}})
rec.configure({{"in": specs["out"], "events": specs["events"]}})
while (out := amp.read()) is not None:
    rec.process({{"in": out["out"]}})
    if "events" in out:
        rec.process({{"events": out["events"]}})
print("recorded", flush=True)
time.sleep(60)
"""


def test_recover_after_a_kill_places_the_markers_as_close_does(tmp_path):
    closed, _ = record(tmp_path, "closed_raw.fif", drift=500e-6, gap_at=15000)
    path = tmp_path / "killed_raw.fif"
    script = KILLED.format(tests=os.path.dirname(__file__), markers=MARKERS, path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "recorded"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not path.exists() and (tmp_path / "killed_raw.fif.spill").exists()
    recover(path)
    pos, want = positions(path), positions(closed)
    assert pos == want
    for m in MARKERS:
        assert abs(pos[f"s{m}"] - m) < 0.2, (m, pos[f"s{m}"])


def test_a_file_replay_keeps_one_breakpoint_and_its_marker_positions():
    """t0 = index / rate as a file source stamps it: the map is one line, markers at onset - first t0."""
    times = ChunkTimes(160.0)
    for k in range(0, 9760, 32):
        times.add(2.0 + k / 160.0, 32)
    assert times.breakpoints() == [(0, 2.0)]
    onsets = np.array([2.0, 2.1234567, 17.3, 62.99, 1.999])
    assert times.seconds(onsets).tolist() == (onsets - 2.0).tolist()  # exactly


def test_the_map_stays_small_over_eight_hours_of_a_drifting_stream():
    p = DriftingAmplifierParams(rate=500.0, drift=-1000e-6, gap_at=3_600_000)  # 1000 ppm slow, a gap at 2 h
    times, n = ChunkTimes(p.rate), int(8 * 3600 * p.rate)
    starts = np.arange(0, n, 32)
    for t0 in sample_time(starts, p).tolist():
        times.add(t0, 32)
    assert len(times.kept) + 1 == len(times.breakpoints()) == 4
    k = np.array([1, 1_000_000, 3_599_999, 3_600_000, 3_600_017, n - 5])
    np.testing.assert_allclose(times.seconds(sample_time(k, p)) * p.rate, k, atol=0.1)


def test_a_real_lsl_inlet_with_drift_and_a_gap_records_markers_on_their_samples(tmp_path):
    """liblsl loopback (tests/test_lsl_drift.py's amplifier: 500 Hz, 500 ppm fast, pushes stamped up to
    1 ms late, a 1 s jump at 60 s): the inlet's fitted chunk times place each marker within 0.2 samples
    of the sample it marks (first t0 + index / rate: hundreds of samples off), with a few breakpoints."""
    from test_lsl_drift import GAP_AT, LATENCY, pull, stamps
    from test_lsl_drift import RATE as LSL_RATE
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    n = int(120 * LSL_RATE)
    true, pushed = stamps(n, np.random.default_rng(1))
    chunks = pull(n, pushed)
    marked = [5, 1000, 29999, GAP_AT, GAP_AT + 1, 45678, n - 3]
    labels = tuple((i + 1, f"s{m}") for i, m in enumerate(marked))
    path = tmp_path / "lsl_raw.fif"
    rec = Recorder(path=str(path), events=True)
    rec.configure(
        {"in": signal_spec(LSL_RATE, ["x"], "misc"), "events": StreamSpec("events", 0.0, (3,), labels=labels)}
    )
    for c in chunks:
        rec.process({"in": c})
    onsets = true[marked] + LATENCY  # the line the LSL timestamps scatter around: the stream's clock
    rec.process({"events": Chunk(np.array([[t, 0.0, i + 1.0] for i, t in enumerate(onsets)]), t0=onsets[0])})
    rec.close()
    raw = mne.io.read_raw_fif(path, verbose="error")
    got = {d: (o - raw.first_time) * LSL_RATE for o, d in zip(raw.annotations.onset, raw.annotations.description)}
    for m in marked:
        assert abs(got[f"s{m}"] - m) < 0.2, (m, got[f"s{m}"])
    times = rec._times  # measured: 6 breakpoints (the start, the gap's two, the fit's wander)
    assert times is not None and len(times.breakpoints()) <= 12


def test_chunk_times_that_go_back_take_the_first_stretch_that_holds_a_time():
    """A stream clock reset: 10 s at 100 Hz from t = 50, then 10 s from t = 45 again."""
    times = ChunkTimes(100.0)
    for k in range(0, 1000, 10):
        times.add(50.0 + k / 100.0, 10)
    for k in range(0, 1000, 10):
        times.add(45.0 + k / 100.0, 10)
    assert times.breakpoints() == [(0, 50.0), (1000, 60.0), (1000, 45.0)]  # then at the nominal rate
    got = times.seconds([52.5, 46.0, 59.0, 62.0, 44.0])  # 62 s is in neither: after the end; 44 s before it
    np.testing.assert_allclose(got, [2.5, 11.0, 9.0, 27.0, -6.0], atol=1e-9)


def test_a_chunk_without_a_finite_time_is_spanned():
    """A chunk whose t0 is NaN or inf (the in-process runner does not check it as the wire does) is counted
    and spanned by the map; it failed an assertion in the recorder's process() (and in recover)."""
    for bad in (float("nan"), float("inf")):
        times = ChunkTimes(100.0)
        times.add(5.0, 100)
        times.add(bad, 100)
        times.add(7.0, 100)
        assert times.n == 300
        np.testing.assert_allclose(times.seconds([5.5, 6.5, 7.5]), [0.5, 1.5, 2.5])
