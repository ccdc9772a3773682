"""The enhancer's time gate (models/enhancer_gate.py, EnhancerConfig.gate_blocks): its curve, that a model grown with
it computes the same output, that streaming equals offline with it, that it acts where in the frame it is told to,
the order in which it is grown, and its learning-rate multiplier (--gate-lr-scale)."""

import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_gate import apply_gate, gate_curve
from wavegraph.models.enhancer_lr import gate_lr_targets, scaled_step


def test_gate_curve_weights_sum_to_one_and_reach_only_neighbour_blocks():
    c = gate_curve(320, 8)
    assert c.shape == (8, 320)
    torch.testing.assert_close(c.sum(0), torch.ones(320))
    assert float(c.min()) >= 0
    assert float(c[0, 0]) == 1 and float(c[7, 319]) == 1  # constant before the first and after the last centre
    assert float(c[3, 140]) == pytest.approx(1.0, abs=0.02)  # block 3 (samples 120-159): its centre
    assert float(c[3, :80].abs().max()) == 0 and float(c[3, 200:].abs().max()) == 0  # no reach past its neighbours
    with pytest.raises(ValueError, match="gate_blocks"):
        EnhancerConfig(gate_blocks=7)
    with pytest.raises(ValueError, match="gate_blocks"):
        EnhancerConfig(gate_blocks=1)


def test_apply_gate_is_one_at_zero_and_removes_a_block_it_closes():
    seg = torch.randn(2, 3, 320, generator=torch.Generator().manual_seed(0))
    assert torch.equal(apply_gate(seg, torch.zeros(2, 3, 8), gate_curve(320, 8)), seg)
    logits = torch.zeros(2, 3, 8)
    logits[..., 3] = -40.0  # gain 2 sigmoid(-40) ~ 0 at block 3's centre
    out = apply_gate(seg, logits, gate_curve(320, 8))
    gain = apply_gate(torch.ones(320), logits[0, 0], gate_curve(320, 8))  # the gain itself, independent of the signal
    torch.testing.assert_close(out, seg * gain)
    assert float(gain[139:141].max()) < 0.02  # the two samples beside block 3's centre: gain 0.0125
    assert float(gain[120:160].max()) < 0.5  # rising linearly to the neighbours' centres
    assert float(gain[120:160].square().mean()) < 0.1  # the block's power, for a flat signal: -10.8 dB
    torch.testing.assert_close(gain[:80], torch.ones(80))  # blocks 0-1: untouched
    torch.testing.assert_close(gain[200:], torch.ones(120))


def _base(seed: int = 0) -> Enhancer:
    torch.manual_seed(seed)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, impulse_blocks=8, mask_floor=0.03)
    cfg.snr_adapt = True
    return Enhancer(cfg).eval()


def test_grown_gate_keeps_the_output_then_streams_equal_offline_in_every_path():
    base = _base()
    gated = base.with_time_gate(8).eval()
    assert gated.cfg.gate_blocks == 8 and gated.cfg.n_outputs == base.cfg.n_outputs + 8
    x = 0.1 * torch.randn(2, 30, 160, generator=torch.Generator().manual_seed(1))
    x[:, 20, 40:45] += 3.0  # a click
    with torch.no_grad():
        # zero rows: gain exactly 1. Not bit for bit: the head's product is 8 columns wider, and a BLAS may sum the
        # others in another order for another width (MKL's other code path, MKL_CBWR=COMPATIBLE as another CPU
        # takes: 3e-8 apart, 1.4e-5 relative in a small output); the tolerance of the other grown features' tests
        torch.testing.assert_close(gated(x), base(x), atol=1e-6, rtol=1e-5)
        gated.head.weight[gated.cfg.gate_offset :].normal_(0, 2.0)
        gated.head.bias[gated.cfg.gate_offset :].normal_(0, 1.0)
        whole = gated(x)
        assert float((whole - base(x)).abs().max()) > 1e-3  # the gate acts now
        state, parts = gated.init_state(2), []
        for a, b in ((0, 1), (1, 8), (8, 9), (9, 30)):
            y, state = gated.stream(x[:, a:b], state)
            parts.append(y)
        torch.testing.assert_close(torch.cat(parts, 1), whole, atol=1e-5, rtol=1e-4)
        state, steps = gated.init_state(2), []
        for t in range(30):  # the live step: the numpy frame
            steps.append(gated.step(x[:, t], state)[0])
        torch.testing.assert_close(torch.cat(steps, 1), whole, atol=1e-5, rtol=1e-4)


