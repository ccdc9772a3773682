"""The lane of a shared-memory edge (pipeline/lane.py, used by pipeline/shm.py on x86): messages in order
in shared memory with a doorbell, and the hand-over to ZeroMQ. Real rings, real FIFOs, real sockets."""

import contextlib
import gc
import os
import threading
import time

import numpy as np
import pytest
from wavegraph.pipeline import lane as lanes
from wavegraph.pipeline import shm
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import ipc_endpoint

SPEC = signal_spec(1000.0, [f"ch{i}" for i in range(8)])
WAIT = 10.0
pytestmark = [
    pytest.mark.skipif(not shm.NOTIFY_FIRST, reason="the lane is used on x86 only"),
    pytest.mark.usefixtures("shm_dir"),  # a private segment folder (conftest)
]


def receiver(name, policy="block", queue=8):
    return shm.ShmEdgeReceiver(ipc_endpoint("lane"), SPEC, shm=name, policy=policy, maxlen=queue)


def sender(rx, name, policy="block", queue=8, shm_min=shm.SHM_MIN_BYTES):
    tx = shm.ShmEdgeSender(rx.endpoint, SPEC, shm=name, policy=policy, hwm=queue, shm_min=shm_min)
    assert tx.wait_connected(WAIT)
    return tx


@contextlib.contextmanager
def lane_edge(tag, policy="block", queue=8, hwm=8, linger_ms=None):
    """A lane edge, its receiver made first as the runner makes them: (tx, rx), both closed after the block."""
    name = shm.shm_prefix(tag)
    rx = receiver(name, policy, queue)
    tx = sender(rx, name, policy, hwm)
    try:
        yield tx, rx
    finally:
        tx.close(linger_ms)
        rx.close()


def signal_of(n, seed=0):
    return np.random.default_rng(seed).standard_normal((8, n))


def test_messages_of_every_size_arrive_in_order_through_the_lane_alone(shm_dir):
    with lane_edge("order", queue=4, hwm=4) as (tx, rx):
        assert tx._lane is not None and rx._lane is not None
        assert os.listdir(shm_dir) == []  # the sender unlinked the lane's names once it held them
        sizes = [int(n) for n in np.random.default_rng(1).choice([0, 1, 4, 30, 100, 500, 1024, 16384], 300)]
        got = []
        lane, taken = rx._lane, []
        take = lane.take
        lane.take = lambda: taken.append(m := take()) or m  # count what the lane delivers

        def read():
            while True:
                c = rx.recv(timeout=WAIT)
                assert c is not None
                got.append(c)
                if c.eos:
                    return

        reader = threading.Thread(target=read)
        reader.start()
        for i, n in enumerate(sizes):  # 0 B .. 1 MiB: whole in the lane (1 to 7 blocks), through the ring
            assert tx.send(Chunk(signal_of(n, i), t0=float(i)), timeout=WAIT)
        assert tx.send(Chunk.end(), timeout=WAIT)
        reader.join(WAIT)
        assert [c.seq for c in got[:-1]] == list(range(len(sizes))) and got[-1].eos
        for i, (n, c) in enumerate(zip(sizes, got)):
            assert c.t0 == float(i) and not c.gap and c.data.tobytes() == signal_of(n, i).tobytes()
        assert sum(m is not None for m in taken) == len(got)  # every message came through the lane
        assert rx.counters["rejected"] == 0
        whole = [n * 64 + 68 <= lanes.MESSAGE_BLOCKS * lanes.BLOCK_BYTES for n in sizes]  # payload + 2-D header
        assert tx.counters["shm_sent"] == whole.count(False) and 0 < whole.count(True) < len(sizes)


def test_a_full_lane_is_back_pressure_for_block_and_a_drop_for_drop_oldest():
    name = shm.shm_prefix("full")
    rx = receiver(name, queue=2)  # the receiver does not read yet
    tx = sender(rx, name)
    x = signal_of(1)
    sent = 0
    while tx.send(Chunk(x), timeout=0.05):
        sent += 1
        assert sent < 1000
    blocks = (2 + lanes.LANE_SLACK) * lanes.BLOCKS_PER_MESSAGE  # a 64 B chunk takes one block
    assert sent == blocks and tx.counters["timeouts"] == 1 and tx.seq == sent  # nothing lost
    assert rx.recv(timeout=WAIT) is not None
    assert tx.send(Chunk(x), timeout=WAIT)  # the entry read is used again
    tx.close()
    rx.close()

    with lane_edge("drop", policy="drop_oldest", queue=2) as (tx, rx):
        results = [tx.send(Chunk(x + i)) for i in range(2000)]
        assert tx.counters["dropped_full"] == results.count(False) and tx.seq == 2000
        assert tx.send(Chunk.end(), timeout=WAIT)
        seqs = []
        while True:
            c = rx.recv(timeout=WAIT)
            assert c is not None
            if c.eos:
                break
            seqs.append(c.seq)
        assert seqs == sorted(seqs) and len(seqs) < 2000  # dropped ones are gaps, never reordered


