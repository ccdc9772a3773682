"""The numpy frame step (models/enhancer_numpy.py) writes the state in place through numpy views of its tensors,
where the torch step (`Enhancer._fast_frame`) puts new tensors in the state for every entry but the core's. Where
writing in place would give another answer than the torch step, `Enhancer.step` must take the torch step:
entries that share memory (the same tensor given for two entries: the numpy frame wrote one into the other), and
entries that autograd tracks (numpy's writes do not bump their version, so a gradient through a tensor saved for
backward came out silently wrong)."""

import pytest
import torch
from test_enhancer_numpy import _model as _random_head_model  # pyright: ignore[reportMissingImports]
from wavegraph.models.enhancer import Enhancer
from wavegraph.models.enhancer_fast import fast_step

FEATURES = dict(df_bins=12, df_order=2, tone_frames=3, onset_frames=3, impulse_blocks=8, gate_blocks=8)


def _model() -> Enhancer:
    return _random_head_model(mask_floor=0.05, snr_adapt=True, **FEATURES)


def _blocks(frames: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    t = torch.arange(frames * 160) / 16000
    x = 0.3 * torch.sin(2 * torch.pi * 220 * t) + 0.05 * torch.randn(frames * 160, generator=g)
    return x.view(1, frames, 160)


def _torch_steps(model: Enhancer, x: torch.Tensor) -> torch.Tensor:
    fast = fast_step(model)
    assert fast is not None
    state, ys = model.init_state(1), []
    for t in range(x.shape[1]):
        y, state = model._fast_frame(x[:, t], state, fast)
        ys.append(y)
    return torch.cat(ys, 1)


def _shared_tensor(model: Enhancer) -> dict[str, torch.Tensor]:
    state = model.init_state(1)
    state["tail"] = state["prev"]  # one zero tensor for both (both start at zeros)
    return state


def _overlapping_views(model: Enhancer) -> dict[str, torch.Tensor]:
    state = model.init_state(1)
    buf = torch.zeros(240)
    state["prev"], state["tail"] = buf[:160].view(1, 160), buf[80:].view(1, 160)
    return state


@pytest.mark.parametrize("make_state", [_shared_tensor, _overlapping_views])
def test_a_state_whose_entries_share_memory_steps_as_the_torch_step(make_state):
    model = _model()
    x = _blocks(6)
    with torch.no_grad():
        ref = _torch_steps(model, x)
        state, ys = make_state(model), []
        for t in range(x.shape[1]):
            y, state = model.step(x[:, t], state)
            ys.append(y)
    torch.testing.assert_close(torch.cat(ys, 1), ref, atol=2e-5, rtol=1e-4)


def test_disjoint_views_of_one_buffer_still_run_the_numpy_frame():
    """A state packed into one buffer without overlap is written in place (the numpy frame: the same tensors)."""
    model = _model()
    x = _blocks(4)
    with torch.no_grad():
        ref = _torch_steps(model, x)
        state = model.init_state(1)
        buf = torch.zeros(320)
        state["prev"], state["tail"] = buf[:160].view(1, 160), buf[160:].view(1, 160)
        before = dict(state)
        ys = []
        for t in range(x.shape[1]):
            y, state = model.step(x[:, t], state)
            ys.append(y)
    assert all(state[k] is v for k, v in before.items())
    torch.testing.assert_close(torch.cat(ys, 1), ref, atol=2e-5, rtol=1e-4)


def test_a_state_tensor_saved_for_backward_keeps_its_gradient():
    """step() under no_grad on a state whose tail is in an autograd graph: the torch step replaces the tail, so the
    gradient through the old one is right; numpy writing into it changed the gradient without autograd knowing."""
    model = _model()
    x = _blocks(2)
    leaf = torch.full((1, 160), 0.25, requires_grad=True)
    state = model.init_state(1)
    state["tail"] = leaf * 1.0  # a non-leaf tracked by autograd
    loss = state["tail"].square().sum()  # saves the tail for backward: d loss / d leaf = 2 tail = 0.5
    with torch.no_grad():
        for t in range(x.shape[1]):
            _, state = model.step(x[:, t], state)
    loss.backward()
    assert leaf.grad is not None
    torch.testing.assert_close(leaf.grad, torch.full((1, 160), 0.5))
