"""`train enhancer --init GROWN --layer-lr-scale S` (no --add-layer): resuming a grown model keeps its last block's
multiplier; on a one-block --init the same flags are refused, since they would scale the whole core."""

import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_depth import with_extra_layer


def _small(n_layers: int = 1) -> Enhancer:
    torch.manual_seed(0)
    return Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=n_layers)).eval()


def _train(init, out, *extra: str) -> int:
    from wavegraph.models import train_enhancer

    argv = ["--init", str(init), "--steps", "2", "--batch", "1", "--seconds", "1", "--pool", "0", "--synthetic", "2"]
    argv += ["--heldout-per-snr", "0", "--lr", "1e-3", "--eval-every", "2", "--threads", "1", "--out", str(out)]
    return train_enhancer.main([*argv, *extra])


def test_layer_lr_scale_on_a_one_block_init_without_add_layer_is_refused(tmp_path, capsys):
    ckpt.save(_small(1), tmp_path / "one.safetensors")
    with pytest.raises(SystemExit) as e:
        _train(tmp_path / "one.safetensors", tmp_path / "out.safetensors", "--layer-lr-scale", "20")
    assert e.value.code == 2
    assert "has 1 gla block(s): give --add-layer too" in capsys.readouterr().err
    assert not (tmp_path / "out.safetensors").exists()


def test_resuming_a_grown_model_scales_its_last_blocks_steps_only(tmp_path):
    """Two steps from the same grown model and seed, with and without --layer-lr-scale 20: the last block moves
    further with the scale, and the model keeps its two blocks (no third grown)."""
    grown = with_extra_layer(_small(1))
    with torch.no_grad():  # as after a fine-tune: the block's zero projections moved
        grown.core.blocks[-1].attn.o_proj.weight.normal_(0, 0.3)
        grown.core.blocks[-1].down.weight.normal_(0, 0.3)
    ckpt.save(grown, tmp_path / "grown.safetensors")
    start = grown.state_dict()
    moved = {}
    for scale in ("1", "20"):
        out = tmp_path / f"s{scale}.safetensors"
        assert _train(tmp_path / "grown.safetensors", out, "--layer-lr-scale", scale) == 0
        model = ckpt.load(out)
        assert isinstance(model, Enhancer) and model.cfg.n_layers == 2
        sd = model.state_dict()
        moved[scale] = {k: float((sd[k] - start[k]).abs().max()) for k in start if sd[k].is_floating_point()}
    last = [k for k in moved["1"] if k.startswith("core.layers.1.") and moved["1"][k] > 0]
    assert last, "the last block did not train"
    for k in last:  # Adam's first steps move a weight by about lr each, so the scaled block by ~20x
        assert moved["20"][k] > 5 * moved["1"][k], k
    first = [k for k in moved["1"] if k.startswith("core.layers.0.") and moved["1"][k] > 0]
    assert first and all(moved["20"][k] < 2 * moved["1"][k] for k in first)  # the block below steps as before
