"""Leftovers of session 25 in file replay and recording (3): each replayed with the input that showed it."""

from __future__ import annotations

import io
import json
import logging
import struct

import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource


# --- 1. a Broadcast WAV's bext chunk dates the replay ----------------------------------------------------------------
def _bwf(path, bext: bytes, rate: int = 8000, n: int = 800) -> None:
    """A 16-bit WAV with `bext` as its first chunk (as a field recorder writes it), then fmt and data."""
    buf = io.BytesIO()
    sf.write(buf, np.linspace(-0.5, 0.5, n, dtype=np.float32), rate, format="WAV", subtype="PCM_16")
    body = buf.getvalue()[12:]
    chunk = b"bext" + struct.pack("<I", len(bext)) + bext + b"\0" * (len(bext) & 1)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunk) + len(body)) + b"WAVE" + chunk + body)


def _bext(date: bytes = b"2024-05-06", time: bytes = b"10:11:12", reference: int = 0, size: int = 602) -> bytes:
    """EBU Tech 3285's bext: Description (256), Originator (32), OriginatorReference (32), OriginationDate (10),
    OriginationTime (8), TimeReference (64 bits), Version, UMID, loudness, reserved (602 bytes), cut to `size`."""
    body = bytearray(602)
    body[320:330], body[330:338], body[338:346] = date, time, struct.pack("<Q", reference)
    return bytes(body[:size])


@pytest.mark.parametrize(
    ("bext", "date"),
    [
        (
            _bext(reference=int((10 * 3600 + 0.5) * 8000)),
            "2024-05-06T10:00:00.500000+00:00",
        ),  # sample-exact: the timecode
        (_bext(reference=0), "2024-05-06T10:11:12+00:00"),  # TimeReference not set: OriginationTime
        (_bext(date=b"2024_05_06", time=b"23.59.59"), "2024-05-06T23:59:59+00:00"),  # EBU's other separators
    ],
    ids=["time_reference", "origination_time", "separators"],
)
def test_a_broadcast_wavs_bext_dates_the_replay(tmp_path, bext, date):
    """A BWF of a field recorder: its bext gives the date, the time, and TimeReference (samples since midnight, the
    first sample's). Before, the replay was undated (meas_date ""): a recorder's FIF of it was dated by nothing. Now
    both outputs carry the first sample's time (UTC: BWF keeps no zone, as MNE reads an EDF's start)."""
    path = tmp_path / "take1.wav"
    _bwf(path, bext)
    specs = FileSource(path=str(path)).configure({})
    assert specs["out"].meas_date == date and specs["events"].meas_date == date
    assert specs["out"].first_time == 0.0


@pytest.mark.parametrize(
    ("bext", "said"),
    [
        (_bext(size=100), "holds 100 bytes, fewer than the 346"),
        (_bext(date=b"06/05/2024"), "OriginationDate '06/05/2024', not a date (yyyy-mm-dd)"),
        (_bext(date=b"2024-13-40"), "OriginationDate '2024-13-40', not a date"),
        (_bext(time=b"25:61:00"), "OriginationTime '25:61:00', not a time of day"),
        (_bext(reference=2 * 86400 * 8000), "past a day"),
    ],
    ids=["cut_short", "date_dmy", "date_out_of_range", "time_out_of_range", "reference_past_a_day"],
)
def test_a_damaged_bext_is_said_and_the_file_replays_undated(tmp_path, caplog, bext, said):
    """A bext cut short, or holding a date, time or TimeReference that is none: said (what, where, the mend) and the
    file replays undated, all its samples, as a WAV without a bext."""
    path = tmp_path / "take2.wav"
    _bwf(path, bext)
    with caplog.at_level(logging.WARNING, logger="wavegraph.file_source"):
        src = FileSource(path=str(path), chunk_size=300)
        specs = src.configure({})
    assert specs["out"].meas_date == ""
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "bext" in text and said in text and "replayed undated" in text and "fix:" in text
    got = src.reader.get([0], 0, 800) if src.reader is not None else None
    assert got is not None and got.shape == (1, 800)
    src.close()


