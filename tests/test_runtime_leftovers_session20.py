"""Defects earlier rounds found but left (session 20): mix's cancel check after a reset, describe's columns with
wide node ids, lsl_outlet's per-channel units."""

from __future__ import annotations

import os

import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)
from conftest import ctrl_c_when

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from wavegraph.pipeline.node import Node, NodeParams  # noqa: E402

SR = 16000


def _cancel_said(node, x: np.ndarray, caplog) -> list[str]:
    from wavegraph.pipeline.chunk import Chunk

    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.mix"):
        for i in range(0, x.shape[1], 1600):
            node.process({"in": Chunk(x[:, i : i + 1600], t0=i / SR)})
        node.finish()
    return [r.getMessage() for r in caplog.records if "cancel" in r.getMessage()]


def test_mix_says_channels_that_cancel_again_on_a_second_stream_after_reset(caplog):
    """mix's cancel check (R = -L mixes to silence) was decided once per node: after reset() (a restart, a second
    stream through the same node) a second phase-inverted stream mixed to silence unsaid. reset() re-arms it."""
    from wavegraph.nodes.dsp.channels import Mix
    from wavegraph.pipeline.spec import signal_spec

    rng = np.random.default_rng(1)
    left = (0.2 * rng.standard_normal(SR // 2)).astype(np.float32)
    node = Mix()
    node.configure({"in": signal_spec(SR, ["L", "R"], "audio", "float32", "a.u.")})
    assert len(_cancel_said(node, np.stack([left, -left]), caplog)) == 1
    node.reset()
    said = _cancel_said(node, np.stack([left, -left]), caplog)
    assert len(said) == 1, said
    assert "its channels 'L', 'R' cancel" in said[0]


def test_describe_keeps_its_columns_in_line_with_cjk_node_ids(tmp_path):
    """`wavegraph describe` padded node ids and edges by characters (f"{n:<16}"), so a CJK id (two columns a
    character on a terminal) pushed its row's type, process and spec columns right of the others'. Padding is now
    by display width, and a column is as wide as its widest entry."""
    import unicodedata

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph, describe

    (tmp_path / "g.yaml").write_text(
        "name: cjk\n"
        "nodes:\n"
        "  - {id: 信号源, type: sine}\n"
        "  - {id: 陷波滤波器陷波滤波器, type: notch, params: {freq: 50.0}}\n"
        "  - {id: sink, type: null_sink}\n"
        "edges:\n"
        "  - {source: 信号源.out, target: 陷波滤波器陷波滤波器.in}\n"
        "  - {source: 陷波滤波器陷波滤波器.out, target: sink.in}\n",
        encoding="utf-8",
    )

    def column(line: str, mark: str) -> int:  # the terminal column `mark` starts at
        head = line[: line.index(mark)]
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in head)

    text = describe(build_graph(load_config(tmp_path / "g.yaml")))
    nodes = [ln for ln in text.splitlines() if "process=" in ln]
    edges = [ln for ln in text.splitlines() if "queue=" in ln]
    assert len(nodes) == 3 and len(edges) == 2, text
    assert len({column(ln, "process=") for ln in nodes}) == 1, text
    types = [column(ln, t) for ln, t in zip(nodes, ("sine", "notch", "null_sink"), strict=True)]
    assert len(set(types)) == 1, text
    assert len({column(ln, "signal ") for ln in edges}) == 1, text


def _units_a_reader_sees(spec) -> list[str]:
    """Publish `spec` with lsl_outlet on loopback; the channel units an LSL reader gets from the stream's desc()."""
    import pylsl
    from wavegraph.nodes.io.lsl_outlet import LslOutlet

    name = f"units-{uuid.uuid4().hex[:8]}"
    node = LslOutlet(name=name)
    node.configure({"in": spec})
    node.open()
    try:
        found = pylsl.resolve_byprop("name", name, 1, 5.0)
        assert found, "the outlet was not resolved on loopback"
        inlet = pylsl.StreamInlet(found[0])
        ch = inlet.info(5.0).desc().child("channels").child("channel")
        units = []
        while not ch.empty():
            units.append(ch.child_value("unit"))
            ch = ch.next_sibling()
        inlet.close_stream()
        return units
    finally:
        node.close()


@pytest.mark.parametrize(
    ("units", "types", "seen"),
    [
        ("SI", ["eeg", "eeg", "stim"], ["volts", "volts", ""]),  # a FIF of mixed units (MNE's arrays)
        ("uV", ["eeg", "eog", "misc"], ["microvolts"] * 3),
        ("V", ["eeg", "ecg", "eeg"], ["volts"] * 3),
        ("", ["eeg", "eeg", "eeg"], ["", "", ""]),
    ],
)
def test_lsl_outlet_writes_units_mne_lsl_reads_on_each_channel(units, types, seen):
    """lsl_outlet wrote the stream's one `units` on every channel: a FIF of mixed channel units (spec units "SI") was
    published with unit 'SI' on each channel, which MNE-LSL does not know (it took it silently as its factor 0), and a
    uV stream with 'uV'. Each channel now gets a word MNE-LSL reads ('volts', 'microvolts'), or none where the unit
    is not known (a stim channel of an "SI" stream, a stream of no unit)."""
    from wavegraph.pipeline.spec import signal_spec

    spec = signal_spec(250.0, ["C3", "C4", "X"], types, "float32", units)
    assert _units_a_reader_sees(spec) == seen


class _QuickStartParams(NodeParams):
    parent: int = 0  # the test's pid: its build-only copy starts at once, the worker's takes a moment
    flag: str = ""  # touched when the worker's configure() begins


class QuickStart(Node):
    """Passes its input on; its configure() in a worker takes 0.3 s (the enhancer's load, PortAudio's start: seconds)."""

    Params = _QuickStartParams

    def configure(self, in_specs):
        if os.getpid() != self.params.parent:
            Path(self.params.flag).touch()
            threading.Event().wait(0.3)  # deaf to the stop, as a model's load is; done well within the stop's grace
        return super().configure(in_specs)

    def process(self, inputs):
        return {"out": inputs["in"]}


def test_ctrl_c_before_a_live_graph_started_says_nothing_had_flowed(tmp_path, capsys):
    """Ctrl-C while `wavegraph run configs/speech_enhance.yaml` was still starting (its one process loading the
    enhancer, opening PortAudio) printed an all-zero summary and '(interrupted)', with no hint that nothing had run
    yet (deaths.py's 'still starting' is said only of a process killed for not stopping in time). It now says so."""

    from wavegraph.pipeline.cli import main

    flag = tmp_path / "configuring"
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n"
        "  - {id: mic, type: sine, params: {rate: 1000.0, chunk_size: 10, duration: 30.0}}\n"
        f"  - {{id: enh, type: test_runtime_leftovers_session20:QuickStart, params: {{parent: {os.getpid()}, "
        f"flag: '{flag}'}}}}\n"
        "  - {id: speaker, type: null_sink}\n"
        "edges:\n  - {source: mic.out, target: enh.in}\n  - {source: enh.out, target: speaker.in}\n"
        "processes: {audio: [mic, enh, speaker]}\n"
    )
    with ctrl_c_when(flag):  # once the worker is inside configure()
        code = main(["run", str(graph), "--no-status"])
    out, err = capsys.readouterr()
    assert flag.exists() and "(interrupted)" in out, out + err
    assert code == 130, (code, out, err)
    assert "stopped before any data flowed" in err and "still starting" in err, out + err
