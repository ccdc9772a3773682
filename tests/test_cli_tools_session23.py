"""The tools a researcher uses around a run (session 23): `--bids` export, `wavegraph recover`, `wavegraph batch`,
`wavegraph plot`, tried as a user does: a recording whose last record is padded, the same subject twice, labels
BIDS forbids, a spill cut short, ..."""

import csv
from pathlib import Path

import numpy as np
import pytest
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

SPEC = StreamSpec("signal", 100.0, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"))
EVENTS = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "left"), (2, "right")))


def _bids_record(tmp_path, name="rec.edf", n=150, **params):
    """Record n samples (1.5 one-second EDF records: the last is padded) with two markers into a BIDS layout."""
    bids = dict(bids_root=str(tmp_path / "bids"), subject="01", task="rest") | params
    rec = Recorder(path=str(tmp_path / name), events=True, **bids)
    rec.configure({"in": SPEC, "events": EVENTS})
    rec.process({"in": Chunk(np.full((2, n), 1e-5), 0.0)})
    rec.process({"events": Chunk(np.array([[0.2, 0.0, 2], [0.5, 0.0, 1]]), 0.0)})
    rec.close()
    return rec


def test_the_edf_padding_is_no_event_in_the_bids_layout(tmp_path):
    """The EDF writer's `padding` (the zeros that fill the last record) went into events.tsv as an event like the
    markers (trial_type padding, value 3), and mne_bids.read_raw_bids gave it to events_from_annotations (an epoch of
    zeros). It is a BAD_ span there now (MNE's bad data: no event, epochs over it rejected); the markers keep their
    values."""
    mne = pytest.importorskip("mne")
    mne_bids = pytest.importorskip("mne_bids")
    _bids_record(tmp_path)
    tsv = tmp_path / "bids/sub-01/eeg/sub-01_task-rest_events.tsv"
    rows = [(r["trial_type"], r["value"], r["onset"]) for r in csv.DictReader(open(tsv), delimiter="\t")]
    assert rows[:2] == [("right", "2", "0.2"), ("left", "1", "0.5")], rows
    assert [r[0] for r in rows[2:]] == ["BAD_padding"], rows  # from 1.5 s to the end of the second record
    bp = mne_bids.BIDSPath(subject="01", task="rest", root=tmp_path / "bids", datatype="eeg")
    raw = mne_bids.read_raw_bids(bp, verbose="error")
    _, event_id = mne.events_from_annotations(raw, verbose="error")
    assert event_id == {"left": 1, "right": 2}


def test_a_run_the_layout_holds_in_another_format_is_refused_at_configure(tmp_path):
    """rec.edf, then rec.bdf of the same subject and task: the second session was recorded whole, then failed at close
    with mne-bids' '..._events.tsv already exists. Please set overwrite to True'. Refused at configure now, naming the
    run held and the next free run (run 2 held too: run 3), with the recorder's id in the --set."""
    pytest.importorskip("mne_bids")
    _bids_record(tmp_path)
    _bids_record(tmp_path, "rec2.edf", run=2)
    rec = Recorder(path=str(tmp_path / "rec.bdf"), bids_root=str(tmp_path / "bids"), subject="01", task="rest")
    rec.node_id = "rec"
    with pytest.raises(SpecError) as e:
        rec.configure({"in": SPEC})
    assert "sub-01_task-rest_eeg.edf" in str(e.value) and "--set rec.run=3" in e.value.hint, str(e.value)
    assert not (tmp_path / "rec.bdf").exists()


