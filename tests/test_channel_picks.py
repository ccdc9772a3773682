"""pick_channels as a user of MNE writes it: positions as well as names, and a name in the wrong case gets the
stream's own spelling; the validate line counts processes in English."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.cli import main as cli_main
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec

SPEC = signal_spec(250.0, ["Fz", "C3", "Cz", "C4"])


def _pick(**params):
    node = lookup("pick_channels")(**params)
    out = node.configure({"in": SPEC})["out"]
    return node, out


def test_positions_pick_and_drop_as_mne_picks_do():
    node, out = _pick(pick=[3, 0, -2])
    assert out.channel_names == ("C4", "Fz", "Cz")
    x = np.arange(4 * 5, dtype=float).reshape(4, 5)
    np.testing.assert_array_equal(node.process({"in": Chunk(x, 0.0)})["out"].data, x[[3, 0, 2]])
    _, out = _pick(drop=[1, "Cz"])
    assert out.channel_names == ("Fz", "C4")


def test_a_position_out_of_range_names_the_count_and_the_names():
    with pytest.raises(SpecError, match=r"position 4 is out of range: the stream has 4 channels") as e:
        _pick(pick=[0, 4])
    assert "0..3" in str(e.value) and "Fz, C3, Cz, C4" in str(e.value)


def test_a_position_and_the_same_channel_by_name_is_named_twice():
    with pytest.raises(SpecError, match="names a channel twice"):
        _pick(pick=[1, "C3"])


def test_a_name_in_the_wrong_case_gets_the_streams_spelling():
    with pytest.raises(SpecError, match=r"unknown channel 'c4'.*did you mean 'C4'\?"):
        _pick(pick=["c4"])
    with pytest.raises(SpecError) as e:
        _pick(drop=["Pz"])
    assert "did you mean" not in str(e.value)


def test_validate_counts_in_english(tmp_path, capsys):
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: eeg_sim, params: {channels: 4, rate: 250}}\n"
        "  - {id: pick, type: pick_channels, params: {pick: [0, 1]}}\n  - {id: sink, type: null_sink}\n"
        "edges:\n  - {source: src.out, target: pick.in}\n  - {source: pick.out, target: sink.in}\n"
    )
    assert cli_main(["validate", str(graph)]) == 0
    assert "3 nodes, 2 edges, 1 process)" in capsys.readouterr().out
