"""Probe of the runtime's transport and runners (session 45): a dtype no frame carries is counted under one name by
both runners; a CURVE receiver counts and says a sender holding another server key (or none); a process with many
idle inputs waits on all of them at once; a process with many edges has room for their sockets."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import zmq
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.curve import EdgeSecurity, make_keys
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import NodeParams, Sink, Source
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.shm import ShmEdgeReceiver, ShmEdgeSender, shm_prefix
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender, ipc_endpoint

EDGE = "src.out -> bp.in"


class QuietParams(NodeParams):
    chunks: int = 0  # chunks of 5 samples it sends (then it ends); 0: none, it ends once `until` exists
    until: str = ""


class Quiet(Source):
    """A marker-like source: sends `chunks` chunks, or nothing until the file `until` exists."""

    Params = QuietParams

    def configure(self, in_specs):
        self.k = 0
        self.out_specs = {"out": signal_spec(100.0, ["m"], "misc", units="a.u.")}
        return self.out_specs

    def read(self):
        p = self.params
        if p.chunks:
            if self.k >= p.chunks:
                return None
            self.k += 1
            return {"out": Chunk(np.full((1, 5), float(self.k)), (self.k - 1) * 0.05)}
        if os.path.exists(p.until):
            return None
        time.sleep(0.002)
        return {}


class MarkParams(NodeParams):
    path: str


class Mark(Sink):
    """Writes `path` at its first chunk (the quiet sources then end) and counts its samples into `path`."""

    Params = MarkParams

    def configure(self, in_specs):
        self.n = 0
        return super().configure(in_specs)

    def process(self, inputs):
        self.n += inputs["in"].data.shape[-1]
        with open(self.params.path, "w") as f:
            f.write(str(self.n))
        return {}


# --- (a) one name for a chunk no frame can carry ------------------------------------------------------------------
def test_a_chunk_of_a_dtype_no_frame_carries_is_counted_under_one_name_by_both_runners(tmp_path, monkeypatch, caplog):
    """fixture_nodes.Shifty's chunk 5 is of dtype object. In one process it was counted rx_rejected and
    rx_rejected_spec_dtype on the receiving node 'bp' (no drop); across processes tx_rejected_dtype and a drop on the
    sending node 'src' (the edge's sender drops it). Now both runners count it tx_rejected_dtype, and a drop, on 'src'."""
    monkeypatch.chdir(tmp_path)
    seen = []
    for in_process in (True, False):
        (tmp_path / "g.yaml").write_text(
            textwrap.dedent(
                f"""\
                nodes:
                  - {{id: src, type: "fixture_nodes:Shifty", params: {{bad: object}}}}
                  - {{id: bp, type: bandpass, params: {{l_freq: 1.0, h_freq: 40.0}}}}
                  - {{id: rec, type: recorder, params: {{path: out_{in_process}.csv}}}}
                edges:
                  - {{source: src.out, target: bp.in}}
                  - {{source: bp.out, target: rec.in}}
                processes: {{a: [src], b: [bp, rec]}}
                """
            )
        )
        with caplog.at_level(logging.WARNING):
            result = run_graph(build_graph(load_config(tmp_path / "g.yaml")), in_process=in_process)
        assert not result.failure, result.failure
        src, bp = result.stats["src"], result.stats["bp"]
        seen.append((src["counters"].get("tx_rejected_dtype"), src["drops"], result.stats["rec"]["gaps"]))
        assert not any(k.startswith("rx_rejected") for k in bp["counters"]), bp["counters"]
    assert seen == [(1, 1, 1), (1, 1, 1)]
    said = [r.getMessage() for r in caplog.records if "tx_rejected_dtype on 'src'" in r.getMessage()]
    assert len(said) == 1 and "no edge between processes carries that dtype" in said[0]  # the in-process run's


# --- (b) a sender that holds another server key, or none -----------------------------------------------------------
@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    for name in ("server", "client", "other"):
        make_keys(str(folder / name))
    return folder


def _refusals(rx: EdgeReceiver, want: int) -> int:
    """The receiver's count once it reaches `want` (it counts as it waits for chunks), or after 200 waits."""
    for _ in range(200):
        assert rx.recv(timeout=0.02) is None  # nothing from a refused sender reaches it
        if rx.count_refused() >= want:
            break
    return rx.count_refused()


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_a_curve_receiver_counts_and_says_a_sender_holding_another_server_key_or_none(keys, policy, caplog):
    """libzmq refuses such a sender before the ZAP handler is asked (which counts a client key not listed), so the
    receiving side counted nothing and said nothing: a multi-host run's receiver just waited. Now its socket's monitor,
    read where the receiver waits (never a thread of its own: session 43's aborted as sockets closed), counts each
    refusal (refused_peers; rx_refused_peers in a run's summary) and the first of each cause is logged once, naming the
    key file the sender must hold."""
    base = str(keys)
    ctx = zmq.Context()
    good = EdgeSecurity({"server_key": "server.key_secret", "client_key": "client.key_secret"}, base, "process 'b'")
    wrong = EdgeSecurity({"server_key": "other.key", "client_key": "client.key_secret"}, base, "process 'a'")
    rogue = EdgeSecurity({"server_key": "server.key", "client_key": "other.key_secret"}, base, "process 'a'")
    spec = signal_spec(100.0, ["a"])
    rx = EdgeReceiver(
        "tcp://127.0.0.1:*",
        spec,
        policy=policy,
        context=ctx,
        name=EDGE,
        secure=good.hook("tcp://127.0.0.1:*", EDGE, ctx, server=True),
    )
    senders = []
    try:
        with caplog.at_level(logging.WARNING, logger="wavegraph.transport"):
            for security in (wrong, None):  # another server key; no CURVE at all
                before = rx.count_refused()
                tx = EdgeSender(
                    rx.endpoint, spec, context=ctx, secure=security and security.hook(rx.endpoint, "e", ctx, False)
                )
                senders.append(tx)
                assert not tx.wait_connected(0.2)
                tx.send(Chunk(np.ones((1, 4)), 0.0), timeout=0.1)  # (no pipe between retries: never wait on it)
                assert _refusals(rx, before + 1) > before  # (each reconnection attempt is refused, and counted)
                tx.close(linger_ms=0)
            counted = rx.count_refused()
            # a client key not listed: the ZAP handler refuses and counts it (security.refused), the monitor does not
            tx = EdgeSender(rx.endpoint, spec, context=ctx, secure=rogue.hook(rx.endpoint, "e", ctx, False))
            senders.append(tx)
            for _ in range(200):
                if good.refused.get(EDGE):
                    break
                assert rx.recv(timeout=0.02) is None
            assert good.refused.get(EDGE, 0) >= 1
            tx.close(linger_ms=0)
            assert rx.recv(timeout=0.05) is None
        assert counted >= 2 and rx.count_refused() == counted  # the ZAP refusals are not counted twice
        said = [r.getMessage() for r in caplog.records if "refused a sender's CURVE handshake" in r.getMessage()]
        assert len(said) == 2, said  # once per cause, then only counted
        assert "another server key" in said[0] and "without CURVE" in said[1]
        assert all(f"{keys / 'server.key'}" in s and "rx_refused_peers" in s and EDGE in s for s in said)
        # the worker's summary of that receiving node counts both kinds under the one name
        from wavegraph.pipeline.worker import _with_transport

        stats = {"bp": {"drops": 0, "counters": {}}}
        assert _with_transport(stats, [(rx, "bp", "in", EDGE)], {})["bp"]["counters"]["rx_refused_peers"] == counted
        # a sender with the right keys still gets through
        ok = EdgeSender(
            rx.endpoint, spec, context=ctx, secure=EdgeSecurity(good.security, base).hook(rx.endpoint, "e", ctx, False)
        )
        senders.append(ok)
        assert ok.wait_connected(30)
        ok.send(Chunk(np.arange(4.0)[None], 0.0))
        got = rx.recv(timeout=30)
        assert got is not None and got.data.tolist() == [[0.0, 1.0, 2.0, 3.0]]
    finally:
        for tx in senders:
            tx.close(linger_ms=0)
        rx.close()
        good.stop()
        ctx.term()


def test_a_busy_curve_receiver_still_receives_after_thousands_of_refused_handshakes(keys):
    """The monitor that counts refusals is read where the receiver waits; a receiver too busy to wait did not read it,
    and libzmq's I/O thread, which sends the events blocking, froze the socket once 1000 were queued (pyzmq's monitor
    pipe): after ~1000 retries of a refused sender, a good sender's chunks no longer arrived. The pipe is unbounded."""
    from zmq.utils.monitor import parse_monitor_message

    base = str(keys)
    ctx = zmq.Context()
    good = EdgeSecurity({"server_key": "server.key_secret", "client_key": "client.key_secret"}, base, "process 'b'")
    spec = signal_spec(100.0, ["a"])
    rx = EdgeReceiver("tcp://127.0.0.1:*", spec, context=ctx, name=EDGE, secure=good.hook("tcp://:*", EDGE, ctx, True))
    wrong = EdgeSecurity({"server_key": "other.key", "client_key": "client.key_secret"}, base).hook(
        rx.endpoint, "e", ctx, False
    )
    rogues, watches = [], []
    ok = None
    try:
        for _ in range(20):  # retrying every millisecond; this end is not read meanwhile (as a busy one is not)
            sock = ctx.socket(zmq.PUSH)
            sock.reconnect_ivl = sock.reconnect_ivl_max = 1
            wrong(sock, False, rx.endpoint)
            watches.append(sock.get_monitor_socket(zmq.EVENT_DISCONNECTED))
            sock.connect(rx.endpoint)
            rogues.append(sock)
        failed = 0
        for _ in range(3000):  # until 2500 attempts failed (at their end), or 3000 polls of up to 0.1 s
            for watch in watches:
                while watch.poll(0):
                    failed += parse_monitor_message(watch.recv_multipart())["event"] == zmq.EVENT_DISCONNECTED
            if failed >= 2500:
                break
            watches[0].poll(100)
        assert failed >= 2500
        ok = EdgeSender(
            rx.endpoint, spec, context=ctx, secure=EdgeSecurity(good.security, base).hook(rx.endpoint, "e", ctx, False)
        )
        assert ok.wait_connected(30)
        ok.send(Chunk(np.arange(4.0)[None], 0.0))
        got = rx.recv(timeout=30)
        assert got is not None and got.data.tolist() == [[0.0, 1.0, 2.0, 3.0]]
        assert rx.count_refused() >= 1000  # (each counted, read now)
    finally:
        for sock in rogues:
            sock.disable_monitor()
            sock.close(linger=0)
        for watch in watches:
            watch.close(linger=0)
        if ok is not None:
            ok.close(linger_ms=0)
        rx.close()
        good.stop()
        ctx.term()


# --- a process with many idle inputs -------------------------------------------------------------------------------
@pytest.mark.parametrize("shm", [False, True], ids=["zmq", "shm"])
def test_wait_any_wakes_at_a_chunk_on_any_of_many_inputs(socket_tmpdir, shm):
    """The worker's loop waited 2 ms on each input in turn when none had anything, so a chunk on one input waited
    2 ms x the idle ones (40 silent marker edges beside a signal: e2e p50 45 ms where one input takes 0.3 ms). One
    poll over all of them (sockets, and shared-memory lanes' bells) wakes at the first chunk on any."""
    from wavegraph.pipeline.wait_inputs import wait_any

    spec = signal_spec(100.0, ["a"])
    rxs, txs = [], []
    try:
        for i in range(12):
            if shm:
                name = shm_prefix(f"wait{i}")
                rxs.append(ShmEdgeReceiver(ipc_endpoint(f"wait{i}"), spec, shm=name))
                txs.append(ShmEdgeSender(rxs[-1].endpoint, spec, shm=name, shm_min=1))
            else:
                rxs.append(EdgeReceiver(ipc_endpoint(f"wait{i}"), spec))
                txs.append(EdgeSender(rxs[-1].endpoint, spec))
            assert txs[-1].wait_connected(30)
        for k in (9, 2, 11):
            txs[k].send(Chunk(np.full((1, 4), float(k)), 0.0))
            wait_any(rxs, 120.0)  # (a hang here is the failure: no clock is asserted)
            got = [rx.recv(timeout=0) for rx in rxs]
            assert [i for i, c in enumerate(got) if c is not None] in ([k], [])
            got[k] = got[k] or rxs[k].recv(timeout=30)  # (a wake on the bell before the socket saw it: read on)
            assert got[k] is not None and got[k].data[0, 0] == k
    finally:
        for end in txs + rxs:
            end.close()


def test_a_process_with_many_idle_inputs_delivers_every_chunk(tmp_path, socket_tmpdir):
    """A process whose inputs are mostly silent (markers) beside one busy input: every chunk delivered, every input
    ended (the waits on all of them at once in the worker's loop)."""
    flag = tmp_path / "first.txt"
    nodes = [
        "  - {id: sig, type: 'test_transport_probe_session45:Quiet', params: {chunks: 40}}",
        f"  - {{id: snk, type: 'test_transport_probe_session45:Mark', params: {{path: '{flag}'}}}}",
    ]
    edges = ["  - {source: sig.out, target: snk.in}"]
    for i in range(8):
        nodes.append(f"  - {{id: q{i}, type: 'test_transport_probe_session45:Quiet', params: {{until: '{flag}'}}}}")
        nodes.append(
            f"  - {{id: d{i}, type: 'test_transport_probe_session45:Mark', params: {{path: '{tmp_path}/d{i}'}}}}"
        )
        edges.append(f"  - {{source: q{i}.out, target: d{i}.in}}")
    quiet = ", ".join(f"q{i}" for i in range(8))
    sinks = ", ".join(f"d{i}" for i in range(8))
    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        + "\n".join(nodes)
        + "\nedges:\n"
        + "\n".join(edges)
        + f"\nprocesses: {{a: [sig, {quiet}], b: [snk, {sinks}]}}\n"
    )
    result = run_graph(build_graph(load_config(tmp_path / "g.yaml")), in_process=False)
    assert not result.failure, result.failure
    assert flag.read_text() == "200" and result.stats["snk"]["gaps"] == 0


