"""The enhancer's SNR-adaptive attenuation limit (models/enhancer_gain.py): the floor follows the estimated SNR
exactly as documented, streaming equals offline (model and node), the estimate restarts at a gap; and the
trainer's low-SNR sampling option (models/speech_data.py TrainSampler.snr)."""

import math

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_gain import LEVEL_START, adaptive_mask, smoothing
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SR = 16000
SPEC = signal_spec(SR, ["mic"], "misc", dtype="float32", units="a.u.")


def _noise(n: int, seed: int) -> np.ndarray:
    return (0.05 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _constant_mask_model(logit: float, **cfg) -> Enhancer:
    model = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, snr_adapt=True, **cfg)).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(logit)
    return model


@pytest.mark.parametrize(
    "logit, cfg, gain",
    [
        # mask 0.5 on every bin: speech and noise estimates equal, 0 dB, halfway between -6 and 6 dB: floor 0.1
        (0.0, dict(mask_floor=0.2, low_snr_floor=0.0, snr_low=-6.0, snr_high=6.0), 0.1 + 0.9 * 0.5),
        # 0 dB at or under snr_low: the low-SNR floor and the full post-filter, (1 + b) m s^2 / (s^2 + b), s^2 = 1/2
        (0.0, dict(mask_floor=0.2, low_snr_floor=0.0, snr_low=1.0, snr_high=2.0, low_snr_postfilter=0.1), 1.1 / 2.4),
        # 0 dB at or over snr_high: mask_floor, no post-filter
        (0.0, dict(mask_floor=0.2, low_snr_floor=0.0, snr_low=-2.0, snr_high=-1.0, low_snr_postfilter=0.1), 0.6),
        # mask 0: no speech at all, the lowest SNR: the floor is low_snr_floor
        (-60.0, dict(mask_floor=0.2, low_snr_floor=0.05), 0.05),
    ],
)
def test_floor_follows_the_estimated_snr(logit, cfg, gain):
    model = _constant_mask_model(logit, **cfg)
    x = torch.from_numpy(_noise(40 * 160, seed=1))
    y = assert_stream_equals_forward(model, x.reshape(1, 40, 160))[..., :-1].reshape(1, -1)  # forward, stream, step
    np.testing.assert_allclose(y[0, 160:].numpy(), gain * x[:-160].numpy(), atol=1e-5)
    state = model.init_state(1)
    assert state["level"].shape == (1, 2) and torch.all(state["level"] == LEVEL_START)


def test_estimate_is_causal_and_smoothed():
    """A mask that halves the estimate's speech share after a switch: the floor moves with the one-pole average
    (time constant snr_tau), not at once, and the frames before the switch do not see it."""
    cfg = EnhancerConfig(snr_adapt=True, mask_floor=0.3, low_snr_floor=0.0, snr_low=-10.0, snr_high=10.0, snr_tau=0.2)

    m = torch.full((1, 60, 4), 0.5)
    m[:, 30:] = 0.25  # speech share 1/16, noise 9/16 from frame 30: -9.5 dB once settled
    power = torch.ones(1, 60, 4)
    mask, level = adaptive_mask(m, power, torch.full((1, 2), LEVEL_START), cfg)
    floor = (mask - m) / (1 - m)
    torch.testing.assert_close(floor[0, :30], torch.full((30, 4), 0.15))  # 0 dB: halfway
    alpha = smoothing(cfg)
    assert alpha == pytest.approx(math.exp(-160 / (16000 * 0.2)))
    s = n = 0.0
    for t in range(60):  # the estimate, by hand
        s = alpha * s + (1 - alpha) * 4 * float(m[0, t, 0]) ** 2
        n = alpha * n + (1 - alpha) * 4 * (1 - float(m[0, t, 0])) ** 2
    a = min(1.0, max(0.0, (10 - 10 * math.log10(s / n)) / 20))
    assert float(floor[0, -1, 0]) == pytest.approx(0.3 * (1 - a), abs=1e-5)
    assert 0.0 < float(floor[0, -1, 0]) < float(floor[0, 31, 0]) < 0.15
    torch.testing.assert_close(level, torch.tensor([[s, n]]), rtol=1e-4, atol=1e-6)


