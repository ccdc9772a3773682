"""Per-process CURVE keys (issue 14 §1): each process group its own key pair, named in its `processes:`
entry; a process accepts the client keys of the processes that send to it, and each plan carries only
its own secret key files and the public halves of its peers'."""

from pathlib import Path

import numpy as np
import pytest
from test_runtime_multiprocess import ramp_graph
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.curve import EdgeSecurity, make_keys, parent_security
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.worker_plans import make_plans
from zmq.auth import load_certificate


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    names = ("server", "client", "a_client", "b_server", "b_client", "c_server", "rogue")
    return {name: make_keys(str(d / name)) for name in names}  # (public, secret)


def per_process_graph(tmp_path, k, c_clients=""):
    """src (a) -> acc (b) -> rec (c) over tcp, every process with its own keys."""
    p = ramp_graph(tmp_path)
    text = p.read_text()
    text = text[: text.index("processes:")] + (
        "transport: tcp\n"
        "processes:\n"
        f"  a: {{nodes: [src], security: {{client_key: {k['a_client'][1]}}}}}\n"
        f"  b: {{nodes: [acc], security: {{server_key: {k['b_server'][1]}, client_key: {k['b_client'][1]}}}}}\n"
        f"  c: {{nodes: [rec], security: {{server_key: {k['c_server'][1]}{c_clients}}}}}\n"
        f"security: {{server_key: {k['server'][1]}, client_key: {k['client'][1]}}}\n"
    )
    p.write_text(text)
    return p


def test_each_process_its_own_keys_and_the_run_is_exact(tmp_path, pairs):
    graph = build_graph(load_config(per_process_graph(tmp_path, pairs)))
    plans = make_plans(graph, None, "ipc://unused", str(tmp_path))
    b = plans["b"].security
    assert b["server_key"] == pairs["b_server"][1] and b["client_key"] == pairs["b_client"][1]
    parent = pairs["server"][0]  # the parent's control socket and live monitor hub
    assert b["peers"] == {"acc.out -> rec.in": pairs["c_server"][0], "control": parent, "monitor": parent}
    assert b["senders"] == [pairs["a_client"][0]]  # whom b's receiver accepts: a's client key
    for group, plan in plans.items():  # another process's secret key file is never in a plan
        own = {plan.security.get("server_key"), plan.security.get("client_key")}
        secrets = {v for v in plan.security.get("peers", {}).values()} | set(plan.security.get("senders", []))
        assert not any(s.endswith(".key_secret") for s in secrets) and own.isdisjoint(secrets), group
    r = run_graph(graph, in_process=False)
    assert r.exit_code == 0, r.failure
    np.testing.assert_array_equal(np.load(tmp_path / "ramp.npz")["data"][0], np.cumsum(np.arange(200.0)))


def test_a_process_refuses_a_sender_whose_key_it_does_not_list(tmp_path, pairs, monkeypatch):
    monkeypatch.setenv("WAVEGRAPH_CURVE_HANDSHAKE_S", "2")  # read by the workers
    p = per_process_graph(tmp_path, pairs, f", clients: [{pairs['rogue'][0]}]")  # c accepts only the rogue key
    r = run_graph(build_graph(load_config(p)), in_process=False)
    assert r.exit_code == 1 and r.failure is not None
    assert "edge acc.out -> rec.in: no CURVE handshake" in r.failure
    assert r.stats["rec"]["counters"].get("rx_refused_peers", 0) >= 1  # b's key, refused by c
    assert not (tmp_path / "ramp.npz").exists()  # nothing reached the recorder


def test_own_keys_need_the_graphs_security_for_the_parent(tmp_path, pairs):
    p = per_process_graph(tmp_path, pairs)
    text = p.read_text()
    p.write_text(text[: text.index("\nsecurity:") + 1])  # the graph's own security: left out
    with pytest.raises(GraphError, match="process 'a': its own security: needs the graph's security: too"):
        load_config(p)


def test_a_secret_key_file_not_named_key_secret_is_refused_with_its_line(tmp_path, pairs):
    # b's secret under another name: its public half could not be found, and the senders' plans would
    # name b's secret file as b's "public" key
    odd = tmp_path / "b.secret"
    odd.write_text(Path(pairs["b_server"][1]).read_text())
    p = per_process_graph(tmp_path, pairs)
    text = p.read_text().replace(pairs["b_server"][1], str(odd))
    p.write_text(text)
    line = text[: text.index(str(odd))].count("\n") + 1
    with pytest.raises(GraphError) as e:
        load_config(p)
    assert f"{p}:{line}: security: server_key {odd} is not named NAME.key_secret" in str(e.value)
    assert "name it NAME.key_secret, with NAME.key beside it; `wavegraph keys` makes both" in str(e.value)
    p.write_text(text.replace(str(odd), pairs["b_server"][1]).replace(pairs["client"][1], str(odd)))
    with pytest.raises(GraphError, match="security: client_key .* is not named NAME.key_secret"):
        load_config(p)  # the graph's own security: too


def with_graph_clients(p, clients):
    p.write_text(p.read_text().rstrip("}\n") + f", clients: [{', '.join(clients)}]}}\n")
    return p


def test_the_graphs_clients_list_does_not_override_each_processs_senders(tmp_path, pairs, monkeypatch):
    monkeypatch.setenv("WAVEGRAPH_CURVE_HANDSHAKE_S", "2")  # read by the workers
    public = {name: load_certificate(pair[0])[0] for name, pair in pairs.items()}
    every = [pairs[n][0] for n in ("client", "a_client", "b_client", "rogue")]
    graph = build_graph(load_config(with_graph_clients(per_process_graph(tmp_path, pairs), every)))
    assert graph.config.security["clients"] == every
    plans = make_plans(graph, None, "ipc://unused", str(tmp_path))
    for group, sender in (("b", "a_client"), ("c", "b_client")):  # each receiver: its declared sender only
        assert EdgeSecurity.for_plan(plans[group]).allowed() == {public[sender]}, group
    # docs/multihost.md's graph-level `clients:` (the shared client key) with per-process keys; the
    # parent's control socket (tcp under Ray) accepts every process's client key and the graph's `clients`
    graph = build_graph(load_config(with_graph_clients(per_process_graph(tmp_path, pairs), [pairs["client"][0]])))
    parent = EdgeSecurity(parent_security(graph.config.security, graph.config.process_security), "/")
    assert parent.allowed() == {public[n] for n in ("client", "a_client", "b_client")}
    r = run_graph(graph, in_process=False)
    assert r.exit_code == 0, r.failure
    np.testing.assert_array_equal(np.load(tmp_path / "ramp.npz")["data"][0], np.cumsum(np.arange(200.0)))
