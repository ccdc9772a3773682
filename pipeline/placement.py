"""Multi-host runs on Ray: `wavegraph run GRAPH --ray ADDRESS` places each process group as a Ray actor.

A group names where it runs in the graph file (only under --ray; without it every group runs here):

    processes:
      amp: {nodes: [src], on: {node_ip: 192.168.1.20}}          # the Ray node with this address
      gpu: {nodes: [enc, ssm], on: {resources: {GPU: 1}}}        # any node that has a free GPU
      stim: {nodes: [out], on: {resources: {stim_pc: 1}}}        # a custom resource (ray start --resources)

Each actor runs the same worker as a local process (pipeline.worker.run_worker, with the same typed
WorkerPlan) in its own Ray worker process. Ray places the actors and tells us when one dies; the data
never goes through Ray: every edge between groups is ZeroMQ over tcp, its receiver bound on the address
of the node its actor landed on, CURVE-encrypted when the graph has `security:` (required as soon as an
address is not loopback, see pipeline.curve). The control channel (start barrier, stop, reports) is the
parent's ROUTER bound on the driver's address, a CURVE server with the same keys when `security:` is set.
Workers on other hosts send a Heartbeat; one silent for HEARTBEAT_S is declared lost. An actor that dies
(ray.kill, a crash, its node lost) is noticed by the parent like a local process that exits without
reporting: the run stops, naming the process and its host, or, under the group's `on_error: restart`,
a new actor is placed for it (same `on:`) and the group restarts there (pipeline.multiprocess).
"""

from __future__ import annotations

import copy
import numbers
import os
import socket
import subprocess
import uuid
from dataclasses import replace
from typing import Any

import wavegraph

from .config import GraphError
from .curve import EdgeSecurity, is_loopback, parent_security
from .graph import Graph
from .result import RunResult

PLACEMENT_KEYS = ("resources", "node_ip")


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


HEARTBEAT_S = 5.0  # a process silent this long on the control channel is lost (its host gone or frozen)
START_TIMEOUT_S = 120.0  # Ray may need this long to place the actors on a loaded cluster


def parse_placement(file: str, raw_processes, problems: list, line_of) -> dict:
    """group -> {"resources": {name: amount}, "node_ip": str} from each `processes:` entry's `on:`."""
    out: dict = {}
    if not isinstance(raw_processes, dict):
        return out
    for group, members in raw_processes.items():
        if not isinstance(members, dict) or "on" not in members:
            continue
        on, line = members["on"], line_of(members, "on")
        if not isinstance(on, dict) or not on:
            problems.append(
                (
                    file,
                    line,
                    f"process '{group}': 'on' must be a mapping",
                    "write on: {resources: {GPU: 1}} or on: {node_ip: 10.0.0.2}",
                )
            )
            continue
        where: dict = {}
        for key, value in on.items():
            kline = line_of(on, key)
            if key == "resources":
                ok = (
                    isinstance(value, dict)
                    and value
                    and all(
                        isinstance(k, str)
                        and isinstance(v, numbers.Real)
                        and not isinstance(v, bool)
                        and 0 < float(v) < 1e6
                        for k, v in value.items()
                    )
                )
                if not ok:
                    problems.append(
                        (
                            file,
                            kline,
                            f"process '{group}': on.resources must map resource names to positive amounts",
                            "write resources: {GPU: 1} or resources: {my_host: 1}",
                        )
                    )
                    continue
                where["resources"] = {str(k): float(v) for k, v in value.items()}
            elif key == "node_ip":
                if not isinstance(value, str) or not value:
                    problems.append(
                        (
                            file,
                            kline,
                            f"process '{group}': on.node_ip must be an address",
                            "write node_ip: 10.0.0.2 (as `ray status` lists the node)",
                        )
                    )
                    continue
                if not _is_ip(value):  # 300.1.1.1, a host name: Ray's node:IP resource holds addresses only
                    problems.append(
                        (
                            file,
                            kline,
                            f"process '{group}': on.node_ip '{value}' is no IP address",
                            "write node_ip: 10.0.0.2 (as `ray status` lists the node)",
                        )
                    )
                    continue
                where["node_ip"] = value
            else:
                problems.append(
                    (file, kline, f"process '{group}': on: unknown key '{key}'", f"use {' or '.join(PLACEMENT_KEYS)}")
                )
        if where:
            out[str(group)] = where
    return out


