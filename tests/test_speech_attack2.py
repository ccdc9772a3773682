"""A hostile user on the speech-enhancement path, second round: the `enhancer` node's gaps, docs/speech.md's folder
loop, and the spectral nodes on odd streams. Each test failed before its fix."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import ctrl_c_when
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec

ROOT = Path(__file__).resolve().parent.parent
SR = 16000
SPEC = signal_spec(SR, ["ch0"], "audio", "float32", "a.u.")


def _speechlike(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = 0.1 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(n)
    return x.astype(np.float32)[None]


def _enhancer():
    from wavegraph.nodes.models.enhancer import EnhancerNode

    node = EnhancerNode(random_init=True, d_model=16)  # the counting does not depend on the weights
    node.configure({"in": SPEC})
    return node


@pytest.mark.parametrize("n_before", [8000, 8050, 100])
def test_samples_dropped_at_gap_counts_the_enhanced_audio_that_never_went_out(n_before):
    """At a gap the enhancer drops what it held of the segment before it: the enhanced last 319 samples (its latency),
    which finish() would have given at the end of a file. The counter said 159 whatever was lost (the held-back
    output less the samples inside the model's overlap-add), also for a segment of 100 samples."""
    x = _speechlike(n_before + 1600, seed=1)
    node = _enhancer()
    node.process({"in": Chunk(x[:, :n_before], t0=0.0)})
    node.process({"in": Chunk(x[:, n_before:], t0=10.0, gap=True)})
    ended = _enhancer()  # the same segment ended by finish() instead: what it gives is what the gap dropped
    ended.process({"in": Chunk(x[:, :n_before], t0=0.0)})
    tail = ended.finish()["out"].data
    lost = min(n_before, tail.shape[1])  # of the flushed tail, only the part that follows the segment's own samples
    assert node.counters["samples_dropped_at_gap"] == lost == min(n_before, ended.latency_samples)


def _folder_loop() -> str:
    """docs/speech.md's loop over a folder of recordings, as written there."""
    text = (ROOT / "docs" / "speech.md").read_text()
    at = text.index("so a folder is a loop")
    return text[text.index("```sh\n", at) + len("```sh\n") : text.index("```", text.index("```sh\n", at) + 5)]


def test_the_docs_folder_loop_gives_each_recording_its_own_outputs(tmp_path):
    """docs/speech.md's folder loop globs *.wav and *.flac but named each output by the stem alone: a folder holding
    take1.wav and take1.flac (the same call kept twice) got one enhanced/take1.wav and one take1_vad.csv, the FLAC's
    run silently replacing the WAV's (the graph's recorders overwrite). The loop is run here as written, with
    `wavegraph` stubbed to list the paths each run would write."""
    rec = tmp_path / "recordings"
    rec.mkdir()
    for name in ("take1.wav", "take1.flac", "my call.wav", "b.x.flac"):
        (rec / name).write_bytes(b"")
    stub = 'wavegraph() { for a in "$@"; do case "$a" in rec.path=*|vad.path=*|src.path=*) echo "$a";; esac; done; }\n'
    done = subprocess.run(["bash", "-e", "-c", stub + _folder_loop()], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    srcs = [v.split("=", 1)[1] for v in lines if v.startswith("src.path=")]
    outs = [v.split("=", 1)[1] for v in lines if v.startswith(("rec.path=", "vad.path="))]
    assert sorted(srcs) == sorted(f"recordings/{p.name}" for p in rec.iterdir())  # every recording, once
    assert len(outs) == 2 * len(srcs) and len(set(outs)) == len(outs), outs  # nothing written twice
    assert all(Path(o).suffix in (".wav", ".flac", ".csv") for o in outs)  # formats the recorder writes
    assert (tmp_path / "enhanced").is_dir()


class SlowStartParams(NodeParams):
    parent: int = 0  # the test's pid: its build-only copy starts at once, the worker's takes a while
    flag: str = ""  # touched when the worker's configure() begins


class SlowStart(Node):
    """Passes its input on; its configure() in a worker takes a few seconds (as the enhancer's does on a busy machine:
    torch's import, the weights, the traced frame graph)."""

    Params = SlowStartParams

    def configure(self, in_specs):
        if os.getpid() != self.params.parent:
            Path(self.params.flag).touch()
            threading.Event().wait(3.0)  # bounded: the process is killed long before
        return super().configure(in_specs)

    def process(self, inputs):
        return {"out": inputs["in"]}


def test_a_stop_while_a_process_still_configures_says_so_not_deadlock_and_unfinished_recordings(
    tmp_path, monkeypatch, caplog
):
    """Ctrl-C 3-6 s after `wavegraph run configs/speech_enhance_file.yaml` (the worker still loading the enhancer)
    killed the process with "one of its nodes (src, ..., vad) did not return (a read or wait without a timeout, a
    deadlock?), and none of them was closed; the recordings out/x.wav, out/x.csv are left unfinished (fix: wavegraph
    recover each)": nothing had run, no file existed, and `wavegraph recover` found nothing. Now it says the process
    was still starting and that nothing was written."""
    from wavegraph.pipeline import multiprocess

    monkeypatch.setattr(multiprocess, "STOP_GRACE_S", 0.3)
    flag, rec = tmp_path / "configuring", tmp_path / "out.npz"
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n"
        "  - {id: src, type: sine, params: {rate: 1000.0, chunk_size: 10, duration: 1.0}}\n"
        f"  - {{id: slow, type: test_speech_attack2:SlowStart, params: {{parent: {os.getpid()}, flag: '{flag}'}}}}\n"
        f"  - {{id: rec, type: recorder, params: {{path: '{rec}'}}}}\n"
        "edges:\n  - {source: src.out, target: slow.in}\n  - {source: slow.out, target: rec.in}\n"
        "processes: {a: [src], b: [slow, rec]}\n"
    )
    g = build_graph(load_config(graph))

    with ctrl_c_when(flag), caplog.at_level("WARNING", logger="wavegraph.multiprocess"):
        r = run_graph(g)
    assert r.interrupted and flag.exists()
    said = [m.getMessage() for m in caplog.records if "was killed" in m.getMessage()]
    assert len(said) == 1, said
    assert said[0].startswith("process 'b' did not stop ") and "still starting" in said[0], said
    assert "deadlock" not in said[0] and "recover" not in said[0] and not rec.exists(), said


@pytest.mark.parametrize("sources", [1, 2])
def test_a_stop_in_one_process_ends_the_sources_so_the_nodes_give_their_tails(sources):
    """--in-process (docs/speech.md's folder loop) or GraphBuilder.run stopped by --duration / Ctrl-C: the stop came
    while the only source was reading (a paced replay's wait, a sound card's block), the runner's loop then ended
    without ending the sources, so no end-of-stream went down the graph and no node's finish() ran: the enhancer's
    last 319 samples and its last speech probability were lost (a 0.55 s stop wrote 10,881 samples of 11,200 read).
    With two sources the second's turn ended them, as a worker's loop always did."""
    from wavegraph.pipeline.api import GraphBuilder

    x = _speechlike(SR * 20, seed=4)
    g = GraphBuilder()
    srcs = [g.add("array_source", data=x, rate=float(SR), chunk_size=800) for _ in range(sources)]
    enh = g.add("enhancer", srcs[0], random_init=True, d_model=16)
    out = g.run(capture=[f"{srcs[0]}.out", f"{enh}.out", f"{enh}.vad"], speed=1.0, duration=0.3)
    n_read = out[f"{srcs[0]}.out"].data.shape[1]
    assert 0 < n_read < x.shape[1]  # stopped mid-file
    assert out[f"{enh}.out"].data.shape[1] == n_read + 319  # and then flushed, as at the end of the file
    assert out[f"{enh}.vad"].data.shape[0] == -(-(n_read + 160) // 160)  # every frame that holds a read sample


@pytest.mark.parametrize("node_type", ["enhancer", "mamba"])
@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1])
def test_a_seed_torch_cannot_take_is_refused_naming_the_parameter_and_its_range(tmp_path, node_type, seed):
    """`--set enhancer.random_init=true --set enhancer.seed=99999999999999999999` said only "node 'enhancer'
    (enhancer): Overflow when unpacking long long; fix: check its params" (torch.manual_seed's own error, at
    configure): not which parameter, nor what it takes. The same for the model nodes' seed."""
    from wavegraph.pipeline.config import GraphError

    graph = tmp_path / "g.yaml"
    src = "{id: src, type: sine, params: {rate: 16000.0, chunk_size: 160, duration: 0.1}}"
    if node_type == "enhancer":
        nodes, edges = [src, "{id: net, type: enhancer, params: {random_init: true}}"], ["src.out: net.in"]
    else:  # a model node takes real features
        nodes = [src, "{id: stft, type: stft, params: {n_fft: 8, hop: 4}}", "{id: mag, type: magnitude}"]
        nodes.append("{id: net, type: mamba, params: {random_init: true, d_model: 4}}")
        edges = ["src.out: stft.in", "stft.out: mag.in", "mag.out: net.in"]
    edges = [dict(zip(("source", "target"), e.split(": "))) for e in edges]
    graph.write_text(
        "nodes:\n"
        + "".join(f"  - {n}\n" for n in nodes)
        + "edges:\n"
        + "".join(f"  - {{source: {e['source']}, target: {e['target']}}}\n" for e in edges)
    )
    with pytest.raises(GraphError) as e:
        build_graph(load_config(graph, [f"net.seed={seed}"]))
    said = "\n".join(e.value.lines())
    assert "parameter 'seed'" in said and "Overflow" not in said, said
    assert str(2**64) in said or str(-(2**63)) in said, said  # the range it takes
    assert build_graph(load_config(graph, [f"net.seed={2**64 - 1}"]))  # the largest torch takes is still taken


