"""`wavegraph validate` and `describe` without the hardware, and every error of a file in one pass (issue 12 §3).

An LSL inlet or a sound card is not opened unless --devices: a live source's spec comes from its declared
params (and the node checks the real stream against them when it opens), or it is listed as unchecked.
"""

import os
import subprocess
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import pytest  # noqa: E402
from conftest import wavegraph_cli  # noqa: E402
from wavegraph.pipeline.spec import SpecError  # noqa: E402

THREE_ERRORS = """
name: three-errors
nodes:
  - {id: a, type: sine, params: {rate: 100.0, freq: 5.0}}
  - {id: lp, type: lowpass, params: {freq: 10.0, orderr: 4}}
  - {id: b, type: sine, params: {rate: 100.0, freq: 5.0}}
  - {id: nt, type: notch, params: {freq: 60.0}}
  - {id: c, type: sine, params: {rate: 100.0, freq: 5.0}}
  - {id: rec, type: recordr, params: {path: x.npz}}
edges:
  - {source: a.out, target: lp.in}
  - {source: b.out, target: nt.in}
  - {source: c.out, target: rec.in}
"""


def _wavegraph(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    # in this process (conftest.wavegraph_cli): a new interpreter per command imported scipy and mne again
    return wavegraph_cli(*args, cwd=cwd)


def test_an_lsl_graph_validates_without_its_stream():
    # No outlet named eeg-raw runs: the inlet is not opened (it would wait resolve_timeout, then fail).
    r = _wavegraph("validate", "configs/eeg_filter.yaml")
    assert r.returncode == 0, r.stderr
    assert "node 'src' (lsl_inlet): unchecked: needs the device" in r.stdout
    assert "node 'bp' (bandpass): unchecked: its input comes from a device" in r.stdout
    with_devices = _wavegraph("validate", "configs/eeg_filter.yaml", "--devices", "--set", "src.resolve_timeout=0.5")
    assert with_devices.returncode == 2
    assert "no LSL stream with name='eeg-raw'" in with_devices.stderr


def test_declared_channels_and_rate_let_the_whole_graph_be_checked():
    r = _wavegraph("describe", "configs/eeg_filter.yaml", "--set", "src.channels=8", "--set", "src.rate=500")
    assert r.returncode == 0, r.stderr
    assert "unchecked" not in r.stdout
    assert "car.out -> notch.in" in r.stdout and "500 Hz" in r.stdout
    # A declared rate that the rest of the graph cannot take is found without the stream.
    bad = _wavegraph("validate", "configs/eeg_filter.yaml", "--set", "src.channels=8", "--set", "src.rate=50")
    assert bad.returncode == 2 and "notch" in bad.stderr and "Nyquist" in bad.stderr


def test_an_audio_graph_validates_without_a_sound_card():
    r = _wavegraph("describe", "configs/audio_passthrough.yaml")
    assert r.returncode == 0, r.stderr
    assert "stft.out -> istft.in" in r.stdout and "48000 Hz" in r.stdout  # from mic's declared rate
    assert "unchecked: needs the device" in r.stdout  # the speaker: whether the card plays it


def test_the_inlet_checks_the_stream_against_what_it_declares(monkeypatch):
    pylsl = pytest.importorskip("pylsl")
    from wavegraph.nodes.io import lsl
    from wavegraph.nodes.io.lsl import LslInlet

    # one stream of a name of its own: configure()'s 0.8 s listen for a second one of the query finds none here
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)

    name = f"declared-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "EEG", 3, 100.0, pylsl.cf_float32, name)
    outlet = pylsl.StreamOutlet(info)
    try:
        ok = LslInlet(name=name, channels=3, rate=100.0, resolve_timeout=5.0)
        assert ok.configure({})["out"].shape == (3,)
        ok.close()
        for params, words in (
            ({"channels": 4}, "has 3 channels, the graph declares 4"),
            ({"rate": 250.0}, "runs at 100 Hz, the graph declares 250 Hz"),
            ({"channels": ["C3", "Cz", "C4"]}, "the graph declares ['C3', 'Cz', 'C4']"),
        ):
            node = LslInlet(name=name, resolve_timeout=5.0, **params)
            with pytest.raises(SpecError, match=words.replace("[", r"\[").replace("]", r"\]")):
                node.configure({})
            node.close()
    finally:
        del outlet


def test_one_validate_reports_every_error(tmp_path):
    (tmp_path / "three.yaml").write_text(THREE_ERRORS)
    r = _wavegraph("validate", "three.yaml", cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert any("unknown parameter 'orderr'" in ln for ln in lines), r.stderr  # a parameter
    assert any("unknown type 'recordr'" in ln for ln in lines), r.stderr  # a type
    assert any("node 'nt' (notch) rejects" in ln and "Nyquist" in ln for ln in lines), r.stderr  # a spec
    # A structural problem of the file (an edge's queue) is reported with the nodes' own problems.
    (tmp_path / "four.yaml").write_text(THREE_ERRORS.replace("target: rec.in}", "target: rec.in, queue: 0}"))
    r = _wavegraph("validate", "four.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert "edge queue 0" in r.stderr and "unknown type 'recordr'" in r.stderr and "'orderr'" in r.stderr


PORT_ERRORS = """
name: port-errors
nodes:
  - {id: a, type: sine, params: {rate: 100.0, freq: 5.0}}
  - {id: lp, type: lowpass, params: {freq: 10.0}}
  - {id: fir, type: fir, params: {h_freq: 10.0}}
  - {id: hp, type: highpass, params: {freq: 1.0}}
  - {id: b, type: sine, params: {rate: 100.0, freq: 5.0}}
  - {id: nt, type: notch, params: {freq: 60.0}}
edges:
  - {source: a.outt, target: lp.in}
  - {source: lp.out, target: fir.in}
  - {source: b.out, target: nt.in}
"""


def test_a_wrong_port_or_an_unconnected_input_leaves_the_rest_of_the_graph_checked(tmp_path):
    # Before: a port or connection problem stopped validate there, and a spec problem elsewhere in the file (a
    # notch above Nyquist) needed a second pass.
    (tmp_path / "ports.yaml").write_text(PORT_ERRORS)
    r = _wavegraph("validate", "ports.yaml", cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert any("has no output port 'outt'" in ln for ln in lines), r.stderr  # a port
    assert any("node 'hp' (highpass): input 'in' is not connected" in ln for ln in lines), r.stderr  # a connection
    assert any("node 'nt' (notch) rejects" in ln and "Nyquist" in ln for ln in lines), r.stderr  # a spec elsewhere
    assert len(lines) == 3, r.stderr  # nothing said of lp and fir, which the bad edge feeds


def test_describe_counts_the_speaker_latency_without_the_sound_card():
    # audio_output's jitter buffer and block come from its params and the input's rate: describe without --devices
    # counted 0 ms for it; the part only the card knows is named on the node and on the path
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph, describe

    sets = ["speaker.prefill=0.05", "speaker.blocksize=256"]
    graph = build_graph(load_config(ROOT / "configs/audio_passthrough.yaml", sets), devices=False)
    speaker = graph.nodes["speaker"]
    assert speaker.latency_samples == round(0.05 * 48000) + 256
    text = describe(graph)
    path = next(line for line in text.splitlines() if line.startswith("  mic -> "))
    total = sum(graph.nodes[n].latency_seconds for n in ("mic", "stft", "istft", "speaker"))
    assert path.split(": ")[1].startswith(f"{total * 1e3:.2f} ms + what the device adds at mic, speaker")
    assert "without" not in path
    assert f"latency={speaker.latency_samples} samples" in text and "own output latency" in text
