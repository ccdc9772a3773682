"""One graph over two 'machines' (session 44 probe of docs/multihost.md): two network namespaces joined by a veth
pair stand for the hosts, the parent (driver) in one, each process group's worker in the namespace of its host, CURVE
on the control channel and the edge, as under `--ray` (the workers run `placement.run_placed`, what a Ray actor runs;
what it raises reaches the parent as Ray carries it). What only Ray does (placing, carrying an actor's error) is tested
on Ray itself in tests/test_multihost_ray.py (its cluster: one start for both).

Found: a worker whose host cannot reach the parent's control socket, or lacks a key file, was silent for 65 s and then
called 'lost: no word from it for 5 s' (the cause only in its own log); an actor of another wavegraph version was
'exited with code 1 without reporting'; an `on:` no node can hold waited START_TIMEOUT_S (120 s) to say it was not
placed; `--ray HOST` without a port was a ValueError traceback.

Run alone: python tests/test_multihost_probe_session44.py '{...}' is the driver (inside a namespace)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.realtime
PY = sys.executable
RUN_PLACED = (
    "import sys; from wavegraph.pipeline.placement import run_placed; "
    "sys.exit(run_placed(open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]))"
)


# --- the driver, run inside the parent's namespace -------------------------------------------------------------------
def _driver(cfg: dict) -> int:
    import copy
    from dataclasses import replace

    from wavegraph.pipeline.allocator import worker_env
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.curve import EdgeSecurity, parent_security
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.multiprocess import run_multiprocess
    from wavegraph.pipeline.placement import HEARTBEAT_S, RayLauncher

    import wavegraph

    class HostProcess(subprocess.Popen):
        """A worker on another 'host': as ActorProcess, it names its host and what it raised (Ray's RayTaskError)."""

        where, error, errfile = "", "", ""

        def poll(self):
            code = super().poll()
            if code and not self.error:
                with open(self.errfile) as f:
                    raised = [x for x in f.read().splitlines() if x.startswith("RuntimeError: ")]
                self.error = raised[-1][len("RuntimeError: ") :] if raised else ""
            return code

    class NetnsLauncher(RayLauncher):
        def start(self, group, plan):
            h = cfg["hosts"][group]
            plan.heartbeat = HEARTBEAT_S
            path = os.path.join(cfg["run_dir"], f"{group}.plan.json")
            with open(path, "w") as f:
                f.write(plan.to_json())
            cmd = ["ip", "netns", "exec", h["ns"]]
            if h.get("mono"):  # its own monotonic clock, as another machine's (a time namespace)
                cmd += ["unshare", "--time", "--fork", "--kill-child", "--monotonic", str(h["mono"])]
            cmd += [PY, "-P", "-c", RUN_PLACED, path, wavegraph.__version__, h["ip"]]
            errfile = os.path.join(cfg["run_dir"], f"{group}.err")
            with open(errfile, "w") as err:
                p = HostProcess(cmd, env={**worker_env(), **h.get("env", {})}, stderr=err)
            p.where, p.errfile = f" on host {h['ip']}", errfile
            self.procs[group] = p
            return p

        def placement(self):
            return {g: {"host": h["ip"], "node_id": h["ns"]} for g, h in cfg["hosts"].items()}

    config = load_config(cfg["graph"])
    graph = copy.copy(build_graph(config))
    graph.config = replace(config, hosts={g: h["ip"] for g, h in cfg["hosts"].items()}, transport="tcp")
    base = os.path.dirname(os.path.abspath(config.file))
    security = EdgeSecurity(parent_security(config.security, config.process_security), base, "the parent")
    launcher = NetnsLauncher({}, {}, cfg["driver_ip"], security)
    r = run_multiprocess(graph, 1.0, launcher=launcher)
    stats = {n: {k: v for k, v in s.items() if k != "compute_ns"} for n, s in r.stats.items()}
    out = {"exit_code": r.exit_code, "failure": r.failure, "clocks": r.extra.get("clocks"), "stats": stats}
    with open(cfg["out"], "w") as f:
        json.dump(out, f, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(_driver(json.loads(sys.argv[1])))


# --- two hosts: network namespaces -----------------------------------------------------------------------------------
def _ip(*args: str) -> subprocess.CompletedProcess:
    from netns_pair import ip

    return ip(*args)


@pytest.fixture(scope="module")
def hosts():
    """Namespaces A (10.231.44.1, the driver's host) and B (10.231.44.2), a veth pair between them; removed after."""
    from netns_pair import veth_hosts

    with veth_hosts("10.231.44", prefix="wg44") as h:
        yield h


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    from wavegraph.pipeline.curve import make_keys

    d = tmp_path_factory.mktemp("keys")
    return {name: make_keys(str(d / name)) for name in ("server", "client")}  # (public, secret)


GRAPH = """name: two-hosts
nodes:
  - {id: src, type: sine, params: {rate: 250.0, duration: 2.0, channels: 4}}
  - {id: rec, type: recorder, params: {path: OUT}}
edges:
  - {source: src.out, target: rec.in}
processes:
  a: {nodes: [src]}
  b: {nodes: [rec]}
"""


def _run(hosts, keys, tmp_path, b: dict | None = None, timeout: float = 50.0) -> dict:
    """The graph with `src` on host A (with the driver) and `rec` on host B (`b`: more of B's settings)."""
    g = tmp_path / "g.yaml"
    g.write_text(
        GRAPH.replace("OUT", str(tmp_path / "out.npz"))
        + f"security: {{server_key: {keys['server'][1]}, client_key: {keys['client'][1]}}}\n"
    )
    cfg = {
        "graph": str(g),
        "driver_ip": "10.231.44.1",
        "run_dir": str(tmp_path),
        "out": str(tmp_path / "result.json"),
        "hosts": {
            "a": {"ns": hosts["a"], "ip": "10.231.44.1"},
            "b": {"ns": hosts["b"], "ip": "10.231.44.2", **(b or {})},
        },
    }
    driver = subprocess.Popen(["ip", "netns", "exec", hosts["a"], PY, os.path.abspath(__file__), json.dumps(cfg)])
    try:
        assert driver.wait(timeout=timeout) == 0  # (the parent called a silent worker lost only after 65 s)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    return json.loads((tmp_path / "result.json").read_text())


def test_a_host_with_its_own_monotonic_clock_gets_every_chunk_and_a_right_latency(hosts, keys, tmp_path):
    import numpy as np

    r = _run(hosts, keys, tmp_path, {"mono": 100000})  # B's monotonic clock 100000 s ahead of A's
    assert r["exit_code"] == 0, r["failure"]
    assert np.load(tmp_path / "out.npz")["data"].shape == (4, 500)
    assert abs(r["clocks"]["b"]["mono_offset_ns"] - 100000e9) < 1e9  # measured over the control channel
    p50, p99 = r["stats"]["rec"]["latency_ns"]  # origin stamps moved from A's clock to B's
    assert 0 < p50 <= p99 < 2e9  # (uncorrected: 1e14 ns)


def test_a_host_that_cannot_reach_the_parent_ends_its_worker_and_the_run_says_why(hosts, keys, tmp_path):
    assert _ip("-n", hosts["b"], "link", "set", hosts["link_b"], "down").returncode == 0
    try:
        r = _run(hosts, keys, tmp_path, {"env": {"WAVEGRAPH_CURVE_HANDSHAKE_S": "2"}})
    finally:
        _ip("-n", hosts["b"], "link", "set", hosts["link_b"], "up")
    assert r["exit_code"] == 1
    failure = r["failure"]
    assert failure.startswith(
        "process 'b' on host 10.231.44.2 exited with code 1 without reporting: no CURVE handshake"
    )
    assert "no CURVE handshake with the parent's control socket tcp://10.231.44.1:" in failure
    assert "or this host cannot reach that address" in failure


def test_a_key_file_missing_on_the_workers_host_is_named_by_the_run(hosts, keys, tmp_path):
    missing = str(tmp_path / "elsewhere" / "client.key_secret")  # WAVEGRAPH_CLIENT_KEY set on host B only
    r = _run(hosts, keys, tmp_path, {"env": {"WAVEGRAPH_CLIENT_KEY": missing}})
    assert r["exit_code"] == 1
    assert r["failure"].startswith("process 'b' on host 10.231.44.2 exited with code 1 without reporting: ")
    assert f"security.client_key: {missing} is not on this host; fix: copy the key file here" in r["failure"]
