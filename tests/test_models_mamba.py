"""Mamba block and stack: full sequence == any chunking with carried state == a loop of single steps."""

import math
import os

import pytest
import torch
import torch.nn.functional as F
from conftest import need
from wavegraph.models.mamba import Mamba, MambaConfig, MambaStack

pytestmark = pytest.mark.usefixtures("one_torch_thread")


RTOL, ATOL = 3e-4, 1e-3


def make(seed=0, **kw):
    torch.manual_seed(seed)
    cfg = MambaConfig(**{"d_model": 32, "n_layers": 2, "d_in": 10, "d_state": 8, **kw})
    return MambaStack(cfg).eval()


def test_full_equals_chunked_equals_steps():
    model = make()
    torch.manual_seed(1)
    x = torch.randn(3, 70, 10)
    with torch.no_grad():
        full = model(x)
        full_state = model.stream(x, model.init_state(3))[1]
        for sizes in ([1] * 5 + [65], [17, 1, 30, 22], [3] * 23 + [1]):
            state, ys, i = model.init_state(3), [], 0
            for n in sizes:
                y, state = model.stream(x[:, i : i + n], state)
                ys.append(y)
                i += n
            torch.testing.assert_close(torch.cat(ys, 1), full, rtol=RTOL, atol=ATOL)
            assert state.keys() == full_state.keys() == {"conv.0", "ssm.0", "conv.1", "ssm.1"}
            for k in state:
                torch.testing.assert_close(state[k], full_state[k], rtol=RTOL, atol=ATOL)
        state = model.init_state(3)
        steps = torch.cat([model.step(x[:, t], state)[0] for t in range(x.shape[1])], 1)
    torch.testing.assert_close(steps, full, rtol=RTOL, atol=ATOL)
    for k in state:
        torch.testing.assert_close(state[k], full_state[k], rtol=RTOL, atol=ATOL)
    # the comparison is meaningful: outputs are not near zero, and a different input changes them
    assert full.abs().mean() > 0.1
    assert (model(x.flip(1)) - full).abs().max() > 0.1


def test_forward_does_not_mutate_state_and_is_causal():
    model = make()
    x = torch.randn(2, 40, 10)
    with torch.no_grad():
        _, state = model.stream(x[:, :20], model.init_state(2))
        before = {k: v.clone() for k, v in state.items()}
        y1, _ = model.stream(x[:, 20:], state)
        y2, _ = model.stream(x[:, 20:], state)  # same state object fed twice: same answer
        for k, v in state.items():
            assert torch.equal(v, before[k])
        torch.testing.assert_close(y1, y2, rtol=0, atol=0)
        full = model(x)
        x2 = x.clone()
        x2[:, 25:] += 3.0
        pert = model(x2)
    assert torch.equal(pert[:, :25], full[:, :25])
    assert not torch.allclose(pert[:, 25:], full[:, 25:], atol=1e-3)


def test_initialisation_follows_mamba():
    torch.manual_seed(0)
    cfg = MambaConfig(d_model=64, d_state=16)
    block = Mamba(cfg)
    A = -torch.exp(block.A_log)
    torch.testing.assert_close(A, -torch.arange(1, 17, dtype=torch.float32).expand(128, 16), rtol=1e-6, atol=0)
    dt = F.softplus(block.dt_proj.bias)
    assert dt.min() >= 1e-3 * (1 - 1e-4) and dt.max() <= 0.1 * (1 + 1e-4)
    # log-uniform: the log of dt is spread over the whole range, not clustered
    logs = torch.log10(dt)
    assert logs.min() < -2.6 and logs.max() > -1.4
    assert torch.equal(block.D, torch.ones(128))
    assert cfg.rank == math.ceil(64 / 16) and block.x_proj.out_features == 4 + 32


@pytest.mark.parametrize("n_layers", [1, 4])
def test_stack_initialisation_follows_mamba_ssm(n_layers):
    """mamba_ssm's _init_weights: Linear biases zero except dt_proj's, out_proj kaiming-uniform / sqrt(n_layers)."""
    torch.manual_seed(0)
    model = MambaStack(MambaConfig(d_model=64, n_layers=n_layers, d_in=10, d_state=16))
    assert model.in_proj is not None and torch.count_nonzero(model.in_proj.bias) == 0
    bound = 1 / math.sqrt(128 * n_layers)  # kaiming_uniform(a=sqrt(5)) bound 1/sqrt(fan_in=d_inner), then rescaled
    for layer in model.blocks:
        w = layer.out_proj.weight
        assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
        assert abs(w.std().item() - bound / math.sqrt(3)) < 0.05 * bound  # uniform(-b, b) has std b / sqrt(3)
        dt = F.softplus(layer.dt_proj.bias)  # dt_proj's bias keeps its inverse-softplus init
        assert dt.min() >= 1e-3 * (1 - 1e-4) and dt.max() <= 0.1 * (1 + 1e-4)
        assert (
            layer.conv1d.bias is not None and torch.count_nonzero(layer.conv1d.bias) > 0
        )  # a Conv1d, which _init_weights leaves alone


def test_empty_chunk_and_bad_shapes():
    model = make()
    with torch.no_grad():
        _, state = model.stream(torch.randn(1, 5, 10), model.init_state(1))
        y, state2 = model.stream(torch.zeros(1, 0, 10), state)
    assert y.shape == (1, 0, 32)
    assert all(torch.equal(state[k], state2[k]) for k in state)
    with pytest.raises(ValueError, match="d_in=10"):
        model(torch.randn(1, 5, 9))
    with pytest.raises(ValueError, match="dt_min"):
        MambaConfig(dt_min=0.2, dt_max=0.1)


def test_stack_trains():
    model = make().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randn(2, 24, 10)
    target = torch.randn(2, 24, 32)
    losses = []
    for _ in range(15):
        loss = F.mse_loss(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]


def _triton_runs_here() -> bool:
    from wavegraph.kernels.dispatch import triton_available

    return triton_available() and (torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1")


def test_triton_kernels_path_matches_reference(monkeypatch):
    """The same model through the Triton kernels (on CPU under the interpreter) equals the torch reference path."""
    need(_triton_runs_here(), "needs triton with CUDA or TRITON_INTERPRET=1")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = make(d_model=16, n_layers=1, d_in=6, d_state=4).to(device)
    x = torch.randn(2, 20, 6, device=device)
    with torch.no_grad():
        monkeypatch.setenv("WAVEGRAPH_KERNELS", "ref")
        ref, ref_state = model.stream(x, model.init_state(2, device))
        monkeypatch.setenv("WAVEGRAPH_KERNELS", "triton")
        got, state = model.stream(x[:, :13], model.init_state(2, device))
        got2, state = model.stream(x[:, 13:], state)
        torch.testing.assert_close(torch.cat([got, got2], 1), ref, rtol=RTOL, atol=ATOL)
        steps_state = model.init_state(2, device)
        steps = torch.cat([model.step(x[:, t], steps_state)[0] for t in range(x.shape[1])], 1)
        torch.testing.assert_close(steps, ref, rtol=RTOL, atol=ATOL)
        torch.testing.assert_close(steps_state["ssm.0"], ref_state["ssm.0"], rtol=RTOL, atol=ATOL)
