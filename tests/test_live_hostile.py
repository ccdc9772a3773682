"""The live BCI path (configs/bci_ssvep.yaml, lsl_inlet) against what a lab's amplifier and stimulus
program really send, over real liblsl outlets on loopback: each test here failed before its fix."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import re  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_live_lsl import one_stream_per_name  # noqa: E402, F401  # pyright: ignore[reportMissingImports]
from wavegraph.pipeline.config import load_config  # noqa: E402
from wavegraph.pipeline.graph import build_graph  # noqa: E402
from wavegraph.pipeline.runner import run_graph  # noqa: E402

pylsl = pytest.importorskip("pylsl")
mne = pytest.importorskip("mne")

RATE = 250.0
CHANNELS = ["O1", "Oz", "O2", "PO3", "POz", "PO4", "PO7", "PO8", "Cz"]


def uname(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # never resolve a stream left over by another test


def amplifier(name, fmt=pylsl.cf_float32):
    info = pylsl.StreamInfo(name, "EEG", len(CHANNELS), RATE, fmt, name)
    info.set_channel_labels(CHANNELS)
    return pylsl.StreamOutlet(info)


def run_live_session(tmp_path, markers, seconds=4.0, overrides=(), config=ROOT / "configs" / "bci_ssvep.yaml"):
    """configs/bci_ssvep.yaml against an amplifier outlet (`seconds` of noise, pushed as fast as the
    graph takes it) and a stimulus marker outlet sending `markers` [(sample index, text)]. The EEG inlet
    ends at its last sample (max_samples); the marker inlet at a last marker one minute on (duration),
    so no outlet has to vanish (liblsl drops what an inlet had not pulled yet when one does)."""
    n = int(seconds * RATE)
    eeg_name, stim_name = uname("amp"), uname("stimulus")
    eeg = amplifier(eeg_name)
    stim = pylsl.StreamOutlet(pylsl.StreamInfo(stim_name, "Markers", 1, 0.0, pylsl.cf_string, stim_name))
    rec_path = tmp_path / "session_raw.fif"
    graph = build_graph(
        load_config(
            config,
            [
                f"eeg.name={eeg_name}",
                f"markers.name={stim_name}",
                f"decisions.name={uname('decisions')}",
                f"rec.path={rec_path}",
                f"rec_decisions.path={tmp_path / 'decisions.csv'}",
                f"eeg.max_samples={n}",
                "markers.duration=30.0",
                "markers.marker_duration=1.0",
                *overrides,
            ],
        )
    )
    x = (np.random.default_rng(0).standard_normal((n, len(CHANNELS))) * 1e-5).astype(np.float32)
    t_first = pylsl.local_clock() + 1.0

    def feed():
        assert eeg.wait_for_consumers(60.0) and stim.wait_for_consumers(60.0)
        for k, text in markers:
            stim.push_sample([text], t_first + k / RATE)
        stim.push_sample(["end"], t_first + 60.0)  # past markers.duration: ends the marker inlet
        ts = t_first + np.arange(n) / RATE
        for k in range(0, n, 25):
            eeg.push_chunk(x[k : k + 25], list(ts[k : k + 25]))

    th = threading.Thread(target=feed)
    th.start()
    result = run_graph(graph, in_process="processes" not in config.read_text())
    th.join()
    assert result.exit_code == 0, result.failure
    return result, mne.io.read_raw_fif(rec_path, preload=True, verbose="error"), x, t_first


def test_frequency_markers_as_docs_bci_sends_them_are_recorded(tmp_path):
    """docs/bci.md: the stimulus program's marker text is the target frequency ("7.5"), and the
    calibration recording holds one annotation per marker with that text (what `wavegraph train ssvep`
    reads). The shipped config dropped every non-integer frequency as an unknown marker."""
    result, raw, x, t_first = run_live_session(tmp_path, [(250, "7.5"), (500, "6"), (750, "7.5")])
    np.testing.assert_array_equal(raw.get_data(), x.T.astype(np.float64))
    assert list(raw.annotations.description) == ["7.5", "6", "7.5"]
    np.testing.assert_allclose(raw.annotations.onset - raw.first_time, [1.0, 2.0, 3.0], atol=2 / RATE)
    assert "unknown_marker" not in result.stats["markers"]["counters"]


def _marker_inlet():
    """A string marker outlet and an lsl_inlet connected to it: (outlet, inlet)."""
    from wavegraph.nodes.io.lsl import LslInlet

    name = uname("stimulus")
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))
    node = LslInlet(name=name, clock_sync=False, wait=0.2)
    node.configure({})
    assert node.read() == {}  # opens the stream
    assert outlet.wait_for_consumers(30.0)
    return outlet, node


def test_an_unknown_marker_is_logged_once_while_the_session_runs(caplog):
    """A dropped marker was only a counter in the end-of-run summary: too late for a calibration run."""
    outlet, node = _marker_inlet()
    for text in ["left", "left", "3", "left"]:
        outlet.push_sample([text])
    rows, t_end = [], time.monotonic() + 30.0
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        while not rows and time.monotonic() < t_end:
            r = node.read()
            if r:
                rows.append(r["out"].data)
        time.sleep(0.5)
        node.read()
    node.close()
    assert np.concatenate(rows)[:, 2].tolist() == [3.0] and node.counters["unknown_marker"] == 3
    warned = [r.getMessage() for r in caplog.records if "'left'" in r.getMessage()]
    assert len(warned) == 1 and "marker_codes" in warned[0] and node.params.name in warned[0]


def test_a_repeated_channel_label_does_not_cost_the_other_channels_their_names():
    """Amplifiers label unused or auxiliary inputs alike ("AUX", "AUX"): the inlet renamed every channel
    ch0, ch1, ... then, so the decoder found none of O1, Oz, ... ("not in the stream"). Now only the
    repeated labels get a suffix (MNE's rule: AUX-0, AUX-1), also past a label that already has it."""
    from wavegraph.nodes.io.lsl import LslInlet

    name = uname("amp")
    labels = [*CHANNELS[:8], "AUX", "AUX", "AUX-0", ""]
    info = pylsl.StreamInfo(name, "EEG", len(labels), RATE, pylsl.cf_float32, name)
    info.set_channel_labels(labels)
    outlet = pylsl.StreamOutlet(info)  # noqa: F841 — alive while the inlet reads its description
    node = LslInlet(name=name, resolve_timeout=30.0)
    spec = node.configure({})["out"]
    node.close()
    assert spec.channel_names == (*CHANNELS[:8], "AUX-1", "AUX-2", "AUX-0", "ch11")
    assert node.counters["duplicate_channel_labels"] == 1


def _pull_everything(node, n, limit_s=60.0):
    chunks, t_end = [], time.monotonic() + limit_s
    while time.monotonic() < t_end:
        r = node.read()
        if r is None:
            return chunks
        if r:
            chunks.append(r["out"])
    raise AssertionError(f"the inlet did not end ({sum(c.data.shape[1] for c in chunks)} of {n} samples)")


@pytest.mark.parametrize("true_rate", [500.0, RATE * (1 + 1e-3)])
def test_a_stream_far_off_its_nominal_rate_is_reported(caplog, true_rate):
    """An amplifier app that declares 250 Hz but sends 500 Hz (or an outlet that comes back at another
    rate under the same source id, `recover: true`): everything downstream took the samples as 250 Hz
    (the decoder's frequencies halved, the recording's rate wrong) without a word. The timestamp fit
    knows the real period: beyond 5 % off the nominal one the inlet warns (rate_off_nominal); a clock
    drift (1000 ppm here) stays quiet."""
    from wavegraph.nodes.io.lsl import LslInlet

    name, n = uname("amp"), int(8 * true_rate)
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, RATE, pylsl.cf_float32, name))
    node = LslInlet(name=name, max_samples=n, chunk_size=256, clock_sync=False, resolve_timeout=30.0)
    node.configure({})
    assert node.read() == {}  # opens the stream

    def feed():
        assert outlet.wait_for_consumers(30.0)
        ts = pylsl.local_clock() + np.arange(n) / true_rate
        x = np.arange(n, dtype=np.float32)[:, None]
        for k in range(0, n, 100):
            outlet.push_chunk(x[k : k + 100], list(ts[k : k + 100]))

    th = threading.Thread(target=feed)
    th.start()
    with caplog.at_level("WARNING", logger="wavegraph.lsl"):
        chunks = _pull_everything(node, n)
    th.join()
    node.close()
    assert sum(c.data.shape[1] for c in chunks) == n
    warned = [r.getMessage() for r in caplog.records if "nominal" in r.getMessage()]
    if true_rate == 500.0:
        said = re.search(r"about (\d+) Hz", warned[0]) if len(warned) == 1 else None
        # the rate fitted to the timestamps as they arrive: 499 or 501 on a loaded machine
        assert said and abs(int(said.group(1)) - 500) <= 5 and "250 Hz" in warned[0], warned
        assert node.counters["rate_off_nominal"] == 1
    else:
        assert warned == [] and "rate_off_nominal" not in node.counters


