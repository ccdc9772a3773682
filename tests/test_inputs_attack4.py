"""Broken and unusual inputs, a fourth sweep: `wavegraph recover` without or with the wrong paths, files
file_source does not read, marker streams of several channels, odd YAML and `--set` values, recorder paths.
Each test failed before its fix."""

from __future__ import annotations

import os

import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import numpy as np  # noqa: E402
import pytest
from test_io_hostile import replay  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.recover import recover_main
from wavegraph.pipeline.cli import main


def test_recover_without_a_path_is_a_usage_error(capsys):
    """`wavegraph recover` alone printed its help and exited 0, as if something had been recovered."""
    with pytest.raises(SystemExit) as e:  # argparse's usage error, as `wavegraph plot` alone gives
        main(["recover"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: wavegraph recover" in err and "required: paths" in err
    with pytest.raises(SystemExit) as e:  # asked for: the help, exit 0
        main(["recover", "--help"])
    assert e.value.code == 0


def test_recover_refuses_a_folder_or_a_file_no_recorder_writes(tmp_path, capsys):
    """`wavegraph recover out/` or `recover notes.txt`: the path was printed and the exit was 0, as for a recording
    found complete."""
    (tmp_path / "d_raw.fif").mkdir()
    (tmp_path / "notes.txt").write_text("take 2\n")
    assert recover_main([str(tmp_path / "d_raw.fif")]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert recover_main([str(tmp_path / "notes.txt")]) == 1
    err = capsys.readouterr().err
    assert "not a file a recorder writes" in err and "nothing to recover" in err


@pytest.mark.parametrize("name", ["notes.txt", "NOTES.TXT", "trial.mat"])
def test_a_table_or_matlab_file_says_what_to_do_without_a_reader_s_internals(tmp_path, name):
    """A .txt reached MNE's BOXY reader, and the message was 'cannot read x.txt: AssertionError'; a .mat reached
    read_raw_fieldtrip through mne.io.read_raw: 'TypeError: read_raw_fieldtrip() got an unexpected keyword argument
    'verbose'', with the list of formats as the fix."""
    from wavegraph.nodes.io.readers import open_reader
    from wavegraph.pipeline.spec import SpecError

    (tmp_path / name).write_bytes(b"time,C3,C4\n0.0,1.5,2.5\n")
    with pytest.raises(SpecError) as e:
        open_reader(tmp_path / name, "float64")
    said = str(e.value)
    assert "Error" not in said and f"cannot read {tmp_path / name}: not a recording" in said
    assert "array_source" in e.value.hint and ("loadmat" in e.value.hint) == name.endswith(".mat")


def test_an_xdf_marker_stream_of_two_string_channels_keeps_both(tmp_path):
    """A stimulus program's (event, condition) marker stream, recorded by LabRecorder. The replay took channel 0
    (pyxdf's README prints marker[0]) and dropped the other without a word: 'cue' twice, left and right lost."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 10.0 + np.arange(750) / 250.0
    eeg = XdfStream("eeg", "EEG", 250.0, np.random.default_rng(2).normal(size=(750, 2)), t, labels=["C3", "C4"])
    pairs = [["cue", "left"], ["cue", "right"], ["7", ""]]
    stim = XdfStream("stim", "Markers", 0.0, pairs, [10.5, 11.0, 11.5], channel_format="string")
    write_xdf(tmp_path / "s.xdf", [eeg, stim])
    specs, _, ev = replay(tmp_path / "s.xdf")
    names = dict(specs["events"].labels)
    assert [names[int(c)] for c in ev[:, 2]] == ["cue/left", "cue/right", "7"]


@pytest.mark.realtime  # an LSL outlet on loopback (tests/conftest.py); the rest of this file runs in the parallel pass
def test_an_lsl_marker_stream_of_two_string_channels_is_read_as_its_xdf_recording_is(monkeypatch):
    """The same stream live: lsl_inlet refused it ('string streams are markers: one'; fix: 'send markers on one
    channel', which a closed stimulus program cannot do). A text stream at a regular rate is still refused."""
    import threading

    import pylsl
    from test_live_attack import outlet, read_chunks, uname  # pyright: ignore[reportMissingImports]
    from wavegraph.nodes.io import lsl
    from wavegraph.nodes.io.lsl import LslInlet
    from wavegraph.pipeline.spec import SpecError

    # streams of names of their own: configure()'s 0.8 s listen for a second one of the query finds none here
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)

    name = uname("pairs")
    out = outlet(name, 2, pylsl.IRREGULAR_RATE, pylsl.cf_string, stype="Markers")
    node = LslInlet(name=name, clock_sync=False, wait=0.2, idle_timeout=2.0, marker_codes={"cue/left": 21})
    spec = node.configure({})["out"]
    assert spec.kind == "events"

    def push():
        assert out.wait_for_consumers(30.0)
        for pair in (["cue", "left"], ["7", ""]):
            out.push_sample(pair)

    th = threading.Thread(target=push)
    th.start()
    rows = np.concatenate([c.data for c in read_chunks(node, 60.0)])
    th.join()
    node.close()
    assert rows[:, 2].tolist() == [21.0, 7.0]
    text = uname("text-eeg")
    keep = outlet(text, 8, 250.0, pylsl.cf_string)  # noqa: F841
    with pytest.raises(SpecError) as e:
        LslInlet(name=text, resolve_timeout=2.0).configure({})
    assert "this one is at 250 Hz" in e.value.message and "numeric format" in e.value.hint


GRAPH = """\
nodes:
  - id: src
    type: sine
    params: {channels: 2, rate: 250.0, chunk_size: 25, duration: 1.0}
  - id: rec
    type: recorder
    params: {path: out_raw.fif, overwrite: true}
edges:
  - {source: src.out, target: rec.in}
"""


def test_a_monitor_port_out_of_range_or_a_host_not_of_this_machine_gets_its_own_fix(tmp_path, monkeypatch, capsys):
    """`--monitor-port 99999` (a 9999 with one 9 too many): the page came up on port 34463 (99999 modulo 65536), the
    run went on; `--monitor-host 999.1.1.1` was told 'choose another --monitor-port'."""
    pytest.importorskip("bokeh")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    for port in ("99999", "-1", "http"):
        with pytest.raises(SystemExit) as e:
            main(["run", "g.yaml", "--in-process", "--monitor", "--monitor-port", port])
        assert e.value.code == 2 and "--monitor-port takes a port from 0 to 65535" in capsys.readouterr().err
    assert main(["run", "g.yaml", "--in-process", "--monitor", "--monitor-host", "999.1.1.1"]) == 2
    err = capsys.readouterr().err
    assert "cannot listen on 999.1.1.1:8765" in err and "fix: give an address of this machine" in err
    assert not (tmp_path / "out_raw.fif").exists()


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        (244, "-1", "record duration of -1 s"),
        (244, "nan", "of nan s"),
        (252, "9999", "9999 signals in a header of"),
    ],
)
def test_an_edf_header_with_an_impossible_duration_or_signal_count_is_damaged(tmp_path, field, value, said):
    """An EDF whose record duration field says -1 replayed at -250 Hz (a .npz recorded at that rate, exit 0); 'nan'
    replayed at NaN Hz and the recorder failed at close ('cannot convert float NaN to integer', the file lost);
    a signal count the header's size cannot hold was MNE's "could not convert string to float: ''"."""
    from test_io_hostile import eeg_spec, record  # pyright: ignore[reportMissingImports]
    from wavegraph.pipeline.spec import SpecError

    path = tmp_path / "r.edf"
    record(path, np.random.default_rng(3).normal(0, 1e-5, (2, 1000)), eeg_spec(2))
    head = bytearray(path.read_bytes())
    width = 8 if field == 244 else 4
    head[field : field + width] = value.ljust(width).encode()
    path.write_bytes(head)
    with pytest.raises(SpecError) as e:
        replay(path)
    assert "header is damaged: it gives" in str(e.value) and said in str(e.value)
    assert "export it again" in e.value.hint


@pytest.mark.parametrize("interval", ["0", "-4000", "nan", "abc"])
def test_a_brainvision_header_with_an_impossible_sampling_interval_says_which_line(tmp_path, interval):
    """SamplingInterval=0 was MNE's 'ZeroDivisionError: float division by zero', -4000 'tmax should be greater than
    or equal to tmin (1970-01-01 ...)', nan 'cannot convert float NaN to integer', each with the list of formats as
    the fix."""
    import re

    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]
    from wavegraph.pipeline.spec import SpecError

    header = _brainvision(tmp_path, [("S  8", 100)])
    header.write_text(re.sub(r"SamplingInterval=.*", f"SamplingInterval={interval}", header.read_text()))
    with pytest.raises(SpecError) as e:
        replay(header)
    assert f"header is damaged: SamplingInterval={interval} is not a positive number" in str(e.value)
    assert "Error" not in str(e.value) and "edit that line" in e.value.hint


