"""The same graph gives the same result in one process and across processes (session 44 probe of the runners and the
transport): chunks without a time (t0 NaN) cross processes as they pass in one; an infinite t0 fails the node that
sent it in both; a forged shared-memory notification cannot make an edge drop every true chunk after it; a chunk that
does not fit its edge's spec is counted once; a stream whose dtype no frame carries is refused before the run."""

import logging
import math

import numpy as np
import pytest
import zmq
from wavegraph.pipeline import shm, wire
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.receiver import EdgeReceiver
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import EdgeSender, ipc_endpoint

WAIT = 10.0
SPEC = signal_spec(100.0, ["c0", "c1"], "misc", units="a.u.")


class TimesParams(NodeParams):
    n_chunks: int = 8
    odd_at: int = 3  # the chunk whose t0 is `odd`
    odd: str = "nan"  # float() of it (a parameter may not be NaN)
    dtype: str = "float64"


class OddTimes(Source):
    """Ten-sample chunks of a ramp at 100 Hz; chunk `odd_at` has t0 = `odd` (NaN: a chunk without a time)."""

    Params = TimesParams

    def configure(self, in_specs):
        self.i = 0
        self.out_specs = {"out": signal_spec(100.0, ["c0", "c1"], "misc", dtype=self.params.dtype, units="a.u.")}
        return self.out_specs

    def read(self):
        if self.i >= self.params.n_chunks:
            return None
        i, self.i = self.i, self.i + 1
        x = (np.arange(10 * i, 10 * i + 10)[None, :] + 1000 * np.arange(2)[:, None]).astype(self.params.dtype)
        return {"out": Chunk(x, float(self.params.odd) if i == self.params.odd_at else i / 10)}


def _graph(tmp_path, name, params="{}"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"""\
nodes:
  - {{id: src, type: test_runners_probe_session44:OddTimes, params: {params}}}
  - {{id: rec, type: recorder, params: {{path: {tmp_path / name}.npz, chunk_log: true}}}}
edges:
  - {{source: src.out, target: rec.in}}
processes:
  a: [src]
  b: [rec]
"""
    )
    return build_graph(load_config(path))


def test_a_chunk_without_a_time_is_recorded_the_same_in_one_process_and_across_processes(tmp_path):
    """Before: one process passed a chunk whose t0 is NaN on (the nodes place it from the next timed one,
    docs/nodes.md), but the receiver of another process dropped it as a bad frame: 90 of 100 samples, gaps 1,
    rx_rejected_t0 1, rx_seq_missing 1."""
    one = run_graph(_graph(tmp_path, "one"), in_process=True)
    many = run_graph(_graph(tmp_path, "many"), in_process=False)
    assert one.exit_code == many.exit_code == 0, many.failure
    a, b = np.load(tmp_path / "one.npz")["data"], np.load(tmp_path / "many.npz")["data"]
    assert a.shape == (2, 80) and a.tobytes() == b.tobytes()
    for counts in (one.stats["rec"], many.stats["rec"]):
        assert counts["chunks_in"] == 8 and counts["gaps"] == 0
        assert not any(k.startswith("rx_rejected") or k == "rx_seq_missing" for k in counts["counters"])


@pytest.mark.parametrize("in_process", [True, False], ids=["one-process", "processes"])
def test_an_infinite_t0_fails_the_source_naming_it_in_both_runners(tmp_path, in_process):
    """Before: one process passed it (the next chunk then 'went back', counted t0_back); across processes the frame
    was dropped, and so was the source's end of stream, stamped with the same t0: the graph did not drain, and the
    run ended 'aborted', exit 130, after the drain timeout."""
    r = run_graph(_graph(tmp_path, "inf", "{odd: inf}"), in_process=in_process)
    assert r.exit_code == 1 and r.failure is not None
    assert "node 'src'" in r.failure and "OddTimes.read() returned a Chunk on 'out' whose t0 is inf" in r.failure
    assert "float('nan') for a chunk without a time" in r.failure
    assert np.load(tmp_path / "inf.npz")["data"].shape == (2, 30)  # what came before it, in both


def test_a_paced_replay_whose_first_chunk_has_no_time_runs(tmp_path):
    """Before: --speed with a first chunk at t0 NaN was 'ValueError: cannot convert float NaN to integer' out of the
    executor, a traceback that ended the run."""
    r = run_graph(_graph(tmp_path, "paced", "{odd_at: 0, n_chunks: 3}"), in_process=True, speed=1000.0)
    assert r.exit_code == 0, r.failure
    assert np.load(tmp_path / "paced.npz")["data"].shape == (2, 30)


