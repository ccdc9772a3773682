"""Session 32's hunt for the enhancer's class of bug elsewhere: a batched (whole-file) path and a per-chunk path that
round differently, read by something that amplifies the rounding (an argmax, a split sum). Every stateful node was run
through the harness on hostile but legitimate inputs (tones on and between bins, full-scale and int16 square waves,
large DC + small signal, an impulse in silence, silence then a signal, 1e-6 noise, constant runs; float64 and float32;
chunks of 1, 7, 13, 37, 100 and random). Each test here failed before its fix."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import lfilter
from wavegraph.nodes.dsp.fir import FIR
from wavegraph.nodes.dsp.windows import ISTFT, STFT
from wavegraph.nodes.models.model import GLANode
from wavegraph.nodes.models.ssvep import SSVEPDecoder
from wavegraph.nodes.models.tokenizer import EEGTokenizerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sizes(n: int, size: int) -> list[int]:
    return [size] * (n // size) + ([n % size] if n % size else [])


def test_the_tokenizer_gives_the_same_tokens_for_a_whole_file_and_its_chunks_on_square_waves():
    """3 channels of square waves (a signal generator on the amplifier's inputs) at the tokenizer's 200 Hz: the whole
    file's encoder ran all 20 frames in one float32 batch, 0.5 s chunks one frame at a time, and with 1-3 rows a
    matrix product rounds a row differently with the rows beside it (latents 1.9e-7 apart). Frame 1 of the first
    channel has two codes within 2.4e-7 in cosine: its token flipped, and its code vector (the embedding) was 0.076
    off, where tokens must be identical and embeddings within 1e-5. Now every call encodes one frame."""
    rate, n = 200.0, 2000
    t = np.arange(n) / rate
    freqs = np.array([91.29553972, 12.57781446, 45.86620281])
    x = 1e-4 * np.sign(np.sin(2 * np.pi * freqs[:, None] * t))
    spec = signal_spec(rate, ["O1", "Oz", "O2"])
    out = assert_streaming_equivalent(
        EEGTokenizerNode, x, spec, chunkings=[_sizes(n, 100), _sizes(n, 7), _sizes(n, 13)], rtol=1e-5, atol=1e-5
    )
    assert out["tokens"].shape == (20, 3)


@pytest.mark.parametrize("dtype,rtol,atol", [("float64", 1e-10, 1e-12), ("float32", 1e-4, 1e-4)])
def test_fir_streams_an_int16_scale_sine_as_the_whole_file_bit_for_bit(dtype, rtol, atol):
    """A full-scale int16 sine (a 16-bit file's samples as they are) through a 31-tap low-pass: scipy's lfilter with
    carried zi added the previous chunk's share of each sum after this chunk's, so chunked and whole were up to 1.8e-11
    apart in float64 (over the stated 1e-12) and 7.8e-3 in float32 (over 1e-4); the harness's own chunkings here 2e-12
    and 1.6e-4. Now every output sample is one dot of the same numtaps samples in the same order: chunked == whole
    exactly."""
    rate, n = 250.0, 600
    t = np.arange(n) / rate
    x = np.round(32767 * np.sin(2 * np.pi * 23.4375 * (t + 0.001 * np.arange(3)[:, None]))).astype(dtype)
    spec = signal_spec(rate, ["c0", "c1", "c2"], dtype=dtype)
    make = lambda: FIR(h_freq=40.0, numtaps=31)  # noqa: E731
    assert_streaming_equivalent(make, x, spec, rtol=rtol, atol=atol)
    out = assert_streaming_equivalent(make, x, spec, chunkings=[_sizes(n, 1), _sizes(n, 13)], rtol=0, atol=0)["out"]
    node = make()
    node.configure({"in": spec})
    ref = lfilter(node.b.astype(np.float64), [1.0], np.pad(x.astype(np.float64), ((0, 0), (0, 15))), axis=-1)
    np.testing.assert_allclose(out, ref, rtol=0, atol=(1e-15 if dtype == "float64" else 1e-6) * 32767)


@pytest.mark.parametrize("value", [0.0, 0.37])
def test_a_gla_node_streams_a_constant_input_as_the_whole_file(value):
    """A GLA node (default dims) fed a constant: silence (0.0, which the input projection's bias makes a constant too)
    or a held value. In float32 the chunked form split its sums where each call started, a chunk of 1-3 frames took
    another matrix-product path, and the per-head norm of the attention output read that rounding up to 1/sqrt(eps)
    louder where a head's output nearly cancels: whole vs chunked up to 9.2e-5 apart (harness chunkings 6.9e-5), over
    the node's stated 1e-5. The node now runs GLA in float64 (models/gla.py stream_dtype): the same output after its
    float32 rounding for any chunking."""
    spec, n = StreamSpec("features", 100.0, (6,), "float32"), 150
    x = np.full((n, 6), value, np.float32)
    make = lambda: GLANode(random_init=True, seed=3, device="cpu")  # noqa: E731
    chunkings = [_sizes(n, 1), _sizes(n, 3), _sizes(n, 37)]
    out = assert_streaming_equivalent(make, x, spec, chunkings, rtol=1e-5, atol=1e-5)["out"]
    assert out.dtype == np.float32 and out.shape == (n, 64)
    assert_streaming_equivalent(make, x, spec, chunkings[1:2], rtol=0, atol=0)  # (bit for bit)


def test_istft_overlap_adds_in_one_order_whatever_the_chunking():
    """hann at hop n_fft/4: each output block sums 4 frames. The whole run added them newest first, a chunked run took
    the older frames' partial sums from its tail first: int16-scale float32 frames gave 1-frame chunks and the whole
    run 2e-3 apart (4e-12 in float64), within the stated rtol 1e-4 only because those samples are large. Now every
    run adds oldest first: chunked == whole bit for bit, as for the other framing nodes."""
    rate, n = 250.0, 600
    x = np.round(np.random.default_rng(2).standard_normal((2, n)) * 8000).astype(np.float32)
    spec = signal_spec(rate, ["a", "b"], dtype="float32")
    stft = STFT(n_fft=32, hop=8, window="hann")
    frames_spec = stft.configure({"in": spec})["out"]
    z = np.concatenate([stft.process({"in": Chunk(x, 0.0)})["out"].data, stft.finish()["out"].data])
    f = z.shape[0]
    make = lambda: ISTFT(n_fft=32, hop=8, window="hann")  # noqa: E731
    y = assert_streaming_equivalent(make, z, frames_spec, chunkings=[_sizes(f, 1), _sizes(f, 3)], rtol=0, atol=0)
    np.testing.assert_allclose(y["out"][:, 24 : 24 + n], x, rtol=0, atol=0.02)  # the input, delayed n_fft - hop


DNN_CHANNELS = ["Pz", "PO3", "PO4", "PO7", "PO8", "POz", "O1", "Oz", "O2"]


def test_the_ssvep_dnn_decoder_scores_a_whole_file_as_its_chunks():
    """The shipped 40-class DNN on 4 s of digital silence, then 10 uV noise: the whole file's windows went through
    the float32 model in one batch, a live stream's one or two per chunk, and torch rounds a window differently with
    the windows beside it: scores 3.3e-6 apart here (up to 9.4e-6 on a DC offset or int16-scale noise), over the
    stated rtol 1e-5 / atol 1e-6 (a decision between two scores
    that close could flip). Now every window is scored alone: the same bits for any chunking."""
    rate, n = 160.0, 1280
    x = np.zeros((9, n))
    x[:, n // 2 :] = 1e-5 * np.random.default_rng(1).standard_normal((9, n - n // 2))
    ckpt = Path(__file__).resolve().parents[1] / "models/weights/ssvep_dnn_40f_160hz_1000ms.safetensors"
    make = lambda: SSVEPDecoder(method="dnn", checkpoint=str(ckpt), step=0.25)  # noqa: E731
    chunkings = [_sizes(n, 40), _sizes(n, 7), [1] * 200 + [n - 200]]
    out = assert_streaming_equivalent(make, x, signal_spec(rate, DNN_CHANNELS), chunkings, rtol=1e-5, atol=1e-6)
    assert np.isfinite(out["scores"][-10:]).all() and len(out["out"]) >= 10


def test_the_gla_node_runs_float64_on_the_cpu_and_fp32_where_the_triton_kernels_run():
    """float64 only where it buys bit-for-bit chunking at no kernel's expense: on a GPU the fp32 Triton kernels (a
    float64 state would fall back to the torch reference), within GLAStack's stream_tolerance."""
    import torch
    from wavegraph.models.gla import GLAConfig, GLAStack
    from wavegraph.nodes.models.model import node_dtype

    model = GLAStack(GLAConfig(d_model=16, n_layers=1, d_in=4, n_heads=2))
    assert node_dtype(model, torch.device("cpu")) == torch.float64
    assert node_dtype(model, "cuda:0") == torch.float32
    assert node_dtype(model, torch.device("cuda")) == torch.float32
