"""Online epoching (nodes/dsp/epochs.py) against mne.Epochs on the real SSVEP recording (ssvepy) and
its real event markers, whatever the chunking and whatever the order in which markers and samples
arrive."""

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

mne = pytest.importorskip("mne")
PICKS = ["O1", "Oz", "O2", "POz", "Pz", "Cz"]


@pytest.fixture(scope="module")
def ssvep():
    """The ssvepy recording replayed by file_source: (channels, samples), its events, spec, epoch length."""
    src = FileSource(path="dataset:ssvepy-epochs", picks=PICKS, chunk_size=4096)
    specs = src.configure({})
    parts, events = [], []
    while (out := src.read()) is not None:
        parts.append(out["out"].data)
        if "events" in out:
            events.append(out["events"].data)
    src.close()
    return np.concatenate(parts, axis=1), np.concatenate(events), specs


def mne_epochs(x, sfreq, onsets, codes, tmin, tmax, baseline):
    raw = mne.io.RawArray(x, mne.create_info(PICKS, sfreq, "eeg"), verbose="error")
    ev = np.column_stack([np.round(onsets * sfreq).astype(int), np.zeros(len(onsets), int), codes.astype(int)])
    ep = mne.Epochs(
        raw,
        ev,
        tmin=tmin,
        tmax=tmax,
        baseline=baseline,
        preload=True,
        proj=False,
        reject_by_annotation=False,
        verbose="error",
    )
    return ep.get_data(copy=True), ep.events[:, 2]


def stream(node, x, spec, events, sizes, marker_lag=0.0):
    """Feed x in chunks of `sizes`; each marker goes in once the signal is `marker_lag` s past it."""
    node.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})
    outs, rows, pos, k = [], [], 0, 0

    def keep(r):
        if r:
            outs.append(r["out"].data)
            rows.append(r["events"].data)

    for n in sizes:
        while k < len(events) and events[k, 0] + marker_lag <= pos / spec.rate:
            keep(node.process({"events": Chunk(events[k : k + 1], t0=events[k, 0])}))
            k += 1
        keep(node.process({"in": Chunk(x[:, pos : pos + n], t0=pos / spec.rate)}))
        pos += n
    if k < len(events):
        keep(node.process({"events": Chunk(events[k:], t0=events[k, 0])}))
    for tail in node.finish_all():  # (as the runtime ends a node)
        keep(tail)
    return (np.concatenate(outs) if outs else np.zeros((0,))), (np.concatenate(rows) if rows else np.zeros((0, 3)))


