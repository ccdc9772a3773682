"""Defects a file-input attack found and left: each reproduced as a user meets it (tiny files under tmp_path)."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError


def _replay(path, **params) -> np.ndarray:
    src = FileSource(path=str(path), **params)
    src.configure({})
    out = []
    while (c := src.read()) is not None:
        out.append(c["out"].data)
    src.close()
    return np.concatenate(out, axis=1) if out else np.zeros((0, 0))


def test_a_loop_of_links_is_said_to_be_one(tmp_path, capsys):
    """loop1 -> loop2 -> loop1 as file_source's path was 'loop1 is a link to loop2, which does not exist' (loop2 is
    there), and `wavegraph plot loop1` said 'no such recording'. Both say now it is a loop of links, and the fix."""
    from wavegraph.nodes.io.plot import main as plot_main

    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    with pytest.raises(SpecError) as e:
        _replay(tmp_path / "loop1")
    assert f"{tmp_path / 'loop1'} is a loop of links" in e.value.message and "does not exist" not in e.value.message
    assert "ln -sfn RECORDING" in e.value.hint
    assert plot_main([str(tmp_path / "loop1")]) == 2
    assert "loop1 is a loop of links" in capsys.readouterr().err
