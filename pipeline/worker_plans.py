"""The per-process plans of a multi-process run (pipeline.multiprocess) and the run's private folder.

make_plans() writes one pipeline.plan.WorkerPlan per process group: its node configs and the spec on every input and
output, one receiver per incoming edge that crosses groups (where it binds: ipc:// in the run folder, tcp:// on its
group's host, or a shared-memory ring) and one sender per outgoing one, and each process's CURVE key files.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile

import wavegraph

from .config import GraphError
from .curve import process_security
from .endpoints import socket_dir
from .graph import Graph
from .plan import ReceiverPlan, SenderPlan, WorkerPlan
from .shm import SHM_MIN_BYTES, shm_available, shm_prefix
from .wire import WireError, dtype_code

_RUN_DIR = re.compile(r"wg-(\d+)-\w+$")


def make_run_dir() -> str:
    """A private folder for this run's plans and ipc:// sockets, removed at the end of the run.

    Folders left by runs whose parent was killed are removed first. When TMPDIR is so long that a
    socket path would not fit in a unix socket address, /tmp is used instead."""
    base = socket_dir(os.path.join("wg-4194304-xxxxxxxx", "control.ipc"))
    remove_stale_run_dirs(base)
    return tempfile.mkdtemp(prefix=f"wg-{os.getpid()}-", dir=base)


def remove_stale_run_dirs(base: str) -> None:
    """Remove this user's run folders whose parent process no longer exists."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(base):
            m = _RUN_DIR.match(entry.name)
            if not m or not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
            except ProcessLookupError:
                shutil.rmtree(entry.path, ignore_errors=True)
            except (PermissionError, OverflowError):
                pass


def edge_transport(config, e, src_group: str, dst_group: str) -> str:
    """tcp, ipc or shm for an edge between two groups: between hosts (a group names one, or Ray) always
    tcp; otherwise the edge's own `transport`, else the graph's, and auto is shm where /dev/shm is
    usable (ipc otherwise)."""
    mode = e.transport or config.transport
    if mode == "tcp" or src_group in config.hosts or dst_group in config.hosts:
        return "tcp"
    if mode == "auto":
        return "shm" if shm_available() else "ipc"
    return mode if mode != "shm" or shm_available() else "ipc"


def _check_dtype(graph: Graph, e, src_group: str, dst_group: str) -> None:
    """An edge between processes whose stream has a dtype no frame carries (float128, object: the wire's codes): every
    chunk was dropped at the sender (tx_rejected_dtype), an empty recording and exit 0, where one process passes it."""
    dtype = graph.specs[e.source].dtype
    try:
        dtype_code(dtype)
    except (WireError, TypeError) as err:
        said = f"edge {e.source} -> {e.target} goes from process '{src_group}' to '{dst_group}', but its stream's {err}"
        fix = f"place '{e.source_node}' and '{e.target_node}' in one process (or run --in-process), or give the stream "
        raise GraphError([(graph.config.file, e.line, said, fix + "a dtype such as float64")]) from None


def make_plans(
    graph: Graph, speed: float | None, control: str, run_dir: str, progress: bool = False
) -> dict[str, WorkerPlan]:
    config = graph.config
    members = {g: set(ns) for g, ns in config.processes.items()}
    specs = {}
    for e in config.edges:
        specs[e] = graph.specs[e.source].to_dict()
    plans = {}
    for group, ids in config.processes.items():
        nodes = [nc for nc in config.nodes if nc.id in members[group]]
        edges = [e for e in config.edges if e.source_node in members[group] or e.target_node in members[group]]
        in_specs: dict = {}
        for e in config.edges:
            if e.target_node in members[group]:
                in_specs.setdefault(e.target_node, {})[e.target_port] = specs[e]
        out_specs = {
            n: {k[len(n) + 1 :]: s.to_dict() for k, s in graph.specs.items() if k.startswith(f"{n}.")} for n in ids
        }
        plans[group] = WorkerPlan(
            group,
            config.file,
            config.name,
            config.transport,
            speed,
            progress,
            control,
            wavegraph.__file__,
            nodes,
            edges,
            in_specs,
            out_specs,
            security=dict(config.security),
            parent_host=socket.gethostname(),
            cpus=list(config.cpus.get(group, [])),
        )
    for i, e in enumerate(config.edges):
        src_group, dst_group = graph.group_of(e.source_node), graph.group_of(e.target_node)
        if src_group == dst_group:
            continue
        _check_dtype(graph, e, src_group, dst_group)
        kind = edge_transport(config, e, src_group, dst_group)
        if kind == "tcp":
            bind = f"tcp://{config.hosts.get(dst_group, '127.0.0.1')}:*"  # the worker reports the port
        else:
            bind = f"ipc://{os.path.join(run_dir, f'{i}.ipc')}"
        shm = shm_prefix(str(i), os.path.basename(run_dir)) if kind == "shm" else ""
        shm_min = 1 if (e.transport or config.transport) == "shm" else SHM_MIN_BYTES
        plans[dst_group].receivers.append(
            ReceiverPlan(str(e), e.target_node, e.target_port, bind, e.policy, e.queue, specs[e], shm)
        )
        plans[src_group].senders.append(SenderPlan(str(e), e.policy, e.queue, specs[e], shm, shm_min))
    sender_of = {s.edge: g for g, p in plans.items() for s in p.senders}
    receiver_of = {r.edge: g for g, p in plans.items() for r in p.receivers}
    for group, plan in plans.items():  # each process's key files (per-process keys: pipeline.curve)
        incoming = {r.edge: sender_of[r.edge] for r in plan.receivers}
        outgoing = {s.edge: receiver_of[s.edge] for s in plan.senders}
        plan.security = process_security(config.security, config.process_security, group, incoming, outgoing)
    return plans