@pytest.mark.parametrize(
    ("key", "value", "fix"),
    [("subject", "sub-01", "subject: '01'"), ("session", "ses-02", "session: '02'"), ("subject", "01_a", "'01a'")],
)
def test_a_bids_label_written_with_its_prefix_is_told_without_it(tmp_path, key, value, fix):
    """subject 'sub-01' was told 'give subject: sub01', which the layout writes sub-sub01."""
    pytest.importorskip("mne_bids")
    params = {"subject": "01", key: value}
    rec = Recorder(path=str(tmp_path / "rec.edf"), bids_root=str(tmp_path / "bids"), task="rest", **params)
    with pytest.raises(SpecError) as e:
        rec.configure({"in": SPEC})
    assert fix in e.value.hint and "sub01" not in e.value.hint and "ses02" not in e.value.hint, str(e.value)


def test_overwrite_replaces_a_run_held_in_the_other_format(tmp_path):
    """overwrite: true over a run held as .edf, recorded now as .bdf, left the .edf beside the .bdf (two data files of
    one run, scans.tsv listing both, channels.tsv describing the new one only). The .edf and its row go now."""
    pytest.importorskip("mne_bids")
    _bids_record(tmp_path)
    _bids_record(tmp_path, "rec.bdf", overwrite=True)
    eeg = tmp_path / "bids/sub-01/eeg"
    assert sorted(p.name for p in eeg.glob("*_eeg.*df")) == ["sub-01_task-rest_eeg.bdf"]
    scans = list(csv.DictReader(open(tmp_path / "bids/sub-01/sub-01_scans.tsv"), delimiter="\t"))
    assert [r["filename"] for r in scans] == ["eeg/sub-01_task-rest_eeg.bdf"]


def test_recover_of_a_spill_cut_short_says_what_was_lost(tmp_path, capsys, caplog):
    """A spill that lost its end (its chunk log, written after the data, lists more: a disk that failed, a copy cut
    short mid-sample) was recovered shorter without a word, exit 0. The samples lost are said, with the cause."""
    import logging
    import os

    from wavegraph.nodes.io.recover import recover_main

    path = tmp_path / "x_raw.fif"
    rec = Recorder(path=str(path))
    rec.configure({"in": SPEC})
    for k in range(4):
        rec.process({"in": Chunk(np.full((2, 50), 1e-5), k * 0.5)})
    rec._file.close()  # killed: the spill and its chunk log stay
    rec._chunks.close()
    spill = tmp_path / "x_raw.fif.spill"
    os.truncate(spill, spill.stat().st_size - 16 * 30 - 5)  # 30 samples and 5 bytes of the one before them
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        assert recover_main([str(path)]) == 0
    assert "holds 169 samples" in caplog.text and "lists 200" in caplog.text and "last 31 (0.31 s)" in caplog.text
    import mne

    assert mne.io.read_raw_fif(path, verbose="error").n_times == 169


def test_a_batch_whose_recorder_writes_a_bids_layout_is_refused(tmp_path, capsys):
    """`wavegraph batch ... --set rec.bids_root=bids --set rec.subject=01`: every input was sub-01's one run, each
    replacing the last in the layout (the batch sets overwrite), and all were said done: one recording was left of
    two. Refused before any run now, with how to make the layout."""
    from wavegraph.pipeline.batch import main as batch
    from wavegraph.pipeline.config import GraphError

    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: x.edf}}\n"
        "  - {id: rec, type: recorder, params: {path: out.edf}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("t,C3\n0.0,1e-5\n0.01,2e-5\n")
    sets = ["--set", f"rec.bids_root={tmp_path / 'bids'}", "--set", 'rec.subject="01"', "--set", "rec.task=rest"]
    with pytest.raises(GraphError) as e:
        batch([str(graph), "--inputs", str(tmp_path / "*.csv"), "--out", str(tmp_path / "out"), *sets])
    assert "BIDS layout" in str(e.value) and "--bids ROOT` per recording" in str(e.value), str(e.value)
    assert not (tmp_path / "bids").exists()


