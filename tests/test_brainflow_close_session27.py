"""brainflow_source.close() called by hand (a notebook), session 27. open() releases its session on any failure,
a second Ctrl-C during the release included, and clears the failed frames of the BoardShim (314f918, 5da1bd8);
close() did neither: a Ctrl-C between BrainFlow's stop_stream and release_session (a signal lands between two C
calls) left the session prepared and its BoardShim in the exception's frames, so while a notebook kept the
traceback no node could open the board (BrainFlow: "another board is created"), and once the traceback went, the
BoardShim's __del__ released whatever session of the board was open then. The real library, its synthetic board."""

import gc

import pytest

pytest.importorskip("brainflow")

from test_brainflow_source import _board_free  # noqa: E402  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.brainflow_source import BrainFlowSource, import_brainflow  # noqa: E402

bs = import_brainflow()
SYNTH = int(bs.BoardIds.SYNTHETIC_BOARD.value)
STOP, RELEASE, START = bs.BoardShim.stop_stream, bs.BoardShim.release_session, bs.BoardShim.start_stream


def _opened() -> BrainFlowSource:
    node = BrainFlowSource(board="SYNTHETIC_BOARD", duration=0.1)
    node.configure({})
    node.open()
    return node


def _interrupt_after_stop(board):
    STOP(board)
    raise KeyboardInterrupt  # Ctrl-C after stop_stream, before release_session


def _interrupt_release_once():
    calls = []  # (a count: the BoardShim itself kept here would hold the session)

    def release(board):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # Ctrl-C as release_session is called; the next call releases
        RELEASE(board)

    return release


@pytest.mark.parametrize(
    ("method", "patched"),
    [("stop_stream", lambda: _interrupt_after_stop), ("release_session", _interrupt_release_once)],
    ids=["after_stop_stream", "at_release_session"],
)
def test_an_interrupt_while_close_releases_still_frees_the_board(monkeypatch, method, patched):
    """A KeyboardInterrupt inside close(), while the exception (and its traceback) is still held: a new node opens
    the board at once, dropping the traceback later leaves that node's session open, and close() again is
    harmless. Before: the new node's open() failed (ANOTHER_BOARD_IS_CREATED)."""
    node = _opened()
    monkeypatch.setattr(bs.BoardShim, method, patched())
    with pytest.raises(KeyboardInterrupt) as failed:
        node.close()
    monkeypatch.undo()
    assert failed.value is not None  # (the traceback, as a notebook keeps it)
    other = _opened()  # before: SpecError, the session of the interrupted close() still prepared
    probe = bs.BoardShim(SYNTH, bs.BrainFlowInputParams())  # sees the open session (never prepared itself)
    del failed
    gc.collect()
    assert probe.is_prepared()  # the interrupted close()'s BoardShim, collected, did not release the new session
    node.close()  # again: harmless, the new session stays
    assert probe.is_prepared()
    other.close()
    assert not probe.is_prepared()
    del probe
    assert _board_free()


def test_close_twice_or_after_a_failed_open_is_harmless(monkeypatch):
    """close() after an open() that an interrupt ended, and a second close(), leave another node's session open."""

    def interrupted_start(board):
        START(board)
        raise KeyboardInterrupt  # Ctrl-C once the stream started, before open() returned

    monkeypatch.setattr(bs.BoardShim, "start_stream", interrupted_start)
    failed = BrainFlowSource(board="SYNTHETIC_BOARD", duration=0.1)
    failed.configure({})
    with pytest.raises(KeyboardInterrupt):
        failed.open()
    monkeypatch.undo()
    other = _opened()
    probe = bs.BoardShim(SYNTH, bs.BrainFlowInputParams())
    failed.close()
    failed.close()
    assert probe.is_prepared()
    other.close()
    other.close()
    assert not probe.is_prepared()
    del probe
    assert _board_free()
