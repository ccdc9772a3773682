"""The time-aligned join (nodes/dsp/join.py): real EEG (EEGMMIDB, 160 Hz) joined with a 250 Hz stream on
another clock; the output equals offline interpolation whatever the chunking and interleaving, late
inputs are flagged after max_wait, and one process equals several processes."""

import numpy as np
import pytest
from wavegraph.nodes.dsp.join import Join
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec

PICKS = ["C3..", "Cz..", "C4..", "Oz.."]


@pytest.fixture(scope="module")
def eeg():
    src = FileSource(path="dataset:eegmmidb-s001r02", picks=PICKS, chunk_size=1600)
    spec = src.configure({})["out"]
    out = src.read()
    assert out is not None
    x = out["out"].data  # the first 10 s
    src.close()
    return x, spec


def offline(x, rate_a, y, rate_b, t0_b):
    """Reference: y interpolated (numpy.interp) at a's sample times, where a and b overlap."""
    ta = np.arange(x.shape[1]) / rate_a
    tb = t0_b + np.arange(y.shape[1]) / rate_b
    keep = (ta >= tb[0]) & (ta <= tb[-1])
    yi = np.stack([np.interp(ta[keep], tb, ch) for ch in y])
    return np.concatenate([x[:, keep], yi]), ta[keep]


def feed(node, streams, rng):
    """streams: port -> (x, rate, t0); random chunk sizes, inputs interleaved at random."""
    pos = {p: 0 for p in streams}
    outs = []
    while any(pos[p] < s[0].shape[1] for p, s in streams.items()):
        p = rng.choice([q for q in streams if pos[q] < streams[q][0].shape[1]])
        x, rate, t0 = streams[p]
        n = int(rng.integers(1, 60))
        c = Chunk(x[:, pos[p] : pos[p] + n], t0=t0 + pos[p] / rate)
        pos[p] += c.data.shape[1]
        r = node.process({p: c})
        outs += [r["out"]] if r else []
    r = node.finish()
    outs += [r["out"]] if r else []
    return outs


def test_join_aligns_rates_and_clock_offsets_whatever_the_arrival_order(eeg):
    x, spec = eeg
    rate_b, t0_b = 250.0, 100.0 + 0.3  # b's clock runs 100 s ahead; it starts 0.3 s after a
    tb = np.arange(int(9.0 * rate_b)) / rate_b
    y = np.stack([np.sin(2 * np.pi * 7.0 * tb), np.cos(2 * np.pi * 3.0 * tb)])
    ref, t_ref = offline(x, spec.rate, y, rate_b, 0.3)
    specs = {"eeg": spec, "aux": signal_spec(rate_b, ["Fz", "Cz.."], "misc")}
    first = None
    for seed in range(4):
        node = Join(inputs=["eeg", "aux"], offsets={"aux": -100.0})
        out_spec = node.configure(specs)["out"]
        outs = feed(node, {"eeg": (x, spec.rate, 0.0), "aux": (y, rate_b, t0_b)}, np.random.default_rng(seed))
        got = np.concatenate([c.data for c in outs], axis=1)
        first = got if first is None else first
        np.testing.assert_array_equal(got, first)  # the arrival order changes nothing, bit for bit
        np.testing.assert_array_equal(got[:4], x[:, np.round(t_ref * spec.rate).astype(int)])  # a: untouched
        np.testing.assert_allclose(got[4:], ref[4:], rtol=0, atol=1e-9)  # b: interpolated (offset rounding ~1e-13 s)
        starts = np.cumsum([0] + [c.data.shape[1] for c in outs[:-1]])
        np.testing.assert_allclose([c.t0 for c in outs], t_ref[starts], atol=1e-9)  # on a's clock
        assert not any(c.gap for c in outs)
        assert node.counters == {
            "before_start": 48,
            "after_end": int(np.count_nonzero(np.arange(1600) / 160.0 > 0.3 + tb[-1])),
        }
    assert out_spec.channel_names == ("eeg:C3..", "eeg:Cz..", "eeg:C4..", "eeg:Oz..", "aux:Fz", "aux:Cz..")
    assert out_spec.rate == spec.rate


