"""The enhancer's tone feature (models/enhancer_features.py `steadiness`, EnhancerConfig.tone_frames): what it
measures, streaming == offline (model, fused frame graph and node), state reset at a gap, growing a trained model
with it, and old or mismatched checkpoints."""

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_features import dft_matrices, steadiness
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR = 16000
SPEC = signal_spec(SR, ["mic"], "misc", dtype="float32", units="a.u.")
K = 6


def _spectra(x: np.ndarray) -> torch.Tensor:
    dft, _ = dft_matrices(320, 160)
    sig = torch.from_numpy(np.concatenate([np.zeros(160, np.float32), x.astype(np.float32)]))[None]
    return (sig.unfold(1, 320, 160) @ dft).unflatten(-1, (161, 2))  # (1, T, bins, 2)


def _voice(n: int, seed: int = 0) -> np.ndarray:
    """Harmonics of a gliding f0 (120 -> 220 Hz and back over 0.5 s), with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = 170 + 50 * np.sin(2 * np.pi * 2 * t)
    ph = 2 * np.pi * np.cumsum(f0) / SR
    return 0.05 * sum(np.sin(k * ph) / k for k in range(1, 16)) + 1e-4 * rng.standard_normal(n)


def test_steadiness_is_high_for_a_tone_low_for_noise_and_a_gliding_voice():
    n = SR
    t = np.arange(n) / SR
    tone = _spectra(0.05 * np.sin(2 * np.pi * 1234.0 * t))
    feat = steadiness(tone, torch.zeros(1, K + 1, 161, 2), K)[0]
    b = round(1234.0 / 50)
    assert torch.all(feat[0, K + 2 :, b - 1 : b + 2] > 0.99)  # from the window's first full frame on
    assert torch.all(feat[0, :2] == 0)  # the window starts on zeros: nothing before frame 2
    noise = _spectra(0.05 * np.random.default_rng(1).standard_normal(n))
    assert float(steadiness(noise, torch.zeros(1, K + 1, 161, 2), K)[0][0, K + 2 :].mean()) < 0.5
    voice = _spectra(_voice(n))
    f = steadiness(voice, torch.zeros(1, K + 1, 161, 2), K)[0]
    p = voice.square().sum(-1)
    strong = (p > 1e-2 * p.max())[0, K + 2 :]
    strong[:, :12] = False  # above the 4th harmonic: there a pitch glide moves the phase advance from hop to hop
    assert float(f[0, K + 2 :][strong].mean()) < 0.8


def test_steadiness_any_chunking_equals_one_call():
    spec = _spectra(_voice(8000, seed=2) + 0.02 * np.sin(2 * np.pi * 800 * np.arange(8000) / SR))
    whole, hist_whole, _ = steadiness(spec, torch.zeros(1, K + 1, 161, 2), K)
    hist, parts = torch.zeros(1, K + 1, 161, 2), []
    for a, b in ((0, 1), (1, 4), (4, 5), (5, 23), (23, spec.shape[1])):
        f, hist, _ = steadiness(spec[:, a:b], hist, K)
        parts.append(f)
    torch.testing.assert_close(torch.cat(parts, 1), whole, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(hist, hist_whole)


def test_steadiness_of_near_silence_is_finite_and_equal_to_its_scaled_copy():
    """A frame of samples near 1e-20 (an IIR filter's tail decaying to digital silence) gives a subnormal phase
    advance, whose sgn() torch 2.13 makes inf: the feature and the history it carries on were NaN for good. The
    feature is level-free, so the same signal 1e21 times louder gives nearly the same values."""
    x = np.random.default_rng(5).standard_normal(4000)
    quiet, loud = _spectra(1e-21 * x), _spectra(x)
    assert (quiet.abs() < 1e-15).all()  # the spectrum itself is not zero: the products of two bins are subnormal
    f_quiet, hist_quiet, _ = steadiness(quiet, torch.zeros(1, K + 1, 161, 2), K)
    f_loud, _, _ = steadiness(loud, torch.zeros(1, K + 1, 161, 2), K)
    assert torch.isfinite(f_quiet).all() and torch.isfinite(hist_quiet).all()
    torch.testing.assert_close(f_quiet, f_loud, atol=2e-3, rtol=0)  # subnormal products keep fewer bits
    one, _, _ = steadiness(quiet[:, :1], hist_quiet, K)  # the live step (T = 1) too
    assert torch.isfinite(one).all()


def test_model_output_on_near_silence_stays_finite():
    """The model itself (offline forward and the numpy frame step), without the node's zeroing of tiny samples."""
    model = _tone_model(12)
    x = torch.from_numpy((1e-20 * np.random.default_rng(6).standard_normal(30 * 160)).astype(np.float32))
    y = model(x.reshape(1, 30, 160))
    assert torch.isfinite(y).all()
    state = model.init_state(1)
    with torch.inference_mode():
        for t in range(30):
            out, state = model.step(x[t * 160 : (t + 1) * 160][None], state)
            assert torch.isfinite(out).all(), t


def _tone_model(df_bins: int = 12, seed: int = 0) -> Enhancer:
    torch.manual_seed(seed)
    model = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=df_bins, df_order=3, tone_frames=K))
    with torch.no_grad():  # non-zero weights everywhere, the tone columns (last 161) included
        model.head.weight.normal_(0, 0.3)
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -161:].normal_(0, 1.0)
    return model.eval()