def test_a_receiver_waiting_on_the_bell_sleeps_and_wakes_for_a_message():
    with lane_edge("bell") as (tx, rx):
        lane, looks = rx._lane, []
        assert lane is not None
        ready = lane.ready
        lane.ready = lambda: looks.append(1) or ready()  # count the receiver's looks at the lane
        assert rx.recv(timeout=0.5) is None
        assert len(looks) < 20  # it slept on the bell; spinning for 0.5 s it looks thousands of times
        lane.ready = ready
        got = []
        waiter = threading.Thread(target=lambda: got.append(rx.recv()))  # no timeout: only the bell wakes it
        waiter.start()
        time.sleep(0.2)
        assert tx.send(Chunk(signal_of(2)), timeout=WAIT)
        waiter.join(WAIT)
        assert not waiter.is_alive() and got[0].data.tobytes() == signal_of(2).tobytes()


def test_when_no_ring_can_be_made_the_sender_moves_to_zeromq_after_the_lane_is_read(monkeypatch):
    with lane_edge("fallback") as (tx, rx):
        for i in range(3):
            assert tx.send(Chunk(signal_of(1, i)), timeout=WAIT)

        def no_ring(*a, **k):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(shm, "Ring", no_ring)
        big = signal_of(4096, 9)
        assert not tx.send(Chunk(big), timeout=0.2)  # the lane still holds 3 unread messages: it waits
        assert tx.counters["timeouts"] == 1 and tx._lane is not None
        got = []
        reader = threading.Thread(target=lambda: got.extend(rx.recv(timeout=WAIT) for _ in range(6)))
        reader.start()
        assert tx.send(Chunk(big), timeout=WAIT)  # once they are read: over ZeroMQ, inline
        assert tx._lane is None and tx.counters["shm_fallback"] == 1
        assert tx.send(Chunk(signal_of(1, 5)), timeout=WAIT) and tx.send(Chunk(big + 1), timeout=WAIT)
        reader.join(WAIT)
        assert [c.seq for c in got] == list(range(6)) and not any(c.gap for c in got)
        assert got[3].data.tobytes() == big.tobytes() and got[5].data.tobytes() == (big + 1).tobytes()


def test_a_sender_that_finds_no_lane_goes_over_zeromq_and_a_restarted_one_follows_the_lane():
    name = shm.shm_prefix("restart")
    rx = receiver(name)
    first = sender(rx, name)
    try:
        for i in range(3):
            assert first.send(Chunk(signal_of(1, i)), timeout=WAIT)
        first.close()  # its messages stay in the lane, unread
        second = sender(rx, name)  # a restarted sender: the lane's names are gone
        assert second._lane is None
        for i in range(3, 5):
            assert second.send(Chunk(signal_of(1, i)), timeout=WAIT)
        got = [rx.recv(timeout=WAIT) for _ in range(5)]
        assert [c.data.tobytes() for c in got] == [signal_of(1, i).tobytes() for i in range(5)]  # pyright: ignore[reportOptionalMemberAccess]
        assert [c.seq for c in got] == [0, 1, 2, 0, 1] and got[3].gap and rx.counters["seq_reset"] == 1  # pyright: ignore[reportOptionalMemberAccess]
        second.close()
    finally:
        rx.close()


def test_a_sender_reconnected_to_a_restarted_receiver_uses_its_new_lane(shm_dir):
    name = shm.shm_prefix("moved")
    rx = receiver(name)
    tx = sender(rx, name)
    try:
        assert tx.send(Chunk(signal_of(1)), timeout=WAIT) and rx.recv(timeout=WAIT) is not None
        rx.close()
        rx = receiver(name)  # same edge, new process: a new lane under the same names
        tx.reconnect(rx.endpoint)
        x = signal_of(3000, 2)
        assert tx.send(Chunk(x), timeout=WAIT)
        c = rx.recv(timeout=WAIT)
        assert c is not None and c.data.tobytes() == x.tobytes() and tx._lane is not None
        assert os.listdir(shm_dir) == []
    finally:
        tx.close()
        rx.close()


