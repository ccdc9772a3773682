"""The per-stream fast paths of an edge (pipeline.transport): a sender that packs only the per-message
fields once a stream's layout is known, a receiver that compares a frame with the last one that passed
every check instead of checking again. What they must keep: the same bytes on the wire as the general
encoder, and the same verdict on every frame as the general decoder. Real sockets, no mocks, no timings.
"""

import struct
import threading
import time

import numpy as np
import pytest
import zmq
from wavegraph.pipeline import shm, wire
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.shm import ShmEdgeReceiver, ShmEdgeSender, shm_prefix
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender, ipc_endpoint

SPEC = signal_spec(250, ["Fz", "Cz"])
SID = wire.spec_id(SPEC)
WAIT_MS = 10000  # only a safety net against hangs
STAMPS = slice(36, 52)  # send_mono_ns, send_wall_ns: taken at encode, so they differ between encodings


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    context.term()


def _without_stamps(frame: bytes) -> bytes:
    return frame[: STAMPS.start] + frame[STAMPS.stop :]


def test_sender_fast_path_sends_what_the_general_encoder_would(ctx):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 8))
    wide = rng.standard_normal((2, 16))
    chunks = [Chunk(x, t0=0.0, origin_ns=5)]
    chunks += [Chunk(rng.standard_normal((2, 8)), t0=0.032 * k, origin_ns=k) for k in range(1, 6)]  # same layout
    chunks += [
        Chunk(x, t0=1.0),  # the same array object again
        Chunk(wide[:, ::2], t0=1.1),  # same shape and dtype, not contiguous: converted
        Chunk(x.astype(">f8"), t0=1.2),  # big-endian: converted
        Chunk(x.astype(np.float32), t0=1.3),  # another dtype
        Chunk(rng.standard_normal((2, 3)), t0=1.4),  # another shape
        Chunk(x, t0=1.5, gap=True),  # a flag
        Chunk(x, t0=1.6),  # back to the first layout
        Chunk(x, t0=1.7, eos=True),
    ]
    pull = ctx.socket(zmq.PULL)
    pull.bind("inproc://fast-tx")
    tx = EdgeSender("inproc://fast-tx", SID, context=ctx)
    try:
        for k, c in enumerate(chunks):
            if k == 6:
                x[0, 0] = 42.0  # the cached layout must never mean cached bytes
            assert tx.send(c)
            assert pull.poll(WAIT_MS)
            frame = pull.recv()
            assert _without_stamps(frame) == _without_stamps(wire.encode_one(c, k, SID))
            got, header = wire.decode_one(frame, None, SID)
            assert header.seq == k and np.array_equal(got.data, np.asarray(c.data))
            assert (got.t0, got.gap, got.eos, got.origin_ns) == (c.t0, c.gap, c.eos, c.origin_ns)
        assert tx._fast is not None  # the stream's layout was cached, so the loop above used it
        assert tx.counters["sent"] == len(chunks)
        tx.seq = 1 << 64  # a seq the header cannot hold: the same error as the general encoder's
        with pytest.raises(wire.WireError) as err:
            tx.send(Chunk(x))
        assert err.value.reason == "range"
    finally:
        tx.close(linger_ms=0)
        pull.close(linger=0)


def _frame(data, seq, sid=SID, **kw) -> bytes:
    return wire.encode_one(Chunk(np.asarray(data), t0=0.5 * seq, origin_ns=100 + seq, **kw), seq, sid)


def _patched(frame: bytes, at: int, value: bytes) -> bytes:
    return frame[:at] + value + frame[at + len(value) :]


BAD_T0 = struct.pack("<d", float("inf"))  # a t0 no frame may have (NaN is a chunk without a time: it passes)