def test_the_run_ends_with_the_amplifier_while_the_stimulus_program_goes_on(tmp_path):
    """configs/bci_ssvep.yaml and docs/bci.md: the run ends when the amplifier's stream ends (its outlet
    goes away, eeg.duration, here eeg.max_samples). With the stimulus program still running (its
    outlet alive, as between blocks) the marker inlet kept the run going until it was killed."""
    n = int(2 * RATE)
    eeg_name, stim_name = uname("amp"), uname("stimulus")
    eeg = amplifier(eeg_name)
    stim = [pylsl.StreamOutlet(pylsl.StreamInfo(stim_name, "Markers", 1, 0.0, pylsl.cf_string, stim_name))]
    graph = build_graph(
        load_config(
            ROOT / "configs" / "bci_ssvep.yaml",
            [
                f"eeg.name={eeg_name}",
                f"markers.name={stim_name}",
                f"decisions.name={uname('decisions')}",
                f"rec.path={tmp_path / 'session_raw.fif'}",
                f"rec_decisions.path={tmp_path / 'decisions.csv'}",
                f"eeg.max_samples={n}",
            ],
        )
    )
    t_first = pylsl.local_clock() + 1.0
    x = np.zeros((n, len(CHANNELS)), dtype=np.float32)

    def feed():
        assert eeg.wait_for_consumers(60.0) and stim[0].wait_for_consumers(60.0)
        stim[0].push_sample(["6"], t_first + 0.5)
        eeg.push_chunk(x, list(t_first + np.arange(n) / RATE))

    results = []
    th = threading.Thread(target=feed)
    run = threading.Thread(target=lambda: results.append(run_graph(graph, in_process=True)), daemon=True)
    th.start()
    run.start()
    run.join(90.0)  # generous: a loaded 2-core machine; the run itself needs a few seconds
    ended_by_itself = not run.is_alive()
    stim.clear()  # the stimulus program exits: ends the run if it was still going
    run.join(60.0)
    th.join()
    assert ended_by_itself, "the run went on after the amplifier's stream ended"
    assert results and results[0].exit_code == 0, results and results[0].failure
    raw = mne.io.read_raw_fif(tmp_path / "session_raw.fif", verbose="error")
    assert raw.n_times == n and list(raw.annotations.description) == ["6"]