def test_a_bad_lane_entry_is_dropped_and_counted_and_the_edge_goes_on():
    with lane_edge("bad") as (tx, rx):
        assert tx.send(Chunk(signal_of(1)), timeout=WAIT)
        lane = tx._lane
        assert lane is not None
        lane._len[0] = 100_000  # the first message's length, out of range
        assert rx.recv(timeout=0.5) is None
        assert rx.counters["rejected"] == 1 and rx.counters["rejected_lane"] == 1
        assert tx.send(Chunk(signal_of(1, 1)), timeout=WAIT)
        c = rx.recv(timeout=WAIT)
        assert c is not None and c.data.tobytes() == signal_of(1, 1).tobytes() and c.gap  # seq 0 was lost


def test_lane_names_are_removed_by_their_receiver_and_after_a_dead_run(shm_dir):
    name = shm.shm_prefix("names")
    rx = receiver(name)
    assert sorted(os.listdir(shm_dir)) == [f"{name}-bell", f"{name}-lane", f"{name}-room"]  # no sender came
    rx.close()
    assert os.listdir(shm_dir) == []
    dead = shm.shm_prefix("x", run_id="wg-999999999-abc")  # a pid that cannot exist
    lane = lanes.Lane.create(shm_dir, dead, 4)
    lane.close()
    gc.collect()
    assert shm.remove_stale_segments() == 3 and os.listdir(shm_dir) == []


def test_a_batching_sender_packs_small_chunks_once_its_receiver_is_behind_and_they_arrive_in_order():
    name = shm.shm_prefix("batch")
    rx = receiver(name, queue=2)  # the receiver does not read until the lane is full
    tx = shm.ShmEdgeSender(rx.endpoint, SPEC, shm=name, hwm=8, batch=True)  # as the worker makes it
    try:
        assert tx.wait_connected(WAIT)
        n = 0
        while tx.send(Chunk(signal_of(1, n)), timeout=0.05):
            n += 1
            assert n < 100_000
        blocks = (2 + lanes.LANE_SLACK) * lanes.BLOCKS_PER_MESSAGE  # one 64 B chunk alone takes a block
        assert n > 2 * blocks and tx.counters["timeouts"] == 1  # batches of 8 share blocks
        got = []
        reader = threading.Thread(target=lambda: got.extend(rx.recv(timeout=WAIT) for _ in range(n + 1)))
        reader.start()
        assert tx.send(Chunk.end(), timeout=WAIT)  # after the held ones
        reader.join(WAIT)
        assert [c.seq for c in got] == list(range(n + 1)) and got[-1].eos and not tx._held
        assert all(c.data.tobytes() == signal_of(1, i).tobytes() for i, c in enumerate(got[:-1]))
        assert rx.counters["rejected"] == 0 and rx.counters["seq_missing"] == 0
    finally:
        tx.close()
        rx.close()


def test_the_lane_wraps_skips_and_never_writes_over_an_unread_message(shm_dir):
    """Messages of 1 B to a quarter of the lane, written while room() says so and read in random
    bursts: every one comes out whole and in order, across many wraps of the lane."""
    rx_end = lanes.Lane.create(shm_dir, "wgtest-wrap", 8)  # (8 + 64) x 8 blocks
    tx_end = lanes.Lane.open(shm_dir, "wgtest-wrap")
    assert tx_end is not None and tx_end.capacity == lanes.MESSAGE_BLOCKS * lanes.BLOCK_BYTES
    rng = np.random.default_rng(5)
    sent, got, refused = [], [], 0
    for _ in range(3000):
        n = int(rng.choice([1, 100, lanes.BLOCK_BYTES, lanes.BLOCK_BYTES + 1, 5000, tx_end.capacity]))
        message = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        if tx_end.room(n):
            tx_end.put(message)
            sent.append(message)
        else:
            refused += 1
        for _ in range(int(rng.integers(0, 2))):  # half a read per write: it fills
            m = rx_end.take()
            if m is not None:
                got.append(m)
    while (m := rx_end.take()) is not None:
        got.append(m)
    assert got == sent and refused > 0 and tx_end.drained()
    tx_end.close()
    rx_end.close()


