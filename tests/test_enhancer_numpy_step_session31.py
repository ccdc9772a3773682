"""Session 31: the enhancer's numpy frame on the live path (models/enhancer.py `numpy_step`, models/enhancer_numpy.py).

- Its check against the torch step is relative to each tensor's largest value: the GLA state S is a sum of many
  products, and another BLAS orders them differently. The element-wise tolerance refused the shipped model's numpy
  frame on an AMD EPYC VM (|dS| 3e-5 at |S| <= 122), so every live frame ran torch's step, 1.6x slower.
- The node runs the numpy frame without a torch call around it (`numpy_step`), and falls back to `step` where it
  does not run (a Mamba core, another dtype): the same output either way.
- the tone step's unit phasor (z / |z|, 0 at 0): torch.sgn's values at 0, tiny and huge numbers.
"""

import numpy as np
import pytest
import torch
from wavegraph.models.enhancer import Enhancer, EnhancerConfig
from wavegraph.models.enhancer_fast import fast_step
from wavegraph.models.enhancer_features import _UNSUBNORMAL
from wavegraph.models.enhancer_jit import tone_step
from wavegraph.models.enhancer_numpy import _TINY, NumpyFrame, numpy_frame
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

SPEC = signal_spec(16000, ["ch0"], "audio", "float32", "a.u.")


def _model(kv_scale: float = 1.0) -> Enhancer:
    torch.manual_seed(0)
    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, df_bins=12, tone_frames=4, snr_adapt=True)
    model = Enhancer(cfg).eval()
    with torch.no_grad():
        model.head.weight.normal_(0, 1.0)
        attn = model.core.layers[0].attn  # pyright: ignore[reportIndexIssue]
        attn.k_proj.weight.mul_(kv_scale)  # pyright: ignore[reportAttributeAccessIssue, reportCallIssue]
        attn.v_proj.weight.mul_(kv_scale)  # pyright: ignore[reportAttributeAccessIssue, reportCallIssue]
    return model