def test_a_plot_of_epochs_draws_every_epoch_of_its_span(tmp_path):
    """`wavegraph plot x-epo.fif` (the real SSVEP epochs: 16 s each) drew the first epoch alone (one read ends at its
    epoch's end) under a title saying 'first 30 s', the next epoch's marker at its right edge. The epochs follow
    one another now, as file_source replays them."""
    mne = pytest.importorskip("mne")
    from wavegraph.nodes.io.plot import load, plot

    info = mne.create_info(["O1", "O2"], 100.0, "eeg")
    x = np.arange(3 * 2 * 100, dtype=float).reshape(3, 2, 100) * 1e-7
    events = np.array([[0, 0, 1], [100, 0, 2], [200, 0, 1]])
    mne.EpochsArray(x, info, events, verbose="error").save(tmp_path / "x-epo.fif", verbose="error")
    rec = load(tmp_path / "x-epo.fif")
    assert rec["data"].shape == (2, 300)
    np.testing.assert_allclose(rec["data"], np.concatenate(list(x), axis=1))
    assert [t for t, _ in rec["markers"]] == [0.0, 1.0, 2.0]
    assert plot(tmp_path / "x-epo.fif", tmp_path / "x.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("inputs", "said"),
    [
        ("up/*.edf", "2 files match it in another case (up/S001R01.EDF, ...); fix: --inputs 'up/*.EDF'"),
        ("recs/*.edf", "2 files in its sub-folders do (recs/s01/a.edf, ...); fix: --inputs 'recs/**/*.edf'"),
        ("rec/*.edf", "there is no folder rec (from "),
        ("recs/s01/a.eddf", "there is no such file (from "),
    ],
)
def test_a_batch_pattern_that_matches_nothing_says_why(tmp_path, monkeypatch, capsys, inputs, said):
    """'no file matches --inputs ...' and no more, where the files were there: named .EDF (a glob tells case here),
    one folder down (recs/*.edf for recs/s01/a.edf: no **), or the folder misspelt."""
    from wavegraph.pipeline.batch import main as batch

    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: x.edf}}\n"
        "  - {id: rec, type: recorder, params: {path: out.csv}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    for name in ("up/S001R01.EDF", "up/S001R02.EDF", "recs/s01/a.edf", "recs/s02/b.edf"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"0")
    assert batch(["g.yaml", "--inputs", inputs, "--out", "out"]) == 2
    err = capsys.readouterr().err
    assert f"error: no file matches --inputs '{inputs}': " in err and said in err, err


def test_a_batch_over_brainvision_data_files_takes_their_headers(tmp_path):
    """--inputs 'recs/**/*.eeg' (BrainVision's data files: what a user thinks of as the recording) failed every file
    with 'is one part of a recording; fix: give its header file: path: x.vhdr', which --inputs cannot take. The header
    beside each is the input now (EEGLAB's .fdt likewise), once however many of its parts match."""
    from wavegraph.pipeline.batch import plan

    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: x.edf}}\n"
        "  - {id: rec, type: recorder, params: {path: out.csv}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    for name in ("s1/a.vhdr", "s1/a.eeg", "s1/a.vmrk", "s2/b.set", "s2/b.fdt", "s3/c.eeg"):  # c: no header beside
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"0")
    for pattern, want in (
        ("**/*.eeg", ["s1/a.vhdr", "s3/c.eeg"]),
        ("**/*.fdt", ["s2/b.set"]),
        ("s1/a.*", ["s1/a.vhdr"]),
    ):
        jobs = plan(str(graph), str(tmp_path / pattern), str(tmp_path / "out"), [])
        assert [str(Path(j.input).relative_to(tmp_path)) for j in jobs] == want, pattern


