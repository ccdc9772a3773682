"""Defects a docs walk-through found and left (session 20): each test failed before its fix."""

from __future__ import annotations

import functools
import os
import re
import types
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

from wavegraph.benchmarks import pacing  # noqa: E402


def _uname(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # never a stream another test left


def _fake_replay(monkeypatch, stretch: float, chunks: int = 100, chunk_s: float = 0.01):
    """bench pacing's replay, stood in for: chunk k (t0 = k * chunk_s) arrives stretch * k * chunk_s s after the first."""

    def run_graph(graph, speed=None, in_process=False):
        pacing.StampSink.stamps[:] = [(k * chunk_s, int(1e12 + k * chunk_s * stretch * 1e9)) for k in range(chunks)]
        return types.SimpleNamespace(exit_code=0, failure=None)

    monkeypatch.setattr(pacing, "run_graph", run_graph)
    monkeypatch.setattr(pacing.StampSink, "stamps", [])


def test_bench_pacing_prints_spans_that_show_its_drift(monkeypatch, capsys):
    """`bench pacing --seconds 1` printed 'drift: +0.018 % (wall span 0.990 s for stream span 0.990 s)': the spans,
    to the ms, were equal beside a drift they are said to give. Now they have the digits their ratio needs."""
    _fake_replay(monkeypatch, stretch=1.0002)
    assert pacing.main(["--seconds", "1"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("drift:"))
    drift = float(re.search(r"drift: ([-+][\d.]+) %", line)[1])  # pyright: ignore[reportOptionalSubscript]
    wall, stream = (float(x) for x in re.findall(r"span ([\d.]+) s", line))
    assert drift == 0.02
    assert abs((wall / stream - 1) * 100 - drift) < 0.001, line  # the printed spans give the printed drift


@pytest.mark.parametrize("name", ["transport", "pacing", "nodes"])
def test_a_bench_says_where_it_drew_its_png(name, tmp_path, monkeypatch, capsys):
    """`bench transport --png X` and `bench pacing --png X` (`bench nodes`, `kernels`, `soak` too) wrote the
    picture in silence, where `bench bci` prints 'plot: PATH'. They say it now (transport its --json too)."""
    png, js = tmp_path / "b.png", tmp_path / "b.json"
    if name == "transport":
        from wavegraph.benchmarks import transport
        from wavegraph.benchmarks.transport import bench_transport

        monkeypatch.setattr(transport, "_cpu_costs", functools.partial(transport._cpu_costs, number=10))
        argv = ["--transports", "ipc", "--sizes", "64", "--iters", "5", "--no-throughput", "--json", str(js)]
        assert bench_transport([*argv, "--png", str(png)]) == 0
    elif name == "pacing":
        _fake_replay(monkeypatch, stretch=1.0)
        assert pacing.main(["--seconds", "1", "--png", str(png)]) == 0
    else:
        from wavegraph.benchmarks.nodes import main

        assert main(["--seconds", "0.05", "--repeats", "1", "--png", str(png)]) in (0, None)
    out = capsys.readouterr().out.splitlines()
    assert png.stat().st_size > 1000 and f"plot: {png}" in out
    assert name != "transport" or (js.stat().st_size > 0 and f"json: {js}" in out)


def test_recover_on_a_folder_with_nothing_to_recover_says_so_and_succeeds(tmp_path, capsys):
    """`wavegraph recover DIR` on a folder whose recordings were all finished (a second `recover out/`) exited 1 with
    'error: ... nothing to recover', where a finished recording's own path is left as it is, exit 0 (docs/nodes.md)."""
    from wavegraph.nodes.io.recover import recover_main

    (tmp_path / "done.csv").write_text("t,x\n0.0,1.0\n")
    assert recover_main([str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert f"{tmp_path}: no .spill file under it: nothing to recover" in out and "error" not in out + err


def test_two_eeg_streams_of_other_names_are_told_apart_by_name(monkeypatch):
    """`type: EEG` found two amplifiers' streams of different names: the error's fix was 'pick one by its source_id
    (`source_id: <the first's>`)', an id a user does not know, where the name (which the error lists) tells them
    apart. It gives the names now."""
    import pylsl
    from wavegraph.nodes.io import lsl
    from wavegraph.nodes.io.lsl import LslInlet
    from wavegraph.pipeline.spec import SpecError

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 8.0)  # a listen for the second stream; it ends when both are seen
    kind, a, b = _uname("EEG"), _uname("ampA"), _uname("ampB")
    outlets = [pylsl.StreamOutlet(pylsl.StreamInfo(n, kind, 2, 100.0, pylsl.cf_float32, f"{n}-sn")) for n in (a, b)]
    with pytest.raises(SpecError) as e:
        LslInlet(type=kind, resolve_timeout=10.0).configure({})
    del outlets
    assert f"give the `name` of the one to read (`name: {a}` or `name: {b}`)" in str(e.value)
    assert "source_id:" not in str(e.value).split("fix:")[-1]


def test_a_lslapicfg_naming_no_file_is_said_once_at_configure(tmp_path, monkeypatch, caplog):
    """LSLAPICFG=path/that/is/not.cfg: liblsl's 'LSLAPICFG file ... not found' line was the only word, and it went on
    with its defaults (the local network, not loopback). The first LSL node configured says it now, once."""
    import logging

    from wavegraph.nodes.io.lsl_outlet import LslOutlet
    from wavegraph.pipeline.spec import StreamSpec

    gone = tmp_path / "lsl_api.cfg"
    monkeypatch.setenv("LSLAPICFG", str(gone))
    spec = {"in": StreamSpec("signal", 100.0, (1,), "float32", channel_names=("x",))}
    nodes = [LslOutlet(name=_uname("out")) for _ in range(2)]
    with caplog.at_level(logging.WARNING, "wavegraph"):
        for node in nodes:
            node.configure(spec)
    for node in nodes:
        node.close()
    said = [r.getMessage() for r in caplog.records if "LSLAPICFG" in r.getMessage()]
    assert len(said) == 1, said
    assert f"$LSLAPICFG names {gone}, a file that does not exist" in said[0] and "fix:" in said[0]


@pytest.mark.parametrize("there", [False, True])
def test_a_stream_not_found_names_the_lslapicfg_discovery_followed(there, tmp_path, monkeypatch):
    """The fix of 'no LSL stream with name=...' said 'discovery follows $LSLAPICFG (configs/lsl_api.cfg: loopback
    only)' whatever LSLAPICFG named. It names the path set (and whether it is there) now."""
    from wavegraph.nodes.io.lsl import LslInlet
    from wavegraph.pipeline.spec import SpecError

    cfg = ROOT / "configs" / "lsl_api.cfg" if there else tmp_path / "gone.cfg"
    monkeypatch.setenv("LSLAPICFG", str(cfg))
    with pytest.raises(SpecError) as e:
        LslInlet(name=_uname("none"), resolve_timeout=0.1).configure({})
    fix = str(e.value).split("fix:")[-1]
    assert str(cfg) in fix and "configs/lsl_api.cfg: loopback only" not in fix
    assert ("not a file" in fix) is not there


def test_log_level_debug_logs_an_in_process_run_s_phases(tmp_path, caplog):
    """`wavegraph run g.yaml --in-process --log-level debug` logged nothing (multi-process: only each worker's
    'drained' and 'closed'), where its help says the level of the runtime's log. The in-process run says now when
    its nodes are open, the sources ended, the graph drained and the nodes closed."""
    import logging

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    path = tmp_path / "g.yaml"
    path.write_text(
        "nodes:\n  - {id: src, type: sine, params: {rate: 100.0, channels: 1, chunk_size: 10, duration: 0.1}}\n"
        "  - {id: out, type: null_sink}\nedges:\n  - {source: src.out, target: out.in}\n"
    )
    with caplog.at_level(logging.DEBUG, "wavegraph"):
        assert run_graph(build_graph(load_config(path)), in_process=True).exit_code == 0
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and r.name == "wavegraph.runner"]
    assert [s.split(": ", 1)[1].split(" (")[0].split(";")[0] for s in said] == [
        "2 nodes open",
        "the sources have ended",
        "the graph has drained",
        "nodes closed",
    ], said
