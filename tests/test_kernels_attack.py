"""Hostile inputs to the public kernel ops (wavegraph.kernels), on both backends: the torch reference and the Triton
kernels under TRITON_INTERPRET=1 (fp32, tiny shapes). Bad input must be a clear ValueError that leaves any in-place
state alone, never a silent wrong result."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the first triton import

import pytest  # noqa: E402
import torch  # noqa: E402
import wavegraph.kernels as kernels  # noqa: E402
from wavegraph.kernels.dispatch import triton_available  # noqa: E402

BACKENDS = ["ref", pytest.param("triton", marks=pytest.mark.skipif(not triton_available(), reason="no triton"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_update_with_a_bad_activation_leaves_the_state_alone(monkeypatch, backend):
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    state = torch.randn(2, 3, 3)
    before = state.clone()
    with pytest.raises(ValueError, match="activation must be None or 'silu', got 'gelu'"):
        kernels.causal_conv1d_update(torch.randn(2, 3), state, torch.randn(3, 4), activation="gelu")
    assert torch.equal(state, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_update_with_a_zero_width_weight_says_so(monkeypatch, backend):
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    with pytest.raises(ValueError, match="weight width must be >= 1"):
        kernels.causal_conv1d_update(torch.randn(2, 3), torch.randn(2, 3, 0), torch.randn(3, 0))