def test_gate_is_grown_last_and_its_rows_take_the_lr_multiplier():
    gated = _base().with_time_gate(8)
    with pytest.raises(ValueError, match="without the time gate"):
        gated.with_time_gate(4)
    with pytest.raises(
        ValueError, match="adding the impulse feature needs a model without the impulse feature, the time"
    ):
        Enhancer(EnhancerConfig(d_model=16, n_layers=1, gate_blocks=8)).with_impulse_feature(8)
    assert gate_lr_targets(gated, 1.0) == [] and gate_lr_targets(_base(), 20.0) == []
    gated.train()
    opt = torch.optim.SGD(gated.parameters(), lr=0.1)
    before = gated.head.weight.detach().clone(), gated.head.bias.detach().clone()
    gated.head.weight.grad = torch.ones_like(gated.head.weight)
    gated.head.bias.grad = torch.ones_like(gated.head.bias)
    for p in gated.core.parameters():
        p.grad = None
    scaled_step(opt, None, [], gate_lr_targets(gated, 20.0))
    o = gated.cfg.gate_offset
    moved_w = gated.head.weight.detach() - before[0]
    moved_b = gated.head.bias.detach() - before[1]
    torch.testing.assert_close(moved_w[:o], torch.full_like(moved_w[:o], -0.1))  # other rows: the plain step
    torch.testing.assert_close(moved_w[o:], torch.full_like(moved_w[o:], -2.0))  # gate rows: 20 times it
    torch.testing.assert_close(moved_b[o:], torch.full_like(moved_b[o:], -2.0))
    torch.testing.assert_close(moved_b[:o], torch.full_like(moved_b[:o], -0.1))


def test_shipped_weights_use_the_time_gate():
    """The shipped model (docs/speech.md, stage 30s, and 26s before it) has the gate in two bands split at 1 kHz: its
    config asks for 8 blocks a band, its head rows (grown at zero in 21, the high band's a copy in 26) were trained away
    from zero and apart, and its live step (the numpy frame, which computes the gate) equals its offline run. The
    pitch input's rows (stage 30s) follow the gate's."""
    from wavegraph.models import checkpoint as ckpt
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    model = ckpt.load(shipped_checkpoint())
    assert isinstance(model, Enhancer) and model.cfg.gate_blocks == 8
    rows = model.head.weight.detach()[model.cfg.gate_offset : model.cfg.gate_offset + 2 * model.cfg.gate_blocks]
    assert model.cfg.gate_split == 20 and rows.shape[0] == 16 and float(rows.abs().max()) > 0.01
    assert float((rows[8:] - rows[:8]).abs().max()) > 0.01  # the two bands' gains differ
    model.eval()
    x = 0.05 * torch.randn(1, 30, 160, generator=torch.Generator().manual_seed(3))
    x[0, 12, 60:64] += 1.0  # a click
    with torch.no_grad():
        whole = model(x)
        state, steps = model.init_state(1), []
        for t in range(30):
            steps.append(model.step(x[:, t], state)[0])
        torch.testing.assert_close(torch.cat(steps, 1), whole, atol=1e-5, rtol=1e-4)
        model.head.bias[model.cfg.gate_offset :] = 0.0
        model.head.weight[model.cfg.gate_offset :] = 0.0
        assert float((model(x) - whole).abs().max()) > 1e-4  # the trained gate changes the output