def test_recover_of_a_killed_bids_run_copies_it_into_the_layout(tmp_path):
    """`wavegraph run ... --bids out/bids` killed, then `wavegraph recover out/s01.bdf` (as the error after a kill
    says): the BDF was written, the BIDS layout never got the run, and nothing said so. recover copies it now, as the
    recorder's close() would have."""
    mne_bids = pytest.importorskip("mne_bids")
    from wavegraph.nodes.io.recover import recover

    rec = Recorder(path=str(tmp_path / "s01.bdf"), bids_root=str(tmp_path / "bids"), subject="01", task="rest")
    rec.configure({"in": SPEC})
    rec.process({"in": Chunk(np.full((2, 200), 2e-5), 0.0)})
    rec._file.close()  # killed: the spill and its chunk log stay
    rec._chunks.close()
    assert not (tmp_path / "bids").exists()
    recover(tmp_path / "s01.bdf")
    bp = mne_bids.BIDSPath(subject="01", task="rest", root=tmp_path / "bids", datatype="eeg")
    y: np.ndarray = mne_bids.read_raw_bids(bp, verbose="error").get_data()  # pyright: ignore[reportAssignmentType]
    np.testing.assert_allclose(y, 2e-5, rtol=1e-4)


@pytest.mark.parametrize("damage", ["empty", "zeros"])
def test_recover_with_a_damaged_chunk_log_keeps_every_sample(tmp_path, caplog, damage):
    """A chunk log left empty (a power cut: ext4 leaves a file written just before it 0 bytes long) or with NUL bytes
    in its middle: recover took the log's whole lines as the recording's length, wrote nothing (or 50 of 200
    samples), and deleted the spill: 'held no complete sample ... the empty spill is removed'. Every sample the spill
    holds is written now, and the broken log said."""
    import logging

    mne = pytest.importorskip("mne")
    from wavegraph.nodes.io.recover import recover

    path = tmp_path / "x_raw.fif"
    rec = Recorder(path=str(path))
    rec.configure({"in": SPEC})
    for k in range(4):
        rec.process({"in": Chunk(np.full((2, 50), 1e-5 * (k + 1)), k * 0.5)})
    rec._file.close()  # killed: the spill and its chunk log stay
    rec._chunks.close()
    log = tmp_path / "x_raw.fif.chunks.csv"
    text = log.read_bytes()
    at = text.index(b",0.5,") - 1  # the second chunk's line: NULs over it and the next
    log.write_bytes(b"" if damage == "empty" else text[:at] + b"\0" * 30 + text[at + 30 :])
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        recover(path)
    assert "the log is empty or damaged" in caplog.text
    y = mne.io.read_raw_fif(path, verbose="error").get_data()
    assert y.shape == (2, 200) and np.allclose(y[0, ::50], [1e-5, 2e-5, 3e-5, 4e-5])


def test_recover_with_a_damaged_marker_line_keeps_the_recording_and_the_other_markers(tmp_path, caplog):
    """NUL bytes over one line of <path>.events.csv (a power cut) stopped the recovery: 'error: x_raw.fif: ValueError:
    could not convert string to float', the recording left unwritten until the user found and edited the line (an
    undecodable byte: a UnicodeDecodeError likewise). The line is said and left out now, the rest kept."""
    import logging

    mne = pytest.importorskip("mne")
    from wavegraph.nodes.io.recover import recover_main

    path = tmp_path / "x_raw.fif"
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": SPEC, "events": EVENTS})
    rec.process({"in": Chunk(np.zeros((2, 200)), 0.0)})
    rec.process({"events": Chunk(np.array([[0.2, 0.0, 2], [0.5, 0.0, 1], [1.0, 0.0, 2]]), 0.0)})
    rec._file.close()  # killed: the spill and its logs stay
    rec._chunks.close()
    assert rec._events_file is not None
    rec._events_file.close()
    log = tmp_path / "x_raw.fif.events.csv"
    lines = log.read_bytes().split(b"\n")
    lines[2] = b"\0" * 3 + lines[2][3:-1] + b"\xff"  # the second marker's line: '\0\0\0,0.0,1,lef\xff'
    log.write_bytes(b"\n".join(lines))
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        assert recover_main([str(path)]) == 0
    assert "x_raw.fif.events.csv is damaged at line 3" in caplog.text, caplog.text
    notes = mne.io.read_raw_fif(path, verbose="error").annotations
    assert list(notes.description) == ["right", "right"] and np.allclose(notes.onset, [0.2, 1.0])


