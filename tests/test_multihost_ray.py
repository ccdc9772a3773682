"""Multi-host graphs placed by Ray (issue 14 §1): a 3-node ray.cluster_utils.Cluster bound to 127.0.0.1,
each process group pinned to its own node by a custom resource, CURVE on every edge; the output must be
bit-identical to the in-process run; killing one actor mid-run stops the run naming process and host."""
import glob
import os
import tempfile
import threading
import time

import numpy as np
import pytest
from test_multihost_curve import keys  # noqa: F401 - the module-scoped key pairs
from test_runtime_multiprocess import eeg_graph

from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph

ray = pytest.importorskip("ray")

PINNED = """processes:
  acquisition: {nodes: [src], on: {resources: {node_a: 1}}}
  dsp: {nodes: [bp, notch], on: {resources: {node_b: 1}}}
  storage: {nodes: [rec], on: {resources: {node_c: 1}}}
"""


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    from ray._private import ray_constants

    # Ray turns a 127.0.0.1 address into this machine's outward address (not reachable here): keep loopback.
    enable = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    small = {"num_cpus": 1, "object_store_memory": 80 * 2**20, "node_ip_address": "127.0.0.1"}
    c = Cluster(initialize_head=True, head_node_args={**small, "resources": {"node_a": 1}, "include_dashboard": False})
    try:
        c.add_node(**small, resources={"node_b": 1})
        c.add_node(**small, resources={"node_c": 1})
        ray.init(address=c.address, log_to_driver=False, configure_logging=False)
        c.wait_for_nodes(timeout=120)
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        ray_constants.ENABLE_RAY_CLUSTER = enable


def pinned_graph(tmp_path, name, keys):  # noqa: F811
    p = eeg_graph(tmp_path, name, "tcp")
    text = p.read_text()
    text = text[: text.index("processes:")] + PINNED
    text += f"security:\n  server_key: {keys['server'][1]}\n  client_key: {keys['client'][1]}\n"
    p.write_text(text)
    return p


def test_pinned_groups_on_three_ray_nodes_give_the_in_process_bytes(cluster, tmp_path, keys):  # noqa: F811
    from wavegraph.pipeline.placement import run_on_ray

    r1 = run_graph(build_graph(load_config(eeg_graph(tmp_path, "inproc"))), in_process=True)
    r2 = run_on_ray(build_graph(load_config(pinned_graph(tmp_path, "ray", keys))), None)
    assert r1.exit_code == 0 and r2.exit_code == 0, r2.failure
    x1, x2 = np.load(tmp_path / "inproc.npz")["data"], np.load(tmp_path / "ray.npz")["data"]
    assert x1.shape == (64, 9760) and x1.tobytes() == x2.tobytes()  # bit-identical
    nodes = {g: p["node_id"] for g, p in r2.extra["placement"].items()}
    assert len(set(nodes.values())) == 3  # each group on its own Ray node
    by_resource = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
    for group, resource in (("acquisition", "node_a"), ("dsp", "node_b"), ("storage", "node_c")):
        assert resource in by_resource[nodes[group]], (group, nodes, by_resource)
    assert set(r2.extra["clocks"]) == {"acquisition", "dsp", "storage"}
    for c in r2.extra["clocks"].values():  # one machine: one clock, within the measured uncertainty
        assert abs(c["offset_ms"]) <= c["uncertainty_ms"] + 0.5


def test_killing_an_actor_mid_run_stops_the_run_naming_process_and_host(cluster, tmp_path, keys):  # noqa: F811
    from wavegraph.pipeline.placement import run_on_ray

    graph = build_graph(load_config(pinned_graph(tmp_path, "killed", keys)))
    out: dict = {}
    before = set(ray.util.list_named_actors())  # the previous test's actors may still be listed
    t = threading.Thread(target=lambda: out.setdefault("r", run_on_ray(graph, None, speed=1.0)))
    t.start()
    dsp = None
    plan = None  # its plan is written once every group is placed, just before the actors start
    while (dsp is None or plan is None) and t.is_alive():
        dsp = next((a for a in ray.util.list_named_actors() if a.endswith(":dsp") and a not in before), None)
        plan = next(iter(glob.glob(os.path.join(tempfile.gettempdir(), f"wg-{os.getpid()}-*", "dsp.json"))), None)
        time.sleep(0.2)
    assert dsp is not None and plan is not None
    actor = ray.get_actor(dsp)
    time.sleep(3.0)  # mid-run: the replay runs in real time (61 s)
    killed_at = time.monotonic()
    ray.kill(actor, no_restart=True)
    t.join(timeout=60)
    assert not t.is_alive()
    r = out["r"]
    assert time.monotonic() - killed_at < 30  # far sooner than the 58 s of replay left
    assert r.exit_code == 1
    assert "process 'dsp' on host 127.0.0.1" in r.failure
    assert r.stats["bp"].get("missing") and r.stats["notch"].get("missing")


def test_on_is_checked_with_file_and_line(tmp_path):
    p = eeg_graph(tmp_path, "bad", "tcp")
    text = p.read_text()
    p.write_text(text[: text.index("processes:")] + "processes:\n  dsp: {nodes: [bp, notch], on: {resources: {GPU: -1}}}\n"
                 "  storage: {nodes: [rec], on: {rack: 3}}\n")
    with pytest.raises(GraphError) as e:
        load_config(p)
    lines = str(e.value).splitlines()
    assert any("bad.yaml:21: process 'dsp': on.resources must map resource names to positive amounts" in x for x in lines)
    assert any("bad.yaml:22: process 'storage': on: unknown key 'rack'" in x for x in lines)


def test_wavegraph_run_with_ray_prints_hosts_and_clock_offsets(cluster, tmp_path, keys, capsys):  # noqa: F811
    from wavegraph.pipeline.cli import main

    assert main(["run", str(pinned_graph(tmp_path, "cli", keys)), "--ray", cluster.address]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["acquisition"], ["dsp"], ["storage"])]
    assert len(rows) == 3 and all(r[1] == "127.0.0.1" and float(r[3]) >= 0 for r in rows), out
    assert np.load(tmp_path / "cli.npz")["data"].shape == (64, 9760)