@pytest.mark.parametrize("forged", ["cont", "junk", "bad_skip", "skip_without_its_blocks", "empty", "run_of_cont"])
def test_states_no_sender_writes_are_dropped_counted_and_the_edge_goes_on(forged):
    """Another process writes into the lane where the receiver reads next (a lane quiet so far, or
    one with a message waiting): the block is dropped and counted, never read as a message nor left
    to stop the edge, and the messages after it arrive in order."""
    with lane_edge("forged") as (tx, rx):
        for i in range(3):
            assert tx.send(Chunk(signal_of(1, i)), timeout=WAIT) and rx.recv(timeout=WAIT) is not None
        lane = tx._lane
        assert lane is not None
        at, mm, s = lane.index, lane.mm, lanes.HEADER_BYTES
        state, length = {
            "cont": (3, 64),
            "junk": (0x7F, 64),
            "bad_skip": (2, 5),
            "skip_without_its_blocks": (2, lane.blocks - at),  # the right length, no blocks marked skipped
            "empty": (1, 0),
            "run_of_cont": (3, 64),
        }[forged]
        lost = forged == "run_of_cont"  # a 3-block message waiting, its first state overwritten
        if lost:
            assert tx.send(Chunk(signal_of(40, 3)), timeout=WAIT) and lane.index == at + 3
        else:
            lane._len[at] = length
        mm[s + at] = state
        assert rx.recv(timeout=0.2) is None
        assert rx.counters["rejected_lane"] == 1
        for i in range(3 + lost, 3 + 2 * lane.blocks):  # twice round the lane: no message out of order
            assert tx.send(Chunk(signal_of(1, i)), timeout=WAIT)
            c = rx.recv(timeout=WAIT)
            assert c is not None and c.seq == i and c.data.tobytes() == signal_of(1, i).tobytes()
        assert rx.counters["rejected"] == 1 and rx.counters["seq_missing"] == lost


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_a_receiver_waiting_for_ever_wakes_for_every_message(policy):
    """recv() without a timeout, against a sender that pauses at random (so the receiver goes to sleep
    on the bell between messages, and the sender rings while it is on its way there): every message
    arrives, in order (a lost wake-up would leave the receiver asleep with a message in the lane)."""
    name = shm.shm_prefix("wake")
    rx = receiver(name, policy=policy, queue=4000)  # drop_oldest: a queue that drops nothing here
    tx = sender(rx, name, policy=policy)
    n, got = 3000, []

    def read():
        while not (c := rx.recv()).eos:
            got.append(c.seq)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        rng = np.random.default_rng(3)
        pauses = rng.choice([0.0, 0.0, 0.0, 20e-6, 200e-6, 2e-3], n)
        for i in range(n):
            assert tx.send(Chunk(signal_of(1, i)), timeout=WAIT)
            if pauses[i]:
                time.sleep(pauses[i])
        assert tx.send(Chunk.end(), timeout=WAIT)
        reader.join(WAIT * 3)
        assert not reader.is_alive(), f"the receiver sleeps after {len(got)} of {n} messages"
        assert got == list(range(n))
    finally:
        tx.close()
        rx.close()


def test_drop_oldest_never_waits_for_the_lane_to_drain_when_no_ring_can_be_made(monkeypatch):
    """No ring for a large chunk (a full /dev/shm): the sender may move to ZeroMQ only once the lane is
    read. A drop_oldest sender drops the chunk instead of waiting for that (it waited for ever, as the
    worker sends drop_oldest chunks without a timeout: a consumer that was stalled or dead hung it)."""
    name = shm.shm_prefix("nodrain")
    rx = receiver(name, policy="drop_oldest")
    tx = sender(rx, name, policy="drop_oldest")
    rx._stop.set()  # the receiver's thread stops reading: a stalled consumer
    assert rx._thread is not None
    rx._thread.join(WAIT)
    try:
        assert tx.send(Chunk(signal_of(1)))
        monkeypatch.setattr(shm, "Ring", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left")))
        results = []
        t = threading.Thread(target=lambda: results.append(tx.send(Chunk(signal_of(4096, 1)))), daemon=True)
        t.start()
        t.join(WAIT)
        assert results == [False], "send() waited for a consumer that does not read"
        assert tx.counters["dropped_full"] == 1 and tx.seq == 2 and tx.counters["timeouts"] == 0
    finally:
        tx.close(linger_ms=0)
        rx.close()


def test_a_sender_waiting_for_room_sleeps_after_its_receiver_is_gone():
    """The receiver's end closed (its process killed) while the lane is full: the sender waiting for
    room sleeps on the room bell as before, and does not spin (the bell, read-only, had no writer left:
    poll() said 'hung up' at once, every time: a core spent until the run stopped or the receiver's
    process was restarted)."""
    with lane_edge("gone", queue=2, hwm=2, linger_ms=0) as (tx, rx):
        while tx.send(Chunk(signal_of(1)), timeout=0):
            pass
        rx.close()  # its bells' ends closed, as the kernel closes them for a killed process
        lane, looks = tx._lane, []
        assert lane is not None
        room = lane.room
        lane.room = lambda nbytes: looks.append(1) or room(nbytes)  # count the sender's looks for room
        assert not tx.send(Chunk(signal_of(1)), timeout=1.0)
        # it slept on the room bell (0.1 s at a time, a 50 us spin before each): some hundreds of looks;
        # woken at once by a hung-up bell, it looked millions of times in that second
        assert len(looks) < 20_000
