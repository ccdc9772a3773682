"""Leftovers of earlier reviews (session 24), each reproduced as a user meets it; each test failed before its fix."""

from pathlib import Path

import pytest
from wavegraph.pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _validate(tmp_path, monkeypatch, capsys, *args):
    """`wavegraph validate ARGS` in tmp_path: (exit code, stderr lines), with no traceback."""
    monkeypatch.chdir(tmp_path)
    code = main(["validate", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, err.strip().splitlines()


@pytest.mark.parametrize("name", ["model", "model_path", "weights", "ckpt"])
def test_a_weights_file_under_another_tools_name_is_told_checkpoint(tmp_path, monkeypatch, capsys, name):
    """Before: `--set enhancer.model=x.pt` (a user guessing what the weights file is called: NeMo's model_path,
    torch's ckpt) was told 'did you mean d_model?', the width of the network. Now the fix names checkpoint, as a
    --set to type; a misspelt real name still gets its 'did you mean'."""
    graph = str(ROOT / "configs" / "speech_enhance_file.yaml")
    code, lines = _validate(tmp_path, monkeypatch, capsys, graph, "--set", f"enhancer.{name}=x.pt")
    said = [line for line in lines if "node 'enhancer'" in line]
    assert code == 2 and len(said) == 1, lines
    assert f"unknown parameter '{name}'" in said[0] and "--set enhancer.checkpoint=x.pt" in said[0], said
    assert "d_model" not in said[0]
    code, lines = _validate(tmp_path, monkeypatch, capsys, graph, "--set", "enhancer.d_modle=8")
    assert any("unknown parameter 'd_modle'" in line and "did you mean 'd_model'" in line for line in lines), lines


def _speech_graph(rate):
    """A sine at `rate` (a file's rate as a user has it) -> resample to 16 kHz -> enhancer -> null sink."""
    return f"""\
nodes:
  - {{id: src, type: sine, params: {{rate: {rate}, duration: 0.5, freq: 10}}}}
  - {{id: to16k, type: resample, params: {{rate: 16000}}}}
  - {{id: enhancer, type: enhancer}}
  - {{id: sink, type: null_sink}}
edges:
  - {{source: src.out, target: to16k.in}}
  - {{source: to16k.out, target: enhancer.in}}
  - {{source: enhancer.out, target: sink.in}}
"""


@pytest.mark.parametrize("rate", [100, 1000])
def test_audio_from_an_absurdly_low_rate_is_refused_by_the_enhancer(tmp_path, monkeypatch, capsys, rate):
    """Before: a 100 Hz or 1 kHz recording through speech_enhance_file.yaml's resample to 16 kHz was 'enhanced' without
    a word (nothing above 50 or 500 Hz: no speech band). Now validate refuses it at the enhancer, naming the rate the
    content came through and what to give."""
    (tmp_path / "g.yaml").write_text(_speech_graph(rate))
    code, lines = _validate(tmp_path, monkeypatch, capsys, "g.yaml")
    assert code == 2 and len(lines) == 1, lines
    assert f"sampled at {rate} Hz before it was resampled to 16000 Hz" in lines[0], lines
    assert "; fix: give it speech audio sampled at 4000 Hz or more" in lines[0]


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_telephone_and_wideband_audio_still_reach_the_enhancers_model(tmp_path, monkeypatch, capsys, rate):
    """8 kHz telephone audio (and 16 kHz, 44.1 kHz) passes the enhancer's rate checks to its model as before (the
    model's loading stood in for, so the test needs no torch)."""
    from wavegraph.nodes.models.enhancer import EnhancerNode
    from wavegraph.pipeline.spec import SpecError

    def loaded(self):
        raise SpecError("the model was loaded", "nothing")

    monkeypatch.setattr(EnhancerNode, "_load", loaded)
    (tmp_path / "g.yaml").write_text(_speech_graph(rate))
    code, lines = _validate(tmp_path, monkeypatch, capsys, "g.yaml")
    assert code == 2 and len(lines) == 1 and "the model was loaded" in lines[0], lines
