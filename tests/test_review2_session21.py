"""Review of session 21's buffers, sources and model tools (fixes found by reading the session's commits)."""

from __future__ import annotations

import torch
from wavegraph.models import checkpoint
from wavegraph.models.average_weights import main
from wavegraph.models.enhancer import Enhancer, EnhancerConfig


def _saved(tmp_path, name: str, seed: int):
    torch.manual_seed(seed)
    path = tmp_path / f"{name}.safetensors"
    checkpoint.save(Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1)), path)
    return path


def test_average_weights_says_what_is_wrong_with_the_first_checkpoints_config(tmp_path, capsys):
    """The first checkpoint's JSON was read before it was checked: a config that is not JSON was a traceback
    (JSONDecodeError), and a missing one (a .pt, a weights file alone) a bare '[Errno 2] No such file' where the second
    checkpoint got load_config's message with its fix."""
    pa, pb = _saved(tmp_path, "a", 1), _saved(tmp_path, "b", 2)
    out = tmp_path / "soup.safetensors"
    pa.with_suffix(".json").write_text("{not json")
    assert main([str(pa), str(pb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a.json is not valid JSON" in err and not out.exists()

    pa.with_suffix(".json").unlink()
    assert main([str(pa), str(pb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no model config" in err and "models.checkpoint.save" in err and not out.exists()
