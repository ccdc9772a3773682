"""Session 27 leftovers.

1. join, epochs and ssvep_trial_decoder keep their own segments (propagates_gaps = False, or a buffer of samples
   with breaks). Driven by hand (process() called directly, as in a notebook), a gap flagged on a chunk of no
   samples (shape (channels, 0)) was dropped, and the next samples were joined to the old segment as if continuous.
   The runtime holds such a gap for the input's next chunk with samples (executor.gap_held); by hand, the node
   now does the same: a chunk, an empty chunk flagged gap, then a chunk give what the gap flagged on the third
   chunk itself gives.
2. `--duration N` with an lsl_inlet on a stream already running records N s of it (within a chunk); the ~0.2 s more of
   configs/eeg_filter.yaml is its resample's (250 -> 100 Hz: the declared 0.1 s delay at the start and the flushed
   0.1 s tail, upfirdn's whole output, docs/nodes.md "Resampling"), by design: nothing changed, no test here.
"""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.dsp.join import Join
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec


def _signal_chunks(x: np.ndarray, rate: float, split_s: float, lost_s: float, empty_gap: bool) -> list[Chunk]:
    """x in two chunks with `lost_s` seconds missing between them: the second flagged gap itself, or (empty_gap)
    an empty chunk flagged gap between them and the second unflagged."""
    k = int(round(split_s * rate))
    second_t0 = split_s + lost_s
    first = Chunk(x[:, :k], 0.0)
    if empty_gap:
        return [first, Chunk(x[:, :0], second_t0, gap=True), Chunk(x[:, k:], second_t0)]
    return [first, Chunk(x[:, k:], second_t0, gap=True)]


def _outputs(node, feeds: list[dict[str, Chunk]]) -> list[tuple]:
    """Every output chunk of process() over `feeds`, then finish(), as (port, t0, gap, data)."""
    out = []
    for outs in [*(node.process(f) for f in feeds), node.finish()]:
        out += [(p, c.t0, c.gap, np.asarray(c.data)) for p, c in sorted(outs.items())]
    return out


def _same(a: list[tuple], b: list[tuple]) -> None:
    assert [o[:3] for o in a] == [o[:3] for o in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x[3], y[3])


@pytest.mark.parametrize("port", ["a", "b"])
def test_join_by_hand_keeps_a_gap_flagged_on_an_empty_chunk(port):
    rate = 100.0
    rng = np.random.default_rng(1)
    x = {"a": rng.standard_normal((2, 300)), "b": rng.standard_normal((1, 300))}
    specs = {"a": signal_spec(rate, ["C3", "C4"]), "b": signal_spec(rate, ["aux"], "misc")}

    def run(empty_gap: bool) -> list[tuple]:
        node = Join()
        node.configure(specs)
        gapped = _signal_chunks(x[port], rate, 1.0, 0.5, empty_gap)  # `port` lost 1.0-1.5 s; the other did not
        other = "b" if port == "a" else "a"
        whole = x[other]
        feeds = [{port: gapped[0]}, {other: Chunk(whole[:, :100], 0.0)}]
        feeds += [{port: c} for c in gapped[1:]] + [{other: Chunk(whole[:, 100:], 1.0)}]
        return _outputs(node, feeds)

    flagged, on_empty = run(False), run(True)
    assert any(gap for _, _, gap, _ in flagged)  # the join flags the samples after (or across) the gap
    _same(on_empty, flagged)  # before: no output flagged, the second segment joined on as continuous


def test_epochs_by_hand_keeps_a_gap_flagged_on_an_empty_chunk():
    rate = 100.0
    x = np.random.default_rng(2).standard_normal((2, 500))
    markers = np.array([[2.6, 0.0, 1.0], [4.0, 0.0, 2.0]])  # 2.6 s: its window (from 2.4 s) spans the gap at 2.5 s

    def run(empty_gap: bool) -> tuple[list[tuple], dict]:
        node = Epochs(tmin=-0.2, tmax=0.5, max_delay=5.0)
        node.configure({"in": signal_spec(rate, ["C3", "C4"]), "events": StreamSpec("events", 0.0, (3,))})
        feeds = [{"events": Chunk(markers, 2.6)}] + [{"in": c} for c in _signal_chunks(x, rate, 2.0, 0.5, empty_gap)]
        return _outputs(node, feeds), dict(node.counters)

    (flagged, flagged_counts), (on_empty, on_empty_counts) = run(False), run(True)
    assert flagged_counts.get("gap_in_epoch") == 1 and len(flagged) == 2  # the 4 s epoch: out and events
    assert on_empty_counts == flagged_counts  # before: the 2.6 s epoch was cut across the lost 0.5 s
    _same(on_empty, flagged)


def test_ssvep_trial_decoder_by_hand_keeps_a_gap_flagged_on_an_empty_chunk():
    rate = 250.0
    x = np.random.default_rng(3).standard_normal((3, int(6 * rate))) * 1e-5
    specs = {
        "in": StreamSpec("signal", rate, (3,), "float64", channel_names=("O1", "Oz", "O2")),
        "events": StreamSpec("events", 0.0, (3,), "float64"),
    }
    markers = np.array([[1.5, 0.0, 1.0], [4.0, 0.0, 2.0]])  # 1.5 s: its window (1.7-2.7 s) spans the gap at 2.0 s

    def run(empty_gap: bool) -> tuple[list[tuple], dict]:
        node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0], window=1.0, delay=0.2, pre=0.5, max_delay=5)
        node.configure(specs)
        feeds = [{"events": Chunk(markers, 1.5)}] + [{"in": c} for c in _signal_chunks(x, rate, 2.0, 0.5, empty_gap)]
        return _outputs(node, feeds), dict(node.counters)

    (flagged, flagged_counts), (on_empty, on_empty_counts) = run(False), run(True)
    assert flagged_counts.get("gap_in_trial") == 1 and len(flagged) == 2  # the 4 s trial: out and scores
    assert on_empty_counts == flagged_counts  # before: the 1.5 s trial was decided across the lost 0.5 s
    _same(on_empty, flagged)


def test_a_gap_held_from_an_empty_chunk_survives_state_dict():
    """The held gap is stream state: a node resumed from the state saved between the empty chunk and the next
    samples still starts a new segment there."""
    rate = 100.0
    x = np.random.default_rng(2).standard_normal((2, 500))
    markers = np.array([[2.6, 0.0, 1.0]])
    specs = {"in": signal_spec(rate, ["C3", "C4"]), "events": StreamSpec("events", 0.0, (3,))}
    first, empty, second = _signal_chunks(x, rate, 2.0, 0.5, empty_gap=True)
    node = Epochs(tmin=-0.2, tmax=0.5, max_delay=5.0)
    node.configure(specs)
    for feed in ({"events": Chunk(markers, 2.6)}, {"in": first}, {"in": empty}):
        node.process(feed)
    resumed = Epochs(tmin=-0.2, tmax=0.5, max_delay=5.0)
    resumed.configure(specs)
    resumed.load_state_dict(node.state_dict())
    resumed.process({"in": second})
    resumed.finish()
    assert resumed.counters.get("gap_in_epoch") == 1
