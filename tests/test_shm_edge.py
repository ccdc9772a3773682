"""Shared-memory edges (pipeline/shm.py): real rings in a private shm folder, real sockets, real worker
processes. Waits use generous timeouts only so a broken build fails instead of hanging."""

import contextlib
import gc
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zmq
from test_runtime_multiprocess import eeg_graph, ramp_graph  # pyright: ignore[reportMissingImports]
from wavegraph.pipeline import shm, shm_receiver, wire
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import ipc_endpoint
from wavegraph.pipeline.worker import _merge_transport
from wavegraph.pipeline.worker_plans import make_plans

SPEC = signal_spec(1000.0, [f"ch{i}" for i in range(8)])
WAIT = 10.0
pytestmark = pytest.mark.usefixtures("shm_dir")  # a private segment folder (conftest)


def edge(policy="block", queue=8, shm_min=1, zero_copy=True):
    name = shm.shm_prefix("test")
    rx = shm.ShmEdgeReceiver(ipc_endpoint("shm"), SPEC, shm=name, policy=policy, maxlen=queue, zero_copy=zero_copy)
    tx = shm.ShmEdgeSender(rx.endpoint, SPEC, shm=name, policy=policy, hwm=queue, shm_min=shm_min)
    assert tx.wait_connected(WAIT)
    return tx, rx


@contextlib.contextmanager
def edge_with_forger():
    """An edge and a PUSH socket of a forger connected to its receiver (sends raw notifications)."""
    tx, rx = edge()
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(rx.endpoint)
    try:
        yield tx, rx, push
    finally:
        push.close(linger=0)
        ctx.term()
        tx.close()
        rx.close()


def signal_of(n, seed=0):
    return np.random.default_rng(seed).standard_normal((8, n))


def test_payloads_arrive_bit_identical_as_read_only_views_of_the_ring(shm_dir):
    tx, rx = edge()
    try:
        sent = [signal_of(n, n) for n in (1, 100, 4096, 20000, 3)]  # 6.4 KiB, 256 KiB, 1.3 MB: larger generations
        for i, x in enumerate(sent):
            assert tx.send(Chunk(x, t0=i * 0.5, gap=i == 2, origin_ns=7 + i), timeout=WAIT)
        got = [rx.recv(timeout=WAIT) for _ in sent]
        for i, (x, c) in enumerate(zip(sent, got)):
            assert c is not None and c.data.tobytes() == x.tobytes() and c.data.shape == x.shape
            assert (c.t0, c.seq, c.gap, c.origin_ns) == (i * 0.5, i, i == 2, 7 + i)
            assert not c.data.flags.writeable and not c.data.flags.owndata  # a view, no copy
        assert rx.counters["shm_received"] == 5 and rx.counters["shm_copied"] == 0
        assert tx.counters["shm_sent"] == 5 and tx._gen == 3
        assert os.listdir(shm_dir) == []  # the receiver unlinked each ring's name once mapped
    finally:
        tx.close()
        rx.close()


def test_a_slot_is_freed_when_the_last_view_of_it_goes_and_keeping_nodes_get_copies():
    tx, rx = edge(queue=4)  # 8 slots
    try:
        x = signal_of(64)
        kept = []
        for i in range(6):
            assert tx.send(Chunk(x + i), timeout=WAIT)
            c = rx.recv(timeout=WAIT)
            assert c is not None
            kept.append(c.data[:, 10:20])  # a slice keeps the whole slot
        ring = tx._ring
        assert ring is not None
        # Half the ring referenced: from the fifth chunk on, payloads were copied and their slots freed.
        assert rx.counters["shm_copied"] == 2 and ring.mm[: ring.slots].count(1) == 4
        for i, k in enumerate(kept):
            np.testing.assert_array_equal(k, x[:, 10:20] + i)  # kept views were never overwritten
        del kept, c, k
        gc.collect()
        assert ring.mm[: ring.slots].count(1) == 0  # every slot free again
        for i in range(20):  # and the ring is reused
            assert tx.send(Chunk(x - i), timeout=WAIT)
            c = rx.recv(timeout=WAIT)
            assert c is not None and c.data.tobytes() == (x - i).tobytes()
    finally:
        tx.close()
        rx.close()