def test_the_wire_carries_a_chunk_without_a_time_and_refuses_an_infinite_one():
    x = np.arange(6.0).reshape(2, 3)
    for frames in (list(wire.encode(Chunk(x, t0=math.nan), 0, 0)), [wire.encode_one(Chunk(x, t0=math.nan), 0, 0)]):
        chunk, _ = wire.decode(frames)
        assert math.isnan(chunk.t0) and chunk.data.tobytes() == x.tobytes()
    assert math.isnan(wire.decode_one(wire.encode_one(Chunk(x, t0=math.nan), 0, 0))[0].t0)
    for t0 in (math.inf, -math.inf):
        with pytest.raises(wire.WireError) as e:
            wire.decode_one(wire.encode_one(Chunk(x, t0=t0), 0, 0))
        assert e.value.reason == "t0"


@pytest.mark.usefixtures("shm_dir")
@pytest.mark.parametrize("kind", ["ipc", "shm"])
def test_chunks_without_a_time_cross_an_edge_in_order_among_timed_ones(kind):
    name = shm.shm_prefix("nan")
    rx_kw, tx_kw = ({"shm": name}, {"shm": name, "shm_min": 1}) if kind == "shm" else ({}, {})
    rx = (shm.ShmEdgeReceiver if kind == "shm" else EdgeReceiver)(ipc_endpoint("nan"), SPEC, maxlen=8, **rx_kw)
    tx = (shm.ShmEdgeSender if kind == "shm" else EdgeSender)(rx.endpoint, SPEC, hwm=8, **tx_kw)
    try:
        assert tx.wait_connected(WAIT)
        times = [0.0, 0.1, math.nan, 0.3, math.nan, math.nan, 0.6]
        got = []
        for i, t0 in enumerate(times):
            assert tx.send(Chunk(np.full((2, 10), float(i)), t0), timeout=WAIT)
            c = rx.recv(timeout=WAIT)
            assert c is not None
            got.append((c.t0, c.gap, float(c.data[0, 0])))
        assert [g[2] for g in got] == list(range(len(times))) and not any(g[1] for g in got)
        assert [math.isnan(g[0]) for g in got] == [math.isnan(t) for t in times]
        assert rx.counters["rejected"] == 0 and rx.counters["seq_missing"] == 0
    finally:
        tx.close()
        rx.close()


@pytest.mark.usefixtures("shm_dir")
def test_a_forged_notification_of_another_ring_geometry_does_not_make_the_edge_drop_every_true_chunk():
    """A ring's file size did not decide its geometry (12 slots of 64 KiB and 1 of 768 KiB fill the same bytes): a
    forged notification naming the other one, before the first true one, had the receiver map the ring that way
    (and unlink its name); it was dropped (shm_state), but every true chunk after it was then dropped too
    ('ref of generation 0 does not match its ring'), for the rest of the run. Now the ring records its geometry and
    the forged one is dropped as shm_segment, the ring unmapped; the true chunks arrive bit for bit."""
    spec = signal_spec(1000.0, [f"ch{i}" for i in range(8)])
    name = shm.shm_prefix("forged")
    rx = shm.ShmEdgeReceiver(ipc_endpoint("forged"), spec, shm=name, maxlen=8)
    tx = shm.ShmEdgeSender(rx.endpoint, spec, shm=name, hwm=8, shm_min=1)
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(rx.endpoint)
    try:
        assert tx.wait_connected(WAIT)
        x = np.random.default_rng(0).standard_normal((8, 1024))  # 64 KiB: one ring slot each
        ring = tx._ring_for(x.nbytes)  # the ring made, as the sender makes it before its first notification
        assert ring is not None and (ring.slots, ring.slot_bytes) == (12, 65536)
        head, _ = wire.encode(Chunk(x), 0, wire.spec_id(spec))
        push.send_multipart([shm._REF.pack(shm.MAGIC, 1, 0, 1, 0, 12 * 65536, x.nbytes), head])
        assert rx.recv(timeout=0.5) is None
        assert rx.counters["rejected"] == 1 and rx.counters["rejected_shm_segment"] == 1
        for i in range(4):
            assert tx.send(Chunk(x + i, t0=i / 1000), timeout=WAIT)
            c = rx.recv(timeout=WAIT)
            assert c is not None and c.data.tobytes() == (x + i).tobytes()
            del c
        assert rx.counters["rejected"] == 1 and rx.counters["shm_received"] == 4
    finally:
        push.close(linger=0)
        ctx.term()
        tx.close()
        rx.close()


