"""brainflow_source (nodes/io/brainflow_source.py): an amplifier read through BrainFlow's BoardShim, tested with the real
library on its SYNTHETIC_BOARD and PLAYBACK_FILE_BOARD (both run offline)."""

import numpy as np
import pytest
from conftest import ROOT
from wavegraph.pipeline.api import GraphBuilder, RunFailed
from wavegraph.pipeline.cli import main as cli
from wavegraph.pipeline.spec import SpecError

pytest.importorskip("brainflow")

from wavegraph.nodes.io.brainflow_source import BrainFlowSource, import_brainflow  # noqa: E402

bs = import_brainflow()
SYNTH = int(bs.BoardIds.SYNTHETIC_BOARD.value)


def _read_all(node):
    chunks = []
    while (out := node.read()) is not None:
        if out:
            chunks.append(out["out"])
    return chunks


def _board_free() -> bool:
    """Whether a session of the synthetic board can be prepared now (BrainFlow refuses a second one while one is;
    only where none should be: the probe's __del__ would release the one that is)."""
    board = bs.BoardShim(SYNTH, bs.BrainFlowInputParams())
    try:
        board.prepare_session()
    except bs.BrainFlowError:
        return False
    board.release_session()
    return True


def test_spec_is_the_board_description_without_opening_it():
    """Rate, names, types and units from BoardShim's static description; a Cyton on a port that does not exist is
    described all the same (configure never opens the device)."""
    node = BrainFlowSource(board="SYNTHETIC_BOARD", channels=["eeg", "emg", "accel"])
    spec = node.configure({})["out"]
    eeg = bs.BoardShim.get_eeg_names(SYNTH)
    assert spec.rate == bs.BoardShim.get_sampling_rate(SYNTH) == 250
    # the synthetic board's EMG rows are its EEG rows: taken once, as EEG
    assert spec.channel_names == (*eeg, "accel_x", "accel_y", "accel_z")
    assert spec.channel_types == ("eeg",) * len(eeg) + ("misc",) * 3 and spec.units == ""
    assert BrainFlowSource(board="synthetic").configure({})["out"].units == "V"
    cyton = BrainFlowSource(board="CYTON_BOARD", serial_port="/dev/ttyNOWHERE0").configure({})["out"]
    assert cyton.channel_names == tuple(bs.BoardShim.get_eeg_names(int(bs.BoardIds.CYTON_BOARD.value)))
    assert cyton.rate == 250 and cyton.channel_types == ("eeg",) * 8
    ganglion = BrainFlowSource(board=1).configure({})["out"]  # GANGLION_BOARD by id: no EEG names, numbered
    assert ganglion.channel_names == ("EEG1", "EEG2", "EEG3", "EEG4") and ganglion.rate == 200


def test_a_short_run_gives_volts_at_the_rate_on_increasing_times_and_releases_the_board():
    from wavegraph.nodes.io.lsl_info import import_pylsl

    clock = import_pylsl().local_clock
    node = BrainFlowSource(board="SYNTHETIC_BOARD", chunk_size=10, duration=0.2)
    node.configure({})
    # a BoardShim of the same board and connection sees the node's session (kept until the node closed: BrainFlow's
    # BoardShim.__del__ releases a prepared session of its board and connection, the node's too)
    probe = bs.BoardShim(SYNTH, bs.BrainFlowInputParams())
    before = clock()
    node.open()
    assert probe.is_prepared()  # the session is held while the node runs
    chunks = _read_all(node)
    after = clock()
    node.close()
    assert not probe.is_prepared() and _board_free()  # and released at close
    del probe
    x = np.concatenate([c.data for c in chunks], axis=1)
    assert x.shape == (16, 50) and not any(c.gap for c in chunks)
    # BrainFlow's synthetic EEG is tens of microvolts: in volts, MNE's unit
    assert 1e-7 < np.abs(x).max() < 1e-3
    t0 = np.array([c.t0 for c in chunks])
    assert np.all(np.diff(t0) > 0) and before - 1.0 < t0[0] and t0[-1] < after  # on the LSL clock
    node.close()  # twice is fine


def test_the_yaml_example_validates_and_runs_into_a_recording(tmp_path, capsys):
    import mne

    path = ROOT / "configs" / "brainflow_synthetic.yaml"
    assert cli(["validate", str(path)]) == 0
    rec = tmp_path / "bf_raw.fif"
    g = GraphBuilder.from_yaml(path, ["src.duration=0.2", "src.chunk_size=10", f"rec.path={rec}"])
    out = g.run(capture=["src.out"])
    s = out["src.out"]
    assert s.data.shape == (16, 50) and np.all(np.diff(s.times) > 0)
    raw = mne.io.read_raw_fif(rec, verbose="error")
    assert raw.info["sfreq"] == 250 and raw.n_times == 50
    assert raw.ch_names == bs.BoardShim.get_eeg_names(SYNTH)
    assert _board_free()