def test_an_apply_mask_max_wait_under_half_a_frame_is_refused_with_the_smallest_that_works():
    """apply_mask's max_wait: 0.001 (a user thinking in frames of 1 ms, or cutting latency) on 10 ms frames rounded to
    no wait at all: the mask made of each chunk came after its frames, so one frame of every chunk was dropped as
    unmatched (11 of 101 for 1 s of speech through the docs' YAML enhancer, the recording 1,760 samples short with 9
    gaps). Refused at configure now, with the shortest wait that pairs every frame."""
    from wavegraph.nodes.dsp.spectral import ApplyMask
    from wavegraph.pipeline.spec import SpecError, StreamSpec

    spec = StreamSpec("features", 100.0, (4,), "float64")
    with pytest.raises(SpecError) as e:
        ApplyMask(max_wait=0.001).configure({"in": spec, "mask": spec})
    assert "max_wait 0.001 s" in str(e.value) and "max_wait: 0.01" in str(e.value), str(e.value)
    node = ApplyMask(max_wait=0.006)  # one frame: every frame pairs, its mask arriving after it
    node.configure({"in": spec, "mask": spec})
    got = 0
    for k in range(5):
        for port in ("in", "mask"):
            out = node.process({port: Chunk(np.ones((10, 4)), k * 0.1)})
            got += out["out"].data.shape[0] if "out" in out else 0
    got += sum(o["out"].data.shape[0] for o in node.finish_all())
    assert got == 50 and not node.counters
