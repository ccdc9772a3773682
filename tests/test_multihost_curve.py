"""CURVE on tcp edges between hosts (issue 14 §1): two network namespaces joined by a veth pair, a
sender in one and a receiver in the other; keys from `wavegraph keys`; a wrong client key is refused."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import TESTS, need
from netns_pair import veth_hosts
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.curve import EdgeSecurity, KeyFileError, make_keys

PEER = str(TESTS / "curve_peer.py")
PY = sys.executable


@pytest.fixture(scope="module")
def netns():
    """Two namespaces (10.231.7.1 and 10.231.7.2) joined by a veth pair; removed afterwards."""
    with veth_hosts("10.231.7") as h:
        yield h["a"], h["b"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    return {name: make_keys(str(d / name)) for name in ("server", "client", "rogue")}  # (public, secret)


def _pair(netns, tmp_path, client_secret: str, keys, port: int, deadline_s: float = 25.0):
    a, b = netns
    endpoint = f"tcp://10.231.7.2:{port}"
    server = {"server_key": keys["server"][1], "clients": [keys["client"][0]]}
    client = {"server_key": keys["server"][0], "client_key": client_secret}  # the public half of the server
    env = dict(os.environ)
    out_rx, out_tx = tmp_path / "rx.npz", tmp_path / "tx.json"
    rx = subprocess.Popen(
        ["ip", "netns", "exec", b, PY, PEER, "recv", endpoint, json.dumps(server), str(out_rx), str(deadline_s)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert rx.stdout is not None
        assert rx.stdout.readline().strip() == "bound"
        subprocess.run(
            ["ip", "netns", "exec", a, PY, PEER, "send", endpoint, json.dumps(client), str(out_tx), "3"],
            check=True,
            timeout=60,
            env=env,
        )
        sent = json.loads(out_tx.read_text())
        (tmp_path / "rx.npz.stop").touch()  # the sender has exited: the receiver ends once nothing more comes
        rx.wait(timeout=40)  # at end-of-stream, or (a refused sender) once told, having received nothing
    finally:
        if rx.poll() is None:
            rx.kill()
    got = np.load(out_rx)
    return sent, got


def test_right_key_passes_data_bit_identically(netns, keys, tmp_path):
    sys.path.insert(0, str(TESTS))
    from curve_peer import data

    sent, got = _pair(netns, tmp_path, keys["client"][1], keys, 5601)
    assert sent["connected"]
    assert got["data"].dtype == np.float32
    assert np.array_equal(got["data"], data())  # bit-identical, every chunk
    assert int(got["refused"]) == 0


def test_wrong_client_key_is_refused_and_counted_and_gets_nothing_through(netns, keys, tmp_path):
    sent, got = _pair(netns, tmp_path, keys["rogue"][1], keys, 5602)
    assert not sent["connected"]  # the handshake never completed
    assert int(got["received"]) == 0 and got["data"].shape[1] == 0
    assert int(got["refused"]) >= 1


def test_a_tcp_edge_off_this_host_cannot_open_without_curve():
    import zmq

    ctx = zmq.Context()
    try:
        with pytest.raises(KeyFileError, match="without encryption"):
            EdgeSecurity({}, "/").hook("tcp://10.231.7.2:5603", "a.out -> b.in", ctx, server=True)
        assert EdgeSecurity({}, "/").hook("tcp://127.0.0.1:5603", "a.out -> b.in", ctx, server=True) is None
        assert EdgeSecurity({}, "/").hook("ipc:///tmp/x.ipc", "a.out -> b.in", ctx, server=True) is None
    finally:
        ctx.term()


def test_wavegraph_keys_writes_a_pair_and_refuses_to_overwrite(tmp_path):
    from wavegraph.pipeline.cli import main

    assert main(["keys", str(tmp_path / "lab")]) == 0
    assert (tmp_path / "lab.key").exists() and (tmp_path / "lab.key_secret").exists()
    assert oct((tmp_path / "lab.key_secret").stat().st_mode & 0o777) == "0o600"
    assert main(["keys", str(tmp_path / "lab")]) == 2


GRAPH = """name: g
nodes:
  - {id: src, type: sine, params: {rate: 100.0, duration: 1.0}}
  - {id: rec, type: null_sink}