def test_a_bext_whose_time_reference_and_origination_time_disagree_says_which_dates_it(tmp_path, caplog):
    """TimeReference 10:00:00.5, OriginationTime 10:11:12 (a clock set apart from the timecode): dated by
    TimeReference, EBU's first-sample count, and said at INFO with both; agreeing (within 1 s), nothing is said."""
    path = tmp_path / "take4.wav"
    _bwf(path, _bext(reference=int((10 * 3600 + 0.5) * 8000)))
    with caplog.at_level(logging.INFO, logger="wavegraph.file_source"):
        FileSource(path=str(path)).configure({})
    said = [r.getMessage() for r in caplog.records if "TimeReference" in r.getMessage()]
    assert len(said) == 1 and "10:00:00.500000" in said[0] and "10:11:12" in said[0]
    caplog.clear()
    _bwf(path, _bext(time=b"10:00:00", reference=int((10 * 3600 + 0.5) * 8000)))
    with caplog.at_level(logging.INFO, logger="wavegraph.file_source"):
        FileSource(path=str(path)).configure({})
    assert not [r for r in caplog.records if "TimeReference" in r.getMessage()]


def test_a_blank_bext_date_replays_undated_unsaid(tmp_path, caplog):
    """EBU leaves a field not known blank: no date, no warning."""
    path = tmp_path / "take3.wav"
    _bwf(path, _bext(date=b"\0" * 10, time=b"\0" * 8))
    with caplog.at_level(logging.WARNING, logger="wavegraph.file_source"):
        assert FileSource(path=str(path)).configure({})["out"].meas_date == ""
    assert not caplog.records


# --- 2. a batch resumed after its inputs were renamed ----------------------------------------------------------------
_BATCH_GRAPH = """\
nodes:
  - {id: src, type: file_source, params: {path: placeholder.wav, chunk_size: 64}}
  - {id: rec, type: recorder, params: {path: copy.wav}}
edges:
  - {source: src.out, target: rec.in}
"""


def _batch_done(tmp_path):
    """Two WAVs batched to out/a/, out/b/ (in this process: the runs a worker would make)."""
    from wavegraph.pipeline.batch import plan, run_job

    graph, inputs = tmp_path / "g.yaml", tmp_path / "in"
    graph.write_text(_BATCH_GRAPH)
    inputs.mkdir()
    for i, name in enumerate("ab"):
        sf.write(inputs / f"{name}.wav", np.full(300 + 100 * i, 0.1 * (i + 1), np.float32), 8000)
    for job in plan(str(graph), str(inputs / "*.wav"), str(tmp_path / "out"), []):
        assert run_job(job).status == "done"
    return graph, inputs


def test_a_batch_resumed_after_a_rename_moves_the_outputs_not_runs_again(tmp_path, capsys):
    """a.wav batched, then renamed c.wav, then the batch run again to resume. Before, c.wav was run again and out/a/
    stayed beside out/c/, both complete: the recording's outputs twice, unsaid. Now out/a/ is moved to out/c/ (same
    size, modification time, graph and settings), said, not run again; b.wav, removed, leaves out/b/, said."""
    from wavegraph.pipeline.batch import main

    graph, inputs = _batch_done(tmp_path)
    copy = (tmp_path / "out" / "a" / "copy.wav").read_bytes()
    (inputs / "a.wav").rename(inputs / "c.wav")
    (inputs / "b.wav").unlink()
    out = str(tmp_path / "out")
    assert main([str(graph), "--inputs", str(inputs / "*.wav"), "--out", out, "--jobs", "1"]) == 0
    said = capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b", "c"]
    assert (tmp_path / "out" / "c" / "copy.wav").read_bytes() == copy
    assert "0 done, 1 skipped" in said.out
    assert f"{inputs / 'c.wav'} was done as {inputs / 'a.wav'}" in said.err and "not run again" in said.err
    assert f"holds the complete outputs of {inputs / 'b.wav'}, which is no longer there" in said.err
    assert main([str(graph), "--inputs", str(inputs / "*.wav"), "--out", out, "--jobs", "1"]) == 0  # (done: skipped)
    assert "0 done, 1 skipped" in capsys.readouterr().out


def test_two_inputs_whose_names_were_swapped_are_run_again(tmp_path):
    """a.wav and b.wav swap names: each folder's input is still there, so no folder moves; each is run again and
    out/a/ holds what a.wav holds now."""
    from wavegraph.pipeline.batch import plan
    from wavegraph.pipeline.batch_renames import follow_renames

    graph, inputs = _batch_done(tmp_path)
    (inputs / "a.wav").rename(inputs / "t.wav")
    (inputs / "b.wav").rename(inputs / "a.wav")
    (inputs / "t.wav").rename(inputs / "b.wav")
    jobs = plan(str(graph), str(inputs / "*.wav"), str(tmp_path / "out"), [])
    assert follow_renames(jobs, str(tmp_path / "out")) == []
    from wavegraph.pipeline.batch import is_done

    assert not any(is_done(j) for j in jobs)


