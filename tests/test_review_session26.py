"""Review of session 26's helper commits (helper 181): each with the test that failed before its fix."""

from __future__ import annotations

import pytest


def test_train_enhancer_takes_more_threads_than_cpus_and_says_so_refusing_only_an_absurd_count(capsys):
    """`--threads N` above this machine's CPUs was refused (exit 2), where torch.set_num_threads runs it (taking
    turns): a count set for another machine, or a container whose CPU quota its affinity does not show. It is taken
    now, said in one stderr line; only a count no machine runs (past 1024, or the CPUs if more) is refused."""
    from wavegraph.models import train_enhancer_args as tr
    from wavegraph.models.cli_args import MAX_THREADS, usable_cpus

    cpus = usable_cpus()
    ap = tr.parser("")
    args = ap.parse_args(["--threads", str(cpus + 1)])
    tr.check_args(ap, args)
    assert args.threads == cpus + 1
    err = capsys.readouterr().err
    assert f"--threads {cpus + 1} is more than the {cpus} CPUs" in err and "torch runs them" in err
    tr.check_args(ap, ap.parse_args(["--threads", str(cpus)]))
    assert capsys.readouterr().err == ""  # (as many as the CPUs: nothing to say)
    too_many = max(MAX_THREADS, cpus) + 1
    with pytest.raises(SystemExit) as e:
        ap.parse_args(["--threads", str(too_many)])
    assert e.value.code == 2
    assert f"give 1..{too_many - 1}" in capsys.readouterr().err


def test_brainflow_lookup_given_on_python_3_11_still_finds_a_package_by_its_name():
    """import_brainflow gives BrainFlow's modules the package-relative lookup of Python 3.12 (its 3.11 wheel asked
    pkg_resources, gone from setuptools 81). It replaced `files` with name.rpartition('.')[0] for every name: a BrainFlow
    asking for its package ('brainflow', as a release may) got files('') ('Empty module name'), broken where it
    worked. Now the original lookup is tried first, and a module's name alone falls back to its package."""
    pytest.importorskip("brainflow")
    import importlib.resources

    import brainflow.board_shim as shim
    from wavegraph.nodes.io.brainflow_source import import_brainflow

    import_brainflow()
    import_brainflow()  # (twice: the same lookup, not one wrapped in another)
    lib = importlib.resources.files("brainflow").joinpath("lib")
    assert str(shim.files("brainflow").joinpath("lib")) == str(lib)
    assert str(shim.files("brainflow.board_shim").joinpath("lib")) == str(lib)  # a module: its package's
    assert shim.BoardShim.get_sampling_rate(int(shim.BoardIds.SYNTHETIC_BOARD.value)) == 250


def _blocks_through(node, blocks):
    """Each block (package numbers, BrainFlow's Unix-time stamps) of the synthetic board's rows through the node's loss
    count and chunk cut, as read() passes what BoardShim.get_board_data gives; the gap flags."""
    import numpy as np
    from brainflow.board_shim import BoardShim

    board = int(node._desc_id)
    flags = []
    for package, stamps in blocks:
        raw = np.zeros((BoardShim.get_num_rows(board), len(package)))
        raw[BoardShim.get_package_num_channel(board)] = package
        raw[BoardShim.get_timestamp_channel(board)] = stamps
        flags.append(node._losses(raw))
        node._split(raw)
    return flags


def test_brainflow_a_dropout_longer_than_the_package_numbers_wrap_counts_every_lost_sample():
    """BrainFlow's package numbers wrap at 256 (the synthetic board, a Cyton): a radio dropout of 300 samples (1.2 s at
    250 Hz) showed as a jump of 45 numbers and was counted 44 lost. The stamps (BrainFlow's, the host's Unix time as
    each sample came) say how many wraps the jump hides: 300 now; a jump whose stamps are on time stays as it was."""
    pytest.importorskip("brainflow")
    import numpy as np
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource

    node = BrainFlowSource(board="SYNTHETIC_BOARD")
    node.configure({})
    n, t = np.arange(10), 1.7e9 + np.arange(10) / 250
    after = 10 + 300 + np.arange(10)  # 300 samples lost: numbers 54.. after 9
    assert _blocks_through(node, [(n % 256, t), (after % 256, 1.7e9 + after / 250)]) == [False, True]
    assert node.counters == {"gaps": 1, "lost_samples": 300}
    node = BrainFlowSource(board="SYNTHETIC_BOARD")
    node.configure({})
    late = 10 + 7 + np.arange(10)  # 7 lost, the stamps a little late (the dongle's bursts): 7
    assert _blocks_through(node, [(n, t), (late % 256, 1.7e9 + late / 250 + 0.05)]) == [False, True]
    assert node.counters == {"gaps": 1, "lost_samples": 7}


def test_an_edf_utf8_label_cut_short_into_another_channels_name_keeps_both_channels_names(tmp_path):
    """A UTF-8 EDF label whose 16 bytes cut its last character in two ('ABCDEFGHIJKLMNO' + the first byte of 'Ö') is
    replayed without that character, 'ABCDEFGHIJKLMNO': when another channel is labelled so, both were renamed
    ABCDEFGHIJKLMNO-0 / -1 (the other's name, written right, lost). The cut one keeps MNE's name now, the other its own."""
    import numpy as np
    from wavegraph.nodes.io.file_source import FileSource

    from tests.test_real_files3 import _edf

    x = np.arange(200) - 100
    labels = ["ABCDEFGHIJKLMNOÖ".encode()[:16], b"ABCDEFGHIJKLMNO", "Öz".encode()]
    path = _edf(tmp_path / "cut.edf", [(n, "uV", x, 100, -1, 1) for n in labels], 2)
    src = FileSource(path=str(path), picks=["ABCDEFGHIJKLMNO", "Öz"])
    names = src.configure({})["out"].channel_names
    src.close()
    assert names == ("ABCDEFGHIJKLMNO", "Öz")
    src = FileSource(path=str(path))
    assert src.configure({})["out"].channel_names == ("ABCDEFGHIJKLMNOÃ", "ABCDEFGHIJKLMNO", "Öz")
    src.close()