def test_small_payloads_go_whole_in_the_lane_and_larger_ones_through_the_ring():
    tx, rx = edge(shm_min=shm.SHM_MIN_BYTES)
    try:
        for n in (4, 64, shm.SHM_MIN_BYTES // 64):  # 256 B, 4 KiB (whole in the lane, or inline), exactly 64 KiB
            assert tx.send(Chunk(signal_of(n)), timeout=WAIT)
            c = rx.recv(timeout=WAIT)
            assert c is not None and c.data.tobytes() == signal_of(n).tobytes()
        assert tx.counters["sent"] == 3 and tx.counters["shm_sent"] == 1
    finally:
        tx.close()
        rx.close()


def test_block_policy_waits_for_a_slot_and_a_gone_consumer_only_times_out():
    tx, rx = edge(queue=2)  # 6 slots; the receiver never reads
    x = signal_of(64)
    sent = 0
    while tx.send(Chunk(x), timeout=0.2):
        sent += 1
        assert sent < 1000
    assert sent == 6 and tx.counters["timeouts"] == 1  # the ring was the bound, nothing dropped
    held = [rx.recv(timeout=WAIT) for _ in range(2)]
    del held
    gc.collect()
    assert tx.send(Chunk(x), timeout=WAIT)  # freed slots are used again
    rx.close()  # the consumer is gone: the producer gets timeouts, never a hang
    t = time.monotonic()
    results = [tx.send(Chunk(x), timeout=0.2) for _ in range(3)]  # one slot was still free
    assert results[-1] is False and time.monotonic() - t < WAIT
    tx.close(linger_ms=0)


def test_drop_oldest_drops_at_the_sender_when_the_ring_is_full():
    tx, rx = edge(policy="drop_oldest", queue=2)
    try:
        x = signal_of(64)
        results = [tx.send(Chunk(x + i)) for i in range(40)]
        assert not all(results) and tx.counters["dropped_full"] == results.count(False)
        assert tx.send(Chunk.end(), timeout=WAIT)
        got = []
        while True:
            c = rx.recv(timeout=WAIT)
            assert c is not None
            if c.eos:
                break
            got.append(c.seq)
        assert got == sorted(got) and rx.counters["seq_missing"] + rx.counters["dropped_oldest"] > 0
    finally:
        tx.close()
        rx.close()


@pytest.mark.parametrize(
    ("name", "reason"),
    [("magic", "shm_ref"), ("slot", "shm_ref"), ("generation", "shm_segment"), ("state", "shm_state")],
)
def test_bad_refs_are_dropped_counted_and_the_edge_survives(name, reason):
    with edge_with_forger() as (tx, rx, push):
        x = signal_of(64)
        assert tx.send(Chunk(x), timeout=WAIT)
        assert rx.recv(timeout=WAIT) is not None  # the ring exists and is mapped
        head, _ = wire.encode(Chunk(x), 1, wire.spec_id(SPEC))
        ring = tx._ring
        assert ring is not None
        fields = dict(magic=shm.MAGIC, gen=0, slot=0)
        fields.update({"magic": b"XXXX"} if name == "magic" else {})
        fields.update({"slot": ring.slots} if name == "slot" else {})
        fields.update({"gen": 7} if name == "generation" else {})
        ref = shm._REF.pack(fields["magic"], 1, fields["gen"], ring.slots, fields["slot"], ring.slot_bytes, x.nbytes)
        push.send_multipart([ref, head])  # "state": slot 0 is free, not full
        assert rx.recv(timeout=0.5) is None
        assert rx.counters["rejected"] == 1 and rx.counters[f"rejected_{reason}"] == 1
        stats = {"drops": 0, "counters": {}}
        _merge_transport(stats, rx.counters, receiving=True)  # as the run's summary gets them (docs/yaml.md)
        assert stats["counters"]["rx_rejected"] == 1 and stats["counters"][f"rx_rejected_{reason}"] == 1
        assert tx.send(Chunk(x + 1), timeout=WAIT)
        c = rx.recv(timeout=WAIT)
        assert c is not None and c.data.tobytes() == (x + 1).tobytes()


def test_graph_transport_keys_choose_each_edge(tmp_path):
    def senders(cfg):
        plans = make_plans(build_graph(load_config(cfg)), None, "ipc://x", str(tmp_path / "wg-1-abc"))
        return {s.edge: s for p in plans.values() for s in p.senders}

    cfg = eeg_graph(tmp_path, "keys", "auto")
    auto = senders(cfg)
    assert all(s.shm.startswith("wg-1-abc-") and s.shm_min == shm.SHM_MIN_BYTES for s in auto.values())
    text = cfg.read_text().replace(
        "{source: src.out, target: bp.in}", "{source: src.out, target: bp.in, transport: ipc}"
    )
    cfg.write_text(
        text.replace("{source: notch.out, target: rec.in}", "{source: notch.out, target: rec.in, transport: shm}")
    )
    keyed = senders(cfg)
    assert keyed["src.out -> bp.in"].shm == ""  # forced ipc
    assert keyed["notch.out -> rec.in"].shm and keyed["notch.out -> rec.in"].shm_min == 1  # forced shm: every payload
    cfg.write_text(text.replace("transport: ipc}", "transport: shmem}"))
    with pytest.raises(GraphError, match="edge transport 'shmem'.*use auto, shm, ipc or tcp"):
        load_config(cfg)


def test_a_graph_over_shm_records_exactly_what_it_records_over_ipc(tmp_path, shm_dir):
    a = eeg_graph(tmp_path, "over_ipc", "ipc")
    b = eeg_graph(tmp_path, "over_shm", "shm")
    r1 = run_graph(build_graph(load_config(a)), in_process=False)
    r2 = run_graph(build_graph(load_config(b)), in_process=False)
    assert r1.exit_code == 0 and r2.exit_code == 0, r2.failure
    x1 = np.load(tmp_path / "over_ipc.npz")["data"]
    x2 = np.load(tmp_path / "over_shm.npz")["data"]
    assert x1.shape == (64, 9760) and x1.tobytes() == x2.tobytes()
    assert "rx_shm_received" not in r1.stats["bp"]["counters"]
    assert r2.stats["bp"]["counters"]["rx_shm_received"] == 425  # every data chunk went through the ring
    assert r2.stats["rec"]["counters"]["rx_shm_received"] == 425
    assert os.listdir(shm_dir) == []


def test_by_default_large_chunks_cross_processes_through_the_ring(tmp_path, shm_dir):
    cfg = ramp_graph(tmp_path, n=40000)  # no transport key: auto
    cfg.write_text(cfg.read_text().replace("chunk_size: 10,", "chunk_size: 5000,"))  # 2 x 5000 float64: 80 KB
    r = run_graph(build_graph(load_config(cfg)))
    assert r.exit_code == 0, r.failure
    data = np.load(tmp_path / "ramp.npz")["data"]
    np.testing.assert_array_equal(data[0], np.cumsum(np.arange(40000.0)))
    np.testing.assert_array_equal(data[1], np.cumsum(np.arange(40000.0) + 1000.0))
    assert r.stats["acc"]["counters"]["rx_shm_received"] == 8  # 8 chunks of 80 KB, none inline
    assert r.stats["rec"]["counters"]["rx_shm_received"] == 8
    assert os.listdir(shm_dir) == []


def _children(pid: int) -> dict[int, str]:
    out = {}
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rpartition(")")[2].split()[1]) == pid:
                    with open(f"/proc/{d}/cmdline") as g:
                        out[int(d)] = g.read()
        except (OSError, ValueError):  # gone meanwhile, or not a process
            pass
    return out