def test_late_input_is_flagged_after_max_wait_and_held(eeg):
    x, spec = eeg
    node = Join(max_wait=0.5)
    node.configure({"a": spec, "b": signal_spec(50.0, ["aux"], "misc")})
    node.process({"b": Chunk(np.arange(50.0)[None], t0=0.0)})  # b: 1 s, then silence
    out = node.process({"a": Chunk(x[:, :160], t0=0.0)})["out"]  # a reaches 1 s: b is not late yet
    assert out.data.shape[1] == 157 and not out.gap  # up to b's last sample (0.98 s)
    assert node.process({"a": Chunk(x[:, 160:200], t0=1.0)}) == {}  # 1.25 s: still inside max_wait
    # a's newest chunk starts at 1.25 s (what came with it may still come): not late yet
    assert node.process({"a": Chunk(x[:, 200:319], t0=1.25)}) == {}
    late = node.process({"a": Chunk(x[:, 319:330], t0=319 / 160)})["out"]  # a at 2 s: samples to 1.5 s go out
    assert late.gap and late.t0 == pytest.approx(157 / 160.0)
    np.testing.assert_array_equal(late.data[4], 49.0)  # b's last value, held
    assert late.data.shape[1] == 240 - 157 and node.counters == {"late_b": late.data.shape[1]}


def test_join_same_result_in_one_process_and_across_processes(tmp_path):
    graph_yaml = tmp_path / "join.yaml"
    graph_yaml.write_text(f"""
name: join-test
nodes:
  - {{id: eeg, type: file_source, params: {{path: "dataset:eegmmidb-s001r02", picks: {PICKS}, chunk_size: 16}}}}
  - {{id: aux, type: sine, params: {{rate: 250.0, channels: [Fz], freq: 7.0, chunk_size: 25, duration: 20.0}}}}
  - {{id: join, type: join, params: {{inputs: [eeg, aux]}}}}
  - {{id: rec, type: recorder, params: {{path: out.npz}}}}
edges:
  - {{source: eeg.out, target: join.eeg}}
  - {{source: aux.out, target: join.aux}}
  - {{source: join.out, target: rec.in}}
processes:
  a: [eeg]
  b: [aux]
  c: [join, rec]
""")
    results = {}
    for mode in ("in", "multi"):
        path = tmp_path / f"{mode}.npz"
        graph = build_graph(load_config(graph_yaml, [f"rec.path={path}"]))
        r = run_graph(graph, in_process=mode == "in")
        assert r.exit_code == 0, r.failure
        results[mode] = np.load(path)["data"]
    np.testing.assert_array_equal(results["in"], results["multi"])
    x = results["in"]
    assert x.shape == (5, 20 * 160)  # a's grid up to the sine's last sample (19.996 s)
    t = np.arange(x.shape[1]) / 160.0
    tb = np.arange(5000) / 250.0
    np.testing.assert_allclose(x[4], np.interp(t, tb, np.sin(2 * np.pi * 7.0 * tb)), atol=1e-12)


def test_state_round_trip_resumes_mid_stream(eeg):
    x, spec = eeg
    specs = {"a": spec, "b": signal_spec(50.0, ["aux"], "misc")}
    y = np.sin(np.arange(500) / 7.0)[None]

    def run(node, parts):
        outs = [node.process({p: Chunk(d, t0=t0)}) for p, d, t0 in parts]
        return [o["out"].data for o in outs if o]

    parts = [("a", x[:, :700], 0.0), ("b", y[:, :200], 0.0), ("a", x[:, 700:], 700 / 160.0), ("b", y[:, 200:], 4.0)]
    whole = Join()
    whole.configure(specs)
    ref = np.concatenate(run(whole, parts) + [o["out"].data for o in [whole.finish()] if o], axis=1)
    first = Join()
    first.configure(specs)
    head = run(first, parts[:2])
    second = Join()
    second.configure(specs)
    second.load_state_dict(first.state_dict())
    tail = run(second, parts[2:]) + [o["out"].data for o in [second.finish()] if o]
    np.testing.assert_array_equal(np.concatenate(head + tail, axis=1), ref)
    second.reset()
    assert second.process({"a": Chunk(x[:, :10], t0=0.0)}) == {}  # fresh: waits for b again