@pytest.mark.parametrize("rate", [float("nan"), float("inf")])
def test_an_xdf_stream_whose_nominal_rate_is_no_number_is_listed_with_why(tmp_path, rate):
    """nominal_srate nan or inf (a hand-made outlet): 'cannot read x.xdf: ValueError: cannot convert float NaN to
    integer' / 'OverflowError: cannot convert float infinity to integer', with the list of formats as the fix."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf
    from wavegraph.pipeline.spec import SpecError

    t = 10.0 + np.arange(500) / 250.0
    write_xdf(tmp_path / "x.xdf", [XdfStream("eeg", "EEG", rate, np.zeros((500, 2)), t, labels=["C3", "C4"])])
    with pytest.raises(SpecError) as e:
        replay(tmp_path / "x.xdf")
    assert "'eeg' (type EEG" in str(e.value) and "its nominal rate is not a number of Hz" in str(e.value)


def test_a_nul_character_in_a_parameter_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    """`--set 'rec.path="a\\u0000b_raw.fif"'` (a value pasted from a binary listing): a Python traceback ending in
    'ValueError: embedded null byte' (exit 1); in file_source's path it was 'no such file: a b.edf', the NUL unseen."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    assert main(["run", "g.yaml", "--in-process", "--set", 'rec.path="a\\u0000b_raw.fif"']) == 2
    assert capsys.readouterr().err.splitlines() == [
        "--set: node 'rec': parameter 'path' holds a NUL character; fix: remove it (no file name or text holds one; "
        "in a double-quoted YAML string, \\0 is a NUL)"
    ]
    (tmp_path / "g.yaml").write_text(GRAPH.replace("path: out_raw.fif", 'path: "out\\0_raw.fif"'))
    assert main(["validate", "g.yaml"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("g.yaml:7: node 'rec': parameter 'path' holds a NUL character")
    assert not list(tmp_path.glob("out*"))


@pytest.mark.parametrize("extra", [0, 60])
def test_a_recording_name_too_long_for_its_sidecars_is_refused_before_the_run(tmp_path, monkeypatch, capsys, extra):
    """A name the file system holds but not with '.spill.json.tmp' after it: the run started, its recorder failed to
    write the spill's header ('File name too long', exit 1, nothing recorded); longer than the file system's limit:
    'node 'rec' (recorder): [Errno 36] File name too long: ...' without a fix."""
    import os

    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    name = "x" * (os.pathconf(tmp_path, "PC_NAME_MAX") - len(".spill.json.tmp") + 1 + extra - len("_raw.fif"))
    assert main(["run", "g.yaml", "--in-process", "--set", f"rec.path={name}_raw.fif"]) == 2
    err = capsys.readouterr().err
    assert "the file system holds names of up to" in err and "; fix: give a name of at most" in err
    assert os.listdir(tmp_path) == ["g.yaml"]
    assert main(["validate", "g.yaml", "--set", f"rec.path={name[: -1 - extra]}_raw.fif"]) == 0  # one byte less


def test_a_number_with_a_leading_zero_is_decimal_and_a_base_60_one_is_text(tmp_path):
    """YAML 1.1 (PyYAML) read `run: 010` as the octal 8 (the BIDS file went to run-08), `chunk_size: 064` as 52, and
    `duration: 1:30` as 90 (base 60), all without a word; read as YAML 1.2 reads them: 10, 64, and text (refused
    where a number is needed), from the file and from --set alike."""
    from wavegraph.pipeline.config import GraphError, load_config
    from wavegraph.pipeline.graph import build_graph

    graph = GRAPH.replace("chunk_size: 25", "chunk_size: 025").replace("overwrite: true", "overwrite: true, run: 010")
    (tmp_path / "g.yaml").write_text(graph)
    config = load_config(tmp_path / "g.yaml", ["src.channels=012"])
    params = {n.id: n.params for n in config.nodes}
    assert (params["src"]["chunk_size"], params["src"]["channels"], params["rec"]["run"]) == (25, 12, 10)
    with pytest.raises(GraphError) as e:
        build_graph(load_config(tmp_path / "g.yaml", ["src.duration=1:30"]))
    assert "parameter 'duration' = '1:30'" in e.value.lines()[0]


def test_yes_no_on_and_off_are_text_as_in_yaml_1_2(tmp_path, monkeypatch, capsys):
    """A node called `on` was 'each node needs an id and a type' (YAML 1.1 read it as true); `on_error: no` was
    "on_error 'False'"; a yes/no task's `marker_codes: {yes: 1, no: 2}` had the keys True and False. A bool parameter
    still takes yes (overwrite: yes)."""
    from wavegraph.pipeline.config import load_config

    graph = GRAPH.replace("id: src", "id: on").replace("source: src.out", "source: on.out")
    (tmp_path / "g.yaml").write_text(graph.replace("overwrite: true", "overwrite: yes"))
    config = load_config(tmp_path / "g.yaml", ["rec.task=off"])
    assert [n.id for n in config.nodes] == ["on", "rec"] and config.nodes[1].params["task"] == "off"
    stop_no = graph.replace("overwrite: true}", "overwrite: true}\n    on_error: no")
    assert validate_lines(tmp_path, monkeypatch, capsys, stop_no) == [
        "g.yaml:8: node 'rec': on_error 'no'; fix: use stop or restart"
    ]
    (tmp_path / "m.yaml").write_text(
        "nodes:\n  - id: m\n    type: lsl_inlet\n    params: {name: t, marker_codes: {yes: 1, no: 2}}\n"
    )
    assert load_config(tmp_path / "m.yaml").nodes[0].params["marker_codes"] == {"yes": 1, "no": 2}


def validate_lines(tmp_path, monkeypatch, capsys, text):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    main(["validate", "g.yaml"])
    return capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("name", ["", ".", "keys/", " "])
def test_keys_without_a_file_name_writes_nothing(tmp_path, monkeypatch, capsys, name):
    """`wavegraph keys ''`, `keys .` or `keys keys/` wrote the pair named after the current folder into its parent
    (`keys .` in /home/me/lab wrote /home/me/lab.key), exit 0; `keys ' '` wrote ' .key'."""
    work = tmp_path / "lab"
    (work / "keys").mkdir(parents=True)
    monkeypatch.chdir(work)
    assert main(["keys", name]) == 2
    assert "is a folder or blank, not a file name; fix: give one, e.g." in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keys", "lab"]


def test_plot_into_a_folder_not_made_yet_makes_it(tmp_path, capsys):
    """`wavegraph plot rec.fif -o figs/s01.png` before figs/ existed: 'cannot plot rec.fif: FileNotFoundError: [Errno 2]
    No such file or directory: figs/s01.png' (exit 2), where a recorder and --json make their folders."""
    from test_io_hostile import eeg_spec, record  # pyright: ignore[reportMissingImports]

    record(tmp_path / "r_raw.fif", np.random.default_rng(5).normal(0, 1e-5, (2, 500)), eeg_spec(2))
    out = tmp_path / "figs" / "s01" / "r.png"
    assert main(["plot", str(tmp_path / "r_raw.fif"), "-o", str(out)]) == 0
    assert out.stat().st_size > 0 and capsys.readouterr().out.strip() == str(out)


def test_recover_of_a_spill_killed_before_its_header_was_written(tmp_path, capsys):
    """A recorder with an events input makes its (empty) spill at the first marker; killed before the first sample,
    `recover` said 'FileNotFoundError: [Errno 2] No such file or directory: x_raw.fif.spill.json' and left the spill;
    a header deleted or damaged by hand was a bare 'JSONDecodeError' or "KeyError: 'spec'"."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    path = tmp_path / "cal_raw.fif"
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": signal_spec(250.0, ["C3"]), "events": StreamSpec("events", 0.0, (3,), labels=((1, "go"),))})
    rec.process({"events": Chunk(np.array([[0.5, 0.0, 1.0]]), t0=0.5)})
    assert rec._spill is not None  # made at the marker, locked, with no header yet
    rec._spill.close()  # the process was killed: the system closes its files and drops the lock
    assert recover_main([str(path)]) == 1
    assert "cal_raw.fif.spill held no complete sample: nothing to write" in capsys.readouterr().err
    assert not path.with_name("cal_raw.fif.spill").exists()
    path.with_name("cal_raw.fif.spill").write_bytes(bytes(80))
    path.with_name("cal_raw.fif.spill.json").write_text("{bad")
    assert recover_main([str(path)]) == 1
    assert "cal_raw.fif.spill's header cal_raw.fif.spill.json is missing or damaged" in capsys.readouterr().err


def test_a_check_across_parameters_names_the_node_not_an_empty_parameter(tmp_path, monkeypatch, capsys):
    """file_source with chunk_size and chunk_duration both (each node's model validator): "parameter '' =
    {'chunk_duration': 1.0, 'chunk_size': 10, 'path': ...}: Value error, give chunk_size or chunk_duration, not both;
    fix: give a ?"."""
    text = (
        "nodes:\n  - id: src\n    type: file_source\n    params: {path: a.edf, chunk_size: 10, chunk_duration: 1.0}\n"
    )
    assert validate_lines(tmp_path, monkeypatch, capsys, text) == [
        "g.yaml:2: node 'src' (file_source): give chunk_size or chunk_duration, not both (chunk_size 10, "
        "chunk_duration 1.0); fix: remove one (on the command line, over a graph file's: --set src.chunk_size=null or "
        "--set src.chunk_duration=null)"
    ]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ("channels: 0, rate: 250", "`channels: 0` declares no channel"),
        ("channels: [], rate: 250", "`channels: []` declares no channel"),
        ("marker_codes: {go: 99999999999999999999}", "`marker_codes` beyond +-2**53"),
    ],
)
def test_an_lsl_inlet_declaring_no_channel_or_a_code_no_event_row_holds_is_refused(
    tmp_path, monkeypatch, capsys, params, said
):
    """`validate` said OK: a declared spec of 0 channels went downstream (no stream can ever match it), and a code
    beyond 2**53 was accepted, then every such marker dropped as unknown at run time."""
    text = f"nodes:\n  - id: m\n    type: lsl_inlet\n    params: {{name: amp, {params}}}\n"
    lines = validate_lines(tmp_path, monkeypatch, capsys, text)
    assert len(lines) == 1 and lines[0].startswith("g.yaml:2: node 'm' (lsl_inlet): lsl_inlet ") and said in lines[0]


def test_bids_labels_and_a_bids_root_that_cannot_be_made_are_refused_before_the_run(tmp_path, monkeypatch, capsys):
    """--set 'rec.subject="sub 01"' wrote sub-sub 01/ (a space: not a BIDS label; the validator refuses the dataset),
    subject ü likewise; --bids under a file (or /proc) recorded the whole run and then failed at close ('[Errno 2]
    No such file or directory', exit 1); line_freq -50 and run -1 were taken."""
    pytest.importorskip("mne_bids")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH.replace("out_raw.fif", "out.edf"))
    cases = [
        (["--set", 'rec.subject="sub 01"', "--bids", "bids"], "BIDS subject 'sub 01' is not a BIDS label"),
        (["--set", "rec.subject=ü", "--bids", "bids"], "BIDS subject 'ü' is not a BIDS label"),
        (["--set", "rec.subject=01", "--bids", "g.yaml/bids"], "cannot make the BIDS layout in"),
        (["--set", "rec.subject=01", "--set", "rec.line_freq=-50", "--bids", "bids"], "give line_freq > 0"),
        (["--set", "rec.subject=01", "--set", "rec.run=-1", "--bids", "bids"], "give run >= 0"),
    ]
    for args, said in cases:
        assert main(["run", "g.yaml", "--in-process", "--no-status", *args]) == 2, args
        assert said in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.yaml"]
    assert main(["run", "g.yaml", "--in-process", "--no-status", "--set", "rec.subject=01", "--bids", "bids"]) == 0
    assert list((tmp_path / "bids").rglob("sub-01_task-g_eeg.edf"))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--jobs", "-1"], "argument --jobs: takes a count of 1 or more"),
        (["--jobs", "0"], "argument --jobs: takes a count of 1 or more"),
        (["--task-gpus", "nan"], "argument --task-gpus: takes a number >= 0"),
        (["--task-cpus", "-1"], "argument --task-cpus: takes a number >= 0"),
        (["--out", ""], "argument --out: is empty"),
    ],
)
def test_batch_counts_out_of_range_and_an_empty_out_are_usage_errors(tmp_path, capsys, args, said):
    """`--jobs -1` (joblib's 'every CPU') and `--jobs 0` ran one worker without a word, `--task-gpus nan` was taken,
    `--out ""` (an unset $OUT) was the current folder: 'every file ... lies in --out , where the batch writes'."""
    from wavegraph.pipeline import batch

    full = ["g.yaml", "--inputs", str(tmp_path / "*.edf"), "--out", str(tmp_path / "out"), *args]
    with pytest.raises(SystemExit) as e:
        batch.main(full)
    assert e.value.code == 2 and said in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["run", ""],
        ["run", "g.yaml", "--in-process", "--json", ""],
        ["run", "g.yaml", "--in-process", "--bids", ""],
        ["describe", "g.yaml", "--png", ""],
    ],
)
def test_an_empty_path_on_the_command_line_is_a_usage_error(tmp_path, monkeypatch, capsys, args):
    """`wavegraph run "$GRAPH"` with GRAPH unset took the current folder (': is a folder, not a graph file'); `--json
    "$OUT"`, `--bids "$ROOT"` and `--png ""` were dropped: the run went on without them, exit 0."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2 and "is empty (a shell variable that was unset" in capsys.readouterr().err
    assert not (tmp_path / "out_raw.fif").exists()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<channel_format>double64</channel_format>", b"<channel_format>double65</channel_format>"),
        (b"<nominal_srate>", b"<nominal_srate"),
    ],
)
def test_an_xdf_pyxdf_cannot_parse_is_said_to_be_damaged_not_of_an_unsupported_format(tmp_path, old, new):
    """A stream header with an unknown channel format or broken XML: "KeyError: 'double65'" / "ParseError: not
    well-formed" with the list of supported formats, XDF among them, as the fix."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf
    from wavegraph.pipeline.spec import SpecError

    t = 10.0 + np.arange(500) / 250.0
    write_xdf(tmp_path / "s.xdf", [XdfStream("eeg", "EEG", 250.0, np.zeros((500, 2)), t, labels=["C3", "C4"])])
    (tmp_path / "s.xdf").write_bytes((tmp_path / "s.xdf").read_bytes().replace(old, new, 1))
    with pytest.raises(SpecError) as e:
        replay(tmp_path / "s.xdf")
    assert e.value.hint.startswith("it is XDF but damaged") and "supported formats" not in e.value.hint