def actor_options(where: dict) -> dict:
    """Ray actor options for a group's `on:`: GPU and CPU go to num_gpus/num_cpus, other names (and
    node_ip, as Ray's own `node:IP` resource) to resources. A group that names nothing needs no CPU
    reserved (it still runs), so that small clusters place every group."""
    opts: dict = {"num_cpus": 0}
    resources = dict(where.get("resources", {}))
    if "CPU" in resources:
        opts["num_cpus"] = resources.pop("CPU")
    if "GPU" in resources:
        opts["num_gpus"] = resources.pop("GPU")
    if where.get("node_ip"):
        resources[f"node:{where['node_ip']}"] = 0.001
    if resources:
        opts["resources"] = resources
    return opts


def unplaceable(placement: dict, nodes: list[dict]) -> list[tuple[str, str]]:
    """(group, what its on: asks) for each group no live node of the cluster could ever hold (`nodes`: ray.nodes()):
    a node_ip of no node, a resource no node has, or more than any one node has. Ray keeps such an actor pending
    without a word (an infeasible task), and the run waited START_TIMEOUT_S to say only that it was not placed."""
    totals = [n.get("Resources", {}) for n in nodes if n.get("Alive", n.get("alive"))]
    out = []
    for group, where in placement.items():
        opts = actor_options(where)
        need = {**opts.get("resources", {}), "CPU": opts.get("num_cpus", 0), "GPU": opts.get("num_gpus", 0)}
        if not any(all(float(have.get(k, 0.0)) >= v for k, v in need.items() if v) for have in totals):
            asked = ", ".join(f"{k} {v:g}" for k, v in {**where.get("resources", {})}.items())
            asked = ", ".join(x for x in (asked, f"node_ip {where['node_ip']}" if where.get("node_ip") else "") if x)
            out.append((group, asked))
    return out


def _nodes_offer(nodes: list[dict]) -> str:
    """'127.0.0.1 (CPU 1, node_a 1); 127.0.0.1 (CPU 1, node_b 1)': each live node's address and resources."""
    skip = ("memory", "object_store_memory")
    said = []
    for n in nodes:
        if n.get("Alive", n.get("alive")):
            res = {k: v for k, v in n.get("Resources", {}).items() if k not in skip and not k.startswith("node:")}
            said.append(
                f"{n.get('NodeManagerAddress', '?')} ({', '.join(f'{k} {v:g}' for k, v in sorted(res.items()))})"
            )
    return "; ".join(said) or "none alive"