def test_deep_filter_model_streams_with_the_adaptive_floor():
    torch.manual_seed(0)
    model = Enhancer(
        EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, df_order=3, snr_adapt=True, mask_floor=0.1)
    ).eval()
    model.cfg.low_snr_postfilter = 0.05
    with torch.no_grad():
        model.head.weight.normal_(0, 0.3)
        model.head.bias.normal_(0, 0.5)
    x = torch.from_numpy(_noise(37 * 160, seed=2)).reshape(1, 37, 160)
    y = assert_stream_equals_forward(model, x)  # step() runs the numpy frame, with the level state
    assert model.__dict__["_numpy"] is not None
    model.cfg.snr_adapt = False  # the graph is rebuilt for the new setting, not reused
    with torch.no_grad():
        plain = model.step(x[:, 0], model.init_state(1))[0]
        torch.testing.assert_close(plain, model(x[:, :1]), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(y, model(x), atol=1e-4)


@pytest.fixture
def adaptive_checkpoint(tmp_path):
    torch.manual_seed(3)
    model = Enhancer(
        EnhancerConfig(core="gla", d_model=16, n_layers=1, snr_adapt=True, mask_floor=0.2, low_snr_floor=0.0)
    ).eval()
    with torch.no_grad():
        model.head.weight.normal_(0, 0.3)
    ckpt.save(model, tmp_path / "adaptive.safetensors")
    return str(tmp_path / "adaptive.safetensors")


def test_node_streams_and_restarts_the_estimate_at_a_gap(adaptive_checkpoint):
    x = _noise(3000, seed=4)
    assert_streaming_equivalent(lambda: EnhancerNode(checkpoint=adaptive_checkpoint), x[None], SPEC, rtol=0, atol=2e-5)
    loud, b = 20 * _noise(2000, seed=5)[None], _noise(1700, seed=6)[None]

    def run(gap: bool):
        node = EnhancerNode(checkpoint=adaptive_checkpoint)
        node.configure({"in": SPEC})
        node.process({"in": Chunk(loud, t0=0.0)})
        return node.process({"in": Chunk(b, t0=5.0, gap=gap)})["out"].data

    fresh = EnhancerNode(checkpoint=adaptive_checkpoint)
    fresh.configure({"in": SPEC})
    want = fresh.process({"in": Chunk(b, t0=5.0)})["out"].data
    np.testing.assert_array_equal(run(gap=True), want)
    assert not np.allclose(run(gap=False)[:, 400:], want[:, 400:], atol=1e-4)  # the past does matter without one


def test_config_refuses_bad_adaptive_settings():
    with pytest.raises(ValueError, match="snr_high > snr_low"):
        EnhancerConfig(snr_adapt=True, snr_low=0.0, snr_high=0.0)
    with pytest.raises(ValueError, match="snr_tau"):
        EnhancerConfig(snr_tau=0.0)


def test_sampler_draws_low_snrs_when_asked_and_is_unchanged_otherwise():
    from wavegraph.models import speech_data as sd

    corpus = sd.Corpus([_noise(SR, 0)], ["a"], ["u0"])
    plain = sd.TrainSampler(corpus)
    a, b = np.random.default_rng(0), np.random.default_rng(0)
    assert [plain.snr(a) for _ in range(50)] == [float(b.uniform(-5.0, 20.0)) for _ in range(50)]
    low = sd.TrainSampler(corpus, low_snr_prob=0.5, low_snr_range=(-5.0, 0.0))
    snrs = np.array([low.snr(a) for _ in range(2000)])
    assert snrs.min() >= -5.0 and snrs.max() <= 20.0
    share = np.mean(snrs < 0.0)  # 0.5 + 0.5 * 5 / 25 = 0.6 expected
    assert 0.55 < share < 0.65
