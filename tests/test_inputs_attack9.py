"""Broken and unusual inputs, a ninth sweep: a stream of the wrong kind on one input of a node with several, what
`wavegraph describe` says an `align` drops, a stereo pair whose channels cancel in `mix`, and liblsl's own line at the
end of an LSL stream. Each test failed before its fix."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import textwrap  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.cli import main  # noqa: E402
from wavegraph.pipeline.config import load_config  # noqa: E402
from wavegraph.pipeline.graph import build_graph  # noqa: E402

SIG = "{id: sig, type: sine, params: {rate: 100, duration: 0.5, chunk_size: 10}}"
SIG2 = "{id: sig2, type: sine, params: {rate: 100, duration: 0.5, chunk_size: 10}}"
STFT = "{id: st, type: stft, params: {n_fft: 16, hop: 8}}"  # complex features
MAG = "{id: mg, type: magnitude}"  # real features at the stft's rate
TO_STFT, TO_MAG = ("sig.out", "st.in"), ("st.out", "mg.in")
EPOCHS = "{id: ep, type: epochs, params: {tmin: 0, tmax: 0.1}}"

# (node, the nodes before it, edges among those, the edges into it; the first of these is the wrong one)
WRONG_INPUT = {
    "apply_mask: a signal on mask": (
        "{id: am, type: apply_mask}", [SIG, STFT, MAG], [TO_STFT, TO_MAG], [("sig.out", "am.mask"), ("st.out", "am.in")]
    ),
    "apply_mask: a complex mask on a real in": (
        "{id: am, type: apply_mask}", [SIG, STFT, MAG], [TO_STFT, TO_MAG], [("st.out", "am.mask"), ("mg.out", "am.in")]
    ),
    "apply_mask: features on in (the mask features too)": (
        "{id: am, type: apply_mask}", [SIG, STFT, MAG], [TO_STFT, TO_MAG], [("sig.out", "am.mask"), ("mg.out", "am.in")]
    ),
    "join: features on b": ("{id: j, type: join}", [SIG, STFT, MAG], [TO_STFT, TO_MAG], [("mg.out", "j.b"), ("sig.out", "j.a")]),
    "join: features on a": ("{id: j, type: join}", [SIG, STFT, MAG], [TO_STFT, TO_MAG], [("mg.out", "j.a"), ("sig.out", "j.b")]),
    "epochs: a signal on events": (EPOCHS, [SIG, SIG2], [], [("sig2.out", "ep.events"), ("sig.out", "ep.in")]),
}  # fmt: skip


@pytest.mark.parametrize("wrong_first", [True, False], ids=["wrong-edge-first", "wrong-edge-last"])
@pytest.mark.parametrize("case", list(WRONG_INPUT))
def test_a_wrong_stream_on_one_input_of_several_names_that_edge(tmp_path, monkeypatch, capsys, case, wrong_first):
    """The error named the file's first edge into the node, whichever input was wrong: a signal on apply_mask's
    `mask` written after `in` was "edge st.out -> am.in (features ...): node 'am' (apply_mask) rejects the stream from
    'st': the mask is a signal stream ...", on the line of the right edge; a join's features on `b` blamed `a`'s
    source. Now the wrong edge, its line, the input and its upstream node, in either order of the edges."""
    node, before, among, into = WRONG_INPUT[case]
    wrong = into[0]
    edges = among + (into if wrong_first else into[::-1])
    nodes = "\n".join(f"  - {n}" for n in [*before, node])
    text = f"nodes:\n{nodes}\nedges:\n" + "\n".join(f"  - {{source: {s}, target: {t}}}" for s, t in edges) + "\n"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    assert main(["validate", "g.yaml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    line = text.splitlines().index(f"  - {{source: {wrong[0]}, target: {wrong[1]}}}") + 1
    target, port = wrong[1].split(".")
    assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: edge {wrong[0]} -> {wrong[1]} ("), err
    said = f"node '{target}' ({node.split('type: ')[1].split(',')[0].split('}')[0]}) rejects the stream from "
    assert f"{said}'{wrong[0].split('.')[0]}' on input '{port}': " in err[0], err
    other = into[1]
    assert f"(its other input: '{other[1].split('.')[1]}' from '{other[0].split('.')[0]}'); fix: " in err[0], err


def test_an_input_of_the_wrong_kind_is_said_with_its_article(tmp_path, monkeypatch, capsys):
    """'input 'events' must be a events stream ... fix: connect a events output'."""
    text = f"nodes:\n  - {SIG}\n  - {SIG2}\n  - {EPOCHS}\nedges:\n"
    text += "  - {source: sig.out, target: ep.in}\n  - {source: sig2.out, target: ep.events}\n"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    assert main(["validate", "g.yaml"]) == 2
    err = capsys.readouterr().err
    assert "input 'events' must be an events stream, got signal" in err and "connect an events output to" in err


DESCRIBED = """\
    nodes:
      - {id: src, type: sine, params: {rate: 48000, duration: 0.1, chunk_size: 480}}
      - {id: rs, type: resample, params: {rate: 16000}}
      - {id: al, type: align}
      - {id: al_given, type: align, params: {delay: 0.002}}
      - {id: al_plain, type: align, params: {delay: 0.002}}
      - {id: mk, type: lsl_inlet, params: {type: Markers, name: stimulus}}
      - {id: td, type: ssvep_trial_decoder, params: {freqs: [8, 10], window: 0.2}}
    edges:
      - {source: src.out, target: rs.in}
      - {source: rs.out, target: al.in}
      - {source: rs.out, target: al_given.in}
      - {source: src.out, target: al_plain.in}
      - {source: rs.out, target: td.in}
      - {source: mk.out, target: td.events}
    """


def test_describe_says_what_each_align_drops_and_nothing_for_other_nodes(tmp_path, monkeypatch, capsys):
    """`wavegraph describe` (the command, its printed lines): an align behind a resampler says it drops the delay
    declared upstream; with `delay: 0.002` it drops the first 2 ms, also on a stream that declares no delay (that
    said nothing: the output declared no less delay than the input); and an ssvep_trial_decoder behind the resampler
    (its events declare no delay) said 'removes 0.62 ms of the delay declared upstream', which it does not (no node
    but align drops samples)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(textwrap.dedent(DESCRIBED))
    assert main(["describe", "g.yaml"]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.split("edges:")[0].splitlines()[2:]}
    declared = build_graph(load_config(tmp_path / "g.yaml"), devices=False).specs["rs.out"].delay * 1e3
    assert declared > 0
    assert lines["al"].endswith(f"(0.00 ms); drops the delay declared upstream (delay: auto = {declared:.2f} ms)")
    assert lines["al_given"].endswith(f"; drops the first 2.00 ms (delay: 0.002; declared upstream: {declared:.2f} ms)")
    assert lines["al_plain"].endswith("; drops the first 2.00 ms (delay: 0.002; declared upstream: 0.00 ms)")
    assert "drops" not in lines["td"] and "removes" not in lines["td"] and "delay" not in lines["td"]
    assert "drops" not in lines["rs"] and "drops" not in lines["src"]


