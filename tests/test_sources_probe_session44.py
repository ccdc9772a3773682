"""Probe of the other sources and the BIDS layout (session 44): BrainFlow playback files with a header line or two
recordings in one, and the value column of the layout's events.tsv."""

import csv

import numpy as np
import pytest
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.spec import SpecError

RATE = 250


def _board():
    pytest.importorskip("brainflow")
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource, import_brainflow

    return BrainFlowSource, import_brainflow()


def _samples(n: int, t0: float = 1.7e9) -> np.ndarray:
    """n samples as the synthetic board gives them (32 rows: package number, 16 EEG in uV, ..., stamp row 30)."""
    x = np.zeros((32, n))
    x[0] = np.arange(n) % 256
    x[1:17] = np.random.default_rng(0).normal(0, 20, (16, n))
    x[30] = t0 + np.arange(n) / RATE
    return x


def _write(path, x: np.ndarray, head: str = "") -> str:
    from brainflow.data_filter import DataFilter

    DataFilter.write_file(x, str(path), "w")
    if head:
        path.write_bytes(head.encode() + path.read_bytes())
    return str(path)


def _node(path: str):
    BrainFlowSource, _ = _board()
    return BrainFlowSource(board="PLAYBACK_FILE_BOARD", master_board="SYNTHETIC_BOARD", file=path, chunk_size=50)


def test_a_header_of_column_numbers_is_refused_at_build_not_replayed_as_a_hang(tmp_path):
    """pandas' to_csv(sep='\\t', index=False) heads a file with its column numbers 0..31: the board streamed them as a
    sample, then slept the 1.7e9 s from its 'stamp' 30 to the next line's, and close() (BrainFlow's stop_stream joins
    that thread) hung: the run could not be stopped. Refused at build, naming the line to remove."""
    _board()
    path = _write(tmp_path / "rec.csv", _samples(25), "\t".join(str(i) for i in range(32)) + "\n")
    with pytest.raises(SpecError) as e:
        _node(path).configure({})
    assert "line 2 is stamped" in str(e.value) and "remove line 1" in str(e.value)


def test_a_header_of_column_names_is_refused_not_replayed_as_a_sample_of_zeros(tmp_path):
    """A header of 32 names: BrainFlow's std::stod failed on each, and the board streamed a sample of zeros first."""
    _board()
    path = _write(tmp_path / "rec.csv", _samples(25), "\t".join(f"c{i}" for i in range(32)) + "\n")
    with pytest.raises(SpecError) as e:
        _node(path).configure({})
    assert "no numbers (c0, c1, c2, c3, ...: a header of column names?)" in str(e.value) and "line 1" in str(e.value)


def test_a_header_line_the_board_skips_is_let_through_and_the_samples_replayed(tmp_path):
    """A comment line before the samples ('% recorded ...': one value) was refused as 'the file has 1 values a sample;
    set master_board to the board the file was recorded from', though the board skips it and plays the samples."""
    _board()
    x = _samples(25)
    path = _write(tmp_path / "rec.csv", x, "% recorded with BrainFlow\n")
    node = _node(path)
    node.configure({})
    chunks = []
    try:
        while (out := node.read()) is not None:
            if out:
                chunks.append(out["out"].data)
    finally:
        node.close()
    got = np.concatenate(chunks, axis=1)
    np.testing.assert_allclose(got, x[1:17] * 1e-6, rtol=0, atol=1e-12)  # (the file holds 1e-6 uV)


def test_two_recordings_in_one_file_hours_apart_are_refused_at_open(tmp_path):
    """DataFilter.write_file(..., 'a') twice, two hours apart: the board would sleep out the two hours after the first
    (past ~36 min its wait overflows) and a stop would wait for it. Refused when the node opens, before any session,
    naming the line to cut the file at."""
    _, bs = _board()
    path = _write(tmp_path / "rec.csv", np.concatenate([_samples(20), _samples(20, 1.7e9 + 7200)], axis=1))
    node = _node(path)
    node.configure({})  # (the first lines are one recording: the file is read whole at open)
    with pytest.raises(SpecError) as e:
        node.open()
    assert "line 21 is stamped 7199.9" in str(e.value) and "cut the file before line 21" in str(e.value)
    assert node._board is None
    board = bs.BoardShim(int(bs.BoardIds.SYNTHETIC_BOARD.value), bs.BrainFlowInputParams())
    board.prepare_session()  # nothing of the playback session is held
    board.release_session()


def test_the_bids_events_value_column_holds_the_sources_codes(tmp_path):
    """events.tsv's value (BIDS: the event code) was mne-bids' numbering in sorted order: codes 7 and 3 labelled left
    and right and an unlabeled 5 went in as left 2, right 3 and '5' 1. Now the source's codes."""
    pytest.importorskip("mne_bids")
    x = np.random.default_rng(0).normal(size=(2, 1000)) * 1e-5
    ev = [[0.5, 0, 7], [1.0, 0, 3], [1.5, 0, 7], [2.0, 0, 5]]
    g = GraphBuilder()
    s = g.add("array_source", data=x, rate=250.0, ch_names=["Cz", "Pz"], ch_types="eeg", units="V", events=ev,
              labels={7: "left", 3: "right"})  # fmt: skip
    g.add("recorder", s, f"{s}.events", events=True, path=str(tmp_path / "r.bdf"), bids_root=str(tmp_path / "bids"),
          subject="01", task="rest")  # fmt: skip
    g.run()
    tsv = tmp_path / "bids/sub-01/eeg/sub-01_task-rest_events.tsv"
    rows = [(r["trial_type"], r["value"]) for r in csv.DictReader(open(tsv), delimiter="\t")]
    assert rows[:4] == [("left", "7"), ("right", "3"), ("left", "7"), ("5", "5")], rows


def test_event_values_number_the_rest_after_the_largest_code():
    """Texts of unknown code (a label the recorder did not pass, a gap's BAD boundary) get values after the largest
    code, the markers' before the bad spans'."""
    from wavegraph.nodes.io.bids_layout import event_values

    got = event_values(["12", "BAD boundary", "go", "left", "-3", "12"], {"left": 4})
    assert got == {"12": 12, "-3": -3, "left": 4, "go": 13, "BAD boundary": 14}
    assert event_values([]) is None


def test_a_masked_array_is_refused_not_replayed_with_the_values_under_its_mask():
    """numpy's masked values (missing) went out as whatever lay under the mask, unsaid; an array whose mask masks
    nothing replays as the plain array."""
    x = np.arange(20.0).reshape(2, 10)
    g = GraphBuilder()
    g.add("array_source", data=np.ma.masked_array(x, mask=x > 15), rate=100.0)
    with pytest.raises(Exception, match=r"masked array with 4 masked values \(the first at index \(1, 6\)\)"):
        g.run()
    g = GraphBuilder()
    src = g.add("array_source", data=np.ma.masked_array(x, mask=False), rate=100.0, chunk_size=3)
    np.testing.assert_array_equal(g.run(capture=[src])[f"{src}.out"].data, x)