def test_an_edf_whose_signal_header_is_damaged_says_so_not_the_formats(tmp_path):
    """A signal's samples-per-record field holding 'x': "ValueError: invalid literal for int() with base 10: 'x'" with
    the list of supported formats, EDF among them, as the fix."""
    from test_io_hostile import eeg_spec, record  # pyright: ignore[reportMissingImports]
    from wavegraph.pipeline.spec import SpecError

    path = tmp_path / "r.edf"
    record(path, np.random.default_rng(3).normal(0, 1e-5, (2, 1000)), eeg_spec(2))
    head = bytearray(path.read_bytes())
    ns = int(head[252:256])
    at = 256 + ns * (16 + 80 + 8 * 5 + 80)  # the samples-per-record field of the first signal
    head[at : at + 8] = b"x       "
    path.write_bytes(head)
    with pytest.raises(SpecError) as e:
        replay(path)
    assert e.value.hint.startswith("it is EDF but damaged") and "supported formats" not in e.value.hint


def test_a_process_group_name_too_long_for_its_run_files_is_one_line(tmp_path, monkeypatch, capsys):
    """A 300-character group name (a generated placement) validated, then `run` ended in a Python traceback:
    "OSError: [Errno 36] File name too long: '/tmp/wg-.../ggg....json'" (exit 1)."""
    monkeypatch.chdir(tmp_path)
    for size, code in ((300, 2), (240, 0)):
        (tmp_path / "g.yaml").write_text(GRAPH + f"processes:\n  {'g' * size}: [src]\n")
        assert main(["run", "g.yaml", "--no-status"]) == code
        err = capsys.readouterr().err
        assert (
            f"g.yaml:11: process 'gggggggggggggggggggg...': a name of {size} bytes; fix: use at most 240" in err
        ) == (code == 2)