def test_receiver_fast_path_gives_the_general_verdict_on_every_frame(ctx):
    rng = np.random.default_rng(2)
    good = rng.standard_normal((2, 8))
    base = _frame(good, 0)
    # Frames of the cached length that differ from a valid one in a byte the checks look at.
    bad = {
        "magic": _patched(base, 0, b"XGRF"),
        "version": _patched(base, 4, b"\x07"),
        "flags": _patched(base, 5, b"\x80"),
        "spec_id": _frame(good, 0, sid=SID ^ 1),
        "spec_dtype": _frame(good.view(np.int64), 0),  # same size, another dtype
        "spec_shape": _frame(good.reshape(1, 16), 0),  # same size, another shape
        "size_mismatch": _patched(base, wire.HEADER_FIXED_BYTES, (3).to_bytes(8, "little")),
        "t0": _patched(base, 20, BAD_T0),  # per-message field: not in the cached bytes
    }
    push = ctx.socket(zmq.PUSH)
    rx = EdgeReceiver("inproc://fast-rx", SPEC, context=ctx)
    push.connect("inproc://fast-rx")
    sent: list[tuple[bytes, int | None, bool]] = []  # (frame, seq delivered with or None: rejected, gap)
    seq = 0
    for frame in bad.values():
        for _ in range(3):  # valid frames first, so that the fast path holds this layout
            sent.append((_frame(rng.standard_normal((2, 8)), seq), seq, False))
            seq += 1
        sent.append((_patched(frame, 12, seq.to_bytes(8, "little")), None, False))
    sent.append((_frame(good, seq + 3), seq + 3, True))  # a jump in seq: gap, 3 missing
    sent.append((_frame(good, seq + 4, gap=True), seq + 4, True))  # a gap flag
    sent.append((_frame(good, seq + 5), seq + 5, False))
    sent.append((_frame(good, 1), 1, True))  # a step back: gap, counted as a reset
    sent.append((_frame(good, 2, eos=True), 2, False))
    try:
        for frame, _, _ in sent:
            push.send(frame)
        for frame, want, gap in sent:
            if want is None:
                continue
            got = rx.recv(timeout=WAIT_MS / 1000)
            assert got is not None
            ref, ref_header = wire.decode_one(frame, None, SID)
            assert got.seq == want and np.array_equal(got.data, ref.data) and not got.data.flags.writeable
            assert (got.t0, got.origin_ns, got.eos) == (ref.t0, ref.origin_ns, ref.eos)
            assert got.gap == gap
            assert rx.last_header == ref_header
        assert rx._fast is not None  # the valid frames of one layout were taken by the fast path
        counters = rx.counters
        assert counters["rejected"] == len(bad)
        for reason in bad:
            assert counters[f"rejected_{reason}"] == 1, reason
        assert counters["seq_missing"] == 3 and counters["seq_reset"] == 1
        delivered = sum(want is not None for _, want, _ in sent)
        assert counters["received"] == counters["delivered"] == delivered
        assert counters["bytes"] == delivered * good.nbytes
    finally:
        push.close(linger=0)
        rx.close()


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_an_edge_on_the_fast_path_is_bit_identical_end_to_end(policy):
    rng = np.random.default_rng(3)
    chunks = [Chunk(rng.standard_normal((2, 16)), t0=k / 16, origin_ns=k + 1) for k in range(300)]
    chunks.append(Chunk(rng.standard_normal((2, 16)), t0=300 / 16, eos=True))
    with (
        EdgeReceiver(ipc_endpoint("fast"), SPEC, policy=policy, maxlen=len(chunks)) as rx,
        EdgeSender(rx.endpoint, SPEC, policy=policy, hwm=len(chunks)) as tx,
    ):
        assert tx.wait_connected(WAIT_MS / 1000)
        for c in chunks:
            assert tx.send(c, timeout=WAIT_MS / 1000)
        got = []
        while not got or not got[-1].eos:
            c = rx.recv(timeout=WAIT_MS / 1000)
            assert c is not None, rx.counters
            got.append(c)
    assert len(got) == len(chunks)
    for k, (a, b) in enumerate(zip(chunks, got)):
        assert b.seq == k and b.data.tobytes() == a.data.tobytes()
        assert (b.t0, b.origin_ns, b.gap, b.eos) == (a.t0, a.origin_ns, False, a.eos)
    assert rx.counters["rejected"] == rx.counters["seq_missing"] == rx.counters["dropped_oldest"] == 0


# --- a block-policy sender holds chunks while its pipe is full and sends them as one batch ----------
def _fill(tx: EdgeSender, rng, limit: int = 10000) -> list[Chunk]:
    """Send small chunks with a short timeout until one is refused (queues full, held chunks at their
    bound); the chunks accepted, in order."""
    sent = []
    while len(sent) < limit:
        c = Chunk(rng.standard_normal((2, 4)), t0=len(sent) / 64, origin_ns=len(sent) + 1)
        if not tx.send(c, timeout=0.05):
            return sent
        sent.append(c)
    raise AssertionError("the pipe never filled")


