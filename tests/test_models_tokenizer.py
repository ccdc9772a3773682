"""EEG tokenizer (models/eeg_tokenizer.py, node eeg_tokenizer) and the token decoder, on the real EEGMMIDB EDF."""

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.eeg_tokenizer import EEGTokenizer
from wavegraph.models.streaming import assert_stream_equals_forward
from wavegraph.models.token_decoder import TOKENIZER_WEIGHTS, TokenDecoder, TokenDecoderNet
from wavegraph.nodes.models.tokenizer import EEGTokenizerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.datasets import fetch
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

PICK = ["O1..", "Oz..", "O2..", "Pz..", "C3..", "Fp1."]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def edf():
    """(data (6, n) in volts, rate 160, names) from the real EEGMMIDB S001R02 recording."""
    import mne

    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error").pick(PICK)
    return raw.get_data(), raw.info["sfreq"], [n.strip(".") for n in raw.ch_names]


@pytest.fixture(scope="module")
def shipped():
    return ckpt.load(TOKENIZER_WEIGHTS)


def test_shipped_weights_are_small_and_load(shipped):
    assert TOKENIZER_WEIGHTS.stat().st_size < 10e6
    assert isinstance(shipped, EEGTokenizer)
    cfg = shipped.cfg
    assert (cfg.rate, cfg.n_fft, cfg.hop, cfg.n_bins, cfg.codebook_size, cfg.code_dim) == (200, 200, 100, 100, 1024, 64)


