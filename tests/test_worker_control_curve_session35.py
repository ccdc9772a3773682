"""The worker's control link (pipeline/worker_control.py) under CURVE: a key the parent's control socket refuses ends
the worker's run with the cause named, instead of its control thread blocking forever on a send (session 34 found a
DEALER whose handshake was refused has no connection left to send on); an accepted key's messages arrive in order."""

import threading
import time

import pytest
import zmq
from wavegraph.pipeline import curve
from wavegraph.pipeline.curve import EdgeSecurity, make_keys
from wavegraph.pipeline.placement import RayLauncher
from wavegraph.pipeline.plan import Heartbeat, WorkerPlan, decode, encode
from wavegraph.pipeline.stop_flag import StopFlag
from wavegraph.pipeline.worker_control import ControlLink


@pytest.fixture
def parent(tmp_path):
    """The parent's control socket as a Ray run binds it (a CURVE server accepting the graph's client_key), the
    key pairs, and the context; closed afterwards."""
    keys = {name: make_keys(str(tmp_path / name)) for name in ("server", "client", "rogue")}
    security = {"server_key": keys["server"][1], "client_key": keys["client"][1]}
    launcher = RayLauncher({}, {}, "127.0.0.1", EdgeSecurity(security, "/", "the parent"))
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    try:
        endpoint = launcher.bind_control(router)
        yield launcher, router, endpoint, security, keys, ctx
    finally:
        router.close(linger=0)
        launcher.close()
        ctx.destroy(linger=0)


def _plan(tmp_path, endpoint: str, security: dict) -> WorkerPlan:
    return WorkerPlan(
        "g",
        str(tmp_path / "graph.yaml"),
        "t",
        "tcp",
        None,
        False,
        endpoint,
        "",
        [],
        [],
        {},
        {},
        security=security,
        heartbeat=0.5,
    )  # a Heartbeat every 0.1 s, as a Ray worker's (more often)


def _closes(link: ControlLink) -> bool:
    done = threading.Event()
    threading.Thread(target=lambda: (link.close(), done.set()), daemon=True).start()
    return done.wait(10)


def test_a_refused_control_key_aborts_the_worker_with_the_cause_and_its_link_closes(parent, tmp_path, monkeypatch):
    launcher, router, endpoint, security, keys, ctx = parent
    monkeypatch.setattr(curve, "HANDSHAKE_S", 1.0)
    stop = StopFlag()
    link = ControlLink(ctx, _plan(tmp_path, endpoint, {**security, "client_key": keys["rogue"][1]}), stop)
    deadline = time.monotonic() + 15
    while not stop.aborted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stop.aborted, "the worker went on as if its parent heard it"
    assert stop.why.startswith(f"no CURVE handshake with the parent's control socket {endpoint} in 1 s")
    assert "does not accept this process's client_key" in stop.why
    assert _closes(link), "the control thread is stuck (a blocking send on a refused connection)"
    assert not router.poll(200)  # nothing of the rogue's reached the parent
    assert launcher.security.refused.get("control", 0) >= 1


def test_an_accepted_control_key_delivers_every_message_in_order_and_is_not_aborted(parent, tmp_path, monkeypatch):
    launcher, router, endpoint, security, keys, ctx = parent
    monkeypatch.setattr(curve, "HANDSHAKE_S", 1.0)
    stop = StopFlag()
    link = ControlLink(ctx, _plan(tmp_path, endpoint, security), stop)
    for i in range(50):
        link.send(Heartbeat(f"m{i}"))
    got = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len([g for g in got if g != "g"]) < 50:
        if router.poll(100):
            ident, data = router.recv_multipart()
            assert ident == b"g"
            got.append(decode(data).group)
    time.sleep(1.5)  # past HANDSHAKE_S
    assert [g for g in got if g != "g"] == [f"m{i}" for i in range(50)]  # the link's own heartbeats are "g"
    assert not stop and not stop.aborted
    router.send_multipart([b"g", encode(Heartbeat("parent"))])  # the parent's word is read, nothing breaks
    assert _closes(link)
    assert launcher.security.refused.get("control", 0) == 0