def test_a_full_pipe_turns_held_chunks_into_one_batch_of_checked_messages(ctx):
    rng = np.random.default_rng(4)
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 1)
    pull.bind("inproc://batch-raw")
    tx = EdgeSender("inproc://batch-raw", SID, hwm=4, context=ctx, batch=True)
    try:
        sent = _fill(tx, rng)
        assert tx.counters["timeouts"] == 1 and tx.counters["sent"] == len(sent) == tx.seq
        frames = []
        while pull.poll(200):
            frames.append(pull.recv())
        assert tx.flush(WAIT_MS / 1000)  # what was held goes as soon as there is room
        while pull.poll(200):
            frames.append(pull.recv())
    finally:
        tx.close(linger_ms=0)
        pull.close(linger=0)
    batches = [f for f in frames if f.startswith(wire.BATCH_MAGIC)]
    assert len(batches) == 1 and len(frames) < len(sent)
    messages = []
    for f in frames:
        if f.startswith(wire.BATCH_MAGIC):
            count, size = wire.batch_layout(f)
            messages += [f[at : at + size] for at in range(16, 16 + count * size, size)]
        else:
            messages.append(f)
    assert len(messages) == len(sent)
    for k, (c, m) in enumerate(zip(sent, messages)):  # every message in it is a complete, checked one
        got, header = wire.decode_one(m, None, SID)
        assert header.seq == got.seq == k and got.data.tobytes() == c.data.tobytes()
        assert (got.t0, got.origin_ns, got.gap, got.eos) == (c.t0, c.origin_ns, False, False)


@pytest.mark.parametrize("hwm", [1, 64])
@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_a_sender_holds_or_drops_nothing_in_request_response_where_the_pipe_has_room(ctx, hwm, policy):
    """One chunk in flight at a time: the pipe always has room, so a batching sender may hold nothing (a
    held chunk waits for the sender's next turn) and a drop_oldest one may drop nothing. ZeroMQ takes in the
    reader's room notices on send at most about once a millisecond, so a bare NOBLOCK send found this pipe
    "full": a batching sender held about half of 3000 at hwm 1 and 21-23 at hwm 64, a drop_oldest one dropped
    2958-2980 and 1213-1848. The sender must tell that from a pipe that is really full (_send_now). Same thread, inproc:
    a chunk sent is there at once."""
    rx = EdgeReceiver("inproc://pingpong", SPEC, maxlen=hwm, context=ctx)
    tx = EdgeSender("inproc://pingpong", SPEC, hwm=hwm, context=ctx, batch=True, policy=policy)
    x = np.random.default_rng(8).standard_normal((2, 8))
    late = []
    try:
        for k in range(3000):
            tx.send(Chunk(x, t0=float(k)))
            got = rx.recv(timeout=0)
            if got is None:
                late.append(k)
                if policy == "drop_oldest":
                    continue
                assert tx.flush(WAIT_MS / 1000)
                got = rx.recv(timeout=WAIT_MS / 1000)
            assert got is not None and got.seq == k
    finally:
        tx.close(linger_ms=0)
        rx.close()
    assert late == [], f"{len(late)} of 3000 chunks were held or dropped with room in the pipe (first at {late[:5]})"
    assert tx.counters["dropped_full"] == 0 and tx.counters["sent"] == 3000


def test_a_sender_without_batch_never_holds_a_chunk_it_said_it_sent(ctx):
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 1)
    pull.bind("inproc://nobatch")
    tx = EdgeSender("inproc://nobatch", SID, hwm=4, context=ctx)  # the default: batch=False
    try:
        sent = _fill(tx, np.random.default_rng(9))  # True only once a chunk is in ZeroMQ's queue
        frames = []
        while pull.poll(200):
            frames.append(pull.recv())
    finally:
        tx.close(linger_ms=0)
        pull.close(linger=0)
    assert len(frames) == len(sent) and not any(f.startswith(wire.BATCH_MAGIC) for f in frames)
    assert [wire.decode_one(f, None, SID)[1].seq for f in frames] == list(range(len(sent)))


