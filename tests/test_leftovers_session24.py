"""Leftovers of earlier reviews (session 24), each reproduced as a user meets it; each test failed before its fix."""

from pathlib import Path

import numpy as np
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


def test_the_ssvep_dnn_scores_a_huge_window_as_the_same_window_at_eeg_scale():
    """Before: the DNN decoder scored a window of 1e20-valued samples as an all-zero window (float32 squares: inf, the
    window divided by inf) and decided the same frequency for every window, unsaid; 1e300 gave NaN scores and code 1.
    The model divides each window by its RMS, and the FBCCA decoder is scale-free at any level: now the DNN is too
    (the window scaled in float64 first), so 1e20 or 1e300 x a window decides as the window does."""
    from wavegraph.nodes.models.ssvep import SSVEPDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    names = ["Pz", "PO3", "PO4", "PO7", "PO8", "POz", "O1", "Oz", "O2"]
    t = np.arange(480) / 160
    rng = np.random.default_rng(0)
    x = 1e-5 * (np.sin(2 * np.pi * 10 * t) + 0.5 * np.sin(2 * np.pi * 13 * t) * rng.standard_normal((9, 1)))
    x += 1e-6 * rng.standard_normal((9, 480))
    got = {}
    node = SSVEPDecoder(method="dnn", checkpoint=str(ROOT / "models/weights/ssvep_dnn_8f_160hz_1000ms.safetensors"))
    node.configure({"in": signal_spec(160, names)})
    for scale in (1.0, 1e25, 1e305):
        out = node.process({"in": Chunk(x * scale, 0.0)})
        node.finish()  # (the next chunk starts a new stream)
        got[scale] = (out["scores"].data, out["out"].data)
        assert not node.counters, node.counters
    scores, events = got[1.0]
    assert len(events) == len(scores) > 1 and np.ptp(scores, axis=0).max() > 0.01  # windows that differ
    for scale in (1e25, 1e305):
        np.testing.assert_allclose(got[scale][0], scores, atol=1e-5)
        np.testing.assert_array_equal(got[scale][1], events)


def test_a_conformer_given_1e38_clips_it_and_the_stream_stays_finite():
    """Before: one frame of 1e38 (a corrupt features file) into a conformer_encoder node overflowed its LayerNorms to
    NaN, which went into the key/value cache: every later output was NaN, unsaid (ConformerEncoder.stream took it
    too). Mamba and GLA take any finite value (their RMSNorms) and the enhancer clips: now the Conformer declares
    the range its float32 arithmetic takes (input_limit, 1e15), its stream refuses more with the fix, and the node
    clips to it, counted clipped_input, so later outputs are finite."""
    import torch
    from wavegraph.models.conformer import ConformerConfig, ConformerEncoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.registry import lookup
    from wavegraph.pipeline.spec import StreamSpec

    params = dict(random_init=True, seed=3, d_model=16, n_layers=1, n_heads=2, subsampling=4, device="cpu")
    node = lookup("conformer_encoder")(**params, att_context_sizes=[(8, 1)])
    node.configure({"in": StreamSpec("features", 100.0, (6,), "float32")})
    x = np.random.default_rng(0).standard_normal((96, 6)).astype(np.float32)
    x[40, 2] = 1e38
    outs = [node.process({"in": Chunk(x[i : i + 32], i / 100.0)}).get("out") for i in (0, 32, 64)]
    y = np.concatenate([o.data for o in outs if o is not None])
    assert len(y) >= 16 and np.isfinite(y).all(), y
    assert node.counters.get("clipped_input") == 1

    torch.manual_seed(0)
    model = ConformerEncoder(ConformerConfig(d_in=6, d_model=16, n_layers=1, n_heads=2)).eval()
    with pytest.raises(ValueError, match=r"beyond \+-1e\+15 .*clip them first, e\.g\. x\.clamp\(-1e\+15, 1e\+15\)"):
        model.stream(torch.from_numpy(x)[None], model.init_state(1))


