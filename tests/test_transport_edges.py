"""Live ZeroMQ edges: real PUSH/PULL sockets over ipc:// and tcp:// loopback, no mocks.

Waits below use generous timeouts only so a broken build fails instead of hanging; nothing asserts
on time.
"""

import logging
import os
import struct
import threading
import time

import numpy as np
import pytest
import zmq
from wavegraph.pipeline import wire
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import (
    EdgeReceiver,
    EdgeSender,
    free_tcp_port,
    ipc_endpoint,
    normalize_endpoint,
    tcp_endpoint,
)

SPEC = signal_spec(250, ["Fz", "Cz"])
WAIT = 10.0  # seconds; only a safety net against hangs


def endpoints():
    return {"ipc": ipc_endpoint("test"), "tcp": tcp_endpoint()}


def recv_all(rx, until_eos=True, limit=100000):
    out = []
    for _ in range(limit):
        c = rx.recv(timeout=WAIT)
        assert c is not None, f"nothing arrived within {WAIT}s; counters {rx.counters}"
        out.append(c)
        if c.eos and until_eos:
            return out
    return out


def wait_for(pred, what):
    deadline = time.monotonic() + WAIT
    while not pred():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


@pytest.fixture
def raw_push():
    ctx = zmq.Context()
    socks = []

    def make(endpoint):
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 2000)
        s.connect(endpoint)
        socks.append(s)
        return s

    yield make
    for s in socks:
        s.close()
    ctx.term()


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_round_trip_of_dtypes_shapes_and_flags(transport):
    chunks = [
        Chunk(np.arange(12.0).reshape(2, 6), t0=0.5, origin_ns=99),
        Chunk(np.arange(-6, 6, dtype=np.int16).reshape(2, 6), t0=1.0, gap=True),
        Chunk((np.arange(8) * (1 - 2j)).astype(np.complex64).reshape(2, 4), t0=2.0),
        Chunk(np.array(3.25), t0=3.0),  # 0-d
        Chunk(np.zeros((2, 0), dtype=np.uint8), t0=4.0),  # empty
        Chunk(np.random.default_rng(0).standard_normal((2, 40000)), t0=5.0),  # zero-copy path
        Chunk(np.array([True, False]), t0=6.0, eos=True),  # eos may carry data
    ]
    sid = wire.spec_id(SPEC)  # an id only: these chunks do not fit SPEC's shape and dtype
    with EdgeReceiver(endpoints()[transport], sid) as rx, EdgeSender(rx.endpoint, sid) as tx:
        for c in chunks:
            assert tx.send(c)
        got = recv_all(rx)
    assert len(got) == len(chunks)
    for i, (a, b) in enumerate(zip(chunks, got)):
        assert b.seq == i and b.data.dtype == a.data.dtype and b.data.shape == a.data.shape
        assert np.array_equal(a.data, b.data)
        assert (b.t0, b.gap, b.eos, b.origin_ns) == (a.t0, a.gap, a.eos, a.origin_ns)
    header = rx.last_header
    assert header is not None and header.spec_id == wire.spec_id(SPEC) and header.seq == len(chunks) - 1
    assert rx.counters["received"] == rx.counters["delivered"] == len(chunks)
    assert rx.counters["seq_missing"] == rx.counters["rejected"] == 0
    assert tx.counters["sent"] == len(chunks)


def test_seq_jumps_set_gap_and_count_missing(raw_push):
    with EdgeReceiver(ipc_endpoint(), SPEC) as rx:
        push = raw_push(rx.endpoint)
        sid = wire.spec_id(SPEC)
        for seq in (0, 1, 2, 5, 6, 3):  # 3 and 4 lost, then a sender restart from an older seq
            push.send_multipart(wire.encode(Chunk(np.zeros((2, 1)), t0=seq, eos=(seq == 3)), seq, sid))
        got = recv_all(rx)
    assert [c.seq for c in got] == [0, 1, 2, 5, 6, 3]
    assert [c.gap for c in got] == [False, False, False, True, False, True]
    assert rx.counters["seq_missing"] == 2 and rx.counters["seq_reset"] == 1


def test_drop_oldest_keeps_the_newest_and_counts_drops():
    with (
        EdgeReceiver(ipc_endpoint(), SPEC, policy="drop_oldest", maxlen=4) as rx,
        EdgeSender(rx.endpoint, SPEC, policy="drop_oldest") as tx,
    ):
        for i in range(50):
            tx.send(Chunk(np.full((2, 3), float(i)), t0=float(i)))
        tx.send(Chunk.end(t0=50.0))
        wait_for(lambda: rx.counters["received"] == 51, "all frames to reach the receiver thread")
        got = recv_all(rx)
    assert [c.seq for c in got] == [47, 48, 49, 50]
    assert [c.gap for c in got] == [True, False, False, False] and got[-1].eos
    assert [c.data[0, 0] for c in got[:3]] == [47.0, 48.0, 49.0]
    assert rx.counters["dropped_oldest"] == 47 and rx.counters["delivered"] == 4
    assert rx.counters["seq_missing"] == 0 and tx.counters["dropped_full"] == 0