# --- a process with many edges -------------------------------------------------------------------------------------
def test_a_context_has_room_for_the_sockets_of_many_edges():
    """ZeroMQ's context holds 1023 sockets: a process with about 340 edges failed with 'Too many open files'."""
    from wavegraph.pipeline.socket_room import edge_context

    ctx = edge_context(600, "process 'a'")
    try:
        assert ctx.max_sockets >= 4 * 600
    finally:
        ctx.term()


def test_many_edges_run_under_a_low_soft_open_file_limit(tmp_path):
    """Under the shell's soft limit of open files (1024 on most hosts; 200 here, with 40 edges) a 2-process run with
    about 250 edges (40 here) failed: 'process 'a' failed: Too many open files' and a traceback. The workers now raise
    their soft limit toward the hard one as far as their edges need."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1024:
        pytest.skip(f"the hard limit of open files is {hard}")
    n = 40
    nodes = ["  - {id: src, type: 'test_transport_probe_session45:Quiet', params: {chunks: 3}}"]
    nodes += [
        f"  - {{id: d{i}, type: 'test_transport_probe_session45:Mark', params: {{path: d{i}}}}}" for i in range(n)
    ]
    edges = [f"  - {{source: src.out, target: d{i}.in}}" for i in range(n)]
    sinks = ", ".join(f"d{i}" for i in range(n))
    (tmp_path / "g.yaml").write_text(
        "nodes:\n" + "\n".join(nodes) + "\nedges:\n" + "\n".join(edges) + f"\nprocesses: {{a: [src], b: [{sinks}]}}\n"
    )
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (200, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "from wavegraph.pipeline.config import load_config\n"
        "from wavegraph.pipeline.graph import build_graph\n"
        "from wavegraph.pipeline.runner import run_graph\n"
        "r = run_graph(build_graph(load_config('g.yaml')), in_process=False)\n"
        "print('FAILURE', r.failure)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert "FAILURE None" in out.stdout, out.stdout[-2000:] + out.stderr[-3000:]
    assert all((tmp_path / f"d{i}").read_text() == "15" for i in range(n))
