"""The enhancer's pitch input (models/enhancer_pitch.py, EnhancerConfig.pitch_lag): the lag it finds and what the
feature says for a voice and for noise, energies that stay right after a loud burst, streaming == offline (model and
node), growing a trained model with it (the same function at step 0), the numpy frame against the torch path, and its
training options (--pitch-lag, --pitch-lr-scale)."""

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_lr import feature_lr_spans, gate_lr_targets
from wavegraph.models.enhancer_pitch import TIE, pitch_feature, pitch_frame_np, pitch_frames
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR = 16000
SPEC = signal_spec(SR, ["mic"], "misc", dtype="float32", units="a.u.")
W, H, L, LMIN = 320, 160, 256, 32


def _voice(n: int, f0: float = 160.0, seed: int = 0) -> np.ndarray:
    """A steady harmonic voice (period SR / f0 samples) in weak noise."""
    t = np.arange(n) / SR
    x = 0.1 * sum(np.sin(2 * np.pi * k * f0 * t + k) / k for k in range(1, 15))
    return (x + 1e-3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _pitch(x: np.ndarray, bins: int = 96):
    """The torch path on a whole signal: the spectra one period back, the correlation, and the feature."""
    model = Enhancer(EnhancerConfig(df_bins=bins, pitch_lag=L))
    ext = torch.from_numpy(np.concatenate([np.zeros(L, np.float32), x]))[None]
    pspec, corr = pitch_frames(ext, W, H, L, LMIN, model.dft[:, : 2 * bins])
    spec = (torch.from_numpy(x).unfold(0, W, H)[None] @ model.dft[:, : 2 * bins]).unflatten(-1, (bins, 2))
    return pspec, corr, pitch_feature(spec, pspec, corr)


def test_a_voice_repeats_one_period_back_and_noise_does_not():
    _, corr, feat = _pitch(_voice(SR // 2))  # 100 samples a period
    voiced = feat[0, 5:, :40]  # frames past the zero start; bins below 2 kHz (the voice's harmonics)
    assert float(corr[0, 5:].min()) > 0.95
    assert float(voiced.mean()) > 0.8
    noise = np.random.default_rng(1).standard_normal(SR // 2).astype(np.float32)
    _, corr_n, feat_n = _pitch(noise)
    assert float(corr_n[0, 5:].max()) < 0.4  # the best of 225 lags of white noise: ~3 / sqrt(320)
    assert abs(float(feat_n[0, 5:, :-1].mean())) < 0.1
    _, _, feat_loud = _pitch(100 * _voice(SR // 2))  # +40 dB: the same feature
    torch.testing.assert_close(feat_loud, feat, atol=2e-3, rtol=0)


@pytest.mark.parametrize("f0", [70.0, 160.0, 400.0])
def test_the_lag_found_is_a_whole_number_of_periods(f0):
    x = _voice(SR // 4, f0)
    ext = np.concatenate([np.zeros(L, np.float32), x])
    dft = Enhancer(EnhancerConfig(df_bins=96, pitch_lag=L)).dft[:, :192].numpy()
    period = SR / f0
    for start in range(10 * H, 20 * H, H):  # frames well past the start
        seg = ext[start : start + L + W][None]
        P, r = pitch_frame_np(seg, W, L, LMIN, dft)
        s = seg[0].astype(np.float64)
        ref = {
            lag: np.dot(s[L - lag : L - lag + W], s[L:]) / np.linalg.norm(s[L - lag : L - lag + W])
            for lag in range(LMIN, L + 1)
        }
        best = max(ref.values()) / np.linalg.norm(s[L:])  # the lag chosen, computed plainly in float64: the longest
        lag = max(k for k in ref if ref[k] / np.linalg.norm(s[L:]) >= best - TIE)  # within TIE of the best
        assert abs(lag / period - round(lag / period)) * period <= 1.0  # a whole number of periods, to a sample
        assert float(r[0, 0]) == pytest.approx(ref[lag] / np.linalg.norm(s[L:]), abs=1e-5) and float(r[0, 0]) > 0.95
        np.testing.assert_allclose(P[0], seg[0, L - lag : L - lag + W] @ dft, atol=1e-5)  # that lag's spectrum


def test_window_energies_stay_right_after_a_loud_burst():
    """A loud burst then a quiet voice: each window's energy is a difference of running sums; in float32 the quiet
    windows' energies were lost in the burst's and their correlation came out far above 1."""
    x = np.concatenate([30 * np.random.default_rng(2).standard_normal(200), 1e-3 * _voice(2000)]).astype(np.float32)
    ext = np.concatenate([np.zeros(L, np.float32), x])
    _, corr, _ = _pitch(x)
    assert float(corr.abs().max()) <= 1.0 + 1e-4
    dft = Enhancer(EnhancerConfig(df_bins=96, pitch_lag=L)).dft[:, :192].numpy()
    for start in range(0, ext.size - L - W, H):
        _, r = pitch_frame_np(ext[start : start + L + W][None], W, L, LMIN, dft)
        assert abs(float(r[0, 0])) <= 1.0 + 1e-4


def test_digital_silence_gives_zeros_not_nan():
    pspec, corr, feat = _pitch(np.zeros(SR // 10, np.float32))
    assert torch.isfinite(feat).all() and float(feat.abs().max()) == 0 and float(pspec.abs().max()) == 0


def _pitch_model(seed: int = 0) -> Enhancer:
    torch.manual_seed(seed)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=24, df_order=3, impulse_blocks=8, pitch_lag=L)
    model = Enhancer(cfg)
    with torch.no_grad():  # non-zero weights everywhere: the pitch columns (last 25) and tap rows (last 48) too
        model.head.weight.normal_(0, 0.3)
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -25:].normal_(0, 3.0)
    return model.eval()


def test_pitch_model_stream_equals_forward_and_the_input_reaches_the_output():
    model = _pitch_model()
    assert model.cfg.n_features == 161 + 48 + 8 + 25 and model.cfg.n_outputs == 161 + 1 + 2 * 24 * 3 + 48
    x = torch.from_numpy(_voice(45 * 160) + _voice(45 * 160, 230.0)).reshape(1, 45, 160)
    assert_stream_equals_forward(model, x)  # also step(), which runs the numpy frame
    assert model.__dict__["_numpy"] is not None
    with torch.no_grad():
        y = model(x)
        model.head.weight[model.cfg.pitch_offset :].zero_()  # without the tap on the past period: another output
        y_no_tap = model(x)
        assert (y_no_tap - y).abs().max() > 1e-3
        in_proj = model.core.in_proj
        assert in_proj is not None
        in_proj.weight[:, -25:].zero_()  # and without the feature
        assert (model(x) - y_no_tap).abs().max() > 1e-3


def test_pitch_node_streaming_equals_whole_run(tmp_path):
    path = tmp_path / "pitch.safetensors"
    ckpt.save(_pitch_model(seed=3), path)
    assert_streaming_equivalent(lambda: EnhancerNode(checkpoint=str(path)), _voice(7000)[None], SPEC, rtol=0, atol=2e-5)
    assert ckpt.load(path).cfg.pitch_lag == L  # pyright: ignore[reportAttributeAccessIssue]


def test_with_pitch_input_keeps_the_output_and_comes_last():
    torch.manual_seed(1)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, df_order=3, gate_blocks=8, gate_split=20)
    base = Enhancer(cfg).eval()
    with torch.no_grad():
        base.head.weight.normal_(0, 0.3)
    grown = base.with_pitch_input(L).eval()
    assert grown.cfg.n_features == base.cfg.n_features + 13 and grown.cfg.n_outputs == base.cfg.n_outputs + 24
    x = torch.from_numpy(_voice(40 * 160)).reshape(1, 40, 160)
    with torch.no_grad():
        torch.testing.assert_close(grown(x), base(x), atol=1e-6, rtol=1e-5)
        state_a, state_b, ya, yb = grown.init_state(1), base.init_state(1), [], []
        for t in range(30):  # the live step (the numpy frame) too
            ya.append(grown.step(x[:, t], state_a)[0])
            yb.append(base.step(x[:, t], state_b)[0])
        torch.testing.assert_close(torch.cat(ya, 1), torch.cat(yb, 1), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="adding the time gate needs a model without the time gate, .*the pitch input"):
        Enhancer(EnhancerConfig(d_model=16, n_layers=1, df_bins=12, pitch_lag=L)).with_time_gate(8)


def test_the_config_refuses_a_pitch_input_it_cannot_run():
    with pytest.raises(ValueError, match="pitch_lag needs a deep filter"):
        EnhancerConfig(pitch_lag=L)  # no df_bins: no tap to put it in
    with pytest.raises(ValueError, match="pitch_min_lag"):
        EnhancerConfig(df_bins=12, pitch_lag=32, pitch_min_lag=32)
    with pytest.raises(ValueError, match="pitch_lag"):
        EnhancerConfig(df_bins=12, pitch_lag=5000)


def test_pitch_lr_scale_spans_the_last_columns_and_head_rows():
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, impulse_blocks=8, gate_blocks=8, pitch_lag=L)
    assert feature_lr_spans(cfg, 1.0, 1.0, 10.0, 20.0) == [(185, 8, 10.0), (193, 13, 20.0)]
    model = Enhancer(cfg)
    (_, spans), _ = gate_lr_targets(model, 5.0, 20.0)
    assert spans == [(cfg.gate_offset, 8, 5.0), (cfg.pitch_offset, 24, 20.0)]
    assert cfg.pitch_offset + 24 == cfg.n_outputs
    assert gate_lr_targets(model, 1.0, 1.0) == []


def test_train_enhancer_grows_the_shipped_model_with_the_pitch_input_and_trains_it(tmp_path):
    """`wavegraph train enhancer --init SHIPPED --pitch-lag 256 --pitch-lr-scale 20`, two steps on the real corpus:
    the written model has the pitch input, its new columns and tap rows moved from zero, and it loads and runs."""
    from conftest import need
    from wavegraph.models import speech_data as sd
    from wavegraph.models import train_enhancer
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    try:
        sd.load_corpus(synthetic=0)
    except sd.DataError as e:
        need(False, f"speech corpora missing: {e}")
    out = tmp_path / "p.safetensors"
    argv = ["--init", str(shipped_checkpoint()), "--pitch-lag", "256", "--pitch-lr-scale", "20", "--steps", "2"]
    argv += ["--batch", "1", "--seconds", "1", "--pool", "0", "--synthetic", "0", "--heldout-per-snr", "0"]
    assert train_enhancer.main([*argv, "--lr", "1e-4", "--eval-every", "2", "--threads", "1", "--out", str(out)]) == 0
    model = ckpt.load(out)
    assert isinstance(model, Enhancer) and model.cfg.pitch_lag == 256 and model.cfg.pitch_min_lag == LMIN
    df = model.cfg.df_bins
    in_proj = model.core.in_proj
    assert in_proj is not None
    assert float(in_proj.weight.detach()[:, -(df + 1) :].abs().max()) > 0  # grown at zero, then trained
    assert float(model.head.weight.detach()[model.cfg.pitch_offset :].abs().max()) > 0
    y, _ = model.enhance(torch.from_numpy(_voice(SR // 4))[None])
    assert torch.isfinite(y).all()