def test_held_chunks_reach_the_receiver_in_order_before_what_follows(ctx):
    rng = np.random.default_rng(5)
    rx = EdgeReceiver("inproc://batch-rx", SPEC, maxlen=2, context=ctx)
    tx = EdgeSender("inproc://batch-rx", SPEC, hwm=2, context=ctx, batch=True)
    try:
        sent = _fill(tx, rng)
        after = [
            Chunk(rng.standard_normal((2, 9)), t0=100.0),  # another layout: the held ones go first
            Chunk(rng.standard_normal((2, 4)), t0=101.0, gap=True),
            Chunk(rng.standard_normal((2, 4)), t0=102.0, eos=True),
        ]
        got = []
        for c in after:
            while not tx.send(c, timeout=0.05):  # each waits until the receiver made room
                got.append(rx.recv(timeout=WAIT_MS / 1000))
        while not got or got[-1] is None or not got[-1].eos:
            got.append(rx.recv(timeout=WAIT_MS / 1000))
        header = rx.last_header
    finally:
        tx.close(linger_ms=0)
        rx.close()
    want = sent + after
    assert len(got) == len(want) and all(c is not None for c in got)
    for k, (a, b) in enumerate(zip(want, got)):
        assert b is not None and b.seq == k and b.data.tobytes() == a.data.tobytes()
        assert (b.t0, b.origin_ns, b.gap, b.eos) == (a.t0, a.origin_ns, a.gap, a.eos)
    assert header is not None and header.seq == len(want) - 1 and header.spec_id == SID
    assert rx.counters["received"] == len(want) and rx.counters["rejected"] == rx.counters["seq_missing"] == 0


@pytest.mark.parametrize("linger_ms", [WAIT_MS, -1], ids=["linger", "forever"])
def test_close_sends_what_is_held(ctx, linger_ms):
    rng = np.random.default_rng(6)
    rx = EdgeReceiver("inproc://batch-close", SPEC, maxlen=1, context=ctx)
    tx = EdgeSender("inproc://batch-close", SPEC, hwm=1, context=ctx, batch=True)
    sent = _fill(tx, rng)
    # closed while the pipe is still full: close waits (up to the linger) for room to send what it holds;
    # -1 is ZeroMQ's "wait for ever" (it used to drop the held chunks)
    closing = threading.Thread(target=tx.close, kwargs={"linger_ms": int(linger_ms)})
    closing.start()
    time.sleep(0.3)  # let close() find the pipe full (the result must not depend on it)
    got = []
    try:
        while len(got) < len(sent) and (chunk := rx.recv(timeout=2.0)) is not None:
            got.append(chunk)
    finally:
        closing.join(WAIT_MS / 1000)
        rx.close()
    assert [c.seq for c in got] == list(range(len(sent)))


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_a_bad_batch_is_dropped_whole_and_a_bad_message_in_one_alone(ctx, policy):
    rng = np.random.default_rng(7)
    frames = [_frame(rng.standard_normal((2, 8)), k) for k in range(6)]
    bad = _patched(frames[2], 0, b"XGRF")  # one message of the batch with a wrong magic
    jump = _frame(rng.standard_normal((2, 8)), 9)  # and one after a seq jump
    push = ctx.socket(zmq.PUSH)
    rx = EdgeReceiver("inproc://batch-bad", SPEC, policy=policy, context=ctx)  # drop_oldest: its thread unbatches
    push.connect("inproc://batch-bad")
    try:
        push.send(wire.encode_batch(frames[:2]))
        push.send(wire.encode_batch(frames[2:4])[:-1])  # truncated container: dropped whole
        push.send(wire.encode_batch([frames[2], bad, frames[3], jump, frames[4]]))
        got = [rx.recv(timeout=WAIT_MS / 1000) for _ in range(6)]
        assert rx.recv(timeout=0.2) is None
        header = rx.last_header
        # A message of the cached layout, next in order, with an infinite t0: the batch loop hands it to the full check.
        push.send(
            wire.encode_batch([frames[5], _patched(_frame(rng.standard_normal((2, 8)), 6), 20, BAD_T0), frames[5]])
        )
        got_nan = [rx.recv(timeout=WAIT_MS / 1000) for _ in range(2)]
    finally:
        push.close(linger=0)
        rx.close()
    assert [(c.seq, c.gap) for c in got if c is not None] == [
        (0, False),
        (1, False),
        (2, False),
        (3, False),
        (9, True),
        (4, True),
    ]
    assert header is not None and header.seq == 4 and header.spec_id == SID
    counters = rx.counters
    assert [(c.seq, c.gap) for c in got_nan if c is not None] == [(5, False), (5, True)]
    assert counters["rejected_batch"] == 1 and counters["rejected_magic"] == 1 and counters["rejected_t0"] == 1
    assert counters["rejected"] == 3
    assert counters["seq_missing"] == 5 and counters["seq_reset"] == 2  # 4-8 missing, then 4 and 5 step back