def test_drop_oldest_never_drops_end_of_stream():
    with (
        EdgeReceiver(ipc_endpoint(), SPEC, policy="drop_oldest", maxlen=1) as rx,
        EdgeSender(rx.endpoint, SPEC, policy="drop_oldest") as tx,
    ):
        tx.send(Chunk(np.zeros((2, 1))))
        tx.send(Chunk.end(t0=1.0))
        tx.send(Chunk(np.ones((2, 1)), t0=2.0))
        tx.send(Chunk(np.ones((2, 1)), t0=3.0))
        wait_for(lambda: rx.counters["received"] == 4, "four frames")
        first, last = rx.recv(timeout=WAIT), rx.recv(timeout=WAIT)
        assert rx.recv(timeout=0) is None
    assert first is not None and last is not None
    assert first.eos and first.seq == 1 and first.gap
    assert last.seq == 3 and last.gap and not last.eos
    assert rx.counters["dropped_oldest"] == 2


def test_drop_oldest_sender_drops_when_the_receiver_stalls_and_the_gap_shows():
    # A block-policy receiver that nobody reads stands for a stalled process: the pipe fills up.
    payload = np.zeros((2, 65536))  # 1 MiB: OS socket buffers cannot hide 40 of them
    with (
        EdgeReceiver(ipc_endpoint(), SPEC, maxlen=1) as rx,
        EdgeSender(rx.endpoint, SPEC, policy="drop_oldest", hwm=1) as tx,
    ):
        sent = [tx.send(Chunk(payload, t0=float(i))) for i in range(40)]
        assert not all(sent) and tx.counters["dropped_full"] == sent.count(False)
        eos_sender = threading.Thread(target=tx.send, args=(Chunk.end(t0=40.0),))
        eos_sender.start()  # end-of-stream waits for room instead of being dropped
        got = recv_all(rx)
        eos_sender.join()
    assert got[-1].eos and got[-1].seq == 40
    assert [c.seq for c in got[:-1]] == [i for i, ok in enumerate(sent) if ok]
    assert rx.counters["seq_missing"] == tx.counters["dropped_full"]
    assert any(c.gap for c in got)


def test_block_policy_applies_back_pressure_and_loses_nothing():
    n = 300
    with EdgeReceiver(ipc_endpoint(), SPEC, maxlen=2) as rx, EdgeSender(rx.endpoint, SPEC, hwm=2) as tx:
        # With nobody reading, a send with a timeout eventually finds the queues full.
        big = np.zeros((2, 65536))
        k = 0
        while tx.send(Chunk(big, t0=float(k)), timeout=0.2):
            k += 1
            assert k < 1000, "back-pressure never happened"
        assert tx.counters["timeouts"] == 1 and tx.seq == k  # the refused chunk did not use a seq

        def produce():
            for i in range(n):
                tx.send(Chunk(np.full((2, 1024), float(i)), t0=float(i)))
            tx.send(Chunk.end(t0=float(n)))

        producer = threading.Thread(target=produce)
        producer.start()
        got = recv_all(rx)
        producer.join()
    assert [c.seq for c in got] == list(range(k + n + 1))
    assert not any(c.gap for c in got)
    assert [c.data[0, 0] for c in got[k:-1]] == [float(i) for i in range(n)]
    assert rx.counters["seq_missing"] == 0 and tx.counters["dropped_full"] == 0


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_close_lingers_so_end_of_stream_arrives(transport):
    rx = EdgeReceiver(endpoints()[transport], SPEC, maxlen=64)
    tx = EdgeSender(rx.endpoint, SPEC, linger_ms=5000)
    for i in range(10):
        tx.send(Chunk(np.full((2, 20000), float(i)), t0=float(i)))
    tx.send(Chunk.end(t0=10.0))
    tx.close()  # before anything is read
    try:
        got = recv_all(rx)
    finally:
        rx.close()
    assert len(got) == 11 and got[-1].eos and got[-1].seq == 10