def test_a_plot_reads_only_the_channels_it_draws(tmp_path):
    """`wavegraph plot` of a 256-channel recording read every channel's first 30 s to draw 32 (1.2 GB for 256 channels
    at 20 kHz; 107 MB more peak memory for a 256-channel 2 kHz EDF than for its first 32). It reads those it draws now;
    the title still counts them all."""
    mne = pytest.importorskip("mne")
    from wavegraph.nodes.io import plot as plotting

    names = [f"E{i}" for i in range(40)]
    x = np.arange(40 * 300, dtype=float).reshape(40, 300) * 1e-9
    mne.io.RawArray(x, mne.create_info(names, 100.0, "eeg"), verbose="error").save(tmp_path / "x_raw.fif")
    rec = plotting.load(tmp_path / "x_raw.fif")
    assert rec["data"].shape == (plotting.MAX_TRACES, 300) and len(rec["names"]) == rec["channels"] == 40
    np.testing.assert_allclose(rec["data"], x[: plotting.MAX_TRACES])
    assert plotting.plot(tmp_path / "x_raw.fif", tmp_path / "x.png").stat().st_size > 0


def test_two_recorders_into_one_bids_run_are_refused_before_the_run(tmp_path, monkeypatch, capsys):
    """--bids on a graph recording the raw and the filtered signal to .bdf: both took the graph's name as task, so
    one run; the session was recorded whole, then the second failed at close with mne-bids' '..._events.tsv already
    exists. Please set overwrite to True'. Said before the run now, with a task of its own as the fix."""
    mne = pytest.importorskip("mne")
    pytest.importorskip("mne_bids")
    from wavegraph.pipeline.cli import main

    monkeypatch.chdir(tmp_path)
    raw = mne.io.RawArray(np.full((2, 200), 1e-5), mne.create_info(["C3", "C4"], 100.0, "eeg"), verbose="error")
    raw.save("src_raw.fif", verbose="error")
    (tmp_path / "g.yaml").write_text(
        "name: two\nnodes:\n  - {id: src, type: file_source, params: {path: src_raw.fif}}\n"
        "  - {id: raw, type: recorder, params: {path: raw.bdf, subject: '01'}}\n"
        "  - {id: filt, type: recorder, params: {path: filt.bdf, subject: '01'}}\n"
        "edges:\n  - {source: src.out, target: raw.in}\n  - {source: src.out, target: filt.in}\n"
    )
    assert main(["run", "g.yaml", "--in-process", "--no-status", "--bids", "bids"]) == 2
    err = capsys.readouterr().err
    assert "recorders raw and filt copy their recordings into one BIDS run (subject 01, task two)" in err, err
    assert "--set 'filt.task=\"twofilt\"'" in err and not (tmp_path / "raw.bdf").exists()
    sets = ["--set", 'filt.task="twofilt"']
    assert main(["run", "g.yaml", "--in-process", "--no-status", "--bids", "bids", *sets]) == 0
    assert sorted(p.name for p in (tmp_path / "bids/sub-01/eeg").glob("*_eeg.bdf")) == [
        "sub-01_task-two_eeg.bdf",
        "sub-01_task-twofilt_eeg.bdf",
    ]


