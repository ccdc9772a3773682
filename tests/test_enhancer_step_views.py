"""`Enhancer.step` keeps the numpy views of the state from one frame to the next (models/enhancer.py
`_state_views`): only while the state holds the same tensors on the same memory. A state changed between frames (an
entry replaced, a tensor's memory swapped, a tensor made to require grad, another state dict) must be read as it is
now, as the torch frame step reads it."""

import numpy as np
import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_fast import fast_step


def _model() -> Enhancer:
    torch.manual_seed(0)
    model = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, onset_frames=3)).eval()
    with torch.no_grad():
        model.head.weight.normal_(0, 1.0)
    return model


def _blocks(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    return 0.1 * torch.randn(n, 1, 160, generator=g)


def _changes():
    def replace_entry(state):
        state["prev"] = state["prev"] * 0.5 + 0.1  # a new tensor in the same dict

    def swap_memory(state):
        state["onsetref"].data = state["onsetref"].data.clone() + 0.2  # the same tensor object, other memory

    def new_dict(state):
        return {k: v.clone() for k, v in state.items()}

    return {"replace an entry": replace_entry, "swap a tensor's memory": swap_memory, "another dict": new_dict}


@pytest.mark.parametrize("change", list(_changes()))
def test_a_state_changed_between_frames_is_read_as_it_is_now(change):
    model, x = _model(), _blocks(12)
    with torch.no_grad():
        fast = fast_step(model)
        assert fast is not None
        s_step, s_ref = model.init_state(1), model.init_state(1)
        for t in range(12):
            if t == 6:  # the same change to both states
                s_step = _changes()[change](s_step) or s_step
                s_ref = _changes()[change](s_ref) or s_ref
            y, s_step = model.step(x[t], s_step)  # the numpy frame, its views kept from the frame before
            y_ref, s_ref = model._fast_frame(x[t], s_ref, fast)  # torch: reads the state's tensors every frame
            torch.testing.assert_close(y, y_ref, atol=2e-5, rtol=1e-4)
        assert model.__dict__["_numpy"] is not None


def test_a_state_tensor_made_to_require_grad_is_not_written_behind_autograd():
    model, x = _model(), _blocks(4)
    state = model.init_state(1)
    with torch.no_grad():
        for t in range(2):
            _, state = model.step(x[t], state)
    prev = state["prev"].requires_grad_()
    before = prev.detach().clone()
    with torch.no_grad():  # the fused step, but a tracked entry: torch's, which puts new tensors in the state
        _, new = model.step(x[2], state)
    assert new["prev"] is not prev
    np.testing.assert_array_equal(prev.detach().numpy(), before.numpy())
