"""models/enhancer_depth.py: a trained enhancer grown by one GLA block (`train enhancer --init W --add-layer`) computes
the same output, streams as it runs offline once the block has learned something, and --layer-lr-scale multiplies the
block's steps."""

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_depth import layer_lr_targets, with_extra_layer
from wavegraph.models.enhancer_lr import scaled_step
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR = 16000


def _speechlike(n: int, seed: int = 0) -> np.ndarray:
    """A voiced 150 Hz tone with a syllable envelope over low noise (float32)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (0.1 * voice + 0.01 * rng.standard_normal(n)).astype(np.float32)


def _small(seed: int = 0) -> Enhancer:
    torch.manual_seed(seed)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, df_order=3, impulse_blocks=8, pitch_lag=256)
    model = Enhancer(cfg)
    with torch.no_grad():
        model.head.weight.normal_(0, 0.3)
    return model.eval()


def test_the_grown_model_computes_the_same_output_whole_and_frame_by_frame():
    base = _small()
    grown = with_extra_layer(base).eval()
    assert grown.cfg.n_layers == 2 and len(grown.core.blocks) == 2
    x = torch.from_numpy(_speechlike(40 * 160)).reshape(1, 40, 160)
    with torch.no_grad():
        y = grown(x)
        torch.testing.assert_close(y, base(x), atol=0, rtol=0)  # the new block adds exact zeros
        sa, sb = grown.init_state(1), base.init_state(1)
        for t in range(20):  # the live step (the numpy frame)
            torch.testing.assert_close(grown.step(x[:, t], sa)[0], base.step(x[:, t], sb)[0], atol=1e-6, rtol=1e-5)
    assert grown.__dict__["_numpy"] is not None  # the fused numpy frame runs two blocks


def test_the_new_block_is_drawn_from_its_own_seed_not_the_callers():
    base = _small()
    torch.manual_seed(5)
    a = with_extra_layer(base)
    after_a = torch.rand(3)
    torch.manual_seed(6)
    b = with_extra_layer(base)
    torch.manual_seed(5)
    torch.testing.assert_close(after_a, torch.rand(3))  # the caller's generator is left where it was
    qa, qb = a.core.blocks[-1].attn.q_proj.weight.detach(), b.core.blocks[-1].attn.q_proj.weight.detach()
    torch.testing.assert_close(qa, qb, atol=0, rtol=0)  # two fine-tune seeds start from one grown model
    assert float(qa.abs().max()) > 0
    c = with_extra_layer(base, seed=1)
    assert float((c.core.blocks[-1].attn.q_proj.weight.detach() - qa).abs().max()) > 1e-3


def _trained_block(model: Enhancer) -> Enhancer:
    with torch.no_grad():  # what a fine-tune does: the zero projections moved
        model.core.blocks[-1].attn.o_proj.weight.normal_(0, 0.5)
        model.core.blocks[-1].down.weight.normal_(0, 0.5)
    return model.eval()


def test_a_two_block_model_streams_as_it_runs_offline():
    model = _trained_block(with_extra_layer(_small(2)))
    x = torch.from_numpy(_speechlike(45 * 160, seed=1)).reshape(1, 45, 160)
    with torch.no_grad():
        assert (model(x) - _small(2)(x)).abs().max() > 1e-3  # the block now changes the output
    assert_stream_equals_forward(model, x)  # chunkings and step(), which runs the numpy frame
    assert model.__dict__["_numpy"] is not None


def test_a_two_block_checkpoint_streams_through_the_node_as_a_whole_run(tmp_path):
    path = tmp_path / "deep.safetensors"
    ckpt.save(_trained_block(with_extra_layer(_small(3))), path)
    spec = signal_spec(SR, ["mic"], "misc", dtype="float32", units="a.u.")
    assert_streaming_equivalent(
        lambda: EnhancerNode(checkpoint=str(path)), _speechlike(7000, seed=2)[None], spec, rtol=0, atol=2e-5
    )
    assert ckpt.load(path).cfg.n_layers == 2  # pyright: ignore[reportAttributeAccessIssue]


def test_layer_lr_scale_multiplies_every_step_of_the_last_block_only():
    def one_step(scale: float) -> tuple[dict, dict]:
        model = _trained_block(with_extra_layer(_small(4))).train()  # every new weight gets a gradient
        before = {k: v.detach().clone() for k, v in model.named_parameters()}
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.from_numpy(_speechlike(20 * 160, seed=3)).reshape(1, 20, 160)
        model(x).square().mean().backward()
        scaled_step(opt, None, [], layer_lr_targets(model, scale))
        return before, {k: v.detach() - before[k] for k, v in model.named_parameters()}

    _, plain = one_step(1.0)
    _, scaled = one_step(20.0)
    assert layer_lr_targets(with_extra_layer(_small()), 1.0) == []
    new, old = "core.layers.1.", "core.layers.0."
    moved = [k for k in plain if k.startswith(new) and float(plain[k].abs().max()) > 0]
    assert len(moved) == len([k for k in plain if k.startswith(new)])  # 1-D ones (norms, a bias) too
    for k in plain:
        if k.startswith(new):
            torch.testing.assert_close(scaled[k], 20 * plain[k], atol=1e-7, rtol=1e-4)
        else:  # the trained model's own weights step as before
            torch.testing.assert_close(scaled[k], plain[k], atol=0, rtol=0)
    assert any(k.startswith(old) for k in plain)


def test_add_layer_is_refused_where_it_cannot_grow():
    mamba = Enhancer(EnhancerConfig(core="mamba", d_model=16, n_layers=1))
    with pytest.raises(ValueError, match="grows a GLA core; this model's core is 'mamba'"):
        with_extra_layer(mamba)
    from wavegraph.models import train_enhancer

    for argv in (["--add-layer"], ["--layer-lr-scale", "20"]):  # no --init; a scale with no block grown
        with pytest.raises(SystemExit) as e:
            train_enhancer.main([*argv, "--steps", "1"])
        assert e.value.code == 2


def test_train_enhancer_grows_the_shipped_model_by_a_block_and_trains_it(tmp_path):
    """`wavegraph train enhancer --init SHIPPED --add-layer --layer-lr-scale 20`, two steps on the real corpus: the
    written model has one more block, whose zero projections moved, and it loads and runs."""
    from conftest import need
    from wavegraph.models import speech_data as sd
    from wavegraph.models import train_enhancer
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    try:
        sd.load_corpus(synthetic=0)
    except sd.DataError as e:
        need(False, f"speech corpora missing: {e}")
    shipped = ckpt.load(shipped_checkpoint())
    out = tmp_path / "deep.safetensors"
    argv = ["--init", str(shipped_checkpoint()), "--add-layer", "--layer-lr-scale", "20", "--steps", "2"]
    argv += ["--batch", "1", "--seconds", "1", "--pool", "0", "--synthetic", "0", "--heldout-per-snr", "0"]
    assert train_enhancer.main([*argv, "--lr", "1e-4", "--eval-every", "2", "--threads", "1", "--out", str(out)]) == 0
    model = ckpt.load(out)
    assert isinstance(model, Enhancer) and isinstance(shipped, Enhancer)
    assert model.cfg.n_layers == shipped.cfg.n_layers + 1
    block = model.core.blocks[-1]
    assert float(block.attn.o_proj.weight.detach().abs().max()) > 0  # grown at zero, then trained
    assert float(block.down.weight.detach().abs().max()) > 0
    y, _ = model.enhance(torch.from_numpy(_speechlike(SR // 4))[None])
    assert torch.isfinite(y).all()