@pytest.mark.parametrize("df_bins", [0, 12])
def test_tone_model_stream_equals_forward_and_numpy_frame(df_bins):
    model = _tone_model(df_bins)
    assert model.cfg.n_features == 161 + 2 * df_bins + 161
    x = torch.from_numpy(_voice(29 * 160, seed=3).astype(np.float32)).reshape(1, 29, 160)
    assert_stream_equals_forward(model, x)  # also step(), which runs the numpy frame
    assert model._fast is not None and model.__dict__["_numpy"] is not None
    state = model.init_state(1)
    assert state["tonehist"].shape == (1, K + 1, 161, 2)


def test_the_output_depends_on_the_tone_feature():
    """Fails if the feature is dropped from the core input (or is constant): zeroing its input columns changes the
    output; and the stream/step test above fails if one path drops it."""
    model = _tone_model(0)
    x = torch.from_numpy(_voice(40 * 160, seed=4).astype(np.float32)).reshape(1, 40, 160)
    with torch.no_grad():
        y = model(x)
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -161:].zero_()
        assert (model(x) - y).abs().max() > 1e-3


def test_with_tone_feature_keeps_the_output_and_config_checks():
    torch.manual_seed(1)
    base = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, df_order=3)).eval()
    grown = base.with_tone_feature(K).eval()
    assert grown.cfg.tone_frames == K and grown.cfg.n_features == base.cfg.n_features + 161
    x = torch.from_numpy(_voice(20 * 160, seed=6).astype(np.float32)).reshape(1, 20, 160)
    with torch.no_grad():
        torch.testing.assert_close(grown(x), base(x), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="without the tone feature"):
        grown.with_tone_feature(4)
    with pytest.raises(ValueError, match="without a deep filter, the tone feature"):
        Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, tone_frames=K)).with_deep_filter(8, 2)
    with pytest.raises(ValueError, match="tone_frames"):
        EnhancerConfig(tone_frames=1)


def test_old_checkpoints_load_and_a_mismatch_is_a_clear_error(tmp_path):
    torch.manual_seed(2)
    old = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1)).eval()
    ckpt.save(old, tmp_path / "old.safetensors")
    meta = ckpt.config_path(tmp_path / "old.safetensors")
    text = meta.read_text()
    assert "tone_frames" in text  # written by this code; an older file lacks the key:
    import json

    record = json.loads(text)
    del record["config"]["tone_frames"]
    meta.write_text(json.dumps(record))
    loaded = ckpt.load(tmp_path / "old.safetensors")
    assert isinstance(loaded, Enhancer) and loaded.cfg.tone_frames == 0
    record["config"]["tone_frames"] = K  # weights without the tone columns under a config that asks for them
    meta.write_text(json.dumps(record))
    with pytest.raises(ckpt.CheckpointError, match="in_proj"):
        ckpt.load(tmp_path / "old.safetensors")


def _node_factory(path):
    return lambda: EnhancerNode(checkpoint=str(path))


def test_tone_node_streaming_equals_whole_run_and_gap_resets(tmp_path):
    path = tmp_path / "tone.safetensors"
    ckpt.save(_tone_model(12, seed=3), path)
    x = _voice(3000, seed=7).astype(np.float32)[None]
    assert_streaming_equivalent(_node_factory(path), x, SPEC, rtol=0, atol=2e-5)
    a, b = _voice(2000, seed=8).astype(np.float32)[None], _voice(1700, seed=9).astype(np.float32)[None]
    node = _node_factory(path)()
    node.configure({"in": SPEC})
    node.process({"in": Chunk(a, t0=0.0)})
    got = node.process({"in": Chunk(b, t0=5.0, gap=True)})
    fresh = _node_factory(path)()
    fresh.configure({"in": SPEC})
    want = fresh.process({"in": Chunk(b, t0=5.0)})
    np.testing.assert_array_equal(got["out"].data, want["out"].data)
    np.testing.assert_array_equal(got["vad"].data, want["vad"].data)


def test_shipped_weights_use_the_tone_feature():
    """The shipped model (docs/speech.md, stage 12, then 13c) reads the tone feature: its config asks for it and the core's
    input weights for it are trained (non-zero), and its live step (the numpy frame) equals its offline run."""
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    model = ckpt.load(shipped_checkpoint())
    assert isinstance(model, Enhancer) and model.cfg.tone_frames >= 2
    in_proj = model.core.in_proj
    assert in_proj is not None and in_proj.weight.shape[1] == model.cfg.n_features
    tone = 161 + 2 * model.cfg.df_bins  # the tone columns follow the magnitudes and the phase advances
    assert float(in_proj.weight.detach()[:, tone : tone + 161].abs().max()) > 0.01
    x = torch.from_numpy(_voice(30 * 160, seed=10).astype(np.float32)).reshape(1, 30, 160)
    assert_stream_equals_forward(model.eval(), x)
