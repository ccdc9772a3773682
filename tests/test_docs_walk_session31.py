"""docs/speech.md walked as a new user (session 31 helper): `--set speaker.prefill=0.01` gave 61 ms end to end on
the JACK dummy device, as the default 0.03 does (docs: ~41 ms), above the 51 ms declared. The runtime opened the
microphone before the speaker: PortAudio took ~30 ms to start the output stream, the mic's blocks of that time
queued up, and the speaker's jitter buffer held them for the whole run (40 ms, whatever the prefill). Sources now
open after the other nodes of their process."""

import numpy as np
from test_live_audio import jack  # noqa: F401 — the private JACK dummy server fixture
from wavegraph.nodes.io.audio import AudioOutput
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.executor import Executor
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node, Sink, Source
from wavegraph.pipeline.runner import run_graph


def test_sources_open_after_the_other_nodes():
    opened = []

    class Src(Source):
        def open(self):
            opened.append("src")

    class Snk(Sink):
        def open(self):
            opened.append("snk")

    class Mid(Node):
        def open(self):
            opened.append("mid")

    ex = Executor.__new__(Executor)
    ex.nodes = {"src": Src.__new__(Src), "mid": Mid.__new__(Mid), "snk": Snk.__new__(Snk)}
    ex.types, ex.process = {}, "main"
    ex.open()
    assert opened == ["mid", "snk", "src"]


def test_live_jitter_buffer_holds_the_prefill_not_the_start_up_backlog(jack, monkeypatch):  # noqa: F811
    """The speaker's buffer at its callbacks, once playing: prefill + one block (here 10 + 10 ms), not the blocks
    the mic captured while the speaker's stream was starting (it held 40 ms)."""
    graph = build_graph(
        load_config(
            "configs/speech_enhance.yaml",
            ["mic.duration=1.0", "speaker.prefill=0.01", "mic.device=0", "speaker.device=0"],
        )
    )
    levels = []
    play = AudioOutput._callback

    def callback(self, outdata, frames, time_info, status):
        if self._playing:
            levels.append(self._buffered)
        play(self, outdata, frames, time_info, status)

    monkeypatch.setattr(AudioOutput, "_callback", callback)
    result = run_graph(graph, in_process=True)  # the callback is patched in this process
    assert result.exit_code == 0, result.failure
    steady = np.array(levels[5:])
    assert len(steady) > 50
    # 960 samples at 48 kHz = 20 ms; a late graph cycle may leave it a block short, never more than it
    assert np.median(steady) <= 960, np.bincount(steady // 480)