MIXED = """\
    nodes:
      - {id: src, type: sine, params: {rate: 8000, channels: [L, R], duration: 3.0}}
      - {id: down, type: mix%s}
    edges:
      - {source: src.out, target: down.in}
    """


def mixed(tmp_path, x: np.ndarray, caplog, weights: str = "", chunk: int = 400) -> tuple[np.ndarray, Any]:
    """Run the graph's `mix` node (made by build_graph, as a run makes it) over stereo x at 8 kHz, chunk by chunk."""
    (tmp_path / "g.yaml").write_text(textwrap.dedent(MIXED % (f", params: {{weights: {weights}}}" if weights else "")))
    node = build_graph(load_config(tmp_path / "g.yaml")).nodes["down"]
    with caplog.at_level(logging.WARNING, "wavegraph.mix"):
        out = [
            node.process({"in": Chunk(x[:, i : i + chunk], t0=i / 8000)})["out"].data
            for i in range(0, x.shape[1], chunk)
        ]
    return np.concatenate(out, axis=-1), node


def test_a_stereo_pair_that_cancels_is_said_once_and_the_output_is_as_mixed(tmp_path, caplog):
    """A phase-inverted microphone pair (R = -L: a mic cable wired the other way) mixed to silence with no word; 10 %
    off (R = -0.9 L) to a mono 26 dB under either channel. Now said once, naming the node and the drop, with the weights
    that flip one channel; the output is the mean it was."""
    rng = np.random.default_rng(0)
    left = rng.standard_normal(8000 * 3)
    for right, drop in ((-left, " is silent"), (-0.9 * left, "'s RMS is 25.6 dB under the channels' mean RMS")):
        caplog.clear()
        x = np.stack([left, right])
        y, _ = mixed(tmp_path, x, caplog)
        np.testing.assert_array_equal(y, np.sum(x * np.full((2, 1), 0.5), axis=0, keepdims=True))
        said = [r.getMessage() for r in caplog.records if "cancel" in r.getMessage()]
        assert len(said) == 1, caplog.text
        assert said[0].startswith(f"mix 'down': its channels 'L', 'R' cancel: over the first 2 s the mono output{drop}")
        assert said[0].endswith("fix: if one channel is inverted (its wiring, a mic's polarity), weights: [0.5, -0.5]")