@pytest.mark.parametrize(
    "params, message",
    [
        (  # it said 'board PlayBack has no eeg channels; fix: take channels among none'
            {"board": "PLAYBACK_FILE_BOARD", "master_board": "PLAYBACK_FILE_BOARD", "file": __file__},
            r"master_board PLAYBACK_FILE_BOARD is no amplifier.*; fix: set master_board to the board the file",
        ),
        (
            {"board": "STREAMING_BOARD", "master_board": "streaming"},
            r"master_board streaming is no amplifier.*; fix: set master_board",
        ),
        (  # it said '... no description of board -100 (...)' with no fix
            {"board": "NO_BOARD"},
            r"no description of board NO_BOARD .*; fix: use a board that streams \(SYNTHETIC_BOARD",
        ),
    ],
)
def test_brainflow_a_board_that_stands_for_none_is_refused_at_build_with_the_fix(params, message):
    pytest.importorskip("brainflow")
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource
    from wavegraph.pipeline.spec import SpecError

    with pytest.raises(SpecError, match=message):
        BrainFlowSource(**params).configure({})


def _brainflow_file(path, board: int, n: int):
    """A file DataFilter.write_file wrote: `n` samples of `board`'s rows (package numbers counting, stamps at its rate)."""
    import numpy as np
    from wavegraph.nodes.io.brainflow_source import import_brainflow

    import_brainflow()  # (BrainFlow's lookup of its library on Python 3.11)
    from brainflow.board_shim import BoardShim
    from brainflow.data_filter import DataFilter

    x = np.zeros((BoardShim.get_num_rows(board), n))
    x[BoardShim.get_package_num_channel(board)] = np.arange(n) % 256
    x[BoardShim.get_timestamp_channel(board)] = 1.7e9 + np.arange(n) / BoardShim.get_sampling_rate(board)
    DataFilter.write_file(x, str(path), "w")
    return path


def test_brainflow_playback_of_another_boards_file_is_refused_at_build_naming_the_boards_it_fits():
    """A Cyton's file (24 values a sample) replayed with master_board SYNTHETIC_BOARD (32): BrainFlow's playback board
    skips every line ('invalid string in file'), so the run streamed nothing and never ended (a stall warning after
    5 s). Refused at build now, naming the boards whose samples have 24 values; an empty file too."""
    pytest.importorskip("brainflow")
    import tempfile
    from pathlib import Path

    from brainflow.board_shim import BoardIds
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource
    from wavegraph.pipeline.spec import SpecError

    with tempfile.TemporaryDirectory() as tmp:
        path = _brainflow_file(Path(tmp) / "cyton.csv", int(BoardIds.CYTON_BOARD.value), 20)
        params = {"board": "PLAYBACK_FILE_BOARD", "file": str(path)}
        with pytest.raises(SpecError, match=r"has 24 values a sample, master_board SYNTHETIC_BOARD's samples 32") as e:
            BrainFlowSource(**params, master_board="SYNTHETIC_BOARD").configure({})
        assert "fix: set master_board to the board the file was recorded from (CYTON_BOARD" in str(e.value)
        assert BrainFlowSource(**params, master_board="CYTON_BOARD").configure({})["out"].rate == 250
        (Path(tmp) / "empty.csv").write_text("\n\n")
        with pytest.raises(SpecError, match="holds no sample"):
            BrainFlowSource(**{**params, "file": str(Path(tmp) / "empty.csv")}, master_board="CYTON").configure({})


def test_brainflow_playback_counts_the_samples_the_board_streams_without_loading_the_file(tmp_path):
    """open() loaded the whole file with DataFilter.read_file to find its end (6 s and the file's samples in memory
    for 15 min of a Cyton, before the first sample), and a file with a line BrainFlow's playback board skips (another
    count of values: a line a crash cut, a note) was refused, 'BrainFlow cannot read file', though the board replays
    the rest. The lines the board streams are counted one by one now: such a file replays its samples to its end, and
    open() holds far less than the samples in memory."""
    pytest.importorskip("brainflow")
    import tracemalloc

    import numpy as np
    from brainflow.board_shim import BoardIds
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource

    synth = int(BoardIds.SYNTHETIC_BOARD.value)
    lines = _brainflow_file(tmp_path / "w.csv", synth, 40).read_text().splitlines(True)
    path = tmp_path / "noted.csv"
    path.write_text("".join([*lines[:20], "1.0\t2.0\t3.0\n", *lines[20:]]))  # a line of 3 values: skipped
    node = BrainFlowSource(board="PLAYBACK_FILE_BOARD", master_board="SYNTHETIC_BOARD", file=str(path), chunk_size=16)
    node.configure({})
    node.open()
    try:
        chunks = []
        while (out := node.read()) is not None:
            chunks.append(out.get("out"))
    finally:
        node.close()
    package = np.concatenate([c.data for c in chunks if c is not None], axis=1)
    assert package.shape == (16, 40)
    big = _brainflow_file(tmp_path / "big.csv", synth, 10000)  # 32 x 10000 samples: 2.56 MB as read_file's array
    node = BrainFlowSource(board="PLAYBACK_FILE_BOARD", master_board="SYNTHETIC_BOARD", file=str(big))
    node.configure({})
    tracemalloc.start()
    try:
        node.open()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        node.close()
    assert node._limit == 10000 and peak < 1_000_000, peak