def test_set_of_a_nodes_type_or_on_error_says_where_they_are_set(tmp_path, monkeypatch, capsys):
    """`--set src.type=noise` was told "did you mean 'dtype'?"; `--set src.on_error=restart` got the list of
    parameters."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    for key in ("type", "on_error"):
        assert main(["validate", "g.yaml", "--set", f"src.{key}=noise"]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"g.yaml:2: node 'src' (sine): unknown parameter '{key}' (from --set); fix: a node's {key} is no "
            f"parameter: change it in the graph file ({key}: ... beside params)"
        ]


def test_a_node_module_that_exits_as_it_is_imported_is_said(tmp_path, monkeypatch, capsys):
    """`type: mynodes:Filter` where mynodes.py is a script ending in sys.exit(main()): wavegraph exited with the
    script's code (3), printing nothing."""
    (tmp_path / "exiting_nodes_4.py").write_text("import sys\nsys.exit(3)\n")
    text = "nodes:\n  - id: a\n    type: exiting_nodes_4:Filter\n"
    assert validate_lines(tmp_path, monkeypatch, capsys, text) == [
        "g.yaml:3: node 'a': unknown type 'exiting_nodes_4:Filter'; fix: cannot import module 'exiting_nodes_4': it "
        "called sys.exit(3) as it was imported (a script?)"
    ]