def _blocks(n: int, seed: int = 4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(n, 1, 160, generator=g)


def test_a_large_gla_state_still_gets_the_numpy_frame():
    """k and v 30x: S reaches ~1e3-1e4, and its elements near 0 carry the rounding of their large neighbours' sums.
    The frame is the torch step's to float rounding relative to each tensor's scale, and it is used."""
    model, x = _model(kv_scale=30.0), _blocks(8)
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        assert numpy_frame(model, fast) is not None
        s_np, s_torch = model.init_state(1), model.init_state(1)
        for t in range(8):
            y_np, s_np = model.step(x[t], s_np)
            y_torch, s_torch = model._fast_frame(x[t], s_torch, fast)
            scale = y_torch.abs().max()
            assert (y_np - y_torch).abs().max() <= 1e-6 + 1e-5 * scale
    S = s_torch["core.S.0"]
    assert S.abs().max() > 100  # the case the element-wise check refused: a state of large values
    assert (s_np["core.S.0"] - S).abs().max() <= 1e-4 * S.abs().max()


def test_a_port_off_by_a_thousandth_is_still_refused(monkeypatch):
    """The relative check keeps its purpose: a numpy frame whose logits drifted 0.1 % from the torch step's (a change
    in one of them) is not used, with a state as large as above."""
    model = _model(kv_scale=30.0)
    real = NumpyFrame._core
    monkeypatch.setattr(NumpyFrame, "_core", lambda self, f, state: real(self, f, state) * 1.001)
    with torch.inference_mode():
        fast = fast_step(model)
        assert fast is not None
        assert numpy_frame(model, fast) is None


def _run_node(node: EnhancerNode, x: np.ndarray, chunk: int = 160, after_configure=None) -> tuple[np.ndarray, ...]:
    node.configure({"in": SPEC})
    if after_configure is not None:
        after_configure()
    outs, vads = [], []
    for k in range(0, x.shape[1], chunk):
        o = node.process({"in": Chunk(x[:, k : k + chunk], k / 16000)})
        outs.append(o["out"].data)
        vads.append(o["vad"].data)
    return np.concatenate(outs, 1), np.concatenate(vads)


def _no_step(monkeypatch):
    def no_torch_step(self, x_t, state):
        raise AssertionError("the node called Enhancer.step for a 10 ms block on the CPU")

    return lambda: monkeypatch.setattr(Enhancer, "step", no_torch_step)


def test_the_node_runs_the_numpy_frame_without_the_torch_step(monkeypatch):
    x = (0.3 * np.random.default_rng(1).standard_normal((1, 160 * 20))).astype(np.float32)
    ref_out, ref_vad = _run_node(EnhancerNode(random_init=True, core="gla", d_model=16, n_layers=1), x, chunk=800)
    node = EnhancerNode(random_init=True, core="gla", d_model=16, n_layers=1)
    out, vad = _run_node(node, x, after_configure=_no_step(monkeypatch))  # 10 ms blocks: the live path
    assert node.model is not None and node.model.__dict__["_numpy"] is not None
    np.testing.assert_allclose(out, ref_out, atol=2e-5, rtol=0)  # the same as 50 ms chunks (the model's stream)
    np.testing.assert_allclose(vad, ref_vad, atol=2e-5, rtol=0)


def test_a_model_without_a_numpy_frame_runs_the_torch_step_in_the_node(monkeypatch):
    """A Mamba core has no fused step: numpy_step says None and the node steps the torch model, block by block."""
    x = (0.3 * np.random.default_rng(2).standard_normal((1, 160 * 12))).astype(np.float32)
    ref_out, ref_vad = _run_node(EnhancerNode(random_init=True, core="mamba", d_model=16, n_layers=1), x, chunk=800)
    node = EnhancerNode(random_init=True, core="mamba", d_model=16, n_layers=1)
    calls = []
    step = Enhancer.step

    def counted_step(self, x_t, state):
        calls.append(x_t.shape)
        return step(self, x_t, state)

    out, vad = _run_node(node, x, after_configure=lambda: monkeypatch.setattr(Enhancer, "step", counted_step))
    assert len(calls) == 12
    model = node.model
    assert model is not None
    with torch.inference_mode():
        assert model.numpy_step(x[:, :160], model.init_state(1)) is None
    np.testing.assert_allclose(out, ref_out, atol=2e-5, rtol=0)
    np.testing.assert_allclose(vad, ref_vad, atol=2e-5, rtol=0)


def test_numpy_step_refuses_another_dtype_and_grad_mode():
    model = _model()
    x = _blocks(1)[0].numpy()
    state = model.init_state(1)
    with torch.inference_mode():
        assert model.numpy_step(x.astype(np.float64), state) is None
        assert model.numpy_step(x, state) is not None
    assert model.numpy_step(x, model.init_state(1)) is None  # grad mode: no fused step


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_the_tone_steps_unit_phasor_is_torch_sgn_at_zero_tiny_and_huge(dtype):
    """The compiled tone step (enhancer_jit.tone_step) takes z / |z|, 0 at 0, of the scaled phase step p: with the
    previous spectrum's conjugate 1 in the history, p is X itself, and the phasor's conjugate goes to slot K - 1."""
    z = np.array([0, 1e-45 + 1e-45j, -3e-39j, 1e17 - 1e17j, 2 + 0j, -7.5j], dtype)
    if dtype == np.complex128:  # far under float32's range, still normal in float64
        z = np.concatenate([z, np.array([1e-300 + 2e-300j, -5e-290j])])
    K = 3
    h = np.zeros((1, K + 1, len(z)), dtype)
    h[0, K] = 1
    tone_step(z[None], h, _UNSUBNORMAL, _TINY[np.dtype(dtype)], 0, 0.3)
    got = h[0, K - 1].conj()
    ref = torch.sgn(torch.from_numpy(z * _UNSUBNORMAL)).numpy()  # as the tone feature calls it: no subnormal left
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)


def test_the_shipped_model_runs_its_numpy_frame_live():
    """The default weights (stage 30s, with the pitch input since session 31) get the numpy frame once the node is
    configured: on an AMD EPYC VM the shipped 26s did not (the element-wise check), and ran the torch step."""
    node = EnhancerNode()
    node.configure({"in": SPEC})
    model = node.model
    assert model is not None and model.cfg.pitch_lag == 256
    assert model.__dict__.get("_numpy") is not None
