"""A node made by hand takes a pathlib.Path where it takes a file name, as GraphBuilder.add does (session 43: a Path
was pydantic's 'Input should be a valid string')."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.models.tokenizer import EEGTokenizerNode


def _read_all(node) -> np.ndarray:
    node.configure({})
    parts = []
    while (out := node.read()) is not None:
        parts += [c.data for c in out.values()]
    return np.concatenate(parts, axis=-1)


def test_a_path_is_taken_as_its_text_and_reads_the_same(tmp_path):
    wav = tmp_path / "take 1.wav"
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (800, 2)).astype(np.float32)
    sf.write(wav, x, 8000, subtype="FLOAT")
    by_path, by_text = FileSource(path=wav, chunk_size=300), FileSource(path=str(wav), chunk_size=300)
    assert by_path.params.path == str(wav)
    np.testing.assert_array_equal(_read_all(by_path), _read_all(by_text))
    np.testing.assert_array_equal(_read_all(FileSource(path=wav, chunk_size=300)), x.T)


def test_a_checkpoint_path_is_taken_as_its_text():
    weights = Path(__file__).resolve().parents[1] / "models" / "weights" / "eeg_tokenizer.safetensors"
    assert EEGTokenizerNode(checkpoint=weights).params.checkpoint == str(weights)