def test_array_source_renames_repeated_channel_names_as_mne_does(tmp_path, caplog):
    """ch_names=['C3', 'C3'] (a copy-paste): the stream carried two channels of one name, a CSV recording two columns
    'C3', while a FIF of the same stream had them renamed by MNE, and file_source and lsl_inlet rename them too."""
    import mne
    from wavegraph.pipeline.api import GraphBuilder

    g = GraphBuilder()
    x = np.random.default_rng(0).normal(0, 1e-5, (3, 500))
    src = g.add("array_source", data=x, rate=250.0, ch_names=["C3", "C3", "Cz"], ch_types="eeg")
    g.add("recorder", src, path=str(tmp_path / "r.csv"))
    with caplog.at_level("WARNING", "wavegraph.file_source"):
        out = g.run(capture=[src])
    mne_names = mne.create_info(["C3", "C3", "Cz"], 250.0, verbose="error").ch_names
    assert list(out[f"{src}.out"].spec.channel_names) == mne_names
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == "t," + ",".join(mne_names)
    assert "ch_names repeat; renamed as MNE renames them" in caplog.text


def test_an_xdf_numeric_marker_stream_of_two_channels_says_what_it_keeps(tmp_path, caplog):
    """PsychoPy's (code, value) int32 pairs recorded by LabRecorder: channel 0 became the code and the values were
    dropped without a word."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 10.0 + np.arange(750) / 250.0
    eeg = XdfStream("eeg", "EEG", 250.0, np.zeros((750, 2)), t, labels=["C3", "C4"])
    pairs = XdfStream("psychopy", "Markers", 0.0, np.array([[3, 1], [7, 2]]), [10.5, 11.0], channel_format="int32")
    write_xdf(tmp_path / "s.xdf", [eeg, pairs])
    with caplog.at_level("WARNING", "wavegraph.file_source"):
        specs, _, ev = replay(tmp_path / "s.xdf")
    assert ev[:, 2].tolist() == [3.0, 7.0]
    assert "marker stream 'psychopy' has 2 numeric channels: channel 0 is each marker's code" in caplog.text


def test_plot_of_a_file_it_cannot_read_says_file_sources_words(tmp_path, capsys):
    """'error: cannot plot notes.txt: SpecError: file_source: ...': the exception's class name in front of the
    message and its fix."""
    (tmp_path / "notes.txt").write_text("0.1,0.2\n")
    assert main(["plot", str(tmp_path / "notes.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot plot {tmp_path / 'notes.txt'}: cannot read") and "Error" not in err


@pytest.mark.parametrize("name", ["m.edf", "m.bdf", "m_raw.fif"])
def test_a_marker_label_with_a_newline_or_empty_is_not_lost_in_the_recording(tmp_path, name):
    """A label 'go\\nleft' (a multi-line text from a stimulus program) was written into the EDF/BDF annotation as it
    was, and MNE's reader dropped that marker; a code whose label is '' was written as an empty annotation, which an
    EDF reader takes for a record's time stamp: 2 of 3 markers lost, without a word."""
    import mne
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    labels = ((1, "go\nleft"), (2, ""), (3, "rest"))
    rec = Recorder(path=str(tmp_path / name), events=True)
    rec.configure({"in": signal_spec(250.0, ["C3"]), "events": StreamSpec("events", 0.0, (3,), labels=labels)})
    rec.process({"in": Chunk(np.zeros((1, 1000)), t0=0.0)})
    rec.process({"events": Chunk(np.array([[0.5, 0.0, 1.0], [1.0, 0.0, 2.0], [1.5, 0.0, 3.0]]), t0=0.5)})
    rec.finish()
    rec.close()
    said = list(mne.io.read_raw(tmp_path / name, verbose="error").annotations.description)
    assert len(said) == 3 and said[1:] == ["2", "rest"] and said[0].replace("\n", " ") == "go left"


