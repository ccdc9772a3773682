"""The kernels and streaming models called directly, as a user of flash-linear-attention, mamba_ssm or NeMo would
(session 22): hostile samples, states of another batch, config or dtype. Tiny shapes, fp32, CPU."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from wavegraph.models.conformer import ConformerConfig, ConformerEncoder  # noqa: E402
from wavegraph.models.enhancer import Enhancer, EnhancerConfig  # noqa: E402
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


def _enhancer(core="mamba", **kw: Any):
    cfg: dict[str, Any] = dict(n_fft=16, hop=8, d_model=8, n_layers=1, d_state=4, n_heads=2)
    cfg.update(kw)
    return Enhancer(EnhancerConfig(core=core, **cfg)).eval()


def _tokenizer():
    from wavegraph.models.eeg_tokenizer import EEGTokenizer, TokenizerConfig

    torch.manual_seed(0)
    cfg: dict[str, Any] = dict(rate=20.0, n_fft=20, hop=10, n_bins=10, patch=5, d_model=8, n_heads=2, n_layers=1)
    cfg.update(d_temporal=4, context=2, codebook_size=16, code_dim=8, dec_layers=1, scale_window=2.0)
    return EEGTokenizer(TokenizerConfig(**cfg)).eval()


MODELS = {"mamba": _mamba, "gla": _gla, "conformer": _conformer, "enhancer": _enhancer}


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


def test_an_enhancer_sample_too_large_for_float32_is_refused_with_the_clip():
    model = _enhancer()
    x = 0.1 * torch.randn(1, 3, 8)
    x[0, 1, 2] = 1e20  # squared in float32: inf; was every later output NaN
    state = model.init_state(1)
    with torch.no_grad():
        with pytest.raises(ValueError, match=r"beyond \+-1e\+06.*clamp\(-1e\+06, 1e\+06\)"):
            model.stream(x, state)
        x[0, 1, 2] = 1e6  # the enhancer node's clip level is taken
        y, state = model.stream(x, state)
    assert bool(torch.isfinite(y).all()) and _finite(state)


@pytest.mark.parametrize("how", ["stream", "step"])
@pytest.mark.parametrize("core", ["mamba", "gla"])
def test_an_enhancer_state_of_another_batch_or_config_is_a_clear_error_and_another_dtype_cast(core, how):
    model = _enhancer(core)
    other = _enhancer("gla" if core == "mamba" else "mamba")

    def run(x, state):
        with torch.no_grad():
            return model.stream(x, state) if how == "stream" else model.step(x[:, 0], state)

    x = 0.1 * torch.randn(3, 1, 8)
    # were: 'Sizes of tensors must match except in dimension 1', KeyError 'prev', 'expected m1 and m2 to have the
    # same dtype' (or a TorchScript traceback from the fused step)
    with pytest.raises(ValueError, match=r"'prev' has shape \(2, 8\).*x has a batch of 3, the state 2.*init_state\(3"):
        run(x, model.init_state(2))
    with pytest.raises(ValueError, match=r"another config.*has no 'core\.(S|conv)\.0'.*init_state\(3"):
        run(x, other.init_state(3))
    with pytest.raises(ValueError, match=r"has no 'prev'"):
        run(x, {k: v for k, v in model.init_state(3).items() if k != "prev"})
    y, _ = run(x, model.init_state(3))
    assert y.shape == (3, 1, 9)
    # a float64 state of this float32 model: cast (was 'expected m1 and m2 to have the same dtype'); and the float32
    # init_state of a .double() model, as assert_stream_equals_forward makes it, is taken as before
    y64, state = run(x, model.init_state(3, dtype=torch.float64))
    torch.testing.assert_close(y64, y)
    assert state["prev"].dtype == torch.float32
    double = model.double()
    y, state = (
        double.stream(x.double(), double.init_state(3))
        if how == "stream"
        else double.step(x[:, 0].double(), double.init_state(3))
    )
    assert y.dtype == torch.float64 and state["prev"].dtype == torch.float64


def test_enhancer_input_of_another_dtype_than_the_weights_says_so():
    model = _enhancer()
    x = 0.1 * torch.randn(1, 2, 8)
    with torch.no_grad():
        for call in (
            lambda: model(x.double()),
            lambda: model.stream(x.double(), model.init_state(1, dtype=torch.float64)),
        ):
            # was torch's 'expected m1 and m2 to have the same dtype, but got: double != float'
            with pytest.raises(
                ValueError, match=r"x has dtype torch.float64 but the Enhancer weights are torch.float32"
            ):
                call()
        with pytest.raises(ValueError, match=r"x has dtype torch.int16; Enhancer takes floating-point"):
            model.stream((x * 1000).to(torch.int16), model.init_state(1))  # was taken: int16 PCM as +-32768 audio


def test_an_enhancer_with_the_fused_step_steps_a_batch_of_none():
    model = _enhancer("gla")  # n_fft = 2 hop: step runs the fused GLA frame
    with torch.no_grad():
        # was 'cannot reshape tensor of 0 elements into shape [0, 1, -1]' from the fused frame
        y, state = model.step(torch.zeros(0, 8), model.init_state(0))
    assert y.shape == (0, 1, 9) and state["prev"].shape == (0, 8)


def test_enhance_takes_an_empty_batch_and_says_what_a_one_dimensional_signal_needs():
    model = _enhancer("gla")
    y, p = model.enhance(torch.zeros(0, 100))  # was 'cannot reshape tensor of 0 elements into shape [0, -1]'
    assert y.shape == (0, 100) and p.shape[0] == 0
    with pytest.raises(ValueError, match=r"audio must be \(batch, samples\), got shape \(160,\).*audio\[None\]"):
        model.enhance(torch.zeros(160))  # was 'not enough values to unpack (expected 2, got 1)'
    y, _ = model.enhance(0.1 * torch.randn(1, 160))
    assert y.shape == (1, 160)


@pytest.fixture
def token_decoder(tmp_path):
    from wavegraph.models import checkpoint
    from wavegraph.models.token_decoder import TokenDecoder, TokenDecoderNet

    path = tmp_path / "tok.safetensors"
    checkpoint.save(_tokenizer(), path)
    dec = TokenDecoder(40.0, ["O1", "Oz", "O2"], [8.0, 10.0], tokenizer=path, steps=1, batch=4, fine_tune_steps=1)
    dec.net = TokenDecoderNet(len(dec.picks), 2, 8).eval()  # untrained: the checks come before any step
    return dec


def test_token_decoder_says_what_is_wrong_with_trials_and_labels(token_decoder):
    import numpy as np

    dec = token_decoder
    X = 1e-5 * np.random.default_rng(0).standard_normal((4, 3, 40))
    y = np.array([0, 1, 0, 1])
    assert dec.predict(X).shape == (4,)
    for bad in (X[:, :2], np.concatenate([X, X[:, :1]], 1)):  # were an IndexError, and the first 3 by position
        with pytest.raises(
            ValueError, match=r"X has [24] channels; this decoder was made for the 3 of its channel_names"
        ):
            dec.predict(bad)
    Xn = X.copy()
    Xn[1, 2, 7] = np.nan  # was read as a missing sample: a prediction, unsaid (and trained on in fit)
    for call in (lambda: dec.predict(Xn), lambda: dec.fit(Xn, y)):
        with pytest.raises(
            ValueError, match=r"X holds 1 NaN or infinite samples \(the first: trial 1, channel 2, sample 7\)"
        ):
            call()
    assert dec.decision_function(X[:0]).shape == (0, 2)  # was 'quantile() input tensor must be non-empty'
    with pytest.raises(ValueError, match=r"y must be one label per trial of X, shape \(4,\)"):
        dec.fit(X, y[:3])  # was 'index 3 is out of bounds for dimension 0 with size 3'
    with pytest.raises(ValueError, match=r"y must hold class indices 0\.\.1"):
        dec.fine_tune(X, y * 2)  # was 'Target 2 is out of bounds'


@pytest.mark.parametrize("name", [*MODELS, "tokenizer"])
def test_init_state_says_what_batch_it_takes(name):
    model = MODELS[name]() if name in MODELS else _tokenizer()
    # were 'zeros() takes 1 positional argument but 3 were given' and 'zeros: Dimension size must be non-negative'
    bads: list[Any] = [2.5, -1, True, "2"]
    for bad in bads:
        with pytest.raises(ValueError, match=r"batch must be a whole number of streams >= 0, got"):
            model.init_state(bad)
    assert model.init_state(torch.tensor(2)).keys() == model.init_state(2).keys()


@pytest.mark.parametrize("how", ["stream", "step"])
@pytest.mark.parametrize("name", list(MODELS))
def test_a_state_of_another_batch_says_both_batches_and_the_fix(name, how):
    model = MODELS[name]()
    x = 0.1 * torch.randn(3, 2, model.d_in)
    with torch.no_grad(), pytest.raises(ValueError, match=r"x has a batch of 3, the state 2.*init_state\(3"):
        model.stream(x, model.init_state(2)) if how == "stream" else model.step(x[:, 0], model.init_state(2))


@pytest.mark.parametrize("name", list(MODELS))
def test_a_saved_state_is_a_snapshot_and_restores_twice_to_the_same_stream(name):
    import numpy as np
    from wavegraph.models.streaming import load_state, save_state

    model = MODELS[name]()
    x = 0.1 * torch.randn(1, 8, model.d_in)
    with torch.no_grad():
        _, state = model.stream(x[:, :3], model.init_state(1))
        saved = save_state(state)
        kept = {k: np.copy(v) for k, v in saved.items()}

        def rest(s):
            ys = []
            for t in range(3, 8):  # step updates the state in place
                y, s = model.step(x[:, t], s)
                ys.append(y)
            return torch.cat(ys, 1)

        want = rest(state)  # the documented {k: v.cpu().numpy()} moved on with these steps (shared memory)
        assert all(np.array_equal(saved[k], kept[k]) for k in saved)
        for _ in range(2):  # torch.as_tensor of the arrays: the first restore's steps wrote into them
            torch.testing.assert_close(rest(load_state(saved, like=model.init_state(1))), want, atol=0, rtol=0)
        assert all(np.array_equal(saved[k], kept[k]) for k in saved)


def test_a_bfloat16_state_saves_and_restores():
    from wavegraph.models.streaming import load_state, save_state

    model = _mamba().to(torch.bfloat16)
    with torch.no_grad():
        _, state = model.stream(torch.randn(1, 4, 3, dtype=torch.bfloat16), model.init_state(1, dtype=torch.bfloat16))
    saved = save_state(state)  # v.cpu().numpy() was 'Got unsupported ScalarType BFloat16'
    back = load_state(saved, like=model.init_state(1, dtype=torch.bfloat16))
    assert all(back[k].dtype == state[k].dtype and torch.equal(back[k], state[k]) for k in state)


def test_fbcca_refuses_a_window_with_a_nan_instead_of_deciding_the_first_frequency():
    import numpy as np
    from wavegraph.models.ssvep import FBCCA

    fb = FBCCA([8.0, 10.0, 12.0], 100.0, n_harmonics=2)
    t = np.arange(100) / 100
    trial = np.stack([np.sin(2 * np.pi * 12 * t), np.cos(2 * np.pi * 12 * t)])[None]
    assert fb.predict(trial).tolist() == [2]
    trial[0, 1, 40] = np.nan  # was decided 0 (8 Hz): every score 0
    with pytest.raises(ValueError, match=r"holds \d+ NaN or infinite samples.*channel 1, sample 40"):
        fb.predict(trial)
    with pytest.raises(ValueError, match=r"the window holds 1 NaN or infinite samples \(the first: band 2, channel 0"):
        fb.scores(np.where(np.arange(5 * 2 * 50).reshape(5, 2, 50) == 200, np.inf, 1.0))
    assert fb.predict(trial[:0]).dtype == np.int64  # no trials: no decisions, still class indices


def test_a_key_dim_or_state_size_above_the_triton_limit_runs_the_reference_unless_triton_is_forced(monkeypatch):
    pytest.importorskip("triton")
    import wavegraph.kernels as kernels
    from wavegraph.kernels import reference as R

    monkeypatch.delenv("WAVEGRAPH_KERNELS", raising=False)
    monkeypatch.setattr(kernels, "_select_backend", lambda *a, **k: "triton")  # as for CUDA tensors
    torch.manual_seed(0)
    q, k, g = torch.randn(1, 1, 3, 257), torch.randn(1, 1, 3, 257), -torch.rand(1, 1, 3, 257)
    v = torch.randn(1, 1, 3, 2)
    # was "key dim dk=257 is above the Triton GLA kernels' limit of 256" where the reference runs
    torch.testing.assert_close(kernels.gla_chunk(q, k, v, g), R.gla_chunk_ref(q, k, v, g))
    s1, s2 = torch.zeros(1, 1, 257, 2), torch.zeros(1, 1, 257, 2)
    torch.testing.assert_close(
        kernels.gla_step(q[:, :, 0], k[:, :, 0], v[:, :, 0], g[:, :, 0], s1),
        R.gla_step_ref(q[:, :, 0], k[:, :, 0], v[:, :, 0], g[:, :, 0], s2),
    )
    u, dt, A = torch.randn(1, 2, 3), torch.rand(1, 2, 3), -torch.rand(2, 257)
    B, C = torch.randn(1, 257, 3), torch.randn(1, 257, 3)
    torch.testing.assert_close(kernels.selective_scan(u, dt, A, B, C), R.selective_scan_ref(u, dt, A, B, C))
    st1, st2 = torch.zeros(1, 2, 257), torch.zeros(1, 2, 257)
    torch.testing.assert_close(
        kernels.selective_state_update(st1, u[..., 0], dt[..., 0], A, B[..., 0], C[..., 0]),
        R.selective_state_update_ref(st2, u[..., 0], dt[..., 0], A, B[..., 0], C[..., 0]),
    )
    monkeypatch.setenv("WAVEGRAPH_KERNELS", "triton")  # forced: the kernel's limit, and how to run the reference
    with pytest.raises(
        ValueError, match=r"dk=257 is above the Triton GLA kernels' limit of 256.*WAVEGRAPH_KERNELS=ref"
    ):
        kernels.gla_chunk(q, k, v, g)
    with pytest.raises(ValueError, match=r"N=257 is above the Triton kernels' limit of 256.*unset it"):
        kernels.selective_scan(u, dt, A, B, C)


def test_tokenizer_streams_no_streams_and_says_what_decode_and_encode_windows_take():
    from wavegraph.models.streaming import assert_stream_equals_forward

    tok = _tokenizer()
    # was 'quantile() input tensor must be non-empty' (then MKL's 'DFTI ERROR' for an rfft of no rows)
    assert assert_stream_equals_forward(tok, torch.zeros(0, 25, 1), steps=False).shape == (0, 2, 8)
    with torch.no_grad():
        with pytest.raises(ValueError, match=r"q must be code vectors \(N, frames, code_dim=8\), got shape \(3, 8\)"):
            tok.decode(torch.randn(3, 8))  # was 'The size of tensor a (3) must match the size of tensor b (8)'
        with pytest.raises(ValueError, match=r"windows must be \(N, frames, n_fft=20\), got shape \(2, 3, 21\)"):
            tok.encode_windows(torch.randn(2, 3, 21, dtype=torch.float64))  # was a size mismatch inside torch
        assert tok.decode(torch.randn(2, 3, 8)).shape == (2, 3, 10)


def test_a_config_built_in_python_checks_its_numbers_as_from_dict_does():
    import numpy as np

    # were "'float' object is not iterable" (nn.Linear), "ones(): argument 'size' must be tuple of ints", and a
    # GLAStack built with chunk_size "16" that failed at its first forward
    with pytest.raises(ValueError, match=r"MambaConfig\.d_model must be a whole number, got 8\.5"):
        MambaConfig(d_model=8.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"GLAConfig\.chunk_size must be a whole number, got '16'"):
        GLAConfig(d_model=8, n_heads=2, chunk_size="16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"MambaConfig\.dt_max must be a number, got 'x'"):
        MambaConfig(dt_max="x")  # type: ignore[arg-type]
    cfg = GLAConfig(d_model=np.int64(8), n_heads=2.0, gate_low_rank=4, mlp_ratio=np.float32(2))  # type: ignore[arg-type]
    assert type(cfg.d_model) is int and type(cfg.n_heads) is int and type(cfg.mlp_ratio) is float
    assert GLAStack(cfg)(torch.zeros(1, 2, 8)).shape == (1, 2, 8)