edges:
  - {source: src.out, target: rec.in}
"""


def test_a_key_written_into_the_yaml_is_refused_with_the_fix(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH + "security:\n  server_key: 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'\n")
    with pytest.raises(GraphError) as e:
        load_config(p)
    assert "g.yaml:8: security: server_key holds a key itself" in str(e.value)
    assert "wavegraph keys NAME" in str(e.value)
    make_keys(str(tmp_path / "keys" / "server"))  # the file named must be there (checked when the graph is built)
    p.write_text(GRAPH + "security:\n  server_key: keys/server.key_secret\n")
    assert load_config(p).security == {"server_key": "keys/server.key_secret"}


def test_a_host_off_loopback_without_security_is_a_graph_error(tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # the outward address (no packet is sent)
        try:
            s.connect(("192.0.2.254", 9))
            ip = s.getsockname()[0]
        except OSError:
            ip = None
    ip = None if ip is None or ip.startswith("127.") else ip
    need(ip, "this machine has no address off loopback")
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH + f"processes:\n  a: [src]\n  b: {{nodes: [rec], host: {ip}}}\n")
    with pytest.raises(GraphError, match="need CURVE"):
        load_config(p)


def test_a_process_whose_key_is_not_accepted_fails_the_run_and_the_receiver_counts_it(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("WAVEGRAPH_CURVE_HANDSHAKE_S", "2")  # read by the workers
    from test_runtime_multiprocess import eeg_graph
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    p = eeg_graph(tmp_path, "refused", "tcp")
    # Every sender holds the rogue key; receivers accept only the client key.
    p.write_text(
        p.read_text() + f"security:\n  server_key: {keys['server'][1]}\n  client_key: {keys['rogue'][1]}\n"
        f"  clients: [{keys['client'][0]}]\n"
    )
    r = run_graph(build_graph(load_config(p)), in_process=False)
    assert r.exit_code == 1 and r.failure is not None and "no CURVE handshake" in r.failure
    assert not (tmp_path / "refused.npz").exists()  # nothing reached the recorder
    refused = {n: s["counters"].get("rx_refused_peers", 0) for n, s in r.stats.items() if not s.get("missing")}
    assert refused.get("bp", 0) >= 1 or refused.get("rec", 0) >= 1, r.stats


def test_the_control_socket_under_ray_is_a_curve_server_that_refuses_other_clients(keys):
    import zmq
    from wavegraph.pipeline.placement import RayLauncher

    security = {"server_key": keys["server"][1], "client_key": keys["client"][1]}
    launcher = RayLauncher({}, {}, "127.0.0.1", EdgeSecurity(security, "/", "the parent"))
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    try:
        endpoint = launcher.bind_control(router)
        for name, secure in (
            ("plain", None),
            ("rogue", {**security, "client_key": keys["rogue"][1]}),
            ("worker", security),
        ):
            dealer = ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.IDENTITY, name.encode())
            if secure is not None:
                hook = EdgeSecurity(secure, "/").hook(endpoint, "control", ctx, server=False)
                assert hook is not None
                hook(dealer, False, endpoint)
            dealer.connect(endpoint)
            try:  # never blocks: a refused handshake ends the connection and its pipe, and a DEALER with no pipe
                dealer.send(b"hello", zmq.NOBLOCK)  # blocks a send forever; that can come before the send (a GC pause)
            except zmq.Again:
                assert name != "worker"  # only a refused client has nowhere to send
            got = router.recv_multipart() if router.poll(10000 if name == "worker" else 1000) else None
            assert got == ([b"worker", b"hello"] if name == "worker" else None), (name, got)
            dealer.close(linger=0)
        assert launcher.security.refused.get("control", 0) >= 1  # the rogue key
    finally:
        router.close(linger=0)
        launcher.close()
        ctx.destroy(linger=0)  # a dealer left open by a failed assertion, its frame queued, would block term() forever
