"""Declared latency along each path (`wavegraph describe`) against the delay measured end to end."""

from __future__ import annotations

import numpy as np
from wavegraph.nodes.dsp.fir import FIR
from wavegraph.nodes.dsp.join import Join
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.graph import build_graph, describe
from wavegraph.pipeline.spec import StreamSpec

RATE = 250.0
FIR_PARAMS = dict(numtaps=101, l_freq=None, h_freq=40.0)  # delay 50 samples = 200 ms


def _spec(rate=RATE, name="c"):
    return StreamSpec("signal", rate, (1,), "float64", (name,), ("misc",), "a.u.")


def _impulse(n=1200, at=500):
    x = np.zeros((1, n))
    x[0, at] = 1.0
    return x


def test_path_into_a_join_waits_for_its_slowest_input():
    # src -> join.a beside src -> fir -> join.b: the join emits a sample once both inputs reached it (content-aligned),
    # so its output comes the fir's 200 ms late on both paths; the direct path said 0.00 ms
    x = _impulse()
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=RATE, chunk_size=1, id="src")
    g.add("fir", src, id="f", **FIR_PARAMS)
    g.add("join", id="j")
    g.connect("src.out", "j.a")
    g.connect("f.out", "j.b")
    graph = build_graph(g.config(capture=["j.out"]))
    text = describe(graph)
    assert "src -> j -> _capture0: 200.00 ms" in text and "src -> f -> j -> _capture0: 200.00 ms" in text

    f, j = FIR(**FIR_PARAMS), Join()
    fs = f.configure({"in": _spec()})["out"]
    j.configure({"a": _spec(), "b": fs.evolve(channel_names=("d",))})
    emitted = None
    for i in range(x.shape[1]):  # one sample at a time: when does the impulse on `a` come out?
        c = Chunk(x[:, i : i + 1], t0=i / RATE, seq=i)
        outs = [j.process({"a": c})]
        fb = f.process({"in": c})["out"]
        if fb is not None and fb.data.shape[-1]:
            outs.append(j.process({"b": fb}))
        for o in outs:
            oc = o.get("out")
            if emitted is None and oc is not None and oc.data.shape[-1] and np.abs(oc.data[0]).max() > 0.5:
                emitted = i
    assert emitted is not None
    measured = (emitted - 500) / RATE
    assert abs(graph.path_latency(["src", "j", "_capture0"]) - measured) < 1e-9


def test_marker_path_into_epochs_counts_the_signal_it_waits_for():
    # markers from their own source: an epoch (tmax 0.3 s) of a signal behind a fir (0.2 s) is cut once the fir has
    # given out content up to marker + tmax, 0.5 s after the marker; `mk -> ep` said 300 ms
    x = _impulse(n=2000, at=750)
    g = GraphBuilder()
    g.add("array_source", data=x, rate=RATE, chunk_size=25, id="eeg")
    g.add("array_source", data=np.zeros((1, 2000)), rate=RATE, chunk_size=25, id="mk", events=np.array([[3.0, 0, 1]]))
    g.add("fir", "eeg", id="f", **FIR_PARAMS)
    g.add("epochs", id="ep", tmin=-0.1, tmax=0.3)
    g.connect("f.out", "ep.in")
    g.connect("mk.events", "ep.events")
    graph = build_graph(g.config(capture=["ep.out"]))
    assert abs(graph.path_latency(["mk", "ep", "_capture0"]) - 0.5) < 1e-9
    assert abs(graph.path_latency(["eeg", "f", "ep", "_capture0"]) - 0.5) < 1e-9
    ep = g.run(capture=["ep.out"])["ep.out"]  # and the epoch is the one around the marker (the fir's delay removed)
    assert ep.data.shape[0] == 1 and int(np.argmax(ep.data[0, 0])) == 25


def test_latency_after_a_resampler_is_counted_at_the_new_rate():
    # resample 250 -> 125 Hz (20 input samples = 80 ms), then a fir at 125 Hz (51 taps: 25 samples = 200 ms):
    # the declared 280 ms is the delay of the impulse's stamp and the worst wait before it comes out
    x = _impulse(n=1200, at=500)
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=RATE, chunk_size=50, id="src")
    rs = g.add("resample", src, id="rs", rate=125.0)
    g.add("fir", rs, id="f", numtaps=51, l_freq=None, h_freq=20.0)
    graph = build_graph(g.config(capture=["f.out"]))
    assert "src -> rs -> f -> _capture0: 280.00 ms" in describe(graph)
    out = g.run(capture=["f.out"])["f.out"]
    k = int(np.argmax(np.abs(out.data[0])))
    assert abs(out.times[k] - 500 / RATE - 0.28) < 1e-9  # the peak lands 280 ms after the impulse's stamp

    rs_node, f = Resample(rate=125.0), FIR(numtaps=51, l_freq=None, h_freq=20.0)
    f.configure({"in": rs_node.configure({"in": _spec()})["out"]})
    waits = []
    for at in (500, 501):  # either phase of the 2:1 decimation
        rs_node.reset(), f.reset()
        x = _impulse(n=900, at=at)
        best = (0.0, None)
        for i in range(x.shape[1]):
            o = rs_node.process({"in": Chunk(x[:, i : i + 1], t0=i / RATE, seq=i)}).get("out")
            if o is not None and o.data.shape[-1]:
                y = f.process({"in": o}).get("out")
                if y is not None and y.data.shape[-1] and np.abs(y.data).max() > best[0]:
                    best = (np.abs(y.data).max(), i)
        waits.append((best[1] - at) / RATE)
    assert abs(max(waits) - graph.path_latency(["src", "rs", "f", "_capture0"])) < 1e-9
