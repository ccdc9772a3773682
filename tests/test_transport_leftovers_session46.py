"""Transport leftovers (session 46): shm.py and executor.py split (their names still importable from the old place);
a send without a timeout ends with a clear error instead of waiting for ever when the receiver refuses the sender's
CURVE handshake or, on a shared-memory edge, is gone; the receivers' public wait interface (pipeline.wait_inputs)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import zmq
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.curve import EdgeSecurity, make_keys
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender, ipc_endpoint

WAIT = 30.0  # a bound for what must happen, never a timing asserted
SPEC = signal_spec(100.0, ["a"])
EDGE = "src.out -> bp.in"


def test_the_split_modules_names_are_importable_from_the_old_places():
    from wavegraph.pipeline import executor, node_stats, shm, shm_receiver

    assert shm.ShmEdgeReceiver is shm_receiver.ShmEdgeReceiver and executor.NodeStats is node_stats.NodeStats
    for name in ("MAGIC", "VERSION", "REF_BYTES", "NOTIFY_FIRST", "WRITE_WAIT_S", "_REF", "ShmEdgeSender"):
        assert hasattr(shm, name), name


def _in_thread(fn):
    """Run fn() in a daemon thread for at most WAIT s: ('ok', value), ('raised', exception) or ('hung', None)."""
    out = []

    def run():
        try:
            out.append(("ok", fn()))
        except Exception as e:  # noqa: BLE001 - what the test looks at
            out.append(("raised", e))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(WAIT)
    return out[0] if out else ("hung", None)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    for name in ("server", "client", "other"):
        make_keys(str(folder / name))
    return folder


@pytest.mark.parametrize("sender_keys", ["another server key", "a client key not accepted", "no CURVE"])
def test_a_send_without_timeout_to_a_receiver_that_refuses_the_handshake_raises_naming_the_cause(keys, sender_keys):
    """A direct API user's send() (no timeout, block policy) queued `hwm` chunks and then waited for ever: the receiver
    refused every handshake (libzmq retries one it closed for ever, and a refused key or mechanism not at all). Now it
    raises EdgeUnreachable naming the cause and the key files to check; close() does not linger on what cannot go."""
    from wavegraph.pipeline.transport import EdgeUnreachable

    base = str(keys)
    ctx = zmq.Context()
    good = EdgeSecurity({"server_key": "server.key_secret", "client_key": "client.key_secret"}, base, "process 'b'")
    rx = EdgeReceiver("tcp://127.0.0.1:*", SPEC, context=ctx, name=EDGE, secure=good.hook("tcp://:*", EDGE, ctx, True))
    security = {
        "another server key": {"server_key": "other.key", "client_key": "client.key_secret"},
        "a client key not accepted": {"server_key": "server.key", "client_key": "other.key_secret"},
        "no CURVE": None,
    }[sender_keys]
    hook = security and EdgeSecurity(security, base, "process 'a'").hook(rx.endpoint, EDGE, ctx, False)
    tx = EdgeSender(rx.endpoint, SPEC, hwm=4, secure=hook, name=EDGE)  # (its own context: close() terms it)
    try:
        got = _in_thread(lambda: [tx.send(Chunk(np.ones((1, 4)), 0.04 * i)) for i in range(50)])
        assert got[0] == "raised", f"send() without a timeout {got[0]}: {got[1]}"
        error = got[1]
        assert isinstance(error, EdgeUnreachable) and isinstance(error, ConnectionError)
        said = str(error)
        assert EDGE in said and "refused this sender's handshake" in said and "wait for ever" in said
        if sender_keys == "another server key":
            assert "another server key" in said and str(keys / "other.key") in said
        elif sender_keys == "a client key not accepted":
            assert "client key" in said and str(keys / "other.key_secret") in said
        else:
            assert "require" in said and "CURVE" in said  # (the mismatch said, or each handshake closed)
        assert not tx.connected and tx.refusals
        assert rx.recv(timeout=0) is None  # nothing from it reached the graph
    finally:
        assert _in_thread(lambda: tx.close(linger_ms=-1))[0] == "ok"  # (its queued chunks' linger: for ever, before)
        rx.close()
        good.stop()
        ctx.term()


def test_a_send_without_timeout_to_a_receiver_that_accepts_still_waits_for_room_and_delivers(keys):
    """The refusal check is only for a sender whose handshake never succeeded: a good one blocks for room as before
    (here, its receiver reads after the pipe filled) and every chunk arrives in order."""
    base = str(keys)
    ctx = zmq.Context()
    good = EdgeSecurity({"server_key": "server.key_secret", "client_key": "client.key_secret"}, base, "process 'b'")
    rx = EdgeReceiver(
        "tcp://127.0.0.1:*", SPEC, context=ctx, name=EDGE, maxlen=2, secure=good.hook("tcp://:*", EDGE, ctx, True)
    )
    hook = EdgeSecurity(good.security, base, "process 'a'").hook(rx.endpoint, EDGE, ctx, False)
    tx = EdgeSender(rx.endpoint, SPEC, context=ctx, hwm=2, secure=hook, name=EDGE)
    try:
        n = 400  # more than both queues and the socket buffers hold: send() waits for the reader
        sender = threading.Thread(
            target=lambda: [tx.send(Chunk(np.full((1, 4), float(i)), 0.04 * i)) for i in range(n)]
        )
        sender.start()
        got = [rx.recv(timeout=WAIT) for _ in range(n)]
        sender.join(WAIT)
        assert not sender.is_alive()
        assert [c.data[0, 0] for c in got if c is not None] == list(range(n))
    finally:
        tx.close()
        rx.close()
        good.stop()
        ctx.term()


@pytest.mark.usefixtures("shm_dir")
@pytest.mark.parametrize("what", ["send", "flush"])
def test_a_shared_memory_send_without_timeout_raises_once_its_receiver_is_gone(what):
    """A shared-memory edge's sender waiting for room in the lane (no timeout) waited for ever once its receiver was
    gone (closed, or its process ended: nobody frees the lane's blocks, and a restarted receiver makes a lane of its
    own). It now raises EdgeUnreachable saying so; with a timeout it returns False as before."""
    from wavegraph.pipeline import shm
    from wavegraph.pipeline.transport import EdgeUnreachable

    if not shm.NOTIFY_FIRST:
        pytest.skip("the lane is used on x86 only")
    name = shm.shm_prefix("gone")
    rx = shm.ShmEdgeReceiver(ipc_endpoint("gone"), SPEC, shm=name, maxlen=1)
    tx = shm.ShmEdgeSender(rx.endpoint, SPEC, shm=name, hwm=1, linger_ms=0, batch=what == "flush")
    try:
        assert tx.wait_connected(WAIT) and tx._lane is not None
        x = np.zeros((1, 200))
        while tx.send(Chunk(x, 0.0), timeout=0):  # fill the lane: its receiver reads nothing
            pass
        assert bool(tx._held) == (what == "flush")  # a batching sender holds what found no room
        rx.close()
        assert not tx.send(Chunk(x, 0.0), timeout=0.05) and tx.counters["timeouts"]  # a timed send: False
        got = _in_thread(lambda: tx.flush() if what == "flush" else tx.send(Chunk(x, 0.0)))
        assert got[0] == "raised", f"{what}() without a timeout {got[0]}: {got[1]}"
        assert isinstance(got[1], EdgeUnreachable) and "receiver is gone" in str(got[1])
    finally:
        tx.close(linger_ms=0)
        rx.close()


# --- the receivers' wait interface (pipeline.wait_inputs) -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["zmq", "shm", "drop_oldest"])
def test_receivers_say_what_a_wait_on_several_inputs_polls(kind, shm_dir):
    """wait_inputs read the receivers' private fields (_backlog, _queue, _thread, _sock, _lane); they now answer
    has_pending(), wait_handles() and end_wait(): the socket (and a lane's bell, armed then disarmed), [] for a
    drop_oldest receiver (its thread reads the socket), None for a message in the lane now."""
    from wavegraph.pipeline import shm
    from wavegraph.pipeline.wait_inputs import wait_any

    name = shm.shm_prefix("wh")
    if kind == "shm":
        if not shm.NOTIFY_FIRST:
            pytest.skip("the lane is used on x86 only")
        rx = shm.ShmEdgeReceiver(ipc_endpoint("wh"), SPEC, shm=name)
        tx = shm.ShmEdgeSender(rx.endpoint, SPEC, shm=name)
    else:
        policy = "drop_oldest" if kind == "drop_oldest" else "block"
        rx = EdgeReceiver(ipc_endpoint("wh"), SPEC, policy=policy)
        tx = EdgeSender(rx.endpoint, SPEC, policy=policy, batch=True)
    try:
        assert tx.wait_connected(WAIT)
        assert not rx.has_pending()
        handles = rx.wait_handles()
        rx.end_wait()
        if kind == "drop_oldest":
            assert handles == []
        else:
            assert handles is not None and rx._sock in handles
            assert (len(handles) == 2) == (kind == "shm")
            if kind == "shm":
                assert rx._lane is not None and not rx._lane.mm[16]  # (WAITING) disarmed again
        tx.send(Chunk(np.ones((1, 4)), 0.0))
        tx.flush()
        wait_any([rx], WAIT)  # (a hang here is the failure)
        if kind == "shm":
            assert rx.wait_handles() is None  # a message in the lane now: nothing to wait for
        elif kind == "drop_oldest":
            for _ in range(15000):  # its thread queues it (wait_any: 2 ms at a time)
                if rx.has_pending():
                    break
                wait_any([rx], 0.01)
            assert rx.has_pending()
        got = rx.recv(timeout=WAIT)
        assert got is not None and got.data.tolist() == [[1.0] * 4]
        assert not rx.has_pending()
    finally:
        tx.close()
        rx.close()


def test_a_wait_on_drop_oldest_inputs_only_waits_instead_of_returning_at_once(monkeypatch):
    """A worker whose open inputs were all drop_oldest receivers (no socket to poll: their threads read them) called
    wait_any on an empty poll, which returns at once: its idle loop spun a core. It now sleeps up to DROP_OLDEST_S a
    time, as with a socket beside them (the sleeps are recorded, not timed)."""
    import types

    from wavegraph.pipeline import wait_inputs
    from wavegraph.pipeline.wait_inputs import DROP_OLDEST_S, wait_any

    slept: list[float] = []
    monkeypatch.setattr(wait_inputs, "time", types.SimpleNamespace(sleep=slept.append))
    rxs = [EdgeReceiver(ipc_endpoint(f"d{i}"), SPEC, policy="drop_oldest") for i in range(2)]
    try:
        for _ in range(20):
            wait_any(rxs, 10.0)
        assert slept == [DROP_OLDEST_S] * 20  # (it returned at once, without a wait)
    finally:
        for rx in rxs:
            rx.close()


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "5e3", "\uff15\uff15"])
def test_a_tcp_endpoint_whose_port_is_not_a_port_is_refused_before_any_socket(port):
    """libzmq took port 99999 as 34463 (its low 16 bits) and 65536 as 0, so a receiver bound to whatever port was free
    (or another process's port), and its sender, given the number, never found it. Now a clear ValueError."""
    from wavegraph.pipeline.endpoints import normalize_endpoint

    with pytest.raises(ValueError, match="is not a TCP port"):
        EdgeReceiver(f"tcp://127.0.0.1:{port}", SPEC)
    with pytest.raises(ValueError, match="is not a TCP port"):
        EdgeSender(f"tcp://127.0.0.1:{port}", SPEC)
    for good in ("tcp://127.0.0.1:*", "tcp://127.0.0.1:0", "tcp://:65535", "tcp://[::1]:5555"):
        assert normalize_endpoint(good).startswith("tcp://")