def test_join_flags_its_own_gaps(eeg):
    """A run after a reference gap is flagged (and starts at its real time); so is a stretch interpolated
    across another input's gap; the run before the gap is not, whatever input delivered the gap."""
    x, spec = eeg
    node = Join()
    node.configure({"a": spec, "b": signal_spec(50.0, ["aux"], "misc")})
    y = np.arange(600.0)[None]
    assert node.process({"a": Chunk(x[:, :160], t0=0.0)}) == {}
    assert node.process({"a": Chunk(x[:, 160:320], t0=5.0, gap=True)}) == {}  # 4 s of a missing
    first = node.process({"b": Chunk(y[:, :400], t0=0.0)})["out"]  # b up to 7.98 s
    assert not first.gap and first.t0 == 0.0 and first.data.shape[1] == 160  # stops at a's break
    second = node.process({"b": Chunk(y[:, 400:410], t0=8.0)})["out"]
    assert second.gap and second.t0 == 5.0 and second.data.shape[1] == 160
    np.testing.assert_allclose(second.data[4], 250.0 + np.arange(160) * 50 / 160.0)  # b at a's times
    assert node.process({"b": Chunk(y[:, 450:500], t0=9.0, gap=True)}) == {}  # b lost 8.2 .. 9 s
    third = node.process({"a": Chunk(x[:, 320:960], t0=6.0)})["out"]  # a: 6 .. 10 s
    assert third.gap and third.t0 == 6.0  # a's samples between 8.18 and 9 s are interpolated across b's gap
    assert third.data.shape[1] == int((9.98 - 6.0) * 160) + 1  # up to b's last sample


def test_a_first_chunk_without_a_time_is_joined_once_a_later_chunk_has_one():
    """A first chunk with t0 NaN on either input (a source that had no time for it yet) left its buffer's
    times NaN for good: nothing was ever joined (no output, no counter). Its samples now take their times from
    the first chunk that has one, less the samples before it, so the output equals a run with every time known."""
    ramp = np.arange(300.0)[None]

    def run(first_t0):
        join = Join(inputs=["eeg", "aux"])
        join.configure({"eeg": signal_spec(100.0, ["C3"]), "aux": signal_spec(100.0, ["x"])})
        outs = [
            join.process({"eeg": Chunk(ramp[:, :10], first_t0)}),
            join.process({"aux": Chunk(2 * ramp[:, :7], first_t0)}),
            join.process({"aux": Chunk(2 * ramp[:, 7:], 0.07)}),
            join.process({"eeg": Chunk(ramp[:, 10:], 0.1)}),
            join.finish(),
        ]
        got = [o["out"] for o in outs if o]
        starts = np.concatenate([c.t0 + np.arange(c.data.shape[1]) / 100.0 for c in got])
        return np.concatenate([c.data for c in got], axis=1), starts, join.counters

    want, got = run(0.0), run(float("nan"))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], atol=1e-9)
    assert want[0].shape == (2, 300) and got[2] == want[2] == {}


def test_join_emits_every_run_after_reference_gaps_at_the_end():
    """Reference runs after gaps still waiting at the end of the stream go out one chunk each through
    finish_all() (what the runtime calls); they were dropped, counted after_break_at_end."""
    node = Join()
    node.configure({"a": signal_spec(10.0, ["A"]), "b": signal_spec(10.0, ["B"])})
    outs = [node.process({"a": Chunk(np.full((1, 10), k + 1.0), t0=2.0 * k, gap=k > 0)}) for k in range(3)]
    b = np.arange(60.0)[None] / 10  # b covers all three runs and arrives in one chunk, last
    outs.append(node.process({"b": Chunk(b, t0=0.0)}))
    outs += node.finish_all()
    got = [o["out"] for o in outs if o]
    assert [(c.t0, c.data.shape[1], c.gap) for c in got] == [(0.0, 10, False), (2.0, 10, True), (4.0, 10, True)]
    for k, c in enumerate(got):
        np.testing.assert_allclose(c.data, np.stack([np.full(10, k + 1.0), 2.0 * k + np.arange(10) / 10]), rtol=1e-12)
    assert "after_break_at_end" not in node.counters


def test_a_join_of_too_many_channels_is_refused_at_build():
    """Joins of joins double the channels each time: 24 of them gave 16 M channels and a 46 s validate inside join's
    configure. Over 65,536 the build stops, naming both inputs' counts."""
    from wavegraph.pipeline.spec import SpecError

    node = Join(inputs=["a", "b"])
    big = {
        "a": signal_spec(100.0, [f"c{i}" for i in range(40000)]),
        "b": signal_spec(100.0, [f"d{i}" for i in range(30000)]),
    }
    with pytest.raises(SpecError, match=r"join: the output would have 70000 channels \(a: 40000 \+ b: 30000\)"):
        node.configure(big)
    ok = Join(inputs=["a", "b"]).configure({"a": big["a"], "b": signal_spec(100.0, ["x"])})
    assert ok["out"].shape == (40001,)