def test_model_stream_equals_offline_on_real_eeg(shipped, edf):
    from scipy.signal import resample_poly

    x = resample_poly(edf[0][:, : 160 * 12], 5, 4, axis=-1)  # 12 s at 200 Hz, 6 channels on the batch axis
    t = torch.from_numpy(x[:, :, None])
    sizes = [[1] * 150 + [t.shape[1] - 150], [37] * (t.shape[1] // 37) + [t.shape[1] % 37], [0, 2400]]
    ref = assert_stream_equals_forward(shipped, t, chunkings=sizes, steps=False)
    assert ref.shape == (6, 24, 64)
    tokens = shipped.encode(t)["tokens"]
    for sizes_ in sizes:  # the token ids themselves are identical, not just close embeddings
        state, got, i = shipped.init_state(6), [], 0
        for n in sizes_:
            out, state = shipped.stream_encode(t[:, i : i + n], state)
            got.append(out["tokens"])
            i += n
        assert torch.equal(torch.cat(got, 1), tokens)
    # a channel's tokens do not depend on the other channels (any montage)
    assert torch.equal(shipped.encode(t[2:3])["tokens"][0], tokens[2])
    # the tokens carry information: not all the same on real EEG
    assert len(torch.unique(tokens)) > 10


def test_robust_scaling_makes_tokens_unit_free(shipped, edf):
    from scipy.signal import resample_poly

    x = torch.from_numpy(resample_poly(edf[0][:2, : 160 * 8], 5, 4, axis=-1)[:, :, None])
    a = shipped.encode(x)["tokens"]
    b = shipped.encode(x * 1e6)["tokens"]  # volts -> microvolts
    assert torch.equal(a, b)


def test_node_streaming_equals_whole(edf):
    data, rate, names = edf
    cls = lookup("eeg_tokenizer")
    spec = signal_spec(rate, names)
    x = data[:, : int(rate * 9)]
    whole = assert_streaming_equivalent(lambda: cls(), x, spec, rtol=1e-5, atol=1e-5)
    assert whole["tokens"].dtype == np.int64 and whole["tokens"].shape[1] == 6
    assert whole["embeddings"].shape == (whole["tokens"].shape[0], 6 * 64)
    node = cls()
    assert isinstance(node, EEGTokenizerNode)
    out = node.configure({"in": spec})
    assert out["tokens"].rate == 2.0 and out["tokens"].channel_names == tuple(names)
    assert out["embeddings"].channel_names[:2] == (f"{names[0]}:0", f"{names[0]}:1")
    # latency: the resampler's delay plus a hop block (99 samples at 200 Hz = 79.2 input samples, rounded up)
    from wavegraph.nodes.dsp.resample import Resample

    r = Resample(rate=200.0)
    r.configure({"in": spec})
    assert node.latency_samples == r.latency_samples + 80
    assert node.latency_seconds == pytest.approx((r.latency_samples + 80) / rate)
    # embeddings are the code vectors of the tokens
    assert node.model is not None
    codebook = node.model.quantizer.codebook.numpy()
    np.testing.assert_array_equal(whole["embeddings"].reshape(-1, 6, 64), codebook[whole["tokens"]])


def test_node_gap_resets_and_state_round_trip(edf):
    data, rate, names = edf
    cls = lookup("eeg_tokenizer")
    spec = signal_spec(rate, names)
    a, b = data[:, :800], data[:, 800:1600]
    node = cls()
    node.configure({"in": spec})
    first = node.process({"in": Chunk(a, t0=5.0)})
    after = node.process({"in": Chunk(b, t0=100.0, gap=True)})
    fresh = cls()
    fresh.configure({"in": spec})
    ref = fresh.process({"in": Chunk(b, t0=100.0)})
    np.testing.assert_array_equal(after["tokens"].data, ref["tokens"].data)
    assert after["tokens"].t0 == ref["tokens"].t0 and first["tokens"].t0 != after["tokens"].t0
    # state_dict: process half, resume in a new node, process the rest == whole
    whole = run_chunked(cls(), data[:, :1600], spec, [1600])
    n1 = cls()
    n1.configure({"in": spec})
    p1 = n1.process({"in": Chunk(data[:, :701], t0=0.0)})
    n2 = cls()
    n2.configure({"in": spec})
    n2.load_state_dict(n1.state_dict())
    p2 = n2.process({"in": Chunk(data[:, 701:1600], t0=701 / rate)})
    tail = n2.finish()
    got = np.concatenate([c["tokens"].data for c in (p1, p2, tail) if "tokens" in c])
    np.testing.assert_array_equal(got, whole["tokens"])
    with pytest.raises(KeyError):
        n2.load_state_dict({"n_out": 0})


def test_node_rejects_bad_input(tmp_path):
    cls = lookup("eeg_tokenizer")
    with pytest.raises(SpecError, match="signal"):
        cls().configure({"in": StreamSpec("features", 2.0, (4,), "float32")})
    from wavegraph.models.mamba import MambaConfig, MambaStack

    ckpt.save(MambaStack(MambaConfig(d_model=8, n_layers=1)), tmp_path / "m.safetensors")
    with pytest.raises(SpecError, match="eeg_tokenizer"):
        cls(checkpoint=str(tmp_path / "m.safetensors")).configure({"in": signal_spec(200.0, ["Oz"])})


def test_token_decoder_net_streams_like_forward():
    torch.manual_seed(0)
    net = TokenDecoderNet(n_channels=3, n_classes=4).eval()
    x = torch.randn(2, 30, 3 * 64)
    y = assert_stream_equals_forward(net, x)
    assert y.shape == (2, 15, 4)


def _ssvep_trials(edf, n: int, freqs, seed: int = 0):
    """1 s trials of the real EEG with a sinusoid at one of `freqs` on the occipital channels (3 x median |x|)."""
    data, rate, names = edf
    rng = np.random.default_rng(seed)
    length = int(rate)
    y = rng.integers(0, len(freqs), n)
    t = np.arange(length) / rate
    starts = rng.integers(0, data.shape[1] - length, n)
    X = np.stack([data[:, s : s + length] for s in starts])
    amp = 3.0 * np.median(np.abs(data))
    occ = np.array([1.0 if c in ("O1", "Oz", "O2", "Pz") else 0.1 for c in names])[:, None]
    for i in range(n):
        X[i] += amp * occ * np.sin(2 * np.pi * freqs[y[i]] * t + rng.uniform(0, 2 * np.pi))
    return X, y


def test_token_decoder_fit_predict_on_real_background(edf):
    """Two SSVEP-like classes (9 vs 13 Hz, occipital) added to real EEG: the decoder (tokenizer fine-tuned with the
    rest) learns them (30 test trials: >= 23 correct has probability 0.003 by chance); the shipped tokenizer file
    and a fresh decoder's copy are untouched, the fitted decoder's copy has changed."""
    _, rate, names = edf
    X, y = _ssvep_trials(edf, 90, (9.0, 13.0))
    # 40 steps of 32 trials: ~2/3 of the time of 40 steps of all 60 (batch 64), and less hostage to the seed (seeds
    # 0-5 here: 0.87-1.0 at 4 of the 6 with 32, 0.9 at 2 of the 6 with 64; the others stayed at 0.6)
    dec = TokenDecoder(rate=rate, channel_names=names, freqs=[9.0, 13.0], seed=0, steps=40, batch=32)
    dec.fit(X[:60], y[:60])
    acc = (dec.predict(X[60:]) == y[60:]).mean()
    assert acc >= 0.75, acc
    fresh = ckpt.load(TOKENIZER_WEIGHTS)
    assert isinstance(fresh, EEGTokenizer)
    assert not torch.equal(dec.tokenizer.mix.weight, fresh.mix.weight)
    assert torch.equal(dec.tokenizer.quantizer.codebook, fresh.quantizer.codebook)  # not trained, not used
    # short windows (0.2 s) are padded to two hops (one Conformer sub-frame) and still run
    assert dec.predict(X[60:, :, : int(0.2 * rate)]).shape == (30,)
    with pytest.raises(ValueError):
        dec.predict(X[0])
    with pytest.raises(ValueError, match="tune_tokenizer"):
        TokenDecoder(rate=rate, channel_names=names, freqs=[9.0, 13.0], embeddings="codes")


def test_token_decoder_streams_like_offline(edf):
    """The fitted stack streamed hop by hop -- each channel through the decoder's tokenizer (stream_encode, any
    chunking), the channels' latents side by side, the Chain's stream -- gives the offline per-frame logits."""
    data, _, names = edf
    X, y = _ssvep_trials(edf, 16, (9.0, 13.0), seed=1)
    from scipy.signal import resample_poly

    x200 = resample_poly(data[:, :1600], 5, 4, axis=-1)  # 10 s at 200 Hz: the tokenizer's rate, 20 hops
    dec = TokenDecoder(rate=200.0, channel_names=names, freqs=[9.0, 13.0], seed=0, steps=4)
    dec.fit(resample_poly(X, 5, 4, axis=-1), y)
    assert dec.net is not None
    with torch.no_grad():
        ref = dec.net(dec._frames(dec._windows(x200[None])))[0]
        tok, c = dec.tokenizer, len(dec.picks)
        xt = torch.from_numpy(x200[dec.picks])[..., None]  # channels on the batch axis (float64, as trial_windows)
        t_state, n_state, outs, i = tok.init_state(c), dec.net.init_state(1), [], 0
        for n in (1, 99, 100, 350, 37, 1413):
            z, t_state = tok.stream_encode(xt[:, i : i + n], t_state)
            y_n, n_state = dec.net.stream(z["latents"].transpose(0, 1).reshape(1, -1, c * 64), n_state)
            outs.append(y_n[0])
            i += n
        outs.append(dec.net.flush(n_state)[0][0])
    assert i == x200.shape[1]
    got = torch.cat(outs)
    assert got.shape == ref.shape == (10, 2)
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=0)


def test_eeg_tokens_yaml_runs_on_the_real_edf(tmp_path):
    """configs/eeg_tokens.yaml on 6 s of the real EDF: the recorded tokens equal the same nodes run offline."""
    import mne
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_in_process

    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error").crop(0, 6.0)
    src = tmp_path / "s001r02_6s_raw.fif"
    raw.save(src, verbose="error")
    sets = [
        f"src.path={src}",
        f"rec_tokens.path={tmp_path / 'tokens.csv'}",
        f"rec_emb.path={tmp_path / 'emb.npz'}",
        f"rec_ssm.path={tmp_path / 'ssm.npz'}",
    ]
    graph = build_graph(load_config("configs/eeg_tokens.yaml", sets))
    result = run_in_process(graph)
    assert result.failure is None
    tokens = np.loadtxt(tmp_path / "tokens.csv", delimiter=",", skiprows=1)
    emb = np.load(tmp_path / "emb.npz")["data"]
    ssm = np.load(tmp_path / "ssm.npz")["data"]
    assert tokens.shape[1] == 1 + 8 and emb.shape == (len(tokens), 8 * 64)
    assert ssm.shape == (len(tokens) // 2, 64) and np.isfinite(ssm).all()
    # the same chain offline, node by node, on the whole 6 s
    spec = graph.nodes["hp"].in_specs["in"]
    x = np.asarray(raw.copy().pick(list(graph.nodes["src"].params.picks)).get_data())
    for nid in ("hp", "notch"):
        node = graph.nodes[nid]
        x = run_chunked(type(node)(**node.params.model_dump()), x, spec, [x.shape[1]])["out"]
    ref = run_chunked(lookup("eeg_tokenizer")(), x, spec, [x.shape[1]])
    np.testing.assert_array_equal(tokens[:, 1:].astype(np.int64), ref["tokens"])
    np.testing.assert_allclose(tokens[:, 0], 0.0 + np.arange(len(tokens)) * 0.5, atol=1e-6)