def _check_cluster(address: str | None, file) -> None:
    """GraphError at once when no Ray cluster answers where ray.init would look (a wrong ADDRESS, no cluster, or a
    stale /tmp/ray/ray_current_cluster of one that is gone): ray.init itself waits about two minutes there and
    then raises its own traceback. Client addresses (ray://) and anything Ray cannot resolve are left to ray.init,
    and so is starting a local cluster where ray.init starts one: address 'local', or None with no cluster found."""
    if address and address.startswith("ray://"):
        return
    fix = "start one (`ray start --head`) and give its address (--ray HOST:PORT), or run without --ray"
    try:
        from ray._private.services import canonicalize_bootstrap_address

        found = canonicalize_bootstrap_address(address)  # pyright: ignore[reportArgumentType]  # (takes None, as ray.init)
    except ConnectionError:  # 'auto' and no cluster to be found (ray.init raises the same, as a traceback)
        raise GraphError([(file, 0, f"--ray {address}: no running Ray cluster was found", fix)]) from None
    except ValueError as e:  # a host without its port (--ray head.lab): ray.init raised the same, as a traceback
        raise GraphError(
            [
                (
                    file,
                    0,
                    f"--ray {address}: not an address of a Ray head ({e})",
                    "write --ray HOST:PORT (6379 by default)",
                )
            ]
        ) from None
    except Exception:  # a Ray without this helper, or an address it cannot parse: ray.init says why
        return
    if found is None:  # address 'local', or None with no cluster found: ray.init starts one
        return
    host, _, port = found.rpartition(":")
    try:
        conn = socket.create_connection((host.strip("[]"), int(port)), timeout=3)
    except (OSError, ValueError) as e:  # (Ray puts this machine's address for a loopback one: both said)
        at = found if not address or found.split(":")[0] in address else f"{found} (Ray's address for {address})"
        raise GraphError([(file, 0, f"--ray {address or 'auto'}: no Ray cluster answers at {at} ({e})", fix)]) from None
    with conn:
        said = _grpc_answer(conn)
    if said is not None:  # something listens there, but not a Ray head: ray.init retried for 10+ minutes, silently
        raise GraphError(
            [
                (
                    file,
                    0,
                    f"--ray {address or 'auto'}: {found} is not a Ray head's GCS port ({said})",
                    "give the port `ray start --head` printed (6379 unless --port; `ray status` on the head shows "
                    "it), or start a head there with `ray start --head`",
                )
            ]
        )


def _grpc_answer(conn: socket.socket) -> str | None:
    """None when the server on `conn` answers as Ray's GCS (a gRPC server) does: an HTTP/2 SETTINGS frame after
    the client's preface; else what it did instead. Left to ray.init (None) under RAY_USE_TLS, where the GCS
    expects a TLS handshake first."""
    if os.environ.get("RAY_USE_TLS", "").lower() in ("1", "true"):
        return None
    try:
        conn.settimeout(5)
        conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))  # + empty SETTINGS
        head = b""
        while len(head) < 9:  # a frame header: length (3), type (1), flags (1), stream id (4)
            got = conn.recv(9 - len(head))
            if not got:
                break
            head += got
    except TimeoutError:
        return "it accepts the connection but does not answer as a Ray head does within 5 s"
    except OSError as e:
        return f"it accepts the connection, then {e}"
    if len(head) == 9 and head[3] == 4 and head[5:9] == bytes(4):  # SETTINGS on stream 0
        return None
    first = head.split(b"\r\n")[0].decode("ascii", "replace") if head else ""
    return f"it answers {first!r}, not as a Ray head does" if first else "it closes the connection at once"


def _join_failure(address: str | None, error: BaseException) -> tuple[str, str]:
    """(what, fix) for a ray.init that could not join the cluster at `address`. The common case: the cluster asks for
    Ray's token (Ray >= 2.5x's `ray start` turns token authentication on when ~/.ray/auth_token exists) while
    ray.init, given an explicit address, connects without one unless RAY_AUTH_MODE=token."""
    lines, e = [], error
    while e is not None and len(lines) < 200:  # Ray puts the cause's traceback in the text of its RuntimeError
        lines += [line.strip() for line in str(e).splitlines() if line.strip()][:50]
        e = e.__cause__ or e.__context__
    auth = next((line for line in lines if "AuthenticationError" in line or "InvalidAuthToken" in line), None)
    first = (auth or (lines[0] if lines else type(error).__name__)).split(". Note:")[0]
    what = f"--ray {address or 'auto'}: could not join the Ray cluster: {first[:300]}"
    if auth:
        return what, (
            "the cluster uses Ray's token authentication: export RAY_AUTH_MODE=token on this machine with the "
            "cluster's token in ~/.ray/auth_token (or RAY_AUTH_TOKEN), or start the cluster with RAY_AUTH_MODE=disabled"
        )
    return what, "give the head's address (`ray status` on it), with the same Ray version here, or run without --ray"


