"""The enhancer's onset feature (models/enhancer_features.py `onset`, EnhancerConfig.onset_frames): what it measures,
any chunking equals one call, streaming == offline (model, fused frame graph and node), state reset at a gap, growing
a trained model with it (same function at step 0), old checkpoints, and the trainer's per-feature learning-rate
multipliers (--tone-lr-scale, --onset-lr-scale)."""

import json

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_features import magnitude, onset
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.models.train_enhancer import feature_lr_spans, scaled_step
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR = 16000
SPEC = signal_spec(SR, ["mic"], "misc", dtype="float32", units="a.u.")


def _audio(n: int, seed: int = 0, clicks: bool = True) -> np.ndarray:
    """A gliding harmonic 'voice' in weak noise, with a few 2 ms decaying clicks (at 0.25 s and 0.4 s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    ph = 2 * np.pi * np.cumsum(170 + 50 * np.sin(2 * np.pi * 2 * t)) / SR
    x = 0.02 * sum(np.sin(k * ph) / k for k in range(1, 12)) + 1e-3 * rng.standard_normal(n)
    if clicks:
        for at in (int(0.25 * SR), int(0.4 * SR)):
            if at + 32 < n:
                x[at : at + 32] += 0.5 * rng.standard_normal(32) * np.exp(-np.arange(32) / 8)
    return x.astype(np.float32)


def _mags(x: np.ndarray) -> torch.Tensor:
    from wavegraph.models.enhancer_features import dft_matrices

    dft, _ = dft_matrices(320, 160)
    sig = torch.from_numpy(np.concatenate([np.zeros(160, np.float32), x]))[None]
    spec = (sig.unfold(1, 320, 160) @ dft).unflatten(-1, (161, 2))
    return magnitude(spec.square().sum(-1), 0.3)  # (1, T, bins)


def test_onset_is_high_at_a_click_near_zero_where_the_level_holds_and_level_free():
    mag = _mags(_audio(SR // 2))
    feat, ref = onset(mag, torch.zeros(1, 1, 161), 4)
    assert feat.shape == mag.shape and ref.shape == (1, 1, 161)
    assert torch.all(feat[0, 0] == 1)  # the running average starts at zero: the first frame reads 1
    click = 25  # the click at 0.25 s starts in frame 25 (frames end at 10 ms steps, one hop of zeros before)
    assert float(feat[0, click, 40:].mean()) > 0.3  # broadband jump above 2 kHz, where the voice is weak
    steady = torch.cat([feat[0, 10 : click - 1], feat[0, click + 4 : 38]])  # away from the clicks
    assert float(steady.abs().mean()) < 0.1
    assert float(feat[0, click + 3, 40:].mean()) < 0  # the click has decayed: below its running average
    louder = onset(_mags(10 * _audio(SR // 2)), torch.zeros(1, 1, 161), 4)[0]  # +20 dB: the same feature
    torch.testing.assert_close(louder[0, 5:], feat[0, 5:], atol=2e-3, rtol=0)


def test_onset_any_chunking_equals_one_call():
    mag = _mags(_audio(8000, seed=2))
    whole, ref_whole = onset(mag, torch.zeros(1, 1, 161), 3)
    ref, parts = torch.zeros(1, 1, 161), []
    for a, b in ((0, 1), (1, 4), (4, 5), (5, 23), (23, mag.shape[1])):
        f, ref = onset(mag[:, a:b], ref, 3)
        parts.append(f)
    torch.testing.assert_close(torch.cat(parts, 1), whole, atol=0, rtol=0)
    torch.testing.assert_close(ref, ref_whole, atol=0, rtol=0)


def _onset_model(df_bins: int, tone_frames: int, seed: int = 0) -> Enhancer:
    torch.manual_seed(seed)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=df_bins, df_order=3, tone_frames=tone_frames)
    cfg.onset_frames = 4
    model = Enhancer(cfg)
    with torch.no_grad():  # non-zero weights everywhere, the onset columns (last 161) included
        model.head.weight.normal_(0, 0.3)
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -161:].normal_(0, 1.0)
    return model.eval()


@pytest.mark.parametrize(("df_bins", "tone_frames"), [(0, 0), (12, 6)])
def test_onset_model_stream_equals_forward_and_numpy_frame(df_bins, tone_frames):
    model = _onset_model(df_bins, tone_frames)
    assert model.cfg.n_features == 161 * (2 + bool(tone_frames)) + 2 * df_bins
    x = torch.from_numpy(_audio(30 * 160, seed=3)).reshape(1, 30, 160)
    assert_stream_equals_forward(model, x)  # also step(), which runs the numpy frame
    assert model._fast is not None and model.__dict__["_numpy"] is not None
    assert model.init_state(1)["onsetref"].shape == (1, 1, 161)
    with torch.no_grad():  # the feature reaches the output: without its columns the output differs
        y = model(x)
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -161:].zero_()
        assert (model(x) - y).abs().max() > 1e-3


def test_with_onset_feature_keeps_the_output_and_config_checks():
    torch.manual_seed(1)
    base = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, df_order=3, tone_frames=6)).eval()
    grown = base.with_onset_feature(4).eval()
    assert grown.cfg.onset_frames == 4 and grown.cfg.n_features == base.cfg.n_features + 161
    x = torch.from_numpy(_audio(40 * 160, seed=6)).reshape(1, 40, 160)
    with torch.no_grad():
        torch.testing.assert_close(grown(x), base(x), atol=1e-6, rtol=1e-5)
        state_a, state_b, ya, yb = grown.init_state(1), base.init_state(1), [], []
        for t in range(20):  # the live step (the numpy frame) too
            ya.append(grown.step(x[:, t], state_a)[0])
            yb.append(base.step(x[:, t], state_b)[0])
        torch.testing.assert_close(torch.cat(ya, 1), torch.cat(yb, 1), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="without the onset feature"):
        grown.with_onset_feature(2)
    with pytest.raises(ValueError, match="without the tone feature, the onset feature"):
        Enhancer(EnhancerConfig(d_model=16, n_layers=1, onset_frames=4)).with_tone_feature(6)  # not last any more
    with pytest.raises(ValueError, match="onset_frames"):
        EnhancerConfig(onset_frames=-1)


def test_old_checkpoints_load_without_the_onset_feature(tmp_path):
    torch.manual_seed(2)
    ckpt.save(Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, tone_frames=6)).eval(), tmp_path / "o.st")
    meta = ckpt.config_path(tmp_path / "o.st")
    record = json.loads(meta.read_text())
    del record["config"]["onset_frames"]  # a file written before the feature existed
    meta.write_text(json.dumps(record))
    loaded = ckpt.load(tmp_path / "o.st")
    assert isinstance(loaded, Enhancer) and loaded.cfg.onset_frames == 0 and "onsetref" not in loaded.init_state(1)


def test_onset_node_streaming_equals_whole_run_and_gap_resets(tmp_path):
    path = tmp_path / "onset.safetensors"
    ckpt.save(_onset_model(12, 6, seed=3), path)
    factory = lambda: EnhancerNode(checkpoint=str(path))  # noqa: E731
    assert_streaming_equivalent(factory, _audio(3000, seed=7)[None], SPEC, rtol=0, atol=2e-5)
    a, b = _audio(2000, seed=8)[None], _audio(1700, seed=9)[None]
    node = factory()
    node.configure({"in": SPEC})
    node.process({"in": Chunk(a, t0=0.0)})
    got = node.process({"in": Chunk(b, t0=5.0, gap=True)})
    fresh = factory()
    fresh.configure({"in": SPEC})
    want = fresh.process({"in": Chunk(b, t0=5.0)})
    np.testing.assert_array_equal(got["out"].data, want["out"].data)
    np.testing.assert_array_equal(got["vad"].data, want["vad"].data)


def test_feature_lr_scales_multiply_the_optimizer_step_on_their_columns_only():
    """--tone-lr-scale and --onset-lr-scale: the step AdamW takes on the tone / onset input columns is multiplied by
    their scale; every other column takes the plain step."""
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, tone_frames=6, onset_frames=4)
    spans = feature_lr_spans(cfg, 20.0, 5.0)
    assert spans == [(161 + 24, 161, 20.0), (161 + 24 + 161, 161, 5.0)]
    assert feature_lr_spans(cfg, 1.0, 1.0) == []
    assert feature_lr_spans(EnhancerConfig(onset_frames=2), 20.0, 3.0) == [(161, 161, 3.0)]  # no tone columns
    torch.manual_seed(4)
    start = torch.randn(8, cfg.n_features)
    grad = torch.randn(8, cfg.n_features)
    moved = []
    for s in (spans, []):
        w = torch.nn.Parameter(start.clone())
        opt = torch.optim.AdamW([w], lr=1e-3, weight_decay=1e-4)
        w.grad = grad.clone()
        scaled_step(opt, w, s)
        moved.append(w.detach() - start)
    scaled, plain = moved
    assert float(plain.abs().min()) > 0
    torch.testing.assert_close(scaled[:, :185], plain[:, :185], atol=0, rtol=0)
    torch.testing.assert_close(scaled[:, 185:346], 20 * plain[:, 185:346], atol=1e-8, rtol=1e-4)
    torch.testing.assert_close(scaled[:, 346:], 5 * plain[:, 346:], atol=1e-8, rtol=1e-4)


def test_shipped_weights_use_the_onset_feature():
    """The shipped model (docs/speech.md, stage 20c, grown from 13c) reads the onset feature: its config asks for it,
    the core's input weights for it (the 161 columns before the impulse feature's, which are last) are trained, and
    its live step equals its offline run."""
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    model = ckpt.load(shipped_checkpoint())
    assert isinstance(model, Enhancer) and model.cfg.onset_frames >= 1 and model.cfg.tone_frames >= 2
    in_proj = model.core.in_proj
    assert in_proj is not None and in_proj.weight.shape[1] == model.cfg.n_features
    end = in_proj.weight.shape[1] - model.cfg.impulse_blocks
    assert float(in_proj.weight.detach()[:, end - 161 : end].abs().max()) > 0.01
    x = torch.from_numpy(_audio(30 * 160, seed=10)).reshape(1, 30, 160)
    assert_stream_equals_forward(model.eval(), x)