def test_markers_sharing_a_timestamp_are_not_counted_as_going_back():
    """A stimulus program often sends two markers for one event ("trial", "7.5") with the same
    timestamp: both are kept, and that is not a clock fault (non_monotonic counted them; a signal's
    samples must increase, markers need not). A marker stamped earlier than the one before still counts."""
    from wavegraph.nodes.io.lsl import LslInlet

    name = uname("stimulus")
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))
    node = LslInlet(name=name, clock_sync=False, wait=0.2, marker_codes={"7.5": 75})
    node.configure({})
    assert node.read() == {}  # opens the stream
    assert outlet.wait_for_consumers(30.0)
    t = pylsl.local_clock()
    for text, ts in [("1", t), ("7.5", t), ("2", t + 1.0), ("3", t + 1.0), ("4", t + 0.5)]:
        outlet.push_sample([text], ts)
    rows, t_end = [], time.monotonic() + 30.0
    while sum(len(r) for r in rows) < 5 and time.monotonic() < t_end:
        r = node.read()
        if r:
            rows.append(r["out"].data)
    node.close()
    got = np.concatenate(rows)
    np.testing.assert_allclose(got[:, 0], [t, t, t + 1.0, t + 1.0, t + 0.5], atol=1e-9)
    assert got[:, 2].tolist() == [1.0, 75.0, 2.0, 3.0, 4.0]
    assert node.counters.get("non_monotonic") == 1  # only 4, stamped before 3


