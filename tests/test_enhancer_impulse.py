"""The enhancer's impulse feature (models/enhancer_features.py `impulse`, EnhancerConfig.impulse_blocks): what it
measures, streaming == offline (model, fused frame graph and node), growing a trained model with it (same function
at step 0), the order in which features are grown, and its learning-rate multiplier (--impulse-lr-scale)."""

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_features import impulse
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.models.train_enhancer import feature_lr_spans
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR = 16000
SPEC = signal_spec(SR, ["mic"], "misc", dtype="float32", units="a.u.")


def _audio(n: int, seed: int = 0) -> np.ndarray:
    """A gliding harmonic 'voice' in weak noise, with 2 ms decaying clicks at 0.25 s and 0.4 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    ph = 2 * np.pi * np.cumsum(170 + 50 * np.sin(2 * np.pi * 2 * t)) / SR
    x = 0.02 * sum(np.sin(k * ph) / k for k in range(1, 12)) + 1e-3 * rng.standard_normal(n)
    for at in (int(0.25 * SR), int(0.4 * SR)):
        if at + 32 < n:
            x[at : at + 32] += 0.5 * rng.standard_normal(32) * np.exp(-np.arange(32) / 8)
    return x.astype(np.float32)


def _frames(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).unfold(0, 320, 160)[None]  # (1, T, 320): frame t = samples 160 t .. 160 t + 319


def test_impulse_is_near_one_in_a_clicks_block_flat_for_a_voice_zero_for_silence_and_level_free():
    x = _audio(SR // 2)
    e = impulse(_frames(x), 8)
    assert e.shape == (1, x.size // 160 - 1, 8)
    torch.testing.assert_close(e.sum(-1), torch.ones(e.shape[:2]), atol=1e-5, rtol=0)  # shares of the frame
    click = int(0.25 * SR) // 160  # frame 25 starts with the click: its first 2.5 ms block holds it
    assert float(e[0, click, 0]) > 0.9
    assert float(e[0, click - 1, 4]) > 0.9  # the frame before holds it in its second half
    voice = torch.cat([e[0, 5 : click - 2], e[0, click + 3 : 38]])  # frames without a click
    assert float(voice.max()) < 0.4  # a voice's pitch pulses make it uneven, never like a click
    torch.testing.assert_close(impulse(_frames(10 * x), 8), e, atol=1e-5, rtol=0)  # +20 dB: the same feature
    assert float(impulse(torch.zeros(1, 3, 320), 8).abs().max()) == 0  # digital silence: zeros, not NaN
    with pytest.raises(ValueError, match="impulse_blocks"):
        EnhancerConfig(impulse_blocks=7)  # 320 is not a multiple of 7
    with pytest.raises(ValueError, match="impulse_blocks"):
        EnhancerConfig(impulse_blocks=1)


def _impulse_model(seed: int = 0) -> Enhancer:
    torch.manual_seed(seed)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, df_order=3, tone_frames=6, onset_frames=4)
    cfg.impulse_blocks = 8
    model = Enhancer(cfg)
    with torch.no_grad():  # non-zero weights everywhere, the impulse columns (last 8) included
        model.head.weight.normal_(0, 0.3)
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -8:].normal_(0, 3.0)
    return model.eval()


def test_impulse_model_stream_equals_forward_and_numpy_frame_and_the_feature_counts():
    model = _impulse_model()
    assert model.cfg.n_features == 161 * 3 + 24 + 8
    x = torch.from_numpy(_audio(45 * 160, seed=3)).reshape(1, 45, 160)
    assert_stream_equals_forward(model, x)  # also step(), which runs the numpy frame
    assert model._fast is not None and model.__dict__["_numpy"] is not None
    with torch.no_grad():  # the feature reaches the output: without its columns the output differs
        y = model(x)
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -8:].zero_()
        assert (model(x) - y).abs().max() > 1e-3


def test_impulse_node_streaming_equals_whole_run(tmp_path):
    path = tmp_path / "impulse.safetensors"
    ckpt.save(_impulse_model(seed=3), path)
    assert_streaming_equivalent(
        lambda: EnhancerNode(checkpoint=str(path)), _audio(7000, seed=7)[None], SPEC, rtol=0, atol=2e-5
    )
    assert ckpt.load(path).cfg.impulse_blocks == 8  # pyright: ignore[reportAttributeAccessIssue]


def test_with_impulse_feature_keeps_the_output_and_features_grow_in_column_order():
    torch.manual_seed(1)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, df_order=3, tone_frames=6, onset_frames=4)
    base = Enhancer(cfg).eval()
    grown = base.with_impulse_feature(8).eval()
    assert grown.cfg.impulse_blocks == 8 and grown.cfg.n_features == base.cfg.n_features + 8
    x = torch.from_numpy(_audio(40 * 160, seed=6)).reshape(1, 40, 160)
    with torch.no_grad():
        torch.testing.assert_close(grown(x), base(x), atol=1e-6, rtol=1e-5)
        state_a, state_b, ya, yb = grown.init_state(1), base.init_state(1), [], []
        for t in range(30):  # the live step (the numpy frame) too, across the click at frame 25
            ya.append(grown.step(x[:, t], state_a)[0])
            yb.append(base.step(x[:, t], state_b)[0])
        torch.testing.assert_close(torch.cat(ya, 1), torch.cat(yb, 1), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="without the impulse feature"):
        grown.with_impulse_feature(4)
    with pytest.raises(
        ValueError, match="adding the onset feature needs a model without the onset feature, the impulse"
    ):
        Enhancer(EnhancerConfig(d_model=16, n_layers=1, impulse_blocks=8)).with_onset_feature(4)  # not last any more


def test_impulse_lr_scale_spans_the_last_columns():
    cfg = EnhancerConfig(
        core="gla", d_model=16, n_layers=1, df_bins=12, tone_frames=6, onset_frames=4, impulse_blocks=8
    )
    assert feature_lr_spans(cfg, 20.0, 5.0, 10.0) == [(185, 161, 20.0), (346, 161, 5.0), (507, 8, 10.0)]
    assert feature_lr_spans(cfg, 20.0, 1.0, 10.0) == [(185, 161, 20.0), (507, 8, 10.0)]
    assert feature_lr_spans(EnhancerConfig(impulse_blocks=4), 20.0, 20.0, 3.0) == [(161, 4, 3.0)]


def test_shipped_weights_use_the_impulse_feature():
    """The shipped model (docs/speech.md, stage 21b, grown from 20c) reads the impulse feature: its config asks for 8 blocks, the core's
    input weights for them (the last 8 columns, grown at zero) were trained away from zero, and its live step equals
    its offline run."""
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    model = ckpt.load(shipped_checkpoint())
    assert isinstance(model, Enhancer) and model.cfg.impulse_blocks == 8
    in_proj = model.core.in_proj
    assert in_proj is not None and in_proj.weight.shape[1] == model.cfg.n_features
    assert float(in_proj.weight.detach()[:, -8:].abs().max()) > 0.01
    x = torch.from_numpy(np.random.default_rng(3).standard_normal(30 * 160).astype(np.float32) * 0.05)
    assert_stream_equals_forward(model.eval(), x.reshape(1, 30, 160))
