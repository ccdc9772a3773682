"""A fresh-eyed review of session 24's changes (fe674d0..): the defects it found in the new code, each with the input
that showed it."""

from __future__ import annotations

import json

import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.spec import SpecError, StreamSpec


def _opensignals_header(path, device: dict):
    path.write_text(
        "# OpenSignals Text File Format\n" + "# " + json.dumps({"00:07:80:79:6F:DB": device}) + "\n# EndOfHeader\n"
        "0\t0\t30000\n1\t0\t30001\n"
    )
    return path


@pytest.mark.parametrize(
    "device",
    [
        {"sampling rate": "fast", "column": ["nSeq", "DI", "A1"], "label": ["A1"]},  # ValueError
        {"sampling rate": None, "column": ["nSeq", "DI", "A1"], "label": ["A1"]},  # TypeError
        {"sampling rate": 1000, "column": 3, "label": ["A1"]},  # TypeError: 'int' object is not iterable
        {"sampling rate": 1000, "column": ["nSeq", "DI", "A1"], "label": 7},
    ],
)
def test_an_opensignals_header_with_odd_fields_is_told_not_a_traceback(tmp_path, device):
    """Before: file_source (and validate) on an OpenSignals text export whose header JSON gives a rate that is no
    number, or a column list that is no list (a hand-edited or damaged export), failed with a ValueError/TypeError
    traceback from opensignals_text_hint. It is told as an OpenSignals export, as any other."""
    path = _opensignals_header(tmp_path / "rec.txt", device)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert "OpenSignals (PLUX) text export" in e.value.hint
    if not isinstance(device["sampling rate"], int):
        assert "gives no rate" in e.value.hint and "rate=HZ" in e.value.hint


@pytest.mark.parametrize("suffix", ["edf", "bdf", "wav", "flac"])
def test_an_irregular_signal_is_told_to_npz_not_to_resample_or_fif(tmp_path, suffix):
    """Before: an irregular signal (rate 0: an LSL stream of nominal rate 0) recorded to .edf was told 'none [of the
    records] holds 0 Hz exactly; fix: resample to a whole rate first (resample {rate: 1}), or record to _raw.fif or .npz
    (any rate)' (6d121ba), and to .wav 'resample ... or record to _raw.fif': resample and FIF take no irregular
    stream. Each is told, as FIF was, that it needs a sample rate, and .npz."""
    spec = StreamSpec("signal", 0.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"), "V")
    with pytest.raises(SpecError) as e:
        Recorder(path=str(tmp_path / f"x.{suffix}")).configure({"in": spec})
    assert f"{suffix.upper()} needs a sample rate, the stream has 0 Hz" in str(e.value)
    assert "fif" not in e.value.hint and "resample" not in e.value.hint and ".npz" in e.value.hint


def _graph_with(tmp_path, params: str):
    path = tmp_path / "g.yaml"
    path.write_text(
        "name: t\nnodes:\n"
        "  - {id: src, type: sine, params: {freq: 10.0, rate: 100.0, duration: 0.1}}\n"
        f"  - {{id: enc, type: model, params: {params}}}\n"
        "edges:\n  - {source: src.out, target: enc.in}\n"
    )
    return path


@pytest.mark.parametrize("value", ["conformer", "mamba"])
def test_a_models_architecture_under_model_is_told_kind_not_checkpoint(tmp_path, monkeypatch, capsys, value):
    """Before: `model: conformer` on a model node (the architecture's name, as Hugging Face's `model: bert-base`) was
    told 'wavegraph calls it checkpoint: write checkpoint: conformer' (1f28f41), a weights file that is no file. A
    name is told to be the node's kind; a file under `model` is still told checkpoint."""
    from wavegraph.pipeline.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(_graph_with(tmp_path, f"{{model: {value}, random_init: true}}"))]) == 2
    err = capsys.readouterr().err
    assert f"write kind: {value}" in err and "checkpoint" not in err, err
    assert main(["validate", str(_graph_with(tmp_path, "{model: weights/enc.safetensors}"))]) == 2
    assert "write checkpoint: weights/enc.safetensors" in capsys.readouterr().err
