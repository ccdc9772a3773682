"""Hostile inputs to the public kernel ops (wavegraph.kernels), on both backends: the torch reference and the Triton
kernels under TRITON_INTERPRET=1 (fp32, tiny shapes). Bad input must be a clear ValueError that leaves any in-place
state alone, never a silent wrong result."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the first triton import

import pytest  # noqa: E402
import torch  # noqa: E402
import wavegraph.kernels as kernels  # noqa: E402
from wavegraph.kernels import reference as R  # noqa: E402
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


def _scan_args(dtype_of: dict) -> dict:
    g = torch.Generator().manual_seed(0)
    b, d, L, n = 1, 3, 5, 4
    a = dict(
        u=torch.randn(b, d, L, generator=g),
        delta=torch.rand(b, d, L, generator=g),
        A=-torch.rand(d, n, generator=g) - 0.1,
        B=torch.randn(b, n, L, generator=g),
        C=torch.randn(b, n, L, generator=g),
    )
    for name, dtype in dtype_of.items():
        a[name] = (a[name] * 3).to(dtype)
    return a


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,dtype", [("A", torch.complex64), ("u", torch.int32)])
def test_scan_refuses_complex_or_integer_inputs_by_name(monkeypatch, backend, name, dtype):
    # before: the reference dropped A's imaginary part (a warning only) and gave int32 y for int u; Triton: KeyError
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    with pytest.raises(ValueError, match=f"{name} has dtype {dtype}; the kernels take real floating-point"):
        kernels.selective_scan(**_scan_args({name: dtype}))


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_ops_refuse_integer_inputs_and_leave_the_state_alone(monkeypatch, backend):
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    state = torch.randn(2, 3, 4)
    before = state.clone()
    with pytest.raises(ValueError, match="x has dtype torch.int64"):
        kernels.selective_state_update(
            state, torch.ones(2, 3, dtype=torch.long), torch.rand(2, 3), -torch.rand(3, 4), torch.randn(2, 4),
            torch.randn(2, 4),
        )  # fmt: skip
    conv_state = torch.randn(2, 3, 3)
    with pytest.raises(ValueError, match="x has dtype torch.int32"):
        kernels.causal_conv1d_update(torch.ones(2, 3, dtype=torch.int32), conv_state, torch.randn(3, 4))
    with pytest.raises(ValueError, match="x has dtype torch.int32"):
        kernels.causal_conv1d(torch.ones(2, 3, 5, dtype=torch.int32), torch.randn(3, 4))
    q, g = torch.randn(1, 2, 4), -torch.rand(1, 2, 4)
    S = torch.randn(1, 2, 4, 3)
    with pytest.raises(ValueError, match="v has dtype torch.int32"):
        kernels.gla_step(q, q, torch.ones(1, 2, 3, dtype=torch.int32), g, S)
    with pytest.raises(ValueError, match="v has dtype torch.int32"):
        kernels.gla_chunk(q[:, :, None], q[:, :, None], torch.ones(1, 2, 1, 3, dtype=torch.int32), g[:, :, None])
    assert torch.equal(state, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_update_with_a_state_of_the_wrong_size_names_the_state(monkeypatch, backend):
    # before: "A has shape (3, 4), expected (3, 5)", blaming A for the state's N
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    state = torch.randn(2, 3, 5)
    with pytest.raises(ValueError, match=r"state has shape \(2, 3, 5\) \(n_slots, dim, N=5\) but A has shape \(3, 4\)"):
        kernels.selective_state_update(
            state, torch.randn(2, 3), torch.rand(2, 3), -torch.rand(3, 4), torch.randn(2, 4), torch.randn(2, 4)
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_state_or_key_axes_are_clear_errors(monkeypatch, backend):
    # before: Triton InterpreterError "arange's end argument ..." for N=0; ZeroDivisionError (scale dk**-0.5) for dk=0
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    r = torch.randn
    with pytest.raises(ValueError, match=r"A has shape \(3, 0\): the state size N"):
        kernels.selective_scan(r(1, 3, 5), torch.rand(1, 3, 5), r(3, 0), r(1, 0, 5), r(1, 0, 5))
    with pytest.raises(ValueError, match=r"state has shape \(2, 3, 0\): the state size N"):
        kernels.selective_state_update(r(2, 3, 0), r(2, 3), torch.rand(2, 3), r(3, 0), r(2, 0), r(2, 0))
    q, v = r(1, 2, 5, 0), r(1, 2, 5, 3)
    with pytest.raises(ValueError, match=r"q has shape \(1, 2, 5, 0\): the key dim dk"):
        kernels.gla_chunk(q, q, v, q)
    with pytest.raises(ValueError, match=r"q has shape \(1, 2, (1, )?0\): the key dim dk"):
        kernels.gla_step(q[:, :, 0], q[:, :, 0], v[:, :, 0], q[:, :, 0], torch.zeros(1, 2, 0, 3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_with_zero_channels_gives_empty_outputs(monkeypatch, backend):
    # before: the reference raised torch's "non-positive groups is not supported"; Triton gave the empty outputs
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    y, final = kernels.causal_conv1d(torch.randn(2, 0, 5), torch.randn(0, 4))
    assert y.shape == (2, 0, 5) and final.shape == (2, 0, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_non_tensor_argument_is_a_type_error_naming_it(monkeypatch, backend):
    # before: AttributeError "'list' object has no attribute 'requires_grad'" from inside the dispatch
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    r = torch.randn
    with pytest.raises(TypeError, match=r"^u is a builtins.list, expected a torch.Tensor"):
        kernels.selective_scan([[[1.0]]], torch.rand(1, 1, 1), r(1, 1), r(1, 1, 1), r(1, 1, 1))
    with pytest.raises(TypeError, match=r"^weight is a numpy.ndarray, expected a torch.Tensor"):
        kernels.causal_conv1d(r(1, 3, 4), r(3, 2).numpy())
    with pytest.raises(TypeError, match=r"^q is a builtins.list, expected a torch.Tensor"):
        kernels.gla_step([[[1.0]]], r(1, 1, 1), r(1, 1, 1), r(1, 1, 1), r(1, 1, 1, 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_gla_chunk_with_a_minus_inf_gate_matches_the_recurrence(monkeypatch, backend):
    # g = -inf (forget everything) is a valid log gate; before, the chunked forms gave NaN after it (-inf - -inf)
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    gen = torch.Generator().manual_seed(1)
    q, k = torch.randn(1, 2, 11, 5, generator=gen), torch.randn(1, 2, 11, 5, generator=gen)
    v, g = torch.randn(1, 2, 11, 3, generator=gen), -torch.rand(1, 2, 11, 5, generator=gen)
    g[0, 1, 4, 1] = -torch.inf
    o, S = kernels.gla_chunk(q, k, v, g, chunk_size=8)
    o_ref, S_ref = R.gla_recurrent_ref(q, k, v, g)
    torch.testing.assert_close(o, o_ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(S, S_ref, rtol=1e-4, atol=1e-5)


def test_chunked_scan_with_a_minus_inf_decay_matches_the_sequential_scan():
    # the chunked reference (the CUDA reference path, e.g. under autograd) gave NaN after an A of -inf
    gen = torch.Generator().manual_seed(2)
    u, dt = torch.randn(1, 3, 9, generator=gen), torch.rand(1, 3, 9, generator=gen) + 0.1
    A = -torch.rand(3, 4, generator=gen)
    A[0, 0] = -torch.inf
    B, C = torch.randn(1, 4, 9, generator=gen), torch.randn(1, 4, 9, generator=gen)
    y, h = R.selective_scan_chunked_ref(u, dt, A, B, C, chunk_size=4)
    y_ref, h_ref = R.selective_scan_ref(u, dt, A, B, C)
    torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(h, h_ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("stack", ["mamba", "gla"])
def test_model_input_of_another_dtype_than_the_weights_says_so(stack):
    # before: MambaStack raised torch's "expected m1 and m2 to have the same dtype, but got: double != float"
    from wavegraph.models.gla import GLAConfig, GLAStack
    from wavegraph.models.mamba import MambaConfig, MambaStack

    m = (
        MambaStack(MambaConfig(d_model=8, n_layers=1, d_state=4))
        if stack == "mamba"
        else GLAStack(GLAConfig(d_model=8, n_layers=1, n_heads=2))
    )
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 but the \w+Stack weights are torch.float32"):
        m(x)
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 but the \w+Stack weights are torch.float32"):
        m.step(x[:, 0], m.init_state(2))
    assert m.double()(x).dtype == torch.float64  # converting the model, as the message says, works


@pytest.mark.parametrize("backend", BACKENDS)
def test_gla_step_with_a_4d_q_and_a_3d_k_names_k_and_its_real_shape(monkeypatch, backend):
    # before: "k has shape (1, 2), expected (1, 2, 4)": k's shape after a slice the caller never made
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    q, g, v = torch.randn(1, 2, 1, 4), -torch.rand(1, 2, 1, 4), torch.randn(1, 2, 1, 3)
    with pytest.raises(ValueError, match=r"so k must have a length-1 time axis too, got shape \(1, 2, 4\)"):
        kernels.gla_step(q, q[:, :, 0], v, g, torch.zeros(1, 2, 4, 3))