def test_shm_notifications_in_one_frame_are_checked_and_a_bad_one_dropped_whole(ctx):
    rng = np.random.default_rng(8)
    name = shm_prefix("fastpath")
    rx = ShmEdgeReceiver("inproc://shm-one", SPEC, shm=name, context=ctx)
    tx = ShmEdgeSender("inproc://shm-one", SPEC, shm=name, shm_min=1, context=ctx)
    push = ctx.socket(zmq.PUSH)
    push.connect("inproc://shm-one")
    x = rng.standard_normal((2, 64))
    try:
        assert tx.send(Chunk(x, t0=1.0), timeout=WAIT_MS / 1000)
        first = rx.recv(timeout=WAIT_MS / 1000)
        assert first is not None and first.data.tobytes() == x.tobytes() and rx.counters["shm_received"] == 1
        ring = tx._ring
        assert ring is not None
        head, _ = wire.encode(Chunk(x), 1, SID)
        out_of_range = shm._REF.pack(shm.MAGIC, 1, 0, ring.slots, ring.slots, ring.slot_bytes, x.nbytes)
        push.send_multipart([out_of_range + head, b"stray part"])  # dropped whole: the stray part too
        not_full = shm._REF.pack(shm.MAGIC, 1, 0, ring.slots, ring.slots - 1, ring.slot_bytes, x.nbytes)
        push.send(not_full + head)
        assert rx.recv(timeout=0.5) is None
        assert tx.send(Chunk(x + 1, t0=2.0), timeout=WAIT_MS / 1000)
        second = rx.recv(timeout=WAIT_MS / 1000)
        assert second is not None and second.seq == 1 and second.data.tobytes() == (x + 1).tobytes()
        assert first.data.tobytes() == x.tobytes()  # still held zero-copy, never overwritten
        # Notifications for a slot the test fills itself, once the stream's layout is cached: a header
        # of another shape (same size) is rejected as the full check rejects it; a jump in seq is a gap.
        slot = ring.acquire()
        start = ring.offset + slot * ring.slot_bytes
        ref = shm._REF.pack(shm.MAGIC, 1, 0, ring.slots, slot, ring.slot_bytes, x.nbytes)
        ring.mm[start : start + x.nbytes] = (x + 2).tobytes()
        ring.mm[slot] = 1
        push.send(ref + wire.encode(Chunk(x.reshape(1, -1)), 2, SID)[0])
        assert rx.recv(timeout=0.5) is None and ring.mm[slot] == 0  # rejected, and its slot freed
        ring.mm[slot] = 1
        ring.mm[slot] = 1
        push.send(ref + wire.encode(Chunk(x + 2, t0=float("inf")), 2, SID)[0])  # next in order, t0 not finite
        assert rx.recv(timeout=0.5) is None and ring.mm[slot] == 0
        ring.mm[slot] = 1
        push.send(ref + wire.encode(Chunk(x + 2, t0=3.0), 5, SID)[0])
        third = rx.recv(timeout=WAIT_MS / 1000)
        assert third is not None and (third.seq, third.gap, third.t0) == (5, True, 3.0)
        assert third.data.tobytes() == (x + 2).tobytes() and not third.data.flags.writeable
    finally:
        push.close(linger=0)
        tx.close(linger_ms=0)
        rx.close()
    counters = rx.counters
    assert counters["rejected"] == 4 and counters["rejected_shm_ref"] == 1 and counters["rejected_shm_state"] == 1
    assert counters["rejected_spec_shape"] == 1 and counters["rejected_t0"] == 1
    # seq 2 came and was rejected (spec_shape: counted there, not missing too), 3 and 4 are missing
    assert counters["shm_received"] == 3 and counters["seq_missing"] == 2