def test_the_resamplers_hint_for_an_odd_rate_fits_the_stream_kind():
    """Before: an EEG stream at 160.0001 Hz (a rate from time stamps) into resample {rate: 250} was told '(an audio
    file: sox in.wav -r 250 out.wav)'. Now an EEG (or any non-audio) stream is told how with MNE, and audio keeps
    its sox line."""
    from wavegraph.nodes.dsp.resample import Resample
    from wavegraph.pipeline.spec import SpecError, signal_spec

    with pytest.raises(SpecError) as eeg:
        Resample(rate=250).configure({"in": signal_spec(160.0001, ["Cz", "Pz"], "eeg")})
    assert "sox" not in eeg.value.hint and ".resample(250)" in eeg.value.hint, eeg.value.hint
    with pytest.raises(SpecError) as audio:
        Resample(rate=16000).configure({"in": signal_spec(16001.5, ["ch0"], "audio", "float32", "a.u.")})
    assert "(an audio file: sox in.wav -r 16000 out.wav)" in audio.value.hint, audio.value.hint


def _record(tmp_path, monkeypatch, capsys, rate, path):
    """`wavegraph run` of a 2-channel sine at `rate` (1.3 s) into a recorder at `path`: (exit code, stderr)."""
    (tmp_path / "g.yaml").write_text(f"""\
nodes:
  - {{id: src, type: sine, params: {{rate: {rate}, duration: 1.3, channels: 2, freq: 7}}}}
  - {{id: rec, type: recorder, params: {{path: {path}, overwrite: true}}}}
edges:
  - {{source: src.out, target: rec.in}}
""")
    monkeypatch.chdir(tmp_path)
    code = main(["run", "g.yaml"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("rate", "suffix"), [(512.5, "edf"), (250.4, "bdf"), (1000 / 3, "edf")])
def test_an_edf_recorder_writes_a_rate_that_is_not_whole_in_records_that_hold_it(
    tmp_path, monkeypatch, capsys, rate, suffix
):
    """Before: the recorder refused EDF/BDF for 512.5 Hz (or 250.4, or 1000/3 after a resample): 'EDF needs a
    whole-number sample rate'. EDF's rate is the samples of a record over the record's duration, so it holds them
    exactly (MNE's export writes floor(rate) samples in a rounded duration: close, not exact): now records of 2 s
    (1025 samples), 5 s (1252) and 3 s (1000); the file reads back at the rate, the samples as written (padding
    trimmed)."""
    from test_real_files3 import _replay  # pyright: ignore[reportMissingImports]

    code, err = _record(tmp_path, monkeypatch, capsys, rate, f"x.{suffix}")
    assert code == 0, err
    spec, got = _replay(tmp_path / f"x.{suffix}")
    n = round(1.3 * rate)
    assert abs(spec.rate - rate) < 1e-9 * rate and got.shape == (2, n), (spec.rate, got.shape)
    t = np.arange(n) / rate
    np.testing.assert_allclose(got, np.tile(np.sin(2 * np.pi * 7 * t), (2, 1)), atol=1e-4)


def test_an_edf_recorder_says_what_to_do_with_a_rate_no_record_holds():
    """160.0001 Hz (a rate from time stamps) needs records of 10000 s: refused at configure, naming the whole rate
    to resample to and the formats that take any rate (it said 'resample to an integer rate first' with no value)."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.spec import SpecError, signal_spec

    with pytest.raises(SpecError) as e:
        Recorder(path="x.edf").configure({"in": signal_spec(160.0001, ["Cz"])})
    assert "none holds 160.0001 Hz exactly" in str(e.value), str(e.value)
    assert "resample {rate: 160}" in e.value.hint and "_raw.fif" in e.value.hint, e.value.hint


def test_an_edge_describes_its_streams_rate_to_the_digits_the_message_gives(tmp_path, monkeypatch, capsys):
    """Before: the resample refusal of a 160.0001 Hz stream read 'edge src.out -> rs.in (signal 160 Hz 1 float64
    [a.u.]): ... resampling 160.0001 -> 250 Hz': the edge's description rounded the rate to 6 digits, so the two
    disagreed. Now the edge says 160.0001 Hz too."""
    (tmp_path / "g.yaml").write_text("""\
nodes:
  - {id: src, type: sine, params: {rate: 160.0001, duration: 0.5}}
  - {id: rs, type: resample, params: {rate: 250}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: rs.in}
  - {source: rs.out, target: sink.in}
""")
    code, lines = _validate(tmp_path, monkeypatch, capsys, "g.yaml")
    assert code == 2 and len(lines) == 1 and "(signal 160.0001 Hz 1 float64 [a.u.])" in lines[0], lines