# --- 3. recover of a BIDS run whose copy into the layout fails --------------------------------------------------------
def _killed_bids_run(tmp_path):
    """`wavegraph run ... --bids bids` killed: s01.bdf's spill, header and chunk log; C4 typed EOG, which the BDF
    cannot hold (the layout's channels.tsv gets it from the spill's header)."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eog"))
    rec = Recorder(path=str(tmp_path / "s01.bdf"), bids_root=str(tmp_path / "bids"), subject="01", task="rest")
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.full((2, 200), 2e-5), 0.0)})
    assert rec._file is not None and rec._chunks is not None
    rec._file.close()  # killed: the spill and its chunk log stay
    rec._chunks.close()


def _channel_types(tsv) -> dict[str, str]:
    lines = [line.split("\t") for line in tsv.read_text().splitlines()]
    return {row[0]: row[lines[0].index("type")] for row in lines[1:]}


def test_recover_keeps_what_a_failed_bids_copy_needs_and_says_the_fix(tmp_path, capsys):
    """The layout holds run 1 of sub-01 now (made since the run started). Before: a warning, exit 0, and the spill's
    header (subject, task, run, C4's EOG type) deleted with the spill; a second recover said 'complete as it is':
    the copy could not be made as the run would have. Now: exit 1, the error says the recording is complete, what is
    kept (s01.bdf.bids-pending.json) and the fix (run 2 is free); given run 2, recover makes the copy, EOG and all."""
    pytest.importorskip("mne_bids")
    from wavegraph.nodes.io.recover import recover_main

    _killed_bids_run(tmp_path)
    taken = tmp_path / "bids" / "sub-01" / "eeg"
    taken.mkdir(parents=True)
    (taken / "sub-01_task-rest_eeg.bdf").write_bytes(b"another recording")
    assert recover_main([str(tmp_path / "s01.bdf")]) == 1
    err = capsys.readouterr().err
    pending = tmp_path / "s01.bdf.bids-pending.json"
    assert (tmp_path / "s01.bdf").is_file() and pending.is_file()
    assert "s01.bdf is complete, but its copy into the BIDS layout" in err and "holds that run already" in err
    assert 'set "run": 2 in' in err and "bids-pending.json" in err
    kept = json.loads(pending.read_text())
    kept["bids"]["run"] = 2
    pending.write_text(json.dumps(kept))
    assert recover_main([str(tmp_path)]) == 0  # (a folder: the pending copy too)
    assert "copied into the BIDS layout as" in capsys.readouterr().err and not pending.exists()
    assert _channel_types(taken / "sub-01_task-rest_run-2_channels.tsv") == {"C3": "EEG", "C4": "EOG"}


def test_recover_whose_bids_layout_cannot_be_written_keeps_the_copy_for_later(tmp_path, capsys):
    """bids/sub-01 is a file (a layout that cannot be written): mne-bids' NotADirectoryError was the whole message,
    exit 1, and nothing was left to copy from. Now it is said with what is kept; mended, recover again copies it."""
    pytest.importorskip("mne_bids")
    from wavegraph.nodes.io.recover import recover_main

    _killed_bids_run(tmp_path)
    (tmp_path / "bids").mkdir()
    (tmp_path / "bids" / "sub-01").write_text("not a folder")
    assert recover_main([str(tmp_path / "s01.bdf")]) == 1
    err = capsys.readouterr().err
    assert "NotADirectoryError" in err and "is kept in s01.bdf.bids-pending.json" in err and "fix:" in err
    (tmp_path / "bids" / "sub-01").unlink()
    assert recover_main([str(tmp_path / "s01.bdf")]) == 0
    assert (tmp_path / "bids" / "sub-01" / "eeg" / "sub-01_task-rest_eeg.bdf").is_file()
    assert not (tmp_path / "s01.bdf.bids-pending.json").exists()


def test_a_bids_copy_that_fails_at_close_is_kept_for_recover(tmp_path):
    """The same at the recorder's close(): the layout got run 1 of sub-01 during the session. Before: mne-bids'
    error, and nothing kept to copy from (recover said 'complete as it is'). Now: the recording is complete, the
    copy's needs are kept and recover makes it once the layout is mended."""
    pytest.importorskip("mne_bids")
    from wavegraph.nodes.io.bids_pending import BidsCopyFailed
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.nodes.io.recover import recover
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eog"))
    rec = Recorder(path=str(tmp_path / "s01.bdf"), bids_root=str(tmp_path / "bids"), subject="01", task="rest")
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.full((2, 200), 2e-5), 0.0)})
    taken = tmp_path / "bids" / "sub-01" / "eeg"
    taken.mkdir(parents=True)
    (taken / "sub-01_task-rest_eeg.bdf").write_bytes(b"another recording")
    with pytest.raises(BidsCopyFailed, match="is complete, but its copy into the BIDS layout"):
        rec.finish()
        rec.close()
    assert (tmp_path / "s01.bdf.bids-pending.json").is_file()
    (taken / "sub-01_task-rest_eeg.bdf").unlink()
    recover(tmp_path / "s01.bdf")
    assert _channel_types(taken / "sub-01_task-rest_channels.tsv") == {"C3": "EEG", "C4": "EOG"}