@pytest.mark.parametrize(
    "case",
    ["uncorrelated", "one channel silent", "R = -0.1 L", "a difference (weights of both signs)", "weights small"],
)
def test_a_mix_that_does_not_cancel_is_not_said(tmp_path, caplog, case):
    """The check's edges: two unrelated channels (3 dB under the mean RMS), one dead channel (0 dB), R = -0.1 L (1.7 dB
    under the mix with R flipped; R = -0.8 L, 19 dB, is said as one channel inverted: test_leftovers5_session25),
    a difference on purpose (weights [1, -1] of in-phase channels) are not said; weights of 0.001 each on a cancelling
    pair are (the level is the weighted channels', not the channels' own)."""
    rng = np.random.default_rng(1)
    left = rng.standard_normal(8000 * 3)
    x, weights = {
        "uncorrelated": (np.stack([left, rng.standard_normal(left.size)]), ""),
        "one channel silent": (np.stack([left, 0 * left]), ""),
        "R = -0.1 L": (np.stack([left, -0.1 * left]), ""),
        "a difference (weights of both signs)": (np.stack([left, left]), "[1, -1]"),
        "weights small": (np.stack([left, -left]), "[0.001, 0.001]"),
    }[case]
    _, node = mixed(tmp_path, x, caplog, weights)
    said = [
        r.getMessage() for r in caplog.records if "cancel" in r.getMessage() or "inverted against" in r.getMessage()
    ]
    assert len(said) == (case == "weights small"), said
    assert node._level is None or weights == "[1, -1]"  # decided after 2 s: the check stopped


def test_liblsl_says_one_line_when_an_outlet_goes_and_the_inlet_says_what_it_was(capfd, caplog, monkeypatch):
    """A normal end of an LSL stream (its app closed the outlet) printed liblsl's own 'ERR| Stream transmission broke
    off (Input stream error.); re-connecting...' (on loopback, configs/lsl_api.cfg: errors only), then 'ended: its
    outlet went away': an error line that is none, and a re-connect that never comes. The start prints nothing of
    liblsl's; at the end its line is the only one, and the inlet's line says it is the end, not an error."""
    import pylsl
    from wavegraph.nodes.io import lsl
    from wavegraph.nodes.io.lsl import LslInlet

    # a uuid-named stream: configure()'s 0.8 s listen for a second one of the query (AMBIGUITY_WAIT_S) finds none
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)
    name = f"ends-{uuid.uuid4().hex[:8]}"
    amp = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 100.0, pylsl.cf_float32, name))
    node = LslInlet(name=name, chunk_size=50, clock_sync=False, resolve_timeout=2.0)
    node.configure({})

    def send(out):
        assert out.wait_for_consumers(10.0)
        out.push_chunk(np.ones((50, 2), np.float32), list(pylsl.local_clock() + np.arange(50) / 100.0))

    th = threading.Thread(target=send, args=(amp,))
    th.start()
    got, t_end = 0, time.monotonic() + 10.0  # a liveness bound, not a timing assert
    while got < 50 and time.monotonic() < t_end:
        got += r["out"].data.shape[1] if (r := node.read()) else 0
    th.join()
    assert got == 50 and capfd.readouterr().err == ""  # liblsl said nothing at the start
    del amp
    with caplog.at_level(logging.WARNING, "wavegraph.lsl"):
        while (r := node.read()) is not None and time.monotonic() < t_end:
            pass
    node.close()
    liblsl = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    assert node.counters["outlet_lost"] == 1 and len(liblsl) <= 1, liblsl
    assert all("data_receiver.cpp" in ln and "Stream transmission broke off (" in ln for ln in liblsl), liblsl
    assert f"stream '{name}' ended: its outlet went away (`recover: true` waits for it); liblsl's line " in caplog.text
    assert (
        "'Stream transmission broke off (Input stream error.); re-connecting...' just before is this end, not an "
        in (caplog.text)
    )


def test_ray_without_a_cluster_at_the_address_fails_at_once_naming_it(tmp_path):
    """`--ray ADDRESS` where no cluster answers: ray.init waited about two minutes and ended in its own traceback
    (ConnectionError); now the run stops at once (exit 2) naming the address and the fix. In a fresh process, so
    that a driver connected by another test cannot skip the check."""
    import subprocess
    import sys

    pytest.importorskip("ray")
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: eeg_sim, params: {duration: 1, channels: 2}}\n  - {id: out, type: null_sink}\n"
        "edges:\n  - {source: src.out, target: out.in}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(graph), "--ray", "127.0.0.1:1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "no Ray cluster answers at" in proc.stderr and ":1 (" in proc.stderr
    assert "ray start --head" in proc.stderr and "Traceback" not in proc.stderr


def test_ray_local_and_no_address_are_left_to_ray_init_to_start_a_cluster():
    """ray.init(address='local') starts a local cluster, and so does address None when none is found; the check
    before ray.init refused `--ray local` with 'no running Ray cluster was found'."""
    pytest.importorskip("ray")
    from wavegraph.pipeline.placement import _check_cluster

    _check_cluster("local", "g.yaml")  # (no GraphError)