def test_kill_9_of_the_consumer_never_wedges_the_producer_and_leaves_no_segment(tmp_path, shm_dir):
    cfg = ramp_graph(tmp_path, n=400000)
    text = cfg.read_text().replace("params: {crash_at: -1}", "params: {crash_at: -1, delay_s: 0.02}")
    cfg.write_text("transport: shm\n" + text)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        consumer = None
        deadline = time.monotonic() + 60
        while consumer is None and time.monotonic() < deadline:
            consumer = next((p for p, cmd in _children(proc.pid).items() if cmd.endswith("b.json\0")), None)
            time.sleep(0.05)
        assert consumer is not None, "the consumer's worker did not start"
        time.sleep(1.0)  # the ring fills: the consumer is slow
        os.kill(consumer, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)  # a wedged producer would hang here
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "process 'b' exited with code -9 without reporting" in err
    assert os.listdir(shm_dir) == []


def test_segments_of_a_dead_run_are_removed_by_the_next_one(tmp_path, shm_dir):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = os.path.join(shm_dir, f"wg-{int(dead.stdout)}-0123456789-0-g0")
    live = os.path.join(shm_dir, f"wg-{os.getpid()}-0123456789-0-g0")  # a run still going: kept
    for path in (stale, live):
        with open(path, "wb") as f:
            f.write(b"\0" * 4096)
    r = run_graph(build_graph(load_config(ramp_graph(tmp_path))))
    assert r.exit_code == 0, r.failure
    assert os.listdir(shm_dir) == [os.path.basename(live)]


