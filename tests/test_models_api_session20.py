"""The public API of wavegraph.models and wavegraph.kernels used as a researcher would (session 20): odd dtypes,
states of another config, hand-edited checkpoints. Tiny shapes only."""

from __future__ import annotations

import json
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from wavegraph.models import checkpoint as ck  # noqa: E402
from wavegraph.models.conformer import ConformerConfig, ConformerEncoder  # noqa: E402


def _tiny_conformer(**kw) -> ConformerEncoder:
    cfg: dict[str, Any] = dict(d_in=6, d_model=8, n_layers=1, n_heads=2, conv_kernel=3, subsampling=2)
    cfg["att_context_sizes"] = [[2, 1]]
    cfg.update(kw)
    torch.manual_seed(0)
    return ConformerEncoder(ConformerConfig(**cfg)).eval()


def test_a_checkpoint_json_whose_kind_is_not_a_string_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "enc.safetensors"
    ck.save(_tiny_conformer(), path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["kind"] = ["conformer"]  # was TypeError: unhashable type: 'list' (the model node: 'a bug in the node')
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ck.CheckpointError, match=r"'kind' must be a string.*conformer.*\['conformer'\]"):
        ck.load(path)