def run_placed(plan_json: str, version: str, ip: str) -> int:
    """What a group's actor runs on the host it was placed on (address `ip`): its worker, receivers bound there. What
    the parent cannot be told over the control channel (another wavegraph version; that channel never opened: a key
    file missing here, an address this host cannot reach) is raised, for Ray to carry to the parent."""
    from .plan import WorkerPlan
    from .stop_flag import StopFlag
    from .worker import run_worker

    if version != wavegraph.__version__:  # before reading the plan: another version may not read it
        raise RuntimeError(
            f"this Ray node has wavegraph {wavegraph.__version__}, the driver {version}; "
            "fix: install the same version on every node"
        )
    plan = WorkerPlan.from_json(plan_json)
    plan.receivers = [replace(r, bind=f"tcp://{ip}:*") if r.bind.startswith("tcp://") else r for r in plan.receivers]
    plan.wavegraph_file = wavegraph.__file__  # another host: its own install, same version
    stop = StopFlag()  # the parent's Stop/Abort reach it over the control channel
    code = run_worker(plan, stop)
    if stop.unreachable:  # nothing it said reached the parent
        raise RuntimeError(stop.unreachable)
    return code


def _actor_class():
    import ray

    @ray.remote(max_restarts=0)
    class GroupActor:
        """One process group of a graph, in a Ray worker process."""

        def where(self) -> tuple[str, str]:
            return ray.util.get_node_ip_address(), ray.get_runtime_context().get_node_id()

        def run(self, plan_json: str, version: str) -> int:
            return run_placed(plan_json, version, ray.util.get_node_ip_address())

    return GroupActor


class ActorProcess:
    """A Ray actor running one group, seen by the supervisor as a process (poll, wait, kill). `placed` is
    (ip, node id), or the ref of the actor's where() for a restarted one (resolved once it is placed)."""

    def __init__(self, actor, ref, group: str, placed):
        self.actor, self.ref, self.group = actor, ref, group
        self.placed: Any = placed
        self.where = ""
        self.code: int | None = None
        self.error = ""  # what the actor raised outside the worker's reporting (another version, no control link)
        self._where()

    def _where(self) -> tuple[str, str] | None:
        import ray

        if not isinstance(self.placed, tuple) and ray.wait([self.placed], timeout=0)[0]:
            try:
                self.placed = tuple(ray.get(self.placed))
            except Exception:  # noqa: BLE001 - died before it was placed: poll() tells
                self.placed = ("?", "?")
        if isinstance(self.placed, tuple):
            self.where = f" on host {self.placed[0]} (Ray node {self.placed[1][:12]})"
            return self.placed
        return None

    def poll(self) -> int | None:
        import ray
        import ray.exceptions

        self._where()
        if self.code is None:
            ready, _ = ray.wait([self.ref], timeout=0)
            if ready:
                try:
                    self.code = int(ray.get(self.ref))
                except ray.exceptions.RayActorError:  # killed, crashed, or its node was lost
                    self.code = -9
                except Exception as e:  # noqa: BLE001 - the actor raised outside the worker's own reporting
                    self.code = 1
                    cause = getattr(e, "cause", None) or e  # a RayTaskError holds what the actor raised
                    self.error = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
        return self.code

    def wait(self, timeout: float | None = None) -> int | None:
        import ray

        ray.wait([self.ref], timeout=30.0 if timeout is None else timeout)
        if self.poll() is None and timeout is not None:
            raise subprocess.TimeoutExpired(f"actor {self.group}", timeout)
        return self.code

    def kill(self) -> None:
        import ray

        ray.kill(self.actor, no_restart=True)