def test_one_frame_messages_either_decode_consistently_or_raise_wire_error():
    # The one-frame form (header + payload, under 16 KiB) that every edge now uses for small chunks.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    good = wire.encode_one(Chunk(x, t0=2.0, gap=True), 7, 9)
    c, header = wire.decode_one(good, None, 9)
    assert c.data.tobytes() == x.tobytes() and (c.t0, c.seq, c.gap, header.spec_id) == (2.0, 7, True, 9)
    assert not c.data.flags.writeable
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(5000):
        b = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            b = b[: int(rng.integers(0, len(b) + 1))]
        try:
            got, _ = wire.decode_one(bytes(b), 4096)
        except wire.WireError:
            outcomes["rejected"] += 1
            continue
        outcomes["ok"] += 1
        assert got.data.nbytes == len(b) - (52 + 8 * got.data.ndim)
    assert outcomes["ok"] > 0 and outcomes["rejected"] > 0


def test_a_second_ref_to_a_slot_still_held_is_dropped_and_the_held_view_stays_intact():
    """A duplicate or forged notification for a slot a node still holds must not be obeyed: were it
    accepted, its view's death would free the slot under the first view and the sender would overwrite it."""
    with edge_with_forger() as (tx, rx, push):
        x = signal_of(64)
        assert tx.send(Chunk(x), timeout=WAIT)
        first = rx.recv(timeout=WAIT)
        assert first is not None and rx.counters["shm_copied"] == 0  # held zero-copy: slot 0 stays full
        ring = tx._ring
        assert ring is not None and ring.mm[0] == 1
        head, _ = wire.encode(Chunk(x), 1, wire.spec_id(SPEC))
        push.send_multipart([shm._REF.pack(shm.MAGIC, 1, 0, ring.slots, 0, ring.slot_bytes, x.nbytes), head])
        assert rx.recv(timeout=0.5) is None
        assert rx.counters["rejected"] == 1 and rx.counters["rejected_shm_state"] == 1
        gc.collect()
        assert ring.mm[0] == 1  # still held by the first view
        for i in range(1, 2 * ring.slots):  # the sender goes round the ring: slot 0 is never reused
            assert tx.send(Chunk(x + i), timeout=WAIT)
            c = rx.recv(timeout=WAIT)
            assert c is not None and c.data.tobytes() == (x + i).tobytes()
            del c
        assert first.data.tobytes() == x.tobytes()


@pytest.mark.parametrize("finished", [True, False])
def test_a_notification_ahead_of_its_payload_waits_for_it_or_is_dropped(finished, monkeypatch):
    """NOTIFY_FIRST: the notification may arrive while the sender still copies (state `writing`). The
    receiver waits for the state byte to say full and then reads the whole payload; a slot never
    finished (a sender killed mid-copy) is dropped after WRITE_WAIT_S as shm_state, and the edge goes on."""
    import threading

    monkeypatch.setattr(shm_receiver, "WRITE_WAIT_S", 0.3)  # (the receiving end's module)
    with edge_with_forger() as (tx, rx, push):
        x = signal_of(64)
        assert tx.send(Chunk(x), timeout=WAIT)
        first = rx.recv(timeout=WAIT)
        assert first is not None
        del first
        gc.collect()  # slot 0 free again
        ring = tx._ring
        assert ring is not None and ring.mm[0] == 0
        y = x + 1
        ring.mm[0] = 2  # writing
        head, body = wire.encode(Chunk(y), 1, wire.spec_id(SPEC))
        start = ring.offset

        def finish():
            time.sleep(0.1)
            ring.mm[start : start + len(body)] = body
            ring.mm[0] = 1

        writer = threading.Thread(target=finish)
        if finished:
            writer.start()
        push.send(shm._REF.pack(shm.MAGIC, 1, 0, ring.slots, 0, ring.slot_bytes, y.nbytes) + head)
        got = rx.recv(timeout=WAIT if finished else 1.0)
        if finished:
            writer.join()
            assert got is not None and got.data.tobytes() == y.tobytes() and rx.counters["rejected"] == 0
            tx.seq = 2  # the forged chunk took seq 1
            del got
        else:
            assert got is None and rx.counters["rejected_shm_state"] == 1
            ring.mm[0] = 0  # the abandoned slot: free it as a restarted sender's new ring would
            tx.seq = 1
        gc.collect()
        assert tx.send(Chunk(x + 2), timeout=WAIT)
        c = rx.recv(timeout=WAIT)
        assert c is not None and c.data.tobytes() == (x + 2).tobytes()