def test_a_node_failing_downstream_still_releases_the_board(tmp_path):
    """The runtime closes the node after a failure, which releases the session (the graph, and so the node and its
    BoardShim, still alive: not BrainFlow's __del__)."""
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    path = tmp_path / "g.yaml"
    path.write_text(
        "name: g\nnodes:\n  - {id: amp, type: brainflow_source, params: {chunk_size: 10, duration: 0.2}}\n"
        "  - {id: boom, type: 'fixture_nodes:CumSum', params: {crash_at: 1}}\n"
        "edges:\n  - {source: amp.out, target: boom.in}\n"
    )
    graph = build_graph(load_config(path))
    probe = bs.BoardShim(SYNTH, bs.BrainFlowInputParams())
    result = run_graph(graph, in_process=True)
    assert result.failure and "boom" in str(result.failure)
    assert not probe.is_prepared()
    del probe
    assert _board_free()


def test_a_board_name_brainflow_does_not_have_lists_close_names(tmp_path, capsys):
    path = tmp_path / "g.yaml"
    path.write_text(
        "name: g\nnodes:\n  - id: amp\n    type: brainflow_source\n    params: {board: CYTON_BORD}\n"
        "  - {id: sink, type: null_sink}\nedges:\n  - {source: amp.out, target: sink.in}\n"
    )
    assert cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3: node 'amp' (brainflow_source): board: BrainFlow" in err
    assert "no board 'CYTON_BORD'; fix: did you mean CYTON_BOARD" in err and "Traceback" not in err
    with pytest.raises(SpecError, match="no board of id 9999"):
        BrainFlowSource(board=9999).configure({})


def test_a_serial_port_with_no_amplifier_is_a_clear_error_naming_it():
    node = BrainFlowSource(board="CYTON_BOARD", serial_port="/dev/ttyNOWHERE0")
    node.configure({})
    with pytest.raises(SpecError, match=r"UNABLE_TO_OPEN_PORT.*fix: set serial_port .*'/dev/ttyNOWHERE0'"):
        node.open()
    node.close()
    g = GraphBuilder()
    g.add("brainflow_source", id="amp", board="CYTON_BOARD", serial_port="/dev/ttyNOWHERE0")
    with pytest.raises(
        RunFailed,
        match=r"(?s)node .amp. \(brainflow_source\).*failed.*cannot start board CYTON_BOARD.*fix: set serial_port",
    ) as e:
        g.run()
    assert "Traceback" not in str(e.value)


def _playback(tmp_path, package):
    """A file BrainFlow writes (the synthetic board's 32 rows), `package` its package numbers; the node replaying it."""
    from brainflow.data_filter import DataFilter

    n = len(package)
    x = np.zeros((bs.BoardShim.get_num_rows(SYNTH), n))
    x[1:17] = np.random.default_rng(0).normal(0, 20, (16, n))  # microvolts
    x[bs.BoardShim.get_package_num_channel(SYNTH)] = package
    x[bs.BoardShim.get_timestamp_channel(SYNTH)] = 1.7e9 + np.arange(n) / 250
    path = tmp_path / "written.csv"
    DataFilter.write_file(x, str(path), "w")
    node = BrainFlowSource(board="PLAYBACK_FILE_BOARD", master_board="SYNTHETIC_BOARD", file=str(path), chunk_size=16)
    node.configure({})
    node.open()
    try:
        return _read_all(node), DataFilter.read_file(str(path)), node
    finally:
        node.close()


def test_playback_of_a_file_brainflow_wrote_replays_it_to_its_end(tmp_path):
    package = (np.arange(60) + 220) % 256  # wraps at 256: no loss
    chunks, written, node = _playback(tmp_path, package)
    x = np.concatenate([c.data for c in chunks], axis=1)
    assert np.array_equal(x, written[1:17] * 1e-6)
    assert not any(c.gap for c in chunks) and "lost_samples" not in node.counters


def test_a_jump_in_package_numbers_is_a_gap_counting_the_lost_samples(tmp_path, caplog):
    package = np.r_[np.arange(0, 30), np.arange(37, 67)]  # 7 samples lost after the 30th
    chunks, written, node = _playback(tmp_path, package)
    sizes = [c.data.shape[1] for c in chunks]
    assert [c.gap for c in chunks].count(True) == 1
    at = next(i for i, c in enumerate(chunks) if c.gap)
    assert sum(sizes[:at]) == 30  # the chunk is cut at the jump: what follows it starts the gap-flagged chunk
    assert node.counters == {"gaps": 1, "lost_samples": 7}
    assert "7 samples lost (package number 37 after 29)" in caplog.text
    assert np.array_equal(np.concatenate([c.data for c in chunks], axis=1), written[1:17] * 1e-6)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"board": "MUSE_2_BOARD", "channels": ["eeg", "accel"]},
            r"board Muse2 has no accel channels; fix: take .* eeg",
        ),
        ({"board": "PLAYBACK_FILE_BOARD", "file": "x.csv"}, r"has no master_board; fix: set master_board"),
        ({"board": "STREAMING_BOARD", "master_board": "CYTON_BORD"}, r"master_board: .*did you mean CYTON_BOARD"),
        (
            {"board": "PLAYBACK_FILE_BOARD", "master_board": "SYNTHETIC_BOARD", "file": "/nonexistent/rec.csv"},
            r"file '/nonexistent/rec.csv' \(PLAYBACK_FILE_BOARD\) does not exist; fix: set file",
        ),
    ],
)
def test_what_the_board_cannot_give_is_refused_at_build_with_the_fix(params, message):
    with pytest.raises(SpecError, match=message):
        BrainFlowSource(**params).configure({})
