"""epochs counts a gap that goes back in time (a restarted source replays from its start: the held samples are
dropped and it starts again) as `time_reset`, as join (`time_reset_<port>`) and ssvep_trial_decoder (`time_reset`)
do; before, it reset silently. The epochs cut after the reset come from the new samples."""

from __future__ import annotations

import numpy as np
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

RATE = 100.0
SPECS = {"in": signal_spec(RATE, ["C3"]), "events": StreamSpec("events", 0.0, (3,))}


def test_a_gap_back_in_time_is_counted_and_the_epochs_after_it_come_from_the_new_samples():
    node = Epochs(tmin=0.0, tmax=0.1, max_delay=10.0)
    node.configure(SPECS)
    node.process({"in": Chunk(np.full((1, 300), 1.0), 0.0)})  # the first run: 0-3 s, value 1
    assert not node.counters.get("time_reset")
    node.process({"in": Chunk(np.full((1, 300), 2.0), 0.0, gap=True)})  # restarted: from 0 s again, value 2
    assert node.counters.get("time_reset") == 1
    out = node.process({"events": Chunk(np.array([[1.0, 0.0, 1.0]]), 1.0)})
    out = out or node.finish()
    epochs = out["out"].data if out and "out" in out else np.zeros((0,))
    assert epochs.size and np.all(epochs == 2.0), epochs  # cut on the restarted run's samples
