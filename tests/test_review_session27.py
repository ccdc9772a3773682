"""Review of session 27's gap and BrainFlow commits (f623ea0, bb2f034, 314f918).

1. TimedBuffer (join, epochs) holds a gap flagged on a chunk of no samples for the next chunk with samples
   (f623ea0). A chunk refused for its shape (ValueError: another channel count, by hand) took the held gap with it:
   the buffer cleared `gap_held` before checking the shape, so the next right chunk went on the old segment as if
   continuous. A refused chunk now leaves the buffer as it was.
2. `wavegraph devices --all-boards` (314f918) where BrainFlow is not installed printed nothing of BrainFlow: the
   boards asked for by name were left out unsaid. It now says BrainFlow is unavailable, with the pip line
   (`devices` alone still says nothing of an optional extra that is not installed).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from wavegraph.nodes.dsp.join import Join
from wavegraph.nodes.io import devices
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

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
