"""Review of session 27's gap handling: samples of chunks without a time (t0 NaN) still untimed when their stream ends.

A gap drops such samples (TimedBuffer._drop_untimed, Samples._drop_untimed: `untimed_dropped`), since no later chunk
can give them a time; the end of the stream is the same, but they stayed and were used as if they had one:
- join: another input that ended (finish_all at the end of the run, or input_ended) on untimed samples after a gap had
  its last timed value held over the reference samples after its end, unflagged and uncounted, where an input that
  simply ended there counts them `after_end` and drops them; a reference ending on them counted them `before_start`.
- epochs: at finish_all a marker after the timed samples was cut from the untimed samples (its time compared with
  NaN passed every check), an epoch of samples whose time is unknown.
- ssvep_trial_decoder: a marker that came after the untimed samples waited for them to get a time and at the end was
  counted `after_end`, though its window lay wholly in the timed samples before the gap (epochs cuts it there).
Each now drops them at the end (counted untimed_dropped) and decides on the timed samples.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.dsp.join import Join
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

sys.path.insert(0, str(Path(__file__).parent))
from test_ssvep_time_reset_session27 import RATE as SSVEP_RATE  # noqa: E402
from test_ssvep_time_reset_session27 import _decisions, _ssvep, _trial_decoder  # noqa: E402

R = 100.0
NAN = float("nan")
T = np.arange(100) / R


def _join() -> Join:
    node = Join()
    node.configure({"a": signal_spec(R, ["x"]), "b": signal_spec(R, ["y"])})
    return node


def _outs(outs) -> list[tuple[float, bool, np.ndarray]]:
    return [(o["out"].t0, o["out"].gap, np.asarray(o["out"].data)) for o in outs if o]


def test_join_other_input_ending_on_untimed_samples_does_not_hold_its_value_over_the_rest():
    node = _join()
    outs = [node.process({"a": Chunk(T[None], 0.0)}), node.process({"b": Chunk(T[None, :50], 0.0)})]
    outs.append(node.process({"b": Chunk(1.0 + T[None, :50], NAN, gap=True)}))  # untimed after a gap, then the end
    outs += node.finish_all()
    got = _outs(outs)
    assert len(got) == 1 and got[0][0] == 0.0  # 0-0.49 s only; 0.5-0.99 s went out with b held at 0.49 s
    np.testing.assert_array_equal(got[0][2], np.stack([T[:50], T[:50]]))
    assert node.counters == {"untimed_dropped_b": 50, "after_end": 50}  # as b ending at 0.49 s: after_end 50


def test_join_input_ended_on_untimed_samples_drops_them():
    node = _join()
    outs = [node.process({"a": Chunk(T[None], 0.0)}), node.process({"b": Chunk(T[None, :50], 0.0)})]
    outs.append(node.process({"b": Chunk(1.0 + T[None, :50], NAN, gap=True)}))
    outs.append(node.input_ended("b"))
    got = _outs(outs)
    assert [(t0, data.shape[1]) for t0, _, data in got] == [(0.0, 50)]  # was a second chunk, b held, unflagged
    assert node.counters == {"untimed_dropped_b": 50, "after_end": 50}


def test_join_reference_ending_on_untimed_samples_counts_them_untimed():
    node = _join()
    outs = [node.process({"a": Chunk(T[None], 0.0)}), node.process({"a": Chunk(1.2 + T[None], NAN, gap=True)})]
    outs.append(node.process({"b": Chunk(np.arange(300)[None] / R, 0.0)}))
    outs += node.finish_all()
    assert [(t0, data.shape[1]) for t0, _, data in _outs(outs)] == [(0.0, 100)]
    assert node.counters == {"untimed_dropped_a": 100}  # was before_start: 100


def _epochs(feeds) -> tuple[list[tuple[float, float, float]], dict]:
    node = Epochs(tmin=0.0, tmax=0.1)
    node.configure({"in": signal_spec(R, ["C3"]), "events": StreamSpec("events", 0.0, (3,))})
    outs = [node.process(f) for f in feeds] + node.finish_all()
    cut = [
        (float(r[0]), float(e[0, 0]), float(e[0, -1]))
        for o in outs
        if o
        for r, e in zip(o["events"].data, o["out"].data)
    ]
    return cut, dict(node.counters)


def test_epochs_marker_after_the_timed_samples_is_not_cut_from_untimed_ones_at_the_end():
    ev = {"events": Chunk(np.array([[0.5, 0.0, 1.0], [1.5, 0.0, 1.0]]), 0.5)}
    untimed = {"in": Chunk((1.2 + T)[None], NAN, gap=True)}  # values: their true times, 1.2-2.19 s
    for feeds in ([ev, {"in": Chunk(T[None], 0.0)}, untimed], [{"in": Chunk(T[None], 0.0)}, untimed, ev]):
        cut, counts = _epochs(feeds)
        assert cut == [(0.5, 0.5, 0.6)]  # 1.5 s was cut from the untimed samples: (1.5, 1.2, 1.3)
        assert counts == {"untimed_dropped": 100, "outside_data": 1}


def test_epochs_stream_that_never_had_a_time_gives_no_epoch():
    cut, counts = _epochs([{"events": Chunk(np.array([[1.5, 0.0, 1.0]]), 1.5)}, {"in": Chunk((1.2 + T)[None], NAN)}])
    assert cut == []  # was (1.5, 1.2, 1.3)
    assert counts == {"untimed_dropped": 100, "outside_data": 1}


def test_ssvep_trial_decided_on_timed_samples_when_the_stream_ends_on_untimed_ones():
    x = _ssvep(10.0, int(4 * SSVEP_RATE), 1)
    ev = {"events": Chunk(np.array([[1.0, 0.0, 1.0]]), 1.0)}
    for markers_first in (True, False):
        node = _trial_decoder()
        feeds = [{"in": Chunk(x, 0.0)}, {"in": Chunk(_ssvep(6.0, 100, 2), NAN, gap=True)}]
        feeds = [ev, *feeds] if markers_first else [*feeds, ev]
        outs = [node.process(f) for f in feeds] + node.finish_all()
        assert _decisions(outs) == [(1.0, 3)]  # 10 Hz; with the marker after the untimed chunk: none, after_end
        assert dict(node.counters) == {"untimed_dropped": 100}


def _fed(node: Join, feeds) -> list[tuple[float, int, bool]]:
    """process() each, then more() until {} after it, as the runtime does for a node that sets holds_more."""
    outs = []
    for f in feeds:
        outs.append(node.process(f))
        if node.holds_more:
            outs.extend(iter(node.more, {}))
    outs += node.finish_all()
    return [(o["out"].t0, o["out"].data.shape[1], o["out"].gap) for o in outs if o]


def _two_runs_then(b_chunks, last):
    """Reference a: 0-0.99 s, a gap, 2-2.99 s; b: 0-2.99 s in `b_chunks`; then `last`."""
    node = _join()
    feeds = [{"a": Chunk(T[None], 0.0)}, {"a": Chunk((2.0 + T)[None], 2.0, gap=True)}]
    tb = np.arange(300) / R
    feeds += [{"b": Chunk(tb[None, i:j], i / R)} for i, j in b_chunks]
    return _fed(node, [*feeds, last]), dict(node.counters)


def test_join_run_after_a_reference_gap_goes_out_with_the_chunk_that_completes_it_whatever_its_chunking():
    # a restarts from 0 (a gap back in time) right after b's chunk: the run 2-2.99 s, complete, was still held (join
    # gave one run per call) when b came in one chunk, and the restart dropped it unsaid; b in two chunks gave it out
    restart = {"a": Chunk(T[None], 0.0, gap=True)}
    for b_chunks in ([(0, 300)], [(0, 150), (150, 300)]):
        got, counts = _two_runs_then(b_chunks, restart)
        assert got[:2] == [(0.0, 100, False), (2.0, 100, True)], b_chunks
        assert counts["time_reset_a"] == 1


def test_enhancer_numpy_step_never_changes_a_state_tensor_saved_for_backward_unsaid():
    """The numpy frame writes the state in place through numpy views, which autograd does not see. A state tensor that
    does not require grad but that a graph saved for backward (a loss w * prev, w trainable) was read changed by
    backward: the gradient silently wrong (0.59 off here), where the torch step puts a new `prev` (right gradient).
    state_views refuses entries that require grad; these it cannot tell, so the frame's writes now bump the versions
    as a torch in-place op does: backward refuses it (or, on the torch step, is right), never silently wrong."""
    import torch
    from test_enhancer_numpy import CONFIGS, _model, _signal
    from wavegraph.models.enhancer_fast import fast_step

    model, x = _model(**CONFIGS["deep filter, SNR-adaptive floor"]), _signal(3)
    with torch.no_grad():
        state = model.init_state(1)
        model.step(x[:, 0], state)
    w = torch.ones(model.cfg.hop, requires_grad=True)
    for numpy_step in (True, False):
        st = {k: v.clone() for k, v in state.items()}
        want = st["prev"][0].clone()  # d/dw sum(w * prev) at the time of the loss
        loss = (w * st["prev"][0]).sum()
        with torch.no_grad():
            if numpy_step:
                model.step(x[:, 1], st)
                assert model.__dict__.get("_numpy") is not None  # (the numpy frame ran)
            else:
                model._fast_frame(x[:, 1], st, fast_step(model))
        w.grad = None
        try:
            loss.backward()
        except RuntimeError as e:
            assert "modified by an inplace operation" in str(e)
            continue
        torch.testing.assert_close(w.grad, want)  # before: off by 0.59 on the numpy step


def _next_chunk(node):
    for _ in range(200):  # read() waits up to `wait` for samples; None while none came
        if (out := node.read()) is not None:
            return out
    raise AssertionError("the synthetic board sent nothing")


def test_brainflow_source_read_again_after_close_starts_a_new_session_flagged_gap_without_lost_samples():
    """By hand (a notebook), read() after close() opens the board again (a new BrainFlow session, whose package numbers
    start again at 0). The package number and time stamp of the old session's last sample were kept, so the first
    block was counted as samples lost (gaps 1, lost_samples: some hundred, a warning saying so), and a block held after
    a package jump at close would have gone out stamped in the new session. The real library, its synthetic board."""
    import pytest

    pytest.importorskip("brainflow")
    from wavegraph.nodes.io.brainflow_source import BrainFlowSource

    node = BrainFlowSource(board="SYNTHETIC_BOARD", chunk_size=25)
    node.configure({})
    try:
        node.open()
        for _ in range(3):
            assert not _next_chunk(node)["out"].gap
        node.close()
        again = _next_chunk(node)  # opens it again
        assert again["out"].gap  # the samples between the sessions were never read
        assert "lost_samples" not in node.counters and "gaps" not in node.counters  # none lost inside a session
        assert not _next_chunk(node)["out"].gap
    finally:
        node.close()