def _garbage(rng, head, body):
    """Malformed messages of every kind, including random ones."""
    h = bytearray(head)
    bad_version = bytes(h[:4]) + b"\x09" + bytes(h[5:])
    bad_dtype = bytes(h[:6]) + b"\xee" + bytes(h[7:])
    yield "frame_count", [b"hello"]
    yield "frame_count", [head, body, b"extra"]
    yield "truncated", [head[:10], body]
    yield "magic", [b"NOPE" + head[4:], body]
    yield "version", [bad_version, body]
    yield "dtype", [bad_dtype, body]
    yield "size_mismatch", [head, body[:-1]]
    yield "oversized", list(wire.encode(Chunk(np.zeros((2, 1000))), 0, wire.spec_id(SPEC)))
    yield "spec_id", list(wire.encode(Chunk(np.zeros((2, 4))), 0, wire.spec_id(SPEC) ^ 1))
    empty_head, _ = wire.encode(Chunk(np.zeros((0, 3))), 0, wire.spec_id(SPEC))
    yield "shape", [bytes(empty_head[:52]) + struct.pack("<2Q", 0, 2**63), b""]  # numpy refuses the shape
    for _ in range(100):
        frames = [rng.bytes(int(rng.integers(0, 120))) for _ in range(int(rng.integers(1, 4)))]
        yield None, frames


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_malformed_frames_are_dropped_counted_logged_once_and_the_edge_survives(policy, raw_push, caplog):
    rng = np.random.default_rng(1)
    sid = wire.spec_id(SPEC)
    head, body = wire.encode(Chunk(np.ones((2, 4))), 0, sid)
    head, body = bytes(head), bytes(body)
    with (
        caplog.at_level(logging.WARNING, logger="wavegraph.transport"),
        EdgeReceiver(ipc_endpoint(), SPEC, policy=policy, max_bytes=4096) as rx,
    ):
        push = raw_push(rx.endpoint)
        expected = {}
        for _ in range(2):  # twice, to check each reason is logged only once
            for reason, frames in _garbage(rng, head, body):
                push.send_multipart(frames)
                if reason:
                    expected[reason] = expected.get(reason, 0) + 1
        good = np.arange(8.0).reshape(2, 4)
        push.send_multipart(wire.encode(Chunk(good, t0=7.0, eos=True), 0, sid))
        got = rx.recv(timeout=WAIT)
    assert got is not None and got.eos and np.array_equal(got.data, good) and got.t0 == 7.0
    assert rx.counters["rejected"] == 2 * (10 + 100) and rx.counters["received"] == 1
    for reason, n in expected.items():
        assert rx.counters[f"rejected_{reason}"] >= n, reason
    reasons_logged = [r.getMessage() for r in caplog.records if r.name == "wavegraph.transport"]
    assert len(reasons_logged) == len([k for k in rx.counters if k.startswith("rejected_")])
    assert len(reasons_logged) == len(set(reasons_logged))


def test_endpoint_helpers():
    assert normalize_endpoint("tcp://:5555") == "tcp://127.0.0.1:5555"
    assert normalize_endpoint("tcp://10.0.0.2:5555") == "tcp://10.0.0.2:5555"
    assert tcp_endpoint(7000) == "tcp://127.0.0.1:7000"
    for bad in ("udp://x:1", "tcp://127.0.0.1", "localhost:5555", "ipc://"):
        with pytest.raises(ValueError):
            normalize_endpoint(bad)
    a, b = ipc_endpoint("x" * 100), ipc_endpoint("x" * 100)
    assert a != b and len(a) - len("ipc://") < 107
    port = free_tcp_port()
    with EdgeReceiver(f"tcp://:{port}", None) as rx:
        assert rx.endpoint == f"tcp://127.0.0.1:{port}"
    with EdgeReceiver("tcp://:*", None) as rx:
        assert rx.endpoint.startswith("tcp://127.0.0.1:") and not rx.endpoint.endswith("*")
    ep = ipc_endpoint()
    rx = EdgeReceiver(ep, None)
    assert os.path.exists(ep[len("ipc://") :])
    rx.close()
    assert not os.path.exists(ep[len("ipc://") :])
    with pytest.raises(ValueError, match="policy"):
        EdgeReceiver(ipc_endpoint(), None, policy="drop_newest")


def test_sender_can_bind_and_receiver_connect():
    with EdgeSender("tcp://:*", SPEC, bind=True) as tx, EdgeReceiver(tx.endpoint, SPEC, bind=False) as rx:
        tx.send(Chunk(np.ones((2, 2)), eos=True))
        got = rx.recv(timeout=WAIT)
    assert got is not None and got.eos and got.data.sum() == 4.0


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_a_malformed_multipart_message_read_as_one_frame_is_dropped_whole(policy, raw_push):
    """A header frame with stray bytes looks like a one-frame message (_read): when it is rejected, the
    rest of its message must go with it, not be read as the next messages (here a valid chunk)."""
    sid = wire.spec_id(SPEC)
    head, _ = wire.encode(Chunk(np.ones((2, 4))), 0, sid)
    smuggled = wire.encode_one(Chunk(np.full((2, 4), 9.0)), 1, sid)
    with EdgeReceiver(ipc_endpoint(), SPEC, policy=policy) as rx:
        push = raw_push(rx.endpoint)
        push.send_multipart([bytes(head) + b"\x00" * 8, smuggled, b"tail"])
        good = np.arange(8.0).reshape(2, 4)
        push.send_multipart(wire.encode(Chunk(good, t0=7.0), 2, sid))
        got = rx.recv(timeout=WAIT)
        assert got is not None and np.array_equal(got.data, good) and got.t0 == 7.0
        assert rx.recv(timeout=0.2) is None
    assert rx.counters["rejected"] == 1 and rx.counters["rejected_size_mismatch"] == 1
    assert rx.counters["received"] == 1