class RayLauncher:
    """What run_multiprocess calls instead of starting local processes: the control endpoint on the
    driver's address, and one actor per group."""

    def __init__(
        self,
        actors: dict,
        where: dict[str, tuple[str, str]],
        driver_ip: str,
        security: EdgeSecurity,
        new_actor=None,
    ):
        self.actors, self.placed, self.driver_ip, self.security = actors, where, driver_ip, security
        self.new_actor = new_actor  # group, name suffix -> a new actor for it (placed as its on: says)
        self.procs: dict[str, ActorProcess] = {}
        self.spent: list = []  # the dead actors of restarted groups (killed at the end with the others)
        self.monitor = ""  # the live monitor hub's tcp endpoint, when there is one (--monitor)

    def bind_control(self, router) -> str:
        """Bind the parent's control socket on the driver's address: a CURVE server (the same server key
        and allowed clients as the edges) when the graph has security."""
        import zmq

        endpoint = f"tcp://{self.driver_ip}:*"
        secure = self.security.hook(endpoint, "control", router.context, server=True)
        if secure is not None:
            secure(router, True, endpoint)
        router.bind(endpoint)
        return router.getsockopt(zmq.LAST_ENDPOINT).decode()

    def close(self) -> None:
        self.security.stop()

    def start(self, group: str, plan) -> ActorProcess:
        """Run `group` on its actor; on a restart (the group ran before), on a new actor."""
        placed: Any = self.placed[group]
        if group in self.procs:
            assert self.new_actor is not None, "a restart needs new_actor"
            self.spent.append(self.actors[group])
            self.actors[group] = self.new_actor(group, f"restart{len(self.spent)}")
            placed = self.actors[group].where.remote()
        plan.heartbeat = HEARTBEAT_S  # another host: silence means it is gone (Ray notices much later)
        plan.monitor = self.monitor
        ref = self.actors[group].run.remote(plan.to_json(), wavegraph.__version__)
        self.procs[group] = ActorProcess(self.actors[group], ref, group, placed)
        return self.procs[group]

    def placement(self) -> dict:
        """group -> {host, node_id}: where each group ran last."""
        out = {}
        for g, proc in self.procs.items():
            where = proc._where() or self.placed[g]
            out[g] = {"host": where[0], "node_id": where[1]}
        return out