def test_inlets_in_their_own_process_as_docs_bci_suggests(tmp_path):
    """docs/bci.md: `processes: {acquisition: [eeg, markers]}` keeps slow consumers from delaying
    acquisition. The markers then reach the recorder over ZeroMQ as read-only arrays, and the recorder
    wrote into them (durations): every marker failed it ('assignment destination is read-only'), the run
    exited 1 with a few chunks of EEG and no annotation."""
    config = tmp_path / "bci_ssvep_acquisition.yaml"
    config.write_text((ROOT / "configs" / "bci_ssvep.yaml").read_text() + "processes:\n  acquisition: [eeg, markers]\n")
    result, raw, x, _ = run_live_session(tmp_path, [(250, "7.5"), (500, "6")], seconds=3.0, config=config)
    assert result.processes["eeg"] == result.processes["markers"] == "acquisition"
    np.testing.assert_array_equal(raw.get_data(), x.T.astype(np.float64))
    assert list(raw.annotations.description) == ["7.5", "6"]


def test_only_plain_decimal_integers_are_their_own_code():
    """Python's int() also reads "1_2" (12) and non-ASCII digits ("٣", 3): a stimulus program's label
    "1_2" (block 1, target 2) was recorded as marker 12. Such texts are unknown markers now (logged)."""
    outlet, node = _marker_inlet()
    for text in ["1_2", "\u0663", "+5", " 4 ", "-7", "12"]:
        outlet.push_sample([text])
    rows, t_end = [], time.monotonic() + 30.0
    while sum(len(r) for r in rows) < 4 and time.monotonic() < t_end:
        r = node.read()
        if r:
            rows.append(r["out"].data)
    node.close()
    assert np.concatenate(rows)[:, 2].tolist() == [5.0, 4.0, -7.0, 12.0]
    assert node.counters["unknown_marker"] == 2


