"""The kernels and streaming models called directly, as a user of flash-linear-attention, mamba_ssm or NeMo would
(session 22): hostile samples, states of another batch, config or dtype. Tiny shapes, fp32, CPU."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from wavegraph.models.conformer import ConformerConfig, ConformerEncoder  # noqa: E402
from wavegraph.models.gla import GLAConfig, GLAStack  # noqa: E402
from wavegraph.models.mamba import MambaConfig, MambaStack  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mamba():
    return MambaStack(MambaConfig(d_model=8, n_layers=1, d_in=3, d_state=4)).eval()


def _gla():
    return GLAStack(GLAConfig(d_model=8, n_layers=1, d_in=3, n_heads=2, gate_low_rank=4, chunk_size=5)).eval()


def _conformer():
    cfg = ConformerConfig(d_in=3, d_model=8, n_layers=1, n_heads=2, conv_kernel=3, subsampling=2)
    cfg.att_context_sizes = [[2, 1]]
    return ConformerEncoder(cfg).eval()


MODELS = {"mamba": _mamba, "gla": _gla, "conformer": _conformer}


def _finite(state) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in state.values() if isinstance(v, torch.Tensor))


@pytest.mark.parametrize("how", ["stream", "step"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("name", list(MODELS))
def test_a_non_finite_frame_is_refused_and_the_state_stays_usable(name, bad, how):
    torch.manual_seed(0)
    model = MODELS[name]()
    x = 0.1 * torch.randn(1, 6, model.d_in)
    state = model.init_state(1)
    with torch.no_grad():
        y, state = model.stream(x[:, :2], state)
        xb = x[:, 2:4].clone()
        xb[0, 1, 0] = bad
        # was: taken into the state, every later output NaN, nothing said
        where = r"\(0, 1, 0\)" if how == "stream" else r"\(0, (0, )?0\)"  # a step's frame: (batch, d_in)
        with pytest.raises(ValueError, match=rf"holds 1 NaN.*index {where}.*(nan_to_num|clip)"):
            if how == "stream":
                model.stream(xb, state)
            else:
                model.step(xb[:, 1], state)
        assert _finite(state)
        y, state = model.stream(x[:, 4:], state)
    assert bool(torch.isfinite(y).all())