def run_on_ray(
    graph: Graph,
    address: str | None,
    speed: float | None = None,
    progress: bool = False,
    observer=None,
    monitor=None,
    duration: float | None = None,
) -> RunResult:
    """Place every process group of `graph` as a Ray actor (connecting to `address` unless this process
    is already connected) and run it, as run_multiprocess does locally (`observer` as there). `monitor`:
    a LiveMonitor(remote=True), whose hub then listens on the driver's address for the workers' frames
    (a CURVE server with the parent's keys, as the control socket)."""
    try:
        import ray
        import ray.exceptions
    except ImportError:
        raise GraphError([(graph.config.file, 0, "--ray needs Ray", "pip install 'wavegraph[ray]'")]) from None
    from .multiprocess import run_multiprocess

    if not ray.is_initialized():
        _check_cluster(address, graph.config.file)
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError) as e:  # Ray's own traceback otherwise, after ~40 s of retries
            raise GraphError([(graph.config.file, 0, *_join_failure(address, e))]) from None
    config = graph.config
    cls = _actor_class()
    run_id = uuid.uuid4().hex[:8]  # actors are named wavegraph:RUN:GROUP (ray list actors, the dashboard)

    def new_actor(group: str, suffix: str = ""):
        name = f"wavegraph:{run_id}:{group}" + (f":{suffix}" if suffix else "")
        return cls.options(name=name, **actor_options(config.placement.get(group, {}))).remote()

    infeasible = unplaceable(config.placement, ray.nodes())
    if infeasible:
        raise GraphError(
            [
                (
                    config.file,
                    0,
                    f"process '{g}': no node of the Ray cluster has what its on: asks ({asked}); the nodes: "
                    f"{_nodes_offer(ray.nodes())}",
                    "write a node_ip or resource a node has (`ray status`), or give a node the resource (ray start "
                    "--resources '{\"NAME\": 1}')",
                )
                for g, asked in infeasible
            ]
        )
    actors = {g: new_actor(g) for g in config.processes}
    launcher = monitor_security = None
    try:
        refs = {g: a.where.remote() for g, a in actors.items()}
        ready, pending = ray.wait(list(refs.values()), num_returns=len(refs), timeout=START_TIMEOUT_S)
        if pending:
            waiting = [g for g, r in refs.items() if r in pending]
            raise GraphError(
                [
                    (
                        config.file,
                        0,
                        f"Ray could not place process(es) {', '.join(waiting)} within {START_TIMEOUT_S:.0f} s",
                        "check `ray status` for the resources their on: asks for",
                    )
                ]
            )
        placed = {}
        for g, r in refs.items():
            try:
                placed[g] = tuple(ray.get(r))
            except ray.exceptions.RayActorError as e:  # killed or lost while being placed
                result = RunResult({}, {n: graph.group_of(n) for n in graph.order})
                result.failure = f"process '{g}' died before it started: {str(e).splitlines()[0]}"
                return result
        ips = {g: ip for g, (ip, _) in placed.items()}
        if not config.security and not all(is_loopback(ip) for ip in ips.values()):
            raise GraphError(
                [
                    (
                        config.file,
                        0,
                        "the processes run on hosts "
                        f"({', '.join(sorted(set(ips.values())))}) and edges between hosts need CURVE",
                        "add security: {server_key: ..., client_key: ...} (see docs/multihost.md)",
                    )
                ]
            )
        driver_ip = ray.util.get_node_ip_address()
        placed_graph = copy.copy(graph)
        placed_graph.config = replace(config, hosts=ips, transport="tcp")
        security = EdgeSecurity(
            parent_security(config.security, config.process_security),
            os.path.dirname(os.path.abspath(config.file)),
            "the parent",
        )
        launcher = RayLauncher(actors, placed, driver_ip, security, new_actor)
        if monitor is not None:
            endpoint = f"tcp://{driver_ip}:*"
            monitor_security = EdgeSecurity(security.security, security.base_dir, "the monitor")
            launcher.monitor = monitor.listen_remote(
                endpoint, monitor_security.hook(endpoint, "monitor", monitor.context, server=True)
            )
        result = run_multiprocess(placed_graph, speed, progress, observer, launcher=launcher, duration=duration)
        result.extra["placement"] = launcher.placement()
        refused = security.refused.get("control", 0)
        if refused and result.failure:  # a process whose key the control socket refused is only 'lost' to the run
            result.failure += (
                f"; the control socket refused {refused} CURVE handshake(s): a process's client_key is not among the "
                "keys the graph accepts (security.clients, or its processes' client_key)"
            )
        return result
    finally:
        if monitor_security is not None:
            monitor_security.stop()  # its authenticator, before the monitor's context ends
        for a in list(actors.values()) + (launcher.spent if launcher is not None else []):
            ray.kill(a, no_restart=True)  # pyright: ignore[reportArgumentType]  # ray stub: an ActorProxy is a handle


def format_hosts(extra: dict) -> str:
    """One line per process: where it ran (host, Ray node), when measured its clock offset from the
    parent's clock with the uncertainty of that measurement and the drift (ppm) of its monotonic clock,
    and how often it was restarted (on_error: restart)."""
    placed, clocks, restarts = extra.get("placement", {}), extra.get("clocks", {}), extra.get("restarts", {})
    from .summary import left, width

    groups = sorted(set(placed) | set(clocks))
    pw = max([12, *(width(g) for g in groups)])  # a longer name put its figures under the wrong headings
    lines = [
        f"{left('process', pw)} {'host':<16} {'ray node':<12} {'clock offset ms':>16} {'+/- ms':>8} "
        f"{'drift ppm':>10} {'restarts':>8}"
    ]
    for group in groups:
        where = placed.get(group, {})
        c = clocks.get(group)
        off = f"{c['offset_ms']:>16.3f} {c['uncertainty_ms']:>8.3f}" if c else f"{'-':>16} {'-':>8}"
        drift = f"{c['drift_ppm']:>10.1f}" if c and c.get("bursts", 0) > 1 else f"{'-':>10}"
        lines.append(
            f"{left(group, pw)} {where.get('host', 'local'):<16} {where.get('node_id', '-')[:12]:<12} {off} "
            f"{drift} {restarts.get(group, 0):>8}"
        )
    return "\n".join(lines)
