"""The public API of wavegraph.models and wavegraph.kernels used as a researcher would (session 20): odd dtypes,
states of another config, hand-edited checkpoints. Tiny shapes only."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")

from wavegraph.models import checkpoint as ck  # noqa: E402
from wavegraph.models.conformer import ConformerConfig, ConformerEncoder  # noqa: E402


def _tiny_tokenizer(**kw):
    from wavegraph.models.eeg_tokenizer import EEGTokenizer, TokenizerConfig

    cfg: dict[str, Any] = dict(rate=20.0, n_fft=20, hop=10, n_bins=10, patch=5, d_model=8, n_heads=2, n_layers=1)
    cfg.update(d_temporal=4, context=2, codebook_size=16, code_dim=8, dec_layers=1, scale_window=2.0)
    cfg.update(kw)
    torch.manual_seed(0)
    return EEGTokenizer(TokenizerConfig(**cfg)).eval()


def _tiny_conformer(**kw) -> ConformerEncoder:
    cfg: dict[str, Any] = dict(d_in=6, d_model=8, n_layers=1, n_heads=2, conv_kernel=3, subsampling=2)
    cfg["att_context_sizes"] = [[2, 1]]
    cfg.update(kw)
    torch.manual_seed(0)
    return ConformerEncoder(ConformerConfig(**cfg)).eval()


def test_a_checkpoint_json_whose_kind_is_not_a_string_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "enc.safetensors"
    ck.save(_tiny_conformer(), path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["kind"] = ["conformer"]  # was TypeError: unhashable type: 'list' (the model node: 'a bug in the node')
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ck.CheckpointError, match=r"'kind' must be a string.*conformer.*\['conformer'\]"):
        ck.load(path)


@pytest.mark.parametrize(
    "sizes, said",
    [
        ([[3]], r"att_context_sizes entry must be a pair \[L, R\] of whole numbers, got \[3\]"),  # was: unpack
        ([["a", "b"]], r"pair \[L, R\] of whole numbers, got \['a', 'b'\]"),  # was: invalid literal for int()
        ([[2.5, 1]], r"pair \[L, R\] of whole numbers, got \[2.5, 1\]"),  # was: taken as [2, 1], unsaid
    ],
)
def test_a_conformer_config_with_a_malformed_att_context_size_names_it(tmp_path, sizes, said):
    path = tmp_path / "enc.safetensors"
    ck.save(_tiny_conformer(), path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["config"]["att_context_sizes"] = sizes
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ck.CheckpointError, match=said):
        ck.load(path)


def test_a_conformer_att_context_option_of_a_fraction_is_refused_not_truncated():
    enc = _tiny_conformer()
    x = torch.randn(1, 8, 6)
    with pytest.raises(ValueError, match=r"att_context must be a pair \[L, R\] of whole numbers"):
        enc(x, att_context=(2.5, 1))  # was run as (2, 1)
    assert torch.equal(enc(x, att_context=(2.0, 1)), enc(x, att_context=(2, 1)))  # a whole float is fine
    for pair in (np.array([2, 1]), torch.tensor([2, 1]), [np.int64(2), 1]):  # and a numpy or torch pair
        assert torch.equal(enc(x, att_context=pair), enc(x, att_context=(2, 1)))
        assert enc.latency_frames(att_context=pair) == 3


def test_a_conformer_config_with_negative_sub_channels_names_the_field():
    with pytest.raises(ValueError, match=r"sub_channels must be >= 0 \(0: d_model\), got -1"):
        _tiny_conformer(sub_channels=-1)  # was torch's 'Trying to create tensor with negative dimension -1'


def test_a_bad_map_location_is_said_as_such_not_as_a_damaged_file(tmp_path):
    path = tmp_path / "enc.safetensors"
    ck.save(_tiny_conformer(), path)
    with pytest.raises(
        ck.CheckpointError, match=r"map_location 'gpu' is not a torch device.*give 'cpu' or 'cuda'"
    ) as e:
        ck.load(path, map_location="gpu")  # was: 'it is cut short or damaged ... copy it again'
    assert "damaged" not in str(e.value)
    assert isinstance(ck.load(path, map_location=torch.device("cpu")), ConformerEncoder)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a CUDA GPU")
def test_loading_onto_cuda_without_a_gpu_says_so(tmp_path):
    path = tmp_path / "enc.safetensors"
    ck.save(_tiny_conformer(), path)
    with pytest.raises(ck.CheckpointError, match=r"map_location 'cuda', but torch sees no CUDA GPU here; give 'cpu'"):
        ck.load(path, map_location="cuda")  # was RuntimeError: pin_memory=True requires a CUDA ... backend


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_a_conformer_given_frames_of_another_dtype_says_how_to_match(dtype):
    enc = _tiny_conformer()
    x = torch.randn(1, 8, 6, dtype=dtype)
    fix = rf"x has dtype {dtype} but the ConformerEncoder weights are torch.float32: pass x.to\(torch.float32\)"
    with pytest.raises(ValueError, match=fix):  # was torch's 'Input type (double) and bias type (float) ...'
        enc(x)
    with pytest.raises(ValueError, match=fix):
        enc.stream(x, enc.init_state(1))
    if dtype == torch.float64:  # the fix it gives works: the model converted streams as it runs offline
        from wavegraph.models.streaming import assert_stream_equals_forward

        assert_stream_equals_forward(enc.double(), torch.randn(2, 11, 6, dtype=dtype), chunkings=[[1] * 11, [0, 3, 8]])


def test_integer_frames_are_refused_with_the_float_fix_for_every_model():
    from wavegraph.models.mamba import MambaConfig, MambaStack

    x = torch.ones(1, 4, 6, dtype=torch.long)
    with pytest.raises(ValueError, match=r"x has dtype torch.int64; ConformerEncoder takes floating-point frames"):
        _tiny_conformer()(x)
    with pytest.raises(ValueError, match=r"takes floating-point frames: pass x.to\(torch.float32\)") as e:
        MambaStack(MambaConfig(d_model=8, n_layers=1, d_in=6, d_state=2))(x)
    assert ".to(torch.int64)" not in str(e.value)  # was: 'or convert the model with .to(torch.int64)'


@pytest.mark.parametrize(
    "other, said",
    [
        (dict(conv_kernel=5), r"the state has shape \(2, 8, 4\) 'conv.0', this ConformerEncoder expects \(2, 8, 2\)"),
        (dict(n_heads=4), r"the state has shape \(2, 4, 2, 2\) 'keys.0', this ConformerEncoder expects \(2, 2, 2, 4\)"),
        (dict(n_layers=2), r"the state has shape .* 'conv.1', this ConformerEncoder expects none"),
        (dict(att_context_sizes=[[4, 1]]), r"the state is for att_context \[4, 1\], not one this model was built for"),
    ],
)
def test_a_conformer_state_of_another_config_is_refused_naming_the_entry(other, said):
    enc, theirs = _tiny_conformer(), _tiny_conformer(**other)
    x = torch.randn(2, 9, 6)
    with pytest.raises(ValueError, match=said):  # was torch's 'The size of tensor a (4) must match ...'
        enc.stream(x, theirs.init_state(2))
    with pytest.raises(ValueError, match=said):
        enc.flush(theirs.init_state(2))
    y, state = enc.stream(x, enc.init_state(2))  # its own state still streams
    assert y.shape == (2, 4, 8) and enc.flush(state)[0].shape == (2, 0, 8)


def test_gla_step_by_step_under_autograd_gives_the_gradients_of_stream():
    from wavegraph.models.gla import GLAConfig, GLAStack

    torch.manual_seed(0)
    model = GLAStack(GLAConfig(d_model=8, n_layers=2, d_in=5, n_heads=2, gate_low_rank=2, chunk_size=2))
    x = torch.randn(2, 4, 5)

    def grads(run):
        xg = x.clone().requires_grad_()
        model.zero_grad()
        run(xg).pow(2).sum().backward()  # GLA was: 'modified by an inplace operation' here
        return xg.grad, [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in model.parameters()]

    def by_steps(xg):
        state, ys = model.init_state(2), []
        for t in range(xg.shape[1]):
            y, state = model.step(xg[:, t], state)
            ys.append(y)
        return torch.cat(ys, 1)

    gx_stream, gp_stream = grads(lambda xg: model.stream(xg, model.init_state(2))[0])
    gx_steps, gp_steps = grads(by_steps)
    torch.testing.assert_close(gx_steps, gx_stream, atol=1e-4, rtol=1e-4)
    for a, b in zip(gp_steps, gp_stream):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_an_eeg_tokenizer_converted_to_float64_tokenizes_as_the_float32_one():
    from wavegraph.models.streaming import assert_stream_equals_forward

    tok = _tiny_tokenizer(scale_window=10.0)
    x = torch.randn(2, 57, 1)
    tok64 = _tiny_tokenizer(scale_window=10.0)
    tok64.load_state_dict(tok.state_dict())
    tok64.double()  # was: 'mat1 and mat2 must have the same dtype, but got Float and Double'
    assert torch.equal(tok64.encode(x)["tokens"], tok.encode(x)["tokens"])
    assert tok64(x).dtype == torch.float64
    assert_stream_equals_forward(tok64, x.double(), chunkings=[[1] * 57, [0, 7, 50]])


@pytest.mark.parametrize(
    "kw, said",
    [
        (dict(n_harmonics=0), r"n_harmonics must be a whole number >= 1, got 0"),  # was: '8 Hz is not below Nyquist'
        (dict(freqs=[0.0, 10.0]), r"stimulus frequency 0 Hz must be > 0 and below Nyquist \(125 Hz\)"),  # IndexError
        (dict(bands=[(10.0, 5.0)]), r"sub-band \[10, 5\] Hz must be \[low, high\] with 0 < low < high < Nyquist"),
        (dict(bands=[(10.0, 200.0)]), r"sub-band \[10, 200\] Hz must be .* < Nyquist \(125 Hz\)"),
    ],
)
def test_fbcca_settings_that_cannot_work_are_named_when_it_is_made(kw, said):
    from wavegraph.models.ssvep import FBCCA

    args: dict[str, Any] = dict(freqs=[8.0, 10.0], rate=250.0)
    args.update(kw)
    with pytest.raises(ValueError, match=said):
        FBCCA(**args).predict(np.zeros((1, 2, 250)))


def test_fbcca_predict_says_the_trial_shape_it_takes_and_the_shortest_window():
    from wavegraph.models.ssvep import FBCCA

    fb = FBCCA([8.0, 10.0], 250.0)
    t = np.arange(250) / 250
    trial = np.stack([np.sin(2 * np.pi * 10 * t), np.cos(2 * np.pi * 10 * t)])
    with pytest.raises(
        ValueError, match=r"trials must be \(n, channels, samples\), got shape \(2, 250\); .* x\[None\]"
    ):
        fb.predict(trial)  # was scipy's 'Invalid zi shape ...'
    assert fb.predict(trial[None]).tolist() == [1]  # the fix it gives
    for n in (0, 1):  # 0: 'cannot reshape array of size 0'; 1: decided 0 (8 Hz) unsaid
        with pytest.raises(ValueError, match=rf"a window of {n} samples cannot be scored; give 2 or more"):
            fb.predict(trial[None, :, :n])


def test_the_ssvep_dnn_names_the_window_shape_and_dtype_it_takes():
    from wavegraph.models import ssvep_dnn as sd

    cfg = sd.SSVEPDNNConfig(rate=250.0, channels=["O1", "Oz", "O2"], freqs=[8.0, 10.0], n_samples=50, n_filters=4)
    model = sd.SSVEPDNN(cfg).eval()
    shape = r"windows must be \(batch, bands, channels, samples\) = \(n, 3, 3, 50\) for this model, got shape"
    for x in (torch.randn(2, 3, 3, 60), torch.randn(2, 3, 4, 50), torch.randn(2, 2, 3, 50), torch.randn(3, 3, 50)):
        with pytest.raises(ValueError, match=shape):  # 'mat1 and mat2 shapes cannot be multiplied', IndexError
            model(x)
        with pytest.raises(ValueError, match=shape):
            sd.predict_proba(model, x.numpy())
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 but the SSVEPDNN weights are torch.float32"):
        model(torch.randn(2, 3, 3, 50, dtype=torch.float64))  # 'expected scalar type Double but found Float'
    with pytest.raises(ValueError, match=r"batch must be >= 1 windows per forward pass, got 0"):
        sd.predict_proba(model, np.zeros((2, 3, 3, 50)), batch=0)  # 'range() arg 3 must not be zero'
    assert sd.predict_proba(model, np.zeros((2, 3, 3, 50))).shape == (2, 2)


@pytest.mark.parametrize("kind", ["mamba", "gla"])
def test_a_recurrent_state_of_another_config_or_batch_is_refused_naming_the_entry(kind):
    from wavegraph.models.gla import GLAConfig, GLAStack
    from wavegraph.models.mamba import MambaConfig, MambaStack

    def make(n_layers: int, **kw):
        if kind == "mamba":
            return MambaStack(MambaConfig(d_model=8, n_layers=n_layers, d_in=5, d_state=kw.get("n", 4)))
        return GLAStack(GLAConfig(d_model=8, n_layers=n_layers, d_in=5, n_heads=kw.get("n", 2), gate_low_rank=2))

    model, x = make(1), torch.randn(2, 5, 5)
    first = "ssm.0" if kind == "mamba" else "S.0"
    for run in (lambda s: model.stream(x, s), lambda s: model.step(x[:, 0], s)):
        with pytest.raises(ValueError, match=r"the state has '\w+\.1', which this \w+ of 1 layers has not"):
            run(make(2).init_state(2))  # was taken, its second layer dropped unsaid
        with pytest.raises(ValueError, match=rf"the state's '{first}' has shape .* \(a model of another config\?\)"):
            run(make(1, n=4 if kind == "gla" else 8).init_state(2))  # was a kernel's 'initial_state has shape ...'
        with pytest.raises(ValueError, match=r"\(x has a batch of 2, the state 3\); .* init_state\(2\)"):
            run(model.init_state(3))


def test_the_eeg_tokenizer_refuses_nan_or_inf_samples_naming_the_first():
    tok = _tiny_tokenizer(scale_window=10.0)
    x = torch.randn(2, 80, 1)
    for bad in (float("nan"), float("inf")):
        xb = x.clone()
        xb[1, 25:60, 0] = bad  # was: tokens for every frame, NaN taken as missing samples and inf clipped, unsaid
        with pytest.raises(
            ValueError, match=r"x holds 35 NaN or infinite samples \(the first: batch row 1, sample 25\)"
        ):
            tok.encode(xb)
        with pytest.raises(ValueError, match=r"torch.nan_to_num"):
            tok.stream(xb[:, 20:40], tok.init_state(2))
    clean = torch.nan_to_num(x, 0.0, 0.0, 0.0)  # the fix it gives tokenizes
    assert tok.encode(clean)["tokens"].shape == (2, 8)


def test_a_chain_refuses_an_option_none_of_its_parts_takes():
    from torch import nn
    from wavegraph.models.mamba import MambaConfig, MambaStack
    from wavegraph.models.streaming import Chain, Frames

    torch.manual_seed(0)
    enc = _tiny_conformer(att_context_sizes=[[2, 1], [4, 0]])
    mamba = MambaStack(MambaConfig(d_model=8, n_layers=1, d_state=2)).eval()
    head = Frames(nn.Linear(8, 3), 8, 3)
    chain = Chain(enc, mamba, head)
    x = torch.randn(2, 9, 6)
    said = r"no part of this Chain \(ConformerEncoder, MambaStack, Frames\) takes the option 'att_contxt'.*\['att_context'\]"
    for call in (lambda: chain(x, att_contxt=(4, 0)), lambda: chain.init_state(2, att_contxt=(4, 0))):
        with pytest.raises(TypeError, match=said):  # was run with the default context (2, 1), unsaid
            call()
    with pytest.raises(TypeError, match=r"takes the option 'att_context'; the options they take: none"):
        Chain(mamba)(torch.randn(1, 3, 8), att_context=(4, 0))
    nested = Chain(Chain(enc, mamba), head)  # an inner chain's option reaches its part (was dropped)
    assert torch.equal(nested(x, att_context=(4, 0)), chain(x, att_context=(4, 0)))
    assert nested.latency_frames(att_context=(4, 0)) == enc.latency_frames(att_context=(4, 0)) == 1
    with pytest.raises(ValueError, match=r"the state has 'foo', not a key of a Chain of 3 parts"):
        chain.stream(x, {**chain.init_state(2), "foo": 1})  # was "invalid literal for int() with base 10: 'foo'"


def test_a_frames_part_given_frames_of_another_dtype_says_how_to_match():
    from torch import nn
    from wavegraph.models.streaming import Frames

    head = Frames(nn.Linear(8, 3), 8, 3)
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 but the Frames weights are torch.float32"):
        head(torch.randn(1, 2, 8, dtype=torch.float64))  # was 'mat1 and mat2 must have the same dtype'
    assert Frames(nn.ReLU(), 8, 8)(torch.randn(1, 2, 8, dtype=torch.float64)).dtype == torch.float64  # no weights


def test_a_conformer_step_of_a_wrong_width_frame_names_the_frame_not_a_chunk():
    enc = _tiny_conformer()
    with pytest.raises(ValueError, match=r"x_t must be one frame \(batch, d_in=6\), got shape \(2, 7\)"):
        enc.step(torch.randn(2, 7), enc.init_state(2))  # was 'x must be (batch, frames, d_in=6), got (2, 1, 7)'


@pytest.mark.parametrize("backend", ["ref", "triton"])
def test_gla_chunk_takes_a_whole_chunk_size_on_both_backends(backend, monkeypatch):
    import wavegraph.kernels as kernels

    if backend == "triton":
        pytest.importorskip("triton")
        if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
            pytest.skip("Triton on CPU needs TRITON_INTERPRET=1")
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    torch.manual_seed(0)
    q, k, g = torch.randn(1, 1, 5, 4), torch.randn(1, 1, 5, 4), -torch.rand(1, 1, 5, 4)
    v = torch.randn(1, 1, 5, 3)
    bad_sizes: tuple[Any, ...] = (3.5, 0, True)
    for bad in bad_sizes:  # 3.5: TypeError on the reference path, taken by the Triton one
        with pytest.raises(ValueError, match=rf"chunk_size must be a whole number >= 1, got {bad!r}"):
            kernels.gla_chunk(q, k, v, g, chunk_size=bad)
    assert kernels.gla_chunk(q, k, v, g, chunk_size=2)[0].shape == (1, 1, 5, 3)


def test_conformer_lengths_must_be_one_whole_length_per_sequence_within_x():
    enc = _tiny_conformer()
    x = torch.randn(2, 10, 6)
    for lengths, said in (
        (torch.tensor([6]), r"one length per sequence, shape \(2,\), got shape \(1,\)"),  # was broadcast to both
        (torch.tensor([10, 10, 10]), r"one length per sequence, shape \(2,\), got shape \(3,\)"),  # size mismatch
        (torch.tensor([10.0, 6.5]), r"whole numbers of input frames, got \[10.0, 6.5\]"),  # was taken as 6
        (torch.tensor([20, 10]), r"must be in \[0, 10\] \(the frames of x\), got \[20, 10\]"),
    ):
        with pytest.raises(ValueError, match=said):
            enc(x, lengths=lengths)
    trimmed = enc(x[1:, :6])[0]  # a list works (was AttributeError: 'list' object has no attribute 'to')
    torch.testing.assert_close(enc(x, lengths=[10, 6])[1, :3], trimmed, atol=1e-5, rtol=0)


def test_an_eeg_tokenizer_state_of_another_config_or_batch_is_refused():
    tok, x = _tiny_tokenizer(), torch.randn(2, 35, 1)
    fix = r"start the stream with this tokenizer's init_state\(2\)"
    for theirs, said in (
        (_tiny_tokenizer(scale_window=4.0).init_state(2), r"'samples' has shape \(2, 80\), this tokenizer keeps"),
        (_tiny_tokenizer(context=3).init_state(2), r"'prev' has shape \(2, 2, 8\), this tokenizer's is \(2, 1, 8\)"),
        (tok.init_state(3), r"'samples' has shape \(3, 40\), this tokenizer keeps \(2, 40..49\) for x's batch of 2"),
        ({}, r"not an EEGTokenizer state \(keys samples, valid, prev\), got \[\]"),
    ):
        with pytest.raises(ValueError, match=said + ".*" + fix):  # scale_window 4: 7 tokens for 35 samples before
            tok.stream(x, theirs)
    assert tok.stream(x, tok.init_state(2))[0].shape == (2, 3, 8)


def test_the_eeg_tokenizer_given_several_channels_says_to_put_them_on_the_batch_axis():
    tok = _tiny_tokenizer()
    x = torch.randn(1, 35, 3)  # one recording of 3 channels
    with pytest.raises(ValueError, match=r"one channel per stream.*x.transpose\(1, 2\).reshape\(-1, x.shape\[1\], 1\)"):
        tok(x)  # was only 'x must be (batch, frames, d_in=1), got shape (1, 35, 3)'
    per_channel = tok(x.transpose(1, 2).reshape(-1, x.shape[1], 1))  # the fix it gives
    assert torch.equal(per_channel[2], tok(x[:, :, 2:])[0])


def test_saving_a_checkpoint_onto_a_folder_says_to_name_the_weights_file(tmp_path):
    (tmp_path / "weights").mkdir()
    with pytest.raises(ck.CheckpointError, match=r"weights: it is a folder; give the weights file \(.safetensors\)"):
        ck.save(_tiny_conformer(), tmp_path / "weights")  # was IsADirectoryError: ... '.weights.tmp' -> 'weights'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]  # nothing written beside it


def test_a_checkpoint_path_under_tilde_is_in_the_home_folder(tmp_path, monkeypatch):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    ck.save(_tiny_conformer(), "~/enc.safetensors")  # was written to ./~/enc.safetensors, a folder named '~'
    assert (home / "enc.safetensors").is_file() and (home / "enc.json").is_file()
    assert not (cwd / "~").exists()
    assert isinstance(ck.load("~/enc.safetensors"), ConformerEncoder)
    assert ck.load_config("~/enc.safetensors")[0] == "conformer"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_half_precision_conformer_streams_from_init_state_s_default_state(dtype):
    enc = _tiny_conformer().to(dtype)
    x = torch.randn(2, 13, 6).to(dtype)
    with torch.no_grad():
        ref = enc(x)
        state, ys, i = enc.init_state(2), [], 0  # float32 tensors, the default: was 'Input type (float) and bias ...'
        for n in (3, 0, 1, 9):
            y, state = enc.stream(x[:, i : i + n], state)
            ys.append(y)
            i += n
        ys.append(enc.flush(state)[0])
    got = torch.cat(ys, 1)
    assert got.dtype == dtype and got.shape == ref.shape
    assert (got.float() - ref.float()).abs().max().item() < 0.03  # half precision: rounding only (bf16: 0.008)


def test_a_half_precision_gla_flush_keeps_the_outputs_dtype():
    from wavegraph.models.gla import GLAConfig, GLAStack

    torch.manual_seed(0)
    gla = GLAStack(GLAConfig(d_model=8, n_layers=1, d_in=6, n_heads=2, gate_low_rank=2)).eval().half()
    x = torch.randn(2, 5, 6).half()
    with torch.no_grad():
        y, state = gla.stream(x, gla.init_state(2))
        tail = gla.flush(state)[0]
    assert y.dtype == tail.dtype == torch.float16  # the flush was float32 (the state's): cat(y, tail) float32
    assert torch.cat([y, tail], 1).dtype == gla(x).dtype == torch.float16


def test_ssvep_dnn_fit_checks_its_training_data_first():
    from wavegraph.models import ssvep_dnn as sd

    cfg = sd.SSVEPDNNConfig(rate=250.0, channels=["O1", "Oz", "O2"], freqs=[8.0, 10.0], n_samples=50, n_filters=4)
    model = sd.SSVEPDNN(cfg)
    x, y = np.random.default_rng(0).standard_normal((6, 3, 3, 50)), np.array([0, 1, 0, 1, 0, 1])
    x_nan = x.copy()
    x_nan[4, 0, 0, 7] = np.nan
    for xs, ys, kw, said in (
        (x_nan, y, {}, r"1 windows hold NaN or infinite samples \(the first: window 4\)"),  # was: every weight NaN
        (x, np.array([0, 0.5, 0, 1, 0, 1]), {}, r"labels must be class indices"),  # was: 0.5 trained as 0
        (x, np.array([0, 1, 2, 1, 0, 1]), {}, r"label 2 is not a class of this model: its 2 freqs are 0..1"),
        (x, y[:4], {}, r"y must be one label per window, shape \(6,\), got shape \(4,\)"),  # IndexError
        (x[:0], y[:0], {}, r"no training windows"),  # ZeroDivisionError
        (x, y, {"batch": 0}, r"batch must be >= 1"),  # ZeroDivisionError
    ):
        with pytest.raises(ValueError, match=said):
            sd.fit(model, xs, ys, 1, **kw)
    assert torch.isfinite(model.fc.weight).all()  # nothing trained on the NaN window
    with pytest.raises(ValueError, match=r"1 windows hold NaN"):
        sd.fine_tune(model, x_nan, y, 1)


def test_an_eeg_tokenizer_in_training_mode_is_told_to_eval_before_it_streams():
    tok = _tiny_tokenizer().train()  # as built from its config
    x = torch.randn(1, 35, 1)
    stats = tok.norm.running_mean
    assert stats is not None
    before = stats.clone()
    for call in (lambda: tok.stream(x[:, :10], tok.init_state(1)), lambda: tok(x)):
        # was 'Expected more than 1 value per channel when training' (one frame), or tokens from the chunk's own
        # statistics while the running ones changed under it
        with pytest.raises(ValueError, match=r"streams with its frozen feature statistics: call .eval\(\) first"):
            call()
    assert torch.equal(stats, before)
    assert tok.eval()(x).shape == (1, 3, 8)


@pytest.mark.parametrize("kind", ["mamba", "gla"])
def test_a_state_made_under_inference_mode_steps_outside_it(kind):
    from wavegraph.models.gla import GLAConfig, GLAStack
    from wavegraph.models.mamba import MambaConfig, MambaStack

    torch.manual_seed(0)
    if kind == "mamba":
        model = MambaStack(MambaConfig(d_model=8, n_layers=1, d_in=6, d_state=2)).eval()
    else:
        model = GLAStack(GLAConfig(d_model=8, n_layers=1, d_in=6, n_heads=2, gate_low_rank=2)).eval()
    x = torch.randn(2, 4, 6)
    with torch.no_grad():
        want = model(x)[:, 3]
    with torch.inference_mode():  # e.g. the first chunks of a stream run there
        _, state = model.stream(x[:, :3], model.init_state(2))
    with torch.no_grad():  # was 'Inplace update to inference tensor outside InferenceMode is not allowed'
        y, _ = model.step(x[:, 3], state)
    torch.testing.assert_close(y[:, 0], want, atol=1e-4, rtol=1e-4)