# --- 4. the speech file graph keeps the input's length and time base across a gap -----------------------------------
_TINY_ENHANCER = ["enhancer.random_init=true", "enhancer.d_model=32", "enhancer.n_layers=1"]


def _alone(x: np.ndarray) -> tuple[np.ndarray, int]:
    """The enhancer (the graph's tiny one) on `x` alone, aligned (its first 319 samples dropped), and its vad frames."""
    from wavegraph.nodes.models.enhancer import EnhancerNode
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    node = EnhancerNode(random_init=True, d_model=32, n_layers=1)
    node.configure({"in": StreamSpec("signal", 16000.0, (1,), "float32", ("ch0",), ("audio",))})
    parts = [node.process({"in": Chunk(x[None], 0.0)}), *node.finish_all()]
    y = np.concatenate([p["out"].data[0] for p in parts])
    return y[node.latency_samples :], sum(len(p["vad"].data) for p in parts if "vad" in p)


def test_the_speech_file_graph_keeps_length_and_time_base_across_a_gap(tmp_path):
    """configs/speech_enhance_file.yaml on a 16 kHz WAV whose recording lost 0.25 s after 0.25 s (its chunk log keeps
    the gap). Before: out.wav was 319 samples short per gap (the enhancer dropped the segment's tail at the gap, then
    align dropped the new segment's warm-up), everything after the gap 319 samples early. Now the enhancer finishes
    the segment before the gap as finish() does: the output has the input's samples and times, each segment enhanced
    as if alone (nothing crosses the gap), and the vad frames of both."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    x = (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32)
    rec = Recorder(path=str(tmp_path / "in.wav"))
    rec.configure({"in": StreamSpec("signal", 16000.0, (1,), "float32", ("ch0",), ("audio",))})
    rec.process({"in": Chunk(x[None, :4000], 0.0)})
    rec.process({"in": Chunk(x[None, 4000:], 0.5, gap=True)})  # 0.25 s lost
    rec.finish()
    rec.close()
    sets = [f"src.path={tmp_path / 'in.wav'}", f"rec.path={tmp_path / 'out.wav'}", f"vad.path={tmp_path / 'vad.csv'}"]
    got = GraphBuilder.from_yaml("configs/speech_enhance_file.yaml", sets + _TINY_ENHANCER).run(
        capture=["src.out", "align.out", "vad_align.out"]
    )
    src, out, vad = got["src.out"], got["align.out"], got["vad_align.out"]
    assert list(src.gaps) == [0.5]
    assert out.data.shape == (1, 8000) and list(out.gaps) == [0.5]
    np.testing.assert_allclose(out.times, src.times, rtol=0, atol=1e-9)
    assert sf.info(str(tmp_path / "out.wav")).frames == 8000
    (first, vad1), (second, vad2) = _alone(x[:4000]), _alone(x[4000:])
    np.testing.assert_allclose(out.data[0], np.concatenate([first, second]), atol=1e-6)
    assert vad.data.shape[0] == vad1 + vad2 and list(vad.gaps) == [0.5]


def test_a_partial_folder_of_an_input_renamed_since_is_said(tmp_path, capsys):
    """A batch stopped while a.wav ran (out/a/ holds a partial copy.wav, no completion marker), then a.wav renamed
    c.wav: the resume ran c.wav and left out/a/ beside out/c/ without a word. Now it is said, left as it is."""
    from wavegraph.pipeline.batch import DONE, plan
    from wavegraph.pipeline.batch_renames import follow_renames

    graph, inputs = _batch_done(tmp_path)
    (tmp_path / "out" / "a" / DONE).unlink()  # (as a run stopped before its end leaves it)
    (inputs / "a.wav").rename(inputs / "c.wav")
    jobs = plan(str(graph), str(inputs / "*.wav"), str(tmp_path / "out"), [])
    said = follow_renames(jobs, str(tmp_path / "out"))
    assert len(said) == 1 and f"{tmp_path / 'out' / 'a'} holds partial outputs of this graph (copy.wav" in said[0]
    assert (tmp_path / "out" / "a" / "copy.wav").exists() and not (tmp_path / "out" / "c").exists()
