"""`wavegraph run G --ray HOST:PORT` where something that is not a Ray head listens at HOST:PORT (a plain TCP server
that never answers, an HTTP server): ray.init retried for over 10 minutes (measured: still retrying when killed at
600 s), printing Ray's 'Failed to get cluster ID' every 40 s. It is now a problem of the run (exit 2) naming the
address and the fix. Servers on 127.0.0.2/127.0.0.3 (loopback), since Ray turns 127.0.0.1 into this host's own
address and the TCP check before ray.init already refuses a port that only 127.0.0.1 listens on."""

import http.server
import socket
import subprocess
import sys
import threading

import pytest

GRAPH = (
    "nodes:\n  - {id: src, type: sine, params: {rate: 100.0, freq: 5.0, duration: 1.0}}\n  - {id: sink, type: null_sink}\n"
    "edges:\n  - {source: src.out, target: sink.in}\nprocesses: {a: [src], b: [sink]}\n"
)


def _run(tmp_path, address: str) -> subprocess.CompletedProcess:
    (tmp_path / "g.yaml").write_text(GRAPH)
    return subprocess.run(  # a fresh process, so that no driver connected by another test skips the check
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", "g.yaml", "--ray", address, "--no-status"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip  # the failure before the fix: TimeoutExpired (ray.init still retrying)


@pytest.fixture
def silent_server():
    """Accepts connections and never says a byte."""
    srv = socket.socket()
    srv.bind(("127.0.0.2", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"127.0.0.2:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


@pytest.fixture
def http_server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.3", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"127.0.0.3:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("server", ["silent_server", "http_server"])
def test_ray_address_where_no_ray_head_but_something_listens_fails_naming_it(tmp_path, request, server):
    pytest.importorskip("ray")
    address = request.getfixturevalue(server)
    proc = _run(tmp_path, address)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 2, said[-3000:]
    assert f"--ray {address}: {address} is not a Ray head's GCS port" in said
    assert "ray start --head" in said and "Traceback" not in said
    assert "Failed to get cluster ID" not in said  # ray.init was not reached


def test_a_tls_cluster_is_left_to_ray_init(monkeypatch):
    """Under RAY_USE_TLS the GCS expects a TLS handshake first: the plain HTTP/2 probe would not be answered."""
    from wavegraph.pipeline.placement import _grpc_answer

    monkeypatch.setenv("RAY_USE_TLS", "1")
    a, b = socket.socketpair()
    with a, b:
        assert _grpc_answer(a) is None
        b.setblocking(False)
        with pytest.raises(BlockingIOError):
            b.recv(1)  # nothing was sent