@pytest.mark.parametrize("tmin,tmax,baseline,shift", [(0.25, 4.0, (0.25, 0.5), 0.0), (-1.0, 2.0, (None, 0.0), 8.0)])
def test_epochs_equal_mne_epochs_on_real_ssvep(ssvep, tmin, tmax, baseline, shift):
    x, events, specs = ssvep
    spec = specs["out"]
    ev = events.copy()
    ev[:, 0] += shift
    ref, ref_codes = mne_epochs(x, spec.rate, ev[:, 0], ev[:, 2], tmin, tmax, baseline)
    assert ref.shape[0] == 16
    rng = np.random.default_rng(0)
    for sizes, lag, first in (
        ([x.shape[1]], 0.0, True),
        (list(rng.integers(1, 100, x.shape[1] // 40)) + [x.shape[1]], 0.5, False),
    ):
        sizes = np.cumsum(sizes)
        sizes = np.diff(np.concatenate([[0], sizes[sizes < x.shape[1]], [x.shape[1]]]))
        node = Epochs(tmin=tmin, tmax=tmax, baseline=baseline)
        got, rows = stream(node, x, spec, ev, sizes, marker_lag=-1e9 if first else lag)
        assert node.out_specs["out"].shape == (len(PICKS), ref.shape[2]), node.counters
        assert len(rows) == 16, (node.counters, len(node.state.pending), sizes)
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-15)
        np.testing.assert_array_equal(rows[:, 2], ref_codes)
        np.testing.assert_allclose(rows[:, 0], ev[:, 0])
        assert not node.counters


def test_marker_order_and_chunking_do_not_change_the_epochs(ssvep):
    x, events, specs = ssvep
    x, spec = x[:, : 4 * 4096], specs["out"]
    rng = np.random.default_rng(1)
    ev = np.array([[t, 0.0, float(c)] for t, c in zip(np.sort(rng.uniform(0.1, 63.0, 30)), rng.integers(1, 4, 30))])
    ref_node = Epochs(tmin=-0.1, tmax=0.4, max_delay=2.0)
    ref = stream(ref_node, x, spec, ev, [x.shape[1]], marker_lag=-1e9)
    assert len(ref[1]) > 20
    for lag in (-0.3, 0.0, 0.2, 1.6):  # markers ahead of the signal ... nearly max_delay behind it (chunks < 0.4 s)
        sizes = [int(s) for s in rng.integers(1, 97, 4 * 4096 // 40)]
        sizes.append(x.shape[1] - sum(sizes))
        node = Epochs(tmin=-0.1, tmax=0.4, max_delay=2.0)
        got = stream(node, x, spec, ev, sizes, marker_lag=lag)
        assert node.counters == ref_node.counters, (lag, node.counters)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
        assert node.counters == ref_node.counters


def test_gaps_late_markers_edges_and_codes_are_counted(ssvep):
    x, events, specs = ssvep
    spec = specs["out"]
    x = x[:, : 2 * 4096]
    node = Epochs(tmin=-0.2, tmax=0.2, max_delay=0.5, codes=[1, 2])
    node.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})
    node.process({"events": Chunk(np.array([[0.1, 0, 1], [3.0, 0, 9], [15.95, 0, 2]]), t0=0.1)})
    node.process({"in": Chunk(x[:, :4096], t0=0.0)})
    node.process({"in": Chunk(x[:, 4096:6144], t0=16.0, gap=True)})  # a new segment (as file_source flags it)
    node.process({"in": Chunk(x[:, 6144:], t0=24.0)})
    # 16.5: 7.5 s late (lateness counts from the newest chunk's first sample, 24 s: a chunk's markers follow it)
    out = node.process({"events": Chunk(np.array([[16.5, 0, 1], [31.9, 0, 2]]), t0=16.5)})
    assert out == {}
    tail = node.finish()
    assert tail == {}  # 31.9 + 0.2 is past the end of the data
    assert node.counters == {"outside_data": 2, "ignored_marker": 1, "gap_in_epoch": 1, "late_marker": 1}


def test_state_round_trip_resumes_pending_markers(ssvep):
    x, events, specs = ssvep
    spec, x = specs["out"], x[:, :4096]
    ev = np.array([[2.0, 0, 1], [5.0, 0, 2], [9.0, 0, 1]])
    ref = stream(Epochs(tmin=-0.5, tmax=1.0), x, spec, ev, [4096], marker_lag=-1e9)
    a = Epochs(tmin=-0.5, tmax=1.0)
    a.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})
    first = a.process({"events": Chunk(ev, t0=2.0)})
    first = a.process({"in": Chunk(x[:, :1400], t0=0.0)})  # the first epoch is done, two are pending
    b = Epochs(tmin=-0.5, tmax=1.0)
    b.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})
    b.load_state_dict(a.state_dict())
    # (the two epochs cut at once go out one marker time per chunk, the second at the end: finish_all)
    rest = [first, b.process({"in": Chunk(x[:, 1400:], t0=1400 / spec.rate)}), *b.finish_all()]
    np.testing.assert_array_equal(np.concatenate([r["out"].data for r in rest if r]), ref[0])
    np.testing.assert_array_equal(np.concatenate([r["events"].data for r in rest if r]), ref[1])


def test_a_first_chunk_without_a_time_does_not_lose_the_epochs():
    """A first signal chunk with t0 NaN left every sample time NaN (the buffer latched it), so every marker
    was dropped as outside the data; the times now come from the first chunk that has one."""
    from wavegraph.pipeline.spec import signal_spec

    x = np.random.default_rng(2).standard_normal((2, 400))
    markers = Chunk(np.array([[1.0, 0.0, 1.0], [2.5, 0.0, 2.0]]), 1.0)

    def run(first_t0):
        node = Epochs(tmin=-0.1, tmax=0.3)
        node.configure({"in": signal_spec(100.0, ["C3", "C4"]), "events": StreamSpec("events", 0.0, (3,), "float64")})
        outs = [node.process({"in": Chunk(x[:, :20], first_t0)}), node.process({"events": markers})]
        outs += [node.process({"in": Chunk(x[:, 20:], 0.2)}), node.finish()]
        return [o["out"].data for o in outs if "out" in o], node.counters

    (want, want_counters), (got, counters) = run(0.0), run(float("nan"))
    assert len(want) and sum(len(e) for e in want) == 2
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(want))
    assert counters == want_counters