def test_recover_of_a_file_with_no_spill_says_it_is_left_as_it_is(tmp_path, capsys):
    """`wavegraph recover` of a complete recording (or of an EDF no recorder wrote) printed its path, exit 0, as it
    prints a recording it has just written: the user could not tell that nothing was recovered."""
    from wavegraph.nodes.io.recover import recover_main

    path = tmp_path / "x.edf"
    rec = Recorder(path=str(path))
    rec.configure({"in": SPEC})
    rec.process({"in": Chunk(np.zeros((2, 100)), 0.0)})
    rec._file.close()  # killed: the spill stays
    rec._chunks.close()
    assert recover_main([str(path)]) == 0
    assert capsys.readouterr().out == f"{path}\n"  # recovered: its path, as before
    assert recover_main([str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: no spill beside it: complete as it is, nothing to recover\n"


def test_a_resumed_batch_still_says_what_the_first_run_warned_of(tmp_path, capsys):
    """A batch whose input was cut short said 'WARNING ...: is truncated ... replaying those' once; the re-run that
    resumes it skipped the file as complete and said nothing, its summary and --json as if the input were whole. The
    warnings are kept with the file's completion marker and said again when it is skipped."""
    import json

    from wavegraph.pipeline.batch import main as batch
    from wavegraph.pipeline.batch import plan, run_job

    rec = Recorder(path=str(tmp_path / "cut.edf"))
    rec.configure({"in": SPEC})
    rec.process({"in": Chunk(np.full((2, 300), 1e-5), 0.0)})
    rec.close()
    edf = tmp_path / "cut.edf"
    edf.write_bytes(edf.read_bytes()[:-500])  # the last record cut short
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: x.edf}}\n"
        "  - {id: rec, type: recorder, params: {path: out.csv}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    (job,) = plan(str(graph), str(edf), str(tmp_path / "out"), [])
    first = run_job(job)
    assert first.status == "done" and any("truncated" in w for w in first.warnings), first
    code = batch([str(graph), "--inputs", str(edf), "--out", str(tmp_path / "out"), "--json", str(tmp_path / "o.json")])
    assert code == 0
    assert f"WARNING {edf}: " in capsys.readouterr().out
    (outcome,) = json.loads((tmp_path / "o.json").read_text())
    assert outcome["status"] == "skipped" and outcome["warnings"] == first.warnings


@pytest.mark.parametrize(
    "sidecar", ["eeg/sub-01_task-rest_events.tsv", "eeg/sub-01_task-rest_eeg.json", "sub-01_scans.tsv"]
)
def test_a_plot_of_a_bids_sidecar_names_its_recording(tmp_path, capsys, sidecar):
    """`wavegraph plot sub-01_task-rest_events.tsv` (a BIDS layout's metadata, where its recording was meant) was told
    'text tables (OpenBCI's, BrainFlow's, Mind Monitor's) are not read ... load it (numpy.loadtxt ...) and replay it
    from Python with array_source' (_eeg.json: 'not tables or pickles'). It names the recording beside it now."""
    from wavegraph.nodes.io.plot import main

    root = tmp_path / "bids/sub-01"
    for name in ("eeg/sub-01_task-rest_events.tsv", "eeg/sub-01_task-rest_eeg.json", "sub-01_scans.tsv"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("onset\tduration\n")
    (root / "eeg/sub-01_task-rest_eeg.edf").write_bytes(b"0")
    assert main([str(root / sidecar), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert (
        "it is a BIDS sidecar" in err and f"give the recording itself: {root / 'eeg/sub-01_task-rest_eeg.edf'}" in err
    )


def test_a_batch_pattern_the_shell_expanded_is_told_to_be_quoted(tmp_path, monkeypatch, capsys):
    """`wavegraph batch g.yaml --inputs recs/*.edf --out r` (unquoted): the shell gave --inputs the first file and the
    rest as words, which argparse said 'unrecognized arguments: recs/b.edf recs/c.edf' of, with no fix."""
    from wavegraph.pipeline.batch import main as batch

    monkeypatch.chdir(tmp_path)
    (tmp_path / "recs").mkdir()
    for name in ("a.edf", "b.edf", "c.edf"):
        (tmp_path / "recs" / name).write_bytes(b"0")
    with pytest.raises(SystemExit) as e:
        batch(["g.yaml", "--inputs", "recs/a.edf", "recs/b.edf", "recs/c.edf", "--out", "r"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "the shell expanded a pattern left unquoted" in err, err
    assert "--inputs took recs/a.edf alone, and 2 more files followed it" in err and "--inputs 'recs/*.edf'" in err
