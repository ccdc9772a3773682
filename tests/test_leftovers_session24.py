"""Leftovers of earlier reviews (session 24), each reproduced as a user meets it; each test failed before its fix."""

from pathlib import Path

import pytest
from wavegraph.pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _validate(tmp_path, monkeypatch, capsys, *args):
    """`wavegraph validate ARGS` in tmp_path: (exit code, stderr lines), with no traceback."""
    monkeypatch.chdir(tmp_path)
    code = main(["validate", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, err.strip().splitlines()


@pytest.mark.parametrize("name", ["model", "model_path", "weights", "ckpt"])
def test_a_weights_file_under_another_tools_name_is_told_checkpoint(tmp_path, monkeypatch, capsys, name):
    """Before: `--set enhancer.model=x.pt` (a user guessing what the weights file is called: NeMo's model_path,
    torch's ckpt) was told 'did you mean d_model?', the width of the network. Now the fix names checkpoint, as a
    --set to type; a misspelt real name still gets its 'did you mean'."""
    graph = str(ROOT / "configs" / "speech_enhance_file.yaml")
    code, lines = _validate(tmp_path, monkeypatch, capsys, graph, "--set", f"enhancer.{name}=x.pt")
    said = [line for line in lines if "node 'enhancer'" in line]
    assert code == 2 and len(said) == 1, lines
    assert f"unknown parameter '{name}'" in said[0] and "--set enhancer.checkpoint=x.pt" in said[0], said
    assert "d_model" not in said[0]
    code, lines = _validate(tmp_path, monkeypatch, capsys, graph, "--set", "enhancer.d_modle=8")
    assert any("unknown parameter 'd_modle'" in line and "did you mean 'd_model'" in line for line in lines), lines