def test_describe_png_to_a_name_matplotlib_cannot_write_is_one_line(tmp_path, monkeypatch, capsys):
    """`describe g.yaml --png graph.txt` ended in matplotlib's traceback ("ValueError: Format 'txt' is not
    supported", exit 1); `--png graph` wrote a PNG named 'graph' (plot -o adds .png)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    assert main(["describe", "g.yaml", "--png", "graph.txt"]) == 2
    assert capsys.readouterr().err.startswith("--png: graph.txt: .txt is not a picture format matplotlib writes; fix:")
    assert main(["describe", "g.yaml", "--png", "graph"]) == 0
    assert "graph drawn to graph.png" in capsys.readouterr().out and (tmp_path / "graph.png").stat().st_size > 0


def test_a_key_or_type_with_a_lookalike_or_invisible_character_says_which(tmp_path, monkeypatch, capsys):
    """Copied from a web page or a PDF: 'pаrams' with a Cyrillic а was "unknown key 'pаrams'; fix: use id, type, params,
    on_error", 'sine' + a zero-width space "unknown type 'sine'; did you mean 'sine'?", 'rate' + a no-break space
    "unknown parameter 'rate '; did you mean 'rate'?": the difference unseen."""
    cases = [
        ("    p\u0430rams: {channels: 2}\n", "CYRILLIC SMALL LETTER A at character 2"),
        ("    params: {channels: 2, rate\u00a0: 250.0}\n", "NO-BREAK SPACE at character 5"),
    ]
    for line, said in cases:
        lines = validate_lines(tmp_path, monkeypatch, capsys, "nodes:\n  - id: src\n    type: sine\n" + line)
        assert len(lines) == 1 and f"(it holds {said}: not what it looks like; type it again)" in lines[0]
    lines = validate_lines(tmp_path, monkeypatch, capsys, "nodes:\n  - id: src\n    type: sine\u200b\n")
    assert lines == [
        "g.yaml:3: node 'src': unknown type 'sine\u200b' (it holds ZERO WIDTH SPACE at character 5: not what it looks "
        "like; type it again); fix: did you mean 'sine'?"
    ]


def test_a_split_fif_given_by_its_second_part_or_missing_it_is_said(tmp_path, caplog):
    """MNE splits a FIF past split_size into x_raw.fif and x_raw-1.fif. Given x_raw-1.fif, file_source replayed that
    quarter alone with only MNE's note on the name; x_raw.fif copied without its -1 part had the list of formats as
    the fix of MNE's 'Split raw file detected but next file ... does not exist'."""
    import shutil

    import mne
    from wavegraph.pipeline.spec import SpecError

    info = mne.create_info(64, 1000.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (64, 60000)), info, verbose="error")
    raw.save(tmp_path / "x_raw.fif", split_size="12MB", verbose="error")
    assert (tmp_path / "x_raw-1.fif").exists()
    with caplog.at_level("WARNING", "wavegraph.file_source"):
        _, part, _ = replay(tmp_path / "x_raw-1.fif")
    assert 0 < part.shape[1] < 60000
    assert f"x_raw-1.fif is part 2 of the split recording x_raw.fif: replaying this part alone; give {tmp_path}" in (
        caplog.text
    )
    (tmp_path / "alone").mkdir()
    shutil.copy(tmp_path / "x_raw.fif", tmp_path / "alone" / "x_raw.fif")
    with pytest.raises(SpecError) as e:
        replay(tmp_path / "alone" / "x_raw.fif")
    assert "a file of the recording is missing" in str(e.value) and "a split FIF: NAME_raw-1.fif" in e.value.hint


