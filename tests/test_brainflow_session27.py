"""brainflow_source leftovers (session 27): `wavegraph devices` lists BrainFlow's boards, and a session prepared by
open() is released at once on every failure after prepare_session (it was left to the BoardShim's garbage collection).
The real library, its synthetic board (offline)."""

import gc
import subprocess
import sys

import pytest
from conftest import ROOT
from wavegraph.pipeline.cli import main as cli
from wavegraph.pipeline.spec import SpecError

pytest.importorskip("brainflow")

from test_brainflow_source import _board_free  # noqa: E402  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io import devices  # noqa: E402
from wavegraph.nodes.io.brainflow_source import BrainFlowSource, import_brainflow  # noqa: E402

bs = import_brainflow()
SYNTH = int(bs.BoardIds.SYNTHETIC_BOARD.value)
BOARDS = [b.name for b in bs.BoardIds if b.name != "NO_BOARD"]  # NO_BOARD streams nothing: not offered


def _devices(*args: str) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "devices", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def _id(board: str) -> str:
    """The board's id as `devices` right-aligns it, from the installed BrainFlow (not a version's numbering)."""
    return f"  {int(bs.BoardIds[board].value):>3}"


def _described(board: str) -> str:
    """'Cyton, 250 Hz, 8 EEG' as BrainFlow's installed version describes the board (no version's figures here)."""
    desc = bs.BoardShim.get_board_descr(int(bs.BoardIds[board].value))
    return f"{desc['name']}, {desc['sampling_rate']} Hz, {len(desc['eeg_channels'])} EEG"


def test_devices_lists_the_brainflow_boards_that_need_no_hardware_and_all_of_them_on_request():
    """By default the count and the boards that run without an amplifier (the synthetic board with its rate and EEG
    channels, the playback and streaming boards with what they need); --all-boards: every board, name and id."""
    out = _devices()
    section = out[out.index("BrainFlow ") :].splitlines()
    assert section[0].endswith(
        f"boards (use the name or id as `board:` of brainflow_source): {len(BOARDS)}; those that need no hardware "
        "below (`wavegraph devices --all-boards`: every one)"
    )
    assert section[1:] == [
        f"{_id('PLAYBACK_FILE_BOARD')} PLAYBACK_FILE_BOARD: no hardware, replays a file BrainFlow wrote (file, master_board)",
        f"{_id('STREAMING_BOARD')} STREAMING_BOARD: no hardware, another BrainFlow session's stream (ip_address, ip_port, "
        "master_board)",
        f"{_id('SYNTHETIC_BOARD')} SYNTHETIC_BOARD ({_described('SYNTHETIC_BOARD')}): no hardware, simulated signals",
    ]
    assert "audio devices" in out and "LSL streams" in out  # the other sections as before

    every = _devices("--all-boards")
    rows = every[every.index("BrainFlow ") :].splitlines()[1:]
    assert [r.split()[1].rstrip(":") for r in rows] == BOARDS  # each once, by id
    assert f"{_id('CYTON_BOARD')} CYTON_BOARD ({_described('CYTON_BOARD')})" in rows
    assert (
        f"{_id('SYNTHETIC_BOARD')} SYNTHETIC_BOARD ({_described('SYNTHETIC_BOARD')}): no hardware, simulated signals"
        in rows
    )
    assert sum("no hardware" in r for r in rows) == 3
    assert "--all-boards" in _devices("--help")


def test_devices_has_no_brainflow_section_without_brainflow_and_says_a_broken_one(monkeypatch, capsys):
    """BrainFlow is an optional extra: not installed, `devices` says nothing of it; installed but unable to load its
    library, its section says so with import_brainflow's fix (the command still succeeds)."""
    monkeypatch.setitem(sys.modules, "brainflow", None)  # as if not installed: find_spec finds nothing
    assert cli(["devices"]) == 0
    out = capsys.readouterr().out
    assert "LSL streams" in out and "BrainFlow" not in out
    monkeypatch.undo()

    def broken():
        raise SpecError("BrainFlow cannot load its library (OSError: libBoardController.so)", "pip install ...")

    monkeypatch.setattr("wavegraph.nodes.io.brainflow_source.import_brainflow", broken)
    assert devices.brainflow_section() == [
        "BrainFlow boards: unavailable",
        "  BrainFlow cannot load its library (OSError: libBoardController.so); fix: pip install ...",
    ]


START = bs.BoardShim.start_stream


def _bad_buffer(board):
    START(board, -5)  # BrainFlow's own error: INVALID_BUFFER_SIZE_ERROR


def _wrong_type(board):
    START(board, "many")  # ctypes.ArgumentError, no BrainFlowError


def _interrupt_before(board):
    raise KeyboardInterrupt  # Ctrl-C between prepare_session and start_stream


def _interrupt_after(board):
    START(board)
    raise KeyboardInterrupt  # Ctrl-C once the stream started, before open() returned


@pytest.mark.parametrize(
    ("start", "raised"),
    [
        (_bad_buffer, SpecError),
        (_wrong_type, Exception),
        (_interrupt_before, KeyboardInterrupt),
        (_interrupt_after, KeyboardInterrupt),
    ],
)
def test_a_failure_after_prepare_session_releases_the_session_at_once(monkeypatch, start, raised):
    """Whatever ends open() after prepare_session (BrainFlow's error, another exception, a KeyboardInterrupt before
    or after start_stream), the session is released before the exception leaves open(): a new session of the same
    board opens while the exception (and so the frame holding the BoardShim) is still alive. Before, all but
    BrainFlow's own error kept it prepared until the BoardShim was collected, and that BoardShim, collected later,
    released whatever session of the board was open then (the node's next one, after a restart)."""
    monkeypatch.setattr(bs.BoardShim, "start_stream", start)
    node = BrainFlowSource(board="SYNTHETIC_BOARD", duration=0.1)
    node.configure({})
    with pytest.raises(raised) as failed:
        node.open()
    assert failed.value is not None  # (the traceback, with open()'s frame and its board, is held here)
    assert _board_free()
    monkeypatch.undo()
    node.open()  # and the node itself opens again once start_stream works (a restart)
    probe = bs.BoardShim(SYNTH, bs.BrainFlowInputParams())  # sees the node's session (never prepared itself)
    # the failed open()'s traceback goes: the BoardShim it held (BoardShim.__del__ releases any prepared session of
    # its board) must not take the new session with it
    del failed
    gc.collect()
    assert probe.is_prepared()
    node.close()
    assert not probe.is_prepared()
    del probe
