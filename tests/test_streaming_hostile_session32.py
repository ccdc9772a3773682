"""Session 32's hunt for the enhancer's class of bug elsewhere: a batched (whole-file) path and a per-chunk path that
round differently, read by something that amplifies the rounding (an argmax, a split sum). Every stateful node was run
through the harness on hostile but legitimate inputs (tones on and between bins, full-scale and int16 square waves,
large DC + small signal, an impulse in silence, silence then a signal, 1e-6 noise, constant runs; float64 and float32;
chunks of 1, 7, 13, 37, 100 and random). Each test here failed before its fix."""

import numpy as np
import pytest
from wavegraph.nodes.models.tokenizer import EEGTokenizerNode
from wavegraph.pipeline.spec import signal_spec
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
