"""Review of session 27's gap and BrainFlow commits (f623ea0, bb2f034, 314f918).

1. TimedBuffer (join, epochs) holds a gap flagged on a chunk of no samples for the next chunk with samples
   (f623ea0). A chunk refused for its shape (ValueError: another channel count, by hand) took the held gap with it:
   the buffer cleared `gap_held` before checking the shape, so the next right chunk went on the old segment as if
   continuous. A refused chunk now leaves the buffer as it was.
2. `wavegraph devices --all-boards` (314f918) where BrainFlow is not installed printed nothing of BrainFlow: the
   boards asked for by name were left out unsaid. It now says BrainFlow is unavailable, with the pip line
   (`devices` alone still says nothing of an optional extra that is not installed).
3. Coverage f623ea0's tests left out (they passed here, no fix): the gap held from empty chunks survives a
   state_dict round trip in join and the ssvep_trial_decoder too (its test had epochs only), with several empty
   chunks in a row (flagged or not) between the save and the next samples.
4. brainflow_source.open() (314f918) releases the session when anything ends it after prepare_session, and clears
   the BoardShim from the failure's frames. A second Ctrl-C while it released (between BrainFlow's stop_stream and
   release_session: a signal lands between two C calls) skipped both: the session stayed prepared, its BoardShim held
   by the frames of both exceptions, so while a notebook kept the traceback the node could not open the board again
   (BrainFlow: "the same config already exists"). The second exception's frames are cleared too and the open()
   frame lets the BoardShim go, whose __del__ finishes the release.
5. Coverage (passed, no fix): `wavegraph devices` where BrainFlow's native library fails to load, through BrainFlow's
   own loader (the session-27 test replaced import_brainflow): the section says so with the fix, --all-boards too.
6. ssvep_trial_decoder (found reviewing bb2f034's Samples.after; the same in the nearest() before it): samples whose
   chunks came without a time (t0 NaN), then a gap, then timed samples: a marker before the first timed sample fell
   back on the oldest segment, whose time is NaN, and process() raised "ValueError: cannot convert float NaN to
   integer". The fallback is now the oldest segment with a time: such a marker's window is cut on the timed samples'
   grid (a window across the gap is gap_in_trial, one after it decided with its pre-roll from the gap). Since then
   the gap drops the untimed samples (untimed_dropped, as TimedBuffer): a window before the timed ones is outside_data.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from wavegraph.nodes.dsp.join import Join
from wavegraph.nodes.io import devices
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

RATE = 100.0


def _join_outputs(refused: bool) -> list[tuple[float, bool, tuple[int, ...]]]:
    """Input a: 1 s, an empty chunk flagged gap (1.0-1.5 s lost), [a chunk of 3 channels, refused,] then 1.5 s;
    input b whole. Every output chunk as (t0, gap, shape)."""
    rng = np.random.default_rng(5)
    xa, xb = rng.standard_normal((2, 250)), rng.standard_normal((1, 300))
    node = Join()
    node.configure({"a": signal_spec(RATE, ["C3", "C4"]), "b": signal_spec(RATE, ["aux"], "misc")})
    outs = [
        node.process({"a": Chunk(xa[:, :100], 0.0)}),
        node.process({"b": Chunk(xb[:, :100], 0.0)}),
        node.process({"a": Chunk(xa[:, :0], 1.5, gap=True)}),
    ]
    if refused:
        with pytest.raises(ValueError, match=r"chunk shape \(3, 150\) does not match"):
            node.process({"a": Chunk(np.zeros((3, 150)), 1.5)})
    outs += [node.process({"a": Chunk(xa[:, 100:], 1.5)}), node.process({"b": Chunk(xb[:, 100:], 1.0)})]
    outs.append(node.finish())
    return [(c.t0, c.gap, c.data.shape) for o in outs for c in o.values()]


def test_a_chunk_refused_for_its_shape_leaves_the_held_gap_for_the_next_samples():
    expected = _join_outputs(refused=False)
    assert expected == [(0.0, False, (3, 100)), (1.5, True, (3, 150))]  # the samples after the gap: flagged
    assert _join_outputs(refused=True) == expected  # before: (1.5, False, ...), joined on as continuous


def test_all_boards_without_brainflow_says_it_is_not_installed(monkeypatch, capsys):
    for name in ("brainflow", "brainflow.board_shim", "brainflow.data_filter"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    assert devices.brainflow_section() == []  # an optional extra: not mentioned unasked
    head, said = devices.brainflow_section(all_boards=True)  # before: [] (nothing said of the boards asked for)
    assert head == "BrainFlow boards: unavailable"
    assert said.startswith("  BrainFlow is unavailable: cannot import brainflow (ModuleNotFoundError: ")
    assert said.endswith("; fix: pip install 'wavegraph[brainflow]' (or pip install brainflow)")
    monkeypatch.setattr(devices, "lsl_section", lambda wait: ["LSL streams: (not looked for)"])
    assert devices.main(["--all-boards"]) == 0  # the command still succeeds
    assert "BrainFlow boards: unavailable" in capsys.readouterr().out


def _trial_decoder() -> SSVEPTrialDecoder:
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0], window=1.0, delay=0.2, pre=0.5, max_delay=5)
    node.configure(
        {
            "in": StreamSpec("signal", 250.0, (3,), "float64", channel_names=("O1", "Oz", "O2")),
            "events": StreamSpec("events", 0.0, (3,), "float64"),
        }
    )
    return node


@pytest.mark.parametrize("kind", ["join", "ssvep_trial_decoder"])
def test_a_gap_held_from_empty_chunks_survives_state_dict_in_join_and_the_trial_decoder(kind):
    """A chunk, empty chunks (flagged gap, flagged gap again, unflagged), the state saved and loaded into a new node,
    then the samples after the lost span: what a gap flagged on those samples themselves gives."""
    rate = 100.0 if kind == "join" else 250.0
    x = np.random.default_rng(6).standard_normal((2 if kind == "join" else 3, int(4 * rate))) * 1e-5
    k = int(2 * rate)  # 2.0-2.5 s lost

    def run(empty: bool) -> tuple[list, dict]:
        node = Join() if kind == "join" else _trial_decoder()
        if kind == "join":
            node.configure({"a": signal_spec(rate, ["C3", "C4"]), "b": signal_spec(rate, ["aux"], "misc")})
            port, other = "a", {"b": Chunk(x[:1], 0.0)}
        else:
            port, other = "in", {"events": Chunk(np.array([[1.5, 0.0, 1.0], [3.0, 0.0, 2.0]]), 1.5)}
        outs = [node.process(other), node.process({port: Chunk(x[:, :k], 0.0)})]
        if empty:
            for gap in (True, True, False):
                outs.append(node.process({port: Chunk(x[:, :0], 2.5, gap=gap)}))
            state = node.state_dict()
            node = Join() if kind == "join" else _trial_decoder()
            if kind == "join":
                node.configure({"a": signal_spec(rate, ["C3", "C4"]), "b": signal_spec(rate, ["aux"], "misc")})
            node.load_state_dict(state)
        outs += [node.process({port: Chunk(x[:, k:], 2.5, gap=not empty)}), node.finish()]
        return [(p, c.t0, c.gap, np.asarray(c.data).tolist()) for o in outs for p, c in sorted(o.items())], dict(
            node.counters
        )

    direct, resumed = run(empty=False), run(empty=True)
    if kind == "join":  # the reference's samples after 2.5 s go out flagged (b's held value, late or not)
        assert any(gap and t0 == 2.5 for _, t0, gap, _ in direct[0])
    else:  # the 1.5 s trial (window 1.7-2.7 s) spans the gap; the 3 s one is decided
        assert direct[1] == {"gap_in_trial": 1}
    assert resumed[0] == direct[0]
    assert resumed[1].get("gap_in_trial") == direct[1].get("gap_in_trial")


def test_a_second_interrupt_while_open_releases_still_frees_the_board(monkeypatch):
    pytest.importorskip("brainflow")
    from test_brainflow_source import _board_free  # pyright: ignore[reportMissingImports]
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource, import_brainflow

    bs = import_brainflow()
    start, stop = bs.BoardShim.start_stream, bs.BoardShim.stop_stream

    def interrupted_start(board):
        start(board)
        raise KeyboardInterrupt  # Ctrl-C once the stream started, before open() returned

    def interrupted_stop(board):
        stop(board)
        raise KeyboardInterrupt  # Ctrl-C again while open() releases: after stop_stream, before release_session

    monkeypatch.setattr(bs.BoardShim, "start_stream", interrupted_start)
    monkeypatch.setattr(bs.BoardShim, "stop_stream", interrupted_stop)
    node = BrainFlowSource(board="SYNTHETIC_BOARD", duration=0.1)
    node.configure({})
    with pytest.raises(KeyboardInterrupt) as failed:
        node.open()
    monkeypatch.undo()
    assert failed.value is not None  # (the traceback, as a notebook keeps it)
    assert _board_free()  # before: False, prepared until the traceback went
    node.open()  # the node opens the board again
    node.close()
    del failed


@pytest.mark.parametrize("all_boards", [False, True])
def test_devices_where_brainflows_library_fails_to_load(monkeypatch, all_boards):
    pytest.importorskip("brainflow")
    import ctypes

    from brainflow import board_shim

    load = ctypes.cdll.LoadLibrary

    def broken(path):
        if "BoardController" in str(path):
            raise OSError(f"{path}: invalid ELF header")
        return load(path)

    monkeypatch.setattr(ctypes.cdll, "LoadLibrary", broken)
    # BrainFlow loads its library once, at the first call into it: as in a fresh process
    monkeypatch.setattr(board_shim.BoardControllerDLL, "_BoardControllerDLL__instance", None)
    head, said = devices.brainflow_section(all_boards)
    assert head == "BrainFlow boards: unavailable"
    assert said.startswith("  BrainFlow cannot load its library (OSError: ")
    assert "libBoardController" in said and said.endswith(
        "; fix: pip install --force-reinstall brainflow (or pip "
        "install 'setuptools<81' where it asks for pkg_resources)"
    )


def test_a_marker_before_the_first_timed_samples_after_untimed_ones_and_a_gap():
    x = np.random.default_rng(8).standard_normal((3, 2500)) * 1e-5
    node = _trial_decoder()
    node.process({"in": Chunk(x[:, :500], float("nan"))})  # 2 s of samples without a time
    node.process({"events": Chunk(np.array([[4.0, 0.0, 1.0], [4.9, 0.0, 1.0], [6.0, 0.0, 1.0]]), 4.0)})
    # before: ValueError (cannot convert float NaN to integer) here
    out = node.process({"in": Chunk(x[:, 500:], 5.0, gap=True)})  # then timed samples from 5 s, after a gap
    decided = [float(r[0]) for r in np.asarray(out["out"].data)] if out else []
    decided += [float(r[0]) for o in node.finish_all() if "out" in o for r in np.asarray(o["out"].data)]
    assert sorted(decided) == [4.9, 6.0]  # 4.9 s: the window 5.1-6.1 s, its pre-roll from the gap on
    # 4.0 s: the window 4.2-5.2 s starts before the first sample there is: the gap drops the untimed samples (as
    # TimedBuffer under epochs and join; tests/test_untimed_gap_session27.py), so the stream starts at 5 s. Was
    # gap_in_trial while the untimed samples stayed held before the gap (af56d1b)
    assert node.counters == {"untimed_dropped": 500, "outside_data": 1, "short_preroll": 1}