def test_set_of_a_node_id_with_a_lookalike_character_says_which(tmp_path, monkeypatch, capsys):
    """`--set srс.rate=3` with a Cyrillic с (a command pasted from a chat): "no node 'srс' to override; fix: use one
    of: src, rec"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    assert main(["validate", "g.yaml", "--set", "sr\u0441.rate=3"]) == 2
    assert "'sr\u0441' (it holds CYRILLIC SMALL LETTER ES at character 3" in capsys.readouterr().err


def test_an_edge_end_with_a_lookalike_character_says_which(tmp_path, monkeypatch, capsys):
    """'rеc.in' with a Cyrillic е: "no node 'rеc'; fix: did you mean 'src'?"; 'src.оut' with a Cyrillic о: "node
    'src' has no output port 'оut'; fix: 'src' outputs: out"."""
    for old, new, said in (
        (
            "target: rec.in",
            "target: r\u0435c.in",
            "no node 'r\u0435c' (it holds CYRILLIC SMALL LETTER IE at character 2",
        ),
        ("source: src.out", "source: src.\u043eut", "port '\u043eut' (it holds CYRILLIC SMALL LETTER O at character 1"),
    ):
        lines = validate_lines(tmp_path, monkeypatch, capsys, GRAPH.replace(old, new))
        assert any(said in line for line in lines), lines


def test_a_recorders_spill_given_to_file_source_says_to_recover_it(tmp_path):
    """A killed session leaves x_raw.fif.spill; replaying it gave "ValueError: Unsupported file type (.fif.spill)"
    with the list of formats as the fix."""
    from wavegraph.nodes.io.readers import open_reader
    from wavegraph.pipeline.spec import SpecError

    (tmp_path / "x_raw.fif.spill").write_bytes(bytes(64))
    with pytest.raises(SpecError) as e:
        open_reader(tmp_path / "x_raw.fif.spill", "float64")
    assert str(e.value).startswith(f"file_source: cannot read {tmp_path / 'x_raw.fif.spill'}: not a recording")
    assert "`wavegraph recover PATH`" in e.value.hint