def test_a_chunk_that_does_not_fit_its_edge_is_counted_rejected_not_also_missing():
    """Before: a frame that decoded but did not fit the spec (a node returning one channel of two) was counted
    rejected_spec_shape, and again seq_missing at the next chunk, where one process counts it once (rx_rejected):
    the run's summary said a second chunk was lost in transit. The next chunk is still flagged gap."""
    rx = EdgeReceiver(ipc_endpoint("misfit"), SPEC, maxlen=8)
    tx = EdgeSender(rx.endpoint, SPEC, hwm=8)  # (it sends what it is given, as a worker a node's wrong output)
    try:
        assert tx.wait_connected(WAIT)
        sent = [np.zeros((2, 10)), np.zeros((1, 10)), np.ones((2, 10)), np.full((2, 10), 2.0)]
        for x in sent:
            assert tx.send(Chunk(x), timeout=WAIT)
        got = [rx.recv(timeout=WAIT) for _ in range(3)]  # (recv goes past a dropped frame to the next)
        assert [None if c is None else (float(c.data[0, 0]), c.gap) for c in got] == [
            (0.0, False),
            (1.0, True),
            (2.0, False),
        ]
        assert rx.counters["rejected_spec_shape"] == 1 and rx.counters["seq_missing"] == 0
    finally:
        tx.close()
        rx.close()


def test_a_stream_whose_dtype_cannot_cross_processes_is_refused_before_the_run(tmp_path):
    """Before: a source declaring float128 ran in one process; across processes every chunk was dropped at its sender
    (one warning naming an ipc:// path), the recording was empty, and the run exited 0."""
    graph = _graph(tmp_path, "f128", "{dtype: longdouble, odd: '0.3'}")
    with pytest.raises(GraphError) as e:
        run_graph(graph, in_process=False)
    said = str(e.value)
    assert "f128.yaml:5: edge src.out -> rec.in goes from process 'a' to 'b'" in said
    assert "float128 cannot be sent" in said and "place 'src' and 'rec' in one process" in said
    assert run_graph(_graph(tmp_path, "f128", "{dtype: longdouble, odd: '0.3'}"), in_process=True).exit_code == 0


def test_a_chunk_whose_dtype_cannot_be_sent_is_said_with_its_edge_and_the_fix(caplog):
    """Before: 'edge to ipc:///tmp/wg-.../1.ipc: dropped a chunk that cannot be sent', naming no edge nor fix."""
    rx = EdgeReceiver(ipc_endpoint("dtype"), SPEC, maxlen=8)
    tx = EdgeSender(rx.endpoint, SPEC, hwm=8, name="mid.out -> rec.in")
    try:
        assert tx.wait_connected(WAIT)
        with caplog.at_level(logging.WARNING, "wavegraph.transport"):
            assert tx.send(Chunk(np.zeros((2, 10), np.longdouble)), timeout=WAIT)
        assert "edge mid.out -> rec.in: dropped a chunk that cannot be sent" in caplog.text
        assert "fix: make the sending node return the dtype" in caplog.text
        assert tx.counters["rejected_dtype"] == 1
    finally:
        tx.close()
        rx.close()


def test_a_misfit_of_the_old_numbering_is_not_taken_off_a_loss_after_a_sequence_reset():
    """A rejected frame (off its spec) of a sequence number not reached yet was kept to be taken off a later gap; a
    sender restarting at 0 (a seq reset) left it there, and a real loss spanning that number after the reset was
    undercounted by one (review, session 44)."""
    rx = EdgeReceiver(ipc_endpoint("reset"), SPEC, maxlen=8)
    sid = wire.spec_id(SPEC)
    try:
        for seq, x in [(0, np.zeros((2, 10))), (1, np.zeros((2, 10))), (10, np.zeros((1, 10)))]:
            rx._accept(wire.encode_one(Chunk(x, 0.0), seq, sid))  # seq 10: rejected, kept as a misfit
        for seq in (0, 1, 12):  # a restarted sender; 2..11 lost on the way
            rx._accept(wire.encode_one(Chunk(np.zeros((2, 10)), 0.0), seq, sid))
        assert rx.counters["seq_reset"] == 1 and rx.counters["seq_missing"] == 10
    finally:
        rx.close()
