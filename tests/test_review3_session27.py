"""Review of c18f838 (untimed samples after a gap): the ssvep_trial_decoder's Samples decided whether untimed samples
after a gap could be placed against the samples before the gap that it still held. When they were many (more than
the decoder keeps: max_delay + pre + delay + window s), those were pruned, so a later chunk's t0 stamped them back
over the pruned timed stretch, and a marker there was decided on samples whose time is unknown; epochs and join
(TimedBuffer, which compares with the newest time ever appended) drop them. Samples now keeps that time too (state
`newest`; a state saved without it takes it from its segments) and counts every sample of the untimed segment."""

import numpy as np
from test_untimed_gap_session27 import _decided, _trial_decoder  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

NAN = float("nan")
RATE = 250.0
X = np.random.default_rng(273).standard_normal((3, 6000)) * 1e-5
MARKERS = np.array([[2.5, 0.0, 1.0], [4.0, 0.0, 1.0]])
# 2 s timed, then 12 s of samples without a time after a gap (in 500-sample chunks), then a timed chunk at 3 s:
# 3000 untimed samples cannot come before it and after the samples before the gap (they end at 2 s)
STEPS = (
    [{"in": Chunk(X[:, :500], 0.0)}, {"in": Chunk(X[:, 500:1000], NAN, gap=True)}]
    + [{"in": Chunk(X[:, i : i + 500], NAN)} for i in range(1000, 3500, 500)]
    + [{"in": Chunk(X[:, 3500:4000], 3.0)}, {"events": Chunk(MARKERS, 2.5)}, {"in": Chunk(X[:, 4000:], 5.0)}]
)


def test_many_untimed_samples_after_a_gap_are_dropped_after_the_timed_ones_were_pruned():
    node = _trial_decoder()
    # 2.5 s was decided on the untimed samples stamped back over the pruned 0-2 s; now none is there: the decoder
    # kept 5 s (max_delay), the timed samples before the gap are gone (late_marker; epochs still holds them)
    assert _decided(node, STEPS) == [4.0]
    assert node.counters == {"untimed_dropped": 3000, "late_marker": 1}
    ep = Epochs(tmin=-0.2, tmax=0.5)
    ep.configure({"in": signal_spec(RATE, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,), "float64")})
    outs = [ep.process(step) for step in STEPS] + ep.finish_all()
    assert [float(o["out"].t0) for o in outs if o] == [4.0]
    # (2.5 s lies in the gap between the timed samples and 3 s: gap_in_epoch, said; it was counted outside_data)
    assert ep.counters == {"untimed_dropped": 3000, "gap_in_epoch": 1}


def test_a_state_saved_without_the_newest_time_still_drops_them():
    node = _trial_decoder()
    for step in STEPS[:4]:  # the timed samples and 1500 untimed ones: the timed ones still held
        node.process(step)
    state = node.state_dict()
    state["buf"].pop("newest", None)  # as saved before it
    twin = _trial_decoder()
    twin.load_state_dict(state)
    assert _decided(twin, STEPS[4:]) == [4.0]
    assert twin.counters == {"untimed_dropped": 3000, "late_marker": 1}
    assert state["buf"]["segments"][0].tolist() == [0.0, 0.0] and np.isnan(state["buf"]["segments"][1, 1])