def test_recover_on_a_recording_that_was_finished_anyway(tmp_path, capsys):
    """SIGKILL of a live run whose recorder is in a worker (processes: {acquisition: [eeg, markers]}):
    the worker sees its parent die and finalises the file itself. `wavegraph recover`, as docs/bci.md
    says to run after a kill, then failed (exit 1, 'no spill file: nothing to recover') on the
    complete FIF, as if the data were lost; a complete WAV or CSV already passed. A missing file still fails."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.nodes.io.recover import recover_main
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    path = tmp_path / "calib01_raw.fif"
    rec = Recorder(path=str(path))
    rec.configure({"in": signal_spec(RATE, CHANNELS)})
    rec.process({"in": Chunk(np.ones((len(CHANNELS), 50)), t0=100.0)})
    rec.close()
    before = path.read_bytes()
    assert recover_main([str(path)]) == 0
    assert path.read_bytes() == before and str(path) in capsys.readouterr().out
    assert recover_main([str(tmp_path / "none_raw.fif")]) == 1


@pytest.mark.parametrize("fmt", [pylsl.cf_float32, pylsl.cf_int16])
def test_an_amplifier_in_microvolts_is_recorded_in_volts_as_its_xdf_replay_is(fmt):
    """Amplifier apps send microvolts (unit 'microvolts' in desc/channels; int16 counts of 1 uV too).
    The inlet passed the numbers on unscaled, so the FIF (MNE: volts) held EEG a million times too
    large, while the same session recorded by LabRecorder and replayed from .xdf is scaled to volts
    (docs/bci.md: 'the same FIF'). Now the inlet scales uV and mV to V as the XDF reader does."""
    from wavegraph.nodes.io.lsl import LslInlet

    name, n = uname("amp"), 200
    info = pylsl.StreamInfo(name, "EEG", 3, RATE, fmt, name)
    info.set_channel_labels(["O1", "Oz", "STI"])
    info.set_channel_units(["microvolts", "uV", "mV"])
    outlet = pylsl.StreamOutlet(info)
    node = LslInlet(name=name, max_samples=n, resolve_timeout=30.0)
    spec = node.configure({})["out"]
    assert spec.units == "V" and spec.dtype == ("float32" if fmt == pylsl.cf_float32 else "float64")
    assert node.read() == {}  # opens the stream
    x = (np.arange(3 * n).reshape(n, 3) % 100 - 50).astype(np.float32 if fmt == pylsl.cf_float32 else np.int16)

    def feed():
        assert outlet.wait_for_consumers(30.0)
        outlet.push_chunk(x)

    th = threading.Thread(target=feed)
    th.start()
    got = np.concatenate([c.data for c in _pull_everything(node, n)], axis=1)
    th.join()
    node.close()
    np.testing.assert_allclose(got, x.T * np.array([[1e-6], [1e-6], [1e-3]]), rtol=1e-6)


def test_channels_the_amplifier_types_as_no_eeg_are_not_eeg():
    """An EEG stream with accelerometer and trigger channels (types 'ACC', 'TRIGGER' in desc/channels,
    not MNE types): the inlet gave them the stream's type, eeg, so the FIF recorded the accelerometer as
    EEG (and `wavegraph train ssvep` used it), while the XDF replay of the same stream calls them misc.
    Now the XDF rule: a declared type that is no MNE type is misc; only a channel without one takes the
    stream's type."""
    from wavegraph.nodes.io.lsl import LslInlet

    name = uname("amp")
    info = pylsl.StreamInfo(name, "EEG", 5, RATE, pylsl.cf_float32, name)
    info.set_channel_labels(["O1", "Oz", "ACC_X", "TRIG", "O2"])
    info.set_channel_types(["EEG", "eeg", "ACC", "TRIGGER", ""])
    outlet = pylsl.StreamOutlet(info)  # noqa: F841 — alive while the inlet reads its description
    node = LslInlet(name=name, resolve_timeout=30.0)
    spec = node.configure({})["out"]
    node.close()
    assert spec.channel_types == ("eeg", "eeg", "misc", "misc", "eeg")


def test_the_average_reference_leaves_out_a_trigger_channel_of_the_amplifier():
    """configs/bci_ssvep.yaml re-references with `car` over every channel: an amplifier's trigger (or
    accelerometer) channel in its EEG stream went into the average, so each trigger step (codes in the
    hundreds) was subtracted from every EEG channel. By default car now leaves channels typed stim or
    misc (what the inlet makes of 'TRIGGER', 'ACC') out of the average and passes them through unchanged
    (a trigger keeps its codes, as MNE's set_eeg_reference leaves stim channels)."""
    from wavegraph.nodes.dsp.channels import CAR
    from wavegraph.nodes.io.lsl import LslInlet
    from wavegraph.pipeline.chunk import Chunk

    name = uname("amp")
    info = pylsl.StreamInfo(name, "EEG", 4, RATE, pylsl.cf_float32, name)
    info.set_channel_labels(["O1", "Oz", "O2", "TRIG"])
    info.set_channel_types(["EEG", "EEG", "EEG", "TRIGGER"])
    outlet = pylsl.StreamOutlet(info)  # noqa: F841 — alive while the inlet reads its description
    inlet = LslInlet(name=name, resolve_timeout=30.0)
    spec = inlet.configure({})["out"]
    inlet.close()
    car = CAR()
    car.configure({"in": spec})
    x = np.zeros((4, 6), dtype=np.float32)
    x[:3] = [[1.0], [2.0], [3.0]]
    x[3, 3:] = 255.0  # a trigger step
    y = car.process({"in": Chunk(x, t0=0.0)})["out"].data
    np.testing.assert_allclose(y[:3], np.repeat([[-1.0], [0.0], [1.0]], 6, axis=1))
    np.testing.assert_array_equal(y[3], x[3])  # was x[3] - 2.0: the code 255 became 253
